//! The numbers of one load run: printed as a table, optionally written as JSON so runs can
//! be compared by scripts.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::load::LoadArgs;
use crate::protocol::Protocol;

/// 1 µs to 60 s at 2 significant digits (1 %), u32 counts: about 10 KiB a client. With 3
/// digits and u64 counts each client's histogram was 160 KiB, and recording into 2,000 of
/// them missed the cache often enough to take 9 % of the bench's CPU (perf).
pub fn latency_histogram<T: hdrhistogram::Counter>() -> Result<Histogram<T>, hdrhistogram::CreationError> {
    Histogram::new_with_bounds(1, 60_000_000, 2)
}

/// What one process of a load saw, before the numbers that need every process (expected
/// deliveries, loss, percentiles) are worked out. A child of `--processes` prints it as JSON.
#[derive(Serialize, Deserialize, Default, Debug)]
pub struct ShardResult {
    pub clients_connected: usize,
    pub connect_errors: BTreeMap<String, u64>,
    pub connect_seconds: f64,
    /// Unix µs: when the connect phase started, and when each connect succeeded or failed.
    pub connect_start_us: u64,
    pub connect_ok_us: Vec<u64>,
    pub connect_failed_us: Vec<u64>,
    pub bench_open_files_limit: Option<u64>,
    pub server_open_files_limit: Option<u64>,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
    pub server_rss_end_kib: Option<u64>,
    /// The server's CPU seconds over the connects and the half second after them, and
    /// over the send phase (`--server-pid`).
    pub server_connect_cpu_seconds: Option<f64>,
    pub server_cpu_seconds: Option<f64>,
    pub send_seconds: f64,
    pub messages_sent: u64,
    pub send_queue_full: u64,
    /// Connected clients per room (room `bench-<i>` at index i).
    pub clients_per_room: Vec<u64>,
    /// Acks this process's clients got, by the sender's room.
    pub acked_per_room: Vec<u64>,
    pub deliveries: u64,
    pub duplicated: u64,
    pub offset_regressions: u64,
    pub disconnected: u64,
    pub errors: BTreeMap<String, u64>,
    /// Latency in µs as (value, count) pairs: histograms merge exactly, percentiles do not.
    pub latency_us: Vec<(u64, u64)>,
}

#[derive(Serialize, Default, Debug, Clone, Copy)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// Deliveries measured (one per unique message per receiving client).
    pub samples: u64,
}

impl Latency {
    /// Percentiles in ms of a histogram of µs.
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            max: histogram.max() as f64 / 1000.0,
            samples: histogram.len(),
        }
    }

    /// `p50 / p90 / p99 / max`, in ms to two decimals.
    pub fn summary(&self) -> String {
        format!("{:.2} / {:.2} / {:.2} / {:.2}", self.p50, self.p90, self.p99, self.max)
    }
}

/// Prints `name  value` rows with the names in one column.
pub fn print_rows(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
}

