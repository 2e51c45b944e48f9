//! The agent: which remote participant it is, and its state.

use std::{collections::BTreeMap, fmt};

pub use crate::room::protocol::{AGENT_STATE_ATTRIBUTE, PUBLISH_ON_BEHALF_ATTRIBUTE};
use crate::{
    core::tracks::TrackReference, room::protocol::ParticipantKind, translate::ParticipantInfo,
};

/// What the agent is doing, as the app should show it.
///
/// `Idle`, `Initializing`, `Listening`, `Thinking` and `Speaking` are the agent's own
/// `lk.agent.state`; the others are what the session knows on the client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AgentState {
    /// The session is not connected.
    Disconnected,
    /// The session is connecting, or connected and waiting for the agent to join.
    Connecting,
    /// The agent joined and is starting up.
    Initializing,
    /// The agent is idle (also when it reports no state or one this version does not know).
    Idle,
    /// The agent is listening to the user.
    Listening,
    /// The agent is preparing an answer.
    Thinking,
    /// The agent is speaking.
    Speaking,
    /// The agent did not become available in time, or left.
    Failed(AgentFailure),
}

/// Why the agent failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AgentFailure {
    /// The token dispatched an agent, but it was not listening, thinking or speaking within the
    /// agent timeout.
    Timeout,
    /// The agent left the room while the session was connected.
    Left,
}

impl fmt::Display for AgentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgentFailure::Timeout => "the agent did not become available within the timeout",
            AgentFailure::Left => "the agent left the room",
        })
    }
}

impl AgentState {
    /// Parses an `lk.agent.state` value. `None` for values this version does not know.
    pub fn from_attribute(value: &str) -> Option<Self> {
        Some(match value {
            "idle" => AgentState::Idle,
            "initializing" => AgentState::Initializing,
            "listening" => AgentState::Listening,
            "thinking" => AgentState::Thinking,
            "speaking" => AgentState::Speaking,
            _ => return None,
        })
    }

    /// The agent is there and engaged: listening, thinking or speaking.
    pub fn is_connected(self) -> bool {
        matches!(self, AgentState::Listening | AgentState::Thinking | AgentState::Speaking)
    }

    /// The user can talk and be heard (the same states as [`is_connected`](Self::is_connected):
    /// this session has no pre-connect audio buffer).
    pub fn can_listen(self) -> bool {
        self.is_connected()
    }

    /// Waiting for the agent: connecting, or the agent is initializing or idle.
    pub fn is_pending(self) -> bool {
        matches!(self, AgentState::Connecting | AgentState::Initializing | AgentState::Idle)
    }

    /// Nothing more will happen until the next start (or the agent comes back): disconnected or
    /// failed.
    pub fn is_finished(self) -> bool {
        matches!(self, AgentState::Disconnected | AgentState::Failed(_))
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::Disconnected => f.write_str("disconnected"),
            AgentState::Connecting => f.write_str("connecting"),
            AgentState::Initializing => f.write_str("initializing"),
            AgentState::Idle => f.write_str("idle"),
            AgentState::Listening => f.write_str("listening"),
            AgentState::Thinking => f.write_str("thinking"),
            AgentState::Speaking => f.write_str("speaking"),
            AgentState::Failed(AgentFailure::Timeout) => f.write_str("failed (timeout)"),
            AgentState::Failed(AgentFailure::Left) => f.write_str("failed (left)"),
        }
    }
}

/// The agent of a session: its state and, while it is in the room, who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Agent {
    /// What the agent is doing.
    pub state: AgentState,
    /// The agent participant's identity, while it is in the room.
    pub identity: Option<String>,
    /// The agent participant's name, while it is in the room.
    pub name: Option<String>,
    /// The agent participant's attributes, while it is in the room.
    pub attributes: BTreeMap<String, String>,
    /// The agent's voice: its own first microphone track, else its avatar worker's, while the
    /// agent is in the room (see docs/session.md, "Tracks").
    pub audio_track: Option<TrackReference>,
    /// The agent's video: its own first camera track, else its avatar worker's (Swift:
    /// `avatarVideoTrack`), while the agent is in the room.
    pub video_track: Option<TrackReference>,
}

