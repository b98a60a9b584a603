"""What a release ships: the licence, a version the changelog describes, the workflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / ".github/workflows/release.yml"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_file_is_the_mit_licence_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} the socket-triage authors$", text, re.MULTILINE)
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_license_file_goes_into_the_sdist_and_the_wheel() -> None:
    # PEP 639: setuptools copies each listed file into the sdist and .dist-info/licenses/.
    assert PROJECT["license-files"] == ["LICENSE"]
    assert all((ROOT / name).is_file() for name in PROJECT["license-files"])


def release_check(tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "script/release-check"), tag],
        capture_output=True,
        text=True,
        check=False,
    )


def test_release_check_prints_the_changelog_section_of_the_tagged_version() -> None:
    done = release_check(f"v{PROJECT['version']}")
    assert done.returncode == 0, done.stderr
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    section = changelog.split(f"## [{PROJECT['version']}] - ", 1)[1].split("\n## [", 1)[0]
    assert done.stdout.strip() == section.split("\n", 1)[1].strip()
    assert "## [" not in done.stdout


@pytest.mark.parametrize("tag", ["v0.0.1", PROJECT["version"], "v" + PROJECT["version"] + ".1"])
def test_release_check_refuses_a_tag_that_is_not_pyprojects_version(tag: str) -> None:
    done = release_check(tag)
    assert done.returncode == 1
    assert done.stderr == (
        f"error: tag {tag} does not match pyproject.toml's version "
        f"{PROJECT['version']} (v{PROJECT['version']})\n"
    )
    assert done.stdout == ""


def test_release_check_refuses_a_version_without_a_dated_changelog_section(
    tmp_path: Path,
) -> None:
    (tmp_path / "script").mkdir()
    shutil.copy(ROOT / "script/release-check", tmp_path / "script/release-check")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    version = PROJECT["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    undated = re.sub(
        rf"^## \[{re.escape(version)}\] - .*$", f"## [{version}]", changelog, flags=re.M
    )
    (tmp_path / "CHANGELOG.md").write_text(undated, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "script/release-check"), f"v{version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"error: CHANGELOG.md has no section '## [{version}] - YYYY-MM-DD'\n"


def test_changelog_keeps_unreleased_first_then_a_dated_section_per_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.*)$", changelog, re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    assert all(re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", h) for h in headings[1:])
    assert f"[{PROJECT['version']}] - " in headings[1]


# The release workflow -----------------------------------------------------------------------


def release() -> dict[str, Any]:
    doc: dict[Any, Any] = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true
    return doc


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def test_release_runs_on_version_tags_only() -> None:
    assert release()["on"] == {"push": {"tags": ["v*"]}}


def test_release_builds_once_after_checking_the_tag() -> None:
    build = release()["jobs"]["build"]
    script = runs(build)
    assert script.index('script/release-check "$GITHUB_REF_NAME"') < script.index("python -m build")
    assert "python -m build --outdir dist ." in script
    assert "dist-info/licenses/LICENSE" in script  # the wheel ships the licence


def test_release_tests_the_built_wheel_not_the_checkout() -> None:
    job = release()["jobs"]["test-wheel"]
    assert job["needs"] == "build"
    (install,) = [s for s in job["steps"] if str(s.get("name", "")).startswith("Install")]
    assert 'python -m venv "$RUNNER_TEMP/wheel"' in install["run"]
    assert '"$wheel[dev]"' in install["run"]
    (pytest_step,) = [s for s in job["steps"] if "pytest" in s.get("run", "")]
    # From tests/, the checkout's reconciler/ is not on sys.path: the import is the wheel's.
    assert pytest_step["working-directory"] == "tests"
    assert '"site-packages" not in reconciler.__file__' in pytest_step["run"]
    assert 'export PATH="$RUNNER_TEMP/wheel/bin:$PATH"' in pytest_step["run"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.15"]


def test_release_publishes_with_trusted_publishing_and_provenance() -> None:
    jobs = release()["jobs"]
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"build", "test-wheel"}
    assert publish["environment"] == "pypi"
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    assert uses(publish) == [
        "actions/download-artifact",
        "actions/attest-build-provenance",
        "pypa/gh-action-pypi-publish",
    ]
    attest, pypi = publish["steps"][1:]
    assert attest["with"] == {"subject-path": "dist/*"}
    assert pypi["with"] == {"packages-dir": "dist/"}  # no password: the OIDC token is the login
    assert all("password" not in step.get("with", {}) for step in publish["steps"])


def test_release_grants_each_job_only_what_it_uses() -> None:
    doc = release()
    assert doc["permissions"] == {}
    granted = {name: job["permissions"] for name, job in doc["jobs"].items()}
    assert granted == {
        "build": {"contents": "read"},
        "test-wheel": {"contents": "read"},
        "publish": {"id-token": "write", "attestations": "write"},
        "github-release": {"contents": "write"},
    }
    assert [name for name, job in doc["jobs"].items() if "id-token" in job["permissions"]] == [
        "publish"
    ]


def test_release_attaches_the_dists_and_the_schema() -> None:
    job = release()["jobs"]["github-release"]
    assert job["needs"] == "publish"
    script = runs(job)
    assert 'gh release create "$GITHUB_REF_NAME" --verify-tag' in script
    assert "--notes-file release/release-notes.md" in script
    assert "release/dist/* reconciler/schemas/*.json" in script
    assert sorted(ROOT.glob("reconciler/schemas/*.json"))  # the glob names something


# What the docs tell users to install ---------------------------------------------------------

DOCS = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]


def doc_lines() -> list[tuple[str, str]]:
    return [
        (doc.name, line) for doc in DOCS for line in doc.read_text(encoding="utf-8").splitlines()
    ]


def test_the_mcp_extra_is_pinned_the_same_everywhere() -> None:
    (extra,) = PROJECT["optional-dependencies"]["mcp"]
    assert extra in PROJECT["optional-dependencies"]["dev"]
    ranges = {m for _, line in doc_lines() for m in re.findall(r"mcp[<>=!~][^\s\"'`)]*", line)}
    assert ranges == {extra}
    injects = [line for _, line in doc_lines() if "pipx inject" in line]
    assert injects
    assert all(f'pipx inject socket-triage "{extra}"' in line for line in injects), injects


def test_install_lines_name_the_current_release_each_supported_way() -> None:
    version = PROJECT["version"]
    install = (ROOT / "docs/install.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    git = f'pipx install "socket-triage @ git+https://github.com/socket-triage/socket-triage@v{version}"'
    wheel = f"pipx install ./socket_triage-{version}-py3-none-any.whl"
    index = re.compile(r"pipx install socket-triage(`|\s+#|$)", re.MULTILINE)
    for text in (install, readme):
        assert git in text and wheel in text and index.search(text), text[:200]
    tags = {
        m
        for _, line in doc_lines()
        if "pipx install" in line
        for m in re.findall(r"@v([\d.]+)", line)
    }
    assert tags == {version}
