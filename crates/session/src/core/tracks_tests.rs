//! The track model, the agent's tracks, and the property that the track operations reproduce
//! the list.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use proptest::prelude::*;
use tokio::time::Instant;

use super::*;
use crate::{
    AGENT_LEAVE_GRACE, AGENT_STATE_ATTRIBUTE, SessionEvent,
    room::facts::{ParticipantFact, RoomFact, TrackFact},
    state::ConnectionState,
    translate::Translator,
};

const LOCAL: &str = "me";

/// A core and a translator, connected, with its changes mirrored into a list by the public
/// track operations.
struct Room {
    core: Core,
    translator: Translator,
    mirror: Vec<TrackReference>,
}

impl Room {
    fn new() -> Self {
        let mut room = Room {
            core: Core::new(Duration::from_secs(20)),
            translator: Translator::new(),
            mirror: Vec::new(),
        };
        room.core.begin_start().unwrap();
        room.core.connected(false, Instant::now());
        room
    }

    fn connect(participants: Vec<ParticipantFact>) -> Self {
        let mut room = Room::new();
        room.fact(RoomFact::Connected {
            local_identity: LOCAL.into(),
            room_name: "r".into(),
            participants,
        });
        room
    }

    fn fact(&mut self, fact: RoomFact) {
        for event in self.translator.translate(fact) {
            self.core.apply(event, Instant::now(), SystemTime::UNIX_EPOCH);
        }
        self.mirror_changes();
    }

    fn mirror_changes(&mut self) {
        for change in self.core.take_changes() {
            if let Change::Track(change) = change {
                SessionEvent::from(change).apply_to_tracks(&mut self.mirror);
            }
        }
        assert_eq!(self.mirror, self.core.tracks(), "the operations reproduce the list");
    }

    fn sids(&self) -> Vec<&str> {
        self.core.tracks().iter().map(|t| t.sid.as_str()).collect()
    }

    fn agent(&self) -> &Agent {
        self.core.agent()
    }
}

fn mic(sid: &str) -> TrackFact {
    TrackFact::new(sid, "MICROPHONE", "AUDIO").with_subscribed(true)
}

fn camera(sid: &str) -> TrackFact {
    TrackFact::new(sid, "CAMERA", "VIDEO").with_subscribed(true)
}

fn agent(identity: &str) -> ParticipantFact {
    ParticipantFact::agent(identity).with_attribute(AGENT_STATE_ATTRIBUTE, "listening")
}

fn avatar(identity: &str, for_agent: &str) -> ParticipantFact {
    ParticipantFact::agent(identity).with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, for_agent)
}

fn published(identity: &str, track: TrackFact) -> RoomFact {
    RoomFact::TrackPublished { identity: identity.into(), track }
}

fn sid_of(track: &Option<TrackReference>) -> Option<&str> {
    track.as_ref().map(|t| t.sid.as_str())
}

#[test]
fn the_snapshot_joins_and_publications_build_one_list_in_publication_order() {
    let mut room = Room::connect(vec![
        agent("agent").with_track(mic("TR_am")),
        ParticipantFact::standard("bob").with_track(camera("TR_bc")).with_track(mic("TR_bm")),
    ]);
    assert_eq!(room.sids(), ["TR_am", "TR_bc", "TR_bm"]);
    room.fact(RoomFact::ParticipantJoined {
        participant: avatar("avatar", "agent").with_track(camera("TR_vc")),
    });
    room.fact(published("me", mic("TR_local")));
    room.fact(published("agent", camera("TR_ac")));
    assert_eq!(room.sids(), ["TR_am", "TR_bc", "TR_bm", "TR_vc", "TR_local", "TR_ac"]);
    let local = &room.core.tracks()[4];
    assert!(local.is_local && local.subscribed && local.participant_identity == "me");
    assert!(room.core.tracks().iter().filter(|t| t.sid != "TR_local").all(|t| !t.is_local));

    // Mute keeps the place; unpublish and leaving remove.
    room.fact(RoomFact::TrackMuted { identity: "bob".into(), sid: "TR_bc".into() });
    assert!(room.core.tracks()[1].muted);
    room.fact(RoomFact::TrackUnpublished { identity: "agent".into(), sid: "TR_am".into() });
    room.fact(RoomFact::ParticipantLeft { identity: "bob".into() });
    assert_eq!(room.sids(), ["TR_vc", "TR_local", "TR_ac"]);
    // The connection ends: no tracks.
    room.fact(RoomFact::Disconnected { reason: "ROOM_DELETED".into() });
    assert!(room.core.tracks().is_empty());
    assert_eq!(room.core.state(), ConnectionState::Disconnected);
}

