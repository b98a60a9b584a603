"""``socket-triage emulator``: serve the Socket-compatible API on loopback until Ctrl-C.

Both families are served: legacy triage and Alert Policies. Tokens are ``TOKEN[:ORG][:SCOPES]``
with SCOPES comma-separated (default: every scope of both families, ORG default: the first org).
Without ``--token`` every org gets a generated ``sktsec_emu_…`` token, printed at start: it is
the emulator's own test token, not a secret of the user. Without ``--org`` the org is ``acme``.

A database file (``--db``) is seeded once: a restart on it keeps its rules and the tokens it
generated, and says so; ``--reseed`` loads the seed file again in place of what it holds.

Seed file format (JSON). Triage rules in the GET (snake_case) spelling, uuid and timestamps
optional; Alert Policies state per org, rules and resolutions as create bodies::

    {"orgs": {"acme": [{"package_type": "npm", "package_name": "lodash",
                        "alert_type": "cve", "state": "ignore", "note": "not reachable"}]},
     "alert_policies": {"acme": {"migration_state": "accepted",
                                 "rules": [{"name": "block malware", "action": "error",
                                            "vigil_selector": {"finding.alertType": "malware"}}],
                                 "resolutions": [{"reason": "other",
                                                  "vigil_selector": {"artifact.name": "x"}}]}}}
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.commands.options import check_orgs, click_command, option
from reconciler.emulator import Emulator, Faults, serve
from reconciler.errors import UsageError
from reconciler.exits import EXIT_OK
from reconciler.http.connect import is_loopback
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE

DEFAULT_ORG = "acme"
FAKE_TOKEN_PREFIX = "sktsec_emu_"
# Both triage scopes, the two Alert Policies umbrella scopes (each grants its sub-scopes) and
# the repository listing's, which a plan of declared policies reads.
DEFAULT_SCOPES = (SCOPE_LIST, SCOPE_UPDATE, "alert-policy", "alert-resolution", "repo:list")


def run(
    *,
    host: str,
    port: int,
    db: str,
    orgs: tuple[str, ...],
    tokens: tuple[str, ...],
    seed_file: str | None,
    reseed: bool,
    faults: str | None,
    rate_limit: int | None = None,
) -> int:
    """Start the server, print its URL and tokens, serve until interrupted; exit code 0."""
    if reseed and not seed_file:
        raise UsageError("--reseed: give the --seed-file to load again")
    parsed = [_parse_token(spec, orgs[0] if orgs else DEFAULT_ORG) for spec in tokens]
    all_orgs = list(dict.fromkeys([*orgs, *(org for _, org, _ in parsed)])) or [DEFAULT_ORG]
    emulator = Emulator(db, faults=_parse_faults(faults), rate_limit=rate_limit)
    try:
        parsed = _add_orgs_and_tokens(emulator, all_orgs, parsed)
        said = _seed_once(emulator, db, seed_file, reseed=reseed) if seed_file else None
        if not is_loopback(host):
            click.echo(
                f"warning: binding {host}: the emulator is reachable from other hosts", err=True
            )
        with serve(emulator, host, port) as url:
            _announce(url, parsed, said)
            _wait_for_interrupt()
        click.echo("Emulator stopped.")
    finally:
        emulator.close()
    return EXIT_OK


def _add_orgs_and_tokens(
    emulator: Emulator, orgs: list[str], tokens: list[tuple[str, str, tuple[str, ...]]]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Register orgs and tokens; an org without a token gets the one generated for it by an
    earlier run on the same database, or a new one (kept for the next run). Returns all."""
    for org in orgs:
        emulator.add_org(org)
    for token, org, scopes in tokens:
        emulator.add_token(token, org, scopes)
    given = {org for _, org, _ in tokens}
    generated = []
    for org in orgs:
        if org in given:
            continue
        kept = emulator.kept_token(org)
        token = kept or FAKE_TOKEN_PREFIX + secrets.token_hex(12)
        if kept is None:
            emulator.keep_token(org, token)
        generated.append((token, org, DEFAULT_SCOPES))
    for token, org, scopes in generated:
        emulator.add_token(token, org, scopes)
    return [*tokens, *generated]


