//! [`TokenServerConfig`]: keys, URL, TTL, CORS, authentication and limits.

use std::{ffi::OsString, fmt, net::SocketAddr, sync::Arc, time::Duration};

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

const ENV_API_KEY: &str = "LIVEKIT_API_KEY";
const ENV_API_SECRET: &str = "LIVEKIT_API_SECRET";
const ENV_URL: &str = "LIVEKIT_URL";
const ENV_BEARER: &str = "TOKEN_SERVER_BEARER";
const ENV_TTL: &str = "TOKEN_SERVER_TTL_SECS";
const ENV_ORIGINS: &str = "TOKEN_SERVER_ALLOWED_ORIGINS";
const ENV_ADDR: &str = "TOKEN_SERVER_ADDR";

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
/// authentication, 16 KiB bodies.
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
    ///
    /// A variable that is set but empty or invalid is an error, never silently ignored.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// [`from_env`](Self::from_env) with another source of variables.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(value) => match value.into_string() {
                    Ok(value) if value.is_empty() => Err(ConfigError::Empty { name }),
                    Ok(value) => Ok(Some(value)),
                    Err(_) => Err(ConfigError::NotUnicode { name }),
                },
            }
        };
        let mut config = Self::default();
        match (var(ENV_API_KEY)?, var(ENV_API_SECRET)?) {
            (Some(key), Some(secret)) => {
                check_credential(ENV_API_KEY, &key)?;
                check_credential(ENV_API_SECRET, &secret)?;
                config = config.with_api_key(key).with_api_secret(secret);
            }
            (Some(_), None) => {
                return Err(ConfigError::IncompleteKeyPair {
                    set: ENV_API_KEY,
                    missing: ENV_API_SECRET,
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::IncompleteKeyPair {
                    set: ENV_API_SECRET,
                    missing: ENV_API_KEY,
                });
            }
            (None, None) => {}
        }
        if let Some(url) = var(ENV_URL)? {
            check_url(ENV_URL, &url)?;
            config = config.with_livekit_url(url);
        }
        if let Some(bearer) = var(ENV_BEARER)? {
            check_credential(ENV_BEARER, &bearer)?;
            config = config.with_bearer_token(bearer);
        }
        if let Some(ttl) = var(ENV_TTL)? {
            let invalid = || ConfigError::InvalidTtl { name: ENV_TTL, value: ttl.clone() };
            let seconds = ttl.trim().parse::<u64>().map_err(|_| invalid())?;
            if seconds == 0 {
                return Err(invalid());
            }
            config = config.with_token_ttl(Duration::from_secs(seconds));
        }
        if let Some(origins) = var(ENV_ORIGINS)? {
            let origins: Vec<&str> =
                origins.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
            if origins.is_empty() {
                return Err(ConfigError::Empty { name: ENV_ORIGINS });
            }
            if !origins.contains(&"*") {
                for origin in origins {
                    parse_origin(origin)?;
                    config = config.with_allowed_origin(origin);
                }
            }
        }
        config.validate()?;
        Ok(config)
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
            .finish()
    }
}

/// The address to listen on: `TOKEN_SERVER_ADDR` (`ip:port`), or `127.0.0.1:8080`.
pub fn listen_addr_from_env() -> Result<SocketAddr, ConfigError> {
    listen_addr_from(std::env::var_os(ENV_ADDR))
}

fn listen_addr_from(value: Option<OsString>) -> Result<SocketAddr, ConfigError> {
    let value = match value {
        None => DEFAULT_LISTEN_ADDR.to_owned(),
        Some(value) => {
            value.into_string().map_err(|_| ConfigError::NotUnicode { name: ENV_ADDR })?
        }
    };
    if value.is_empty() {
        return Err(ConfigError::Empty { name: ENV_ADDR });
    }
    value.trim().parse().map_err(|_| ConfigError::InvalidAddress { name: ENV_ADDR, value })
}

/// A key, secret or bearer token: not empty, visible ASCII or non-ASCII text without
/// whitespace or control characters.
fn check_credential(name: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::Empty { name });
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::InvalidCharacters { name });
    }
    Ok(())
}

