"""The emulator's cost per triage page at pages 1, 1,000 and 10,000 of a 1M-rule org.

Times ``TriageRules.page`` itself (no HTTP, no client), 100 rules a page, newest first, on a
store built once in ``$TMPDIR/socket-triage-bench/pages-1m.sqlite``. By default it lists as a
client does, every page in order (three passes), so each page ends on the key the next starts
from; ``--jump`` asks for the three pages alone (five times); ``--shuffle`` asks for all 10,000
pages in a random order (three passes), as parallel clients do, and also prints each pass's
total. The first page past the known keys walks them (one seek per 100 rules): that cost is in
the first ``--jump`` and ``--shuffle`` pass.

    .venv/bin/python bench/bench_emulator_pages.py [--jump | --shuffle]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
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
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--jump", action="store_true", help="time the three pages alone")
    order.add_argument("--shuffle", action="store_true", help="every page, in a random order")
    args = parser.parse_args()
    if not DB.exists():
        build(DB)
    store = Store(str(DB))
    org = store.org("bench")
    assert org is not None
    triage = TriageRules(store)
    times: dict[int, list[float]] = {page: [] for page in PAGES}
    pages = list(PAGES) if args.jump else list(range(1, RULES // PER_PAGE + 1))
    shuffle = random.Random(12)
    for run in range(5 if args.jump else 3):
        if args.shuffle:
            shuffle.shuffle(pages)
        began = time.perf_counter()
        for page in pages:
            took = timed(triage, org, page)
            if page in times:
                times[page].append(took)
        if args.shuffle:
            whole = time.perf_counter() - began
            print(f"pass {run + 1}: {len(pages):,} pages in {whole:.2f} s")
    for page, ms in times.items():
        low, mid, high = min(ms), statistics.median(ms), max(ms)
        print(f"page {page:>6,}: {low:6.2f} ms min, {mid:6.2f} ms median, {high:6.2f} ms max")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
