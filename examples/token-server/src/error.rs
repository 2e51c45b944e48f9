//! The errors of this crate: [`ConfigError`] for configuration, and the JSON error responses of
//! the endpoint.
//!
//! Neither ever contains the API secret, the bearer token or a minted token.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Why a [`TokenServerConfig`](crate::TokenServerConfig) (or the listen address) is invalid.
///
/// Messages name the offending setting (the environment variable, when read from the
/// environment) but never repeat a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting is set but empty.
    #[error("{name} is set but empty")]
    Empty {
        /// The setting (an environment variable name or a config field).
        name: &'static str,
    },
    /// An environment variable is not valid Unicode.
    #[error("{name} is not valid UTF-8")]
    NotUnicode {
        /// The environment variable.
        name: &'static str,
    },
    /// A key, secret or bearer token contains whitespace or control characters (often a stray
    /// newline from `$(cat file)`).
    #[error("{name} contains whitespace or control characters")]
    InvalidCharacters {
        /// The setting.
        name: &'static str,
    },
    /// Only one of the API key and the API secret is set: they belong together.
    #[error("{set} is set but {missing} is not: set both, or neither for the dev keys")]
    IncompleteKeyPair {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// The LiveKit URL is not an absolute `ws`, `wss`, `http` or `https` URL.
    #[error("{name} is not a valid LiveKit URL: {reason}")]
    InvalidUrl {
        /// The setting.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The token TTL is zero or not a whole number of seconds.
    #[error("{name} must be a whole number of seconds greater than zero, got `{value}`")]
    InvalidTtl {
        /// The setting.
        name: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A CORS origin is not `scheme://host[:port]` (http or https, no path).
    #[error("invalid CORS origin `{value}`: {reason}")]
    InvalidOrigin {
        /// The rejected origin.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A CORS allowed header is not a valid header name.
    #[error("invalid CORS allowed header name `{value}`")]
    InvalidHeaderName {
        /// The rejected name.
        value: String,
    },
    /// The maximum request body size is zero.
    #[error("the maximum request body size must be greater than zero")]
    ZeroBodyLimit,
    /// A timeout or the connection limit is zero.
    #[error("{name} must be greater than zero")]
    ZeroLimit {
        /// The setting.
        name: &'static str,
    },
    /// A number of seconds or connections is not a whole number greater than zero.
    #[error("{name} must be a whole number greater than zero, got `{value}`")]
    InvalidNumber {
        /// The setting (an environment variable or a command-line flag).
        name: &'static str,
        /// The rejected value.
        value: String,
    },
    /// The log filter is neither a level nor `RUST_LOG` directives.
    #[error(
        "{name} is not a log level (error, warn, info, debug, trace, off) or a RUST_LOG filter: {reason}"
    )]
    InvalidLogFilter {
        /// The setting.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The listen address is not `ip:port`.
    #[error("{name} is not a socket address (ip:port), got `{value}`")]
    InvalidAddress {
        /// The setting.
        name: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// Why [`serve`](crate::serve) stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is invalid; nothing was served.
    #[error("invalid token server configuration: {0}")]
    Config(#[from] ConfigError),
    /// Serving failed.
    #[error("the token server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// An error answer of the endpoint: a status and a message, sent as `{"error": "<message>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// Whether to send `WWW-Authenticate: Bearer` (401 with bearer authentication).
    pub(crate) bearer_challenge: bool,
    /// Whether to close the connection after the answer (`Connection: close`).
    pub(crate) close: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), bearer_challenge: false, close: false }
    }

    /// Closes the connection after the answer (the request was not read to its end).
    pub(crate) fn closing(self) -> Self {
        Self { close: true, ..self }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if self.bearer_challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.close {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
