"""The e2e scenarios: OUR session core (Rust, through the uniffi Python bindings) against the
real server and agent, over a room implemented on `livekit.rtc` that only forwards room facts.

Each scenario starts an `AgentSession.with_room(...)` whose token source is the FFI's endpoint
source on our token server (cached, so caching is exercised; the token dispatches the echo
agent), drives it as an app would (`start`, `send`, `end`) or drives the server (RoomService,
`simulate_scenario`), waits on the session's observable state with bounded timeouts, and checks
the session's state, events and messages. Its expectations are checked on the live session
(`session_client.check_all`) and are the fixture's `expect` lines (`--record`): the replay in
`cargo test` checks the same list against the recorded facts. The list of scenarios, with what
each asserts, is `e2e/scenarios.json` (shared with the native Rust e2e test).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit import api, rtc

from recorder import ScenarioFailed, Trace
from session_client import (
    CacheCounter,
    LiveKitRoom,
    SessionMirror,
    agent_state_name,
    check_all,
    ffi,
)

log = logging.getLogger("e2e")

SAW_USER = "e2e.saw_user"
# The Rust session's agent timeout (short, so the timeout scenario is quick; the fixtures'
# header `session` says so for the replay).
AGENT_CONNECT_TIMEOUT_MS = 3000
# The core's leave grace (crates/session/src/core/mod.rs AGENT_LEAVE_GRACE).
AGENT_LEAVE_GRACE_S = 0.5

# Bounds of the waits (seconds): generous for 2 busy cores, reached only on failure.
JOIN_S = 20.0
REPLY_S = 20.0
SERVER_S = 20.0
LOAD_S = 90.0

SHARED_LIST = Path(__file__).resolve().parents[1] / "scenarios.json"


@dataclass
class Env:
    token_url: str
    livekit_url: str  # ws://127.0.0.1:7880
    api_url: str  # http://127.0.0.1:7880
    api_key: str
    api_secret: str
    agent_name: str
    record_dir: Path | None
    load_sessions: int = 20
    pids: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    def trace(self, name: str) -> Trace:
        """A new trace, kept so the runner can save it even when the scenario fails."""
        trace = Trace(name)
        self.traces.append(trace)
        return trace


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class Client:
    """One session of ours, as an app holds it."""

    trace: Trace
    tokens: ffi.TokenSource
    cache: CacheCounter
    room: LiveKitRoom
    session: ffi.AgentSession
    mirror: SessionMirror
    handles: list[Any]

    async def close(self) -> None:
        if self.session.connection_state() != ffi.ConnectionState.DISCONNECTED:
            await asyncio.wait_for(self.session.end(), SERVER_S)
        for handle in self.handles:
            handle.cancel()

    def agent_identity(self) -> str | None:
        return self.session.agent().identity


def new_client(
    trace: Trace,
    env: Env,
    *,
    token_url: str | None = None,
    agent_name: str | None = None,
    room_name: str | None = "unique",
    identity: str | None = None,
    name: str | None = None,
    metadata: str | None = None,
    attributes: dict[str, str] | None = None,
    microphone: bool = False,
) -> Client:
    """A session on our token server's endpoint (the FFI's cached endpoint source). `room_name`
    "unique": a fresh room per scenario; None: the token server picks one per token."""
    tokens = ffi.TokenSource.endpoint(token_url or env.token_url)
    cache = CacheCounter()
    handles = [tokens.observe_cache(cache)]
    request = ffi.TokenRequestOptions(
        room_name=unique(f"e2e-{trace.name}") if room_name == "unique" else room_name,
        participant_identity=identity,
        participant_name=name,
        participant_metadata=metadata,
        participant_attributes=attributes or {},
        agent_name=agent_name or env.agent_name,
    )
    options = ffi.SessionOptions(
        agent_connect_timeout_ms=AGENT_CONNECT_TIMEOUT_MS, microphone_enabled=microphone
    )
    room = LiveKitRoom(trace)
    session = ffi.AgentSession.with_room(tokens, room, request, options)
    mirror = SessionMirror(asyncio.get_running_loop())
    handles.append(session.observe(mirror))
    return Client(trace, tokens, cache, room, session, mirror, handles)


async def start(client: Client) -> None:
    await asyncio.wait_for(client.session.start(), JOIN_S)
    state = client.session.connection_state()
    if state != ffi.ConnectionState.CONNECTED:
        raise ScenarioFailed(f"after start: {state}")


async def wait_agent_state(client: Client, state: str, timeout: float = JOIN_S) -> None:
    try:
        await client.mirror.until(
            f"agent state {state!r}", lambda: agent_state_name(client.session.agent()) == state, timeout
        )
    except ScenarioFailed as failure:
        raise ScenarioFailed(f"{failure} (it is {agent_state_name(client.session.agent())})") from None


def final_agent_reply(client: Client, index: int) -> ffi.ReceivedMessage | None:
    messages = client.session.messages()
    if len(messages) <= index:
        return None
    message = messages[index]
    return message if message.kind == ffi.MessageKind.AGENT_TRANSCRIPT and message.is_final else None


async def chat(client: Client, text: str, reply_index: int) -> ffi.ReceivedMessage:
    """Sends `text` (the session's `send`) and waits for the agent's final reply at
    `reply_index` in the messages, then for the agent to listen again."""
    client.trace.action({"type": "send", "text": text})
    sent = await asyncio.wait_for(client.session.send(text), REPLY_S)
    check(sent.kind == ffi.MessageKind.SENT_CHAT and sent.text == text, f"sent: {sent}")
    reply = await client.mirror.until(
        "the agent's final reply", lambda: final_agent_reply(client, reply_index), REPLY_S
    )
    await wait_agent_state(client, "listening", REPLY_S)
    return reply


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)


@dataclass
class Outcome:
    """What a scenario leaves behind: its trace (recorded when asked) and expectations (already
    checked on the live session)."""

    trace: Trace | None = None
    expectations: list[dict[str, Any]] = field(default_factory=list)
    session: dict[str, Any] = field(
        default_factory=lambda: {
            "dispatches_agent": True,
            "agent_connect_timeout_ms": AGENT_CONNECT_TIMEOUT_MS,
        }
    )


def verified(client: Client, expectations: list[dict[str, Any]]) -> Outcome:
    """Checks `expectations` on the live session; they become the fixture's."""
    check_all(client.session, client.mirror, expectations)
    client.trace.stop_recording()
    return Outcome(client.trace, expectations)


# -- scenarios ---------------------------------------------------------------------------------


async def agent_joins(env: Env) -> Outcome:
    """1. A dispatching token → connected; the dispatched agent joins and is listening. With
    the microphone on: `start` has the room publish it (a silent source)."""
    client = new_client(env.trace("agent-joins"), env, microphone=True)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        local = client.trace.local_identity()
        await client.trace.wait_for("our microphone published", lambda: [
            f for f in client.trace.facts("track_published")
            if f["identity"] == local and f["track"]["source"] == "MICROPHONE"], JOIN_S)
        await client.mirror.until("connected", lambda: "connected" in client.mirror.connection_states, JOIN_S)
        check(client.mirror.connection_states[-2:] == ["connecting", "connected"],
              f"connection states {client.mirror.connection_states}")
        check(client.cache.misses == 1, f"token fetches {client.cache.misses}, want 1")
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "listening"},
            {"agent_never": "failed"},
            {"message_count": 0},
            {"error": None},
        ])
    finally:
        await client.close()


