//! `WsSession`: one WebSocket connection. It registers with the [`ChatRoom`]
//! when it starts and leaves when it stops, turns client frames into
//! [`SendChat`] requests and writes whatever frames the room hands it.
//!
//! actix-web-actors is deprecated upstream but is this design's session
//! actor; every use of it stays in this module.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use futures_util::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use crate::messages::{
    ChatFeed, Deliver, Frame, GoAway, HistoryStart, Join, Joined, Leave, Replay, SendChat, SessionHandle, SessionId,
    Typing,
};
use crate::protocol::{parse_client_frame, ClientCommand, ErrorCode, InputLimits, Refusal, ServerFrame};
use crate::room::{now_rfc3339, ChatRoom};
use crate::settings::ChatSettings;

const HEARTBEAT_FRAME: &str = r#"{"type":"heartbeat"}"#;

/// Upgrades the request to a WebSocket served by a new [`WsSession`] in
/// `room` (already validated), which first replays `history`.
pub fn serve(
    req: &HttpRequest,
    stream: web::Payload,
    room: String,
    history: HistoryStart,
    hub: Addr<ChatRoom>,
    settings: &ChatSettings,
    permit: Box<dyn Send>,
) -> Result<HttpResponse, actix_web::Error> {
    let quota = Quota::per_second(NonZeroU32::new(settings.rate_per_second).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(settings.rate_burst).unwrap_or(NonZeroU32::MIN));
    let session = WsSession {
        limiter: RateLimiter::direct(quota),
        refused_in_a_row: 0,
        flood_close_after: settings.flood_close_after,
        outbound_queue: settings.outbound_queue,
        _permit: permit,
        id: uuid::Uuid::new_v4(),
        room,
        username: String::new(),
        hb: Instant::now(),
        history,
        feed: None,
        last_offset: match history {
            HistoryStart::After(offset) => offset,
            HistoryStart::Last(_) => -1,
        },
        last_typing: None,
        typing_interval: settings.typing_interval,
        hub,
        limits: InputLimits {
            max_text_chars: settings.max_text_chars,
            max_client_msg_id_chars: settings.max_client_msg_id_chars,
        },
        heartbeat_interval: settings.heartbeat_interval,
        client_timeout: settings.client_timeout,
    };
    ws::WsResponseBuilder::new(session, req, stream).frame_size(settings.max_frame_bytes).start()
}

/// One connected client.
pub struct WsSession {
    id: SessionId,
    room: String,
    /// Assigned by the room when the session joins.
    username: String,
    /// Last time the peer showed it is alive (any frame, ping or pong).
    hb: Instant,
    /// The history asked for at connect.
    history: HistoryStart,
    /// The room's live chat messages, buffered in the room's feed until the
    /// history is written; then read, minus any the replay already contained.
    feed: Option<ChatFeed>,
    /// Offset of the last chat message written to this client. A room's
    /// offsets only grow, so anything at or below it is a duplicate: a
    /// history read can run ahead of this instance's live consumer.
    last_offset: i64,
    /// When this session's last typing notice went out.
    last_typing: Option<Instant>,
    typing_interval: Duration,
    hub: Addr<ChatRoom>,
    limits: InputLimits,
    heartbeat_interval: Duration,
    client_timeout: Duration,
    /// Frames per second this connection may send.
    limiter: DefaultDirectRateLimiter,
    /// Frames refused for the rate since the last accepted one.
    refused_in_a_row: u32,
    flood_close_after: u32,
    outbound_queue: usize,
    /// The connection's slot under the server's limits, freed on drop.
    _permit: Box<dyn Send>,
}

