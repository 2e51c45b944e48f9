//! The translation layer: room facts in, session events out. Pure and synchronous.
//!
//! Every transport forwards its room's events as [`RoomFact`]s; a [`Translator`] (one per
//! connection) turns them into the [`RoomEvent`]s the session core applies. Each decision
//! about what a room's report *means* is taken here, once, for every SDK:
//!
//! - **Kinds and reasons**: protocol names become [`ParticipantKind`] and
//!   [`DisconnectReason`]; an `UNKNOWN_REASON` that ends a reconnect attempt is a lost
//!   connection.
//! - **Attributes**: a change is applied from the event's own diff to the attributes this
//!   layer last saw, never read back from the SDK's live map — so a fast
//!   `thinking → speaking` is reported as two changes, not one (LiveKit's
//!   `ParticipantAttributesChanged` carries only the changed keys; a removed key has an empty
//!   value). Changes of the local participant are not the session's business.
//! - **Topics**: only `lk.transcription` and `lk.chat` streams reach the core.
//! - **Stream failures**: a stream that fails because its sender left is no receive error
//!   (the departure is reported on its own). LiveKit aborts a departed participant's streams by
//!   the sender identity the stream names (`handle_participant_disconnect` →
//!   `AbortStreamsFrom(identity)` in livekit 0.10 `src/room/mod.rs`), so streams an agent sends
//!   *on the local user's behalf* (user transcripts name the local identity) are never
//!   aborted and would stay open for good: when an agent leaves, this layer closes them
//!   itself. Any other failure — including of a user transcript — is a receive error.
//! - **Tracks** are kept per participant in publication order (first seen: a track published
//!   again under the same SID keeps its place), the local participant's too (its own tracks
//!   are always subscribed). Facts about participants this connection never saw, or tracks it
//!   never saw published, are dropped; a change that changes nothing is not reported.
//! - **Reconnects** are forwarded in the room's order; the core's leave grace absorbs the
//!   departures a full reconnect reports first (see the core's `AGENT_LEAVE_GRACE`).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::room::{
    facts::{ParticipantFact, RoomFact, TrackFact},
    protocol::{
        CHAT_TOPIC, DisconnectReason, ParticipantKind, TRANSCRIPTION_TOPIC, TrackKind, TrackSource,
    },
};

/// Whether the session reads text streams on `topic` (transports that must claim a stream's
/// reader ask this rather than decide).
pub(crate) fn is_session_topic(topic: &str) -> bool {
    topic == TRANSCRIPTION_TOPIC || topic == CHAT_TOPIC
}

/// A remote participant as the core keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParticipantInfo {
    pub(crate) identity: String,
    pub(crate) name: String,
    pub(crate) kind: ParticipantKind,
    pub(crate) attributes: BTreeMap<String, String>,
    /// Published tracks, in publication order.
    pub(crate) tracks: Vec<TrackInfo>,
}

/// A published track as the core keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackInfo {
    pub(crate) sid: String,
    pub(crate) name: String,
    pub(crate) source: TrackSource,
    pub(crate) kind: TrackKind,
    pub(crate) muted: bool,
    pub(crate) subscribed: bool,
}

/// An incoming text stream that matters to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextStreamInfo {
    pub(crate) id: String,
    pub(crate) topic: String,
    pub(crate) sender_identity: String,
    pub(crate) attributes: BTreeMap<String, String>,
}

#[cfg(test)]
impl ParticipantInfo {
    pub(crate) fn new(identity: &str, kind: ParticipantKind) -> Self {
        Self {
            identity: identity.to_owned(),
            name: String::new(),
            kind,
            attributes: BTreeMap::new(),
            tracks: Vec::new(),
        }
    }

    pub(crate) fn agent(identity: &str) -> Self {
        Self::new(identity, ParticipantKind::Agent)
    }

    pub(crate) fn standard(identity: &str) -> Self {
        Self::new(identity, ParticipantKind::Standard)
    }

    pub(crate) fn with_attribute(mut self, key: &str, value: &str) -> Self {
        self.attributes.insert(key.to_owned(), value.to_owned());
        self
    }
}

#[cfg(test)]
impl TextStreamInfo {
    pub(crate) fn new(id: impl Into<String>, topic: &str, sender_identity: &str) -> Self {
        Self {
            id: id.into(),
            topic: topic.to_owned(),
            sender_identity: sender_identity.to_owned(),
            attributes: BTreeMap::new(),
        }
    }

    pub(crate) fn with_attribute(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }
}

