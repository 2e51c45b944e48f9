//! The token cache: validity, single flight, invalidation, refresh-ahead and events.
//!
//! The rules, each tested below and in `tests/integration/caching.rs`:
//!
//! 1. A cached response is served iff its options equal the requested options, the token is a
//!    JWT, `nbf` is absent or `now >= nbf`, and `exp` is present with `now + margin < exp`
//!    (margin 60 s by default). A token without `exp`, or not a JWT, is never served from the
//!    cache. (LiveKit's JS SDK instead serves a token without `exp` or `nbf` forever.)
//! 2. `exp` and `nbf` are decoded once, when an entry is stored.
//! 3. The key is the whole options value. The default store keeps the most recently used
//!    `capacity` entries (1 by default, LiveKit's single slot).
//! 4. Only successful fetches are stored, each with the options it was fetched for; a failed
//!    fetch leaves every entry as it was.
//! 5. Single flight per options: concurrent misses for equal options share one upstream call;
//!    different options fetch in parallel. The call is driven by whichever waiter polls, so a
//!    cancelled caller does not strand the others, and it is dropped (cancelled) when every
//!    waiter is gone. A failure reaches every waiter.
//! 6. [`CachingTokenSource::invalidate`] clears the store and detaches the fetches in flight:
//!    their current waiters still get their results, but those results are not cached, and
//!    fetches after `invalidate` start new upstream calls. Nothing obtained before
//!    `invalidate` is served after it.
//! 7. Time comes from the [`Clock`] in [`CacheOptions`].
//! 8. Optional refresh-ahead: a hit on a token within `window` (plus a random part of `jitter`)
//!    of the end of its validity starts one background refresh; callers keep getting the valid
//!    cached token meanwhile. A failed refresh is retried after `retry_after` at the earliest.

mod events;
mod store;

use std::{
    fmt,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, SystemTime},
};

use futures_util::{
    FutureExt as _,
    future::{BoxFuture, Shared, WeakShared},
};

use self::events::Observers;
pub use self::{
    events::{CacheEvent, MissReason, Subscription},
    store::{CachedToken, MemoryTokenStore, TokenStore},
};
use crate::{
    Clock, SystemClock, TokenRequestOptions, TokenSourceError, TokenSourceResponse,
    error::MessageError,
    sources::FixedAsConfigurable,
    traits::{DynConfigurable, FetchResult, TokenSourceConfigurable, TokenSourceFixed},
};

/// The default expiry margin: a token is not served from the cache in the last minute of its
/// life, so the connection that uses it does not race its expiry.
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A custom validity check: given a cached entry whose options match and the current time,
/// may it be served?
pub type Validator = Arc<dyn Fn(&CachedToken, SystemTime) -> bool + Send + Sync>;

/// How a [`CachingTokenSource`] caches.
///
/// ```
/// use std::time::Duration;
/// use token_source::{CacheOptions, RefreshAhead};
///
/// let options = CacheOptions::new()
///     .with_capacity(4)
///     .with_expiry_margin(Duration::from_secs(30))
///     .with_refresh_ahead(RefreshAhead::new(Duration::from_secs(300)).with_jitter(Duration::from_secs(60)));
/// ```
#[derive(Clone)]
pub struct CacheOptions {
    capacity: usize,
    expiry_margin: Duration,
    refresh_ahead: Option<RefreshAhead>,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn TokenStore>>,
    validator: Option<Validator>,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            capacity: 1,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            refresh_ahead: None,
            clock: Arc::new(SystemClock),
            store: None,
            validator: None,
        }
    }
}

impl CacheOptions {
    /// The defaults: one entry, a 60 s expiry margin, no refresh-ahead, the system clock, the
    /// in-memory store and the expiry validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many option sets the default in-memory store keeps (at least 1). Ignored when a
    /// custom store is set.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How long before `exp` a token stops being served from the cache.
    pub fn with_expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// Refreshes tokens in the background shortly before they stop being served. Needs a
    /// running tokio runtime at the time of the fetch that triggers it (without one the token
    /// is simply fetched again once it is no longer valid).
    pub fn with_refresh_ahead(mut self, refresh_ahead: RefreshAhead) -> Self {
        self.refresh_ahead = Some(refresh_ahead);
        self
    }

