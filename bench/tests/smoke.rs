//! Runs `anime-chat-bench smoke` (baseline server + small load, in one process) so that
//! `cargo test --workspace` notices when the bench stops working or stops counting right.

use std::process::Command;

#[test]
fn smoke_delivers_every_message_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_anime-chat-bench")).arg("smoke").output().expect("run the bench binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "smoke failed\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("smoke: OK"), "{stdout}");
}
