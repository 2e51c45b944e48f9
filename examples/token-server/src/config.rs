//! [`TokenServerConfig`]: keys, URL, TTL, CORS, authentication and limits. The binary's
//! command line and environment are read by [`crate::cli`].

use std::{fmt, sync::Arc, time::Duration};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header::AUTHORIZATION};
use token_source::{TokenRequestOptions, redact::Secret};

use crate::error::{ApiError, ConfigError};

/// The API key of `livekit-server --dev`.
pub const DEFAULT_API_KEY: &str = "devkey";
/// The API secret of `livekit-server --dev`.
pub const DEFAULT_API_SECRET: &str = "secret";
/// The LiveKit URL returned to clients by default: a local `livekit-server --dev`.
pub const DEFAULT_LIVEKIT_URL: &str = "ws://localhost:7880";
/// How long minted tokens are valid by default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(60 * 60);
/// The largest request body accepted by default (larger bodies get 413).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;
/// The address the binary listens on by default.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";
/// How long a client may take to send a request's line and headers, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body, by default.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections [`serve`](crate::serve) handles at once by default (well under the
/// usual limit of 1024 open files); more wait in the listen queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long a graceful shutdown waits for requests in flight by default, before it closes the
/// connections that are left.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

type AuthHook = Arc<dyn Fn(&HeaderMap) -> Result<(), String> + Send + Sync>;
type RequestPolicy = Arc<dyn Fn(&TokenRequestOptions) -> Result<(), String> + Send + Sync>;

/// How requests are authenticated.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    /// Every request is accepted.
    #[default]
    None,
    /// `Authorization: Bearer <token>` with exactly this token.
    Bearer(Arc<str>),
    /// The application's own check.
    Custom(AuthHook),
}

impl Auth {
    /// Checks the request headers: `Err` is a 401.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let unauthorized = |message: String| ApiError::new(StatusCode::UNAUTHORIZED, message);
        match self {
            Auth::None => Ok(()),
            Auth::Custom(hook) => hook(headers).map_err(unauthorized),
            Auth::Bearer(expected) => {
                let challenge = |message: &str| ApiError {
                    bearer_challenge: true,
                    ..unauthorized(message.to_owned())
                };
                let Some(value) = headers.get(AUTHORIZATION) else {
                    return Err(challenge("missing `Authorization: Bearer <token>` header"));
                };
                let Some(presented) = value.to_str().ok().and_then(bearer_token) else {
                    return Err(challenge("the `Authorization` header is not `Bearer <token>`"));
                };
                if constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
                    Ok(())
                } else {
                    Err(challenge("invalid bearer token"))
                }
            }
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(token) => f.debug_tuple("Bearer").field(&Secret(token)).finish(),
            Auth::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// The token from `Bearer <token>` (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares without stopping at the first difference (the length is not hidden).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The token server's configuration. `Default` is a development setup: the keys of
/// `livekit-server --dev`, `ws://localhost:7880`, 1 h tokens, any CORS origin, no
/// authentication, 16 KiB bodies; and limits against slow or stuck clients: 10 s to send the
/// headers, 10 s for the body, 512 connections at once, 5 s for a graceful shutdown.
///
/// `Debug` never shows the API secret or the bearer token.
///
/// ```
/// use std::time::Duration;
/// use token_server::TokenServerConfig;
///
/// let config = TokenServerConfig::default()
///     .with_api_key("APIabc123")
///     .with_api_secret("a-long-random-secret")
///     .with_livekit_url("wss://my-project.livekit.cloud")
///     .with_token_ttl(Duration::from_secs(15 * 60))
///     .with_allowed_origin("https://app.example.com")
///     .with_bearer_token("shared-secret-of-my-app");
/// assert!(config.validate().is_ok());
/// assert!(!format!("{config:?}").contains("a-long-random-secret"));
/// ```
#[derive(Clone)]
pub struct TokenServerConfig {
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
    pub(crate) livekit_url: String,
    pub(crate) token_ttl: Duration,
    /// Empty: any origin.
    pub(crate) allowed_origins: Vec<String>,
    /// Allowed in CORS requests besides `Content-Type` and `Authorization`.
    pub(crate) allowed_headers: Vec<String>,
    pub(crate) auth: Auth,
    pub(crate) request_policy: Option<RequestPolicy>,
    pub(crate) max_body_bytes: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for TokenServerConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            api_secret: DEFAULT_API_SECRET.to_owned(),
            livekit_url: DEFAULT_LIVEKIT_URL.to_owned(),
            token_ttl: DEFAULT_TOKEN_TTL,
            allowed_origins: Vec::new(),
            allowed_headers: Vec::new(),
            auth: Auth::None,
            request_policy: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl TokenServerConfig {
    /// The development configuration (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the configuration from the environment, on top of [`Default`]:
    ///
    /// | Variable | Meaning | When unset |
    /// |---|---|---|
    /// | `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET` | signing keys (set both or neither) | `devkey` / `secret` |
    /// | `LIVEKIT_URL` | the URL returned to clients (`ws`, `wss`, `http`, `https`) | `ws://localhost:7880` |
    /// | `TOKEN_SERVER_BEARER` | require `Authorization: Bearer <value>` | no authentication |
    /// | `TOKEN_SERVER_TTL_SECS` | token lifetime in seconds | 3600 |
    /// | `TOKEN_SERVER_ALLOWED_ORIGINS` | comma-separated CORS origins, or `*` | any origin |
    /// | `TOKEN_SERVER_HEADER_TIMEOUT_SECS` | seconds to send the request line and headers | 10 |
    /// | `TOKEN_SERVER_BODY_TIMEOUT_SECS` | seconds to send the body | 10 |
    /// | `TOKEN_SERVER_MAX_CONNECTIONS` | connections handled at once | 512 |
    /// | `TOKEN_SERVER_SHUTDOWN_TIMEOUT_SECS` | seconds a graceful shutdown waits | 5 |
    ///
    /// A variable that is set but empty or invalid is an error, never silently ignored. The
    /// binary reads the same settings from its command line too (see [`crate::Cli`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        crate::cli::Cli::from_env().config()
    }

