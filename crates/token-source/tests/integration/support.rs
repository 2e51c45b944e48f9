//! Test helpers: tokens, a scriptable upstream source, an event recorder.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use livekit_api::access_token::{AccessToken, VideoGrants};
use token_source::{
    CacheEvent, TokenRequestOptions, TokenSourceConfigurable, TokenSourceError, TokenSourceResponse,
};
use tokio::sync::{Semaphore, mpsc};

pub(crate) const URL: &str = "wss://test.livekit.invalid";

/// A real LiveKit token, signed with the `livekit-server --dev` keys, valid for `ttl` from now.
pub(crate) fn livekit_token(identity: &str, ttl: Duration) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_ttl(ttl)
        .with_grants(VideoGrants { room_join: true, room: "room".into(), ..Default::default() })
        .to_jwt()
        .expect("minting a token")
}

/// An unsigned JWT with exactly this payload (for missing or odd claims).
pub(crate) fn jwt(payload: serde_json::Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        engine.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        engine.encode(payload.to_string()),
        engine.encode("not-a-real-signature")
    )
}

/// Seconds since the epoch of `time`.
pub(crate) fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A JWT valid from `nbf` to `exp` (seconds since the epoch), with a distinguishing `sub`.
pub(crate) fn jwt_between(sub: &str, nbf: i64, exp: i64) -> String {
    jwt(serde_json::json!({ "sub": sub, "nbf": nbf, "exp": exp }))
}

type Responder =
    Box<dyn Fn(usize, &TokenRequestOptions) -> Result<String, TokenSourceError> + Send + Sync>;

/// A configurable upstream that records its calls and answers from a script.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub(crate) state: Arc<UpstreamState>,
}

pub(crate) struct UpstreamState {
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    dropped: AtomicUsize,
    seen: Mutex<Vec<TokenRequestOptions>>,
    responder: Responder,
    /// When set, each call waits for a permit before answering.
    gate: Option<Arc<Semaphore>>,
    started: Mutex<Option<mpsc::UnboundedSender<TokenRequestOptions>>>,
}

impl Upstream {
    /// Answers call `n` (0-based) with `responder(n, options)`.
    pub(crate) fn new(
        responder: impl Fn(usize, &TokenRequestOptions) -> Result<String, TokenSourceError>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self::build(Box::new(responder), None)
    }

    /// Answers with a fresh one-hour LiveKit token per call, identity `call-<n>`.
    pub(crate) fn valid_tokens() -> Self {
        Self::new(|n, _| Ok(livekit_token(&format!("call-{n}"), Duration::from_secs(3600))))
    }

    /// Like `new`, but every call blocks until the returned gate gets a permit.
    pub(crate) fn gated(
        responder: impl Fn(usize, &TokenRequestOptions) -> Result<String, TokenSourceError>
        + Send
        + Sync
        + 'static,
    ) -> (Self, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        (Self::build(Box::new(responder), Some(Arc::clone(&gate))), gate)
    }

    fn build(responder: Responder, gate: Option<Arc<Semaphore>>) -> Self {
        Self {
            state: Arc::new(UpstreamState {
                calls: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
                max_in_flight: AtomicUsize::new(0),
                dropped: AtomicUsize::new(0),
                seen: Mutex::new(Vec::new()),
                responder,
                gate,
                started: Mutex::new(None),
            }),
        }
    }

    /// A channel that receives the options of every call as it starts.
    pub(crate) fn starts(&self) -> mpsc::UnboundedReceiver<TokenRequestOptions> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.state.started.lock().unwrap() = Some(tx);
        rx
    }

    pub(crate) fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Calls whose future was dropped before it answered.
    pub(crate) fn dropped(&self) -> usize {
        self.state.dropped.load(Ordering::SeqCst)
    }

    pub(crate) fn seen(&self) -> Vec<TokenRequestOptions> {
        self.state.seen.lock().unwrap().clone()
    }
}

struct InFlight<'a>(&'a UpstreamState, bool);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !self.1 {
            self.0.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl TokenSourceConfigurable for Upstream {
    async fn fetch(
        &self,
        options: &TokenRequestOptions,
    ) -> Result<TokenSourceResponse, TokenSourceError> {
        let state = &*self.state;
        let n = state.calls.fetch_add(1, Ordering::SeqCst);
        let now_in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now_in_flight, Ordering::SeqCst);
        let mut guard = InFlight(state, false);
        state.seen.lock().unwrap().push(options.clone());
        if let Some(tx) = state.started.lock().unwrap().as_ref() {
            let _ = tx.send(options.clone());
        }
        if let Some(gate) = &state.gate {
            gate.acquire().await.expect("gate closed").forget();
        }
        let result =
            (state.responder)(n, options).map(|token| TokenSourceResponse::new(URL, token));
        guard.1 = true;
        result
    }
}

/// Records cache events.
#[derive(Clone, Default)]
pub(crate) struct Events {
    events: Arc<Mutex<VecDeque<CacheEvent>>>,
}

impl Events {
    pub(crate) fn observer(&self) -> impl Fn(&CacheEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.events);
        move |event| events.lock().unwrap().push_back(event.clone())
    }

    /// The events so far, as short names (`hit`, `miss:expired`, `joined`, …), drained.
    pub(crate) fn take(&self) -> Vec<String> {
        self.events.lock().unwrap().drain(..).map(|event| name(&event)).collect()
    }
}

pub(crate) fn name(event: &CacheEvent) -> String {
    match event {
        CacheEvent::Hit => "hit".into(),
        CacheEvent::Miss { reason } => format!("miss:{reason}"),
        CacheEvent::Joined => "joined".into(),
        CacheEvent::RefreshStarted => "refresh-started".into(),
        CacheEvent::Stored { refresh: false } => "stored".into(),
        CacheEvent::Stored { refresh: true } => "refreshed".into(),
        CacheEvent::Discarded => "discarded".into(),
        CacheEvent::Failed { refresh: false, .. } => "failed".into(),
        CacheEvent::Failed { refresh: true, .. } => "refresh-failed".into(),
        CacheEvent::Invalidated => "invalidated".into(),
        other => format!("{other:?}"),
    }
}

/// The `sub` claim of a response's token.
pub(crate) fn sub(response: &TokenSourceResponse) -> String {
    response.claims().expect("a JWT").identity.unwrap_or_default()
}

/// Lets every runnable task on a current-thread runtime run until it blocks.
pub(crate) async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}
