//! `TokenSource` for Swift and Kotlin: thin wrappers over `token_source`.

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use token_source::{CacheOptions, DevelopmentTokenServerOptions, EndpointOptions, RefreshAhead};

use crate::{
    error::{CallbackError, TokenSourceError},
    runtime::{self, runtime},
    task_handle::{Gate, TaskHandle},
};

/// What to ask a token source for. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct TokenRequestOptions {
    /// The room to join.
    #[uniffi(default = None)]
    pub room_name: Option<String>,
    /// The participant's display name.
    #[uniffi(default = None)]
    pub participant_name: Option<String>,
    /// The participant's identity.
    #[uniffi(default = None)]
    pub participant_identity: Option<String>,
    /// The participant's metadata.
    #[uniffi(default = None)]
    pub participant_metadata: Option<String>,
    /// The participant's attributes.
    #[uniffi(default)]
    pub participant_attributes: HashMap<String, String>,
    /// The agent to dispatch into the room.
    #[uniffi(default = None)]
    pub agent_name: Option<String>,
    /// Metadata for the dispatched agent.
    #[uniffi(default = None)]
    pub agent_metadata: Option<String>,
    /// The agent deployment to dispatch from.
    #[uniffi(default = None)]
    pub agent_deployment: Option<String>,
}

impl From<TokenRequestOptions> for token_source::TokenRequestOptions {
    fn from(options: TokenRequestOptions) -> Self {
        let mut core = token_source::TokenRequestOptions::new()
            .with_participant_attributes(options.participant_attributes);
        core.room_name = options.room_name;
        core.participant_name = options.participant_name;
        core.participant_identity = options.participant_identity;
        core.participant_metadata = options.participant_metadata;
        core.agent_name = options.agent_name;
        core.agent_metadata = options.agent_metadata;
        core.agent_deployment = options.agent_deployment;
        core
    }
}

impl From<token_source::TokenRequestOptions> for TokenRequestOptions {
    fn from(core: token_source::TokenRequestOptions) -> Self {
        Self {
            room_name: core.room_name,
            participant_name: core.participant_name,
            participant_identity: core.participant_identity,
            participant_metadata: core.participant_metadata,
            participant_attributes: core.participant_attributes.into_iter().collect(),
            agent_name: core.agent_name,
            agent_metadata: core.agent_metadata,
            agent_deployment: core.agent_deployment,
        }
    }
}

/// Credentials for joining a room. An object (not a record) so that the token never shows up
/// in a generated `toString`/`description`.
#[derive(Debug, uniffi::Object)]
pub struct TokenSourceResponse(pub(crate) token_source::TokenSourceResponse);

/// The claims of a participant token that apps read, decoded without verifying the signature.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TokenClaims {
    /// The participant identity (`sub`).
    pub identity: Option<String>,
    /// The participant name.
    pub name: Option<String>,
    /// The participant metadata.
    pub metadata: Option<String>,
    /// The room the token grants.
    pub room: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// The agents the token dispatches.
    pub agent_names: Vec<String>,
}

#[uniffi::export]
impl TokenSourceResponse {
    /// Credentials from a server URL and a participant token.
    #[uniffi::constructor(default(participant_name = None, room_name = None))]
    pub fn new(
        server_url: String,
        participant_token: String,
        participant_name: Option<String>,
        room_name: Option<String>,
    ) -> Arc<Self> {
        let mut response = token_source::TokenSourceResponse::new(server_url, participant_token);
        if let Some(name) = participant_name {
            response = response.with_participant_name(name);
        }
        if let Some(room) = room_name {
            response = response.with_room_name(room);
        }
        Arc::new(Self(response))
    }

    /// The LiveKit server URL.
    pub fn server_url(&self) -> String {
        self.0.server_url().to_owned()
    }

    /// The participant token.
    pub fn participant_token(&self) -> String {
        self.0.participant_token().to_owned()
    }

    /// The participant name, if the source reported it.
    pub fn participant_name(&self) -> Option<String> {
        self.0.participant_name().map(str::to_owned)
    }

    /// The room name, if the source reported it.
    pub fn room_name(&self) -> Option<String> {
        self.0.room_name().map(str::to_owned)
    }

    /// Whether the token asks LiveKit to dispatch an agent.
    pub fn dispatches_agent(&self) -> bool {
        self.0.dispatches_agent()
    }

    /// The token's claims, or `None` if it is not a decodable JWT.
    pub fn claims(&self) -> Option<TokenClaims> {
        let claims = self.0.claims().ok()?;
        Some(TokenClaims {
            room: claims.video.as_ref().and_then(|video| video.room.clone()),
            expires_at: claims.exp,
            agent_names: claims
                .room_config
                .iter()
                .flat_map(|config| &config.agents)
                .filter_map(|agent| agent.agent_name.clone())
                .collect(),
            identity: claims.identity,
            name: claims.name,
            metadata: claims.metadata,
        })
    }
}