    /// The clock that decides expiry.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Stores entries in `store` instead of the in-memory store (for example to persist them).
    pub fn with_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Replaces the expiry check with `validator`. It is called only for entries whose options
    /// match the request. An always-true validator caches opaque (non-JWT) tokens forever; an
    /// always-false one disables caching.
    pub fn with_validator(
        mut self,
        validator: impl Fn(&CachedToken, SystemTime) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.validator = Some(Arc::new(validator));
        self
    }
}

impl fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheOptions")
            .field("capacity", &self.capacity)
            .field("expiry_margin", &self.expiry_margin)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("clock", &self.clock)
            .field("store", &self.store)
            .field("custom_validator", &self.validator.is_some())
            .finish()
    }
}

/// Background refresh of tokens that are about to stop being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshAhead {
    window: Duration,
    jitter: Duration,
    retry_after: Duration,
}

impl RefreshAhead {
    /// Refresh once a token has less than `window` left before it stops being served
    /// (`exp - margin`). No jitter; a failed refresh is retried after 5 s at the earliest.
    pub fn new(window: Duration) -> Self {
        Self { window, jitter: Duration::ZERO, retry_after: Duration::from_secs(5) }
    }

    /// Starts each token's refresh up to `jitter` earlier, at a random point fixed per token, so
    /// that many clients do not refresh at the same moment.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// How long to wait after a failed refresh before another is started.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }
}

/// Caches the responses of any token source. See the [module docs](self) for the exact rules.
///
/// Cheap to clone; clones share the cache. Dropping the last clone cancels background refreshes.
///
/// ```
/// use token_source::{CacheOptions, CachingTokenSource, TokenRequestOptions, TokenSource};
///
/// # async fn run(my_source: TokenSource) -> Result<(), token_source::TokenSourceError> {
/// let cached = CachingTokenSource::new(my_source, CacheOptions::new().with_capacity(2));
/// let response = cached.fetch(&TokenRequestOptions::new().with_room_name("a")).await?;
/// cached.invalidate();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CachingTokenSource {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    upstream: Arc<dyn DynConfigurable>,
    /// Set for fixed sources: every fetch uses the default options as its key.
    ignores_options: bool,
    default_options: TokenRequestOptions,
    store: Arc<dyn TokenStore>,
    validator: Option<Validator>,
    margin: Duration,
    refresh_ahead: Option<RefreshAhead>,
    clock: Arc<dyn Clock>,
    flights: Mutex<Flights>,
    observers: Arc<Observers>,
}

type FlightFuture = BoxFuture<'static, FetchResult>;

#[derive(Default)]
struct Flights {
    /// Bumped by `invalidate`; a flight stores its result only if it is unchanged.
    generation: u64,
    next_id: u64,
    /// Upstream fetches in flight. Weak, so that a fetch nobody waits for is dropped.
    active: Vec<Flight>,
    /// Options whose background refresh failed, and when it may be tried again.
    refresh_backoff: Vec<(TokenRequestOptions, SystemTime)>,
    /// Background refresh tasks, aborted when the cache is dropped or invalidated.
    refresh_tasks: Vec<tokio::task::AbortHandle>,
}

struct Flight {
    id: u64,
    options: TokenRequestOptions,
    future: WeakShared<FlightFuture>,
}

impl CachingTokenSource {
    /// Caches the responses of a configurable source.
    pub fn new(source: impl TokenSourceConfigurable, options: CacheOptions) -> Self {
        Self::from_dyn(Arc::new(source), false, options)
    }

    /// Caches the responses of a fixed source (the request options are ignored).
    pub fn from_fixed(source: impl TokenSourceFixed, options: CacheOptions) -> Self {
        Self::from_dyn(Arc::new(FixedAsConfigurable(Arc::new(source))), true, options)
    }

