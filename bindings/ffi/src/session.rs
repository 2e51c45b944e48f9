//! `AgentSession` for Swift and Kotlin: a thin wrapper over `session::Session`.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use crate::{
    error::{CallbackError, SessionError},
    room::{ForeignRoom, ForeignTransport},
    runtime::{self, runtime},
    script::Script,
    task_handle::{Gate, TaskHandle},
    token_source::{TokenRequestOptions, TokenSource},
};

/// How a session behaves.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionOptions {
    /// How long a dispatched agent has to become available after connecting.
    #[uniffi(default = 20000)]
    pub agent_connect_timeout_ms: u64,
    /// Whether `start` publishes the microphone.
    #[uniffi(default = true)]
    pub microphone_enabled: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { agent_connect_timeout_ms: 20_000, microphone_enabled: true }
    }
}

impl SessionOptions {
    fn into_core(self) -> session::SessionOptions {
        session::SessionOptions::new()
            .with_agent_connect_timeout(Duration::from_millis(self.agent_connect_timeout_ms))
            .with_microphone_enabled(self.microphone_enabled)
    }
}

/// The session's connection to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// Not connected.
    Disconnected,
    /// Fetching credentials and connecting.
    Connecting,
    /// In the room.
    Connected,
    /// Restoring a dropped connection.
    Reconnecting,
    /// Leaving the room.
    Disconnecting,
}

impl From<session::ConnectionState> for ConnectionState {
    fn from(state: session::ConnectionState) -> Self {
        match state {
            session::ConnectionState::Disconnected => ConnectionState::Disconnected,
            session::ConnectionState::Connecting => ConnectionState::Connecting,
            session::ConnectionState::Connected => ConnectionState::Connected,
            session::ConnectionState::Reconnecting => ConnectionState::Reconnecting,
            session::ConnectionState::Disconnecting => ConnectionState::Disconnecting,
            // A state a newer core adds: not in the room.
            _ => ConnectionState::Disconnected,
        }
    }
}

#[uniffi::export]
impl ConnectionState {
    /// In the room: connected or reconnecting (the rule of `AgentSession.isConnected`).
    pub fn is_connected(&self) -> bool {
        session::ConnectionState::from(*self).is_connected()
    }
}

impl From<ConnectionState> for session::ConnectionState {
    fn from(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Disconnected => session::ConnectionState::Disconnected,
            ConnectionState::Connecting => session::ConnectionState::Connecting,
            ConnectionState::Connected => session::ConnectionState::Connected,
            ConnectionState::Reconnecting => session::ConnectionState::Reconnecting,
            ConnectionState::Disconnecting => session::ConnectionState::Disconnecting,
        }
    }
}

/// What the agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AgentState {
    /// The session is not connected.
    Disconnected,
    /// Connecting, or waiting for the agent to join.
    Connecting,
    /// The agent is starting up.
    Initializing,
    /// The agent is idle.
    Idle,
    /// The agent is listening.
    Listening,
    /// The agent is thinking.
    Thinking,
    /// The agent is speaking.
    Speaking,
    /// The agent failed: see `Agent.failure`.
    Failed,
}

/// Why the agent failed. Its description (`toString()` / `description`) is the Rust wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum AgentFailure {
    /// It did not become available within the agent timeout.
    Timeout,
    /// It left the room.
    Left,
}

impl From<AgentFailure> for session::AgentFailure {
    fn from(failure: AgentFailure) -> Self {
        match failure {
            AgentFailure::Timeout => session::AgentFailure::Timeout,
            AgentFailure::Left => session::AgentFailure::Left,
        }
    }
}

impl std::fmt::Display for AgentFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        session::AgentFailure::from(*self).fmt(f)
    }
}

/// The agent of a session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Agent {
    /// What it is doing.
    pub state: AgentState,
    /// Why it failed, when `state` is `Failed`.
    pub failure: Option<AgentFailure>,
    /// Its participant identity, while in the room.
    pub identity: Option<String>,
    /// Its participant name, while in the room.
    pub name: Option<String>,
    /// Its participant attributes, while in the room.
    pub attributes: HashMap<String, String>,
    /// Listening, thinking or speaking.
    pub is_connected: bool,
    /// The user can talk and be heard.
    pub can_listen: bool,
    /// Connecting, initializing or idle.
    pub is_pending: bool,
    /// Disconnected or failed.
    pub is_finished: bool,
    /// Its voice: its own first microphone track, else its avatar worker's (LiveKit Android's
    /// `audioTrack`, Swift's `audioTrack`).
    pub audio_track: Option<TrackReference>,
    /// Its video: its own first camera track, else its avatar worker's (LiveKit Android's
    /// `videoTrack`, Swift's `avatarVideoTrack`).
    pub video_track: Option<TrackReference>,
}

