//! The caching rules (see `token_source::CachingTokenSource`), one test or more per rule, and
//! the caching behaviours of LiveKit's SDKs that apply.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, UNIX_EPOCH},
};

use serde_json::json;
use token_source::{
    CacheOptions, CachedToken, CachingTokenSource, ManualClock, MemoryTokenStore, RefreshAhead,
    TokenRequestOptions, TokenSource, TokenSourceError, TokenSourceResponse, TokenStore,
};

use crate::support::{Events, Upstream, jwt, jwt_between, livekit_token, settle, sub, unix};

fn room(name: &str) -> TokenRequestOptions {
    TokenRequestOptions::new().with_room_name(name)
}

fn cache(upstream: &Upstream, clock: &ManualClock) -> CachingTokenSource {
    CachingTokenSource::new(upstream.clone(), CacheOptions::new().with_clock(clock.clone()))
}

// Rule 1 and §4.1–9: validity.

#[tokio::test]
async fn a_valid_livekit_token_is_served_from_the_cache() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    let first = cache.fetch(&room("a")).await.unwrap();
    for _ in 0..3 {
        assert_eq!(cache.fetch(&room("a")).await.unwrap(), first);
    }
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn an_expired_token_is_refetched_and_the_new_one_is_served_again() {
    let upstream = Upstream::valid_tokens();
    let clock = ManualClock::starting_now();
    let cache = cache(&upstream, &clock);
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-0");
    clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-1");
    // The clock is not moved again, so the token minted just now (valid for an hour) is fresh.
    clock.set(std::time::SystemTime::now());
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-1");
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn the_expiry_margin_is_sixty_seconds_by_default_and_configurable() {
    // Whole seconds, so that the edge case below is exact.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_900_000_000));
    let now = unix(clock_now(&clock));
    let upstream = Upstream::new(move |n, _| Ok(jwt_between(&format!("t{n}"), now - 10, now + 30)));
    let default = cache(&upstream, &clock);
    default.fetch(&room("a")).await.unwrap();
    default.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 2, "exp in 30 s is inside the default 60 s margin");

    let upstream = Upstream::new(move |n, _| Ok(jwt_between(&format!("t{n}"), now - 10, now + 30)));
    let short = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(clock.clone()).with_expiry_margin(Duration::from_secs(10)),
    );
    short.fetch(&room("a")).await.unwrap();
    short.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 1, "exp in 30 s is outside a 10 s margin");
    // Exactly at the edge: now + margin == exp is no longer valid.
    clock.advance(Duration::from_secs(20));
    short.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_token_before_its_nbf_is_refetched_until_the_clock_reaches_it() {
    let clock = ManualClock::starting_now();
    let now = unix(clock_now(&clock));
    let upstream =
        Upstream::new(move |n, _| Ok(jwt_between(&format!("t{n}"), now + 300, now + 3600)));
    let cache = cache(&upstream, &clock);
    cache.fetch(&room("a")).await.unwrap();
    cache.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 2);
    clock.advance(Duration::from_secs(300));
    let served = cache.fetch(&room("a")).await.unwrap();
    assert_eq!(sub(&served), "t1", "at nbf the cached token becomes valid");
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn tokens_without_exp_or_not_jwts_are_never_served_from_the_cache() {
    let clock = ManualClock::starting_now();
    let opaque = ["", "opaque-token", "one.two", "one.two.three.four", "a.!!!.c"];
    for token in opaque {
        let upstream = Upstream::new(move |_, _| Ok(token.to_owned()));
        let cache = cache(&upstream, &clock);
        for _ in 0..3 {
            cache.fetch(&room("a")).await.unwrap();
        }
        assert_eq!(upstream.calls(), 3, "{token:?}");
    }
    let no_exp = jwt(json!({"sub": "x", "nbf": 0}));
    let upstream = Upstream::new(move |_, _| Ok(no_exp.clone()));
    let cache = cache(&upstream, &clock);
    cache.fetch(&room("a")).await.unwrap();
    cache.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 2, "no exp: never cached (LiveKit JS would cache it forever)");
}

