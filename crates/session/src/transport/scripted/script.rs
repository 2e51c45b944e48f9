//! [`Script`]: what a scripted room does, step by step.

use std::{fmt, sync::Arc, time::Duration};

use crate::{
    error::TransportError,
    room::{
        facts::{ParticipantFact, RoomFact, TrackFact},
        protocol::{AGENT_STATE_ATTRIBUTE, TrackSource},
    },
};

/// An agent participant for a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedAgent {
    pub(super) participant: ParticipantFact,
}

impl ScriptedAgent {
    /// An agent with this identity, reporting `lk.agent.state = initializing`.
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            participant: ParticipantFact::agent(identity)
                .with_attribute(AGENT_STATE_ATTRIBUTE, "initializing"),
        }
    }

    /// Sets its display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.participant.name = name.into();
        self
    }

    /// Sets one attribute (for example `lk.agent.state`, or `lk.publish_on_behalf` to make it
    /// an avatar worker).
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.participant.attributes.insert(key.into(), value.into());
        self
    }

    /// It publishes a microphone track (its voice): present when it joins or is in the room,
    /// subscribed right after, as LiveKit's auto-subscribe does.
    pub fn with_microphone(self) -> Self {
        self.with_track(TrackSource::Microphone)
    }

    /// It publishes a camera track of its own (an agent with video, no avatar worker needed).
    pub fn with_camera(self) -> Self {
        self.with_track(TrackSource::Camera)
    }

    fn with_track(mut self, source: TrackSource) -> Self {
        let sid =
            format!("TR_{}_{}", self.participant.identity, source_name(source).to_lowercase());
        self.participant.tracks.push(track_fact(sid, source));
        self
    }

    /// The participant it appears as.
    pub fn participant(&self) -> &ParticipantFact {
        &self.participant
    }
}

/// LiveKit's protocol name of a track source.
pub(super) fn source_name(source: TrackSource) -> &'static str {
    match source {
        TrackSource::Camera => "CAMERA",
        TrackSource::Microphone => "MICROPHONE",
        TrackSource::ScreenShare => "SCREEN_SHARE",
        TrackSource::ScreenShareAudio => "SCREEN_SHARE_AUDIO",
        _ => "UNKNOWN",
    }
}

/// A newly published track of `source` (audio for the microphone and screen-share audio,
/// video otherwise), unmuted, not yet subscribed, named after its source.
pub(super) fn track_fact(sid: String, source: TrackSource) -> TrackFact {
    let kind = match source {
        TrackSource::Microphone | TrackSource::ScreenShareAudio => "AUDIO",
        _ => "VIDEO",
    };
    let name = source_name(source).to_lowercase();
    TrackFact::new(sid, source_name(source), kind).with_name(name)
}

pub(super) type Reply = Arc<dyn Fn(&str) -> Script + Send + Sync>;

#[derive(Debug, Clone)]
pub(super) enum Step {
    Wait(Duration),
    Fact(RoomFact),
    AgentJoins(ScriptedAgent),
    AgentState(String),
    AgentSays(String),
    AgentStreamFails { text: String, reason: String },
    UserSays(String),
    AgentLeaves,
    AvatarJoins(String),
    PublishTrack { identity: String, source: TrackSource },
    MuteTrack { identity: String, source: TrackSource, muted: bool },
    UnpublishTrack { identity: String, source: TrackSource },
    Reconnect,
    SignalReconnect,
    Disconnect(String),
}

/// What a scripted room does after the session connects, step by step.
///
/// Steps about "the agent" refer to the agent that joined last (or was in the room at join).
/// Text is streamed word by word, one chunk every [`with_word_interval`](Self::with_word_interval)
/// (60 ms by default), as an agent's text-to-speech transcript would be.
#[derive(Clone)]
pub struct Script {
    pub(super) in_room: Vec<ParticipantFact>,
    pub(super) steps: Vec<Step>,
    pub(super) word_interval: Duration,
    pub(super) thinking_time: Duration,
    pub(super) reply: Option<Reply>,
    pub(super) microphone_error: Option<TransportError>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            in_room: Vec::new(),
            steps: Vec::new(),
            word_interval: Duration::from_millis(60),
            thinking_time: Duration::from_millis(400),
            reply: None,
            microphone_error: None,
        }
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("in_room", &self.in_room)
            .field("steps", &self.steps)
            .field("word_interval", &self.word_interval)
            .field("replies_to_chat", &self.reply.is_some())
            .finish()
    }
}

impl Script {
    /// An empty script: a room with nobody else in it.
    pub fn new() -> Self {
        Self::default()
    }

    /// The agent is already in the room when the session joins (it appears in the connect
    /// snapshot, not as a join event, as in LiveKit).
    pub fn with_agent_in_room(mut self, agent: ScriptedAgent) -> Self {
        self.in_room.push(agent.participant);
        self
    }

    /// Another participant is already in the room when the session joins.
    pub fn with_participant_in_room(mut self, participant: ParticipantFact) -> Self {
        self.in_room.push(participant);
        self
    }

    /// The time between two streamed words.
    pub fn with_word_interval(mut self, interval: Duration) -> Self {
        self.word_interval = interval;
        self
    }

