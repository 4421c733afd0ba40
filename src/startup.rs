//! Startup: Kafka (embedded or real), the actors, and the HTTP server bound
//! to a listener, so tests can start the whole server on port 0.

use std::net::{SocketAddr, TcpListener};

use actix::Addr;
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};
use actors::identity::Tokens;
use actors::kafka::{EmbeddedKafka, KafkaClients};
use actors::messages::Shutdown;
use actors::{ChatHub, HubSettings};
use anyhow::Context;

use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::forwarded::TrustedProxies;
use crate::limits::ConnectionLimits;
use crate::origin::OriginPolicy;
use crate::routes::{self, AppState};

/// The page may load only its own scripts and styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; frame-ancestors 'none'";

/// How often addresses that stopped posting over HTTP leave the rate limiter.
const HTTP_SENDERS_PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A running server: its address, and the embedded Kafka if it owns one.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    hub: Addr<ChatHub>,
    _embedded: Option<EmbeddedKafka>,
}

impl Application {
    /// Starts Kafka clients and actors and binds the listener. Must run
    /// inside an actix system.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        log::info!("configuration: {}", settings.summary());
        // Bind first: a taken port fails before Kafka or any actor starts.
        let listener = bind(settings.server.addr, settings.server.reuse_port)
            .with_context(|| format!("binding server.addr {}", settings.server.addr))?;
        let addr = listener.local_addr()?;
        let instance_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let embedded = start_embedded_kafka(&settings)?;
        let bootstrap =
            embedded.as_ref().map_or(settings.kafka.bootstrap_servers.as_str(), EmbeddedKafka::bootstrap_servers);
        let clients = KafkaClients::new(&settings.kafka, bootstrap, &instance_id, settings.chat.max_text_chars)
            .context("creating Kafka clients (check the [kafka.producer] and [kafka.consumer] keys)")?;
        let tls = tls_config(&settings.server)?;
        let state = web::Data::new(app_state(&settings, clients, tls.is_some())?);
        crate::limits::forget_idle_senders_every(state.http_sends.clone(), HTTP_SENDERS_PRUNE_INTERVAL);
        let hub = state.actors.hub.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(cors(&state))
                .wrap(security_headers())
                .wrap(access_log(state.proxies.clone()))
                .app_data(web::PathConfig::default().error_handler(routes::path_error))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        // Shutdown is ours (see `run_until_stopped`): sessions must be told
        // to go away and Kafka flushed before the workers stop.
        .disable_signals()
        // actix keeps the OS default (Nagle on): a small frame written while
        // the previous one is unacknowledged would wait for the peer's delayed
        // ACK, 20-40 ms on loopback, which was the whole p99 of a chat message.
        .tcp_nodelay(true)
        // A request's head must arrive within this (its body is read within
        // it too, see routes): slow clients do not hold connections.
        .client_request_timeout(settings.server.request_timeout)
        // A WebSocket's request body stays open until the client hangs up,
        // and actix waits this long for that after the response ends: the
        // server must close TCP right after a close handshake (RFC 6455
        // §7.1.1), not a second later. The cost: a response sent before its
        // request's body was read is not drained first.
        .client_disconnect_timeout(std::time::Duration::ZERO)
        .shutdown_timeout(settings.server.shutdown_timeout.as_secs().max(1));
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let (http, ws) = match tls {
            Some(tls) => {
                server = server.listen_rustls_0_23(listener, tls)?;
                ("https", "wss")
            }
            None => {
                server = server.listen(listener)?;
                ("http", "ws")
            }
        };
        log::info!("instance {instance_id}: open {http}://{addr}/ to chat (WebSocket at {ws}://{addr}/ws/chat)");
        Ok(Self { addr, server: server.run(), hub, _embedded: embedded })
    }

    /// The bound address (useful when the configured port was 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A handle that can stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT or SIGTERM, then shuts down in order: stop
    /// accepting, close every session with 1001, flush the producer, stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self { server, hub, _embedded, .. } = self;
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            log::info!("shutting down: closing sessions and flushing Kafka");
            handle.pause().await;
            if hub.send(Shutdown).await.is_err() {
                log::warn!("the chat room stopped before shutdown");
            }
            handle.stop(true).await;
        });
        server.await
    }
}

