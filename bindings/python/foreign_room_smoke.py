"""Smoke test of the foreign room through the uniffi Python bindings (test flavour).

A Python-implemented ``ForeignRoom`` (asyncio) drives an ``AgentSession``: start -> connected
with an agent, the agent's attribute change to listening, an agent transcript streamed in
chunks, a chat message the room echoes back, a server disconnect, and end. Every check waits on
observable state (session events) with a bounded timeout, never a sleep.

Run by ``scripts/test-python`` after ``scripts/generate-bindings test`` wrote the bindings and
the library to ``build/e2e/python``. Only the standard library. Prints ``N passed, N failed``.

    python3 bindings/python/foreign_room_smoke.py [build/e2e/python]
"""

import asyncio
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
BINDINGS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build", "e2e", "python")
sys.path.insert(0, os.path.abspath(BINDINGS))

import session_ffi as ffi  # noqa: E402  (the generated module, found through BINDINGS)

WAIT = 10.0
AGENT = "agent-1"
USER = "user"
TOKEN = "py-secret-token"


class FakeLink(ffi.ForeignRoomLink):
    """The joined room's actions: records them."""

    def __init__(self, room):
        self.room = room

    async def send_text(self, topic, text):
        self.room.sent.append((topic, text))
        return f"chat-{len(self.room.sent)}"

    async def set_microphone_enabled(self, enabled):
        self.room.microphone.append(enabled)

    async def disconnect(self):
        self.room.disconnects += 1
        self.room.push(ffi.RoomFact.DISCONNECTED(reason="CLIENT_INITIATED"))


class FakeRoom(ffi.ForeignRoom):
    """A room that reports what a LiveKit room would, as facts with protocol names."""

    def __init__(self, fail_with=None):
        self.fail_with = fail_with
        self.sink = None
        self.connects = []
        self.sent = []
        self.microphone = []
        self.disconnects = 0
        self.pushed = []

    async def connect(self, url, token, sink):
        self.connects.append((url, token))
        if self.fail_with is not None:
            raise ffi.RoomError.Failed(reason=self.fail_with)
        self.sink = sink
        agent = ffi.ParticipantFact(
            identity=AGENT,
            name="Py Agent",
            kind="AGENT",
            attributes={"lk.agent.state": "initializing"},
            tracks=[ffi.TrackFact(sid="TR_agent_mic", source="MICROPHONE", kind="AUDIO", subscribed=True)],
        )
        self.push(ffi.RoomFact.CONNECTED(local_identity=USER, room_name="py-room", participants=[agent]))
        return ffi.RoomLink(FakeLink(self))

    def push(self, fact):
        delivered = self.sink.push(fact)
        self.pushed.append(delivered)
        return delivered

    def stream(self, topic, stream_id, chunks, attributes, sender=AGENT):
        self.push(ffi.RoomFact.STREAM_OPENED(
            stream_id=stream_id, topic=topic, sender_identity=sender,
            participant_identity=sender, attributes=attributes))
        for chunk in chunks:
            self.push(ffi.RoomFact.STREAM_CHUNK(stream_id=stream_id, text=chunk))
        final = dict(attributes)
        if topic == "lk.transcription":
            final["lk.transcription_final"] = "true"
        self.push(ffi.RoomFact.STREAM_CLOSED(stream_id=stream_id, attributes=final, error=None))


