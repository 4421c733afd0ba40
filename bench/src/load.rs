//! The load mode: connect many clients, send at a fixed total rate, measure every delivery.
//!
//! Accounting works without any help from the server beyond the protocol:
//!
//! - each message's text is `b:<run>:<sender>:<seq>:<unix_nanos>`; `<run>` keeps messages of
//!   an earlier run (or of another client) out of the numbers, `<seq>` is unique per message
//!   in this run, `<unix_nanos>` is the send time for the latency;
//! - every `ack` the server returns means the message was stored, so it must reach every
//!   client of that room (the sender included): expected = acked × clients in the room;
//! - each client keeps a bitset of the `<seq>` it saw: a second arrival is a duplicate (the
//!   server sends the same `message_id` again), and lost = expected − unique arrivals;
//! - each client checks that `offset` strictly increases in its room (the protocol's promise).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::report::{Latency, Report};

/// Options of the load mode. The server's per-connection limit (5 frames/s, burst 20 by
/// default, `chat.rate_per_second` / `chat.rate_burst`) applies to each client, so
/// `--rate / --clients` must stay under it, or the server must be configured higher;
/// otherwise the report shows `rate_limited` errors instead of latencies.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// WebSocket URL of the chat endpoint; `room=` and `history=0` are appended to its query.
    #[arg(long, default_value = "ws://127.0.0.1:8003/ws/chat")]
    pub url: String,
    /// Number of WebSocket clients to open.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Number of rooms; client i joins room `bench-<i % rooms>`.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// New connections per second while connecting (all clients connect before sending starts).
    #[arg(long, default_value_t = 500.0)]
    pub connect_rate: f64,
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
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// PID of the server process (same machine): its VmRSS is read before connecting, once every
    /// client is connected, and at the end (memory per connection = (end - before) / clients);
    /// its open-file limit is reported too.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// How long one connection (TCP + upgrade + `welcome`) may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames a client's writer may have queued; past it the pacer counts `send_queue_full`
/// rather than letting one stuck socket delay everyone else's sends.
const WRITER_QUEUE: usize = 64;
/// tungstenite allocates a 128 KiB read buffer per connection by default: with thousands of
/// clients that alone would be hundreds of MiB in the bench; chat frames are small.
const READ_BUFFER: usize = 4096;

type Ws = WebSocketStream<TcpStream>;

/// The fields of server frames the bench looks at; everything else is ignored. Borrowed
/// from the frame where JSON allows: at 400,000 deliveries/s the bench shares the server's
/// two cores, and every allocation here is CPU the server does not get.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    offset: Option<i64>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

/// What one client's reader saw; merged into the report at the end.
struct ClientStats {
    room: usize,
    latency_us: Histogram<u64>,
    /// Unique bench messages of this run that arrived.
    deliveries: u64,
    duplicated: u64,
    acked: u64,
    offset_regressions: u64,
    errors: BTreeMap<String, u64>,
    /// The connection ended before the run did.
    disconnected: bool,
    /// Bit `seq` is set once message `seq` arrived (a bitset: clients × messages must stay small).
    seen: Vec<u64>,
    last_offset: i64,
}

impl ClientStats {
    fn new(room: usize) -> Self {
        ClientStats {
            room,
            // 1 µs to 10 min, 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"),
            deliveries: 0,
            duplicated: 0,
            acked: 0,
            offset_regressions: 0,
            errors: BTreeMap::new(),
            disconnected: false,
            seen: Vec::new(),
            last_offset: -1,
        }
    }

    /// Returns true when `seq` was already seen.
    fn mark_seen(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let was = self.seen[word] & (1 << bit) != 0;
        self.seen[word] |= 1 << bit;
        was
    }

    fn on_text(&mut self, run: &str, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            *self.errors.entry("unparsable_frame".into()).or_default() += 1;
            return;
        };
        match frame.kind.as_ref() {
            "chat_message" => {
                if let Some(offset) = frame.offset {
                    if offset <= self.last_offset {
                        self.offset_regressions += 1;
                    }
                    self.last_offset = offset;
                }
                // Only our own run's messages count; anyone else's chat is ignored.
                let Some((seq, sent_nanos)) = frame.text.as_deref().and_then(|t| parse_text(run, t)) else {
                    return;
                };
                if self.mark_seen(seq) {
                    self.duplicated += 1;
                    return;
                }
                self.deliveries += 1;
                let micros = unix_nanos().saturating_sub(sent_nanos) / 1_000;
                // Clamp instead of failing: a value past the bound is still "very late".
                self.latency_us.saturating_record(micros.max(1));
            }
            "ack" => self.acked += 1,
            "error" => *self.errors.entry(frame.code.unwrap_or(Cow::Borrowed("no_code")).into_owned()).or_default() += 1,
            // welcome, connection_update, presence, history_end, heartbeat, typing, ...
            _ => {}
        }
    }
}

