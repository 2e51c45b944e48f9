//! The session integration tests, on the scripted transport: one binary, one module per area.

mod agent;
mod lifecycle;
mod messages;
mod observation;
mod support;