    pub(crate) fn from_dyn(
        upstream: Arc<dyn DynConfigurable>,
        ignores_options: bool,
        options: CacheOptions,
    ) -> Self {
        let store =
            options.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new(options.capacity)));
        Self {
            inner: Arc::new(CacheInner {
                upstream,
                ignores_options,
                default_options: TokenRequestOptions::default(),
                store,
                validator: options.validator,
                margin: options.expiry_margin,
                refresh_ahead: options.refresh_ahead,
                clock: options.clock,
                flights: Mutex::new(Flights::default()),
                observers: Arc::new(Observers::default()),
            }),
        }
    }

    /// Returns the cached response for `options` if it is valid, else fetches one (sharing an
    /// upstream fetch already in flight for equal options) and caches it.
    pub async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        match self.inner.lookup(options) {
            Ok(response) => Ok(response),
            Err(reason) => self.inner.fetch_upstream(self.inner.key(options), reason).await,
        }
    }

    /// The cached response for `options` if it is valid, without going upstream: the hit path
    /// of [`fetch`](Self::fetch), synchronous (a hit is reported and may start a refresh, as in
    /// `fetch`). `None` means `fetch` would go upstream.
    pub fn try_cached(&self, options: &TokenRequestOptions) -> Option<TokenSourceResponse> {
        self.inner.lookup(options).ok()
    }

    /// Fetches a fresh response for `options` without looking at the cache, and caches it.
    /// It joins an upstream fetch already in flight for equal options (that one is fresh too).
    /// If it fails, the cache is unchanged.
    pub async fn refetch(&self, options: &TokenRequestOptions) -> FetchResult {
        self.inner.fetch_upstream(self.inner.key(options), MissReason::Forced).await
    }

    /// Clears the cache. Fetches in flight still answer their current waiters, but their
    /// results are not cached; later fetches start new upstream calls.
    pub fn invalidate(&self) {
        let (detached, tasks) = {
            let mut flights = self.inner.lock_flights();
            flights.generation += 1;
            flights.refresh_backoff.clear();
            self.inner.store.clear();
            (std::mem::take(&mut flights.active), std::mem::take(&mut flights.refresh_tasks))
        };
        drop(detached);
        for task in tasks {
            task.abort();
        }
        self.inner.observers.emit(CacheEvent::Invalidated);
    }

    /// The most recently cached response, without checking its validity.
    pub fn cached_response(&self) -> Option<TokenSourceResponse> {
        self.inner.store.latest().map(|entry| entry.response().clone())
    }

    /// The entry cached for `options`, without checking its validity.
    pub fn cached_entry(&self, options: &TokenRequestOptions) -> Option<CachedToken> {
        self.inner.store.get(self.inner.key(options))
    }

    /// Calls `observer` for every [`CacheEvent`] until the returned [`Subscription`] is dropped.
    ///
    /// Observers run synchronously on the thread that caused the event (a fetching task), so
    /// they must be quick; they may call back into the cache.
    pub fn subscribe(
        &self,
        observer: impl Fn(&CacheEvent) + Send + Sync + 'static,
    ) -> Subscription {
        self.inner.observers.subscribe(Arc::new(observer))
    }
}

impl TokenSourceConfigurable for CachingTokenSource {
    async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        CachingTokenSource::fetch(self, options).await
    }
}

impl fmt::Debug for CachingTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingTokenSource")
            .field("store", &self.inner.store)
            .field("expiry_margin", &self.inner.margin)
            .field("refresh_ahead", &self.inner.refresh_ahead)
            .field("custom_validator", &self.inner.validator.is_some())
            .field("clock", &self.inner.clock)
            .field("observers", &self.inner.observers)
            .finish_non_exhaustive()
    }
}

impl CacheInner {
    fn key<'a>(&'a self, options: &'a TokenRequestOptions) -> &'a TokenRequestOptions {
        if self.ignores_options { &self.default_options } else { options }
    }