/// What the core applies, in the room's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoomEvent {
    /// The room is joined.
    Connected {
        local_identity: String,
        room_name: String,
        participants: Vec<ParticipantInfo>,
    },
    ParticipantJoined(ParticipantInfo),
    ParticipantLeft {
        identity: String,
    },
    /// A participant's name or attributes changed: the participant after the change.
    ParticipantChanged(ParticipantInfo),
    TrackPublished {
        identity: String,
        track: TrackInfo,
    },
    TrackUnpublished {
        identity: String,
        sid: String,
    },
    /// A track's subscription or mute changed: the track after the change.
    TrackChanged {
        identity: String,
        track: TrackInfo,
    },
    StreamOpened(TextStreamInfo),
    StreamChunk {
        stream_id: String,
        text: String,
    },
    /// `failure`: a receive failure (never "its sender left").
    StreamClosed {
        stream_id: String,
        failure: Option<String>,
    },
    Reconnecting,
    Reconnected,
    Moved {
        room_name: String,
    },
    Disconnected(DisconnectReason),
}

/// An open stream that matters.
#[derive(Debug)]
struct OpenStream {
    /// Who sent it over the wire (LiveKit aborts by this identity).
    wire_sender: String,
}

/// Turns one connection's facts into events. See the module docs for the rules.
#[derive(Debug, Default)]
pub(crate) struct Translator {
    local_identity: String,
    /// Remote participants as last reported, by identity.
    participants: HashMap<String, ParticipantInfo>,
    /// The local participant's tracks, in publication order.
    local_tracks: Vec<TrackInfo>,
    /// Participants that left and have not come back: their streams' failures are departures.
    departed: HashSet<String>,
    streams: HashMap<String, OpenStream>,
    reconnecting: bool,
}

impl Translator {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The events `fact` means, in order (often one, sometimes none or several).
    pub(crate) fn translate(&mut self, fact: RoomFact) -> Vec<RoomEvent> {
        match fact {
            RoomFact::Connected { local_identity, room_name, participants } => {
                *self = Self { local_identity: local_identity.clone(), ..Self::default() };
                let participants: Vec<_> = participants
                    .into_iter()
                    .filter(|p| p.identity != local_identity)
                    .map(participant)
                    .collect();
                for p in &participants {
                    self.participants.insert(p.identity.clone(), p.clone());
                }
                vec![RoomEvent::Connected { local_identity, room_name, participants }]
            }
            RoomFact::ParticipantJoined { participant: fact } => {
                if fact.identity == self.local_identity {
                    return Vec::new();
                }
                let joined = participant(fact);
                self.departed.remove(&joined.identity);
                self.participants.insert(joined.identity.clone(), joined.clone());
                vec![RoomEvent::ParticipantJoined(joined)]
            }
            RoomFact::ParticipantLeft { identity } => self.participant_left(identity),
            RoomFact::AttributesChanged { identity, changed, attributes } => {
                let Some(known) = self.participants.get_mut(&identity) else {
                    // The local participant, or one this connection never saw join.
                    let _ = attributes;
                    return Vec::new();
                };
                for (key, value) in changed {
                    if value.is_empty() {
                        known.attributes.remove(&key);
                    } else {
                        known.attributes.insert(key, value);
                    }
                }
                vec![RoomEvent::ParticipantChanged(known.clone())]
            }
            RoomFact::NameChanged { identity, name } => {
                match self.participants.get_mut(&identity) {
                    Some(known) if known.name != name => {
                        known.name = name;
                        vec![RoomEvent::ParticipantChanged(known.clone())]
                    }
                    _ => Vec::new(),
                }
            }
            RoomFact::TrackPublished { identity, track: fact } => {
                let mut track = track(fact);
                if identity == self.local_identity {
                    track.subscribed = true;
                }
                let Some(tracks) = self.tracks_mut(&identity) else { return Vec::new() };
                match tracks.iter_mut().find(|t| t.sid == track.sid) {
                    Some(known) if *known == track => return Vec::new(),
                    Some(known) => known.clone_from(&track),
                    None => tracks.push(track.clone()),
                }
                vec![RoomEvent::TrackPublished { identity, track }]
            }
            RoomFact::TrackUnpublished { identity, sid } => {
                let Some(tracks) = self.tracks_mut(&identity) else { return Vec::new() };
                let before = tracks.len();
                tracks.retain(|t| t.sid != sid);
                if tracks.len() == before {
                    return Vec::new();
                }
                vec![RoomEvent::TrackUnpublished { identity, sid }]
            }
            RoomFact::TrackSubscribed { identity, sid } => {
                self.track_changed(identity, &sid, |t| t.subscribed = true)
            }
            RoomFact::TrackUnsubscribed { identity, sid } => {
                self.track_changed(identity, &sid, |t| t.subscribed = false)
            }
            RoomFact::TrackMuted { identity, sid } => {
                self.track_changed(identity, &sid, |t| t.muted = true)
            }
            RoomFact::TrackUnmuted { identity, sid } => {
                self.track_changed(identity, &sid, |t| t.muted = false)
            }
            RoomFact::StreamOpened {
                stream_id,
                topic,
                sender_identity,
                participant_identity,
                attributes,
            } => {
                if !is_session_topic(&topic) {
                    return Vec::new();
                }
                let wire_sender = if participant_identity.is_empty() {
                    sender_identity.clone()
                } else {
                    participant_identity
                };
                self.streams.insert(stream_id.clone(), OpenStream { wire_sender });
                vec![RoomEvent::StreamOpened(TextStreamInfo {
                    id: stream_id,
                    topic,
                    sender_identity,
                    attributes,
                })]
            }
            RoomFact::StreamChunk { stream_id, text } => {
                if !self.streams.contains_key(&stream_id) {
                    return Vec::new();
                }
                vec![RoomEvent::StreamChunk { stream_id, text }]
            }
            RoomFact::StreamClosed { stream_id, error, .. } => {
                let Some(stream) = self.streams.remove(&stream_id) else { return Vec::new() };
                let sender_left = self.departed.contains(&stream.wire_sender);
                let failure = error.filter(|_| !sender_left);
                vec![RoomEvent::StreamClosed { stream_id, failure }]
            }
            RoomFact::Reconnecting => {
                self.reconnecting = true;
                vec![RoomEvent::Reconnecting]
            }
            RoomFact::Reconnected => {
                self.reconnecting = false;
                vec![RoomEvent::Reconnected]
            }
            RoomFact::Moved { room_name } => vec![RoomEvent::Moved { room_name }],
            RoomFact::Disconnected { reason } => {
                let reason = DisconnectReason::from_protocol(&reason, self.reconnecting);
                self.streams.clear();
                vec![RoomEvent::Disconnected(reason)]
            }
        }
    }

