//! The RFC 6455 rules a WebSocket session must apply on top of actix:
//! reassembly of fragmented messages (§5.4), UTF-8 of text messages (§5.6,
//! §8.1), the closing handshake (§5.5.1, §7.1, §7.4) and the close code for
//! each protocol error actix reports (§7.4.1).
//!
//! Pure: no actor, no timer, no I/O. A session feeds every item of its
//! `StreamHandler<Result<ws::Message, ws::ProtocolError>>` to
//! [`Reassembler::handle`] and carries out the [`Action`] it returns.
//!
//! # What actix already does, and what is left here
//!
//! actix-http 3.20's codec (`ws/frame.rs`, `ws/codec.rs`) rejects, before
//! anything reaches the session, and reports as `Err(ProtocolError)`:
//! unmasked client frames (`UnmaskedFrame`), reserved opcodes
//! (`InvalidOpcode`), non-zero RSV bits (`Io` of kind `InvalidData`), control
//! frames over 125 bytes and 1-byte close payloads (`InvalidLength`), close
//! frames with a code outside 1000–1003, 1007–1014, 3000–4999 or a reason
//! that is not UTF-8 (`BadOpCode`), a continuation with nothing to continue
//! (`ContinuationNotStarted`), a new text/binary frame inside a fragmented
//! message (`ContinuationStarted`), fragmented control frames
//! (`ContinuationFragment`) and frames over the codec's `max_size`
//! (`Overflow`). actix-web-actors' `WsStream` turns an unfragmented text
//! frame that is not UTF-8 into `Io` of kind `Other` whose text is the
//! `Utf8Error`, and a broken connection into `Io` of kind `Other` too.
//!
//! It does not reassemble: each fragment arrives as
//! `Message::Continuation(Item::FirstText | FirstBinary | Continue | Last)`
//! with raw, unvalidated bytes, and pings may come between them. It does not
//! answer pings or close frames either, nor pick a close code for its own
//! errors: that is this module.

use actix_http::ws::Item;
use actix_web::web::{Bytes, BytesMut};
use actix_web_actors::ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytestring::ByteString;

/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// How long a session that sent the first close frame waits for the peer's
/// (RFC 6455 §7.1.1: the server closes TCP once it has sent *and* received a
/// close frame; a peer that never answers must not hold the connection).
pub const CLOSE_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// What the session must do with one item of its WebSocket stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// A complete text message, valid UTF-8: one frame or every fragment of
    /// one, joined (§5.4). Parse it like any text frame.
    Text(ByteString),
    /// A complete binary message, one frame or reassembled.
    Binary(Bytes),
    /// Answer a ping with a pong of the same payload (§5.5.2, §5.5.3),
    /// even in the middle of a fragmented message (§5.4).
    Pong(Bytes),
    /// The peer started the closing handshake: send this close frame back
    /// (its code echoed, §5.5.1; `None` for a close without a code), then stop
    /// the actor at once so the server closes TCP first (§7.1.1).
    EchoClose(Option<CloseReason>),
    /// The peer answered the close frame we sent: the handshake is complete,
    /// stop the actor now (no frame to send).
    Closed,
    /// The peer broke the protocol: _Fail the WebSocket Connection_ (§7.1.7):
    /// send this close frame (1002, 1007 or 1009), then stop at once.
    Fail(CloseReason),
    /// The TCP connection broke (read error, peer gone): stop, nothing to send.
    Gone,
    /// Nothing to do: a pong, a fragment kept for later, or any frame that
    /// arrives after a close frame was sent (§5.5.1: data after close is
    /// discarded).
    Ignore,
}

/// Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4,
/// IANA "WebSocket Close Code Number Registry"): 1000–1003 and 1007–1014 are
/// defined, 3000–3999 are registered for libraries and frameworks, 4000–4999
/// are private. Everything else is invalid: 0–999 are not used, 1004 is
/// reserved, 1005, 1006 and 1015 MUST NOT be sent (§7.4.1), the rest of
/// 1016–2999 is reserved for future protocol use. actix-http 3.20 applies the
/// same table (`Parser::try_parse_close_payload`).
pub fn close_code_is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The close frame that fails the connection on a protocol error, or `None`
/// for an I/O error (the peer is gone and there is no one to tell).
pub fn fail_reason(err: &ProtocolError) -> Option<CloseReason> {
    let (code, why) = match err {
        // §5.1: a server MUST close the connection on an unmasked frame.
        ProtocolError::UnmaskedFrame => (CloseCode::Protocol, "client frames must be masked"),
        ProtocolError::MaskedFrame => (CloseCode::Protocol, "server frames must not be masked"),
        // §5.2: an unknown opcode MUST fail the connection.
        ProtocolError::InvalidOpcode(_) => (CloseCode::Protocol, "reserved opcode"),
        // actix-http's only use of InvalidLength(1) is a close payload of one
        // byte (§5.5.1: a body starts with a 2-byte code); any other length
        // is a control frame over 125 bytes (§5.5).
        ProtocolError::InvalidLength(1) => (CloseCode::Protocol, "close payload of 1 byte"),
        ProtocolError::InvalidLength(_) => (CloseCode::Protocol, "control frame over 125 bytes"),
        // actix-http 3.20 reports an invalid close code (§7.4) or a close
        // reason that is not UTF-8 (§5.5.1, §8.1) as BadOpCode.
        ProtocolError::BadOpCode => (CloseCode::Protocol, "invalid close code or reason"),
        // §5.4: fragments of one message, and only those, follow its first frame.
        ProtocolError::ContinuationNotStarted => (CloseCode::Protocol, "continuation without a message to continue"),
        ProtocolError::ContinuationStarted => (CloseCode::Protocol, "new message inside a fragmented message"),
        // §5.5: control frames MUST NOT be fragmented.
        ProtocolError::ContinuationFragment(_) => (CloseCode::Protocol, "fragmented control frame"),
        // Over the codec's max_size (§7.4.1: 1009 for a message too big to
        // process); also a 64-bit length with its top bit set (§5.2).
        ProtocolError::Overflow => (CloseCode::Size, "frame too large"),
        // actix-http 3.20 reports non-zero RSV bits as Io(InvalidData)
        // (§5.2: no extension negotiated, so RSV1-3 MUST be 0).
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            (CloseCode::Protocol, "reserved bits set")
        }
        // actix-web-actors reports a text frame that is not UTF-8 as Io(Other)
        // carrying the Utf8Error's text (§8.1: fail with 1007).
        ProtocolError::Io(e) if e.to_string().contains("utf-8") => (CloseCode::Invalid, "text must be UTF-8"),
        // A read error or a peer that hung up: nothing can be sent.
        ProtocolError::Io(_) => return None,
    };
    Some(CloseReason { code, description: Some(why.to_owned()) })
}

/// One WebSocket connection's inbound message state: the fragments of the
/// message in progress and where the closing handshake stands.
#[derive(Debug)]
pub struct Reassembler {
    max_message_bytes: usize,
    partial: Option<Partial>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// We sent the first close frame; waiting for the peer's.
    CloseSent,
    /// The handshake is over or the connection failed: nothing more to do.
    Done,
}

#[derive(Debug)]
struct Partial {
    text: bool,
    buf: BytesMut,
    /// Bytes of `buf` known to be valid UTF-8, so each fragment is checked
    /// once and an invalid one fails at once (Autobahn 6.4: "fail fast").
    valid_up_to: usize,
}

