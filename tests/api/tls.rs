//! `wss://` served directly by the server with rustls.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_tungstenite::Connector;

use crate::helpers::{start, test_settings};

#[actix_web::test]
async fn the_server_speaks_wss_with_a_configured_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();

    let mut settings = test_settings();
    settings.server.tls_cert_file = cert_file.display().to_string();
    settings.server.tls_key_file = key_file.display().to_string();
    let app = start(settings).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("wss://127.0.0.1:{}/ws/chat", app.addr.port());
    let connector = Connector::Rustls(Arc::new(client_config));
    // Upgrades are refused with 503 until the consumer is assigned.
    let deadline = tokio::time::Instant::now() + crate::helpers::PATIENCE;
    let (mut socket, response) = loop {
        match tokio_tungstenite::connect_async_tls_with_config(&url, None, false, Some(connector.clone())).await {
            Ok(connected) => break connected,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 503 => {}
            Err(e) => panic!("a TLS WebSocket connects: {e}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "the TLS server became ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(response.status(), 101);
    let first = tokio::time::timeout(crate::helpers::PATIENCE, socket.next()).await.unwrap().unwrap().unwrap();
    let welcome: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(welcome["type"], "welcome");

    let plain = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws/chat", app.addr.port())).await;
    assert!(plain.is_err(), "plain WebSocket is not served on a TLS port");
}
