//! Token endpoints (your own HTTP server) and LiveKit Cloud's development token server.
//!
//! Both speak the standard token endpoint format: a JSON request built by
//! [`TokenRequestOptions::to_request_json`] and a JSON response parsed by
//! [`TokenSourceResponse::from_response_json`].

use std::{
    error::Error as StdError,
    fmt,
    sync::{Arc, OnceLock},
    time::Duration,
};

use reqwest::{
    Method, Url,
    header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION},
};

use crate::{
    TokenRequestOptions, TokenSourceError, TokenSourceResponse, redact,
    traits::{FetchResult, TokenSourceConfigurable},
};

/// The default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default cap on response body size.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// LiveKit Cloud's API host, the default base URL of the development token server.
pub const DEFAULT_SANDBOX_BASE_URL: &str = "https://cloud-api.livekit.io";
/// The development token server's path under the base URL.
pub const SANDBOX_PATH: &str = "/api/v2/sandbox/connection-details";

/// How to call a token endpoint.
///
/// ```
/// use std::time::Duration;
/// use token_source::{EndpointOptions, reqwest::Method};
///
/// let options = EndpointOptions::new()
///     .with_method(Method::POST)
///     .with_header("Authorization", "Bearer my-app-session")
///     .with_timeout(Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct EndpointOptions {
    method: Method,
    headers: Vec<(String, String)>,
    timeout: Duration,
    max_response_bytes: usize,
    client: Option<reqwest::Client>,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        Self {
            method: Method::POST,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            client: None,
        }
    }
}

impl EndpointOptions {
    /// POST, no extra headers, a 10 s timeout, a 64 KiB response cap, a shared client.
    pub fn new() -> Self {
        Self::default()
    }

    /// The HTTP method (the JSON body is sent whatever the method).
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header. A `Content-Type` set here replaces the default
    /// `application/json`. Header values never appear in `Debug` output or errors.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds request headers.
    pub fn with_headers<K, V>(mut self, headers: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.headers.extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// How long a whole request (connect, send, receive the body) may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted.
    pub fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Sends requests with `client` (for proxies, custom TLS roots, connection pools).
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: the source then follows
    /// redirects itself, by the rule of [`EndpointTokenSource`] (caller headers never leave the
    /// endpoint's origin). A client that follows redirects on its own applies its own policy
    /// instead, and reqwest's default one forwards every header but `Authorization` and
    /// cookies to another host.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
}

impl fmt::Debug for EndpointOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("EndpointOptions")
            .field("method", &self.method)
            .field("headers", &header_names)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("custom_client", &self.client.is_some())
            .finish()
    }
}

/// Options of the development ("sandbox") token server.
#[derive(Debug, Clone)]
pub struct DevelopmentTokenServerOptions {
    base_url: String,
    endpoint: EndpointOptions,
}

impl Default for DevelopmentTokenServerOptions {
    fn default() -> Self {
        Self { base_url: DEFAULT_SANDBOX_BASE_URL.to_owned(), endpoint: EndpointOptions::new() }
    }
}

impl DevelopmentTokenServerOptions {
    /// LiveKit Cloud's server, default endpoint options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses another server (`{base_url}/api/v2/sandbox/connection-details`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Timeout, client and other HTTP options. Its method is ignored (always POST).
    pub fn with_endpoint_options(mut self, endpoint: EndpointOptions) -> Self {
        self.endpoint = endpoint;
        self
    }
}

/// A token source that asks a token endpoint over HTTP. It does not cache: use it through
/// [`crate::TokenSource::endpoint`] (cached) or wrap it in a [`crate::CachingTokenSource`].
///
/// Configuration errors (an invalid URL or header) are reported by every fetch as
/// [`TokenSourceError::InvalidUrl`] or [`TokenSourceError::InvalidConfiguration`].
///
/// # Redirects
///
/// Up to [`MAX_REDIRECTS`] redirects (301, 302, 303, 307, 308) are followed; the response after
/// the last one is the answer. 307 and 308 repeat the request with its method and body; 303, and
/// 301 or 302 after a POST, continue with a GET without a body.
///
/// The headers added with [`EndpointOptions::with_header`] (an `Authorization`, the sandbox ID
/// of the development token server, an app's own) are sent only to the endpoint's own origin
/// (scheme, host and port of its URL). A redirect to another origin (`127.0.0.1` →
/// `localhost`, another port, `https` → `http`) carries none of them, only the `Content-Type`
/// of the body; and once a redirect has left the origin, no later hop carries them, even one
/// that comes back. A redirect within the origin keeps them all.
///
/// # Compressed responses
///
/// Requests announce `Accept-Encoding: gzip, br`; responses compressed with `gzip` or `br`
/// (brotli) are decoded, and the size cap applies to the decoded body.
pub struct EndpointTokenSource {
    target: Result<Target, TokenSourceError>,
    timeout: Duration,
    max_response_bytes: usize,
    /// The caller's client, or one built on first use. Each source has its own, because a
    /// client's pooled connections belong to the tokio runtime that opened them.
    client: OnceLock<Result<reqwest::Client, TokenSourceError>>,
    /// For `Debug`: the URL without query or credentials, and the header names.
    description: String,
}