impl Reassembler {
    /// `max_message_bytes` bounds a whole message, fragments added up, as the
    /// codec's `max_size` bounds one frame; the session passes the same
    /// number to both (`WsResponseBuilder::frame_size`).
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes, partial: None, state: State::Open }
    }

    /// The one entry point: every item of the session's WebSocket stream.
    pub fn handle(&mut self, item: Result<Message, ProtocolError>) -> Action {
        match item {
            Ok(msg) => self.on_message(msg),
            Err(err) => self.on_error(&err),
        }
    }

    /// Call when the session starts the closing handshake itself (it sent a
    /// close frame, e.g. going away). From then on data frames are ignored,
    /// the peer's close frame yields [`Action::Closed`], and the session
    /// stops after [`CLOSE_HANDSHAKE_TIMEOUT`] if it never comes.
    pub fn close_sent(&mut self) {
        if self.state == State::Open {
            self.state = State::CloseSent;
        }
        self.partial = None;
    }

    /// Whether a close frame was sent or the connection is over: the session
    /// must not send data frames any more (§5.5.1).
    pub fn is_closing(&self) -> bool {
        self.state != State::Open
    }

    /// Whether a fragmented message is in progress.
    #[cfg(test)]
    fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// An error from actix's codec or the connection.
    pub fn on_error(&mut self, err: &ProtocolError) -> Action {
        let state = std::mem::replace(&mut self.state, State::Done);
        self.partial = None;
        match (state, fail_reason(err)) {
            // The session already acted on the end of this connection.
            (State::Done, _) => Action::Ignore,
            (State::Open, Some(reason)) => Action::Fail(reason),
            // Our close frame is already out: no second one (§5.5.1).
            (State::CloseSent, _) | (State::Open, None) => Action::Gone,
        }
    }

    /// A frame decoded by actix.
    pub fn on_message(&mut self, msg: Message) -> Action {
        match self.state {
            State::Done => return Action::Ignore,
            State::CloseSent => {
                return match msg {
                    Message::Close(_) => {
                        self.state = State::Done;
                        Action::Closed
                    }
                    _ => Action::Ignore,
                }
            }
            State::Open => {}
        }
        match msg {
            Message::Text(text) => {
                if self.partial.is_some() {
                    return self.fail(CloseCode::Protocol, "new message inside a fragmented message");
                }
                if text.len() > self.max_message_bytes {
                    return self.fail(CloseCode::Size, "message too large");
                }
                Action::Text(text)
            }
            Message::Binary(data) => {
                if self.partial.is_some() {
                    return self.fail(CloseCode::Protocol, "new message inside a fragmented message");
                }
                if data.len() > self.max_message_bytes {
                    return self.fail(CloseCode::Size, "message too large");
                }
                Action::Binary(data)
            }
            Message::Continuation(item) => self.on_fragment(item),
            Message::Ping(payload) => {
                if payload.len() > MAX_CONTROL_PAYLOAD {
                    return self.fail(CloseCode::Protocol, "control frame over 125 bytes");
                }
                Action::Pong(payload)
            }
            Message::Pong(_) | Message::Nop => Action::Ignore,
            Message::Close(reason) => self.on_close(reason),
        }
    }

    /// §5.5.1: the peer's close frame. A valid code is echoed; an invalid
    /// one (which actix 3.20 already rejects) fails the connection with 1002.
    fn on_close(&mut self, reason: Option<CloseReason>) -> Action {
        self.partial = None;
        match reason {
            None => {
                self.state = State::Done;
                Action::EchoClose(None)
            }
            Some(CloseReason { code, description }) => {
                let raw = u16::from(code);
                if !close_code_is_valid(raw) {
                    return self.fail(CloseCode::Protocol, "invalid close code");
                }
                if description.as_ref().is_some_and(|d| d.len() + 2 > MAX_CONTROL_PAYLOAD) {
                    return self.fail(CloseCode::Protocol, "control frame over 125 bytes");
                }
                self.state = State::Done;
                // Echo the code, not the reason: ours is not the peer's to repeat.
                Action::EchoClose(Some(CloseReason { code, description: None }))
            }
        }
    }

    /// §5.4: a message is one frame with FIN, or a text/binary frame without
    /// FIN, any number of continuations without FIN and one with FIN.
    fn on_fragment(&mut self, item: Item) -> Action {
        let (first, text, data, last) = match item {
            Item::FirstText(data) => (true, true, data, false),
            Item::FirstBinary(data) => (true, false, data, false),
            Item::Continue(data) => (false, false, data, false),
            Item::Last(data) => (false, false, data, true),
        };
        if first {
            if self.partial.is_some() {
                return self.fail(CloseCode::Protocol, "new message inside a fragmented message");
            }
            self.partial = Some(Partial { text, buf: BytesMut::new(), valid_up_to: 0 });
        }
        let Some(partial) = self.partial.as_mut() else {
            return self.fail(CloseCode::Protocol, "continuation without a message to continue");
        };
        if partial.buf.len() + data.len() > self.max_message_bytes {
            return self.fail(CloseCode::Size, "message too large");
        }
        partial.buf.extend_from_slice(&data);
        if partial.text && !partial.check_utf8(last) {
            return self.fail(CloseCode::Invalid, "text must be UTF-8");
        }
        if !last {
            return Action::Ignore;
        }
        let Partial { text, buf, .. } = self.partial.take().expect("checked above");
        if !text {
            return Action::Binary(buf.freeze());
        }
        match ByteString::try_from(buf.freeze()) {
            Ok(text) => Action::Text(text),
            Err(_) => self.fail(CloseCode::Invalid, "text must be UTF-8"),
        }
    }

    fn fail(&mut self, code: CloseCode, why: &str) -> Action {
        self.partial = None;
        self.state = State::Done;
        Action::Fail(CloseReason { code, description: Some(why.to_owned()) })
    }
}

