from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reconciler import notes
from reconciler.engine.provenance import Provenance, detect, github_repository
from reconciler.errors import Location
from reconciler.notes import MAX_TRAILER
from reconciler.rules.model import Rule
from reconciler.vocab.triage.selector import LiveRule, Selector

SHA = "0123abcdef0123abcdef0123abcdef0123abcdef"
LOC = Location("examples/triage/npm.yaml", 12, 3)
LODASH = Selector(package_type="npm", package_name="lodash")
SEAL = notes.seal("acme", LODASH)


def rule_at(location: Location | None, org: str = "acme") -> Rule:
    return Rule(org, LODASH, "ignore", "why", location=location)


def _gh_env(tmp_path: Path, event: object = None, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY": "acme/triage",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REF": "refs/heads/main",
    }
    if event is not None:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event), encoding="utf-8")
        env["GITHUB_EVENT_PATH"] = str(path)
    env.update(extra)
    return env


def test_github_push_reads_environment(tmp_path: Path) -> None:
    prov = detect(_gh_env(tmp_path, {"head_commit": {"message": "Plain commit"}}), str(tmp_path))
    assert prov == Provenance(
        commit=SHA,
        pr=None,
        repository="acme/triage",
        server_url="https://github.com",
        actor="octocat",
        ref="refs/heads/main",
    )
    assert prov.commit_url() == f"https://github.com/acme/triage/commit/{SHA}"
    assert prov.pr_url() is None


@pytest.mark.parametrize(
    ("message", "pr"),
    [
        ("Merge pull request #17 from acme/ignore-lodash\n\nIgnore lodash", 17),
        ("Ignore lodash in build tools (#23)\n\n* squashed", 23),
        ("Ignore lodash (#23) in build tools", None),
        ("Bump rules", None),
    ],
)
def test_github_push_pr_from_merge_subject(tmp_path: Path, message: str, pr: int | None) -> None:
    event = {"head_commit": {"message": message}}
    assert detect(_gh_env(tmp_path, event), str(tmp_path)).pr == pr


def test_github_pull_request_event_uses_number_and_head_sha(tmp_path: Path) -> None:
    head = "f" * 40
    event = {"pull_request": {"number": 42, "head": {"sha": head}}}
    prov = detect(_gh_env(tmp_path, event, GITHUB_REF="refs/heads/feature"), str(tmp_path))
    assert (prov.pr, prov.commit) == (42, head)
    assert prov.pr_url() == "https://github.com/acme/triage/pull/42"


@pytest.mark.parametrize(
    ("ref", "pr"),
    [("refs/pull/9/merge", 9), ("refs/pull/31/head", 31), ("refs/heads/pull/9/merge", None)],
)
def test_github_pr_from_ref(tmp_path: Path, ref: str, pr: int | None) -> None:
    event = {"head_commit": {"message": "x"}}
    assert detect(_gh_env(tmp_path, event, GITHUB_REF=ref), str(tmp_path)).pr == pr


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_github_bad_event_file_is_tolerated(tmp_path: Path, content: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content, encoding="utf-8")
    env = _gh_env(tmp_path, GITHUB_EVENT_PATH=str(path), GITHUB_REF="refs/pull/5/merge")
    prov = detect(env, str(tmp_path))
    assert (prov.commit, prov.pr) == (SHA, 5)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh repository that no user or system git config can influence."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Author")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    repo = tmp_path / "repo"
    repo.mkdir()
    return repo


def test_plain_git_checkout(isolated_git: Path) -> None:
    repo = isolated_git
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Rule Keeper")
    _git(repo, "remote", "add", "origin", "git@github.com:acme/triage.git")
    (repo / "a.yaml").write_text("rules: []\n", encoding="utf-8")
    _git(repo, "add", "a.yaml")
    _git(repo, "commit", "-q", "-m", "Add rules (#8)")
    prov = detect({}, str(repo))
    assert prov == Provenance(
        commit=_git(repo, "rev-parse", "HEAD"),
        pr=8,
        repository="acme/triage",
        server_url="https://github.com",
        actor="Rule Keeper",
        ref="refs/heads/main",
    )


def test_git_repo_without_commits_or_github_remote(isolated_git: Path) -> None:
    _git(isolated_git, "init", "-q")
    assert detect({}, str(isolated_git)) == Provenance()
    (isolated_git / "a").write_text("x", encoding="utf-8")
    _git(isolated_git, "add", "a")
    _git(isolated_git, "commit", "-q", "-m", "first")
    _git(isolated_git, "remote", "add", "origin", "https://gitlab.com/acme/triage.git")
    prov = detect({}, str(isolated_git))
    assert prov.commit is not None
    assert (prov.repository, prov.server_url, prov.commit_url()) == (None, None, None)


