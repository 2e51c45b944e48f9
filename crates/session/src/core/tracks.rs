//! Tracks: every published track of the room (remote and local) as [`TrackReference`]s, in
//! publication order, and the agent's audio and video track.
//!
//! The session keeps **one list** of the room's tracks. Its order is publication order: the
//! order in which this connection first saw each track (the connect snapshot's tracks first,
//! participant by participant in join order, each participant's in its own order; then each
//! track as it is published or as its participant joins). A change of a track (muted,
//! subscribed, …) keeps its place; an unpublished track, and every track of a participant that
//! leaves, is removed; the list is empty while the session is not connected.
//!
//! Every change of the list is one [`TrackChange`] — insert at an index, replace at an index,
//! remove at an index, or reset the whole list — carrying the data it needs, so applying the
//! changes in order to a copy reproduces the list exactly (see
//! [`SessionEvent::apply_to_tracks`](crate::SessionEvent::apply_to_tracks)).

use crate::{
    core::{
        Change, Core,
        agent::{Agent, PUBLISH_ON_BEHALF_ATTRIBUTE},
    },
    room::protocol::{ParticipantKind, TrackKind, TrackSource},
    translate::{ParticipantInfo, RoomEvent, TrackInfo},
};

/// A published track: whose it is, what it is, and whether its media can flow.
///
/// The SDK-neutral counterpart of LiveKit's `TrackReference` (components-js) and of a
/// participant's `TrackPublication`. With LiveKit's Rust SDK, [`sid`](Self::sid) finds the
/// SDK's own track (`LiveKitTransport`'s link gives it for a SID); with a room the app
/// supplies, the app renders its own SDK's track for that SID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TrackReference {
    /// The identity of the participant that published it.
    pub participant_identity: String,
    /// The track SID (unique in the room).
    pub sid: String,
    /// The track name the publisher gave it (may be empty).
    pub name: String,
    /// Where it comes from (microphone, camera, …).
    pub source: TrackSource,
    /// Audio or video.
    pub kind: TrackKind,
    /// Whether the publisher muted it.
    pub muted: bool,
    /// Whether this session receives its media (LiveKit subscribes automatically by default).
    /// Always `true` for the local participant's own tracks.
    pub subscribed: bool,
    /// Whether it is the local participant's own track (e.g. the microphone).
    pub is_local: bool,
}

impl TrackReference {
    /// A remote track of `participant_identity`, unmuted and not subscribed, with no name.
    pub fn new(
        participant_identity: impl Into<String>,
        sid: impl Into<String>,
        source: TrackSource,
        kind: TrackKind,
    ) -> Self {
        Self {
            participant_identity: participant_identity.into(),
            sid: sid.into(),
            name: String::new(),
            source,
            kind,
            muted: false,
            subscribed: false,
            is_local: false,
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets whether it is muted.
    pub fn with_muted(mut self, muted: bool) -> Self {
        self.muted = muted;
        self
    }

    /// Sets whether it is subscribed.
    pub fn with_subscribed(mut self, subscribed: bool) -> Self {
        self.subscribed = subscribed;
        self
    }

    /// Makes it a local track (which is always subscribed).
    pub fn with_local(mut self, is_local: bool) -> Self {
        self.is_local = is_local;
        self.subscribed |= is_local;
        self
    }

    /// Whether it matches a `useTracks`-style query: its source is one of `sources` (all
    /// sources when empty) and, with `only_subscribed`, it is subscribed.
    pub fn matches(&self, sources: &[TrackSource], only_subscribed: bool) -> bool {
        (sources.is_empty() || sources.contains(&self.source))
            && (!only_subscribed || self.subscribed)
    }

    fn from_info(identity: &str, track: &TrackInfo, is_local: bool) -> Self {
        Self {
            participant_identity: identity.to_owned(),
            sid: track.sid.clone(),
            name: track.name.clone(),
            source: track.source,
            kind: track.kind,
            muted: track.muted,
            subscribed: track.subscribed || is_local,
            is_local,
        }
    }
}

/// One change of the session's track list (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrackChange {
    /// Insert `track` at `index`.
    Inserted { index: usize, track: TrackReference },
    /// Replace the track at `index`.
    Replaced { index: usize, track: TrackReference },
    /// Remove the track at `index`.
    Removed { index: usize },
    /// The whole list is now this.
    Reset(Vec<TrackReference>),
}

/// The session's tracks, in publication order.
#[derive(Debug, Default)]
pub(crate) struct Tracks {
    list: Vec<TrackReference>,
}

impl Tracks {
    pub(crate) fn list(&self) -> &[TrackReference] {
        &self.list
    }