    fn participant_left(&mut self, identity: String) -> Vec<RoomEvent> {
        let Some(left) = self.participants.remove(&identity) else { return Vec::new() };
        self.departed.insert(identity.clone());
        // LiveKit aborts the streams the leaver sent; those it sent on the local user's behalf
        // are closed here (see the module docs). Sorted: the order must not depend on hashing.
        let local = &self.local_identity;
        let agent_left = left.kind == ParticipantKind::Agent;
        let mut orphaned: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| s.wire_sender == identity || (agent_left && &s.wire_sender == local))
            .map(|(id, _)| id.clone())
            .collect();
        orphaned.sort();
        let mut events: Vec<RoomEvent> = orphaned
            .into_iter()
            .map(|stream_id| {
                self.streams.remove(&stream_id);
                RoomEvent::StreamClosed { stream_id, failure: None }
            })
            .collect();
        events.push(RoomEvent::ParticipantLeft { identity });
        events
    }

    fn track_changed(
        &mut self,
        identity: String,
        sid: &str,
        change: impl FnOnce(&mut TrackInfo),
    ) -> Vec<RoomEvent> {
        let local = identity == self.local_identity;
        let Some(track) =
            self.tracks_mut(&identity).and_then(|tracks| tracks.iter_mut().find(|t| t.sid == sid))
        else {
            return Vec::new();
        };
        let before = track.clone();
        change(track);
        if local {
            track.subscribed = true;
        }
        if *track == before {
            return Vec::new();
        }
        vec![RoomEvent::TrackChanged { identity, track: track.clone() }]
    }

    /// The tracks of the local participant or of a known remote one.
    fn tracks_mut(&mut self, identity: &str) -> Option<&mut Vec<TrackInfo>> {
        if identity == self.local_identity && !identity.is_empty() {
            return Some(&mut self.local_tracks);
        }
        self.participants.get_mut(identity).map(|p| &mut p.tracks)
    }
}

