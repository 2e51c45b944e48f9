//! [`Session`]: start and end an agent conversation, observe it, send chat.

use std::{
    fmt,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use futures_util::Stream;
use token_source::{Clock, SystemClock, TokenRequestOptions, TokenSource};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

use crate::{
    ConnectionState,
    agent::Agent,
    core::{Change, Core, EndAction},
    error::{ConnectionError, SessionError, TransportError},
    messages::{CHAT_TOPIC, MessageChange, MessageKind, ReceivedMessage},
    transport::{Connection, Transport, TransportEvent, TransportLink},
};

/// The default time an agent has to become available after connecting.
pub const DEFAULT_AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How a session connects and behaves.
///
/// ```
/// use std::time::Duration;
/// use session::{ScriptedTransport, SessionOptions};
///
/// let options = SessionOptions::new()
///     .with_transport(ScriptedTransport::new(session::Script::new()))
///     .with_agent_connect_timeout(Duration::from_secs(10))
///     .with_microphone_enabled(false);
/// ```
#[derive(Clone)]
pub struct SessionOptions {
    transport: Arc<dyn Transport>,
    agent_connect_timeout: Duration,
    microphone_enabled: bool,
    clock: Arc<dyn Clock>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            transport: crate::default_transport(),
            agent_connect_timeout: DEFAULT_AGENT_CONNECT_TIMEOUT,
            microphone_enabled: true,
            clock: Arc::new(SystemClock),
        }
    }
}

impl SessionOptions {
    /// The defaults: the LiveKit transport (with the `livekit` feature; without it, starting
    /// fails until a transport is set), a 20 s agent timeout, the microphone on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connects through `transport` (for example a [`crate::ScriptedTransport`]).
    pub fn with_transport(mut self, transport: impl Transport) -> Self {
        self.transport = Arc::new(transport);
        self
    }

    /// How long a dispatched agent has to reach listening, thinking or speaking after the
    /// session connects before the agent is marked failed (timeout).
    pub fn with_agent_connect_timeout(mut self, timeout: Duration) -> Self {
        self.agent_connect_timeout = timeout;
        self
    }

    /// Whether `start` publishes the microphone (default on).
    pub fn with_microphone_enabled(mut self, enabled: bool) -> Self {
        self.microphone_enabled = enabled;
        self
    }

    /// The clock that timestamps messages.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("agent_connect_timeout", &self.agent_connect_timeout)
            .field("microphone_enabled", &self.microphone_enabled)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A change of the session, delivered in order to every subscriber.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The connection state changed.
    ConnectionStateChanged(ConnectionState),
    /// The agent changed (state, identity or attributes).
    AgentChanged(Agent),
    /// The current error changed (`None`: cleared).
    ErrorChanged(Option<SessionError>),
    /// A message was appended at `index`.
    MessageAdded {
        /// Its position.
        index: usize,
        /// The message.
        message: ReceivedMessage,
    },
    /// The message at `index` changed (more text, or final).
    MessageUpdated {
        /// Its position.
        index: usize,
        /// The message after the change.
        message: ReceivedMessage,
    },
    /// The whole message list was replaced (on subscribe, and by
    /// [`Session::restore_message_history`]).
    MessagesReset(Vec<ReceivedMessage>),
}

/// The changes of a session, from [`Session::subscribe`]. Unbounded: no change is lost. Ends
/// when the session is dropped.
#[derive(Debug)]
pub struct SessionEvents {
    receiver: mpsc::UnboundedReceiver<SessionEvent>,
}

impl SessionEvents {
    /// The next change, or `None` once the session is gone.
    pub async fn next(&mut self) -> Option<SessionEvent> {
        self.receiver.recv().await
    }

    /// The next change if one is already queued.
    pub fn try_next(&mut self) -> Option<SessionEvent> {
        self.receiver.try_recv().ok()
    }
}

impl Stream for SessionEvents {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.receiver.poll_recv(cx)
    }
}

