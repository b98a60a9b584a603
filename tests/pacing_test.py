"""The client-side pacer: a sliding window that keeps a run under Socket's rate limit.

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
from reconciler.emulator.auth import RateWindow
from reconciler.http.pacing import MARGIN, WINDOW, Pacer, Rate
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
    # ... and the pacer does not dawdle: each window's worth goes as soon as the window allows.
    assert times[per_minute - 1] == 0.0
    assert times[-1] == pytest.approx(((len(times) - 1) // per_minute) * (WINDOW + MARGIN))
    assert times[-1] == pytest.approx(rate.seconds_for(len(times)))


def test_a_run_under_the_rate_is_not_slowed_and_a_larger_one_waits_for_the_window() -> None:
    assert admitted_at(Rate(600), 599) == [0.0] * 599
    times = admitted_at(Rate(600), 1000)
    assert times[:600] == [0.0] * 600
    assert times[600:] == [pytest.approx(61.0)] * 400  # 1,000 requests take 61 s, never 108


def test_an_idle_pacer_lets_a_whole_window_through_again() -> None:
    clock = Clock()
    pacer = Pacer(Rate(600), clock.sleep, clock)
    for _ in range(600):
        assert pacer.acquire() == 0.0
    clock.now += 3600.0
    assert [pacer.acquire() for _ in range(600)] == [0.0] * 600
    assert pacer.acquire() == pytest.approx(61.0)


def test_a_429_makes_the_window_hold_a_fifth_fewer_once_per_window() -> None:
    clock = Clock()
    pacer = Pacer(Rate(600), clock.sleep, clock)
    pacer.slow_down()
    pacer.slow_down()  # threads meeting the same 429 together slow it down once
    assert pacer.limit == 480
    assert [pacer.acquire() for _ in range(480)] == [0.0] * 480
    assert pacer.acquire() == pytest.approx(61.0)
    pacer.slow_down()  # a 429 a window later slows it down again
    assert pacer.limit == 384


def test_threads_share_one_bucket_and_no_token_is_handed_out_twice() -> None:
    """Eight threads asking at the same instant: each gets its own slot, a window apart."""
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

    pacer = Pacer(Rate(60), sleep=lambda _seconds: None, clock=frozen)
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
    # 60 go at once, then 60 a window later, ...: a lost update would let a window hold more.
    window = WINDOW + MARGIN
    assert sorted(waits) == pytest.approx(
        [0.0] * 60 + [window] * 60 + [2 * window] * 60 + [3 * window] * 20
    )


def socket_window(emulator: Emulator, clock: Clock) -> None:
    """Make the emulator enforce Socket's window: 600 requests in any 60 s, 429 past it."""
    emulator.rate_window = RateWindow(600, clock=clock)


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
    socket_window(emulator, clock)
    with client(emulator, clock, Rate(600)) as paced:
        for _ in range(1000):
            paced.list_rules(TEST_ORG)
        assert paced.total_calls == 1000  # not one retry: the server never said "slow down"
    assert clock.now == pytest.approx(61.0)  # bound by the window alone

    clock = Clock()
    socket_window(emulator, clock)
    with client(emulator, clock, None) as unpaced:
        for _ in range(1000):
            unpaced.list_rules(TEST_ORG)
        assert unpaced.total_calls > 1000  # it met 429s and sent those calls again


def test_a_429_despite_pacing_is_waited_out_and_slows_the_pacer(emulator: Emulator) -> None:
    clock = Clock()
    emulator.rate_window = RateWindow(100, clock=clock)  # stricter than the client believes
    with client(emulator, clock, Rate(600)) as paced:
        for _ in range(300):
            paced.list_rules(TEST_ORG)
        assert paced.http.total_calls > 300
        assert (paced.http.pacer_limit() or 600) < 600


def test_open_client_paces_only_when_asked_for_a_local_emulator(tmp_path: Path) -> None:
    url = f"local:{tmp_path / 'state.db'}"
    with open_client(url, env={}) as unpaced:
        assert unpaced.rate is None
    with open_client(url, env={"SOCKET_TRIAGE_RATE": "120"}) as paced:
        assert paced.rate == Rate(120)
