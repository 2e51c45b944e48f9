//! A room the app supplies: the foreign interface through which an app that already uses
//! LiveKit's Swift, Android or Python SDK runs the session core over its own `Room`.
//!
//! The app implements [`ForeignRoom`] (join) and [`ForeignRoomLink`] (act on the joined room)
//! and forwards its room's events as [`RoomFact`]s into the [`RoomFactSink`] it is given —
//! [`RoomFact::Connected`] first, before `connect` returns. Facts carry LiveKit's protocol
//! values as strings (`AGENT`, `ROOM_DELETED`, `MICROPHONE`, …), never a platform's enums: the
//! host forwards, Rust maps. [`ForeignTransport`] adapts such a room to `session::Transport`
//! and takes no decisions of its own: the session's translation layer takes them all.
//!
//! These records mirror `session::RoomFact`, `session::ParticipantFact` and
//! `session::TrackFact` field for field (maps are unordered here).

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;
use session::{FactSink, TransportError, TransportLink};

use crate::{error::RoomError, runtime::runtime};

/// A published track as a room reports it (mirrors `session::TrackFact`).
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct TrackFact {
    /// The track SID.
    pub sid: String,
    /// The track name.
    #[uniffi(default = "")]
    pub name: String,
    /// LiveKit's protocol `TrackSource` name: `CAMERA`, `MICROPHONE`, `SCREEN_SHARE`,
    /// `SCREEN_SHARE_AUDIO`, `UNKNOWN`.
    #[uniffi(default = "")]
    pub source: String,
    /// LiveKit's protocol `TrackType` name: `AUDIO` or `VIDEO`.
    #[uniffi(default = "")]
    pub kind: String,
    /// Whether the publication is muted.
    #[uniffi(default = false)]
    pub muted: bool,
    /// Whether we are subscribed to it (always `true` for our own tracks).
    #[uniffi(default = false)]
    pub subscribed: bool,
}

impl From<TrackFact> for session::TrackFact {
    fn from(track: TrackFact) -> Self {
        session::TrackFact::new(track.sid, track.source, track.kind)
            .with_name(track.name)
            .with_muted(track.muted)
            .with_subscribed(track.subscribed)
    }
}

/// A participant as a room reports it (mirrors `session::ParticipantFact`).
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct ParticipantFact {
    /// The identity.
    pub identity: String,
    /// The display name (may be empty).
    #[uniffi(default = "")]
    pub name: String,
    /// LiveKit's protocol `ParticipantInfo.Kind` name: `STANDARD`, `AGENT`, `SIP`, `INGRESS`,
    /// `EGRESS`, `CONNECTOR`, … (empty: `STANDARD`).
    #[uniffi(default = "")]
    pub kind: String,
    /// The attributes.
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
    /// The published tracks, in publication order.
    #[uniffi(default)]
    pub tracks: Vec<TrackFact>,
}

impl From<ParticipantFact> for session::ParticipantFact {
    fn from(participant: ParticipantFact) -> Self {
        let mut core = session::ParticipantFact::new(participant.identity, participant.kind)
            .with_name(participant.name);
        core.attributes = participant.attributes.into_iter().collect();
        core.tracks = participant.tracks.into_iter().map(Into::into).collect();
        core
    }
}

/// One thing a room reported, in the room's order (mirrors `session::RoomFact`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RoomFact {
    /// The room is joined: who we are and who is already there, with their tracks. The first
    /// fact of every connection, pushed before `connect` returns.
    Connected {
        /// The local participant's identity.
        local_identity: String,
        /// The room's name.
        room_name: String,
        /// The remote participants already in the room, in join order.
        participants: Vec<ParticipantFact>,
    },
    /// A remote participant joined (also: re-announced by a full reconnect).
    ParticipantJoined {
        /// Who.
        participant: ParticipantFact,
    },
    /// A remote participant left.
    ParticipantLeft {
        /// Who.
        identity: String,
    },
    /// A participant's attributes changed.
    AttributesChanged {
        /// Whose.
        identity: String,
        /// The change exactly as the event carries it (a removed key has an empty value).
        changed: HashMap<String, String>,
        /// All attributes as the SDK reports them now.
        attributes: HashMap<String, String>,
    },
    /// A participant's display name changed.
    NameChanged {
        /// Whose.
        identity: String,
        /// The new name.
        name: String,
    },
    /// A participant published a track (the local identity for our own).
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
    /// We subscribed to a remote track.
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
        /// The sender named by the stream (the stream's `senderIdentity`).
        sender_identity: String,
        /// Who sent the stream over the wire, when the SDK tells it apart (else the same or
        /// empty).
        participant_identity: String,
        /// The attributes of the stream's header.
        attributes: HashMap<String, String>,
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
        attributes: HashMap<String, String>,
        /// The SDK's description of the failure, if the stream did not end normally.
        error: Option<String>,
    },
    /// The connection dropped; the room is restoring it.
    Reconnecting,
    /// The connection is restored.
    Reconnected,
    /// The server moved us to another room.
    Moved {
        /// The new room's name.
        room_name: String,
    },
    /// The connection ended; no fact follows.
    Disconnected {
        /// LiveKit's protocol `DisconnectReason` name (`CLIENT_INITIATED`, `ROOM_DELETED`, …).
        reason: String,
    },
}

