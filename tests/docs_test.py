"""The docs' shell blocks marked ``<!-- test -->`` run, in order, against the embedded emulator.

Each document's marked blocks run in one bash process (so an ``export`` carries over), with
``set -euo pipefail``, in a fresh directory holding a copy of ``examples/``, with this checkout's
``socket-triage`` first on ``PATH`` and ``SOCKET_API_URL`` pointing at a ``local:`` emulator.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "quickstart.md", ROOT / "docs" / "install.md", ROOT / "docs" / "ci.md"]
BLOCK = re.compile(r"^( *)<!-- test -->\n\1```sh\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)


def blocks(doc: Path) -> list[tuple[int, str]]:
    """(line, code) of each marked block, its indentation removed."""
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        indent = len(match[1])
        code = "\n".join(line[indent:] for line in match[2].splitlines())
        found.append((text.count("\n", 0, match.start()) + 1, code))
    return found


def test_the_docs_mark_blocks_to_run() -> None:
    assert len(blocks(ROOT / "docs" / "quickstart.md")) >= 6
    assert blocks(ROOT / "docs" / "install.md")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_marked_blocks_run_against_the_emulator(doc: Path, tmp_path: Path) -> None:
    found = blocks(doc)
    if not found:
        pytest.skip(f"{doc.name} marks no block")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    script = ["set -euo pipefail"]
    for line, code in found:
        script += [f"echo '### {doc.name}:{line}' >&2", code]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCKET_", "GITHUB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SOCKET_API_URL"] = "local:.socket-triage/demo.db"
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    failed_at = done.stderr.rsplit("### ", 1)[-1].split("\n", 1)[0]
    assert done.returncode == 0, (
        f"{failed_at}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )


# Every Markdown page of the project: the ones a reader reaches from the README and the docs.
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "BENCHMARKS.md", *ROOT.glob("docs/*.md")]
)
FENCE = re.compile(r"^ *(```|~~~).*?^ *\1 *$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
PARENT_PATH = re.compile(r"(?<![\w./-])\.\./[\w./-]*")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _inside(path: Path) -> bool:
    """Whether ``path`` is an existing file or folder of this checkout."""
    resolved = path.resolve()
    return resolved.is_relative_to(ROOT) and resolved.exists()


def link_targets(text: str) -> list[str]:
    """Relative link targets (fragment dropped) outside code; URLs and bare anchors left out.

    >>> link_targets("[a](docs/x.md#top) [b](https://e.org) [c](#here) `[d](../no)`\\n[e]: ../y.md")
    ['docs/x.md', '../y.md']
    """
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    found = [m[1] for m in INLINE_LINK.finditer(prose)]
    found += [m[1] for m in LINK_DEFINITION.finditer(prose)]
    paths = (target.partition("#")[0] for target in found if not URL_SCHEME.match(target))
    return [path for path in paths if path]


def parent_paths(text: str) -> list[str]:
    """Every ``../`` path in prose or in a code span; fenced examples are relative to elsewhere.

    >>> parent_paths("see `../shared/api/x.md` and ../README.md\\n```\\n$schema=../../s.json\\n```")
    ['../shared/api/x.md', '../README.md']
    """
    return PARENT_PATH.findall(FENCE.sub("", text))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    leaving = [t for t in link_targets(text) if not _inside(page.parent / t)]
    assert not leaving, f"{page.name} links to paths that are not in the repository: {leaving}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_names_a_path_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    outside = [p for p in parent_paths(text) if not _inside(page.parent / p)]
    assert not outside, f"{page.name} names paths outside the repository: {outside}"
