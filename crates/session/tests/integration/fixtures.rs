//! Replays every recorded or hand-written room trace under `tests/fixtures/` through the
//! translation layer and the session core, on paused time, and checks what a person would
//! check (the fixture's `expect` lines).
//!
//! A fixture is JSON lines: a header (`fixture`, `sdk`, `sdk_version`, `source`, `scenario`,
//! `session`), then `{"t_ms": N, "fact": {...}}` (a [`RoomFact`], `t_ms` after the connect
//! started), `{"t_ms": N, "action": {"type": "send", "text": ...}}`, `{"type": "end"}` (what
//! the app did) or `{"type": "wait"}` (how long the room was observed), and `{"expect": {...}}` lines. The format is documented in
//! docs/session.md ("Replayable traces").

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use session::{
    AGENT_LEAVE_GRACE, FactSink, MessageKind, RoomFact, Session, SessionEvent, SessionOptions,
    Transport, TransportError, TransportLink,
};
use token_source::{TokenRequestOptions, TokenSource};
use tokio::{task::JoinHandle, time::Instant};

use crate::support::{URL, token};

#[derive(Debug, Deserialize)]
struct Header {
    fixture: u32,
    sdk: String,
    sdk_version: String,
    source: String,
    scenario: String,
    #[serde(default)]
    session: SessionSetup,
}

