//! The translation layer's track rules: every track fact, for remote and local participants.

use super::*;

fn connected(participants: Vec<ParticipantFact>) -> RoomFact {
    RoomFact::Connected { local_identity: "user".into(), room_name: "room".into(), participants }
}

fn published(identity: &str, track: TrackFact) -> RoomFact {
    RoomFact::TrackPublished { identity: identity.into(), track }
}

fn sid(identity: &str, sid: &str) -> (String, String) {
    (identity.to_owned(), sid.to_owned())
}

fn changed(events: &[RoomEvent]) -> &TrackInfo {
    let [RoomEvent::TrackChanged { track, .. }] = events else { panic!("{events:?}") };
    track
}

fn translator() -> Translator {
    let mut t = Translator::new();
    t.translate(connected(vec![ParticipantFact::agent("agent")]));
    t
}

fn tracks_of<'a>(t: &'a Translator, identity: &str) -> &'a [TrackInfo] {
    if identity == t.local_identity { &t.local_tracks } else { &t.participants[identity].tracks }
}

#[test]
fn the_snapshot_keeps_publication_order_and_a_repeated_sid_once() {
    let mut t = Translator::new();
    let events = t.translate(connected(vec![
        ParticipantFact::agent("agent")
            .with_track(TrackFact::new("TR_b", "MICROPHONE", "AUDIO"))
            .with_track(TrackFact::new("TR_a", "CAMERA", "VIDEO"))
            .with_track(TrackFact::new("TR_b", "MICROPHONE", "AUDIO").with_muted(true)),
    ]));
    let [RoomEvent::Connected { participants, .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    let sids: Vec<_> = participants[0].tracks.iter().map(|t| t.sid.as_str()).collect();
    assert_eq!(sids, ["TR_b", "TR_a"]);
    assert!(participants[0].tracks[0].muted, "the last report of a SID wins");
    assert_eq!(participants[0].tracks[1].kind, TrackKind::Video);
}

#[test]
fn a_published_track_is_appended_and_a_republished_one_keeps_its_place() {
    let mut t = translator();
    let mic = TrackFact::new("TR_m", "MICROPHONE", "AUDIO").with_name("mic");
    let events = t.translate(published("agent", mic.clone()));
    let [RoomEvent::TrackPublished { identity, track }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!((identity.as_str(), track.name.as_str()), ("agent", "mic"));
    assert_eq!(track.source, TrackSource::Microphone);
    assert!(!track.subscribed && !track.muted);
    t.translate(published("agent", TrackFact::new("TR_c", "CAMERA", "VIDEO")));
    // The same SID again: nothing new, nothing reported.
    assert!(t.translate(published("agent", mic.clone())).is_empty());
    // The same SID with a new state: reported, in place.
    assert_eq!(t.translate(published("agent", mic.with_muted(true))).len(), 1);
    let sids: Vec<_> = tracks_of(&t, "agent").iter().map(|t| t.sid.as_str()).collect();
    assert_eq!(sids, ["TR_m", "TR_c"]);
}

#[test]
fn unpublished_removes_the_track_once() {
    let mut t = translator();
    t.translate(published("agent", TrackFact::new("TR_m", "MICROPHONE", "AUDIO")));
    let unpublish = RoomFact::TrackUnpublished { identity: "agent".into(), sid: "TR_m".into() };
    assert_eq!(
        t.translate(unpublish.clone()),
        [RoomEvent::TrackUnpublished { identity: "agent".into(), sid: "TR_m".into() }]
    );
    assert!(tracks_of(&t, "agent").is_empty());
    assert!(t.translate(unpublish).is_empty(), "an unknown SID is dropped");
}

#[test]
fn subscribed_unsubscribed_muted_and_unmuted_change_the_track() {
    let mut t = translator();
    t.translate(published("agent", TrackFact::new("TR_m", "MICROPHONE", "AUDIO")));
    let (identity, sid) = sid("agent", "TR_m");
    let fact = |f: fn(String, String) -> RoomFact| f(identity.clone(), sid.clone());
    let subscribed = fact(|identity, sid| RoomFact::TrackSubscribed { identity, sid });
    let unsubscribed = fact(|identity, sid| RoomFact::TrackUnsubscribed { identity, sid });
    let muted = fact(|identity, sid| RoomFact::TrackMuted { identity, sid });
    let unmuted = fact(|identity, sid| RoomFact::TrackUnmuted { identity, sid });

    let track = changed(&t.translate(subscribed.clone())).clone();
    assert!(track.subscribed && !track.muted);
    assert!(t.translate(subscribed).is_empty(), "no change, no event");
    let track = changed(&t.translate(muted.clone())).clone();
    assert!(track.subscribed && track.muted);
    assert!(t.translate(muted).is_empty());
    let track = changed(&t.translate(unmuted)).clone();
    assert!(track.subscribed && !track.muted);
    let track = changed(&t.translate(unsubscribed)).clone();
    assert!(!track.subscribed && !track.muted);
    assert_eq!(tracks_of(&t, "agent"), [track]);
}

#[test]
fn facts_about_unknown_participants_or_tracks_are_dropped() {
    let mut t = translator();
    assert!(t.translate(published("ghost", TrackFact::new("TR_g", "CAMERA", "VIDEO"))).is_empty());
    for fact in [
        RoomFact::TrackSubscribed { identity: "agent".into(), sid: "TR_x".into() },
        RoomFact::TrackUnsubscribed { identity: "ghost".into(), sid: "TR_g".into() },
        RoomFact::TrackMuted { identity: "ghost".into(), sid: "TR_g".into() },
        RoomFact::TrackUnmuted { identity: "agent".into(), sid: "TR_x".into() },
        RoomFact::TrackUnpublished { identity: "ghost".into(), sid: "TR_g".into() },
    ] {
        assert!(t.translate(fact.clone()).is_empty(), "{fact:?}");
    }
    // A participant that left takes its tracks with it.
    t.translate(published("agent", TrackFact::new("TR_m", "MICROPHONE", "AUDIO")));
    t.translate(RoomFact::ParticipantLeft { identity: "agent".into() });
    assert!(
        t.translate(RoomFact::TrackMuted { identity: "agent".into(), sid: "TR_m".into() })
            .is_empty()
    );
}

#[test]
fn a_joining_participant_brings_its_tracks() {
    let mut t = translator();
    let events = t.translate(RoomFact::ParticipantJoined {
        participant: ParticipantFact::agent("avatar")
            .with_track(TrackFact::new("TR_v", "CAMERA", "VIDEO").with_subscribed(true)),
    });
    let [RoomEvent::ParticipantJoined(avatar)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(avatar.tracks.len(), 1);
    let track = changed(
        &t.translate(RoomFact::TrackMuted { identity: "avatar".into(), sid: "TR_v".into() }),
    )
    .clone();
    assert!(track.muted && track.subscribed);
}

#[test]
fn the_local_participants_tracks_are_kept_and_always_subscribed() {
    let mut t = translator();
    let events = t.translate(published("user", TrackFact::new("TR_l", "MICROPHONE", "AUDIO")));
    let [RoomEvent::TrackPublished { identity, track }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(identity, "user");
    assert!(track.subscribed, "our own track is always subscribed");
    let track =
        changed(&t.translate(RoomFact::TrackMuted { identity: "user".into(), sid: "TR_l".into() }))
            .clone();
    assert!(track.muted && track.subscribed);
    assert!(
        t.translate(RoomFact::TrackUnsubscribed { identity: "user".into(), sid: "TR_l".into() })
            .is_empty(),
        "unsubscribing from our own track changes nothing"
    );
    let track = changed(
        &t.translate(RoomFact::TrackUnmuted { identity: "user".into(), sid: "TR_l".into() }),
    )
    .clone();
    assert!(!track.muted);
    assert_eq!(
        t.translate(RoomFact::TrackUnpublished { identity: "user".into(), sid: "TR_l".into() }),
        [RoomEvent::TrackUnpublished { identity: "user".into(), sid: "TR_l".into() }]
    );
    // A new connection starts with no local tracks.
    t.translate(published("user", TrackFact::new("TR_l2", "MICROPHONE", "AUDIO")));
    t.translate(connected(Vec::new()));
    assert!(t.local_tracks.is_empty());
}
