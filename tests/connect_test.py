from __future__ import annotations

import pytest

from reconciler.api import TOKEN_ENV_VARS
from reconciler.errors import AuthError, InsecureUrlError, UsageError
from reconciler.http.connect import (
    MISSING_TOKEN,
    Endpoint,
    parse_endpoint,
    require_token,
    resolve_token,
)


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
        ("ftp://api.socket.dev/v0", "unsupported --api-url"),
        ("api.socket.dev/v0", "unsupported --api-url"),
        ("https:///v0", "has no host"),
        ("local:", "needs a path"),
    ],
)
def test_bad_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_endpoint(url)


@pytest.mark.parametrize("winner", range(len(TOKEN_ENV_VARS)))
def test_token_precedence_follows_env_var_order(winner: int) -> None:
    env = {name: f"sktsec_{i}" for i, name in enumerate(TOKEN_ENV_VARS) if i >= winner}
    env.update(dict.fromkeys(TOKEN_ENV_VARS[:winner], "  "))  # empty ones are skipped
    assert resolve_token(env) == f"sktsec_{winner}"


def test_missing_token_names_every_env_var() -> None:
    assert resolve_token({"OTHER": "sktsec_x"}) is None
    with pytest.raises(AuthError) as info:
        require_token({}, parse_endpoint("https://api.socket.dev/v0"))
    assert str(info.value) == MISSING_TOKEN
    assert all(name in MISSING_TOKEN for name in TOKEN_ENV_VARS)


def test_loopback_may_go_without_a_token() -> None:
    assert require_token({}, parse_endpoint("http://127.0.0.1:1/v0")) is None