#[test]
fn a_full_reconnect_re_announces_participants_with_their_tracks() {
    let mut room = Room::connect(vec![agent("agent").with_track(mic("TR_am"))]);
    room.fact(published("me", mic("TR_local")));
    room.fact(RoomFact::ParticipantLeft { identity: "agent".into() });
    assert_eq!(room.sids(), ["TR_local"]);
    room.fact(RoomFact::Reconnecting);
    room.fact(RoomFact::ParticipantJoined { participant: agent("agent").with_track(mic("TR_am")) });
    room.fact(RoomFact::Reconnected);
    assert_eq!(room.sids(), ["TR_local", "TR_am"]);
    assert_eq!(sid_of(&room.agent().audio_track), Some("TR_am"));
    // A participant announced again with fewer tracks loses the others.
    room.fact(RoomFact::ParticipantJoined { participant: agent("agent") });
    assert_eq!(room.sids(), ["TR_local"]);
    assert_eq!(room.agent().audio_track, None);
}

#[test]
fn the_agents_own_tracks_win_over_its_avatar_workers() {
    let mut room = Room::connect(vec![agent("agent").with_track(mic("TR_am"))]);
    room.fact(RoomFact::ParticipantJoined {
        participant: avatar("avatar", "agent").with_track(mic("TR_vm")).with_track(camera("TR_vc")),
    });
    // The agent has no camera: the avatar's is its video; its own microphone is its voice.
    assert_eq!(sid_of(&room.agent().audio_track), Some("TR_am"));
    assert_eq!(sid_of(&room.agent().video_track), Some("TR_vc"));
    // Its own camera, once published, wins.
    room.fact(published("agent", camera("TR_ac")));
    assert_eq!(sid_of(&room.agent().video_track), Some("TR_ac"));
    // Without its own microphone, the avatar's is its voice.
    room.fact(RoomFact::TrackUnpublished { identity: "agent".into(), sid: "TR_am".into() });
    assert_eq!(sid_of(&room.agent().audio_track), Some("TR_vm"));
    // Changes of the track show in the agent (an app's visualizer follows mute and subscription).
    room.fact(RoomFact::TrackMuted { identity: "avatar".into(), sid: "TR_vm".into() });
    assert!(room.agent().audio_track.as_ref().is_some_and(|t| t.muted));
}

#[test]
fn first_means_publication_order() {
    let mut room = Room::connect(vec![agent("agent")]);
    room.fact(published("agent", mic("TR_z")));
    room.fact(published("agent", mic("TR_a")));
    assert_eq!(sid_of(&room.agent().audio_track), Some("TR_z"));
    room.fact(RoomFact::TrackUnpublished { identity: "agent".into(), sid: "TR_z".into() });
    assert_eq!(sid_of(&room.agent().audio_track), Some("TR_a"));
}

#[test]
fn only_avatar_workers_of_this_agent_count() {
    let mut room = Room::connect(vec![agent("agent")]);
    // A regular participant claiming to publish on the agent's behalf is no avatar worker.
    room.fact(RoomFact::ParticipantJoined {
        participant: ParticipantFact::standard("mallory")
            .with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, "agent")
            .with_track(camera("TR_m")),
    });
    // An avatar of another agent neither.
    room.fact(RoomFact::ParticipantJoined {
        participant: avatar("other-avatar", "other").with_track(camera("TR_o")),
    });
    // A track whose kind does not match its source neither, nor a screen share.
    room.fact(RoomFact::ParticipantJoined {
        participant: avatar("avatar", "agent")
            .with_track(TrackFact::new("TR_odd", "CAMERA", "AUDIO"))
            .with_track(TrackFact::new("TR_s", "SCREEN_SHARE", "VIDEO")),
    });
    // Nor the local user's own microphone.
    room.fact(published(LOCAL, mic("TR_local")));
    assert_eq!(room.agent().identity.as_deref(), Some("agent"));
    assert_eq!(room.agent().video_track, None);
    assert_eq!(room.agent().audio_track, None);
    room.fact(published("avatar", camera("TR_v")));
    assert_eq!(sid_of(&room.agent().video_track), Some("TR_v"));
}

