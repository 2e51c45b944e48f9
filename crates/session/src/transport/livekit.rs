//! The LiveKit transport: joins a room with the `livekit` crate (0.10) and forwards what the
//! room reports as [`RoomFact`]s. Glue only: it reads the SDK and writes facts; every decision
//! (kinds, reasons, topics, stream failures, reconnects) is the translation layer's
//! (`crate::translate`), so this transport behaves exactly like every other one.
//!
//! # What is forwarded as what
//!
//! | LiveKit (`livekit` 0.10) | [`RoomFact`] |
//! |---|---|
//! | `Room::connect(url, token, options)` | a `RoomError` becomes [`TransportError::Failed`] (never with the token) |
//! | first event `Connected { participants_with_tracks }` | [`RoomFact::Connected`] (by join time, then identity), pushed before `connect` returns |
//! | `ParticipantConnected(p)` / `ParticipantDisconnected(p)` | `ParticipantJoined` / `ParticipantLeft`, in the SDK's order |
//! | `ParticipantAttributesChanged { participant, changed_attributes }` | `AttributesChanged` with the event's `changed_attributes` (and the live map, for reference) |
//! | `ParticipantNameChanged { participant, name }` | `NameChanged` |
//! | `TrackPublished`, `TrackUnpublished`, `TrackSubscribed`, `TrackUnsubscribed`, `TrackMuted`, `TrackUnmuted`; `LocalTrackPublished` / `LocalTrackUnpublished` | the track facts (local ones with the local identity) |
//! | `Reconnecting` / `Reconnected` / `Moved { room }` | the same facts (`ConnectionStateChanged` repeats them and is ignored) |
//! | `Disconnected { reason }` | `Disconnected` with the protocol name (`reason.as_str_name()`), then nothing |
//! | `TextStreamOpened { reader, topic, participant_identity }` for the topics the translation layer reads | `StreamOpened`, one `StreamChunk` per chunk, `StreamClosed` with the trailer-merged attributes and the SDK's error text |
//!
//! | [`TransportLink`] | LiveKit |
//! |---|---|
//! | `send_text(topic, text)` | `local_participant().send_text(text, SendTextOptions::new_with_topic(topic))`; returns the stream ID |
//! | `connect` | also opens the platform audio device (`PlatformAudio::new()`, alongside `Room::connect`) so that subscribed remote audio — the agent's voice — plays out whether or not the microphone is ever published; a device that cannot be opened is logged and the connection goes on without playout |
//! | `set_microphone_enabled(true)` | first time: `LocalAudioTrack::create_audio_track("microphone", audio.rtc_source())` on the connection's `PlatformAudio` (opened now if it is not open yet) published as `TrackSource::Microphone`; later: unmute it |
//! | `set_microphone_enabled(false)` | mute the microphone publication (it stays published) |
//! | `disconnect()` | stop the forwarding tasks, `room.close()` (an already closed room is fine), release the audio device |
//!
//! # The SDK's tracks
//!
//! [`LiveKitTransport::remote_track`] returns the SDK's own `RemoteTrack` for a
//! [`TrackReference`](crate::TrackReference)'s SID, to render video frames
//! (`NativeVideoStream`) or feed an audio sink (`NativeAudioStream`).
//!
//! This glue is type-checked only (`DOCS_RS=1 cargo clippy --features livekit`): libwebrtc
//! cannot be linked where it was written, so the audio playout has not been heard and the
//! track handles have not been rendered here.
//!
//! # Tasks
//!
//! The forwarding task and the stream readers belong to the connection: they are aborted on
//! disconnect, when the room reports `Disconnected`, and when the link is dropped. Dropping
//! the link without `disconnect` still closes the room, in a task that ends when the close
//! does.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, Weak,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;
use futures_util::{FutureExt, StreamExt};
use livekit::{
    ConnectionState as RoomConnectionState, PlatformAudio, Room, RoomError, RoomEvent, RoomOptions,
    SendTextOptions, StreamReader, TextStreamReader,
    options::TrackPublishOptions,
    participant::{ParticipantKind as RoomParticipantKind, RemoteParticipant},
    publication::TrackPublication,
    track::{LocalAudioTrack, LocalTrack, RemoteTrack, TrackKind, TrackSource},
};
use tokio::{
    runtime::Handle,
    sync::{OnceCell, mpsc},
    task::{JoinHandle, JoinSet},
};

