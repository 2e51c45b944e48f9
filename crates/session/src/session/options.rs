//! [`SessionOptions`]: how a session connects and behaves.

use std::{fmt, sync::Arc, time::Duration};

use token_source::{Clock, SystemClock};

use crate::transport::{Transport, default_transport};

/// The default time an agent has to become available after connecting.
pub const DEFAULT_AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The default time [`crate::Session::send`] waits for a reconnect to finish.
pub const DEFAULT_SEND_RECONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) agent_connect_timeout: Duration,
    pub(crate) send_reconnect_timeout: Duration,
    pub(crate) microphone_enabled: bool,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            transport: default_transport(),
            agent_connect_timeout: DEFAULT_AGENT_CONNECT_TIMEOUT,
            send_reconnect_timeout: DEFAULT_SEND_RECONNECT_TIMEOUT,
            microphone_enabled: true,
            clock: Arc::new(SystemClock),
        }
    }
}

impl SessionOptions {
    /// The defaults: the LiveKit transport (with the `livekit` feature; without it, starting
    /// fails until a transport is set), a 20 s agent timeout, sends wait up to 10 s for a
    /// reconnect, the microphone on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connects through `transport` (for example a [`crate::ScriptedTransport`]).
    pub fn with_transport(mut self, transport: impl Transport) -> Self {
        self.transport = Arc::new(transport);
        self
    }

    /// Connects through a shared `transport`.
    pub fn with_shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = transport;
        self
    }

    /// How long a dispatched agent has to reach listening, thinking or speaking after the
    /// session connects before the agent is marked failed (timeout).
    pub fn with_agent_connect_timeout(mut self, timeout: Duration) -> Self {
        self.agent_connect_timeout = timeout;
        self
    }

    /// How long [`crate::Session::send`] waits for the connection to be restored when it is
    /// called while reconnecting, before it fails.
    pub fn with_send_reconnect_timeout(mut self, timeout: Duration) -> Self {
        self.send_reconnect_timeout = timeout;
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

    /// The agent timeout.
    pub fn agent_connect_timeout(&self) -> Duration {
        self.agent_connect_timeout
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("agent_connect_timeout", &self.agent_connect_timeout)
            .field("send_reconnect_timeout", &self.send_reconnect_timeout)
            .field("microphone_enabled", &self.microphone_enabled)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}