impl Agent {
    /// An agent in `state` with no participant.
    pub fn without_participant(state: AgentState) -> Self {
        Self {
            state,
            identity: None,
            name: None,
            attributes: BTreeMap::new(),
            audio_track: None,
            video_track: None,
        }
    }

    /// The agent represented by `participant`.
    pub(crate) fn from_participant(participant: &ParticipantInfo) -> Self {
        let state = participant
            .attributes
            .get(AGENT_STATE_ATTRIBUTE)
            .and_then(|value| AgentState::from_attribute(value))
            .unwrap_or(AgentState::Idle);
        Self {
            state,
            identity: Some(participant.identity.clone()),
            name: Some(participant.name.clone()).filter(|name| !name.is_empty()),
            attributes: participant.attributes.clone(),
            audio_track: None,
            video_track: None,
        }
    }

    /// See [`AgentState::is_connected`].
    pub fn is_connected(&self) -> bool {
        self.state.is_connected()
    }

    /// See [`AgentState::can_listen`].
    pub fn can_listen(&self) -> bool {
        self.state.can_listen()
    }

    /// See [`AgentState::is_pending`].
    pub fn is_pending(&self) -> bool {
        self.state.is_pending()
    }

    /// See [`AgentState::is_finished`].
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// Why the agent failed, if it did.
    pub fn error(&self) -> Option<AgentFailure> {
        match self.state {
            AgentState::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

/// Whether `participant` is an agent (not an avatar worker publishing on an agent's behalf).
pub(crate) fn is_agent(participant: &ParticipantInfo) -> bool {
    participant.kind == ParticipantKind::Agent
        && !participant.attributes.contains_key(PUBLISH_ON_BEHALF_ATTRIBUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_livekit_sdks() {
        use AgentState::*;
        let all = [
            Disconnected,
            Connecting,
            Initializing,
            Idle,
            Listening,
            Thinking,
            Speaking,
            Failed(AgentFailure::Timeout),
            Failed(AgentFailure::Left),
        ];
        let connected: Vec<_> = all.iter().filter(|s| s.is_connected()).collect();
        assert_eq!(connected, [&Listening, &Thinking, &Speaking]);
        let pending: Vec<_> = all.iter().filter(|s| s.is_pending()).collect();
        assert_eq!(pending, [&Connecting, &Initializing, &Idle]);
        let finished: Vec<_> = all.iter().filter(|s| s.is_finished()).collect();
        assert_eq!(
            finished,
            [&Disconnected, &Failed(AgentFailure::Timeout), &Failed(AgentFailure::Left)]
        );
        assert!(all.iter().all(|s| s.can_listen() == s.is_connected()));
    }

    #[test]
    fn state_attribute_parsing() {
        assert_eq!(AgentState::from_attribute("listening"), Some(AgentState::Listening));
        assert_eq!(AgentState::from_attribute("Listening"), None);
        assert_eq!(AgentState::from_attribute(""), None);
        let mut participant = ParticipantInfo::agent("a");
        assert_eq!(Agent::from_participant(&participant).state, AgentState::Idle);
        participant.attributes.insert(AGENT_STATE_ATTRIBUTE.into(), "dancing".into());
        assert_eq!(Agent::from_participant(&participant).state, AgentState::Idle);
        participant.attributes.insert(AGENT_STATE_ATTRIBUTE.into(), "thinking".into());
        assert_eq!(Agent::from_participant(&participant).state, AgentState::Thinking);
    }

    #[test]
    fn avatar_workers_are_not_agents() {
        let agent = ParticipantInfo::agent("a");
        assert!(is_agent(&agent));
        let avatar =
            ParticipantInfo::agent("avatar").with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, "a");
        assert!(!is_agent(&avatar));
        assert!(!is_agent(&ParticipantInfo::standard("user")));
    }
}
