//! End to end on a real LiveKit server (`--features e2e`): a session on the LiveKit transport and
//! a fake agent made with the `livekit` crate.
//!
//! Runs only when `LIVEKIT_E2E_URL` is set, for example to `ws://localhost:7880` with
//! `livekit-server --dev` running; the API key and secret default to the dev server's
//! `devkey`/`secret` and can be set with `LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET`.

use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use livekit::{Room, RoomEvent, RoomOptions, StreamReader, StreamTextOptions, StreamWriter};
use livekit_api::access_token::{AccessToken, VideoGrants};
use session::{
    AGENT_STATE_ATTRIBUTE, AgentState, CHAT_TOPIC, ConnectionState, LiveKitTransport, MessageKind,
    SEGMENT_ID_ATTRIBUTE, Session, SessionEvents, SessionOptions, TRANSCRIPTION_TOPIC,
};
use token_source::{TokenRequestOptions, TokenSource};
use tokio::{
    sync::mpsc::UnboundedReceiver,
    time::{Instant, timeout, timeout_at},
};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(20);
const AGENT: &str = "e2e-agent";
const USER: &str = "e2e-user";

struct Server {
    url: String,
    api_key: String,
    api_secret: String,
}

impl Server {
    fn from_env() -> Option<Self> {
        let url = std::env::var("LIVEKIT_E2E_URL").ok().filter(|url| !url.is_empty())?;
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        Some(Self {
            url,
            api_key: var("LIVEKIT_API_KEY", "devkey"),
            api_secret: var("LIVEKIT_API_SECRET", "secret"),
        })
    }

    fn token(&self, room: &str, identity: &str, kind: Option<&str>) -> String {
        let grants = VideoGrants {
            room_join: true,
            room: room.into(),
            can_update_own_metadata: Some(true),
            ..Default::default()
        };
        let mut token = AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_identity(identity)
            .with_name(identity)
            .with_ttl(Duration::from_secs(600))
            .with_grants(grants);
        if let Some(kind) = kind {
            token = token.with_kind(kind);
        }
        token.to_jwt().expect("minting a token")
    }
}

/// `future`, or a panic naming `step` after [`STEP`].
async fn within<T>(step: &str, future: impl Future<Output = T>) -> T {
    timeout(STEP, future).await.unwrap_or_else(|_| panic!("timed out: {step}"))
}

/// Follows the session's events until `done` holds.
async fn until(events: &mut SessionEvents, step: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !done() {
        match timeout_at(deadline, events.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the session went away while waiting for: {step}"),
            Err(_) => panic!("timed out waiting for: {step}"),
        }
    }
}

/// The next room event `pick` accepts.
async fn next_room_event<T>(
    events: &mut UnboundedReceiver<RoomEvent>,
    step: &str,
    mut pick: impl FnMut(RoomEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + STEP;
    loop {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Ok(None) => panic!("the agent's room closed while waiting for: {step}"),
            Err(_) => panic!("timed out waiting for: {step}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_talks_to_an_agent_on_a_livekit_server() {
    let Some(server) = Server::from_env() else {
        eprintln!(
            "skipped: set LIVEKIT_E2E_URL (for example ws://localhost:7880 with `livekit-server \
             --dev`) to run the LiveKit end-to-end test"
        );
        return;
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    let room_name = format!("session-e2e-{nanos}");

    // The fake agent joins first and says it is listening.
    let agent_token = server.token(&room_name, AGENT, Some("agent"));
    let (agent, mut agent_events) = within(
        "the agent connects",
        Room::connect(&server.url, &agent_token, RoomOptions::default()),
    )
    .await
    .expect("the agent connects");
    let state = HashMap::from([(AGENT_STATE_ATTRIBUTE.to_owned(), "listening".to_owned())]);
    within("the agent sets its state", agent.local_participant().set_attributes(state))
        .await
        .expect("the agent sets its state");

    // The session joins and sees the agent listening.
    let user_token = server.token(&room_name, USER, None);
    let session = Session::with_options(
        TokenSource::literal(&server.url, user_token),
        TokenRequestOptions::new(),
        SessionOptions::new()
            .with_transport(LiveKitTransport::default())
            .with_microphone_enabled(false),
    );
    let mut events = session.subscribe();
    within("the session starts", session.start()).await.expect("the session starts");
    assert_eq!(session.connection_state(), ConnectionState::Connected);
    until(&mut events, "the agent listening", || session.agent().state == AgentState::Listening)
        .await;
    assert_eq!(session.agent().identity.as_deref(), Some(AGENT));
    next_room_event(&mut agent_events, "the user joining", |event| match event {
        RoomEvent::ParticipantConnected(participant) if participant.identity().as_str() == USER => {
            Some(())
        }
        _ => None,
    })
    .await;

    // The agent streams a transcription in two chunks: one message, final once the stream closes.
    let options = StreamTextOptions::new_with_topic(TRANSCRIPTION_TOPIC)
        .with_attribute(SEGMENT_ID_ATTRIBUTE, "segment-1");
    let writer = within("the agent opens a stream", agent.local_participant().stream_text(options))
        .await
        .expect("the agent opens a stream");
    within("the first chunk", writer.write("Hello")).await.expect("the first chunk");
    let transcript = |session: &Session| {
        session.messages().into_iter().filter(|m| m.kind == MessageKind::AgentTranscript).collect()
    };
    until(&mut events, "the first chunk", || {
        let messages: Vec<_> = transcript(&session);
        messages.len() == 1 && messages[0].text == "Hello"
    })
    .await;
    within("the second chunk", writer.write(" there!")).await.expect("the second chunk");
    within("the stream closes", writer.close()).await.expect("the stream closes");
    until(&mut events, "the final transcript", || {
        let messages: Vec<_> = transcript(&session);
        messages.len() == 1 && messages[0].is_final
    })
    .await;
    let messages: Vec<_> = transcript(&session);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].id, "segment-1");
    assert_eq!(messages[0].text, "Hello there!");
    assert_eq!(messages[0].sender_identity, AGENT);

    // The session sends chat and the agent receives it on lk.chat.
    let sent = within("sending chat", session.send("hi agent")).await.expect("sending chat");
    assert_eq!(sent.kind, MessageKind::SentChat);
    let (reader, sender) =
        next_room_event(&mut agent_events, "the chat stream", |event| match event {
            RoomEvent::TextStreamOpened { reader, topic, participant_identity }
                if topic == CHAT_TOPIC =>
            {
                Some((reader.take().expect("an untaken reader"), participant_identity))
            }
            _ => None,
        })
        .await;
    assert_eq!(sender.as_str(), USER);
    assert_eq!(reader.info().id, sent.id, "the sent message's id is the stream id");
    let text = within("reading the chat", reader.read_all()).await.expect("reading the chat");
    assert_eq!(text, "hi agent");

    // `end` leaves the room.
    within("the session ends", session.end()).await;
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    next_room_event(&mut agent_events, "the user leaving", |event| match event {
        RoomEvent::ParticipantDisconnected(participant)
            if participant.identity().as_str() == USER =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(session.messages().len(), 2, "end keeps the messages");
    within("the agent leaves", agent.close()).await.expect("the agent leaves");
}
