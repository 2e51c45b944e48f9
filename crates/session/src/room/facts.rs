//! Room facts: what a LiveKit room reports, as plain data that any LiveKit SDK can produce.
//!
//! A transport (LiveKit's Rust SDK, a room the host app supplies from LiveKit's Swift or Android
//! SDK, LiveKit's Python SDK in the end-to-end tests, or the scripted room) only *forwards*:
//! it turns each event of its room into a [`RoomFact`], in the order the room reports them,
//! and pushes it into the [`FactSink`](crate::FactSink) it was given. Facts carry LiveKit's
//! protocol values as strings (the protocol's enum names: `AGENT`, `ROOM_DELETED`,
//! `MICROPHONE`, …), never a platform's own enums; the translation layer maps them. Every
//! decision (which topics matter, what a stream failure means, how a reconnect is reported)
//! is taken there, once, in Rust.
//!
//! Facts serialize as JSON objects tagged with `"type"` (snake case), the format of the
//! replayable fixtures under `crates/session/tests/fixtures/`:
//!
//! ```
//! use session::RoomFact;
//!
//! let fact: RoomFact = serde_json::from_str(
//!     r#"{"type": "attributes_changed", "identity": "agent-1",
//!         "changed": {"lk.agent.state": "thinking"}, "attributes": {"lk.agent.state": "speaking"}}"#,
//! ).unwrap();
//! assert!(matches!(fact, RoomFact::AttributesChanged { .. }));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One thing a room reported, in the room's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomFact {
    /// The room is joined: who we are and who is already there. The first fact of every
    /// connection, pushed before `connect` returns.
    Connected {
        /// The local participant's identity.
        local_identity: String,
        /// The room's name.
        #[serde(default)]
        room_name: String,
        /// The remote participants already in the room, in join order, with their tracks.
        #[serde(default)]
        participants: Vec<ParticipantFact>,
    },
    /// A remote participant joined (also: re-announced by a full reconnect).
    ParticipantJoined {
        /// Who.
        participant: ParticipantFact,
    },
    /// A remote participant left (also: every participant, just before a full reconnect).
    ParticipantLeft {
        /// Who.
        identity: String,
    },
    /// A participant's attributes changed.
    AttributesChanged {
        /// Whose.
        identity: String,
        /// The change exactly as the event carries it (a removed key has an empty value).
        #[serde(default)]
        changed: BTreeMap<String, String>,
        /// All attributes as the SDK reported them when the event was handled (they may be
        /// newer than the change).
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// A participant's display name changed.
    NameChanged {
        /// Whose.
        identity: String,
        /// The new name.
        name: String,
    },
    /// A participant published a track (the local participant's identity for our own).
    TrackPublished {
        /// Whose.
        identity: String,
        /// The track.
        track: TrackFact,
    },
    /// A participant unpublished a track.
    TrackUnpublished {
        /// Whose.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// We subscribed to a remote track (its media flows).
    TrackSubscribed {
        /// Whose.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// We unsubscribed from a remote track.
    TrackUnsubscribed {
        /// Whose.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// A track was muted.
    TrackMuted {
        /// Whose.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// A track was unmuted.
    TrackUnmuted {
        /// Whose.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// A text stream opened.
    StreamOpened {
        /// The stream ID.
        stream_id: String,
        /// The topic (`lk.transcription`, `lk.chat`, …).
        topic: String,
        /// The sender named by the stream (for user transcripts, an agent names the local user).
        sender_identity: String,
        /// Who sent the stream over the wire, when the SDK tells it apart from
        /// `sender_identity` (else the same).
        #[serde(default)]
        participant_identity: String,
        /// The attributes of the stream's header.
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// A chunk of text arrived on an open stream.
    StreamChunk {
        /// The stream.
        stream_id: String,
        /// The chunk's text.
        text: String,
    },
    /// A text stream ended.
    StreamClosed {
        /// The stream.
        stream_id: String,
        /// The stream's attributes at the end (header and trailer merged).
        #[serde(default)]
        attributes: BTreeMap<String, String>,
        /// The SDK's description of the failure, if the stream did not end normally.
        #[serde(default)]
        error: Option<String>,
    },
    /// The connection dropped; the room is restoring it.
    Reconnecting,
    /// The connection is restored.
    Reconnected,
    /// The server moved us to another room.
    Moved {
        /// The new room's name.
        #[serde(default)]
        room_name: String,
    },
    /// The connection ended; no fact follows.
    Disconnected {
        /// LiveKit's protocol `DisconnectReason` name (`CLIENT_INITIATED`, `ROOM_DELETED`, …).
        reason: String,
    },
}

/// A participant as a room reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParticipantFact {
    /// The identity.
    pub identity: String,
    /// The display name (may be empty).
    #[serde(default)]
    pub name: String,
    /// LiveKit's protocol `ParticipantInfo.Kind` name: `STANDARD`, `AGENT`, `SIP`, `INGRESS`,
    /// `EGRESS`, `CONNECTOR`, …
    #[serde(default)]
    pub kind: String,
    /// The attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The published tracks, in publication order.
    #[serde(default)]
    pub tracks: Vec<TrackFact>,
}

impl ParticipantFact {
    /// A participant with this identity and protocol kind, no name, attributes or tracks.
    pub fn new(identity: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { identity: identity.into(), kind: kind.into(), ..Self::default() }
    }

    /// An agent participant (`AGENT`).
    pub fn agent(identity: impl Into<String>) -> Self {
        Self::new(identity, "AGENT")
    }

    /// A regular participant (`STANDARD`).
    pub fn standard(identity: impl Into<String>) -> Self {
        Self::new(identity, "STANDARD")
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets one attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Adds a published track.
    pub fn with_track(mut self, track: TrackFact) -> Self {
        self.tracks.push(track);
        self
    }
}

/// A published track as a room reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrackFact {
    /// The track SID.
    pub sid: String,
    /// The track name.
    #[serde(default)]
    pub name: String,
    /// LiveKit's protocol `TrackSource` name: `CAMERA`, `MICROPHONE`, `SCREEN_SHARE`,
    /// `SCREEN_SHARE_AUDIO`, `UNKNOWN`.
    #[serde(default)]
    pub source: String,
    /// LiveKit's protocol `TrackType` name: `AUDIO` or `VIDEO`.
    #[serde(default)]
    pub kind: String,
    /// Whether the publication is muted.
    #[serde(default)]
    pub muted: bool,
    /// Whether we are subscribed to it (always `true` for our own tracks).
    #[serde(default)]
    pub subscribed: bool,
}

impl TrackFact {
    /// A track with this SID, protocol source and protocol kind, unmuted and unsubscribed.
    pub fn new(sid: impl Into<String>, source: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { sid: sid.into(), source: source.into(), kind: kind.into(), ..Self::default() }
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

    /// Sets whether we are subscribed.
    pub fn with_subscribed(mut self, subscribed: bool) -> Self {
        self.subscribed = subscribed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_json_with_their_type_tag() {
        let facts = [
            RoomFact::Connected {
                local_identity: "user".into(),
                room_name: "room".into(),
                participants: vec![
                    ParticipantFact::agent("agent")
                        .with_name("Agent")
                        .with_attribute("lk.agent.state", "listening")
                        .with_track(
                            TrackFact::new("TR_1", "MICROPHONE", "AUDIO").with_subscribed(true),
                        ),
                ],
            },
            RoomFact::Reconnecting,
            RoomFact::Disconnected { reason: "ROOM_DELETED".into() },
            RoomFact::StreamClosed {
                stream_id: "s".into(),
                attributes: BTreeMap::new(),
                error: Some("aborted".into()),
            },
        ];
        for fact in facts {
            let json = serde_json::to_string(&fact).unwrap();
            let back: RoomFact = serde_json::from_str(&json).unwrap();
            assert_eq!(back, fact, "{json}");
        }
        let json = serde_json::to_string(&RoomFact::Reconnected).unwrap();
        assert_eq!(json, r#"{"type":"reconnected"}"#);
    }

    #[test]
    fn optional_fields_may_be_left_out() {
        let fact: RoomFact = serde_json::from_str(
            r#"{"type":"stream_opened","stream_id":"s","topic":"lk.chat","sender_identity":"a"}"#,
        )
        .unwrap();
        let RoomFact::StreamOpened { participant_identity, attributes, .. } = fact else {
            panic!("a stream_opened fact");
        };
        assert!(participant_identity.is_empty() && attributes.is_empty());
    }

    #[test]
    fn unknown_fact_types_are_an_error_not_a_panic() {
        let result = serde_json::from_str::<RoomFact>(r#"{"type":"teleported"}"#);
        assert!(result.is_err());
        let result = serde_json::from_str::<RoomFact>(r#"["connected"]"#);
        assert!(result.is_err());
    }
}
