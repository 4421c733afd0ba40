//! The storm mode: every client resumes at once after the server restarts.
//!
//! 1. **Before**: `--clients` connect to the server over `--rooms` (`history=0`), one marker
//!    message per room is sent and reaches every client; each client keeps the offset of the
//!    last `chat_message` it saw and the `epoch` of its `welcome`. Then they all close.
//! 2. **Away**: the server is stopped; `--behind` messages per room are written through a
//!    second instance of the same server (another process on `--writer-addr`, same topic), by
//!    a few writer connections per room, each within the default rate burst. Every write is
//!    acknowledged with its offset: that is the set each client of the room must get back.
//!    The writer instance stops and the server starts again, with empty room caches.
//! 3. **Storm**: all clients reconnect at once with `since=<offset>&epoch=<epoch>`. Each must
//!    get exactly its room's missed offsets, in order, none twice, then `history_end` with
//!    `recovered: true`. A refused or failed connect is retried after a second (the server
//!    says `Retry-After: 1`) until `--timeout`.
//!
//! The tool starts and stops the servers itself (`--server-cmd`): the clients' offsets live
//! in this process across the restart, it knows the moment the server is ready again and its
//! pid (for its CPU during the storm), and no script has to hand control back and forth in
//! the middle of a run. Without `--server-cmd` nothing is restarted: the storm then resumes
//! from a running server's warm caches (writes go through `--writer-url`, default `--url`).
//!
//! With `--protocol centrifugo` the same storm runs against Centrifugo: a client's position
//! is its channel's offset and epoch, the resume is a subscribe with `recover`, and the
//! subscribe reply carries the replay and `recovered` (this tool's `history_end`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::Message;

use crate::baseline;
use crate::load::{
    close, open, open_timed, read_rss_kib, resolve, source_ip, stopped, unix_nanos, Ws, CONNECT_TIMEOUT,
};
use crate::protocol::{Detail, Event, Protocol, Resume};
use crate::report::{add_counts, latency_histogram, print_rows, Latency};

/// Options of the storm mode.
#[derive(clap::Args, Debug, Clone)]
pub struct StormArgs {
    /// WebSocket URL of the server under test; `room=`, `history=`, `since=` and `epoch=` are
    /// appended to its query. With --server-cmd its host:port is the server's CHAT_ADDR.
    #[arg(long, default_value = "ws://127.0.0.1:8003/ws/chat")]
    pub url: String,
    /// The protocol the clients speak: `chat` or `centrifugo` (see `load --help`).
    #[arg(long, value_enum, default_value_t = Protocol::Chat)]
    pub protocol: Protocol,
    /// Clients; client i is in room `storm-<run>-<i % rooms>`.
    #[arg(long, default_value_t = 10_000)]
    pub clients: usize,
    /// Rooms the clients are spread over.
    #[arg(long, default_value_t = 100)]
    pub rooms: usize,
    /// Messages written to each room while its clients are away.
    #[arg(long, default_value_t = 200)]
    pub behind: usize,
    /// New connections per second before the restart.
    #[arg(long, default_value_t = 1000.0)]
    pub connect_rate: f64,
    /// Reconnections per second in the storm; 0: all at once.
    #[arg(long, default_value_t = 0.0)]
    pub reconnect_rate: f64,
    /// Spread client sockets over 127.0.0.1 .. 127.0.0.K (see `load --help`); keep
    /// clients / K under the server's 256 connections per address.
    #[arg(long, default_value_t = 128)]
    pub source_ips: u8,
    /// The server's program (e.g. target/release/anime-chat). The tool starts it with
    /// CHAT_ADDR from --url and the rest of its own environment (KAFKA_BOOTSTRAP_SERVERS,
    /// CHAT_TOPIC, CHAT_CONFIG, RUST_LOG), stops it with SIGTERM before writing, runs a second
    /// one on --writer-addr for the writes, and starts it again for the storm.
    #[arg(long)]
    pub server_cmd: Option<PathBuf>,
    /// An argument for --server-cmd (repeat it for more), e.g. `--server-arg=-c
    /// --server-arg=bench/centrifugo/config.yaml`. With --protocol centrifugo the address
    /// goes in CENTRIFUGO_HTTP_SERVER_ADDRESS and _PORT rather than CHAT_ADDR.
    #[arg(long, allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// Append the servers' output to this file (default: this tool's stderr).
    #[arg(long)]
    pub server_log: Option<PathBuf>,
    /// Where the writer instance listens (with --server-cmd).
    #[arg(long, default_value = "127.0.0.1:8004")]
    pub writer_addr: SocketAddr,
    /// Without --server-cmd: the WebSocket URL the missed messages are written through
    /// (default: --url).
    #[arg(long)]
    pub writer_url: Option<String>,
    /// Messages one writer connection sends: the server's chat.rate_burst (20 by default), so
    /// no write is rate-limited; --behind / this many writers per room.
    #[arg(long, default_value_t = 20)]
    pub writer_burst: usize,
    /// Seconds the storm may take before the clients still waiting count as not recovered.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Seconds every client keeps reading after the last one recovered: duplicates that come
    /// after `history_end` are counted too.
    #[arg(long, default_value_t = 2.0)]
    pub linger: f64,
    /// The goal for the last client's recovery, in seconds after the first reconnect.
    #[arg(long, default_value_t = 5.0)]
    pub goal_seconds: f64,
    /// Without --server-cmd: PID of the server at --url (same machine), for its CPU and memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// PID of the Kafka broker (same machine), to report its CPU during the storm.
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl StormArgs {
    /// Writer connections per room, each sending at most `writer_burst` messages.
    fn writers_per_room(&self) -> usize {
        self.behind.div_ceil(self.writer_burst.max(1)).max(1)
    }
}

/// How long the server may take to become ready, and the writer instance too.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped server may take to exit before it is killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the phase-1 marker may take to reach every client, and the writes their acks.
const PHASE_TIMEOUT: Duration = Duration::from_secs(30);
/// A refused or failed reconnect is tried again after this long (the server's Retry-After).
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat.
const TICKS_PER_SECOND: f64 = 100.0;

/// The servers the storm runs against, and what it does to them between its phases.
// One value per run: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Servers {
    /// Someone else's server at --url: never restarted; writes go through `writer_url`.
    External { protocol: Protocol, addr: SocketAddr, writer_url: String, pid: Option<u32> },
    /// Processes of --server-cmd: the server under test on `addr` (stopped and started
    /// again between the phases) and a writer instance on `writer_addr`.
    Processes {
        protocol: Protocol,
        program: PathBuf,
        args: Vec<String>,
        log: Option<PathBuf>,
        addr: SocketAddr,
        writer_addr: SocketAddr,
        main: Option<Child>,
        writer: Option<Child>,
    },
    /// Baselines with history in this process, sharing one store (the smoke test): the
    /// "restart" ends the listener and binds a new one on the same address.
    InProcess {
        store: baseline::Store,
        addr: SocketAddr,
        main: Option<JoinHandle<anyhow::Result<()>>>,
        writer: Option<(SocketAddr, JoinHandle<anyhow::Result<()>>)>,
    },
}

impl Servers {
    /// From the options: processes with --server-cmd, else the server already at --url.
    pub async fn from_args(args: &StormArgs) -> anyhow::Result<Servers> {
        let (addr, _) = resolve(&args.url, 0).await?;
        Ok(match &args.server_cmd {
            Some(program) => Servers::Processes {
                protocol: args.protocol,
                program: program.clone(),
                args: args.server_arg.clone(),
                log: args.server_log.clone(),
                addr,
                writer_addr: args.writer_addr,
                main: None,
                writer: None,
            },
            None => Servers::External {
                protocol: args.protocol,
                addr,
                writer_url: args.writer_url.clone().unwrap_or_else(|| args.url.clone()),
                pid: args.server_pid,
            },
        })
    }