async def _talk(client: Client, text: str) -> ffi.ReceivedMessage:
    await start(client)
    await wait_agent_state(client, "listening")
    updates_before = client.mirror.message_updates
    reply = await chat(client, text, 1)
    # ≥ 2 chunks: the reply grew in place (inserted, then replaced at least once more than the
    # final replacement), in one message.
    check(client.mirror.message_updates - updates_before >= 3,
          f"{client.mirror.message_updates - updates_before} message updates for one reply")
    agent_messages = [m for m in client.session.messages() if m.kind == ffi.MessageKind.AGENT_TRANSCRIPT]
    check(len(agent_messages) == 1, f"agent messages {agent_messages}")
    check(client.mirror.messages == client.session.messages(), "the mirrored list is the session's")
    return reply


async def chat_echo(env: Env) -> Outcome:
    """2. Chat → local echo; the reply streams in ≥ 2 chunks into one final message; order
    kept; thinking and speaking seen."""
    client = new_client(env.trace("chat-echo"), env)
    try:
        reply = await _talk(client, "hello from the e2e harness")
        check(reply.text == "echo: hello from the e2e harness", f"reply {reply.text!r}")
        chunks = [c for s in client.trace.streams("lk.transcription") for c in s["chunks"]]
        check(len(chunks) >= 2, f"reply in {len(chunks)} chunk(s) on the wire")
        return verified(client, [
            {"agent_states_seen": ["listening", "thinking", "speaking", "listening"]},
            {"message": {"index": 0, "kind": "sent_chat", "text": "hello from the e2e harness", "final": True}},
            {"message": {"index": 1, "kind": "agent_transcript",
                         "text": "echo: hello from the e2e harness", "final": True}},
            {"message_count": 2},
            {"connection_state": "connected"},
            {"agent_never": "failed"},
            {"error": None},
        ])
    finally:
        await client.close()


