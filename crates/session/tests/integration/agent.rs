//! The agent: who it is, its state, the timeout, leaving, and reconnects.

use std::time::Duration;

use session::{
    AGENT_STATE_ATTRIBUTE, AgentFailure, AgentState, ConnectionState, PUBLISH_ON_BEHALF_ATTRIBUTE,
    ParticipantFact, RoomFact, Script, ScriptedAgent, SessionOptions,
};
use token_source::TokenSource;

use crate::support::{URL, harness, harness_with, literal, token};

/// A token that dispatches an agent, so the agent timeout applies.
fn dispatching() -> TokenSource {
    TokenSource::literal(URL, token("user", Some("my-agent")))
}

fn attributes(state: &str) -> std::collections::BTreeMap<String, String> {
    [(AGENT_STATE_ATTRIBUTE.to_owned(), state.to_owned())].into()
}

#[tokio::test(start_paused = true)]
async fn the_agent_follows_its_state_attribute() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent-1").with_name("Assistant"))
        .agent_state("listening")
        .agent_state("thinking")
        .agent_state("speaking")
        .agent_state("idle")
        .agent_state("something-new");
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    let names = h.until_agent(AgentState::Idle).await;
    assert_eq!(
        names,
        [
            "state:connecting",
            "agent:connecting",
            "state:connected",
            "agent:initializing",
            "agent:listening",
            "agent:thinking",
            "agent:speaking",
            "agent:idle"
        ]
    );
    let agent = h.session.agent();
    assert_eq!(agent.identity.as_deref(), Some("agent-1"));
    assert_eq!(agent.name.as_deref(), Some("Assistant"));
    tokio::time::sleep(Duration::from_millis(1)).await;
    // An unknown state reads as idle; the attributes still show the raw value.
    assert_eq!(h.session.agent().state, AgentState::Idle);
    assert_eq!(h.session.agent().attributes[AGENT_STATE_ATTRIBUTE], "something-new");
}

#[tokio::test(start_paused = true)]
async fn an_agent_already_in_the_room_appears_with_the_connection() {
    let script = Script::new().with_agent_in_room(
        ScriptedAgent::new("agent").with_attribute(AGENT_STATE_ATTRIBUTE, "listening"),
    );
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    assert_eq!(
        h.drain(),
        ["state:connecting", "agent:connecting", "state:connected", "agent:listening"]
    );
}

#[tokio::test(start_paused = true)]
async fn avatar_workers_and_later_agents_are_not_the_agent() {
    let avatar = ScriptedAgent::new("avatar")
        .with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, "agent-1")
        .with_attribute(AGENT_STATE_ATTRIBUTE, "speaking");
    let script = Script::new()
        .with_participant_in_room(ParticipantFact::standard("someone-else"))
        .with_agent_in_room(avatar)
        .with_agent_in_room(
            ScriptedAgent::new("agent-1").with_attribute(AGENT_STATE_ATTRIBUTE, "listening"),
        )
        .with_agent_in_room(
            ScriptedAgent::new("agent-2").with_attribute(AGENT_STATE_ATTRIBUTE, "thinking"),
        );
    let h = harness(script, literal());
    h.session.start().await.unwrap();
    let agent = h.session.agent();
    assert_eq!(agent.identity.as_deref(), Some("agent-1"));
    assert_eq!(agent.state, AgentState::Listening);
}

#[tokio::test(start_paused = true)]
async fn a_dispatched_agent_that_never_comes_times_out_after_twenty_seconds() {
    let mut h = harness(Script::new(), dispatching());
    h.session.start().await.unwrap();
    let started = tokio::time::Instant::now();
    h.until_agent(AgentState::Failed(AgentFailure::Timeout)).await;
    assert_eq!(started.elapsed(), Duration::from_secs(20));
    let agent = h.session.agent();
    assert_eq!(agent.error(), Some(AgentFailure::Timeout));
    assert!(agent.is_finished());
    assert!(h.session.is_connected(), "the session stays connected");
}

