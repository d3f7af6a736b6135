"""Built artifact sizes: every function's code and the layer, as `sam build` leaves them.

The full benchmark runs `sam build` (the same command as `make build`: arm64, the deployable
build) into a temporary build directory; the quick one measures the host build the cold-start
benchmark made (bench/lambda_tree.py).
Sizes are the unzipped tree (Lambda's 250 MB limit counts function + layers unzipped) and
the tree zipped with deflate (what is uploaded).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from local.settings import PROJECT_ROOT, TEMPLATE_PATH
from local.template import LocalTemplate

sys.path.insert(0, str(PROJECT_ROOT / "layers" / "common"))  # layer_check, next to the layer's build
import layer_check  # noqa: E402

SAM_CANDIDATES = (PROJECT_ROOT / ".venv-tools" / "bin" / "sam",)
LAYER_ID = "CommonLayer"
BUILD_TIMEOUT_SECONDS = 1800


def find_sam() -> str | None:
    for candidate in SAM_CANDIDATES:
        if candidate.exists():
            return str(candidate)
    return shutil.which("sam")


def artifact_ids() -> list[str]:
    template = LocalTemplate.load()
    return [*template.functions(), *template.resources("AWS::Serverless::LayerVersion")]


def sam_build(build_dir: Path, architecture: str) -> str | None:
    """`sam build` of the template for one architecture, as `make build` runs it; None, or why it failed."""
    sam = find_sam()
    if sam is None:
        return "sam not found (make bench installs it into .venv-tools)"
    done = subprocess.run(
        [sam, "build", "--template", str(TEMPLATE_PATH), "--build-dir", str(build_dir),
         "--parameter-overrides", f"Architecture={architecture}"],
        cwd=PROJECT_ROOT,
        # The layer's makefile build takes its architecture from here (SAM does not pass it) and
        # runs the python3.13 on PATH (`make bench` puts the one it found there).
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "LAYER_ARCHITECTURE": architecture},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )  # fmt: skip
    if done.returncode != 0:
        return f"exit {done.returncode}: {(done.stdout + done.stderr)[-1500:]}"
    return None


def measure(quick: bool, host_build: Path, log=print) -> dict[str, Any]:
    """Full: the deployable (arm64) build's sizes, from its own sam build. Quick: the host build the
    cold-start benchmark made (no sam build)."""
    if quick:
        return {"source": "quick mode: the cold-start benchmark's host build (no sam build)", **sizes(host_build)}
    with tempfile.TemporaryDirectory(prefix="rh-bench-build-") as work:
        build_dir = Path(work) / "build"
        log(f"artifacts: sam build (arm64, the deployable build) into {build_dir}")
        started = time.monotonic()
        failure = sam_build(build_dir, "arm64")
        if failure:
            return {"source": f"sam build failed ({failure})", "artifacts": {}}
        return {"source": f"sam build, arm64 ({time.monotonic() - started:.0f} s)", **sizes(build_dir)}


def sizes(build_dir: Path) -> dict[str, Any]:
    layer = build_dir / LAYER_ID / "python"
    return {
        "artifacts": {logical_id: tree_size(build_dir / logical_id) for logical_id in artifact_ids()},
        # layers/common/layer_check.py on the built layer: what would make it slow or shadow the runtime.
        "layerProblems": layer_check.problems(layer) if layer.is_dir() else ["no built layer"],
    }


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