async def user_attributes(env: Env) -> Outcome:
    """3. Name, metadata and attributes of the TokenRequestOptions reach the agent."""
    attributes = {"tier": "gold", "locale": "fr-CH"}
    metadata = json.dumps({"plan": "pro"})
    identity = unique("alice")
    client = new_client(env.trace("user-attributes"), env, identity=identity, name="Alice E2E",
                        metadata=metadata, attributes=attributes)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        raw = await client.mirror.until(
            f"agent attribute {SAW_USER}", lambda: client.session.agent().attributes.get(SAW_USER), JOIN_S
        )
        saw = json.loads(raw)
        want = {"identity": identity, "name": "Alice E2E", "metadata": metadata,
                "attributes": attributes, "kind": "PARTICIPANT_KIND_STANDARD"}
        check(saw == want, f"the agent saw {saw}, want {want}")
        reply = await chat(client, "/whoami", 1)
        check('"tier": "gold"' in reply.text and '\\"plan\\": \\"pro\\"' in reply.text, f"whoami: {reply.text!r}")
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "listening"},
            {"message": {"index": 0, "kind": "sent_chat", "text": "/whoami"}},
            {"message": {"index": 1, "kind": "agent_transcript", "text_contains": '"tier": "gold"', "final": True}},
            {"message_count": 2},
            {"error": None},
        ])
    finally:
        await client.close()


async def end_keeps_messages(env: Env) -> Outcome:
    """4. end → disconnected, agent disconnected, messages kept."""
    client = new_client(env.trace("end"), env)
    try:
        await _talk(client, "goodbye soon")
        client.trace.action({"type": "end"})
        await asyncio.wait_for(client.session.end(), SERVER_S)
        await client.mirror.until("disconnected", lambda: client.mirror.connection_states[-1:]
                                  == ["disconnected"], SERVER_S)
        check(client.mirror.connection_states[-2:] == ["disconnecting", "disconnected"],
              f"connection states {client.mirror.connection_states}")
        reason = client.session.disconnect_reason()
        check(reason is not None and reason.is_CLIENT_INITIATED(), f"disconnect reason {reason}")
        return verified(client, [
            {"connection_state": "disconnected"},
            {"agent_state": "disconnected"},
            {"agent_never": "failed"},
            {"message": {"index": 0, "kind": "sent_chat", "text": "goodbye soon"}},
            {"message": {"index": 1, "kind": "agent_transcript", "text": "echo: goodbye soon", "final": True}},
            {"message_count": 2},
            {"error": None},
        ])
    finally:
        await client.close()


