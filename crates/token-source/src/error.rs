//! The errors of this crate.
//!
//! [`TokenSourceError`] is what a fetch returns; [`ClaimsError`] is what decoding a token's claims
//! returns. Neither ever contains a participant token, a sandbox ID or a header value: response
//! bodies are reduced to a short excerpt with every secret (the value of a token-like key,
//! anything JWT-shaped, long token-like runs) replaced by `[redacted]` (see [`crate::redact`]).
//!
//! Every message is complete on its own: a variant that wraps another error prints that error
//! in its `Display` and does not also return it from [`std::error::Error::source`], so an error
//! report (`{:#}` of `anyhow`, `Caused by:` lists) never prints a cause twice.

use std::{error::Error as StdError, fmt, sync::Arc, time::Duration};

/// A boxed error, as returned by app-defined token sources (see [`crate::TokenSource::custom`]).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a token source could not produce credentials.
///
/// The enum is `Clone` so that one failed upstream fetch can be handed to every caller that was
/// waiting for it (see the single-flight rule in [`crate::CachingTokenSource`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenSourceError {
    /// The endpoint URL (or the sandbox base URL) is not an absolute `http`/`https` URL.
    #[error("invalid token endpoint URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The source is configured with something that cannot be sent: an invalid header name or
    /// value, or a sandbox ID with no alphanumeric characters.
    #[error("invalid token source configuration: {reason}")]
    InvalidConfiguration {
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP request failed before a response arrived (connection refused, DNS, TLS, reset).
    #[error("could not reach the token endpoint: {reason}")]
    Transport {
        /// The error chain, without the URL (already in the message).
        reason: String,
        /// The underlying HTTP client error, without the URL. Not a `source()`: its chain is
        /// [`reason`](TokenSourceError::Transport::reason).
        error: Arc<reqwest::Error>,
    },
    /// The endpoint did not deliver a complete response within the configured timeout.
    #[error("the token endpoint did not answer within {}", fmt_duration(*.timeout))]
    Timeout {
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The endpoint answered with a status outside `200..=299`.
    #[error("the token endpoint answered HTTP {status}{}", fmt_excerpt(.body_excerpt))]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, with token-like strings redacted.
        body_excerpt: String,
    },
    /// The endpoint answered 2xx, but the body is not a token response: not JSON, a missing or
    /// empty `server_url`/`participant_token`, or larger than the size cap.
    #[error("invalid token endpoint response: {reason}")]
    InvalidResponse {
        /// What is wrong with it (never the body itself).
        reason: String,
    },
    /// An app-defined token source (a closure or a trait implementation) failed or panicked.
    #[error("the custom token source failed: {error}")]
    Custom {
        /// The error the app returned (already in the message, so not a `source()`).
        error: Arc<dyn StdError + Send + Sync + 'static>,
    },
}

impl TokenSourceError {
    /// Wraps an app error as [`TokenSourceError::Custom`].
    ///
    /// A boxed `TokenSourceError` is unwrapped instead of nested, so a custom source that calls
    /// another source keeps the typed error.
    pub fn custom(error: impl Into<BoxError>) -> Self {
        match error.into().downcast::<TokenSourceError>() {
            Ok(typed) => *typed,
            Err(other) => TokenSourceError::Custom { error: Arc::from(other) },
        }
    }

