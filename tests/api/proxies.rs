//! Real client addresses behind the project's own nginx: only a trusted
//! proxy says who the client is, so per-address limits hold for everyone
//! and a forged header changes nothing.

use serde_json::json;

use crate::helpers::{free_port, post_from, unique_topic, Client, Nginx, ServerProcess};

const BEHIND_NGINX: &str = "[server]\nmax_connections_per_ip = 3\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
    http_send_per_second = 1\nhttp_send_burst = 2\n";

/// The address of person `i`: 127.0.1.1, 127.0.1.2, … never 127.0.0.1 (nginx's own).
fn person(i: usize) -> [u8; 4] {
    [127, 0, 1 + u8::try_from(i / 250).unwrap(), 1 + u8::try_from(i % 250).unwrap()]
}

#[actix_web::test]
async fn behind_nginx_every_client_counts_as_its_own_address_and_forged_headers_change_nothing() {
    let server = ServerProcess::start_with(&unique_topic(), free_port(), BEHIND_NGINX).await;
    let nginx = Nginx::start(&[server.addr, server.addr]);
    let mut crowd = Vec::new();
    for i in 0..300 {
        let client = Client::try_connect_from(nginx.addr, person(i), "/ws/chat?room=crowd", &[]).await;
        crowd.push(client.unwrap_or_else(|refused| panic!("person {i} got in: {refused:?}")));
    }

    // One address through nginx: capped at 3, whatever it claims.
    let capped = [127, 0, 10, 1];
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(
            Client::try_connect_from(nginx.addr, capped, "/ws/chat?room=crowd", &[]).await.expect("within the cap"),
        );
    }
    let forged = [("x-forwarded-for", "10.0.0.5"), ("forwarded", "for=10.0.0.6")];
    let refused =
        Client::try_connect_from(nginx.addr, capped, "/ws/chat?room=crowd", &forged).await.expect_err("capped");
    assert_eq!((refused.status, refused.body["code"].as_str()), (503, Some("too_many_connections")));

    // Straight to the server from an untrusted address: its headers are ignored.
    let direct = [127, 0, 11, 1];
    for i in 0..3 {
        let claim = [("x-forwarded-for", format!("10.0.1.{i}"))];
        let claim: Vec<(&str, &str)> = claim.iter().map(|(k, v)| (*k, v.as_str())).collect();
        kept.push(
            Client::try_connect_from(server.addr, direct, "/ws/chat?room=crowd", &claim).await.expect("within the cap"),
        );
    }
    let claim = [("x-forwarded-for", "10.0.1.99"), ("forwarded", "for=10.0.1.98")];
    let refused =
        Client::try_connect_from(server.addr, direct, "/ws/chat?room=crowd", &claim).await.expect_err("still capped");
    assert_eq!(refused.status, 503);

    // HTTP sends are counted per real address too: two people through nginx each get their own budget.
    for who in [person(400), person(401)] {
        let statuses: Vec<u16> = futures_util::future::join_all((0..3).map(|i| {
            let body = json!({"username": format!("Poster {}", who[3]), "text": format!("hi {i}"), "room": "crowd"});
            async move { post_from(nginx.addr, who, "/chat/send", &body).await.0 }
        }))
        .await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}: the burst of 2, per person");
    }
}