#[derive(Serialize, Default, Debug)]
pub struct Report {
    pub url: String,
    pub protocol: Protocol,
    pub clients_requested: usize,
    pub clients_connected: usize,
    pub connect_failures: u64,
    /// Failure reason → count (e.g. `http 503 Service Unavailable`, `connect: ConnectionRefused`).
    pub connect_errors: BTreeMap<String, u64>,
    pub connect_seconds: f64,
    /// Connections per second actually achieved.
    pub connect_rate: f64,
    /// At most this many connects under way at once, as fast as the server took them
    /// (`--connect-concurrency`); 0: paced at `--connect-rate`.
    pub connect_concurrency: usize,
    /// Connects that succeeded before the first one failed (all of them when none did), how
    /// long after the start that failure came, and the rate until then.
    pub connected_before_first_failure: usize,
    pub first_failure_seconds: Option<f64>,
    pub connect_rate_before_first_failure: f64,
    /// The connections the server is configured to hold (`--server-limit`).
    pub server_limit: Option<usize>,
    /// Failed connects while fewer than `server_limit` connections were open, less the
    /// connects under way (every failed connect without a limit): refusals the server's
    /// limits do not explain.
    pub refused_below_limit: u64,
    pub rooms: usize,
    /// Processes of the bench the clients were spread over (`--processes`).
    pub processes: usize,
    /// The bench's open-file limit (raised to the hard limit; the smallest over its processes):
    /// each process can hold about this many clients.
    pub bench_open_files_limit: Option<u64>,
    /// The server's open-file limit, from `/proc/<pid>/limits` (with `--server-pid`).
    pub server_open_files_limit: Option<u64>,
    pub server_rss_before_kib: Option<u64>,
    /// Right after every client connected.
    pub server_rss_after_kib: Option<u64>,
    /// At the end of the send phase (or idle hold) and drain, before closing.
    pub server_rss_end_kib: Option<u64>,
    /// (end - before) / connected clients.
    pub server_bytes_per_connection: Option<f64>,
    /// The server's CPU µs (user + system) per connection over the connects and the half
    /// second after them: what accepting, upgrading and joining cost it.
    pub server_cpu_us_per_connection: Option<f64>,
    /// The server's CPU seconds (user + system) over the send phase, and per delivery.
    pub server_cpu_seconds: Option<f64>,
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Length of the send phase (the drain is not included).
    pub send_seconds: f64,
    /// Messages handed to a client's socket (dropped ones are in `send_queue_full`).
    pub messages_sent: u64,
    pub messages_acked: u64,
    /// Sends dropped in the bench because a client's writer was backed up.
    pub send_queue_full: u64,
    /// Unique arrivals of this run's messages, over all clients.
    pub deliveries: u64,
    /// deliveries / send_seconds.
    pub deliveries_per_second: f64,
    /// Σ over rooms of acked messages × connected clients in the room.
    pub expected_deliveries: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// `chat_message` frames whose `offset` was not above the previous one in the room.
    pub offset_regressions: u64,
    /// Clients whose connection ended before the run did.
    pub disconnected: u64,
    pub latency_ms: Latency,
    /// `error` frames by code.
    pub errors: BTreeMap<String, u64>,
}