use crate::{
    error::TransportError,
    room::facts::{ParticipantFact, RoomFact, TrackFact},
    translate::is_session_topic,
    transport::{FactSink, Transport, TransportLink},
};

/// The name of the published microphone track.
const MICROPHONE_TRACK_NAME: &str = "microphone";

/// Connects sessions to LiveKit rooms with the `livekit` crate.
///
/// ```no_run
/// use session::{LiveKitTransport, SessionOptions};
///
/// let transport = LiveKitTransport::new().with_adaptive_stream(true).with_dynacast(true);
/// let options = SessionOptions::new().with_transport(transport);
/// ```
///
/// The defaults: LiveKit's `RoomOptions::default()` (auto-subscribe on, adaptive stream and
/// dynacast off), the platform audio device opened at connect (remote audio plays out through
/// it) and the platform microphone for
/// [`set_microphone_enabled`](TransportLink::set_microphone_enabled).
///
/// Clones share the latest connection: keep one to reach the SDK's tracks
/// ([`remote_track`](Self::remote_track)).
#[derive(Clone)]
pub struct LiveKitTransport {
    room_options: RoomOptions,
    platform_microphone: bool,
    platform_audio: bool,
    /// The latest connection (weak: the session owns it).
    current: Arc<Mutex<Weak<Inner>>>,
}

impl Default for LiveKitTransport {
    fn default() -> Self {
        Self {
            room_options: RoomOptions::default(),
            platform_microphone: true,
            platform_audio: true,
            current: Arc::new(Mutex::new(Weak::new())),
        }
    }
}

impl LiveKitTransport {
    /// The defaults (see [`LiveKitTransport`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Joins rooms with `options` (encryption, RTC configuration, retries, timeouts, …).
    pub fn with_room_options(mut self, options: RoomOptions) -> Self {
        self.room_options = options;
        self
    }

    /// Whether to subscribe to remote tracks automatically (default on).
    pub fn with_auto_subscribe(mut self, enabled: bool) -> Self {
        self.room_options.auto_subscribe = enabled;
        self
    }

    /// Whether remote video adapts to the size it is shown at (default off).
    pub fn with_adaptive_stream(mut self, enabled: bool) -> Self {
        self.room_options.adaptive_stream = enabled;
        self
    }

    /// Whether to pause video layers that no one watches (default off).
    pub fn with_dynacast(mut self, enabled: bool) -> Self {
        self.room_options.dynacast = enabled;
        self
    }

    /// Whether enabling the microphone captures the device microphone through LiveKit's
    /// `PlatformAudio` (default on). When off, enabling the microphone fails and disabling it
    /// does nothing: use it for headless clients (and start sessions with
    /// `SessionOptions::with_microphone_enabled(false)`).
    pub fn with_platform_microphone(mut self, enabled: bool) -> Self {
        self.platform_microphone = enabled;
        self
    }

    /// Whether connecting opens the platform audio device (default on), through which
    /// LiveKit plays out the remote audio it receives — the agent's voice — whether or not the
    /// microphone is published. Turn it off for headless clients; if the device cannot be
    /// opened, the connection goes on without playout (logged).
    pub fn with_platform_audio(mut self, enabled: bool) -> Self {
        self.platform_audio = enabled;
        self
    }

    /// The options rooms are joined with.
    pub fn room_options(&self) -> &RoomOptions {
        &self.room_options
    }

    /// Asks the current connection's `livekit::Room` to simulate `scenario` (a signal
    /// reconnect, a full reconnect, a node failure, …), as LiveKit's SDKs do in their own tests.
    /// For tests and diagnostics; fails when not connected.
    pub async fn simulate_scenario(
        &self,
        scenario: livekit::SimulateScenario,
    ) -> Result<(), TransportError> {
        let inner = lock(&self.current).upgrade().ok_or(TransportError::NotConnected)?;
        let room = inner.live_room()?;
        room.simulate_scenario(scenario)
            .await
            .map_err(|error| TransportError::failed(format!("could not simulate: {error}")))
    }