/// `b:<run>:<sender>:<seq>:<unix_nanos>` → (seq, unix_nanos) when `<run>` is ours.
fn parse_text(run: &str, text: &str) -> Option<(u64, u64)> {
    let mut parts = text.split(':');
    if parts.next()? != "b" || parts.next()? != run {
        return None;
    }
    let _sender = parts.next()?;
    let seq = parts.next()?.parse().ok()?;
    let nanos = parts.next()?.parse().ok()?;
    Some((seq, nanos))
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// A connected client: where to queue its outgoing frames, and its two tasks.
struct Client {
    id: usize,
    tx: mpsc::Sender<Message>,
    /// Hands the stream half back so the connection can be closed properly at the end.
    reader: JoinHandle<(ClientStats, SplitStream<Ws>)>,
    /// Hands the sink half back (None when the socket failed).
    writer: JoinHandle<Option<SplitSink<Ws, Message>>>,
}

/// Run the whole load and build the report.
pub async fn run(args: &LoadArgs) -> anyhow::Result<Report> {
    if args.clients == 0 || args.rooms == 0 || args.connect_rate <= 0.0 || args.rate < 0.0 {
        bail!("--clients, --rooms and --connect-rate must be positive, --rate non-negative");
    }
    let uri: Uri = args.url.parse().with_context(|| format!("bad --url {}", args.url))?;
    let host = uri.host().context("--url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let server = tokio::net::lookup_host((host, port))
        .await?
        .find(|a| a.is_ipv4())
        .with_context(|| format!("{host} has no IPv4 address"))?;
    // Binding to 127.0.0.X only reaches a loopback server.
    let source_ips = if server.ip().is_loopback() { args.source_ips } else { 0 };
    // A run id keeps leftovers of earlier runs in the same rooms out of the numbers.
    let run = format!("{:x}", unix_nanos() % 0xffff_ffff);
    let (stop_tx, stop_rx) = watch::channel(false);

    let rss_before = args.server_pid.and_then(read_rss_kib);

    // Connect phase: start one connection every 1/connect_rate s, then wait for all.
    let connect_start = Instant::now();
    let mut pending = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        tokio::time::sleep_until((connect_start + Duration::from_secs_f64(i as f64 / args.connect_rate)).into()).await;
        let url = with_query(&args.url, &format!("room=bench-{}&history=0", i % args.rooms));
        let source = (source_ips > 0).then(|| Ipv4Addr::new(127, 0, 0, 1 + (i % source_ips as usize) as u8));
        let (run, stop_rx) = (run.clone(), stop_rx.clone());
        let room = i % args.rooms;
        pending.push(tokio::spawn(async move {
            tokio::time::timeout(CONNECT_TIMEOUT, connect(i, room, url, server, source, run, stop_rx))
                .await
                .unwrap_or_else(|_| Err("timeout".into()))
        }));
    }
    let mut clients = Vec::new();
    let mut connect_errors: BTreeMap<String, u64> = BTreeMap::new();
    for handle in pending {
        match handle.await? {
            Ok(client) => clients.push(client),
            Err(e) => *connect_errors.entry(e).or_default() += 1,
        }
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    // Let the server finish whatever a join costs (presence, counts) before measuring memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = args.server_pid.and_then(read_rss_kib);
    let mut clients_per_room = vec![0u64; args.rooms];
    for c in &clients {
        clients_per_room[c.id % args.rooms] += 1;
    }

    // Send phase: a single pacer keeps the total rate exact; it sends whatever is due every
    // millisecond rather than sleeping per message, so high rates do not drift.
    let total = (args.rate * args.duration).round() as u64;
    let send_start = Instant::now();
    let mut sent = 0u64;
    let mut send_queue_full = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while sent < total && !clients.is_empty() {
        tick.tick().await;
        let due = ((send_start.elapsed().as_secs_f64() * args.rate) as u64).min(total);
        while sent < due {
            let client = &clients[(sent % clients.len() as u64) as usize];
            let text = format!("b:{run}:{}:{sent}:{}", client.id, unix_nanos());
            let frame = serde_json::json!({"type": "chat_message", "text": text, "client_msg_id": sent.to_string()});
            if client.tx.try_send(Message::text(frame.to_string())).is_err() {
                send_queue_full += 1;
            }
            sent += 1;
        }
    }
    // With --rate 0 this is an idle hold: the connections stay open (heartbeats only).
    tokio::time::sleep_until((send_start + Duration::from_secs_f64(args.duration)).into()).await;
    let send_seconds = send_start.elapsed().as_secs_f64();
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
        let (s, stream) = c.reader.await?;
        stats.push(s);
        drop(c.tx); // ends the writer, which hands back the sink
        let writer = c.writer;
        closes.push(tokio::spawn(async move {
            if let Ok(Some(sink)) = writer.await {
                if let Ok(ws) = sink.reunite(stream) {
                    close(ws).await;
                }
            }
        }));
    }
    for c in closes {
        let _ = c.await;
    }

    // Merge.
    let mut latency = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut acked_per_room = vec![0u64; args.rooms];
    let mut report = Report {
        url: args.url.clone(),
        clients_requested: args.clients,
        clients_connected: stats.len(),
        connect_failures: connect_errors.values().sum(),
        connect_errors,
        connect_seconds,
        connect_rate: stats.len() as f64 / connect_seconds.max(1e-9),
        rooms: args.rooms,
        bench_open_files_limit: rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft),
        server_open_files_limit: args.server_pid.and_then(read_open_files_limit),
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        server_rss_end_kib: rss_end,
        server_bytes_per_connection: match (rss_before, rss_end) {
            (Some(b), Some(a)) if !stats.is_empty() => Some((a as f64 - b as f64) * 1024.0 / stats.len() as f64),
            _ => None,
        },
        send_seconds,
        // Only what actually went to a socket; dropped sends are counted apart.
        messages_sent: sent - send_queue_full,
        send_queue_full,
        ..Report::default()
    };
    for s in &stats {
        latency.add(&s.latency_us)?;
        acked_per_room[s.room] += s.acked;
        report.messages_acked += s.acked;
        report.deliveries += s.deliveries;
        report.duplicated += s.duplicated;
        report.offset_regressions += s.offset_regressions;
        report.disconnected += s.disconnected as u64;
        for (code, n) in &s.errors {
            *report.errors.entry(code.clone()).or_default() += n;
        }
    }
    report.expected_deliveries = acked_per_room.iter().zip(&clients_per_room).map(|(a, c)| a * c).sum();
    // Deliveries of messages whose ack never came are not expected, so clamp at 0.
    report.lost = report.expected_deliveries.saturating_sub(report.deliveries);
    report.deliveries_per_second = report.deliveries as f64 / send_seconds.max(1e-9);
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    report.latency_ms = Latency {
        p50: ms(0.5),
        p90: ms(0.9),
        p99: ms(0.99),
        max: latency.max() as f64 / 1000.0,
        samples: latency.len(),
    };
    Ok(report)
}