impl Report {
    /// One report from every process's part: an acked message must reach every client of
    /// its room, whichever process the sender and the receivers are in.
    pub fn merge(args: &LoadArgs, parts: &[ShardResult]) -> Result<Report, hdrhistogram::RecordError> {
        let sum = |f: fn(&ShardResult) -> u64| parts.iter().map(f).sum::<u64>();
        let (mut clients_per_room, mut acked_per_room) = (vec![0u64; args.rooms], vec![0u64; args.rooms]);
        let mut latency: Histogram<u64> = latency_histogram().expect("valid histogram bounds");
        let (mut connect_errors, mut errors) = (BTreeMap::new(), BTreeMap::new());
        for part in parts {
            for (total, n) in clients_per_room.iter_mut().zip(&part.clients_per_room) {
                *total += n;
            }
            for (total, n) in acked_per_room.iter_mut().zip(&part.acked_per_room) {
                *total += n;
            }
            for (value, count) in &part.latency_us {
                latency.record_n(*value, *count)?;
            }
            add_counts(&mut connect_errors, &part.connect_errors);
            add_counts(&mut errors, &part.errors);
        }
        let clients_connected = parts.iter().map(|p| p.clients_connected).sum::<usize>();
        let connect_seconds = parts.iter().map(|p| p.connect_seconds).fold(0.0, f64::max);
        let send_seconds = parts.iter().map(|p| p.send_seconds).fold(0.0, f64::max);
        // Every process reads the same server: the smallest "before", the largest "after"/"end".
        let rss_before = parts.iter().filter_map(|p| p.server_rss_before_kib).min();
        let rss_after = parts.iter().filter_map(|p| p.server_rss_after_kib).max();
        let rss_end = parts.iter().filter_map(|p| p.server_rss_end_kib).max();
        let deliveries = sum(|p| p.deliveries);
        // Every process watched the same server over the same send phase.
        let server_cpu = parts.iter().filter_map(|p| p.server_cpu_seconds).reduce(f64::max);
        let connect_cpu = parts.iter().filter_map(|p| p.server_connect_cpu_seconds).reduce(f64::max);
        let connects = ConnectTimes::merge(parts, args.server_limit, args.connect_concurrency);
        let expected_deliveries = acked_per_room.iter().zip(&clients_per_room).map(|(a, c)| a * c).sum();
        Ok(Report {
            url: args.url.clone(),
            protocol: args.protocol,
            clients_requested: args.clients,
            clients_connected,
            connect_failures: connect_errors.values().sum(),
            connect_errors,
            connect_seconds,
            connect_rate: clients_connected as f64 / connect_seconds.max(1e-9),
            connect_concurrency: args.connect_concurrency,
            connected_before_first_failure: connects.before_first_failure,
            first_failure_seconds: connects.first_failure_seconds,
            connect_rate_before_first_failure: connects.rate_before_first_failure,
            server_limit: args.server_limit,
            refused_below_limit: connects.refused_below_limit,
            rooms: args.rooms,
            processes: parts.len(),
            bench_open_files_limit: parts.iter().filter_map(|p| p.bench_open_files_limit).min(),
            server_open_files_limit: parts.iter().find_map(|p| p.server_open_files_limit),
            server_rss_before_kib: rss_before,
            server_rss_after_kib: rss_after,
            server_rss_end_kib: rss_end,
            server_bytes_per_connection: match (rss_before, rss_end) {
                (Some(b), Some(e)) if clients_connected > 0 => {
                    Some((e as f64 - b as f64) * 1024.0 / clients_connected as f64)
                }
                _ => None,
            },
            server_cpu_us_per_connection: connect_cpu
                .filter(|_| clients_connected > 0)
                .map(|cpu| cpu * 1e6 / clients_connected as f64),
            server_cpu_seconds: server_cpu,
            server_cpu_us_per_delivery: server_cpu.filter(|_| deliveries > 0).map(|cpu| cpu * 1e6 / deliveries as f64),
            send_seconds,
            messages_sent: sum(|p| p.messages_sent),
            messages_acked: acked_per_room.iter().sum(),
            send_queue_full: sum(|p| p.send_queue_full),
            deliveries,
            deliveries_per_second: deliveries as f64 / send_seconds.max(1e-9),
            expected_deliveries,
            // Deliveries of messages whose ack never came are not expected, so clamp at 0.
            lost: expected_deliveries.saturating_sub(deliveries),
            duplicated: sum(|p| p.duplicated),
            offset_regressions: sum(|p| p.offset_regressions),
            disconnected: sum(|p| p.disconnected),
            latency_ms: Latency::from_micros(&latency),
            errors,
        })
    }