    /// The SDK's own track for `sid` (a [`TrackReference`](crate::TrackReference)'s `sid`) in
    /// the latest connection of this transport (or of a clone of it): the handle to render
    /// video frames from (`livekit::webrtc::video_stream::native::NativeVideoStream`) or to
    /// read audio from. `None` when not connected, when no remote participant published that
    /// SID, or while it is not subscribed (LiveKit creates the track when it subscribes).
    pub fn remote_track(&self, sid: &str) -> Option<RemoteTrack> {
        let inner = lock(&self.current).upgrade()?;
        if inner.stopped.load(Ordering::SeqCst) {
            return None;
        }
        inner.room.remote_participants().into_values().find_map(|participant| {
            participant
                .track_publications()
                .into_iter()
                .find(|(track_sid, _)| track_sid.as_str() == sid)
                .and_then(|(_, publication)| publication.track())
        })
    }
}

impl fmt::Debug for LiveKitTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.room_options;
        f.debug_struct("LiveKitTransport")
            .field("auto_subscribe", &options.auto_subscribe)
            .field("adaptive_stream", &options.adaptive_stream)
            .field("dynacast", &options.dynacast)
            .field("encryption", &options.encryption.is_some())
            .field("join_retries", &options.join_retries)
            .field("connect_timeout", &options.connect_timeout)
            .field("platform_microphone", &self.platform_microphone)
            .field("platform_audio", &self.platform_audio)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Transport for LiveKitTransport {
    async fn connect(
        &self,
        server_url: &str,
        token: &str,
        sink: FactSink,
    ) -> Result<Arc<dyn TransportLink>, TransportError> {
        let runtime = Handle::try_current()
            .map_err(|_| TransportError::failed("the LiveKit transport needs a tokio runtime"))?;
        // The audio device opens while the room is joined (it enumerates devices through FFI:
        // off the runtime). A dropped connect drops the handle; the device is then released
        // when the open completes.
        let audio = self.platform_audio.then(|| tokio::task::spawn_blocking(PlatformAudio::new));
        let open_audio = async move {
            match audio {
                None => None,
                Some(handle) => match handle.await {
                    Ok(Ok(audio)) => Some(audio),
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "no platform audio device: remote audio will not play");
                        None
                    }
                    Err(_) => None,
                },
            }
        };
        let (joined, platform_audio) =
            tokio::join!(Room::connect(server_url, token, self.room_options.clone()), open_audio);
        let (room, mut room_events) = joined.map_err(|error| connect_error(&error, token))?;
        // Nothing below awaits: once the room is joined, connect cannot be cancelled half-way.

        // The room queues `Connected` with the participants already there before `connect`
        // returns: the exact snapshot the later events build on.
        let (first_event, mut participants) = match room_events.try_recv() {
            Ok(RoomEvent::Connected { participants_with_tracks }) => {
                (None, participants_with_tracks.into_iter().map(|(p, _)| p).collect())
            }
            other => (other.ok(), room.remote_participants().into_values().collect::<Vec<_>>()),
        };
        participants.sort_by(|a, b| {
            a.joined_at().cmp(&b.joined_at()).then_with(|| a.identity().cmp(&b.identity()))
        });
        sink.push(RoomFact::Connected {
            local_identity: room.local_participant().identity().into(),
            room_name: room.name(),
            participants: participants.iter().map(participant_fact).collect(),
        });

        let inner = Arc::new(Inner {
            room: Arc::new(room),
            runtime: runtime.clone(),
            platform_microphone: self.platform_microphone,
            sink: Mutex::new(Some(sink)),
            forwarding: Mutex::new(None),
            streams: Mutex::new(Some(JoinSet::new())),
            stopped: AtomicBool::new(false),
            close_requested: AtomicBool::new(false),
            microphone: OnceCell::new(),
            microphone_wanted: Mutex::new(false),
            platform_audio: Mutex::new(platform_audio),
        });
        *lock(&self.current) = Arc::downgrade(&inner);
        let forwarding = runtime.spawn(forward(Arc::downgrade(&inner), room_events, first_event));
        *lock(&inner.forwarding) = Some(forwarding);
        Ok(Arc::new(LiveKitLink(inner)))
    }
}

