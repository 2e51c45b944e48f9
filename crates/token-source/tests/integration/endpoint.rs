//! Endpoint and development-server sources against real HTTP servers on 127.0.0.1.

use std::time::Duration;

use serde_json::{Value, json};
use token_source::{
    DevelopmentTokenServerOptions, EndpointOptions, TokenRequestOptions, TokenSource,
    TokenSourceError,
    reqwest::{self, Method},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

use crate::support::livekit_token;

fn ok_body(token: &str) -> Value {
    json!({"server_url": "wss://project.livekit.cloud", "participant_token": token})
}

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/token")).respond_with(template).mount(&server).await;
    server
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "exactly one request");
    requests.remove(0)
}

fn header<'a>(request: &'a Request, name: &str) -> Vec<&'a str> {
    request.headers.get_all(name).iter().map(|value| value.to_str().unwrap()).collect()
}

fn uncached(url: &str, options: EndpointOptions) -> TokenSource {
    TokenSource::endpoint_with(url, options).without_cache()
}

#[tokio::test]
async fn posts_the_exact_json_body_and_headers() {
    let token = livekit_token("alice", Duration::from_secs(3600));
    let server = server_answering(ResponseTemplate::new(201).set_body_json(ok_body(&token))).await;
    let source = uncached(
        &format!("{}/token", server.uri()),
        EndpointOptions::new()
            .with_header("Authorization", "Bearer app-session")
            .with_header("X-Custom", "1"),
    );
    let options = TokenRequestOptions::new()
        .with_room_name("room")
        .with_participant_name("Alice")
        .with_participant_identity("alice")
        .with_participant_metadata("meta")
        .with_participant_attribute("tier", "gold")
        .with_agent_name("agent")
        .with_agent_metadata("agent meta")
        .with_agent_deployment("staging");
    let response = source.fetch(&options).await.unwrap();
    assert_eq!(response.server_url(), "wss://project.livekit.cloud");
    assert_eq!(response.participant_token(), token);

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/token");
    assert_eq!(header(&request, "content-type"), ["application/json"]);
    assert_eq!(header(&request, "authorization"), ["Bearer app-session"]);
    assert_eq!(header(&request, "x-custom"), ["1"]);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "room_name": "room",
            "participant_name": "Alice",
            "participant_identity": "alice",
            "participant_metadata": "meta",
            "participant_attributes": {"tier": "gold"},
            "room_config": {"agents": [{"agent_name": "agent", "metadata": "agent meta", "deployment": "staging"}]}
        })
    );
}

#[tokio::test]
async fn no_options_send_an_empty_object_and_get_still_sends_the_body() {
    let token = livekit_token("bob", Duration::from_secs(3600));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(&token)))
        .mount(&server)
        .await;
    let source = uncached(
        &format!("{}/token", server.uri()),
        EndpointOptions::new().with_method(Method::GET),
    );
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.body, b"{}");
}

#[tokio::test]
async fn a_caller_content_type_replaces_the_default() {
    let server = server_answering(ResponseTemplate::new(200).set_body_json(ok_body("t"))).await;
    let source = uncached(
        &format!("{}/token", server.uri()),
        EndpointOptions::new().with_header("Content-Type", "application/vnd.app+json"),
    );
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(header(&only_request(&server).await, "content-type"), ["application/vnd.app+json"]);
}

#[tokio::test]
async fn accepts_201_camel_case_optional_names_and_unknown_fields() {
    let body = json!({
        "serverUrl": "wss://camel", "participantToken": "t", "roomName": "r",
        "participantName": "p", "unexpected": {"nested": true}
    });
    let server = server_answering(ResponseTemplate::new(201).set_body_json(body)).await;
    let response = uncached(&format!("{}/token", server.uri()), EndpointOptions::new())
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(response.server_url(), "wss://camel");
    assert_eq!(response.room_name(), Some("r"));
    assert_eq!(response.participant_name(), Some("p"));
}

#[tokio::test]
async fn a_custom_client_is_used() {
    let server = server_answering(ResponseTemplate::new(200).set_body_json(ok_body("t"))).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-from-client", "yes".parse().unwrap());
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    uncached(&format!("{}/token", server.uri()), EndpointOptions::new().with_client(client))
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(header(&only_request(&server).await, "x-from-client"), ["yes"]);
}