#[tokio::test]
async fn a_token_without_nbf_is_valid_until_the_margin() {
    let clock = ManualClock::starting_now();
    let exp = unix(clock_now(&clock)) + 3600;
    let upstream = Upstream::new(move |_, _| Ok(jwt(json!({"sub": "x", "exp": exp}))));
    let cache = cache(&upstream, &clock);
    cache.fetch(&room("a")).await.unwrap();
    cache.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 1);
}

// Rule 2: exp and nbf are decoded when storing; the validator sees the decoded entry.

#[tokio::test]
async fn entries_carry_the_decoded_validity_window() {
    let clock = ManualClock::starting_now();
    let now = unix(clock_now(&clock));
    let upstream = Upstream::new(move |_, _| Ok(jwt_between("x", now - 5, now + 100)));
    let cache = cache(&upstream, &clock);
    cache.fetch(&room("a")).await.unwrap();
    let entry = cache.cached_entry(&room("a")).unwrap();
    assert_eq!(entry.not_before().map(unix), Some(now - 5));
    assert_eq!(entry.expires_at().map(unix), Some(now + 100));
    assert!(entry.is_jwt());
}

// Rule 3 and §4.16–22: the key is the whole options value; bounded capacity.

#[tokio::test]
async fn changing_any_field_refetches_and_the_source_sees_each_options_value() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    let base = room("r");
    let variants = vec![
        base.clone(),
        base.clone().with_participant_identity("id"),
        base.clone().with_participant_name("name"),
        base.clone().with_participant_metadata("meta"),
        base.clone().with_participant_attribute("k", "v"),
        base.clone().with_participant_attribute("k", "other"),
        base.clone().with_agent_name("agent"),
        base.clone().with_agent_metadata("agent meta"),
        base.clone().with_agent_deployment("prod"),
        room("other"),
    ];
    for options in &variants {
        cache.fetch(options).await.unwrap();
    }
    assert_eq!(upstream.calls(), variants.len());
    assert_eq!(upstream.seen(), variants);
}

#[tokio::test]
async fn equal_options_built_separately_hit_the_cache() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    let a = TokenRequestOptions::new()
        .with_participant_attribute("x", "1")
        .with_participant_attribute("y", "2");
    let b = TokenRequestOptions::new().with_participant_attributes([("y", "2"), ("x", "1")]);
    cache.fetch(&a).await.unwrap();
    cache.fetch(&b).await.unwrap();
    cache.fetch(&TokenRequestOptions::new()).await.unwrap();
    cache.fetch(&TokenRequestOptions::default()).await.unwrap();
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn the_default_single_slot_is_replaced_by_other_options() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    cache.fetch(&room("a")).await.unwrap();
    let b = cache.fetch(&room("b")).await.unwrap();
    assert_eq!(cache.fetch(&room("b")).await.unwrap(), b, "b is cached");
    assert_eq!(upstream.calls(), 2);
    cache.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 3, "a was evicted by b");
}

#[tokio::test]
async fn with_capacity_n_alternating_over_n_option_sets_hits() {
    let upstream = Upstream::valid_tokens();
    let cache = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(ManualClock::starting_now()).with_capacity(3),
    );
    for _ in 0..5 {
        for name in ["a", "b", "c"] {
            cache.fetch(&room(name)).await.unwrap();
        }
    }
    assert_eq!(upstream.calls(), 3);
    // A fourth option set evicts the least recently used ("a").
    cache.fetch(&room("d")).await.unwrap();
    cache.fetch(&room("b")).await.unwrap();
    cache.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 5);
}

// Rule 4 and §4.30: only successes are stored; a failure changes nothing.

#[tokio::test]
async fn a_failed_fetch_leaves_the_cache_unchanged_and_never_pairs_options() {
    let upstream = Upstream::new(|n, options| {
        if options.room_name.as_deref() == Some("b") {
            Err(TokenSourceError::custom(format!("boom {n}")))
        } else {
            Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600)))
        }
    });
    let cache = cache(&upstream, &ManualClock::starting_now());
    let a = cache.fetch(&room("a")).await.unwrap();
    let error = cache.fetch(&room("b")).await.unwrap_err();
    assert_eq!(error.to_string(), "the custom token source failed: boom 1");
    // LiveKit JS would now answer b with a's token; here b goes upstream again.
    assert!(cache.fetch(&room("b")).await.is_err());
    assert_eq!(upstream.calls(), 3);
    assert_eq!(cache.fetch(&room("a")).await.unwrap(), a, "a is still cached");
    assert_eq!(upstream.calls(), 3);
    assert_eq!(cache.cached_response(), Some(a));
}