/// The actors and everything the handlers share.
fn app_state(settings: &Settings, clients: KafkaClients, tls: bool) -> anyhow::Result<AppState> {
    let max_connections = crate::limits::max_connections(&settings.server);
    log::info!("accepting up to {max_connections} WebSocket connections");
    let hub = HubSettings {
        chat: settings.chat.clone(),
        history: settings.history.clone(),
        moderation: settings.moderation.clone(),
        tokens: Tokens::new(identity_secret(&settings.server)),
    };
    let health = clients.health();
    let actors = ChatHub::start(clients, hub).context("moderation.blocked_words holds an invalid pattern")?;
    Ok(AppState {
        metrics: crate::telemetry::recorder(),
        health,
        actors,
        chat: settings.chat.clone(),
        history: settings.history.clone(),
        origins: OriginPolicy::new(&settings.server.allowed_origins),
        proxies: TrustedProxies::new(&settings.server.trusted_proxies, settings.server.forwarded_header),
        scheme: if tls { "https" } else { "http" },
        admin_token: settings.server.admin_token.clone(),
        conformance_echo: settings.server.conformance_echo,
        connections: ConnectionLimits::new(max_connections, settings.server.max_connections_per_ip),
        http_sends: std::sync::Arc::new(crate::limits::http_send_limiter(&settings.server)),
        request_timeout: settings.server.request_timeout,
        max_body_bytes: settings.server.max_body_bytes,
    })
}

/// The configured identity secret, or one made now: then names do not
/// survive a restart, and instances do not share them.
fn identity_secret(server: &crate::config::ServerSettings) -> SecretString {
    if !server.identity_secret.expose_secret().is_empty() {
        return server.identity_secret.clone();
    }
    log::warn!(
        "server.identity_secret (CHAT_IDENTITY_SECRET) is not set: using one made at startup. Names will not \
         survive a restart, and other instances will not recognise this one's tokens."
    );
    let random: String = (0..2).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    SecretString::from(random)
}

/// CORS for the page's own origin (as the browser sees it, through trusted
/// proxies) and the configured ones.
fn cors(state: &AppState) -> Cors {
    let (origins, proxies, scheme) = (state.origins.clone(), state.proxies.clone(), state.scheme);
    Cors::default()
        .allowed_origin_fn(move |origin, head| {
            let own = proxies.own_origin(head, scheme);
            origin.to_str().is_ok_and(|origin| origins.allows(origin, own.as_deref()))
        })
        .allowed_methods(["GET", "POST"])
        .allowed_headers(["content-type", "authorization"])
        .max_age(3600)
}

/// The access log: the client's real address, and the path without its
/// query (a query may hold an identity token). WebSocket connections are
/// left out: their line would come when they close, and the logger would
/// hold a copy of its format for each open one (480 bytes a connection);
/// refused upgrades are logged where they are refused.
fn access_log(proxies: TrustedProxies) -> Logger {
    Logger::new("%{client}xi \"%{line}xi\" %s %b %Dms")
        .exclude("/ws/chat")
        .exclude("/ws/echo")
        .custom_request_replace("client", move |req| proxies.client_addr(req.head()).to_string())
        .custom_request_replace("line", |req| format!("{} {} {:?}", req.method(), req.path(), req.version()))
        .log_target("anime_chat::http")
}

async fn shutdown_signal() {
    use actix_web::rt::signal::{self, unix};
    match unix::signal(unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            first_of(signal::ctrl_c(), terminate.recv()).await;
        }
        Err(e) => {
            log::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the server");
            let _ = signal::ctrl_c().await;
        }
    }
}

/// Waits for whichever of two futures finishes first.
async fn first_of<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
    futures_util::future::select(std::pin::pin!(a), std::pin::pin!(b)).await;
}

fn start_embedded_kafka(settings: &Settings) -> anyhow::Result<Option<EmbeddedKafka>> {
    if !settings.kafka.is_embedded() {
        return Ok(None);
    }
    let embedded = EmbeddedKafka::start(&settings.kafka).context("starting the embedded Kafka cluster")?;
    log::warn!(
        "KAFKA_BOOTSTRAP_SERVERS is not set: using embedded Kafka. Messages live in memory only and are lost when the server stops."
    );
    log::info!(
        "embedded Kafka bootstrap: {} (kcat or Kafka's console tools can read it)",
        embedded.bootstrap_servers()
    );
    Ok(Some(embedded))
}

/// The rustls configuration when a certificate and key are configured.
fn tls_config(settings: &crate::config::ServerSettings) -> anyhow::Result<Option<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    if settings.tls_cert_file.is_empty() {
        return Ok(None);
    }
    let certs = CertificateDer::pem_file_iter(&settings.tls_cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading server.tls_cert_file {}", settings.tls_cert_file))?;
    let key = PrivateKeyDer::from_pem_file(&settings.tls_key_file)
        .with_context(|| format!("reading server.tls_key_file {}", settings.tls_key_file))?;
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("server.tls_cert_file and server.tls_key_file do not make a valid pair")?;
    Ok(Some(config))
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// Connections the kernel queues for `accept` (it caps this at
/// `net.core.somaxconn`). The standard library's 128 overflows when
/// thousands of clients reconnect at once after a restart: the dropped
/// SYNs are retried a second or three later.
const LISTEN_BACKLOG: i32 = 4096;

fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted server binds its port again while old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(reuse_port)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}
