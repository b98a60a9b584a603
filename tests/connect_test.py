from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.api import TOKEN_ENV_VARS
from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import AuthError, InsecureUrlError, UsageError
from reconciler.http.connect import (
    LOCAL_BASE_URL,
    MISSING_TOKEN,
    Credentials,
    Endpoint,
    check_token,
    parse_endpoint,
    resolve,
    resolve_token,
)
from reconciler.http.pacing import Rate


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://api.socket.dev/v0", Endpoint(base_url="https://api.socket.dev/v0")),
        ("https://api.socket.dev/v0/", Endpoint(base_url="https://api.socket.dev/v0")),
        ("http://127.0.0.1:8080/v0", Endpoint(base_url="http://127.0.0.1:8080/v0", loopback=True)),
        ("http://127.9.9.9/v0", Endpoint(base_url="http://127.9.9.9/v0", loopback=True)),
        ("http://[::1]:9/v0", Endpoint(base_url="http://[::1]:9/v0", loopback=True)),
        ("http://LOCALHOST:9/v0", Endpoint(base_url="http://LOCALHOST:9/v0", loopback=True)),
        ("local:state/triage.db", Endpoint(local_path="state/triage.db")),
    ],
)
def test_parse_endpoint(url: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(url) == endpoint


@pytest.mark.parametrize(
    "url",
    [
        "http://api.socket.dev/v0",
        "http://10.0.0.1/v0",
        "http://localhost.evil.com/v0",
        "http://128.0.0.1/v0",
        "http://[::2]/v0",
    ],
)
def test_plain_http_to_other_hosts_is_refused(url: str) -> None:
    with pytest.raises(InsecureUrlError, match="https is required"):
        parse_endpoint(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://api.socket.dev/v0", "unsupported --api-url 'ftp://api.socket.dev/v0'"),
        ("api.socket.dev/v0", "unsupported --api-url"),
        ("https:///v0", "has no host"),
        ("local:", "needs a path"),
        ("local:state\x00.db", "local:PATH has a control character in the path"),
        ("http://[::1/v0", "the brackets around an IPv6 address do not match"),
        ("http://::1]/v0", "the brackets around an IPv6 address do not match"),
        ("http://localhost:99999/v0", "the port is not a number from 0 to 65535"),
        ("http://localhost:port/v0", "the port is not a number from 0 to 65535"),
        ("https://api.socket.dev/\nv0", "a line break at character 24"),
        ("https://api.socket.dev/v0\x1b[2J", "a control character at character 26"),
        ("https://api.socket.dev/v 0", "a space at character 25"),
        ("https://api.sоcket.dev/v0", "a non-ASCII character at character 14; a URL is printable"),
        ("https://api.socket.dev\\@evil.com/v0", "a backslash at character 23"),
        ("https://api.socket.dev/v0?debug=1", "must not have a query or fragment"),
        ("https://api.socket.dev/v0#x", "must not have a query or fragment"),
        (f"https://{'a' * 64}.socket.dev/v0", "a host name that is not valid"),
        ("https://api..socket.dev/v0", "a host name that is not valid"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_endpoint(url)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert str(info.value).isprintable()


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter22@api.socket.dev/v0",
        "https://hunter22@api.socket.dev/v0",
        "http://sktsec_hunter22:@127.0.0.1:8080/v0",
        "ftp://u:hunter22@api.socket.dev/v0",
        "api.socket.dev:hunter22@evil.com/v0",
    ],
)
def test_credentials_in_a_url_are_refused_and_never_echoed(url: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_endpoint(url)
    assert "must not carry a user name or password (the URL is not shown)" in str(info.value)
    assert "hunter22" not in str(info.value)


@pytest.mark.parametrize("winner", range(len(TOKEN_ENV_VARS)))
def test_token_precedence_follows_env_var_order(winner: int) -> None:
    env = {name: f"sktsec_{i}" for i, name in enumerate(TOKEN_ENV_VARS) if i >= winner}
    env.update(dict.fromkeys(TOKEN_ENV_VARS[:winner], "  "))  # empty ones are skipped
    assert resolve_token(env) == f"sktsec_{winner}"


def test_missing_token_names_every_env_var() -> None:
    assert resolve_token({"OTHER": "sktsec_x"}) is None
    with pytest.raises(AuthError) as info:
        resolve("https://api.socket.dev/v0", {"SOCKET_API_TOKEN_ACME": "  "})
    assert str(info.value) == MISSING_TOKEN
    assert all(name in MISSING_TOKEN for name in TOKEN_ENV_VARS)
    assert "SOCKET_API_TOKEN_<ORG>" in MISSING_TOKEN


def test_loopback_may_go_without_a_token() -> None:
    credentials = resolve("http://127.0.0.1:1/v0", {}).credentials
    assert credentials.for_org("acme") is None


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("sktsec_abc\ndef_tail", "has a line break at character 11"),
        ("sktsec_abc\u00e9def_tail", "has a non-ASCII character at character 11"),
        ("sktsec_abc\tdef_tail", "has a space at character 11"),
        ("sktsec_abc\x7fdef_tail", "has a control character at character 11"),
        ("abc", "is too short to be a Socket API token (3 characters"),
    ],
)
def test_a_malformed_token_is_refused_without_being_shown(token: str, why: str) -> None:
    env = {"SOCKET_CLI_API_KEY": token}
    with pytest.raises(AuthError) as info:
        resolve("http://127.0.0.1:1/v0", env)
    assert str(info.value).startswith(f"SOCKET_CLI_API_KEY {why}")
    assert "the token is not shown" in str(info.value)
    assert "def_tail" not in str(info.value)
    check_token("sktsec_" + "x" * 40)  # what a real token looks like passes


