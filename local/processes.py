"""Child processes of the local stack, all started one way: they die with the stack, their output is
copied to its stderr under their name, and they are stopped politely then firmly.

`ChildServer` (moto server, DynamoDB Local) adds a port and readiness; the Lambda workers
(local.lambda_runtime) speak JSON lines on their stdin/stdout.
"""

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
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from local.settings import HOST, endpoint

READY_TIMEOUT_SECONDS = 60
_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now: the forked child must not load libraries
except (OSError, AttributeError):  # not Linux: no parent-death signal, the stack's own shutdown still applies
    _prctl = None
_stderr_lock = threading.Lock()


def log(component: str, message: str) -> None:
    """Progress and warnings go to stderr; stdout is kept for the READY line."""
    with _stderr_lock:  # one write per line, so lines of concurrent threads never run into each other
        sys.stderr.write(f"[{component}] {message}\n")
        sys.stderr.flush()


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


def _pump(stream: IO[bytes], component: str, skip: re.Pattern[str] | None) -> None:
    """Copy a child's output to our stderr line by line, under its name."""
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if skip is None or not skip.search(line):
                log(component, line)


def spawn(
    command: list[str],
    component: str,
    *,
    cwd: Any = None,
    env: Mapping[str, str] | None = None,
    skip: re.Pattern[str] | None = None,
    talks: bool = False,
) -> subprocess.Popen:
    """Start a child that dies with us, its output copied to our stderr under `component`.

    talks=True: its stdin and stdout are pipes for us (only its stderr is pumped); otherwise it
    reads nothing and stdout and stderr are both pumped.
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.PIPE if talks else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if talks else subprocess.STDOUT,
        preexec_fn=die_with_parent(),
    )
    output = process.stderr if talks else process.stdout
    threading.Thread(target=_pump, args=(output, component, skip), name=f"pump {component}", daemon=True).start()
    return process


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


class ChildServer:
    """A server the stack runs as a child process: launch, wait until it answers, stop.

    Subclasses give the command, a call that succeeds once the server answers, and these:
    """

    component = "server"  # log prefix
    describe = "server"  # in "starting <describe>", "stopping <describe>"
    port_variable = "PORT"  # the setting that chose the port, named when it is taken
    stop_grace_seconds = 5.0
    skip: re.Pattern[str] | None = None  # output lines not worth copying

    def __init__(self, port: int, region: str) -> None:
        self.port = port
        self.region = region
        self.endpoint = endpoint(port)
        self._process: subprocess.Popen | None = None

    def command(self) -> tuple[list[str], str | None]:
        """(argv, working directory)."""
        raise NotImplementedError

    def readiness_check(self) -> Callable[[], Any]:
        raise NotImplementedError

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process; wait_ready() blocks until it answers."""
        ensure_ports_free([(self.port_variable, self.port)])
        command, cwd = self.command()
        log(self.component, f"starting {self.describe} on {self.endpoint}")
        self._process = spawn(command, self.component, cwd=cwd, skip=self.skip)

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        check, deadline = self.readiness_check(), time.monotonic() + timeout
        while True:
            if self.exited:
                raise RuntimeError(f"{self.describe} exited with code {self._process.returncode} before it was ready")
            try:
                check()
                return
            except Exception:  # not up yet, whatever the reason
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.describe} was not ready after {timeout:.0f} s") from None
            time.sleep(0.2)

    def stop(self) -> None:
        if self._process is not None:
            log(self.component, f"stopping {self.describe}")
            stop_process(self._process, grace_seconds=self.stop_grace_seconds)
            self._process = None

    @property
    def exited(self) -> bool:
        return self._process is not None and self._process.poll() is not None
