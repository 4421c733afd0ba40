//! A stable anonymous identity: a name that survives reconnects, room
//! switches and instances, and that no one else can post under.

use serde_json::{json, Value};

use crate::helpers::{free_port, spawn_app, unique_topic, Client, ServerProcess, IDENTITY_SECRET, NO_RATE_LIMIT};

fn with_token(path: &str, token: &str) -> String {
    format!("{path}&token={}", urlencoding(token))
}

/// Tokens are base64url and dots: only `=` could need escaping, and they have none.
fn urlencoding(token: &str) -> String {
    token.replace('=', "%3D")
}

#[actix_web::test]
async fn a_token_keeps_its_name_across_reconnects_rooms_and_instances() {
    let topic = unique_topic();
    let one = ServerProcess::start(&topic, free_port()).await;
    let two = ServerProcess::start(&topic, free_port()).await;
    let first = one.connect("/ws/chat?room=ids").await;
    let (name, token) = (first.username.clone(), first.token.clone());
    drop(first);

    let mut again = one.connect(&with_token("/ws/chat?room=elsewhere", &token)).await;
    assert_eq!(again.username, name, "another room, the same name");
    assert_eq!(again.history().await.1["recovered"], true, "and no error frame before the history");
    let on_two = two.connect(&with_token("/ws/chat?room=ids", &token)).await;
    assert_eq!(on_two.username, name, "another instance with the same secret, the same name");
    assert_eq!(on_two.token, token, "the same identity");
}

#[actix_web::test]
async fn a_token_that_is_not_ours_gets_a_new_name_and_says_so_but_never_a_refusal() {
    let app = spawn_app().await;
    let genuine = app.connect_to("/ws/chat?room=ids").await;
    let (payload, _) = genuine.token.rsplit_once('.').unwrap();
    let forged = format!("{payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for (i, token) in ["garbage".to_string(), forged].into_iter().enumerate() {
        let mut client = app.connect_to(&with_token("/ws/chat?room=ids", &token)).await;
        assert_ne!(client.username, genuine.username);
        assert_ne!(client.token, token, "a new token for the new identity");
        let notice = client.expect("error").await;
        assert_eq!(notice["code"], "invalid_token");
        client.say_and_confirm(&format!("still chatting {i}"), "c1").await;
    }
}

/// Uppercase, and Latin a/o/e swapped for their Cyrillic lookalikes.
fn lookalike(name: &str) -> String {
    let swapped: String = name
        .chars()
        .map(|c| match c {
            'a' => 'а',
            'o' => 'о',
            'e' => 'е',
            other => other,
        })
        .collect();
    if swapped == name {
        name.to_uppercase()
    } else {
        swapped
    }
}

async fn post(server: std::net::SocketAddr, body: Value, token: Option<&str>) -> (u16, Value) {
    post_authorized(server, body, token.map(|token| format!("Bearer {token}"))).await
}