#[tokio::test]
async fn a_failed_refetch_keeps_the_previous_token() {
    let upstream = Upstream::new(|n, _| {
        if n == 1 {
            Err(TokenSourceError::custom("down"))
        } else {
            Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600)))
        }
    });
    let cache = cache(&upstream, &ManualClock::starting_now());
    let first = cache.fetch(&room("a")).await.unwrap();
    assert!(cache.refetch(&room("a")).await.is_err());
    assert_eq!(cache.fetch(&room("a")).await.unwrap(), first);
    assert_eq!(sub(&cache.refetch(&room("a")).await.unwrap()), "call-2");
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-2");
    assert_eq!(upstream.calls(), 3);
}

// Rule 5 and §4.32–34: single flight.

#[tokio::test]
async fn concurrent_cold_fetches_with_equal_options_share_one_upstream_call() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let cache = cache(&upstream, &ManualClock::starting_now());
    let events = Events::default();
    let _subscription = cache.subscribe(events.observer());
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fetch(&room("a")).await })
        })
        .collect();
    settle().await;
    assert_eq!(upstream.calls(), 1);
    gate.add_permits(1);
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap());
    }
    assert!(tokens.iter().all(|token| *token == tokens[0]));
    assert_eq!(upstream.calls(), 1);
    assert_eq!(
        events.take(),
        ["miss:not cached", "joined", "joined", "joined", "joined", "stored"]
    );
}

#[tokio::test]
async fn a_warm_cache_answers_concurrent_fetches_without_upstream_calls() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    let first = cache.fetch(&room("a")).await.unwrap();
    let a_room = room("a");
    let (a, b, c) = tokio::join!(cache.fetch(&a_room), cache.fetch(&a_room), cache.fetch(&a_room));
    for result in [a, b, c] {
        assert_eq!(result.unwrap(), first);
    }
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_options_fetch_in_parallel() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let mut starts = upstream.starts();
    let cache = cache(&upstream, &ManualClock::starting_now());
    let a = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("a")).await }
    });
    let b = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("b")).await }
    });
    // Both upstream calls start before either is allowed to finish.
    starts.recv().await.unwrap();
    starts.recv().await.unwrap();
    assert_eq!(upstream.max_in_flight(), 2);
    gate.add_permits(2);
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_ne!(a, b);
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_failure_reaches_every_waiter_and_is_not_cached() {
    let (upstream, gate) = Upstream::gated(|n, _| {
        if n == 0 {
            Err(TokenSourceError::Status { status: 503, body_excerpt: "busy".into() })
        } else {
            Ok(livekit_token("ok", Duration::from_secs(3600)))
        }
    });
    let cache = cache(&upstream, &ManualClock::starting_now());
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fetch(&room("a")).await })
        })
        .collect();
    settle().await;
    gate.add_permits(1);
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, TokenSourceError::Status { status: 503, .. }), "{error:?}");
    }
    assert_eq!(upstream.calls(), 1);
    assert!(cache.cached_response().is_none());
    gate.add_permits(1);
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "ok");
}

#[tokio::test]
async fn cancelling_the_caller_that_drives_the_fetch_does_not_strand_the_others() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let cache = cache(&upstream, &ManualClock::starting_now());
    let driver = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("a")).await }
    });
    settle().await;
    let waiter = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("a")).await }
    });
    settle().await;
    driver.abort();
    assert!(driver.await.unwrap_err().is_cancelled());
    gate.add_permits(1);
    let response = waiter.await.unwrap().unwrap();
    assert_eq!(sub(&response), "call-0");
    assert_eq!(upstream.calls(), 1);
    assert_eq!(upstream.dropped(), 0, "the upstream call ran to completion");
    assert_eq!(cache.cached_response(), Some(response), "and its result was cached");
}

