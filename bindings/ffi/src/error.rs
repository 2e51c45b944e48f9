//! The errors Swift and Kotlin see: small and flat, one variant per thing a caller would do
//! differently. Field names avoid `message` and `cause` (they clash with the generated
//! Kotlin exception classes).
//!
//! Their `Display` is what people read (Kotlin `message`/`toString()`, Swift
//! `localizedDescription`): one sentence that says what failed, the detail once, and what to do,
//! for example "The token server answered HTTP 401 (unauthorized); check the app's credentials
//! for the token server." A failure of the app's own token source always says so.

use std::{fmt, time::Duration};

use session::ConnectionError;

/// Why a token source could not produce credentials. Its description is one sentence: what
/// failed, the detail and what to do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TokenSourceError {
    /// The source is misconfigured (invalid URL, header or sandbox ID): fix the configuration.
    Configuration {
        /// What is wrong.
        reason: String,
    },
    /// The token server could not be reached or did not answer in time: try again later.
    Network {
        /// What happened.
        reason: String,
    },
    /// The token server answered with an error status (401/403: the app's credentials; 429 and
    /// 5xx: try again later).
    Http {
        /// The HTTP status.
        status: u16,
        /// A redacted excerpt of the body (may be empty).
        reason: String,
    },
    /// The token server's answer is not a token response.
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// The app's own token source failed (or threw).
    Custom {
        /// Its description.
        reason: String,
    },
}

impl TokenSourceError {
    /// What failed, with the detail: a lowercase clause, so that other messages can embed it.
    pub(crate) fn clause(&self) -> String {
        let (what, reason) = match self {
            TokenSourceError::Configuration { reason } => {
                ("the token source is misconfigured".to_owned(), reason)
            }
            TokenSourceError::Network { reason } => {
                ("the token server could not be reached".to_owned(), reason)
            }
            TokenSourceError::Http { status, reason } => {
                (format!("the token server answered HTTP {status}"), reason)
            }
            TokenSourceError::InvalidResponse { reason } => {
                ("the token server's answer is not a token response".to_owned(), reason)
            }
            TokenSourceError::Custom { reason } => {
                ("the app's custom token source failed".to_owned(), reason)
            }
        };
        with_detail(&what, reason)
    }

    /// What to do about it.
    fn advice(&self) -> &'static str {
        match self {
            TokenSourceError::Configuration { .. } => "fix the token source's configuration",
            TokenSourceError::Network { .. } => "check the network connection and try again",
            TokenSourceError::Http { status: 401 | 403, .. } => {
                "check the app's credentials for the token server"
            }
            TokenSourceError::Http { status: 429 | 500.., .. } => "try again later",
            TokenSourceError::Http { .. } => "check the token request",
            TokenSourceError::InvalidResponse { .. } => "check what the token server returns",
            TokenSourceError::Custom { .. } => "check the app's token source",
        }
    }
}

impl fmt::Display for TokenSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}.", capitalized(&self.clause()), self.advice())
    }
}

impl std::error::Error for TokenSourceError {}

impl From<token_source::TokenSourceError> for TokenSourceError {
    fn from(error: token_source::TokenSourceError) -> Self {
        use token_source::TokenSourceError as Core;
        match error {
            Core::InvalidUrl { reason } => TokenSourceError::Configuration {
                reason: format!("invalid endpoint URL: {reason}"),
            },
            Core::InvalidConfiguration { reason } => TokenSourceError::Configuration { reason },
            Core::Transport { reason, .. } => TokenSourceError::Network { reason },
            Core::Timeout { timeout } => TokenSourceError::Network {
                reason: format!("no answer within {}", seconds(timeout)),
            },
            Core::Status { status, body_excerpt } => {
                TokenSourceError::Http { status, reason: body_excerpt }
            }
            Core::InvalidResponse { reason } => TokenSourceError::InvalidResponse { reason },
            // A foreign source's own error comes back out as it went in.
            Core::Custom { error } => match error.downcast_ref::<TokenSourceError>() {
                Some(foreign) => foreign.clone(),
                None => TokenSourceError::Custom { reason: error.to_string() },
            },
            // A kind added to the core later: not the app's source, so not `Custom`.
            other => TokenSourceError::Network { reason: other.to_string() },
        }
    }
}

impl From<TokenSourceError> for token_source::TokenSourceError {
    /// A foreign source's error, carried through the core as a custom error whose source is
    /// the FFI error, so that it comes back out unchanged (see `From<core>` above).
    fn from(error: TokenSourceError) -> Self {
        token_source::TokenSourceError::custom(error)
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenSourceError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TokenSourceError::Custom { reason: error.reason }
    }
}

