//! The errors of a session.
//!
//! A [`SessionError`] of kind connection, sender, receiver or media is also kept as the
//! session's current error (see [`crate::Session::error`]) until the next start or
//! [`crate::Session::dismiss_error`]. `NotDisconnected`, `Cancelled` and `EmptyMessage` only
//! answer the call that caused them. No error contains a token.

use token_source::TokenSourceError;

use crate::{room::protocol::DisconnectReason, state::ConnectionState};

/// What went wrong in a session.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Starting failed (credentials or connect), or the connection was lost.
    #[error("connection failed: {0}")]
    Connection(#[source] ConnectionError),
    /// Sending a message failed.
    #[error("sending failed: {0}")]
    Sender(#[source] TransportError),
    /// An incoming message stream failed.
    #[error("receiving failed: {0}")]
    Receiver(#[source] TransportError),
    /// The microphone could not be enabled (the session stays connected).
    #[error("microphone unavailable: {0}")]
    Media(#[source] TransportError),
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
    Credentials(#[source] TokenSourceError),
    /// The transport could not connect.
    #[error("could not connect: {0}")]
    Transport(#[source] TransportError),
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