#[derive(Debug, Default, Deserialize)]
struct SessionSetup {
    #[serde(default)]
    dispatches_agent: bool,
    #[serde(default)]
    agent_connect_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Action {
    Send {
        text: String,
    },
    End,
    /// Nothing: the trace was observed until this time.
    Wait,
}

#[derive(Debug)]
struct Fixture {
    path: PathBuf,
    header: Header,
    facts: Vec<(u64, RoomFact)>,
    actions: Vec<(u64, Action)>,
    expectations: Vec<serde_json::Map<String, Value>>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(path: &Path) -> Fixture {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header: Header = serde_json::from_str(lines.next().expect("a header line"))
        .unwrap_or_else(|e| panic!("{}: header: {e}", path.display()));
    assert_eq!(header.fixture, 1, "{}: fixture format version", path.display());
    let (mut facts, mut actions, mut expectations) = (Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
        let t = value.get("t_ms").and_then(Value::as_u64).unwrap_or(0);
        if let Some(fact) = value.get("fact") {
            let fact = serde_json::from_value(fact.clone())
                .unwrap_or_else(|e| panic!("{}: fact {e}: {line}", path.display()));
            facts.push((t, fact));
        } else if let Some(action) = value.get("action") {
            let action = serde_json::from_value(action.clone())
                .unwrap_or_else(|e| panic!("{}: action {e}: {line}", path.display()));
            actions.push((t, action));
        } else if let Some(Value::Object(expect)) = value.get("expect") {
            expectations.push(expect.clone());
        } else {
            panic!("{}: a line that is no fact, action or expectation: {line}", path.display());
        }
    }
    assert!(
        matches!(facts.first(), Some((_, RoomFact::Connected { .. }))),
        "{}: the first fact is `connected`",
        path.display()
    );
    assert!(!expectations.is_empty(), "{}: a fixture checks something", path.display());
    Fixture { path: path.to_owned(), header, facts, actions, expectations }
}

/// Plays a fixture's facts at their times.
struct ReplayTransport {
    facts: Vec<(u64, RoomFact)>,
    player: Mutex<Option<JoinHandle<()>>>,
}

struct ReplayLink;

#[async_trait]
impl TransportLink for ReplayLink {
    async fn send_text(&self, _topic: &str, text: &str) -> Result<String, TransportError> {
        Ok(format!("sent-{}", text.len()))
    }
    async fn set_microphone_enabled(&self, _enabled: bool) -> Result<(), TransportError> {
        Ok(())
    }
    async fn disconnect(&self) {}
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn connect(
        &self,
        _url: &str,
        _token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        let start = Instant::now();
        let mut facts = self.facts.clone().into_iter();
        // The snapshot is reported before connect returns.
        if let Some((_, first)) = facts.next() {
            sink.push(first);
        }
        let task = tokio::spawn(async move {
            for (t, fact) in facts {
                tokio::time::sleep_until(start + Duration::from_millis(t)).await;
                sink.push(fact);
            }
            // The trace ends here; the connection stays open.
            std::future::pending::<()>().await;
        });
        if let Some(old) = self.player.lock().unwrap().replace(task) {
            old.abort();
        }
        Ok(Arc::new(ReplayLink))
    }
}

impl Drop for ReplayTransport {
    fn drop(&mut self) {
        if let Some(task) = self.player.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// What the session did during a replay.
#[derive(Default)]
struct Observed {
    agent_states: Vec<String>,
    agent_identities: Vec<String>,
}

async fn replay(fixture: &Fixture) -> (Session, Observed) {
    let setup = &fixture.header.session;
    let agent = setup.dispatches_agent.then_some("fixture-agent");
    let mut options = SessionOptions::new().with_microphone_enabled(false);
    if let Some(ms) = setup.agent_connect_timeout_ms {
        options = options.with_agent_connect_timeout(Duration::from_millis(ms));
    }
    let transport = ReplayTransport { facts: fixture.facts.clone(), player: Mutex::new(None) };
    let session = Session::with_options(
        TokenSource::literal(URL, token("user", agent)),
        TokenRequestOptions::new(),
        options.with_transport(transport),
    );
    let mut events = session.subscribe();
    let start = Instant::now();
    session.start().await.unwrap_or_else(|e| panic!("{}: start: {e}", fixture.path.display()));
    for (t, action) in &fixture.actions {
        tokio::time::sleep_until(start + Duration::from_millis(*t)).await;
        match action {
            Action::Send { text } => {
                session.send(text).await.unwrap_or_else(|e| panic!("send: {e}"));
            }
            Action::End => session.end().await,
            Action::Wait => {}
        }
    }
    // Let the trace play out, and every grace and timeout after it.
    let last = fixture.facts.iter().map(|(t, _)| *t).max().unwrap_or(0);
    let timeout = setup.agent_connect_timeout_ms.unwrap_or(20_000);
    tokio::time::sleep_until(start + Duration::from_millis(last + timeout) + AGENT_LEAVE_GRACE * 2)
        .await;
    let mut observed = Observed::default();
    while let Some(event) = events.try_next() {
        if let SessionEvent::AgentChanged(agent) = event {
            observed.agent_states.push(agent.state.to_string());
            if let Some(identity) = agent.identity {
                observed.agent_identities.push(identity);
            }
        }
    }
    (session, observed)
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::AgentTranscript => "agent_transcript",
        MessageKind::UserTranscript => "user_transcript",
        MessageKind::SentChat => "sent_chat",
        MessageKind::ReceivedChat => "chat",
        _ => "other",
    }
}

/// Checks one expectation; `Err` says what is wrong.
fn check(session: &Session, observed: &Observed, key: &str, value: &Value) -> Result<(), String> {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    match key {
        "connection_state" => {
            let state = session.connection_state().to_string();
            (state == text(value)).then_some(()).ok_or(format!("connection state is {state}"))
        }
        "agent_state" => {
            let state = session.agent().state.to_string();
            (state == text(value)).then_some(()).ok_or(format!("agent state is {state}"))
        }
        "agent_states_seen" => {
            let wanted: Vec<String> = value.as_array().ok_or("a list")?.iter().map(text).collect();
            let mut seen = observed.agent_states.iter();
            for state in &wanted {
                if !seen.any(|s| s == state) {
                    return Err(format!(
                        "{wanted:?} not seen in order in {:?}",
                        observed.agent_states
                    ));
                }
            }
            Ok(())
        }
        "agent_never" => {
            let never = text(value);
            match observed.agent_states.iter().find(|s| s.starts_with(&never)) {
                Some(state) => Err(format!("the agent was {state}: {:?}", observed.agent_states)),
                None => Ok(()),
            }
        }
        "agent_identity_stable" => {
            let mut identities = observed.agent_identities.clone();
            identities.dedup();
            (identities.len() <= 1).then_some(()).ok_or(format!("agents {identities:?}"))
        }
        "message_count" => {
            let count = session.messages().len() as u64;
            (Some(count) == value.as_u64()).then_some(()).ok_or(format!("{count} messages"))
        }
        "message" => {
            let index = value.get("index").and_then(Value::as_u64).ok_or("an index")? as usize;
            let messages = session.messages();
            let message = messages.get(index).ok_or(format!("no message {index}: {messages:?}"))?;
            if let Some(kind) = value.get("kind").map(text)
                && kind != kind_name(message.kind)
            {
                return Err(format!("message {index} is {:?}", message.kind));
            }
            if let Some(part) = value.get("text_contains").map(text)
                && !message.text.contains(&part)
            {
                return Err(format!("message {index} says {:?}", message.text));
            }
            if let Some(whole) = value.get("text").map(text)
                && message.text != whole
            {
                return Err(format!("message {index} says {:?}", message.text));
            }
            if let Some(is_final) = value.get("final").and_then(Value::as_bool)
                && message.is_final != is_final
            {
                return Err(format!("message {index} final: {}", message.is_final));
            }
            Ok(())
        }
        "error" if value.is_null() => match session.error() {
            None => Ok(()),
            Some(error) => Err(format!("error: {error}")),
        },
        "error_contains" => match session.error() {
            Some(error) if error.to_string().contains(&text(value)) => Ok(()),
            other => Err(format!("error: {other:?}")),
        },
        "disconnect_reason_contains" => match session.disconnect_reason() {
            Some(reason) if reason.to_string().contains(&text(value)) => Ok(()),
            other => Err(format!("disconnect reason: {other:?}")),
        },
        other => Err(format!("unknown expectation {other:?}")),
    }
}

fn all_fixtures() -> Vec<Fixture> {
    let mut paths: Vec<_> = fs::read_dir(fixtures_dir())
        .expect("tests/fixtures")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths.iter().map(|path| load(path)).collect()
}

#[tokio::test(start_paused = true)]
async fn every_fixture_replays_as_expected() {
    let fixtures = all_fixtures();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let (session, observed) = replay(fixture).await;
        for expectation in &fixture.expectations {
            for (key, value) in expectation {
                if let Err(problem) = check(&session, &observed, key, value) {
                    failures.push(format!(
                        "{} ({} {}, {}): {key} = {value}: {problem}",
                        fixture.path.file_name().unwrap().to_string_lossy(),
                        fixture.header.sdk,
                        fixture.header.sdk_version,
                        fixture.header.source,
                    ));
                }
            }
        }
        session.end().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The hand-written fixtures cover the room-layer findings 1–6 (issue 8), each derived from
/// the livekit 0.10 source they cite.
#[test]
fn the_room_layer_findings_have_fixtures() {
    let scenarios: BTreeMap<String, String> =
        all_fixtures().into_iter().map(|f| (f.header.scenario.clone(), f.header.source)).collect();
    for scenario in [
        "full-reconnect",
        "agent-leaves-during-reconnect",
        "user-transcript-failure",
        "fast-attribute-change",
        "room-move",
        "room-deleted",
    ] {
        assert!(scenarios.contains_key(scenario), "no fixture for {scenario}: {scenarios:?}");
    }
}

/// A fixture that expects the wrong thing fails: the replay checks, it does not rubber-stamp.
#[tokio::test(start_paused = true)]
async fn a_wrong_expectation_fails() {
    let path = fixtures_dir().join("livekit-rust-0.10-full-reconnect.jsonl");
    let fixture = load(&path);
    let (session, observed) = replay(&fixture).await;
    assert!(check(&session, &observed, "agent_state", &Value::from("speaking")).is_err());
    assert!(check(&session, &observed, "agent_never", &Value::from("listening")).is_err());
    assert!(check(&session, &observed, "no_such_check", &Value::Null).is_err());
}

/// What the session must say after a step.
type Check = Box<dyn Fn(&Session) -> bool>;

/// A transport whose facts the test pushes one at a time (the first on connect).
struct ManualTransport {
    first: RoomFact,
    sink: Arc<Mutex<Option<FactSink>>>,
}

#[async_trait]
impl Transport for ManualTransport {
    async fn connect(
        &self,
        _url: &str,
        _token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        sink.push(self.first.clone());
        *self.sink.lock().unwrap() = Some(sink);
        Ok(Arc::new(ReplayLink))
    }
}

/// The recorded `tracks` scenario (an avatar worker publishing on behalf of the agent a
/// microphone and a camera, muting, unmuting, unpublishing them on the real server), fact by
/// fact: after each of the avatar's track facts the session's track model says the same.
#[tokio::test(start_paused = true)]
async fn the_real_track_facts_drive_the_agent_tracks_step_by_step() {
    let fixture = load(&fixtures_dir().join("real-tracks.jsonl"));
    let sink = Arc::new(Mutex::new(None));
    let transport = ManualTransport { first: fixture.facts[0].1.clone(), sink: Arc::clone(&sink) };
    let session = Session::with_options(
        TokenSource::literal(URL, token("user", Some("fixture-agent"))),
        TokenRequestOptions::new(),
        SessionOptions::new().with_microphone_enabled(false).with_transport(transport),
    );
    let mut events = session.subscribe();
    session.start().await.expect("start");
    let sink = sink.lock().unwrap().take().expect("connected");
    let avatar = |fact: &RoomFact| match fact {
        RoomFact::ParticipantJoined { participant } => Some(participant.identity.clone()),
        _ => None,
    };
    let avatar =
        fixture.facts.iter().filter_map(|(_, f)| avatar(f)).find(|i| i.starts_with("avatar-"));
    let avatar = avatar.expect("the avatar joins in the recording");
    let mut steps = 0;
    for (_, fact) in &fixture.facts[1..] {
        assert!(sink.push(fact.clone()), "the session takes the fact");
        // What the model must say once it has taken this fact (None: not an avatar track step).
        let want: Option<Check> = match fact {
            RoomFact::TrackPublished { identity, track } if *identity == avatar => {
                let (sid, kind) = (track.sid.clone(), track.kind.clone());
                Some(Box::new(move |s: &Session| {
                    let agent = s.agent();
                    let mine = if kind == "AUDIO" { agent.audio_track } else { agent.video_track };
                    mine.is_some_and(|t| t.sid == sid && !t.muted)
                }))
            }
            RoomFact::TrackMuted { identity, sid } | RoomFact::TrackUnmuted { identity, sid }
                if *identity == avatar =>
            {
                let (sid, muted) = (sid.clone(), matches!(fact, RoomFact::TrackMuted { .. }));
                Some(Box::new(move |s: &Session| {
                    let agent = s.agent();
                    [agent.audio_track, agent.video_track]
                        .into_iter()
                        .flatten()
                        .any(|t| t.sid == sid && t.muted == muted)
                }))
            }
            RoomFact::TrackUnpublished { identity, sid } if *identity == avatar => {
                let sid = sid.clone();
                Some(Box::new(move |s: &Session| {
                    let agent = s.agent();
                    s.tracks(&[], false).iter().all(|t| t.sid != sid)
                        && [agent.audio_track, agent.video_track]
                            .into_iter()
                            .flatten()
                            .all(|t| t.sid != sid)
                }))
            }
            _ => None,
        };
        if let Some(holds) = want {
            steps += 1;
            let deadline = Instant::now() + Duration::from_secs(1);
            while !holds(&session) {
                match tokio::time::timeout_at(deadline, events.next()).await {
                    Ok(Some(_)) => {}
                    _ => panic!("the model does not follow {fact:?}: {:?}", session.agent()),
                }
            }
        }
    }
    assert_eq!(steps, 8, "two tracks published, muted, unmuted, unpublished");
    let agent = session.agent();
    assert!(agent.audio_track.is_none() && agent.video_track.is_none(), "{agent:?}");
    session.end().await;
}