    /// Sets the API key tokens are signed for (their `iss`).
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = api_key.into();
        self
    }

    /// Sets the API secret tokens are signed with.
    pub fn with_api_secret(mut self, api_secret: impl Into<String>) -> Self {
        self.api_secret = api_secret.into();
        self
    }

    /// Sets the LiveKit server URL returned to clients as `server_url`.
    pub fn with_livekit_url(mut self, url: impl Into<String>) -> Self {
        self.livekit_url = url.into();
        self
    }

    /// Sets how long minted tokens are valid (whole seconds, at least one).
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Allows browsers on `origin` (`scheme://host[:port]`) to call the endpoint. Without any
    /// allowed origin, every origin is allowed. Normalized like browsers send it
    /// (`https://app.example.com:443/` is `https://app.example.com`).
    pub fn with_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Allows browsers on any origin (the default), dropping the allowed origins.
    pub fn with_any_origin(mut self) -> Self {
        self.allowed_origins.clear();
        self
    }

    /// Allows browsers to send `name` (for example the header your
    /// [`with_auth`](Self::with_auth) check reads) besides `Content-Type` and `Authorization`.
    pub fn with_allowed_header(mut self, name: impl Into<String>) -> Self {
        self.allowed_headers.push(name.into());
        self
    }

    /// Requires `Authorization: Bearer <token>` with exactly `token` (compared in constant
    /// time); other requests get 401. Replaces a [`with_auth`](Self::with_auth) check.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Bearer(Arc::from(token.into()));
        self
    }

    /// Authenticates requests with your own check of their headers (a session cookie, an API
    /// key header…). `Err(message)` answers 401 with `{"error": message}`. Replaces a
    /// [`with_bearer_token`](Self::with_bearer_token) check.
    pub fn with_auth(
        mut self,
        check: impl Fn(&HeaderMap) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.auth = Auth::Custom(Arc::new(check));
        self
    }

    /// Removes authentication: every request gets a token.
    pub fn without_auth(mut self) -> Self {
        self.auth = Auth::None;
        self
    }

    /// Rejects request options your application does not allow ("if a given field shouldn't
    /// be configurable, return a 4xx"): `Err(message)` answers 422 with `{"error": message}`.
    /// Runs after authentication and the built-in checks.
    pub fn with_request_policy(
        mut self,
        policy: impl Fn(&TokenRequestOptions) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.request_policy = Some(Arc::new(policy));
        self
    }

    /// Sets the largest request body accepted; larger bodies get 413.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Sets how long a client may take to send a request's line and headers (also how long an
    /// idle kept-alive connection stays open); then [`serve`](crate::serve) closes the
    /// connection.
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets how long a client may take to send a request's body; then the request gets 408 and
    /// the connection is closed.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets how many connections [`serve`](crate::serve) handles at once; more wait in the
    /// listen queue until one closes. Keep it under the process's open-file limit.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets how long a graceful shutdown of [`serve`](crate::serve) waits for requests in
    /// flight before it closes the remaining connections, whatever their clients do.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The API key tokens are signed for.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The LiveKit URL returned to clients.
    pub fn livekit_url(&self) -> &str {
        &self.livekit_url
    }

    /// How long minted tokens are valid.
    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// The largest request body accepted.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long a client may take to send a request's line and headers.
    pub fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// How long a client may take to send a request's body.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    /// How many connections are handled at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// How long a graceful shutdown waits for requests in flight.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Whether the keys are the well-known development keys (`devkey` / `secret`).
    pub fn uses_dev_keys(&self) -> bool {
        self.api_key == DEFAULT_API_KEY && self.api_secret == DEFAULT_API_SECRET
    }

    /// Whether requests must authenticate.
    pub fn requires_auth(&self) -> bool {
        !matches!(self.auth, Auth::None)
    }

    /// Checks every setting; [`serve`](crate::serve) refuses an invalid configuration, and
    /// [`router`](crate::router) logs a warning (minting then fails with 500).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_credential("api_key", &self.api_key)?;
        check_credential("api_secret", &self.api_secret)?;
        check_url("livekit_url", &self.livekit_url)?;
        if self.token_ttl.as_secs() == 0 {
            return Err(ConfigError::InvalidTtl {
                name: "token_ttl",
                value: format!("{:?}", self.token_ttl),
            });
        }
        for origin in &self.allowed_origins {
            parse_origin(origin)?;
        }
        for name in &self.allowed_headers {
            parse_header_name(name)?;
        }
        if let Auth::Bearer(token) = &self.auth {
            check_credential("bearer_token", token)?;
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let limits = [
            ("header_read_timeout", self.header_read_timeout.is_zero()),
            ("body_read_timeout", self.body_read_timeout.is_zero()),
            ("max_connections", self.max_connections == 0),
            ("shutdown_timeout", self.shutdown_timeout.is_zero()),
        ];
        if let Some((name, _)) = limits.iter().find(|(_, zero)| *zero) {
            return Err(ConfigError::ZeroLimit { name });
        }
        Ok(())
    }
}

