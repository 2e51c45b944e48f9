//! The token-server integration tests, against a real server on `127.0.0.1:0`: one binary, one
//! module per area.

mod binary;
mod client;
mod config;
mod http;
mod support;
