//! Test helpers: tokens, sessions on a scripted transport, event collection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use livekit_api::access_token::{AccessToken, VideoGrants};
use session::{
    AgentState, ConnectionState, RoomFact, Script, ScriptController, ScriptedTransport, Session,
    SessionEvent, SessionEvents, SessionOptions,
};
use token_source::{TokenRequestOptions, TokenSource, TokenSourceResponse};

pub(crate) const URL: &str = "wss://scripted.livekit.invalid";

/// A real LiveKit token for `room`; with `agent`, its room config dispatches that agent.
pub(crate) fn token(identity: &str, agent: Option<&str>) -> String {
    let mut token = AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_ttl(Duration::from_secs(3600))
        .with_grants(VideoGrants { room_join: true, room: "room".into(), ..Default::default() });
    if let Some(agent) = agent {
        token = token.with_room_config(livekit_protocol::RoomConfiguration {
            agents: vec![livekit_protocol::RoomAgentDispatch {
                agent_name: agent.into(),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    token.to_jwt().expect("minting a token")
}

/// A literal source with a real token that dispatches no agent.
pub(crate) fn literal() -> TokenSource {
    TokenSource::literal(URL, token("user", None))
}

/// A custom (cached) token source that counts its calls and mints a fresh token each time.
pub(crate) fn counting_source(agent: Option<&'static str>) -> (TokenSource, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let source = TokenSource::custom(move |_: TokenRequestOptions| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok(TokenSourceResponse::new(URL, token(&format!("user-{n}"), agent))) }
    });
    (source, calls)
}

/// A session on `script`, its controller and its event stream.
pub(crate) struct Harness {
    pub(crate) session: Session,
    pub(crate) controller: ScriptController,
    pub(crate) events: SessionEvents,
}

pub(crate) fn harness(script: Script, source: TokenSource) -> Harness {
    harness_with(script, source, SessionOptions::new())
}

pub(crate) fn harness_with(
    script: Script,
    source: TokenSource,
    options: SessionOptions,
) -> Harness {
    let transport = ScriptedTransport::new(script);
    let controller = transport.controller();
    let session = Session::with_options(
        source,
        TokenRequestOptions::new(),
        options.with_transport(transport),
    );
    let mut events = session.subscribe();
    // Skip the snapshot every subscription starts with.
    for _ in 0..5 {
        events.try_next().expect("snapshot event");
    }
    Harness { session, controller, events }
}

/// A short name for an event, for comparing sequences.
pub(crate) fn name(event: &SessionEvent) -> String {
    match event {
        SessionEvent::ConnectionStateChanged(state) => format!("state:{state}"),
        SessionEvent::AgentChanged(agent) => format!("agent:{}", agent.state),
        SessionEvent::ErrorChanged(Some(error)) => format!("error:{error}"),
        SessionEvent::ErrorChanged(None) => "error:none".into(),
        SessionEvent::Disconnected(reason) => format!("disconnected:{reason}"),
        SessionEvent::MessageInserted { index, message } => {
            format!("added:{index}:{}", message.text)
        }
        SessionEvent::MessageReplaced { index, message } => {
            format!(
                "updated:{index}:{}{}",
                message.text,
                if message.is_final { ":final" } else { "" }
            )
        }
        SessionEvent::MessagesReset(messages) => format!("reset:{}", messages.len()),
        SessionEvent::TrackInserted { index, track } => {
            format!("track+:{index}:{}:{}", track.participant_identity, track.sid)
        }
        SessionEvent::TrackReplaced { index, track } => format!(
            "track~:{index}:{}{}{}",
            track.sid,
            if track.muted { ":muted" } else { "" },
            if track.subscribed { ":subscribed" } else { "" }
        ),
        SessionEvent::TrackRemoved { index } => format!("track-:{index}"),
        SessionEvent::TracksReset(tracks) => format!("tracks:{}", tracks.len()),
        other => format!("{other:?}"),
    }
}

/// Whether `event` is a track operation (the sequence helpers below leave them out: the track
/// tests follow them on their own, with [`SessionEvent::apply_to_tracks`]).
pub(crate) fn is_track_event(event: &SessionEvent) -> bool {
    matches!(
        event,
        SessionEvent::TrackInserted { .. }
            | SessionEvent::TrackReplaced { .. }
            | SessionEvent::TrackRemoved { .. }
            | SessionEvent::TracksReset(_)
    )
}

impl Harness {
    /// The events queued so far, as names (track operations left out).
    pub(crate) fn drain(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(event) = self.events.try_next() {
            if !is_track_event(&event) {
                names.push(name(&event));
            }
        }
        names
    }

    /// Waits (in paused time) until the agent is in `state`; returns the event names seen.
    pub(crate) async fn until_agent(&mut self, state: AgentState) -> Vec<String> {
        self.until(
            |event| matches!(event, SessionEvent::AgentChanged(agent) if agent.state == state),
        )
        .await
    }

    /// Waits until the connection is in `state`.
    pub(crate) async fn until_state(&mut self, state: ConnectionState) -> Vec<String> {
        self.until(|event| matches!(event, SessionEvent::ConnectionStateChanged(s) if *s == state))
            .await
    }

    /// Waits for an event matching `done`; returns the names of every event up to it (track
    /// operations left out).
    pub(crate) async fn until(&mut self, done: impl Fn(&SessionEvent) -> bool) -> Vec<String> {
        let mut names = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(3600), self.events.next())
                .await
                .expect("the awaited event never came")
                .expect("the session is alive");
            if !is_track_event(&event) {
                names.push(name(&event));
            }
            if done(&event) {
                return names;
            }
        }
    }
}

/// A text stream opening, from `sender`, with header attributes.
pub(crate) fn opened(id: &str, topic: &str, sender: &str, attributes: &[(&str, &str)]) -> RoomFact {
    RoomFact::StreamOpened {
        stream_id: id.into(),
        topic: topic.into(),
        sender_identity: sender.into(),
        participant_identity: String::new(),
        attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

/// A chunk of an open stream.
pub(crate) fn chunk(stream: &str, text: &str) -> RoomFact {
    RoomFact::StreamChunk { stream_id: stream.into(), text: text.into() }
}

/// A stream ending normally.
pub(crate) fn close(stream: &str) -> RoomFact {
    RoomFact::StreamClosed { stream_id: stream.into(), attributes: Default::default(), error: None }
}

/// A stream failing with `error`.
pub(crate) fn stream_failed(stream: &str, error: &str) -> RoomFact {
    RoomFact::StreamClosed {
        stream_id: stream.into(),
        attributes: Default::default(),
        error: Some(error.into()),
    }
}
