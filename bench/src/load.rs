//! The load mode: connect many clients, send at a fixed total rate, measure every delivery.
//!
//! Each message carries its run, sender, sequence number and send time in its text; what
//! every client counts from the frames it gets (latency, loss, duplicates, order) is in
//! `accounting.rs`.
//!
//! The clients speak the target's protocol (`--protocol`, `protocol.rs`): the chat server's or
//! Centrifugo's. Both carry the same text; only the framing differs.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::accounting::ClientStats;
use crate::protocol::{Detail, Event, Protocol};
use crate::report::{Report, ShardResult};

/// Options of the load mode. The server's per-connection limit (5 frames/s, burst 20 by
/// default, `chat.rate_per_second` / `chat.rate_burst`) applies to each client, so
/// `--rate / --clients` must stay under it, or the server must be configured higher;
/// otherwise the report shows `rate_limited` errors instead of latencies.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// WebSocket URL of the chat endpoint; `room=` and `history=0` are appended to its query
    /// (with --protocol centrifugo: Centrifugo's, e.g. ws://127.0.0.1:8200/connection/websocket).
    #[arg(long, default_value = "ws://127.0.0.1:8003/ws/chat")]
    pub url: String,
    /// The protocol the clients speak: `chat` (the chat server's, which the baseline speaks
    /// too) or `centrifugo` (Centrifugo's JSON client protocol, one channel `chat:<room>` a
    /// room). The same messages, timing and accounting either way.
    #[arg(long, value_enum, default_value_t = Protocol::Chat)]
    pub protocol: Protocol,
    /// Number of WebSocket clients to open.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Number of rooms; client i joins room `bench-<i % rooms>`.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// New connections per second while connecting (all clients connect before sending starts).
    #[arg(long, default_value_t = 500.0)]
    pub connect_rate: f64,
    /// Connect as fast as the server takes the connections, with at most this many under way
    /// at once, instead of at --connect-rate: the connect-rate scenario. 0: paced.
    #[arg(long, default_value_t = 0)]
    pub connect_concurrency: usize,
    /// Connections the server is configured to hold (the chat server: its open-file limit
    /// minus 256). A failed connect while fewer were open (less --connect-concurrency, which
    /// the server may count already) is refused below the limit; without this option every
    /// failed connect is.
    #[arg(long)]
    pub server_limit: Option<usize>,
    /// Bind client sockets to 127.0.0.1 .. 127.0.0.K in turn (loopback targets only), so the
    /// ephemeral ports of one source address never run out and the server's per-address limit
    /// (`server.max_connections_per_ip`, 256 by default) is not hit: keep clients / K <= 256.
    /// 0 lets the kernel choose.
    #[arg(long, default_value_t = 64)]
    pub source_ips: u8,
    /// Chat messages per second in total, spread round-robin over the clients. Keep
    /// rate / clients under the server's per-connection limit (5/s, burst 20, by default).
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Seconds of sending; with --rate 0, seconds the connections are held open idle.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds to keep reading after the last send, so late deliveries are not counted lost.
    #[arg(long, default_value_t = 2.0)]
    pub drain: f64,
    /// Seconds every connection is held open idle (heartbeats only) once all are connected,
    /// before the sending starts: an idle crowd that then gets a fan-out.
    #[arg(long, default_value_t = 0.0)]
    pub hold: f64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// PID of the server process (same machine): its VmRSS is read before connecting, once every
    /// client is connected, and at the end (memory per connection = (end - before) / clients);
    /// its open-file limit is reported too.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Split the clients over this many processes of this tool, each with its own open-file
    /// limit (and its own runtime); they send from the same instant, and one report merges
    /// them. Needed when --clients is above one process's limit (ulimit -n).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Internal, set by the parent of --processes: this child's part, as I/K.
    #[arg(long, hide = true)]
    pub shard: Option<Shard>,
    /// Internal: the run id every child marks its messages with.
    #[arg(long, hide = true)]
    pub run_id: Option<String>,
    /// Internal: the Unix time (ms) at which every child starts sending.
    #[arg(long, hide = true)]
    pub start_at_ms: Option<u64>,
}

impl LoadArgs {
    /// Messages the whole run sends, over every process.
    pub fn total_messages(&self) -> u64 {
        (self.rate * self.duration).round() as u64
    }

