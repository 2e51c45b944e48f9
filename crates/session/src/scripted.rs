//! A transport that plays a script instead of joining a room: for previews, demos and tests.
//!
//! The script produces exactly the events a LiveKit room would (same order, same attributes),
//! so a session on a [`ScriptedTransport`] behaves as it would with a real agent.
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

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    agent::AGENT_STATE_ATTRIBUTE,
    error::TransportError,
    messages::{
        CHAT_TOPIC, SEGMENT_ID_ATTRIBUTE, TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC,
    },
    transport::{
        Connection, DisconnectReason, ParticipantInfo, TextStreamInfo, Transport, TransportEvent,
        TransportLink,
    },
};

/// How long a sent chat message takes to reach the scripted agent.
const CHAT_DELIVERY_DELAY: Duration = Duration::from_millis(100);

/// The identity the scripted room gives the local participant.
pub const DEFAULT_LOCAL_IDENTITY: &str = "user";

/// An agent participant for a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedAgent {
    participant: ParticipantInfo,
}

impl ScriptedAgent {
    /// An agent with this identity, reporting `lk.agent.state = initializing`.
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            participant: ParticipantInfo::agent(identity)
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

    /// The participant it appears as.
    pub fn participant(&self) -> &ParticipantInfo {
        &self.participant
    }
}

type Reply = Arc<dyn Fn(&str) -> Script + Send + Sync>;

#[derive(Debug, Clone)]
enum Step {
    Wait(Duration),
    Event(TransportEvent),
    AgentJoins(ScriptedAgent),
    AgentState(String),
    AgentSays(String),
    AgentStreamFails { text: String, reason: String },
    UserSays(String),
    AgentLeaves,
    Reconnect,
    Disconnect(DisconnectReason),
}

/// What a scripted room does after the session connects, step by step.
///
/// Steps about "the agent" refer to the agent that joined last (or was in the room at join).
/// Text is streamed word by word, one chunk every [`with_word_interval`](Self::with_word_interval)
/// (60 ms by default), as an agent's text-to-speech transcript would be.
#[derive(Clone)]
pub struct Script {
    in_room: Vec<ParticipantInfo>,
    steps: Vec<Step>,
    word_interval: Duration,
    thinking_time: Duration,
    reply: Option<Reply>,
    microphone_error: Option<TransportError>,
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
    pub fn with_participant_in_room(mut self, participant: ParticipantInfo) -> Self {
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

    /// A full reconnect, in LiveKit's order: every participant disconnected, reconnecting,
    /// reconnected, then the participants join again.
    pub fn reconnect(mut self) -> Self {
        self.steps.push(Step::Reconnect);
        self
    }

    /// The server ends the connection.
    pub fn server_disconnects(mut self, reason: DisconnectReason) -> Self {
        self.steps.push(Step::Disconnect(reason));
        self
    }

    /// A raw transport event.
    pub fn event(mut self, event: TransportEvent) -> Self {
        self.steps.push(Step::Event(event));
        self
    }

    /// When the session sends a chat message, plays the script `reply` returns for its text.
    pub fn on_chat(mut self, reply: impl Fn(&str) -> Script + Send + Sync + 'static) -> Self {
        self.reply = Some(Arc::new(reply));
        self
    }
}

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
    async fn connect(&self, server_url: &str, _token: &str) -> Result<Connection, TransportError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| TransportError::failed("the scripted transport needs a tokio runtime"))?;
        let (sender, events) = mpsc::unbounded_channel();
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
                sender: Mutex::new(Some(sender)),
                tasks: Mutex::new(Vec::new()),
                reply: self.script.reply.clone(),
                counter: Mutex::new(0),
                word_interval: self.script.word_interval,
                participants: Mutex::new(self.script.in_room.clone()),
                controller: Arc::downgrade(&self.shared),
            });
            state.current = Some(Arc::clone(&room));
            room
        };
        room.play(self.script.steps.clone());
        Ok(Connection {
            local_identity: room.local_identity.clone(),
            participants: self.script.in_room.clone(),
            events,
            link: Arc::new(Link(room)),
        })
    }
}

/// Injects events into a [`ScriptedTransport`]'s current connection and records what the
/// session did: connects, sent messages, microphone.
#[derive(Clone, Debug)]
pub struct ScriptController {
    shared: Arc<Mutex<ControllerState>>,
}

