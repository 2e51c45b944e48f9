#![doc = include_str!("../README.md")]

mod config;
mod error;
mod server;
mod token;

pub use axum;

pub use crate::{
    config::{
        DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_LISTEN_ADDR, DEFAULT_LIVEKIT_URL,
        DEFAULT_MAX_BODY_BYTES, DEFAULT_TOKEN_TTL, TokenServerConfig, listen_addr_from_env,
    },
    error::{ConfigError, ServeError},
    server::{router, serve},
    token::MAX_NAME_CHARS,
};
