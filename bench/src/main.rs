//! `anime-chat-bench`: measures how well a chat server fans messages out over WebSockets.
//!
//! The default mode (`load`) opens many WebSocket clients spread over a few rooms, makes
//! them send chat messages at a fixed total rate, and measures at every receiver:
//!
//! - end-to-end latency (send time is written into the message text, so no clock sync is
//!   needed: sender and receiver run on the same machine, in one process or, with
//!   `--processes`, in several that read the same clock);
//! - lost deliveries (every acknowledged message should reach every client of its room)
//!   and duplicated ones (the same `message_id` twice at one client);
//! - connect rate, connect failures, acks and `error` frames by code;
//! - optionally the server's resident memory per connection (`--server-pid`).
//!
//! `storm` is a reconnect storm (`storm.rs`): clients join, the server restarts while
//! messages are written to their rooms, and every client resumes at once with
//! `since` + `epoch`; it measures how long until the last one has every missed message
//! exactly once, and what that cost the server.
//!
//! `baseline` is the smallest tokio WebSocket fan-out server that speaks enough of
//! `docs/protocol.md` for the load mode, so the same load can be run against a raw
//! baseline on the same machine. `smoke` runs a tiny load and a tiny storm against
//! in-process baselines and fails unless every message arrived exactly once: it keeps this
//! tool from rotting.

mod accounting;
mod baseline;
mod load;
mod protocol;
mod report;
mod storm;

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

use crate::load::LoadArgs;
use crate::storm::{Servers, StormArgs};

/// Shown under `--help` and `load --help`: the caveats that decide whether numbers mean anything.
const LOAD_NOTES: &str = "\
Notes:
  - The server rate-limits each connection (chat.rate_per_second = 5, chat.rate_burst = 20 by
    default): keep --rate / --clients under 5, or configure the server higher; otherwise the
    report shows rate_limited errors.
  - lost = (acked messages x clients in their room) - unique arrivals; duplicated = a message
    arriving twice at one client. Latency is send -> arrival, per receiving client.
  - Memory per connection (--server-pid) is only meaningful on a freshly started server: the
    allocator keeps memory freed by earlier connections.
  - Thousands of clients need as many file descriptors here and in the server (ulimit -n).";

#[derive(Parser, Debug)]
#[command(name = "anime-chat-bench", version, about, long_about = None, after_help = LOAD_NOTES)]
// The load options live at the top level so `anime-chat-bench --clients 500` works without
// naming a subcommand; they conflict with subcommands to keep `--help` unambiguous.
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the load (the default when no subcommand is given).
    #[command(after_help = LOAD_NOTES)]
    Load(LoadArgs),
    /// Reconnect storm: clients join, the server restarts while messages are written to their
    /// rooms, then every client resumes at once with since + epoch.
    Storm(StormArgs),
    /// Serve a minimal tokio WebSocket fan-out server (no actors, no Kafka) to measure a baseline.
    #[command(long_flag = "baseline")]
    Baseline {
        /// Address to listen on (loopback only is expected, e.g. 127.0.0.1:8140).
        #[arg(long, default_value = "127.0.0.1:8140")]
        listen: SocketAddr,
        /// Keep every room's messages and answer `since=` resumes (for a storm; it costs
        /// memory per message, so the load benchmarks run without it).
        #[arg(long)]
        history: bool,
    },
    /// Start baseline servers in-process, run a small load and a small storm against them,
    /// and exit non-zero unless every message was delivered exactly once to every client of
    /// its room and every resume got exactly what it missed.
    Smoke,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Every client is a socket: take the hard limit, as the server does.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("could not raise the open-file limit: {e}");
    }
    // Multi-thread runtime: thousands of client tasks must not be starved by one core.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.command {
            None => run_load(cli.load).await,
            Some(Command::Load(args)) => run_load(args).await,
            Some(Command::Storm(args)) => {
                let mut servers = Servers::from_args(&args).await?;
                let report = storm::run(&args, &mut servers, &args.url).await?;
                report.print_table();
                if let Some(path) = &args.json {
                    std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
                    eprintln!("wrote {}", path.display());
                }
                Ok(())
            }
            Some(Command::Baseline { listen, history }) => {
                let listener = baseline::bind(listen)?;
                eprintln!("baseline server on ws://{}/ws/chat", listener.local_addr()?);
                baseline::serve_store(listener, baseline::Store::new(history)).await
            }
            Some(Command::Smoke) => smoke().await,
        }
    })
}