/// Open one client: TCP from the chosen source address, WebSocket upgrade, wait for `welcome`
/// (the server has registered the session by then), then start its reader and writer.
async fn connect(
    id: usize,
    room: usize,
    url: String,
    server: SocketAddr,
    source: Option<Ipv4Addr>,
    run: String,
    mut stop: watch::Receiver<bool>,
) -> Result<Client, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {}", e.kind()))?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).map_err(|e| format!("bind: {}", e.kind()))?;
    }
    let stream = socket.connect(server).await.map_err(|e| format!("connect: {}", e.kind()))?;
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await.map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => format!("http {}", r.status()),
            other => format!("handshake: {other}"),
        })?;
    let (mut sink, mut stream) = ws.split();
    let mut stats = ClientStats::new(room);
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(t))) => {
                if serde_json::from_str::<Frame>(&t).is_ok_and(|f| f.kind == "welcome") {
                    break;
                }
                stats.on_text(&run, &t);
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("before welcome: {e}")),
            None => return Err("closed before welcome".into()),
        }
    }

    let reader = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(t))) => stats.on_text(&run, &t),
                    Some(Ok(_)) => {} // pings are answered by tungstenite itself
                    Some(Err(_)) | None => {
                        stats.disconnected = true;
                        break;
                    }
                },
            }
        }
        (stats, stream)
    });
    let (tx, mut rx) = mpsc::channel::<Message>(WRITER_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                return None;
            }
        }
        Some(sink)
    });
    Ok(Client { id, tx, reader, writer })
}

/// Send a close frame and read until the server answers with its own (or 2 s pass).
async fn close(mut ws: Ws) {
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// Append `extra` to the URL's query string.
fn with_query(url: &str, extra: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{extra}")
}

/// VmRSS of a process in KiB, from /proc (Linux only; None elsewhere or when it is gone).
fn read_rss_kib(pid: u32) -> Option<u64> {
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
    fn parses_only_our_run() {
        assert_eq!(parse_text("ab", "b:ab:3:17:123"), Some((17, 123)));
        assert_eq!(parse_text("ab", "b:cd:3:17:123"), None);
        assert_eq!(parse_text("ab", "hello"), None);
    }

    #[test]
    fn bitset_flags_duplicates() {
        let mut s = ClientStats::new(0);
        assert!(!s.mark_seen(130));
        assert!(s.mark_seen(130));
        assert!(!s.mark_seen(0));
    }
}