impl ScriptController {
    /// Delivers `event` to the current connection. `false` if there is none.
    pub fn emit(&self, event: TransportEvent) -> bool {
        let room = lock(&self.shared).current.clone();
        room.is_some_and(|room| room.emit(event))
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
    sender: Mutex<Option<mpsc::UnboundedSender<TransportEvent>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    reply: Option<Reply>,
    counter: Mutex<u64>,
    word_interval: Duration,
    /// The remote participants as the script has made them, so that any step (including chat
    /// replies) can refer to "the agent".
    participants: Mutex<Vec<ParticipantInfo>>,
    controller: std::sync::Weak<Mutex<ControllerState>>,
}

impl Room {
    fn emit(&self, event: TransportEvent) -> bool {
        lock(&self.sender).as_ref().is_some_and(|sender| sender.send(event).is_ok())
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
        lock(&self.sender).take();
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

/// Plays steps on a room.
struct Player {
    room: std::sync::Weak<Room>,
}

impl Player {
    /// Plays one step; `false` when the room is gone.
    async fn step(&self, step: Step) -> bool {
        let Some(room) = self.room.upgrade() else { return false };
        match step {
            Step::Wait(duration) => {
                drop(room);
                tokio::time::sleep(duration).await;
                true
            }
            Step::Event(event) => room.emit(event),
            Step::AgentJoins(agent) => {
                lock(&room.participants).push(agent.participant.clone());
                room.emit(TransportEvent::ParticipantConnected(agent.participant))
            }
            Step::AgentState(state) => {
                let event = {
                    let mut participants = lock(&room.participants);
                    let Some(agent) = agent_mut(&mut participants) else { return true };
                    agent.attributes.insert(AGENT_STATE_ATTRIBUTE.to_owned(), state);
                    TransportEvent::ParticipantAttributesChanged {
                        identity: agent.identity.clone(),
                        attributes: agent.attributes.clone(),
                    }
                };
                room.emit(event)
            }
            Step::AgentSays(text) => {
                let agent = agent_mut(&mut lock(&room.participants)).map(|a| a.identity.clone());
                let Some(agent) = agent else { return true };
                let (interval, stream_id) = (room.word_interval, room.next_id("stream"));
                let segment = room.next_id("segment");
                let info = TextStreamInfo::new(&stream_id, TRANSCRIPTION_TOPIC, agent)
                    .with_attribute(SEGMENT_ID_ATTRIBUTE, segment)
                    .with_attribute(TRANSCRIPTION_FINAL_ATTRIBUTE, "false");
                let attributes = info.attributes.clone();
                if !room.emit(TransportEvent::TextStreamOpened(info)) {
                    return false;
                }
                drop(room);
                for chunk in words(&text) {
                    tokio::time::sleep(interval).await;
                    let Some(room) = self.room.upgrade() else { return false };
                    let event = TransportEvent::TextStreamChunk {
                        stream_id: stream_id.clone(),
                        text: chunk,
                    };
                    if !room.emit(event) {
                        return false;
                    }
                }
                let Some(room) = self.room.upgrade() else { return false };
                room.emit(TransportEvent::TextStreamClosed { stream_id, attributes, error: None })
            }
            Step::AgentStreamFails { text, reason } => {
                let agent = agent_mut(&mut lock(&room.participants)).map(|a| a.identity.clone());
                let Some(agent) = agent else { return true };
                let stream_id = room.next_id("stream");
                let info = TextStreamInfo::new(&stream_id, TRANSCRIPTION_TOPIC, agent);
                let attributes = info.attributes.clone();
                room.emit(TransportEvent::TextStreamOpened(info))
                    && room.emit(TransportEvent::TextStreamChunk {
                        stream_id: stream_id.clone(),
                        text,
                    })
                    && room.emit(TransportEvent::TextStreamClosed {
                        stream_id,
                        attributes,
                        error: Some(reason),
                    })
            }
            Step::UserSays(text) => {
                let segment = room.next_id("segment");
                let local = room.local_identity.clone();
                let interval = room.word_interval;
                drop(room);
                let mut so_far = String::new();
                let chunks = words(&text);
                let last = chunks.len().saturating_sub(1);
                for (index, chunk) in chunks.into_iter().enumerate() {
                    so_far.push_str(&chunk);
                    tokio::time::sleep(interval).await;
                    let Some(room) = self.room.upgrade() else { return false };
                    let is_final = if index == last { "true" } else { "false" };
                    let stream_id = room.next_id("stream");
                    let info = TextStreamInfo::new(&stream_id, TRANSCRIPTION_TOPIC, &local)
                        .with_attribute(SEGMENT_ID_ATTRIBUTE, &segment)
                        .with_attribute(TRANSCRIPTION_FINAL_ATTRIBUTE, is_final);
                    let attributes = info.attributes.clone();
                    let sent = room.emit(TransportEvent::TextStreamOpened(info))
                        && room.emit(TransportEvent::TextStreamChunk {
                            stream_id: stream_id.clone(),
                            text: so_far.clone(),
                        })
                        && room.emit(TransportEvent::TextStreamClosed {
                            stream_id,
                            attributes,
                            error: None,
                        });
                    if !sent {
                        return false;
                    }
                }
                true
            }
            Step::AgentLeaves => {
                let agent = {
                    let mut participants = lock(&room.participants);
                    let Some(index) = agent_index(&participants) else { return true };
                    participants.remove(index)
                };
                room.emit(TransportEvent::ParticipantDisconnected { identity: agent.identity })
            }
            Step::Reconnect => {
                let participants = lock(&room.participants).clone();
                for participant in &participants {
                    let identity = participant.identity.clone();
                    if !room.emit(TransportEvent::ParticipantDisconnected { identity }) {
                        return false;
                    }
                }
                if !room.emit(TransportEvent::Reconnecting)
                    || !room.emit(TransportEvent::Reconnected)
                {
                    return false;
                }
                participants.into_iter().all(|p| room.emit(TransportEvent::ParticipantConnected(p)))
            }
            Step::Disconnect(reason) => {
                room.emit(TransportEvent::Disconnected { reason });
                room.close();
                false
            }
        }
    }
}

/// The agent that joined last.
fn agent_index(participants: &[ParticipantInfo]) -> Option<usize> {
    participants.iter().rposition(|p| p.kind == crate::transport::ParticipantKind::Agent)
}

fn agent_mut(participants: &mut [ParticipantInfo]) -> Option<&mut ParticipantInfo> {
    let index = agent_index(participants)?;
    participants.get_mut(index)
}

/// Splits text into word chunks that keep their leading space ("Hi", " there", "!").
fn words(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch == ' ' && !current.trim().is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

struct Link(Arc<Room>);

#[async_trait]
impl TransportLink for Link {
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError> {
        let room = &self.0;
        if lock(&room.sender).is_none() {
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
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words("Hi there!"), ["Hi", " there!"]);
        assert_eq!(words(" a  b"), [" a", "  b"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("Hi there!").concat(), "Hi there!");
    }
}
