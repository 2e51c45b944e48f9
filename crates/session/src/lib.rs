#![doc = include_str!("../README.md")]
//!
//! # Layers
//!
//! | module | layer |
//! |---|---|
//! | `room` | room facts: what any LiveKit SDK reports, as plain data ([`RoomFact`]) |
//! | `translate` | the translation layer: facts → the events the core applies (pure) |
//! | `core` | the session state machine, the agent and message models (pure) |
//! | `session` | [`Session`]: runs the core over a transport, async |
//! | `transport` | [`Transport`] and its implementations: LiveKit's Rust SDK (glue only), the scripted room |

mod core;
mod error;
mod room;
mod session;
mod state;
mod translate;
mod transport;

#[cfg(feature = "livekit")]
pub use crate::transport::livekit::LiveKitTransport;
pub use crate::{
    core::{
        AGENT_LEAVE_GRACE,
        agent::{
            AGENT_STATE_ATTRIBUTE, Agent, AgentFailure, AgentState, PUBLISH_ON_BEHALF_ATTRIBUTE,
        },
        messages::{
            CHAT_TOPIC, MessageKind, ReceivedMessage, SEGMENT_ID_ATTRIBUTE,
            TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC,
        },
        tracks::TrackReference,
    },
    error::{ConnectionError, SessionError, TransportError},
    room::{
        facts::{ParticipantFact, RoomFact, TrackFact},
        protocol::{DisconnectReason, ParticipantKind, TrackKind, TrackSource},
    },
    session::{
        DEFAULT_AGENT_CONNECT_TIMEOUT, DEFAULT_SEND_RECONNECT_TIMEOUT, Session, SessionEvent,
        SessionEvents, SessionOptions,
    },
    state::ConnectionState,
    transport::{
        FactReceiver, FactSink, Transport, TransportLink,
        scripted::{
            DEFAULT_LOCAL_IDENTITY, Script, ScriptController, ScriptedAgent, ScriptedTransport,
        },
    },
};
