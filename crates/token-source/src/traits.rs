//! The two kinds of token source an app can implement, as in LiveKit's SDKs.

use std::{future::Future, pin::Pin};

use crate::{TokenRequestOptions, TokenSourceError, TokenSourceResponse};

/// The result of a fetch.
pub type FetchResult = Result<TokenSourceResponse, TokenSourceError>;

/// A token source that always fetches the same kind of credentials (no request options),
/// like LiveKit's `TokenSourceFixed`.
///
/// Implement it with an `async fn`:
///
/// ```
/// use token_source::{TokenSource, TokenSourceError, TokenSourceFixed, TokenSourceResponse};
///
/// struct FromEnvironment;
///
/// impl TokenSourceFixed for FromEnvironment {
///     async fn fetch(&self) -> Result<TokenSourceResponse, TokenSourceError> {
///         let token = std::env::var("MY_TOKEN").map_err(TokenSourceError::custom)?;
///         Ok(TokenSourceResponse::new("wss://example.livekit.cloud", token))
///     }
/// }
///
/// let source = TokenSource::from_fixed(FromEnvironment);
/// ```
pub trait TokenSourceFixed: Send + Sync + 'static {
    /// Fetches credentials.
    fn fetch(&self) -> impl Future<Output = FetchResult> + Send;
}

/// A token source that takes request options (room, participant, agent), like LiveKit's
/// `TokenSourceConfigurable`.
///
/// ```
/// use token_source::{
///     TokenRequestOptions, TokenSource, TokenSourceConfigurable, TokenSourceError, TokenSourceResponse,
/// };
///
/// struct MyTokenSource;
///
/// impl TokenSourceConfigurable for MyTokenSource {
///     async fn fetch(
///         &self,
///         options: &TokenRequestOptions,
///     ) -> Result<TokenSourceResponse, TokenSourceError> {
///         let room = options.room_name.as_deref().unwrap_or("lobby");
///         Ok(TokenSourceResponse::new("wss://example.livekit.cloud", format!("token-for-{room}")))
///     }
/// }
///
/// // Cached by default, like every custom source.
/// let source = TokenSource::from_configurable(MyTokenSource);
/// ```
pub trait TokenSourceConfigurable: Send + Sync + 'static {
    /// Fetches credentials for `options`.
    fn fetch(&self, options: &TokenRequestOptions) -> impl Future<Output = FetchResult> + Send;
}

/// A boxed fetch future.
pub(crate) type BoxFetch<'a> = Pin<Box<dyn Future<Output = FetchResult> + Send + 'a>>;

/// Object-safe form of [`TokenSourceConfigurable`], so sources of different types can be stored
/// behind one pointer.
pub(crate) trait DynConfigurable: Send + Sync {
    fn fetch_dyn<'a>(&'a self, options: &'a TokenRequestOptions) -> BoxFetch<'a>;
}

impl<T: TokenSourceConfigurable> DynConfigurable for T {
    fn fetch_dyn<'a>(&'a self, options: &'a TokenRequestOptions) -> BoxFetch<'a> {
        Box::pin(self.fetch(options))
    }
}

/// Object-safe form of [`TokenSourceFixed`].
pub(crate) trait DynFixed: Send + Sync {
    fn fetch_dyn(&self) -> BoxFetch<'_>;
}

impl<T: TokenSourceFixed> DynFixed for T {
    fn fetch_dyn(&self) -> BoxFetch<'_> {
        Box::pin(self.fetch())
    }
}
