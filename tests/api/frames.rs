//! RFC 6455 on `/ws/chat` itself: fragmented messages, control frames and
//! the closing handshake. (The Autobahn suite runs against `/ws/echo`,
//! which shares this frame handling: `scripts/conformance.sh`.)

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, TestApp, PATIENCE};

fn fragment(data: &[u8], first: bool, fin: bool) -> Message {
    let opcode = if first { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
    Message::Frame(Frame::message(data.to_vec(), opcode, fin))
}

#[actix_web::test]
async fn a_chat_message_in_fragments_with_a_ping_between_is_acked_and_broadcast_like_any_other() {
    let app = spawn_app().await;
    let mut sender = app.connect_room("fragments").await;
    let mut reader = app.connect_room("fragments").await;
    sender.history().await;
    reader.history().await;
    let frame =
        json!({"type": "chat_message", "text": "こんにちは in three parts", "client_msg_id": "frag"}).to_string();
    let bytes = frame.as_bytes();
    // Split inside a multi-byte character: only the whole message must be UTF-8.
    let (a, rest) = bytes.split_at(40);
    let (b, c) = rest.split_at(5);
    sender.send(fragment(a, true, false)).await;
    sender.send(Message::Ping(b"between".to_vec().into())).await;
    sender.send(fragment(b, false, false)).await;
    sender.send(fragment(c, false, true)).await;
    let ack = sender.expect("ack").await;
    assert_eq!(ack["client_msg_id"], "frag");
    let broadcast = reader.expect("chat_message").await;
    assert_eq!(
        (broadcast["text"].as_str(), &broadcast["message_id"]),
        (Some("こんにちは in three parts"), &ack["message_id"])
    );
}

#[actix_web::test]
async fn broken_fragments_and_control_frames_close_with_the_rfcs_codes() {
    let app = spawn_app().await;
    let cases: [(&str, Vec<Message>, u16); 5] = [
        ("a continuation with nothing to continue", vec![fragment(b"{}", false, true)], 1002),
        ("a new message inside a fragmented one", vec![fragment(b"{", true, false), fragment(b"{}", true, true)], 1002),
        (
            "a fragmented message over the 64 KiB limit",
            vec![fragment(&[b' '; 40_000], true, false), fragment(&[b' '; 40_000], false, true)],
            1009,
        ),
        ("a ping over 125 bytes", vec![Message::Ping(vec![0; 126].into())], 1002),
        (
            "invalid UTF-8 across fragments",
            vec![
                fragment(b"{\"type\":\"chat_message\",\"text\":\"\xce", true, false),
                fragment(b"\xff\"}", false, true),
            ],
            1007,
        ),
    ];
    for (what, frames, code) in cases {
        let mut client = app.connect().await;
        for frame in frames {
            client.send(frame).await;
        }
        assert_eq!(client.closed_with().await, code, "{what}");
    }
}

#[actix_web::test]
async fn close_codes_are_echoed_when_valid_and_refused_with_1002_otherwise() {
    let app = spawn_app().await;
    for (sent, answered) in [(1000, 1000), (4321, 4321), (1005, 1002), (999, 1002), (1016, 1002), (5000, 1002)] {
        let mut socket = RawSocket::open(&app).await;
        socket.send(0x8, &u16::to_be_bytes(sent)).await;
        assert_eq!(socket.close_code().await, answered, "close code {sent}");
        assert!(socket.closed_by_server().await, "after {sent}, the server closes TCP without waiting for us");
    }
}

#[actix_web::test]
async fn a_peer_that_never_answers_the_servers_close_is_cut_off() {
    let mut settings = crate::helpers::test_settings();
    settings.chat.rate_per_second = 1;
    settings.chat.rate_burst = 1;
    settings.chat.flood_close_after = 3;
    let app = crate::helpers::start(settings).await;
    app.wait_ready().await;
    let mut socket = RawSocket::open(&app).await;
    for _ in 0..5 {
        socket.send(0x1, br#"{"type":"typing"}"#).await;
    }
    // The server closes (a flood: 1008) and we never answer its close frame.
    assert_eq!(socket.close_code().await, 1008);
    assert!(socket.closed_by_server().await, "cut off after the handshake timeout");
}

/// A WebSocket spoken by hand, so the test decides exactly which frames go
/// out and can see the server close TCP while this side stays open.
struct RawSocket {
    stream: TcpStream,
}

impl RawSocket {
    async fn open(app: &TestApp) -> Self {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        let request = format!(
            "GET /ws/chat HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            app.addr
        );
        stream.write_all(request.as_bytes()).await.expect("upgrade request");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.expect("upgrade response");
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        Self { stream }
    }

    /// Sends one masked frame with FIN set.
    async fn send(&mut self, opcode: u8, payload: &[u8]) {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x80 | opcode, 0x80 | u8::try_from(payload.len()).expect("short payload")];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("frame written");
    }

    /// Reads frames until a close frame; returns its code.
    async fn close_code(&mut self) -> u16 {
        loop {
            let mut head = [0u8; 2];
            tokio::time::timeout(PATIENCE, self.stream.read_exact(&mut head)).await.expect("a frame").expect("read");
            let len = match head[1] & 0x7f {
                126 => usize::from(self.stream.read_u16().await.expect("length")),
                127 => usize::try_from(self.stream.read_u64().await.expect("length")).expect("length"),
                n => usize::from(n),
            };
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).await.expect("payload");
            if head[0] & 0x0f == 0x8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
    }

    /// True once the server has closed the connection (EOF) while this side
    /// never closed or shut down its own.
    async fn closed_by_server(&mut self) -> bool {
        let mut rest = [0u8; 64];
        matches!(tokio::time::timeout(PATIENCE, self.stream.read(&mut rest)).await, Ok(Ok(0)))
    }
}
