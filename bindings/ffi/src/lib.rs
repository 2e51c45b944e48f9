//! The Swift and Kotlin face of the `token-source` and `session` crates.
//!
//! Thin wrappers only: every type here converts to or from a core type and delegates. The
//! crate owns one multi-thread tokio runtime ([`runtime`]) on which every async call and every
//! observer runs; listener callbacks therefore arrive on Rust threads (apps hop to their main
//! thread themselves). uniffi does not forward Swift or Kotlin task cancellation: cancellation
//! is explicit (`AgentSession.end()`, `TaskHandle.cancel()`, or dropping the object).
//!
//! Flavours: without features (the test flavour) a session connects through a
//! [`script::Script`] or a room the app supplies ([`room::ForeignRoom`]); with the `livekit`
//! feature (the release flavour) `AgentSession`'s default transport is LiveKit's Rust SDK. The
//! exported API is the same in both.

mod error;
mod room;
mod runtime;
mod script;
mod session;
mod task_handle;
mod token_source;

pub use crate::{
    error::{RoomError, SessionError, TokenSourceError},
    room::{
        ForeignRoom, ForeignRoomLink, ParticipantFact, RoomFact, RoomFactSink, RoomLink, TrackFact,
    },
    script::Script,
    session::AgentSession,
    task_handle::TaskHandle,
    token_source::TokenSource,
};

uniffi::setup_scaffolding!();
