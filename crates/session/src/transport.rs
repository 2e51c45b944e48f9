//! The boundary between the session and a room: what a transport does and what it reports.
//!
//! A [`Transport`] connects with a server URL and a token and returns a [`Connection`]: the
//! local identity, the remote participants already in the room, a channel of
//! [`TransportEvent`]s, and a [`TransportLink`] to send text, switch the microphone and
//! disconnect. The events mirror what a LiveKit room reports, in the same order; all session
//! behaviour is built on them, so every transport behaves the same.

use std::{collections::BTreeMap, fmt, sync::Arc};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::TransportError;

/// The kind of a room participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParticipantKind {
    /// A regular client.
    Standard,
    /// An agent (or an avatar worker publishing for one).
    Agent,
    /// Any other kind (ingress, egress, SIP, connector, …).
    Other,
}

/// A remote participant as the session needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParticipantInfo {
    /// The participant's identity.
    pub identity: String,
    /// The participant's display name (may be empty).
    pub name: String,
    /// The participant's kind.
    pub kind: ParticipantKind,
    /// The participant's attributes.
    pub attributes: BTreeMap<String, String>,
}

impl ParticipantInfo {
    /// A participant with no name and no attributes.
    pub fn new(identity: impl Into<String>, kind: ParticipantKind) -> Self {
        Self { identity: identity.into(), name: String::new(), kind, attributes: BTreeMap::new() }
    }

    /// An agent participant.
    pub fn agent(identity: impl Into<String>) -> Self {
        Self::new(identity, ParticipantKind::Agent)
    }

    /// A regular participant.
    pub fn standard(identity: impl Into<String>) -> Self {
        Self::new(identity, ParticipantKind::Standard)
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets one attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// Metadata of an incoming text stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextStreamInfo {
    /// The stream ID (unique per stream).
    pub id: String,
    /// The topic, for example `lk.transcription` or `lk.chat`.
    pub topic: String,
    /// Who sent it.
    pub sender_identity: String,
    /// The stream's attributes from its header.
    pub attributes: BTreeMap<String, String>,
}

impl TextStreamInfo {
    /// Stream metadata without attributes.
    pub fn new(
        id: impl Into<String>,
        topic: impl Into<String>,
        sender_identity: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            topic: topic.into(),
            sender_identity: sender_identity.into(),
            attributes: BTreeMap::new(),
        }
    }

    /// Sets one attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// Why the room connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// This client asked to disconnect.
    ClientInitiated,
    /// The server is shutting down.
    ServerShutdown,
    /// The participant was removed from the room.
    ParticipantRemoved,
    /// The room was deleted.
    RoomDeleted,
    /// Another participant joined with the same identity.
    DuplicateIdentity,
    /// The connection was lost and could not be restored.
    ConnectionLost,
    /// Another reason, as the transport describes it.
    Other(String),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ClientInitiated => f.write_str("the client disconnected"),
            DisconnectReason::ServerShutdown => f.write_str("the server shut down"),
            DisconnectReason::ParticipantRemoved => f.write_str("the participant was removed"),
            DisconnectReason::RoomDeleted => f.write_str("the room was deleted"),
            DisconnectReason::DuplicateIdentity => {
                f.write_str("another participant joined with the same identity")
            }
            DisconnectReason::ConnectionLost => f.write_str("the connection was lost"),
            DisconnectReason::Other(reason) => f.write_str(reason),
        }
    }
}

/// Something that happened in the room, in the order the room reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportEvent {
    /// A remote participant joined (participants already in the room at connect are in
    /// [`Connection::participants`] instead).
    ParticipantConnected(ParticipantInfo),
    /// A remote participant left. During a full reconnect a LiveKit room reports this for
    /// every participant before [`TransportEvent::Reconnecting`].
    ParticipantDisconnected {
        /// Who left.
        identity: String,
    },
    /// A remote participant's attributes changed.
    ParticipantAttributesChanged {
        /// Whose.
        identity: String,
        /// All attributes after the change.
        attributes: BTreeMap<String, String>,
    },
    /// The connection is being restored.
    Reconnecting,
    /// The connection was restored.
    Reconnected,
    /// The connection ended. No events follow.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A remote participant opened a text stream.
    TextStreamOpened(TextStreamInfo),
    /// A chunk of text arrived on an open stream.
    TextStreamChunk {
        /// The stream.
        stream_id: String,
        /// The text.
        text: String,
    },
    /// A text stream ended.
    TextStreamClosed {
        /// The stream.
        stream_id: String,
        /// The stream's attributes at the end (header plus trailer).
        attributes: BTreeMap<String, String>,
        /// Why the stream failed, if it did not end normally.
        error: Option<String>,
    },
}

/// A connected room, as returned by [`Transport::connect`].
pub struct Connection {
    /// The local participant's identity.
    pub local_identity: String,
    /// The remote participants in the room at connect, in join order.
    pub participants: Vec<ParticipantInfo>,
    /// What happens next. The channel closing means the connection ended.
    pub events: mpsc::UnboundedReceiver<TransportEvent>,
    /// Actions on the room.
    pub link: Arc<dyn TransportLink>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("local_identity", &self.local_identity)
            .field("participants", &self.participants)
            .finish_non_exhaustive()
    }
}

/// Actions on a connected room.
#[async_trait]
pub trait TransportLink: Send + Sync + 'static {
    /// Sends `text` as a text stream on `topic`; returns the stream ID.
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError>;
    /// Publishes or mutes the microphone.
    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), TransportError>;
    /// Leaves the room. After it returns no more events are delivered.
    async fn disconnect(&self);
}

/// Connects to rooms.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Joins the room that `token` grants on the server at `server_url`.
    async fn connect(&self, server_url: &str, token: &str) -> Result<Connection, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn connect(&self, server_url: &str, token: &str) -> Result<Connection, TransportError> {
        (**self).connect(server_url, token).await
    }
}
