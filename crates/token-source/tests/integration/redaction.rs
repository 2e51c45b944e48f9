//! No token, API secret, header value or sandbox ID appears in `Debug`, `Display`, errors,
//! events or logs.

use std::{
    io,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use token_source::{
    CacheOptions, CachedToken, DevelopmentTokenServerOptions, EndpointOptions, TokenRequestOptions,
    TokenSource, TokenSourceError, TokenSourceResponse,
};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

use crate::support::{Events, livekit_token};

const SANDBOX_ID: &str = "sandboxsecretid0123456789";
const HEADER_SECRET: &str = "Bearer header-secret-0123456789abcdef";

fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} leaked into: {text}");
    }
}

/// Captures everything `tracing` logs at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_debug_display_errors_events_or_logs() {
    let token = livekit_token("secret-identity", Duration::from_secs(3600));
    let server = MockServer::start().await;
    // The server answers 200 with the token, then 500 echoing it, then 200 with a broken body.
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "server_url": "wss://x", "participant_token": token
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(500).set_body_string(format!("internal error for {token}")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("{{\"participant_token\": {token}")),
        )
        .mount(&server)
        .await;

    let log = global_log();

    let endpoint = TokenSource::endpoint_with(
        format!("{}/token", server.uri()),
        EndpointOptions::new().with_header("Authorization", HEADER_SECRET),
    )
    .with_cache(CacheOptions::new());
    let events = Events::default();
    let _subscription = endpoint.subscribe({
        let events = events.clone();
        let observer = events.observer();
        move |event| {
            assert_clean(&format!("{event:?}"), &[&token_fragment()]);
            observer(event)
        }
    });
    let mut texts = Vec::new();
    let options = TokenRequestOptions::new();
    let response = endpoint.fetch(&options).await.unwrap();
    texts.push(format!("{response:?}"));
    texts.push(format!("{endpoint:?}"));
    texts.push(format!("{:?}", CachedToken::new(options.clone(), response.clone())));
    for _ in 0..2 {
        let error = endpoint.refetch(&options).await.unwrap_err();
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
    }
    let sandbox = TokenSource::development_token_server_with(
        SANDBOX_ID,
        DevelopmentTokenServerOptions::new().with_base_url("http://127.0.0.1:9"),
    );
    texts.push(format!("{sandbox:?}"));
    let error = sandbox.fetch(&options).await.unwrap_err();
    texts.push(error.to_string());
    texts.push(format!("{error:?}"));
    texts.push(format!("{:?}", EndpointOptions::new().with_header("Authorization", HEADER_SECRET)));
    texts.push(format!("{:?}", TokenSourceResponse::new("wss://x", token.clone())));
    texts.push(format!("{:?}", TokenSourceError::custom("x")));
    let this_test = std::thread::current().name().unwrap_or_default().to_owned();
    let everything = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_clean(&everything, &[token.as_str(), SANDBOX_ID, HEADER_SECRET]);
    let ours: Vec<&str> = everything.lines().filter(|line| line.contains(&this_test)).collect();
    texts.push(ours.join("\n"));

    let secrets = [token.as_str(), SANDBOX_ID, HEADER_SECRET, "header-secret"];
    for text in &texts {
        assert_clean(text, &secrets);
    }
    assert!(texts.last().unwrap().contains("upstream fetch failed"), "the log was captured");
    assert!(!events.take().is_empty());
}

/// Issue 12, finding 1: a short secret in an error body is redacted because of what it is (the
/// value of a token-like key, or JWT-shaped), in the error's `Display` and `Debug` and in the
/// DEBUG "upstream fetch failed" log line.
#[tokio::test]
async fn short_secrets_in_error_bodies_are_redacted_everywhere() {
    let log = global_log();
    let bodies = [
        r#"{"participant_token":"eyJFAKESECRET"}"#,
        "token=eyJFAKESECRET",
        r#"{"error":"unavailable","secret":"FAKESECRET"}"#,
        "upstream said: X-Sandbox-ID: FAKESECRET",
    ];
    for body in bodies {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(503).set_body_string(body))
            .mount(&server)
            .await;
        let source = TokenSource::endpoint(format!("{}/token", server.uri()));
        let error = source.fetch(&TokenRequestOptions::new()).await.unwrap_err();
        assert!(matches!(error, TokenSourceError::Status { status: 503, .. }), "{error:?}");
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains("FAKESECRET"), "{body} leaked into: {text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
    let this_test = std::thread::current().name().unwrap_or_default().to_owned();
    let everything = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let ours: Vec<&str> = everything.lines().filter(|line| line.contains(&this_test)).collect();
    let failures = ours.iter().filter(|line| line.contains("upstream fetch failed")).count();
    assert_eq!(failures, bodies.len(), "one log line per failure: {ours:#?}");
    for line in ours {
        assert!(!line.contains("FAKESECRET"), "leaked into the log: {line}");
    }
}

fn token_fragment() -> String {
    // Every LiveKit token starts with this header; an event must not contain any token.
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9".into()
}

/// The log of the whole test binary: a global subscriber at TRACE level, installed once.
/// (A scoped subscriber would miss events: tracing caches callsite interest across threads.)
fn global_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_thread_names(true)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        log
    })
}
