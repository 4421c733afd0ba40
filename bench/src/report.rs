//! The numbers of one load run: printed as a table, optionally written as JSON so runs can
//! be compared by scripts.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Serialize, Default, Debug, Clone, Copy)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// Deliveries measured (one per unique message per receiving client).
    pub samples: u64,
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
    /// This process's open-file limit (raised to the hard limit): at most this many clients.
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
    pub fn print_table(&self) {
        let opt_n = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        let rows: Vec<(&str, String)> = vec![
            ("url", self.url.clone()),
            (
                "clients connected",
                format!("{} / {} ({} rooms)", self.clients_connected, self.clients_requested, self.rooms),
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
            (
                "latency ms p50/p90/p99/max",
                format!(
                    "{:.2} / {:.2} / {:.2} / {:.2}",
                    self.latency_ms.p50, self.latency_ms.p90, self.latency_ms.p99, self.latency_ms.max
                ),
            ),
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            ("offset regressions", self.offset_regressions.to_string()),
            ("disconnected", self.disconnected.to_string()),
            ("errors", format!("{:?}", self.errors)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in rows {
            println!("{k:<width$}  {v}");
        }
    }
}