    /// The options a child of --processes needs to run its part of this load.
    fn child_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            ("--url", self.url.clone()),
            ("--protocol", format!("{:?}", self.protocol).to_lowercase()),
            ("--connect-concurrency", self.connect_concurrency.to_string()),
            ("--clients", self.clients.to_string()),
            ("--rooms", self.rooms.to_string()),
            ("--connect-rate", self.connect_rate.to_string()),
            ("--source-ips", self.source_ips.to_string()),
            ("--rate", self.rate.to_string()),
            ("--duration", self.duration.to_string()),
            ("--drain", self.drain.to_string()),
            ("--hold", self.hold.to_string()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect();
        if let Some(pid) = self.server_pid {
            args.extend(["--server-pid".to_string(), pid.to_string()]);
        }
        if let Some(limit) = self.server_limit {
            args.extend(["--server-limit".to_string(), limit.to_string()]);
        }
        args
    }
}

/// How long one connection (TCP + upgrade + `welcome`) may take before it counts as failed.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames a client may have queued for sending; past it the pacer counts `send_queue_full`
/// rather than letting one stuck socket delay everyone else's sends.
const WRITER_QUEUE: usize = 64;
/// Children of `--processes` start sending this long after all of them should have connected.
const START_MARGIN: Duration = Duration::from_secs(2);
/// tungstenite allocates a 128 KiB read buffer per connection by default: with thousands of
/// clients that alone would be hundreds of MiB in the bench; chat frames are small.
const READ_BUFFER: usize = 4096;
/// How long one frame may take to go out before the client gives up on its connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) type Ws = WebSocketStream<TcpStream>;

pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// A connected client: where to queue its outgoing frames, and its task, which hands back
/// what it saw and the connection (to be closed properly) once the run stops.
struct Client {
    id: usize,
    /// Its room's name (`bench-<id % rooms>`), which Centrifugo's publish names.
    room: String,
    tx: mpsc::Sender<Message>,
    task: JoinHandle<(ClientStats, Option<Ws>)>,
}

