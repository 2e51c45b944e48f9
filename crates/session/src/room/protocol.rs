//! LiveKit's protocol values, as the session understands them: participant kinds, disconnect
//! reasons, track sources and kinds. Facts carry the protocol's enum names as strings; these
//! types parse them (leniently: `ROOM_DELETED`, `RoomDeleted` and `roomDeleted` are the same
//! name) and say what they mean in words a person understands.

use std::fmt;

/// The participant attribute an agent publishes its state in.
pub const AGENT_STATE_ATTRIBUTE: &str = "lk.agent.state";

/// The participant attribute of workers (avatars) that publish on behalf of an agent.
pub const PUBLISH_ON_BEHALF_ATTRIBUTE: &str = "lk.publish_on_behalf";

/// The topic of transcription text streams.
pub const TRANSCRIPTION_TOPIC: &str = "lk.transcription";

/// The topic of chat text streams.
pub const CHAT_TOPIC: &str = "lk.chat";

/// The transcription attribute naming the segment a stream belongs to.
pub const SEGMENT_ID_ATTRIBUTE: &str = "lk.segment_id";

/// The transcription attribute saying whether the segment is final (`"true"`/`"false"`).
pub const TRANSCRIPTION_FINAL_ATTRIBUTE: &str = "lk.transcription_final";

/// The protocol name of `s` reduced to upper-case letters and digits: `ROOM_DELETED`,
/// `RoomDeleted` and `room-deleted` all become `ROOMDELETED`.
fn normalized(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The kind of a room participant (LiveKit's `ParticipantInfo.Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParticipantKind {
    /// A regular client (`STANDARD`).
    Standard,
    /// An agent, or an avatar worker publishing for one (`AGENT`).
    Agent,
    /// Any other kind (`INGRESS`, `EGRESS`, `SIP`, `CONNECTOR`, …, or a name this version does
    /// not know).
    Other,
}

impl ParticipantKind {
    /// Parses a protocol name (`STANDARD`, `AGENT`, …). Anything else is [`Self::Other`]; an
    /// empty name is [`Self::Standard`], the protocol's default.
    pub fn from_protocol(name: &str) -> Self {
        match normalized(name).as_str() {
            "" | "STANDARD" => ParticipantKind::Standard,
            "AGENT" => ParticipantKind::Agent,
            _ => ParticipantKind::Other,
        }
    }
}

/// Why a room connection ended (LiveKit's `DisconnectReason`, plus
/// [`ConnectionLost`](Self::ConnectionLost) when the room went away without saying why).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// This client asked to leave (`CLIENT_INITIATED`).
    ClientInitiated,
    /// Another participant joined with the same identity (`DUPLICATE_IDENTITY`).
    DuplicateIdentity,
    /// The server is shutting down (`SERVER_SHUTDOWN`).
    ServerShutdown,
    /// The participant was removed from the room, e.g. by the server API (`PARTICIPANT_REMOVED`).
    ParticipantRemoved,
    /// The room was deleted, e.g. when the agent hung up (`ROOM_DELETED`).
    RoomDeleted,
    /// The client and the server disagreed on the connection state (`STATE_MISMATCH`).
    StateMismatch,
    /// Joining the room failed (`JOIN_FAILURE`).
    JoinFailure,
    /// The server migrated the participant to another node (`MIGRATION`).
    Migration,
    /// The signal connection closed unexpectedly (`SIGNAL_CLOSE`).
    SignalClose,
    /// The room closed because everyone left (`ROOM_CLOSED`).
    RoomClosed,
    /// A SIP callee was unavailable (`USER_UNAVAILABLE`).
    UserUnavailable,
    /// A SIP callee rejected the call (`USER_REJECTED`).
    UserRejected,
    /// The SIP trunk failed (`SIP_TRUNK_FAILURE`).
    SipTrunkFailure,
    /// The connection timed out (`CONNECTION_TIMEOUT`).
    ConnectionTimeout,
    /// The media connection failed (`MEDIA_FAILURE`).
    MediaFailure,
    /// The agent failed (`AGENT_ERROR`).
    AgentError,
    /// The connection was lost and could not be restored (an `UNKNOWN_REASON` after a
    /// reconnect attempt, or a room that went away without a reason).
    ConnectionLost,
    /// A reason this version does not know (or `UNKNOWN_REASON` outside a reconnect), with the
    /// name the room gave.
    Unknown(String),
}