/// An agent conversation in a LiveKit room.
///
/// `start` fetches credentials from the token source and connects; `end` leaves the room and
/// keeps the messages. Every change can be read (`connection_state`, `agent`, `messages`,
/// `error`) and observed ([`subscribe`](Self::subscribe)). All methods take `&self`; share a
/// session with an `Arc`. Dropping it stops its background task and drops the connection;
/// call [`end`](Self::end) first to leave cleanly.
///
/// ```
/// use session::{Script, ScriptedAgent, ScriptedTransport, Session, SessionOptions};
/// use token_source::{TokenRequestOptions, TokenSource};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), session::SessionError> {
/// let transport = ScriptedTransport::new(
///     Script::new().agent_joins(ScriptedAgent::new("agent")).agent_state("listening"),
/// );
/// let session = Session::with_options(
///     TokenSource::literal("wss://example.livekit.cloud", "token"),
///     TokenRequestOptions::new(),
///     SessionOptions::new().with_transport(transport),
/// );
/// session.start().await?;
/// assert!(session.is_connected());
/// session.end().await;
/// # Ok(()) }
/// ```
pub struct Session {
    shared: Arc<Shared>,
}

struct Shared {
    token_source: TokenSource,
    token_request: TokenRequestOptions,
    options: SessionOptions,
    inner: Mutex<Inner>,
}

struct Inner {
    core: Core,
    subscribers: Vec<mpsc::UnboundedSender<SessionEvent>>,
    link: Option<Arc<dyn TransportLink>>,
    driver: Option<JoinHandle<()>>,
    /// Bumped by every start and end: work of an older attempt is discarded.
    attempt: u64,
    started_before: bool,
}

impl Session {
    /// A session that fetches credentials from `token_source` with `token_request` (ignored by
    /// fixed sources), with the default options.
    pub fn new(token_source: TokenSource, token_request: TokenRequestOptions) -> Self {
        Self::with_options(token_source, token_request, SessionOptions::default())
    }

    /// A session with options.
    pub fn with_options(
        token_source: TokenSource,
        token_request: TokenRequestOptions,
        options: SessionOptions,
    ) -> Self {
        let core = Core::new(options.agent_connect_timeout);
        Self {
            shared: Arc::new(Shared {
                token_source,
                token_request,
                options,
                inner: Mutex::new(Inner {
                    core,
                    subscribers: Vec::new(),
                    link: None,
                    driver: None,
                    attempt: 0,
                    started_before: false,
                }),
            }),
        }
    }

    /// A session that asks the token source to dispatch the agent `agent_name` (with
    /// `agent_metadata`) into the room.
    pub fn with_agent(
        token_source: TokenSource,
        agent_name: impl Into<String>,
        agent_metadata: Option<String>,
        options: SessionOptions,
    ) -> Self {
        let mut request = TokenRequestOptions::new().with_agent_name(agent_name);
        request.agent_metadata = agent_metadata;
        Self::with_options(token_source, request, options)
    }

    /// The token source.
    pub fn token_source(&self) -> &TokenSource {
        &self.shared.token_source
    }

    /// The options sent to the token source.
    pub fn token_request(&self) -> &TokenRequestOptions {
        &self.shared.token_request
    }

    /// Fetches credentials and connects; only from [`ConnectionState::Disconnected`] (else
    /// [`SessionError::NotDisconnected`], with no other effect).
    ///
    /// Clears the error, then: connecting → fetch credentials → connect → connected →
    /// microphone on (if enabled). If the token dispatches an agent, the agent has the agent
    /// timeout to become available. On failure the session is disconnected and its error is
    /// the returned connection error.
    ///
    /// The first start uses the token source's cache; every later start fetches a fresh token
    /// ([`TokenSource::refetch`]), because LiveKit dispatches an agent only into a room it
    /// creates and the previous token may name a room that still exists.
    ///
    /// If the returned future is dropped before it connects, the session goes back to
    /// disconnected. If [`end`](Self::end) is called meanwhile, it returns
    /// [`SessionError::Cancelled`].
    pub async fn start(&self) -> Result<(), SessionError> {
        let (attempt, fresh) = {
            let mut inner = self.shared.lock();
            inner.core.begin_start()?;
            inner.attempt += 1;
            let fresh = std::mem::replace(&mut inner.started_before, true);
            self.shared.publish(&mut inner);
            (inner.attempt, fresh)
        };
        let mut guard = StartGuard { shared: &self.shared, attempt, armed: true };
        let shared = &self.shared;
        let request = &shared.token_request;
        let credentials = if fresh {
            shared.token_source.refetch(request).await
        } else {
            shared.token_source.fetch(request).await
        };
        let response = match credentials {
            Ok(response) => response,
            Err(error) => {
                guard.armed = false;
                return Err(shared.start_failed(attempt, ConnectionError::Credentials(error)));
            }
        };
        let connection = shared
            .options
            .transport
            .connect(response.server_url(), response.participant_token())
            .await;
        let connection = match connection {
            Ok(connection) => connection,
            Err(error) => {
                guard.armed = false;
                return Err(shared.start_failed(attempt, ConnectionError::Transport(error)));
            }
        };
        guard.armed = false;
        let link = Arc::clone(&connection.link);
        if let Err(error) = shared.install(attempt, connection, response.dispatches_agent()) {
            link.disconnect().await;
            return Err(error);
        }
        if shared.options.microphone_enabled
            && let Err(error) = link.set_microphone_enabled(true).await
        {
            let mut inner = shared.lock();
            if inner.attempt == attempt {
                inner.core.set_error(Some(SessionError::Media(error)));
                shared.publish(&mut inner);
            }
        }
        Ok(())
    }