def test_local_urls_need_a_transport_from_the_caller(emulator: Emulator) -> None:
    with pytest.raises(UsageError, match="local:PATH is not available for this command"):
        resolve("local:x.db", {})
    asked: list[str] = []

    def local(path: str) -> EmulatorTransport:
        asked.append(path)
        return EmulatorTransport(emulator)

    target = resolve("local:x.db", {"SOCKET_API_TOKEN": "sktsec_not_sent"}, local)
    assert (asked, target.base_url) == (["x.db"], LOCAL_BASE_URL)
    assert target.credentials == Credentials()  # the embedded emulator is sent no token


# --- one token per org ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("org", "variable"),
    [
        ("acme", "SOCKET_API_TOKEN_ACME"),
        ("acme-corp", "SOCKET_API_TOKEN_ACME_CORP"),
        ("my.org", "SOCKET_API_TOKEN_MY_ORG"),
        ("Org_9", "SOCKET_API_TOKEN_ORG_9"),
    ],
)
def test_an_orgs_own_variable_wins_over_every_generic_one(org: str, variable: str) -> None:
    env = {name: f"sktsec_generic_{i}" for i, name in enumerate(TOKEN_ENV_VARS)}
    env[variable] = "sktsec_own_token"
    env["SOCKET_API_TOKEN_OTHER"] = "sktsec_other_org"
    credentials = resolve("https://api.socket.dev/v0", env).credentials
    own = credentials.for_org(org)
    assert own is not None and (own.variable, own.token) == (variable, "sktsec_own_token")
    generic = credentials.for_org("unrelated")
    assert generic is not None and (generic.variable, generic.token) == (
        "SOCKET_API_TOKEN",
        "sktsec_generic_0",
    )


@pytest.mark.parametrize("winner", range(len(TOKEN_ENV_VARS)))
def test_without_its_own_variable_an_org_gets_the_generic_order(winner: int) -> None:
    env = {name: f"sktsec_{i}_generic" for i, name in enumerate(TOKEN_ENV_VARS) if i >= winner}
    env["SOCKET_API_TOKEN_ACME"] = " "  # empty: skipped like the generic ones
    found = resolve("https://api.socket.dev/v0", env).credentials.for_org("acme")
    assert found is not None and found.token == f"sktsec_{winner}_generic"
    assert found.variable == TOKEN_ENV_VARS[winner]


def test_an_org_without_any_token_is_refused_before_its_first_request() -> None:
    env = {"SOCKET_API_TOKEN_ACME": "sktsec_acme_token"}
    credentials = resolve("https://api.socket.dev/v0", env).credentials
    assert credentials.for_org("acme") is not None
    with pytest.raises(AuthError) as info:
        credentials.for_org("beta")
    assert str(info.value).startswith(
        "no Socket API token for org 'beta': set SOCKET_API_TOKEN_BETA"
    )
    assert "never taken from the command line" in str(info.value)


