//! The boundary between the session and a room.
//!
//! A [`Transport`] joins a room with a server URL and a token. It reports everything the room
//! says as [`RoomFact`]s pushed into the [`FactSink`] it is given — starting with
//! [`RoomFact::Connected`] before `connect` returns — and returns a [`TransportLink`] to send
//! text, switch the microphone and leave. Transports only forward; the session translates
//! (see [`crate::RoomFact`] and the translation layer), so every transport behaves the same.
//!
//! Implementations: [`crate::LiveKitTransport`] (LiveKit's Rust SDK, feature `livekit`),
//! [`crate::ScriptedTransport`] (a scripted room for previews and tests), and in the FFI crate
//! a room that the host app supplies from LiveKit's Swift or Android SDK.

#[cfg(feature = "livekit")]
pub(crate) mod livekit;
pub(crate) mod scripted;

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::{error::TransportError, room::facts::RoomFact};

/// Where a transport pushes its room's facts, in the room's order. Cheap to clone.
///
/// The session reads them; once it stops (the connection ended, the start was cancelled or
/// the session was dropped) [`push`](Self::push) returns `false` and the transport can stop
/// forwarding. All senders gone without [`RoomFact::Disconnected`] means the connection was
/// lost.
#[derive(Clone)]
pub struct FactSink {
    sender: mpsc::UnboundedSender<RoomFact>,
}

/// The reading end of a [`FactSink`].
pub type FactReceiver = mpsc::UnboundedReceiver<RoomFact>;

impl FactSink {
    /// A sink and the receiver of what is pushed into it (for transports' own tests).
    pub fn channel() -> (FactSink, FactReceiver) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (FactSink { sender }, receiver)
    }

    /// Delivers `fact`; `false` once nobody reads any more.
    pub fn push(&self, fact: RoomFact) -> bool {
        self.sender.send(fact).is_ok()
    }

    /// Whether nobody reads any more.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl fmt::Debug for FactSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactSink").field("closed", &self.is_closed()).finish()
    }
}

/// Actions on a joined room. Dropping the last handle leaves the room.
#[async_trait]
pub trait TransportLink: Send + Sync + 'static {
    /// Sends `text` as a text stream on `topic`; returns the stream ID.
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError>;
    /// Publishes or mutes the microphone.
    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), TransportError>;
    /// Leaves the room. After it returns no more facts are pushed.
    async fn disconnect(&self);
}

/// Joins rooms.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Joins the room that `token` grants on the server at `server_url`, pushes
    /// [`RoomFact::Connected`] into `sink` and then everything the room reports. Dropping the
    /// returned future cancels the join; a join that completes anyway must be left at once.
    async fn connect(
        &self,
        server_url: &str,
        token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn connect(
        &self,
        server_url: &str,
        token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        (**self).connect(server_url, token, sink).await
    }
}

/// The transport of `SessionOptions::default()`: LiveKit's Rust SDK.
#[cfg(feature = "livekit")]
pub(crate) fn default_transport() -> Arc<dyn Transport> {
    Arc::new(livekit::LiveKitTransport::default())
}

/// The transport of `SessionOptions::default()` without the `livekit` feature: connecting
/// fails with an error that says what to do.
#[cfg(not(feature = "livekit"))]
pub(crate) fn default_transport() -> Arc<dyn Transport> {
    Arc::new(NoTransport)
}

#[derive(Debug)]
#[cfg_attr(feature = "livekit", allow(dead_code))]
struct NoTransport;

#[async_trait]
impl Transport for NoTransport {
    async fn connect(
        &self,
        _server_url: &str,
        _token: &str,
        _sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        Err(TransportError::failed(
            "no transport: build with the `livekit` feature, or set one with SessionOptions::with_transport",
        ))
    }
}