impl From<session::Agent> for Agent {
    fn from(agent: session::Agent) -> Self {
        use session::AgentState as Core;
        let (state, failure) = match agent.state {
            Core::Disconnected => (AgentState::Disconnected, None),
            Core::Connecting => (AgentState::Connecting, None),
            Core::Initializing => (AgentState::Initializing, None),
            Core::Idle => (AgentState::Idle, None),
            Core::Listening => (AgentState::Listening, None),
            Core::Thinking => (AgentState::Thinking, None),
            Core::Speaking => (AgentState::Speaking, None),
            Core::Failed(session::AgentFailure::Timeout) => {
                (AgentState::Failed, Some(AgentFailure::Timeout))
            }
            Core::Failed(session::AgentFailure::Left) => {
                (AgentState::Failed, Some(AgentFailure::Left))
            }
            // A failure or state a newer core adds.
            Core::Failed(_) => (AgentState::Failed, None),
            _ => (AgentState::Idle, None),
        };
        Self {
            state,
            failure,
            is_connected: agent.is_connected(),
            can_listen: agent.can_listen(),
            is_pending: agent.is_pending(),
            is_finished: agent.is_finished(),
            identity: agent.identity,
            name: agent.name,
            attributes: agent.attributes.into_iter().collect(),
            audio_track: agent.audio_track.map(Into::into),
            video_track: agent.video_track.map(Into::into),
        }
    }
}

/// Where a track comes from (LiveKit's `Track.Source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TrackSource {
    /// A camera.
    Camera,
    /// A microphone.
    Microphone,
    /// A shared screen.
    ScreenShare,
    /// A shared screen's audio.
    ScreenShareAudio,
    /// Unknown, or a source this version does not know.
    Unknown,
}

impl From<session::TrackSource> for TrackSource {
    fn from(source: session::TrackSource) -> Self {
        match source {
            session::TrackSource::Camera => TrackSource::Camera,
            session::TrackSource::Microphone => TrackSource::Microphone,
            session::TrackSource::ScreenShare => TrackSource::ScreenShare,
            session::TrackSource::ScreenShareAudio => TrackSource::ScreenShareAudio,
            // `Unknown`, or a source a newer core adds.
            _ => TrackSource::Unknown,
        }
    }
}

impl From<TrackSource> for session::TrackSource {
    fn from(source: TrackSource) -> Self {
        match source {
            TrackSource::Camera => session::TrackSource::Camera,
            TrackSource::Microphone => session::TrackSource::Microphone,
            TrackSource::ScreenShare => session::TrackSource::ScreenShare,
            TrackSource::ScreenShareAudio => session::TrackSource::ScreenShareAudio,
            TrackSource::Unknown => session::TrackSource::Unknown,
        }
    }
}

/// Whether a track is audio or video (LiveKit's `Track.Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TrackKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
    /// Anything else (a data track, or a kind this version does not know).
    Other,
}

impl From<session::TrackKind> for TrackKind {
    fn from(kind: session::TrackKind) -> Self {
        match kind {
            session::TrackKind::Audio => TrackKind::Audio,
            session::TrackKind::Video => TrackKind::Video,
            // `Other`, or a kind a newer core adds.
            _ => TrackKind::Other,
        }
    }
}

/// A published track of the room: whose it is, what it is, and whether its media can flow.
/// Rendering stays on the platform: with a room the app supplies, the app renders its LiveKit
/// SDK's own track for `sid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct TrackReference {
    /// The identity of the participant that published it.
    pub participant_identity: String,
    /// The track SID (unique in the room).
    pub sid: String,
    /// The name the publisher gave it (may be empty).
    pub name: String,
    /// Where it comes from.
    pub source: TrackSource,
    /// Audio or video.
    pub kind: TrackKind,
    /// Whether the publisher muted it.
    pub muted: bool,
    /// Whether this session receives its media (always true for the local participant's own).
    pub subscribed: bool,
    /// Whether it is the local participant's own track (e.g. the microphone).
    pub is_local: bool,
}