/// One joined room, shared by the link and (weakly) by its tasks.
struct Inner {
    /// Kept alive as long as anything can call into it: `LocalParticipant::send_text` unwraps
    /// the room session, which is gone once the `Room` is dropped.
    room: Arc<Room>,
    runtime: Handle,
    platform_microphone: bool,
    /// `None` once stopped: nothing is pushed after that.
    sink: Mutex<Option<FactSink>>,
    forwarding: Mutex<Option<JoinHandle<()>>>,
    /// The stream readers; dropping the set aborts them. `None` once stopped.
    streams: Mutex<Option<JoinSet<()>>>,
    stopped: AtomicBool,
    close_requested: AtomicBool,
    /// The published microphone track (published once, then muted and unmuted).
    microphone: OnceCell<LocalAudioTrack>,
    /// The microphone state last asked for; applied after every change and publish.
    microphone_wanted: Mutex<bool>,
    /// Keeps the platform audio device open for the connection: remote audio plays out through
    /// it, and the microphone track captures from it.
    platform_audio: Mutex<Option<PlatformAudio>>,
}

impl Inner {
    /// Pushes `fact`; `false` when stopped or nobody reads any more.
    fn push(&self, fact: RoomFact) -> bool {
        lock(&self.sink).as_ref().is_some_and(|sink| sink.push(fact))
    }

    /// Stops delivering events and aborts the tasks (the room stays open).
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let sink = lock(&self.sink).take();
        let forwarding = lock(&self.forwarding).take();
        let streams = lock(&self.streams).take();
        drop(sink);
        if let Some(forwarding) = forwarding {
            forwarding.abort();
        }
        // Dropping a JoinSet aborts every task in it.
        drop(streams);
    }

    /// The room, if it can still be used.
    fn live_room(&self) -> Result<Arc<Room>, TransportError> {
        if self.stopped.load(Ordering::SeqCst)
            || self.room.connection_state() == RoomConnectionState::Disconnected
        {
            return Err(TransportError::NotConnected);
        }
        Ok(Arc::clone(&self.room))
    }

    /// Reports a new text stream and starts reading it.
    fn open_stream(self: &Arc<Self>, reader: TextStreamReader, participant_identity: String) {
        let info = reader.info();
        let stream_id = info.id.clone();
        let fact = RoomFact::StreamOpened {
            stream_id: stream_id.clone(),
            topic: info.topic.clone(),
            // livekit 0.10 names the stream by the identity it arrived from.
            sender_identity: participant_identity.clone(),
            participant_identity,
            attributes: sorted(info.attributes()),
        };
        // Reported here, in the room's event order; the reader task only follows with chunks.
        if !self.push(fact) {
            return;
        }
        let mut streams = lock(&self.streams);
        let Some(streams) = streams.as_mut() else { return };
        while streams.try_join_next().is_some() {}
        streams.spawn_on(read_stream(Arc::downgrade(self), reader, stream_id), &self.runtime);
    }

    /// Mutes or unmutes the microphone as last asked.
    fn apply_microphone(&self) {
        let wanted = lock(&self.microphone_wanted);
        let Some(track) = self.microphone.get() else { return };
        // After a full reconnect LiveKit republishes the same track under a new publication.
        let publication = self
            .room
            .local_participant()
            .track_publications()
            .into_values()
            .find(|publication| publication.source() == TrackSource::Microphone);
        match (publication, *wanted) {
            (Some(publication), true) => publication.unmute(),
            (Some(publication), false) => publication.mute(),
            (None, true) => track.unmute(),
            (None, false) => track.mute(),
        }
    }

    /// Opens the device microphone and publishes it.
    async fn publish_microphone(&self) -> Result<LocalAudioTrack, TransportError> {
        let room = self.live_room()?;
        let opened = lock(&self.platform_audio).clone();
        let audio = match opened {
            Some(audio) => audio,
            // Opening the audio device enumerates devices through FFI: keep it off the runtime.
            None => tokio::task::spawn_blocking(PlatformAudio::new)
                .await
                .map_err(|_| {
                    TransportError::failed("opening the audio device failed unexpectedly")
                })?
                .map_err(|error| TransportError::failed(format!("no microphone: {error}")))?,
        };
        let track = LocalAudioTrack::create_audio_track(MICROPHONE_TRACK_NAME, audio.rtc_source());
        let options = TrackPublishOptions { source: TrackSource::Microphone, ..Default::default() };
        let participant = room.local_participant();
        let publication = participant
            .publish_track(LocalTrack::Audio(track.clone()), options)
            .await
            .map_err(|error| {
                TransportError::failed(format!("could not publish the microphone: {error}"))
            })?;
        if self.stopped.load(Ordering::SeqCst) {
            // Disconnected while publishing: do not leave a track in a closing room.
            let _ = participant.unpublish_track(&publication.sid()).await;
            return Err(TransportError::NotConnected);
        }
        *lock(&self.platform_audio) = Some(audio);
        Ok(track)
    }
}

