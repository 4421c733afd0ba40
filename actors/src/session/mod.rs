//! `WsSession`: one WebSocket connection. It applies RFC 6455 on top of
//! actix ([`frames`]), joins the [`ChatHub`] when it starts and leaves when it
//! stops, turns client frames into [`SendChat`] requests, and writes what its
//! [`Outbox`] hands it as fast as its socket takes it.
//!
//! The same actor serves `/ws/echo` (a test aid for the Autobahn suite,
//! off by default): the frame handling under test is the chat's own.
//!
//! actix-web-actors is deprecated upstream but is this design's session
//! actor; every use of it stays in this module.

mod frames;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use self::frames::{Action, Reassembler, CLOSE_HANDSHAKE_TIMEOUT};
use crate::hub::ChatHub;
use crate::messages::{
    Frame, HistoryStart, Join, Leave, Posted, ReportMessage, SendAct, SendChat, Sender, SessionId, Typing,
};
use crate::outbox::{CloseReason, Outbox, OutboxLimits, Outgoing};
use crate::protocol::{parse_client_frame, ClientCommand, ErrorCode, InputLimits, Refusal, ServerFrame};
use crate::settings::ChatSettings;

const HEARTBEAT_FRAME: &str = r#"{"type":"heartbeat"}"#;

/// What the connection is for.
enum Role {
    /// A chat session in `room`, replaying `history` first, as the identity
    /// of `token` if it is one.
    Chat { room: String, history: Option<HistoryStart>, token: Option<String>, address: IpAddr, hub: Addr<ChatHub> },
    /// Every message comes back as it was sent.
    Echo,
}

/// Who connects to a chat session, and where to.
pub struct Arrival {
    /// The room (already validated).
    pub room: String,
    /// The history to replay first.
    pub history: HistoryStart,
    /// The identity token the client came back with.
    pub token: Option<String>,
    /// The client's address (through trusted proxies).
    pub address: IpAddr,
}

/// Upgrades the request to a WebSocket served by a new [`WsSession`].
pub fn serve(
    req: &HttpRequest,
    stream: web::Payload,
    arrival: Arrival,
    hub: Addr<ChatHub>,
    settings: &ChatSettings,
    permit: Box<dyn Send>,
) -> Result<HttpResponse, actix_web::Error> {
    let Arrival { room, history, token, address } = arrival;
    let role = Role::Chat { room, history: Some(history), token, address, hub };
    start(WsSession::new(role, settings, permit), req, stream, settings)
}

/// Upgrades the request to an echo WebSocket with the chat's frame handling
/// and limits, for conformance tests.
pub fn serve_echo(
    req: &HttpRequest,
    stream: web::Payload,
    settings: &ChatSettings,
    permit: Box<dyn Send>,
) -> Result<HttpResponse, actix_web::Error> {
    start(WsSession::new(Role::Echo, settings, permit), req, stream, settings)
}

fn start(
    session: WsSession,
    req: &HttpRequest,
    stream: web::Payload,
    settings: &ChatSettings,
) -> Result<HttpResponse, actix_web::Error> {
    // One limit for a frame and for a whole message: a message in fragments
    // may be as large as one in a single frame, no larger.
    ws::WsResponseBuilder::new(session, req, stream).frame_size(settings.max_frame_bytes).start()
}

/// One connected client.
pub struct WsSession {
    id: SessionId,
    role: Role,
    frames: Reassembler,
    /// Last time the peer showed it is alive (any frame, ping or pong).
    hb: Instant,
    /// When this session's last typing notice went out.
    last_typing: Option<Instant>,
    /// What the client sent before its welcome, in order, handled once it
    /// has one (the hub's first frame to a session is its welcome); `None`
    /// from then on. The rate limit bounds it: a join takes milliseconds,
    /// at most the Kafka request timeout.
    early: Option<Vec<String>>,
    /// Frames per second this connection may send.
    limiter: DefaultDirectRateLimiter,
    /// Frames refused for the rate since the last accepted one.
    refused_in_a_row: u32,
    limits: InputLimits,
    outbox_limits: OutboxLimits,
    flood_close_after: u32,
    typing_interval: Duration,
    heartbeat_interval: Duration,
    client_timeout: Duration,
    /// The connection's slot under the server's limits, freed on drop.
    _permit: Box<dyn Send>,
}

/// One clock for every session's rate limiter: making one calibrates it
/// (CPUID, a VM exit under virtualisation), a cost a reconnect storm would
/// pay per connection.
static CLOCK: std::sync::LazyLock<governor::clock::QuantaClock> = std::sync::LazyLock::new(Default::default);