#[tokio::test]
async fn when_every_waiter_is_cancelled_the_upstream_call_is_dropped() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let cache = cache(&upstream, &ManualClock::starting_now());
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fetch(&room("a")).await })
        })
        .collect();
    settle().await;
    for task in tasks {
        task.abort();
        let _ = task.await;
    }
    assert_eq!(upstream.dropped(), 1, "nobody waits, so nothing runs in the background");
    // The next fetch starts a new upstream call instead of joining a dead one.
    gate.add_permits(1);
    let response = cache.fetch(&room("a")).await.unwrap();
    assert_eq!(sub(&response), "call-1");
}

#[tokio::test]
async fn a_panicking_source_becomes_an_error_for_every_waiter() {
    let (upstream, gate) = Upstream::gated(|_, _| panic!("bug in the app's source"));
    let cache = cache(&upstream, &ManualClock::starting_now());
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fetch(&room("a")).await })
        })
        .collect();
    settle().await;
    gate.add_permits(1);
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert_eq!(error.to_string(), "the custom token source failed: the token source panicked");
    }
    assert_eq!(upstream.calls(), 1);
}

// Rule 6 and §4.27–28: invalidate and cached_response.

#[tokio::test]
async fn invalidate_forces_the_next_fetch_and_clears_cached_response() {
    let upstream = Upstream::valid_tokens();
    let cache = cache(&upstream, &ManualClock::starting_now());
    assert!(cache.cached_response().is_none());
    let first = cache.fetch(&room("a")).await.unwrap();
    assert_eq!(cache.cached_response(), Some(first));
    cache.invalidate();
    assert!(cache.cached_response().is_none());
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-1");
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn invalidate_during_a_fetch_answers_its_waiters_but_does_not_cache_the_result() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let cache = cache(&upstream, &ManualClock::starting_now());
    let events = Events::default();
    let _subscription = cache.subscribe(events.observer());
    let before = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("a")).await }
    });
    settle().await;
    cache.invalidate();
    // A fetch after invalidate does not join the detached call: it starts its own.
    let after = tokio::spawn({
        let cache = cache.clone();
        async move { cache.fetch(&room("a")).await }
    });
    settle().await;
    assert_eq!(upstream.calls(), 2);
    gate.add_permits(1);
    let first = before.await.unwrap().unwrap();
    assert_eq!(sub(&first), "call-0", "the waiter gets the response it asked for");
    assert!(cache.cached_response().is_none(), "but it is not cached");
    gate.add_permits(1);
    let second = after.await.unwrap().unwrap();
    assert_eq!(sub(&second), "call-1");
    assert_eq!(cache.cached_response(), Some(second.clone()));
    assert_eq!(cache.fetch(&room("a")).await.unwrap(), second);
    assert_eq!(
        events.take(),
        ["miss:not cached", "invalidated", "miss:not cached", "discarded", "stored", "hit"]
    );
}

#[tokio::test]
async fn cached_response_returns_an_expired_token_unvalidated() {
    let upstream = Upstream::valid_tokens();
    let clock = ManualClock::starting_now();
    let cache = cache(&upstream, &clock);
    let response = cache.fetch(&room("a")).await.unwrap();
    clock.advance(Duration::from_secs(10 * 3600));
    assert_eq!(cache.cached_response(), Some(response));
}

// §4.25, 29: validators and stores.

#[tokio::test]
async fn custom_validators_decide_what_is_served() {
    let clock = ManualClock::starting_now();
    let upstream = Upstream::new(|n, _| Ok(format!("opaque-{n}")));
    let always = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(clock.clone()).with_validator(|_, _| true),
    );
    always.fetch(&room("a")).await.unwrap();
    assert_eq!(always.fetch(&room("a")).await.unwrap().participant_token(), "opaque-0");
    assert_eq!(upstream.calls(), 1, "an always-true validator caches opaque tokens");

    let upstream = Upstream::valid_tokens();
    let never = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(clock.clone()).with_validator(|_, _| false),
    );
    never.fetch(&room("a")).await.unwrap();
    never.fetch(&room("a")).await.unwrap();
    assert_eq!(upstream.calls(), 2, "an always-false validator disables caching");

    let upstream = Upstream::valid_tokens();
    let keyed = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(clock).with_validator(|entry: &CachedToken, _| {
            entry.options().participant_name.as_deref() == Some("charlie")
        }),
    );
    let charlie = TokenRequestOptions::new().with_participant_name("charlie");
    let dana = TokenRequestOptions::new().with_participant_name("dana");
    for options in [&charlie, &charlie, &dana, &dana] {
        keyed.fetch(options).await.unwrap();
    }
    assert_eq!(upstream.calls(), 3, "only charlie's requests are cached");
}