impl WsSession {
    /// Pings the peer and sends an application heartbeat on every interval;
    /// drops the peer when it has been silent longer than the timeout.
    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.run_interval(self.heartbeat_interval, |act, ctx| {
            if act.hb.elapsed() > act.client_timeout {
                log::debug!("{} timed out ({})", act.username, act.id);
                ctx.stop();
                return;
            }
            ctx.ping(b"");
            ctx.text(Frame::from_static(HEARTBEAT_FRAME));
        });
    }

    fn welcome(&mut self, joined: Joined, ctx: &mut ws::WebsocketContext<Self>) {
        self.username = joined.username;
        self.feed = Some(joined.feed);
        let session_id = self.id.to_string();
        let welcome = ServerFrame::Welcome { username: &self.username, room: &self.room, session_id: &session_id };
        ctx.text(welcome.encode());
        let timestamp = now_rfc3339();
        let update = ServerFrame::ConnectionUpdate {
            active_connections: joined.active_connections,
            room: &self.room,
            timestamp: &timestamp,
        };
        ctx.text(update.encode());
    }

    /// Whether the frame is within the rate; refuses it (and closes the
    /// connection of a sustained flood) when it is not.
    /// `text` is the frame, read for its `client_msg_id` only when refusing.
    fn within_rate(&mut self, text: Option<&str>, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        if self.limiter.check().is_ok() {
            self.refused_in_a_row = 0;
            return true;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row >= self.flood_close_after {
            log::warn!("rate_limited: {} keeps flooding; closing with 1008", self.username);
            crate::metrics::error(ErrorCode::RateLimited);
            close(ctx, ws::CloseCode::Policy, "message flood");
            return false;
        }
        let refusal = Refusal::new(ErrorCode::RateLimited, "too many messages; slow down")
            .with_client_msg_id(text.and_then(client_msg_id_of));
        refuse(&refusal, ctx);
        false
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.within_rate(Some(text), ctx) {
            return;
        }
        match parse_client_frame(text, self.limits) {
            Ok(ClientCommand::Chat { text, client_msg_id }) => self.post(text, client_msg_id, ctx),
            Ok(ClientCommand::Typing) => self.typing(),
            Err(refusal) => refuse(&refusal, ctx),
        }
    }

    /// Hands the message to the room and answers with an ack or an error
    /// once Kafka has (or has not) stored it. Other frames keep flowing meanwhile.
    fn post(&mut self, text: String, client_msg_id: Option<String>, ctx: &mut ws::WebsocketContext<Self>) {
        let request = SendChat { username: self.username.clone(), room: self.room.clone(), text };
        let reply = self.hub.send(request).into_actor(self).map(move |result, _, ctx| {
            let outcome = result
                .unwrap_or_else(|_| Err(Refusal::new(ErrorCode::KafkaUnavailable, "the chat room is not running")));
            match outcome {
                Ok(posted) => ctx.text(
                    ServerFrame::Ack {
                        client_msg_id: client_msg_id.as_deref(),
                        message_id: &posted.message_id,
                        offset: posted.offset,
                    }
                    .encode(),
                ),
                Err(refusal) => refuse(&refusal.with_client_msg_id(client_msg_id), ctx),
            }
        });
        ctx.spawn(reply);
    }

    /// Typing notices are throttled here by design: extra ones within the
    /// interval carry no news.
    fn typing(&mut self) {
        if self.last_typing.is_some_and(|at| at.elapsed() < self.typing_interval) {
            return;
        }
        self.last_typing = Some(Instant::now());
        self.hub.do_send(Typing { id: self.id });
    }

    /// Writes a chat message unless the client already has it.
    fn write_chat(&mut self, offset: i64, frame: Frame, ctx: &mut ws::WebsocketContext<Self>) {
        if offset > self.last_offset {
            self.last_offset = offset;
            ctx.text(frame);
        }
    }
}

/// The `client_msg_id` of a frame, if it is JSON and has one: so that even a
/// refusal for the rate names the message it is about.
fn client_msg_id_of(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithId {
        client_msg_id: Option<String>,
    }
    serde_json::from_str::<WithId>(text).ok().and_then(|frame| frame.client_msg_id)
}

fn close(ctx: &mut ws::WebsocketContext<WsSession>, code: ws::CloseCode, description: &str) {
    ctx.close(Some(ws::CloseReason { code, description: Some(description.to_owned()) }));
    ctx.stop();
}

