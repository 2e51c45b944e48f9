//! The room-layer findings (issue 8, items 1–8): LiveKit's real event orders and what the
//! session makes of them. Each test names the livekit 0.10 source it follows.

use std::{collections::BTreeMap, future::pending, sync::Arc, time::Duration};

use session::{
    AGENT_LEAVE_GRACE, AGENT_STATE_ATTRIBUTE, AgentFailure, AgentState, ConnectionState,
    DisconnectReason, FactSink, MessageKind, RoomFact, Script, ScriptedAgent, ScriptedTransport,
    SessionError, SessionOptions, TRANSCRIPTION_TOPIC, Transport, TransportError,
};
use token_source::{TokenRequestOptions, TokenSource};
use tokio::time::Instant;

use crate::support::{URL, chunk, harness, harness_with, literal, opened, stream_failed};

fn listening_agent(identity: &str) -> ScriptedAgent {
    ScriptedAgent::new(identity).with_attribute(AGENT_STATE_ATTRIBUTE, "listening")
}

fn left(identity: &str) -> RoomFact {
    RoomFact::ParticipantLeft { identity: identity.into() }
}

fn joined(agent: &ScriptedAgent) -> RoomFact {
    RoomFact::ParticipantJoined { participant: agent.participant().clone() }
}

/// Item 1. livekit 0.10 `src/room/mod.rs`: `handle_restarting` reports every remote
/// participant disconnected, then `Reconnecting`; `handle_signal_restarted` re-announces the
/// join response's participants (`handle_participant_update` → `ParticipantConnected`);
/// `handle_restarted` reports `Reconnected` only after republishing local tracks. So the
/// participants are back *before* `Reconnected`.
#[tokio::test(start_paused = true)]
async fn the_scripted_full_reconnect_follows_livekits_order() {
    let transport = ScriptedTransport::new(
        Script::new().with_agent_in_room(listening_agent("agent")).reconnect(),
    );
    let (sink, mut facts) = FactSink::channel();
    let _link = transport.connect(URL, "token", sink).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 5 {
        let fact = facts.recv().await.expect("the scripted room reports");
        kinds.push(match fact {
            RoomFact::Connected { .. } => "connected",
            RoomFact::ParticipantLeft { .. } => "left",
            RoomFact::Reconnecting => "reconnecting",
            RoomFact::ParticipantJoined { .. } => "joined",
            RoomFact::Reconnected => "reconnected",
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(kinds, ["connected", "left", "reconnecting", "joined", "reconnected"]);
}

/// Item 1, seen from the session: the agent is back before the connection is, and never
/// fails.
#[tokio::test(start_paused = true)]
async fn a_full_reconnect_keeps_the_agent() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.drain();
    h.controller.play(Script::new().reconnect());
    h.until_state(ConnectionState::Connected).await;
    tokio::time::sleep(AGENT_LEAVE_GRACE * 4).await;
    let agent = h.session.agent();
    assert_eq!((agent.state, agent.identity.as_deref()), (AgentState::Listening, Some("agent")));
    assert!(h.session.error().is_none());
}

/// Item 2: an agent that leaves during a reconnect and is not re-announced by it has left,
/// also without a dispatch timeout (automatic dispatch).
#[tokio::test(start_paused = true)]
async fn an_agent_missing_after_a_reconnect_has_left() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.drain();
    for fact in [left("agent"), RoomFact::Reconnecting, RoomFact::Reconnected] {
        h.controller.emit(fact);
    }
    let at = Instant::now();
    h.until_agent(AgentState::Failed(AgentFailure::Left)).await;
    assert!(at.elapsed() >= AGENT_LEAVE_GRACE, "not before the grace");
    assert!(at.elapsed() < AGENT_LEAVE_GRACE * 2, "within a grace of the reconnect");
}

/// Item 2 (other order): the agent leaves while the room is reconnecting.
#[tokio::test(start_paused = true)]
async fn an_agent_that_leaves_while_reconnecting_has_left() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    for fact in [RoomFact::Reconnecting, left("agent"), RoomFact::Reconnected] {
        h.controller.emit(fact);
    }
    h.until_agent(AgentState::Failed(AgentFailure::Left)).await;
}

