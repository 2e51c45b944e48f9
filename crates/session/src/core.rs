//! The session state machine, without I/O: it turns starts, ends, transport events and timer
//! expiries into state and a list of changes. [`crate::Session`] runs it; the property tests
//! drive it directly.

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use tokio::time::Instant;

use crate::{
    agent::{Agent, AgentFailure, AgentState, is_agent},
    error::{ConnectionError, SessionError, TransportError},
    messages::{MessageChange, MessageStore, ReceivedMessage},
    transport::{DisconnectReason, ParticipantInfo, TransportEvent},
};

/// How long after the agent leaves the session waits for the room to report a reconnect before
/// it declares the agent gone. A LiveKit room reports every participant as disconnected just
/// before it reports a full reconnect; those reports arrive together, well within this grace.
pub const AGENT_LEAVE_GRACE: Duration = Duration::from_millis(500);

/// The state of the session's connection to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A change produced by the state machine, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    State(ConnectionState),
    Agent,
    Error,
    Message(MessageChange),
    MessagesRestored,
}

/// What `end` has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndAction {
    /// Nothing: already disconnected or disconnecting.
    Nothing,
    /// A start was connecting: it is cancelled; the session is disconnected.
    CancelledStart,
    /// Leave the room, then call [`Core::ended`].
    Disconnect,
}

/// The session's state.
#[derive(Debug)]
pub(crate) struct Core {
    state: ConnectionState,
    error: Option<SessionError>,
    agent: Agent,
    /// Remote participants in join order.
    participants: Vec<ParticipantInfo>,
    local_identity: String,
    messages: MessageStore,
    agent_timeout: Duration,
    /// Whether the token of the current connection dispatches an agent.
    dispatches_agent: bool,
    /// When the agent must be listening, thinking or speaking.
    agent_deadline: Option<Instant>,
    /// When an agent that left counts as gone.
    leave_deadline: Option<Instant>,
    failure: Option<AgentFailure>,
    changes: Vec<Change>,
}

impl Core {
    pub(crate) fn new(agent_timeout: Duration) -> Self {
        Self {
            state: ConnectionState::Disconnected,
            error: None,
            agent: Agent::without_participant(AgentState::Disconnected),
            participants: Vec::new(),
            local_identity: String::new(),
            messages: MessageStore::default(),
            agent_timeout,
            dispatches_agent: false,
            agent_deadline: None,
            leave_deadline: None,
            failure: None,
            changes: Vec::new(),
        }
    }

    pub(crate) fn state(&self) -> ConnectionState {
        self.state
    }

    pub(crate) fn agent(&self) -> &Agent {
        &self.agent
    }

    pub(crate) fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    pub(crate) fn messages(&self) -> &[ReceivedMessage] {
        self.messages.messages()
    }

    pub(crate) fn message(&self, position: usize) -> Option<&ReceivedMessage> {
        self.messages.get(position)
    }

    pub(crate) fn local_identity(&self) -> &str {
        &self.local_identity
    }

    /// The changes since the last call, in order.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// The next moment [`Core::on_timer`] has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match (self.agent_deadline, self.leave_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `start` begins: only from disconnected. Clears the error.
    pub(crate) fn begin_start(&mut self) -> Result<(), SessionError> {
        if self.state != ConnectionState::Disconnected {
            return Err(SessionError::NotDisconnected(self.state));
        }
        self.set_error(None);
        self.reset_room();
        self.set_state(ConnectionState::Connecting);
        self.update_agent();
        Ok(())
    }

    /// `start` failed while connecting.
    pub(crate) fn start_failed(&mut self, error: ConnectionError) {
        if self.state != ConnectionState::Connecting {
            return;
        }
        // The error first, so that an observer that sees the state change can read it.
        self.set_error(Some(SessionError::Connection(error)));
        self.set_state(ConnectionState::Disconnected);
        self.update_agent();
    }

    /// `start` was abandoned (its future dropped) while connecting.
    pub(crate) fn start_abandoned(&mut self) {
        if self.state == ConnectionState::Connecting {
            self.set_state(ConnectionState::Disconnected);
            self.update_agent();
        }
    }

    /// `start` connected.
    pub(crate) fn connected(
        &mut self,
        local_identity: String,
        participants: Vec<ParticipantInfo>,
        dispatches_agent: bool,
        now: Instant,
    ) {
        self.local_identity = local_identity;
        self.participants = participants;
        self.dispatches_agent = dispatches_agent;
        self.agent_deadline = dispatches_agent.then(|| now + self.agent_timeout);
        self.set_state(ConnectionState::Connected);
        self.update_agent();
    }

    /// `end` begins.
    pub(crate) fn begin_end(&mut self) -> EndAction {
        match self.state {
            ConnectionState::Disconnected | ConnectionState::Disconnecting => EndAction::Nothing,
            ConnectionState::Connecting => {
                self.set_state(ConnectionState::Disconnected);
                self.update_agent();
                EndAction::CancelledStart
            }
            ConnectionState::Connected | ConnectionState::Reconnecting => {
                self.set_state(ConnectionState::Disconnecting);
                self.reset_room();
                self.update_agent();
                EndAction::Disconnect
            }
        }
    }

    /// `end` left the room.
    pub(crate) fn ended(&mut self) {
        if self.state == ConnectionState::Disconnecting {
            self.set_state(ConnectionState::Disconnected);
            self.update_agent();
        }
    }