impl WsSession {
    fn new(role: Role, settings: &ChatSettings, permit: Box<dyn Send>) -> Self {
        let quota = Quota::per_second(NonZeroU32::new(settings.rate_per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(settings.rate_burst).unwrap_or(NonZeroU32::MIN));
        Self {
            id: uuid::Uuid::new_v4(),
            role,
            frames: Reassembler::new(settings.max_frame_bytes),
            hb: Instant::now(),
            last_typing: None,
            early: Some(Vec::new()),
            limiter: RateLimiter::direct_with_clock(quota, CLOCK.clone()),
            refused_in_a_row: 0,
            limits: InputLimits {
                max_text_chars: settings.max_text_chars,
                max_client_msg_id_chars: settings.max_client_msg_id_chars,
            },
            outbox_limits: OutboxLimits {
                max_bytes: usize::try_from(settings.outbound_max_bytes.0).unwrap_or(usize::MAX),
                max_delay: settings.outbound_max_delay,
            },
            flood_close_after: settings.flood_close_after,
            typing_interval: settings.typing_interval,
            heartbeat_interval: settings.heartbeat_interval,
            client_timeout: settings.client_timeout,
            _permit: permit,
        }
    }

    /// Pings the peer and sends an application heartbeat on every interval;
    /// drops the peer when it has been silent longer than the timeout.
    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.run_interval(self.heartbeat_interval, |act, ctx| {
            if act.hb.elapsed() > act.client_timeout {
                log::debug!("session {} timed out", act.id);
                ctx.stop();
                return;
            }
            if !act.frames.is_closing() {
                ctx.ping(b"");
                ctx.text(Frame::from_static(HEARTBEAT_FRAME));
            }
        });
    }

