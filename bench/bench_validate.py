"""How long ``loader.load`` takes, against merely parsing the same files with libyaml.

Usage: .venv/bin/python bench/bench_validate.py [--per-file N] [RULES ...]
(default: 1000 10000 100000 rules, 1,000 per file)

Rules are written into a temporary directory, N per file. Each measurement runs in a fresh
process so that peak RSS (``resource.getrusage``) belongs to that measurement alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from reconciler.rules import loader

PER_FILE = 1000
ALERTS = ("criticalCVE", "cve", "mediumCVE", "mildCVE", "installScripts", "hasNativeCode")
TYPES = ("npm", "pypi", "maven", "golang", "cargo", "gem")


def rule_text(index: int) -> str:
    """One realistic rule, 7 to 10 lines, unique by package name."""
    lines = [
        f"  - package_type: {TYPES[index % len(TYPES)]}",
        f"    package_name: pkg-{index}",
        f'    package_version: "{index % 9}.*"',
        f"    alert_type: {ALERTS[index % len(ALERTS)]}",
        "    reachability: unreachable",
        f"    state: {'ignore' if index % 3 else 'warn'}",
        f"    note: Reviewed by the security team, decision {index}",
    ]
    if index % 4 == 0:
        lines.append('    cvss_score_cmp: ">=7.5"')
    if index % 5 == 0:
        lines += ["    expires: 2027-06-30", f"    ticket: SEC-{index}"]
    return "\n".join(lines)


def generate(directory: Path, rules: int, per_file: int = PER_FILE) -> None:
    for start in range(0, rules, per_file):
        body = "\n".join(rule_text(i) for i in range(start, min(rules, start + per_file)))
        path = directory / f"rules-{start // per_file:04d}.yaml"
        path.write_text(f"org: acme\nprune: true\nrules:\n{body}\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, directory: str) -> None:
    """Measure one thing in this (fresh) process and print it as JSON."""
    files = sorted(str(p) for p in Path(directory).glob("*.yaml"))
    start = time.perf_counter()
    if mode == "parse":
        for file in files:
            with open(file, encoding="utf-8") as handle:
                yaml.load(handle.read(), Loader=yaml.CSafeLoader)
        count = 0
    else:
        count = loader.load([directory], today=dt.date(2026, 11, 28)).rule_count
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb(), "rules": count}))


def measure(mode: str, directory: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, directory],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rules", nargs="*", type=int, default=[1000, 10_000, 100_000])
    parser.add_argument("--per-file", type=int, default=PER_FILE, help="rules per file")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print("| rules | files | parse only (s) | load+validate (s) | ratio | peak RSS (MB) |")
    print("|------:|------:|---------------:|------------------:|------:|--------------:|")
    for rules in args.rules:
        with tempfile.TemporaryDirectory() as directory:
            generate(Path(directory), rules, args.per_file)
            parse = measure("parse", directory)
            load = measure("load", directory)
        assert load["rules"] == rules
        files = -(-rules // args.per_file)
        ratio = load["seconds"] / parse["seconds"]
        print(
            f"| {rules:,} | {files} | {parse['seconds']:.2f} | {load['seconds']:.2f} "
            f"| {ratio:.2f}x | {load['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