/// A token source written in Swift or Kotlin: your own async function behind the cache.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait TokenSourceConfigurable: Send + Sync {
    /// Fetches credentials for `options`.
    async fn fetch(
        &self,
        options: TokenRequestOptions,
    ) -> Result<Arc<TokenSourceResponse>, TokenSourceError>;
}

/// Adapts a foreign source to the core trait.
struct ForeignSource(Arc<dyn TokenSourceConfigurable>);

impl token_source::TokenSourceConfigurable for ForeignSource {
    async fn fetch(
        &self,
        options: &token_source::TokenRequestOptions,
    ) -> token_source::FetchResult {
        match self.0.fetch(options.clone().into()).await {
            Ok(response) => Ok(response.0.clone()),
            Err(error) => Err(error.into()),
        }
    }
}

/// Why a fetch was not answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MissReason {
    /// Nothing cached for these options.
    NotCached,
    /// The cached token expires within the margin.
    Expired,
    /// The cached token is not valid yet.
    NotYetValid,
    /// The cached token has no expiry or is not a JWT.
    Uncacheable,
    /// A custom validator rejected it.
    Rejected,
    /// A refetch was asked for.
    Forced,
}

/// Something the cache did. Its description is a short phrase ("cache hit", "cache miss (not
/// cached)", …), so a logged event reads as what happened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum CacheEvent {
    /// Answered from the cache.
    Hit,
    /// Went upstream.
    Miss {
        /// Why.
        reason: MissReason,
    },
    /// Joined an upstream fetch already in flight.
    Joined,
    /// A background refresh started.
    RefreshStarted,
    /// An upstream fetch succeeded and was cached.
    Stored {
        /// Whether it was a background refresh.
        refresh: bool,
    },
    /// An upstream fetch succeeded after an invalidation and was not cached.
    Discarded,
    /// An upstream fetch failed; the cache is unchanged.
    Failed {
        /// The error.
        error: TokenSourceError,
        /// Whether it was a background refresh.
        refresh: bool,
    },
    /// The cache was cleared.
    Invalidated,
}

impl From<&token_source::CacheEvent> for CacheEvent {
    fn from(event: &token_source::CacheEvent) -> Self {
        use token_source::{CacheEvent as Core, MissReason as Reason};
        match event {
            Core::Hit => CacheEvent::Hit,
            Core::Miss { reason } => CacheEvent::Miss {
                reason: match reason {
                    Reason::NotCached => MissReason::NotCached,
                    Reason::Expired => MissReason::Expired,
                    Reason::NotYetValid => MissReason::NotYetValid,
                    Reason::Uncacheable => MissReason::Uncacheable,
                    Reason::Rejected => MissReason::Rejected,
                    _ => MissReason::Forced,
                },
            },
            Core::Joined => CacheEvent::Joined,
            Core::RefreshStarted => CacheEvent::RefreshStarted,
            Core::Stored { refresh } => CacheEvent::Stored { refresh: *refresh },
            Core::Discarded => CacheEvent::Discarded,
            Core::Failed { error, refresh } => {
                CacheEvent::Failed { error: error.clone().into(), refresh: *refresh }
            }
            _ => CacheEvent::Invalidated,
        }
    }
}

impl fmt::Display for CacheEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheEvent::Hit => f.write_str("cache hit"),
            CacheEvent::Miss { reason } => {
                write!(f, "cache miss ({})", token_source::MissReason::from(*reason))
            }
            CacheEvent::Joined => f.write_str("joined a fetch in flight"),
            CacheEvent::RefreshStarted => f.write_str("background refresh started"),
            CacheEvent::Stored { refresh: false } => f.write_str("stored in the cache"),
            CacheEvent::Stored { refresh: true } => {
                f.write_str("stored in the cache (background refresh)")
            }
            CacheEvent::Discarded => {
                f.write_str("not stored: the cache was invalidated during the fetch")
            }
            CacheEvent::Failed { error, refresh: false } => {
                write!(f, "fetch failed: {}", error.clause())
            }
            CacheEvent::Failed { error, refresh: true } => {
                write!(f, "background refresh failed: {}", error.clause())
            }
            CacheEvent::Invalidated => f.write_str("cache invalidated"),
        }
    }
}

impl From<MissReason> for token_source::MissReason {
    fn from(reason: MissReason) -> Self {
        match reason {
            MissReason::NotCached => token_source::MissReason::NotCached,
            MissReason::Expired => token_source::MissReason::Expired,
            MissReason::NotYetValid => token_source::MissReason::NotYetValid,
            MissReason::Uncacheable => token_source::MissReason::Uncacheable,
            MissReason::Rejected => token_source::MissReason::Rejected,
            MissReason::Forced => token_source::MissReason::Forced,
        }
    }
}

