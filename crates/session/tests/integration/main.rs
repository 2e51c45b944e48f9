//! The session integration tests, on the scripted transport: one binary, one module per area.

mod agent;
#[cfg(feature = "e2e")]
mod e2e;
mod lifecycle;
mod messages;
mod observation;
mod support;
mod tracks;