#[test]
fn when_the_agent_leaves_its_tracks_are_gone_even_within_the_grace() {
    let mut room = Room::connect(vec![
        agent("agent").with_track(mic("TR_am")),
        avatar("avatar", "agent").with_track(camera("TR_vc")),
    ]);
    assert!(room.agent().audio_track.is_some() && room.agent().video_track.is_some());
    room.fact(RoomFact::ParticipantLeft { identity: "agent".into() });
    // Within the leave grace the agent still shows as it was, but without tracks: its
    // participant (and so its media) is gone, even though its avatar worker is still there.
    assert_eq!(room.agent().identity.as_deref(), Some("agent"));
    assert_eq!((room.agent().audio_track.clone(), room.agent().video_track.clone()), (None, None));
    assert_eq!(room.sids(), ["TR_vc"]);
    let later = Instant::now() + AGENT_LEAVE_GRACE + Duration::from_millis(1);
    room.core.on_timer(later);
    room.mirror_changes();
    assert_eq!(room.agent().identity, None);
    assert_eq!(room.agent().video_track, None);
}

#[test]
fn queries_filter_by_source_and_subscription() {
    let track = TrackReference::new("a", "TR", TrackSource::Camera, TrackKind::Video);
    assert!(track.matches(&[], false));
    assert!(track.matches(&[TrackSource::Microphone, TrackSource::Camera], false));
    assert!(!track.matches(&[TrackSource::Microphone], false));
    assert!(!track.matches(&[], true), "not subscribed");
    assert!(track.with_subscribed(true).matches(&[TrackSource::Camera], true));
    let local = TrackReference::new("me", "TR_l", TrackSource::Microphone, TrackKind::Audio)
        .with_local(true);
    assert!(local.subscribed && local.matches(&[TrackSource::Microphone], true));
}

// ---- the property test --------------------------------------------------------------------

const WHO: [&str; 4] = ["agent", "avatar", "bob", LOCAL];
const SOURCES: [(&str, &str); 4] =
    [("MICROPHONE", "AUDIO"), ("CAMERA", "VIDEO"), ("SCREEN_SHARE", "VIDEO"), ("CAMERA", "AUDIO")];

#[derive(Debug, Clone)]
enum Op {
    Connect(Vec<(usize, Vec<(usize, usize)>)>),
    Join { who: usize, tracks: Vec<(usize, usize)> },
    Leave { who: usize },
    Publish { who: usize, sid: usize, source: usize },
    Unpublish { who: usize, sid: usize },
    Flag { who: usize, sid: usize, flag: usize },
    Reconnect,
    Disconnect,
}

fn participant_fact(who: usize, tracks: &[(usize, usize)]) -> ParticipantFact {
    let mut fact = match who {
        0 => agent("agent"),
        1 => avatar("avatar", "agent"),
        _ => ParticipantFact::standard(WHO[who]),
    };
    for &(sid, source) in tracks {
        let (source, kind) = SOURCES[source];
        fact = fact.with_track(TrackFact::new(format!("TR_{who}_{sid}"), source, kind));
    }
    fact
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..WHO.len();
    let remote = 0..3usize;
    let tracks = proptest::collection::vec((0..3usize, 0..SOURCES.len()), 0..3);
    prop_oneof![
        1 => proptest::collection::vec((remote.clone(), tracks.clone()), 0..3).prop_map(Op::Connect),
        2 => (remote.clone(), tracks).prop_map(|(who, tracks)| Op::Join { who, tracks }),
        1 => remote.prop_map(|who| Op::Leave { who }),
        4 => (who.clone(), 0..3usize, 0..SOURCES.len()).prop_map(|(who, sid, source)| Op::Publish { who, sid, source }),
        2 => (who.clone(), 0..3usize).prop_map(|(who, sid)| Op::Unpublish { who, sid }),
        5 => (who, 0..3usize, 0..4usize).prop_map(|(who, sid, flag)| Op::Flag { who, sid, flag }),
        1 => Just(Op::Reconnect),
        1 => Just(Op::Disconnect),
    ]
}

