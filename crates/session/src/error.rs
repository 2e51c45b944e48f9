//! The errors of a session.
//!
//! A [`SessionError`] of kind connection, sender, receiver or media is also kept as the
//! session's current error (see [`crate::Session::error`]) until the next start or
//! [`crate::Session::dismiss_error`]. `NotDisconnected`, `Cancelled` and `EmptyMessage` only
//! answer the call that caused them. No error contains a token.
//!
//! Every message is complete on its own: a variant that wraps another error prints it in its
//! `Display` and does not also return it from [`std::error::Error::source`], so an error report
//! never prints a cause twice.

use token_source::TokenSourceError;

use crate::{room::protocol::DisconnectReason, state::ConnectionState};

/// What went wrong in a session.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Starting failed (credentials or connect), or the connection was lost.
    #[error("connection failed: {0}")]
    Connection(ConnectionError),
    /// Sending a message failed.
    #[error("sending failed: {0}")]
    Sender(TransportError),
    /// An incoming message stream failed.
    #[error("receiving failed: {0}")]
    Receiver(TransportError),
    /// The microphone could not be enabled (the session stays connected).
    #[error("microphone unavailable: {0}")]
    Media(TransportError),
    /// `start` was called while the session was not disconnected.
    #[error("the session is {0}, not disconnected")]
    NotDisconnected(ConnectionState),
    /// `end` was called while `start` was connecting.
    #[error("the session was ended while starting")]
    Cancelled,
    /// `send` was called with empty text.
    #[error("the message is empty")]
    EmptyMessage,
}

/// Why a session could not connect or lost its connection.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The token source failed.
    #[error("could not get credentials: {0}")]
    Credentials(TokenSourceError),
    /// The transport could not connect.
    #[error("could not connect: {0}")]
    Transport(TransportError),
    /// The room connection ended without the app asking.
    #[error("disconnected: {0}")]
    Disconnected(DisconnectReason),
}

/// A failure reported by a transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// There is no connected room.
    #[error("not connected")]
    NotConnected,
    /// The connection is being restored and was not restored in time.
    #[error("the connection is being restored; try again in a moment")]
    Reconnecting,
    /// The transport's description of the failure (it never contains a token).
    #[error("{0}")]
    Failed(String),
}

impl TransportError {
    /// A failure described by `reason`.
    pub fn failed(reason: impl Into<String>) -> Self {
        TransportError::Failed(reason.into())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_wrapped_cause_is_printed_once_and_is_not_a_source() {
        let credentials = SessionError::Connection(ConnectionError::Credentials(
            TokenSourceError::custom("backend down"),
        ));
        assert_eq!(
            credentials.to_string(),
            "connection failed: could not get credentials: the custom token source failed: backend down"
        );
        assert!(credentials.source().is_none());
        let sender = SessionError::Sender(TransportError::NotConnected);
        assert_eq!(sender.to_string(), "sending failed: not connected");
        assert!(sender.source().is_none());
        for error in [
            ConnectionError::Transport(TransportError::failed("refused")),
            ConnectionError::Credentials(TokenSourceError::custom("x")),
        ] {
            assert!(error.source().is_none(), "{error:?}");
        }
    }
}