async fn run_load(args: LoadArgs) -> anyhow::Result<()> {
    if let Some(shard) = args.shard {
        return load::run_child(&args, shard).await;
    }
    let report = load::run(&args).await?;
    report.print_table();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Small enough to finish in a few seconds on 2 cores, big enough to exercise several
/// rooms, several source addresses, the ack/delivery bookkeeping, and its merging over
/// two processes (run once in this process, once split over two children).
async fn smoke() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(baseline::serve(listener));
    let mut problems = Vec::new();
    for processes in [1, 2] {
        let args = LoadArgs {
            url: format!("ws://{addr}/ws/chat"),
            protocol: protocol::Protocol::Chat,
            clients: 20,
            rooms: 2,
            connect_rate: 200.0,
            connect_concurrency: 0,
            server_limit: None,
            source_ips: 4,
            rate: 20.0,
            duration: 2.0,
            drain: 1.0,
            hold: 0.5,
            json: None,
            server_pid: None,
            processes,
            shard: None,
            run_id: None,
            start_at_ms: None,
        };
        let report = load::run(&args).await?;
        report.print_table();
        problems.extend(smoke_problems(&args, &report).into_iter().map(|p| format!("{processes} processes: {p}")));
    }
    server.abort();
    problems.extend(smoke_storm().await?.into_iter().map(|p| format!("storm: {p}")));
    if problems.is_empty() {
        println!("smoke: OK");
        Ok(())
    } else {
        anyhow::bail!("smoke failed: {}", problems.join("; "))
    }
}

/// A storm against in-process baselines with history: 40 clients in 4 rooms, 30 messages
/// behind each, written through a second listener while the first is "restarted".
async fn smoke_storm() -> anyhow::Result<Vec<String>> {
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let url = format!("ws://{addr}/ws/chat");
    // The defaults of the command line, then the smoke's own figures.
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        storm: StormArgs,
    }
    let args = StormArgs {
        url: url.clone(),
        clients: 40,
        rooms: 4,
        behind: 30,
        connect_rate: 400.0,
        source_ips: 4,
        writer_burst: 7,
        linger: 0.5,
        timeout: 10.0,
        ..Defaults::try_parse_from(["storm"])?.storm
    };
    let mut servers = Servers::InProcess { store: baseline::Store::new(true), addr, main: None, writer: None };
    let report = storm::run(&args, &mut servers, &url).await?;
    report.print_table();
    Ok(report
        .goal_misses
        .clone()
        .into_iter()
        .chain(
            [
                (report.recovered_false > 0).then(|| format!("{} recovered=false", report.recovered_false)),
                (report.unexpected > 0).then(|| format!("{} unexpected", report.unexpected)),
                (report.connect_failures > 0).then(|| format!("{} connect failures", report.connect_failures)),
                (!report.restarted).then(|| "not restarted".to_string()),
            ]
            .into_iter()
            .flatten(),
        )
        .collect())
}

/// Anything short of every client connected and every message acked and delivered once.
fn smoke_problems(args: &LoadArgs, report: &report::Report) -> Vec<String> {
    let mut problems = Vec::new();
    if report.clients_connected != args.clients {
        problems.push(format!("{} of {} clients connected", report.clients_connected, args.clients));
    }
    if report.processes != args.processes {
        problems.push(format!("{} processes reported", report.processes));
    }
    let expected_messages = args.total_messages();
    if report.messages_sent != expected_messages || report.messages_acked != report.messages_sent {
        problems.push(format!("{} sent but {} acked", report.messages_sent, report.messages_acked));
    }
    // Clients spread evenly over the rooms: each message reaches clients / rooms of them.
    if report.deliveries != expected_messages * (args.clients / args.rooms) as u64
        || report.lost != 0
        || report.duplicated != 0
    {
        problems
            .push(format!("{} deliveries, {} lost, {} duplicated", report.deliveries, report.lost, report.duplicated));
    }
    if !report.errors.is_empty() {
        problems.push(format!("errors: {:?}", report.errors));
    }
    problems
}
