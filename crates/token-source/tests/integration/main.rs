//! The token-source integration tests: one binary, one module per area.

mod caching;
mod endpoint;
mod redaction;
mod sources;
mod support;