/// Item 3: a user transcript (an agent sends it naming the local user) that fails is a
/// receive failure, not "its sender left"; one still open when the agent leaves is closed
/// (LiveKit aborts streams by the identity they name, so it never would).
#[tokio::test(start_paused = true)]
async fn user_transcripts_fail_loudly_and_close_when_the_agent_leaves() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    let user = session::DEFAULT_LOCAL_IDENTITY;
    h.controller.emit(opened("u1", TRANSCRIPTION_TOPIC, user, &[("lk.segment_id", "s1")]));
    h.controller.emit(chunk("u1", "hello"));
    h.controller.emit(stream_failed("u1", "stream reset"));
    h.until(|e| matches!(e, session::SessionEvent::ErrorChanged(Some(_)))).await;
    assert!(matches!(h.session.error(), Some(SessionError::Receiver(_))));

    h.controller.emit(opened("u2", TRANSCRIPTION_TOPIC, user, &[("lk.segment_id", "s2")]));
    h.controller.emit(chunk("u2", "are you"));
    h.controller.emit(left("agent"));
    h.until(|e| matches!(e, session::SessionEvent::MessageReplaced { message, .. } if message.id == "s2" && message.is_final)).await;
    let message = h.session.messages().into_iter().find(|m| m.id == "s2").unwrap();
    assert_eq!((message.kind, message.text.as_str()), (MessageKind::UserTranscript, "are you"));
}

/// Item 4: livekit's `ParticipantAttributesChanged` carries only the changed keys; the live
/// map may already be newer. A fast `thinking → speaking` shows `thinking` first.
#[tokio::test(start_paused = true)]
async fn a_fast_state_change_is_not_skipped() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.drain();
    let change = |changed: &str| RoomFact::AttributesChanged {
        identity: "agent".into(),
        changed: BTreeMap::from([(AGENT_STATE_ATTRIBUTE.to_owned(), changed.to_owned())]),
        attributes: BTreeMap::from([(AGENT_STATE_ATTRIBUTE.to_owned(), "speaking".to_owned())]),
    };
    h.controller.emit(change("thinking"));
    h.controller.emit(change("speaking"));
    let names = h.until_agent(AgentState::Speaking).await;
    assert_eq!(names, ["agent:thinking", "agent:speaking"]);
}

/// Item 5: livekit 0.10 `handle_room_moved` reports the participants absent from the new room
/// as disconnected (`reconcile_absent_participants`), then `Moved`. A move is not a leave: an
/// agent that follows within the grace after the move is kept.
#[tokio::test(start_paused = true)]
async fn an_agent_that_follows_a_move_is_kept() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.drain();
    h.controller.emit(left("agent"));
    tokio::time::sleep(AGENT_LEAVE_GRACE * 3 / 4).await;
    h.controller.emit(RoomFact::Moved { room_name: "room-2".into() });
    tokio::time::sleep(AGENT_LEAVE_GRACE * 3 / 4).await;
    h.controller.emit(joined(&listening_agent("agent")));
    tokio::time::sleep(AGENT_LEAVE_GRACE * 4).await;
    assert_eq!(h.session.agent().state, AgentState::Listening);
    assert_eq!(h.session.room_name(), "room-2");
    assert!(!h.drain().iter().any(|n| n.contains("failed")), "never failed");
}

/// Item 5: an agent absent from the new room after the move has left, a grace after the move.
#[tokio::test(start_paused = true)]
async fn an_agent_absent_after_a_move_has_left() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.controller.emit(left("agent"));
    h.controller.emit(RoomFact::Moved { room_name: "room-2".into() });
    let at = Instant::now();
    h.until_agent(AgentState::Failed(AgentFailure::Left)).await;
    assert!(at.elapsed() >= AGENT_LEAVE_GRACE);
}

/// Item 5: a name change reaches the agent.
#[tokio::test(start_paused = true)]
async fn the_agents_name_follows_name_changes() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.controller.emit(RoomFact::NameChanged { identity: "agent".into(), name: "Ada".into() });
    h.until(
        |e| matches!(e, session::SessionEvent::AgentChanged(a) if a.name.as_deref() == Some("Ada")),
    )
    .await;
}

/// Item 6: the agent hanging up deletes the room: a normal end with a reason, no error.
#[tokio::test(start_paused = true)]
async fn a_deleted_room_is_a_normal_end() {
    let script = Script::new()
        .with_agent_in_room(listening_agent("agent"))
        .wait(Duration::from_secs(1))
        .server_disconnects("ROOM_DELETED");
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    let names = h.until_state(ConnectionState::Disconnected).await;
    assert!(names.contains(&"disconnected:the room was closed".to_owned()), "{names:?}");
    assert!(h.session.error().is_none(), "no error: {:?}", h.session.error());
    assert_eq!(h.session.disconnect_reason(), Some(DisconnectReason::RoomDeleted));
}