impl From<RoomFact> for session::RoomFact {
    fn from(fact: RoomFact) -> Self {
        use session::RoomFact as Core;
        let map = |map: HashMap<String, String>| map.into_iter().collect();
        match fact {
            RoomFact::Connected { local_identity, room_name, participants } => Core::Connected {
                local_identity,
                room_name,
                participants: participants.into_iter().map(Into::into).collect(),
            },
            RoomFact::ParticipantJoined { participant } => {
                Core::ParticipantJoined { participant: participant.into() }
            }
            RoomFact::ParticipantLeft { identity } => Core::ParticipantLeft { identity },
            RoomFact::AttributesChanged { identity, changed, attributes } => {
                Core::AttributesChanged {
                    identity,
                    changed: map(changed),
                    attributes: map(attributes),
                }
            }
            RoomFact::NameChanged { identity, name } => Core::NameChanged { identity, name },
            RoomFact::TrackPublished { identity, track } => {
                Core::TrackPublished { identity, track: track.into() }
            }
            RoomFact::TrackUnpublished { identity, sid } => {
                Core::TrackUnpublished { identity, sid }
            }
            RoomFact::TrackSubscribed { identity, sid } => Core::TrackSubscribed { identity, sid },
            RoomFact::TrackUnsubscribed { identity, sid } => {
                Core::TrackUnsubscribed { identity, sid }
            }
            RoomFact::TrackMuted { identity, sid } => Core::TrackMuted { identity, sid },
            RoomFact::TrackUnmuted { identity, sid } => Core::TrackUnmuted { identity, sid },
            RoomFact::StreamOpened {
                stream_id,
                topic,
                sender_identity,
                participant_identity,
                attributes,
            } => Core::StreamOpened {
                stream_id,
                topic,
                sender_identity,
                participant_identity,
                attributes: map(attributes),
            },
            RoomFact::StreamChunk { stream_id, text } => Core::StreamChunk { stream_id, text },
            RoomFact::StreamClosed { stream_id, attributes, error } => {
                Core::StreamClosed { stream_id, attributes: map(attributes), error }
            }
            RoomFact::Reconnecting => Core::Reconnecting,
            RoomFact::Reconnected => Core::Reconnected,
            RoomFact::Moved { room_name } => Core::Moved { room_name },
            RoomFact::Disconnected { reason } => Core::Disconnected { reason },
        }
    }
}

/// Where the app pushes its room's facts, in the room's order. Thread-safe; `push` never
/// blocks.
#[derive(uniffi::Object)]
pub struct RoomFactSink {
    sink: FactSink,
}

impl RoomFactSink {
    pub(crate) fn new(sink: FactSink) -> Arc<Self> {
        Arc::new(Self { sink })
    }
}

#[uniffi::export]
impl RoomFactSink {
    /// Delivers `fact`. `false` once the session no longer listens (the connection ended, the
    /// start was cancelled or the session is gone): the app can stop forwarding.
    pub fn push(&self, fact: RoomFact) -> bool {
        self.sink.push(fact.into())
    }

    /// Whether the session no longer listens.
    pub fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }
}

impl fmt::Debug for RoomFactSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomFactSink").field("closed", &self.sink.is_closed()).finish()
    }
}

/// A joined room, as `ForeignRoom.connect` returns it: the app's [`ForeignRoomLink`], held by
/// the session. (An object rather than the link itself: uniffi 0.32 cannot return a foreign
/// trait object from a foreign async method.)
#[derive(uniffi::Object)]
pub struct RoomLink {
    link: Arc<dyn ForeignRoomLink>,
}

