//! Literal, closure and trait-implemented sources (§4.49–50), and the `TokenSource` handle.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use token_source::{
    TokenRequestOptions, TokenSource, TokenSourceConfigurable, TokenSourceError, TokenSourceFixed,
    TokenSourceResponse,
};

use crate::support::{Upstream, livekit_token};

#[tokio::test]
async fn a_literal_returns_exactly_its_credentials_and_never_caches() {
    let source = TokenSource::literal("wss://a", "token-a");
    assert!(!source.is_cached());
    let response =
        source.fetch(&TokenRequestOptions::new().with_room_name("ignored")).await.unwrap();
    assert_eq!(response.server_url(), "wss://a");
    assert_eq!(response.participant_token(), "token-a");
    assert_eq!(response.participant_name(), None);
    assert_eq!(response.room_name(), None);
    assert!(source.cached_response().is_none());

    let full = TokenSourceResponse::new("wss://b", "token-b")
        .with_participant_name("p")
        .with_room_name("r");
    let source = TokenSource::from(full.clone());
    assert_eq!(source.fetch(&TokenRequestOptions::new()).await.unwrap(), full);
}

#[tokio::test]
async fn a_custom_closure_gets_the_exact_options_and_its_result_is_returned() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let source = TokenSource::custom(move |options: TokenRequestOptions| {
        recorder.lock().unwrap().push(options.clone());
        async move {
            let room = options.room_name.unwrap_or_default();
            Ok(TokenSourceResponse::new(
                "wss://custom",
                livekit_token(&room, Duration::from_secs(3600)),
            ))
        }
    });
    assert!(source.is_cached(), "custom sources cache by default, as LiveKit documents");
    let options = TokenRequestOptions::new().with_room_name("r1").with_agent_name("a");
    let response = source.fetch(&options).await.unwrap();
    assert_eq!(response.claims().unwrap().identity.as_deref(), Some("r1"));
    source.fetch(&options).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [options]);
}

#[tokio::test]
async fn closure_errors_become_custom_errors_and_typed_errors_pass_through() {
    let io = TokenSource::custom(|_| async {
        Err(std::io::Error::other("backend unreachable"))?;
        Ok(TokenSourceResponse::new("wss://x", "t"))
    });
    let error = io.fetch(&TokenRequestOptions::new()).await.unwrap_err();
    assert!(matches!(error, TokenSourceError::Custom { .. }));
    assert_eq!(error.to_string(), "the custom token source failed: backend unreachable");

    let typed = TokenSource::custom(|_| async {
        Err(TokenSourceError::Status { status: 401, body_excerpt: "no".into() }.into())
    });
    let error = typed.fetch(&TokenRequestOptions::new()).await.unwrap_err();
    assert!(matches!(error, TokenSourceError::Status { status: 401, .. }), "{error:?}");
}

#[tokio::test]
async fn without_cache_calls_the_source_every_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let source = TokenSource::custom(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            Ok(TokenSourceResponse::new("wss://x", livekit_token("x", Duration::from_secs(3600))))
        }
    })
    .without_cache();
    assert!(!source.is_cached());
    for _ in 0..3 {
        source.fetch(&TokenRequestOptions::new()).await.unwrap();
    }
    source.refetch(&TokenRequestOptions::new()).await.unwrap();
    source.invalidate();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

struct Fixed(Arc<AtomicUsize>);

impl TokenSourceFixed for Fixed {
    async fn fetch(&self) -> Result<TokenSourceResponse, TokenSourceError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(TokenSourceResponse::new("wss://fixed", format!("fixed-{n}")))
    }
}

#[tokio::test]
async fn trait_implementations_plug_in() {
    let calls = Arc::new(AtomicUsize::new(0));
    let fixed = TokenSource::from_fixed(Fixed(Arc::clone(&calls)));
    assert!(!fixed.is_cached());
    assert_eq!(
        fixed.fetch(&TokenRequestOptions::new()).await.unwrap().participant_token(),
        "fixed-0"
    );
    assert_eq!(
        fixed.fetch(&TokenRequestOptions::new()).await.unwrap().participant_token(),
        "fixed-1"
    );

    let upstream = Upstream::valid_tokens();
    let configurable = TokenSource::from_configurable(upstream.clone());
    assert!(configurable.is_cached());
    configurable.fetch(&TokenRequestOptions::new()).await.unwrap();
    configurable.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(upstream.calls(), 1);

    // A TokenSource is itself a configurable source, so sources compose.
    let layered = TokenSource::from_configurable(configurable.clone()).without_cache();
    layered.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(upstream.calls(), 1);
    assert_eq!(
        TokenSourceConfigurable::fetch(&configurable, &TokenRequestOptions::new()).await.unwrap(),
        configurable.cached_response().unwrap()
    );
}

#[tokio::test]
async fn clones_share_one_cache_and_with_cache_makes_a_new_one() {
    let upstream = Upstream::valid_tokens();
    let source = TokenSource::from_configurable(upstream.clone());
    let clone = source.clone();
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    clone.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(upstream.calls(), 1);
    let fresh = clone.with_cache(token_source::CacheOptions::new());
    fresh.fetch(&TokenRequestOptions::new()).await.unwrap();
    assert_eq!(upstream.calls(), 2);
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenSource>();
    assert_send_sync::<token_source::CachingTokenSource>();
    assert_send_sync::<token_source::EndpointTokenSource>();
    assert_send_sync::<TokenSourceResponse>();
    assert_send_sync::<TokenRequestOptions>();
    assert_send_sync::<TokenSourceError>();
    assert_send_sync::<token_source::Subscription>();
    assert_send_sync::<token_source::CacheEvent>();
    fn assert_send<T: Send>(_: &T) {}
    let source = TokenSource::literal("wss://x", "t");
    let options = TokenRequestOptions::new();
    assert_send(&source.fetch(&options));
    assert_send(&source.refetch(&options));
}