#[derive(Debug, Default)]
struct RecordingStore {
    inner: MemoryTokenStore,
    log: Mutex<Vec<String>>,
    forgetful: bool,
}

impl TokenStore for RecordingStore {
    fn get(&self, options: &TokenRequestOptions) -> Option<CachedToken> {
        self.log.lock().unwrap().push("get".into());
        self.inner.get(options)
    }
    fn put(&self, entry: CachedToken) {
        self.log.lock().unwrap().push(format!("put:{}", sub(entry.response())));
        if !self.forgetful {
            self.inner.put(entry);
        }
    }
    fn latest(&self) -> Option<CachedToken> {
        self.inner.latest()
    }
    fn clear(&self) {
        self.log.lock().unwrap().push("clear".into());
        self.inner.clear();
    }
}

#[tokio::test]
async fn a_custom_store_is_used_for_lookups_writes_and_clears() {
    let store = Arc::new(RecordingStore::default());
    let upstream = Upstream::valid_tokens();
    let cache = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new()
            .with_clock(ManualClock::starting_now())
            .with_store(SharedStore(Arc::clone(&store))),
    );
    cache.fetch(&room("a")).await.unwrap();
    cache.fetch(&room("a")).await.unwrap();
    cache.invalidate();
    // miss: lookup, re-check under the flight lock, store; hit: lookup; then clear.
    assert_eq!(*store.log.lock().unwrap(), ["get", "get", "put:call-0", "get", "clear"]);
}

#[tokio::test]
async fn a_store_that_never_retains_forces_a_fetch_every_time() {
    let store = Arc::new(RecordingStore { forgetful: true, ..Default::default() });
    let upstream = Upstream::valid_tokens();
    let cache = CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(ManualClock::starting_now()).with_store(SharedStore(store)),
    );
    for _ in 0..3 {
        cache.fetch(&room("a")).await.unwrap();
    }
    assert_eq!(upstream.calls(), 3);
}

#[derive(Debug)]
struct SharedStore(Arc<RecordingStore>);

impl TokenStore for SharedStore {
    fn get(&self, options: &TokenRequestOptions) -> Option<CachedToken> {
        self.0.get(options)
    }
    fn put(&self, entry: CachedToken) {
        self.0.put(entry);
    }
    fn latest(&self) -> Option<CachedToken> {
        self.0.latest()
    }
    fn clear(&self) {
        self.0.clear();
    }
}

// Rule 8: refresh-ahead and events.

fn refreshing(
    upstream: &Upstream,
    clock: &ManualClock,
    policy: RefreshAhead,
) -> CachingTokenSource {
    CachingTokenSource::new(
        upstream.clone(),
        CacheOptions::new().with_clock(clock.clone()).with_refresh_ahead(policy),
    )
}