    fn restarts(&self) -> bool {
        !matches!(self, Servers::External { .. })
    }

    /// The server under test's pid, when it is a process of ours.
    fn pid(&self) -> Option<u32> {
        match self {
            Servers::Processes { main: Some(child), .. } => child.id(),
            Servers::External { pid, .. } => *pid,
            _ => None,
        }
    }

    /// Where /ready and /metrics are asked (None for the baseline, which has neither).
    fn http_addr(&self) -> Option<SocketAddr> {
        match self {
            Servers::External { addr, .. } | Servers::Processes { addr, .. } => Some(*addr),
            Servers::InProcess { .. } => None,
        }
    }

    /// Starts the server under test (when it is ours) and waits until it is ready.
    async fn start(&mut self) -> anyhow::Result<()> {
        match self {
            Servers::External { protocol, addr, .. } => wait_ready(*addr, protocol.ready_path(), None).await,
            Servers::Processes { protocol, program, args, log, addr, main, .. } => {
                let mut child = spawn_server(*protocol, program, args, log.as_ref(), *addr)?;
                let ready = wait_ready(*addr, protocol.ready_path(), Some(&mut child)).await;
                *main = Some(child);
                ready
            }
            Servers::InProcess { store, addr, main, .. } => {
                let listener = tokio::net::TcpListener::bind(*addr).await?;
                *main = Some(tokio::spawn(baseline::serve_store(listener, store.clone())));
                Ok(())
            }
        }
    }

    /// Stops the server under test (when it is ours).
    async fn stop(&mut self) -> anyhow::Result<()> {
        match self {
            Servers::External { .. } => Ok(()),
            Servers::Processes { main, .. } => match main.take() {
                Some(child) => terminate(child).await,
                None => Ok(()),
            },
            Servers::InProcess { main, .. } => {
                if let Some(task) = main.take() {
                    task.abort();
                    let _ = task.await;
                }
                Ok(())
            }
        }
    }

    /// Starts the instance the missed messages are written through; returns its URL.
    async fn start_writer(&mut self, url: &str) -> anyhow::Result<String> {
        match self {
            Servers::External { writer_url, .. } => Ok(writer_url.clone()),
            Servers::Processes { protocol, program, args, log, writer_addr, writer, .. } => {
                let mut child = spawn_server(*protocol, program, args, log.as_ref(), *writer_addr)?;
                let ready = wait_ready(*writer_addr, protocol.ready_path(), Some(&mut child)).await;
                *writer = Some(child);
                ready?;
                with_addr(url, *writer_addr)
            }
            Servers::InProcess { store, writer, .. } => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                *writer = Some((addr, tokio::spawn(baseline::serve_store(listener, store.clone()))));
                with_addr(url, addr)
            }
        }
    }

    async fn stop_writer(&mut self) -> anyhow::Result<()> {
        match self {
            Servers::External { .. } => Ok(()),
            Servers::Processes { writer, .. } => match writer.take() {
                Some(child) => terminate(child).await,
                None => Ok(()),
            },
            Servers::InProcess { writer, .. } => {
                if let Some((_, task)) = writer.take() {
                    task.abort();
                    let _ = task.await;
                }
                Ok(())
            }
        }
    }
}

/// `url` with its host and port replaced by `addr` (path and query kept).
fn with_addr(url: &str, addr: SocketAddr) -> anyhow::Result<String> {
    let uri: Uri = url.parse().with_context(|| format!("bad --url {url}"))?;
    let rest = uri.path_and_query().map_or("/", |p| p.as_str());
    Ok(format!("{}://{addr}{rest}", uri.scheme_str().unwrap_or("ws")))
}

/// One server process on `addr`, its output appended to `log` (or on our stderr).
fn spawn_server(
    protocol: Protocol,
    program: &PathBuf,
    args: &[String],
    log: Option<&PathBuf>,
    addr: SocketAddr,
) -> anyhow::Result<Child> {
    let mut command = Command::new(program);
    command.args(args).envs(protocol.listen_env(addr)).stdin(std::process::Stdio::null()).kill_on_drop(true);
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        command.stdout(file.try_clone()?).stderr(file);
    } else {
        command.stdout(std::process::Stdio::from(std::io::stderr())).stderr(std::process::Stdio::inherit());
    }
    command.spawn().with_context(|| format!("cannot start {}", program.display()))
}

/// SIGTERM (the server closes its sockets and flushes Kafka), then SIGKILL if it lingers.
async fn terminate(mut child: Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        if tokio::time::timeout(EXIT_TIMEOUT, child.wait()).await.is_ok() {
            return Ok(());
        }
        eprintln!("storm: server {pid} did not exit within {EXIT_TIMEOUT:?} of SIGTERM; killing it");
    }
    child.kill().await?;
    Ok(())
}

/// Polls `GET <path>` (`/ready`, Centrifugo's `/health`) until 200. A server without that
/// endpoint (an answer that is neither 200 nor 503) is taken as ready; one that exits
/// (`child`) fails the run.
async fn wait_ready(addr: SocketAddr, path: &str, mut child: Option<&mut Child>) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        match http_get(addr, path).await {
            Ok((200, _)) => return Ok(()),
            // Something answered, but not HTTP: a server without the endpoint (the baseline).
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Ok(()),
            Ok((503, _)) | Err(_) => {}
            Ok((status, _)) => {
                eprintln!("storm: {addr}{path} answers {status}; taking the server as ready");
                return Ok(());
            }
        }
        if let Some(child) = child.as_deref_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("the server on {addr} exited ({status}) before it was ready");
            }
        }
        if start.elapsed() > READY_TIMEOUT {
            bail!("the server on {addr} was not ready within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain `GET` (HTTP/1.0, so the body is never chunked): status and body.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange).await.map_err(std::io::Error::other)??;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))?;
    Ok((status, text.split_once("\r\n\r\n").map_or(String::new(), |(_, body)| body.to_string())))
}

/// Every sample of the counters the storm compares, as `name{labels}` → value.
fn counters(text: &str) -> BTreeMap<String, f64> {
    const WANTED: [&str; 3] = ["chat_history_kafka_reads_total", "chat_history_requests_total", "chat_errors_total"];
    text.lines()
        .filter(|line| WANTED.iter().any(|name| line.starts_with(name)))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(addr: Option<SocketAddr>) -> Option<BTreeMap<String, f64>> {
    match http_get(addr?, "/metrics").await {
        Ok((200, body)) => Some(counters(&body)),
        _ => None,
    }
}

/// CPU seconds (user + system) a process has used, from /proc (Linux only).
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks(&stat).map(|t| t as f64 / TICKS_PER_SECOND)
}

/// utime + stime of a /proc stat line (the fields after the parenthesised name).
fn ticks(stat: &str) -> Option<u64> {
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// (busy, all) ticks of every core, from the `cpu` line of /proc/stat; idle and iowait are not busy.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let all: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
    Some((all - idle, all))
}

/// The columns of the `cpu` line of /proc/stat.
const CPU_KINDS: [&str; 8] = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];

fn cpu_kinds() -> Vec<u64> {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return Vec::new() };
    let line = stat.lines().next().unwrap_or("");
    line.split_whitespace().skip(1).take(CPU_KINDS.len()).filter_map(|f| f.parse().ok()).collect()
}