struct Target {
    url: Url,
    method: Method,
    headers: HeaderMap,
}

impl EndpointTokenSource {
    /// A source that calls `url` with `options`.
    pub fn new(url: impl AsRef<str>, options: EndpointOptions) -> Self {
        let description = describe(url.as_ref(), &options.headers);
        let target = parse_url(url.as_ref()).and_then(|url| {
            Ok(Target { url, method: options.method, headers: build_headers(&options.headers)? })
        });
        Self {
            target,
            timeout: options.timeout,
            max_response_bytes: options.max_response_bytes,
            client: options.client.map(|client| OnceLock::from(Ok(client))).unwrap_or_default(),
            description,
        }
    }

    /// The development token server for `sandbox_id`: POST
    /// `{base_url}/api/v2/sandbox/connection-details` with the header `X-Sandbox-ID`.
    /// Non-alphanumeric characters are trimmed from both ends of the ID (copy-paste debris).
    pub fn development_token_server(
        sandbox_id: &str,
        options: DevelopmentTokenServerOptions,
    ) -> Self {
        let id = sandbox_id.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let url = format!("{}{SANDBOX_PATH}", options.base_url.trim_end_matches('/'));
        let endpoint = options.endpoint.with_method(Method::POST);
        let mut source = Self::new(&url, endpoint.with_header("X-Sandbox-ID", id));
        if id.is_empty() {
            source.target = Err(TokenSourceError::InvalidConfiguration {
                reason: "the sandbox ID has no alphanumeric characters".to_owned(),
            });
        }
        source
    }

    async fn send(&self, target: &Target, body: String) -> FetchResult {
        let client = self
            .client
            .get_or_init(|| {
                reqwest::Client::builder()
                    // Redirects are followed by `send`, which decides what each hop may carry.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|error| TokenSourceError::InvalidConfiguration {
                        reason: format!("could not create the HTTP client: {error}"),
                    })
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let mut url = target.url.clone();
        let mut method = target.method.clone();
        let mut body = Some(body);
        // The caller's headers go only to the endpoint's own origin: once a redirect leaves it,
        // no later hop carries them, even one that comes back.
        let mut same_origin = true;
        let mut hops = 0;
        loop {
            let mut headers = if same_origin {
                target.headers.clone()
            } else {
                cross_origin_headers(&target.headers)
            };
            let mut request = client.request(method.clone(), url.clone());
            match &body {
                Some(body) => request = request.body(body.clone()),
                None => drop(headers.remove(CONTENT_TYPE)),
            }
            let response = request.headers(headers).send().await.map_err(transport_error)?;
            let next = if hops < MAX_REDIRECTS { redirect(&url, &method, &response) } else { None };
            let Some(Redirect { url: next_url, method: next_method, keep_body }) = next else {
                return self.read(response).await;
            };
            hops += 1;
            same_origin &= next_url.origin() == target.url.origin();
            url = next_url;
            method = next_method;
            if !keep_body {
                body = None;
            }
        }
    }

    /// Reads a final response: a token response for 2xx, a [`TokenSourceError::Status`] with a
    /// redacted excerpt otherwise.
    async fn read(&self, mut response: reqwest::Response) -> FetchResult {
        let status = response.status();
        let declared_length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
        let too_large = || TokenSourceError::InvalidResponse {
            reason: format!("the body is larger than {} bytes", self.max_response_bytes),
        };
        if status.is_success() && declared_length.is_some_and(|len| len > self.max_response_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                if status.is_success() {
                    return Err(too_large());
                }
                // An error page is only excerpted: what was read is enough.
                body.extend_from_slice(&chunk[..self.max_response_bytes - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(TokenSourceError::Status {
                status: status.as_u16(),
                body_excerpt: redact::excerpt(&body),
            });
        }
        TokenSourceResponse::from_response_json(&body)
    }
}

impl TokenSourceConfigurable for EndpointTokenSource {
    async fn fetch(&self, options: &TokenRequestOptions) -> FetchResult {
        let target = self.target.as_ref().map_err(Clone::clone)?;
        let body = options.to_request_json();
        match tokio::time::timeout(self.timeout, self.send(target, body)).await {
            Ok(result) => result,
            Err(_) => Err(TokenSourceError::Timeout { timeout: self.timeout }),
        }
    }
}

impl fmt::Debug for EndpointTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointTokenSource")
            .field("endpoint", &self.description)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

fn parse_url(url: &str) -> Result<Url, TokenSourceError> {
    let invalid = |reason: String| TokenSourceError::InvalidUrl { reason };
    let parsed = Url::parse(url).map_err(|error| invalid(error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!("the scheme is `{}`, not http or https", parsed.scheme())));
    }
    Ok(parsed)
}

fn build_headers(headers: &[(String, String)]) -> Result<HeaderMap, TokenSourceError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let invalid = |what: &str| TokenSourceError::InvalidConfiguration {
            reason: format!("invalid {what} for header `{}`", redact::excerpt(name.as_bytes())),
        };
        let header_name = HeaderName::try_from(name.as_str()).map_err(|_| invalid("name"))?;
        let mut header_value =
            HeaderValue::try_from(value.as_str()).map_err(|_| invalid("value"))?;
        header_value.set_sensitive(true);
        map.append(header_name, header_value);
    }
    if !map.contains_key(CONTENT_TYPE) {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(map)
}

