"""The e2e echo agent: a real LiveKit Agents 1.8.9 worker, offline and text-only.

It answers every chat message (topic `lk.chat`) by streaming an echo of it word by word, so
the framework itself publishes what a client must understand: `lk.agent.state`
(listening → thinking → speaking → listening) and the reply on `lk.transcription`, one stream
per segment, `lk.transcription_final` "true" only in the trailer.

What it saw of the user (identity, name, metadata, attributes and kind of the participant the
session is linked to) is published once as the agent attribute `e2e.saw_user` (JSON), and is
also the reply to the chat command `/whoami`.

Nothing is downloaded at run time: no VAD (`vad=None`), no turn detector
(`turn_detection: None`; the default would be a cloud model), no STT/TTS, no audio in or out,
and the LLM is the local `EchoLLM` below.

Concurrency (e2e scenario 12: 20 sessions on 2 cores against this one worker):
- jobs run in threads of this process (`JobExecutorType.THREAD`), not one process per job;
- the worker's load is the number of active jobs over `E2E_AGENT_MAX_JOBS` (default 32)
  instead of the CPU average (which 20 simultaneous joins on 2 cores push to 100 %), with
  `load_threshold=1.0`;
- `E2E_AGENT_IDLE` (default 24) warm executors: with no active job the framework estimates a
  reserved job's load as threshold / idle executors, so this also bounds how many requests a
  burst may reserve at once.

Run: `python echo_agent.py start` with LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from typing import Any, Callable

from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    Agent,
    AgentServer,
    AgentSession,
    APIConnectOptions,
    JobContext,
    JobExecutorType,
    cli,
    llm,
)
from livekit.agents.voice import room_io

AGENT_NAME = os.environ.get("E2E_AGENT_NAME", "echo-agent")
MAX_JOBS = int(os.environ.get("E2E_AGENT_MAX_JOBS", "32"))
IDLE_EXECUTORS = int(os.environ.get("E2E_AGENT_IDLE", "24"))
# Pace between streamed words, like an LLM's tokens: each word is its own chunk on the wire.
WORD_PACE_S = float(os.environ.get("E2E_AGENT_WORD_PACE_MS", "40")) / 1000.0
WHOAMI = "/whoami"
SAW_USER_ATTRIBUTE = "e2e.saw_user"

logger = logging.getLogger("e2e.echo-agent")


def describe(participant: rtc.RemoteParticipant | None) -> dict[str, Any]:
    """What this agent saw of the user, as published and answered to `/whoami`."""
    if participant is None:
        return {"identity": None}
    return {
        "identity": participant.identity,
        "name": participant.name,
        "metadata": participant.metadata,
        "attributes": dict(participant.attributes),
        "kind": rtc.ParticipantKind.Name(participant.kind),
    }


def reply_to(text: str, user: Callable[[], dict[str, Any]]) -> str:
    if text.strip() == WHOAMI:
        return "whoami " + json.dumps(user(), sort_keys=True)
    return f"echo: {text}"


class EchoLLM(llm.LLM):
    """Streams `echo: <the user's last message>` word by word (one chunk per word)."""

    def __init__(self, user: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self._user = user

    @property
    def model(self) -> str:
        return "echo"

    @property
    def provider(self) -> str:
        return "e2e"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> llm.LLMStream:
        return EchoStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, user=self._user
        )


class EchoStream(llm.LLMStream):
    def __init__(self, echo: EchoLLM, *, user: Callable[[], dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(echo, **kwargs)
        self._user = user

    async def _run(self) -> None:
        last = ""
        for item in self.chat_ctx.items:
            if getattr(item, "type", None) == "message" and item.role == "user":
                last = item.text_content or ""
        words = reply_to(last, self._user).split(" ")
        request_id = f"echo-{uuid.uuid4().hex[:12]}"
        for index, word in enumerate(words):
            if index > 0:
                await asyncio.sleep(WORD_PACE_S)
            content = word if index == 0 else " " + word
            self._event_ch.send_nowait(
                llm.ChatChunk(
                    id=request_id, delta=llm.ChoiceDelta(role="assistant", content=content)
                )
            )


def job_load(server: AgentServer) -> float:
    return len(server.active_jobs) / MAX_JOBS


server = AgentServer(
    job_executor_type=JobExecutorType.THREAD,
    num_idle_processes=IDLE_EXECUTORS,
    load_fnc=job_load,
    load_threshold=1.0,
    host="127.0.0.1",
    port=0,
)


@server.rtc_session(agent_name=AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    seen: dict[str, Any] = {"identity": None}
    session: AgentSession = AgentSession(
        vad=None,
        turn_handling={"turn_detection": None},
        llm=EchoLLM(lambda: seen),
        user_away_timeout=None,
    )
    await session.start(
        Agent(instructions="Echo the user's words."),
        room=ctx.room,
        room_options=room_io.RoomOptions(
            text_input=True,
            audio_input=False,
            audio_output=False,
            text_output=room_io.TextOutputOptions(sync_transcription=False),
        ),
        record=False,
    )
    user = await ctx.wait_for_participant()
    seen.update(describe(user))
    await ctx.room.local_participant.set_attributes(
        {SAW_USER_ATTRIBUTE: json.dumps(seen, sort_keys=True)}
    )
    logger.info("job %s: linked to %s", ctx.job.id, user.identity)


if __name__ == "__main__":
    cli.run_app(server)