def _seed_once(emulator: Emulator, db: str, path: str, *, reseed: bool) -> str | None:
    """Load the seed file into a database that holds nothing yet, or again with ``--reseed``
    (its rules, policies and resolutions replaced). Returns the line that says which, if any:
    an in-memory database starts empty every time, so there is nothing to say."""
    data = _read_seed(path)  # a bad file is an error even when it is not loaded
    before = emulator.seeded_from()
    if before is not None and not reseed:
        origin = f" from {before}" if before else ""
        return (
            f"{db} was seeded{origin} before: not seeding again "
            f"(--reseed replaces its rules with {path}'s)."
        )
    if before is not None:
        emulator.reset()
    _seed(emulator, path, data)
    emulator.mark_seeded(path)
    if db == ":memory:":
        return None
    if before is not None:
        return f"Reseeded {db} from {path}: its earlier rules, policies and resolutions are gone."
    return f"Seeded {db} from {path}; a restart on {db} keeps its state (--reseed loads it again)."


def _announce(
    url: str, tokens: list[tuple[str, str, tuple[str, ...]]], seeding: str | None
) -> None:
    click.echo(f"Socket API emulator (legacy triage and Alert Policies) listening on {url}")
    for token, org, scopes in tokens:
        click.echo(f"  org {org}: token {token} (scopes: {', '.join(scopes)})")
    if seeding:
        click.echo(seeding)
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
    chosen = tuple(s.strip() for s in scopes.split(",") if s.strip()) or DEFAULT_SCOPES
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


def _read_seed(path: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--seed-file {path}: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {"orgs", "alert_policies"}:
        raise UsageError(f'--seed-file {path}: expected {{"orgs": ..., "alert_policies": ...}}')
    return data


def _seed(emulator: Emulator, path: str, data: dict[str, Any]) -> None:
    orgs = data.get("orgs", {})
    if not isinstance(orgs, dict) or not all(
        isinstance(rules, list) and all(isinstance(r, dict) for r in rules)
        for rules in orgs.values()
    ):
        raise UsageError(f'--seed-file {path}: expected {{"orgs": {{"ORG": [rule, ...]}}}}')
    for org, rules in orgs.items():
        emulator.seed_rules(str(org), rules)
    policies = data.get("alert_policies", {})
    if not isinstance(policies, dict) or not all(isinstance(v, dict) for v in policies.values()):
        raise UsageError(f'--seed-file {path}: expected {{"alert_policies": {{"ORG": {{...}}}}}}')
    for org, setup in policies.items():
        try:
            _seed_policies(emulator, str(org), setup)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--seed-file {path}: alert_policies.{org}: {exc}") from None


def _seed_policies(emulator: Emulator, org: str, setup: dict[str, Any]) -> None:
    unknown = sorted(set(setup) - {"migration_state", "rules", "resolutions"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    if "migration_state" in setup:
        emulator.set_migration_state(org, setup["migration_state"])
    for key, seed in (
        ("rules", emulator.seed_policy_rules),
        ("resolutions", emulator.seed_resolutions),
    ):
        items = setup.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError(f"{key} must be a list of objects")
        seed(org, items)


@dataclass(frozen=True)
class Options:
    """``emulator``'s command line, in ``--help`` order."""

    host: str = option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help="Address to bind. Anything but loopback must be asked for explicitly.",
    )
    port: int = option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
    db: str = option(
        "--db",
        default=":memory:",
        show_default=True,
        help="SQLite file for state that persists across runs.",
    )
    orgs: tuple[str, ...] = option(
        "--org", multiple=True, callback=check_orgs, help="Create this org (repeatable)."
    )
    tokens: tuple[str, ...] = option(
        "--token",
        multiple=True,
        metavar="TOKEN[:ORG][:SCOPES]",
        help="Accept this token (repeatable). Default: a generated token for every org.",
    )
    seed_file: str | None = option(
        "--seed-file",
        type=click.Path(exists=True, dir_okay=False),
        help="JSON file of rules to load into a database that holds none yet.",
    )
    reseed: bool = option(
        "--reseed",
        is_flag=True,
        help="Replace the database's rules, policies and resolutions with the seed file's.",
    )
    faults: str | None = option(
        "--faults", help='Fault config as JSON, e.g. \'{"seed": 1, "rate_429": 0.2}\'.'
    )
    rate_limit: int | None = option(
        "--rate-limit",
        type=click.IntRange(1, None),
        help="Enforce a rate limit as Socket does: at most N requests per token in any 60 s "
        "(Socket's is 600), 429 with Retry-After past it.",
    )


@click_command("emulator", Options)
def command(given: Options) -> int:
    """Run the Socket-compatible Triage API emulator over HTTP until Ctrl-C."""
    return run(
        host=given.host,
        port=given.port,
        db=given.db,
        orgs=given.orgs,
        tokens=given.tokens,
        seed_file=given.seed_file,
        reseed=given.reseed,
        faults=given.faults,
        rate_limit=given.rate_limit,
    )