async def start_again(env: Env) -> Outcome:
    """5. start, end, start again → a fresh token (a second upstream fetch, another identity
    and room) and a newly dispatched agent. The token server picks room and identity per token."""
    client = new_client(env.trace("start-again"), env, room_name=None)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        first_agent, first_room = client.agent_identity(), client.session.room_name()
        first_identity = client.tokens.cached_response().claims().identity
        check(client.cache.misses == 1, f"first start: {client.cache.misses} fetches")
        await asyncio.wait_for(client.session.end(), SERVER_S)
        await start(client)
        await wait_agent_state(client, "listening")
        check(client.cache.misses == 2 and client.cache.hits == 0,
              f"second start: {client.cache.misses} fetches, {client.cache.hits} cache hits (want a refetch)")
        second_identity = client.tokens.cached_response().claims().identity
        check(second_identity != first_identity, f"the same identity twice: {second_identity}")
        check(client.session.room_name() != first_room, f"the same room twice: {first_room}")
        check(client.agent_identity() not in (None, first_agent), f"agent {client.agent_identity()} after {first_agent}")
        # Not a fixture: a replay runs one start.
        check_all(client.session, client.mirror, [
            {"connection_state": "connected"}, {"agent_state": "listening"}, {"agent_never": "failed"},
            {"error": None},
        ])
        return Outcome()
    finally:
        await client.close()


async def missing_agent(env: Env) -> Outcome:
    """6. Dispatch to an agent name no worker serves → agent failed (timeout) after the
    configured agent timeout (3 s), not before."""
    client = new_client(env.trace("missing-agent"), env, agent_name=unique("no-such-agent"))
    try:
        await start(client)
        started = time.monotonic()
        await wait_agent_state(client, "failed (timeout)", AGENT_CONNECT_TIMEOUT_MS / 1000 + 5)
        waited = time.monotonic() - started
        check(waited >= AGENT_CONNECT_TIMEOUT_MS / 1000 - 0.5, f"failed after {waited:.2f} s, before the timeout")
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "failed (timeout)"},
            {"agent_never": "listening"},
            {"message_count": 0},
        ])
    finally:
        await client.close()


async def agent_removed(env: Env) -> Outcome:
    """7. The server removes the agent (RoomService.RemoveParticipant) → agent failed (left)
    after the grace; the session stays connected."""
    client = new_client(env.trace("agent-removed"), env)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        agent = client.agent_identity()
        async with api.LiveKitAPI(env.api_url, env.api_key, env.api_secret) as lkapi:
            await lkapi.room.remove_participant(
                api.RoomParticipantIdentity(room=client.session.room_name(), identity=agent))
        await wait_agent_state(client, "failed (left)", SERVER_S)
        left_at = [l["t_ms"] for l in client.trace.lines
                   if l.get("fact", {}).get("type") == "participant_left"]
        check(bool(left_at), "failed (left) without a participant_left fact")
        await client.mirror.never("reconnect or disconnect",
                                  lambda: client.session.connection_state() != ffi.ConnectionState.CONNECTED,
                                  AGENT_LEAVE_GRACE_S * 2)
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "failed (left)"},
            {"agent_identity_stable": True},
            {"error": None},
        ])
    finally:
        await client.close()


async def room_deleted(env: Env) -> Outcome:
    """8. The server deletes the room (RoomService.DeleteRoom) → disconnected; a normal end:
    no error, the reason "the room was closed"."""
    client = new_client(env.trace("room-deleted"), env)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        async with api.LiveKitAPI(env.api_url, env.api_key, env.api_secret) as lkapi:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=client.session.room_name()))
        await client.mirror.until("disconnected", lambda: client.session.connection_state()
                                  == ffi.ConnectionState.DISCONNECTED, SERVER_S)
        reason = client.session.disconnect_reason()
        check(reason is not None and reason.is_ROOM_DELETED() and reason.is_normal_end(), f"reason {reason}")
        check(all(e is None for e in client.mirror.errors), f"errors {client.mirror.errors}")
        return verified(client, [
            {"connection_state": "disconnected"},
            {"error": None},
            {"disconnect_reason_contains": "the room was closed"},
            {"message_count": 0},
        ])
    finally:
        await client.close()


