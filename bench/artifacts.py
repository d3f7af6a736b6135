"""Built artifact sizes: every function's code and the layer, as `sam build` leaves them.

The full benchmark runs `sam build` (the same command as `make build`) into a temporary
build directory; the quick one measures an existing `.aws-sam/build` if there is one.
Sizes are the unzipped tree (Lambda's 250 MB limit counts function + layers unzipped) and
the tree zipped with deflate (what is uploaded).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from local.settings import PROJECT_ROOT, TEMPLATE_PATH
from local.template import LocalTemplate

SAM_CANDIDATES = (PROJECT_ROOT / ".venv-tools" / "bin" / "sam",)
EXISTING_BUILD = PROJECT_ROOT / ".aws-sam" / "build"
BUILD_TIMEOUT_SECONDS = 1800


def find_sam() -> str | None:
    for candidate in SAM_CANDIDATES:
        if candidate.exists():
            return str(candidate)
    return shutil.which("sam")


def artifact_ids() -> list[str]:
    template = LocalTemplate.load()
    return [*template.functions(), *template.resources("AWS::Serverless::LayerVersion")]


def measure(quick: bool, log=print) -> dict[str, Any]:
    if quick:
        if all((EXISTING_BUILD / logical_id).is_dir() for logical_id in artifact_ids()):
            built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(EXISTING_BUILD.stat().st_mtime))
            return {
                "source": f"existing .aws-sam/build ({built}); quick mode runs no sam build",
                **sizes(EXISTING_BUILD),
            }
        return {"source": "not measured: quick mode runs no sam build and there is no .aws-sam/build", "artifacts": {}}
    sam = find_sam()
    if sam is None:
        return {"source": "not measured: sam not found (make bench installs it into .venv-tools)", "artifacts": {}}
    with tempfile.TemporaryDirectory(prefix="rh-bench-build-") as work:
        build_dir = Path(work) / "build"
        log(f"artifacts: {sam} build --build-dir {build_dir}")
        started = time.monotonic()
        done = subprocess.run(
            [sam, "build", "--template", str(TEMPLATE_PATH), "--build-dir", str(build_dir)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-1500:]
            return {"source": f"sam build failed (exit {done.returncode}): {tail}", "artifacts": {}}
        return {"source": f"sam build ({time.monotonic() - started:.0f} s)", **sizes(build_dir)}


def sizes(build_dir: Path) -> dict[str, Any]:
    return {"artifacts": {logical_id: tree_size(build_dir / logical_id) for logical_id in artifact_ids()}}


def tree_size(root: Path) -> dict[str, Any]:
    files = [path for path in root.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(root))
        zipped_bytes = archive.tell()
    # The biggest top-level packages (a layer keeps them under python/).
    base = root / "python" if (root / "python").is_dir() else root
    parts: dict[str, int] = {}
    for path in files:
        relative = path.relative_to(base) if base in path.parents else path.relative_to(root)
        top = relative.parts[0]
        if top.endswith((".dist-info", ".data")):
            top = "*.dist-info"
        parts[top] = parts.get(top, 0) + path.stat().st_size
    biggest = sorted(parts.items(), key=lambda part: -part[1])[:6]
    return {
        "unzippedBytes": unzipped,
        "zippedBytes": zipped_bytes,
        "files": len(files),
        "pycFiles": sum(1 for path in files if path.suffix == ".pyc"),
        "biggest": dict(biggest),
    }