fn participant(fact: ParticipantFact) -> ParticipantInfo {
    ParticipantInfo {
        identity: fact.identity,
        name: fact.name,
        kind: ParticipantKind::from_protocol(&fact.kind),
        attributes: fact.attributes,
        // Publication order; a SID reported twice keeps its first place and its last state.
        tracks: fact.tracks.into_iter().map(track).fold(Vec::new(), |mut tracks, track| {
            match tracks.iter_mut().find(|t: &&mut TrackInfo| t.sid == track.sid) {
                Some(known) => *known = track,
                None => tracks.push(track),
            }
            tracks
        }),
    }
}

fn track(fact: TrackFact) -> TrackInfo {
    TrackInfo {
        sid: fact.sid,
        name: fact.name,
        source: TrackSource::from_protocol(&fact.source),
        kind: TrackKind::from_protocol(&fact.kind),
        muted: fact.muted,
        subscribed: fact.subscribed,
    }
}

#[cfg(test)]
#[path = "translate_tracks_tests.rs"]
mod track_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::{facts::ParticipantFact, protocol::AGENT_STATE_ATTRIBUTE};

    fn connected(participants: Vec<ParticipantFact>) -> RoomFact {
        RoomFact::Connected {
            local_identity: "user".into(),
            room_name: "room".into(),
            participants,
        }
    }

    fn opened(id: &str, topic: &str, sender: &str) -> RoomFact {
        RoomFact::StreamOpened {
            stream_id: id.into(),
            topic: topic.into(),
            sender_identity: sender.into(),
            participant_identity: String::new(),
            attributes: BTreeMap::new(),
        }
    }

    fn closed(id: &str, error: Option<&str>) -> RoomFact {
        RoomFact::StreamClosed {
            stream_id: id.into(),
            attributes: BTreeMap::new(),
            error: error.map(Into::into),
        }
    }

    fn left(identity: &str) -> RoomFact {
        RoomFact::ParticipantLeft { identity: identity.into() }
    }

    fn state_change(changed: &str, live: &str) -> RoomFact {
        RoomFact::AttributesChanged {
            identity: "agent".into(),
            changed: [(AGENT_STATE_ATTRIBUTE.to_owned(), changed.to_owned())].into(),
            attributes: [(AGENT_STATE_ATTRIBUTE.to_owned(), live.to_owned())].into(),
        }
    }

    fn translator_with_agent() -> Translator {
        let mut t = Translator::new();
        t.translate(connected(vec![ParticipantFact::agent("agent")]));
        t
    }

    #[test]
    fn the_snapshot_maps_kinds_and_tracks() {
        let mut t = Translator::new();
        let events = t.translate(connected(vec![
            ParticipantFact::agent("agent")
                .with_track(TrackFact::new("TR_a", "MICROPHONE", "AUDIO").with_subscribed(true)),
            ParticipantFact::new("phone", "SIP"),
        ]));
        let [RoomEvent::Connected { local_identity, participants, .. }] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(local_identity, "user");
        assert_eq!(participants[0].kind, ParticipantKind::Agent);
        assert_eq!(participants[0].tracks[0].source, TrackSource::Microphone);
        assert!(participants[0].tracks[0].subscribed);
        assert_eq!(participants[1].kind, ParticipantKind::Other);
    }

    #[test]
    fn attribute_changes_come_from_the_event_not_the_live_map() {
        let mut t = translator_with_agent();
        // The SDK handled `thinking` late: its live map already says `speaking`.
        let events = t.translate(state_change("thinking", "speaking"));
        let [RoomEvent::ParticipantChanged(p)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(p.attributes[AGENT_STATE_ATTRIBUTE], "thinking");
        let events = t.translate(state_change("speaking", "speaking"));
        let [RoomEvent::ParticipantChanged(p)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(p.attributes[AGENT_STATE_ATTRIBUTE], "speaking");
        // A removed key arrives with an empty value.
        let events = t.translate(state_change("", ""));
        let [RoomEvent::ParticipantChanged(p)] = events.as_slice() else { panic!("{events:?}") };
        assert!(!p.attributes.contains_key(AGENT_STATE_ATTRIBUTE));
    }

    #[test]
    fn changes_of_the_local_participant_and_unknown_ones_are_ignored() {
        let mut t = translator_with_agent();
        let change = RoomFact::AttributesChanged {
            identity: "user".into(),
            changed: [("k".to_owned(), "v".to_owned())].into(),
            attributes: BTreeMap::new(),
        };
        assert!(t.translate(change).is_empty());
        let rename = RoomFact::NameChanged { identity: "nobody".into(), name: "N".into() };
        assert!(t.translate(rename).is_empty());
    }

    #[test]
    fn name_changes_update_the_participant() {
        let mut t = translator_with_agent();
        let events =
            t.translate(RoomFact::NameChanged { identity: "agent".into(), name: "Ada".into() });
        let [RoomEvent::ParticipantChanged(p)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(p.name, "Ada");
    }

    #[test]
    fn only_transcription_and_chat_streams_matter() {
        let mut t = translator_with_agent();
        assert!(t.translate(opened("x", "my.topic", "agent")).is_empty());
        assert!(
            t.translate(RoomFact::StreamChunk { stream_id: "x".into(), text: "t".into() })
                .is_empty()
        );
        assert!(t.translate(closed("x", None)).is_empty());
        assert_eq!(t.translate(opened("c", CHAT_TOPIC, "agent")).len(), 1);
        assert_eq!(t.translate(opened("t", TRANSCRIPTION_TOPIC, "agent")).len(), 1);
    }

    #[test]
    fn a_stream_aborted_because_its_sender_left_is_no_failure() {
        let mut t = translator_with_agent();
        t.translate(opened("s", TRANSCRIPTION_TOPIC, "agent"));
        t.translate(RoomFact::ParticipantJoined { participant: ParticipantFact::standard("bob") });
        t.translate(opened("b", CHAT_TOPIC, "bob"));
        let events = t.translate(left("bob"));
        // Bob's stream is closed by the departure (LiveKit's abort follows and is ignored).
        assert_eq!(
            events,
            [
                RoomEvent::StreamClosed { stream_id: "b".into(), failure: None },
                RoomEvent::ParticipantLeft { identity: "bob".into() },
            ]
        );
        assert!(
            t.translate(closed("b", Some("Participant bob unexpectedly disconnected"))).is_empty()
        );
        // A real failure of a present sender is a failure.
        let events = t.translate(closed("s", Some("decode error")));
        assert_eq!(
            events,
            [RoomEvent::StreamClosed {
                stream_id: "s".into(),
                failure: Some("decode error".into())
            }]
        );
    }

    #[test]
    fn user_transcripts_fail_as_failures_and_close_when_the_agent_leaves() {
        let mut t = translator_with_agent();
        // A user transcript: sent by the agent, naming the local user.
        t.translate(opened("u1", TRANSCRIPTION_TOPIC, "user"));
        let events = t.translate(closed("u1", Some("stream timed out")));
        assert_eq!(
            events,
            [RoomEvent::StreamClosed {
                stream_id: "u1".into(),
                failure: Some("stream timed out".into())
            }]
        );
        // LiveKit never aborts it when the agent leaves (it names the local user): closed here.
        t.translate(opened("u2", TRANSCRIPTION_TOPIC, "user"));
        let events = t.translate(left("agent"));
        assert_eq!(
            events,
            [
                RoomEvent::StreamClosed { stream_id: "u2".into(), failure: None },
                RoomEvent::ParticipantLeft { identity: "agent".into() },
            ]
        );
    }

    #[test]
    fn a_wire_sender_distinct_from_the_named_sender_decides() {
        let mut t = translator_with_agent();
        t.translate(RoomFact::ParticipantJoined { participant: ParticipantFact::standard("bob") });
        let mut fact = opened("u", TRANSCRIPTION_TOPIC, "user");
        if let RoomFact::StreamOpened { participant_identity, .. } = &mut fact {
            *participant_identity = "agent".into();
        }
        t.translate(fact);
        // Bob leaving does not touch the agent's stream.
        assert_eq!(
            t.translate(left("bob")),
            [RoomEvent::ParticipantLeft { identity: "bob".into() }]
        );
        assert_eq!(t.translate(left("agent")).len(), 2);
    }

    #[test]
    fn unknown_reason_after_reconnecting_is_a_lost_connection() {
        let mut t = translator_with_agent();
        t.translate(RoomFact::Reconnecting);
        let events = t.translate(RoomFact::Disconnected { reason: "UNKNOWN_REASON".into() });
        assert_eq!(events, [RoomEvent::Disconnected(DisconnectReason::ConnectionLost)]);
        let mut t = translator_with_agent();
        let events = t.translate(RoomFact::Disconnected { reason: "ROOM_DELETED".into() });
        assert_eq!(events, [RoomEvent::Disconnected(DisconnectReason::RoomDeleted)]);
    }

    #[test]
    fn track_facts_follow_the_participant() {
        let mut t = translator_with_agent();
        let track = TrackFact::new("TR_v", "CAMERA", "VIDEO");
        let events = t.translate(RoomFact::TrackPublished { identity: "agent".into(), track });
        assert_eq!(events.len(), 1);
        let events =
            t.translate(RoomFact::TrackSubscribed { identity: "agent".into(), sid: "TR_v".into() });
        let [RoomEvent::TrackChanged { track, .. }] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert!(track.subscribed && !track.muted);
        let events =
            t.translate(RoomFact::TrackMuted { identity: "agent".into(), sid: "TR_v".into() });
        let [RoomEvent::TrackChanged { track, .. }] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert!(track.muted);
        assert!(
            t.translate(RoomFact::TrackMuted { identity: "agent".into(), sid: "nope".into() })
                .is_empty()
        );
    }
}

#[cfg(test)]
mod properties {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    const WHO: [&str; 4] = ["user", "agent", "bob", "avatar"];

    fn fact() -> impl Strategy<Value = RoomFact> {
        let who = (0..WHO.len()).prop_map(|i| WHO[i].to_owned());
        let stream = (0..4usize).prop_map(|i| format!("s{i}"));
        let topic = prop_oneof![
            Just(TRANSCRIPTION_TOPIC.to_owned()),
            Just(CHAT_TOPIC.to_owned()),
            Just("other".to_owned())
        ];
        prop_oneof![
            1 => proptest::collection::vec(who.clone(), 0..3).prop_map(|ids| RoomFact::Connected {
                local_identity: "user".into(),
                room_name: "r".into(),
                participants: ids.into_iter().map(ParticipantFact::agent).collect(),
            }),
            3 => (who.clone(), any::<bool>()).prop_map(|(id, agent)| RoomFact::ParticipantJoined {
                participant: ParticipantFact::new(id, if agent { "AGENT" } else { "STANDARD" }),
            }),
            2 => who.clone().prop_map(|identity| RoomFact::ParticipantLeft { identity }),
            2 => (who.clone(), "[a-z]{0,2}").prop_map(|(identity, v)| RoomFact::AttributesChanged {
                identity,
                changed: [("k".to_owned(), v)].into(),
                attributes: BTreeMap::new(),
            }),
            3 => (stream.clone(), topic, who.clone(), proptest::option::of(who)).prop_map(
                |(stream_id, topic, sender_identity, wire)| RoomFact::StreamOpened {
                    stream_id,
                    topic,
                    sender_identity,
                    participant_identity: wire.unwrap_or_default(),
                    attributes: BTreeMap::new(),
                }
            ),
            3 => (stream.clone(), "[a-z]{0,3}")
                .prop_map(|(stream_id, text)| RoomFact::StreamChunk { stream_id, text }),
            2 => (stream, proptest::option::of("[a-z]{1,3}")).prop_map(|(stream_id, error)| {
                RoomFact::StreamClosed { stream_id, attributes: BTreeMap::new(), error }
            }),
            1 => Just(RoomFact::Reconnecting),
            1 => Just(RoomFact::Reconnected),
            1 => "[A-Z_]{0,12}".prop_map(|reason| RoomFact::Disconnected { reason }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever a room reports, the translation never panics, every stream the core
        /// sees opens once and closes at most once, nothing flows on a stream the core has not
        /// seen open, and the local participant never appears as a remote one.
        #[test]
        fn streams_are_well_formed_and_the_local_participant_stays_local(
            facts in proptest::collection::vec(fact(), 1..60)
        ) {
            let mut t = Translator::new();
            let mut open: HashSet<String> = HashSet::new();
            let mut connected = false;
            for fact in facts {
                for event in t.translate(fact) {
                    match event {
                        RoomEvent::Connected { participants, .. } => {
                            open.clear();
                            connected = true;
                            prop_assert!(participants.iter().all(|p| p.identity != "user"));
                        }
                        RoomEvent::ParticipantJoined(p) if connected => {
                            prop_assert_ne!(p.identity, "user");
                        }
                        RoomEvent::StreamOpened(info) => {
                            prop_assert!(is_session_topic(&info.topic));
                            open.insert(info.id);
                        }
                        RoomEvent::StreamChunk { stream_id, .. } => {
                            prop_assert!(open.contains(&stream_id), "chunk on a closed stream");
                        }
                        RoomEvent::StreamClosed { stream_id, .. } => {
                            prop_assert!(open.remove(&stream_id), "closed twice or never opened");
                        }
                        RoomEvent::Disconnected(_) => open.clear(),
                        _ => {}
                    }
                }
            }
        }
    }
}
