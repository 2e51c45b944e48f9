//! Transcriptions, chat, sending, history.

use std::time::Duration;

use session::{
    CHAT_TOPIC, ConnectionState, MessageKind, ReceivedMessage, SEGMENT_ID_ATTRIBUTE, Script,
    ScriptedAgent, SessionError, SessionEvent, TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC,
    TransportError,
};

use crate::support::{Harness, chunk, close, harness, literal, opened, stream_failed};

async fn connected(script: Script) -> Harness {
    let mut h = harness(script, literal());
    h.session.start().await.unwrap();
    h.drain();
    h
}

fn message_events(names: Vec<String>) -> Vec<String> {
    names.into_iter().filter(|n| n.starts_with("added") || n.starts_with("updated")).collect()
}

fn is_final_update(event: &SessionEvent) -> bool {
    matches!(event, SessionEvent::MessageReplaced { message, .. } if message.is_final)
}

#[tokio::test(start_paused = true)]
async fn the_agents_transcript_streams_word_by_word() {
    let script =
        Script::new().agent_joins(ScriptedAgent::new("agent")).agent_says("Hello there friend");
    let mut h = connected(script).await;
    let names = message_events(h.until(is_final_update).await);
    assert_eq!(
        names,
        [
            "added:0:",
            "updated:0:Hello",
            "updated:0:Hello there",
            "updated:0:Hello there friend",
            "updated:0:Hello there friend:final"
        ]
    );
    let message = &h.session.messages()[0];
    assert_eq!(message.kind, MessageKind::AgentTranscript);
    assert_eq!(message.sender_identity, "agent");
    assert!(message.id.starts_with("segment-"));
}

#[tokio::test(start_paused = true)]
async fn the_users_speech_replaces_its_segment_until_final() {
    let mut h = connected(Script::new().user_says("what time is it")).await;
    let names = message_events(h.until(|e| matches!(e, SessionEvent::MessageReplaced { message, .. } if message.text == "what time is it" && message.is_final)).await);
    assert_eq!(names[0], "added:0:");
    assert!(names.iter().any(|n| n == "updated:0:what time"), "{names:?}");
    let messages = h.session.messages();
    assert_eq!(messages.len(), 1, "one message per segment: {messages:?}");
    assert_eq!(messages[0].kind, MessageKind::UserTranscript);
    assert_eq!(messages[0].text, "what time is it");
}

fn transcription(id: &str, segment: &str, is_final: bool) -> session::RoomFact {
    opened(
        id,
        TRANSCRIPTION_TOPIC,
        "agent",
        &[
            (SEGMENT_ID_ATTRIBUTE, segment),
            (TRANSCRIPTION_FINAL_ATTRIBUTE, if is_final { "true" } else { "false" }),
        ],
    )
}

/// LiveKit Swift's transcription cases (TranscriptionTests.swift), as event sequences.
#[tokio::test(start_paused = true)]
async fn swift_transcription_cases() {
    // Same segment and stream, several sends: the text appends; closing finalizes.
    let mut h = connected(Script::new()).await;
    for event in [
        transcription("s1", "seg", false),
        chunk("s1", "Hey"),
        chunk("s1", " there!"),
        chunk("s1", " What's up?"),
        close("s1"),
    ] {
        h.controller.emit(event);
    }
    let names = message_events(h.until(is_final_update).await);
    assert_eq!(
        names,
        [
            "added:0:",
            "updated:0:Hey",
            "updated:0:Hey there!",
            "updated:0:Hey there! What's up?",
            "updated:0:Hey there! What's up?:final"
        ]
    );

    // Same segment, a new stream per update with the full text: replaced, one message.
    let mut h = connected(Script::new()).await;
    for (i, text) in ["Hey", "Hey there!", "Hey there! What's up?"].into_iter().enumerate() {
        let id = format!("s{i}");
        h.controller.emit(transcription(&id, "seg", i == 2));
        h.controller.emit(chunk(&id, text));
        h.controller.emit(close(&id));
    }
    h.until(|e| matches!(e, SessionEvent::MessageReplaced { message, .. } if message.text == "Hey there! What's up?")).await;
    tokio::task::yield_now().await;
    let messages = h.session.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].is_final);

    // final="true" in the header: final at once, no duplicate update on close.
    let mut h = connected(Script::new()).await;
    h.controller.emit(transcription("s1", "seg", true));
    h.controller.emit(chunk("s1", "Done."));
    h.controller.emit(close("s1"));
    h.controller.emit(transcription("s2", "next", false));
    let names = message_events(
        h.until(|e| matches!(e, SessionEvent::MessageInserted { index: 1, .. })).await,
    );
    assert_eq!(names, ["added:0:", "updated:0:Done.:final", "added:1:"]);
}

