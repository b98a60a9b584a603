"""The client's own CPU per rule, without HTTP: load the files, convert a listing, diff.

The whole-process scale table (``bench_scale.py``) cannot reach 1M live rules in reasonable
time while the emulator pages with SQL ``OFFSET`` (its cost grows with the page number). This
measures what the client itself spends per rule at any size, so linearity can be checked up to
1M: the GET dicts are built in memory in the emulator's spelling, then converted with
``LiveRule.from_get`` and diffed against the loaded files (the scale scenario's 1% change).

Each size and garbage-collector mode runs in a fresh process: ``default`` (as the product runs
today), ``freeze`` (``gc.freeze()`` after loading and after converting), ``off``
(``gc.disable()``, the floor).

    .venv/bin/python bench/bench_engine.py [--gc default freeze off] [SIZES ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from harness import child_env
from scenario import ORG, Scenario, live_rule, write_files

from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule


def get_item(index: int) -> dict[str, Any]:
    """Live rule ``index`` as the API's GET returns it (every field present)."""
    stamp = f"2026-01-01T00:00:00.{index % 1_000_000:06d}Z"
    item: dict[str, Any] = dict.fromkeys(
        ("package_namespace", "alert_key", "fix_available", "patch_available"), None
    )
    item |= {"cvss_score_cmp": None, "cve_or_ghsa_id": None, "reachability": None, "kevs": None}
    item |= live_rule(index)
    item |= {"uuid": str(uuid.UUID(int=index)), "organization_id": "1"}
    item |= {"created_at": stamp, "updated_at": stamp}
    return item


def child(size: int, mode: str, directory: str) -> None:
    """Measure in this fresh process; print one JSON line."""
    if mode == "off":
        gc.disable()
    scenario = Scenario.one_percent(size)
    items = [get_item(i) for i in range(scenario.live)]
    started = time.perf_counter()
    rule_set = loader.load([directory], today=utc_today())
    loaded = time.perf_counter()
    if mode == "freeze":
        gc.freeze()
    live = [LiveRule.from_get(item, ORG) for item in items]
    converted = time.perf_counter()
    if mode == "freeze":
        gc.freeze()
    rules = rule_set.orgs[ORG]
    plan = diff(ORG, rules.rules, live, today=utc_today(), prune=rules.prune)
    diffed = time.perf_counter()
    assert len(plan.changes) == scenario.creates + scenario.updates + scenario.deletes
    print(
        json.dumps(
            {
                "load": loaded - started,
                "convert": converted - loaded,
                "diff": diffed - converted,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--gc", nargs="+", default=["default", "freeze", "off"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.child[2])
        return
    print("| live rules | gc | load µs/rule | convert µs/rule | diff µs/rule | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-engine-") as directory:
            write_files(Scenario.one_percent(size), Path(directory))
            for mode in args.gc:
                argv = [sys.executable, __file__, "--child", str(size), mode, directory]
                out = subprocess.run(
                    argv, check=True, capture_output=True, text=True, env=child_env()
                ).stdout
                r = json.loads(out)
                per = {k: r[k] / size * 1e6 for k in ("load", "convert", "diff")}
                print(
                    f"| {size:,} | {mode} | {per['load']:.1f} | {per['convert']:.1f} "
                    f"| {per['diff']:.1f} | {r['rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
