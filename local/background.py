"""A daemon thread that runs a loop until asked to stop (pollers and schedules share it)."""

from __future__ import annotations

import threading

STOP_TIMEOUT_SECONDS = 5.0


class BackgroundLoop:
    """Subclasses implement `_run`, checking `self._stopping` to end promptly."""

    thread_kind = "loop"
    label = ""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.thread_kind} {self.label}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float | None = None) -> bool:
        """True once the thread has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self.request_stop()
        self.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