/// The [`TransportLink`] of a LiveKit connection. Dropping it closes the room.
struct LiveKitLink(Arc<Inner>);

#[async_trait]
impl TransportLink for LiveKitLink {
    async fn send_text(&self, topic: &str, text: &str) -> Result<String, TransportError> {
        // `send_text` unwraps the room session and panics without it: check the room first,
        // keep it alive for the whole send, and turn a panic into an error anyway.
        let room = self.0.live_room()?;
        let options = SendTextOptions::new_with_topic(topic);
        let send = async move {
            let participant = room.local_participant();
            let result = participant.send_text(text, options).await;
            drop(room);
            result
        };
        match AssertUnwindSafe(send).catch_unwind().await {
            Ok(Ok(info)) => Ok(info.id),
            Ok(Err(error)) => {
                Err(TransportError::failed(format!("could not send on {topic}: {error}")))
            }
            Err(_) => Err(TransportError::failed(format!(
                "could not send on {topic}: the room closed while sending"
            ))),
        }
    }

    async fn set_microphone_enabled(&self, enabled: bool) -> Result<(), TransportError> {
        let inner = &self.0;
        *lock(&inner.microphone_wanted) = enabled;
        if enabled {
            if !inner.platform_microphone {
                return Err(TransportError::failed(
                    "the LiveKit transport was built without the platform microphone",
                ));
            }
            inner.live_room()?;
            // Concurrent calls share one publish; a failed publish is retried by the next call.
            inner.microphone.get_or_try_init(|| inner.publish_microphone()).await?;
        }
        // Applied after the publish too, so the last call wins whatever the interleaving.
        inner.apply_microphone();
        Ok(())
    }

    async fn disconnect(&self) {
        let inner = &self.0;
        inner.stop();
        if inner.close_requested.swap(true, Ordering::SeqCst) {
            return;
        }
        match inner.room.close().await {
            Ok(()) | Err(RoomError::AlreadyClosed) => {}
            Err(error) => tracing::debug!(%error, "closing the LiveKit room failed"),
        }
        // After the close unpublished the microphone.
        let audio = lock(&inner.platform_audio).take();
        drop(audio);
    }
}

impl Drop for LiveKitLink {
    fn drop(&mut self) {
        let inner = &self.0;
        inner.stop();
        if inner.close_requested.swap(true, Ordering::SeqCst) {
            return;
        }
        // A Room left unclosed stays connected: close it. The task ends when the close does.
        let room = Arc::clone(&inner.room);
        let audio = lock(&inner.platform_audio).take();
        inner.runtime.spawn(async move {
            let _ = room.close().await;
            drop(audio);
        });
    }
}

/// Forwards the room's events until it disconnects or the connection is gone.
async fn forward(
    inner: Weak<Inner>,
    mut events: mpsc::UnboundedReceiver<RoomEvent>,
    first_event: Option<RoomEvent>,
) {
    if let Some(event) = first_event
        && !forward_one(&inner, event)
    {
        return;
    }
    while let Some(event) = events.recv().await {
        if !forward_one(&inner, event) {
            return;
        }
    }
    // The room went away without `Disconnected`: closing the sink says the connection ended.
    if let Some(inner) = inner.upgrade() {
        inner.stop();
    }
}