def test_a_malformed_org_token_stops_only_its_own_org() -> None:
    env = {"SOCKET_API_TOKEN": "sktsec_generic_ok", "SOCKET_API_TOKEN_BETA": "sktsec_be\nta_tail"}
    credentials = resolve("https://api.socket.dev/v0", env).credentials
    assert credentials.for_org("acme") is not None
    with pytest.raises(AuthError) as info:
        credentials.for_org("beta")
    assert str(info.value).startswith("SOCKET_API_TOKEN_BETA has a line break at character 10")
    assert "ta_tail" not in str(info.value)


def test_tokens_never_show_in_a_repr() -> None:
    env = {"SOCKET_API_TOKEN": "sktsec_generic_secret", "SOCKET_API_TOKEN_B": "sktsec_b_secret"}
    target = resolve("https://api.socket.dev/v0", env)
    assert "secret" not in repr(target)
    assert "secret" not in repr(target.credentials.for_org("b"))


# --- pacing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "env", "rate"),
    [
        ("https://api.socket.dev/v0", {}, Rate(600)),
        ("https://api.socket.dev/v0", {"SOCKET_TRIAGE_RATE": "300"}, Rate(300)),
        ("https://api.socket.dev/v0", {"SOCKET_TRIAGE_RATE": "0"}, None),
        ("https://api.socket.dev/v0", {"SOCKET_TRIAGE_RATE": "off"}, None),
        ("http://127.0.0.1:1/v0", {}, None),
        ("http://127.0.0.1:1/v0", {"SOCKET_TRIAGE_RATE": "60"}, Rate(60)),
        ("local:x.db", {}, None),
        ("local:x.db", {"SOCKET_TRIAGE_RATE": " 120 "}, Rate(120)),
    ],
)
def test_only_a_remote_api_is_paced_unless_the_rate_is_set(
    emulator: Emulator, url: str, env: dict[str, str], rate: Rate | None
) -> None:
    env = {"SOCKET_API_TOKEN": "sktsec_test_token", **env}
    assert resolve(url, env, lambda _path: EmulatorTransport(emulator)).rate == rate


@pytest.mark.parametrize("value", ["fast", "-5", "1.5", "2000000", "٣"])
def test_a_bad_rate_is_a_usage_error_before_anything_opens(value: str) -> None:
    opened: list[str] = []
    with pytest.raises(UsageError) as info:
        resolve("local:x.db", {"SOCKET_TRIAGE_RATE": value}, opened.append)  # type: ignore[arg-type]
    assert str(info.value).startswith("SOCKET_TRIAGE_RATE=")
    assert "requests a minute" in str(info.value)
    assert opened == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SSL_CERT_FILE",
            "/nonexistent",
            "SSL_CERT_FILE '/nonexistent' cannot be read as CA "
            "certificates: No such file or directory",
        ),
        (
            "SSL_CERT_FILE",
            "{junk}",
            "SSL_CERT_FILE '{junk}' cannot be read as CA certificates: it holds no certificate",
        ),
        (
            "SSL_CERT_DIR",
            "/nonexistent",
            "SSL_CERT_DIR '/nonexistent' is not a readable directory of CA certificates",
        ),
        (
            "SSL_CERT_DIR",
            "{junk}",
            "SSL_CERT_DIR '{junk}' is not a readable directory of CA certificates",
        ),
    ],
)
def test_a_bad_ca_setting_is_one_line_and_exit_1_before_any_request(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("no certificate here\n")
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        "org: acme\nrules:\n  - package_type: npm\n    package_name: a\n"
        "    state: ignore\n    note: n\n"
    )
    env = {"SOCKET_API_TOKEN": "sktsec_ca_test_token", "NO_COLOR": "1"}
    env |= {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", variable: value.format(junk=junk)}
    result = CliRunner().invoke(
        cli, ["plan", str(rules), "--api-url", "https://api.socket.dev/v0"], env=env
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [f"error: {message.format(junk=junk)}"]
