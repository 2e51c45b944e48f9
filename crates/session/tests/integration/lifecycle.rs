//! start/end, connection state, credentials, microphone, failures and cancellation.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use async_trait::async_trait;
use session::{
    ConnectionError, ConnectionState, DisconnectReason, FactSink, Script, ScriptedAgent,
    ScriptedTransport, Session, SessionError, SessionOptions, Transport, TransportError,
    TransportLink,
};
use token_source::{TokenRequestOptions, TokenSource, TokenSourceError, TokenSourceResponse};
use tokio::sync::Semaphore;

use crate::support::{URL, counting_source, harness, harness_with, literal, token};

#[tokio::test(start_paused = true)]
async fn start_connects_and_end_disconnects() {
    let mut h = harness(Script::new(), literal());
    assert_eq!(h.session.connection_state(), ConnectionState::Disconnected);
    h.session.start().await.unwrap();
    assert!(h.session.is_connected());
    assert_eq!(h.drain(), ["state:connecting", "agent:connecting", "state:connected"]);
    assert!(h.controller.microphone_enabled(), "the microphone is on by default");
    assert_eq!(h.controller.server_urls(), [URL]);

    h.session.end().await;
    assert!(!h.session.is_connected());
    assert_eq!(
        h.drain(),
        [
            "state:disconnecting",
            "agent:disconnected",
            "disconnected:you left the room",
            "state:disconnected"
        ]
    );
    assert_eq!(h.session.disconnect_reason(), Some(DisconnectReason::ClientInitiated));
    assert!(!h.controller.is_connected(), "the transport was disconnected");
    h.session.end().await;
    assert!(h.drain().is_empty(), "ending twice does nothing");
}

