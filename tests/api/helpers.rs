//! Small helpers so each test reads like the protocol: start a server,
//! connect clients, assert on frames.

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
    std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1:9092".into())
}

/// A server running in this test's actix system, on its own topic.
pub struct TestApp {
    pub addr: SocketAddr,
    pub topic: String,
    handle: actix_web::dev::ServerHandle,
}

/// Settings for a test server: port 0, the real broker, a fresh topic.
pub fn test_settings() -> Settings {
    let topic = format!("chat-test-{}", uuid::Uuid::new_v4().simple());
    let bootstrap = bootstrap_servers();
    let mut settings = Settings::load_from(|var| match var {
        "CHAT_ADDR" => Some("127.0.0.1:0".into()),
        "CHAT_TOPIC" => Some(topic.clone()),
        "KAFKA_BOOTSTRAP_SERVERS" => Some(bootstrap.clone()),
        _ => None,
    })
    .expect("test settings load");
    settings.kafka.partitions = 2;
    settings
}

/// Starts a server on the real broker and waits until it is ready.
pub async fn spawn_app() -> TestApp {
    let app = start(test_settings()).await;
    app.wait_ready().await;
    app
}

/// Starts a server without waiting for Kafka.
pub async fn start(settings: Settings) -> TestApp {
    let topic = settings.kafka.topic.clone();
    let app = Application::build(settings).await.expect("server starts");
    let (addr, handle) = (app.addr(), app.handle());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { addr, topic, handle }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Polls `/ready` until the consumer is reading the topic.
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            if let Ok(response) = awc::Client::default().get(self.url("/ready")).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server at {} not ready within {PATIENCE:?}: is Kafka running at {}?", self.addr, bootstrap_servers());
    }

    /// Connects to the default room.
    pub async fn connect(&self) -> Client {
        self.connect_to("/ws/chat").await
    }

    /// Connects to `room`.
    pub async fn connect_room(&self, room: &str) -> Client {
        self.connect_to(&format!("/ws/chat?room={room}")).await
    }

    async fn connect_to(&self, path: &str) -> Client {
        let url = format!("ws://{}{path}", self.addr);
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket connects");
        let mut client = Client { socket, username: String::new() };
        let welcome = client.expect("welcome").await;
        client.username = welcome["username"].as_str().expect("welcome has a username").to_owned();
        client
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let mut response = awc::Client::default().get(self.url(path)).send().await.expect("GET");
        (response.status().as_u16(), response.json().await.expect("JSON body"))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut response = awc::Client::default().post(self.url(path)).send_json(body).await.expect("POST");
        (response.status().as_u16(), response.json().await.expect("JSON body"))
    }

    pub fn stop(&self) -> impl std::future::Future<Output = ()> {
        self.handle.stop(true)
    }
}

/// A WebSocket client that reads JSON frames.
pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The name the server gave this client.
    pub username: String,
}

impl Client {
    pub async fn send_json(&mut self, frame: Value) {
        self.send(Message::text(frame.to_string())).await;
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    /// Sends a chat message with a client id.
    pub async fn say(&mut self, text: &str, client_msg_id: &str) {
        self.send_json(serde_json::json!({"type": "chat_message", "text": text, "client_msg_id": client_msg_id}))
            .await;
    }

    /// The next JSON frame, heartbeats aside.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
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

    /// Skips frames until one of type `kind` arrives.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
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
