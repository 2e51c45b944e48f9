//! A transport that plays a script instead of joining a room: for previews, demos and tests.
//!
//! The script produces exactly the room facts a LiveKit room would (same order, same
//! attributes), so a session on a [`ScriptedTransport`] behaves as it would with a real agent.
//!
//! ```
//! use std::time::Duration;
//! use session::{Script, ScriptedAgent, ScriptedTransport};
//!
//! let transport = ScriptedTransport::new(
//!     Script::new()
//!         .agent_joins(ScriptedAgent::new("agent-1").with_name("Assistant"))
//!         .agent_state("listening")
//!         .wait(Duration::from_millis(300))
//!         .agent_turn("Hi! How can I help?")
//!         .on_chat(|text| Script::new().agent_turn(&format!("You said: {text}"))),
//! );
//! ```

mod player;
mod script;

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use tokio::task::JoinHandle;

pub use self::script::{Script, ScriptedAgent};
use self::{
    player::Player,
    script::{Reply, Step},
};
use crate::{
    error::TransportError,
    room::{
        facts::{ParticipantFact, RoomFact},
        protocol::{CHAT_TOPIC, TrackSource},
    },
    transport::{FactSink, Transport, TransportLink},
};

/// How long a sent chat message takes to reach the scripted agent.
const CHAT_DELIVERY_DELAY: Duration = Duration::from_millis(100);

/// The name of a scripted room.
const SCRIPTED_ROOM_NAME: &str = "scripted-room";

/// The identity the scripted room gives the local participant.
pub const DEFAULT_LOCAL_IDENTITY: &str = "user";

/// A [`Transport`] that plays a [`Script`] on every connect.
///
/// Use [`controller`](Self::controller) to inject events and see what the session did.
#[derive(Clone, Debug)]
pub struct ScriptedTransport {
    script: Script,
    shared: Arc<Mutex<ControllerState>>,
}

#[derive(Debug, Default)]
struct ControllerState {
    local_identity: Option<String>,
    connect_error: Option<TransportError>,
    connect_delay: Option<Duration>,
    send_error: Option<TransportError>,
    microphone_error: Option<TransportError>,
    connects: usize,
    server_urls: Vec<String>,
    sent: Vec<(String, String)>,
    microphone_enabled: bool,
    current: Option<Arc<Room>>,
}

impl ScriptedTransport {
    /// Plays `script` on every connect.
    pub fn new(script: Script) -> Self {
        let state = ControllerState {
            microphone_error: script.microphone_error.clone(),
            ..ControllerState::default()
        };
        Self { script, shared: Arc::new(Mutex::new(state)) }
    }

    /// The local participant's identity (default [`DEFAULT_LOCAL_IDENTITY`]).
    pub fn with_local_identity(self, identity: impl Into<String>) -> Self {
        lock(&self.shared).local_identity = Some(identity.into());
        self
    }

    /// A handle to inject events into the current connection and inspect the session's actions.
    pub fn controller(&self) -> ScriptController {
        ScriptController { shared: Arc::clone(&self.shared) }
    }
}

#[async_trait]
impl Transport for ScriptedTransport {
    async fn connect(
        &self,
        server_url: &str,
        _token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| TransportError::failed("the scripted transport needs a tokio runtime"))?;
        let delay = lock(&self.shared).connect_delay;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let room = {
            let mut state = lock(&self.shared);
            state.connects += 1;
            state.server_urls.push(server_url.to_owned());
            if let Some(error) = state.connect_error.clone() {
                return Err(error);
            }
            let local_identity =
                state.local_identity.clone().unwrap_or_else(|| DEFAULT_LOCAL_IDENTITY.to_owned());
            let room = Arc::new(Room {
                runtime,
                local_identity,
                sink: Mutex::new(Some(sink)),
                tasks: Mutex::new(Vec::new()),
                reply: self.script.reply.clone(),
                counter: Mutex::new(0),
                word_interval: self.script.word_interval,
                participants: Mutex::new(self.script.in_room.clone()),
                microphone: Mutex::new(None),
                controller: Arc::downgrade(&self.shared),
            });
            state.current = Some(Arc::clone(&room));
            room
        };
        // livekit 0.10: the room queues `Connected` with the participants already there
        // before `Room::connect` returns.
        room.push(RoomFact::Connected {
            local_identity: room.local_identity.clone(),
            room_name: SCRIPTED_ROOM_NAME.to_owned(),
            participants: self.script.in_room.clone(),
        });
        // Auto-subscribe then subscribes to the tracks already published.
        for participant in &self.script.in_room {
            for track in &participant.tracks {
                room.push(RoomFact::TrackSubscribed {
                    identity: participant.identity.clone(),
                    sid: track.sid.clone(),
                });
            }
        }
        room.play(self.script.steps.clone());
        Ok(Arc::new(Link(room)))
    }
}

/// Injects events into a [`ScriptedTransport`]'s current connection and records what the
/// session did: connects, sent messages, microphone.
#[derive(Clone, Debug)]
pub struct ScriptController {
    shared: Arc<Mutex<ControllerState>>,
}

impl ScriptController {
    /// Reports `fact` on the current connection. `false` if there is none.
    pub fn emit(&self, fact: RoomFact) -> bool {
        let room = lock(&self.shared).current.clone();
        room.is_some_and(|room| room.push(fact))
    }

    /// Plays `script`'s steps on the current connection. `false` if there is none.
    pub fn play(&self, script: Script) -> bool {
        let room = lock(&self.shared).current.clone();
        room.map(|room| room.play(script.steps)).is_some()
    }

