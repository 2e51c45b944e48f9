//! The `token-server` binary, run as a process on 127.0.0.1: hostile clients, SIGTERM and the
//! log level (issue 12, findings 4, 5 and 7). Every wait is bounded.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
};

use crate::support::Binary;

/// Waits until the server closes `stream` (EOF or reset), reading and discarding what it sends.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Finding 4: connections that never finish their request line, headers or body are closed,
/// and a valid request is still answered while they hold every connection the server allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_valid_requests_still_answered() {
    let mut server = Binary::start(
        &[],
        &[
            ("TOKEN_SERVER_HEADER_TIMEOUT_SECS", "1"),
            ("TOKEN_SERVER_BODY_TIMEOUT_SECS", "1"),
            ("TOKEN_SERVER_MAX_CONNECTIONS", "16"),
        ],
    )
    .await;
    // 60 connections (bounded, loopback): half a request line, complete headers without their
    // line end, and a body shorter than its Content-Length.
    let partial: [&[u8]; 3] = [
        b"POST /tok",
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: appl",
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"room_na",
    ];
    let mut hostile = Vec::new();
    for i in 0..60 {
        let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
        stream.write_all(partial[i % 3]).await.expect("write");
        hostile.push(stream);
    }
    let answer = timeout(Duration::from_secs(30), server.post_token("{}"))
        .await
        .expect("a valid request is answered while slow clients hold connections");
    assert_eq!(answer, 201);
    let all_closed = async {
        for stream in &mut hostile {
            closed_by_server(stream).await;
        }
    };
    timeout(Duration::from_secs(30), all_closed)
        .await
        .expect("every slow connection is closed by the server");
    server.terminate_and_wait(Duration::from_secs(30)).await;
}

/// Finding 5: SIGTERM ends the process within the shutdown deadline, although a client holds
/// a partial request (and would hold it forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_deadline_despite_a_stuck_client() {
    let mut server = Binary::start(
        &[],
        &[("TOKEN_SERVER_HEADER_TIMEOUT_SECS", "600"), ("TOKEN_SERVER_SHUTDOWN_TIMEOUT_SECS", "1")],
    )
    .await;
    let mut stuck = TcpStream::connect(server.addr()).await.expect("connect");
    stuck.write_all(b"POST /token HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    // A request on another connection, answered after the stuck one was accepted.
    assert_eq!(server.post_token("{}").await, 201);
    let started = Instant::now();
    let status = server.terminate_and_wait(Duration::from_secs(20)).await;
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

/// Finding 7: the per-token log line can be turned down, with `--log-level` or `RUST_LOG`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_level_is_configurable() {
    type Case = (&'static [&'static str], &'static [(&'static str, &'static str)], bool);
    let cases: [Case; 4] = [
        (&[], &[], true),
        (&["--log-level", "warn"], &[], false),
        (&[], &[("RUST_LOG", "warn")], false),
        (&["--log-level", "info"], &[("RUST_LOG", "warn")], true),
    ];
    for (args, env, logged) in cases {
        let mut server = Binary::start(args, env).await;
        assert_eq!(server.post_token(r#"{"participant_identity":"alice"}"#).await, 201);
        server.terminate_and_wait(Duration::from_secs(20)).await;
        let output = server.output();
        assert_eq!(output.contains("minted a token"), logged, "{args:?} {env:?}:\n{output}");
    }
}

/// Runs the binary to its end (bounded) with only `args` and `env`: its exit code and output.
async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_token-server"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(30), output).await.expect("it exits").unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// Settings come from flags or variables; a bad one stops the binary with a message that says
/// what is wrong and what to set, naming it the way it was given.
#[tokio::test]
async fn bad_settings_stop_the_binary_with_a_clear_message() {
    type Case =
        (&'static [&'static str], &'static [(&'static str, &'static str)], i32, &'static str);
    let cases: [Case; 5] = [
        (
            &[],
            &[("LIVEKIT_API_KEY", "APIkey")],
            1,
            "LIVEKIT_API_KEY is set but LIVEKIT_API_SECRET is not: set both, or neither for the dev keys",
        ),
        (
            &["--ttl-secs", "1h"],
            &[],
            1,
            "--ttl-secs must be a whole number of seconds greater than zero, got `1h`",
        ),
        (&[], &[("TOKEN_SERVER_ADDR", "")], 1, "TOKEN_SERVER_ADDR is set but empty"),
        (&["--log-level", "loud=now"], &[], 2, "--log-level is not a log level"),
        (&["--ttl", "5"], &[], 2, "unexpected argument '--ttl'"),
    ];
    for (args, env, code, message) in cases {
        let (status, output) = run_to_exit(args, env).await;
        assert_eq!(status, Some(code), "{args:?} {env:?}: {output}");
        assert!(output.contains(message), "{args:?} {env:?}: {output}");
    }
    let (status, help) = run_to_exit(&["--help"], &[("LIVEKIT_API_SECRET", "hidden-secret")]).await;
    assert_eq!(status, Some(0));
    for name in ["--api-key", "LIVEKIT_API_SECRET", "TOKEN_SERVER_MAX_CONNECTIONS", "--log-level"] {
        assert!(help.contains(name), "{name}: {help}");
    }
    assert!(!help.contains("hidden-secret"), "{help}");
}
