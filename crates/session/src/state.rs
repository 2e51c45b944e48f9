//! The connection state of a session.

use std::fmt;

/// The state of the session's connection to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected (before the first start, after an end or a failure).
    Disconnected,
    /// `start` is fetching credentials and connecting.
    Connecting,
    /// In the room.
    Connected,
    /// The connection dropped and is being restored.
    Reconnecting,
    /// `end` is leaving the room.
    Disconnecting,
}

impl ConnectionState {
    /// In the room: connected or reconnecting.
    pub fn is_connected(self) -> bool {
        matches!(self, ConnectionState::Connected | ConnectionState::Reconnecting)
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Disconnecting => "disconnecting",
        })
    }
}
