//! Success paths through the project's own client, `token_source::TokenSource::endpoint`.

use std::time::Duration;

use livekit_api::access_token::TokenVerifier;
use token_server::{ConfigError, ServeError, TokenServerConfig, serve};
use token_source::{EndpointOptions, TokenRequestOptions, TokenSource, TokenSourceError};
use tokio::net::TcpListener;

use crate::support::{TestServer, verify_dev};

fn full_options() -> TokenRequestOptions {
    TokenRequestOptions::new()
        .with_room_name("support-room")
        .with_participant_identity("alice")
        .with_participant_name("Alice Liddell")
        .with_participant_metadata(r#"{"plan":"pro"}"#)
        .with_participant_attribute("tier", "gold")
        .with_participant_attribute("lang", "en")
        .with_agent_name("support-agent")
        .with_agent_metadata("ticket 42")
        .with_agent_deployment("production")
}

#[tokio::test]
async fn every_requested_field_is_in_the_token() {
    let server = TestServer::dev().await;
    let source = TokenSource::endpoint(server.url("/token")).without_cache();
    let response = source.fetch(&full_options()).await.expect("a token");

    assert_eq!(response.server_url(), "ws://localhost:7880");
    assert_eq!(response.room_name(), Some("support-room"));
    assert_eq!(response.participant_name(), Some("Alice Liddell"));

    let claims = response.claims().expect("a JWT");
    assert_eq!(claims.iss.as_deref(), Some("devkey"));
    assert_eq!(claims.identity.as_deref(), Some("alice"));
    assert_eq!(claims.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(claims.metadata.as_deref(), Some(r#"{"plan":"pro"}"#));
    assert_eq!(claims.attributes.len(), 2);
    assert_eq!(claims.attributes["tier"], "gold");
    assert_eq!(claims.attributes["lang"], "en");
    let video = claims.video.clone().expect("a video grant");
    assert_eq!(video.room.as_deref(), Some("support-room"));
    assert_eq!(video.room_join, Some(true));
    assert_eq!(
        (video.can_publish, video.can_subscribe, video.can_publish_data),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(video.room_admin, None, "no admin rights");
    assert!(claims.dispatches_agent());
    assert!(response.dispatches_agent());
    let agents = &claims.room_config.as_ref().expect("a room config").agents;
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].agent_name.as_deref(), Some("support-agent"));
    assert_eq!(agents[0].metadata.as_deref(), Some("ticket 42"));
    assert_eq!(agents[0].deployment.as_deref(), Some("production"));

    // The default TTL, whatever the clock says (`nbf` and `exp` may straddle a second).
    let (nbf, exp) = (claims.nbf.expect("nbf"), claims.exp.expect("exp"));
    assert!((3600..=3601).contains(&(exp - nbf)), "exp - nbf = {}", exp - nbf);

    // The signature is LiveKit's: verified with the dev keys, refused with others.
    let verified = verify_dev(response.participant_token());
    assert_eq!(verified.sub, "alice");
    assert_eq!(verified.video.room, "support-room");
    assert!(verified.video.room_join);
    let config = verified.room_config.expect("a room config");
    assert_eq!(config.agents[0].agent_name, "support-agent");
    assert_eq!(config.agents[0].deployment, "production");
    assert!(
        TokenVerifier::with_api_key("devkey", "wrong")
            .verify(response.participant_token())
            .is_err()
    );
}

#[tokio::test]
async fn omitted_fields_get_random_identity_and_room() {
    let server = TestServer::dev().await;
    let source = TokenSource::endpoint(server.url("/token")).without_cache();
    let first = source.fetch(&TokenRequestOptions::new()).await.expect("a token");
    let second = source.fetch(&TokenRequestOptions::new()).await.expect("a token");

    let claims = first.claims().unwrap();
    let identity = claims.identity.clone().unwrap();
    let room = claims.video.clone().unwrap().room.unwrap();
    let hex = |value: &str, prefix: &str| {
        let suffix = value.strip_prefix(prefix).unwrap_or_else(|| panic!("{value}"));
        suffix.len() == 16 && suffix.chars().all(|c| c.is_ascii_hexdigit())
    };
    assert!(hex(&identity, "user-"), "{identity}");
    assert!(hex(&room, "room-"), "{room}");
    assert_eq!(first.room_name(), Some(room.as_str()), "the chosen room is reported");
    assert_eq!(
        first.participant_name(),
        Some(identity.as_str()),
        "the name defaults to the identity"
    );
    assert_eq!(claims.name.as_deref(), Some(identity.as_str()));
    assert!(!claims.dispatches_agent());
    assert!(claims.attributes.is_empty() && claims.metadata.is_none());
    assert_eq!(verify_dev(first.participant_token()).sub, identity);

    // A random room means a new room on every fetch.
    assert_ne!(first.room_name(), second.room_name());
    assert_ne!(first.participant_token(), second.participant_token());
}

#[tokio::test]
async fn agent_fields_alone_dispatch_an_agent() {
    let server = TestServer::dev().await;
    let source = TokenSource::endpoint(server.url("/")).without_cache();
    let response = source
        .fetch(&TokenRequestOptions::new().with_room_name("r").with_agent_name("bot"))
        .await
        .unwrap();
    let claims = response.claims().unwrap();
    let agent = &claims.room_config.as_ref().unwrap().agents[0];
    assert_eq!(agent.agent_name.as_deref(), Some("bot"));
    assert_eq!((agent.metadata.as_deref(), agent.deployment.as_deref()), (None, None));
    assert_eq!(response.room_name(), Some("r"));
}

#[tokio::test]
async fn bearer_authentication_through_endpoint_with() {
    let config = TokenServerConfig::default().with_bearer_token("app-shared-secret");
    let server = TestServer::start(config).await;
    let authorized = TokenSource::endpoint_with(
        server.url("/token"),
        EndpointOptions::new().with_header("Authorization", "Bearer app-shared-secret"),
    )
    .without_cache();
    let response = authorized
        .fetch(&TokenRequestOptions::new().with_participant_identity("bob"))
        .await
        .expect("authorized");
    assert_eq!(verify_dev(response.participant_token()).sub, "bob");

    let anonymous = TokenSource::endpoint(server.url("/token")).without_cache();
    match anonymous.fetch(&TokenRequestOptions::new()).await {
        Err(TokenSourceError::Status { status: 401, body_excerpt }) => {
            assert!(body_excerpt.contains("Authorization"), "{body_excerpt}");
        }
        other => panic!("expected 401, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_keys_url_and_ttl() {
    let config = TokenServerConfig::default()
        .with_api_key("APIcustom")
        .with_api_secret("a-custom-secret-of-some-length")
        .with_livekit_url("wss://project.livekit.cloud")
        .with_token_ttl(Duration::from_secs(600));
    let server = TestServer::start(config).await;
    let response = TokenSource::endpoint(server.url("/token"))
        .without_cache()
        .fetch(&TokenRequestOptions::new())
        .await
        .unwrap();
    assert_eq!(response.server_url(), "wss://project.livekit.cloud");
    let token = response.participant_token();
    let claims = TokenVerifier::with_api_key("APIcustom", "a-custom-secret-of-some-length")
        .verify(token)
        .expect("signed with the configured keys");
    assert_eq!(claims.iss, "APIcustom");
    assert!((600..=601).contains(&(claims.exp - claims.nbf)), "{}", claims.exp - claims.nbf);
    assert!(TokenVerifier::with_api_key("devkey", "secret").verify(token).is_err());
}

#[tokio::test]
async fn the_cached_source_reuses_the_token() {
    let server = TestServer::dev().await;
    let source = TokenSource::endpoint(server.url("/token"));
    let options = TokenRequestOptions::new().with_room_name("cached");
    let first = source.fetch(&options).await.unwrap();
    let second = source.fetch(&options).await.unwrap();
    assert_eq!(first.participant_token(), second.participant_token(), "valid and cacheable");
    let refetched = source.refetch(&options).await.unwrap();
    assert_eq!(refetched.room_name(), Some("cached"));
}

#[tokio::test]
async fn a_request_policy_rejects_fields_with_422() {
    let config = TokenServerConfig::default().with_request_policy(|options| {
        if options.participant_identity.is_some() {
            Err("the identity is chosen by the server".to_owned())
        } else {
            Ok(())
        }
    });
    let server = TestServer::start(config).await;
    let source = TokenSource::endpoint(server.url("/token")).without_cache();
    assert!(source.fetch(&TokenRequestOptions::new().with_room_name("r")).await.is_ok());
    match source.fetch(&TokenRequestOptions::new().with_participant_identity("mallory")).await {
        Err(TokenSourceError::Status { status: 422, body_excerpt }) => {
            assert!(
                body_excerpt.contains("the identity is chosen by the server"),
                "{body_excerpt}"
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn graceful_shutdown_stops_serving() {
    let server = TestServer::dev().await;
    let url = server.url("/token");
    let source = TokenSource::endpoint(&url).without_cache();
    source.fetch(&TokenRequestOptions::new()).await.expect("served");
    server.stop().await.expect("a clean shutdown");
    let error = source.fetch(&TokenRequestOptions::new()).await.unwrap_err();
    assert!(matches!(error, TokenSourceError::Transport { .. }), "{error:?}");
}

#[tokio::test]
async fn serve_refuses_an_invalid_configuration() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = TokenServerConfig::default().with_api_key("");
    let error = serve(listener, config, std::future::pending()).await.unwrap_err();
    assert!(
        matches!(error, ServeError::Config(ConfigError::Empty { name: "api_key" })),
        "{error:?}"
    );
}