async def _reconnect(env: Env, name: str, kind: int, via_reconnecting: bool) -> Outcome:
    client = new_client(env.trace(name), env)
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        agent = client.agent_identity()
        states_before = len(client.mirror.connection_states)
        await client.room.room.simulate_scenario(kind)
        await client.trace.wait_for("reconnected fact", lambda: client.trace.facts("reconnected"), SERVER_S)
        # On the session's events (the getters may run ahead of the listener).
        await client.mirror.until("connected again", lambda: client.mirror.connection_states[states_before:]
                                  [-1:] == ["connected"], SERVER_S)
        states = client.mirror.connection_states[states_before:]
        if via_reconnecting:
            check(states == ["reconnecting", "connected"], f"connection states {states}")
        check(client.agent_identity() == agent, f"agent {client.agent_identity()}, was {agent}")
        await wait_agent_state(client, "listening", SERVER_S)
        # Past the leave grace: no false `left`.
        await client.mirror.never("agent failure", lambda: client.session.agent().state
                                  == ffi.AgentState.FAILED, AGENT_LEAVE_GRACE_S * 2)
        reply = await chat(client, "still there?", 1)
        check(reply.sender_identity == agent, f"reply from {reply.sender_identity}")
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "listening"},
            {"agent_never": "failed"},
            {"agent_identity_stable": True},
            {"message": {"index": 0, "kind": "sent_chat", "text": "still there?"}},
            {"message": {"index": 1, "kind": "agent_transcript", "text": "echo: still there?", "final": True}},
            {"message_count": 2},
            {"error": None},
        ])
    finally:
        await client.close()


async def signal_reconnect(env: Env) -> Outcome:
    """9. simulate_scenario(SIGNAL_RECONNECT) → no agent failure, back to connected."""
    return await _reconnect(env, "signal-reconnect", rtc.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT, True)


async def full_reconnect(env: Env) -> Outcome:
    """10. simulate_scenario(FULL_RECONNECT) → reconnecting → connected, same agent, no false left."""
    return await _reconnect(env, "full-reconnect", rtc.SimulateScenarioKind.SIMULATE_FULL_RECONNECT, True)


async def _refused_start(client: Client, what: str) -> ffi.SessionError:
    started = time.monotonic()
    try:
        await asyncio.wait_for(client.session.start(), JOIN_S)
    except ffi.SessionError.Connection as error:
        elapsed = time.monotonic() - started
        check(bool(error.reason), f"{what}: an empty reason")
        check(client.session.connection_state() == ffi.ConnectionState.DISCONNECTED,
              f"{what}: {client.session.connection_state()} after the failed start")
        check(client.session.error() is not None, f"{what}: no session error")
        # A token the room refused must not stay cached (the core drops it on a failed connect).
        check(client.tokens.cached_response() is None,
              f"{what}: the token the server refused stays in the token source's cache")
        log.info("%s: refused in %.2f s: %s", what, elapsed, error)
        return error
    except asyncio.TimeoutError:
        raise ScenarioFailed(f"{what}: start still running after {JOIN_S} s") from None
    raise ScenarioFailed(f"{what}: start succeeded")


async def invalid_token(env: Env) -> Outcome:
    """11a. A token server handing out a token signed with the wrong secret → start fails
    promptly with a connection error; nothing cached."""
    from aiohttp import web

    async def bad_tokens(request: web.Request) -> web.Response:
        body = await request.json()
        token = (api.AccessToken(env.api_key, "not-the-secret-" + secrets.token_hex(8))
                 .with_identity(body.get("participant_identity") or unique("intruder"))
                 .with_grants(api.VideoGrants(room_join=True, room=body.get("room_name") or unique("e2e")))
                 .to_jwt())
        return web.json_response({"server_url": env.livekit_url, "participant_token": token}, status=201)

    app = web.Application()
    app.router.add_post("/token", bad_tokens)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the OS-chosen port
    try:
        client = new_client(env.trace("invalid-token"), env, token_url=f"http://127.0.0.1:{port}/token")
        try:
            error = await _refused_start(client, "invalid token")
            check(error.token_source is None, f"an invalid token is a connect error, not a token error: {error}")
            return Outcome()
        finally:
            await client.close()
    finally:
        await runner.cleanup()