#[tokio::test(start_paused = true)]
async fn start_only_from_disconnected() {
    let mut h = harness(Script::new(), literal());
    h.session.start().await.unwrap();
    h.drain();
    let error = h.session.start().await.unwrap_err();
    assert!(matches!(error, SessionError::NotDisconnected(ConnectionState::Connected)));
    assert!(h.session.error().is_none(), "the call fails, the session is unaffected");
    assert!(h.drain().is_empty());
    assert_eq!(h.controller.connects(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_token_source_failure_is_a_connection_error() {
    let source = TokenSource::custom(|_| async {
        Err(TokenSourceError::Status { status: 503, body_excerpt: "down".into() }.into())
    });
    let mut h = harness(Script::new(), source);
    let error = h.session.start().await.unwrap_err();
    assert!(
        matches!(error, SessionError::Connection(ConnectionError::Credentials(_))),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "connection failed: could not get credentials: the token endpoint answered HTTP 503: down"
    );
    assert_eq!(h.session.connection_state(), ConnectionState::Disconnected);
    assert!(matches!(h.session.error(), Some(SessionError::Connection(_))));
    assert_eq!(
        h.drain(),
        [
            "state:connecting",
            "agent:connecting",
            "error:connection failed: could not get credentials: the token endpoint answered HTTP 503: down",
            "state:disconnected",
            "agent:disconnected"
        ]
    );
    assert_eq!(h.controller.connects(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_transport_failure_is_a_connection_error_and_the_next_start_clears_it() {
    let mut h = harness(Script::new(), literal());
    h.controller.fail_connects(Some(TransportError::failed("could not reach the server")));
    let error = h.session.start().await.unwrap_err();
    assert!(matches!(error, SessionError::Connection(ConnectionError::Transport(_))), "{error:?}");
    assert!(h.session.error().is_some());
    h.drain();
    h.controller.fail_connects(None);
    h.session.start().await.unwrap();
    assert!(h.session.error().is_none());
    assert_eq!(
        h.drain(),
        ["error:none", "state:connecting", "agent:connecting", "state:connected"]
    );
}

/// A token the room refused (an invalid or revoked token, found by the e2e harness against a
/// real server) is not kept: the token source's cache is empty after the failed connect.
#[tokio::test(start_paused = true)]
async fn a_refused_token_is_not_left_in_the_cache() {
    let (source, calls) = counting_source(None);
    let h = harness(Script::new(), source.clone());
    h.controller.fail_connects(Some(TransportError::failed("401 invalid token")));
    let _ = h.session.start().await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(source.cached_response().is_none(), "the refused token is not cached");
    assert!(source.try_cached(&TokenRequestOptions::new()).is_none());
}

#[tokio::test(start_paused = true)]
async fn dismiss_error_clears_it() {
    let mut h = harness(Script::new(), literal());
    h.controller.fail_connects(Some(TransportError::failed("no")));
    let _ = h.session.start().await;
    h.drain();
    h.session.dismiss_error();
    assert!(h.session.error().is_none());
    assert_eq!(h.drain(), ["error:none"]);
    h.session.dismiss_error();
    assert!(h.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_first_start_uses_the_cache_and_every_later_start_fetches_a_fresh_token() {
    let (source, calls) = counting_source(None);
    // The app pre-fetches while the user looks at the start screen.
    source.fetch(&TokenRequestOptions::new()).await.unwrap();
    let h = harness(Script::new(), source.clone());
    h.session.start().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the cached token is used");
    h.session.end().await;
    h.session.start().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "a restart gets a new token (and room)");
    h.session.end().await;
    h.session.start().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(h.controller.connects(), 3);
}

/// A token source that waits for a permit.
fn gated_source() -> (TokenSource, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let permits = Arc::clone(&gate);
    let source = TokenSource::custom(move |_: TokenRequestOptions| {
        let permits = Arc::clone(&permits);
        async move {
            permits.acquire().await.expect("open").forget();
            Ok(TokenSourceResponse::new(URL, token("user", None)))
        }
    });
    (source, gate)
}

#[tokio::test(start_paused = true)]
async fn end_while_connecting_cancels_the_start() {
    let (source, gate) = gated_source();
    let mut h = harness(Script::new(), source);
    let session = Arc::new(h.session);
    let starting = tokio::spawn({
        let session = Arc::clone(&session);
        async move { session.start().await }
    });
    tokio::task::yield_now().await;
    assert_eq!(session.connection_state(), ConnectionState::Connecting);
    session.end().await;
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    gate.add_permits(1);
    assert!(matches!(starting.await.unwrap(), Err(SessionError::Cancelled)));
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    assert!(session.error().is_none(), "ending is not an error");
    assert!(!h.controller.is_connected(), "the late connection was closed");
    let mut names = Vec::new();
    while let Some(event) = h.events.try_next() {
        names.push(crate::support::name(&event));
    }
    assert_eq!(
        names,
        ["state:connecting", "agent:connecting", "state:disconnected", "agent:disconnected"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_start_goes_back_to_disconnected() {
    let (source, _gate) = gated_source();
    let mut h = harness(Script::new(), source);
    let result = tokio::time::timeout(Duration::from_secs(5), h.session.start()).await;
    assert!(result.is_err(), "the start was abandoned");
    assert_eq!(h.session.connection_state(), ConnectionState::Disconnected);
    assert_eq!(
        h.drain(),
        ["state:connecting", "agent:connecting", "state:disconnected", "agent:disconnected"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_microphone_is_optional_and_its_failure_keeps_the_session() {
    let h = harness_with(
        Script::new(),
        literal(),
        SessionOptions::new().with_microphone_enabled(false),
    );
    h.session.start().await.unwrap();
    assert!(!h.controller.microphone_enabled());

    let mut h = harness(Script::new().with_microphone_unavailable("no permission"), literal());
    h.session.start().await.unwrap();
    assert!(h.session.is_connected());
    assert!(matches!(h.session.error(), Some(SessionError::Media(_))));
    assert_eq!(
        h.drain(),
        [
            "state:connecting",
            "agent:connecting",
            "state:connected",
            "error:microphone unavailable: no permission"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_disconnect_is_a_connection_error() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent"))
        .agent_state("listening")
        .wait(Duration::from_secs(1))
        .server_disconnects("PARTICIPANT_REMOVED");
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    let names = h.until_state(ConnectionState::Disconnected).await;
    assert_eq!(
        names,
        [
            "state:connecting",
            "agent:connecting",
            "state:connected",
            "agent:initializing",
            "agent:listening",
            "error:connection failed: disconnected: you were removed from the room",
            "disconnected:you were removed from the room",
            "state:disconnected",
        ]
    );
    assert_eq!(h.drain(), ["agent:disconnected"]);
    assert_eq!(h.session.disconnect_reason(), Some(DisconnectReason::ParticipantRemoved));
    // A new start works.
    h.session.start().await.unwrap();
    assert!(h.session.is_connected());
}

/// A transport whose connection ends without a `Disconnected` event.
struct VanishingTransport;

struct NoopLink;

#[async_trait]
impl TransportLink for NoopLink {
    async fn send_text(&self, _topic: &str, _text: &str) -> Result<String, TransportError> {
        Err(TransportError::NotConnected)
    }
    async fn set_microphone_enabled(&self, _enabled: bool) -> Result<(), TransportError> {
        Ok(())
    }
    async fn disconnect(&self) {}
}

#[async_trait]
impl Transport for VanishingTransport {
    async fn connect(
        &self,
        _url: &str,
        _token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        sink.push(session::RoomFact::Connected {
            local_identity: "me".into(),
            room_name: String::new(),
            participants: Vec::new(),
        });
        // The sink is dropped here: the room vanishes without a word.
        Ok(Arc::new(NoopLink))
    }
}

#[tokio::test(start_paused = true)]
async fn a_closed_event_channel_means_the_connection_was_lost() {
    let session = Session::with_options(
        literal(),
        TokenRequestOptions::new(),
        SessionOptions::new().with_transport(VanishingTransport),
    );
    let mut events = session.subscribe();
    for _ in 0..5 {
        events.try_next().expect("snapshot");
    }
    session.start().await.unwrap();
    loop {
        if let Some(session::SessionEvent::ConnectionStateChanged(ConnectionState::Disconnected)) =
            events.next().await
        {
            break;
        }
    }
    assert_eq!(
        session.error().map(|e| e.to_string()).as_deref(),
        Some("connection failed: disconnected: the connection was lost")
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_transport_start_fails_clearly() {
    let session = Session::new(literal(), TokenRequestOptions::new());
    let error = session.start().await.unwrap_err();
    assert!(error.to_string().contains("no transport"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_session_stops_its_task_and_closes_the_connection() {
    let transport = ScriptedTransport::new(
        Script::new()
            .agent_joins(ScriptedAgent::new("agent"))
            .wait(Duration::from_secs(3600))
            .agent_state("listening"),
    );
    let controller = transport.controller();
    let session = Session::with_options(
        literal(),
        TokenRequestOptions::new(),
        SessionOptions::new().with_transport(transport),
    );
    let mut events = session.subscribe();
    session.start().await.unwrap();
    assert!(controller.is_connected());
    drop(session);
    tokio::task::yield_now().await;
    assert!(!controller.is_connected(), "the connection went with the session");
    // The event stream ends once the session and its task are gone.
    let mut remaining = 0;
    while tokio::time::timeout(Duration::from_secs(1), events.next()).await.unwrap().is_some() {
        remaining += 1;
    }
    assert!(remaining <= 8);
}

#[test]
fn sessions_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Session>();
    check::<SessionOptions>();
    check::<ScriptedTransport>();
    check::<session::SessionEvents>();
    fn check_send<T: Send>(_: &T) {}
    let session = Session::new(literal(), TokenRequestOptions::new());
    check_send(&session.start());
    check_send(&session.end());
    check_send(&session.send("x"));
}
