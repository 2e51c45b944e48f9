//! End to end on a real LiveKit (`--features e2e`): the scenarios of `e2e/scenarios.json` — the
//! same list, in the same order, as the Python harness (`e2e/harness/scenarios.py`; the test
//! `scenario_list` checks both) — with the session on the native LiveKit transport.
//!
//! It runs against the environment `scripts/e2e` starts (livekit-server, our token server, the
//! echo agent worker), only when `LIVEKIT_E2E_URL` is set (e.g. `ws://127.0.0.1:7880`); the
//! token endpoint is `E2E_TOKEN_URL` (default `http://127.0.0.1:8080/token`), the agent
//! `E2E_AGENT_NAME` (default `echo-agent`), the server API keys `LIVEKIT_API_KEY` /
//! `LIVEKIT_API_SECRET` (default the dev server's `devkey` / `secret`). `E2E_SCENARIOS` (ids,
//! comma-separated) runs only those. On this machine it is only type-checked: the `livekit`
//! crate cannot be linked (libwebrtc is downloaded from GitHub); see docs/e2e.md.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use livekit::{
    Room, RoomOptions,
    options::TrackPublishOptions,
    track::{LocalAudioTrack, LocalTrack, LocalVideoTrack, TrackSource as LkTrackSource},
    webrtc::{
        audio_source::{AudioSourceOptions, RtcAudioSource, native::NativeAudioSource},
        video_source::{RtcVideoSource, VideoResolution, native::NativeVideoSource},
    },
};
use livekit_api::access_token::{AccessToken, VideoGrants};
use session::{
    AGENT_LEAVE_GRACE, AgentFailure, AgentState, ConnectionError, ConnectionState,
    DisconnectReason, LiveKitTransport, MessageKind, PUBLISH_ON_BEHALF_ATTRIBUTE, Session,
    SessionError, SessionEvents, SessionOptions, TrackSource,
};
use token_source::{CacheEvent, Subscription, TokenRequestOptions, TokenSource};
use tokio::time::{Instant, timeout, timeout_at};

/// How long any one step may take (reached only on failure).
const STEP: Duration = Duration::from_secs(20);
/// The agent timeout of every session (short: `missing-agent` waits for it).
const AGENT_TIMEOUT: Duration = Duration::from_secs(3);
const SAW_USER: &str = "e2e.saw_user";

#[derive(Clone)]
struct Env {
    url: String,
    api_url: String,
    token_url: String,
    agent_name: String,
    api_key: String,
    api_secret: String,
}

impl Env {
    fn from_env() -> Option<Self> {
        let url = std::env::var("LIVEKIT_E2E_URL").ok().filter(|url| !url.is_empty())?;
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        Some(Self {
            api_url: url.replacen("ws", "http", 1),
            url,
            token_url: var("E2E_TOKEN_URL", "http://127.0.0.1:8080/token"),
            agent_name: var("E2E_AGENT_NAME", "echo-agent"),
            api_key: var("LIVEKIT_API_KEY", "devkey"),
            api_secret: var("LIVEKIT_API_SECRET", "secret"),
        })
    }

    /// A server API call (Twirp, JSON) with an admin token for `room`.
    async fn room_service(&self, method: &str, room: &str, body: serde_json::Value) {
        let grants = VideoGrants {
            room_admin: true,
            room_create: true,
            room: room.into(),
            ..Default::default()
        };
        let token = AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_grants(grants)
            .to_jwt()
            .expect("an admin token");
        let response = within(
            method,
            token_source::reqwest::Client::new()
                .post(format!("{}/twirp/livekit.RoomService/{method}", self.api_url))
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send(),
        )
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert!(response.status().is_success(), "{method}: {}", response.status());
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    format!("{prefix}-{nanos}")
}

/// `future`, or a panic naming `step` after [`STEP`].
async fn within<T>(step: &str, future: impl Future<Output = T>) -> T {
    timeout(STEP, future).await.unwrap_or_else(|_| panic!("timed out: {step}"))
}

/// One session of ours on the LiveKit transport, with our token endpoint (cached).
struct Client {
    session: Session,
    /// A clone of the session's transport (clones share the current connection).
    transport: LiveKitTransport,
    events: SessionEvents,
    tokens: TokenSource,
    fetches: Arc<AtomicUsize>,
    _cache: Subscription,
    agent_states: Vec<AgentState>,
}

impl Client {
    fn new(env: &Env, request: TokenRequestOptions, microphone: bool) -> Self {
        Self::with_endpoint(&env.token_url, request, microphone)
    }

