"""Controlled time for tests: a wall clock (services.ports.Clock) and a monotonic ticker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


class FakeClock:
    """A Clock that stands still until told to move; safe to share between threads."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by `delta` or by timedelta keyword units (days=31); the new now."""
        step = (delta or timedelta()) + timedelta(**units)
        if step < timedelta():
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


class FakeMonotonic:
    """A time.monotonic stand-in: each call returns the time, then moves it by `tick`."""

    def __init__(self, *, tick: float = 0.0, start: float = 1000.0) -> None:
        self.tick = tick
        self._value = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            value = self._value
            self._value += self.tick
            return value

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._value += seconds
