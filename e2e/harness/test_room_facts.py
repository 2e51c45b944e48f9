"""Unit tests of the forwarder (no server): it forwards, in order, and decides nothing."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from livekit import rtc

import room_facts
from room_facts import RoomFactForwarder


class FakeRoom:
    """What the forwarder uses of `rtc.Room`: `on`, text stream handlers, the snapshot."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Callable[..., None]]] = {}
        self.text_handlers: dict[str, Callable[..., None]] = {}
        self.name = "room-1"
        self.local_participant = participant("me", rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD)
        self.remote_participants: dict[str, Any] = {}

    def on(self, event: str, handler: Callable[..., None]) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def emit(self, event: str, *args: Any) -> None:
        for handler in self.handlers.get(event, []):
            handler(*args)

    def register_text_stream_handler(self, topic: str, handler: Callable[..., None]) -> None:
        self.text_handlers[topic] = handler


def participant(identity: str, kind: int, **attributes: str) -> SimpleNamespace:
    return SimpleNamespace(
        identity=identity, name=identity.title(), kind=kind, attributes=attributes,
        track_publications={},
    )


class FakeReader:
    def __init__(self, stream_id: str, topic: str, chunks: list[str], *, trailer: dict[str, str],
                 error: str | None = None) -> None:
        self.info = SimpleNamespace(stream_id=stream_id, topic=topic, attributes={"a": "header"})
        self._chunks = chunks
        self._trailer = trailer
        self._error = error
        self.closed = False

    def __aiter__(self) -> FakeReader:
        return self

    async def __anext__(self) -> str:
        await asyncio.sleep(0)
        if self._chunks:
            return self._chunks.pop(0)
        self.info.attributes.update(self._trailer)  # the SDK merges the trailer at the end
        if self._error is not None:
            raise rtc.StreamError(self._error)
        raise StopAsyncIteration

    def close(self) -> None:
        self.closed = True


class ForwarderTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.room = FakeRoom()
        self.facts: list[dict[str, Any]] = []
        self.forwarder = RoomFactForwarder(self.room, self.facts.append)  # type: ignore[arg-type]

    def test_protocol_names(self) -> None:
        self.assertEqual(room_facts.participant_kind(rtc.ParticipantKind.PARTICIPANT_KIND_AGENT), "AGENT")
        self.assertEqual(room_facts.participant_kind(rtc.ParticipantKind.PARTICIPANT_KIND_SIP), "SIP")
        self.assertEqual(room_facts.disconnect_reason(rtc.DisconnectReason.ROOM_DELETED), "ROOM_DELETED")
        self.assertEqual(
            room_facts.disconnect_reason(rtc.DisconnectReason.CLIENT_INITIATED), "CLIENT_INITIATED"
        )
        self.assertEqual(room_facts.track_source(rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO),
                         "SCREEN_SHARE_AUDIO")
        self.assertEqual(room_facts.track_source(rtc.TrackSource.SOURCE_MICROPHONE), "MICROPHONE")
        self.assertEqual(room_facts.track_kind(rtc.TrackKind.KIND_VIDEO), "VIDEO")
        self.assertEqual(room_facts.disconnect_reason(9999), "UNKNOWN(9999)")

    def test_every_sdk_value_maps_to_a_protocol_name(self) -> None:
        from livekit.protocol import models

        for _, value in rtc.TrackSource.items():
            self.assertIn(room_facts.track_source(value), models.TrackSource.keys())
        for name, value in rtc.TrackKind.items():
            if name != "KIND_UNKNOWN":  # the protocol's TrackType has no "unknown"
                self.assertIn(room_facts.track_kind(value), models.TrackType.keys())
        for _, value in rtc.ParticipantKind.items():
            self.assertIn(room_facts.participant_kind(value), models.ParticipantInfo.Kind.keys())
        for _, value in rtc.DisconnectReason.items():
            self.assertIn(room_facts.disconnect_reason(value), models.DisconnectReason.keys())

    def test_the_snapshot_comes_first_and_earlier_events_follow_in_order(self) -> None:
        agent = participant("agent-1", rtc.ParticipantKind.PARTICIPANT_KIND_AGENT)
        self.room.emit("participant_connected", agent)
        self.room.emit("reconnecting")
        self.assertEqual(self.facts, [])
        self.room.remote_participants = {"agent-1": agent}
        self.forwarder.connected()
        self.assertEqual([f["type"] for f in self.facts], ["connected", "participant_joined", "reconnecting"])
        self.assertEqual(self.facts[0]["local_identity"], "me")
        self.assertEqual(self.facts[0]["participants"][0]["kind"], "AGENT")

    def test_attributes_changed_carries_the_event_change_and_the_full_map(self) -> None:
        self.forwarder.connected()
        agent = participant("agent-1", rtc.ParticipantKind.PARTICIPANT_KIND_AGENT,
                            **{"lk.agent.state": "speaking", "other": "x"})
        self.room.emit("participant_attributes_changed", {"lk.agent.state": "thinking"}, agent)
        self.assertEqual(self.facts[-1], {
            "type": "attributes_changed", "identity": "agent-1",
            "changed": {"lk.agent.state": "thinking"},
            "attributes": {"lk.agent.state": "speaking", "other": "x"},
        })

    def test_disconnect_and_leave_are_forwarded_as_they_come(self) -> None:
        self.forwarder.connected()
        self.room.emit("participant_disconnected", participant("agent-1", 4))
        self.room.emit("disconnected", rtc.DisconnectReason.ROOM_DELETED)
        self.assertEqual(self.facts[1:], [
            {"type": "participant_left", "identity": "agent-1"},
            {"type": "disconnected", "reason": "ROOM_DELETED"},
        ])

    async def test_every_topic_given_is_registered_and_streams_are_forwarded_chunk_by_chunk(self) -> None:
        self.assertEqual(set(self.room.text_handlers), {"lk.transcription", "lk.chat"})
        self.forwarder.connected()
        reader = FakeReader("s1", "lk.transcription", ["a", " b"], trailer={"lk.transcription_final": "true"})
        self.room.text_handlers["lk.transcription"](reader, "agent-1")
        await self.forwarder.aclose()
        self.assertEqual(self.facts[1:], [
            {"type": "stream_opened", "stream_id": "s1", "topic": "lk.transcription",
             "sender_identity": "agent-1", "participant_identity": "agent-1",
             "attributes": {"a": "header"}},
            {"type": "stream_chunk", "stream_id": "s1", "text": "a"},
            {"type": "stream_chunk", "stream_id": "s1", "text": " b"},
            {"type": "stream_closed", "stream_id": "s1",
             "attributes": {"a": "header", "lk.transcription_final": "true"}, "error": None},
        ])

    async def test_a_failed_stream_closes_with_its_error(self) -> None:
        self.forwarder.connected()
        reader = FakeReader("s2", "lk.chat", ["x"], trailer={}, error="Disconnected while receiving")
        self.room.text_handlers["lk.chat"](reader, "user-2")
        await self.forwarder.aclose()
        self.assertEqual(self.facts[-1], {
            "type": "stream_closed", "stream_id": "s2", "attributes": {"a": "header"},
            "error": "Disconnected while receiving",
        })


if __name__ == "__main__":
    unittest.main()