async fn fetch_error(template: ResponseTemplate, options: EndpointOptions) -> TokenSourceError {
    let server = server_answering(template).await;
    uncached(&format!("{}/token", server.uri()), options)
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn error_statuses_carry_a_redacted_excerpt() {
    let token = livekit_token("leaked", Duration::from_secs(3600));
    let error = fetch_error(
        ResponseTemplate::new(403).set_body_string(format!("forbidden: token {token} revoked")),
        EndpointOptions::new(),
    )
    .await;
    let TokenSourceError::Status { status, body_excerpt } = &error else { panic!("{error:?}") };
    assert_eq!(*status, 403);
    assert_eq!(body_excerpt, "forbidden: token [redacted] revoked");
    assert!(!error.is_transient());
    assert!(!error.to_string().contains(&token));

    let error =
        fetch_error(ResponseTemplate::new(500).set_body_string("boom"), EndpointOptions::new())
            .await;
    assert_eq!(error.to_string(), "the token endpoint answered HTTP 500: boom");
    assert!(error.is_transient());
}

fn invalid_reason(error: TokenSourceError) -> String {
    match error {
        TokenSourceError::InvalidResponse { reason } => reason,
        other => panic!("expected InvalidResponse, got {other}: {other:?}"),
    }
}

#[tokio::test]
async fn bad_bodies_with_a_2xx_status_are_invalid_responses() {
    let html =
        ResponseTemplate::new(200).set_body_raw("<html><body>Welcome</body></html>", "text/html");
    assert!(
        invalid_reason(fetch_error(html, EndpointOptions::new()).await).starts_with("not JSON")
    );
    let broken = ResponseTemplate::new(200).set_body_raw(r#"{"server_url": "#, "application/json");
    assert_eq!(
        invalid_reason(fetch_error(broken, EndpointOptions::new()).await),
        "not JSON (unexpected end of input at line 1 column 15)"
    );
    let empty = ResponseTemplate::new(201);
    assert_eq!(
        invalid_reason(fetch_error(empty, EndpointOptions::new()).await),
        "the body is empty"
    );
    let missing = ResponseTemplate::new(200).set_body_json(json!({"server_url": "wss://x"}));
    assert_eq!(
        invalid_reason(fetch_error(missing, EndpointOptions::new()).await),
        "`participant_token` is missing"
    );
    let empty_url = ResponseTemplate::new(200)
        .set_body_json(json!({"server_url": "", "participant_token": "t"}));
    assert_eq!(
        invalid_reason(fetch_error(empty_url, EndpointOptions::new()).await),
        "`server_url` is empty"
    );
}

#[tokio::test]
async fn oversized_bodies_are_rejected() {
    let big = ResponseTemplate::new(200).set_body_string("x".repeat(5000));
    let error = fetch_error(big, EndpointOptions::new().with_max_response_bytes(1000)).await;
    assert_eq!(invalid_reason(error), "the body is larger than 1000 bytes");
    // The default cap is 64 KiB.
    let huge = ResponseTemplate::new(200)
        .set_body_string(format!(r#"{{"pad":"{}"}}"#, "y".repeat(70_000)));
    let error = fetch_error(huge, EndpointOptions::new()).await;
    assert_eq!(invalid_reason(error), "the body is larger than 65536 bytes");
}

/// A raw HTTP/1.1 server on 127.0.0.1 that reads one request and writes `response` (or, with
/// `None`, never answers). Returns its URL.
async fn raw_server(response: Option<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let _ = socket.read(&mut buffer).await;
        match response {
            Some(bytes) => {
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
            }
            None => std::future::pending::<()>().await,
        }
    });
    url
}

#[tokio::test]
async fn a_chunked_body_is_capped_while_streaming() {
    let chunk = "y".repeat(600);
    let response = format!(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(),
        chunk.len()
    );
    let url = raw_server(Some(response.into_bytes())).await;
    let error = uncached(&url, EndpointOptions::new().with_max_response_bytes(1000))
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert_eq!(invalid_reason(error), "the body is larger than 1000 bytes");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out() {
    let url = raw_server(None).await;
    let started = tokio::time::Instant::now();
    let error = uncached(&url, EndpointOptions::new().with_timeout(Duration::from_secs(3)))
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, TokenSourceError::Timeout { timeout } if timeout == Duration::from_secs(3))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3), "paused time: no real waiting");
    assert_eq!(error.to_string(), "the token endpoint did not answer within 3 s");
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{address}/token?key=secret-in-query");
    let error = uncached(&url, EndpointOptions::new())
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err();
    let TokenSourceError::Transport { reason, .. } = &error else { panic!("{error:?}") };
    assert!(reason.to_lowercase().contains("connect"), "{reason}");
    assert!(!error.to_string().contains("secret-in-query"), "{error}");
    assert!(!format!("{error:?}").contains("secret-in-query"), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn invalid_urls_fail_every_fetch_with_a_typed_error() {
    for url in ["", "not a url", "ftp://example.com/token", "//missing-scheme"] {
        let error =
            TokenSource::endpoint(url).fetch(&TokenRequestOptions::new()).await.unwrap_err();
        assert!(matches!(error, TokenSourceError::InvalidUrl { .. }), "{url:?}: {error:?}");
    }
}

#[tokio::test]
async fn the_cached_endpoint_makes_one_request_for_a_valid_token_and_two_for_an_expiring_one() {
    let valid = livekit_token("valid", Duration::from_secs(3600));
    let server = server_answering(ResponseTemplate::new(200).set_body_json(ok_body(&valid))).await;
    let source = TokenSource::endpoint(format!("{}/token", server.uri()));
    assert!(source.is_cached());
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let expiring = livekit_token("expiring", Duration::from_secs(30));
    let server =
        server_answering(ResponseTemplate::new(200).set_body_json(ok_body(&expiring))).await;
    let source = TokenSource::endpoint(format!("{}/token", server.uri()));
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_development_token_server_posts_with_the_trimmed_sandbox_id() {
    let token = livekit_token("dev", Duration::from_secs(3600));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/sandbox/connection-details"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(&token)))
        .mount(&server)
        .await;
    let options = DevelopmentTokenServerOptions::new().with_base_url(format!("{}/", server.uri()));
    for source in [
        TokenSource::development_token_server_with("  sandbox-123  ", options.clone()),
        TokenSource::sandbox_token_server_with("\"sandbox-123\"\n", options),
    ] {
        let response =
            source.fetch(&TokenRequestOptions::new().with_agent_name("a")).await.unwrap();
        assert_eq!(response.participant_token(), token);
        assert!(!format!("{source:?}").contains("sandbox-123"));
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(header(request, "x-sandbox-id"), ["sandbox-123"]);
        assert_eq!(header(request, "content-type"), ["application/json"]);
        assert_eq!(request.body, br#"{"room_config":{"agents":[{"agent_name":"a"}]}}"#);
    }
}

#[tokio::test]
async fn a_sandbox_id_without_alphanumerics_is_a_configuration_error() {
    let error = TokenSource::development_token_server(" - ")
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(error, TokenSourceError::InvalidConfiguration { .. }), "{error:?}");
}

/// A server on 127.0.0.1 whose `/token` and sandbox paths answer `status` with `Location:
/// location(port)`, and whose `/landing` answers 200 with a token.
async fn redirecting_server(status: u16, location: impl Fn(u16) -> String) -> MockServer {
    let token = livekit_token("redirected", Duration::from_secs(3600));
    let server = MockServer::start().await;
    let port = server.address().port();
    for from in ["/token", "/api/v2/sandbox/connection-details"] {
        Mock::given(path(from))
            .respond_with(ResponseTemplate::new(status).insert_header("location", location(port)))
            .mount(&server)
            .await;
    }
    Mock::given(path("/landing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body(&token)))
        .mount(&server)
        .await;
    server
}

const CALLER_HEADERS: [&str; 3] = ["x-sandbox-id", "authorization", "x-custom"];

/// Fetches through the development token server (`X-Sandbox-ID`) with two more caller headers
/// and returns the two requests the server received: the first, and the redirected one.
async fn fetch_through_redirect(server: &MockServer) -> (Request, Request) {
    let endpoint = EndpointOptions::new()
        .with_header("Authorization", "Bearer app-session")
        .with_header("X-Custom", "1");
    let source = TokenSource::development_token_server_with(
        "sandbox-123",
        DevelopmentTokenServerOptions::new()
            .with_base_url(server.uri())
            .with_endpoint_options(endpoint),
    )
    .without_cache();
    let options = TokenRequestOptions::new().with_room_name("r");
    let response = source.fetch(&options).await.expect("the redirect is followed");
    assert_eq!(response.claims().unwrap().identity.as_deref(), Some("redirected"));
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the first request and the redirected one");
    let landing = requests.remove(1);
    let first = requests.remove(0);
    for name in CALLER_HEADERS {
        assert_eq!(header(&first, name).len(), 1, "{name} is sent to the endpoint itself");
    }
    assert_eq!(landing.url.path(), "/landing");
    assert_eq!(landing.method.as_str(), "POST", "a 307 keeps the method");
    assert_eq!(landing.body, first.body, "a 307 keeps the body");
    (first, landing)
}

/// Issue 12, finding 2: a redirect to another origin (127.0.0.1 → localhost, same port) must
/// not carry the caller's headers, the sandbox ID above all.
#[tokio::test]
async fn a_cross_origin_redirect_carries_no_caller_header() {
    let server = redirecting_server(307, |port| format!("http://localhost:{port}/landing")).await;
    let (_, landing) = fetch_through_redirect(&server).await;
    assert_eq!(header(&landing, "host"), [format!("localhost:{}", server.address().port())]);
    for name in CALLER_HEADERS {
        assert!(header(&landing, name).is_empty(), "{name} was forwarded to another origin");
    }
    assert_eq!(header(&landing, "content-type"), ["application/json"], "it describes the body");
}

/// Issue 12, finding 2: a redirect within the same origin keeps the caller's headers.
#[tokio::test]
async fn a_same_origin_redirect_keeps_the_caller_headers() {
    for location in [(|_| "/landing".to_owned()) as fn(u16) -> String, |port| {
        format!("http://127.0.0.1:{port}/landing")
    }] {
        let server = redirecting_server(308, location).await;
        let (first, landing) = fetch_through_redirect(&server).await;
        for name in CALLER_HEADERS {
            assert_eq!(header(&landing, name), header(&first, name), "{name}");
        }
    }
}

/// A redirect to another port of the same host is another origin too.
#[tokio::test]
async fn a_redirect_to_another_port_is_cross_origin() {
    let other = redirecting_server(200, |_| String::new()).await;
    let other_port = other.address().port();
    let server =
        redirecting_server(307, move |_| format!("http://127.0.0.1:{other_port}/landing")).await;
    let endpoint = EndpointOptions::new().with_header("Authorization", "Bearer app-session");
    let source =
        uncached(&format!("{}/token", server.uri()), endpoint.with_header("X-Custom", "1"));
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    let landing = only_request(&other).await;
    assert_eq!(landing.url.path(), "/landing");
    for name in CALLER_HEADERS {
        assert!(header(&landing, name).is_empty(), "{name} was forwarded to another origin");
    }
}

#[tokio::test]
async fn a_303_continues_as_a_get_without_body_and_a_loop_ends_after_ten_redirects() {
    let server = redirecting_server(303, |_| "/landing".to_owned()).await;
    uncached(&format!("{}/token", server.uri()), EndpointOptions::new())
        .fetch(&TokenRequestOptions::new().with_room_name("r"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!((requests[1].method.as_str(), requests[1].body.len()), ("GET", 0));
    assert!(header(&requests[1], "content-type").is_empty(), "no body, no content type");

    let looping = redirecting_server(307, |_| "/token".to_owned()).await;
    let error = uncached(&format!("{}/token", looping.uri()), EndpointOptions::new())
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(error, TokenSourceError::Status { status: 307, .. }), "{error:?}");
    assert_eq!(looping.received_requests().await.unwrap().len(), token_source::MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn a_custom_client_without_redirects_gets_the_same_rule() {
    let server = redirecting_server(307, |port| format!("http://localhost:{port}/landing")).await;
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let options = EndpointOptions::new().with_client(client).with_header("X-Custom", "1");
    uncached(&format!("{}/token", server.uri()), options)
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(header(&requests[0], "x-custom"), ["1"]);
    assert!(header(&requests[1], "x-custom").is_empty());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &Default::default()).unwrap();
    out
}

/// Issue 12, finding 3: compressed token responses are decoded, and the size cap applies to
/// what they decode to.
#[tokio::test]
async fn gzip_and_brotli_responses_are_decoded() {
    let token = livekit_token("compressed", Duration::from_secs(3600));
    let body = serde_json::to_vec(&ok_body(&token)).unwrap();
    for (encoding, encoded) in [("gzip", gzip(&body)), ("br", brotli(&body))] {
        let template = ResponseTemplate::new(200)
            .insert_header("content-encoding", encoding)
            .set_body_raw(encoded, "application/json");
        let server = server_answering(template).await;
        let response = uncached(&format!("{}/token", server.uri()), EndpointOptions::new())
            .fetch(&TokenRequestOptions::new())
            .await
            .unwrap_or_else(|error| panic!("{encoding}: {error}"));
        assert_eq!(response.participant_token(), token, "{encoding}");
        let accepted = header(&only_request(&server).await, "accept-encoding").join(",");
        assert!(accepted.contains(encoding), "{encoding} is announced: {accepted:?}");
    }
    // A small compressed body that decodes past the cap is too large.
    let padded = format!(r#"{{"pad":"{}"}}"#, " ".repeat(100_000));
    let template = ResponseTemplate::new(200)
        .insert_header("content-encoding", "gzip")
        .set_body_raw(gzip(padded.as_bytes()), "application/json");
    let error = fetch_error(template, EndpointOptions::new()).await;
    assert_eq!(invalid_reason(error), "the body is larger than 65536 bytes");
}
