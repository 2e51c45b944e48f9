//! `Script`: a scripted room for previews, UI tests and demos, built step by step.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use crate::{error::CallbackError, room::RoomFact, session::TrackSource};

/// Answers the user's chat in a script.
#[uniffi::export(foreign)]
pub trait ChatResponder: Send + Sync {
    /// The script to play when the user sends `text` (nothing, if it throws).
    fn reply(&self, text: String) -> Result<Arc<Script>, CallbackError>;
}

/// What a scripted room does after the session connects. Every builder method returns a new
/// script with one more step.
#[derive(Debug, uniffi::Object)]
pub struct Script {
    inner: Mutex<session::Script>,
}

impl Script {
    pub(crate) fn core(&self) -> session::Script {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn then(&self, step: impl FnOnce(session::Script) -> session::Script) -> Arc<Self> {
        Arc::new(Self { inner: Mutex::new(step(self.core())) })
    }
}

#[uniffi::export]
impl Script {
    /// An empty room.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self { inner: Mutex::new(session::Script::new()) })
    }

    /// An agent is already in the room, in `state`; `with_microphone` gives it a voice (a
    /// microphone track), `with_camera` a camera track of its own.
    #[uniffi::method(default(
        name = None,
        state = "listening",
        with_microphone = false,
        with_camera = false
    ))]
    pub fn with_agent_in_room(
        &self,
        identity: String,
        name: Option<String>,
        state: String,
        with_microphone: bool,
        with_camera: bool,
    ) -> Arc<Self> {
        self.then(|script| {
            script.with_agent_in_room(
                agent(identity, name, with_microphone, with_camera)
                    .with_attribute(session::AGENT_STATE_ATTRIBUTE, state),
            )
        })
    }

    /// The time between two streamed words.
    pub fn with_word_interval_ms(&self, interval_ms: u64) -> Arc<Self> {
        self.then(|script| script.with_word_interval(Duration::from_millis(interval_ms)))
    }

    /// Waits.
    pub fn wait_ms(&self, duration_ms: u64) -> Arc<Self> {
        self.then(|script| script.wait(Duration::from_millis(duration_ms)))
    }

    /// The agent joins (initializing); `with_microphone` gives it a voice (a microphone track),
    /// `with_camera` a camera track of its own.
    #[uniffi::method(default(name = None, with_microphone = false, with_camera = false))]
    pub fn agent_joins(
        &self,
        identity: String,
        name: Option<String>,
        with_microphone: bool,
        with_camera: bool,
    ) -> Arc<Self> {
        self.then(|script| script.agent_joins(agent(identity, name, with_microphone, with_camera)))
    }

    /// An avatar worker `identity` joins for the agent that joined last (`lk.publish_on_behalf`
    /// set to the agent's identity) and publishes a camera track: the agent's video.
    pub fn avatar_joins(&self, identity: String) -> Arc<Self> {
        self.then(|script| script.avatar_joins(&identity))
    }

    /// The participant `identity` publishes a track of `source` (subscribed right after, as
    /// LiveKit's auto-subscribe does). Ignored if nobody in the room has that identity.
    pub fn publish_track(&self, identity: String, source: TrackSource) -> Arc<Self> {
        self.then(|script| script.publish_track(&identity, source.into()))
    }

    /// The participant `identity` mutes its first track of `source` (ignored if there is none).
    pub fn mute_track(&self, identity: String, source: TrackSource) -> Arc<Self> {
        self.then(|script| script.mute_track(&identity, source.into()))
    }

    /// The participant `identity` unmutes its first track of `source` (ignored if there is
    /// none).
    pub fn unmute_track(&self, identity: String, source: TrackSource) -> Arc<Self> {
        self.then(|script| script.unmute_track(&identity, source.into()))
    }

    /// The participant `identity` unpublishes its first track of `source` (ignored if there is
    /// none).
    pub fn unpublish_track(&self, identity: String, source: TrackSource) -> Arc<Self> {
        self.then(|script| script.unpublish_track(&identity, source.into()))
    }

    /// The agent sets `lk.agent.state`.
    pub fn agent_state(&self, state: String) -> Arc<Self> {
        self.then(|script| script.agent_state(&state))
    }

    /// The agent's speech transcript, streamed word by word.
    pub fn agent_says(&self, text: String) -> Arc<Self> {
        self.then(|script| script.agent_says(&text))
    }

    /// Thinking, speaking with a streamed transcript, then listening.
    pub fn agent_turn(&self, text: String) -> Arc<Self> {
        self.then(|script| script.agent_turn(&text))
    }

    /// The user's speech, transcribed by the agent.
    pub fn user_says(&self, text: String) -> Arc<Self> {
        self.then(|script| script.user_says(&text))
    }

    /// An agent transcript stream that sends `text`, then fails with `reason` (a receiver error).
    pub fn agent_stream_fails(&self, text: String, reason: String) -> Arc<Self> {
        self.then(|script| script.agent_stream_fails(&text, &reason))
    }

    /// Enabling the microphone fails with `reason` (a media error; the session stays connected).
    pub fn with_microphone_unavailable(&self, reason: String) -> Arc<Self> {
        self.then(|script| script.with_microphone_unavailable(&reason))
    }

    /// The agent leaves.
    pub fn agent_leaves(&self) -> Arc<Self> {
        self.then(session::Script::agent_leaves)
    }

    /// A full reconnect in LiveKit's event order.
    pub fn reconnect(&self) -> Arc<Self> {
        self.then(session::Script::reconnect)
    }

    /// The server ends the connection for `reason`, LiveKit's protocol `DisconnectReason` name
    /// (by default `ROOM_DELETED`: the agent hung up).
    #[uniffi::method(default(reason = "ROOM_DELETED"))]
    pub fn server_disconnects(&self, reason: String) -> Arc<Self> {
        self.then(|script| script.server_disconnects(&reason))
    }

    /// A signal reconnect (the connection is resumed): reconnecting, then reconnected.
    pub fn signal_reconnect(&self) -> Arc<Self> {
        self.then(session::Script::signal_reconnect)
    }

    /// The room reports `fact` (anything a room can say, in LiveKit's protocol values).
    pub fn fact(&self, fact: RoomFact) -> Arc<Self> {
        self.then(|script| script.fact(fact.into()))
    }

    /// When the user sends chat, plays `responder`'s script.
    pub fn on_chat(&self, responder: Arc<dyn ChatResponder>) -> Arc<Self> {
        self.then(|script| {
            script.on_chat(move |text| match responder.reply(text.to_owned()) {
                Ok(reply) => reply.core(),
                Err(_) => session::Script::new(),
            })
        })
    }
}

fn agent(
    identity: String,
    name: Option<String>,
    with_microphone: bool,
    with_camera: bool,
) -> session::ScriptedAgent {
    let mut agent = session::ScriptedAgent::new(identity);
    if let Some(name) = name {
        agent = agent.with_name(name);
    }
    if with_microphone {
        agent = agent.with_microphone();
    }
    if with_camera {
        agent = agent.with_camera();
    }
    agent
}