    fn with_endpoint(url: &str, request: TokenRequestOptions, microphone: bool) -> Self {
        let tokens = TokenSource::endpoint(url);
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetches);
        let cache = tokens.subscribe(move |event| {
            if matches!(event, CacheEvent::Miss { .. }) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let transport = LiveKitTransport::default();
        let session = Session::with_options(
            tokens.clone(),
            request,
            SessionOptions::new()
                .with_transport(transport.clone())
                .with_agent_connect_timeout(AGENT_TIMEOUT)
                .with_microphone_enabled(microphone),
        );
        let events = session.subscribe();
        Self {
            session,
            transport,
            events,
            tokens,
            fetches,
            _cache: cache,
            agent_states: Vec::new(),
        }
    }

    fn request(env: &Env, room: Option<String>) -> TokenRequestOptions {
        let request = TokenRequestOptions::new().with_agent_name(&env.agent_name);
        match room {
            Some(room) => request.with_room_name(room),
            None => request,
        }
    }

    async fn start(&mut self) {
        within("start", self.session.start()).await.expect("start");
        assert_eq!(self.session.connection_state(), ConnectionState::Connected);
    }

    /// Follows the session's events (recording agent states) until `done` holds, bounded.
    async fn until(&mut self, step: &str, done: impl Fn(&Session) -> bool) {
        self.until_within(step, STEP, done).await;
    }

    async fn until_within(&mut self, step: &str, bound: Duration, done: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + bound;
        while !done(&self.session) {
            match timeout_at(deadline, self.events.next()).await {
                Ok(Some(session::SessionEvent::AgentChanged(agent))) => {
                    self.agent_states.push(agent.state);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("the session went away while waiting for: {step}"),
                Err(_) => panic!("timed out waiting for: {step}"),
            }
        }
    }

    /// Observes for `duration`; panics if `bad` holds at any event.
    async fn never(&mut self, what: &str, duration: Duration, bad: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + duration;
        loop {
            assert!(!bad(&self.session), "unexpected {what}");
            match timeout_at(deadline, self.events.next()).await {
                Ok(Some(session::SessionEvent::AgentChanged(agent))) => {
                    self.agent_states.push(agent.state);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
    }

    async fn listening(&mut self) {
        self.until("the agent listening", |s| s.agent().state == AgentState::Listening).await;
    }

    /// Sends `text`; waits for the agent's final reply (message 1) and listening again.
    async fn chat(&mut self, text: &str) -> session::ReceivedMessage {
        let sent = within("send", self.session.send(text)).await.expect("send");
        assert_eq!((sent.kind, sent.text.as_str()), (MessageKind::SentChat, text));
        let final_reply = |s: &Session| {
            s.messages()
                .get(1)
                .is_some_and(|m| m.kind == MessageKind::AgentTranscript && m.is_final)
        };
        self.until("the final reply", final_reply).await;
        self.listening().await;
        let messages = self.session.messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0].text, text, "order kept");
        messages[1].clone()
    }

    fn saw(&self, state: AgentState) -> bool {
        self.agent_states.contains(&state)
    }

    fn room(&self) -> String {
        self.session.room_name()
    }
}

type Run = fn(Env) -> Pin<Box<dyn Future<Output = ()> + Send>>;
type Scenario = (&'static str, Run);

/// `e2e/scenarios.json`, in order (checked by `scenario_list`).
const SCENARIOS: &[Scenario] = &[
    ("agent-joins", |env| Box::pin(agent_joins(env))),
    ("chat-echo", |env| Box::pin(chat_echo(env))),
    ("user-attributes", |env| Box::pin(user_attributes(env))),
    ("end", |env| Box::pin(end(env))),
    ("start-again", |env| Box::pin(start_again(env))),
    ("missing-agent", |env| Box::pin(missing_agent(env))),
    ("agent-removed", |env| Box::pin(agent_removed(env))),
    ("room-deleted", |env| Box::pin(room_deleted(env))),
    ("signal-reconnect", |env| Box::pin(signal_reconnect(env))),
    ("full-reconnect", |env| Box::pin(full_reconnect(env))),
    ("invalid-token", |env| Box::pin(invalid_token(env))),
    ("token-endpoint-unreachable", |env| Box::pin(token_endpoint_unreachable(env))),
    ("load", |env| Box::pin(load(env))),
    ("tracks", |env| Box::pin(tracks(env))),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_e2e_scenarios_on_the_livekit_transport() {
    let Some(env) = Env::from_env() else {
        eprintln!(
            "skipped: set LIVEKIT_E2E_URL (scripts/e2e's environment) to run the e2e scenarios"
        );
        return;
    };
    let only = std::env::var("E2E_SCENARIOS").unwrap_or_default();
    let only: Vec<&str> = only.split(',').filter(|id| !id.is_empty()).collect();
    for (id, run) in SCENARIOS {
        if only.is_empty() || only.contains(id) {
            eprintln!("scenario {id}");
            run(env.clone()).await;
        }
    }
}

async fn agent_joins(env: Env) {
    let mut client =
        Client::new(&env, Client::request(&env, Some(unique("e2e-agent-joins"))), true);
    client.start().await;
    client.listening().await;
    client.until("our microphone", |s| s.microphone_track().is_some()).await;
    assert_eq!(client.fetches.load(Ordering::SeqCst), 1);
    assert!(client.session.messages().is_empty());
    assert!(client.session.error().is_none());
    client.session.end().await;
}

async fn chat_echo(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-chat"))), false);
    client.start().await;
    client.listening().await;
    let reply = client.chat("hello from the e2e harness").await;
    assert_eq!(reply.text, "echo: hello from the e2e harness");
    assert!(client.saw(AgentState::Thinking) && client.saw(AgentState::Speaking));
    assert!(!client.agent_states.iter().any(|s| matches!(s, AgentState::Failed(_))));
    client.session.end().await;
}

async fn user_attributes(env: Env) {
    let identity = unique("alice");
    let request = Client::request(&env, Some(unique("e2e-attributes")))
        .with_participant_identity(&identity)
        .with_participant_name("Alice E2E")
        .with_participant_metadata(r#"{"plan": "pro"}"#)
        .with_participant_attributes([("tier", "gold"), ("locale", "fr-CH")]);
    let mut client = Client::new(&env, request, false);
    client.start().await;
    client.listening().await;
    client.until("e2e.saw_user", |s| s.agent().attributes.contains_key(SAW_USER)).await;
    let saw: serde_json::Value =
        serde_json::from_str(&client.session.agent().attributes[SAW_USER]).expect("JSON");
    assert_eq!(saw["identity"], identity.as_str());
    assert_eq!(saw["name"], "Alice E2E");
    assert_eq!(saw["metadata"], r#"{"plan": "pro"}"#);
    assert_eq!(saw["attributes"]["tier"], "gold");
    let reply = client.chat("/whoami").await;
    assert!(reply.text.contains(r#""tier": "gold""#), "{}", reply.text);
    client.session.end().await;
}

async fn end(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-end"))), false);
    client.start().await;
    client.listening().await;
    client.chat("goodbye soon").await;
    within("end", client.session.end()).await;
    assert_eq!(client.session.connection_state(), ConnectionState::Disconnected);
    assert_eq!(client.session.agent().state, AgentState::Disconnected);
    assert_eq!(client.session.disconnect_reason(), Some(DisconnectReason::ClientInitiated));
    assert_eq!(client.session.messages().len(), 2, "end keeps the messages");
    assert!(client.session.error().is_none());
}

async fn start_again(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, None), false);
    client.start().await;
    client.listening().await;
    let (agent, room) = (client.session.agent().identity, client.room());
    let identity = client.tokens.cached_response().and_then(|r| r.claims().ok()?.identity);
    client.session.end().await;
    client.start().await;
    client.listening().await;
    assert_eq!(client.fetches.load(Ordering::SeqCst), 2, "a refetch, not the cached token");
    let again = client.tokens.cached_response().and_then(|r| r.claims().ok()?.identity);
    assert_ne!(again, identity);
    assert_ne!(client.room(), room);
    assert_ne!(client.session.agent().identity, agent, "a newly dispatched agent");
    client.session.end().await;
}

async fn missing_agent(env: Env) {
    let request =
        Client::request(&env, Some(unique("e2e-missing"))).with_agent_name(unique("no-such-agent"));
    let mut client = Client::new(&env, request, false);
    client.start().await;
    let started = Instant::now();
    client
        .until("failed (timeout)", |s| s.agent().state == AgentState::Failed(AgentFailure::Timeout))
        .await;
    assert!(started.elapsed() + Duration::from_millis(500) >= AGENT_TIMEOUT);
    assert!(!client.saw(AgentState::Listening));
    assert_eq!(client.session.connection_state(), ConnectionState::Connected);
    client.session.end().await;
}

async fn agent_removed(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-removed"))), false);
    client.start().await;
    client.listening().await;
    let agent = client.session.agent().identity.expect("an agent");
    let body = serde_json::json!({ "room": client.room(), "identity": agent });
    env.room_service("RemoveParticipant", &client.room(), body).await;
    client
        .until("failed (left)", |s| s.agent().state == AgentState::Failed(AgentFailure::Left))
        .await;
    client
        .never("a disconnect", AGENT_LEAVE_GRACE * 2, |s| {
            s.connection_state() != ConnectionState::Connected
        })
        .await;
    assert!(client.session.error().is_none());
    client.session.end().await;
}

async fn room_deleted(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-deleted"))), false);
    client.start().await;
    client.listening().await;
    let body = serde_json::json!({ "room": client.room() });
    env.room_service("DeleteRoom", &client.room(), body).await;
    client.until("disconnected", |s| s.connection_state() == ConnectionState::Disconnected).await;
    let reason = client.session.disconnect_reason().expect("a reason");
    assert_eq!(reason, DisconnectReason::RoomDeleted);
    assert!(reason.is_normal_end());
    assert_eq!(reason.to_string(), "the room was closed");
    assert!(client.session.error().is_none());
}

/// `Room::simulate_scenario` through the transport: the session stays connected (passing
/// through reconnecting), with the same agent, never failed.
async fn simulated(env: Env, scenario: livekit::SimulateScenario) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-simulated"))), false);
    client.start().await;
    client.listening().await;
    let agent = client.session.agent().identity.clone();
    client.transport.simulate_scenario(scenario).await.expect("simulating");
    client.until("reconnecting", |s| s.connection_state() == ConnectionState::Reconnecting).await;
    client.until("connected again", |s| s.connection_state() == ConnectionState::Connected).await;
    client.listening().await;
    assert_eq!(client.session.agent().identity, agent, "the same agent");
    assert!(
        !client.agent_states.iter().any(|state| matches!(state, AgentState::Failed(_))),
        "never failed: {:?}",
        client.agent_states
    );
    client.session.end().await;
}

async fn signal_reconnect(env: Env) {
    simulated(env, livekit::SimulateScenario::SignalReconnect).await;
}

async fn full_reconnect(env: Env) {
    simulated(env, livekit::SimulateScenario::FullReconnect).await;
}

async fn invalid_token(env: Env) {
    // A token our server's key did not sign, handed over as a literal.
    let token = AccessToken::with_api_key(&env.api_key, "not-the-secret-at-all")
        .with_identity(&unique("intruder"))
        .with_grants(VideoGrants {
            room_join: true,
            room: unique("e2e-invalid"),
            ..Default::default()
        })
        .to_jwt()
        .expect("a token");
    let session = Session::with_options(
        TokenSource::literal(&env.url, token),
        TokenRequestOptions::new(),
        SessionOptions::new()
            .with_transport(LiveKitTransport::default())
            .with_microphone_enabled(false),
    );
    let error = within("a refused start", session.start()).await.expect_err("refused");
    assert!(matches!(error, SessionError::Connection(ConnectionError::Transport(_))), "{error}");
    assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    assert!(session.error().is_some());
}

async fn token_endpoint_unreachable(_env: Env) {
    let request = TokenRequestOptions::new().with_agent_name("echo-agent");
    let client = Client::with_endpoint("http://127.0.0.1:9/token", request, false);
    let error = within("a refused start", client.session.start()).await.expect_err("refused");
    assert!(matches!(error, SessionError::Connection(ConnectionError::Credentials(_))), "{error}");
    assert!(client.tokens.cached_response().is_none(), "nothing cached");
    assert_eq!(client.session.connection_state(), ConnectionState::Disconnected);
}

async fn load(env: Env) {
    let runs = (0..20).map(|i| {
        let env = env.clone();
        tokio::spawn(async move {
            let room = unique(&format!("e2e-load-{i}"));
            let mut client = Client::new(&env, Client::request(&env, Some(room)), false);
            let started = Instant::now();
            within("start", client.session.start()).await.expect("start");
            client
                .until_within("listening", STEP * 4, |s| s.agent().state == AgentState::Listening)
                .await;
            let took = started.elapsed();
            client.session.end().await;
            took
        })
    });
    let mut times = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        times.push(run.await.expect("a session reached listening"));
    }
    times.sort();
    eprintln!("load: start→listening p50 {:?}, p95 {:?}", times[times.len() / 2], times[18]);
}

async fn tracks(env: Env) {
    let mut client = Client::new(&env, Client::request(&env, Some(unique("e2e-tracks"))), false);
    client.start().await;
    client.listening().await;
    let agent = client.session.agent().identity.expect("an agent");
    let grants = VideoGrants { room_join: true, room: client.room(), ..Default::default() };
    let token = AccessToken::with_api_key(&env.api_key, &env.api_secret)
        .with_identity(&unique("avatar"))
        .with_kind("agent")
        .with_attributes([(PUBLISH_ON_BEHALF_ATTRIBUTE, agent.as_str())])
        .with_grants(grants)
        .to_jwt()
        .expect("a token");
    let (avatar, _events) =
        within("the avatar joins", Room::connect(&env.url, &token, RoomOptions::default()))
            .await
            .expect("the avatar joins");
    let audio = NativeAudioSource::new(AudioSourceOptions::default(), 48_000, 1, 100);
    let video = NativeVideoSource::new(VideoResolution { width: 64, height: 64 }, false);
    let mic = LocalAudioTrack::create_audio_track("avatar-audio", RtcAudioSource::Native(audio));
    let cam = LocalVideoTrack::create_video_track("avatar-video", RtcVideoSource::Native(video));
    let local = avatar.local_participant();
    let publish = |track: LocalTrack, source: LkTrackSource| {
        let options = TrackPublishOptions { source, ..Default::default() };
        local.publish_track(track, options)
    };
    let mic_pub =
        within("publish audio", publish(LocalTrack::Audio(mic), LkTrackSource::Microphone))
            .await
            .expect("publish audio");
    let cam_pub = within("publish video", publish(LocalTrack::Video(cam), LkTrackSource::Camera))
        .await
        .expect("publish video");
    client.until("the agent's audio", |s| s.agent().audio_track.is_some()).await;
    client.until("the agent's video", |s| s.agent().video_track.is_some()).await;
    for (publication, source) in
        [(&mic_pub, TrackSource::Microphone), (&cam_pub, TrackSource::Camera)]
    {
        let muted = move |s: &Session, want: bool| {
            s.tracks(&[source], false)
                .iter()
                .any(|t| t.sid == publication.sid().as_str() && t.muted == want)
        };
        publication.mute();
        client.until("muted", move |s| muted(s, true)).await;
        publication.unmute();
        client.until("unmuted", move |s| muted(s, false)).await;
    }
    for publication in [&mic_pub, &cam_pub] {
        within("unpublish", local.unpublish_track(&publication.sid())).await.expect("unpublish");
    }
    client
        .until("no agent tracks", |s| {
            s.agent().audio_track.is_none() && s.agent().video_track.is_none()
        })
        .await;
    assert_eq!(client.session.agent().identity.as_deref(), Some(agent.as_str()));
    within("the avatar leaves", avatar.close()).await.expect("the avatar leaves");
    client.session.end().await;
}