async def unreachable_token_endpoint(env: Env) -> Outcome:
    """11b. A token endpoint where nothing listens → a credentials error at once, nothing
    cached, no hang."""
    client = new_client(env.trace("token-endpoint-unreachable"), env, token_url="http://127.0.0.1:9/token")
    try:
        error = await _refused_start(client, "unreachable endpoint")
        check(isinstance(error.token_source, ffi.TokenSourceError.Network),
              f"want a network error of the token source: {error}")
        return Outcome()
    finally:
        await client.close()


async def tracks(env: Env) -> Outcome:
    """13 (issue 10). The agent's avatar worker (kind AGENT, `lk.publish_on_behalf` = the
    agent) publishes a microphone tone and a camera; mutes, unmutes, unpublishes them. The FFI
    exports no tracks yet: this asserts on the room facts our forwarder handed the session."""
    client = new_client(env.trace("tracks"), env)
    peer = rtc.Room()
    try:
        await start(client)
        await wait_agent_state(client, "listening")
        agent = client.agent_identity()
        avatar = unique("avatar")
        token = (api.AccessToken(env.api_key, env.api_secret).with_identity(avatar)
                 .with_kind("agent").with_attributes({"lk.publish_on_behalf": agent})
                 .with_grants(api.VideoGrants(room_join=True, room=client.session.room_name()))
                 .to_jwt())
        await peer.connect(env.livekit_url, token, rtc.RoomOptions(auto_subscribe=False))
        audio = rtc.AudioSource(48000, 1)
        video = rtc.VideoSource(64, 64)
        mic = rtc.LocalAudioTrack.create_audio_track("avatar-audio", audio)
        cam = rtc.LocalVideoTrack.create_video_track("avatar-video", video)
        mic_pub = await peer.local_participant.publish_track(
            mic, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        cam_pub = await peer.local_participant.publish_track(
            cam, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA))
        frame = rtc.AudioFrame.create(48000, 1, 480)
        await audio.capture_frame(frame)
        video.capture_frame(rtc.VideoFrame(64, 64, rtc.VideoBufferType.RGBA, bytes(64 * 64 * 4)))
        trace = client.trace

        def seen(kind: str, sid: str) -> bool:
            return any(f["identity"] == avatar and (f.get("sid") == sid or f.get("track", {}).get("sid") == sid)
                       for f in trace.facts(kind))

        def joined_with(sid: str) -> bool:
            return any(f["participant"]["identity"] == avatar
                       and any(t["sid"] == sid for t in f["participant"]["tracks"])
                       for f in trace.facts("participant_joined"))

        for pub, source in ((mic_pub, "MICROPHONE"), (cam_pub, "CAMERA")):
            await trace.wait_for(f"{source} published", lambda: seen("track_published", pub.sid)
                                 or joined_with(pub.sid), SERVER_S)
            await trace.wait_for(f"{source} subscribed", lambda: seen("track_subscribed", pub.sid), SERVER_S)
        for track, pub in ((mic, mic_pub), (cam, cam_pub)):
            track.mute()
            await trace.wait_for(f"{pub.sid} muted", lambda: seen("track_muted", pub.sid), SERVER_S)
            track.unmute()
            await trace.wait_for(f"{pub.sid} unmuted", lambda: seen("track_unmuted", pub.sid), SERVER_S)
        for pub in (mic_pub, cam_pub):
            await peer.local_participant.unpublish_track(pub.sid)
            await trace.wait_for(f"{pub.sid} unpublished", lambda: seen("track_unpublished", pub.sid), SERVER_S)
        published = [f["track"] for f in trace.facts("track_published") if f["identity"] == avatar]
        published += [t for f in trace.facts("participant_joined") if f["participant"]["identity"] == avatar
                      for t in f["participant"]["tracks"]]
        kinds = {(t["source"], t["kind"]) for t in published}
        check({("MICROPHONE", "AUDIO"), ("CAMERA", "VIDEO")} <= kinds, f"published {kinds}")
        await peer.disconnect()
        await trace.wait_for("the avatar leaving", lambda: trace.left(avatar), SERVER_S)
        # The session: still the same agent, listening (the avatar is not a second agent).
        check(client.agent_identity() == agent, f"agent {client.agent_identity()}, was {agent}")
        return verified(client, [
            {"connection_state": "connected"},
            {"agent_state": "listening"},
            {"agent_never": "failed"},
            {"agent_identity_stable": True},
            {"error": None},
        ])
    finally:
        await peer.disconnect()
        await client.close()