#[tokio::test(start_paused = true)]
async fn without_a_dispatch_there_is_no_timeout() {
    let mut h = harness(Script::new(), literal());
    h.session.start().await.unwrap();
    h.drain();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(h.session.agent().state, AgentState::Connecting);
    assert!(h.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn joining_is_not_enough_the_agent_must_be_listening_thinking_or_speaking() {
    let script = Script::new()
        .wait(Duration::from_secs(5))
        .agent_joins(ScriptedAgent::new("agent"))
        .wait(Duration::from_secs(30))
        .agent_state("listening");
    let options = SessionOptions::new().with_agent_connect_timeout(Duration::from_secs(10));
    let mut h = harness_with(script, dispatching(), options);
    h.session.start().await.unwrap();
    let started = tokio::time::Instant::now();
    let names = h.until_agent(AgentState::Listening).await;
    assert_eq!(
        names,
        [
            "state:connecting",
            "agent:connecting",
            "state:connected",
            "agent:initializing",
            "agent:failed (timeout)",
            "agent:listening"
        ],
        "failed at 10 s while initializing, cleared when it became available"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(35));
    let agent = h.session.agent();
    assert_eq!(agent.error(), None);
    assert!(agent.is_connected() && agent.can_listen());
}

#[tokio::test(start_paused = true)]
async fn an_agent_in_time_clears_the_timer() {
    let script = Script::new()
        .wait(Duration::from_secs(3))
        .agent_joins(ScriptedAgent::new("agent"))
        .agent_state("listening");
    let mut h = harness(script, dispatching());
    h.session.start().await.unwrap();
    h.until_agent(AgentState::Listening).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(h.session.agent().state, AgentState::Listening);
    assert!(h.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_agent_that_leaves_fails_with_left_after_the_grace() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent"))
        .agent_state("listening")
        .wait(Duration::from_secs(10))
        .agent_leaves();
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    h.until_agent(AgentState::Listening).await;
    let left_at = tokio::time::Instant::now() + Duration::from_secs(10);
    let names = h.until_agent(AgentState::Failed(AgentFailure::Left)).await;
    assert_eq!(names, ["agent:failed (left)"]);
    assert_eq!(tokio::time::Instant::now() - left_at, session::AGENT_LEAVE_GRACE);
    let agent = h.session.agent();
    assert_eq!(agent.identity, None);
    assert_eq!(agent.error(), Some(AgentFailure::Left));
    assert!(h.session.is_connected());
}

#[tokio::test(start_paused = true)]
async fn a_full_reconnect_in_livekits_order_does_not_fail_the_agent() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent"))
        .agent_state("listening")
        .wait(Duration::from_secs(10))
        // livekit 0.10: ParticipantDisconnected for everyone, Reconnecting, the participants
        // again (handle_signal_restarted), then Reconnected (handle_restarted).
        .reconnect();
    let mut h = harness(script, dispatching());
    h.session.start().await.unwrap();
    h.until_agent(AgentState::Listening).await;
    let names = h.until_state(ConnectionState::Connected).await;
    assert_eq!(
        names,
        ["state:reconnecting", "agent:connecting", "agent:listening", "state:connected"],
        "the agent is never failed(left)"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(h.session.agent().state, AgentState::Listening);
    assert!(h.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reconnect_reported_within_the_grace_still_counts_as_a_reconnect() {
    let h = harness(
        Script::new().with_agent_in_room(
            ScriptedAgent::new("agent").with_attribute(AGENT_STATE_ATTRIBUTE, "listening"),
        ),
        literal(),
    );
    let mut h = h;
    h.session.start().await.unwrap();
    h.drain();
    h.controller.emit(RoomFact::ParticipantLeft { identity: "agent".into() });
    tokio::time::sleep(session::AGENT_LEAVE_GRACE / 2).await;
    assert_eq!(h.session.agent().state, AgentState::Listening, "unchanged during the grace");
    h.controller.emit(RoomFact::Reconnecting);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(h.drain(), ["state:reconnecting", "agent:connecting"]);
}

#[tokio::test(start_paused = true)]
async fn another_agent_takes_over_and_a_returning_agent_clears_left() {
    let script = Script::new()
        .with_agent_in_room(
            ScriptedAgent::new("a").with_attribute(AGENT_STATE_ATTRIBUTE, "listening"),
        )
        .with_agent_in_room(
            ScriptedAgent::new("b").with_attribute(AGENT_STATE_ATTRIBUTE, "speaking"),
        );
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    h.drain();
    h.controller.emit(RoomFact::ParticipantLeft { identity: "a".into() });
    tokio::task::yield_now().await;
    let agent = h.session.agent();
    assert_eq!((agent.identity.as_deref(), agent.state), (Some("b"), AgentState::Speaking));

    h.controller.emit(RoomFact::ParticipantLeft { identity: "b".into() });
    h.until_agent(AgentState::Failed(AgentFailure::Left)).await;
    h.controller.emit(RoomFact::ParticipantJoined {
        participant: ScriptedAgent::new("c").participant().clone(),
    });
    h.controller.emit(RoomFact::AttributesChanged {
        identity: "c".into(),
        changed: attributes("listening"),
        attributes: attributes("listening"),
    });
    h.until_agent(AgentState::Listening).await;
    assert_eq!(h.session.agent().identity.as_deref(), Some("c"));
}

#[tokio::test(start_paused = true)]
async fn end_resets_the_agent_and_its_failures() {
    let mut h = harness(Script::new(), dispatching());
    h.session.start().await.unwrap();
    h.until_agent(AgentState::Failed(AgentFailure::Timeout)).await;
    h.session.end().await;
    assert_eq!(h.session.agent().state, AgentState::Disconnected);
    h.session.start().await.unwrap();
    assert_eq!(h.session.agent().state, AgentState::Connecting, "a new start starts over");
}
