//! Small helpers so each test reads like the protocol: start a server,
//! connect clients, assert on frames.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use anime_chat::config::Settings;
use anime_chat::startup::Application;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one frame or for the server to get ready.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The broker the tests use.
pub fn bootstrap_servers() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "127.0.0.1:9092".into())
}

/// A server running in this test's actix system, on its own topic.
pub struct TestApp {
    pub addr: SocketAddr,
    pub topic: String,
}

/// Settings for a test server: port 0, the real broker, a fresh topic.
pub fn test_settings() -> Settings {
    let topic = unique_topic();
    let bootstrap = bootstrap_servers();
    let mut settings = Settings::load_from(|var| match var {
        "CHAT_ADDR" => Some("127.0.0.1:0".into()),
        "CHAT_TOPIC" => Some(topic.clone()),
        "KAFKA_BOOTSTRAP_SERVERS" => Some(bootstrap.clone()),
        _ => None,
    })
    .expect("test settings load");
    settings.kafka.partitions = 2;
    settings.server.identity_secret = IDENTITY_SECRET.to_owned().into();
    settings
}

/// The identity secret every test server shares, as a real deployment's instances do.
pub const IDENTITY_SECRET: &str = "tests-share-one-identity-secret";

/// Starts a server on the real broker and waits until it is ready.
pub async fn spawn_app() -> TestApp {
    let app = start(test_settings()).await;
    app.wait_ready().await;
    app
}

/// Starts a server without waiting for Kafka.
pub async fn start(settings: Settings) -> TestApp {
    // In-process servers log as `RUST_LOG` says (nothing by default).
    let _ = env_logger::builder().is_test(true).try_init();
    let topic = settings.kafka.topic.clone();
    let app = Application::build(settings).await.expect("server starts");
    let addr = app.addr();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { addr, topic }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Polls `/ready` until the consumer is reading the topic.
    pub async fn wait_ready(&self) {
        wait_ready(self.addr).await;
    }

    /// Connects to the default room.
    pub async fn connect(&self) -> Client {
        self.connect_to("/ws/chat").await
    }

    /// Connects to `room`.
    pub async fn connect_room(&self, room: &str) -> Client {
        self.connect_to(&format!("/ws/chat?room={room}")).await
    }

    /// Connects with a path and query of the test's choosing.
    pub async fn connect_to(&self, path: &str) -> Client {
        Client::connect(&format!("ws://{}{path}", self.addr)).await
    }

    /// Connects, or says how the server refused the upgrade.
    pub async fn try_connect(&self, path: &str) -> Result<Client, Refused> {
        Client::try_connect(&format!("ws://{}{path}", self.addr)).await
    }

    /// Connects from the loopback address `source` (127.0.x.y), as another
    /// person on another machine would.
    pub async fn connect_from(&self, source: [u8; 4], path: &str) -> Result<Client, Refused> {
        Client::try_connect_from(self.addr, source, path, &[]).await
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        get_json(self.addr, path).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut response = awc::Client::default().post(self.url(path)).send_json(body).await.expect("POST");
        (response.status().as_u16(), response.json().await.expect("JSON body"))
    }
}

/// `GET path` on the server at `addr`: status and JSON body.
pub async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut response = awc::Client::default().get(format!("http://{addr}{path}")).send().await.expect("GET");
    (response.status().as_u16(), response.json().await.expect("JSON body"))
}

/// Everything in `topic` on the test broker, read from the beginning by a
/// fresh consumer, until `expected` records or the patience runs out.
pub fn read_topic(topic: &str, expected: usize) -> Vec<rdkafka::message::OwnedMessage> {
    read_topic_at(&bootstrap_servers(), topic, expected)
}

/// [`read_topic`] on the broker at `bootstrap`.
pub fn read_topic_at(bootstrap: &str, topic: &str, expected: usize) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-reader-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), PATIENCE).expect("metadata");
    let mut list = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        list.add_partition_offset(topic, partition.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&list).expect("assign");
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut records = Vec::new();
    while records.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            records.push(message.detach());
        }
    }
    records
}

