//! The wire format and every error status, over raw HTTP.

use std::time::Duration;

use token_server::TokenServerConfig;
use token_source::{TokenSourceResponse, reqwest::Method};
use tokio::time::timeout;

use crate::support::{TestServer, post_json, send, verify_dev};

#[tokio::test]
async fn success_is_201_json_with_the_standard_fields() {
    let server = TestServer::dev().await;
    let answer = post_json(
        &server.url("/token"),
        r#"{"room_name":"r1","participant_identity":"id1","participant_name":"Name"}"#,
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let json = answer.json();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["participant_name", "participant_token", "room_name", "server_url"]);
    assert_eq!(json["server_url"], "ws://localhost:7880");
    assert_eq!(json["room_name"], "r1");
    assert_eq!(json["participant_name"], "Name");
    let claims = verify_dev(json["participant_token"].as_str().unwrap());
    assert_eq!((claims.sub.as_str(), claims.video.room.as_str()), ("id1", "r1"));
}

#[tokio::test]
async fn camel_case_requests_are_accepted() {
    let server = TestServer::dev().await;
    let answer = post_json(
        &server.url("/token"),
        r#"{"roomName":"camel","participantIdentity":"c1","participantAttributes":{"a":"b"},
            "roomConfig":{"agents":[{"agentName":"helper","metadata":"m"}]}}"#,
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let response = TokenSourceResponse::from_response_json(answer.text.as_bytes()).unwrap();
    assert_eq!(response.room_name(), Some("camel"));
    let claims = response.claims().unwrap();
    assert_eq!(claims.identity.as_deref(), Some("c1"));
    assert_eq!(claims.attributes["a"], "b");
    let agent = &claims.room_config.unwrap().agents[0];
    assert_eq!(
        (agent.agent_name.as_deref(), agent.metadata.as_deref()),
        (Some("helper"), Some("m"))
    );
}

#[tokio::test]
async fn empty_bodies_mean_no_options() {
    let server = TestServer::dev().await;
    for body in ["", "{}", "  "] {
        let answer = post_json(&server.url("/token"), body).await;
        assert_eq!(answer.status, 201, "{body:?}: {}", answer.text);
        assert!(answer.json()["room_name"].as_str().unwrap().starts_with("room-"));
    }
    // No Content-Type at all is accepted too (curl -d sends form encoding, so only when absent).
    let bare = send(Method::POST, &server.url("/token"), &[], None).await;
    assert_eq!(bare.status, 201, "{}", bare.text);
}

