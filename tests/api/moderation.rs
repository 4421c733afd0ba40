//! Moderation, enforced on every instance: each action is taken on one
//! instance and checked on another, live, in history and on resume.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::helpers::{free_port, produce, unique_topic, Client, ServerProcess};

const ADMIN: &str = "moderation-test-token";

fn config(extra: &str) -> String {
    format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n[chat]\nrate_per_second = 1000\nrate_burst = 1000\n\
         address_rate_per_second = 1000\naddress_rate_burst = 1000\n{extra}"
    )
}

/// Two instances of one topic, both with the admin token.
async fn instances(extra: &str) -> (ServerProcess, ServerProcess) {
    let topic = unique_topic();
    let config = config(extra);
    let one = ServerProcess::start_with(&topic, free_port(), &config).await;
    let two = ServerProcess::start_with(&topic, free_port(), &config).await;
    (one, two)
}

/// An admin call: method, path, JSON body; status and JSON answer.
async fn admin(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = awc::Client::default();
    let request = client
        .request(method.parse().expect("a method"), format!("http://{addr}{path}"))
        .insert_header(("Authorization", format!("Bearer {ADMIN}")));
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .expect("admin request");
    assert_eq!(
        response.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "admin answers are never cached"
    );
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

/// Waits until `check` holds on an admin answer.
async fn admin_until(addr: SocketAddr, path: &str, what: &str, check: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    loop {
        if check(&admin(addr, "GET", path, None).await.1) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within the patience: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn joined(server: &ServerProcess, room: &str) -> Client {
    let mut client = server.connect(&format!("/ws/chat?room={room}")).await;
    client.history().await;
    client
}

/// The author id of `client`'s message `message_id`, as moderators see it.
async fn author_of(addr: SocketAddr, room: &str, message_id: &Value) -> String {
    let (_, page) = admin(addr, "GET", &format!("/api/admin/rooms/{room}/messages?limit=50"), None).await;
    let messages = page["messages"].as_array().expect("messages");
    let message = messages.iter().find(|m| &m["message_id"] == message_id).expect("the message is listed");
    message["author"].as_str().expect("an author").to_owned()
}

#[actix_web::test]
async fn a_message_removed_on_one_instance_is_gone_on_another_live_in_history_and_on_resume() {
    let (one, two) = instances("").await;
    let mut author = joined(&one, "mod").await;
    let mut watcher = joined(&two, "mod").await;
    let (ack, _) = author.say_and_confirm("something awful", "bad").await;
    let (kept, _) = author.say_and_confirm("something fine", "ok").await;
    let offset = ack["offset"].as_i64().unwrap();
    watcher.chat_messages(2).await;

    let body = json!({"moderator": "Mod Sakura", "reason": "rule 1"});
    let (status, _) = admin(one.addr, "DELETE", &format!("/api/admin/rooms/mod/messages/{offset}"), Some(body)).await;
    assert_eq!(status, 200);
    let removed = watcher.expect("message_deleted").await;
    assert_eq!((removed["room"].as_str(), removed["offset"].as_i64()), (Some("mod"), Some(offset)));
    assert_eq!(removed["by"], "moderator");

    let mut newcomer = joined_history(&two, "/ws/chat?room=mod").await;
    assert_eq!((newcomer[0]["deleted"].clone(), newcomer[0]["deleted_by"].clone()), (json!(true), json!("moderator")));
    assert_eq!(newcomer[0]["text"], "", "no text in history");
    assert_eq!(newcomer[1]["text"], "something fine");
    newcomer = joined_history(&two, &format!("/ws/chat?room=mod&since={}", offset - 1)).await;
    assert_eq!(
        (newcomer[0]["deleted"].clone(), newcomer[0]["text"].clone()),
        (json!(true), json!("")),
        "nor on resume"
    );
    let (_, page) = crate::helpers::get_json(two.addr, "/api/rooms/mod/messages").await;
    assert_eq!(page["messages"][0]["deleted"], true);
    assert_eq!(page["messages"][0]["text"], "");
    assert_eq!(page["messages"][1]["message_id"], kept["message_id"]);

    // The audit topic is read on its own: the entry may come a little later.
    crate::helpers::eventually("the removal is in the other instance's audit trail", || async {
        let (_, audit) = admin(two.addr, "GET", "/api/admin/audit", None).await;
        let entry = &audit["entries"][0];
        (entry["action"].as_str(), entry["by"].as_str(), entry["offset"].as_i64())
            == (Some("delete"), Some("Mod Sakura"), Some(offset))
    })
    .await;
}

async fn joined_history(server: &ServerProcess, path: &str) -> Vec<Value> {
    server.connect(path).await.history().await.0
}

#[actix_web::test]
async fn a_mute_on_one_instance_silences_an_identity_on_another_until_lifted() {
    let (one, two) = instances("").await;
    let mut noisy = joined(&two, "mute").await;
    let (ack, _) = noisy.say_and_confirm("first", "a").await;
    let author = author_of(one.addr, "mute", &ack["message_id"]).await;
    let body = json!({"target": {"identity": author}, "duration_seconds": 300, "reason": "spam", "moderator": "Mod"});
    assert_eq!(admin(one.addr, "POST", "/api/admin/mutes", Some(body)).await.0, 200);
    admin_until(two.addr, "/api/admin/moderation", "the mute is in force on the other instance", |state| {
        state["mutes"].as_array().is_some_and(|mutes| mutes.iter().any(|m| m["target"]["identity"] == author.as_str()))
    })
    .await;
    noisy.say("second", "b").await;
    let refused = noisy.expect("error").await;
    assert_eq!((refused["code"].as_str(), refused["client_msg_id"].as_str()), (Some("muted"), Some("b")));
    assert!(refused["until"].as_str().is_some_and(|until| chrono::DateTime::parse_from_rfc3339(until).is_ok()));

    let body = json!({"target": {"identity": author}, "moderator": "Mod"});
    assert_eq!(admin(one.addr, "DELETE", "/api/admin/mutes", Some(body)).await.0, 200);
    admin_until(two.addr, "/api/admin/moderation", "the mute is lifted", |state| state["mutes"] == json!([])).await;
    noisy.say_and_confirm("third", "c").await;
}

#[actix_web::test]
async fn a_banned_identity_is_disconnected_everywhere_and_its_token_revoked() {
    let (one, two) = instances("").await;
    let mut troll = joined(&two, "ban").await;
    let (ack, _) = troll.say_and_confirm("trolling", "t").await;
    let (token, name) = (troll.token.clone(), troll.username.clone());
    let author = author_of(one.addr, "ban", &ack["message_id"]).await;
    let body = json!({"target": {"identity": author}, "reason": "trolling", "moderator": "Mod"});
    assert_eq!(admin(one.addr, "POST", "/api/admin/bans", Some(body)).await.0, 200);
    assert_eq!(troll.closed_with().await, 1008, "its session on the other instance is closed");
    let mut back = two.connect(&format!("/ws/chat?room=ban&token={token}")).await;
    assert_ne!(back.username, name, "the token no longer brings the name back");
    assert_eq!(back.expect("error").await["code"], "invalid_token");
}

#[actix_web::test]
async fn a_banned_address_is_refused_at_the_door_and_over_http() {
    let (one, two) = instances("").await;
    let source = [127, 0, 7, 7];
    let mut client = two.connect_from(source, "/ws/chat?room=door").await.expect("welcomed");
    client.history().await;
    let body = json!({"target": {"address": "127.0.7.7"}, "reason": "abuse", "moderator": "Mod"});
    assert_eq!(admin(one.addr, "POST", "/api/admin/bans", Some(body)).await.0, 200);
    assert_eq!(client.closed_with().await, 1008);
    let refused = two.connect_from(source, "/ws/chat?room=door").await.expect_err("banned at the door");
    assert_eq!((refused.status, refused.body["code"].as_str()), (403, Some("banned")));
    let post = json!({"username": "Sakura", "text": "let me in", "room": "door"});
    let (status, body) = crate::helpers::post_from(two.addr, source, "/chat/send", &post).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("banned")), "and over HTTP");
    assert!(two.connect_from([127, 0, 7, 8], "/ws/chat?room=door").await.is_ok(), "another address still gets in");
}

#[actix_web::test]
async fn slow_mode_set_on_one_instance_paces_a_room_on_another() {
    let (one, two) = instances("").await;
    let mut chatty = joined(&two, "slow-room").await;
    let body = json!({"seconds": 30, "moderator": "Mod"});
    assert_eq!(admin(one.addr, "PUT", "/api/admin/rooms/slow-room/slow-mode", Some(body)).await.0, 200);
    admin_until(two.addr, "/api/admin/moderation", "slow mode on the other instance", |state| {
        state["slow_mode"][0]["room"] == "slow-room"
    })
    .await;
    let (first, _) = chatty.say_and_confirm("one", "1").await;
    chatty.say("two", "2").await;
    let refused = chatty.expect("error").await;
    assert_eq!(refused["code"], "slow_mode");
    assert!(refused["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0 && ms <= 30_000));
    // A retry of the stored message is its ack, slow mode or not.
    let again = chatty.request(json!({"type": "chat_message", "text": "one", "client_msg_id": "1"})).await;
    assert_eq!((again["type"].as_str(), &again["offset"]), (Some("ack"), &first["offset"]), "{again}");
}

#[actix_web::test]
async fn blocked_words_are_refused_with_a_clear_code() {
    let (one, _two) = instances("[moderation]\nblocked_words = [\"forbidden\"]\n").await;
    let mut client = joined(&one, "words").await;
    client.say("this is FORBIDDEN here", "w").await;
    let refused = client.expect("error").await;
    assert_eq!((refused["code"].as_str(), refused["client_msg_id"].as_str()), (Some("blocked_text"), Some("w")));
    client.say_and_confirm("this is fine", "f").await;
}

#[actix_web::test]
async fn a_users_report_reaches_the_moderators_of_every_instance_until_dismissed() {
    let (one, two) = instances("").await;
    let mut author = joined(&one, "reports").await;
    let mut reader = joined(&two, "reports").await;
    let (ack, _) = author.say_and_confirm("rude words", "r").await;
    reader.expect("chat_message").await;
    reader.send_json(json!({"type": "report", "offset": 99_999, "reason": "no such message"})).await;
    assert_eq!(reader.expect("error").await["code"], "no_such_message");
    reader.send_json(json!({"type": "report", "offset": ack["offset"], "reason": "rude"})).await;
    assert_eq!(reader.expect("report_received").await["offset"], ack["offset"]);
    admin_until(one.addr, "/api/admin/reports", "the report shows on the other instance", |reports| {
        reports["reports"][0]["message"]["message_id"] == ack["message_id"]
    })
    .await;
    let (_, reports) = admin(one.addr, "GET", "/api/admin/reports", None).await;
    let report = &reports["reports"][0];
    assert_eq!((report["reason"].as_str(), report["count"].as_u64()), (Some("rude"), Some(1)));
    let body = json!({"room": "reports", "offset": ack["offset"], "moderator": "Mod"});
    assert_eq!(admin(two.addr, "DELETE", "/api/admin/reports", Some(body)).await.0, 200);
    admin_until(one.addr, "/api/admin/reports", "the dismissal reaches the other instance", |r| {
        r["reports"] == json!([])
    })
    .await;
}

#[actix_web::test]
async fn a_report_record_of_another_service_naming_no_message_is_listed_without_one() {
    let topic = unique_topic();
    let one = ServerProcess::start_with(&topic, free_port(), &config("")).await;
    let client = joined(&one, "reported").await;
    let report = json!({"action": "report", "epoch": client.epoch, "room": "reported", "offset": i64::MIN,
        "reporter": "svc", "reason": "spam", "at_ms": chrono::Utc::now().timestamp_millis()});
    let topic = format!("{topic}-moderation");
    let key = format!("report/{}/reported/{}/svc", client.epoch, i64::MIN);
    tokio::task::spawn_blocking(move || produce(&topic, &key, &[report])).await.unwrap();
    admin_until(one.addr, "/api/admin/reports", "the report is listed, naming no message", |reports| {
        reports["reports"][0]["reason"] == "spam" && reports["reports"][0]["message"].is_null()
    })
    .await;
}

#[actix_web::test]
async fn a_report_of_a_log_since_recreated_shows_no_message_of_this_one_and_can_be_dismissed() {
    let topic = unique_topic();
    let one = ServerProcess::start_with(&topic, free_port(), &config("")).await;
    let mut client = joined(&one, "old-log").await;
    client.say_and_confirm("a message of this log at offset 0", "m").await;
    let old = "AAAAAAAAAAAAAAAAAAAAAA";
    let report = json!({"action": "report", "epoch": old, "room": "old-log", "offset": 0,
        "reporter": "svc", "reason": "of the old log", "at_ms": chrono::Utc::now().timestamp_millis()});
    let (moderation, key) = (format!("{topic}-moderation"), format!("report/{old}/old-log/0/svc"));
    tokio::task::spawn_blocking(move || produce(&moderation, &key, &[report])).await.unwrap();
    admin_until(one.addr, "/api/admin/reports", "listed with its epoch, without this log's message", |reports| {
        let report = &reports["reports"][0];
        report["epoch"] == old && report["message"].is_null()
    })
    .await;

    let negative = json!({"moderator": "Mod", "room": "old-log", "offset": -1});
    let (status, refused) = admin(one.addr, "DELETE", "/api/admin/reports", Some(negative)).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("invalid_field")));
    let dismiss = json!({"moderator": "Mod", "room": "old-log", "offset": 0, "epoch": old});
    assert_eq!(admin(one.addr, "DELETE", "/api/admin/reports", Some(dismiss)).await.0, 200);
    admin_until(one.addr, "/api/admin/reports", "dismissed", |reports| reports["reports"] == json!([])).await;
}

#[actix_web::test]
async fn a_removed_message_leaves_the_quotes_of_its_replies_where_only_the_replies_are_held() {
    let (one, two) = instances("").await;
    let mut author = joined(&one, "quoted").await;
    let (spoiler, _) = author.say_and_confirm("spoiler: X dies", "s").await;
    let reply = json!({"type": "chat_message", "text": "no way", "reply_to": spoiler["offset"], "client_msg_id": "r"});
    assert_eq!(author.request(reply).await["type"], "ack");
    let offset = spoiler["offset"].as_i64().unwrap_or_default();
    let body = json!({"moderator": "Mod", "reason": "spoiler"});
    assert_eq!(
        admin(one.addr, "DELETE", &format!("/api/admin/rooms/quoted/messages/{offset}"), Some(body)).await.0,
        200
    );
    author.expect("message_deleted").await;

    // The other instance reads the reply alone, and the quoted message on its own.
    let addr = two.addr;
    crate::helpers::eventually("the quote shows the message removed", || async move {
        let (_, page) = crate::helpers::get_json(addr, "/api/rooms/quoted/messages?limit=1").await;
        let quote = &page["messages"][0]["reply_to"];
        (quote["deleted"].as_bool(), quote["text"].as_str()) == (Some(true), Some(""))
    })
    .await;
    let mut reader = two.connect("/ws/chat?room=quoted&history=1").await;
    let (history, _) = reader.history().await;
    assert_eq!(
        (history[0]["reply_to"]["deleted"].as_bool(), history[0]["reply_to"]["text"].as_str()),
        (Some(true), Some(""))
    );
    let react = json!({"type": "react", "offset": offset, "emoji": "🔥", "client_msg_id": "x"});
    assert_eq!(reader.request(react).await["code"], "no_such_message");
}

/// A field an action does not take is refused, never ignored, and every
/// action's reason is in the audit trail, lifting ones included.
#[actix_web::test]
async fn moderators_actions_refuse_fields_they_do_not_take_and_keep_every_reason() {
    let server = ServerProcess::start_with(&unique_topic(), free_port(), &config("")).await;
    let target = json!({"identity": "someone"});
    let refused = [
        (
            "POST",
            "/api/admin/bans",
            json!({"target": target, "duration_seconds": 60, "moderator": "Mod"}),
            "invalid_json",
        ),
        ("DELETE", "/api/admin/mutes", json!({"target": target, "reasn": "typo", "moderator": "Mod"}), "invalid_json"),
        ("POST", "/api/admin/mutes", json!({"target": target, "moderator": "Mod"}), "invalid_field"),
        ("DELETE", "/api/admin/bans", json!({"target": target}), "invalid_json"),
    ];
    for (method, path, body, code) in refused {
        let (status, answer) = admin(server.addr, method, path, Some(body.clone())).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some(code)), "{method} {path} {body}: {answer}");
    }
    let lift = json!({"target": target, "moderator": "Mod", "reason": "appeal accepted"});
    assert_eq!(admin(server.addr, "DELETE", "/api/admin/bans", Some(lift)).await.0, 200);
    let slow = json!({"seconds": 5, "moderator": "Mod", "reason": "raid"});
    assert_eq!(admin(server.addr, "PUT", "/api/admin/rooms/lobby/slow-mode", Some(slow)).await.0, 200);
    crate::helpers::eventually("both actions are in the audit trail with their reasons", || async {
        let (_, audit) = admin(server.addr, "GET", "/api/admin/audit", None).await;
        let said = |i: usize| (audit["entries"][i]["action"].clone(), audit["entries"][i]["reason"].clone());
        (said(0), said(1)) == ((json!("slow_mode"), json!("raid")), (json!("unban"), json!("appeal accepted")))
    })
    .await;
}

/// In slow mode, a message that was certainly not stored (a reply to no
/// message) does not count: the client's next message goes through.
#[actix_web::test]
async fn slow_mode_counts_only_messages_that_were_stored() {
    let server = ServerProcess::start_with(&unique_topic(), free_port(), &config("")).await;
    let mut chatty = joined(&server, "paced").await;
    let body = json!({"seconds": 30, "moderator": "Mod"});
    assert_eq!(admin(server.addr, "PUT", "/api/admin/rooms/paced/slow-mode", Some(body)).await.0, 200);
    admin_until(server.addr, "/api/admin/moderation", "slow mode in force", |state| {
        state["slow_mode"][0]["room"] == "paced"
    })
    .await;
    let stray = json!({"type": "chat_message", "text": "to nothing", "reply_to": 999_999, "client_msg_id": "r"});
    assert_eq!(chatty.request(stray).await["code"], "no_such_message");
    chatty.say_and_confirm("the first that counts", "1").await;
    chatty.say("too soon", "2").await;
    assert_eq!(chatty.expect("error").await["code"], "slow_mode", "and slow mode goes on from there");
}