    fn lock_flights(&self) -> MutexGuard<'_, Flights> {
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The valid cached response for `options`, or why there is none.
    fn lookup(
        self: &Arc<Self>,
        options: &TokenRequestOptions,
    ) -> Result<TokenSourceResponse, MissReason> {
        let now = self.clock.now();
        let entry = self.store.get(self.key(options)).ok_or(MissReason::NotCached)?;
        self.check(&entry, now)?;
        self.observers.emit(CacheEvent::Hit);
        self.maybe_refresh(&entry, now);
        Ok(entry.response().clone())
    }

    /// Whether `entry` (whose options match) may be served at `now`.
    fn check(&self, entry: &CachedToken, now: SystemTime) -> Result<(), MissReason> {
        if let Some(validator) = &self.validator {
            return if validator(entry, now) { Ok(()) } else { Err(MissReason::Rejected) };
        }
        let Some(expires_at) = entry.expires_at() else {
            return Err(MissReason::Uncacheable);
        };
        if entry.not_before().is_some_and(|not_before| now < not_before) {
            return Err(MissReason::NotYetValid);
        }
        match now.checked_add(self.margin) {
            Some(deadline) if deadline < expires_at => Ok(()),
            _ => Err(MissReason::Expired),
        }
    }

    async fn fetch_upstream(
        self: &Arc<Self>,
        key: &TokenRequestOptions,
        reason: MissReason,
    ) -> FetchResult {
        let (future, event) = {
            let mut flights = self.lock_flights();
            if let Some(future) = flights.join(key) {
                (future, CacheEvent::Joined)
            } else {
                // A flight may have completed between the lookup and taking the lock.
                if reason != MissReason::Forced {
                    let entry = self.store.get(key);
                    if let Some(entry) = entry.filter(|e| self.check(e, self.clock.now()).is_ok()) {
                        drop(flights);
                        self.observers.emit(CacheEvent::Hit);
                        return Ok(entry.response().clone());
                    }
                }
                (self.start_flight(&mut flights, key.clone(), false), CacheEvent::Miss { reason })
            }
        };
        self.observers.emit(event);
        future.await
    }

    /// Registers a new upstream fetch for `options` and returns its shared future. The caller
    /// holds the flights lock and must not drop the returned future while holding it.
    fn start_flight(
        self: &Arc<Self>,
        flights: &mut Flights,
        options: TokenRequestOptions,
        refresh: bool,
    ) -> Shared<FlightFuture> {
        let id = flights.next_id;
        flights.next_id += 1;
        let generation = flights.generation;
        let upstream = Arc::clone(&self.upstream);
        let mut guard = FlightGuard { cache: Arc::downgrade(self), options: options.clone(), id };
        let future: FlightFuture = Box::pin(async move {
            let result =
                match AssertUnwindSafe(upstream.fetch_dyn(&guard.options)).catch_unwind().await {
                    Ok(result) => result,
                    Err(_) => Err(TokenSourceError::Custom {
                        error: Arc::new(MessageError("the token source panicked".to_owned())),
                    }),
                };
            guard.complete(generation, refresh, &result);
            result
        });
        let shared = future.shared();
        flights.active.retain(|flight| flight.options != options);
        if let Some(weak) = shared.downgrade() {
            flights.active.push(Flight { id, options, future: weak });
        }
        shared
    }

    /// Starts a background refresh if `entry` is inside its refresh window.
    fn maybe_refresh(self: &Arc<Self>, entry: &CachedToken, now: SystemTime) {
        let Some(policy) = self.refresh_ahead else { return };
        let Some(expires_at) = entry.expires_at() else { return };
        let lead = self.margin + policy.window + entry.jitter_offset(policy.jitter);
        if expires_at.checked_sub(lead).is_some_and(|start| now < start) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::trace!(target: "token_source::cache", "no tokio runtime: refresh-ahead skipped");
            return;
        };
        let options = entry.options();
        let future = {
            let mut flights = self.lock_flights();
            let in_flight = flights.active.iter().any(|flight| &flight.options == options);
            let backing_off =
                flights.refresh_backoff.iter().any(|(o, until)| o == options && now < *until);
            if in_flight || backing_off {
                return;
            }
            self.start_flight(&mut flights, options.clone(), true)
        };
        self.observers.emit(CacheEvent::RefreshStarted);
        // Spawned without the lock held: if the runtime is shutting down the task (and with it
        // the flight's guard, which takes the lock) is dropped right here.
        let task = runtime.spawn(async move {
            let _ = future.await;
        });
        let mut flights = self.lock_flights();
        flights.refresh_tasks.retain(|task| !task.is_finished());
        flights.refresh_tasks.push(task.abort_handle());
    }
}