/// Item 6: other reasons are errors that read as sentences, never enum names.
#[tokio::test(start_paused = true)]
async fn other_reasons_are_readable_errors() {
    for (name, words) in [
        ("MIGRATION", "the server moved the session elsewhere"),
        ("DUPLICATE_IDENTITY", "someone else joined the room with the same identity"),
    ] {
        let script = Script::new().server_disconnects(name);
        let mut h = harness(script, literal());
        h.session.start().await.unwrap();
        h.until_state(ConnectionState::Disconnected).await;
        let error = h.session.error().expect("an error").to_string();
        assert!(error.contains(words), "{name}: {error}");
        assert!(!error.contains("Migration") && !error.contains("DuplicateIdentity"), "{error}");
    }
}

/// Item 7: `end()` cancels a start whose token source never answers: `start` returns
/// `Cancelled` at once.
#[tokio::test(start_paused = true)]
async fn end_cancels_a_start_stuck_in_the_token_source() {
    let source = TokenSource::custom(|_: TokenRequestOptions| async {
        pending::<Result<token_source::TokenSourceResponse, token_source::BoxError>>().await
    });
    let h = harness(Script::new(), source);
    let session = Arc::new(h.session);
    let starting = tokio::spawn({
        let session = Arc::clone(&session);
        async move { session.start().await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ended_at = Instant::now();
    session.end().await;
    let result = tokio::time::timeout(Duration::from_millis(100), starting).await;
    let result = result.expect("start returned within 100 ms").unwrap();
    assert!(matches!(result, Err(SessionError::Cancelled)), "{result:?}");
    assert!(ended_at.elapsed() <= Duration::from_millis(100));
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    assert_eq!(h.controller.connects(), 0);
}

/// Item 7: `end()` cancels a connect that would take an hour; the connect never joins and
/// nothing of it surfaces.
#[tokio::test(start_paused = true)]
async fn end_cancels_a_slow_connect_and_no_room_is_left_behind() {
    let h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.controller.delay_connects(Some(Duration::from_secs(3600)));
    let session = Arc::new(h.session);
    let mut events = h.events;
    let starting = tokio::spawn({
        let session = Arc::clone(&session);
        async move { session.start().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    session.end().await;
    let result = tokio::time::timeout(Duration::from_millis(100), starting).await;
    let result = result.expect("start returned within 100 ms").unwrap();
    assert!(matches!(result, Err(SessionError::Cancelled)), "{result:?}");
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert!(!h.controller.is_connected(), "no room is left behind");
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    let mut names = Vec::new();
    while let Some(event) = events.try_next() {
        names.push(crate::support::name(&event));
    }
    assert_eq!(
        names,
        ["state:connecting", "agent:connecting", "state:disconnected", "agent:disconnected"]
    );
}

/// Item 8: a send while reconnecting waits for the connection and then goes out.
#[tokio::test(start_paused = true)]
async fn a_send_while_reconnecting_waits_for_the_reconnect() {
    let mut h = harness(Script::new().with_agent_in_room(listening_agent("agent")), literal());
    h.session.start().await.unwrap();
    h.controller.emit(RoomFact::Reconnecting);
    h.until_state(ConnectionState::Reconnecting).await;
    let session = Arc::new(h.session);
    let sending = tokio::spawn({
        let session = Arc::clone(&session);
        async move { session.send("still there?").await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(h.controller.sent().is_empty(), "not sent while reconnecting");
    h.controller.emit(RoomFact::Reconnected);
    let sent = sending.await.unwrap().expect("sent after the reconnect");
    assert_eq!(sent.text, "still there?");
    assert_eq!(h.controller.sent().len(), 1);
}

/// Item 8: a reconnect that outlasts the send timeout fails the send clearly.
#[tokio::test(start_paused = true)]
async fn a_send_fails_clearly_when_the_reconnect_takes_too_long() {
    let options = SessionOptions::new().with_send_reconnect_timeout(Duration::from_secs(3));
    let mut h = harness_with(Script::new(), literal(), options);
    h.session.start().await.unwrap();
    h.controller.emit(RoomFact::Reconnecting);
    h.until_state(ConnectionState::Reconnecting).await;
    let at = Instant::now();
    let error = h.session.send("hello?").await.unwrap_err();
    assert_eq!(at.elapsed(), Duration::from_secs(3));
    assert!(matches!(error, SessionError::Sender(TransportError::Reconnecting)), "{error:?}");
    assert!(error.to_string().contains("being restored"), "{error}");
    assert!(h.controller.sent().is_empty());
}