/// Why a session call failed, or the session's current error. Its description is one sentence:
/// what failed, the detail and what to do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi::export(Display)]
pub enum SessionError {
    /// Starting failed (credentials or connect) or the connection was lost.
    Connection {
        /// What happened.
        reason: String,
        /// The token source's error, when getting credentials failed.
        token_source: Option<TokenSourceError>,
    },
    /// Sending a message failed.
    Sender {
        /// What happened.
        reason: String,
    },
    /// An incoming message stream failed.
    Receiver {
        /// What happened.
        reason: String,
    },
    /// The microphone could not be enabled; the session stays connected.
    Media {
        /// What happened.
        reason: String,
    },
    /// `start` was called while the session was not disconnected.
    NotDisconnected,
    /// `end` was called while `start` was connecting.
    Cancelled,
    /// `send` was called with empty text.
    EmptyMessage,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Connection { reason, token_source: Some(source) } => write!(
                f,
                "{}; {}.",
                with_cause("The session could not get a token", reason),
                source.advice()
            ),
            SessionError::Connection { reason, token_source: None } => write!(
                f,
                "{}; check the network and start the session again.",
                with_cause("The session's connection failed", reason)
            ),
            SessionError::Sender { reason } => write!(
                f,
                "{}; check that the session is connected and try again.",
                with_detail("The message could not be sent", reason)
            ),
            SessionError::Receiver { reason } => write!(
                f,
                "{}; part of the conversation may be missing.",
                with_detail("An incoming message could not be received", reason)
            ),
            SessionError::Media { reason } => write!(
                f,
                "{}; check the app's microphone permission (the session stays connected).",
                with_detail("The microphone could not be enabled", reason)
            ),
            SessionError::NotDisconnected => {
                f.write_str("The session has already started; end it before starting it again.")
            }
            SessionError::Cancelled => f.write_str(
                "The session was ended while it was starting; start it again to connect.",
            ),
            SessionError::EmptyMessage => {
                f.write_str("The message is empty; enter some text before sending it.")
            }
        }
    }
}

impl std::error::Error for SessionError {}

impl From<session::SessionError> for SessionError {
    fn from(error: session::SessionError) -> Self {
        use session::SessionError as Core;
        match error {
            Core::Connection(ConnectionError::Credentials(core)) => {
                let through_custom = matches!(core, token_source::TokenSourceError::Custom { .. });
                let source = TokenSourceError::from(core);
                // A typed error from the app's own source (say, HTTP 403) is still the app's
                // source failing: there is no token endpoint to blame.
                let reason = match &source {
                    TokenSourceError::Custom { .. } => source.clause(),
                    _ if through_custom => {
                        format!("the app's custom token source failed: {}", source.clause())
                    }
                    _ => source.clause(),
                };
                SessionError::Connection { reason, token_source: Some(source) }
            }
            Core::Connection(ConnectionError::Transport(error)) => SessionError::Connection {
                reason: format!("could not connect to the room: {error}"),
                token_source: None,
            },
            Core::Connection(ConnectionError::Disconnected(why)) => SessionError::Connection {
                reason: format!("the room connection ended: {why}"),
                token_source: None,
            },
            Core::Sender(error) => SessionError::Sender { reason: error.to_string() },
            Core::Receiver(error) => SessionError::Receiver { reason: error.to_string() },
            Core::Media(error) => SessionError::Media { reason: error.to_string() },
            Core::NotDisconnected(_) => SessionError::NotDisconnected,
            Core::Cancelled => SessionError::Cancelled,
            Core::EmptyMessage => SessionError::EmptyMessage,
            other => SessionError::Connection { reason: other.to_string(), token_source: None },
        }
    }
}

/// Why an app-supplied room (`ForeignRoom`, `ForeignRoomLink`) could not do what the session
/// asked. The session reports it as its connection, sender or media error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum RoomError {
    /// There is no joined room (not yet, or not any more).
    #[error("not connected")]
    NotConnected,
    /// The room is restoring its connection; try again in a moment.
    #[error("the connection is being restored; try again in a moment")]
    Reconnecting,
    /// The room's SDK failed; `reason` is its description (never a token).
    #[error("{reason}")]
    Failed {
        /// What happened.
        reason: String,
    },
}