#[uniffi::export]
impl RoomLink {
    /// Wraps the app's link to a joined room.
    #[uniffi::constructor]
    pub fn new(link: Arc<dyn ForeignRoomLink>) -> Arc<Self> {
        Arc::new(Self { link })
    }
}

impl fmt::Debug for RoomLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomLink").finish_non_exhaustive()
    }
}

/// A room connection the app supplies (for example over LiveKit's Android or Swift SDK).
#[uniffi::export(rust, foreign, async_runtime = "tokio")]
#[async_trait]
pub trait ForeignRoom: Send + Sync {
    /// Joins the room that `token` grants on the server at `url`; subscribes to the room's
    /// events and forwards each as a fact into `sink`, [`RoomFact::Connected`] (with the
    /// participants already there and their tracks) first, before returning. Keep `sink` while
    /// the room is joined: once the app holds no reference to it, the session takes the
    /// connection as lost. Returns the link
    /// to the joined room (`RoomLink(link)`). Called again only after the previous link was
    /// disconnected; a connect may still be running when the session gives up on it (its
    /// start was cancelled): the session then disconnects the link it returns at once.
    async fn connect(
        &self,
        url: String,
        token: String,
        sink: Arc<RoomFactSink>,
    ) -> Result<Arc<RoomLink>, RoomError>;
}

/// Actions on a room the app joined. The session calls `disconnect` when it ends, and also
/// when it drops the link without ending (a start cancelled while connecting).
#[uniffi::export(rust, foreign, async_runtime = "tokio")]
#[async_trait]
pub trait ForeignRoomLink: Send + Sync {
    /// Sends `text` as a text stream on `topic`; returns the stream ID.
    async fn send_text(&self, topic: String, text: String) -> Result<String, RoomError>;
    /// Publishes (or unmutes) the microphone, or mutes it.
    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), RoomError>;
    /// Leaves the room. After it returns the app pushes no more facts. An error is ignored:
    /// the session is left either way.
    async fn disconnect(&self) -> Result<(), RoomError>;
}

/// `session::Transport` over a room the app supplies: forwards, decides nothing.
pub(crate) struct ForeignTransport {
    room: Arc<dyn ForeignRoom>,
}

impl ForeignTransport {
    pub(crate) fn new(room: Arc<dyn ForeignRoom>) -> Self {
        Self { room }
    }
}

#[async_trait]
impl session::Transport for ForeignTransport {
    async fn connect(
        &self,
        server_url: &str,
        token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        let room = Arc::clone(&self.room);
        let (url, token) = (server_url.to_owned(), token.to_owned());
        // The app's connect runs to completion on the crate's runtime even if this future is
        // dropped (the start was cancelled): a room it joins anyway is then wrapped in a link
        // that nobody holds, whose drop leaves the room at once. Waiting here owns the task
        // until then; afterwards it ends by itself when the app's connect returns.
        let connect = runtime().spawn(async move {
            let link = room.connect(url, token, RoomFactSink::new(sink)).await?;
            Ok::<_, RoomError>(Arc::new(ForeignLink::new(Arc::clone(&link.link))))
        });
        match connect.await {
            Ok(Ok(link)) => Ok(link),
            Ok(Err(error)) => Err(error.into()),
            Err(join) => {
                Err(TransportError::failed(format!("the app's room connect failed: {join}")))
            }
        }
    }
}

impl fmt::Debug for ForeignTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignTransport").finish_non_exhaustive()
    }
}

/// `session::TransportLink` over the app's link; dropping it without a disconnect leaves the
/// room.
struct ForeignLink {
    link: Arc<dyn ForeignRoomLink>,
    left: AtomicBool,
}

impl ForeignLink {
    fn new(link: Arc<dyn ForeignRoomLink>) -> Self {
        Self { link, left: AtomicBool::new(false) }
    }
}

#[async_trait]
impl TransportLink for ForeignLink {
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError> {
        Ok(self.link.send_text(topic.to_owned(), text.to_owned()).await?)
    }

    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), TransportError> {
        Ok(self.link.set_microphone_enabled(enabled).await?)
    }

    async fn disconnect(&self) {
        if !self.left.swap(true, Ordering::AcqRel) {
            // The session is left whatever the app's room says.
            let _ = self.link.disconnect().await;
        }
    }
}