/// The most redirects one fetch follows; the response after the last one is the answer.
pub const MAX_REDIRECTS: usize = 10;

/// Where a redirect leads.
struct Redirect {
    url: Url,
    method: Method,
    keep_body: bool,
}

/// The redirect `response` asks for, if it is one this source follows: 301, 302, 303, 307 or
/// 308 with a `Location` that resolves to an http or https URL. 307 and 308 keep the method and
/// the body; 303, and 301/302 after a POST, continue as a GET without a body (as browsers do).
fn redirect(from: &Url, method: &Method, response: &reqwest::Response) -> Option<Redirect> {
    let status = response.status().as_u16();
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let url = from.join(location).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let becomes_get = status == 303 && *method != Method::HEAD
        || matches!(status, 301 | 302) && *method == Method::POST;
    Some(if becomes_get {
        Redirect { url, method: Method::GET, keep_body: false }
    } else {
        Redirect { url, method: method.clone(), keep_body: true }
    })
}

/// What a request to another origin than the endpoint's carries of `headers`: only
/// `Content-Type`, which describes the body. Never a caller header such as `Authorization`,
/// `X-Sandbox-ID` or an app's own.
fn cross_origin_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        kept.insert(CONTENT_TYPE, content_type.clone());
    }
    kept
}

/// `scheme://host[:port]/path` plus header names: what `Debug` may show.
fn describe(url: &str, headers: &[(String, String)]) -> String {
    let location = match Url::parse(url) {
        Ok(url) => {
            let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
            format!("{}://{}{port}{}", url.scheme(), url.host_str().unwrap_or(""), url.path())
        }
        Err(_) => "<invalid url>".to_owned(),
    };
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    if names.is_empty() { location } else { format!("{location} (headers: {})", names.join(", ")) }
}

/// A transport error, described by its source chain without the URL.
fn transport_error(error: reqwest::Error) -> TokenSourceError {
    let error = error.without_url();
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(err) = current {
        let text = err.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    TokenSourceError::Transport { reason: parts.join(": "), error: Arc::new(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_urls_and_headers_are_typed_errors() {
        let source = EndpointTokenSource::new("not a url", EndpointOptions::new());
        assert!(matches!(source.target, Err(TokenSourceError::InvalidUrl { .. })));
        let source = EndpointTokenSource::new("ftp://host/x", EndpointOptions::new());
        assert!(matches!(source.target, Err(TokenSourceError::InvalidUrl { .. })));
        let source = EndpointTokenSource::new(
            "https://host/x",
            EndpointOptions::new().with_header("bad name", "v"),
        );
        assert!(matches!(source.target, Err(TokenSourceError::InvalidConfiguration { .. })));
        let source = EndpointTokenSource::new(
            "https://host/x",
            EndpointOptions::new().with_header("X-Ok", "line\nbreak"),
        );
        assert!(matches!(source.target, Err(TokenSourceError::InvalidConfiguration { .. })));
    }

    #[test]
    fn caller_content_type_wins() {
        let headers =
            build_headers(&[("content-type".into(), "application/x-custom".into())]).unwrap();
        assert_eq!(headers.get_all(CONTENT_TYPE).iter().count(), 1);
        assert_eq!(headers[CONTENT_TYPE], "application/x-custom");
        let default = build_headers(&[]).unwrap();
        assert_eq!(default[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn sandbox_id_is_trimmed_and_hidden() {
        let source = EndpointTokenSource::development_token_server(
            "  sandbox-123\n",
            DevelopmentTokenServerOptions::new(),
        );
        let target = source.target.as_ref().unwrap();
        assert_eq!(target.headers["x-sandbox-id"], "sandbox-123");
        assert_eq!(
            target.url.as_str(),
            "https://cloud-api.livekit.io/api/v2/sandbox/connection-details"
        );
        assert!(!format!("{source:?}").contains("sandbox-123"));
        let empty = EndpointTokenSource::development_token_server(
            " -- ",
            DevelopmentTokenServerOptions::new(),
        );
        assert!(matches!(empty.target, Err(TokenSourceError::InvalidConfiguration { .. })));
    }

    #[test]
    fn debug_hides_query_credentials_and_header_values() {
        let source = EndpointTokenSource::new(
            "https://user:pw@host:8443/token?key=secret-query",
            EndpointOptions::new().with_header("Authorization", "Bearer secret-header"),
        );
        let debug = format!("{source:?}");
        assert!(debug.contains("https://host:8443/token"), "{debug}");
        assert!(debug.contains("Authorization"), "{debug}");
        for secret in ["secret-query", "secret-header", "pw"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