impl From<session::TrackReference> for TrackReference {
    fn from(track: session::TrackReference) -> Self {
        Self {
            source: track.source.into(),
            kind: track.kind.into(),
            participant_identity: track.participant_identity,
            sid: track.sid,
            name: track.name,
            muted: track.muted,
            subscribed: track.subscribed,
            is_local: track.is_local,
        }
    }
}

impl From<&TrackReference> for session::TrackReference {
    fn from(track: &TrackReference) -> Self {
        let kind = match track.kind {
            TrackKind::Audio => session::TrackKind::Audio,
            TrackKind::Video => session::TrackKind::Video,
            TrackKind::Other => session::TrackKind::Other,
        };
        session::TrackReference::new(
            track.participant_identity.clone(),
            track.sid.clone(),
            track.source.into(),
            kind,
        )
        .with_name(track.name.clone())
        .with_muted(track.muted)
        .with_subscribed(track.subscribed)
        .with_local(track.is_local)
    }
}

#[uniffi::export]
impl TrackReference {
    /// Whether it matches a `useTracks`-style query: its source is one of `sources` (every
    /// source when empty) and, with `only_subscribed`, it is subscribed (the rule of
    /// `AgentSession.tracks`).
    pub fn matches(&self, sources: Vec<TrackSource>, only_subscribed: bool) -> bool {
        let sources: Vec<session::TrackSource> = sources.into_iter().map(Into::into).collect();
        session::TrackReference::from(self).matches(&sources, only_subscribed)
    }
}

/// Who produced a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MessageKind {
    /// The agent's speech, transcribed.
    AgentTranscript,
    /// The user's speech, transcribed.
    UserTranscript,
    /// Chat this session sent.
    SentChat,
    /// Chat from another participant.
    ReceivedChat,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceivedMessage {
    /// Segment ID (transcriptions) or stream ID (chat); unique per sender.
    pub id: String,
    /// When this device first saw it.
    pub timestamp: SystemTime,
    /// Who produced it.
    pub kind: MessageKind,
    /// The sender's identity.
    pub sender_identity: String,
    /// The text so far.
    pub text: String,
    /// Whether the text is complete.
    pub is_final: bool,
}

impl From<session::ReceivedMessage> for ReceivedMessage {
    fn from(message: session::ReceivedMessage) -> Self {
        Self {
            kind: match message.kind {
                session::MessageKind::AgentTranscript => MessageKind::AgentTranscript,
                session::MessageKind::UserTranscript => MessageKind::UserTranscript,
                session::MessageKind::SentChat => MessageKind::SentChat,
                session::MessageKind::ReceivedChat => MessageKind::ReceivedChat,
                // A kind a newer core adds: someone else's chat.
                _ => MessageKind::ReceivedChat,
            },
            id: message.id,
            timestamp: message.timestamp,
            sender_identity: message.sender_identity,
            text: message.text,
            is_final: message.is_final,
        }
    }
}

impl From<ReceivedMessage> for session::ReceivedMessage {
    fn from(message: ReceivedMessage) -> Self {
        let kind = match message.kind {
            MessageKind::AgentTranscript => session::MessageKind::AgentTranscript,
            MessageKind::UserTranscript => session::MessageKind::UserTranscript,
            MessageKind::SentChat => session::MessageKind::SentChat,
            MessageKind::ReceivedChat => session::MessageKind::ReceivedChat,
        };
        let mut core = session::ReceivedMessage::new(
            message.id,
            message.timestamp,
            kind,
            message.sender_identity,
            message.text,
        );
        core.is_final = message.is_final;
        core
    }
}

