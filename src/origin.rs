//! Which browser origins may use the API and open WebSockets: the page's own
//! origin plus the configured list, where `scheme://host:*` means any port.

/// The configured allow-list.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    patterns: Vec<String>,
}

impl OriginPolicy {
    pub fn new(patterns: &[String]) -> Self {
        Self { patterns: patterns.to_vec() }
    }

    /// Whether a request from `origin` is allowed, `own` being the page's
    /// own origin as the browser sees it (`scheme://host`, the scheme a
    /// trusted proxy reports or this server's).
    pub fn allows(&self, origin: &str, own: Option<&str>) -> bool {
        own == Some(origin) || self.patterns.iter().any(|pattern| matches(pattern, origin))
    }
}

fn matches(pattern: &str, origin: &str) -> bool {
    match pattern.strip_suffix(":*") {
        Some(prefix) => {
            origin == prefix || origin.strip_prefix(prefix).and_then(|rest| rest.strip_prefix(':')).is_some_and(is_port)
        }
        None => pattern == origin,
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OriginPolicy {
        OriginPolicy::new(&["http://localhost:*".into(), "https://chat.example".into()])
    }

    #[test]
    fn allows_same_origin_listed_origins_and_any_port_of_wildcards() {
        let policy = policy();
        assert!(policy.allows("http://chat.internal:8003", Some("http://chat.internal:8003")));
        assert!(!policy.allows("https://chat.internal:8003", Some("http://chat.internal:8003")), "another scheme");
        assert!(policy.allows("http://localhost:3000", None));
        assert!(policy.allows("http://localhost", None));
        assert!(policy.allows("https://chat.example", None));
    }

    #[test]
    fn refuses_lookalikes() {
        let policy = policy();
        for origin in ["http://localhost.evil:80", "http://localhost:80x", "https://chat.example.evil", "http://evil"] {
            assert!(!policy.allows(origin, Some("http://chat.internal:8003")), "{origin}");
        }
    }
}