/// Which of the `--processes` this one is: it opens clients `index`, `index + count`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The client numbers this shard opens, of `clients` in all.
    fn clients(self, clients: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
        (self.index..clients).step_by(self.count)
    }

    /// How many of the run's `total` messages this shard sends: those numbered
    /// `index`, `index + count`, ... below `total`.
    fn messages(self, total: u64) -> u64 {
        (total + (self.count - 1 - self.index) as u64) / self.count as u64
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/K`, as the parent passes it to its children.
    fn from_str(s: &str) -> Result<Self, String> {
        let (index, count) = s.split_once('/').ok_or("expected I/K")?;
        let shard = Shard {
            index: index.parse().map_err(|_| "I is not a number")?,
            count: count.parse().map_err(|_| "K is not a number")?,
        };
        if shard.index >= shard.count {
            return Err("I must be below K".into());
        }
        Ok(shard)
    }
}

/// Run the whole load, in this process or split over `--processes`, and build the report.
pub async fn run(args: &LoadArgs) -> anyhow::Result<Report> {
    if args.clients == 0 || args.rooms == 0 || args.connect_rate <= 0.0 || args.processes == 0 {
        bail!("--clients, --rooms, --connect-rate and --processes must be positive");
    }
    if args.rate < 0.0 || args.hold < 0.0 {
        bail!("--rate and --hold must not be negative");
    }
    // A run id keeps leftovers of earlier runs in the same rooms out of the numbers.
    let run = format!("{:x}", unix_nanos() % 0xffff_ffff);
    let parts = if args.processes > 1 {
        run_children(args, &run).await?
    } else {
        vec![run_shard(args, Shard { index: 0, count: 1 }, &run, None).await?]
    };
    Ok(Report::merge(args, &parts)?)
}

/// Starts one child process of this tool per shard, all sending from the same instant, and
/// collects their results (each prints its [`ShardResult`] as JSON).
async fn run_children(args: &LoadArgs, run: &str) -> anyhow::Result<Vec<ShardResult>> {
    let exe = std::env::current_exe().context("cannot find this executable to start its children")?;
    // Everyone connects in parallel at connect_rate / K; the sending starts once all should have.
    let connect_time = Duration::from_secs_f64(args.clients as f64 / args.connect_rate + args.hold) + START_MARGIN;
    let start_at_ms = (unix_nanos() / 1_000_000) + connect_time.as_millis() as u64;
    let children = (0..args.processes).map(|index| {
        let mut command = tokio::process::Command::new(&exe);
        command.arg("load").args(args.child_args()).args([
            "--shard".to_string(),
            format!("{index}/{}", args.processes),
            "--run-id".to_string(),
            run.to_owned(),
            "--start-at-ms".to_string(),
            start_at_ms.to_string(),
        ]);
        // The result comes on stdout; warnings and errors go straight to ours.
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit()).kill_on_drop(true);
        async move {
            let out = command.output().await.context("cannot start a child process")?;
            if !out.status.success() {
                bail!("child {index} failed ({})", out.status);
            }
            serde_json::from_slice::<ShardResult>(&out.stdout)
                .with_context(|| format!("child {index} printed no result"))
        }
    });
    futures_util::future::try_join_all(children).await
}

/// Entry point of a child: runs its shard and prints the result for the parent.
pub async fn run_child(args: &LoadArgs, shard: Shard) -> anyhow::Result<()> {
    let run = args.run_id.as_deref().context("--shard needs --run-id")?;
    let part = run_shard(args, shard, run, args.start_at_ms).await?;
    println!("{}", serde_json::to_string(&part)?);
    Ok(())
}

/// Connects this shard's clients, sends its share of the rate (from `start_at_ms`, a Unix
/// time in ms, when several processes must start together), reads until the drain ends.
async fn run_shard(args: &LoadArgs, shard: Shard, run: &str, start_at_ms: Option<u64>) -> anyhow::Result<ShardResult> {
    let (server, source_ips) = resolve(&args.url, args.source_ips).await?;
    let (stop_tx, stop_rx) = watch::channel(false);

    let rss_before = args.server_pid.and_then(read_rss_kib);
    let server_cpu = || args.server_pid.and_then(|pid| crate::storm::cpu_seconds(&pid.to_string()));
    let connect_cpu_start = server_cpu();

    let connected = connect_all(args, shard, run, server, source_ips, &stop_rx).await?;
    let (clients, connect_seconds) = (connected.clients, connected.seconds);
    // Let the server finish whatever a join costs (presence, counts) before measuring memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = args.server_pid.and_then(read_rss_kib);
    let server_connect_cpu_seconds = server_cpu().zip(connect_cpu_start).map(|(end, start)| end - start);
    let mut clients_per_room = vec![0u64; args.rooms];
    for c in &clients {
        clients_per_room[c.id % args.rooms] += 1;
    }
    if let Some(at) = start_at_ms {
        let now = unix_nanos() / 1_000_000;
        if now > at {
            eprintln!(
                "shard {}/{}: connected {} ms after the common start; sending late",
                shard.index,
                shard.count,
                now - at
            );
        }
        tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    }

    // Send phase: a single pacer keeps the run's rate exact; it sends whatever is due every
    // millisecond rather than sleeping per message, so high rates do not drift. Shard I of K
    // sends the messages numbered I, I + K, ..., each when the run's clock reaches it: numbers
    // are unique over all processes, and every shard's last send is within --duration.
    let total = shard.messages(args.total_messages());
    let send_start = Instant::now();
    let cpu_start = server_cpu();
    let mut sent = 0u64;
    let mut send_queue_full = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total && !clients.is_empty() {
        tick.tick().await;
        let due_in_run = (send_start.elapsed().as_secs_f64() * args.rate) as u64;
        let due = shard.messages(due_in_run).min(total);
        while sent < due {
            let client = &clients[(sent % clients.len() as u64) as usize];
            let seq = sent * shard.count as u64 + shard.index as u64;
            let text = format!("b:{run}:{}:{seq}:{}", client.id, unix_nanos());
            if client.tx.try_send(args.protocol.chat_message(&client.room, &text, seq)).is_err() {
                send_queue_full += 1;
            }
            sent += 1;
        }
    }
    // With --rate 0 this is an idle hold: the connections stay open (heartbeats only).
    tokio::time::sleep_until((send_start + Duration::from_secs_f64(args.duration)).into()).await;
    let send_seconds = send_start.elapsed().as_secs_f64();
    let server_cpu_seconds = server_cpu().zip(cpu_start).map(|(end, start)| end - start);
    tokio::time::sleep(Duration::from_secs_f64(args.drain)).await;
    // Steady state, after the load (or the idle hold): the figure per connection.
    let rss_end = args.server_pid.and_then(read_rss_kib);

    // Stop the readers first (so closing does not count as a disconnect), then close every
    // connection with a full close handshake, all at once: a client that just drops its socket
    // would look like a network failure to the server.
    stop_tx.send_replace(true);
    let mut stats = Vec::with_capacity(clients.len());
    let mut closes = Vec::with_capacity(clients.len());
    for c in clients {
        let (s, ws) = c.task.await?;
        stats.push(s);
        if let Some(ws) = ws {
            closes.push(tokio::spawn(close(ws)));
        }
    }
    for c in closes {
        let _ = c.await;
    }

    let mut part = ShardResult {
        clients_connected: stats.len(),
        connect_errors: connected.errors,
        connect_seconds,
        connect_start_us: connected.start_us,
        connect_ok_us: connected.ok_us,
        connect_failed_us: connected.failed_us,
        bench_open_files_limit: rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft),
        server_open_files_limit: args.server_pid.and_then(read_open_files_limit),
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        server_rss_end_kib: rss_end,
        server_connect_cpu_seconds,
        server_cpu_seconds,
        send_seconds,
        // Only what actually went to a socket; dropped sends are counted apart.
        messages_sent: sent - send_queue_full,
        send_queue_full,
        clients_per_room,
        acked_per_room: vec![0; args.rooms],
        ..ShardResult::default()
    };
    for s in &mut stats {
        s.add_to(&mut part);
    }
    Ok(part)
}

/// What the connect phase of one shard got: the clients, and when each connect ended.
struct Connected {
    clients: Vec<Client>,
    errors: BTreeMap<String, u64>,
    seconds: f64,
    /// Unix µs: the start, and the end of every connect that succeeded and that failed.
    start_us: u64,
    ok_us: Vec<u64>,
    failed_us: Vec<u64>,
}

/// Connect phase: one connection every K/connect_rate s, or with --connect-concurrency as
/// fast as they are taken, at most that many (over K processes) under way at once; then
/// wait for all.
async fn connect_all(
    args: &LoadArgs,
    shard: Shard,
    run: &str,
    server: SocketAddr,
    source_ips: u8,
    stop_rx: &watch::Receiver<bool>,
) -> anyhow::Result<Connected> {
    let start = Instant::now();
    let start_us = unix_nanos() / 1_000;
    let connect_rate = args.connect_rate / shard.count as f64;
    let slots = std::sync::Arc::new(Semaphore::new(args.connect_concurrency.div_ceil(shard.count).max(1)));
    let mut pending = Vec::with_capacity(shard.clients(args.clients).len());
    for (n, i) in shard.clients(args.clients).enumerate() {
        let slot = if args.connect_concurrency > 0 {
            Some(slots.clone().acquire_owned().await?)
        } else {
            tokio::time::sleep_until((start + Duration::from_secs_f64(n as f64 / connect_rate)).into()).await;
            None
        };
        let (protocol, url, source) = (args.protocol, args.url.clone(), source_ip(i, source_ips));
        let (run, stop_rx) = (run.to_owned(), stop_rx.clone());
        let room = i % args.rooms;
        pending.push(tokio::spawn(async move {
            let result =
                tokio::time::timeout(CONNECT_TIMEOUT, connect(protocol, i, room, url, server, source, run, stop_rx))
                    .await
                    .unwrap_or_else(|_| Err("timeout".into()));
            drop(slot);
            (unix_nanos() / 1_000, result)
        }));
    }
    let mut out = Connected {
        clients: Vec::with_capacity(pending.len()),
        errors: BTreeMap::new(),
        seconds: 0.0,
        start_us,
        ok_us: Vec::with_capacity(pending.len()),
        failed_us: Vec::new(),
    };
    for handle in pending {
        match handle.await? {
            (at, Ok(client)) => {
                out.clients.push(client);
                out.ok_us.push(at);
            }
            (at, Err(e)) => {
                *out.errors.entry(e).or_default() += 1;
                out.failed_us.push(at);
            }
        }
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// Open one client: TCP from the chosen source address, WebSocket upgrade, into its room
/// (`welcome`, or Centrifugo's connect and subscribe: the server has registered it by then),
/// then start its task.
#[allow(clippy::too_many_arguments)]
async fn connect(
    protocol: Protocol,
    id: usize,
    room: usize,
    url: String,
    server: SocketAddr,
    source: Option<Ipv4Addr>,
    run: String,
    mut stop: watch::Receiver<bool>,
) -> Result<Client, String> {
    let room_name = format!("bench-{room}");
    let mut ws = open(protocol.url(&url, &room_name, None), server, source).await?;
    let mut stats = ClientStats::new(room);
    protocol.join(&mut ws, &room_name, None, |event| stats.on_event(&run, event)).await?;

    // One task reads and writes: a split socket would take a lock for every frame.
    let (tx, mut rx) = mpsc::channel::<Message>(WRITER_QUEUE);
    let task = tokio::spawn(async move {
        let mut stop = std::pin::pin!(stopped(&mut stop));
        loop {
            let out = tokio::select! {
                () = &mut stop => return (stats, Some(ws)),
                Some(out) = rx.recv() => out,
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let mut ping = false;
                        protocol.each_event(&t, Detail::Text, |event| {
                            ping |= event == Event::Ping;
                            stats.on_event(&run, event);
                        });
                        if !ping {
                            continue;
                        }
                        protocol.pong()
                    }
                    Some(Ok(_)) => continue, // WebSocket pings are answered by tungstenite itself
                    Some(Err(_)) | None => break,
                },
            };
            // A send the server does not take within the timeout ends the client, which
            // otherwise could neither read nor see the stop.
            match tokio::time::timeout(SEND_TIMEOUT, ws.send(out)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    *stats.errors.entry("send_timeout".into()).or_default() += 1;
                    break;
                }
            }
        }
        stats.disconnected = true;
        (stats, None)
    });
    Ok(Client { id, room: room_name, tx, task })
}

/// The server of a `ws://` URL (IPv4), and how many `--source-ips` can reach it: binding to
/// 127.0.0.X only reaches a loopback server, so 0 for any other.
pub(crate) async fn resolve(url: &str, source_ips: u8) -> anyhow::Result<(SocketAddr, u8)> {
    let uri: Uri = url.parse().with_context(|| format!("bad --url {url}"))?;
    let host = uri.host().context("--url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let server = tokio::net::lookup_host((host, port))
        .await?
        .find(|a| a.is_ipv4())
        .with_context(|| format!("{host} has no IPv4 address"))?;
    Ok((server, if server.ip().is_loopback() { source_ips } else { 0 }))
}

/// The source address of client `i`: 127.0.0.1 .. 127.0.0.K in turn, or the kernel's choice.
pub(crate) fn source_ip(i: usize, source_ips: u8) -> Option<Ipv4Addr> {
    (source_ips > 0).then(|| Ipv4Addr::new(127, 0, 0, 1 + (i % source_ips as usize) as u8))
}

/// TCP from `source`, then the WebSocket upgrade of `url`. A failure is described the way
/// the reports count it: `http 503 Service Unavailable`, `connect: ConnectionRefused`, ...
pub(crate) async fn open(url: String, server: SocketAddr, source: Option<Ipv4Addr>) -> Result<Ws, String> {
    open_timed(url, server, source).await.map(|(ws, _)| ws)
}

/// [`open`], also telling when the TCP connection was established (before the upgrade).
pub(crate) async fn open_timed(
    url: String,
    server: SocketAddr,
    source: Option<Ipv4Addr>,
) -> Result<(Ws, Instant), String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {}", e.kind()))?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).map_err(|e| format!("bind: {}", e.kind()))?;
    }
    let stream = socket.connect(server).await.map_err(|e| format!("connect: {}", e.kind()))?;
    let connected = Instant::now();
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await.map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => format!("http {}", r.status()),
            other => format!("handshake: {other}"),
        })?;
    Ok((ws, connected))
}

/// Resolves once the run says stop.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not in the caller's select.
    let _ = stop.wait_for(|s| *s).await.map(drop);
}

/// Send a close frame and read until the server answers with its own (or 2 s pass).
pub(crate) async fn close(mut ws: Ws) {
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// VmRSS of a process in KiB, from /proc (Linux only; None elsewhere or when it is gone).
pub(crate) fn read_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soft "Max open files" of a process, from /proc (Linux only).
fn read_open_files_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_clients_and_messages_exactly() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err() && "x/3".parse::<Shard>().is_err() && "2".parse::<Shard>().is_err());
        for count in 1..=4 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            let mut clients: Vec<usize> = shards.iter().flat_map(|s| s.clients(10)).collect();
            clients.sort_unstable();
            assert_eq!(clients, (0..10).collect::<Vec<_>>(), "{count} shards open every client once");
            assert_eq!(shards.iter().map(|s| s.messages(601)).sum::<u64>(), 601, "{count} shards send every message");
        }
    }
}
