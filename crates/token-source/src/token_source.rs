//! [`TokenSource`]: one handle for every kind of source, cached or not.

use std::{fmt, future::Future, sync::Arc};

use crate::{
    CacheOptions, CachingTokenSource, DevelopmentTokenServerOptions, EndpointOptions,
    EndpointTokenSource, TokenRequestOptions, TokenSourceConfigurable, TokenSourceFixed,
    TokenSourceResponse,
    cache::{CacheEvent, Subscription},
    error::BoxError,
    sources::{CustomFn, FixedAsConfigurable, Literal, LiteralFn},
    traits::{DynConfigurable, DynFixed, FetchResult},
};

/// Where a session gets its credentials. Cheap to clone (clones share the cache), `Send + Sync`.
///
/// | Constructor | Fetches | Cached by default |
/// |---|---|---|
/// | [`literal`](Self::literal) | returns the given credentials | no (nothing to refresh) |
/// | [`literal_fn`](Self::literal_fn) | calls your closure, without options | no |
/// | [`custom`](Self::custom) | calls your async closure with the options | yes |
/// | [`endpoint`](Self::endpoint) | POSTs the options to your token endpoint | yes |
/// | [`development_token_server`](Self::development_token_server) | asks LiveKit Cloud's development server | yes |
/// | [`from_fixed`](Self::from_fixed) / [`from_configurable`](Self::from_configurable) | your trait implementation | no / yes |
///
/// Caching follows LiveKit's documentation: a cached token is reused until it expires or the
/// options change. Opt out with [`without_cache`](Self::without_cache); tune it with
/// [`with_cache`](Self::with_cache). The exact rules are in [`CachingTokenSource`].
///
/// ```
/// use token_source::{TokenRequestOptions, TokenSource, TokenSourceResponse};
///
/// # async fn mint(room: Option<&str>) -> Result<String, std::io::Error> { Ok(String::new()) }
/// # async fn run() -> Result<(), token_source::TokenSourceError> {
/// let source = TokenSource::custom(|options: TokenRequestOptions| async move {
///     let token = mint(options.room_name.as_deref()).await?;
///     Ok(TokenSourceResponse::new("wss://example.livekit.cloud", token))
/// });
/// let response = source.fetch(&TokenRequestOptions::new().with_room_name("room name to join")).await?;
/// println!("connect to {} with a token of {} bytes", response.server_url(), response.participant_token().len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    kind: &'static str,
    upstream: Upstream,
    cache: Option<CachingTokenSource>,
}

#[derive(Clone)]
enum Upstream {
    Fixed(Arc<dyn DynFixed>),
    Configurable(Arc<dyn DynConfigurable>),
}

impl TokenSource {
    fn build(kind: &'static str, upstream: Upstream, cache: Option<CacheOptions>) -> Self {
        let cache = cache.map(|options| match &upstream {
            Upstream::Fixed(fixed) => CachingTokenSource::from_dyn(
                Arc::new(FixedAsConfigurable(Arc::clone(fixed))),
                true,
                options,
            ),
            Upstream::Configurable(source) => {
                CachingTokenSource::from_dyn(Arc::clone(source), false, options)
            }
        });
        Self { inner: Arc::new(SourceInner { kind, upstream, cache }) }
    }

    /// Fixed credentials, returned as they are (never cached: there is nothing to refresh).
    pub fn literal(server_url: impl Into<String>, participant_token: impl Into<String>) -> Self {
        Self::literal_response(TokenSourceResponse::new(server_url, participant_token))
    }

    /// Fixed credentials from a complete response (with participant or room name).
    pub fn literal_response(response: TokenSourceResponse) -> Self {
        Self::build("literal", Upstream::Fixed(Arc::new(Literal(response))), None)
    }

    /// Credentials from `fetch`, called on every fetch without options (not cached unless
    /// [`with_cache`](Self::with_cache) is used), like LiveKit JS's `TokenSource.literal(fn)`.
    pub fn literal_fn<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TokenSourceResponse, BoxError>> + Send,
    {
        Self::build("literal_fn", Upstream::Fixed(Arc::new(LiteralFn(fetch))), None)
    }

    /// Credentials from your own async function, which receives the request options. Cached:
    /// it is called again only when the cached token expires or the options change.
    ///
    /// Its errors (anything convertible to a boxed error, so `?` works) become
    /// [`TokenSourceError::Custom`](crate::TokenSourceError::Custom), except a returned
    /// `TokenSourceError`, which is passed through.
    pub fn custom<F, Fut>(fetch: F) -> Self
    where
        F: Fn(TokenRequestOptions) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<TokenSourceResponse, BoxError>> + Send,
    {
        let upstream = Upstream::Configurable(Arc::new(CustomFn(fetch)));
        Self::build("custom", upstream, Some(CacheOptions::default()))
    }

    /// A standard token endpoint at `url` (POST, JSON, 10 s timeout). Cached.
    ///
    /// An invalid URL is reported by every fetch as
    /// [`TokenSourceError::InvalidUrl`](crate::TokenSourceError::InvalidUrl).
    pub fn endpoint(url: impl AsRef<str>) -> Self {
        Self::endpoint_with(url, EndpointOptions::default())
    }

