//! Limits that protect the server as a whole: WebSocket connections in
//! total and per client address, and the HTTP send rate per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use actors::protocol::{ErrorCode, Refusal};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::ServerSettings;

/// File descriptors kept back from WebSockets for Kafka, logs and HTTP.
const RESERVED_FDS: u64 = 256;

/// Counts open WebSocket connections.
#[derive(Clone)]
pub struct ConnectionLimits {
    inner: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_ip: usize,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One connection's place under the limits; dropping it frees the place.
pub struct ConnectionPermit {
    limits: ConnectionLimits,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self { inner: Arc::default(), max_total, max_per_ip }
    }

    /// Takes a place for a connection from `ip`, or says why not.
    pub fn acquire(&self, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let mut counts = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.total >= self.max_total {
            return Err(Refusal::new(ErrorCode::TooManyConnections, "the server is full; try again later"));
        }
        let from_ip = counts.per_ip.entry(ip).or_default();
        if *from_ip >= self.max_per_ip {
            return Err(Refusal::new(ErrorCode::TooManyConnections, "too many connections from your address"));
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(ConnectionPermit { limits: self.clone(), ip })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.limits.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(from_ip) = counts.per_ip.get_mut(&self.ip) {
            *from_ip = from_ip.saturating_sub(1);
            if *from_ip == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

/// The total connection limit: the configured one, or (0) what the
/// open-file limit allows. Raises the soft limit to the hard one first.
pub fn max_connections(settings: &ServerSettings) -> usize {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            log::warn!("cannot read the open-file limit ({e}); assuming 1024");
            1024
        }
    };
    let by_files = usize::try_from(files.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX).max(1);
    match settings.max_connections {
        0 => by_files,
        configured if configured > by_files => {
            log::warn!("server.max_connections {configured} exceeds the open-file limit {files}; using {by_files}");
            by_files
        }
        configured => configured,
    }
}

/// `POST /chat/send` per client address.
pub fn http_send_limiter(settings: &ServerSettings) -> DefaultKeyedRateLimiter<IpAddr> {
    let per_second = NonZeroU32::new(settings.http_send_per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(settings.http_send_burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

/// Forgets the addresses whose HTTP send quota is full again: governor keeps
/// a state for every address it has seen, which would otherwise only grow.
pub fn forget_idle_senders(limiter: &DefaultKeyedRateLimiter<IpAddr>) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}

/// Runs [`forget_idle_senders`] on every `interval`, for as long as the
/// actix system runs.
pub fn forget_idle_senders_every(limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>, interval: std::time::Duration) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(interval);
        loop {
            every.tick().await;
            forget_idle_senders(&limiter);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_senders_are_forgotten() {
        let limiter = RateLimiter::keyed(Quota::per_second(NonZeroU32::new(1000).unwrap()));
        limiter.check_key(&"127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(limiter.len(), 1);
        // One cell at 1,000/s is back after 1 ms.
        std::thread::sleep(std::time::Duration::from_millis(5));
        forget_idle_senders(&limiter);
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn permits_are_counted_and_returned() {
        let limits = ConnectionLimits::new(3, 2);
        let (a, b) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let first = limits.acquire(a).unwrap();
        let _second = limits.acquire(a).unwrap();
        assert_eq!(limits.acquire(a).err().map(|r| r.code), Some(ErrorCode::TooManyConnections), "per address");
        let _third = limits.acquire(b).unwrap();
        assert!(limits.acquire(b).is_err(), "in total");
        drop(first);
        assert!(limits.acquire(b).is_ok(), "a closed connection frees its place");
    }
}