#[tokio::test]
async fn refresh_ahead_serves_the_cached_token_while_one_background_refresh_runs() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let clock = ManualClock::starting_now();
    let cache = refreshing(&upstream, &clock, RefreshAhead::new(Duration::from_secs(300)));
    let events = Events::default();
    let _subscription = cache.subscribe(events.observer());
    gate.add_permits(1);
    let first = cache.fetch(&room("a")).await.unwrap();
    // Not yet in the window: 3600 - 60 (margin) - 300 (window) = 3240 s after minting.
    clock.advance(Duration::from_secs(3000));
    cache.fetch(&room("a")).await.unwrap();
    settle().await;
    assert_eq!(upstream.calls(), 1);
    // Inside the window: every caller still gets the cached token, one refresh starts.
    clock.advance(Duration::from_secs(300));
    for _ in 0..3 {
        assert_eq!(cache.fetch(&room("a")).await.unwrap(), first);
    }
    settle().await;
    assert_eq!(upstream.calls(), 2);
    gate.add_permits(1);
    settle().await;
    // The refreshed token (minted now, valid for an hour) replaces it.
    clock.set(std::time::SystemTime::now());
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "call-1");
    assert_eq!(
        events.take(),
        [
            "miss:not cached",
            "stored",
            "hit",
            "hit",
            "refresh-started",
            "hit",
            "hit",
            "refreshed",
            "hit"
        ]
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_token_and_backs_off() {
    let upstream = Upstream::new(|n, _| {
        if n == 0 {
            Ok(livekit_token("first", Duration::from_secs(3600)))
        } else {
            Err(TokenSourceError::custom("refresh failed"))
        }
    });
    let clock = ManualClock::starting_now();
    let policy =
        RefreshAhead::new(Duration::from_secs(600)).with_retry_after(Duration::from_secs(30));
    let cache = refreshing(&upstream, &clock, policy);
    let events = Events::default();
    let _subscription = cache.subscribe(events.observer());
    cache.fetch(&room("a")).await.unwrap();
    clock.advance(Duration::from_secs(3000));
    cache.fetch(&room("a")).await.unwrap();
    settle().await;
    assert_eq!(upstream.calls(), 2);
    // Within the back-off, hits do not start refreshes.
    clock.advance(Duration::from_secs(29));
    assert_eq!(sub(&cache.fetch(&room("a")).await.unwrap()), "first");
    settle().await;
    assert_eq!(upstream.calls(), 2);
    clock.advance(Duration::from_secs(1));
    cache.fetch(&room("a")).await.unwrap();
    settle().await;
    assert_eq!(upstream.calls(), 3);
    assert_eq!(
        events.take(),
        [
            "miss:not cached",
            "stored",
            "hit",
            "refresh-started",
            "refresh-failed",
            "hit",
            "hit",
            "refresh-started",
            "refresh-failed"
        ]
    );
}

#[tokio::test]
async fn jitter_moves_each_refresh_earlier_by_at_most_the_jitter() {
    let clock = ManualClock::starting_now();
    let mut earliest = u64::MAX;
    let mut latest = 0;
    for _ in 0..40 {
        let upstream = Upstream::valid_tokens();
        let policy =
            RefreshAhead::new(Duration::from_secs(300)).with_jitter(Duration::from_secs(200));
        let cache = refreshing(&upstream, &clock.clone(), policy);
        clock.set(std::time::SystemTime::now());
        cache.fetch(&room("a")).await.unwrap();
        // Step through the possible window [3600-60-300-200, 3600-60-300] in 10 s steps.
        let mut elapsed = 3030;
        while upstream.calls() == 1 && elapsed <= 3250 {
            clock.set(std::time::SystemTime::now() + Duration::from_secs(elapsed));
            cache.fetch(&room("a")).await.unwrap();
            settle().await;
            elapsed += 10;
        }
        assert_eq!(upstream.calls(), 2, "a refresh started inside the jittered window");
        earliest = earliest.min(elapsed - 10);
        latest = latest.max(elapsed - 10);
    }
    assert!(earliest >= 3040 && latest <= 3250, "{earliest}..{latest}");
    assert!(latest - earliest >= 60, "jitter spreads refreshes: {earliest}..{latest}");
}

#[tokio::test]
async fn without_a_runtime_refresh_ahead_is_skipped_and_expiry_still_refetches() {
    let upstream = Upstream::valid_tokens();
    let clock = ManualClock::starting_now();
    let cache = refreshing(&upstream, &clock, RefreshAhead::new(Duration::from_secs(600)));
    let fetch = |cache: CachingTokenSource| {
        std::thread::spawn(move || {
            block_on_without_runtime(async move { cache.fetch(&room("a")).await })
        })
        .join()
        .unwrap()
    };
    fetch(cache.clone()).unwrap();
    clock.advance(Duration::from_secs(3300));
    assert_eq!(sub(&fetch(cache.clone()).unwrap()), "call-0");
    assert_eq!(upstream.calls(), 1);
    clock.advance(Duration::from_secs(600));
    assert_eq!(sub(&fetch(cache).unwrap()), "call-1");
}

#[tokio::test]
async fn dropping_the_cache_cancels_its_background_refresh() {
    let (upstream, gate) =
        Upstream::gated(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))));
    let clock = ManualClock::starting_now();
    let cache = refreshing(&upstream, &clock, RefreshAhead::new(Duration::from_secs(300)));
    gate.add_permits(1);
    cache.fetch(&room("a")).await.unwrap();
    clock.advance(Duration::from_secs(3400));
    cache.fetch(&room("a")).await.unwrap();
    settle().await;
    assert_eq!(upstream.calls(), 2);
    drop(cache);
    settle().await;
    assert_eq!(upstream.dropped(), 1, "the refresh task was aborted with its cache");
}