impl DisconnectReason {
    /// Parses a protocol name (`ROOM_DELETED`, `CLIENT_INITIATED`, …). `UNKNOWN_REASON` is
    /// [`Self::ConnectionLost`] when `reconnecting` (LiveKit closes with it once its reconnect
    /// attempts run out), else [`Self::Unknown`].
    pub fn from_protocol(name: &str, reconnecting: bool) -> Self {
        match normalized(name).as_str() {
            "CLIENTINITIATED" => DisconnectReason::ClientInitiated,
            "DUPLICATEIDENTITY" => DisconnectReason::DuplicateIdentity,
            "SERVERSHUTDOWN" => DisconnectReason::ServerShutdown,
            "PARTICIPANTREMOVED" => DisconnectReason::ParticipantRemoved,
            "ROOMDELETED" => DisconnectReason::RoomDeleted,
            "STATEMISMATCH" => DisconnectReason::StateMismatch,
            "JOINFAILURE" => DisconnectReason::JoinFailure,
            "MIGRATION" => DisconnectReason::Migration,
            "SIGNALCLOSE" => DisconnectReason::SignalClose,
            "ROOMCLOSED" => DisconnectReason::RoomClosed,
            "USERUNAVAILABLE" => DisconnectReason::UserUnavailable,
            "USERREJECTED" => DisconnectReason::UserRejected,
            "SIPTRUNKFAILURE" => DisconnectReason::SipTrunkFailure,
            "CONNECTIONTIMEOUT" => DisconnectReason::ConnectionTimeout,
            "MEDIAFAILURE" => DisconnectReason::MediaFailure,
            "AGENTERROR" => DisconnectReason::AgentError,
            "CONNECTIONLOST" => DisconnectReason::ConnectionLost,
            "UNKNOWNREASON" | "UNKNOWN" | "" if reconnecting => DisconnectReason::ConnectionLost,
            _ => DisconnectReason::Unknown(name.to_owned()),
        }
    }

    /// Whether the session simply ended: the app left, or the room was closed or deleted
    /// (an agent hangs up by deleting the room). Any other reason is also the session's error.
    pub fn is_normal_end(&self) -> bool {
        matches!(
            self,
            DisconnectReason::ClientInitiated
                | DisconnectReason::RoomDeleted
                | DisconnectReason::RoomClosed
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ClientInitiated => f.write_str("you left the room"),
            DisconnectReason::DuplicateIdentity => {
                f.write_str("someone else joined the room with the same identity")
            }
            DisconnectReason::ServerShutdown => f.write_str("the LiveKit server shut down"),
            DisconnectReason::ParticipantRemoved => f.write_str("you were removed from the room"),
            DisconnectReason::RoomDeleted => f.write_str("the room was closed"),
            DisconnectReason::StateMismatch => {
                f.write_str("the connection to the server got out of sync")
            }
            DisconnectReason::JoinFailure => f.write_str("joining the room failed"),
            DisconnectReason::Migration => f.write_str("the server moved the session elsewhere"),
            DisconnectReason::SignalClose => f.write_str("the connection to the server closed"),
            DisconnectReason::RoomClosed => f.write_str("the room closed after everyone left"),
            DisconnectReason::UserUnavailable => f.write_str("the person called was unavailable"),
            DisconnectReason::UserRejected => f.write_str("the person called rejected the call"),
            DisconnectReason::SipTrunkFailure => f.write_str("the phone line failed"),
            DisconnectReason::ConnectionTimeout => f.write_str("the connection timed out"),
            DisconnectReason::MediaFailure => f.write_str("the media connection failed"),
            DisconnectReason::AgentError => f.write_str("the agent failed"),
            DisconnectReason::ConnectionLost => f.write_str("the connection was lost"),
            DisconnectReason::Unknown(name) if name.is_empty() => {
                f.write_str("the connection ended for an unknown reason")
            }
            DisconnectReason::Unknown(name) => {
                write!(f, "the connection ended (reason {name})")
            }
        }
    }
}

