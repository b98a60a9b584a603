"""The benchmark's API server: the emulator on loopback, with latency and a request log.

It is ``socket-triage emulator`` (the same ``Emulator`` and ``serve``) plus one thing the product
does not need: the start and end (``time.time()``) of every ``/v0`` request, read back with
``GET /_bench/log``, so the harness can split a client's wall time into phases. The counters
stay the emulator's own (``GET /_emulator/counters``).

    .venv/bin/python bench/e2e_server.py --db STORE.db --latency 0.02

Prints ``listening on URL`` once ready, then serves until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

from reconciler.emulator import Emulator, Faults, serve
from reconciler.emulator.responses import Response, json_response

LOG_PATH = "/_bench/log"


class LoggingEmulator(Emulator):
    """Records (start, end, method, path?query, status) for each API request."""

    def __init__(self, db: str, **options: Any) -> None:
        super().__init__(db, **options)
        self.log: list[tuple[float, float, str, str, int]] = []
        self._log_lock = threading.Lock()

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if path == LOG_PATH:
            with self._log_lock:
                return json_response(200, {"log": self.log})
        started = time.time()
        response = super().handle(method, path, query, headers, body)
        if not path.startswith("/_"):
            with self._log_lock:
                target = f"{path}?{query}" if query else path
                self.log.append((started, time.time(), method, target, response.status))
        return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite store (a private copy: it changes)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added per API call")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per token a minute")
    parser.add_argument("--org", default="bench")
    parser.add_argument("--token", default="sktsec_bench_token")
    args = parser.parse_args()
    emulator = LoggingEmulator(
        args.db, faults=Faults(latency=args.latency), rate_limit=args.rate_limit
    )
    emulator.add_token(args.token, args.org)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        with serve(emulator) as url:
            print(f"listening on {url}", flush=True)
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