/// Forwards one room event; `false` when forwarding is over.
fn forward_one(inner: &Weak<Inner>, event: RoomEvent) -> bool {
    let Some(inner) = inner.upgrade() else { return false };
    let fact = match event {
        RoomEvent::ParticipantConnected(participant) => {
            RoomFact::ParticipantJoined { participant: participant_fact(&participant) }
        }
        RoomEvent::ParticipantDisconnected(participant) => {
            RoomFact::ParticipantLeft { identity: participant.identity().into() }
        }
        RoomEvent::ParticipantAttributesChanged { participant, changed_attributes } => {
            RoomFact::AttributesChanged {
                identity: participant.identity().into(),
                changed: sorted(changed_attributes),
                attributes: sorted(participant.attributes()),
            }
        }
        RoomEvent::ParticipantNameChanged { participant, name, .. } => {
            RoomFact::NameChanged { identity: participant.identity().into(), name }
        }
        RoomEvent::TrackPublished { publication, participant } => RoomFact::TrackPublished {
            identity: participant.identity().into(),
            track: track_fact(
                &TrackPublication::Remote(publication.clone()),
                publication.is_subscribed(),
            ),
        },
        RoomEvent::LocalTrackPublished { publication, participant, .. } => {
            RoomFact::TrackPublished {
                identity: participant.identity().into(),
                track: track_fact(&TrackPublication::Local(publication), true),
            }
        }
        RoomEvent::TrackUnpublished { publication, participant } => RoomFact::TrackUnpublished {
            identity: participant.identity().into(),
            sid: publication.sid().into(),
        },
        RoomEvent::LocalTrackUnpublished { publication, participant } => {
            RoomFact::TrackUnpublished {
                identity: participant.identity().into(),
                sid: publication.sid().into(),
            }
        }
        RoomEvent::TrackSubscribed { publication, participant, .. } => RoomFact::TrackSubscribed {
            identity: participant.identity().into(),
            sid: publication.sid().into(),
        },
        RoomEvent::TrackUnsubscribed { publication, participant, .. } => {
            RoomFact::TrackUnsubscribed {
                identity: participant.identity().into(),
                sid: publication.sid().into(),
            }
        }
        RoomEvent::TrackMuted { participant, publication } => RoomFact::TrackMuted {
            identity: participant.identity().into(),
            sid: publication.sid().into(),
        },
        RoomEvent::TrackUnmuted { participant, publication } => RoomFact::TrackUnmuted {
            identity: participant.identity().into(),
            sid: publication.sid().into(),
        },
        RoomEvent::Reconnecting => RoomFact::Reconnecting,
        RoomEvent::Reconnected => RoomFact::Reconnected,
        RoomEvent::Moved { room } => RoomFact::Moved { room_name: room.name },
        RoomEvent::Disconnected { reason } => {
            inner.push(RoomFact::Disconnected { reason: reason.as_str_name().to_owned() });
            inner.stop();
            return false;
        }
        RoomEvent::TextStreamOpened { reader, topic, participant_identity } => {
            // A reader has one consumer: take only those of the topics the session reads.
            if is_session_topic(&topic)
                && let Some(reader) = reader.take()
            {
                inner.open_stream(reader, participant_identity.into());
            }
            return true;
        }
        _ => return true,
    };
    inner.push(fact)
}

/// Reads one text stream: a chunk fact per chunk, then the close.
async fn read_stream(inner: Weak<Inner>, mut reader: TextStreamReader, stream_id: String) {
    let mut error = None;
    while let Some(chunk) = reader.next().await {
        let Some(connection) = inner.upgrade() else { return };
        match chunk {
            Ok(text) => {
                if !connection.push(RoomFact::StreamChunk { stream_id: stream_id.clone(), text }) {
                    return;
                }
            }
            Err(failure) => {
                error = Some(failure.to_string());
                break;
            }
        }
    }
    let Some(connection) = inner.upgrade() else { return };
    // Re-read: the trailer's attributes are merged in when the stream ends.
    let attributes = sorted(reader.info().attributes());
    connection.push(RoomFact::StreamClosed { stream_id, attributes, error });
}

fn participant_fact(participant: &RemoteParticipant) -> ParticipantFact {
    let mut tracks: Vec<_> = participant
        .track_publications()
        .into_values()
        .map(|publication| {
            let subscribed = publication.is_subscribed();
            track_fact(&TrackPublication::Remote(publication), subscribed)
        })
        .collect();
    tracks.sort_by(|a, b| a.sid.cmp(&b.sid));
    ParticipantFact {
        identity: participant.identity().into(),
        name: participant.name(),
        kind: participant_kind_name(participant.kind()).to_owned(),
        attributes: sorted(participant.attributes()),
        tracks,
    }
}

fn track_fact(publication: &TrackPublication, subscribed: bool) -> TrackFact {
    TrackFact {
        sid: publication.sid().into(),
        name: publication.name(),
        source: track_source_name(publication.source()).to_owned(),
        kind: track_kind_name(publication.kind()).to_owned(),
        muted: publication.is_muted(),
        subscribed,
    }
}

