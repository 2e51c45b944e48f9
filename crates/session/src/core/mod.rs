//! The session state machine, without I/O: it turns starts, ends, translated room events and
//! timer expiries into state and a list of changes. [`crate::Session`] runs it; the property tests
//! drive it directly.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

pub(crate) mod agent;
pub(crate) mod messages;
pub(crate) mod tracks;

use crate::{
    error::{ConnectionError, SessionError, TransportError},
    room::protocol::DisconnectReason,
    state::ConnectionState,
    translate::{ParticipantInfo, RoomEvent},
};
use agent::{Agent, AgentFailure, AgentState, is_agent};
use messages::{MessageChange, MessageStore, ReceivedMessage};
use tracks::{TrackChange, Tracks};

/// How long after the agent leaves the session waits for the room to report a reconnect before
/// it declares the agent gone. A LiveKit room reports every participant as disconnected just
/// before it reports a full reconnect; those reports arrive together, well within this grace.
pub const AGENT_LEAVE_GRACE: Duration = Duration::from_millis(500);

/// A change produced by the state machine, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    State(ConnectionState),
    Agent,
    Error,
    Message(MessageChange),
    MessagesRestored,
    Track(TrackChange),
    /// The room connection ended, for this reason.
    Disconnected(DisconnectReason),
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
    room_name: String,
    messages: MessageStore,
    /// The room's tracks, in publication order (see `tracks`).
    tracks: Tracks,
    agent_timeout: Duration,
    /// Whether the token of the current connection dispatches an agent.
    dispatches_agent: bool,
    /// When the agent must be listening, thinking or speaking.
    agent_deadline: Option<Instant>,
    /// When an agent that left counts as gone.
    leave_deadline: Option<Instant>,
    /// An agent has been in the room and has not been declared gone: if a reconnect or a
    /// move ends without it, it left.
    agent_expected: bool,
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
            room_name: String::new(),
            messages: MessageStore::default(),
            tracks: Tracks::default(),
            agent_timeout,
            dispatches_agent: false,
            agent_deadline: None,
            leave_deadline: None,
            agent_expected: false,
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

    pub(crate) fn room_name(&self) -> &str {
        &self.room_name
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

    /// `start` connected (the room's snapshot follows as [`RoomEvent::Connected`]).
    pub(crate) fn connected(&mut self, dispatches_agent: bool, now: Instant) {
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
            self.changes.push(Change::Disconnected(DisconnectReason::ClientInitiated));
            self.set_state(ConnectionState::Disconnected);
            self.update_agent();
        }
    }

    /// Applies one translated room event. Events after the connection ended are ignored.
    pub(crate) fn apply(&mut self, event: RoomEvent, now: Instant, wall: SystemTime) {
        if !self.state.is_connected() {
            return;
        }
        self.tracks.apply(&event, &self.local_identity, &mut self.changes);
        match event {
            RoomEvent::Connected { local_identity, room_name, participants } => {
                self.local_identity = local_identity;
                self.room_name = room_name;
                self.participants = participants;
            }
            RoomEvent::ParticipantJoined(participant) => {
                self.participants.retain(|p| p.identity != participant.identity);
                self.participants.push(participant);
            }
            RoomEvent::ParticipantLeft { identity } => {
                let was_agent = self.agent.identity.as_deref() == Some(identity.as_str());
                self.participants.retain(|p| p.identity != identity);
                if was_agent && self.current_agent().is_none() {
                    self.leave_deadline = Some(now + AGENT_LEAVE_GRACE);
                }
            }
            RoomEvent::ParticipantChanged(participant) => {
                if let Some(p) =
                    self.participants.iter_mut().find(|p| p.identity == participant.identity)
                {
                    *p = participant;
                }
            }
            RoomEvent::TrackPublished { .. }
            | RoomEvent::TrackUnpublished { .. }
            | RoomEvent::TrackChanged { .. } => {}
            RoomEvent::Reconnecting => {
                // Departures reported just before a reconnect are part of it, not the agent
                // leaving.
                self.leave_deadline = None;
                self.set_state(ConnectionState::Reconnecting);
            }
            RoomEvent::Reconnected => {
                self.set_state(ConnectionState::Connected);
                if self.dispatches_agent && self.current_agent().is_none() {
                    self.agent_deadline = Some(now + self.agent_timeout);
                }
                // A full reconnect re-announces everyone before `Reconnected`: an agent that
                // is still missing left during the reconnect.
                self.arm_leave_if_missing(now);
            }
            RoomEvent::Moved { room_name } => {
                // A move is not a leave: the participants absent from the new room are
                // reported gone just before it; the agent has a grace from the move to follow.
                self.room_name = room_name;
                self.arm_leave_if_missing(now);
            }
            RoomEvent::Disconnected(reason) => {
                // The error first, as in `start_failed`.
                if !reason.is_normal_end() {
                    let error = ConnectionError::Disconnected(reason.clone());
                    self.set_error(Some(SessionError::Connection(error)));
                }
                self.changes.push(Change::Disconnected(reason));
                self.reset_room();
                self.set_state(ConnectionState::Disconnected);
            }
            RoomEvent::StreamOpened(stream) => {
                let change = self.messages.stream_opened(&stream, &self.local_identity, wall);
                self.push_message_change(change);
            }
            RoomEvent::StreamChunk { stream_id, text } => {
                let change = self.messages.chunk(&stream_id, &text);
                self.push_message_change(change);
            }
            RoomEvent::StreamClosed { stream_id, failure } => {
                let change = self.messages.stream_closed(&stream_id);
                self.push_message_change(change);
                if let Some(failure) = failure {
                    self.set_error(Some(SessionError::Receiver(TransportError::Failed(failure))));
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
                self.agent_expected = false;
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

    /// Forgets the room: participants, open streams, deadlines and agent failures.
    fn reset_room(&mut self) {
        for change in self.messages.end_streams() {
            self.changes.push(Change::Message(change));
        }
        self.participants.clear();
        self.tracks.clear(&mut self.changes);
        self.dispatches_agent = false;
        self.agent_deadline = None;
        self.leave_deadline = None;
        self.agent_expected = false;
        self.failure = None;
    }

    /// Starts the leave grace if an agent was expected and is not in the room.
    fn arm_leave_if_missing(&mut self, now: Instant) {
        if self.agent_expected && self.current_agent().is_none() {
            self.leave_deadline = Some(now + AGENT_LEAVE_GRACE);
        }
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
                        self.agent_expected = true;
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
        let agent = self.tracks.with_agent_tracks(agent, &self.participants);
        if agent != self.agent {
            self.agent = agent;
            self.changes.push(Change::Agent);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::{
        AGENT_STATE_ATTRIBUTE, CHAT_TOPIC, PUBLISH_ON_BEHALF_ATTRIBUTE, SEGMENT_ID_ATTRIBUTE,
        TRANSCRIPTION_TOPIC, room::protocol::ParticipantKind, translate::TextStreamInfo,
    };

    const TIMEOUT: Duration = Duration::from_secs(20);
    const LOCAL: &str = "me";
    const IDENTITIES: [&str; 3] = ["a", "b", "c"];
    const STATES: [&str; 6] = ["initializing", "idle", "listening", "thinking", "speaking", "?"];

    #[derive(Debug, Clone)]
    enum Op {
        Start,
        StartFailed,
        Connect { present: Vec<(usize, bool, usize)>, dispatch: bool },
        End,
        Ended,
        Joined { who: usize, agent: bool, avatar: bool, state: usize },
        Left { who: usize },
        State { who: usize, state: usize },
        Reconnecting,
        Reconnected,
        Disconnected,
        Open { stream: usize, topic: usize, sender: usize, segment: Option<usize> },
        Chunk { stream: usize, text: String },
        Close { stream: usize },
        Wait { millis: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        let who = 0..IDENTITIES.len();
        let state = 0..STATES.len();
        prop_oneof![
            2 => Just(Op::Start),
            1 => Just(Op::StartFailed),
            2 => (proptest::collection::vec((who.clone(), any::<bool>(), state.clone()), 0..3), any::<bool>())
                .prop_map(|(present, dispatch)| Op::Connect { present, dispatch }),
            1 => Just(Op::End),
            1 => Just(Op::Ended),
            3 => (who.clone(), any::<bool>(), prop::bool::weighted(0.2), state.clone())
                .prop_map(|(who, agent, avatar, state)| Op::Joined { who, agent, avatar, state }),
            2 => who.clone().prop_map(|who| Op::Left { who }),
            3 => (who, state).prop_map(|(who, state)| Op::State { who, state }),
            1 => Just(Op::Reconnecting),
            1 => Just(Op::Reconnected),
            1 => Just(Op::Disconnected),
            3 => (0..4usize, 0..3usize, 0..3usize, proptest::option::of(0..2usize))
                .prop_map(|(stream, topic, sender, segment)| Op::Open { stream, topic, sender, segment }),
            4 => (0..4usize, "[a-z ]{0,3}").prop_map(|(stream, text)| Op::Chunk { stream, text }),
            2 => (0..4usize).prop_map(|stream| Op::Close { stream }),
            3 => prop_oneof![Just(100u64), Just(600), Just(5_000), Just(25_000)].prop_map(|millis| Op::Wait { millis }),
        ]
    }

    fn participant(who: usize, agent: bool, avatar: bool, state: usize) -> ParticipantInfo {
        let kind = if agent { ParticipantKind::Agent } else { ParticipantKind::Standard };
        let mut p = ParticipantInfo::new(IDENTITIES[who], kind)
            .with_attribute(AGENT_STATE_ATTRIBUTE, STATES[state]);
        if avatar {
            p = p.with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, "x");
        }
        p
    }

    /// What the model knows about the room and the messages.
    #[derive(Default)]
    struct Model {
        connected_ok: bool,
        dispatch: bool,
        /// When the agent must be available (connect or reconnect time + timeout).
        available_by: Option<Instant>,
        /// When the last agent departure happened, if no reconnect followed.
        departed_at: Option<Instant>,
        /// An agent has been in the room since the connect.
        had_agent: bool,
        participants: Vec<ParticipantInfo>,
        /// Open streams: id → (key, replace on first chunk, got a chunk).
        streams: HashMap<String, ((String, String), bool, bool)>,
        /// Messages: key → text, in order.
        messages: Vec<((String, String), String)>,
    }

    impl Model {
        fn first_agent(&self) -> Option<&ParticipantInfo> {
            self.participants.iter().find(|p| is_agent(p))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn the_state_machine_keeps_its_invariants(ops in proptest::collection::vec(op(), 1..80)) {
            let start = Instant::now();
            let mut now = start;
            let wall = SystemTime::UNIX_EPOCH;
            let mut core = Core::new(TIMEOUT);
            let mut model = Model::default();
            for op in ops {
                let before = core.state();
                let connected_before = before.is_connected();
                match op.clone() {
                    Op::Start => {
                        let result = core.begin_start();
                        prop_assert_eq!(result.is_ok(), before == ConnectionState::Disconnected);
                        if result.is_ok() {
                            model.connected_ok = false;
                            model.streams.clear();
                        }
                    }
                    Op::StartFailed => core.start_failed(ConnectionError::Transport(TransportError::failed("x"))),
                    Op::Connect { present, dispatch } => {
                        if before == ConnectionState::Connecting {
                            let participants: Vec<_> = present
                                .iter()
                                .map(|&(who, agent, state)| participant(who, agent, false, state))
                                .fold(Vec::new(), |mut list: Vec<ParticipantInfo>, p| {
                                    list.retain(|q| q.identity != p.identity);
                                    list.push(p);
                                    list
                                });
                            core.connected(dispatch, now);
                            core.apply(
                                RoomEvent::Connected {
                                    local_identity: LOCAL.into(),
                                    room_name: "room".into(),
                                    participants: participants.clone(),
                                },
                                now,
                                wall,
                            );
                            model.connected_ok = true;
                            model.dispatch = dispatch;
                            model.available_by = dispatch.then_some(now + TIMEOUT);
                            model.departed_at = None;
                            model.participants = participants;
                            model.had_agent = model.first_agent().is_some();
                            model.streams.clear();
                        }
                    }
                    Op::End => {
                        let _ = core.begin_end();
                        if before != ConnectionState::Disconnected {
                            model.connected_ok = false;
                            model.streams.clear();
                        }
                    }
                    Op::Ended => core.ended(),
                    Op::Wait { millis } => {
                        now += Duration::from_millis(millis);
                        while core.next_deadline().is_some_and(|deadline| deadline <= now) {
                            core.on_timer(now);
                        }
                    }
                    other => {
                        let event = match other {
                            Op::Joined { who, agent, avatar, state } => {
                                RoomEvent::ParticipantJoined(participant(who, agent, avatar, state))
                            }
                            Op::Left { who } => RoomEvent::ParticipantLeft { identity: IDENTITIES[who].into() },
                            Op::State { who, state } => {
                                let attributes = model
                                    .participants
                                    .iter()
                                    .find(|p| p.identity == IDENTITIES[who])
                                    .map(|p| {
                                        let mut attributes = p.attributes.clone();
                                        attributes.insert(AGENT_STATE_ATTRIBUTE.into(), STATES[state].into());
                                        attributes
                                    })
                                    .unwrap_or_default();
                                let mut changed = model
                                    .participants
                                    .iter()
                                    .find(|p| p.identity == IDENTITIES[who])
                                    .cloned()
                                    .unwrap_or_else(|| participant(who, false, false, state));
                                changed.attributes = attributes;
                                RoomEvent::ParticipantChanged(changed)
                            }
                            Op::Reconnecting => RoomEvent::Reconnecting,
                            Op::Reconnected => RoomEvent::Reconnected,
                            Op::Disconnected => RoomEvent::Disconnected(DisconnectReason::ConnectionLost),
                            Op::Open { stream, topic, sender, segment } => {
                                let topic = [TRANSCRIPTION_TOPIC, CHAT_TOPIC, "other"][topic];
                                let sender = [LOCAL, "a", "b"][sender];
                                let mut info = TextStreamInfo::new(format!("s{stream}"), topic, sender);
                                if let Some(segment) = segment {
                                    info = info.with_attribute(SEGMENT_ID_ATTRIBUTE, format!("seg{segment}"));
                                }
                                RoomEvent::StreamOpened(info)
                            }
                            Op::Chunk { stream, text } => RoomEvent::StreamChunk { stream_id: format!("s{stream}"), text },
                            Op::Close { stream } => RoomEvent::StreamClosed {
                                stream_id: format!("s{stream}"),
                                failure: None,
                            },
                            _ => unreachable!("handled above"),
                        };
                        if connected_before {
                            model_apply(&mut model, &event, now);
                        }
                        core.apply(event, now, wall);
                    }
                }
                let _ = core.take_changes();

                // Never connected without a successful connect since the last start.
                if core.state().is_connected() {
                    prop_assert!(model.connected_ok, "connected without a connect: {:?}", op);
                } else {
                    if core.state() == ConnectionState::Disconnected {
                        model.connected_ok = false;
                        model.participants.clear();
                    }
                }
                // The agent matches the connection state.
                let agent = core.agent().clone();
                match core.state() {
                    ConnectionState::Disconnected | ConnectionState::Disconnecting => {
                        prop_assert_eq!(agent.state, AgentState::Disconnected)
                    }
                    ConnectionState::Connecting => prop_assert_eq!(agent.state, AgentState::Connecting),
                    _ => prop_assert_ne!(agent.state, AgentState::Disconnected),
                }
                if core.state().is_connected() {
                    // The agent shown is the first agent in the room (or none).
                    let expected = model.first_agent().map(|p| p.identity.clone());
                    if expected.is_some() {
                        prop_assert_eq!(agent.identity.clone(), expected);
                    }
                    match agent.state {
                        AgentState::Failed(AgentFailure::Timeout) => {
                            prop_assert!(model.dispatch, "timeout without a dispatch");
                            prop_assert!(model.available_by.is_some_and(|by| now >= by), "timeout too early");
                        }
                        AgentState::Failed(AgentFailure::Left) => {
                            prop_assert!(model.first_agent().is_none(), "left while an agent is present");
                            prop_assert!(
                                model.departed_at.is_some_and(|at| now >= at + AGENT_LEAVE_GRACE),
                                "left without a departure outside a reconnect"
                            );
                        }
                        _ => {}
                    }
                }
                // No message duplicated or lost, and each has the model's text.
                let messages = core.messages();
                prop_assert_eq!(messages.len(), model.messages.len());
                for (message, (key, text)) in messages.iter().zip(&model.messages) {
                    prop_assert_eq!(&(message.sender_identity.clone(), message.id.clone()), key);
                    prop_assert_eq!(&message.text, text);
                }
            }
        }
    }

    /// The model's view of one event, applied only while connected (as the core does).
    fn model_apply(model: &mut Model, event: &RoomEvent, now: Instant) {
        match event {
            RoomEvent::ParticipantJoined(p) => {
                model.participants.retain(|q| q.identity != p.identity);
                model.participants.push(p.clone());
                if model.first_agent().is_some() {
                    model.departed_at = None;
                    model.had_agent = true;
                }
            }
            RoomEvent::ParticipantLeft { identity } => {
                let was_first = model.first_agent().is_some_and(|a| &a.identity == identity);
                model.participants.retain(|p| &p.identity != identity);
                if was_first && model.first_agent().is_none() {
                    model.departed_at = Some(now);
                }
            }
            RoomEvent::ParticipantChanged(changed) => {
                if let Some(p) =
                    model.participants.iter_mut().find(|p| p.identity == changed.identity)
                {
                    *p = changed.clone();
                }
            }
            // A departure within the grace was part of the reconnect; an earlier one stands.
            RoomEvent::Reconnecting => {
                model.departed_at = model.departed_at.filter(|at| now >= *at + AGENT_LEAVE_GRACE);
            }
            RoomEvent::Reconnected => {
                // An agent still missing after the reconnect left.
                if model.had_agent && model.first_agent().is_none() {
                    model.departed_at = Some(model.departed_at.unwrap_or(now));
                }
                // A reconnect restarts the wait for an absent agent (a timeout that already
                // fired stays).
                if model.dispatch && model.first_agent().is_none() {
                    let restarted = now + TIMEOUT;
                    model.available_by =
                        Some(model.available_by.map_or(restarted, |by| by.min(restarted)));
                }
            }
            RoomEvent::Disconnected(_) => {
                model.participants.clear();
                model.streams.clear();
            }
            RoomEvent::StreamOpened(info) => {
                let id = match info.topic.as_str() {
                    TRANSCRIPTION_TOPIC => info
                        .attributes
                        .get(SEGMENT_ID_ATTRIBUTE)
                        .cloned()
                        .unwrap_or(info.id.clone()),
                    CHAT_TOPIC => info.id.clone(),
                    _ => return,
                };
                let key = (info.sender_identity.clone(), id);
                let existing = model.messages.iter().any(|(k, _)| k == &key);
                if !existing {
                    model.messages.push((key.clone(), String::new()));
                }
                model.streams.insert(info.id.clone(), (key, existing, false));
            }
            RoomEvent::StreamChunk { stream_id, text } => {
                if let Some((key, replace, got)) = model.streams.get_mut(stream_id) {
                    let message = model.messages.iter_mut().find(|(k, _)| k == key).map(|(_, t)| t);
                    if let Some(message) = message {
                        if *replace && !*got {
                            message.clear();
                        }
                        message.push_str(text);
                        *got = *got || *replace || !text.is_empty();
                    }
                }
            }
            RoomEvent::StreamClosed { stream_id, .. } => {
                model.streams.remove(stream_id);
            }
            _ => {}
        }
    }
}