impl Flights {
    /// The shared future of the upstream fetch in flight for `options`, if any. The caller
    /// must not drop it while holding the lock.
    fn join(&self, options: &TokenRequestOptions) -> Option<Shared<FlightFuture>> {
        self.active
            .iter()
            .find(|flight| &flight.options == options)
            .and_then(|flight| flight.future.upgrade())
    }
}

impl Drop for CacheInner {
    fn drop(&mut self) {
        let flights = self.flights.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in flights.refresh_tasks.drain(..) {
            task.abort();
        }
    }
}

/// Lives inside a flight's future: records the outcome when the fetch completes, and removes
/// the flight from the registry if the future is dropped before completing (every waiter was
/// cancelled).
struct FlightGuard {
    cache: Weak<CacheInner>,
    options: TokenRequestOptions,
    id: u64,
}

impl FlightGuard {
    fn complete(&mut self, generation: u64, refresh: bool, result: &FetchResult) {
        let cache = std::mem::take(&mut self.cache);
        let Some(cache) = cache.upgrade() else { return };
        // Decode the token before taking the lock.
        let entry = result
            .as_ref()
            .ok()
            .map(|response| CachedToken::new(self.options.clone(), response.clone()));
        let event = {
            let mut flights = cache.lock_flights();
            flights.active.retain(|flight| flight.id != self.id);
            let current = flights.generation == generation;
            match (result, entry) {
                (Ok(_), Some(entry)) if current => {
                    cache.store.put(entry);
                    flights.refresh_backoff.retain(|(options, _)| options != &self.options);
                    CacheEvent::Stored { refresh }
                }
                (Ok(_), _) => CacheEvent::Discarded,
                (Err(error), _) => {
                    if refresh && current {
                        let retry_after =
                            cache.refresh_ahead.map_or(Duration::ZERO, |p| p.retry_after);
                        flights.refresh_backoff.retain(|(options, _)| options != &self.options);
                        if let Some(until) = cache.clock.now().checked_add(retry_after) {
                            flights.refresh_backoff.push((self.options.clone(), until));
                        }
                    }
                    CacheEvent::Failed { error: error.clone(), refresh }
                }
            }
        };
        cache.observers.emit(event);
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            cache.lock_flights().active.retain(|flight| flight.id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        cell::Cell,
        collections::VecDeque,
        future::Future,
        sync::atomic::{AtomicUsize, Ordering},
        time::UNIX_EPOCH,
    };

    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;
    use crate::{ManualClock, claims::tests::DECODES};

    fn token(sub: usize, nbf: Option<i64>, exp: Option<i64>) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::json!({ "sub": sub.to_string(), "nbf": nbf, "exp": exp });
        format!("e30.{}.sig", engine.encode(payload.to_string()))
    }

    fn secs(time: SystemTime) -> i64 {
        time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }

    /// Answers from a script of `Some(ttl)` (a token valid for `ttl` seconds from the clock's
    /// now) and `None` (a failure).
    struct Scripted {
        clock: ManualClock,
        script: Mutex<VecDeque<Option<i64>>>,
        calls: AtomicUsize,
    }