def test_not_a_repo_is_empty(isolated_git: Path) -> None:
    assert detect({}, str(isolated_git)) == Provenance()
    assert detect({}, str(isolated_git / "missing")) == Provenance()


@pytest.mark.parametrize(
    ("url", "repo"),
    [
        ("https://github.com/acme/triage.git", "acme/triage"),
        ("https://github.com/acme/triage", "acme/triage"),
        ("https://x-access-token:abc@github.com/acme/tri.age.git", "acme/tri.age"),
        ("ssh://git@github.com/acme/triage.git", "acme/triage"),
        ("git@github.com:acme/triage.git", "acme/triage"),
        ("https://github.com.evil.example/acme/triage", None),
        ("git@gitlab.com:acme/triage.git", None),
        ("", None),
    ],
)
def test_github_repository(url: str, repo: str | None) -> None:
    assert github_repository(url) == repo


@pytest.mark.parametrize(
    ("prov", "loc", "expected"),
    [
        (
            Provenance(commit=SHA, pr=42, repository="acme/triage"),
            LOC,
            "[socket-triage] source=examples/triage/npm.yaml:12 commit=0123abc pr=42"
            f" repo=acme/triage sel={SEAL}",
        ),
        (Provenance(), LOC, f"[socket-triage] source=examples/triage/npm.yaml:12 sel={SEAL}"),
        (Provenance(commit=SHA), None, f"[socket-triage] commit=0123abc sel={SEAL}"),
        (Provenance(), None, f"[socket-triage] sel={SEAL}"),
        (
            Provenance(repository="acme/evil\nrepo\u202e"),
            Location("my rules.yaml", 3, 1),
            f"[socket-triage] source=my%20rules.yaml:3 repo=acme/evil%0Arepo%202E sel={SEAL}",
        ),
    ],
)
def test_trailer_format(prov: Provenance, loc: Location | None, expected: str) -> None:
    assert prov.trailer(rule_at(loc)) == expected


@pytest.mark.parametrize("evil", ["a\nb", "a\r\nb", "a\u2028b", "a\x85b", "x" * 5000 + "\n"])
def test_trailer_stays_one_short_sealed_line_and_round_trips(evil: str) -> None:
    prov = Provenance(commit=evil, pr=7, repository=evil, actor=evil, ref=evil)
    trailer = prov.trailer(rule_at(Location(evil, 4, 1)))
    assert trailer.startswith(notes.TRAILER_PREFIX)
    assert len(trailer.splitlines()) == 1
    assert len(trailer) <= MAX_TRAILER
    note = notes.compose("Build-only dependency", trailer)
    assert notes.split(note) == ("Build-only dependency", trailer)
    assert LiveRule("u", LODASH, "ignore", note, org="acme").managed


def test_a_long_source_drops_whole_fields_and_keeps_the_seal() -> None:
    prov = Provenance(commit=SHA, pr=123456, repository="a-very-long-organisation/" + "r" * 40)
    trailer = prov.trailer(rule_at(Location("deep/" * 20 + "npm.yaml", 12345, 1)))
    parsed = notes.parse(trailer)
    assert parsed is not None and parsed.seal == SEAL
    assert [key for key, _ in parsed.fields] == ["source", "commit", "pr"]  # repo did not fit
    assert dict(parsed.fields)["source"].startswith("...")


def test_the_seal_binds_the_org_and_the_selector() -> None:
    trailer = Provenance().trailer(rule_at(LOC))
    note = notes.compose("why", trailer)
    assert LiveRule("u", LODASH, "ignore", note, org="acme").managed
    assert not LiveRule("u", LODASH, "ignore", note, org="beta").managed
    other = Selector(package_type="npm", package_name="left-pad")
    assert not LiveRule("u", other, "ignore", note, org="acme").managed
    assert not LiveRule("u", LODASH, "ignore", note).managed  # org unknown: never ours


def test_to_dict_has_fields_and_links() -> None:
    prov = Provenance(commit=SHA, pr=3, repository="a/b", server_url="https://ghe.example/")
    assert prov.to_dict() == {
        "commit": SHA,
        "pr": 3,
        "repository": "a/b",
        "server_url": "https://ghe.example/",
        "actor": None,
        "ref": None,
        "commit_url": f"https://ghe.example/a/b/commit/{SHA}",
        "pr_url": "https://ghe.example/a/b/pull/3",
    }