fn key(t: &TrackReference) -> (String, String) {
    (t.participant_identity.clone(), t.sid.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the room reports: applying the published operations to a copy reproduces the
    /// list; tracks keep their relative order (publication order) and new ones come last; only
    /// present participants' tracks are listed; the agent's tracks follow the rule.
    #[test]
    fn the_track_operations_reproduce_the_list(ops in proptest::collection::vec(op(), 1..60)) {
        let mut room = Room::connect(Vec::new());
        let mut present: BTreeMap<String, bool> = BTreeMap::new();
        for op in ops {
            let before: Vec<_> = room.core.tracks().iter().map(key).collect();
            let mut reset = false;
            match op {
                Op::Connect(participants) => {
                    if room.core.state() == ConnectionState::Disconnected {
                        room = Room::new();
                        room.mirror = Vec::new();
                    }
                    let facts: Vec<_> = participants.iter().map(|(who, tracks)| participant_fact(*who, tracks)).collect();
                    let mut unique: Vec<ParticipantFact> = Vec::new();
                    for fact in facts {
                        unique.retain(|p| p.identity != fact.identity);
                        unique.push(fact);
                    }
                    present = unique.iter().map(|p| (p.identity.clone(), true)).collect();
                    room.fact(RoomFact::Connected { local_identity: LOCAL.into(), room_name: "r".into(), participants: unique });
                    reset = true;
                }
                Op::Join { who, tracks } => {
                    present.insert(WHO[who].into(), true);
                    room.fact(RoomFact::ParticipantJoined { participant: participant_fact(who, &tracks) });
                }
                Op::Leave { who } => {
                    present.remove(WHO[who]);
                    room.fact(RoomFact::ParticipantLeft { identity: WHO[who].into() });
                }
                Op::Publish { who, sid, source } => {
                    let (source, kind) = SOURCES[source];
                    room.fact(published(WHO[who], TrackFact::new(format!("TR_{who}_{sid}"), source, kind)));
                }
                Op::Unpublish { who, sid } => {
                    room.fact(RoomFact::TrackUnpublished { identity: WHO[who].into(), sid: format!("TR_{who}_{sid}") });
                }
                Op::Flag { who, sid, flag } => {
                    let (identity, sid) = (WHO[who].to_owned(), format!("TR_{who}_{sid}"));
                    room.fact(match flag {
                        0 => RoomFact::TrackSubscribed { identity, sid },
                        1 => RoomFact::TrackUnsubscribed { identity, sid },
                        2 => RoomFact::TrackMuted { identity, sid },
                        _ => RoomFact::TrackUnmuted { identity, sid },
                    });
                }
                Op::Reconnect => {
                    // LiveKit's full reconnect: everyone leaves, then is announced again.
                    let again: Vec<_> = present.keys().cloned().collect();
                    for identity in &again {
                        room.fact(RoomFact::ParticipantLeft { identity: identity.clone() });
                    }
                    room.fact(RoomFact::Reconnecting);
                    for identity in again {
                        let who = WHO.iter().position(|w| *w == identity).unwrap();
                        room.fact(RoomFact::ParticipantJoined { participant: participant_fact(who, &[(0, 0)]) });
                    }
                    room.fact(RoomFact::Reconnected);
                    // Leaving and joining again: the re-announced tracks are new, last.
                    reset = true;
                }
                Op::Disconnect => {
                    present.clear();
                    room.fact(RoomFact::Disconnected { reason: "ROOM_DELETED".into() });
                }
            }
            let tracks = room.core.tracks();
            prop_assert_eq!(&room.mirror[..], tracks);
            // Publication order: what stays keeps its relative order; what is new comes last.
            let after: Vec<_> = tracks.iter().map(key).collect();
            if !reset {
                let kept: Vec<_> = after.iter().filter(|k| before.contains(k)).collect();
                let expected: Vec<_> = before.iter().filter(|k| after.contains(k)).collect();
                prop_assert_eq!(&kept, &expected);
                let first_new = after.iter().position(|k| !before.contains(k)).unwrap_or(after.len());
                prop_assert!(after[first_new..].iter().all(|k| !before.contains(k)), "new tracks come last");
            }
            // Only present participants' (and our own) tracks; each once; ours are local.
            for track in tracks {
                prop_assert!(track.is_local == (track.participant_identity == LOCAL));
                prop_assert!(track.is_local || present.contains_key(&track.participant_identity));
                prop_assert!(!track.is_local || track.subscribed);
            }
            let mut unique = after.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), after.len());
            // The agent's tracks: its own first, else the avatar's, in list order.
            let agent = room.agent();
            if agent.identity.as_deref() == Some("agent") && present.contains_key("agent") {
                for (slot, source, kind) in [
                    (&agent.audio_track, TrackSource::Microphone, TrackKind::Audio),
                    (&agent.video_track, TrackSource::Camera, TrackKind::Video),
                ] {
                    let fits = |t: &&TrackReference, who: &str| t.participant_identity == who && t.source == source && t.kind == kind;
                    let expected = tracks.iter().find(|t| fits(t, "agent")).or_else(|| tracks.iter().find(|t| fits(t, "avatar")));
                    prop_assert_eq!(slot.as_ref(), expected);
                }
            } else {
                prop_assert!(agent.audio_track.is_none() && agent.video_track.is_none());
            }
        }
    }
}
