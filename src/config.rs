//! One typed configuration tree. Defaults come from `config/default.toml`
//! (compiled in), then the file named by `CHAT_CONFIG`, then the environment
//! variables in [`ENV_OVERRIDES`]. Unknown keys and wrong types are errors
//! that name the key.

use std::net::SocketAddr;

use actors::settings::ModerationSettings;
use actors::{ChatSettings, HistorySettings, KafkaSettings};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use secrecy::ExposeSecret;
use secrecy::SecretString;
use serde::Deserialize;

use crate::forwarded::ForwardedHeader;

/// The documented defaults, every key commented.
pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

/// Environment variables and the keys they override.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("CHAT_ADDR", "server.addr"),
    ("CHAT_ADMIN_TOKEN", "server.admin_token"),
    ("CHAT_CONFORMANCE_ECHO", "server.conformance_echo"),
    ("CHAT_REUSE_PORT", "server.reuse_port"),
    ("CHAT_IDENTITY_SECRET", "server.identity_secret"),
    ("CHAT_TRUSTED_PROXIES", "server.trusted_proxies"),
    ("CHAT_TLS_CERT", "server.tls_cert_file"),
    ("CHAT_TLS_KEY", "server.tls_key_file"),
    ("CHAT_TOPIC", "kafka.topic"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka.bootstrap_servers"),
];

/// Keys whose environment variable is a switch: `1`/`true`/`yes`/`on` or
/// `0`/`false`/`no`/`off`. Every other variable is taken as text.
const SWITCHES: &[&str] = &["server.conformance_echo", "server.reuse_port"];

/// Keys whose environment variable is a comma-separated list.
const LISTS: &[&str] = &["server.trusted_proxies"];

fn env_value(key: &str, raw: String) -> figment::value::Value {
    if LISTS.contains(&key) {
        let items: Vec<String> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        return items.into();
    }
    let switch = match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    };
    match switch {
        Some(on) if SWITCHES.contains(&key) => on.into(),
        _ => raw.into(),
    }
}

/// A configuration error; it names the offending key.
pub type ConfigError = Box<figment::Error>;

/// Everything the server reads at startup.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub chat: ChatSettings,
    pub history: HistorySettings,
    pub moderation: ModerationSettings,
    pub kafka: KafkaSettings,
}

/// `[server]`: the HTTP side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Several instances may listen on `addr` at once (`SO_REUSEPORT`); the
    /// kernel spreads new connections over them.
    pub reuse_port: bool,
    /// Origins allowed besides the page's own; `scheme://host:*` allows any port.
    pub allowed_origins: Vec<String>,
    /// Most WebSocket connections at once; 0: the open-file limit minus a reserve.
    pub max_connections: usize,
    /// Most WebSocket connections from one client address.
    pub max_connections_per_ip: usize,
    /// Proxies whose forwarded headers name the client's address.
    pub trusted_proxies: Vec<IpNet>,
    /// The header those proxies write the client's address in.
    pub forwarded_header: ForwardedHeader,
    /// `POST /chat/send` per client address per second, sustained.
    pub http_send_per_second: u32,
    /// `POST /chat/send` burst per client address.
    pub http_send_burst: u32,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest JSON body accepted by `POST /chat/send`.
    pub max_body_bytes: usize,
    /// Bearer token for `/admin` and `/api/admin/*`; empty turns them off.
    pub admin_token: SecretString,
    /// Signs identity tokens; empty: one is made at startup.
    pub identity_secret: SecretString,
    /// How long a client may take to send a request's head and body.
    #[serde(with = "humantime_serde")]
    pub request_timeout: std::time::Duration,
    /// PEM certificate chain; with `tls_key_file`, the server speaks TLS.
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: String,
    /// Serve `/ws/echo` for the WebSocket conformance suite.
    pub conformance_echo: bool,
    /// On SIGTERM, how long workers may take to finish after sessions are closed.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: std::time::Duration,
}