impl fmt::Debug for TokenServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Origins<'a>(&'a [String]);
        impl fmt::Debug for Origins<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0.is_empty() {
                    f.write_str("Any")
                } else {
                    f.debug_list().entries(self.0).finish()
                }
            }
        }
        f.debug_struct("TokenServerConfig")
            .field("api_key", &self.api_key)
            .field("api_secret", &Secret(&self.api_secret))
            .field("livekit_url", &self.livekit_url)
            .field("token_ttl", &self.token_ttl)
            .field("allowed_origins", &Origins(&self.allowed_origins))
            .field("allowed_headers", &self.allowed_headers)
            .field("auth", &self.auth)
            .field("request_policy", &self.request_policy.is_some())
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

/// The address to listen on: `TOKEN_SERVER_ADDR` (`ip:port`), or `127.0.0.1:8080`.
pub fn listen_addr_from_env() -> Result<std::net::SocketAddr, ConfigError> {
    crate::cli::Cli::from_env().listen_addr()
}

/// A key, secret or bearer token: not empty, visible ASCII or non-ASCII text without
/// whitespace or control characters.
pub(crate) fn check_credential(name: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::Empty { name });
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::InvalidCharacters { name });
    }
    Ok(())
}

pub(crate) fn check_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl { name, reason };
    if value.is_empty() {
        return Err(ConfigError::Empty { name });
    }
    let url = url::Url::parse(value).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "ws" | "wss" | "http" | "https") {
        return Err(invalid(format!(
            "the scheme is `{}`, not ws, wss, http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    Ok(())
}

/// An origin as browsers send it in the `Origin` header.
pub(crate) fn parse_origin(value: &str) -> Result<HeaderValue, ConfigError> {
    let invalid =
        |reason: &'static str| ConfigError::InvalidOrigin { value: value.to_owned(), reason };
    let url = url::Url::parse(value.trim()).map_err(|_| invalid("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(invalid("it has no host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an origin has no path, query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("an origin has no credentials"));
    }
    HeaderValue::from_str(&url.origin().ascii_serialization())
        .map_err(|_| invalid("not a valid header value"))
}

pub(crate) fn parse_header_name(value: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(value.trim().as_bytes())
        .map_err(|_| ConfigError::InvalidHeaderName { value: value.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        headers
    }

    #[test]
    fn defaults_are_the_dev_server() {
        let config = TokenServerConfig::default();
        assert_eq!(config.api_key(), "devkey");
        assert!(config.uses_dev_keys());
        assert_eq!(config.livekit_url(), "ws://localhost:7880");
        assert_eq!(config.token_ttl(), Duration::from_secs(3600));
        assert_eq!(config.max_body_bytes(), 16 * 1024);
        assert!(!config.requires_auth());
        assert!(config.validate().is_ok());
        assert_eq!(config.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(config.body_read_timeout(), Duration::from_secs(10));
        assert_eq!(config.max_connections(), 512);
        assert_eq!(config.shutdown_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn validate_catches_programmatic_mistakes() {
        let base = TokenServerConfig::default;
        assert_eq!(base().with_api_key("").validate(), Err(ConfigError::Empty { name: "api_key" }));
        assert_eq!(
            base().with_api_secret("a b").validate(),
            Err(ConfigError::InvalidCharacters { name: "api_secret" })
        );
        assert!(matches!(
            base().with_token_ttl(Duration::from_millis(500)).validate(),
            Err(ConfigError::InvalidTtl { .. })
        ));
        assert!(matches!(
            base().with_allowed_origin("app.example.com").validate(),
            Err(ConfigError::InvalidOrigin { .. })
        ));
        assert!(matches!(
            base().with_allowed_header("bad header").validate(),
            Err(ConfigError::InvalidHeaderName { .. })
        ));
        assert_eq!(base().with_max_body_bytes(0).validate(), Err(ConfigError::ZeroBodyLimit));
        assert_eq!(
            base().with_max_connections(0).validate(),
            Err(ConfigError::ZeroLimit { name: "max_connections" })
        );
        assert_eq!(
            base().with_shutdown_timeout(Duration::ZERO).validate(),
            Err(ConfigError::ZeroLimit { name: "shutdown_timeout" })
        );
        assert_eq!(
            base().with_bearer_token("").validate(),
            Err(ConfigError::Empty { name: "bearer_token" })
        );
        assert!(base().with_livekit_url("wss://").validate().is_err());
    }

    #[test]
    fn origins_are_normalized_like_browsers_send_them() {
        assert_eq!(
            parse_origin("https://App.Example.com:443/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(parse_origin("http://localhost:3000").unwrap(), "http://localhost:3000");
        for bad in
            ["*", "ws://a.example.com", "https://a.example.com/x", "https://u:p@a.example.com"]
        {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_auth_checks_scheme_and_token() {
        let auth = TokenServerConfig::default().with_bearer_token("s3cret").auth;
        assert!(auth.check(&headers("Bearer s3cret")).is_ok());
        assert!(auth.check(&headers("bearer  s3cret")).is_ok());
        for bad in ["Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret", "Bearer "] {
            let error = auth.check(&headers(bad)).unwrap_err();
            assert_eq!(error.status, 401, "{bad}");
            assert!(error.bearer_challenge);
            assert!(!error.message.contains("s3cret"), "{}", error.message);
        }
        let missing = auth.check(&HeaderMap::new()).unwrap_err();
        assert!(missing.message.contains("missing"), "{}", missing.message);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn custom_auth_reports_its_message() {
        let auth = TokenServerConfig::default()
            .with_auth(|headers| {
                headers.contains_key("x-api-key").then_some(()).ok_or_else(|| "no key".to_owned())
            })
            .auth;
        let mut ok = HeaderMap::new();
        ok.insert("x-api-key", HeaderValue::from_static("k"));
        assert!(auth.check(&ok).is_ok());
        let error = auth.check(&HeaderMap::new()).unwrap_err();
        assert_eq!((error.status.as_u16(), error.message.as_str()), (401, "no key"));
        assert!(!error.bearer_challenge);
    }

    #[test]
    fn debug_redacts_the_secret_and_the_bearer_token() {
        let config = TokenServerConfig::default()
            .with_api_secret("very-secret-api-secret")
            .with_bearer_token("very-secret-bearer");
        let debug = format!("{config:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("devkey") && debug.contains("<redacted, 22 bytes>"), "{debug}");
        assert!(debug.contains("allowed_origins: Any"), "{debug}");
    }
}