    /// Makes every later connect fail with `error` (`None`: succeed again).
    pub fn fail_connects(&self, error: Option<TransportError>) {
        lock(&self.shared).connect_error = error;
    }

    /// Makes every later connect take `delay` before it joins (`None`: join at once). A
    /// connect dropped while it waits never joins.
    pub fn delay_connects(&self, delay: Option<Duration>) {
        lock(&self.shared).connect_delay = delay;
    }

    /// Makes every later send fail with `error` (`None`: succeed again).
    pub fn fail_sends(&self, error: Option<TransportError>) {
        lock(&self.shared).send_error = error;
    }

    /// Makes enabling the microphone fail with `error` (`None`: succeed again).
    pub fn fail_microphone(&self, error: Option<TransportError>) {
        lock(&self.shared).microphone_error = error;
    }

    /// How many times the session connected.
    pub fn connects(&self) -> usize {
        lock(&self.shared).connects
    }

    /// The server URL of every connect, in order.
    pub fn server_urls(&self) -> Vec<String> {
        lock(&self.shared).server_urls.clone()
    }

    /// The (topic, text) of every message sent, in order.
    pub fn sent(&self) -> Vec<(String, String)> {
        lock(&self.shared).sent.clone()
    }

    /// Whether the microphone is on.
    pub fn microphone_enabled(&self) -> bool {
        lock(&self.shared).microphone_enabled
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared).current.is_some()
    }
}

/// One scripted connection. Its tasks are aborted when it disconnects or is dropped.
struct Room {
    runtime: tokio::runtime::Handle,
    local_identity: String,
    /// `None` once closed: nothing is reported after that.
    sink: Mutex<Option<FactSink>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    reply: Option<Reply>,
    counter: Mutex<u64>,
    word_interval: Duration,
    /// The remote participants as the script has made them, so that any step (including chat
    /// replies) can refer to "the agent".
    participants: Mutex<Vec<ParticipantFact>>,
    /// The local microphone track once published: its SID and whether it is muted.
    microphone: Mutex<Option<(String, bool)>>,
    controller: std::sync::Weak<Mutex<ControllerState>>,
}

impl Room {
    fn push(&self, fact: RoomFact) -> bool {
        lock(&self.sink).as_ref().is_some_and(|sink| sink.push(fact))
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut counter = lock(&self.counter);
        *counter += 1;
        format!("{prefix}-{counter}")
    }

    /// Plays `steps` in a task owned by this room.
    fn play(self: &Arc<Self>, steps: Vec<Step>) {
        let room = Arc::downgrade(self);
        let task = self.runtime.spawn(async move {
            let player = Player { room };
            for step in steps {
                if !player.step(step).await {
                    return;
                }
            }
        });
        let mut tasks = lock(&self.tasks);
        tasks.retain(|task| !task.is_finished());
        tasks.push(task);
    }

    fn close(&self) {
        lock(&self.sink).take();
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        if let Some(controller) = self.controller.upgrade() {
            let mut state = lock(&controller);
            if state.current.as_ref().is_some_and(|current| std::ptr::eq(&**current, self)) {
                state.current = None;
                state.microphone_enabled = false;
            }
        }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

struct Link(Arc<Room>);

#[async_trait]
impl TransportLink for Link {
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError> {
        let room = &self.0;
        if lock(&room.sink).is_none() {
            return Err(TransportError::NotConnected);
        }
        if let Some(controller) = room.controller.upgrade() {
            let mut state = lock(&controller);
            if let Some(error) = state.send_error.clone() {
                return Err(error);
            }
            state.sent.push((topic.to_owned(), text.to_owned()));
        }
        if let Some(reply) = room.reply.as_ref().filter(|_| topic == CHAT_TOPIC) {
            // The agent answers once the message has reached it.
            let mut steps = vec![Step::Wait(CHAT_DELIVERY_DELAY)];
            steps.extend(reply(text).steps);
            room.play(steps);
        }
        Ok(room.next_id("sent"))
    }

    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), TransportError> {
        let Some(controller) = self.0.controller.upgrade() else { return Ok(()) };
        let mut state = lock(&controller);
        if let Some(error) = state.microphone_error.clone() {
            return Err(error);
        }
        state.microphone_enabled = enabled;
        drop(state);
        // As LiveKit: published on first enable (`LocalTrackPublished`), then muted and
        // unmuted (`TrackMuted` / `TrackUnmuted` of the local participant).
        let room = &self.0;
        let identity = room.local_identity.clone();
        let fact = {
            let mut microphone = lock(&room.microphone);
            match (microphone.as_mut(), enabled) {
                (None, false) => None,
                (None, true) => {
                    let sid = format!("TR_{identity}_microphone");
                    *microphone = Some((sid.clone(), false));
                    let track = script::track_fact(sid, TrackSource::Microphone);
                    Some(RoomFact::TrackPublished { identity, track: track.with_subscribed(true) })
                }
                (Some((_, muted)), enabled) if *muted != enabled => None,
                (Some((sid, muted)), enabled) => {
                    *muted = !enabled;
                    let sid = sid.clone();
                    Some(if enabled {
                        RoomFact::TrackUnmuted { identity, sid }
                    } else {
                        RoomFact::TrackMuted { identity, sid }
                    })
                }
            }
        };
        if let Some(fact) = fact {
            room.push(fact);
        }
        Ok(())
    }

    async fn disconnect(&self) {
        self.0.close();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room").field("local_identity", &self.local_identity).finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "tracks_tests.rs"]
mod tracks_tests;
