"""A scenario's trace: room facts and app actions with their time, bounded waits, fixtures.

The trace is what a fixture holds (`crates/session/tests/fixtures/real-<scenario>.jsonl`):
a header, one line per fact or action with milliseconds since the connect started, then the
expectations. Waits here are waits on observable state with a bound, never fixed sleeps: a
wait re-checks its condition each time a fact arrives and fails when the bound passes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from room_facts import Fact

SDK = "livekit-python"
SDK_VERSION = "1.1.21"
SERVER = "livekit-server 1.13.5"
AGENT_STATE = "lk.agent.state"

T = TypeVar("T")


class ScenarioFailed(AssertionError):
    pass


class KnownFailure(ScenarioFailed):
    """A check that fails because of a known bug outside the harness (named in the message).
    Reported on its own line (`KNOWN <scenario>: …`), counted neither as passed nor as failed;
    once the bug is fixed the check passes and the scenario passes."""


class Trace:
    """Facts and actions as they happen, with waits on them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[dict[str, Any]] = []
        self._t0: float | None = None
        self._changed = asyncio.Event()
        self._recording = True

    # -- recording -----------------------------------------------------------------------------

    def start_clock(self) -> None:
        """Time zero: the connect starts."""
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        assert self._t0 is not None, "start_clock() first"
        return round((time.monotonic() - self._t0) * 1000)

    def fact(self, fact: Fact) -> None:
        """The forwarder's sink."""
        if self._recording:
            self.lines.append({"t_ms": self.now_ms(), "fact": fact})
        self._changed.set()

    def action(self, action: dict[str, Any]) -> None:
        if self._recording:
            self.lines.append({"t_ms": self.now_ms(), "action": action})

    def stop_recording(self) -> None:
        """Ends the trace: an explicit `wait` action marks until when the app observed, so a
        replay runs its clock as far as the recording did. Later facts are not recorded."""
        if self._recording:
            self.action({"type": "wait"})
            self._recording = False

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for(self, what: str, check: Callable[[], T | None], timeout: float) -> T:
        """Returns `check()`'s first truthy value; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScenarioFailed(f"{self.name}: no {what} within {timeout:.1f} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def observe_none(self, what: str, check: Callable[[], Any], duration: float) -> None:
        """Observes the room for `duration` seconds and fails if `check()` becomes truthy."""
        deadline = time.monotonic() + duration
        while True:
            if check():
                raise ScenarioFailed(f"{self.name}: unexpected {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # -- reading the facts (the scenario's checks; the forwarder decides nothing) -----------------

    def facts(self, kind: str | None = None) -> list[Fact]:
        return [
            line["fact"]
            for line in self.lines
            if "fact" in line and (kind is None or line["fact"]["type"] == kind)
        ]

    def local_identity(self) -> str | None:
        for fact in self.facts("connected"):
            return fact["local_identity"]
        return None

    def agents(self) -> list[str]:
        """Identities of AGENT participants seen (snapshot or joined), in order."""
        seen: list[str] = []
        for fact in self.facts():
            found = []
            if fact["type"] == "connected":
                found = fact["participants"]
            elif fact["type"] == "participant_joined":
                found = [fact["participant"]]
            for p in found:
                if p["kind"] == "AGENT" and p["identity"] not in seen:
                    seen.append(p["identity"])
        return seen

    def agent_states(self, identity: str) -> list[str]:
        """The agent's `lk.agent.state` values in the order they were reported."""
        states: list[str] = []
        for fact in self.facts():
            value = None
            if fact["type"] in ("connected",):
                for p in fact["participants"]:
                    if p["identity"] == identity:
                        value = p["attributes"].get(AGENT_STATE)
            elif fact["type"] == "participant_joined" and fact["participant"]["identity"] == identity:
                value = fact["participant"]["attributes"].get(AGENT_STATE)
            elif fact["type"] == "attributes_changed" and fact["identity"] == identity:
                value = fact["changed"].get(AGENT_STATE)
            if value and (not states or states[-1] != value):
                states.append(value)
        return states

    def agent_attribute(self, identity: str, key: str) -> str | None:
        value = None
        for fact in self.facts():
            if fact["type"] == "participant_joined" and fact["participant"]["identity"] == identity:
                value = fact["participant"]["attributes"].get(key, value)
            elif fact["type"] == "attributes_changed" and fact["identity"] == identity:
                value = fact["attributes"].get(key)
        return value

    def left(self, identity: str) -> bool:
        return any(f["identity"] == identity for f in self.facts("participant_left"))

    def present(self, identity: str) -> bool:
        """Whether `identity` is in the room according to the facts so far."""
        here = False
        for fact in self.facts():
            if fact["type"] == "connected":
                here = any(p["identity"] == identity for p in fact["participants"])
            elif fact["type"] == "participant_joined" and fact["participant"]["identity"] == identity:
                here = True
            elif fact["type"] == "participant_left" and fact["identity"] == identity:
                here = False
        return here

    def streams(self, topic: str) -> list[dict[str, Any]]:
        """Streams on `topic`: {opened, chunks: [text], closed (or None)}, in opening order."""
        by_id: dict[str, dict[str, Any]] = {}
        for fact in self.facts():
            if fact["type"] == "stream_opened" and fact["topic"] == topic:
                by_id[fact["stream_id"]] = {"opened": fact, "chunks": [], "closed": None}
            elif fact["type"] == "stream_chunk" and fact["stream_id"] in by_id:
                by_id[fact["stream_id"]]["chunks"].append(fact["text"])
            elif fact["type"] == "stream_closed" and fact["stream_id"] in by_id:
                by_id[fact["stream_id"]]["closed"] = fact
        return list(by_id.values())

    # -- fixture -------------------------------------------------------------------------------

    def write_fixture(
        self,
        path: Path,
        *,
        session: dict[str, Any],
        expectations: list[dict[str, Any]],
    ) -> None:
        header = {
            "fixture": 1,
            "sdk": SDK,
            "sdk_version": SDK_VERSION,
            "server": SERVER,
            "source": "recorded by scripts/e2e --record",
            "scenario": self.name,
            "session": session,
        }
        rows = [header, *self.lines, *({"expect": e} for e in expectations)]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        tmp.replace(path)