class Mirror(ffi.SessionListener):
    """Keeps the session's state as an app would: the message operations applied mechanically
    (insert at index, replace at index, reset). Called on Rust threads; wakes the loop."""

    def __init__(self, loop):
        self.loop = loop
        self.changed = asyncio.Event()
        self.state = None
        self.agent = None
        self.error = None
        self.messages = []
        self.reasons = []

    def on_event(self, event):
        if isinstance(event, ffi.SessionEvent.CONNECTION_STATE_CHANGED):
            self.state = event.state
        elif isinstance(event, ffi.SessionEvent.AGENT_CHANGED):
            self.agent = event.agent
        elif isinstance(event, ffi.SessionEvent.ERROR_CHANGED):
            self.error = event.error
        elif isinstance(event, ffi.SessionEvent.DISCONNECTED):
            self.reasons.append(event.reason)
        elif isinstance(event, ffi.SessionEvent.MESSAGE_INSERTED):
            self.messages.insert(event.index, event.message)
        elif isinstance(event, ffi.SessionEvent.MESSAGE_REPLACED):
            self.messages[event.index] = event.message
        elif isinstance(event, ffi.SessionEvent.MESSAGES_RESET):
            self.messages = list(event.messages)
        self.loop.call_soon_threadsafe(self.changed.set)

    async def until(self, what, predicate):
        async def wait():
            while not predicate():
                self.changed.clear()
                if predicate():
                    return
                await self.changed.wait()
        try:
            await asyncio.wait_for(wait(), WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def new_session(room):
    source = ffi.TokenSource.literal("wss://py-room.invalid", TOKEN)
    return ffi.AgentSession.with_room(source, room)


async def test_a_session_runs_over_a_python_room():
    loop = asyncio.get_running_loop()
    room = FakeRoom()
    session = new_session(room)
    mirror = Mirror(loop)
    handle = session.observe(mirror)
    try:
        await session.start()
        check(session.connection_state() == ffi.ConnectionState.CONNECTED, "connected after start")
        check(room.connects == [("wss://py-room.invalid", TOKEN)], f"connect got the credentials: {room.connects}")
        check(session.room_name() == "py-room", "the room's name")
        await mirror.until("the agent", lambda: mirror.agent is not None and mirror.agent.identity == AGENT)
        check(mirror.agent.state == ffi.AgentState.INITIALIZING, f"agent initializing: {mirror.agent.state}")
        check(room.microphone == [True], f"microphone enabled once: {room.microphone}")

        room.push(ffi.RoomFact.ATTRIBUTES_CHANGED(
            identity=AGENT, changed={"lk.agent.state": "listening"}, attributes={"lk.agent.state": "listening"}))
        await mirror.until("agent listening", lambda: mirror.agent.state == ffi.AgentState.LISTENING)
        check(mirror.agent.can_listen, "the user can talk")

        room.stream("lk.transcription", "TS_1", ["Hello", " there!"], {"lk.segment_id": "SG_1", "lk.transcription_final": "false"})
        await mirror.until("the final transcript", lambda: any(m.is_final and m.id == "SG_1" for m in mirror.messages))
        transcript = mirror.messages[0]
        check(transcript.text == "Hello there!", f"transcript text: {transcript.text!r}")
        check(transcript.kind == ffi.MessageKind.AGENT_TRANSCRIPT, f"transcript kind: {transcript.kind}")

        sent = await session.send("What time is it?")
        check(sent.kind == ffi.MessageKind.SENT_CHAT and sent.id == "chat-1", f"sent message: {sent}")
        check(room.sent == [("lk.chat", "What time is it?")], f"sent on lk.chat: {room.sent}")
        await mirror.until("the sent message", lambda: len(mirror.messages) == 2)
        # The agent answers on its own chat stream.
        room.stream("lk.chat", "CH_echo", ["echo: What time is it?"], {})
        await mirror.until("the echo", lambda: len(mirror.messages) == 3)
        echo = mirror.messages[2]
        check(echo.kind == ffi.MessageKind.RECEIVED_CHAT and echo.text == "echo: What time is it?", f"echo: {echo}")
        check(mirror.messages == session.messages(), "the mirrored list is the session's list")

        await session.end()
        await mirror.until("disconnected", lambda: mirror.state == ffi.ConnectionState.DISCONNECTED)
        check(room.disconnects == 1, f"the room was left once: {room.disconnects}")
        check(session.disconnect_reason().is_CLIENT_INITIATED(), f"reason: {session.disconnect_reason()}")
        check(not room.sink.push(ffi.RoomFact.RECONNECTING()), "the sink is closed after end")
        check(len(session.messages()) == 3, "end keeps the messages")
    finally:
        handle.cancel()


async def test_a_server_disconnect_is_reported_with_its_reason():
    loop = asyncio.get_running_loop()
    room = FakeRoom()
    session = new_session(room)
    mirror = Mirror(loop)
    handle = session.observe(mirror)
    try:
        await session.start()
        room.push(ffi.RoomFact.DISCONNECTED(reason="ROOM_DELETED"))
        await mirror.until("disconnected", lambda: mirror.state == ffi.ConnectionState.DISCONNECTED)
        reason = session.disconnect_reason()
        check(reason is not None and reason.is_ROOM_DELETED(), f"reason: {reason}")
        check(reason.is_normal_end(), "the agent hanging up is a normal end")
        check(mirror.error is None, f"no error for a normal end: {mirror.error}")
        check(str(reason) == "the room was closed", f"wording: {reason}")
    finally:
        handle.cancel()


async def test_a_failing_connect_is_a_connection_error():
    room = FakeRoom(fail_with="no route to py-room")
    session = new_session(room)
    try:
        await session.start()
        raise AssertionError("start succeeded")
    except ffi.SessionError.Connection as error:
        check("no route to py-room" in error.reason, f"reason: {error.reason}")
        check(TOKEN not in str(error), "no token in the error")
    check(session.connection_state() == ffi.ConnectionState.DISCONNECTED, "disconnected")


TESTS = [
    test_a_session_runs_over_a_python_room,
    test_a_server_disconnect_is_reported_with_its_reason,
    test_a_failing_connect_is_a_connection_error,
]


async def main():
    # Async callbacks (the room's methods) run on this loop: uniffi must know it first.
    ffi.uniffi_set_event_loop(asyncio.get_running_loop())
    passed = failed = 0
    for test in TESTS:
        try:
            await asyncio.wait_for(test(), 3 * WAIT)
            passed += 1
            print(f"ok   {test.__name__}")
        except Exception:  # noqa: BLE001  (report every failure and go on)
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
    print()
    print(f"{passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    sys.exit(1 if asyncio.run(main()) else 0)
