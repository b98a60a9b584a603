"""``socket-triage emulator``: serve the Socket-compatible Triage API on loopback until Ctrl-C.

Tokens are ``TOKEN[:ORG][:SCOPES]`` with SCOPES comma-separated (default: both triage scopes, ORG
default: the first org). Without ``--token`` every org gets a generated ``sktsec_emu_…`` token,
printed at start: it is the emulator's own test token, not a secret of the user. Without
``--org`` the org is ``acme``.

Seed file format (JSON), rules in the GET (snake_case) spelling, uuid and timestamps optional::

    {"orgs": {"acme": [{"package_type": "npm", "package_name": "lodash",
                        "alert_type": "cve", "state": "ignore", "note": "not reachable"}]}}
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

import click

from reconciler.emulator import Emulator, Faults, serve
from reconciler.errors import UsageError
from reconciler.http.connect import is_loopback
from reconciler.triage.wire import SCOPE_LIST, SCOPE_UPDATE

DEFAULT_ORG = "acme"
FAKE_TOKEN_PREFIX = "sktsec_emu_"


def run(
    *,
    host: str,
    port: int,
    db: str,
    orgs: tuple[str, ...],
    tokens: tuple[str, ...],
    seed_file: str | None,
    faults: str | None,
) -> int:
    """Start the server, print its URL and tokens, serve until interrupted; exit code 0."""
    parsed = [_parse_token(spec, orgs[0] if orgs else DEFAULT_ORG) for spec in tokens]
    all_orgs = list(dict.fromkeys([*orgs, *(org for _, org, _ in parsed)])) or [DEFAULT_ORG]
    emulator = Emulator(db, faults=_parse_faults(faults))
    try:
        parsed = _add_orgs_and_tokens(emulator, all_orgs, parsed)
        if seed_file:
            _seed(emulator, seed_file)
        if not is_loopback(host):
            click.echo(
                f"warning: binding {host}: the emulator is reachable from other hosts", err=True
            )
        with serve(emulator, host, port) as url:
            _announce(url, parsed)
            _wait_for_interrupt()
        click.echo("Emulator stopped.")
    finally:
        emulator.close()
    return 0


def _add_orgs_and_tokens(
    emulator: Emulator, orgs: list[str], tokens: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Register orgs and tokens; an org without a token gets a generated one. Returns all."""
    for org in orgs:
        emulator.add_org(org)
    for token, org, scopes in tokens:
        emulator.add_token(token, org, scopes)
    given = {org for _, org, _ in tokens}
    generated = [
        (FAKE_TOKEN_PREFIX + secrets.token_hex(12), org, (SCOPE_LIST, SCOPE_UPDATE))
        for org in orgs
        if org not in given
    ]
    for token, org, scopes in generated:
        emulator.add_token(token, org, scopes)
    return [*tokens, *generated]


def _announce(url: str, tokens: list[tuple[str, str, tuple[str, ...]]]) -> None:
    click.echo(f"Socket Triage API emulator listening on {url}")
    for token, org, scopes in tokens:
        click.echo(f"  org {org}: token {token} (scopes: {', '.join(scopes)})")
    click.echo(f"Try: SOCKET_API_TOKEN={tokens[0][0]} socket-triage plan --api-url {url}")
    click.echo("Press Ctrl-C to stop.")


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C (or SIGTERM, treated the same so service managers stop us cleanly)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def _parse_token(spec: str, default_org: str) -> tuple[str, str, tuple[str, ...]]:
    token, _, rest = spec.partition(":")
    org, _, scopes = rest.partition(":")
    if not token:
        raise UsageError(f"--token {spec!r}: the token is empty")
    chosen = tuple(s.strip() for s in scopes.split(",") if s.strip()) or (SCOPE_LIST, SCOPE_UPDATE)
    return token, org or default_org, chosen


def _parse_faults(text: str | None) -> Faults | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return Faults.from_mapping(data)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise UsageError(f"--faults: {exc}") from None


def _seed(emulator: Emulator, path: str) -> None:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--seed-file {path}: {exc}") from None
    orgs = data.get("orgs") if isinstance(data, dict) else None
    if not isinstance(orgs, dict) or not all(
        isinstance(rules, list) and all(isinstance(r, dict) for r in rules)
        for rules in orgs.values()
    ):
        raise UsageError(f'--seed-file {path}: expected {{"orgs": {{"ORG": [rule, ...]}}}}')
    for org, rules in orgs.items():
        emulator.seed_rules(str(org), rules)
