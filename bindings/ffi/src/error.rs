//! The errors Swift and Kotlin see: small and flat, one variant per thing a caller would do
//! differently. Field names avoid `message` and `cause` (they clash with the generated
//! Kotlin exception classes).

use session::ConnectionError;

/// Why a token source could not produce credentials. Its description is the Rust message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TokenSourceError {
    /// The source is misconfigured (invalid URL, header or sandbox ID): fix the configuration.
    #[error("invalid token source configuration: {reason}")]
    Configuration {
        /// What is wrong.
        reason: String,
    },
    /// The endpoint could not be reached or did not answer in time: try again later.
    #[error("network error: {reason}")]
    Network {
        /// What happened.
        reason: String,
    },
    /// The endpoint answered with an error status (401/403: the app's credentials; 5xx: the
    /// server).
    #[error("the token endpoint answered HTTP {status}: {reason}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// A redacted excerpt of the body.
        reason: String,
    },
    /// The endpoint's answer is not a token response.
    #[error("invalid token response: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// The app's own token source failed (or threw).
    #[error("the custom token source failed: {reason}")]
    Custom {
        /// Its description.
        reason: String,
    },
}

impl From<token_source::TokenSourceError> for TokenSourceError {
    fn from(error: token_source::TokenSourceError) -> Self {
        use token_source::TokenSourceError as Core;
        let reason = error.to_string();
        match error {
            Core::InvalidUrl { .. } | Core::InvalidConfiguration { .. } => {
                TokenSourceError::Configuration { reason }
            }
            Core::Transport { .. } | Core::Timeout { .. } => TokenSourceError::Network { reason },
            Core::Status { status, body_excerpt } => {
                TokenSourceError::Http { status, reason: body_excerpt }
            }
            Core::InvalidResponse { .. } => TokenSourceError::InvalidResponse { reason },
            // A foreign source's own error comes back out as it went in.
            Core::Custom { source } => match source.downcast_ref::<TokenSourceError>() {
                Some(foreign) => foreign.clone(),
                None => TokenSourceError::Custom { reason: source.to_string() },
            },
            _ => TokenSourceError::Custom { reason },
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

/// Why a session call failed, or the session's current error. Its description is the Rust
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum SessionError {
    /// Starting failed (credentials or connect) or the connection was lost.
    #[error("connection failed: {reason}")]
    Connection {
        /// What happened.
        reason: String,
        /// The token source's error, when getting credentials failed.
        token_source: Option<TokenSourceError>,
    },
    /// Sending a message failed.
    #[error("sending failed: {reason}")]
    Sender {
        /// What happened.
        reason: String,
    },
    /// An incoming message stream failed.
    #[error("receiving failed: {reason}")]
    Receiver {
        /// What happened.
        reason: String,
    },
    /// The microphone could not be enabled; the session stays connected.
    #[error("microphone unavailable: {reason}")]
    Media {
        /// What happened.
        reason: String,
    },
    /// `start` was called while the session was not disconnected.
    #[error("the session is not disconnected")]
    NotDisconnected,
    /// `end` was called while `start` was connecting.
    #[error("the session was ended while starting")]
    Cancelled,
    /// `send` was called with empty text.
    #[error("the message is empty")]
    EmptyMessage,
}

impl From<session::SessionError> for SessionError {
    fn from(error: session::SessionError) -> Self {
        use session::SessionError as Core;
        match error {
            Core::Connection(ConnectionError::Credentials(source)) => SessionError::Connection {
                reason: source.to_string(),
                token_source: Some(source.into()),
            },
            Core::Connection(other) => {
                SessionError::Connection { reason: other.to_string(), token_source: None }
            }
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum CallbackError {
    /// The callback threw.
    #[error("the app's callback failed: {reason}")]
    Failed {
        /// What it threw.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: error.reason }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

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
    fn a_foreign_error_round_trips_through_the_core() {
        let foreign = TokenSourceError::Http { status: 403, reason: "denied".into() };
        let core = token_source::TokenSourceError::from(foreign.clone());
        let session_error = SessionError::from(session::SessionError::Connection(
            ConnectionError::Credentials(core),
        ));
        let SessionError::Connection { token_source, .. } = session_error else {
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
    fn session_errors_keep_their_kind() {
        let error = SessionError::from(session::SessionError::Sender(
            session::TransportError::NotConnected,
        ));
        assert_eq!(error, SessionError::Sender { reason: "not connected".into() });
        assert_eq!(
            SessionError::from(session::SessionError::EmptyMessage),
            SessionError::EmptyMessage
        );
    }
}