fn refuse(refusal: &Refusal, ctx: &mut ws::WebsocketContext<WsSession>) {
    log::warn!("refused: {}: {}", refusal.code.as_str(), refusal.message);
    crate::metrics::error(refusal.code);
    ctx.text(ServerFrame::error(refusal).encode());
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The room never waits for a session: past this many queued frames
        // its sends fail and the session is told to go.
        ctx.set_mailbox_capacity(self.outbound_queue);
        self.heartbeat(ctx);
        let me = ctx.address();
        let session =
            SessionHandle { deliver: me.clone().recipient(), replay: me.clone().recipient(), go_away: me.recipient() };
        let join = Join { id: self.id, room: self.room.clone(), session, history: self.history };
        // `wait` holds back every other frame until the welcome is written,
        // so the welcome is always the first frame a client sees.
        ctx.wait(self.hub.send(join).into_actor(self).map(|joined, act, ctx| match joined {
            Ok(joined) => act.welcome(joined, ctx),
            Err(e) => {
                log::warn!("chat room unreachable, closing session: {e}");
                ctx.close(Some(ws::CloseCode::Error.into()));
                ctx.stop();
            }
        }));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.hub.do_send(Leave { id: self.id });
        Running::Stop
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        ctx.text(msg.frame);
    }
}

impl Handler<Replay> for WsSession {
    type Result = ();

    /// Writes the history, `history_end`, then the live messages, which the
    /// feed has kept since the join: no gap, and `write_chat` drops those
    /// the history already contained, so no duplicate.
    fn handle(&mut self, msg: Replay, ctx: &mut Self::Context) {
        for (offset, frame) in msg.frames {
            self.write_chat(offset, frame, ctx);
        }
        ctx.text(ServerFrame::HistoryEnd { room: &self.room, recovered: msg.recovered }.encode());
        if let Some(ChatFeed { messages, read }) = self.feed.take() {
            // Counted as they are taken, for the room's check on readers far behind.
            let counted = BroadcastStream::new(messages).inspect(move |item| {
                if item.is_ok() {
                    read.fetch_add(1, Ordering::Relaxed);
                }
            });
            ctx.add_stream(counted);
        }
    }
}

impl StreamHandler<Result<(i64, Frame), BroadcastStreamRecvError>> for WsSession {
    fn handle(&mut self, item: Result<(i64, Frame), BroadcastStreamRecvError>, ctx: &mut Self::Context) {
        match item {
            Ok((offset, frame)) => self.write_chat(offset, frame, ctx),
            // The room never waits for a reader: one that fell a whole feed
            // behind has missed messages and must resume from its last offset.
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                log::warn!("slow_consumer: {} fell {missed} messages behind; disconnected", self.username);
                crate::metrics::error(ErrorCode::SlowConsumer);
                close(ctx, ws::CloseCode::Policy, GoAway::TOO_SLOW.reason);
            }
        }
    }
}

impl Handler<GoAway> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: GoAway, ctx: &mut Self::Context) {
        close(ctx, ws::CloseCode::from(msg.code), msg.reason);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.hb = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Binary(_)) => {
                if self.within_rate(None, ctx) {
                    let refusal =
                        Refusal::new(ErrorCode::BinaryNotSupported, "binary frames are not supported; send JSON text");
                    refuse(&refusal, ctx);
                }
            }
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Continuation(_)) => {
                close(ctx, ws::CloseCode::Unsupported, "fragmented messages are not supported")
            }
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(ws::ProtocolError::Overflow) => {
                log::warn!("frame_too_large: {} sent a frame over the limit; closing with 1009", self.username);
                close(ctx, ws::CloseCode::Size, "frame too large");
            }
            // actix reports a text frame that is not UTF-8 as an I/O error
            // whose text is the UTF-8 error; a dropped connection is another I/O error.
            Err(ws::ProtocolError::Io(e)) if e.to_string().contains("utf-8") => {
                log::warn!("invalid_utf8: {} sent an invalid text frame; closing with 1007", self.username);
                close(ctx, ws::CloseCode::Invalid, "text frames must be UTF-8");
            }
            Err(e) => {
                log::debug!("WebSocket protocol error from {}: {e}", self.username);
                ctx.stop();
            }
        }
    }
}