/// The sum of a Prometheus metric's series (all labels, or those whose
/// label text contains `labels`) on the server at `addr`.
pub async fn metric(addr: SocketAddr, name: &str, labels: &str) -> f64 {
    let mut response = awc::Client::default().get(format!("http://{addr}/metrics")).send().await.expect("GET /metrics");
    let body = response.body().limit(16 << 20).await.expect("metrics body");
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(name) && line.contains(labels))
        .filter_map(|line| line.rsplit_once(' ').and_then(|(_, value)| value.parse::<f64>().ok()))
        .sum()
}

/// `POST path` with a JSON body from the loopback address `source`, over a
/// raw connection (awc cannot choose its source address): status and body.
pub async fn post_from(addr: SocketAddr, source: [u8; 4], path: &str, body: &Value) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((source, 0))).expect("bind the source address");
    let mut stream = socket.connect(addr).await.expect("TCP connects");
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let json = response.split("\r\n\r\n").nth(1).and_then(|b| serde_json::from_str(b.trim()).ok()).unwrap_or_default();
    (status, json)
}

/// Polls until `check` holds, for at most `PATIENCE`; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within {PATIENCE:?}: {what}");
}

/// Writes `values` keyed by `key` with an ordinary Kafka producer and
/// Kafka's standard partitioner, as another service would.
pub fn produce(topic: &str, key: &str, values: &[Value]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("a producer");
    for value in values {
        let payload = value.to_string();
        producer.send(BaseRecord::to(topic).key(key).payload(&payload)).expect("queued");
    }
    producer.flush(Duration::from_secs(10)).expect("flushed");
}

