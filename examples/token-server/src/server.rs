//! The HTTP endpoint: [`router`] and [`serve`].

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request, State},
    http::{
        HeaderMap, HeaderValue, Method, StatusCode,
        header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
    routing::{get, post},
};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use token_source::{TokenRequestOptions, TokenSourceResponse};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    TokenServerConfig,
    config::{parse_header_name, parse_origin},
    error::{ApiError, ServeError},
    token,
};

/// How long browsers may cache a CORS preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

type SharedConfig = Arc<TokenServerConfig>;

/// The token endpoint as an axum [`Router`]: `POST /token` (and `POST /`) mints a token,
/// `GET /healthz` answers 200, with CORS. Merge or nest it into your own app, or run it with
/// [`serve`].
///
/// An invalid configuration (see [`TokenServerConfig::validate`]) is logged as a warning; token
/// requests then fail with 500. [`serve`] refuses it instead.
pub fn router(config: TokenServerConfig) -> Router {
    if let Err(error) = config.validate() {
        tracing::warn!(%error, "invalid token server configuration: tokens cannot be minted");
    }
    let cors = cors_layer(&config);
    let body_limit = DefaultBodyLimit::max(config.max_body_bytes);
    Router::new()
        .route("/token", post(mint_token))
        .route("/", post(mint_token))
        .route("/healthz", get(healthz))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(body_limit)
        .layer(cors)
        .with_state(Arc::new(config))
}

/// How long to wait before accepting again after an accept error (out of file descriptors…).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves [`router`] on `listener` (HTTP/1.1) until `shutdown` completes, then shuts down
/// gracefully with a deadline.
///
/// Slow or stuck clients cannot hold the server: a connection that does not send a request's
/// line and headers within [`header_read_timeout`](TokenServerConfig::with_header_read_timeout)
/// (idle kept-alive ones included) is closed, a body that does not arrive within
/// [`body_read_timeout`](TokenServerConfig::with_body_read_timeout) gets 408, and at most
/// [`max_connections`](TokenServerConfig::with_max_connections) connections are handled at once
/// (more wait in the listen queue, so the process never runs out of file descriptors).
///
/// When `shutdown` completes, the listener is closed, idle connections are closed and requests
/// in flight are finished; connections still open after
/// [`shutdown_timeout`](TokenServerConfig::with_shutdown_timeout) are closed, whatever their
/// clients do, and `serve` returns.
///
/// Fails at once with [`ServeError::Config`] if the configuration is invalid.
pub async fn serve(
    listener: TcpListener,
    config: TokenServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    config.validate()?;
    let header_read_timeout = config.header_read_timeout;
    let shutdown_timeout = config.shutdown_timeout;
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let app = router(config);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    // Owns every connection task: dropping or shutting down the set ends them.
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // A permit first: beyond the limit, connections wait in the kernel's listen queue.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            // Errors are the client's (a reset, a header timeout): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "shutdown deadline reached: closing the connections still open"
        );
    }
    connections.shutdown().await;
    Ok(())
}

fn cors_layer(config: &TokenServerConfig) -> CorsLayer {
    let origins = if config.allowed_origins.is_empty() {
        AllowOrigin::any()
    } else {
        // Invalid origins are left out (and reported by `validate`): fail closed.
        AllowOrigin::list(
            config.allowed_origins.iter().filter_map(|origin| parse_origin(origin).ok()),
        )
    };
    let headers = [CONTENT_TYPE, AUTHORIZATION]
        .into_iter()
        .chain(config.allowed_headers.iter().filter_map(|name| parse_header_name(name).ok()));
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(headers.collect::<Vec<_>>())
        .max_age(PREFLIGHT_MAX_AGE)
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, [(CACHE_CONTROL, HeaderValue::from_static("no-store"))], "ok")
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed here (see the `Allow` header)"),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found: POST token requests to /token")
}

async fn mint_token(State(config): State<SharedConfig>, request: Request) -> Response {
    match handle_token_request(&config, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Authentication, content type, size, JSON, values, policy, then the token: each failure is a
/// JSON error with its own status.
async fn handle_token_request(
    config: &TokenServerConfig,
    request: Request,
) -> Result<Response, ApiError> {
    config.auth.check(request.headers())?;
    check_content_type(request.headers())?;
    let timeout = config.body_read_timeout;
    let body = tokio::time::timeout(timeout, Bytes::from_request(request, &()))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {} s", timeout.as_secs_f32()),
            )
            .closing()
        })?
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is larger than {} bytes", config.max_body_bytes),
                )
            } else {
                ApiError::bad_request("could not read the request body")
            }
        })?;
    let options = TokenRequestOptions::from_request_json(&body)
        .map_err(|error| ApiError::bad_request(describe_json_error(&error)))?;
    let options = token::normalize(options);
    token::validate(&options)?;
    if let Some(policy) = &config.request_policy {
        policy(&options).map_err(ApiError::unprocessable)?;
    }
    let minted = token::mint(config, &options).map_err(|error| {
        tracing::error!(%error, "could not mint a token");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the token server could not mint a token")
    })?;
    tracing::info!(
        identity = %minted.identity,
        room = %minted.room,
        agent = options.dispatches_agent(),
        "minted a token"
    );
    let body = TokenSourceResponse::new(&config.livekit_url, minted.token)
        .with_room_name(minted.room)
        .with_participant_name(minted.name)
        .to_response_json();
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::CREATED, headers, body).into_response())
}

/// Accepts a missing `Content-Type`, `application/json` and `application/*+json` (any
/// parameters, any case); anything else is 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value.to_str().ok().map(|v| v.split(';').next().unwrap_or_default().trim());
    let is_json = essence.is_some_and(|essence| {
        let lower = essence.to_ascii_lowercase();
        lower == "application/json"
            || (lower.starts_with("application/") && lower.ends_with("+json"))
    });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON (`Content-Type: application/json`)",
        ))
    }
}

/// Where and how the JSON is wrong, never quoting it (serde's messages can quote the input).
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let (line, column) = (error.line(), error.column());
    match error.classify() {
        Category::Syntax => {
            format!(
                "the request body is not valid JSON: syntax error at line {line} column {column}"
            )
        }
        Category::Eof => format!(
            "the request body is not valid JSON: unexpected end of input at line {line} column {column}"
        ),
        Category::Data => format!(
            "the request body is not a token request (a JSON object with string fields): \
             unexpected value at line {line} column {column}"
        ),
        Category::Io => "could not read the request body".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &str) -> Result<(), ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        check_content_type(&headers)
    }

    #[test]
    fn json_content_types_are_accepted() {
        assert!(check_content_type(&HeaderMap::new()).is_ok());
        for ok in ["application/json", "Application/JSON; charset=utf-8", "application/vnd.x+json"]
        {
            assert!(content_type(ok).is_ok(), "{ok}");
        }
        for bad in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""] {
            assert_eq!(content_type(bad).unwrap_err().status, 415, "{bad}");
        }
    }

    #[test]
    fn json_errors_say_where_without_quoting() {
        let describe = |body: &str| {
            describe_json_error(
                &TokenRequestOptions::from_request_json(body.as_bytes()).unwrap_err(),
            )
        };
        assert_eq!(
            describe(r#"{"room_name": secret-value}"#),
            "the request body is not valid JSON: syntax error at line 1 column 15"
        );
        assert!(describe(r#"{"room_name":"#).contains("unexpected end of input"));
        let data = describe(r#"{"room_name": 12345678}"#);
        assert!(data.starts_with("the request body is not a token request"), "{data}");
        assert!(!data.contains("12345678"), "{data}");
    }
}
