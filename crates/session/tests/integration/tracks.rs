//! Tracks end to end through a session on the scripted room: an agent with a voice and an
//! avatar, mutes, unpublishes, the `useTracks`-style query, the local microphone, reconnects.

use std::time::Duration;

use session::{
    Agent, ConnectionState, RoomFact, Script, ScriptedAgent, Session, SessionEvent, SessionOptions,
    TrackKind, TrackReference, TrackSource,
};

use crate::support::{Harness, harness, harness_with, literal};

/// What a subscriber knows, kept only from the events: the track list (by the track
/// operations), the agent and the connection state.
struct View {
    tracks: Vec<TrackReference>,
    agent: Agent,
    state: ConnectionState,
}

impl View {
    fn new(session: &Session) -> Self {
        View { tracks: Vec::new(), agent: session.agent(), state: session.connection_state() }
    }

    fn apply(&mut self, event: &SessionEvent) {
        event.apply_to_tracks(&mut self.tracks);
        match event {
            SessionEvent::AgentChanged(agent) => self.agent = agent.clone(),
            SessionEvent::ConnectionStateChanged(state) => self.state = *state,
            _ => {}
        }
    }

    fn audio(&self) -> Option<&str> {
        self.agent.audio_track.as_ref().map(|t| t.sid.as_str())
    }

    fn video(&self) -> Option<&str> {
        self.agent.video_track.as_ref().map(|t| t.sid.as_str())
    }

    fn all_local(&self) -> bool {
        self.tracks.iter().all(|t| t.is_local)
    }
}

/// Applies the session's events to `view` until `done` holds for it.
async fn follow(h: &mut Harness, view: &mut View, done: impl Fn(&View) -> bool) {
    while !done(view) {
        let event = tokio::time::timeout(Duration::from_secs(3600), h.events.next())
            .await
            .expect("the awaited change never came")
            .expect("the session is alive");
        view.apply(&event);
    }
}

/// Applies the events already delivered; then the view is the session's state exactly.
fn settle(h: &mut Harness, view: &mut View) {
    while let Some(event) = h.events.try_next() {
        view.apply(&event);
    }
    assert_eq!(view.tracks, h.session.tracks(&[], false), "the operations reproduce the list");
    assert_eq!(view.agent, h.session.agent());
}

fn sids(tracks: &[TrackReference]) -> Vec<&str> {
    tracks.iter().map(|t| t.sid.as_str()).collect()
}

#[tokio::test(start_paused = true)]
async fn an_agent_with_a_voice_and_an_avatar() {
    let second = Duration::from_secs(1);
    let script = Script::new()
        .agent_joins(ScriptedAgent::new("agent").with_microphone())
        .agent_state("listening")
        .wait(second)
        .avatar_joins("avatar")
        .agent_state("speaking")
        .wait(second)
        .mute_track("agent", TrackSource::Microphone)
        .wait(second)
        .unmute_track("agent", TrackSource::Microphone)
        .wait(second)
        .unpublish_track("avatar", TrackSource::Camera)
        .wait(second)
        .publish_track("agent", TrackSource::Camera)
        .wait(second)
        .agent_leaves();
    let mut h = harness(script, literal());
    let mut view = View::new(&h.session);
    h.session.start().await.unwrap();

    // The agent joins with its microphone, subscribed right after; our microphone is published.
    follow(&mut h, &mut view, |v| {
        v.agent.audio_track.as_ref().is_some_and(|t| t.subscribed)
            && v.tracks.iter().any(|t| t.is_local)
    })
    .await;
    settle(&mut h, &mut view);
    let voice = h.session.agent().audio_track.unwrap();
    assert_eq!(voice.participant_identity, "agent");
    assert_eq!((voice.source, voice.kind), (TrackSource::Microphone, TrackKind::Audio));
    assert!(!voice.muted && !voice.is_local);
    let microphone = h.session.microphone_track().unwrap();
    assert!(microphone.is_local && microphone.subscribed && !microphone.muted);
    assert_eq!(microphone.participant_identity, "user");
    assert_eq!(view.video(), None);

    // The avatar worker joins: its camera is the agent's video; the agent's own voice stays.
    follow(&mut h, &mut view, |v| v.agent.video_track.as_ref().is_some_and(|t| t.subscribed)).await;
    settle(&mut h, &mut view);
    let video = h.session.agent().video_track.unwrap();
    assert_eq!(video.participant_identity, "avatar");
    assert_eq!((video.source, video.kind), (TrackSource::Camera, TrackKind::Video));
    assert_eq!(view.audio(), Some(voice.sid.as_str()), "its own voice wins");
    // The `useTracks([Camera], { onlySubscribed: true })` of the seed's React example.
    assert_eq!(sids(&h.session.tracks(&[TrackSource::Camera], true)), [video.sid.as_str()]);
    // Publication order: our microphone (published as `start` connected, before the script's
    // first step), the agent's voice, the avatar's camera.
    assert_eq!(
        sids(&view.tracks),
        [microphone.sid.as_str(), voice.sid.as_str(), video.sid.as_str()]
    );

    // Mute and unmute, seen on the agent and in the list.
    follow(&mut h, &mut view, |v| v.agent.audio_track.as_ref().is_some_and(|t| t.muted)).await;
    settle(&mut h, &mut view);
    assert!(h.session.tracks(&[TrackSource::Microphone], false).iter().any(|t| t.muted));
    follow(&mut h, &mut view, |v| v.agent.audio_track.as_ref().is_some_and(|t| !t.muted)).await;

    // The avatar's camera goes; then the agent publishes its own.
    follow(&mut h, &mut view, |v| v.agent.video_track.is_none()).await;
    settle(&mut h, &mut view);
    assert!(h.session.tracks(&[TrackSource::Camera], false).is_empty());
    follow(&mut h, &mut view, |v| v.agent.video_track.as_ref().is_some_and(|t| t.subscribed)).await;
    settle(&mut h, &mut view);
    assert_eq!(h.session.agent().video_track.unwrap().participant_identity, "agent");

    // The agent leaves: its tracks are gone at once (the avatar worker stays, camera-less).
    follow(&mut h, &mut view, View::all_local).await;
    settle(&mut h, &mut view);
    assert_eq!((view.audio(), view.video()), (None, None));
    assert_eq!(sids(&view.tracks), [microphone.sid.as_str()]);

    // Ending the session empties the list (and the copy follows).
    h.session.end().await;
    follow(&mut h, &mut view, |v| v.state == ConnectionState::Disconnected).await;
    settle(&mut h, &mut view);
    assert!(view.tracks.is_empty() && h.session.microphone_track().is_none());
}