    /// Leaves the room and keeps the messages. Cancels a start in progress. Does nothing when
    /// already disconnected.
    pub async fn end(&self) {
        let (link, driver) = {
            let mut inner = self.shared.lock();
            let action = inner.core.begin_end();
            if action == EndAction::Nothing {
                return;
            }
            inner.attempt += 1;
            self.shared.publish(&mut inner);
            (inner.link.take(), inner.driver.take())
        };
        if let Some(driver) = driver {
            driver.abort();
        }
        if let Some(link) = link {
            link.disconnect().await;
        }
        let mut inner = self.shared.lock();
        inner.core.ended();
        self.shared.publish(&mut inner);
    }

    /// Sends `text` as a chat message (a text stream on `lk.chat`) and adds it to the messages.
    /// On failure the session's error becomes a sender error.
    pub async fn send(&self, text: &str) -> Result<ReceivedMessage, SessionError> {
        if text.trim().is_empty() {
            return Err(SessionError::EmptyMessage);
        }
        let (link, attempt) = {
            let mut inner = self.shared.lock();
            match (&inner.link, inner.core.state().is_connected()) {
                (Some(link), true) => (Arc::clone(link), inner.attempt),
                _ => {
                    let error = SessionError::Sender(TransportError::NotConnected);
                    inner.core.set_error(Some(error.clone()));
                    self.shared.publish(&mut inner);
                    return Err(error);
                }
            }
        };
        let timestamp = self.shared.options.clock.now();
        let result = link.send_text(CHAT_TOPIC, text).await;
        let mut inner = self.shared.lock();
        let outcome = match result {
            Ok(id) => {
                let local = inner.core.local_identity().to_owned();
                let message =
                    ReceivedMessage::new(id, timestamp, MessageKind::SentChat, local, text);
                if inner.attempt == attempt {
                    inner.core.sent(message.clone());
                }
                Ok(message)
            }
            Err(error) => {
                let error = SessionError::Sender(error);
                inner.core.set_error(Some(error.clone()));
                Err(error)
            }
        };
        self.shared.publish(&mut inner);
        outcome
    }