fn check_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
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
    use std::collections::HashMap;

    use super::*;

    fn from_vars(vars: &[(&str, &str)]) -> Result<TokenServerConfig, ConfigError> {
        let vars: HashMap<String, OsString> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(*v))).collect();
        TokenServerConfig::from_lookup(|name| vars.get(name).cloned())
    }

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
        let from_env = from_vars(&[]).unwrap();
        assert!(from_env.uses_dev_keys() && !from_env.requires_auth());
    }

    #[test]
    fn env_overrides_everything() {
        let config = from_vars(&[
            ("LIVEKIT_API_KEY", "APIkey"),
            ("LIVEKIT_API_SECRET", "sekret-value"),
            ("LIVEKIT_URL", "wss://project.livekit.cloud"),
            ("TOKEN_SERVER_BEARER", "bearer-value"),
            ("TOKEN_SERVER_TTL_SECS", "600"),
            ("TOKEN_SERVER_ALLOWED_ORIGINS", "https://a.example.com, http://localhost:3000"),
        ])
        .unwrap();
        assert_eq!(config.api_key(), "APIkey");
        assert_eq!(config.api_secret, "sekret-value");
        assert_eq!(config.livekit_url(), "wss://project.livekit.cloud");
        assert_eq!(config.token_ttl(), Duration::from_secs(600));
        assert!(config.requires_auth());
        assert_eq!(config.allowed_origins, ["https://a.example.com", "http://localhost:3000"]);
        let any = from_vars(&[("TOKEN_SERVER_ALLOWED_ORIGINS", "https://a.example.com,*")]);
        assert!(any.unwrap().allowed_origins.is_empty());
    }

    #[test]
    fn invalid_env_values_are_typed_errors_without_secrets() {
        let cases: &[(&[(&str, &str)], ConfigError)] = &[
            (
                &[("LIVEKIT_API_KEY", ""), ("LIVEKIT_API_SECRET", "s")],
                ConfigError::Empty { name: "LIVEKIT_API_KEY" },
            ),
            (
                &[("LIVEKIT_API_KEY", "k")],
                ConfigError::IncompleteKeyPair {
                    set: "LIVEKIT_API_KEY",
                    missing: "LIVEKIT_API_SECRET",
                },
            ),
            (
                &[("LIVEKIT_API_SECRET", "s")],
                ConfigError::IncompleteKeyPair {
                    set: "LIVEKIT_API_SECRET",
                    missing: "LIVEKIT_API_KEY",
                },
            ),
            (
                &[("LIVEKIT_API_KEY", "k"), ("LIVEKIT_API_SECRET", "top-secret\n")],
                ConfigError::InvalidCharacters { name: "LIVEKIT_API_SECRET" },
            ),
            (&[("TOKEN_SERVER_BEARER", "")], ConfigError::Empty { name: "TOKEN_SERVER_BEARER" }),
            (
                &[("TOKEN_SERVER_BEARER", "two words")],
                ConfigError::InvalidCharacters { name: "TOKEN_SERVER_BEARER" },
            ),
            (
                &[("TOKEN_SERVER_TTL_SECS", "0")],
                ConfigError::InvalidTtl { name: "TOKEN_SERVER_TTL_SECS", value: "0".into() },
            ),
            (
                &[("TOKEN_SERVER_TTL_SECS", "1h")],
                ConfigError::InvalidTtl { name: "TOKEN_SERVER_TTL_SECS", value: "1h".into() },
            ),
            (
                &[("TOKEN_SERVER_ALLOWED_ORIGINS", " , ")],
                ConfigError::Empty { name: "TOKEN_SERVER_ALLOWED_ORIGINS" },
            ),
        ];
        for (vars, expected) in cases {
            assert_eq!(from_vars(vars).unwrap_err(), *expected, "{vars:?}");
        }
        let error = from_vars(&[("LIVEKIT_URL", "ftp://host")]).unwrap_err();
        assert!(matches!(error, ConfigError::InvalidUrl { name: "LIVEKIT_URL", .. }), "{error}");
        assert!(error.to_string().contains("ftp"), "{error}");
        let error = from_vars(&[("LIVEKIT_URL", "not a url")]).unwrap_err();
        assert!(matches!(error, ConfigError::InvalidUrl { .. }), "{error}");
        let error = from_vars(&[("TOKEN_SERVER_ALLOWED_ORIGINS", "https://a.example.com/app")])
            .unwrap_err();
        assert!(matches!(error, ConfigError::InvalidOrigin { .. }), "{error}");
        let secret = from_vars(&[("LIVEKIT_API_KEY", "k"), ("LIVEKIT_API_SECRET", "top-secret\n")])
            .unwrap_err()
            .to_string();
        assert!(!secret.contains("top-secret"), "{secret}");
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_env_values_are_errors() {
        use std::os::unix::ffi::OsStringExt;
        let error = TokenServerConfig::from_lookup(|name| {
            (name == "LIVEKIT_URL").then(|| OsString::from_vec(vec![0xff, 0xfe]))
        })
        .unwrap_err();
        assert_eq!(error, ConfigError::NotUnicode { name: "LIVEKIT_URL" });
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

    #[test]
    fn listen_address() {
        assert_eq!(listen_addr_from(None).unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(listen_addr_from(Some("0.0.0.0:9000".into())).unwrap().port(), 9000);
        assert!(matches!(
            listen_addr_from(Some("localhost".into())),
            Err(ConfigError::InvalidAddress { .. })
        ));
        assert_eq!(
            listen_addr_from(Some(OsString::new())),
            Err(ConfigError::Empty { name: "TOKEN_SERVER_ADDR" })
        );
    }
}