impl From<RoomError> for session::TransportError {
    fn from(error: RoomError) -> Self {
        match error {
            RoomError::NotConnected => session::TransportError::NotConnected,
            RoomError::Reconnecting => session::TransportError::Reconnecting,
            RoomError::Failed { reason } => session::TransportError::failed(reason),
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for RoomError {
    /// An exception of another type thrown by the app's room.
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        RoomError::Failed { reason: error.reason }
    }
}

/// An exception thrown by an app's listener, observer or chat responder. Rust drops that one
/// event (or reply) and carries on; the exception never unwinds into Rust.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi::export(Display)]
pub enum CallbackError {
    /// The callback threw.
    Failed {
        /// What it threw.
        reason: String,
    },
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CallbackError::Failed { reason } = self;
        write!(
            f,
            "{}; fix the listener, observer or responder that threw.",
            with_detail("The app's callback failed", reason)
        )
    }
}

impl std::error::Error for CallbackError {}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: error.reason }
    }
}

/// `what (detail)`, or `what` alone when there is no detail.
fn with_detail(what: &str, detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() { what.to_owned() } else { format!("{what} ({detail})") }
}

/// `what: cause`, or `what` alone when there is no cause.
fn with_cause(what: &str, cause: &str) -> String {
    let cause = cause.trim();
    if cause.is_empty() { what.to_owned() } else { format!("{what}: {cause}") }
}

