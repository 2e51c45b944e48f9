#![doc = include_str!("../README.md")]

mod cli;
mod config;
mod error;
mod server;
mod token;

pub use axum;

pub use crate::{
    cli::Cli,
    config::{
        DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_BODY_READ_TIMEOUT,
        DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LISTEN_ADDR, DEFAULT_LIVEKIT_URL,
        DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_TIMEOUT,
        DEFAULT_TOKEN_TTL, TokenServerConfig, listen_addr_from_env,
    },
    error::{ConfigError, ServeError},
    server::{router, serve},
    token::MAX_NAME_CHARS,
};