/// A change of the session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SessionEvent {
    /// The connection state changed.
    ConnectionStateChanged {
        /// The new state.
        state: ConnectionState,
    },
    /// The agent changed.
    AgentChanged {
        /// The agent now.
        agent: Agent,
    },
    /// The current error changed (`None`: cleared).
    ErrorChanged {
        /// The error now.
        error: Option<SessionError>,
    },
    /// The room connection ended for `reason` (also when the app ended the session:
    /// `ClientInitiated`).
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// Insert `message` at `index` (later messages move up by one).
    MessageInserted {
        /// Its position.
        index: u32,
        /// The message.
        message: ReceivedMessage,
    },
    /// Replace the message at `index` with `message`.
    MessageReplaced {
        /// Its position.
        index: u32,
        /// The message now.
        message: ReceivedMessage,
    },
    /// Replace the whole list with `messages`.
    MessagesReset {
        /// The messages now.
        messages: Vec<ReceivedMessage>,
    },
    /// Insert `track` at `index` (later tracks move up by one): a track was published, or its
    /// participant joined.
    TrackInserted {
        /// Its position.
        index: u32,
        /// The track.
        track: TrackReference,
    },
    /// Replace the track at `index` with `track` (muted, unmuted, subscribed, unsubscribed).
    TrackReplaced {
        /// Its position.
        index: u32,
        /// The track now.
        track: TrackReference,
    },
    /// Remove the track at `index` (later tracks move down by one): unpublished, or its
    /// participant left.
    TrackRemoved {
        /// Its position.
        index: u32,
    },
    /// Replace the whole track list with `tracks`.
    TracksReset {
        /// The tracks now.
        tracks: Vec<TrackReference>,
    },
}

impl SessionEvent {
    fn from_core(event: session::SessionEvent) -> Option<Self> {
        let index = |index: usize| u32::try_from(index).unwrap_or(u32::MAX);
        Some(match event {
            session::SessionEvent::ConnectionStateChanged(state) => {
                SessionEvent::ConnectionStateChanged { state: state.into() }
            }
            session::SessionEvent::AgentChanged(agent) => {
                SessionEvent::AgentChanged { agent: agent.into() }
            }
            session::SessionEvent::ErrorChanged(error) => {
                SessionEvent::ErrorChanged { error: error.map(Into::into) }
            }
            session::SessionEvent::Disconnected(reason) => {
                SessionEvent::Disconnected { reason: reason.into() }
            }
            session::SessionEvent::MessageInserted { index: i, message } => {
                SessionEvent::MessageInserted { index: index(i), message: message.into() }
            }
            session::SessionEvent::MessageReplaced { index: i, message } => {
                SessionEvent::MessageReplaced { index: index(i), message: message.into() }
            }
            session::SessionEvent::MessagesReset(messages) => SessionEvent::MessagesReset {
                messages: messages.into_iter().map(Into::into).collect(),
            },
            session::SessionEvent::TrackInserted { index: i, track } => {
                SessionEvent::TrackInserted { index: index(i), track: track.into() }
            }
            session::SessionEvent::TrackReplaced { index: i, track } => {
                SessionEvent::TrackReplaced { index: index(i), track: track.into() }
            }
            session::SessionEvent::TrackRemoved { index: i } => {
                SessionEvent::TrackRemoved { index: index(i) }
            }
            session::SessionEvent::TracksReset(tracks) => {
                SessionEvent::TracksReset { tracks: tracks.into_iter().map(Into::into).collect() }
            }
            _ => return None,
        })
    }
}

/// Why a room connection ended (LiveKit's `DisconnectReason`, plus `ConnectionLost`). Its
/// description (`toString()` / `description`) is the Rust wording.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum DisconnectReason {
    /// This client left (`CLIENT_INITIATED`).
    ClientInitiated,
    /// Someone joined with the same identity (`DUPLICATE_IDENTITY`).
    DuplicateIdentity,
    /// The server shut down (`SERVER_SHUTDOWN`).
    ServerShutdown,
    /// The participant was removed (`PARTICIPANT_REMOVED`).
    ParticipantRemoved,
    /// The room was deleted, e.g. when the agent hung up (`ROOM_DELETED`).
    RoomDeleted,
    /// Client and server disagreed on the connection state (`STATE_MISMATCH`).
    StateMismatch,
    /// Joining failed (`JOIN_FAILURE`).
    JoinFailure,
    /// The server migrated the participant (`MIGRATION`).
    Migration,
    /// The signal connection closed (`SIGNAL_CLOSE`).
    SignalClose,
    /// The room closed after everyone left (`ROOM_CLOSED`).
    RoomClosed,
    /// A SIP callee was unavailable (`USER_UNAVAILABLE`).
    UserUnavailable,
    /// A SIP callee rejected the call (`USER_REJECTED`).
    UserRejected,
    /// The SIP trunk failed (`SIP_TRUNK_FAILURE`).
    SipTrunkFailure,
    /// The connection timed out (`CONNECTION_TIMEOUT`).
    ConnectionTimeout,
    /// The media connection failed (`MEDIA_FAILURE`).
    MediaFailure,
    /// The agent failed (`AGENT_ERROR`).
    AgentError,
    /// The connection was lost and could not be restored.
    ConnectionLost,
    /// A reason this version does not know, with the name the room gave.
    Unknown {
        /// The room's name for it.
        name: String,
    },
}