#[tokio::test(start_paused = true)]
async fn only_subscribed_leaves_out_what_we_do_not_receive() {
    let agent = ScriptedAgent::new("agent").with_microphone().with_camera();
    let script = Script::new().with_agent_in_room(agent);
    let options = SessionOptions::new().with_microphone_enabled(false);
    let mut h = harness_with(script, literal(), options);
    let mut view = View::new(&h.session);
    h.session.start().await.unwrap();
    follow(&mut h, &mut view, |v| v.tracks.iter().filter(|t| t.subscribed).count() == 2).await;
    settle(&mut h, &mut view);
    assert_eq!(h.session.microphone_track(), None, "the microphone was never published");
    let camera = h.session.tracks(&[TrackSource::Camera], false).remove(0);
    assert_eq!(view.video(), Some(camera.sid.as_str()), "its own camera");
    h.controller
        .emit(RoomFact::TrackUnsubscribed { identity: "agent".into(), sid: camera.sid.clone() });
    follow(&mut h, &mut view, |v| v.tracks.iter().filter(|t| t.subscribed).count() == 1).await;
    settle(&mut h, &mut view);
    assert_eq!(h.session.tracks(&[TrackSource::Camera], true), []);
    let all = h.session.tracks(&[TrackSource::Camera], false);
    assert!(all.len() == 1 && !all[0].subscribed);
    assert_eq!(
        sids(&h.session.tracks(&[TrackSource::Microphone, TrackSource::Camera], true)),
        sids(&h.session.tracks(&[TrackSource::Microphone], false))
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_reconnect_brings_the_tracks_back() {
    let script = Script::new()
        .with_agent_in_room(ScriptedAgent::new("agent").with_microphone())
        .wait(Duration::from_secs(1))
        .avatar_joins("avatar")
        .wait(Duration::from_secs(1))
        .reconnect();
    let mut h = harness(script, literal());
    let mut view = View::new(&h.session);
    h.session.start().await.unwrap();
    follow(&mut h, &mut view, |v| v.video().is_some()).await;
    settle(&mut h, &mut view);
    let before = (view.audio().map(str::to_owned), view.video().map(str::to_owned));
    // Everyone leaves first: the remote tracks go, ours stays.
    follow(&mut h, &mut view, View::all_local).await;
    assert_eq!(view.tracks.len(), 1);
    // Then they are announced again with their tracks.
    follow(&mut h, &mut view, |v| {
        v.state == ConnectionState::Connected
            && v.agent.audio_track.as_ref().is_some_and(|t| t.subscribed)
            && v.agent.video_track.as_ref().is_some_and(|t| t.subscribed)
    })
    .await;
    settle(&mut h, &mut view);
    assert_eq!((view.audio().map(str::to_owned), view.video().map(str::to_owned)), before);
    assert_eq!(h.session.tracks(&[], true).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_subscription_starts_with_the_tracks() {
    let script = Script::new().with_agent_in_room(ScriptedAgent::new("agent").with_microphone());
    let mut h = harness(script, literal());
    let mut view = View::new(&h.session);
    h.session.start().await.unwrap();
    follow(&mut h, &mut view, |v| v.tracks.iter().filter(|t| t.subscribed).count() == 2).await;
    settle(&mut h, &mut view);
    let mut late = h.session.subscribe();
    let mut copy = Vec::new();
    while let Some(event) = late.try_next() {
        assert!(!matches!(event, SessionEvent::TrackInserted { .. }), "only the snapshot");
        event.apply_to_tracks(&mut copy);
    }
    assert_eq!(copy, h.session.tracks(&[], false));
}