/// Waits until the server at `addr` answers `/ready` with 200.
pub async fn wait_ready(addr: SocketAddr) {
    let what = format!("server at {addr} ready (is Kafka running at {}?)", bootstrap_servers());
    eventually(&what, || async move {
        awc::Client::default()
            .get(format!("http://{addr}/ready"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
    .await;
}

/// Configuration for tests that send bursts: no practical rate limit, per
/// connection or per address.
pub const NO_RATE_LIMIT: &str = "[chat]\nrate_per_second = 100000\nrate_burst = 100000\n\
    address_rate_per_second = 100000\naddress_rate_burst = 100000\n";

/// Settings with [`NO_RATE_LIMIT`].
pub fn unlimited_settings() -> Settings {
    let mut settings = test_settings();
    settings.chat.rate_per_second = 100_000;
    settings.chat.rate_burst = 100_000;
    settings.chat.address_rate_per_second = 100_000;
    settings.chat.address_rate_burst = 100_000;
    settings
}

/// A fresh topic name, so tests never see each other's messages.
pub fn unique_topic() -> String {
    format!("chat-test-{}", uuid::Uuid::new_v4().simple())
}

/// A loopback port nobody is listening on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Sends `signal` to `child` with kill(1) and waits for it to exit.
pub fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill").args(["-s", signal, &pid]).status().expect("kill runs");
    assert!(sent.success(), "kill -s {signal} {pid}");
    child.wait().expect("process exits")
}

/// The server binary, run as its own process: for restarts, kills and
/// several instances side by side.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: std::process::Child,
    _config: tempfile::NamedTempFile,
}

impl ServerProcess {
    /// Starts `anime-chat` on `port` with `topic` on `bootstrap`, without waiting.
    pub fn spawn(topic: &str, bootstrap: &str, port: u16) -> Self {
        Self::spawn_with(topic, bootstrap, port, "")
    }

    /// Like [`ServerProcess::spawn`], with `config` (TOML) layered over the defaults.
    pub fn spawn_with(topic: &str, bootstrap: &str, port: u16, config: &str) -> Self {
        let config_file = tempfile::NamedTempFile::new().expect("config file");
        std::fs::write(config_file.path(), config).expect("write config");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_anime-chat"))
            .env("CHAT_CONFIG", config_file.path())
            .env("CHAT_ADDR", format!("127.0.0.1:{port}"))
            .env("CHAT_TOPIC", topic)
            .env("CHAT_IDENTITY_SECRET", IDENTITY_SECRET)
            .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
            .env("RUST_LOG", std::env::var("TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .spawn()
            .expect("server binary starts");
        Self { addr: SocketAddr::from(([127, 0, 0, 1], port)), child, _config: config_file }
    }

    /// Starts one on the test broker and waits until it is ready.
    pub async fn start(topic: &str, port: u16) -> Self {
        Self::start_with(topic, port, "").await
    }

    /// Starts one with extra configuration and waits until it is ready.
    pub async fn start_with(topic: &str, port: u16, config: &str) -> Self {
        let server = Self::spawn_with(topic, &bootstrap_servers(), port, config);
        wait_ready(server.addr).await;
        server
    }

    pub async fn connect(&self, path: &str) -> Client {
        Client::connect(&format!("ws://{}{path}", self.addr)).await
    }

    pub async fn try_connect(&self, path: &str) -> Result<Client, Refused> {
        Client::try_connect(&format!("ws://{}{path}", self.addr)).await
    }

    /// Connects from the loopback address `source`.
    pub async fn connect_from(&self, source: [u8; 4], path: &str) -> Result<Client, Refused> {
        Client::try_connect_from(self.addr, source, path, &[]).await
    }

    /// Sends `signal` (`TERM`, `KILL`) and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        signal_and_wait(&mut self.child, signal)
    }

    /// Sends `signal` (`STOP`, `CONT`) and goes on.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-s", signal, &pid]).status().expect("kill runs");
        assert!(sent.success(), "kill -s {signal} {pid}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client that reads JSON frames.
pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The name the server gave this client.
    pub username: String,
    /// The log this connection's offsets belong to.
    pub epoch: String,
    /// Brings this identity (and its name) back on the next connection.
    pub token: String,
    /// Frames read past while waiting for an answer, read next.
    stash: std::collections::VecDeque<Value>,
}

/// An upgrade the server refused: its status, `Retry-After` and JSON body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("username", &self.username).field("epoch", &self.epoch).finish()
    }
}

impl Client {
    /// A client over `socket` that has read nothing yet, not even the welcome.
    pub fn raw(socket: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Client {
            socket,
            username: String::new(),
            epoch: String::new(),
            token: String::new(),
            stash: Default::default(),
        }
    }

    /// Connects to a WebSocket URL and reads the welcome.
    pub async fn connect(url: &str) -> Self {
        Self::try_connect(url).await.expect("WebSocket connects")
    }

    /// Connects, or says how the server refused the upgrade.
    pub async fn try_connect(url: &str) -> Result<Self, Refused> {
        Self::welcomed(tokio_tungstenite::connect_async(url).await, url).await
    }

    /// Connects to `addr` from the loopback address `source`, with extra
    /// request `headers` (a forged `X-Forwarded-For`, say).
    pub async fn try_connect_from(
        addr: SocketAddr,
        source: [u8; 4],
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, Refused> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::from((source, 0))).expect("bind the source address");
        let stream = socket.connect(addr).await.expect("TCP connects");
        let url = format!("ws://{addr}{path}");
        let mut request = url.as_str().into_client_request().expect("a WebSocket request");
        for (name, value) in headers {
            let name =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            request.headers_mut().insert(name, value.parse().expect("a header value"));
        }
        let connected = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await;
        Self::welcomed(connected, &url).await
    }

    async fn welcomed(
        connected: Result<
            (WebSocketStream<MaybeTlsStream<TcpStream>>, tokio_tungstenite::tungstenite::handshake::client::Response),
            tokio_tungstenite::tungstenite::Error,
        >,
        url: &str,
    ) -> Result<Self, Refused> {
        let (socket, _) = match connected {
            Ok(connected) => connected,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = response.body().as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
                return Err(Refused { status: response.status().as_u16(), retry_after: header("retry-after"), body });
            }
            Err(e) => panic!("WebSocket upgrade to {url} failed: {e}"),
        };
        let mut client = Client::raw(socket);
        let welcome = client.expect("welcome").await;
        client.username = welcome["username"].as_str().expect("welcome has a username").to_owned();
        client.epoch = welcome["epoch"].as_str().expect("welcome has an epoch").to_owned();
        client.token = welcome["token"].as_str().expect("welcome has a token").to_owned();
        Ok(client)
    }

    pub async fn send_json(&mut self, frame: Value) {
        self.send(Message::text(frame.to_string())).await;
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    /// Sends a chat message with a client id.
    pub async fn say(&mut self, text: &str, client_msg_id: &str) {
        self.send_json(serde_json::json!({"type": "chat_message", "text": text, "client_msg_id": client_msg_id})).await;
    }

    /// The next JSON frame, heartbeats aside.
    pub async fn next(&mut self) -> Value {
        self.next_before(tokio::time::Instant::now() + PATIENCE).await
    }

    async fn next_before(&mut self, deadline: tokio::time::Instant) -> Value {
        if let Some(frame) = self.stash.pop_front() {
            return frame;
        }
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("a frame within the patience window")
                .expect("socket open")
                .expect("valid frame");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).expect("server frames are JSON");
                    if frame["type"] != "heartbeat" {
                        return frame;
                    }
                }
                Message::Close(reason) => panic!("server closed the socket: {reason:?}"),
                _ => {}
            }
        }
    }

    /// Skips frames until one of type `kind` arrives, within `PATIENCE`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = self.next_before(deadline).await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// The next frame of any of `kinds`, skipping others.
    pub async fn next_of(&mut self, kinds: &[&str]) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = self.next_before(deadline).await;
            if frame["type"].as_str().is_some_and(|kind| kinds.contains(&kind)) {
                return frame;
            }
        }
    }

    /// Sends a message and waits for both its `ack` and its broadcast,
    /// which may come in either order. Returns `(ack, chat_message)`.
    pub async fn say_and_confirm(&mut self, text: &str, client_msg_id: &str) -> (Value, Value) {
        self.say(text, client_msg_id).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let (mut ack, mut broadcast) = (None, None);
        while ack.is_none() || broadcast.is_none() {
            let frame = self.next_before(deadline).await;
            match frame["type"].as_str() {
                Some("ack") if frame["client_msg_id"] == client_msg_id => ack = Some(frame),
                Some("chat_message") if frame["text"] == text => broadcast = Some(frame),
                _ => {}
            }
        }
        let (ack, broadcast) = (ack.unwrap_or_default(), broadcast.unwrap_or_default());
        assert_eq!(ack["message_id"], broadcast["message_id"], "the ack names the broadcast message");
        (ack, broadcast)
    }

    /// Sends `frame` (which names a `client_msg_id`) and returns its answer,
    /// the `ack` or the `error` naming that id. Frames that come before it
    /// (the broadcast of what was sent may) are read next.
    pub async fn request(&mut self, frame: Value) -> Value {
        let id = frame["client_msg_id"].clone();
        assert!(id.is_string(), "a request names its client_msg_id");
        self.send_json(frame).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut before = std::mem::take(&mut self.stash);
        loop {
            let answer = self.next_before(deadline).await;
            if matches!(answer["type"].as_str(), Some("ack" | "error")) && answer["client_msg_id"] == id {
                self.stash = before;
                return answer;
            }
            before.push_back(answer);
        }
    }

    /// The history replayed at connect: its chat messages and `history_end`.
    pub async fn history(&mut self) -> (Vec<Value>, Value) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut messages = Vec::new();
        loop {
            let frame = self.next_before(deadline).await;
            match frame["type"].as_str() {
                Some("chat_message") => messages.push(frame),
                Some("history_end") => return (messages, frame),
                _ => {}
            }
        }
    }

    /// Sends `count` messages without waiting, then waits for every ack.
    pub async fn say_many(&mut self, count: usize, prefix: &str) {
        for i in 0..count {
            self.say(&format!("{prefix} {i}"), &format!("{prefix}-{i}")).await;
        }
        let deadline = tokio::time::Instant::now() + PATIENCE * 3;
        let mut acked = 0;
        while acked < count {
            match self.next_before(deadline).await["type"].as_str() {
                Some("ack") => acked += 1,
                Some("error") => panic!("a message of the burst was refused (raise the rate limit for bursts)"),
                _ => {}
            }
        }
    }

    /// Reads `connection_update` frames until one counts `count`.
    pub async fn count_becomes(&mut self, count: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = self.next_before(deadline).await;
            if frame["type"] == "connection_update" && frame["active_connections"] == count {
                return;
            }
        }
    }

    /// The next `count` chat messages.
    pub async fn chat_messages(&mut self, count: usize) -> Vec<Value> {
        let mut messages = Vec::with_capacity(count);
        while messages.len() < count {
            messages.push(self.expect("chat_message").await);
        }
        messages
    }

    /// Closes the connection as a page does when its tab closes, and waits
    /// for the server's answering close.
    pub async fn leave(mut self) {
        self.send(Message::Close(None)).await;
        self.closed_with().await;
    }

    /// Waits for a close frame and returns its code.
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.socket.next()).await.expect("close within patience");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Err(e)) => panic!("socket error instead of a close frame: {e}"),
                Some(Ok(_)) => {}
            }
        }
    }
}

