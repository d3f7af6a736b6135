"""Local Lambda: each function runs in its own worker processes, like execution environments.

A function gets a lazily grown pool of workers (local.lambda_worker); each worker
serves one invocation at a time, so a concurrent burst cold-starts new workers up
to the pool size and further invocations wait for a free one. A worker's environment
is exactly what the template gives that function plus the Lambda runtime variables:
nothing leaks from the stack's own environment or from another function.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.processes import log, spawn, stop_process
from local.settings import DUMMY_CREDENTIALS, LOCAL_ACCOUNT_ID
from local.template import FunctionSpec

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
DEFAULT_MAX_WORKERS = 4
INIT_TIMEOUT_SECONDS = 30  # Lambda allows 10 s of init; a busy 2-core laptop importing boto3 needs slack
_PASSED_THROUGH = ("PATH", "HOME", "LANG")
_TIMED_OUT = object()


@dataclass(frozen=True)
class InvocationResult:
    status: str  # "ok" | "error" | "timeout"
    payload: Any = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_SHUTDOWN = InvocationResult("error", error_type="Runtime.Shutdown", error_message="stack is stopping")


def worker_environment(
    spec: FunctionSpec,
    *,
    region: str,
    aws_endpoint: str,
    dynamodb_endpoint: str,
    parent_environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of one function's workers (nothing else from the parent)."""
    parent = os.environ if parent_environ is None else parent_environ
    env = dict(spec.environment)
    env.update({name: parent[name] for name in _PASSED_THROUGH if name in parent})
    env.setdefault("LANG", "C.UTF-8")
    env.update(DUMMY_CREDENTIALS)
    env.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3.13'}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            # boto3 (>= 1.28) sends every client to these instead of AWS.
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
            "PYTHONPATH": os.pathsep.join(str(path) for path in (spec.code_dir, *spec.layer_dirs)),
        }
    )
    return env


class _Spawner:
    """Starts every worker from one long-lived thread.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits; gateway request
    threads are short-lived, so forking there would kill warm workers after each request.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")

    def spawn(self, *args: Any, **kwargs: Any) -> subprocess.Popen:
        return self._thread.submit(spawn, *args, talks=True, **kwargs).result()

    def shutdown(self) -> None:
        self._thread.shutdown(wait=False)


class Worker:
    """One execution environment: a `lambda_worker.py` process with the handler imported."""

    def __init__(self, spec: FunctionSpec, process: subprocess.Popen, label: str) -> None:
        self.spec = spec
        self.label = label
        self._process = process
        self._messages: queue.Queue[dict | None] = queue.Queue()  # None: the worker's stdout closed
        threading.Thread(target=self._read, name=f"read {label}", daemon=True).start()

    @classmethod
    def start(
        cls, spec: FunctionSpec, env: Mapping[str, str], spawner: _Spawner, label: str
    ) -> Worker | InvocationResult:
        """A worker with its handler imported, or the init error an invocation gets instead."""
        command = [sys.executable, "-u", str(WORKER_SCRIPT), spec.handler]
        try:
            process = spawner.spawn(command, label, cwd=spec.code_dir, env=env)
        except (OSError, RuntimeError) as exc:  # RuntimeError: the spawner is shut down (stack stopping)
            return InvocationResult("error", None, "Runtime.Unknown", f"cannot start a worker: {exc}")
        worker = cls(spec, process, label)
        message = worker._next_message(INIT_TIMEOUT_SECONDS)
        if message is not _TIMED_OUT and message is not None and message.get("type") == "ready":
            return worker
        worker.stop(grace_seconds=0.5)
        if message is _TIMED_OUT or message is None:
            return InvocationResult("error", None, "Runtime.ExitError", "worker exited or hung during init")
        return InvocationResult("error", None, message.get("errorType"), message.get("errorMessage"))

    def _read(self) -> None:
        with self._process.stdout as stream:
            for line in stream:
                try:
                    self._messages.put(json.loads(line))
                except ValueError:
                    log(self.label, f"unexpected protocol line: {line[:200]!r}")
        self._messages.put(None)  # EOF: the worker exited

    def _next_message(self, timeout: float) -> Any:
        """The next message, None once the worker has exited, or _TIMED_OUT."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return _TIMED_OUT

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def invoke(self, event: Any, region: str) -> InvocationResult:
        request_id, timeout = str(uuid.uuid4()), self.spec.timeout
        request = {
            "requestId": request_id,
            "event": event,
            "deadlineMs": int(time.time() * 1000) + timeout * 1000,
            "invokedFunctionArn": f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{self.spec.function_name}",
        }
        try:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        except (OSError, ValueError):  # ValueError: stdin already closed by a concurrent stop()
            self.stop()
            return InvocationResult("error", error_type="Runtime.ExitError", error_message="worker is gone")
        message = self._next_message(timeout)  # one request at a time: the next message is its answer
        if message is _TIMED_OUT:
            log(self.label, f"Task timed out after {timeout:.2f} seconds (request {request_id}); killing worker")
            self.stop(grace_seconds=0.5)
            return InvocationResult("timeout", None, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
        if message is None:
            self.stop()
            return InvocationResult("error", None, "Runtime.ExitError", "worker exited during the invocation")
        if message["type"] == "result":
            return InvocationResult("ok", payload=message.get("payload"))
        return InvocationResult("error", None, message.get("errorType"), message.get("errorMessage"))

    def stop(self, grace_seconds: float = 2.0) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            with contextlib.suppress(OSError):
                self._process.stdin.close()  # EOF lets an idle worker leave on its own
        stop_process(self._process, grace_seconds)


class FunctionPool:
    """Up to `max_workers` warm workers of one function; one invocation per worker at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        spawner: _Spawner,
        region: str,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        self.spec = spec
        self._env = dict(env)
        self._spawner = spawner
        self._region = region
        self._slots = threading.BoundedSemaphore(max_workers)
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._started = 0

    def invoke(self, event: Any) -> InvocationResult:
        while not self._slots.acquire(timeout=0.5):
            if self._closed.is_set():
                return _SHUTDOWN
        try:
            with self._lock:
                if self._closed.is_set():
                    return _SHUTDOWN
                worker = self._idle.pop() if self._idle else None  # the most recently used: the warmest
                self._started += worker is None
                label = f"{self.spec.logical_id}#{self._started}"
            if worker is None:
                worker = Worker.start(self.spec, self._env, self._spawner, label)
                if isinstance(worker, InvocationResult):
                    log(label, f"init failed: {worker.error_type}: {worker.error_message}")
                    return worker
            with self._lock:
                self._busy.add(worker)
            try:
                return worker.invoke(event, self._region)
            finally:
                with self._lock:
                    self._busy.discard(worker)
                    kept = worker.alive and not self._closed.is_set()
                    if kept:
                        self._idle.append(worker)
                if not kept:
                    worker.stop()
        finally:
            self._slots.release()

    def stop(self) -> None:
        self._closed.set()
        with self._lock:
            workers = self._idle + list(self._busy)
            self._idle.clear()
        for worker in workers:
            worker.stop()


class LambdaRuntime:
    """Every function of the template, invoked by logical id."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        environments: Mapping[str, Mapping[str, str]],
        *,
        region: str,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        self._spawner = _Spawner()
        self._pools = {
            logical_id: FunctionPool(spec, environments[logical_id], self._spawner, region, max_workers)
            for logical_id, spec in functions.items()
        }

    def invoke(self, function_id: str, event: Any) -> InvocationResult:
        return self._pools[function_id].invoke(event)

    def stop(self) -> None:
        for pool in self._pools.values():
            pool.stop()
        self._spawner.shutdown()