    /// Whether trying again later could succeed (transport failures, timeouts, 5xx and 429).
    pub fn is_transient(&self) -> bool {
        match self {
            TokenSourceError::Transport { .. } | TokenSourceError::Timeout { .. } => true,
            TokenSourceError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Why a token's claims could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The token is not three dot-separated parts (a JWS in compact form).
    #[error("the token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    /// The payload part is not valid base64url.
    #[error("the token payload is not valid base64url")]
    InvalidBase64,
    /// The payload is not a JSON object with claims of the expected types.
    #[error("the token payload is not valid claims JSON: {reason}")]
    InvalidJson {
        /// Where parsing failed (never the payload itself).
        reason: String,
    },
}

fn fmt_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

fn fmt_excerpt(excerpt: &str) -> String {
    if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") }
}

/// Describes a JSON error by kind and position only: serde's messages can quote the input.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match error.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected value",
        Category::Eof => "unexpected end of input",
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

/// A plain message error, for panics and other failures that carry only text.
#[derive(Debug)]
pub(crate) struct MessageError(pub(crate) String);

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for MessageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_unwraps_a_boxed_token_source_error() {
        let inner = TokenSourceError::Timeout { timeout: Duration::from_secs(3) };
        let wrapped = TokenSourceError::custom(Box::new(inner) as BoxError);
        assert!(matches!(wrapped, TokenSourceError::Timeout { .. }));
    }

    #[test]
    fn custom_wraps_other_errors() {
        let wrapped = TokenSourceError::custom("backend down");
        assert!(matches!(wrapped, TokenSourceError::Custom { .. }));
        assert_eq!(wrapped.to_string(), "the custom token source failed: backend down");
    }

    /// What an error report prints: the message, then every `source()` in turn.
    fn report(error: &(dyn StdError + 'static)) -> String {
        let mut parts = vec![error.to_string()];
        let mut cause = error.source();
        while let Some(next) = cause {
            parts.push(next.to_string());
            cause = next.source();
        }
        parts.join("\nCaused by: ")
    }

    #[test]
    fn a_wrapped_cause_is_printed_once_in_a_report() {
        let custom = TokenSourceError::custom(std::io::Error::other("backend down"));
        assert_eq!(custom.to_string(), "the custom token source failed: backend down");
        assert!(custom.source().is_none());
        assert_eq!(report(&custom).matches("backend down").count(), 1, "{}", report(&custom));

        let panicked = TokenSourceError::Custom {
            error: Arc::new(MessageError("the token source panicked".into())),
        };
        assert_eq!(report(&panicked), "the custom token source failed: the token source panicked");
    }

    #[tokio::test]
    async fn a_transport_error_prints_its_chain_once_and_without_the_url() {
        // A port nothing listens on (loopback only): the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/secret-path", listener.local_addr().unwrap());
        drop(listener);
        let http = reqwest::Client::new().post(&url).send().await.unwrap_err().without_url();
        let error = TokenSourceError::Transport {
            reason: "connection refused".into(),
            error: Arc::new(http),
        };
        assert!(error.source().is_none());
        assert_eq!(report(&error), "could not reach the token endpoint: connection refused");
        assert!(!report(&error).contains("secret-path"));
    }

    #[test]
    fn no_variant_has_a_source() {
        let errors = [
            TokenSourceError::InvalidUrl { reason: "x".into() },
            TokenSourceError::InvalidConfiguration { reason: "x".into() },
            TokenSourceError::Timeout { timeout: Duration::from_secs(1) },
            TokenSourceError::Status { status: 500, body_excerpt: "x".into() },
            TokenSourceError::InvalidResponse { reason: "x".into() },
            TokenSourceError::custom("x"),
        ];
        for error in errors {
            assert!(error.source().is_none(), "{error:?}");
        }
    }

    #[test]
    fn display_of_status_and_timeout() {
        let status = TokenSourceError::Status { status: 403, body_excerpt: "forbidden".into() };
        assert_eq!(status.to_string(), "the token endpoint answered HTTP 403: forbidden");
        let empty = TokenSourceError::Status { status: 500, body_excerpt: String::new() };
        assert_eq!(empty.to_string(), "the token endpoint answered HTTP 500");
        let timeout = TokenSourceError::Timeout { timeout: Duration::from_millis(1500) };
        assert_eq!(timeout.to_string(), "the token endpoint did not answer within 1500 ms");
        let timeout = TokenSourceError::Timeout { timeout: Duration::from_secs(10) };
        assert_eq!(timeout.to_string(), "the token endpoint did not answer within 10 s");
    }

    #[test]
    fn transience() {
        assert!(TokenSourceError::Timeout { timeout: Duration::ZERO }.is_transient());
        assert!(
            TokenSourceError::Status { status: 503, body_excerpt: String::new() }.is_transient()
        );
        assert!(
            TokenSourceError::Status { status: 429, body_excerpt: String::new() }.is_transient()
        );
        assert!(
            !TokenSourceError::Status { status: 401, body_excerpt: String::new() }.is_transient()
        );
        assert!(!TokenSourceError::InvalidResponse { reason: String::new() }.is_transient());
    }
}