impl From<session::DisconnectReason> for DisconnectReason {
    fn from(reason: session::DisconnectReason) -> Self {
        use session::DisconnectReason as Core;
        match reason {
            Core::ClientInitiated => DisconnectReason::ClientInitiated,
            Core::DuplicateIdentity => DisconnectReason::DuplicateIdentity,
            Core::ServerShutdown => DisconnectReason::ServerShutdown,
            Core::ParticipantRemoved => DisconnectReason::ParticipantRemoved,
            Core::RoomDeleted => DisconnectReason::RoomDeleted,
            Core::StateMismatch => DisconnectReason::StateMismatch,
            Core::JoinFailure => DisconnectReason::JoinFailure,
            Core::Migration => DisconnectReason::Migration,
            Core::SignalClose => DisconnectReason::SignalClose,
            Core::RoomClosed => DisconnectReason::RoomClosed,
            Core::UserUnavailable => DisconnectReason::UserUnavailable,
            Core::UserRejected => DisconnectReason::UserRejected,
            Core::SipTrunkFailure => DisconnectReason::SipTrunkFailure,
            Core::ConnectionTimeout => DisconnectReason::ConnectionTimeout,
            Core::MediaFailure => DisconnectReason::MediaFailure,
            Core::AgentError => DisconnectReason::AgentError,
            Core::ConnectionLost => DisconnectReason::ConnectionLost,
            Core::Unknown(name) => DisconnectReason::Unknown { name },
            // A reason a newer core adds: its wording is the name.
            other => DisconnectReason::Unknown { name: other.to_string() },
        }
    }
}

impl From<&DisconnectReason> for session::DisconnectReason {
    fn from(reason: &DisconnectReason) -> Self {
        use session::DisconnectReason as Core;
        match reason {
            DisconnectReason::ClientInitiated => Core::ClientInitiated,
            DisconnectReason::DuplicateIdentity => Core::DuplicateIdentity,
            DisconnectReason::ServerShutdown => Core::ServerShutdown,
            DisconnectReason::ParticipantRemoved => Core::ParticipantRemoved,
            DisconnectReason::RoomDeleted => Core::RoomDeleted,
            DisconnectReason::StateMismatch => Core::StateMismatch,
            DisconnectReason::JoinFailure => Core::JoinFailure,
            DisconnectReason::Migration => Core::Migration,
            DisconnectReason::SignalClose => Core::SignalClose,
            DisconnectReason::RoomClosed => Core::RoomClosed,
            DisconnectReason::UserUnavailable => Core::UserUnavailable,
            DisconnectReason::UserRejected => Core::UserRejected,
            DisconnectReason::SipTrunkFailure => Core::SipTrunkFailure,
            DisconnectReason::ConnectionTimeout => Core::ConnectionTimeout,
            DisconnectReason::MediaFailure => Core::MediaFailure,
            DisconnectReason::AgentError => Core::AgentError,
            DisconnectReason::ConnectionLost => Core::ConnectionLost,
            DisconnectReason::Unknown { name } => Core::Unknown(name.clone()),
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        session::DisconnectReason::from(self).fmt(f)
    }
}

#[uniffi::export]
impl DisconnectReason {
    /// Whether the session simply ended (the app left, or the room was closed or deleted);
    /// any other reason is also the session's error.
    pub fn is_normal_end(&self) -> bool {
        session::DisconnectReason::from(self).is_normal_end()
    }
}

/// Receives session changes, in order, on a Rust thread.
#[uniffi::export(foreign)]
pub trait SessionListener: Send + Sync {
    /// Called for every change; the first calls describe the current state.
    fn on_event(&self, event: SessionEvent) -> Result<(), CallbackError>;
}

/// An agent conversation in a LiveKit room (the `Session` of LiveKit's SDKs).
#[derive(Debug, uniffi::Object)]
pub struct AgentSession {
    inner: Arc<session::Session>,
}

#[uniffi::export]
impl AgentSession {
    /// A session that fetches credentials from `token_source` with `request`. Without the
    /// `livekit` flavour it can only connect through a script (see `scripted`).
    #[uniffi::constructor(default(request = None, options = None))]
    pub fn new(
        token_source: Arc<TokenSource>,
        request: Option<TokenRequestOptions>,
        options: Option<SessionOptions>,
    ) -> Arc<Self> {
        let core = session::Session::with_options(
            token_source.inner.clone(),
            request.unwrap_or_default().into(),
            options.unwrap_or_default().into_core(),
        );
        Arc::new(Self { inner: Arc::new(core) })
    }