/// Where a track comes from (LiveKit's `TrackSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrackSource {
    /// A camera (`CAMERA`).
    Camera,
    /// A microphone (`MICROPHONE`).
    Microphone,
    /// A shared screen (`SCREEN_SHARE`).
    ScreenShare,
    /// A shared screen's audio (`SCREEN_SHARE_AUDIO`).
    ScreenShareAudio,
    /// Unknown (`UNKNOWN`, or a name this version does not know).
    Unknown,
}

impl TrackSource {
    /// Parses a protocol name.
    pub fn from_protocol(name: &str) -> Self {
        match normalized(name).as_str() {
            "CAMERA" => TrackSource::Camera,
            "MICROPHONE" => TrackSource::Microphone,
            "SCREENSHARE" => TrackSource::ScreenShare,
            "SCREENSHAREAUDIO" => TrackSource::ScreenShareAudio,
            _ => TrackSource::Unknown,
        }
    }
}

/// Whether a track is audio or video (LiveKit's `TrackType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrackKind {
    /// Audio (`AUDIO`).
    Audio,
    /// Video (`VIDEO`).
    Video,
    /// Anything else (`DATA`, or a name this version does not know).
    Other,
}

impl TrackKind {
    /// Parses a protocol name.
    pub fn from_protocol(name: &str) -> Self {
        match normalized(name).as_str() {
            "AUDIO" => TrackKind::Audio,
            "VIDEO" => TrackKind::Video,
            _ => TrackKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_parse_in_every_spelling() {
        for name in ["ROOM_DELETED", "RoomDeleted", "roomDeleted", "room-deleted"] {
            assert_eq!(DisconnectReason::from_protocol(name, false), DisconnectReason::RoomDeleted);
        }
        assert_eq!(ParticipantKind::from_protocol("AGENT"), ParticipantKind::Agent);
        assert_eq!(ParticipantKind::from_protocol("Agent"), ParticipantKind::Agent);
        assert_eq!(ParticipantKind::from_protocol(""), ParticipantKind::Standard);
        assert_eq!(ParticipantKind::from_protocol("SIP"), ParticipantKind::Other);
        assert_eq!(TrackSource::from_protocol("SCREEN_SHARE_AUDIO"), TrackSource::ScreenShareAudio);
        assert_eq!(TrackSource::from_protocol("hologram"), TrackSource::Unknown);
        assert_eq!(TrackKind::from_protocol("VIDEO"), TrackKind::Video);
    }

    #[test]
    fn unknown_reason_means_a_lost_connection_only_after_a_reconnect_attempt() {
        assert_eq!(
            DisconnectReason::from_protocol("UNKNOWN_REASON", true),
            DisconnectReason::ConnectionLost
        );
        assert_eq!(
            DisconnectReason::from_protocol("UNKNOWN_REASON", false),
            DisconnectReason::Unknown("UNKNOWN_REASON".into())
        );
    }

    #[test]
    fn every_reason_reads_as_words_not_as_an_enum_name() {
        let names = [
            "CLIENT_INITIATED",
            "DUPLICATE_IDENTITY",
            "SERVER_SHUTDOWN",
            "PARTICIPANT_REMOVED",
            "ROOM_DELETED",
            "STATE_MISMATCH",
            "JOIN_FAILURE",
            "MIGRATION",
            "SIGNAL_CLOSE",
            "ROOM_CLOSED",
            "USER_UNAVAILABLE",
            "USER_REJECTED",
            "SIP_TRUNK_FAILURE",
            "CONNECTION_TIMEOUT",
            "MEDIA_FAILURE",
            "AGENT_ERROR",
        ];
        for name in names {
            let reason = DisconnectReason::from_protocol(name, false);
            assert!(!matches!(reason, DisconnectReason::Unknown(_)), "{name} is known");
            let text = reason.to_string();
            assert!(text.contains(' '), "{name}: {text}");
            let camel = format!("{reason:?}");
            assert!(!text.contains(&camel), "{name}: {text}");
        }
    }

    #[test]
    fn only_leaving_and_a_closed_room_are_normal_ends() {
        assert!(DisconnectReason::RoomDeleted.is_normal_end());
        assert!(DisconnectReason::ClientInitiated.is_normal_end());
        assert!(DisconnectReason::RoomClosed.is_normal_end());
        assert!(!DisconnectReason::ParticipantRemoved.is_normal_end());
        assert!(!DisconnectReason::Migration.is_normal_end());
        assert!(!DisconnectReason::ConnectionLost.is_normal_end());
    }
}