/// The protocol name of an SDK participant kind.
fn participant_kind_name(kind: RoomParticipantKind) -> &'static str {
    match kind {
        RoomParticipantKind::Standard => "STANDARD",
        RoomParticipantKind::Ingress => "INGRESS",
        RoomParticipantKind::Egress => "EGRESS",
        RoomParticipantKind::Sip => "SIP",
        RoomParticipantKind::Agent => "AGENT",
        RoomParticipantKind::Connector => "CONNECTOR",
        RoomParticipantKind::Bridge => "BRIDGE",
    }
}

/// The protocol name of an SDK track source.
fn track_source_name(source: TrackSource) -> &'static str {
    match source {
        TrackSource::Unknown => "UNKNOWN",
        TrackSource::Camera => "CAMERA",
        TrackSource::Microphone => "MICROPHONE",
        TrackSource::Screenshare => "SCREEN_SHARE",
        TrackSource::ScreenshareAudio => "SCREEN_SHARE_AUDIO",
    }
}

/// The protocol name of an SDK track kind.
fn track_kind_name(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Audio => "AUDIO",
        TrackKind::Video => "VIDEO",
    }
}

/// A connect failure, described without the token.
fn connect_error(error: &RoomError, token: &str) -> TransportError {
    let what = match error {
        RoomError::Engine(_) => "could not connect to the LiveKit server",
        RoomError::Request { .. } => "the LiveKit server refused the request",
        _ => "could not join the room",
    };
    TransportError::Failed(format!("{what}: {}", redact(&error.to_string(), token)))
}

/// `text` without `token` or any sizeable part of it (a JWT's header, claims or signature).
fn redact(text: &str, token: &str) -> String {
    const REDACTED: &str = "[token]";
    let mut text = text.to_owned();
    if !token.is_empty() {
        text = text.replace(token, REDACTED);
    }
    for part in token.split('.').filter(|part| part.len() >= 8) {
        text = text.replace(part, REDACTED);
    }
    text
}

fn sorted(attributes: HashMap<String, String>) -> BTreeMap<String, String> {
    attributes.into_iter().collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_whole_and_in_parts() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        let message = format!("failed for {token}; claims eyJzdWIiOiJ1c2VyIn0");
        let redacted = redact(&message, token);
        assert_eq!(redacted, "failed for [token]; claims [token]");
        assert_eq!(redact("no token here", ""), "no token here");
    }

    #[test]
    fn connect_errors_never_contain_the_token() {
        let token = "header12.payload12.signature12";
        let error = RoomError::Internal(format!("rejected token {token}"));
        let TransportError::Failed(message) = connect_error(&error, token) else {
            panic!("a connect error is a failure");
        };
        assert!(!message.contains(token) && !message.contains("payload12"), "{message}");
        assert!(message.starts_with("could not join the room"), "{message}");
    }

    #[test]
    fn sdk_values_are_forwarded_as_protocol_names() {
        use crate::room::protocol::{ParticipantKind, TrackKind as Kind, TrackSource as Source};
        assert_eq!(
            ParticipantKind::from_protocol(participant_kind_name(RoomParticipantKind::Agent)),
            ParticipantKind::Agent
        );
        assert_eq!(participant_kind_name(RoomParticipantKind::Sip), "SIP");
        assert_eq!(
            Source::from_protocol(track_source_name(TrackSource::ScreenshareAudio)),
            Source::ScreenShareAudio
        );
        assert_eq!(Kind::from_protocol(track_kind_name(TrackKind::Video)), Kind::Video);
        assert_eq!(livekit::DisconnectReason::RoomDeleted.as_str_name(), "ROOM_DELETED");
    }

    #[test]
    fn options_and_debug() {
        let transport = LiveKitTransport::new()
            .with_auto_subscribe(false)
            .with_adaptive_stream(true)
            .with_dynacast(true)
            .with_platform_microphone(false)
            .with_platform_audio(false);
        let options = transport.room_options();
        assert!(!options.auto_subscribe && options.adaptive_stream && options.dynacast);
        let debug = format!("{transport:?}");
        assert!(debug.contains("platform_microphone: false"), "{debug}");
        assert!(debug.contains("platform_audio: false"), "{debug}");
        assert!(LiveKitTransport::new().remote_track("TR_none").is_none(), "not connected");
    }
}