    impl TokenSourceConfigurable for Arc<Scripted> {
        async fn fetch(&self, _options: &TokenRequestOptions) -> FetchResult {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let now = secs(self.clock.now());
            match self.script.lock().unwrap().pop_front().flatten() {
                Some(ttl) => {
                    Ok(TokenSourceResponse::new("wss://x", token(n, Some(now), Some(now + ttl))))
                }
                None => Err(TokenSourceError::custom("scripted failure")),
            }
        }
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn claims_are_decoded_once_per_stored_token_not_per_hit() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
        let source = Arc::new(Scripted {
            clock: clock.clone(),
            script: Mutex::new(VecDeque::from([Some(3600)])),
            calls: AtomicUsize::new(0),
        });
        let cache = CachingTokenSource::new(source, CacheOptions::new().with_clock(clock));
        let options = TokenRequestOptions::new();
        DECODES.with(|count| count.set(0));
        run(async {
            for _ in 0..100 {
                cache.fetch(&options).await.unwrap();
            }
        });
        assert_eq!(DECODES.with(Cell::get), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Fetch(u8),
        Refetch(u8),
        Invalidate,
        Advance(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..3).prop_map(Op::Fetch),
            1 => (0u8..3).prop_map(Op::Refetch),
            1 => Just(Op::Invalidate),
            2 => (0u16..4000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The cache against a model: which fetches go upstream, what each returns, and what
        /// stays cached, under random fetches, refetches, failures, invalidations and time.
        #[test]
        fn the_cache_behaves_like_its_model(
            capacity in 1usize..4,
            margin in 0u64..120,
            ops in proptest::collection::vec(op(), 1..60),
            script in proptest::collection::vec(proptest::option::weighted(0.8, 1i64..4000), 60),
        ) {
            let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
            let source = Arc::new(Scripted {
                clock: clock.clone(),
                script: Mutex::new(script.clone().into()),
                calls: AtomicUsize::new(0),
            });
            let cache = CachingTokenSource::new(
                Arc::clone(&source),
                CacheOptions::new()
                    .with_clock(clock.clone())
                    .with_capacity(capacity)
                    .with_expiry_margin(Duration::from_secs(margin)),
            );
            // Model: most recently used first, (room, token, exp).
            let mut model: Vec<(u8, String, i64)> = Vec::new();
            let mut script: VecDeque<Option<i64>> = script.into();
            run(async {
                for op in ops {
                    let now = secs(clock.now());
                    match op {
                        Op::Advance(by) => clock.advance(Duration::from_secs(by.into())),
                        Op::Invalidate => {
                            cache.invalidate();
                            model.clear();
                        }
                        Op::Fetch(room) | Op::Refetch(room) => {
                            let options = TokenRequestOptions::new().with_room_name(room.to_string());
                            let forced = matches!(op, Op::Refetch(_));
                            let calls_before = source.calls.load(Ordering::SeqCst);
                            let result = if forced { cache.refetch(&options).await } else { cache.fetch(&options).await };
                            let position = model.iter().position(|(r, _, _)| *r == room);
                            let valid = position.filter(|&i| now + (margin as i64) < model[i].2 && !forced);
                            let went_upstream = source.calls.load(Ordering::SeqCst) > calls_before;
                            match valid {
                                Some(i) => {
                                    prop_assert!(!went_upstream);
                                    let entry = model.remove(i);
                                    let response = result.unwrap();
                                    prop_assert_eq!(response.participant_token(), entry.1.as_str());
                                    model.insert(0, entry);
                                }
                                None => {
                                    prop_assert!(went_upstream);
                                    match script.pop_front().flatten() {
                                        Some(ttl) => {
                                            let response = result.unwrap();
                                            model.retain(|(r, _, _)| *r != room);
                                            model.insert(0, (room, response.participant_token().to_owned(), now + ttl));
                                            model.truncate(capacity);
                                        }
                                        None => {
                                            prop_assert!(result.is_err());
                                            // A failure leaves the model as it was, except that a
                                            // (non-forced) lookup moved the entry to the front.
                                            if let Some(i) = position.filter(|_| !forced) {
                                                let entry = model.remove(i);
                                                model.insert(0, entry);
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
}