    /// A standard token endpoint with custom method, headers, timeout or client. Cached.
    pub fn endpoint_with(url: impl AsRef<str>, options: EndpointOptions) -> Self {
        let source = EndpointTokenSource::new(url, options);
        Self::build(
            "endpoint",
            Upstream::Configurable(Arc::new(source)),
            Some(CacheOptions::default()),
        )
    }

    /// LiveKit Cloud's development token server (formerly the "sandbox" token server), for
    /// development only. Cached. The sandbox ID never appears in `Debug` output or errors.
    pub fn development_token_server(sandbox_id: &str) -> Self {
        Self::development_token_server_with(sandbox_id, DevelopmentTokenServerOptions::default())
    }

    /// The development token server with another base URL or HTTP options. Cached.
    pub fn development_token_server_with(
        sandbox_id: &str,
        options: DevelopmentTokenServerOptions,
    ) -> Self {
        let source = EndpointTokenSource::development_token_server(sandbox_id, options);
        Self::build(
            "development_token_server",
            Upstream::Configurable(Arc::new(source)),
            Some(CacheOptions::default()),
        )
    }

    /// The same as [`development_token_server`](Self::development_token_server), under its
    /// former name.
    pub fn sandbox_token_server(sandbox_id: &str) -> Self {
        Self::development_token_server(sandbox_id)
    }

    /// The same as [`development_token_server_with`](Self::development_token_server_with),
    /// under its former name.
    pub fn sandbox_token_server_with(
        sandbox_id: &str,
        options: DevelopmentTokenServerOptions,
    ) -> Self {
        Self::development_token_server_with(sandbox_id, options)
    }

    /// Your own [`TokenSourceFixed`]. Not cached unless [`with_cache`](Self::with_cache) is
    /// used; the request options passed to fetches are ignored.
    pub fn from_fixed(source: impl TokenSourceFixed) -> Self {
        Self::build("fixed", Upstream::Fixed(Arc::new(source)), None)
    }

    /// Your own [`TokenSourceConfigurable`]. Cached, like [`custom`](Self::custom).
    pub fn from_configurable(source: impl TokenSourceConfigurable) -> Self {
        Self::build(
            "configurable",
            Upstream::Configurable(Arc::new(source)),
            Some(CacheOptions::default()),
        )
    }

    /// The same source with a new cache configured by `options` (a cache is added if it had
    /// none). Clones of the original keep the original cache.
    pub fn with_cache(self, options: CacheOptions) -> Self {
        Self::build(self.inner.kind, self.inner.upstream.clone(), Some(options))
    }

    /// The same source without a cache: every fetch calls the source.
    pub fn without_cache(self) -> Self {
        Self::build(self.inner.kind, self.inner.upstream.clone(), None)
    }

    /// Whether fetches go through a cache.
    pub fn is_cached(&self) -> bool {
        self.inner.cache.is_some()
    }

    /// Fetches credentials for `options` (from the cache when it holds a valid token for
    /// exactly these options). Fixed sources ignore `options`.
    pub async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        match (&self.inner.cache, &self.inner.upstream) {
            (Some(cache), _) => cache.fetch(options).await,
            (None, Upstream::Fixed(source)) => source.fetch_dyn().await,
            (None, Upstream::Configurable(source)) => source.fetch_dyn(options).await,
        }
    }

    /// The cached response for `options` if it is valid, synchronously; `None` when
    /// [`fetch`](Self::fetch) would call the source (always `None` without a cache). For callers
    /// that want to avoid an async round trip on a hit, such as the Swift and Kotlin bindings.
    pub fn try_cached(&self, options: &TokenRequestOptions) -> Option<TokenSourceResponse> {
        self.inner.cache.as_ref()?.try_cached(options)
    }

    /// Fetches fresh credentials, bypassing the cache, and caches them. A failure leaves the
    /// cache as it was. A session uses this for every start after the first, because an agent
    /// is only dispatched into a room when it is created.
    pub async fn refetch(&self, options: &TokenRequestOptions) -> FetchResult {
        match &self.inner.cache {
            Some(cache) => cache.refetch(options).await,
            None => self.fetch(options).await,
        }
    }

    /// Clears the cache (see [`CachingTokenSource::invalidate`]). No effect without a cache.
    pub fn invalidate(&self) {
        if let Some(cache) = &self.inner.cache {
            cache.invalidate();
        }
    }

    /// The most recently cached response, unvalidated; `None` without a cache.
    pub fn cached_response(&self) -> Option<TokenSourceResponse> {
        self.inner.cache.as_ref()?.cached_response()
    }

    /// The cache, if fetches go through one.
    pub fn cache(&self) -> Option<&CachingTokenSource> {
        self.inner.cache.as_ref()
    }

    /// Calls `observer` for every cache event until the [`Subscription`] is dropped. A source
    /// without a cache emits no events.
    pub fn subscribe(
        &self,
        observer: impl Fn(&CacheEvent) + Send + Sync + 'static,
    ) -> Subscription {
        match &self.inner.cache {
            Some(cache) => cache.subscribe(observer),
            None => Subscription::none(),
        }
    }
}

impl TokenSourceConfigurable for TokenSource {
    async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        TokenSource::fetch(self, options).await
    }
}

impl From<TokenSourceResponse> for TokenSource {
    fn from(response: TokenSourceResponse) -> Self {
        Self::literal_response(response)
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("kind", &self.inner.kind)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}