    /// A session that dispatches the agent `agent_name` (with `agent_metadata`).
    #[uniffi::constructor(default(agent_metadata = None, options = None))]
    pub fn with_agent(
        token_source: Arc<TokenSource>,
        agent_name: String,
        agent_metadata: Option<String>,
        options: Option<SessionOptions>,
    ) -> Arc<Self> {
        let core = session::Session::with_agent(
            token_source.inner.clone(),
            agent_name,
            agent_metadata,
            options.unwrap_or_default().into_core(),
        );
        Arc::new(Self { inner: Arc::new(core) })
    }

    /// A session whose room the app supplies: `room` joins it (for example over LiveKit's
    /// Android or Swift SDK) and forwards its events; the session core does the rest.
    #[uniffi::constructor(default(request = None, options = None))]
    pub fn with_room(
        token_source: Arc<TokenSource>,
        room: Arc<dyn ForeignRoom>,
        request: Option<TokenRequestOptions>,
        options: Option<SessionOptions>,
    ) -> Arc<Self> {
        let core = session::Session::with_options(
            token_source.inner.clone(),
            request.unwrap_or_default().into(),
            options.unwrap_or_default().into_core().with_transport(ForeignTransport::new(room)),
        );
        Arc::new(Self { inner: Arc::new(core) })
    }

    /// A session whose room is played by `script` (previews, UI tests, demos).
    #[uniffi::constructor(default(request = None, options = None))]
    pub fn scripted(
        token_source: Arc<TokenSource>,
        script: Arc<Script>,
        request: Option<TokenRequestOptions>,
        options: Option<SessionOptions>,
    ) -> Arc<Self> {
        let transport = session::ScriptedTransport::new(script.core());
        let core = session::Session::with_options(
            token_source.inner.clone(),
            request.unwrap_or_default().into(),
            options.unwrap_or_default().into_core().with_transport(transport),
        );
        Arc::new(Self { inner: Arc::new(core) })
    }

    /// Fetches credentials and connects (only from disconnected).
    pub async fn start(&self) -> Result<(), SessionError> {
        let session = Arc::clone(&self.inner);
        runtime::run(async move { session.start().await }).await.map_err(Into::into)
    }

    /// Leaves the room, keeping the messages.
    pub async fn end(&self) {
        let session = Arc::clone(&self.inner);
        runtime::run(async move { session.end().await }).await;
    }

    /// Sends a chat message and returns it as shown in the messages.
    pub async fn send(&self, text: String) -> Result<ReceivedMessage, SessionError> {
        let session = Arc::clone(&self.inner);
        let message = runtime::run(async move { session.send(&text).await }).await?;
        Ok(message.into())
    }

    /// The connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.inner.connection_state().into()
    }

    /// In the room (connected or reconnecting).
    pub fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// The agent.
    pub fn agent(&self) -> Agent {
        self.inner.agent().into()
    }

    /// The current error.
    pub fn error(&self) -> Option<SessionError> {
        self.inner.error().map(Into::into)
    }

    /// Clears the current error.
    pub fn dismiss_error(&self) {
        self.inner.dismiss_error();
    }

