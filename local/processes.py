"""Child processes of the local stack: started so they die with it, stopped politely then firmly."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO

from local.settings import HOST, endpoint

_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: the forked child must not load libraries
except (OSError, AttributeError):  # not Linux: no parent-death signal, the stack's own shutdown still applies
    _prctl = None


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when its parent dies (even by SIGKILL).

    The kernel watches the *thread* that forked, so callers spawn from long-lived threads only.
    """
    if _prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def log(component: str, message: str) -> None:
    """Progress and warnings go to stderr; stdout is kept for the READY line."""
    # One write per line, so lines of concurrent threads never run into each other.
    sys.stderr.write(f"[{component}] {message}\n")
    sys.stderr.flush()


_stderr_lock = threading.Lock()


def pump_lines(stream: IO[bytes], prefix: str, skip: re.Pattern[str] | None = None) -> threading.Thread:
    """Copy a child's output to our stderr line by line, prefixed with whose it is."""

    def pump() -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if skip is not None and skip.search(line):
                    continue
                with _stderr_lock:
                    sys.stderr.write(f"{prefix} {line}\n")
                    sys.stderr.flush()

    thread = threading.Thread(target=pump, name=f"pump {prefix}", daemon=True)
    thread.start()
    return thread


def stop_process(process: subprocess.Popen | None, grace_seconds: float = 5.0) -> None:
    """SIGTERM, wait up to the grace period, then SIGKILL; always reaps the child."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (bound together so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ensure_ports_free(ports: Iterable[tuple[str, int]]) -> None:
    """Fail early and clearly: a server already on the port would answer our readiness checks."""
    for name, port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                raise RuntimeError(f"{HOST}:{port} is already in use; set {name} to a free port") from None


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: subprocess.Popen | None = None,
    interval: float = 0.2,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        if ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(interval)


class ChildServer:
    """A server the stack runs as a child process: start (launch + wait until it answers), stop, pid."""

    component = "server"  # log prefix
    describe = "server"  # in "stopping <describe>"
    port_variable = "PORT"  # the setting that chose the port, named when it is taken
    stop_grace_seconds = 5.0

    def __init__(self, port: int, region: str) -> None:
        self.port = port
        self.region = region
        self.endpoint = endpoint(port)
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        raise NotImplementedError

    def wait_ready(self) -> None:
        raise NotImplementedError

    def _spawn(self, command: list[str], prefix: str, cwd: str | None = None, skip: re.Pattern[str] | None = None):
        ensure_ports_free([(self.port_variable, self.port)])
        self._process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )
        pump_lines(self._process.stdout, prefix, skip=skip)

    def stop(self) -> None:
        if self._process is not None:
            log(self.component, f"stopping {self.describe}")
            stop_process(self._process, grace_seconds=self.stop_grace_seconds)
            self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def exited(self) -> bool:
        return self._process is not None and self._process.poll() is not None
