"""The emulator's cost per triage page at pages 1, 1,000 and 10,000 of a 1M-rule org.

Times ``TriageRules.page`` itself (no HTTP, no client), 100 rules a page, newest first, on a
store built once in ``$TMPDIR/socket-triage-bench/pages-1m.sqlite``. By default it lists as a
client does, every page in order (three passes), so pages after the first are read by key;
``--jump`` asks for the three pages alone (five times), which is what the old ``OFFSET`` paging
cost at any order.

    .venv/bin/python bench/bench_emulator_pages.py [--jump]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from reconciler.emulator.database import Org, Store, format_timestamp
from reconciler.emulator.triage_store import TriageRules

RULES, PER_PAGE, PAGES = 1_000_000, 100, (1, 1_000, 10_000)
DB = Path(tempfile.gettempdir()) / "socket-triage-bench" / "pages-1m.sqlite"


def build(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(str(path))
    org = store.add_org("bench")
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    stamps = (format_timestamp(start + dt.timedelta(seconds=i)) for i in range(RULES))
    fields = {"alertType": "cve", "state": "ignore"}
    TriageRules(store).insert(org, ((f"u{i:07d}", fields, s, s) for i, s in enumerate(stamps)))
    store.close()


def timed(triage: TriageRules, org: Org, page: int) -> float:
    began = time.perf_counter()
    offset = (page - 1) * PER_PAGE
    triage.page(org, sort="created_at", direction="desc", limit=PER_PAGE, offset=offset)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jump", action="store_true", help="time the three pages alone")
    jump = parser.parse_args().jump
    if not DB.exists():
        build(DB)
    store = Store(str(DB))
    org = store.org("bench")
    assert org is not None
    triage = TriageRules(store)
    times: dict[int, list[float]] = {page: [] for page in PAGES}
    for _ in range(5 if jump else 3):
        for page in PAGES if jump else range(1, max(PAGES) + 1):
            took = timed(triage, org, page)
            if page in times:
                times[page].append(took)
    for page, ms in times.items():
        print(f"page {page:>6,}: {min(ms):6.2f} ms min, {statistics.median(ms):6.2f} ms median")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