async def load(env: Env) -> Outcome:
    """12. N sessions in N rooms started at once against one worker → all reach listening.
    Asserts completion; start→listening times and CPU/RSS are printed, not asserted."""
    import psutil

    async def one(index: int) -> float:
        client = new_client(Trace(f"load-{index}"), env)  # not kept: 20 of them
        try:
            started = time.monotonic()
            await asyncio.wait_for(client.session.start(), LOAD_S)
            await wait_agent_state(client, "listening", LOAD_S)
            return time.monotonic() - started
        finally:
            await client.close()

    processes = {name: psutil.Process(pid) for name, pid in env.pids.items()}
    for process in processes.values():
        process.cpu_percent(None)
    me = psutil.Process()
    me.cpu_percent(None)
    started = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(env.load_sessions)), return_exceptions=True)
    elapsed = time.monotonic() - started
    failures = [r for r in results if isinstance(r, BaseException)]
    times = sorted(r for r in results if isinstance(r, float))
    usage = {
        name: f"cpu {p.cpu_percent(None):.0f}% rss {p.memory_info().rss / 2**20:.0f} MiB"
        for name, p in [*processes.items(), ("client (our core + livekit.rtc)", me)]
    }
    if times:
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        env.notes.append(
            f"load: {len(times)}/{env.load_sessions} sessions listening in {elapsed:.1f} s; "
            f"start→listening p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s; "
            + "; ".join(f"{k} {v}" for k, v in usage.items())
        )
    check(not failures, f"{len(failures)} of {env.load_sessions} sessions failed: {failures[:3]}")
    return Outcome()


Scenario = Callable[[Env], Awaitable[Outcome]]

# In running order: id (e2e/scenarios.json) → (function, recorded as a fixture).
SCENARIOS: dict[str, tuple[Scenario, bool]] = {
    "agent-joins": (agent_joins, True),
    "chat-echo": (chat_echo, True),
    "user-attributes": (user_attributes, True),
    "end": (end_keeps_messages, True),
    "start-again": (start_again, False),
    "missing-agent": (missing_agent, True),
    "agent-removed": (agent_removed, True),
    "room-deleted": (room_deleted, True),
    "signal-reconnect": (signal_reconnect, True),
    "full-reconnect": (full_reconnect, True),
    "invalid-token": (invalid_token, False),
    "token-endpoint-unreachable": (unreachable_token_endpoint, False),
    "load": (load, False),
    "tracks": (tracks, True),
}


def shared_list() -> list[dict[str, Any]]:
    """`e2e/scenarios.json`; fails if this harness does not implement exactly its ids."""
    entries = json.loads(SHARED_LIST.read_text())
    ids = [entry["id"] for entry in entries]
    if ids != list(SCENARIOS):
        raise ScenarioFailed(f"e2e/scenarios.json lists {ids}, the harness runs {list(SCENARIOS)}")
    return entries
