"""docs/alert-policies.md's walk-through runs as written, on the embedded emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "alert-policies.md"
BLOCK = re.compile(r"^<!-- test -->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_guide_walk_through_runs(tmp_path: Path) -> None:
    (script,) = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCKET_", "GITHUB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 legacy rule could not be translated" in done.stdout
    assert (
        "alert_key_not_translatable" in (tmp_path / "alert-policies/acme-migration.md").read_text()
    )
    assert done.stdout.rstrip().endswith(
        "Plan: 0 to create, 0 to update, 0 to move, 0 to replace, 0 to delete, 1 unchanged."
    )


def test_the_guide_example_file_validates(tmp_path: Path) -> None:
    from reconciler.rules import loader

    (example,) = re.findall(r"^```yaml\n(.*?)^```$", GUIDE.read_text(encoding="utf-8"), re.M | re.S)
    (tmp_path / "acme.yaml").write_text(example)
    org = loader.load([str(tmp_path)]).orgs["acme"]
    assert (len(org.policy_rules), len(org.resolutions), org.target) == (1, 1, "alert-policies")