impl Drop for ForeignLink {
    fn drop(&mut self) {
        if !self.left.swap(true, Ordering::AcqRel) {
            let link = Arc::clone(&self.link);
            // Nothing owns the room any more: leave it. The task ends when the app's
            // disconnect returns.
            runtime().spawn(async move {
                let _ = link.disconnect().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Mutex, PoisonError},
        time::Duration,
    };

    use tokio::sync::{Notify, oneshot};

    use super::*;

    /// What the test room saw.
    #[derive(Default)]
    struct Log {
        connects: Vec<(String, String)>,
        sent: Vec<(String, String)>,
        microphone: Vec<bool>,
        disconnects: usize,
    }

    struct TestRoom {
        log: Arc<Mutex<Log>>,
        left: Arc<Notify>,
        /// Notified when `connect` is called.
        called: Arc<Notify>,
        /// When set, `connect` waits for it before joining.
        gate: Mutex<Option<oneshot::Receiver<()>>>,
        fail_connect: bool,
        /// Whether the link holds the sink (a real room does).
        keep_sink: bool,
    }

    impl TestRoom {
        fn new() -> Self {
            Self {
                log: Arc::default(),
                left: Arc::new(Notify::new()),
                called: Arc::new(Notify::new()),
                gate: Mutex::new(None),
                fail_connect: false,
                keep_sink: true,
            }
        }
    }

    struct TestLink {
        log: Arc<Mutex<Log>>,
        left: Arc<Notify>,
        /// Held while joined, as a real room does: a sink dropped by everyone means the
        /// connection was lost.
        _sink: Option<Arc<RoomFactSink>>,
    }

    fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
        log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[async_trait]
    impl ForeignRoom for TestRoom {
        async fn connect(
            &self,
            url: String,
            token: String,
            sink: Arc<RoomFactSink>,
        ) -> Result<Arc<RoomLink>, RoomError> {
            lock(&self.log).connects.push((url, token));
            self.called.notify_one();
            let gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            if self.fail_connect {
                return Err(RoomError::Failed { reason: "no route to the server".into() });
            }
            let agent = ParticipantFact {
                identity: "agent-1".into(),
                kind: "AGENT".into(),
                attributes: HashMap::from([("lk.agent.state".into(), "listening".into())]),
                tracks: vec![TrackFact {
                    sid: "TR_1".into(),
                    source: "MICROPHONE".into(),
                    kind: "AUDIO".into(),
                    subscribed: true,
                    ..TrackFact::default()
                }],
                ..ParticipantFact::default()
            };
            sink.push(RoomFact::Connected {
                local_identity: "user".into(),
                room_name: "room-1".into(),
                participants: vec![agent],
            });
            Ok(RoomLink::new(Arc::new(TestLink {
                log: Arc::clone(&self.log),
                left: Arc::clone(&self.left),
                _sink: self.keep_sink.then_some(sink),
            })))
        }
    }

    #[async_trait]
    impl ForeignRoomLink for TestLink {
        async fn send_text(&self, topic: String, text: String) -> Result<String, RoomError> {
            lock(&self.log).sent.push((topic, text));
            Ok("stream-1".into())
        }

        async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), RoomError> {
            lock(&self.log).microphone.push(enabled);
            if enabled {
                Err(RoomError::Failed { reason: "no microphone permission".into() })
            } else {
                Ok(())
            }
        }

        async fn disconnect(&self) -> Result<(), RoomError> {
            lock(&self.log).disconnects += 1;
            self.left.notify_one();
            Err(RoomError::Failed { reason: "already gone".into() })
        }
    }

    fn session_over(room: TestRoom) -> session::Session {
        session::Session::with_options(
            token_source::TokenSource::literal("wss://room.test", "secret-token"),
            token_source::TokenRequestOptions::new(),
            session::SessionOptions::new().with_transport(ForeignTransport::new(Arc::new(room))),
        )
    }

    async fn left_within(left: &Notify) {
        tokio::time::timeout(Duration::from_secs(5), left.notified())
            .await
            .expect("the room was left");
    }

    #[test]
    fn facts_convert_field_for_field() {
        let fact = RoomFact::StreamClosed {
            stream_id: "s".into(),
            attributes: HashMap::from([("k".into(), "v".into())]),
            error: Some("aborted".into()),
        };
        let session::RoomFact::StreamClosed { stream_id, attributes, error } = fact.into() else {
            panic!("a stream-closed fact");
        };
        assert_eq!((stream_id.as_str(), error.as_deref()), ("s", Some("aborted")));
        assert_eq!(attributes.get("k").map(String::as_str), Some("v"));

        let participant = ParticipantFact {
            identity: "a".into(),
            name: "A".into(),
            kind: "AGENT".into(),
            tracks: vec![TrackFact { sid: "T".into(), muted: true, ..TrackFact::default() }],
            ..ParticipantFact::default()
        };
        let expected = session::ParticipantFact::agent("a")
            .with_name("A")
            .with_track(session::TrackFact::new("T", "", "").with_muted(true));
        assert_eq!(session::ParticipantFact::from(participant), expected);
        assert_eq!(
            session::RoomFact::from(RoomFact::Disconnected { reason: "ROOM_DELETED".into() }),
            session::RoomFact::Disconnected { reason: "ROOM_DELETED".into() }
        );
    }

    #[test]
    fn a_sink_reports_when_nobody_listens() {
        let (sink, receiver) = FactSink::channel();
        let sink = RoomFactSink::new(sink);
        assert!(sink.push(RoomFact::Reconnecting));
        assert!(!sink.is_closed());
        drop(receiver);
        assert!(!sink.push(RoomFact::Reconnected));
        assert!(sink.is_closed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_runs_over_the_apps_room() {
        let room = TestRoom::new();
        let (log, left) = (Arc::clone(&room.log), Arc::clone(&room.left));
        let session = session_over(room);
        session.start().await.expect("connected");
        assert_eq!(session.connection_state(), session::ConnectionState::Connected);
        assert_eq!(session.room_name(), "room-1");
        assert_eq!(session.agent().state, session::AgentState::Listening);
        assert_eq!(
            lock(&log).connects,
            [("wss://room.test".to_owned(), "secret-token".to_owned())]
        );
        // The app's microphone error is the session's media error; the session stays connected.
        let error = session.error().expect("a media error").to_string();
        assert!(error.contains("no microphone permission"), "{error}");

        let sent = session.send("hello").await.expect("sent");
        assert_eq!(sent.id, "stream-1");
        assert_eq!(lock(&log).sent, [("lk.chat".to_owned(), "hello".to_owned())]);

        session.end().await;
        left_within(&left).await;
        assert_eq!(lock(&log).disconnects, 1, "left once");
        assert_eq!(session.disconnect_reason(), Some(session::DisconnectReason::ClientInitiated));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connect_that_completes_after_the_start_was_cancelled_is_left() {
        let (open, gate) = oneshot::channel();
        let room = TestRoom::new();
        *room.gate.lock().unwrap_or_else(PoisonError::into_inner) = Some(gate);
        let (log, left) = (Arc::clone(&room.log), Arc::clone(&room.left));
        let called = Arc::clone(&room.called);
        let session = Arc::new(session_over(room));
        let starting = tokio::spawn({
            let session = Arc::clone(&session);
            async move { session.start().await }
        });
        tokio::time::timeout(Duration::from_secs(5), called.notified())
            .await
            .expect("the app's connect was called");
        session.end().await;
        let result = starting.await.expect("start returned");
        assert!(matches!(result, Err(session::SessionError::Cancelled)), "{result:?}");
        assert_eq!(lock(&log).disconnects, 0, "nothing joined yet");

        open.send(()).expect("the connect waits");
        left_within(&left).await;
        assert_eq!(lock(&log).disconnects, 1);
        assert_eq!(session.connection_state(), session::ConnectionState::Disconnected);
        assert!(session.messages().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_room_that_lets_go_of_its_sink_lost_the_connection() {
        let mut room = TestRoom::new();
        room.keep_sink = false;
        let session = session_over(room);
        let mut events = session.subscribe();
        session.start().await.expect("connected");
        tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(event) = events.next().await {
                if let session::SessionEvent::Disconnected(_) = event {
                    return;
                }
            }
        })
        .await
        .expect("the session noticed");
        assert_eq!(session.disconnect_reason(), Some(session::DisconnectReason::ConnectionLost));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_apps_connect_error_is_a_connection_error() {
        let mut room = TestRoom::new();
        room.fail_connect = true;
        let session = session_over(room);
        let error = session.start().await.expect_err("the connect failed").to_string();
        assert!(error.contains("no route to the server"), "{error}");
        assert!(!error.contains("secret-token"), "{error}");
        assert_eq!(session.connection_state(), session::ConnectionState::Disconnected);
    }
}