impl Settings {
    /// Loads the configuration from the defaults, `CHAT_CONFIG` and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(|var| std::env::var(var).ok())
    }

    /// Loads the configuration with `env` standing in for the environment.
    pub fn load_from(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(path) = env("CHAT_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        for (var, key) in ENV_OVERRIDES {
            if let Some(value) = env(var) {
                figment = figment.merge(Serialized::default(key, env_value(key, value)));
            }
        }
        figment.extract::<Self>().map_err(Box::new)?.validated()
    }

    fn validated(self) -> Result<Self, ConfigError> {
        let invalid = |key: &str, why: &str| Err(Box::new(figment::Error::from(format!("invalid `{key}`: {why}"))));
        if let Err(refusal) = actors::protocol::validate_room(&self.chat.default_room) {
            return invalid("chat.default_room", &refusal.message);
        }
        // A zero here refuses everything (a rate, a limit) or spins (an interval).
        let zero = [
            ("chat.max_text_chars", self.chat.max_text_chars == 0),
            ("chat.rate_per_second", self.chat.rate_per_second == 0),
            ("chat.rate_burst", self.chat.rate_burst == 0),
            ("chat.address_rate_per_second", self.chat.address_rate_per_second == 0),
            ("chat.address_rate_burst", self.chat.address_rate_burst == 0),
            ("server.http_send_per_second", self.server.http_send_per_second == 0),
            ("server.http_send_burst", self.server.http_send_burst == 0),
            ("server.max_connections_per_ip", self.server.max_connections_per_ip == 0),
            ("history.readers", self.history.readers == 0),
            ("chat.heartbeat_interval", self.chat.heartbeat_interval.is_zero()),
            ("chat.presence_interval", self.chat.presence_interval.is_zero()),
            ("kafka.health_interval", self.kafka.health_interval.is_zero()),
        ];
        if let Some((key, _)) = zero.iter().find(|(_, is_zero)| *is_zero) {
            return invalid(key, "must not be 0");
        }
        if self.chat.client_timeout <= self.chat.heartbeat_interval {
            return invalid("chat.client_timeout", "must be longer than chat.heartbeat_interval");
        }
        if self.kafka.topic.trim().is_empty() {
            return invalid("kafka.topic", "must not be empty");
        }
        if self.server.tls_cert_file.is_empty() != self.server.tls_key_file.is_empty() {
            return invalid("server.tls_key_file", "set both tls_cert_file and tls_key_file, or neither");
        }
        if self.kafka.partitions < 1 {
            return invalid("kafka.partitions", "must be at least 1");
        }
        if self.history.default > self.history.max {
            return invalid("history.default", "must not exceed history.max");
        }
        Ok(self)
    }

    /// The settings as a log line, for the startup log. Secrets show only
    /// whether they are set.
    pub fn summary(&self) -> String {
        let kafka = if self.kafka.is_embedded() { "embedded" } else { self.kafka.bootstrap_servers.as_str() };
        format!(
            "addr={} kafka={} topic={} partitions={} allowed_origins={:?} trusted_proxies={:?} max_text_chars={} heartbeat={:?} admin={}",
            self.server.addr,
            kafka,
            self.kafka.topic,
            self.kafka.partitions,
            self.server.allowed_origins,
            self.server.trusted_proxies,
            self.chat.max_text_chars,
            self.chat.heartbeat_interval,
            if self.server.admin_token.expose_secret().is_empty() { "off" } else { "on (token set)" },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_from(|var| vars.get(var).cloned())
    }

    fn config_file(toml: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(toml.as_bytes()).expect("write temp file");
        file
    }

    #[test]
    fn defaults_run_embedded_on_port_8003() {
        let settings = load(&[]).expect("defaults load");
        assert_eq!(settings.server.addr.to_string(), "127.0.0.1:8003");
        assert!(settings.kafka.is_embedded());
        assert_eq!(settings.kafka.topic, "anonymous-anime-universe");
        assert_eq!(settings.kafka.producer["acks"], "all");
    }

    #[test]
    fn environment_overrides_the_files() {
        let file = config_file("[server]\naddr = \"127.0.0.1:9000\"\n");
        let path = file.path().to_str().expect("utf-8 path");
        let settings = load(&[
            ("CHAT_CONFIG", path),
            ("CHAT_ADDR", "127.0.0.1:0"),
            ("CHAT_TOPIC", "12345"),
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        ])
        .expect("loads");
        assert_eq!(settings.server.addr.port(), 0);
        assert_eq!(settings.kafka.topic, "12345");
        assert!(!settings.kafka.is_embedded());
        assert!(load(&[("CHAT_CONFORMANCE_ECHO", "1")]).expect("a switch").server.conformance_echo);
        let proxies =
            load(&[("CHAT_TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")]).expect("a list").server.trusted_proxies;
        assert_eq!(proxies, ["127.0.0.1/32".parse::<IpNet>().unwrap(), "10.0.0.0/8".parse().unwrap()]);
        let secret = load(&[("CHAT_IDENTITY_SECRET", "s3cr3t"), ("CHAT_ADMIN_TOKEN", "t0k3n")]).expect("secrets");
        let printed = format!("{secret:?}");
        assert!(!printed.contains("s3cr3t") && !printed.contains("t0k3n"), "secrets never print: {printed}");
        assert!(!load(&[("CHAT_CONFORMANCE_ECHO", "off")]).expect("a switch").server.conformance_echo);
    }

    #[test]
    fn errors_name_the_offending_key() {
        let unknown = config_file("[chat]\nmax_text_charz = 5\n");
        let error = load(&[("CHAT_CONFIG", unknown.path().to_str().unwrap())]).unwrap_err().to_string();
        assert!(error.contains("max_text_charz"), "{error}");

        let error = load(&[("CHAT_ADDR", "not-an-address")]).unwrap_err().to_string();
        assert!(error.contains("server.addr"), "{error}");

        let error = load(&[("CHAT_TOPIC", " ")]).unwrap_err().to_string();
        assert!(error.contains("kafka.topic"), "{error}");
    }

    #[test]
    fn a_zero_that_would_refuse_everything_or_spin_is_an_error() {
        for (section, key, zero) in [
            ("server", "max_connections_per_ip", "0"),
            ("server", "http_send_burst", "0"),
            ("chat", "rate_per_second", "0"),
            ("chat", "heartbeat_interval", "\"0s\""),
            ("chat", "presence_interval", "\"0s\""),
            ("kafka", "health_interval", "\"0ms\""),
        ] {
            let file = config_file(&format!("[{section}]\n{key} = {zero}\n"));
            let error = load(&[("CHAT_CONFIG", file.path().to_str().unwrap())]).unwrap_err().to_string();
            assert!(error.contains(&format!("{section}.{key}")), "{error}");
        }
    }
}
