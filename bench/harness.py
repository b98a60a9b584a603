"""What every whole-process benchmark shares: the API server, timed child processes, phases.

A measured command runs as a new process, exactly as a user runs it; its wall time is from
just before the fork to its exit, and its peak RSS is its own (``os.wait4``), not the server's.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from scenario import ORG, TOKEN, copy_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SOCKET_TRIAGE = str(ROOT / ".venv" / "bin" / "socket-triage")
# Children run outside the checkout, so that PYTHONPATH (not the current directory) decides
# which source tree they import.
NEUTRAL = Path(tempfile.gettempdir())

# What a network apply imports: the CLI and the command, the network transport (httpx, httpcore
# and ssl) and the Alert Policies client for the migration-status read, which the
# run imports on first use.
APPLY_IMPORTS = (
    "import reconciler.cli, reconciler.commands.apply, reconciler.http.transport, "
    "reconciler.policies.client"
)


@dataclass(frozen=True)
class Finished:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS, exit code, and
    when it ran (``time.time()``)."""

    seconds: float
    cpu: float
    rss_mb: float
    code: int
    started: float
    ended: float
    output: str


@dataclass(frozen=True, order=True)
class Call:
    """One API request as the server saw it."""

    start: float
    end: float
    method: str
    path: str
    status: int


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any Socket token, plus the benchmark's token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCKET_", "NO_COLOR"))}
    # An installed package has its bytecode compiled; a machine that sets this (some CI images
    # do) would make every run compile the source again, and measure that instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["SOCKET_API_TOKEN"] = TOKEN
    # Keep a PYTHONPATH the caller set: it may point at another source tree to compare.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH), env.get("PYTHONPATH")) if p)
    return {**env, **(extra or {})}


def run(argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> Finished:
    """Run ``argv`` to completion; stdout and stderr go to a temporary file (kept as ``output``)."""
    with tempfile.TemporaryFile("w+") as out:
        started, clock = time.time(), time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=cwd, env=env or child_env(), stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds, ended = time.perf_counter() - clock, time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    cpu = usage.ru_utime + usage.ru_stime
    return Finished(
        seconds, cpu, usage.ru_maxrss / 1024, process.returncode, started, ended, output
    )


class Server:
    """``bench/e2e_server.py`` on a private copy of a seeded store, as a separate process."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, path: str) -> Any:
        root = self.url.removesuffix("/v0")
        with urlopen(Request(f"{root}{path}"), timeout=60) as response:
            return json.load(response)

    def counters(self) -> dict[str, dict[str, int]]:
        """The emulator's counters: ``calls`` by method, ``entries`` created/updated/deleted."""
        counters: dict[str, dict[str, int]] = self.get("/_emulator/counters")
        return counters

    def log(self) -> list[Call]:
        return sorted(Call(*row) for row in self.get("/_bench/log")["log"])


@contextlib.contextmanager
def server(
    store: Path, work: Path, latency: float, rate_limit: int | None = None
) -> Iterator[Server]:
    """Serve a fresh copy of ``store`` with ``latency`` seconds per API call (and Socket's rate
    limit of ``rate_limit`` requests a minute, when given)."""
    db = work / "run.db"
    copy_database(store, db)
    argv = [PYTHON, str(BENCH / "e2e_server.py"), "--db", str(db), "--latency", str(latency)]
    argv += ["--org", ORG, "--token", TOKEN]
    if rate_limit is not None:
        argv += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        yield Server(line.split()[-1], process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)


def phases(finished: Finished, log: Sequence[Call]) -> list[tuple[str, float, int]]:
    """The run's wall time as (phase, seconds, calls), in time order; they add up to the total.

    GETs before the first write are the listing, GETs after the last write the verification.
    The gaps between are the client's own work: start-up before the first call, diff and
    render after the listing, the summary and interpreter exit after the last call.
    """
    writes = [c for c in log if c.method in ("POST", "DELETE")]
    first_write = writes[0].start if writes else float("inf")
    last_write = max((c.end for c in writes), default=float("inf"))
    groups: dict[str, list[Call]] = {}
    for call in log:
        kind = call.method
        if call.method == "GET":
            kind = "listing GETs" if call.start < first_write else "verification GETs"
            if first_write <= call.start <= last_write:
                kind = "GETs among writes"
        else:
            kind = f"{call.method}s"
        groups.setdefault(kind, []).append(call)
    spans = sorted((g[0].start, max(c.end for c in g), k, len(g)) for k, g in groups.items())
    rows: list[tuple[str, float, int]] = []
    cursor, previous = finished.started, "process start"
    for start, end, kind, count in spans:
        if start > cursor:
            rows.append((_gap_name(previous, kind), start - cursor, 0))
        # Phases that overlap (say DELETEs sent alongside POSTs) count only their new time.
        rows.append((kind, max(0.0, end - max(start, cursor)), count))
        cursor, previous = max(cursor, end), kind
    rows.append((_gap_name(previous, "exit"), finished.ended - cursor, 0))
    return rows


def _gap_name(before: str, after: str) -> str:
    if before == "process start":
        return "start-up: interpreter, imports, files, first connection"
    if after == "exit":
        return "after the last call: compare, print, exit"
    if before == "listing GETs":
        return "diff and render the plan"
    return f"client work between {before} and {after}"


def summary(values: Sequence[float], digits: int = 2) -> str:
    """``min / median``, rounded to ``digits`` decimals."""
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def python_seconds(code: str, runs: int) -> list[float]:
    """Wall time of ``python -c code`` as a new process, ``runs`` times."""
    return [run([PYTHON, "-c", code], cwd=NEUTRAL).seconds for _ in range(runs)]


def check(finished: Finished, what: str) -> None:
    if finished.code != 0:
        sys.exit(f"{what} failed with exit {finished.code}:\n{finished.output[-3000:]}")