#[tokio::test]
async fn invalid_json_is_400_saying_where_without_echoing() {
    let server = TestServer::dev().await;
    let answer = post_json(&server.url("/token"), r#"{"room_name": my-private-room}"#).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let error = answer.error();
    assert!(error.contains("not valid JSON") && error.contains("line 1 column"), "{error}");
    assert!(!error.contains("my-private-room"), "{error}");

    let wrong_type =
        post_json(&server.url("/token"), r#"{"participant_identity": 4242424242}"#).await;
    assert_eq!(wrong_type.status, 400);
    let error = wrong_type.error();
    assert!(error.contains("not a token request"), "{error}");
    assert!(!error.contains("4242424242"), "{error}");
    assert_eq!(post_json(&server.url("/token"), "42").await.status, 400);
}

/// Issue 12, finding 6: a JSON array is not a positional token request: 400, like any body
/// that is not a JSON object (the README promises it).
#[tokio::test]
async fn json_arrays_and_other_non_objects_are_400() {
    let server = TestServer::dev().await;
    for body in [r#"["my-room","Alice","alice-id"]"#, "[]", "[{}]", r#""my-room""#, "null", "true"]
    {
        let answer = post_json(&server.url("/token"), body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let error = answer.error();
        assert!(error.contains("not a token request"), "{body}: {error}");
        assert!(!error.contains("my-room"), "{error}");
    }
}

#[tokio::test]
async fn missing_or_wrong_bearer_is_401() {
    let config = TokenServerConfig::default().with_bearer_token("the-right-token");
    let server = TestServer::start(config).await;
    let url = server.url("/token");
    let json = ("content-type", "application/json");
    let cases: [&[(&str, &str)]; 3] = [
        &[json],
        &[json, ("authorization", "Bearer the-wrong-token")],
        &[json, ("authorization", "Basic dXNlcjpwdw==")],
    ];
    for headers in cases {
        let answer = send(Method::POST, &url, headers, Some("{}".into())).await;
        assert_eq!(answer.status, 401, "{headers:?}");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        let error = answer.error();
        assert!(
            !error.contains("the-right-token") && !error.contains("the-wrong-token"),
            "{error}"
        );
    }
    let ok =
        send(Method::POST, &url, &[json, ("authorization", "Bearer the-right-token")], None).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // Authentication comes first: a bad body is not even looked at.
    let unauthenticated_garbage = send(Method::POST, &url, &[json], Some("{".into())).await;
    assert_eq!(unauthenticated_garbage.status, 401);
}

#[tokio::test]
async fn a_custom_auth_check_reads_its_header() {
    let config = TokenServerConfig::default().with_auth(|headers| {
        match headers.get("x-api-key").map(|value| value.as_bytes()) {
            Some(b"k-123") => Ok(()),
            Some(_) => Err("unknown API key".to_owned()),
            None => Err("missing X-Api-Key header".to_owned()),
        }
    });
    let server = TestServer::start(config).await;
    let url = server.url("/token");
    let missing = send(Method::POST, &url, &[], None).await;
    assert_eq!(
        (missing.status.as_u16(), missing.error()),
        (401, "missing X-Api-Key header".into())
    );
    assert_eq!(missing.header("www-authenticate"), None);
    let wrong = send(Method::POST, &url, &[("x-api-key", "nope")], None).await;
    assert_eq!(wrong.error(), "unknown API key");
    assert_eq!(send(Method::POST, &url, &[("x-api-key", "k-123")], None).await.status, 201);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let server = TestServer::dev().await;
    let body = |metadata_len: usize| {
        serde_json::json!({ "participant_metadata": "m".repeat(metadata_len) }).to_string()
    };
    let too_large = post_json(&server.url("/token"), &body(16 * 1024)).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.error(), "the request body is larger than 16384 bytes");
    let just_fits = body(16 * 1024 - r#"{"participant_metadata":""}"#.len());
    assert_eq!(just_fits.len(), 16 * 1024);
    assert_eq!(post_json(&server.url("/token"), &just_fits).await.status, 201);

    let small = TestServer::start(TokenServerConfig::default().with_max_body_bytes(64)).await;
    let answer = post_json(&small.url("/token"), &body(100)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.error()),
        (413, "the request body is larger than 64 bytes".into())
    );
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let server = TestServer::dev().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let answer = send(
            Method::POST,
            &server.url("/token"),
            &[("content-type", content_type)],
            Some("{}".into()),
        )
        .await;
        assert_eq!(answer.status, 415, "{content_type}");
        assert!(answer.error().contains("application/json"));
    }
    let charset = send(
        Method::POST,
        &server.url("/token"),
        &[("content-type", "application/json; charset=utf-8")],
        Some("{}".into()),
    )
    .await;
    assert_eq!(charset.status, 201);
}

#[tokio::test]
async fn rejected_values_are_422() {
    let server = TestServer::dev().await;
    let long = "x".repeat(257);
    let overlong =
        post_json(&server.url("/token"), &format!(r#"{{"participant_identity":"{long}"}}"#)).await;
    assert_eq!(overlong.status, 422);
    let error = overlong.error();
    assert_eq!(error, "`participant_identity` is longer than 256 characters");
    let room = post_json(&server.url("/token"), &format!(r#"{{"room_name":"{long}"}}"#)).await;
    assert_eq!(room.status, 422);
    assert!(room.error().contains("room_name"));
    let control = post_json(&server.url("/token"), r#"{"room_name":"a\u0007b"}"#).await;
    assert_eq!(
        (control.status.as_u16(), control.error()),
        (422, "`room_name` contains control characters".into())
    );
    let fits = "y".repeat(256);
    let ok =
        post_json(&server.url("/token"), &format!(r#"{{"participant_identity":"{fits}"}}"#)).await;
    assert_eq!(ok.status, 201);
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_404() {
    let server = TestServer::dev().await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let answer = send(method.clone(), &server.url("/token"), &[], None).await;
        assert_eq!(answer.status, 405, "{method}");
        assert!(answer.header("allow").is_some_and(|allow| allow.contains("POST")), "{method}");
        assert!(answer.error().contains(method.as_str()));
    }
    let healthz_post = send(Method::POST, &server.url("/healthz"), &[], None).await;
    assert_eq!(healthz_post.status, 405);
    let missing = post_json(&server.url("/tokens"), "{}").await;
    assert_eq!(missing.status, 404);
    assert!(missing.error().contains("/token"));
}

#[tokio::test]
async fn cors_preflight_allows_json_and_authorization() {
    let server = TestServer::start(TokenServerConfig::default().with_bearer_token("t")).await;
    let preflight = send(
        Method::OPTIONS,
        &server.url("/token"),
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,authorization"),
        ],
        None,
    )
    .await;
    assert!(preflight.status.is_success(), "no authentication on preflight: {}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight.header("access-control-allow-methods").unwrap().to_ascii_lowercase();
    assert!(methods.contains("post"), "{methods}");
    let headers = preflight.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
    assert!(headers.contains("content-type") && headers.contains("authorization"), "{headers}");
    assert!(preflight.header("access-control-max-age").is_some());

    let actual = send(
        Method::POST,
        &server.url("/token"),
        &[("origin", "https://app.example.com"), ("authorization", "Bearer t")],
        None,
    )
    .await;
    assert_eq!(actual.status, 201);
    assert_eq!(actual.header("access-control-allow-origin"), Some("*"));
    // Errors carry CORS headers too, so a browser app can read the message.
    let denied =
        send(Method::POST, &server.url("/token"), &[("origin", "https://app.example.com")], None)
            .await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn cors_origins_can_be_restricted() {
    let config = TokenServerConfig::default()
        .with_allowed_origin("https://app.example.com:443/")
        .with_allowed_header("x-session");
    let server = TestServer::start(config).await;
    let preflight = |origin: &'static str| {
        let url = server.url("/token");
        async move {
            send(
                Method::OPTIONS,
                &url,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "x-session"),
                ],
                None,
            )
            .await
        }
    };
    let allowed = preflight("https://app.example.com").await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert!(allowed.header("access-control-allow-headers").unwrap().contains("x-session"));
    let other = preflight("https://evil.example.com").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn healthz_is_200() {
    let server = TestServer::start(TokenServerConfig::default().with_bearer_token("t")).await;
    let answer = send(Method::GET, &server.url("/healthz"), &[], None).await;
    assert_eq!(answer.status, 200, "no authentication needed");
    assert_eq!(answer.text, "ok");
}

#[tokio::test]
async fn error_bodies_never_contain_the_secret() {
    let secret = "Zq8vN3xR7tL2mK9pW4sY6uH1";
    let config = TokenServerConfig::default().with_api_secret(secret).with_bearer_token("b");
    let server = TestServer::start(config).await;
    let url = server.url("/token");
    let answers = [
        send(Method::POST, &url, &[], None).await,
        send(Method::GET, &url, &[], None).await,
        send(Method::POST, &url, &[("authorization", "Bearer b")], Some("{".into())).await,
        send(Method::POST, &url, &[("authorization", "Bearer b")], Some("x".repeat(20_000))).await,
    ];
    for answer in answers {
        assert!(!answer.status.is_success());
        assert!(!answer.text.contains(secret), "{}", answer.text);
    }
}

/// A body slower than the body timeout gets 408 and the connection is closed.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = TokenServerConfig::default().with_body_read_timeout(Duration::from_millis(300));
    let server = TestServer::start(config).await;
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"room")
        .await
        .unwrap();
    let mut answer = Vec::new();
    timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("the request body did not arrive within 0.3 s"), "{answer}");
}

/// `serve` returns within the shutdown deadline although a client never finishes its request.
#[tokio::test]
async fn serve_returns_within_the_shutdown_deadline_despite_a_stuck_client() {
    use tokio::io::AsyncWriteExt;
    let config = TokenServerConfig::default()
        .with_header_read_timeout(Duration::from_secs(600))
        .with_shutdown_timeout(Duration::from_millis(200));
    let server = TestServer::start(config).await;
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let mut stuck = tokio::net::TcpStream::connect(addr).await.unwrap();
    stuck.write_all(b"POST /token HTTP/1.1\r\n").await.unwrap();
    assert_eq!(post_json(&server.url("/token"), "{}").await.status, 201);
    timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("serve returned")
        .expect("a clean shutdown");
}
