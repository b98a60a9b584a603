"""One benchmark scenario: an org's live rules, the rule files that change them, the minimum calls.

Live rule ``i`` is ``pkg-i`` with a version, an alert type, state ``warn`` and a note. The files
keep every live rule but the last ``deletes``, turn the first ``updates`` to ``block``, and add
``creates`` new rules (``new-i``, state ``ignore``), so a plan of the files against the seeded
org makes exactly those changes. Rule files hold 1,000 rules each, as a team would split them.

The seeded org lives in a SQLite file (the emulator's own store), built once per size and copied
for each run, so every run starts from the same state and seeding is not timed.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reconciler.emulator
from reconciler.emulator import Emulator
from reconciler.vocab.triage.wire import MAX_BATCH, MAX_PER_PAGE

ORG = "bench"
TOKEN = "sktsec_bench_token"
PER_FILE = 1000
ALERTS = ("criticalCVE", "cve", "mediumCVE", "mildCVE", "installScripts", "hasNativeCode")
TYPES = ("npm", "pypi", "maven", "golang", "cargo", "gem")
SEED_CHUNK = 10_000


@dataclass(frozen=True)
class Scenario:
    """``live`` rules in the org; the files make ``creates``, ``updates`` and ``deletes``."""

    live: int
    creates: int
    updates: int
    deletes: int

    @classmethod
    def one_percent(cls, live: int) -> Scenario:
        """A 1% change split like the reference: half creates, 30% updates, 20% deletes."""
        changed = max(live // 100, 10)
        return cls(live, changed // 2, changed * 3 // 10, changed // 5)

    @property
    def label(self) -> str:
        return f"{self.live:,} live"

    @property
    def after(self) -> int:
        return self.live + self.creates - self.deletes

    def minimum_calls(self, *, verify: bool = True) -> int:
        """Pages to list, POSTs of 100 entries, one DELETE per rule, pages to verify."""
        posts = -(-(self.creates + self.updates) // MAX_BATCH)
        verification = -(-self.after // MAX_PER_PAGE) if verify else 0
        return self.list_pages + posts + self.deletes + verification

    @property
    def list_pages(self) -> int:
        return max(1, -(-self.live // MAX_PER_PAGE))


def live_rule(index: int) -> dict[str, Any]:
    """Live rule ``index`` in the GET (snake_case) spelling."""
    return {
        "package_type": TYPES[index % len(TYPES)],
        "package_name": f"pkg-{index}",
        "package_version": f"{index % 9}.*",
        "alert_type": ALERTS[index % len(ALERTS)],
        "state": "warn",
        "note": f"Reviewed by the security team, decision {index}",
    }


def _file_rule(index: int, state: str) -> str:
    rule = live_rule(index)
    return (
        f"  - package_type: {rule['package_type']}\n"
        f"    package_name: {rule['package_name']}\n"
        f'    package_version: "{rule["package_version"]}"\n'
        f"    alert_type: {rule['alert_type']}\n"
        f"    state: {state}\n"
        f"    note: {rule['note']}\n"
    )


def _new_rule(index: int) -> str:
    return (
        f"  - package_type: npm\n    package_name: new-{index}\n"
        f"    state: ignore\n    note: Accepted risk, decision new-{index}\n"
    )


def _desired(scenario: Scenario) -> Iterator[str]:
    for index in range(scenario.live - scenario.deletes):
        yield _file_rule(index, "block" if index < scenario.updates else "warn")
    for index in range(scenario.creates):
        yield _new_rule(index)


def write_files(scenario: Scenario, directory: Path) -> None:
    """The rule files for ``scenario`` in ``directory`` (``PER_FILE`` rules each)."""
    directory.mkdir(parents=True, exist_ok=True)
    chunk: list[str] = []
    number = 0
    header = f"org: {ORG}\nprune: true\nsafety:\n  max_change_percent: 100\nrules:\n"
    for text in _desired(scenario):
        chunk.append(text)
        if len(chunk) == PER_FILE:
            (directory / f"rules-{number:04d}.yaml").write_text(header + "".join(chunk))
            chunk, number = [], number + 1
    if chunk or number == 0:  # an org with no rules left still has its file: ``rules: []``
        text = header + "".join(chunk) if chunk else header.replace("rules:\n", "rules: []\n")
        (directory / f"rules-{number:04d}.yaml").write_text(text)


def seed_database(scenario: Scenario, path: Path) -> None:
    """An emulator store holding the org and its ``live`` rules, oldest first."""
    path.unlink(missing_ok=True)
    emulator = Emulator(str(path))
    try:
        emulator.add_org(ORG)
        for start in range(0, scenario.live, SEED_CHUNK):
            stop = min(scenario.live, start + SEED_CHUNK)
            emulator.seed_rules(ORG, (live_rule(i) for i in range(start, stop)))
    finally:
        emulator.close()


def seeded_store(scenario: Scenario) -> Path:
    """A seeded store for ``scenario.live`` rules, cached across runs (1M rules take ~45 s).

    The cache key includes the emulator's source, so a changed store schema seeds afresh.
    """
    source = Path(reconciler.emulator.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")):
        digest.update(path.read_bytes())
    cache = Path(tempfile.gettempdir()) / "socket-triage-bench"
    cache.mkdir(exist_ok=True)
    store = cache / f"seed-{scenario.live}-{digest.hexdigest()[:12]}.db"
    if not store.exists():
        partial = store.with_suffix(".partial")
        seed_database(scenario, partial)
        partial.rename(store)
    return store


def copy_database(source: Path, target: Path) -> None:
    """A private copy for one run: every run starts from the same live rules."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