    pub fn print_table(&self) {
        let opt_n = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        let rows: Vec<(&str, String)> = vec![
            ("url", self.url.clone()),
            (
                "clients connected",
                format!(
                    "{} / {} ({} rooms, {} bench processes)",
                    self.clients_connected, self.clients_requested, self.rooms, self.processes
                ),
            ),
            ("connect failures", format!("{} {:?}", self.connect_failures, self.connect_errors)),
            (
                "connect rate",
                format!(
                    "{:.0} /s over {:.2} s ({})",
                    self.connect_rate,
                    self.connect_seconds,
                    match self.connect_concurrency {
                        0 => "paced".to_string(),
                        n => format!("as fast as taken, {n} at once"),
                    }
                ),
            ),
            (
                "server CPU per connection",
                self.server_cpu_us_per_connection
                    .map_or("-".into(), |us| format!("{us:.0} us (the connects and 0.5 s after)")),
            ),
            (
                "until the first failure",
                match self.first_failure_seconds {
                    Some(s) => format!(
                        "{} connected in {s:.2} s ({:.0} /s)",
                        self.connected_before_first_failure, self.connect_rate_before_first_failure
                    ),
                    None => "no connect failed".to_string(),
                },
            ),
            (
                "refused below the limit",
                format!(
                    "{} (limit {})",
                    self.refused_below_limit,
                    self.server_limit.map_or("not given: every failure counts".to_string(), |l| l.to_string())
                ),
            ),
            (
                "open-file limit bench/server",
                format!("{} / {}", opt_n(self.bench_open_files_limit), opt_n(self.server_open_files_limit)),
            ),
            (
                "server RSS before/connected/end",
                format!(
                    "{} / {} / {}",
                    opt(self.server_rss_before_kib),
                    opt(self.server_rss_after_kib),
                    opt(self.server_rss_end_kib)
                ),
            ),
            (
                "server bytes / connection",
                self.server_bytes_per_connection.map_or("-".into(), |b| format!("{:.0} B ({:.1} KiB)", b, b / 1024.0)),
            ),
            (
                "server CPU while sending",
                match (self.server_cpu_seconds, self.server_cpu_us_per_delivery) {
                    (Some(s), Some(us)) => format!("{s:.2} s ({us:.2} us a delivery)"),
                    (Some(s), None) => format!("{s:.2} s"),
                    _ => "-".into(),
                },
            ),
            (
                "messages sent / acked",
                format!("{} / {} in {:.2} s", self.messages_sent, self.messages_acked, self.send_seconds),
            ),
            ("send queue full", self.send_queue_full.to_string()),
            ("deliveries", format!("{} of {} expected", self.deliveries, self.expected_deliveries)),
            ("deliveries / s", format!("{:.0}", self.deliveries_per_second)),
            ("latency ms p50/p90/p99/max", self.latency_ms.summary()),
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            ("offset regressions", self.offset_regressions.to_string()),
            ("disconnected", self.disconnected.to_string()),
            ("errors", format!("{:?}", self.errors)),
        ];
        print_rows(&rows);
    }
}

/// When the connects of every process ended, merged on the Unix clock they share.
struct ConnectTimes {
    before_first_failure: usize,
    first_failure_seconds: Option<f64>,
    rate_before_first_failure: f64,
    refused_below_limit: u64,
}

impl ConnectTimes {
    /// `in_flight`: connects that may be under way at once (0 when paced); the server may
    /// count those already while this tool does not, so a failure counts as below the limit
    /// only while fewer than `limit - in_flight` had succeeded.
    fn merge(parts: &[ShardResult], limit: Option<usize>, in_flight: usize) -> Self {
        let start = parts.iter().map(|p| p.connect_start_us).min().unwrap_or(0);
        let mut ok: Vec<u64> = parts.iter().flat_map(|p| p.connect_ok_us.iter().copied()).collect();
        let mut failed: Vec<u64> = parts.iter().flat_map(|p| p.connect_failed_us.iter().copied()).collect();
        ok.sort_unstable();
        failed.sort_unstable();
        // Connections open when a connect failed: those that had succeeded by then.
        let open_at = |t: u64| ok.partition_point(|&o| o < t);
        let below = |t: u64| limit.is_none_or(|l| open_at(t) + in_flight < l);
        let refused_below_limit = failed.iter().filter(|&&t| below(t)).count() as u64;
        let (before, until) = match failed.first() {
            Some(&t) => (open_at(t), t),
            None => (ok.len(), ok.last().copied().unwrap_or(start)),
        };
        let seconds = until.saturating_sub(start) as f64 / 1e6;
        ConnectTimes {
            before_first_failure: before,
            first_failure_seconds: failed.first().map(|_| seconds),
            rate_before_first_failure: before as f64 / seconds.max(1e-9),
            refused_below_limit,
        }
    }
}

pub fn add_counts(total: &mut BTreeMap<String, u64>, part: &BTreeMap<String, u64>) {
    for (key, n) in part {
        *total.entry(key.clone()).or_default() += n;
    }
}
