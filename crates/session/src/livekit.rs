//! The LiveKit transport: joins a room with the `livekit` crate (0.10) and translates what the
//! room reports into [`TransportEvent`]s. It only translates; every session behaviour (agent
//! detection, reconnect debouncing, message merging, errors) lives in the transport-agnostic
//! core, so this transport behaves exactly like [`crate::ScriptedTransport`].
//!
//! # What maps to what
//!
//! | LiveKit (`livekit` 0.10) | Transport |
//! |---|---|
//! | `Room::connect(url, token, options)` | [`Transport::connect`]; a `RoomError` becomes [`TransportError::Failed`] (never with the token) |
//! | first event `Connected { participants_with_tracks }` | [`Connection::participants`], by join time, then identity |
//! | `ParticipantConnected(p)` | [`TransportEvent::ParticipantConnected`] |
//! | `ParticipantDisconnected(p)` | [`TransportEvent::ParticipantDisconnected`], in the SDK's order (a full reconnect reports every participant before `Reconnecting`) |
//! | `ParticipantAttributesChanged { participant: Remote(p), .. }` (only the diff) | [`TransportEvent::ParticipantAttributesChanged`] with the full map, `p.attributes()` |
//! | `Reconnecting` / `Reconnected` | [`TransportEvent::Reconnecting`] / [`TransportEvent::Reconnected`] (`ConnectionStateChanged` repeats them and is ignored) |
//! | `Disconnected { reason }` | [`TransportEvent::Disconnected`], then no more events |
//! | `TextStreamOpened { reader, topic, .. }` on `lk.transcription` or `lk.chat` | [`TransportEvent::TextStreamOpened`], one [`TransportEvent::TextStreamChunk`] per chunk, [`TransportEvent::TextStreamClosed`] |
//! | anything else (tracks, data packets, other topics, the local participant) | ignored |
//!
//! | `livekit::DisconnectReason` | [`DisconnectReason`] |
//! |---|---|
//! | `ClientInitiated`, `ServerShutdown`, `ParticipantRemoved`, `RoomDeleted`, `DuplicateIdentity` | the same |
//! | `SignalClose`, `JoinFailure`, `StateMismatch`, `ConnectionTimeout`, `MediaFailure`; `UnknownReason` after `Reconnecting` (reconnect attempts exhausted) | `ConnectionLost` |
//! | any other | `Other` (the reason's name) |
//!
//! | [`TransportLink`] | LiveKit |
//! |---|---|
//! | `send_text(topic, text)` | `local_participant().send_text(text, SendTextOptions::new_with_topic(topic))`; returns the stream ID |
//! | `set_microphone_enabled(true)` | first time: `PlatformAudio::new()` (the device microphone) and `LocalAudioTrack::create_audio_track("microphone", RtcAudioSource::Device)` published as `TrackSource::Microphone`; later: unmute it |
//! | `set_microphone_enabled(false)` | mute the microphone publication (it stays published) |
//! | `disconnect()` | stop the translation tasks, `room.close()` (an already closed room is fine), release the audio device |
//!
//! # Text streams
//!
//! The room hands each stream's reader to a single consumer; this transport takes the readers of
//! `lk.transcription` and `lk.chat` and reads each in its own task, so streams run concurrently
//! and chunks keep their order within a stream. A stream's closing attributes are re-read after
//! it ends, because LiveKit merges trailer attributes into them. A stream that ends because its
//! sender left (LiveKit aborts a departed participant's streams) closes without an error.
//!
//! # Tasks
//!
//! Every task belongs to the connection: the translation task and the stream readers are
//! aborted on disconnect, when the room reports `Disconnected`, and when the link is dropped.
//! Dropping the link without `disconnect` still closes the room, in a task that ends when the
//! close does.

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
    ConnectionState as RoomConnectionState, DisconnectReason as RoomDisconnectReason,
    PlatformAudio, Room, RoomError, RoomEvent, RoomOptions, SendTextOptions, StreamError,
    StreamReader, TextStreamReader,
    id::ParticipantIdentity,
    options::TrackPublishOptions,
    participant::{Participant, ParticipantKind as RoomParticipantKind, RemoteParticipant},
    track::{LocalAudioTrack, LocalTrack, TrackSource},
};
use tokio::{
    runtime::Handle,
    sync::{OnceCell, mpsc},
    task::{JoinHandle, JoinSet},
};