/// Receives cache events on the thread that caused them: a Rust thread for upstream fetches,
/// the calling thread for hits and `invalidate()`.
#[uniffi::export(foreign)]
pub trait CacheObserver: Send + Sync {
    /// Called for every cache event; keep it quick.
    fn on_event(&self, event: CacheEvent) -> Result<(), CallbackError>;
}

/// Where a session gets its credentials. Literal sources never cache; custom, endpoint and
/// development-server sources cache (a token is reused until 60 s before it expires, for the
/// same options).
#[derive(Debug, uniffi::Object)]
pub struct TokenSource {
    pub(crate) inner: token_source::TokenSource,
}

impl TokenSource {
    fn wrap(inner: token_source::TokenSource) -> Arc<Self> {
        Arc::new(Self { inner })
    }

    /// The core's cache hit path, inside the crate's runtime (a hit may start a background
    /// refresh).
    fn cached_hit(
        &self,
        options: &token_source::TokenRequestOptions,
    ) -> Option<Arc<TokenSourceResponse>> {
        let _runtime = runtime().enter();
        self.inner.try_cached(options).map(|response| Arc::new(TokenSourceResponse(response)))
    }
}

#[uniffi::export]
impl TokenSource {
    /// Fixed credentials.
    #[uniffi::constructor]
    pub fn literal(server_url: String, participant_token: String) -> Arc<Self> {
        Self::wrap(token_source::TokenSource::literal(server_url, participant_token))
    }

    /// Your own source (a Swift closure or protocol, a Kotlin lambda or interface), cached.
    #[uniffi::constructor]
    pub fn custom(source: Arc<dyn TokenSourceConfigurable>) -> Arc<Self> {
        Self::wrap(token_source::TokenSource::from_configurable(ForeignSource(source)))
    }

