"""The client-side pacer: a token bucket that keeps a run under Socket's rate limit.

Every test runs on a fake clock: nothing here waits on wall time.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import Clock

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.emulator.auth import Quota
from reconciler.http.pacing import Pacer, Rate
from reconciler.http.retry import RetryPolicy
from reconciler.triage.client import TriageClient
from reconciler.wiring import open_client

FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, timeout=10.0)


def admitted_at(rate: Rate, requests: int) -> list[float]:
    """When each of ``requests`` back-to-back requests is let through, on a fake clock."""
    clock = Clock()
    pacer = Pacer(rate, clock.sleep, clock)
    times = []
    for _ in range(requests):
        pacer.acquire()
        times.append(clock.now)
    return times


def busiest_minute(times: list[float]) -> int:
    """The most requests in any window of 60 seconds (closed at both ends: the worst case)."""
    start, most = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > 60.0 + 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("per_minute", [600, 120, 37, 2])
def test_no_minute_holds_more_than_the_rate(per_minute: int) -> None:
    rate = Rate(per_minute)
    times = admitted_at(rate, per_minute * 3 + 5)
    assert busiest_minute(times) <= per_minute
    # ... and the pacer does not dawdle: the long-run pace is the refill.
    steady = times[-1] - times[int(rate.burst)]
    assert steady == pytest.approx((len(times) - 1 - int(rate.burst)) / rate.per_second)


def test_socket_default_bursts_60_then_refills_9_a_second() -> None:
    times = admitted_at(Rate(600), 600)
    assert times[:60] == [0.0] * 60  # a small run is not slowed at all
    assert times[60] == pytest.approx(1 / 9)
    assert times[-1] == pytest.approx(60.0)  # 600 requests take a minute, never less


def test_an_idle_pacer_refills_up_to_its_burst_only() -> None:
    clock = Clock()
    pacer = Pacer(Rate(600), clock.sleep, clock)
    for _ in range(60):
        assert pacer.acquire() == 0.0
    clock.now += 3600.0  # an hour idle refills 60, not 32,400
    waits = [pacer.acquire() for _ in range(61)]
    assert waits[:60] == [0.0] * 60
    assert waits[60] == pytest.approx(1 / 9)


def test_threads_share_one_bucket_and_no_token_is_handed_out_twice() -> None:
    """Eight threads asking at the same instant: each gets its own slot, one refill apart."""
    inside, most = 0, 0
    lock = threading.Lock()

    def frozen() -> float:
        """Time stands still; a reservation that is not exclusive shows as two threads here."""
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.0002)
        with lock:
            inside -= 1
        return 0.0

    pacer = Pacer(Rate(600), sleep=lambda _seconds: None, clock=frozen)
    waits: list[float] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(25):
            wait = pacer.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    # 60 go at once; the k-th after them waits k refills: a lost update would repeat a slot.
    assert sorted(waits) == pytest.approx([0.0] * 60 + [k / 9 for k in range(1, 141)])


def fast_quota(emulator: Emulator, clock: Clock) -> None:
    """Make the emulator enforce Socket's limit as a bucket: 60 at once, 10 a second after."""
    emulator.quota = Quota(60, refill_per_second=10.0, clock=clock)


def client(emulator: Emulator, clock: Clock, rate: Rate | None) -> TriageClient:
    return TriageClient(
        TRANSPORT_BASE_URL,
        TEST_TOKEN,
        transport=EmulatorTransport(emulator),
        retry=FAST,
        rate=rate,
        sleep=clock.sleep,
        clock=clock,
    )


def test_a_paced_client_meets_no_429_where_an_unpaced_one_does(emulator: Emulator) -> None:
    clock = Clock()
    fast_quota(emulator, clock)
    with client(emulator, clock, Rate(600)) as paced:
        for _ in range(200):
            paced.list_rules(TEST_ORG)
        assert paced.total_calls == 200  # not one retry: the server never said "slow down"
    assert clock.now == pytest.approx(140 / 9)  # (200 - 60 burst) at 9 a second

    clock = Clock()
    fast_quota(emulator, clock)
    with client(emulator, clock, None) as unpaced:
        for _ in range(200):
            unpaced.list_rules(TEST_ORG)
        assert unpaced.total_calls > 200  # it met 429s and sent those calls again


def test_open_client_paces_only_when_asked_for_a_local_emulator(tmp_path: Path) -> None:
    url = f"local:{tmp_path / 'state.db'}"
    with open_client(url, env={}) as unpaced:
        assert unpaced.rate is None
    with open_client(url, env={"SOCKET_TRIAGE_RATE": "120"}) as paced:
        assert paced.rate == Rate(120)