    /// The connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.shared.lock().core.state()
    }

    /// Whether the session is in the room (connected or reconnecting).
    pub fn is_connected(&self) -> bool {
        self.connection_state().is_connected()
    }

    /// The agent.
    pub fn agent(&self) -> Agent {
        self.shared.lock().core.agent().clone()
    }

    /// The current error, if any.
    pub fn error(&self) -> Option<SessionError> {
        self.shared.lock().core.error().cloned()
    }

    /// Clears the current error.
    pub fn dismiss_error(&self) {
        let mut inner = self.shared.lock();
        inner.core.set_error(None);
        self.shared.publish(&mut inner);
    }

    /// The messages, in order of first arrival.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.shared.lock().core.messages().to_vec()
    }

    /// The messages, to save and later pass to
    /// [`restore_message_history`](Self::restore_message_history).
    pub fn message_history(&self) -> Vec<ReceivedMessage> {
        self.messages()
    }

    /// Replaces the messages with `history`, ordered by timestamp.
    pub fn restore_message_history(&self, history: Vec<ReceivedMessage>) {
        let mut inner = self.shared.lock();
        inner.core.restore(history);
        self.shared.publish(&mut inner);
    }

    /// Every change from now on, in order, starting with the current state: the connection
    /// state, the agent, the error and all messages (as [`SessionEvent::MessagesReset`]).
    pub fn subscribe(&self) -> SessionEvents {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut inner = self.shared.lock();
        let core = &inner.core;
        let snapshot = [
            SessionEvent::ConnectionStateChanged(core.state()),
            SessionEvent::AgentChanged(core.agent().clone()),
            SessionEvent::ErrorChanged(core.error().cloned()),
            SessionEvent::MessagesReset(core.messages().to_vec()),
        ];
        for event in snapshot {
            let _ = sender.send(event);
        }
        inner.subscribers.push(sender);
        SessionEvents { receiver }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(driver) = self.shared.lock().driver.take() {
            driver.abort();
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Session")
            .field("token_source", &self.shared.token_source)
            .field("state", &inner.core.state())
            .field("agent", &inner.core.agent().state)
            .field("messages", &inner.core.messages().len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the core's changes to every subscriber (dropping closed ones).
    fn publish(&self, inner: &mut Inner) {
        let changes = inner.core.take_changes();
        if changes.is_empty() || inner.subscribers.is_empty() {
            return;
        }
        for change in changes {
            let event = match change {
                Change::State(state) => SessionEvent::ConnectionStateChanged(state),
                Change::Agent => SessionEvent::AgentChanged(inner.core.agent().clone()),
                Change::Error => SessionEvent::ErrorChanged(inner.core.error().cloned()),
                Change::Message(MessageChange::Added(index)) => match inner.core.message(index) {
                    Some(message) => SessionEvent::MessageAdded { index, message: message.clone() },
                    None => continue,
                },
                Change::Message(MessageChange::Updated(index)) => match inner.core.message(index) {
                    Some(message) => {
                        SessionEvent::MessageUpdated { index, message: message.clone() }
                    }
                    None => continue,
                },
                Change::MessagesRestored => {
                    SessionEvent::MessagesReset(inner.core.messages().to_vec())
                }
            };
            inner.subscribers.retain(|subscriber| subscriber.send(event.clone()).is_ok());
        }
    }

    fn start_failed(&self, attempt: u64, error: ConnectionError) -> SessionError {
        let mut inner = self.lock();
        if inner.attempt != attempt {
            return SessionError::Cancelled;
        }
        inner.core.start_failed(error.clone());
        self.publish(&mut inner);
        SessionError::Connection(error)
    }

    /// Makes `connection` the session's room and starts the task that follows it.
    fn install(
        self: &Arc<Self>,
        attempt: u64,
        connection: Connection,
        dispatches_agent: bool,
    ) -> Result<(), SessionError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let error = TransportError::failed("a session needs a tokio runtime");
            return Err(self.start_failed(attempt, ConnectionError::Transport(error)));
        };
        let mut inner = self.lock();
        if inner.attempt != attempt || inner.core.state() != ConnectionState::Connecting {
            return Err(SessionError::Cancelled);
        }
        let Connection { local_identity, participants, events, link } = connection;
        inner.core.connected(local_identity, participants, dispatches_agent, Instant::now());
        inner.link = Some(link);
        inner.driver = Some(runtime.spawn(drive(Arc::clone(self), events, attempt)));
        self.publish(&mut inner);
        Ok(())
    }
}

/// Follows the room: applies its events and fires the agent deadlines, until the connection
/// ends or the attempt is superseded (the session's `end` or drop aborts it).
async fn drive(
    shared: Arc<Shared>,
    mut events: mpsc::UnboundedReceiver<TransportEvent>,
    attempt: u64,
) {
    loop {
        let deadline = shared.lock().core.next_deadline();
        let event = tokio::select! {
            event = events.recv() => Some(event),
            () = sleep_until(deadline) => None,
        };
        let mut inner = shared.lock();
        if inner.attempt != attempt {
            return;
        }
        match event {
            Some(Some(event)) => {
                let wall = shared.options.clock.now();
                inner.core.apply(event, Instant::now(), wall);
            }
            Some(None) => {
                let reason = crate::transport::DisconnectReason::ConnectionLost;
                let wall = shared.options.clock.now();
                inner.core.apply(TransportEvent::Disconnected { reason }, Instant::now(), wall);
            }
            None => inner.core.on_timer(Instant::now()),
        }
        shared.publish(&mut inner);
        if inner.core.state() == ConnectionState::Disconnected {
            inner.link = None;
            // This task's own handle: dropping it does not stop the task.
            inner.driver = None;
            return;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Puts the session back to disconnected if `start` is dropped before it connected.
struct StartGuard<'a> {
    shared: &'a Arc<Shared>,
    attempt: u64,
    armed: bool,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut inner = self.shared.lock();
        if inner.attempt == self.attempt {
            inner.core.start_abandoned();
            self.shared.publish(&mut inner);
        }
    }
}
