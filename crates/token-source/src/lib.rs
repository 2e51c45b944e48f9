#![doc = include_str!("../README.md")]

mod cache;
mod claims;
mod clock;
mod endpoint;
mod error;
mod options;
pub mod redact;
mod response;
mod sources;
mod token_source;
mod traits;

pub use reqwest;

pub use crate::{
    cache::{
        CacheEvent, CacheOptions, CachedToken, CachingTokenSource, DEFAULT_EXPIRY_MARGIN,
        MemoryTokenStore, MissReason, RefreshAhead, Subscription, TokenStore, Validator,
    },
    claims::{RoomAgentDispatch, RoomConfiguration, TokenClaims, VideoGrant},
    clock::{Clock, ManualClock, SystemClock},
    endpoint::{
        DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SANDBOX_BASE_URL, DEFAULT_TIMEOUT,
        DevelopmentTokenServerOptions, EndpointOptions, EndpointTokenSource, MAX_REDIRECTS,
        SANDBOX_PATH,
    },
    error::{BoxError, ClaimsError, TokenSourceError},
    options::TokenRequestOptions,
    response::TokenSourceResponse,
    token_source::TokenSource,
    traits::{FetchResult, TokenSourceConfigurable, TokenSourceFixed},
};