    /// How long [`agent_turn`](Self::agent_turn) thinks before speaking.
    pub fn with_thinking_time(mut self, thinking_time: Duration) -> Self {
        self.thinking_time = thinking_time;
        self
    }

    /// Waits.
    pub fn wait(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Wait(duration));
        self
    }

    /// The agent joins the room.
    pub fn agent_joins(mut self, agent: ScriptedAgent) -> Self {
        self.steps.push(Step::AgentJoins(agent));
        self
    }

    /// The agent sets `lk.agent.state` (`initializing`, `idle`, `listening`, `thinking`,
    /// `speaking`, or anything else to test unknown values).
    pub fn agent_state(mut self, state: &str) -> Self {
        self.steps.push(Step::AgentState(state.to_owned()));
        self
    }

    /// The agent's speech transcript: one `lk.transcription` stream, word by word, then closed.
    pub fn agent_says(mut self, text: &str) -> Self {
        self.steps.push(Step::AgentSays(text.to_owned()));
        self
    }

    /// An agent transcript stream that sends `text` and then fails with `reason` (the session
    /// reports a receiver error and keeps the text).
    pub fn agent_stream_fails(mut self, text: &str, reason: &str) -> Self {
        self.steps
            .push(Step::AgentStreamFails { text: text.to_owned(), reason: reason.to_owned() });
        self
    }

    /// The room has no usable microphone: enabling it fails with `reason` (the session reports
    /// a media error and stays connected).
    pub fn with_microphone_unavailable(mut self, reason: &str) -> Self {
        self.microphone_error = Some(TransportError::failed(reason));
        self
    }

    /// A whole agent turn: thinking, speaking while its transcript streams, then listening.
    pub fn agent_turn(self, text: &str) -> Self {
        let thinking_time = self.thinking_time;
        self.agent_state("thinking")
            .wait(thinking_time)
            .agent_state("speaking")
            .agent_says(text)
            .agent_state("listening")
    }

    /// The user's speech, transcribed by the agent: interim `lk.transcription` streams from the
    /// local identity, each with the whole segment so far (`lk.transcription_final: false`),
    /// then a final one.
    pub fn user_says(mut self, text: &str) -> Self {
        self.steps.push(Step::UserSays(text.to_owned()));
        self
    }

    /// The agent leaves the room.
    pub fn agent_leaves(mut self) -> Self {
        self.steps.push(Step::AgentLeaves);
        self
    }

    /// An avatar worker joins for the agent that joined last: a participant of kind `AGENT`
    /// with `lk.publish_on_behalf` set to the agent's identity, publishing a camera track
    /// (subscribed right after). The session shows it as the agent's video.
    pub fn avatar_joins(mut self, identity: &str) -> Self {
        self.steps.push(Step::AvatarJoins(identity.to_owned()));
        self
    }

    /// The participant `identity` (the agent, an avatar worker, …) publishes a track of
    /// `source`; the session subscribes to it right after, as LiveKit's auto-subscribe does.
    /// Ignored if nobody in the room has that identity.
    pub fn publish_track(mut self, identity: &str, source: TrackSource) -> Self {
        self.steps.push(Step::PublishTrack { identity: identity.to_owned(), source });
        self
    }

    /// The participant `identity` mutes its first track of `source` (ignored if there is none).
    pub fn mute_track(mut self, identity: &str, source: TrackSource) -> Self {
        self.steps.push(Step::MuteTrack { identity: identity.to_owned(), source, muted: true });
        self
    }

    /// The participant `identity` unmutes its first track of `source` (ignored if there is
    /// none).
    pub fn unmute_track(mut self, identity: &str, source: TrackSource) -> Self {
        self.steps.push(Step::MuteTrack { identity: identity.to_owned(), source, muted: false });
        self
    }

    /// The participant `identity` unpublishes its first track of `source` (ignored if there is
    /// none).
    pub fn unpublish_track(mut self, identity: &str, source: TrackSource) -> Self {
        self.steps.push(Step::UnpublishTrack { identity: identity.to_owned(), source });
        self
    }

    /// A full reconnect (an ICE restart with a new signal session), in LiveKit's order:
    /// every participant left, reconnecting, then the participants join again, reconnected.
    pub fn reconnect(mut self) -> Self {
        self.steps.push(Step::Reconnect);
        self
    }

    /// A signal reconnect (the connection is resumed): reconnecting, then reconnected, with
    /// no participant changes.
    pub fn signal_reconnect(mut self) -> Self {
        self.steps.push(Step::SignalReconnect);
        self
    }

    /// The server ends the connection with LiveKit's protocol `DisconnectReason` name
    /// (`ROOM_DELETED`, `PARTICIPANT_REMOVED`, `SERVER_SHUTDOWN`, …).
    pub fn server_disconnects(mut self, reason: &str) -> Self {
        self.steps.push(Step::Disconnect(reason.to_owned()));
        self
    }

    /// A raw room fact.
    pub fn fact(mut self, fact: RoomFact) -> Self {
        self.steps.push(Step::Fact(fact));
        self
    }

    /// When the session sends a chat message, plays the script `reply` returns for its text.
    pub fn on_chat(mut self, reply: impl Fn(&str) -> Script + Send + Sync + 'static) -> Self {
        self.reply = Some(Arc::new(reply));
        self
    }
}
