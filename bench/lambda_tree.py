"""What Lambda runs, laid out for the cold-start benchmark: the built functions, the built layer, and
the runtime's boto3, for this machine's architecture (arm64 wheels cannot be loaded on x86_64).

Full mode: `sam build --parameter-overrides Architecture=<host>` into a temporary directory (what
`make smoke` builds and invokes). Quick mode (no SAM): the layer and the functions built by the same
scripts SAM runs (layers/common/build_layer.py, functions/build_function.py). Either way the layer
and the functions carry their bytecode (unchecked-hash), as deployed.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import artifacts
from local.settings import PROJECT_ROOT
from local.template import FunctionSpec, LocalTemplate

LAYER_ID = "CommonLayer"
LAYER_BUILD = PROJECT_ROOT / "layers" / "common" / "build_layer.py"
FUNCTION_BUILD = PROJECT_ROOT / "functions" / "build_function.py"
# What the Lambda Python runtime provides besides the standard library (in /var/runtime).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def link_runtime_packages(into: Path) -> Path:
    """A directory standing in for the runtime's: links to this interpreter's boto3 and its dependencies
    (what the smoke test and the cold-start benchmark put after the layer on a built function's path)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed in {sys.prefix}")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (into / source.name).symlink_to(source)
    return into


def snapstart_functions() -> frozenset[str]:
    """The functions template.yaml gives SnapStart (behind the SnapStart parameter)."""
    functions = LocalTemplate.load().resources("AWS::Serverless::Function")
    return frozenset(name for name, resource in functions.items() if "SnapStart" in resource.get("Properties", {}))


def host_architecture() -> str:
    return "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"


@dataclass(frozen=True)
class LambdaTree:
    build_dir: Path  # <logical id>/ per function, CommonLayer/python
    runtime: Path  # stands in for /var/runtime: boto3 and its dependencies, with their bytecode
    source: str

    def function_dir(self, logical_id: str) -> Path:
        return self.build_dir / logical_id

    @property
    def layer(self) -> Path:
        return self.build_dir / LAYER_ID / "python"

    @property
    def empty_function(self) -> Path:
        """The floor's function: nothing but its own (empty) directory."""
        path = self.build_dir / "_floor"
        path.mkdir(exist_ok=True)
        return path

    def python_path(self, logical_id: str | None) -> str:
        if logical_id is None:
            return os.pathsep.join(map(str, (self.empty_function, self.runtime)))
        return os.pathsep.join(map(str, (self.function_dir(logical_id), self.layer, self.runtime)))


def prepare(work: Path, functions: dict[str, FunctionSpec], quick: bool, log=print) -> LambdaTree:
    build_dir = work / "build"
    if quick:
        log(f"cold start: layer for {host_architecture()} (build_layer.py), functions (build_function.py)")
        subprocess.run(
            [sys.executable, str(LAYER_BUILD), "--target", str(build_dir / LAYER_ID / "python"),
             "--architecture", host_architecture()],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for logical_id, spec in functions.items():
            target = build_dir / logical_id
            build = [sys.executable, str(FUNCTION_BUILD), "--source", str(spec.code_dir), "--target", str(target)]
            subprocess.run(build, check=True)
        source = "build_layer.py for this machine and build_function.py (quick mode: no sam build)"
    else:
        log(f"cold start: sam build for {host_architecture()} into {build_dir}")
        failure = artifacts.sam_build(build_dir, host_architecture())
        if failure:
            raise RuntimeError(f"sam build for the cold-start benchmark failed: {failure}")
        source = f"sam build --parameter-overrides Architecture={host_architecture()}"
    runtime = link_runtime_packages(work / "runtime")
    # The runtime ships its packages compiled: compile this interpreter's copies once (a no-op when they are).
    for package in runtime.iterdir():
        target = package.resolve()
        if target.is_dir():
            compileall.compile_dir(target, quiet=1)
        else:
            compileall.compile_file(target, quiet=1)
    return LambdaTree(build_dir, runtime, source)
