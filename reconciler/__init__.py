"""socket-triage: declarative triage-as-code for Socket.dev alert triage rules."""

from __future__ import annotations

__version__ = "0.2.0"
