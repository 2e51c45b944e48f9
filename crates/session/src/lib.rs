#![doc = include_str!("../README.md")]

mod agent;
mod core;
mod error;
#[cfg(feature = "livekit")]
mod livekit;
mod messages;
mod scripted;
mod session;
mod transport;

use std::sync::Arc;

use async_trait::async_trait;

#[cfg(feature = "livekit")]
pub use crate::livekit::LiveKitTransport;
pub use crate::{
    agent::{AGENT_STATE_ATTRIBUTE, Agent, AgentFailure, AgentState, PUBLISH_ON_BEHALF_ATTRIBUTE},
    core::{AGENT_LEAVE_GRACE, ConnectionState},
    error::{ConnectionError, SessionError, TransportError},
    messages::{
        CHAT_TOPIC, MessageKind, ReceivedMessage, SEGMENT_ID_ATTRIBUTE,
        TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC,
    },
    scripted::{
        DEFAULT_LOCAL_IDENTITY, Script, ScriptController, ScriptedAgent, ScriptedTransport,
    },
    session::{
        DEFAULT_AGENT_CONNECT_TIMEOUT, Session, SessionEvent, SessionEvents, SessionOptions,
    },
    transport::{
        Connection, DisconnectReason, ParticipantInfo, ParticipantKind, TextStreamInfo, Transport,
        TransportEvent, TransportLink,
    },
};

/// The transport of `SessionOptions::default()`.
#[cfg(feature = "livekit")]
fn default_transport() -> Arc<dyn Transport> {
    Arc::new(LiveKitTransport::default())
}

/// The transport of `SessionOptions::default()` without the `livekit` feature: connecting
/// fails with an error that says what to do.
#[cfg(not(feature = "livekit"))]
fn default_transport() -> Arc<dyn Transport> {
    Arc::new(NoTransport)
}

#[derive(Debug)]
#[cfg_attr(feature = "livekit", allow(dead_code))]
struct NoTransport;

#[async_trait]
impl Transport for NoTransport {
    async fn connect(&self, _server_url: &str, _token: &str) -> Result<Connection, TransportError> {
        Err(TransportError::failed(
            "no transport: build with the `livekit` feature, or set one with SessionOptions::with_transport",
        ))
    }
}
