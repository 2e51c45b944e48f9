//! Observing a session: snapshots, ordering, several subscribers, no loss.

use session::{
    AgentState, ConnectionState, Script, ScriptedAgent, SessionEvent, TRANSCRIPTION_TOPIC,
};

use crate::support::{harness, literal, name};

#[tokio::test(start_paused = true)]
async fn a_subscription_starts_with_the_current_state() {
    let h = harness(
        Script::new().with_agent_in_room(
            ScriptedAgent::new("agent").with_attribute(session::AGENT_STATE_ATTRIBUTE, "thinking"),
        ),
        literal(),
    );
    h.session.start().await.unwrap();
    let mut events = h.session.subscribe();
    let mut snapshot = Vec::new();
    while let Some(event) = events.try_next() {
        snapshot.push(name(&event));
    }
    assert_eq!(
        snapshot,
        ["state:connected", "agent:thinking", "error:none", "reset:0", "tracks:0"]
    );
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_sees_every_change_in_order() {
    let mut h = harness(Script::new(), literal());
    let mut second = h.session.subscribe();
    for _ in 0..5 {
        second.try_next().unwrap();
    }
    h.session.start().await.unwrap();
    h.controller.emit(session::RoomFact::ParticipantJoined {
        participant: ScriptedAgent::new("agent").participant().clone(),
    });
    h.controller.emit(crate::support::opened("s", TRANSCRIPTION_TOPIC, "agent", &[]));
    // A burst of 1000 chunks: every one is delivered.
    for i in 0..1000 {
        h.controller.emit(crate::support::chunk("s", &format!("{i} ")));
    }
    let first = h.until(|e| matches!(e, SessionEvent::MessageReplaced { message, .. } if message.text.ends_with("999 "))).await;
    let mut other = Vec::new();
    while let Some(event) = second.try_next() {
        if !crate::support::is_track_event(&event) {
            other.push(name(&event));
        }
    }
    assert_eq!(first, other);
    let updates = first.iter().filter(|n| n.starts_with("updated")).count();
    assert_eq!(updates, 1000);
    assert_eq!(h.session.agent().state, AgentState::Initializing);
    assert_eq!(h.session.connection_state(), ConnectionState::Connected);
}

#[tokio::test(start_paused = true)]
async fn dropped_subscribers_are_forgotten() {
    let h = harness(Script::new(), literal());
    let dropped = h.session.subscribe();
    drop(dropped);
    h.session.start().await.unwrap();
    assert!(h.session.is_connected());
}