fn capitalized(clause: &str) -> String {
    let mut chars = clause.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `10 s`, or `1500 ms` when not a whole number of seconds.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// One sentence: capitalized, one final period, no `field=value` dump.
    fn assert_readable(message: &str) {
        assert!(message.starts_with(|c: char| c.is_uppercase()), "{message}");
        assert!(message.ends_with('.') && !message.ends_with(".."), "{message}");
        assert!(!message.contains("reason=") && !message.contains("status="), "{message}");
        assert!(!message.contains("tokenSource") && !message.contains("token_source"), "{message}");
    }

    fn credentials(core: token_source::TokenSourceError) -> SessionError {
        SessionError::from(session::SessionError::Connection(ConnectionError::Credentials(core)))
    }

    #[test]
    fn core_token_errors_map_to_what_a_caller_acts_on() {
        use token_source::TokenSourceError as Core;
        let cases = [
            (Core::InvalidUrl { reason: "x".into() }, "Configuration"),
            (Core::InvalidConfiguration { reason: "x".into() }, "Configuration"),
            (Core::Timeout { timeout: Duration::from_secs(1) }, "Network"),
            (Core::Status { status: 401, body_excerpt: "no".into() }, "Http"),
            (Core::InvalidResponse { reason: "x".into() }, "InvalidResponse"),
            (Core::custom("x"), "Custom"),
        ];
        for (core, expected) in cases {
            let mapped = TokenSourceError::from(core);
            assert!(format!("{mapped:?}").starts_with(expected), "{mapped:?}");
        }
        let http = TokenSourceError::from(Core::Status { status: 401, body_excerpt: "no".into() });
        assert_eq!(http, TokenSourceError::Http { status: 401, reason: "no".into() });
    }

    #[test]
    fn token_source_errors_read_as_one_sentence_with_advice() {
        use token_source::TokenSourceError as Core;
        let cases = [
            (
                Core::InvalidUrl { reason: "the scheme is `ftp`, not http or https".into() },
                "The token source is misconfigured (invalid endpoint URL: the scheme is `ftp`, \
                 not http or https); fix the token source's configuration.",
            ),
            (
                Core::Timeout { timeout: Duration::from_millis(1500) },
                "The token server could not be reached (no answer within 1500 ms); check the \
                 network connection and try again.",
            ),
            (
                Core::Status { status: 401, body_excerpt: "unauthorized".into() },
                "The token server answered HTTP 401 (unauthorized); check the app's credentials \
                 for the token server.",
            ),
            (
                Core::Status { status: 503, body_excerpt: String::new() },
                "The token server answered HTTP 503; try again later.",
            ),
            (
                Core::Status { status: 404, body_excerpt: "no such room".into() },
                "The token server answered HTTP 404 (no such room); check the token request.",
            ),
            (
                Core::InvalidResponse { reason: "`server_url` is missing".into() },
                "The token server's answer is not a token response (`server_url` is missing); \
                 check what the token server returns.",
            ),
            (
                Core::custom("backend down"),
                "The app's custom token source failed (backend down); check the app's token \
                 source.",
            ),
        ];
        for (core, expected) in cases {
            let message = TokenSourceError::from(core).to_string();
            assert_eq!(message, expected);
            assert_readable(&message);
        }
    }

    #[test]
    fn a_foreign_error_round_trips_through_the_core() {
        let foreign = TokenSourceError::Http { status: 403, reason: "denied".into() };
        let core = token_source::TokenSourceError::from(foreign.clone());
        let SessionError::Connection { token_source, .. } = credentials(core) else {
            panic!("a connection error")
        };
        assert_eq!(token_source, Some(foreign));
    }

    #[test]
    fn room_errors_become_transport_errors() {
        use session::TransportError as Core;
        assert_eq!(Core::from(RoomError::NotConnected), Core::NotConnected);
        assert_eq!(Core::from(RoomError::Reconnecting), Core::Reconnecting);
        assert_eq!(Core::from(RoomError::Failed { reason: "x".into() }), Core::failed("x"));
        let unexpected = uniffi::UnexpectedUniFFICallbackError { reason: "boom".into() };
        assert_eq!(RoomError::from(unexpected), RoomError::Failed { reason: "boom".into() });
    }

    #[test]
    fn a_custom_source_failure_says_so_and_never_repeats_itself() {
        // What a Kotlin lambda throwing IOException becomes on its way through the core.
        let thrown = TokenSourceError::Custom { reason: "java.io.IOException: disk".into() };
        let error = credentials(token_source::TokenSourceError::from(thrown));
        let message = error.to_string();
        assert_eq!(
            message,
            "The session could not get a token: the app's custom token source failed \
             (java.io.IOException: disk); check the app's token source."
        );
        assert_eq!(message.matches("custom token source").count(), 1, "{message}");
        assert_eq!(message.matches("disk").count(), 1, "{message}");
        assert_readable(&message);

        // A typed HTTP 403 from the app's own source: the app's source failed, not an endpoint.
        let typed = TokenSourceError::Http { status: 403, reason: "denied".into() };
        let message = credentials(token_source::TokenSourceError::from(typed)).to_string();
        assert_eq!(
            message,
            "The session could not get a token: the app's custom token source failed: the \
             token server answered HTTP 403 (denied); check the app's credentials for the token \
             server."
        );
        assert!(!message.contains("endpoint"), "{message}");

        // A Rust closure's error, and a panic.
        let message =
            credentials(token_source::TokenSourceError::custom("backend down")).to_string();
        assert_eq!(message.matches("backend down").count(), 1, "{message}");
        assert!(message.contains("custom token source"), "{message}");
    }

    #[test]
    fn an_endpoint_failure_names_the_token_server_once() {
        let core =
            token_source::TokenSourceError::Status { status: 401, body_excerpt: "no".into() };
        let message = credentials(core).to_string();
        assert_eq!(
            message,
            "The session could not get a token: the token server answered HTTP 401 (no); check \
             the app's credentials for the token server."
        );
        assert!(!message.contains("custom"), "{message}");
    }

    #[test]
    fn session_errors_keep_their_kind_and_read_as_sentences() {
        let error = SessionError::from(session::SessionError::Sender(
            session::TransportError::NotConnected,
        ));
        assert_eq!(error, SessionError::Sender { reason: "not connected".into() });
        assert_eq!(
            error.to_string(),
            "The message could not be sent (not connected); check that the session is connected \
             and try again."
        );
        assert_eq!(
            SessionError::from(session::SessionError::EmptyMessage),
            SessionError::EmptyMessage
        );
        let lost = SessionError::from(session::SessionError::Connection(
            ConnectionError::Disconnected(session::DisconnectReason::ServerShutdown),
        ));
        assert_eq!(
            lost.to_string(),
            "The session's connection failed: the room connection ended: the LiveKit server shut \
             down; check the network and start the session again."
        );
        let refused = SessionError::from(session::SessionError::Connection(
            ConnectionError::Transport(session::TransportError::failed("refused")),
        ));
        assert_eq!(
            refused.to_string(),
            "The session's connection failed: could not connect to the room: refused; check the \
             network and start the session again."
        );
        let all = [
            lost,
            refused,
            error,
            SessionError::Receiver { reason: "stream reset".into() },
            SessionError::Media { reason: "no device".into() },
            SessionError::NotDisconnected,
            SessionError::Cancelled,
            SessionError::EmptyMessage,
            SessionError::Connection { reason: String::new(), token_source: None },
        ];
        for error in all {
            assert_readable(&error.to_string());
        }
        let callback = CallbackError::Failed { reason: "boom".into() };
        assert_eq!(
            callback.to_string(),
            "The app's callback failed (boom); fix the listener, observer or responder that threw."
        );
    }

    #[test]
    fn an_empty_detail_leaves_no_empty_parentheses() {
        let error = TokenSourceError::Custom { reason: " ".into() };
        assert_eq!(
            error.to_string(),
            "The app's custom token source failed; check the app's token source."
        );
    }
}