    /// Applies what `event` means for the tracks; the changes go to `changes`, in order.
    /// `local_identity` is the connection's (the event's own for `Connected`).
    pub(crate) fn apply(&mut self, event: &RoomEvent, local_identity: &str, out: &mut Vec<Change>) {
        let mut changes = Vec::new();
        match event {
            RoomEvent::Connected { local_identity, participants, .. } => {
                let snapshot: Vec<_> = participants
                    .iter()
                    .filter(|p| p.identity != *local_identity)
                    .flat_map(|p| {
                        p.tracks.iter().map(|t| TrackReference::from_info(&p.identity, t, false))
                    })
                    .collect();
                if snapshot != self.list {
                    self.list.clone_from(&snapshot);
                    changes.push(TrackChange::Reset(snapshot));
                }
            }
            RoomEvent::ParticipantJoined(participant) => {
                self.participant_joined(participant, &mut changes);
            }
            RoomEvent::ParticipantLeft { identity } => {
                self.remove_where(&mut changes, |t| t.participant_identity == *identity)
            }
            RoomEvent::TrackPublished { identity, track }
            | RoomEvent::TrackChanged { identity, track } => {
                let local = !local_identity.is_empty() && identity == local_identity;
                self.upsert(TrackReference::from_info(identity, track, local), &mut changes);
            }
            RoomEvent::TrackUnpublished { identity, sid } => self.remove_where(&mut changes, |t| {
                t.participant_identity == *identity && t.sid == *sid
            }),
            _ => {}
        }
        out.extend(changes.into_iter().map(Change::Track));
    }

    /// Forgets every track (the room is gone).
    pub(crate) fn clear(&mut self, out: &mut Vec<Change>) {
        if !self.list.is_empty() {
            self.list.clear();
            out.push(Change::Track(TrackChange::Reset(Vec::new())));
        }
    }

    /// A participant (re)joined with these tracks: its tracks become exactly these.
    fn participant_joined(
        &mut self,
        participant: &ParticipantInfo,
        changes: &mut Vec<TrackChange>,
    ) {
        let identity = &participant.identity;
        self.remove_where(changes, |t| {
            t.participant_identity == *identity
                && !participant.tracks.iter().any(|track| track.sid == t.sid)
        });
        for track in &participant.tracks {
            self.upsert(TrackReference::from_info(identity, track, false), changes);
        }
    }

    /// Replaces the track with the same participant and SID in place, or appends it.
    fn upsert(&mut self, track: TrackReference, changes: &mut Vec<TrackChange>) {
        let position = self.list.iter().position(|t| {
            t.participant_identity == track.participant_identity && t.sid == track.sid
        });
        match position {
            Some(index) if self.list[index] == track => {}
            Some(index) => {
                self.list[index].clone_from(&track);
                changes.push(TrackChange::Replaced { index, track });
            }
            None => {
                self.list.push(track.clone());
                changes.push(TrackChange::Inserted { index: self.list.len() - 1, track });
            }
        }
    }

    /// Removes the matching tracks, one change each (indices as of each removal).
    fn remove_where(
        &mut self,
        changes: &mut Vec<TrackChange>,
        remove: impl Fn(&TrackReference) -> bool,
    ) {
        while let Some(index) = self.list.iter().position(&remove) {
            self.list.remove(index);
            changes.push(TrackChange::Removed { index });
        }
    }

    /// `agent` with its audio and video track (none unless its participant is in the room).
    ///
    /// The rule (LiveKit Android's `rememberAgent` and React's `useAgent`): the agent's own
    /// first microphone track, else the first microphone track of its avatar workers; the same
    /// for the camera. An avatar worker is a participant of kind `Agent` whose
    /// `lk.publish_on_behalf` attribute is the agent's identity. "First" means publication
    /// order. A track counts only if its kind matches its source (audio for the microphone,
    /// video for the camera).
    pub(crate) fn with_agent_tracks(
        &self,
        mut agent: Agent,
        participants: &[ParticipantInfo],
    ) -> Agent {
        agent.audio_track = None;
        agent.video_track = None;
        let Some(identity) = agent.identity.as_deref() else { return agent };
        if !participants.iter().any(|p| p.identity == identity) {
            return agent;
        }
        let is_worker = |publisher: &str| {
            participants.iter().any(|p| {
                p.identity == publisher
                    && p.kind == ParticipantKind::Agent
                    && p.attributes.get(PUBLISH_ON_BEHALF_ATTRIBUTE).map(String::as_str)
                        == Some(identity)
            })
        };
        let pick = |source: TrackSource, kind: TrackKind| {
            let mut of_kind =
                self.list.iter().filter(|t| t.source == source && t.kind == kind && !t.is_local);
            let own = of_kind.clone().find(|t| t.participant_identity == identity);
            own.or_else(|| of_kind.find(|t| is_worker(&t.participant_identity))).cloned()
        };
        agent.audio_track = pick(TrackSource::Microphone, TrackKind::Audio);
        agent.video_track = pick(TrackSource::Camera, TrackKind::Video);
        agent
    }
}

impl Core {
    /// The room's tracks, in publication order.
    pub(crate) fn tracks(&self) -> &[TrackReference] {
        self.tracks.list()
    }
}

#[cfg(test)]
#[path = "tracks_tests.rs"]
mod tests;
