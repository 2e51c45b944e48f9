//! The built-in literal and closure sources, and the adapter that lets a fixed source sit behind
//! the cache.

use std::{future::Future, sync::Arc};

use crate::{
    TokenRequestOptions, TokenSourceError, TokenSourceFixed, TokenSourceResponse,
    error::BoxError,
    traits::{BoxFetch, DynConfigurable, DynFixed, FetchResult, TokenSourceConfigurable},
};

/// Fixed credentials, returned as they are on every fetch.
#[derive(Debug, Clone)]
pub(crate) struct Literal(pub(crate) TokenSourceResponse);

impl TokenSourceFixed for Literal {
    async fn fetch(&self) -> FetchResult {
        Ok(self.0.clone())
    }
}

/// Credentials from an app closure without options, called on every fetch.
pub(crate) struct LiteralFn<F>(pub(crate) F);

impl<F, Fut> TokenSourceFixed for LiteralFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TokenSourceResponse, BoxError>> + Send,
{
    async fn fetch(&self) -> FetchResult {
        (self.0)().await.map_err(TokenSourceError::custom)
    }
}

/// Credentials from an app closure that receives the request options.
pub(crate) struct CustomFn<F>(pub(crate) F);

impl<F, Fut> TokenSourceConfigurable for CustomFn<F>
where
    F: Fn(TokenRequestOptions) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<TokenSourceResponse, BoxError>> + Send,
{
    async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        (self.0)(options.clone()).await.map_err(TokenSourceError::custom)
    }
}

/// A fixed source seen as a configurable one that ignores its options.
pub(crate) struct FixedAsConfigurable(pub(crate) Arc<dyn DynFixed>);

impl DynConfigurable for FixedAsConfigurable {
    fn fetch_dyn<'a>(&'a self, _options: &'a TokenRequestOptions) -> BoxFetch<'a> {
        self.0.fetch_dyn()
    }
}
