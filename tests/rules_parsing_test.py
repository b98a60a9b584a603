"""Many rule files: their rules and their errors keep the order of the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.rules import loader

TODAY = dt.date(2026, 11, 28)


def test_errors_keep_their_files_and_order(tmp_path: Path) -> None:
    good = "org: acme\nrules:\n  - package_name: left-pad\n    state: ignore\n    note: why\n"
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text("org: acme\nrules:\n  - state: nope\n")
    (tmp_path / "c.yaml").write_bytes(b"org: acme\nrules: []\nnote: \xff\n")
    (tmp_path / "d.yaml").write_text(good.replace("left-pad", "right-pad").replace("why", "x"))
    try:
        loader.load([str(tmp_path)], today=TODAY)
    except ConfigError as exc:
        found = list(exc.diagnostics)
    else:
        raise AssertionError("b.yaml and c.yaml are errors")
    where = [(Path(d.location.file).name, d.location.line) for d in found]
    assert where == sorted(where)
    assert ("b.yaml", 3) in where and ("c.yaml", 3) in where


def test_rules_keep_the_order_of_their_files(tmp_path: Path) -> None:
    for number in range(6):
        rules = "".join(
            f"  - package_name: pkg-{number}-{i}\n    state: ignore\n    note: why\n"
            for i in range(10)
        )
        (tmp_path / f"rules-{number}.yaml").write_text(f"org: acme\nrules:\n{rules}")
    loaded = loader.load([str(tmp_path)], today=TODAY)
    names = [r.selector.package_name for r in loaded.orgs["acme"].rules]
    assert names == [f"pkg-{n}-{i}" for n in range(6) for i in range(10)]
