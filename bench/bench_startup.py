"""Start-up times: ``--version``, importing what ``apply`` needs, ``validate`` of the examples.

Each figure is a new process (fork, exec, exit), ``--runs`` times, min and median; the same as
``hyperfine -N``. ``--top N`` also lists the N packages whose import costs the most for apply,
from ``python -X importtime`` (which inflates each figure somewhat; use it to rank, not to time).

    .venv/bin/python bench/bench_startup.py [--runs 20] [--top 15]
"""

from __future__ import annotations

import argparse
import subprocess
from collections import defaultdict

from harness import (
    APPLY_IMPORTS,
    NEUTRAL,
    PYTHON,
    ROOT,
    SOCKET_TRIAGE,
    child_env,
    load_average,
    run,
    summary,
)

COMMANDS = {
    "python -c pass (interpreter and site only)": [PYTHON, "-c", "pass"],
    "socket-triage --version": [SOCKET_TRIAGE, "--version"],
    f"python -c '{APPLY_IMPORTS}'": [PYTHON, "-c", APPLY_IMPORTS],
    "socket-triage validate examples/triage": [
        SOCKET_TRIAGE,
        "validate",
        str(ROOT / "examples" / "triage"),
    ],
}
TARGETS = {
    "socket-triage --version": 0.06,
    "socket-triage validate examples/triage": 0.25,
}


def import_costs(code: str, top: int) -> list[tuple[int, str]]:
    """(µs, package) for the packages ``code`` imports, dearest first: the self time of every
    module, summed by top-level package (so ``deepdiff`` excludes ``pydantic``)."""
    lines = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code],
        check=True,
        cwd=NEUTRAL,
        env=child_env(),
        capture_output=True,
        text=True,
    ).stderr.splitlines()
    costs: dict[str, int] = defaultdict(int)
    for line in lines:
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            costs[parts[2].strip().split(".")[0]] += int(parts[0])
    return sorted(((us, name) for name, us in costs.items()), reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    print("| command | seconds (min / median) | target |")
    print("|---|---:|---:|")
    for name, argv in COMMANDS.items():
        run(argv, cwd=NEUTRAL)  # warm the page cache and .pyc files
        seconds = [run(argv, cwd=NEUTRAL).seconds for _ in range(args.runs)]
        target = f"≤ {TARGETS[name]:.2f}" if name in TARGETS else ""
        print(f"| `{name}` | {summary(seconds, 3)} | {target} |")
    print(f"load average after: {load_average()}")
    if args.top:
        print(f"\ndearest packages in `{APPLY_IMPORTS}` (-X importtime, self ms):")
        for us, package in import_costs(APPLY_IMPORTS, args.top):
            print(f"  {us / 1000:6.1f}  {package}")


if __name__ == "__main__":
    main()