/// Every process's name and CPU ticks (kernel threads such as ksoftirqd included).
fn process_ticks() -> BTreeMap<u32, (String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return BTreeMap::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let name = stat.split_once('(')?.1.rsplit_once(')')?.0.to_string();
            Some((pid, (name, ticks(&stat)?)))
        })
        .collect()
}

/// CPU seconds of a process's threads, summed by thread name.
fn thread_seconds(pid: u32) -> BTreeMap<String, f64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return by_name };
    for task in tasks.flatten() {
        let path = task.path();
        let (Ok(stat), Ok(name)) =
            (std::fs::read_to_string(path.join("stat")), std::fs::read_to_string(path.join("comm")))
        else {
            continue;
        };
        if let Some(t) = ticks(&stat) {
            *by_name.entry(name.trim().to_string()).or_default() += t as f64 / TICKS_PER_SECOND;
        }
    }
    by_name
}

/// The kernel's TCP counters that tell a connect storm's story (system-wide, from
/// /proc/net/netstat): accept queues that overflowed, and SYNs sent again because of it.
fn tcp_counters() -> BTreeMap<String, u64> {
    const WANTED: [&str; 3] = ["ListenOverflows", "ListenDrops", "TCPSynRetrans"];
    let Ok(text) = std::fs::read_to_string("/proc/net/netstat") else { return BTreeMap::new() };
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let [names, values] = lines[..] else { return BTreeMap::new() };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(name, _)| WANTED.contains(name))
        .filter_map(|(name, value)| Some((name.to_string(), value.parse().ok()?)))
        .collect()
}

/// One client's view of its resume: which of its room's missed offsets arrived, and how.
#[derive(Debug)]
struct Tracker {
    since: i64,
    /// The room's missed offsets, ascending.
    expected: Arc<[i64]>,
    seen: Vec<bool>,
    received: usize,
    last: i64,
    duplicates: u64,
    out_of_order: u64,
    unexpected: u64,
}

impl Tracker {
    fn new(since: i64, expected: Arc<[i64]>) -> Self {
        let seen = vec![false; expected.len()];
        Tracker { since, expected, seen, received: 0, last: since, duplicates: 0, out_of_order: 0, unexpected: 0 }
    }

    fn on_offset(&mut self, offset: i64) {
        // At or before `since`: the client had it before it left, so it is a duplicate too.
        if offset <= self.since {
            self.duplicates += 1;
            return;
        }
        match self.expected.binary_search(&offset) {
            Ok(i) if self.seen[i] => {
                self.duplicates += 1;
                return;
            }
            Ok(i) => {
                self.seen[i] = true;
                self.received += 1;
            }
            // Not one this run wrote (another writer in the room, or a write whose ack was lost).
            Err(_) => self.unexpected += 1,
        }
        if offset < self.last {
            self.out_of_order += 1;
        }
        self.last = self.last.max(offset);
    }

    /// Everything arrived, once each, in order.
    fn complete(&self) -> bool {
        self.received == self.expected.len() && self.duplicates == 0 && self.out_of_order == 0
    }

    fn lost(&self) -> u64 {
        (self.expected.len() - self.received) as u64
    }
}

/// A client between the phases: its room, where it resumes from, and under which epoch.
#[derive(Clone)]
struct Left {
    room: usize,
    since: i64,
    epoch: Option<String>,
}

/// A connected phase-1 client.
struct Joined {
    id: usize,
    epoch: Option<String>,
    tx: mpsc::Sender<Message>,
    task: JoinHandle<(i64, Option<Ws>)>,
}

/// Everything one run shares with its client tasks.
#[derive(Clone)]
struct Ctx {
    protocol: Protocol,
    run: String,
    url: String,
    server: SocketAddr,
    source_ips: u8,
}

impl Ctx {
    fn room(&self, room: usize) -> String {
        format!("storm-{}-{room}", self.run)
    }

    fn marker(&self) -> String {
        format!("s:{}:marker", self.run)
    }
}

/// Phase 1: one client joins its room live, then reads until stopped, keeping the offset of
/// the last chat message (or, with Centrifugo, the stream's offset when it subscribed) and
/// its epoch; `marked` counts clients that saw the marker.
async fn join(
    ctx: Ctx,
    id: usize,
    room: usize,
    marked: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Result<Joined, String> {
    let (protocol, name) = (ctx.protocol, ctx.room(room));
    let mut ws = open(protocol.url(&ctx.url, &name, None), ctx.server, source_ip(id, ctx.source_ips)).await?;
    let (mut epoch, mut last) = (None, -1);
    protocol
        .join(&mut ws, &name, None, |event| {
            if let Event::Joined { epoch: e, offset } = event {
                epoch = e.map(Cow::into_owned);
                last = offset.unwrap_or(-1);
            }
        })
        .await?;
    let (tx, mut rx) = mpsc::channel::<Message>(4);
    let marker = ctx.marker();
    let task = tokio::spawn(async move {
        let mut marked_here = false;
        let mut stop = std::pin::pin!(stopped(&mut stop));
        loop {
            let out = tokio::select! {
                () = &mut stop => return (last, Some(ws)),
                Some(out) = rx.recv() => out,
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let mut ping = false;
                        protocol.each_event(&t, Detail::Offsets, |event| match event {
                            Event::Chat { offset, .. } => last = offset.unwrap_or(last),
                            Event::Ping => ping = true,
                            _ => {}
                        });
                        if !marked_here && t.contains(&marker) {
                            marked_here = true;
                            marked.fetch_add(1, Ordering::Relaxed);
                        }
                        if !ping {
                            continue;
                        }
                        protocol.pong()
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                },
            };
            if ws.send(out).await.is_err() {
                break;
            }
        }
        (last, None)
    });
    Ok(Joined { id, epoch, tx, task })
}

/// What phase 1 hands on.
struct Before {
    left: Vec<Left>,
    connected: usize,
    connect_errors: BTreeMap<String, u64>,
    connect_seconds: f64,
    marked: usize,
    epoch: Option<String>,
}

async fn phase_before(args: &StormArgs, ctx: &Ctx) -> anyhow::Result<Before> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let marked = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut pending = Vec::with_capacity(args.clients);
    for id in 0..args.clients {
        tokio::time::sleep_until((start + Duration::from_secs_f64(id as f64 / args.connect_rate)).into()).await;
        let (ctx, marked, stop_rx, room) = (ctx.clone(), marked.clone(), stop_rx.clone(), id % args.rooms);
        pending.push(tokio::spawn(async move {
            tokio::time::timeout(CONNECT_TIMEOUT, join(ctx, id, room, marked, stop_rx))
                .await
                .unwrap_or_else(|_| Err("timeout".into()))
        }));
    }
    let (mut joined, mut connect_errors) = (Vec::new(), BTreeMap::new());
    for handle in pending {
        match handle.await? {
            Ok(client) => joined.push(client),
            Err(e) => *connect_errors.entry(e).or_insert(0u64) += 1,
        }
    }
    let connect_seconds = start.elapsed().as_secs_f64();
    // The first client of each room sends its marker; every client of the room must see it.
    let mut first = vec![None; args.rooms];
    for c in &joined {
        first[c.id % args.rooms].get_or_insert(c.id);
    }
    let by_id: BTreeMap<usize, &Joined> = joined.iter().map(|c| (c.id, c)).collect();
    for id in first.iter().flatten() {
        let frame = ctx.protocol.chat_message(&ctx.room(id % args.rooms), &ctx.marker(), 0);
        let _ = by_id[id].tx.send(frame).await;
    }
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while marked.load(Ordering::Relaxed) < joined.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send_replace(true);
    let mut left = Vec::with_capacity(joined.len());
    let mut closes = Vec::with_capacity(joined.len());
    let epoch = joined.iter().find_map(|c| c.epoch.clone());
    for c in joined {
        let (since, ws) = c.task.await?;
        left.push(Left { room: c.id % args.rooms, since, epoch: c.epoch });
        closes.extend(ws.map(|ws| tokio::spawn(close(ws))));
    }
    for c in closes {
        let _ = c.await;
    }
    Ok(Before {
        connected: left.len(),
        left,
        connect_errors,
        connect_seconds,
        marked: marked.load(Ordering::Relaxed),
        epoch,
    })
}