    /// A standard token endpoint, cached. `method` defaults to POST, the timeout to 10 s.
    /// Header values never appear in errors or logs.
    // (A bare default must come last: uniffi 0.32 parses it only there.)
    #[uniffi::constructor(default(method = "POST", timeout_ms = 10000, headers))]
    pub fn endpoint(
        url: String,
        method: String,
        headers: HashMap<String, String>,
        timeout_ms: u64,
    ) -> Result<Arc<Self>, TokenSourceError> {
        let method =
            token_source::reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
                TokenSourceError::Configuration {
                    reason: format!("invalid HTTP method `{method}`"),
                }
            })?;
        let options = EndpointOptions::new()
            .with_method(method)
            .with_headers(headers)
            .with_timeout(Duration::from_millis(timeout_ms));
        Ok(Self::wrap(token_source::TokenSource::endpoint_with(url, options)))
    }

    /// LiveKit Cloud's development token server (formerly "sandbox"), cached. The sandbox ID
    /// never appears in errors or logs.
    #[uniffi::constructor(default(base_url = None))]
    pub fn development_token_server(sandbox_id: String, base_url: Option<String>) -> Arc<Self> {
        let mut options = DevelopmentTokenServerOptions::new();
        if let Some(base_url) = base_url {
            options = options.with_base_url(base_url);
        }
        Self::wrap(token_source::TokenSource::development_token_server_with(&sandbox_id, options))
    }

    /// The development token server under its former name.
    #[uniffi::constructor(default(base_url = None))]
    pub fn sandbox_token_server(sandbox_id: String, base_url: Option<String>) -> Arc<Self> {
        Self::development_token_server(sandbox_id, base_url)
    }

    /// Fetches credentials (from the cache when valid).
    pub async fn fetch(
        &self,
        options: TokenRequestOptions,
    ) -> Result<Arc<TokenSourceResponse>, TokenSourceError> {
        let options = options.into();
        // A hit is answered in the first poll, without a hop to the runtime's threads.
        if let Some(hit) = self.cached_hit(&options) {
            return Ok(hit);
        }
        let source = self.inner.clone();
        let response = runtime::run(async move { source.fetch(&options).await }).await?;
        Ok(Arc::new(TokenSourceResponse(response)))
    }

    /// The cached response for `options` if it is valid, synchronously (`None`: `fetch` would
    /// call the source). The cheapest way to get a cached token from Swift or Kotlin.
    pub fn fetch_cached(&self, options: TokenRequestOptions) -> Option<Arc<TokenSourceResponse>> {
        self.cached_hit(&options.into())
    }

    /// Fetches fresh credentials, bypassing (and then updating) the cache.
    pub async fn refetch(
        &self,
        options: TokenRequestOptions,
    ) -> Result<Arc<TokenSourceResponse>, TokenSourceError> {
        let source = self.inner.clone();
        let options = options.into();
        let response = runtime::run(async move { source.refetch(&options).await }).await?;
        Ok(Arc::new(TokenSourceResponse(response)))
    }

    /// Clears the cache.
    pub fn invalidate(&self) {
        self.inner.invalidate();
    }

    /// The most recently cached response, unvalidated.
    pub fn cached_response(&self) -> Option<Arc<TokenSourceResponse>> {
        self.inner.cached_response().map(|response| Arc::new(TokenSourceResponse(response)))
    }

    /// Whether fetches go through a cache.
    pub fn is_cached(&self) -> bool {
        self.inner.is_cached()
    }

    /// The same source with a new cache: `capacity` option sets, tokens not served in the last
    /// `expiry_margin_ms` before expiry, and optional background refresh `refresh_ahead_ms`
    /// before that.
    #[uniffi::method(default(capacity = 1, expiry_margin_ms = 60000, refresh_ahead_ms = None))]
    pub fn with_cache(
        &self,
        capacity: u32,
        expiry_margin_ms: u64,
        refresh_ahead_ms: Option<u64>,
    ) -> Arc<TokenSource> {
        let mut options = CacheOptions::new()
            .with_capacity(usize::try_from(capacity).unwrap_or(usize::MAX))
            .with_expiry_margin(Duration::from_millis(expiry_margin_ms));
        if let Some(window) = refresh_ahead_ms {
            options = options.with_refresh_ahead(RefreshAhead::new(Duration::from_millis(window)));
        }
        Self::wrap(self.inner.clone().with_cache(options))
    }

    /// The same source without a cache.
    pub fn without_cache(&self) -> Arc<TokenSource> {
        Self::wrap(self.inner.clone().without_cache())
    }

    /// Calls `observer` for every cache event until the handle is cancelled or dropped.
    pub fn observe_cache(&self, observer: Arc<dyn CacheObserver>) -> Arc<TaskHandle> {
        let gate = Gate::default();
        let open = gate.clone();
        let subscription =
            self.inner.subscribe(move |event| open.call(|| observer.on_event(event.into())));
        TaskHandle::for_subscription(subscription, gate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_convert_both_ways_without_loss() {
        let options = TokenRequestOptions {
            room_name: Some("r".into()),
            participant_name: Some("n".into()),
            participant_identity: Some("i".into()),
            participant_metadata: Some("m".into()),
            participant_attributes: [("k".to_owned(), "v".to_owned())].into(),
            agent_name: Some("a".into()),
            agent_metadata: Some("am".into()),
            agent_deployment: Some("d".into()),
        };
        let core: token_source::TokenRequestOptions = options.clone().into();
        assert_eq!(core.participant_attributes.get("k").map(String::as_str), Some("v"));
        assert_eq!(TokenRequestOptions::from(core), options);
    }

    #[test]
    fn invalid_methods_are_configuration_errors() {
        let error =
            TokenSource::endpoint("https://x".into(), "BAD METHOD".into(), HashMap::new(), 1)
                .unwrap_err();
        assert!(matches!(error, TokenSourceError::Configuration { .. }));
    }

    #[test]
    fn cache_controls_build_new_sources() {
        let source = TokenSource::literal("wss://x".into(), "t".into());
        assert!(!source.is_cached());
        let cached = source.with_cache(2, 1000, Some(5000));
        assert!(cached.is_cached());
        assert!(!cached.without_cache().is_cached());
    }

    #[test]
    fn cache_events_describe_themselves() {
        let cases = [
            (CacheEvent::Hit, "cache hit"),
            (CacheEvent::Miss { reason: MissReason::NotCached }, "cache miss (not cached)"),
            (CacheEvent::Miss { reason: MissReason::Expired }, "cache miss (expired)"),
            (CacheEvent::Joined, "joined a fetch in flight"),
            (CacheEvent::RefreshStarted, "background refresh started"),
            (CacheEvent::Stored { refresh: false }, "stored in the cache"),
            (CacheEvent::Stored { refresh: true }, "stored in the cache (background refresh)"),
            (CacheEvent::Discarded, "not stored: the cache was invalidated during the fetch"),
            (CacheEvent::Invalidated, "cache invalidated"),
            (
                CacheEvent::Failed {
                    error: TokenSourceError::Network { reason: "offline".into() },
                    refresh: true,
                },
                "background refresh failed: the token server could not be reached (offline)",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(event.to_string(), expected);
        }
    }

    #[test]
    fn responses_expose_fields_and_claims() {
        let response =
            TokenSourceResponse::new("wss://x".into(), "not-a-jwt".into(), None, Some("r".into()));
        assert_eq!(response.server_url(), "wss://x");
        assert_eq!(response.room_name().as_deref(), Some("r"));
        assert_eq!(response.claims(), None);
        assert!(!response.dispatches_agent());
        assert!(!format!("{response:?}").contains("not-a-jwt"));
    }
}