    /// Applies one transport event. Events after the connection ended are ignored.
    pub(crate) fn apply(&mut self, event: TransportEvent, now: Instant, wall: SystemTime) {
        if !self.state.is_connected() {
            return;
        }
        match event {
            TransportEvent::ParticipantConnected(participant) => {
                self.participants.retain(|p| p.identity != participant.identity);
                self.participants.push(participant);
            }
            TransportEvent::ParticipantDisconnected { identity } => {
                let was_agent = self.agent.identity.as_deref() == Some(identity.as_str());
                self.participants.retain(|p| p.identity != identity);
                if was_agent && self.current_agent().is_none() {
                    self.leave_deadline = Some(now + AGENT_LEAVE_GRACE);
                }
            }
            TransportEvent::ParticipantAttributesChanged { identity, attributes } => {
                if let Some(p) = self.participants.iter_mut().find(|p| p.identity == identity) {
                    p.attributes = attributes;
                }
            }
            TransportEvent::Reconnecting => {
                // Departures reported just before a reconnect are part of it, not the agent
                // leaving.
                self.leave_deadline = None;
                self.set_state(ConnectionState::Reconnecting);
            }
            TransportEvent::Reconnected => {
                self.set_state(ConnectionState::Connected);
                if self.dispatches_agent && self.current_agent().is_none() {
                    self.agent_deadline = Some(now + self.agent_timeout);
                }
            }
            TransportEvent::Disconnected { reason } => {
                // The error first, as in `start_failed`.
                if reason != DisconnectReason::ClientInitiated {
                    let error = ConnectionError::Disconnected(reason);
                    self.set_error(Some(SessionError::Connection(error)));
                }
                self.reset_room();
                self.set_state(ConnectionState::Disconnected);
            }
            TransportEvent::TextStreamOpened(stream) => {
                let change = self.messages.stream_opened(&stream, &self.local_identity, wall);
                self.push_message_change(change);
            }
            TransportEvent::TextStreamChunk { stream_id, text } => {
                let change = self.messages.chunk(&stream_id, &text);
                self.push_message_change(change);
            }
            TransportEvent::TextStreamClosed { stream_id, error, .. } => {
                let change = self.messages.stream_closed(&stream_id);
                self.push_message_change(change);
                if let Some(error) = error {
                    self.set_error(Some(SessionError::Receiver(TransportError::Failed(error))));
                }
            }
        }
        self.update_agent();
    }

    /// Fires the deadlines that are due at `now`.
    pub(crate) fn on_timer(&mut self, now: Instant) {
        if self.agent_deadline.is_some_and(|deadline| deadline <= now) {
            self.agent_deadline = None;
            if self.state.is_connected() && !self.agent.is_connected() {
                self.failure = Some(AgentFailure::Timeout);
            }
        }
        if self.leave_deadline.is_some_and(|deadline| deadline <= now) {
            self.leave_deadline = None;
            if self.state.is_connected() && self.current_agent().is_none() {
                self.failure = Some(AgentFailure::Left);
            }
        }
        self.update_agent();
    }

    /// A message was sent.
    pub(crate) fn sent(&mut self, message: ReceivedMessage) {
        let change = self.messages.push_sent(message);
        self.changes.push(Change::Message(change));
    }

    /// Replaces the message history.
    pub(crate) fn restore(&mut self, history: Vec<ReceivedMessage>) {
        self.messages.restore(history);
        self.changes.push(Change::MessagesRestored);
    }

    /// Sets (or clears) the current error.
    pub(crate) fn set_error(&mut self, error: Option<SessionError>) {
        if self.error.is_none() && error.is_none() {
            return;
        }
        self.error = error;
        self.changes.push(Change::Error);
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state;
            self.changes.push(Change::State(state));
        }
    }

    fn push_message_change(&mut self, change: Option<MessageChange>) {
        if let Some(change) = change {
            self.changes.push(Change::Message(change));
        }
    }

    /// Forgets the room: participants, deadlines and agent failures.
    fn reset_room(&mut self) {
        self.participants.clear();
        self.dispatches_agent = false;
        self.agent_deadline = None;
        self.leave_deadline = None;
        self.failure = None;
    }

    /// The first agent participant (avatar workers excluded).
    fn current_agent(&self) -> Option<&ParticipantInfo> {
        self.participants.iter().find(|p| is_agent(p))
    }

    /// Recomputes the agent from the room and the failure rules; records a change if it moved.
    fn update_agent(&mut self) {
        let agent = match self.state {
            ConnectionState::Disconnected | ConnectionState::Disconnecting => {
                Agent::without_participant(AgentState::Disconnected)
            }
            ConnectionState::Connecting => Agent::without_participant(AgentState::Connecting),
            ConnectionState::Connected | ConnectionState::Reconnecting => {
                match self.current_agent().map(Agent::from_participant) {
                    Some(mut agent) => {
                        self.leave_deadline = None;
                        if agent.is_connected() {
                            self.failure = None;
                            self.agent_deadline = None;
                        } else if self.failure == Some(AgentFailure::Timeout) {
                            agent.state = AgentState::Failed(AgentFailure::Timeout);
                        } else {
                            self.failure = None;
                        }
                        agent
                    }
                    // Within the grace after the agent left: show it as it was.
                    None if self.leave_deadline.is_some() => self.agent.clone(),
                    None => match self.failure {
                        Some(failure) => Agent::without_participant(AgentState::Failed(failure)),
                        None => Agent::without_participant(AgentState::Connecting),
                    },
                }
            }
        };
        if agent != self.agent {
            self.agent = agent;
            self.changes.push(Change::Agent);
        }
    }
}