    /// The messages, in order of first arrival.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.inner.messages().into_iter().map(Into::into).collect()
    }

    /// The room's tracks whose source is one of `sources` (every source when empty) and, with
    /// `only_subscribed`, that this session receives: React's
    /// `useTracks(sources, { onlySubscribed })`. Remote and local tracks, in publication order;
    /// empty while not connected.
    pub fn tracks(&self, sources: Vec<TrackSource>, only_subscribed: bool) -> Vec<TrackReference> {
        let sources: Vec<session::TrackSource> = sources.into_iter().map(Into::into).collect();
        self.inner.tracks(&sources, only_subscribed).into_iter().map(Into::into).collect()
    }

    /// The local microphone track while it is published (its `muted` says whether it is
    /// enabled); `None` before it is published and when not connected.
    pub fn microphone_track(&self) -> Option<TrackReference> {
        self.inner.microphone_track().map(Into::into)
    }

    /// Why the last room connection ended (`None` before the first one ended).
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.inner.disconnect_reason().map(Into::into)
    }

    /// The name of the room the session is in (empty when not connected).
    pub fn room_name(&self) -> String {
        self.inner.room_name()
    }

    /// Replaces the messages with `history` (e.g. saved from `messages()`), ordered by
    /// timestamp.
    pub fn restore_message_history(&self, history: Vec<ReceivedMessage>) {
        self.inner.restore_message_history(history.into_iter().map(Into::into).collect());
    }

    /// Calls `listener` with the current state, then every change, in order, until the handle
    /// is cancelled or dropped.
    pub fn observe(&self, listener: Arc<dyn SessionListener>) -> Arc<TaskHandle> {
        let mut events = self.inner.subscribe();
        let gate = Gate::default();
        let open = gate.clone();
        let task = runtime().spawn(async move {
            while let Some(event) = events.next().await {
                if let Some(event) = SessionEvent::from_core(event) {
                    open.call(|| listener.on_event(event));
                }
            }
        });
        TaskHandle::for_task(task.abort_handle(), gate)
    }
}

#[cfg(test)]
mod agent_failure_tests {
    use super::AgentFailure;

    #[test]
    fn agent_failures_describe_themselves_with_the_core_wording() {
        assert_eq!(
            AgentFailure::Timeout.to_string(),
            "the agent did not become available within the timeout"
        );
        assert_eq!(AgentFailure::Left.to_string(), "the agent left the room");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_track() -> session::TrackReference {
        session::TrackReference::new(
            "agent",
            "TR_1",
            session::TrackSource::Microphone,
            session::TrackKind::Audio,
        )
        .with_name("voice")
        .with_muted(true)
    }

    #[test]
    fn a_track_reference_keeps_every_field_both_ways() {
        let track = TrackReference::from(core_track());
        assert_eq!(track.participant_identity, "agent");
        assert_eq!(track.sid, "TR_1");
        assert_eq!(track.name, "voice");
        assert_eq!((track.source, track.kind), (TrackSource::Microphone, TrackKind::Audio));
        assert!(track.muted && !track.subscribed && !track.is_local);
        assert_eq!(session::TrackReference::from(&track), core_track());
    }

    #[test]
    fn matches_is_the_core_query() {
        let track = TrackReference::from(core_track());
        assert!(track.matches(vec![], false));
        assert!(track.matches(vec![TrackSource::Microphone, TrackSource::Camera], false));
        assert!(!track.matches(vec![TrackSource::Camera], false));
        assert!(!track.matches(vec![], true), "not subscribed");
        let subscribed = TrackReference { subscribed: true, ..track };
        assert!(subscribed.matches(vec![TrackSource::Microphone], true));
    }

    #[test]
    fn the_track_operations_are_carried() {
        let track = core_track();
        let carried = |event| SessionEvent::from_core(event).expect("a track operation");
        assert_eq!(
            carried(session::SessionEvent::TrackInserted { index: 2, track: track.clone() }),
            SessionEvent::TrackInserted { index: 2, track: track.clone().into() }
        );
        assert_eq!(
            carried(session::SessionEvent::TrackReplaced { index: 1, track: track.clone() }),
            SessionEvent::TrackReplaced { index: 1, track: track.clone().into() }
        );
        assert_eq!(
            carried(session::SessionEvent::TrackRemoved { index: 3 }),
            SessionEvent::TrackRemoved { index: 3 }
        );
        assert_eq!(
            carried(session::SessionEvent::TracksReset(vec![track.clone()])),
            SessionEvent::TracksReset { tracks: vec![track.into()] }
        );
    }
}