async fn post_authorized(server: std::net::SocketAddr, body: Value, authorization: Option<String>) -> (u16, Value) {
    let mut request = awc::Client::default().post(format!("http://{server}/chat/send"));
    if let Some(authorization) = authorization {
        request = request.insert_header(("Authorization", authorization));
    }
    let mut response = request.send_json(&body).await.expect("POST");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

#[actix_web::test]
async fn http_posts_under_a_held_name_need_its_token_lookalikes_included() {
    let topic = unique_topic();
    let server = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let other = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let mut alice = server.connect("/ws/chat?room=names").await;
    alice.history().await;
    let name = alice.username.clone();
    let impostors = [name.clone(), lookalike(&name), format!("  {}  ", name.to_lowercase())];
    for impostor in &impostors {
        let (status, body) =
            post(server.addr, json!({"username": impostor, "text": "it is me", "room": "names"}), None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("name_taken")), "{impostor:?}");
    }
    let hidden = format!("{}\u{200B}", name);
    let (status, body) = post(server.addr, json!({"username": hidden, "text": "x", "room": "names"}), None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_username")), "a zero-width space");

    // With its token, the name's owner posts over HTTP, verified.
    let body = json!({"username": name, "text": "from my script", "room": "names"});
    assert_eq!(post(server.addr, body, Some(&alice.token)).await.0, 200);
    let mine = alice.expect("chat_message").await;
    assert_eq!((mine["username"].as_str(), &mine["verified"]), (Some(name.as_str()), &json!(true)));
    let body = json!({"username": name, "text": "any case", "room": "names"});
    let lower = post_authorized(server.addr, body.clone(), Some(format!("bearer {}", alice.token))).await;
    assert_eq!(lower.0, 200, "the scheme in any case: {lower:?}");
    assert_eq!(alice.expect("chat_message").await["verified"], true);
    let (status, refused) = post_authorized(server.addr, body, Some(alice.token.clone())).await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("invalid_token")), "no scheme: refused, not ignored");
    let body = json!({"username": "Someone Else", "text": "x", "room": "names"});
    assert_eq!(
        post(server.addr, body, Some(&alice.token)).await.1["code"],
        "name_taken",
        "a token is for its own name"
    );

    // A free name still works, as the original system's clients expect, marked unverified.
    let (status, _) =
        post(server.addr, json!({"username": "Sakura", "text": "old client", "room": "names"}), None).await;
    assert_eq!(status, 200);
    assert_eq!(alice.expect("chat_message").await["verified"], false);

    // The name stays held once its owner leaves, and on the other instance too.
    drop(alice);
    for addr in [server.addr, other.addr] {
        let body = json!({"username": name, "text": "it is me", "room": "names"});
        crate::helpers::eventually("the other instance knows the name", || {
            let body = body.clone();
            async move { post(addr, body, None).await.0 == 403 }
        })
        .await;
    }
}

/// 20 people on one instance; once the other knows them, 80 more arrive
/// there: none is given a name of the first 20 (among 1,600 names, chance
/// alone would give a clash more often than not).
#[actix_web::test]
async fn a_fresh_name_is_never_one_held_on_another_instance() {
    let topic = unique_topic();
    let one = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let two = ServerProcess::start_with(&topic, free_port(), NO_RATE_LIMIT).await;
    let mut first: Vec<Client> = Vec::new();
    for _ in 0..20 {
        first.push(one.connect("/ws/chat?room=unique").await);
    }
    for client in &first {
        let body = json!({"username": client.username, "text": "x", "room": "unique"});
        crate::helpers::eventually("the other instance knows the name", || {
            let body = body.clone();
            async move { post(two.addr, body, None).await.0 == 403 }
        })
        .await;
    }
    let held: std::collections::HashSet<String> =
        first.iter().map(|c| actors::identity::comparison_key(&c.username)).collect();
    let mut later = Vec::new();
    for _ in 0..80 {
        let client = two.connect("/ws/chat?room=unique").await;
        assert!(!held.contains(&actors::identity::comparison_key(&client.username)), "{} was taken", client.username);
        later.push(client);
    }
}

#[actix_web::test]
async fn a_token_for_a_name_someone_else_holds_now_cannot_post_under_it() {
    use actors::identity::{Identity, Tokens};
    let app = spawn_app().await;
    let tokens = Tokens::new(IDENTITY_SECRET.to_owned().into());
    // Two identities given one name: the first was away past the name memory.
    let (away, holder) = (Identity::new("Azure Ronin".into()), Identity::new("Azure Ronin".into()));
    let mut holding = app.connect_to(&with_token("/ws/chat?room=names", &tokens.issue(&holder))).await;
    assert_eq!(holding.username, "Azure Ronin");
    holding.history().await;

    let body = json!({"username": "Azure Ronin", "text": "it is me", "room": "names"});
    let (status, answer) = post(app.addr, body, Some(&tokens.issue(&away))).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("name_taken")), "{answer}");
    let body = json!({"username": "Azure Ronin", "text": "it is me, really", "room": "names"});
    assert_eq!(post(app.addr, body, Some(&tokens.issue(&holder))).await.0, 200);
    assert_eq!(holding.expect("chat_message").await["text"], "it is me, really", "only the holder's post");
}
