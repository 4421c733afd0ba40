//! The numbers of one load run: printed as a table, optionally written as JSON so runs can
//! be compared by scripts.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::load::LoadArgs;

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
    pub bench_open_files_limit: Option<u64>,
    pub server_open_files_limit: Option<u64>,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
    pub server_rss_end_kib: Option<u64>,
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
    pub clients_requested: usize,
    pub clients_connected: usize,
    pub connect_failures: u64,
    /// Failure reason → count (e.g. `http 503 Service Unavailable`, `connect: ConnectionRefused`).
    pub connect_errors: BTreeMap<String, u64>,
    pub connect_seconds: f64,
    /// Connections per second actually achieved.
    pub connect_rate: f64,
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
        let expected_deliveries = acked_per_room.iter().zip(&clients_per_room).map(|(a, c)| a * c).sum();
        Ok(Report {
            url: args.url.clone(),
            clients_requested: args.clients,
            clients_connected,
            connect_failures: connect_errors.values().sum(),
            connect_errors,
            connect_seconds,
            connect_rate: clients_connected as f64 / connect_seconds.max(1e-9),
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
            ("connect rate", format!("{:.0} /s over {:.2} s", self.connect_rate, self.connect_seconds)),
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

pub fn add_counts(total: &mut BTreeMap<String, u64>, part: &BTreeMap<String, u64>) {
    for (key, n) in part {
        *total.entry(key.clone()).or_default() += n;
    }
}
