"""The progress display owns the terminal: log lines above it, 429 waits counted in it, every
phase labelled and cleared at its end; off a terminal, plain lines.

The terminal is forced (a stream whose ``isatty`` is true) and what it would show is worked out
from what was written: ``\\r\\x1b[2K`` returns to the start of the line and erases it.
"""

from __future__ import annotations

import io
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_ORG, TEST_TOKEN

from reconciler.commands import logs
from reconciler.emulator import Emulator, EmulatorTransport, embedded
from reconciler.emulator.faults import Faults
from reconciler.engine import progress
from reconciler.http.client import HttpClient

CLEAR = "\r\x1b[2K"
client_log = logging.getLogger("reconciler.http.client")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen(written: str) -> tuple[list[str], str]:
    """The lines a terminal keeps (scrolled up) and the one it shows last, from ``written``."""
    kept: list[str] = []
    line = ""
    for part in written.split(CLEAR):
        line = ""  # each clear erases what the line held
        *done, line = part.split("\n")
        if done:
            kept.append(done[0])
            kept.extend(done[1:])
    return kept, line


@pytest.fixture(autouse=True)
def _handler(monkeypatch: pytest.MonkeyPatch) -> None:
    logs.configure(0)  # the CLI's handler, as every run installs it
    monkeypatch.setattr(progress, "REDRAW_EVERY", 0.0)  # every update drawn: deterministic


def test_log_lines_print_above_the_status_and_429s_are_counted_in_it() -> None:
    tty = Tty()
    with progress.rules_progress("Listing acme", stream=tty) as on_page:
        assert on_page is not None
        on_page(100)
        client_log.warning("GET /orgs/acme/triage/alerts: status 502, retrying in 0.5 s")
        on_page(200)
        for _ in range(3):
            client_log.warning("GET /x: rate limited (429)", extra={"rate_limited": 7.0})
        shown = screen(tty.getvalue())
        assert shown == (
            ["GET /orgs/acme/triage/alerts: status 502, retrying in 0.5 s"],
            "Listing acme: 200 rules · rate limited (429) 3 times, last wait 7.0 s",
        )
    assert screen(tty.getvalue()) == (
        [
            "GET /orgs/acme/triage/alerts: status 502, retrying in 0.5 s",
            "Listing acme: rate limited (429) 3 times; waited as the server asked",
        ],
        "",  # the finished phase is cleared
    )
    assert "rate limited (429), every" not in tty.getvalue()


def test_phases_are_labelled_and_the_outer_one_comes_back() -> None:
    tty = Tty()
    with progress.count_progress("Applying acme", 4, stream=tty) as update:
        assert update is not None
        update(1)
        assert screen(tty.getvalue())[1] == "Applying acme: 1/4 (25%)"
        with progress.phase("Checking acme", stream=tty):
            assert screen(tty.getvalue())[1] == "Checking acme"
        assert screen(tty.getvalue())[1] == "Applying acme: 1/4 (25%)"
        update(3)
        assert screen(tty.getvalue())[1] == "Applying acme: 4/4 (100%)"
    assert screen(tty.getvalue()) == ([], "")


def test_off_a_terminal_nothing_is_drawn_and_each_line_is_plain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress.rules_progress("Listing acme", stream=io.StringIO()) as on_page:
        assert on_page is None
        client_log.warning("GET /x: rate limited (429) once", extra={"rate_limited": 7.0})
        client_log.warning("GET /x: rate limited (429) twice", extra={"rate_limited": 7.0})
    assert capsys.readouterr().err == (
        "GET /x: rate limited (429) once\nGET /x: rate limited (429) twice\n"
    )


def test_the_clients_429_waits_collapse_into_one_counter(emulator: Emulator) -> None:
    emulator.set_faults(Faults(seed=3, rate_429=0.5, retry_after=2))
    tty = Tty()
    with (
        HttpClient(
            "http://emulator.test/v0",
            TEST_TOKEN,
            transport=EmulatorTransport(emulator),
            sleep=lambda _seconds: None,
        ) as http,
        progress.rules_progress("Listing acme", stream=tty),
    ):
        for page in range(1, 9):
            http.send("GET", f"/orgs/{TEST_ORG}/triage/alerts", params={"page": page})
    waits = emulator.counters()["faults"]["429"]
    assert waits >= 2
    assert screen(tty.getvalue()) == (
        [f"Listing acme: rate limited (429) {waits} times; waited as the server asked"],
        "",
    )


def on_a_terminal(*args: str) -> tuple[int, bytes, str]:
    """Run socket-triage with its stderr on a pseudo-terminal: exit code, stdout, what the
    terminal was sent."""
    main, secondary = pty.openpty()
    triage = str(Path(sys.executable).with_name("socket-triage"))
    env = {**os.environ, "NO_COLOR": "1"}
    with subprocess.Popen(
        [triage, *args], stdout=subprocess.PIPE, stderr=secondary, env=env
    ) as done:
        os.close(secondary)
        stdout = done.stdout.read() if done.stdout else b""
        written = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            written += chunk
    os.close(main)
    return done.returncode, stdout, written.decode().replace("\r\n", "\n")


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal needs POSIX")


@posix_only
def test_a_plan_on_a_terminal_leaves_no_bar_behind(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    emulator = embedded(str(db))
    seeded = [
        {"package_type": "npm", "package_name": f"p{i}", "state": "warn", "note": "n"}
        for i in range(150)
    ]
    emulator.seed_rules(TEST_ORG, seeded)
    emulator.close()
    rules = tmp_path / "acme.yaml"
    rules.write_text("org: acme\nrules:\n  - package: pkg:npm/p0\n    state: warn\n    note: n\n")
    code, stdout, text = on_a_terminal("plan", str(rules), "--api-url", f"local:{db}")
    assert code == 0, text
    assert b"Plan: 0 to create, 0 to update, 149 to delete" in stdout
    assert "Listing acme: 150 rules" in text
    # Drawn, then cleared: nothing is left on the terminal but the estimate of the apply.
    estimate = (
        "Apply will make about 153 API calls (149 writes, 4 to check before and after): within "
        "the rate limit of 600 a minute, none waits for it."
    )
    assert screen(text) == ([estimate], "")
    args = ("apply", str(rules), "--yes", "--force", "--api-url", f"local:{db}")
    code, stdout, text = on_a_terminal(*args)
    assert code == 0, text
    for status in ("Listing acme", "Applying acme: 149/149 (100%)", "Checking acme"):
        assert status in text
    assert screen(text) == ([], "")


@posix_only
def test_an_alert_policies_listing_is_labelled_too(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    emulator = embedded(str(db))
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.close()
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        "org: acme\npolicy_rules:\n  - name: a\n    vigil_selector: {finding.alertType: cve}\n"
        "    action: warn\n    note: why\n"
    )
    code, stdout, text = on_a_terminal("plan", str(rules), "--api-url", f"local:{db}")
    assert code == 0, text
    assert b"target: alert-policies" in stdout
    assert "Listing acme" in text
    lines, bottom = screen(text)  # nothing left but the estimate of the apply
    assert [line.split(" API calls")[0] for line in lines] == ["Apply will make about 9"]
    assert bottom == ""