    /// Starts the closing handshake: the peer has a moment to answer.
    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: u16, reason: &str) {
        if self.frames.is_closing() {
            return;
        }
        ctx.close(Some(ws::CloseReason { code: ws::CloseCode::from(code), description: Some(reason.to_owned()) }));
        self.frames.close_sent();
        ctx.run_later(CLOSE_HANDSHAKE_TIMEOUT, |_, ctx| ctx.stop());
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
            log::warn!("rate_limited: session {} keeps flooding; closing with 1008", self.id);
            crate::metrics::error(ErrorCode::RateLimited);
            self.close(ctx, 1008, "message flood");
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
        let Role::Chat { .. } = self.role else { return ctx.text(text.to_owned()) };
        if let Some(early) = &mut self.early {
            return early.push(text.to_owned());
        }
        self.command(text, ctx);
    }

    /// The session has its welcome: what the client sent before goes on.
    fn welcomed(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        for text in self.early.take().unwrap_or_default() {
            self.command(&text, ctx);
        }
    }

    /// Closed before its welcome: what the client sent was not.
    fn never_welcomed(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        for text in self.early.take().unwrap_or_default() {
            let refusal = Refusal::unavailable("the connection closed before it joined its room; this was not sent");
            refuse(&refusal.with_client_msg_id(client_msg_id_of(&text)), ctx);
        }
    }

    fn command(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        match parse_client_frame(text, self.limits) {
            Ok(ClientCommand::Chat { text, client_msg_id, reply_to }) => {
                let Role::Chat { room, .. } = &self.role else { return };
                let sender = Sender::Session(self.id);
                let request =
                    SendChat { sender, room: room.clone(), text, reply_to, client_msg_id: client_msg_id.clone() };
                self.post(request, client_msg_id, ctx);
            }
            Ok(ClientCommand::Act { offset, act, client_msg_id }) => {
                let request = SendAct { id: self.id, offset, act, client_msg_id: client_msg_id.clone() };
                self.post(request, client_msg_id, ctx);
            }
            Ok(ClientCommand::Typing) => self.typing(),
            Ok(ClientCommand::Report { offset, reason }) => self.report(offset, reason, ctx),
            Err(refusal) => refuse(&refusal, ctx),
        }
    }

    fn on_binary(&mut self, data: web::Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.within_rate(None, ctx) {
            return;
        }
        match self.role {
            Role::Echo => ctx.binary(data),
            Role::Chat { .. } => refuse(
                &Refusal::new(ErrorCode::BinaryNotSupported, "binary frames are not supported; send JSON text"),
                ctx,
            ),
        }
    }

    /// Hands a message or an act on one to the hub and answers with an ack
    /// or an error once Kafka has (or has not) stored it. Other frames keep
    /// flowing meanwhile.
    fn post<M>(&mut self, request: M, client_msg_id: Option<String>, ctx: &mut ws::WebsocketContext<Self>)
    where
        M: Message<Result = Result<Posted, Refusal>> + Send + 'static,
        ChatHub: Handler<M>,
    {
        let Role::Chat { hub, .. } = &self.role else { return };
        let reply = hub.send(request).into_actor(self).map(move |result, act, ctx| {
            if act.frames.is_closing() {
                return;
            }
            match result.unwrap_or_else(|_| Err(Refusal::unavailable("the chat hub is not running"))) {
                Ok(posted) => ctx.text(
                    ServerFrame::Ack {
                        client_msg_id: client_msg_id.as_deref(),
                        message_id: &posted.message_id,
                        offset: posted.seq,
                        epoch: posted.epoch.as_str(),
                    }
                    .encode(),
                ),
                Err(refusal) => refuse(&refusal.with_client_msg_id(client_msg_id), ctx),
            }
        });
        ctx.spawn(reply);
    }

    /// Files a report with the moderators; says when it is filed.
    fn report(&mut self, offset: i64, reason: String, ctx: &mut ws::WebsocketContext<Self>) {
        let Role::Chat { hub, .. } = &self.role else { return };
        let filed = hub.send(ReportMessage { id: self.id, offset, reason });
        ctx.spawn(filed.into_actor(self).map(move |result, _, ctx| {
            match result.unwrap_or_else(|_| Err(Refusal::unavailable("the chat hub is not running"))) {
                Ok(()) => ctx.text(ServerFrame::ReportReceived { offset }.encode()),
                Err(refusal) => refuse(&refusal, ctx),
            }
        }));
    }

    /// Typing notices are throttled here by design: extra ones within the
    /// interval carry no news.
    fn typing(&mut self) {
        let Role::Chat { hub, .. } = &self.role else { return };
        if self.last_typing.is_some_and(|at| at.elapsed() < self.typing_interval) {
            return;
        }
        self.last_typing = Some(Instant::now());
        hub.do_send(Typing { id: self.id });
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

fn refuse(refusal: &Refusal, ctx: &mut ws::WebsocketContext<WsSession>) {
    log::warn!("refused: {}: {}", refusal.code.as_str(), refusal.message);
    crate::metrics::error(refusal.code);
    ctx.text(ServerFrame::error(refusal).encode());
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.heartbeat(ctx);
        let Role::Chat { room, history, token, address, hub } = &mut self.role else { return };
        let (outbox, reader) = Outbox::new(self.outbox_limits);
        ctx.add_stream(reader);
        let join = Join {
            id: self.id,
            room: room.clone(),
            outbox,
            history: history.take().unwrap_or(HistoryStart::Last(0)),
            token: token.take(),
            address: *address,
        };
        ctx.spawn(hub.send(join).into_actor(self).map(|joined, act, ctx| {
            if let Err(e) = joined {
                log::warn!("chat hub unreachable, closing session: {e}");
                act.close(ctx, 1011, "the chat hub is not running");
            }
        }));
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if let Role::Chat { hub, .. } = &self.role {
            hub.do_send(Leave { id: self.id });
        }
        Running::Stop
    }
}

impl StreamHandler<Outgoing> for WsSession {
    fn handle(&mut self, item: Outgoing, ctx: &mut Self::Context) {
        match item {
            Outgoing::Frame(frame) if !self.frames.is_closing() => {
                ctx.text(frame);
                self.welcomed(ctx);
            }
            Outgoing::Frame(_) => {}
            Outgoing::Close(CloseReason { code, reason }) => {
                self.never_welcomed(ctx);
                self.close(ctx, code, reason);
            }
        }
    }

    /// The outbox ends after its close, whose handshake stops the session.
    fn finished(&mut self, _: &mut Self::Context) {}
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.hb = Instant::now();
        match self.frames.handle(msg) {
            Action::Text(text) => self.on_text(&text, ctx),
            Action::Binary(data) => self.on_binary(data, ctx),
            Action::Pong(payload) => ctx.pong(&payload),
            // The server closes TCP first, right after the handshake (§7.1.1).
            Action::EchoClose(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            Action::Closed | Action::Gone => ctx.stop(),
            Action::Fail(reason) => {
                let code = u16::from(reason.code);
                let why = reason.description.clone().unwrap_or_default();
                log::warn!("protocol_error: session {} broke the protocol ({why}); closing with {code}", self.id);
                ctx.close(Some(reason));
                ctx.stop();
            }
            Action::Ignore => {}
        }
    }
}