impl Partial {
    /// Checks the bytes added since the last call. A sequence cut at the end
    /// of a fragment is fine unless this is the last one; a byte that can
    /// start or continue no valid sequence fails now (§8.1), not at the end.
    fn check_utf8(&mut self, last: bool) -> bool {
        match std::str::from_utf8(&self.buf[self.valid_up_to..]) {
            Ok(_) => {
                self.valid_up_to = self.buf.len();
                true
            }
            Err(e) if e.error_len().is_none() && !last => {
                self.valid_up_to += e.valid_up_to();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 64;

    fn ok(msg: Message) -> Result<Message, ProtocolError> {
        Ok(msg)
    }

    fn first_text(s: &[u8]) -> Result<Message, ProtocolError> {
        ok(Message::Continuation(Item::FirstText(Bytes::copy_from_slice(s))))
    }

    fn first_binary(s: &[u8]) -> Result<Message, ProtocolError> {
        ok(Message::Continuation(Item::FirstBinary(Bytes::copy_from_slice(s))))
    }

    fn cont(s: &[u8]) -> Result<Message, ProtocolError> {
        ok(Message::Continuation(Item::Continue(Bytes::copy_from_slice(s))))
    }

    fn last(s: &[u8]) -> Result<Message, ProtocolError> {
        ok(Message::Continuation(Item::Last(Bytes::copy_from_slice(s))))
    }

    fn ping(s: &[u8]) -> Result<Message, ProtocolError> {
        ok(Message::Ping(Bytes::copy_from_slice(s)))
    }

    fn close(code: u16, why: Option<&str>) -> Result<Message, ProtocolError> {
        ok(Message::Close(Some(CloseReason { code: code.into(), description: why.map(str::to_owned) })))
    }

    fn code_of(action: &Action) -> Option<u16> {
        match action {
            Action::Fail(reason) => Some(reason.code.into()),
            _ => None,
        }
    }

    fn io(kind: std::io::ErrorKind, text: &str) -> ProtocolError {
        ProtocolError::Io(std::io::Error::new(kind, text.to_owned()))
    }

    #[test]
    fn single_frames_pass_through() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(ok(Message::Text("hi".into()))), Action::Text("hi".into()));
        assert_eq!(
            r.handle(ok(Message::Binary(Bytes::from_static(b"\0\x01")))),
            Action::Binary(Bytes::from_static(b"\0\x01"))
        );
        assert_eq!(r.handle(ok(Message::Pong(Bytes::new()))), Action::Ignore);
        assert_eq!(r.handle(ok(Message::Nop)), Action::Ignore);
        assert!(!r.is_closing());
    }

    #[test]
    fn fragmented_text_is_joined_and_pings_between_are_answered() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_text(b"fra")), Action::Ignore);
        assert!(r.in_message());
        assert_eq!(r.handle(ping(b"p")), Action::Pong(Bytes::from_static(b"p")));
        assert_eq!(r.handle(cont(b"gme")), Action::Ignore);
        assert_eq!(r.handle(ping(b"")), Action::Pong(Bytes::new()));
        assert_eq!(r.handle(last(b"nted")), Action::Text("fragmented".into()));
        assert!(!r.in_message());
        // The next message starts afresh.
        assert_eq!(r.handle(first_text(b"a")), Action::Ignore);
        assert_eq!(r.handle(last(b"b")), Action::Text("ab".into()));
    }

    #[test]
    fn fragmented_binary_is_joined() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_binary(b"\xff\x00")), Action::Ignore);
        assert_eq!(r.handle(cont(b"")), Action::Ignore);
        assert_eq!(r.handle(last(b"\xfe")), Action::Binary(Bytes::from_static(b"\xff\x00\xfe")));
    }

    #[test]
    fn empty_fragments_make_an_empty_message() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_text(b"")), Action::Ignore);
        assert_eq!(r.handle(last(b"")), Action::Text("".into()));
    }

    #[test]
    fn continuation_without_start_is_1002() {
        for item in [cont(b"x"), last(b"x")] {
            let mut r = Reassembler::new(MAX);
            assert_eq!(code_of(&r.handle(item)), Some(1002));
            assert!(r.is_closing());
        }
    }

    #[test]
    fn new_start_inside_a_message_is_1002() {
        for start in
            [first_text(b"b"), first_binary(b"b"), ok(Message::Text("b".into())), ok(Message::Binary(Bytes::new()))]
        {
            let mut r = Reassembler::new(MAX);
            r.handle(first_text(b"a"));
            assert_eq!(code_of(&r.handle(start)), Some(1002));
        }
    }

    #[test]
    fn message_over_the_limit_is_1009() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_binary(&[0; 40])), Action::Ignore);
        assert_eq!(code_of(&r.handle(cont(&[0; 25]))), Some(1009));
        // Exactly at the limit is fine.
        let mut r = Reassembler::new(MAX);
        r.handle(first_text(&[b'a'; 32]));
        assert_eq!(r.handle(last(&[b'a'; 32])), Action::Text(String::from_utf8(vec![b'a'; 64]).unwrap().into()));
        // A single frame over the limit (a codec set larger than the limit).
        let mut r = Reassembler::new(4);
        assert_eq!(code_of(&r.handle(ok(Message::Text("12345".into())))), Some(1009));
    }

    #[test]
    fn utf8_split_across_fragments_is_accepted() {
        let euro = "€".as_bytes(); // e2 82 ac
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_text(&euro[..1])), Action::Ignore);
        assert_eq!(r.handle(cont(&euro[1..2])), Action::Ignore);
        assert_eq!(r.handle(last(&euro[2..])), Action::Text("€".into()));
        // A 4-byte sequence split 3 + 1.
        let cat = "😺".as_bytes();
        let mut r = Reassembler::new(MAX);
        r.handle(first_text(&cat[..3]));
        assert_eq!(r.handle(last(&cat[3..])), Action::Text("😺".into()));
    }

    #[test]
    fn invalid_utf8_fails_fast_with_1007() {
        // The fragment with the bad byte fails, before the message ends.
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_text(b"ok")), Action::Ignore);
        assert_eq!(code_of(&r.handle(cont(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))), Some(1007));
        // A lead byte whose next byte is out of range fails at once (U+110000).
        let mut r = Reassembler::new(MAX);
        assert_eq!(code_of(&r.handle(first_text(b"\xf4\x90"))), Some(1007));
        // 0xff never occurs in UTF-8.
        let mut r = Reassembler::new(MAX);
        assert_eq!(code_of(&r.handle(first_text(b"\xff"))), Some(1007));
    }

    #[test]
    fn message_ending_mid_sequence_is_1007() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(first_text(b"a\xe2\x82")), Action::Ignore);
        assert_eq!(code_of(&r.handle(last(b""))), Some(1007));
    }

    #[test]
    fn binary_fragments_are_not_checked_for_utf8() {
        let mut r = Reassembler::new(MAX);
        r.handle(first_binary(b"\xff"));
        assert_eq!(r.handle(last(b"\xe2")), Action::Binary(Bytes::from_static(b"\xff\xe2")));
    }

    #[test]
    fn ping_over_125_bytes_is_1002() {
        let mut r = Reassembler::new(1000);
        assert_eq!(r.handle(ping(&[0; 125])), Action::Pong(Bytes::from(vec![0; 125])));
        assert_eq!(code_of(&r.handle(ping(&[0; 126]))), Some(1002));
    }

    #[test]
    fn valid_close_codes_are_echoed_without_the_reason() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            let mut r = Reassembler::new(MAX);
            assert_eq!(
                r.handle(close(code, Some("bye"))),
                Action::EchoClose(Some(CloseReason { code: code.into(), description: None })),
                "code {code}"
            );
            assert!(r.is_closing());
            // Anything after the close handshake is ignored (§5.5.1).
            assert_eq!(r.handle(ping(b"")), Action::Ignore);
            assert_eq!(r.handle(ok(Message::Text("late".into()))), Action::Ignore);
        }
    }

    #[test]
    fn close_without_code_is_echoed_empty() {
        let mut r = Reassembler::new(MAX);
        assert_eq!(r.handle(ok(Message::Close(None))), Action::EchoClose(None));
    }

    #[test]
    fn close_inside_a_fragmented_message_drops_the_fragments() {
        let mut r = Reassembler::new(MAX);
        r.handle(first_text(b"never "));
        assert_eq!(r.handle(close(1000, None)), Action::EchoClose(Some(CloseCode::Normal.into())));
        assert!(!r.in_message());
        assert_eq!(r.handle(last(b"delivered")), Action::Ignore);
    }

    #[test]
    fn invalid_close_codes_are_1002() {
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!close_code_is_valid(code), "code {code}");
            let mut r = Reassembler::new(MAX);
            assert_eq!(code_of(&r.handle(close(code, None))), Some(1002), "code {code}");
        }
        for code in [1000, 1003, 1007, 1014, 3000, 4999] {
            assert!(close_code_is_valid(code), "code {code}");
        }
    }

    #[test]
    fn close_reason_over_123_bytes_is_1002() {
        let mut r = Reassembler::new(MAX);
        let ok_reason = "r".repeat(123);
        assert!(matches!(r.handle(close(1000, Some(&ok_reason))), Action::EchoClose(_)));
        let mut r = Reassembler::new(MAX);
        assert_eq!(code_of(&r.handle(close(1000, Some(&"r".repeat(124))))), Some(1002));
    }

    #[test]
    fn our_close_then_the_peers_completes_the_handshake() {
        let mut r = Reassembler::new(MAX);
        r.handle(first_text(b"half"));
        r.close_sent();
        assert!(r.is_closing());
        assert!(!r.in_message());
        assert_eq!(r.handle(last(b" done")), Action::Ignore);
        assert_eq!(r.handle(ok(Message::Text("late".into()))), Action::Ignore);
        assert_eq!(r.handle(ping(b"")), Action::Ignore);
        assert_eq!(r.handle(close(1000, None)), Action::Closed);
        assert_eq!(r.handle(close(1000, None)), Action::Ignore);
    }

    #[test]
    fn an_error_after_our_close_stops_without_a_second_close() {
        let mut r = Reassembler::new(MAX);
        r.close_sent();
        assert_eq!(r.handle(Err(ProtocolError::BadOpCode)), Action::Gone);
    }

    #[test]
    fn protocol_errors_map_to_close_codes() {
        let cases: Vec<(ProtocolError, Option<u16>)> = vec![
            (ProtocolError::UnmaskedFrame, Some(1002)),
            (ProtocolError::MaskedFrame, Some(1002)),
            (ProtocolError::InvalidOpcode(3), Some(1002)),
            (ProtocolError::InvalidLength(126), Some(1002)),
            (ProtocolError::InvalidLength(1), Some(1002)),
            (ProtocolError::BadOpCode, Some(1002)),
            (ProtocolError::ContinuationNotStarted, Some(1002)),
            (ProtocolError::ContinuationStarted, Some(1002)),
            (ProtocolError::ContinuationFragment(actix_http::ws::OpCode::Ping), Some(1002)),
            (ProtocolError::Overflow, Some(1009)),
            (io(std::io::ErrorKind::InvalidData, "Received a frame with non-zero reserved bits"), Some(1002)),
            (io(std::io::ErrorKind::Other, "invalid utf-8 sequence of 1 bytes from index 0"), Some(1007)),
            (io(std::io::ErrorKind::Other, "incomplete utf-8 byte sequence from index 3"), Some(1007)),
            (io(std::io::ErrorKind::Other, "payload reached EOF before completing: None"), None),
        ];
        for (err, want) in cases {
            let text = err.to_string();
            let mut r = Reassembler::new(MAX);
            let action = r.handle(Err(err));
            match want {
                Some(code) => assert_eq!(code_of(&action), Some(code), "{text}"),
                None => assert_eq!(action, Action::Gone, "{text}"),
            }
            assert!(r.is_closing());
            // One failure is final: the stream may repeat the error (actix's
            // parser does not consume a bad header), the session acts once.
            assert_eq!(r.handle(Err(ProtocolError::BadOpCode)), Action::Ignore);
            assert_eq!(r.handle(Err(io(std::io::ErrorKind::Other, "gone"))), Action::Ignore);
        }
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let errors = [
            ProtocolError::ContinuationNotStarted,
            ProtocolError::ContinuationStarted,
            ProtocolError::InvalidLength(200),
            ProtocolError::BadOpCode,
        ];
        for err in errors {
            let reason = fail_reason(&err).unwrap();
            assert!(reason.description.unwrap().len() + 2 <= MAX_CONTROL_PAYLOAD);
        }
    }
}
