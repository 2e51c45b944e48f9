"""Room facts from a `livekit.rtc` Room: a forwarder, nothing else.

Every room event becomes one plain dict (a "room fact", the JSON shape of
`crates/session/tests/fixtures/*.jsonl`) handed to a sink, in the order the SDK delivers them.
No decisions are taken here: no topic is filtered out, nothing is classified, nothing is
debounced or merged. The Rust side (translation layer) decides what a fact means.

Protocol values are LiveKit's protocol enum *names* (the FFI's numbers differ from the
protocol's for track kind and some participant kinds, so nothing here passes a number on),
never this SDK's Python names:
participant kind `STANDARD`/`AGENT`/`SIP`/…, disconnect reason `ROOM_DELETED`/`CLIENT_INITIATED`/…,
track source `MICROPHONE`/`CAMERA`/`SCREEN_SHARE`/`SCREEN_SHARE_AUDIO`/`UNKNOWN`, track kind
`AUDIO`/`VIDEO`.

Text streams reach `livekit.rtc` only through per-topic handlers
(`Room.register_text_stream_handler`), so the forwarder registers the topics it is given
(`lk.transcription` and `lk.chat` by default); a stream on another topic is not seen at all.
The Python SDK (1.1.21) exposes no sender identity in the stream header apart from the
identity its handler receives, so `sender_identity` and `participant_identity` carry the
same value here.

Usage: build the forwarder before `room.connect()` (handlers must exist before events flow),
then call `connected()` right after `connect()` returns, before awaiting anything else: the
snapshot is then the first fact. Events the SDK delivers before that are held back and
forwarded after the snapshot, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from livekit import rtc

Fact = dict[str, Any]
FactSink = Callable[[Fact], None]

DEFAULT_TEXT_TOPICS = ("lk.transcription", "lk.chat")


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        name = enum.Name(value)
    except ValueError:
        return f"UNKNOWN({value})"
    return name[len(prefix) :] if name.startswith(prefix) else name


def participant_kind(value: int) -> str:
    """`PARTICIPANT_KIND_AGENT` → `AGENT` (LiveKit's `ParticipantInfo.Kind` names)."""
    return _enum_name(rtc.ParticipantKind, value, "PARTICIPANT_KIND_")


def disconnect_reason(value: int) -> str:
    """The protocol `DisconnectReason` name (`ROOM_DELETED`, `CLIENT_INITIATED`, …)."""
    return _enum_name(rtc.DisconnectReason, value, "")


# The FFI's names that differ from the protocol's (livekit_models.proto `TrackSource`).
_PROTOCOL_TRACK_SOURCE = {"SCREENSHARE": "SCREEN_SHARE", "SCREENSHARE_AUDIO": "SCREEN_SHARE_AUDIO"}


def track_source(value: int) -> str:
    """`SOURCE_MICROPHONE` → `MICROPHONE`, `SOURCE_SCREENSHARE` → `SCREEN_SHARE` (LiveKit's
    `TrackSource` names; the FFI spells screen share without the underscore)."""
    name = _enum_name(rtc.TrackSource, value, "SOURCE_")
    return _PROTOCOL_TRACK_SOURCE.get(name, name)


def track_kind(value: int) -> str:
    """`KIND_AUDIO` → `AUDIO` (LiveKit's `TrackType` names)."""
    return _enum_name(rtc.TrackKind, value, "KIND_")


def track(publication: rtc.TrackPublication) -> Fact:
    if isinstance(publication, rtc.RemoteTrackPublication):
        subscribed = publication.subscribed
    else:
        # A local publication is ours: "subscribed" means its track is there.
        subscribed = publication.track is not None
    return {
        "sid": publication.sid,
        "name": publication.name,
        "source": track_source(publication.source),
        "kind": track_kind(publication.kind),
        "muted": publication.muted,
        "subscribed": subscribed,
    }


def participant(p: rtc.Participant) -> Fact:
    return {
        "identity": p.identity,
        "name": p.name,
        "kind": participant_kind(p.kind),
        "attributes": dict(p.attributes),
        "tracks": [track(publication) for publication in p.track_publications.values()],
    }


class RoomFactForwarder:
    """Forwards a `livekit.rtc.Room`'s events to `sink` as room facts."""

    def __init__(
        self,
        room: rtc.Room,
        sink: FactSink,
        *,
        text_topics: Iterable[str] = DEFAULT_TEXT_TOPICS,
    ) -> None:
        self._room = room
        self._sink = sink
        self._held: list[Fact] | None = []  # facts before the snapshot; None once it is out
        self._readers: set[asyncio.Task[None]] = set()
        self._subscribe()
        for topic in text_topics:
            room.register_text_stream_handler(topic, self._on_text_stream)

    # -- output ------------------------------------------------------------------------------

    def _emit(self, fact: Fact) -> None:
        if self._held is not None:
            self._held.append(fact)
        else:
            self._sink(fact)

    def connected(self) -> None:
        """The connect snapshot; call it right after `Room.connect()` returns."""
        room = self._room
        held, self._held = self._held or [], None
        self._sink(
            {
                "type": "connected",
                "local_identity": room.local_participant.identity,
                "room_name": room.name,
                "participants": [participant(p) for p in room.remote_participants.values()],
            }
        )
        for fact in held:
            self._sink(fact)

    async def aclose(self) -> None:
        """Waits for the stream readers still running (each ends with its stream)."""
        if self._readers:
            await asyncio.gather(*self._readers, return_exceptions=True)

    # -- room events ---------------------------------------------------------------------------

    def _subscribe(self) -> None:
        room = self._room
        local = lambda: room.local_participant.identity  # noqa: E731

        room.on(
            "participant_connected",
            lambda p: self._emit({"type": "participant_joined", "participant": participant(p)}),
        )
        room.on(
            "participant_disconnected",
            lambda p: self._emit({"type": "participant_left", "identity": p.identity}),
        )
        room.on(
            "participant_attributes_changed",
            lambda changed, p: self._emit(
                {
                    "type": "attributes_changed",
                    "identity": p.identity,
                    "changed": dict(changed),
                    "attributes": dict(p.attributes),
                }
            ),
        )
        room.on(
            "participant_name_changed",
            lambda p, _old, new: self._emit(
                {"type": "name_changed", "identity": p.identity, "name": new}
            ),
        )
        room.on(
            "track_published",
            lambda pub, p: self._emit(
                {"type": "track_published", "identity": p.identity, "track": track(pub)}
            ),
        )
        room.on(
            "track_unpublished",
            lambda pub, p: self._emit(
                {"type": "track_unpublished", "identity": p.identity, "sid": pub.sid}
            ),
        )
        room.on(
            "track_subscribed",
            lambda _track, pub, p: self._emit(
                {"type": "track_subscribed", "identity": p.identity, "sid": pub.sid}
            ),
        )
        room.on(
            "track_unsubscribed",
            lambda _track, pub, p: self._emit(
                {"type": "track_unsubscribed", "identity": p.identity, "sid": pub.sid}
            ),
        )
        room.on(
            "track_muted",
            lambda p, pub: self._emit({"type": "track_muted", "identity": p.identity, "sid": pub.sid}),
        )
        room.on(
            "track_unmuted",
            lambda p, pub: self._emit(
                {"type": "track_unmuted", "identity": p.identity, "sid": pub.sid}
            ),
        )
        # Our own publications, under the local identity. (`local_track_subscribed` means that
        # someone else subscribed to our track: it has no room fact.)
        room.on(
            "local_track_published",
            lambda pub, _track: self._emit(
                {"type": "track_published", "identity": local(), "track": track(pub)}
            ),
        )
        room.on(
            "local_track_unpublished",
            lambda pub: self._emit({"type": "track_unpublished", "identity": local(), "sid": pub.sid}),
        )
        room.on("reconnecting", lambda: self._emit({"type": "reconnecting"}))
        room.on("reconnected", lambda: self._emit({"type": "reconnected"}))
        room.on("moved", lambda: self._emit({"type": "moved", "room_name": room.name}))
        room.on(
            "disconnected",
            lambda reason: self._emit(
                {"type": "disconnected", "reason": disconnect_reason(reason)}
            ),
        )

    # -- text streams --------------------------------------------------------------------------

    def _on_text_stream(self, reader: rtc.TextStreamReader, participant_identity: str) -> None:
        info = reader.info
        self._emit(
            {
                "type": "stream_opened",
                "stream_id": info.stream_id,
                "topic": info.topic,
                "sender_identity": participant_identity,
                "participant_identity": participant_identity,
                "attributes": dict(info.attributes or {}),
            }
        )
        task = asyncio.get_running_loop().create_task(self._read(reader))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, reader: rtc.TextStreamReader) -> None:
        stream_id = reader.info.stream_id
        error: str | None = None
        try:
            async for chunk in reader:
                self._emit({"type": "stream_chunk", "stream_id": stream_id, "text": chunk})
        except Exception as failure:  # the SDK's StreamError, or anything reading raised
            error = str(failure) or type(failure).__name__
        except asyncio.CancelledError:
            reader.close()
            raise
        self._emit(
            {
                "type": "stream_closed",
                "stream_id": stream_id,
                "attributes": dict(reader.info.attributes or {}),
                "error": error,
            }
        )