#[tokio::test(start_paused = true)]
async fn messages_keep_the_order_of_first_arrival() {
    let mut h = connected(Script::new()).await;
    h.controller.emit(transcription("a", "first", false));
    h.controller.emit(opened(
        "b",
        TRANSCRIPTION_TOPIC,
        session::DEFAULT_LOCAL_IDENTITY,
        &[(SEGMENT_ID_ATTRIBUTE, "second")],
    ));
    h.controller.emit(chunk("b", "user words"));
    h.controller.emit(chunk("a", "agent words"));
    h.until(|e| matches!(e, SessionEvent::MessageReplaced { index: 0, message } if message.text == "agent words")).await;
    let messages = h.session.messages();
    let texts: Vec<_> = messages.iter().map(|m| (m.kind, m.text.as_str())).collect();
    assert_eq!(
        texts,
        [
            (MessageKind::AgentTranscript, "agent words"),
            (MessageKind::UserTranscript, "user words")
        ]
    );
    assert!(messages[0].timestamp <= messages[1].timestamp);
}

#[tokio::test(start_paused = true)]
async fn chat_from_others_arrives_and_sent_chat_is_echoed() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent"))
        .on_chat(|text| Script::new().agent_turn(&format!("You said {text}")));
    let mut h = connected(script).await;
    h.controller.emit(opened("c1", CHAT_TOPIC, "agent", &[]));
    h.controller.emit(chunk("c1", "Welcome!"));
    h.controller.emit(close("c1"));
    h.until(is_final_update).await;

    let sent = h.session.send("hi").await.unwrap();
    assert_eq!(sent.kind, MessageKind::SentChat);
    assert_eq!(sent.sender_identity, session::DEFAULT_LOCAL_IDENTITY);
    assert_eq!(h.controller.sent(), [(CHAT_TOPIC.to_owned(), "hi".to_owned())]);
    h.until(|e| matches!(e, SessionEvent::MessageReplaced { message, .. } if message.text == "You said hi" && message.is_final)).await;
    let kinds: Vec<_> = h.session.messages().iter().map(|m| (m.kind, m.text.clone())).collect();
    assert_eq!(
        kinds,
        [
            (MessageKind::ReceivedChat, "Welcome!".to_owned()),
            (MessageKind::SentChat, "hi".to_owned()),
            (MessageKind::AgentTranscript, "You said hi".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn failed_sends_set_a_sender_error() {
    let mut h = connected(Script::new()).await;
    h.controller.fail_sends(Some(TransportError::failed("data channel closed")));
    let error = h.session.send("hello").await.unwrap_err();
    assert_eq!(error.to_string(), "sending failed: data channel closed");
    assert!(matches!(h.session.error(), Some(SessionError::Sender(_))));
    assert_eq!(h.drain(), ["error:sending failed: data channel closed"]);
    assert!(h.session.messages().is_empty(), "nothing was sent, nothing is shown");

    assert!(matches!(h.session.send("  ").await, Err(SessionError::EmptyMessage)));
    assert!(h.drain().is_empty(), "an empty message is refused without an error");

    h.session.end().await;
    let error = h.session.send("hello").await.unwrap_err();
    assert!(matches!(error, SessionError::Sender(TransportError::NotConnected)));
}

#[tokio::test(start_paused = true)]
async fn a_failed_stream_is_a_receiver_error() {
    let mut h = connected(Script::new()).await;
    h.controller.emit(transcription("s1", "seg", false));
    h.controller.emit(chunk("s1", "partial"));
    h.controller.emit(stream_failed("s1", "stream reset"));
    let names = h.until(|e| matches!(e, SessionEvent::ErrorChanged(Some(_)))).await;
    assert_eq!(names.last().unwrap(), "error:receiving failed: stream reset");
    assert_eq!(h.session.messages()[0].text, "partial", "what arrived is kept");
}

#[tokio::test(start_paused = true)]
async fn messages_survive_end_and_history_can_be_restored() {
    let mut h =
        connected(Script::new().agent_joins(ScriptedAgent::new("agent")).agent_says("Bye now"))
            .await;
    h.until(is_final_update).await;
    h.session.end().await;
    assert_eq!(h.session.connection_state(), ConnectionState::Disconnected);
    let history = h.session.messages();
    assert_eq!(history.len(), 1);

    let base = std::time::UNIX_EPOCH + Duration::from_secs(1_000);
    let restored = vec![
        ReceivedMessage::new(
            "late",
            base + Duration::from_secs(5),
            MessageKind::AgentTranscript,
            "agent",
            "second",
        ),
        ReceivedMessage::new("early", base, MessageKind::UserTranscript, "user", "first"),
    ];
    h.drain();
    h.session.restore_message_history(restored);
    assert_eq!(h.drain(), ["reset:2"]);
    let texts: Vec<_> = h.session.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["first", "second"]);
    h.session.start().await.unwrap();
    assert_eq!(h.session.messages().len(), 2, "a new start keeps the history");
}

#[tokio::test(start_paused = true)]
async fn a_script_can_fail_a_stream() {
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent"))
        .agent_stream_fails("cut", "stream reset");
    let mut h = connected(script).await;
    let names = h.until(|e| matches!(e, SessionEvent::ErrorChanged(Some(_)))).await;
    assert_eq!(names.last().unwrap(), "error:receiving failed: stream reset");
    assert_eq!(h.session.messages()[0].text, "cut");
}
