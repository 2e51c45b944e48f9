//! [`Session`]: start and end an agent conversation, observe it, send chat.
//!
//! The session runs the core state machine over a transport: `start` fetches credentials and
//! connects (cancellable by `end` at any point), a driver task (in `driver`) translates the
//! room's facts and applies them, and every change is published to subscribers.

mod driver;
mod events;
mod options;
mod tracks;

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use token_source::{TokenRequestOptions, TokenSource};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

pub use self::{
    events::{SessionEvent, SessionEvents},
    options::{DEFAULT_AGENT_CONNECT_TIMEOUT, DEFAULT_SEND_RECONNECT_TIMEOUT, SessionOptions},
};
use crate::{
    ConnectionState,
    core::{
        Core, EndAction,
        agent::Agent,
        messages::{CHAT_TOPIC, MessageKind, ReceivedMessage},
    },
    error::{ConnectionError, SessionError, TransportError},
    room::protocol::DisconnectReason,
    translate::Translator,
    transport::{FactSink, TransportLink},
};

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
    /// The current attempt (see [`Inner::attempt`]), for a `start` to notice it was ended.
    attempts: watch::Sender<u64>,
    /// The connection state, for a `send` to wait out a reconnect.
    states: watch::Sender<ConnectionState>,
}

struct Inner {
    core: Core,
    /// Translates the current connection's facts.
    translator: Translator,
    subscribers: Vec<mpsc::UnboundedSender<SessionEvent>>,
    link: Option<Arc<dyn TransportLink>>,
    driver: Option<JoinHandle<()>>,
    /// Bumped by every start and end: work of an older attempt is discarded.
    attempt: u64,
    started_before: bool,
    last_disconnect: Option<DisconnectReason>,
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
                    translator: Translator::new(),
                    subscribers: Vec::new(),
                    link: None,
                    driver: None,
                    attempt: 0,
                    started_before: false,
                    last_disconnect: None,
                }),
                attempts: watch::Sender::new(0),
                states: watch::Sender::new(ConnectionState::Disconnected),
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
    /// A connect that fails drops the token source's cached token (the room may have refused
    /// it); the next fetch asks the source again.
    ///
    /// [`end`](Self::end) cancels a start at any point: `start` returns
    /// [`SessionError::Cancelled`] at once, whatever the token source or the connect is doing.
    /// The connect is dropped (cancelled), and a connect that completes anyway is left at once,
    /// before any of its events surface. A token fetch shared with other callers of the same
    /// token source goes on for them. If the returned future is dropped before it connects,
    /// the session goes back to disconnected.
    pub async fn start(&self) -> Result<(), SessionError> {
        let (attempt, fresh) = {
            let mut inner = self.shared.lock();
            inner.core.begin_start()?;
            inner.attempt += 1;
            shared_attempt(&self.shared, inner.attempt);
            let fresh = std::mem::replace(&mut inner.started_before, true);
            self.shared.publish(&mut inner);
            (inner.attempt, fresh)
        };
        let mut guard = StartGuard { shared: &self.shared, attempt, armed: true };
        let shared = &self.shared;
        let mut attempts = shared.attempts.subscribe();
        let ended = async move {
            // Resolves once this attempt is superseded (by `end`, or a later start).
            let _ = attempts.wait_for(|current| *current != attempt).await;
        };
        tokio::pin!(ended);

        let request = &shared.token_request;
        let fetch = async {
            if fresh {
                shared.token_source.refetch(request).await
            } else {
                shared.token_source.fetch(request).await
            }
        };
        let credentials = tokio::select! {
            biased;
            () = &mut ended => None,
            credentials = fetch => Some(credentials),
        };
        let response = match credentials {
            None => {
                guard.armed = false;
                return Err(SessionError::Cancelled);
            }
            Some(Ok(response)) => response,
            Some(Err(error)) => {
                guard.armed = false;
                return Err(shared.start_failed(attempt, ConnectionError::Credentials(error)));
            }
        };

        let (sink, facts) = FactSink::channel();
        let connect = shared.options.transport.connect(
            response.server_url(),
            response.participant_token(),
            sink,
        );
        let connected = tokio::select! {
            biased;
            // Dropping the connect cancels it; the facts receiver goes with it.
            () = &mut ended => None,
            connected = connect => Some(connected),
        };
        guard.armed = false;
        let link = match connected {
            None => return Err(SessionError::Cancelled),
            Some(Ok(link)) => link,
            Some(Err(error)) => {
                // A token the room refused (invalid, revoked, for another server) must not be
                // served again from the cache, to this session or anyone sharing the source.
                shared.token_source.invalidate();
                return Err(shared.start_failed(attempt, ConnectionError::Transport(error)));
            }
        };
        if let Err(error) =
            shared.install(attempt, Arc::clone(&link), facts, response.dispatches_agent())
        {
            // Ended (or failed) while the connect completed: leave before anything surfaces.
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
            shared_attempt(&self.shared, inner.attempt);
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
    ///
    /// While the session is reconnecting, the send waits for the connection to be restored,
    /// at most [`SessionOptions::with_send_reconnect_timeout`] (10 s by default); if it is not
    /// restored by then, or the session disconnects meanwhile, the send fails with
    /// [`TransportError::Reconnecting`] or [`TransportError::NotConnected`]. On failure the
    /// session's error becomes a sender error.
    pub async fn send(&self, text: &str) -> Result<ReceivedMessage, SessionError> {
        if text.trim().is_empty() {
            return Err(SessionError::EmptyMessage);
        }
        let (link, attempt) = match self.connected_link().await {
            Ok(connected) => connected,
            Err(error) => {
                let error = SessionError::Sender(error);
                let mut inner = self.shared.lock();
                inner.core.set_error(Some(error.clone()));
                self.shared.publish(&mut inner);
                return Err(error);
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

    /// The link of the connected room, waiting out a reconnect (bounded).
    async fn connected_link(&self) -> Result<(Arc<dyn TransportLink>, u64), TransportError> {
        let mut states = self.shared.states.subscribe();
        let settled = tokio::time::timeout(
            self.shared.options.send_reconnect_timeout,
            states.wait_for(|state| *state != ConnectionState::Reconnecting),
        )
        .await;
        if settled.is_err() {
            return Err(TransportError::Reconnecting);
        }
        let inner = self.shared.lock();
        match (&inner.link, inner.core.state()) {
            (Some(link), ConnectionState::Connected) => Ok((Arc::clone(link), inner.attempt)),
            _ => Err(TransportError::NotConnected),
        }
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

    /// Why the last room connection ended (`None` before the first one ended).
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.shared.lock().last_disconnect.clone()
    }

    /// The name of the room the session is in (empty when not connected).
    pub fn room_name(&self) -> String {
        self.shared.lock().core.room_name().to_owned()
    }

    /// Replaces the messages with `history` (for example messages saved from
    /// [`messages`](Self::messages) of an earlier session), ordered by timestamp.
    pub fn restore_message_history(&self, history: Vec<ReceivedMessage>) {
        let mut inner = self.shared.lock();
        inner.core.restore(history);
        self.shared.publish(&mut inner);
    }

    /// Every change from now on, in order, starting with the current state: the connection
    /// state, the agent, the error, all messages (as [`SessionEvent::MessagesReset`]) and all
    /// tracks (as [`SessionEvent::TracksReset`]).
    pub fn subscribe(&self) -> SessionEvents {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut inner = self.shared.lock();
        let core = &inner.core;
        let snapshot = [
            SessionEvent::ConnectionStateChanged(core.state()),
            SessionEvent::AgentChanged(core.agent().clone()),
            SessionEvent::ErrorChanged(core.error().cloned()),
            SessionEvent::MessagesReset(core.messages().to_vec()),
            SessionEvent::TracksReset(core.tracks().to_vec()),
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

/// Announces the current attempt to a `start` waiting on an older one.
fn shared_attempt(shared: &Shared, attempt: u64) {
    shared.attempts.send_replace(attempt);
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