#[tokio::test]
async fn events_cover_hits_misses_and_failures_and_stop_when_unsubscribed() {
    let clock = ManualClock::starting_now();
    let upstream = Upstream::new(|n, options| {
        if options.room_name.as_deref() == Some("bad") {
            Err(TokenSourceError::custom("nope"))
        } else {
            Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600)))
        }
    });
    let source = TokenSource::from_configurable(upstream.clone())
        .with_cache(CacheOptions::new().with_clock(clock.clone()));
    let events = Events::default();
    let subscription = source.subscribe(events.observer());
    source.fetch(&room("a")).await.unwrap();
    source.fetch(&room("a")).await.unwrap();
    let _ = source.fetch(&room("bad")).await;
    clock.advance(Duration::from_secs(3550));
    source.fetch(&room("a")).await.unwrap();
    source.refetch(&room("a")).await.unwrap();
    source.invalidate();
    assert_eq!(
        events.take(),
        [
            "miss:not cached",
            "stored",
            "hit",
            "miss:not cached",
            "failed",
            "miss:expired",
            "stored",
            "miss:forced",
            "stored",
            "invalidated"
        ]
    );
    drop(subscription);
    source.fetch(&room("a")).await.unwrap();
    assert!(events.take().is_empty());
}

// §4.35: fixed sources and `.with_cache()`.

#[tokio::test]
async fn a_cached_fixed_source_ignores_options() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let source = TokenSource::literal_fn(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async {
            Ok(TokenSourceResponse::new(
                "wss://x",
                livekit_token("fixed", Duration::from_secs(3600)),
            ))
        }
    });
    source.fetch(&room("a")).await.unwrap();
    source.fetch(&room("a")).await.unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2, "literal_fn is not cached");
    let cached = source.with_cache(CacheOptions::new());
    cached.fetch(&room("a")).await.unwrap();
    cached.fetch(&room("b")).await.unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

fn clock_now(clock: &ManualClock) -> std::time::SystemTime {
    use token_source::Clock as _;
    clock.now()
}

/// Runs a future on the current thread, outside any tokio runtime.
fn block_on_without_runtime<F: Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[tokio::test]
async fn try_cached_answers_hits_synchronously_and_never_goes_upstream() {
    let upstream = Upstream::valid_tokens();
    let clock = ManualClock::starting_now();
    let source = TokenSource::from_configurable(upstream.clone())
        .with_cache(CacheOptions::new().with_clock(clock.clone()));
    let events = Events::default();
    let _subscription = source.subscribe(events.observer());
    assert_eq!(source.try_cached(&room("a")), None, "nothing cached yet");
    assert_eq!(upstream.calls(), 0);
    let fetched = source.fetch(&room("a")).await.unwrap();
    assert_eq!(source.try_cached(&room("a")), Some(fetched));
    assert_eq!(source.try_cached(&room("b")), None, "other options");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(source.try_cached(&room("a")), None, "expired");
    assert_eq!(upstream.calls(), 1);
    assert_eq!(events.take(), ["miss:not cached", "stored", "hit"]);
    assert_eq!(TokenSource::literal("wss://x", "t").try_cached(&room("a")), None, "no cache");
}
