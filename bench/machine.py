"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from local.settings import PROJECT_ROOT

PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "aws-xray-sdk", "pydantic", "requests", "moto")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _command(*argv: str) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=PROJECT_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = (done.stdout or done.stderr).strip().splitlines()
    return output[0] if done.returncode == 0 and output else None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    commit = _command("git", "rev-parse", "--short", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "java": _command("java", "-version"),
        "commit": (commit + (" (with uncommitted changes)" if dirty else "")) if commit else None,
        "packages": {name: _version(name) for name in PACKAGES},
        "loadAverageBefore": os.getloadavg(),
    }
