"""Ctrl-C and SIGTERM in a real ``socket-triage apply`` process: stop cleanly, report, exit 130.

The CLI runs as a child process against the emulator on a loopback socket, slowed down so that
the signal arrives mid-apply. Whatever was applied by then has exactly one audit line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_ORG, TEST_TOKEN

from reconciler.emulator import Emulator, Faults

ROOT = Path(__file__).resolve().parent.parent
KEEP, DELETE = 5, 120


def start_apply(
    emulator: Emulator, url: str, tmp_path: Path, *extra: str
) -> tuple[subprocess.Popen[str], Path]:
    """A child ``apply`` of the files that delete DELETE of the KEEP + DELETE live rules."""
    emulator.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": f"p{i}", "state": "warn", "note": "n"}
            for i in range(KEEP + DELETE)
        ],
    )
    files = tmp_path / "acme.yaml"
    files.write_text(
        "org: acme\nrules:\n"
        + "".join(
            f"  - {{package_type: npm, package_name: p{i}, state: warn, note: n}}\n"
            for i in range(KEEP)
        )
    )
    log = tmp_path / "audit.jsonl"
    command = ["apply", str(files), "--api-url", url, "--yes", "--force", *extra]
    command += ["--audit-log", str(log)]
    child = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli import main; main()", *command],
        cwd=ROOT,
        env={**os.environ, "SOCKET_API_TOKEN": TEST_TOKEN, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return child, log


def wait_for(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_apply_reports_audits_and_exits_130(
    emulator: Emulator, http_emulator: str, tmp_path: Path, sig: signal.Signals
) -> None:
    emulator.set_faults(Faults(latency=0.01))
    child, log = start_apply(emulator, http_emulator, tmp_path, "--concurrency", "2")
    wait_for(lambda: emulator.counters()["calls"]["DELETE"] >= 10)
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    lines = stderr.splitlines()
    assert lines[-1] == "Interrupted.", stderr
    applied = [line for line in lines if line.startswith("  applied: delete ")]
    assert applied and len(applied) < DELETE, stderr
    assert any(line.startswith("  not applied: delete ") for line in lines), stderr
    assert "Running apply again converges." in stderr
    live = {r["uuid"] for r in emulator.rules(TEST_ORG)}
    audit = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(audit) == len(applied) == KEEP + DELETE - len(live)
    assert all(line["action"] == "delete" and line["uuid"] not in live for line in audit)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_a_long_retry_after_at_once(
    emulator: Emulator, http_emulator: str, tmp_path: Path, sig: signal.Signals
) -> None:
    """Workers asleep in a Retry-After (every request now answered 429, wait 900 s) wake on
    the signal: the report comes within seconds, not after the wait."""
    child, log = start_apply(emulator, http_emulator, tmp_path, "--concurrency", "4")
    wait_for(lambda: emulator.counters()["calls"]["DELETE"] >= 5)
    emulator.set_faults(Faults(rate_429=1.0, retry_after=900))
    wait_for(lambda: emulator.counters()["faults"]["429"] >= 1)
    time.sleep(0.3)  # every worker is asleep on the shared gate by now
    emulator.set_faults(Faults())  # the listing that settles the outcomes gets its answers
    started = time.monotonic()
    child.send_signal(sig)
    try:
        _, stderr = child.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGINT)
        time.sleep(1)
        child.kill()
        _, stderr = child.communicate()
        raise AssertionError(stderr) from None
    assert time.monotonic() - started < 15, stderr
    assert child.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "Interrupted.", stderr
    assert any(line.startswith("  not applied: delete ") for line in stderr.splitlines()), stderr
    audit = log.read_text().splitlines()
    assert len(audit) == KEEP + DELETE - len(emulator.rules(TEST_ORG))