/// What one writer connection got done.
#[derive(Default)]
struct Written {
    /// (room, offset) of every acknowledged write.
    acked: Vec<(usize, i64)>,
    failed: u64,
    errors: BTreeMap<String, u64>,
}

/// Phase 2: one writer sends its messages to `room` back to back and collects their acks,
/// sending again what the server refused as rate-limited. A write is done once it is acked
/// and its offset is known: the chat server's ack names it; Centrifugo's does not, so it comes
/// from the write's own publication, which the writer gets as a member of the room.
async fn write_share(ctx: Ctx, url: String, server: SocketAddr, id: usize, room: usize, seqs: Vec<usize>) -> Written {
    let mut out = Written::default();
    let (protocol, name) = (ctx.protocol, ctx.room(room));
    let opened = match open(protocol.url(&url, &name, None), server, source_ip(id, ctx.source_ips)).await {
        Ok(mut ws) => protocol.join(&mut ws, &name, None, |_| {}).await.map(|()| ws),
        Err(e) => Err(e),
    };
    let mut ws = match opened {
        Ok(ws) => ws,
        Err(e) => {
            out.failed = seqs.len() as u64;
            *out.errors.entry(format!("connect: {e}")).or_default() += 1;
            return out;
        }
    };
    let prefix = format!("s:{}:{room}:", ctx.run);
    let frame = |seq: usize| protocol.chat_message(&name, &format!("{prefix}{seq}"), seq as u64);
    let mut waiting: BTreeSet<usize> = seqs.iter().copied().collect();
    let (mut acked, mut offsets) = (BTreeSet::new(), BTreeMap::new());
    for &seq in &seqs {
        if ws.feed(frame(seq)).await.is_err() {
            break;
        }
    }
    let _ = ws.flush().await;
    let mut retry = Vec::new();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while !waiting.is_empty() {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            _ = tick.tick() => for seq in retry.drain(..) {
                let _ = ws.send(frame(seq)).await;
            },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let mut ping = false;
                    protocol.each_event(&t, Detail::Text, |event| match event {
                        Event::Ack { id: Some(seq), offset } => {
                            let seq = seq as usize;
                            if waiting.contains(&seq) {
                                acked.insert(seq);
                                if let Some(offset) = offset.filter(|o| *o >= 0) {
                                    offsets.insert(seq, offset);
                                }
                            }
                        }
                        Event::Chat { text: Some(text), offset: Some(offset) } => {
                            if let Some(seq) = text.strip_prefix(prefix.as_str()).and_then(|s| s.parse().ok()) {
                                offsets.entry(seq).or_insert(offset);
                            }
                        }
                        Event::Error { code, id: Some(seq) } if code == "rate_limited" => retry.push(seq as usize),
                        Event::Error { code, id } => {
                            *out.errors.entry(code.into_owned()).or_default() += 1;
                            if id.is_some_and(|seq| waiting.remove(&(seq as usize))) {
                                out.failed += 1;
                            }
                        }
                        Event::Ping => ping = true,
                        _ => {}
                    });
                    if ping {
                        let _ = ws.send(protocol.pong()).await;
                    }
                    for seq in acked.iter().filter(|seq| offsets.contains_key(*seq)) {
                        if waiting.remove(seq) {
                            out.acked.push((room, offsets[seq]));
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    out.failed += waiting.len() as u64;
    close(ws).await;
    out
}

/// Phase 2: `behind` messages to every room, through the writer instance at `url`.
async fn phase_away(args: &StormArgs, ctx: &Ctx, url: &str) -> anyhow::Result<(Vec<Arc<[i64]>>, Written, f64)> {
    let (server, _) = resolve(url, 0).await?;
    let per_room = args.writers_per_room();
    let start = Instant::now();
    let mut writers = Vec::new();
    for room in 0..args.rooms {
        for w in 0..per_room {
            let seqs: Vec<usize> = (w..args.behind).step_by(per_room).collect();
            let (ctx, url) = (ctx.clone(), url.to_string());
            writers.push(tokio::spawn(write_share(ctx, url, server, room * per_room + w, room, seqs)));
        }
    }
    let mut total = Written::default();
    for w in writers {
        let w = w.await?;
        total.acked.extend(w.acked);
        total.failed += w.failed;
        add_counts(&mut total.errors, &w.errors);
    }
    let mut expected = vec![Vec::new(); args.rooms];
    for &(room, offset) in &total.acked {
        expected[room].push(offset);
    }
    let expected = expected
        .into_iter()
        .map(|mut offsets| {
            offsets.sort_unstable();
            Arc::from(offsets)
        })
        .collect();
    Ok((expected, total, start.elapsed().as_secs_f64()))
}

/// How one client's resume went. Instants are since the storm's first reconnect.
#[derive(Debug)]
struct Resumed {
    room: usize,
    attempts: u32,
    connect_errors: BTreeMap<String, u64>,
    /// Start of the attempt that connected, and when its TCP connection was established.
    started: Option<Duration>,
    tcp: Option<Duration>,
    welcome: Option<Duration>,
    first_replayed: Option<Duration>,
    history_end: Option<Duration>,
    recovered_at: Option<Duration>,
    history_ends: u32,
    recovered_false: u32,
    epoch_changed: bool,
    evicted: bool,
    /// The connection ended (other than by an eviction) before the run did.
    disconnected: bool,
    close_codes: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    tracker: Tracker,
}

/// Counts clients that are finished (recovered, or never will be) and wakes the run.
struct Done {
    count: AtomicUsize,
    notify: Notify,
}

impl Done {
    fn mark(&self, flag: &mut bool) {
        if !*flag {
            *flag = true;
            self.count.fetch_add(1, Ordering::Relaxed);
            self.notify.notify_one();
        }
    }
}

impl Resumed {
    /// One event of the resume: the join, the replay, its end.
    fn on_event(&mut self, event: Event<'_>, left: &Left, t0: Instant, done: &Done, finished: &mut bool) {
        match event {
            Event::Chat { offset, .. } => {
                self.first_replayed.get_or_insert_with(|| t0.elapsed());
                match offset {
                    Some(offset) => self.tracker.on_offset(offset),
                    None => *self.errors.entry("chat_message_without_offset".into()).or_default() += 1,
                }
            }
            Event::Joined { epoch, .. } => {
                self.welcome = Some(t0.elapsed());
                self.epoch_changed = epoch.as_deref() != left.epoch.as_deref();
            }
            Event::HistoryEnd { recovered } => {
                self.history_end.get_or_insert_with(|| t0.elapsed());
                self.history_ends += 1;
                if !recovered {
                    self.recovered_false += 1;
                } else if self.history_ends == 1 && self.tracker.complete() {
                    self.recovered_at = Some(t0.elapsed());
                }
                done.mark(finished);
            }
            Event::Error { code, .. } | Event::Refused { code } => {
                *self.errors.entry(code.into_owned()).or_default() += 1
            }
            _ => {} // connection_update, presence, heartbeat, pings, ...
        }
    }
}

/// Phase 3: one client resumes (retrying a refused connect), checks every frame of its
/// replay, and reads on until stopped.
#[allow(clippy::too_many_arguments)]
async fn resume(
    ctx: Ctx,
    id: usize,
    left: Left,
    expected: Arc<[i64]>,
    t0: Instant,
    deadline: Instant,
    done: Arc<Done>,
    mut stop: watch::Receiver<bool>,
) -> (Resumed, Option<Ws>) {
    let mut r = Resumed {
        room: left.room,
        attempts: 0,
        connect_errors: BTreeMap::new(),
        started: None,
        tcp: None,
        welcome: None,
        first_replayed: None,
        history_end: None,
        recovered_at: None,
        history_ends: 0,
        recovered_false: 0,
        epoch_changed: false,
        evicted: false,
        disconnected: false,
        close_codes: BTreeMap::new(),
        errors: BTreeMap::new(),
        tracker: Tracker::new(left.since, expected),
    };
    let mut finished = false;
    let protocol = ctx.protocol;
    let (name, from) = (ctx.room(left.room), Resume { offset: left.since, epoch: left.epoch.clone() });
    let url = protocol.url(&ctx.url, &name, Some(&from));
    let source = source_ip(id, ctx.source_ips);
    let mut ws = loop {
        let attempt = t0.elapsed();
        r.attempts += 1;
        let result = tokio::time::timeout(CONNECT_TIMEOUT, open_timed(url.clone(), ctx.server, source)).await;
        match result.unwrap_or_else(|_| Err("timeout".into())) {
            Ok((mut ws, connected)) => {
                r.started = Some(attempt);
                r.tcp = Some(connected.duration_since(t0));
                // In the room: chat's welcome (the replay follows), or Centrifugo's subscribe
                // reply (the replay and `recovered` inside it).
                let on_event = |event: Event<'_>| r.on_event(event, &left, t0, &done, &mut finished);
                let joined =
                    tokio::time::timeout_at(deadline.into(), protocol.join(&mut ws, &name, Some(&from), on_event));
                match joined.await.unwrap_or_else(|_| Err("timeout before joined".into())) {
                    Ok(()) => break ws,
                    Err(e) => *r.connect_errors.entry(e).or_default() += 1,
                }
            }
            Err(e) => *r.connect_errors.entry(e).or_default() += 1,
        }
        if Instant::now() + RETRY_AFTER >= deadline {
            done.mark(&mut finished);
            return (r, None);
        }
        tokio::time::sleep(RETRY_AFTER).await;
    };
    let mut stop = std::pin::pin!(stopped(&mut stop));
    loop {
        let frame = tokio::select! {
            () = &mut stop => return (r, Some(ws)),
            frame = ws.next() => frame,
        };
        match frame {
            Some(Ok(Message::Text(t))) => {
                let mut ping = false;
                protocol.each_event(&t, Detail::Offsets, |event| {
                    ping |= event == Event::Ping;
                    r.on_event(event, &left, t0, &done, &mut finished);
                });
                if ping && ws.send(protocol.pong()).await.is_err() {
                    r.disconnected = true;
                    break;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(1005, |f| u16::from(f.code));
                *r.close_codes.entry(code.to_string()).or_default() += 1;
                if protocol.is_eviction(code) {
                    r.evicted = true;
                } else {
                    r.disconnected = true;
                }
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                r.disconnected = true;
                break;
            }
        }
        if Instant::now() > deadline {
            done.mark(&mut finished);
        }
    }
    done.mark(&mut finished);
    (r, None)
}

/// Phase 3: every client at once (or at --reconnect-rate); returns each client's outcome, how
/// long until all were finished, and the CPU used meanwhile.
async fn phase_storm(
    args: &StormArgs,
    ctx: &Ctx,
    left: Vec<Left>,
    expected: &[Arc<[i64]>],
    server_pid: Option<u32>,
) -> anyhow::Result<(Vec<Resumed>, Duration, Cpu, Option<u64>)> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let done = Arc::new(Done { count: AtomicUsize::new(0), notify: Notify::new() });
    let n = left.len();
    let probe = CpuProbe::start(server_pid, args.broker_pid);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(args.timeout);
    let mut tasks = Vec::with_capacity(n);
    for (id, client) in left.into_iter().enumerate() {
        if args.reconnect_rate > 0.0 {
            tokio::time::sleep_until((t0 + Duration::from_secs_f64(id as f64 / args.reconnect_rate)).into()).await;
        }
        let expected = expected[client.room].clone();
        let (ctx, done, stop_rx) = (ctx.clone(), done.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(resume(ctx, id, client, expected, t0, deadline, done, stop_rx)));
    }
    loop {
        let notified = done.notify.notified();
        if done.count.load(Ordering::Relaxed) >= n {
            break;
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep_until(deadline.into()) => break,
        }
    }
    let finished = t0.elapsed();
    let cpu = probe.finish(finished.as_secs_f64());
    tokio::time::sleep(Duration::from_secs_f64(args.linger)).await;
    let rss_connected = server_pid.and_then(read_rss_kib);
    stop_tx.send_replace(true);
    let mut resumed = Vec::with_capacity(n);
    let mut closes = Vec::with_capacity(n);
    for task in tasks {
        let (r, ws) = task.await?;
        resumed.push(r);
        closes.extend(ws.map(|ws| tokio::spawn(close(ws))));
    }
    for c in closes {
        let _ = c.await;
    }
    Ok((resumed, finished, cpu, rss_connected))
}

/// CPU counters at the start of the storm.
struct CpuProbe {
    server_pid: Option<u32>,
    broker_pid: Option<u32>,
    server: Option<f64>,
    bench: Option<f64>,
    broker: Option<f64>,
    threads: BTreeMap<String, f64>,
    tcp: BTreeMap<String, u64>,
    machine: Option<(u64, u64)>,
    kinds: Vec<u64>,
    processes: BTreeMap<u32, (String, u64)>,
}

impl CpuProbe {
    fn start(server_pid: Option<u32>, broker_pid: Option<u32>) -> Self {
        CpuProbe {
            server_pid,
            broker_pid,
            server: server_pid.and_then(|p| cpu_seconds(&p.to_string())),
            bench: cpu_seconds("self"),
            broker: broker_pid.and_then(|p| cpu_seconds(&p.to_string())),
            threads: server_pid.map(thread_seconds).unwrap_or_default(),
            tcp: tcp_counters(),
            machine: machine_ticks(),
            kinds: cpu_kinds(),
            processes: process_ticks(),
        }
    }

    fn finish(&self, wall_seconds: f64) -> Cpu {
        let since =
            |pid: Option<String>, start: Option<f64>| pid.and_then(|p| cpu_seconds(&p)).zip(start).map(|(a, b)| a - b);
        let mut server_threads = BTreeMap::new();
        for (name, after) in self.server_pid.map(thread_seconds).unwrap_or_default() {
            let used = after - self.threads.get(&name).copied().unwrap_or(0.0);
            if used > 0.0 {
                server_threads.insert(name, (used * 100.0).round() / 100.0);
            }
        }
        let machine = machine_ticks().zip(self.machine).map(|((busy, all), (busy0, all0))| {
            ((busy - busy0) as f64 / TICKS_PER_SECOND, (all - all0) as f64 / TICKS_PER_SECOND)
        });
        let machine_by_kind = CPU_KINDS
            .iter()
            .zip(cpu_kinds().iter().zip(&self.kinds))
            .filter(|(kind, _)| !matches!(**kind, "idle" | "iowait"))
            .map(|(kind, (after, before))| (kind.to_string(), after.saturating_sub(*before) as f64 / TICKS_PER_SECOND))
            .filter(|(_, seconds)| *seconds > 0.0)
            .collect();
        let mut used: Vec<(String, f64)> = process_ticks()
            .into_iter()
            .filter_map(|(pid, (name, after))| {
                let before = self.processes.get(&pid).map_or(0, |(_, t)| *t);
                let seconds = after.saturating_sub(before) as f64 / TICKS_PER_SECOND;
                (seconds > 0.0).then(|| (format!("{name} ({pid})"), seconds))
            })
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        used.truncate(8);
        Cpu {
            wall_seconds,
            machine_by_kind,
            top_processes: used.into_iter().collect(),
            machine_busy_seconds: machine.map(|m| m.0),
            machine_seconds: machine.map(|m| m.1),
            server_seconds: since(self.server_pid.map(|p| p.to_string()), self.server),
            bench_seconds: since(Some("self".into()), self.bench),
            broker_seconds: since(self.broker_pid.map(|p| p.to_string()), self.broker),
            server_threads,
            tcp: tcp_counters()
                .into_iter()
                .map(|(name, after)| {
                    let before = self.tcp.get(&name).copied().unwrap_or(after);
                    (name, after.saturating_sub(before))
                })
                .collect(),
        }
    }
}

/// Where the CPU went during the storm (first reconnect → every client finished).
#[derive(Serialize, Default, Debug)]
pub struct Cpu {
    pub wall_seconds: f64,
    pub server_seconds: Option<f64>,
    pub bench_seconds: Option<f64>,
    pub broker_seconds: Option<f64>,
    /// CPU seconds the whole machine used (every process, kernel included), of
    /// `machine_seconds` (wall × cores).
    pub machine_busy_seconds: Option<f64>,
    pub machine_seconds: Option<f64>,
    /// The busy part by kind: user, system, softirq (loopback TCP runs there), steal (the VM's
    /// host), ...
    pub machine_by_kind: BTreeMap<String, f64>,
    /// The processes that used the most CPU meanwhile, `name (pid)` → seconds.
    pub top_processes: BTreeMap<String, f64>,
    /// The server's CPU by thread name (actix workers, arbiters, librdkafka threads).
    pub server_threads: BTreeMap<String, f64>,
    /// Increases of the kernel's ListenOverflows, ListenDrops and TCPSynRetrans (the whole
    /// machine's): a full accept queue drops a SYN, and its client tries again 1 s later.
    pub tcp: BTreeMap<String, u64>,
}

#[derive(Serialize, Default, Debug)]
pub struct StormReport {
    pub url: String,
    pub clients: usize,
    pub rooms: usize,
    /// Messages written per room while the clients were away.
    pub behind: usize,
    /// Whether the server was restarted between the phases (empty caches).
    pub restarted: bool,
    pub epoch: Option<String>,
    // Phase 1.
    pub clients_connected_before: usize,
    pub connect_errors_before: BTreeMap<String, u64>,
    pub connect_seconds_before: f64,
    /// Clients that got their room's marker message live.
    pub marker_seen: usize,
    // Phase 2.
    pub messages_written: u64,
    pub write_failures: u64,
    pub write_errors: BTreeMap<String, u64>,
    pub write_seconds: f64,
    /// Server stopped → restarted server ready (writes included).
    pub restart_seconds: f64,
    // Phase 3.
    /// First reconnect → last client recovered (the storm's length; `null` if none did).
    pub storm_seconds: Option<f64>,
    /// First reconnect → every client finished, recovered or not (bounded by --timeout).
    pub finished_seconds: f64,
    pub clients_recovered: usize,
    /// When each client had all its messages and history_end, since the first reconnect (ms).
    pub recovered_at_ms: Latency,
    /// Each client's own resume: start of its connecting attempt → recovered (ms).
    pub per_client_ms: Latency,
    /// First reconnect → welcome (ms): how long the connects themselves took.
    pub welcome_ms: Latency,
    /// Where each client's time went, in order (ms): start of its connecting attempt → TCP
    /// established (SYNs sent again when the accept queue was full), → `welcome` (the accept
    /// queue, the upgrade and the join), → first replayed message (the history read), →
    /// `history_end` (the replay's transfer).
    pub tcp_ms: Latency,
    pub upgrade_ms: Latency,
    pub history_wait_ms: Latency,
    pub transfer_ms: Latency,
    /// Per room: its first client's `welcome` → the first replayed message any of its clients
    /// got (ms). On a restarted server that is the room's Kafka read, queue included.
    pub room_history_ms: Latency,
    /// Clients welcomed, and clients recovered, in each 250 ms after the first reconnect.
    pub welcomed_per_250ms: Vec<u64>,
    pub recovered_per_250ms: Vec<u64>,
    /// Connect attempts that failed, by reason (`http 503 Service Unavailable`, `timeout`, ...).
    pub connect_failures: u64,
    pub connect_errors: BTreeMap<String, u64>,
    /// Of those, answered with HTTP 503.
    pub connects_refused: u64,
    /// Clients that never connected before --timeout.
    pub never_connected: usize,
    /// Clients closed with 1008 (too slow).
    pub evicted: usize,
    pub disconnected: usize,
    pub close_codes: BTreeMap<String, u64>,
    /// Σ over clients of missed messages that did not arrive.
    pub lost: u64,
    /// Arrivals of an offset a client had already (twice in the replay, or at or before `since`).
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Chat messages with offsets this run did not write.
    pub unexpected: u64,
    /// history_end frames with recovered: false.
    pub recovered_false: u64,
    pub history_end_missing: usize,
    pub history_end_repeated: usize,
    pub epoch_changed: usize,
    /// `error` frames by code.
    pub errors: BTreeMap<String, u64>,
    /// Counter increases on the restarted server over the storm (`/metrics`).
    pub server_metrics_delta: BTreeMap<String, f64>,
    /// `chat_history_kafka_reads_total` over the storm: the goal is at most one per room.
    pub kafka_reads: Option<f64>,
    /// The restarted server's resident memory before the storm, and after it (every client
    /// still connected, after --linger).
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_kib: Option<u64>,
    /// Once every client closed again.
    pub server_rss_closed_kib: Option<u64>,
    pub cpu: Cpu,
    pub goal_seconds: f64,
    pub goal_met: bool,
    pub goal_misses: Vec<String>,
}

/// Runs the three phases and builds the report.
pub async fn run(args: &StormArgs, servers: &mut Servers, url: &str) -> anyhow::Result<StormReport> {
    if args.clients == 0 || args.rooms == 0 || args.behind == 0 || args.connect_rate <= 0.0 {
        bail!("--clients, --rooms, --behind and --connect-rate must be positive");
    }
    let (server, source_ips) = resolve(url, args.source_ips).await?;
    let run = format!("{:x}", unix_nanos() % 0xffff_ffff);
    let ctx = Ctx { protocol: args.protocol, run, url: url.to_string(), server, source_ips };

    servers.start().await?;
    eprintln!("storm: {} clients joining {} rooms", args.clients, args.rooms);
    let before = phase_before(args, &ctx).await?;
    eprintln!(
        "storm: {} joined in {:.1} s, {} saw their room's marker; {}",
        before.connected,
        before.connect_seconds,
        before.marked,
        if servers.restarts() { "stopping the server" } else { "writing" }
    );
    let down = Instant::now();
    if servers.restarts() {
        servers.stop().await?;
    }
    let writer_url = servers.start_writer(url).await?;
    let (expected, written, write_seconds) = phase_away(args, &ctx, &writer_url).await?;
    servers.stop_writer().await?;
    eprintln!(
        "storm: {} messages written in {write_seconds:.1} s ({} failed); {}",
        written.acked.len(),
        written.failed,
        if servers.restarts() { "starting the server again" } else { "resuming" }
    );
    if servers.restarts() {
        servers.start().await?;
    }
    let restart_seconds = down.elapsed().as_secs_f64();

    let metrics_before = scrape(servers.http_addr()).await;
    let pid = servers.pid();
    let rss_before = pid.and_then(read_rss_kib);
    eprintln!("storm: {} clients resuming", before.left.len());
    let (resumed, finished, cpu, rss_connected) = phase_storm(args, &ctx, before.left.clone(), &expected, pid).await?;
    let metrics_after = scrape(servers.http_addr()).await;
    // Closed connections settle first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_rss_closed_kib = pid.and_then(read_rss_kib);
    if matches!(servers, Servers::Processes { .. }) {
        servers.stop().await?;
    }

    let mut report = StormReport {
        url: url.to_string(),
        clients: args.clients,
        rooms: args.rooms,
        behind: args.behind,
        restarted: servers.restarts(),
        epoch: before.epoch.clone(),
        clients_connected_before: before.connected,
        connect_errors_before: before.connect_errors,
        connect_seconds_before: before.connect_seconds,
        marker_seen: before.marked,
        messages_written: written.acked.len() as u64,
        write_failures: written.failed,
        write_errors: written.errors,
        write_seconds,
        restart_seconds,
        finished_seconds: finished.as_secs_f64(),
        server_rss_before_kib: rss_before,
        server_rss_kib: rss_connected,
        server_rss_closed_kib,
        cpu,
        goal_seconds: args.goal_seconds,
        ..StormReport::default()
    };
    report.add_clients(&resumed)?;
    if let (Some(before), Some(after)) = (metrics_before, metrics_after) {
        for (series, value) in &after {
            let delta = value - before.get(series).copied().unwrap_or(0.0);
            if delta != 0.0 {
                report.server_metrics_delta.insert(series.clone(), delta);
            }
        }
        report.kafka_reads =
            Some(report.server_metrics_delta.get("chat_history_kafka_reads_total").copied().unwrap_or(0.0));
    }
    // Clients that were not there before the restart are not part of the storm.
    report.never_connected += args.clients - before.connected;
    report.judge();
    Ok(report)
}

impl StormReport {
    fn add_clients(&mut self, resumed: &[Resumed]) -> anyhow::Result<()> {
        let ms = |d: Duration| (d.as_micros() as u64).max(1);
        let mut at: Histogram<u64> = latency_histogram()?;
        let mut own: Histogram<u64> = latency_histogram()?;
        let mut welcome: Histogram<u64> = latency_histogram()?;
        let mut wait: Histogram<u64> = latency_histogram()?;
        let (mut tcp, mut upgrade, mut transfer) = (latency_histogram()?, latency_histogram()?, latency_histogram()?);
        let mut last = None;
        let slot = |d: Duration, timeline: &mut Vec<u64>| {
            let i = (d.as_millis() / 250) as usize;
            if timeline.len() <= i {
                timeline.resize(i + 1, 0);
            }
            timeline[i] += 1;
        };
        for r in resumed {
            add_counts(&mut self.connect_errors, &r.connect_errors);
            add_counts(&mut self.close_codes, &r.close_codes);
            add_counts(&mut self.errors, &r.errors);
            if let (Some(start), Some(t)) = (r.started, r.tcp) {
                tcp.saturating_record(ms(t.saturating_sub(start)));
                if let Some(w) = r.welcome {
                    upgrade.saturating_record(ms(w.saturating_sub(t)));
                }
            }
            if let Some(w) = r.welcome {
                welcome.saturating_record(ms(w));
                slot(w, &mut self.welcomed_per_250ms);
                if let Some(first) = r.first_replayed {
                    wait.saturating_record(ms(first.saturating_sub(w)));
                    if let Some(end) = r.history_end {
                        transfer.saturating_record(ms(end.saturating_sub(first)));
                    }
                }
            }
            if let Some(done) = r.recovered_at {
                self.clients_recovered += 1;
                at.saturating_record(ms(done));
                slot(done, &mut self.recovered_per_250ms);
                own.saturating_record(ms(done.saturating_sub(r.started.unwrap_or_default())));
                last = last.max(Some(done));
            }
            self.never_connected += r.started.is_none() as usize;
            self.evicted += r.evicted as usize;
            self.disconnected += r.disconnected as usize;
            self.epoch_changed += r.epoch_changed as usize;
            self.recovered_false += u64::from(r.recovered_false);
            self.history_end_missing += (r.started.is_some() && r.history_ends == 0) as usize;
            self.history_end_repeated += (r.history_ends > 1) as usize;
            self.lost += r.tracker.lost();
            self.duplicated += r.tracker.duplicates;
            self.out_of_order += r.tracker.out_of_order;
            self.unexpected += r.tracker.unexpected;
        }
        self.connect_failures = self.connect_errors.values().sum();
        self.connects_refused =
            self.connect_errors.iter().filter(|(k, _)| k.starts_with("http 503")).map(|(_, n)| n).sum();
        self.storm_seconds = last.map(|d| d.as_secs_f64());
        self.recovered_at_ms = Latency::from_micros(&at);
        self.per_client_ms = Latency::from_micros(&own);
        self.welcome_ms = Latency::from_micros(&welcome);
        self.tcp_ms = Latency::from_micros(&tcp);
        self.upgrade_ms = Latency::from_micros(&upgrade);
        self.history_wait_ms = Latency::from_micros(&wait);
        self.transfer_ms = Latency::from_micros(&transfer);
        let rooms = resumed.iter().map(|r| r.room + 1).max().unwrap_or(0);
        let (mut welcomed, mut replayed) = (vec![None::<Duration>; rooms], vec![None::<Duration>; rooms]);
        for r in resumed {
            if let Some(w) = r.welcome {
                welcomed[r.room] = Some(welcomed[r.room].map_or(w, |v| v.min(w)));
            }
            if let Some(f) = r.first_replayed {
                replayed[r.room] = Some(replayed[r.room].map_or(f, |v| v.min(f)));
            }
        }
        let mut room_history: Histogram<u64> = latency_histogram()?;
        for (w, f) in welcomed.iter().zip(&replayed) {
            if let (Some(w), Some(f)) = (w, f) {
                room_history.saturating_record(ms(f.saturating_sub(*w)));
            }
        }
        self.room_history_ms = Latency::from_micros(&room_history);
        Ok(())
    }

    /// The goal: every client recovered exactly once, the last within the goal, none
    /// evicted, at most one Kafka read per room.
    fn judge(&mut self) {
        let mut misses = Vec::new();
        if self.clients_recovered != self.clients {
            misses.push(format!("{} of {} clients recovered", self.clients_recovered, self.clients));
        }
        match self.storm_seconds {
            Some(s) if s <= self.goal_seconds => {}
            Some(s) => misses.push(format!("the last recovered after {s:.2} s (goal {} s)", self.goal_seconds)),
            None => misses.push("no client recovered".into()),
        }
        if self.evicted > 0 {
            misses.push(format!("{} evicted", self.evicted));
        }
        if self.duplicated > 0 || self.lost > 0 || self.out_of_order > 0 {
            misses.push(format!(
                "{} duplicated, {} lost, {} out of order",
                self.duplicated, self.lost, self.out_of_order
            ));
        }
        if self.messages_written != (self.rooms * self.behind) as u64 {
            misses.push(format!("{} of {} messages written", self.messages_written, self.rooms * self.behind));
        }
        if let Some(reads) = self.kafka_reads {
            if reads > self.rooms as f64 {
                misses.push(format!("{reads} Kafka reads for {} rooms", self.rooms));
            }
        }
        self.goal_met = misses.is_empty();
        self.goal_misses = misses;
    }

    pub fn print_table(&self) {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.2}"));
        let mib = |v: Option<u64>| v.map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        let rows: Vec<(&str, String)> = vec![
            ("url", self.url.clone()),
            (
                "storm",
                format!(
                    "{} clients, {} rooms, {} messages behind each, {}",
                    self.clients,
                    self.rooms,
                    self.behind,
                    if self.restarted { "after a server restart" } else { "no restart (warm caches)" }
                ),
            ),
            (
                "before: connected",
                format!(
                    "{} in {:.2} s, failures {:?}, {} saw the marker",
                    self.clients_connected_before,
                    self.connect_seconds_before,
                    self.connect_errors_before,
                    self.marker_seen
                ),
            ),
            (
                "away: written",
                format!(
                    "{} in {:.2} s, {} failed {:?}; restart {:.2} s",
                    self.messages_written,
                    self.write_seconds,
                    self.write_failures,
                    self.write_errors,
                    self.restart_seconds
                ),
            ),
            (
                "last recovered",
                format!("{} s after the first reconnect (goal {} s)", opt(self.storm_seconds), self.goal_seconds),
            ),
            ("clients recovered", format!("{} / {}", self.clients_recovered, self.clients)),
            ("recovered at ms p50/p90/p99/max", self.recovered_at_ms.summary()),
            ("per client ms p50/p90/p99/max", self.per_client_ms.summary()),
            ("welcome at ms p50/p90/p99/max", self.welcome_ms.summary()),
            ("  tcp connect ms p50/p90/p99/max", self.tcp_ms.summary()),
            ("  tcp → welcome ms p50/p90/p99/max", self.upgrade_ms.summary()),
            ("  welcome → 1st replayed ms", self.history_wait_ms.summary()),
            ("  1st replayed → history_end ms", self.transfer_ms.summary()),
            ("room: 1st welcome → 1st replayed ms", self.room_history_ms.summary()),
            ("welcomed per 250 ms", format!("{:?}", self.welcomed_per_250ms)),
            ("recovered per 250 ms", format!("{:?}", self.recovered_per_250ms)),
            (
                "connect failures",
                format!(
                    "{} ({} refused) {:?}; never connected {}",
                    self.connect_failures, self.connects_refused, self.connect_errors, self.never_connected
                ),
            ),
            ("evicted (too slow: 1008, Centrifugo 3008)", self.evicted.to_string()),
            ("disconnected", format!("{} {:?}", self.disconnected, self.close_codes)),
            (
                "lost / duplicated / out of order",
                format!("{} / {} / {}", self.lost, self.duplicated, self.out_of_order),
            ),
            ("unexpected messages", self.unexpected.to_string()),
            (
                "recovered=false / no history_end / repeated",
                format!("{} / {} / {}", self.recovered_false, self.history_end_missing, self.history_end_repeated),
            ),
            ("epoch changed", self.epoch_changed.to_string()),
            ("errors", format!("{:?}", self.errors)),
            ("kafka reads", format!("{} for {} rooms", opt(self.kafka_reads), self.rooms)),
            ("server metrics delta", format!("{:?}", self.server_metrics_delta)),
            (
                "cpu s server/bench/broker",
                format!(
                    "{} / {} / {} over {:.2} s",
                    opt(self.cpu.server_seconds),
                    opt(self.cpu.bench_seconds),
                    opt(self.cpu.broker_seconds),
                    self.cpu.wall_seconds
                ),
            ),
            (
                "machine cpu s busy / all",
                format!("{} / {}", opt(self.cpu.machine_busy_seconds), opt(self.cpu.machine_seconds)),
            ),
            ("machine cpu s by kind", format!("{:?}", self.cpu.machine_by_kind)),
            ("top processes cpu s", format!("{:?}", self.cpu.top_processes)),
            ("server threads cpu s", format!("{:?}", self.cpu.server_threads)),
            ("kernel TCP counters", format!("{:?}", self.cpu.tcp)),
            (
                "server RSS before/connected/closed",
                format!(
                    "{} / {} / {}",
                    mib(self.server_rss_before_kib),
                    mib(self.server_rss_kib),
                    mib(self.server_rss_closed_kib)
                ),
            ),
            (
                "goal met",
                if self.goal_met { "yes".to_string() } else { format!("no: {}", self.goal_misses.join("; ")) },
            ),
        ];
        print_rows(&rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_counts_loss_duplicates_and_order() {
        let mut t = Tracker::new(10, Arc::from(vec![11, 12, 14]));
        t.on_offset(11);
        assert!(!t.complete());
        t.on_offset(14);
        t.on_offset(12); // late: out of order
        assert_eq!((t.received, t.out_of_order, t.lost()), (3, 1, 0));
        assert!(!t.complete());
        let mut t = Tracker::new(10, Arc::from(vec![11, 12]));
        t.on_offset(10); // the client had it already
        t.on_offset(11);
        t.on_offset(11);
        t.on_offset(13); // not written by this run
        assert_eq!((t.duplicates, t.unexpected, t.lost()), (2, 1, 1));
        let mut t = Tracker::new(-1, Arc::from(vec![0, 1]));
        t.on_offset(0);
        t.on_offset(1);
        assert!(t.complete());
    }

    #[test]
    fn reads_counters_and_cpu_ticks() {
        let text = "# TYPE chat_history_kafka_reads_total counter\nchat_history_kafka_reads_total 3\n\
                    chat_history_requests_total{source=\"kafka\"} 10000\nchat_connections{room=\"a\"} 5\n";
        let c = counters(text);
        assert_eq!(c.get("chat_history_kafka_reads_total"), Some(&3.0));
        assert_eq!(c.get("chat_history_requests_total{source=\"kafka\"}"), Some(&10000.0));
        assert_eq!(c.len(), 2);
        let stat = "1234 (actix-rt|system) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(ticks(stat), Some(300));
    }

    #[test]
    fn writers_stay_within_the_burst() {
        let mut args = StormArgs {
            url: String::new(),
            protocol: Protocol::Chat,
            server_arg: Vec::new(),
            clients: 1,
            rooms: 1,
            behind: 200,
            connect_rate: 1.0,
            reconnect_rate: 0.0,
            source_ips: 1,
            server_cmd: None,
            server_log: None,
            writer_addr: "127.0.0.1:1".parse().unwrap(),
            writer_url: None,
            writer_burst: 20,
            timeout: 1.0,
            linger: 0.0,
            goal_seconds: 5.0,
            server_pid: None,
            broker_pid: None,
            json: None,
        };
        assert_eq!(args.writers_per_room(), 10);
        args.behind = 201;
        assert_eq!(args.writers_per_room(), 11);
    }
}