use crate::{
    error::TransportError,
    messages::{CHAT_TOPIC, TRANSCRIPTION_TOPIC},
    transport::{
        Connection, DisconnectReason, ParticipantInfo, ParticipantKind, TextStreamInfo, Transport,
        TransportEvent, TransportLink,
    },
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
/// dynacast off) and the platform microphone for
/// [`set_microphone_enabled`](TransportLink::set_microphone_enabled).
#[derive(Clone)]
pub struct LiveKitTransport {
    room_options: RoomOptions,
    platform_microphone: bool,
}

impl Default for LiveKitTransport {
    fn default() -> Self {
        Self { room_options: RoomOptions::default(), platform_microphone: true }
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

    /// The options rooms are joined with.
    pub fn room_options(&self) -> &RoomOptions {
        &self.room_options
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
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Transport for LiveKitTransport {
    async fn connect(&self, server_url: &str, token: &str) -> Result<Connection, TransportError> {
        let runtime = Handle::try_current()
            .map_err(|_| TransportError::failed("the LiveKit transport needs a tokio runtime"))?;
        let (room, mut room_events) = Room::connect(server_url, token, self.room_options.clone())
            .await
            .map_err(|error| connect_error(&error, token))?;
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
        let participants = participants.iter().map(participant_info).collect();

        let local_identity = room.local_participant().identity().into();
        let (sender, events) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            room: Arc::new(room),
            runtime: runtime.clone(),
            platform_microphone: self.platform_microphone,
            sender: Mutex::new(Some(sender)),
            translation: Mutex::new(None),
            streams: Mutex::new(Some(JoinSet::new())),
            stopped: AtomicBool::new(false),
            close_requested: AtomicBool::new(false),
            microphone: OnceCell::new(),
            microphone_wanted: Mutex::new(false),
            platform_audio: Mutex::new(None),
        });
        let translation =
            runtime.spawn(translate(Arc::downgrade(&inner), room_events, first_event));
        *lock(&inner.translation) = Some(translation);
        Ok(Connection { local_identity, participants, events, link: Arc::new(LiveKitLink(inner)) })
    }
}

/// One joined room, shared by the link and (weakly) by its tasks.
struct Inner {
    /// Kept alive as long as anything can call into it: `LocalParticipant::send_text` unwraps
    /// the room session, which is gone once the `Room` is dropped.
    room: Arc<Room>,
    runtime: Handle,
    platform_microphone: bool,
    /// `None` once stopped: nothing is delivered after that.
    sender: Mutex<Option<mpsc::UnboundedSender<TransportEvent>>>,
    translation: Mutex<Option<JoinHandle<()>>>,
    /// The stream readers; dropping the set aborts them. `None` once stopped.
    streams: Mutex<Option<JoinSet<()>>>,
    stopped: AtomicBool,
    close_requested: AtomicBool,
    /// The published microphone track (published once, then muted and unmuted).
    microphone: OnceCell<LocalAudioTrack>,
    /// The microphone state last asked for; applied after every change and publish.
    microphone_wanted: Mutex<bool>,
    /// Keeps the platform audio device open while the microphone track exists.
    platform_audio: Mutex<Option<PlatformAudio>>,
}

impl Inner {
    /// Delivers `event`; `false` when stopped or nobody listens any more.
    fn emit(&self, event: TransportEvent) -> bool {
        lock(&self.sender).as_ref().is_some_and(|sender| sender.send(event).is_ok())
    }

    /// Stops delivering events and aborts the tasks (the room stays open).
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let sender = lock(&self.sender).take();
        let translation = lock(&self.translation).take();
        let streams = lock(&self.streams).take();
        drop(sender);
        if let Some(translation) = translation {
            translation.abort();
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
    fn open_stream(self: &Arc<Self>, reader: TextStreamReader, sender_identity: String) {
        let info = reader.info();
        let stream = TextStreamInfo {
            id: info.id.clone(),
            topic: info.topic.clone(),
            sender_identity: sender_identity.clone(),
            attributes: sorted(info.attributes()),
        };
        let stream_id = stream.id.clone();
        // Reported here, in the room's event order; the reader task only follows with chunks.
        if !self.emit(TransportEvent::TextStreamOpened(stream)) {
            return;
        }
        let mut streams = lock(&self.streams);
        let Some(streams) = streams.as_mut() else { return };
        while streams.try_join_next().is_some() {}
        let task = read_stream(Arc::downgrade(self), reader, stream_id, sender_identity);
        streams.spawn_on(task, &self.runtime);
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
        // Opening the audio device enumerates devices through FFI: keep it off the runtime.
        let audio = tokio::task::spawn_blocking(PlatformAudio::new)
            .await
            .map_err(|_| TransportError::failed("opening the audio device failed unexpectedly"))?
            .map_err(|error| TransportError::failed(format!("no microphone: {error}")))?;
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

/// Translates the room's events until it disconnects or the connection is gone.
async fn translate(
    inner: Weak<Inner>,
    mut events: mpsc::UnboundedReceiver<RoomEvent>,
    first_event: Option<RoomEvent>,
) {
    let mut translator = Translator { inner, reconnecting: false };
    if let Some(event) = first_event
        && !translator.handle(event)
    {
        return;
    }
    while let Some(event) = events.recv().await {
        if !translator.handle(event) {
            return;
        }
    }
    // The room went away without `Disconnected`: closing the channel says the connection ended.
    if let Some(inner) = translator.inner.upgrade() {
        inner.stop();
    }
}

struct Translator {
    inner: Weak<Inner>,
    /// Between `Reconnecting` and `Reconnected`.
    reconnecting: bool,
}

impl Translator {
    /// Handles one room event; `false` when translating is over.
    fn handle(&mut self, event: RoomEvent) -> bool {
        let Some(inner) = self.inner.upgrade() else { return false };
        let event = match event {
            RoomEvent::ParticipantConnected(participant) => {
                TransportEvent::ParticipantConnected(participant_info(&participant))
            }
            RoomEvent::ParticipantDisconnected(participant) => {
                TransportEvent::ParticipantDisconnected { identity: participant.identity().into() }
            }
            RoomEvent::ParticipantAttributesChanged {
                participant: Participant::Remote(participant),
                ..
            } => TransportEvent::ParticipantAttributesChanged {
                identity: participant.identity().into(),
                attributes: sorted(participant.attributes()),
            },
            RoomEvent::Reconnecting => {
                self.reconnecting = true;
                TransportEvent::Reconnecting
            }
            RoomEvent::Reconnected => {
                self.reconnecting = false;
                TransportEvent::Reconnected
            }
            RoomEvent::Disconnected { reason } => {
                let reason = disconnect_reason(reason, self.reconnecting);
                inner.emit(TransportEvent::Disconnected { reason });
                inner.stop();
                return false;
            }
            RoomEvent::TextStreamOpened { reader, topic, participant_identity } => {
                if (topic == TRANSCRIPTION_TOPIC || topic == CHAT_TOPIC)
                    && let Some(reader) = reader.take()
                {
                    inner.open_stream(reader, participant_identity.into());
                }
                return true;
            }
            _ => return true,
        };
        inner.emit(event)
    }
}

/// Reads one text stream: a chunk event per chunk, then the close.
async fn read_stream(
    inner: Weak<Inner>,
    mut reader: TextStreamReader,
    stream_id: String,
    sender_identity: String,
) {
    let mut error = None;
    while let Some(chunk) = reader.next().await {
        let Some(connection) = inner.upgrade() else { return };
        match chunk {
            Ok(text) => {
                let event = TransportEvent::TextStreamChunk { stream_id: stream_id.clone(), text };
                if !connection.emit(event) {
                    return;
                }
            }
            Err(failure) => {
                error = stream_failure(&connection.room, &sender_identity, failure);
                break;
            }
        }
    }
    let Some(connection) = inner.upgrade() else { return };
    // Re-read: the trailer's attributes are merged in when the stream ends.
    let attributes = sorted(reader.info().attributes());
    connection.emit(TransportEvent::TextStreamClosed { stream_id, attributes, error });
}

/// Why a stream failed; `None` when LiveKit aborted it because its sender left (that is no
/// receive failure: the participant's departure is reported on its own).
fn stream_failure(room: &Room, sender_identity: &str, error: StreamError) -> Option<String> {
    if let StreamError::AbnormalEnd(reason) = &error
        && (*reason == sender_left_reason(sender_identity)
            || !room
                .remote_participants()
                .contains_key(&ParticipantIdentity::from(sender_identity)))
    {
        return None;
    }
    Some(error.to_string())
}

/// The reason LiveKit gives a stream it aborts because its sender disconnected.
fn sender_left_reason(sender_identity: &str) -> String {
    format!("Participant {sender_identity} unexpectedly disconnected in the middle of sending data")
}

fn participant_info(participant: &RemoteParticipant) -> ParticipantInfo {
    ParticipantInfo {
        identity: participant.identity().into(),
        name: participant.name(),
        kind: participant_kind(participant.kind()),
        attributes: sorted(participant.attributes()),
    }
}

fn participant_kind(kind: RoomParticipantKind) -> ParticipantKind {
    match kind {
        RoomParticipantKind::Standard => ParticipantKind::Standard,
        RoomParticipantKind::Agent => ParticipantKind::Agent,
        _ => ParticipantKind::Other,
    }
}

fn disconnect_reason(reason: RoomDisconnectReason, reconnecting: bool) -> DisconnectReason {
    match reason {
        RoomDisconnectReason::ClientInitiated => DisconnectReason::ClientInitiated,
        RoomDisconnectReason::ServerShutdown => DisconnectReason::ServerShutdown,
        RoomDisconnectReason::ParticipantRemoved => DisconnectReason::ParticipantRemoved,
        RoomDisconnectReason::RoomDeleted => DisconnectReason::RoomDeleted,
        RoomDisconnectReason::DuplicateIdentity => DisconnectReason::DuplicateIdentity,
        RoomDisconnectReason::SignalClose
        | RoomDisconnectReason::JoinFailure
        | RoomDisconnectReason::StateMismatch
        | RoomDisconnectReason::ConnectionTimeout
        | RoomDisconnectReason::MediaFailure => DisconnectReason::ConnectionLost,
        // LiveKit closes with the cause of the reconnect episode once its attempts run out.
        RoomDisconnectReason::UnknownReason if reconnecting => DisconnectReason::ConnectionLost,
        other => DisconnectReason::Other(format!("{other:?}")),
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
    fn disconnect_reasons() {
        let cases = [
            (RoomDisconnectReason::ClientInitiated, false, DisconnectReason::ClientInitiated),
            (RoomDisconnectReason::ServerShutdown, false, DisconnectReason::ServerShutdown),
            (RoomDisconnectReason::ParticipantRemoved, false, DisconnectReason::ParticipantRemoved),
            (RoomDisconnectReason::RoomDeleted, false, DisconnectReason::RoomDeleted),
            (RoomDisconnectReason::DuplicateIdentity, false, DisconnectReason::DuplicateIdentity),
            (RoomDisconnectReason::SignalClose, false, DisconnectReason::ConnectionLost),
            (RoomDisconnectReason::JoinFailure, false, DisconnectReason::ConnectionLost),
            (RoomDisconnectReason::UnknownReason, true, DisconnectReason::ConnectionLost),
            (
                RoomDisconnectReason::UnknownReason,
                false,
                DisconnectReason::Other("UnknownReason".into()),
            ),
            (RoomDisconnectReason::RoomClosed, false, DisconnectReason::Other("RoomClosed".into())),
        ];
        for (reason, reconnecting, expected) in cases {
            assert_eq!(disconnect_reason(reason, reconnecting), expected, "{reason:?}");
        }
    }

    #[test]
    fn participant_kinds() {
        assert_eq!(participant_kind(RoomParticipantKind::Agent), ParticipantKind::Agent);
        assert_eq!(participant_kind(RoomParticipantKind::Standard), ParticipantKind::Standard);
        assert_eq!(participant_kind(RoomParticipantKind::Sip), ParticipantKind::Other);
        assert_eq!(participant_kind(RoomParticipantKind::Egress), ParticipantKind::Other);
    }

    #[test]
    fn the_sender_left_reason_matches_livekit() {
        assert_eq!(
            sender_left_reason("agent"),
            "Participant agent unexpectedly disconnected in the middle of sending data"
        );
    }

    #[test]
    fn options_and_debug() {
        let transport = LiveKitTransport::new()
            .with_auto_subscribe(false)
            .with_adaptive_stream(true)
            .with_dynacast(true)
            .with_platform_microphone(false);
        let options = transport.room_options();
        assert!(!options.auto_subscribe && options.adaptive_stream && options.dynacast);
        let debug = format!("{transport:?}");
        assert!(debug.contains("platform_microphone: false"), "{debug}");
    }
}
