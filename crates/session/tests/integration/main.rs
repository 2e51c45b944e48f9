//! The session integration tests, on the scripted transport: one binary, one module per area.

mod agent;
#[cfg(feature = "e2e")]
mod e2e;
mod fixtures;
mod lifecycle;
mod messages;
mod observation;
mod room_orders;
mod scenario_list;
mod support;
mod tracks;
