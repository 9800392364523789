"""One-line progress for long commands: stage, done/total, rate, ETA where known, elapsed.

On a terminal the line is redrawn in place a few times a second (a heartbeat thread keeps the
elapsed time moving while one long statement runs); elsewhere (logs, pipes, CI) one line is
printed when a stage starts, every ``every`` seconds, and when it ends. Standard library only:
it is imported by the CLI before anything heavy.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 or float(v).is_integer() else f"{v:,.1f}"


def _dur(s: float) -> str:
    s = max(0, int(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """``with Progress("export", total=9, unit="datasets") as p: ... p.advance()``."""

    def __init__(
        self,
        stage: str,
        total: float | None = None,
        unit: str = "",
        stream: TextIO | None = None,
        interval: float = 0.25,
        every: float = 10.0,
        enabled: bool = True,
        detail: str = "",
        rate: bool = True,
    ) -> None:
        self.stage = stage
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.detail = detail
        self.show_rate = rate
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self.every = every
        self.enabled = enabled
        self.t0 = time.monotonic()
        self._last_line = 0.0
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- updates ------------------------------------------------------------------------------
    def update(
        self,
        done: float | None = None,
        total: float | None = None,
        detail: str | None = None,
        stage: str | None = None,
    ) -> None:
        with self._lock:
            if stage is not None and stage != self.stage:
                self._finish_line()
                self.stage, self.t0, self.done = stage, time.monotonic(), 0.0
                self._last_line = 0.0
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            if detail is not None:
                self.detail = detail
        self._draw()

    def advance(self, n: float = 1, detail: str | None = None) -> None:
        self.update(done=self.done + n, detail=detail)

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        parts = [self.stage]
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            pct = 100 * self.done / self.total if self.total else 0
            parts.append(f"{_num(self.done)}/{_num(self.total)}{unit} ({pct:.0f} %)")
        elif self.done:
            parts.append(f"{_num(self.done)}{unit}")
        if self.done and elapsed > 0.5 and self.show_rate:
            rate = self.done / elapsed
            parts.append(f"{_num(rate)}{unit or ' items'}/s")
            if self.total and rate > 0 and self.done < self.total:
                parts.append(f"ETA {_dur((self.total - self.done) / rate)}")
        parts.append(f"{_dur(elapsed)} elapsed")
        if self.detail:
            parts.append(self.detail)
        return " · ".join(parts)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if self.tty:
                text = self.line()
                pad = max(0, self._width - len(text))
                self.stream.write("\r" + text + " " * pad)
                self._width = len(text)
                self.stream.flush()
            elif force or now - self._last_line >= self.every or self._last_line == 0.0:
                self.stream.write(self.line() + "\n")
                self.stream.flush()
                self._last_line = now

    def _finish_line(self) -> None:
        if self.enabled and self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    # -- lifetime -----------------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._draw()
        if self.enabled:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval if self.tty else 1.0):
            self._draw()

    def close(self, message: str | None = None) -> None:
        """End the line (once: closing again, e.g. on leaving the ``with``, does nothing)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self.enabled:
            return
        if self.tty:
            self._draw()
            self._finish_line()
        else:
            self._draw(force=True)
        if message:
            self.stream.write(message + "\n")
            self.stream.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
