"""Runs the e2e scenarios (see scenarios.py); used by scripts/e2e inside its namespace.

Prints one `PASS <name>` / `FAIL <name>: <why>` / `KNOWN <name>: <bug>` line per scenario
(KNOWN: a known bug outside the harness; recorder.KnownFailure), appends the same to
`--results`, writes fixtures to `--record-dir` when given, and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import traceback
import warnings
from pathlib import Path

from recorder import KnownFailure
from scenarios import SCENARIOS, Env, shared_list
from session_client import ffi

SCENARIO_BOUND_S = 180.0


async def run(
    env: Env, names: list[str] | None, results: Path | None, trace_dir: Path | None
) -> int:
    failed = 0
    # The room's methods are async Python callbacks run by uniffi on this loop.
    ffi.uniffi_set_event_loop(asyncio.get_running_loop())
    shared_list()  # the harness runs exactly the shared list's ids, in its order
    known = set(SCENARIOS)
    for name in names or []:
        if name not in known:
            print(f"unknown scenario {name!r}; known: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    for name, (scenario, recorded) in SCENARIOS.items():
        if names and name not in names:
            continue
        started = time.monotonic()
        fixture = env.record_dir / f"real-{name}.jsonl" if recorded and env.record_dir else None
        if fixture is not None:
            fixture.unlink(missing_ok=True)  # a failed scenario leaves no stale fixture
        try:
            outcome = await asyncio.wait_for(scenario(env), SCENARIO_BOUND_S)
            if fixture is not None and outcome.trace is not None:
                outcome.trace.write_fixture(
                    fixture,
                    session=outcome.session,
                    expectations=outcome.expectations,
                )
            line = f"PASS {name} ({time.monotonic() - started:.1f} s)"
        except KnownFailure as error:
            line = f"KNOWN {name}: {error}"
        except Exception as error:  # a failed scenario is reported and the others still run
            failed += 1
            if isinstance(error, asyncio.TimeoutError):
                error = TimeoutError(f"scenario still running after {SCENARIO_BOUND_S:.0f} s")
            logging.getLogger("e2e").debug("%s", traceback.format_exc())
            line = f"FAIL {name}: {error}"
        print(line, flush=True)
        if trace_dir is not None:
            for trace in env.traces:
                trace.write_fixture(trace_dir / f"{trace.name}.jsonl", session={}, expectations=[])
        env.traces.clear()
        if results is not None:
            with results.open("a") as out:
                out.write(line + "\n")
    for note in env.notes:
        print(note, flush=True)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--token-url", default="http://127.0.0.1:8080/token")
    parser.add_argument("--livekit-url", default="ws://127.0.0.1:7880")
    parser.add_argument("--api-url", default="http://127.0.0.1:7880")
    parser.add_argument("--api-key", default="devkey")
    parser.add_argument("--api-secret", default="secret")
    parser.add_argument("--agent-name", default="echo-agent")
    parser.add_argument("--record-dir", type=Path)
    parser.add_argument("--results", type=Path)
    parser.add_argument("--trace-dir", type=Path, help="every trace, also of failed scenarios")
    parser.add_argument("--load-sessions", type=int, default=20)
    parser.add_argument("--pid", action="append", default=[], help="name=pid, for load figures")
    parser.add_argument("--log", type=Path, help="debug log file")
    parser.add_argument("scenarios", nargs="*", help="only these (default: all)")
    args = parser.parse_args()

    # The dev keys (`devkey` / `secret`) are short on purpose; PyJWT warns on every token.
    warnings.filterwarnings("ignore", message="The HMAC key is")
    logging.basicConfig(
        filename=args.log,
        filemode="w",
        level=logging.DEBUG if args.log else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    env = Env(
        token_url=args.token_url,
        livekit_url=args.livekit_url,
        api_url=args.api_url,
        api_key=args.api_key,
        api_secret=args.api_secret,
        agent_name=args.agent_name,
        record_dir=args.record_dir,
        load_sessions=args.load_sessions,
        pids={k: int(v) for k, v in (p.split("=", 1) for p in args.pid)},
    )
    return asyncio.run(run(env, args.scenarios or None, args.results, args.trace_dir))


if __name__ == "__main__":
    sys.exit(main())