/// A broker of the test's own, started and stopped by `scripts/kafka.sh`,
/// for tests that take Kafka away. It has its own ports and state folder,
/// so the shared test broker is never touched.
pub struct TestBroker {
    port: u16,
    controller_port: u16,
    state_dir: tempfile::TempDir,
}

impl TestBroker {
    /// Picks ports and a state folder; does not start anything.
    pub fn new() -> Self {
        Self { port: free_port(), controller_port: free_port(), state_dir: tempfile::tempdir().expect("state folder") }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn start(&self) {
        self.run("start").unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn stop(&self) {
        self.run("stop").unwrap_or_else(|e| panic!("{e}"));
    }

    /// Freezes the broker (SIGSTOP): its sockets stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Thaws a paused broker (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.state_dir.path().join("broker.pid")).expect("the broker's pid file");
        let sent = std::process::Command::new("kill").args(["-s", signal, pid.trim()]).status().expect("kill runs");
        assert!(sent.success(), "kill -s {signal} {pid}");
    }

    fn run(&self, command: &str) -> Result<(), String> {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh");
        let output = std::process::Command::new(script)
            .arg(command)
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_STATE_DIR", self.state_dir.path())
            .output()
            .map_err(|e| format!("scripts/kafka.sh {command}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "scripts/kafka.sh {command} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Err(e) = self.run("stop") {
            eprintln!("{e}");
        }
    }
}

/// Debian's nginx in front of several servers, configured from the repo's
/// `config/nginx/loopback.conf.template`, as the scale-out docs describe.
pub struct Nginx {
    pub addr: SocketAddr,
    prefix: tempfile::TempDir,
    child: std::process::Child,
}

impl Nginx {
    /// Starts nginx on a free loopback port in front of two servers.
    pub fn start(upstreams: &[SocketAddr; 2]) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let template =
            std::fs::read_to_string(root.join("config/nginx/loopback.conf.template")).expect("nginx template exists");
        let prefix = tempfile::tempdir().expect("nginx prefix");
        let port = free_port();
        let config = template
            .replace("${NGINX_PORT}", &port.to_string())
            .replace("${NGINX_PREFIX}", &prefix.path().display().to_string())
            .replace("${CHAT_PORT_1}", &upstreams[0].port().to_string())
            .replace("${CHAT_PORT_2}", &upstreams[1].port().to_string());
        let config_path = prefix.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let child = std::process::Command::new("nginx")
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&config_path)
            .arg("-g")
            .arg("daemon off;")
            .spawn()
            .expect("nginx starts (scripts/test.sh installs it)");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx listens on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { addr, prefix, child }
    }

    /// The upstream addresses nginx sent requests to, from its access log.
    pub fn upstreams_used(&self) -> HashSet<SocketAddr> {
        let log = std::fs::read_to_string(self.prefix.path().join("access.log")).unwrap_or_default();
        log.split_whitespace().filter_map(|word| word.trim_matches('"').parse().ok()).collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master must take its workers down with it.
        signal_and_wait(&mut self.child, "TERM");
    }
}
