"""Cold start, measured the way Lambda runs the code, and in this project's virtualenv.

**As Lambda runs it** (the headline figure, bench/lambda_tree.py): each *built* function in its own
`python -S` process (no site-packages) whose path is only [the function's build dir, the built
layer, the runtime's boto3 and its dependencies with their bytecode] + the standard library, as
.ci/smoke_build.py invokes them, with nothing writable (PYTHONDONTWRITEBYTECODE): what has no
bytecode in the build is compiled on every run, as on Lambda's read-only /var/task and /opt. The
floor is a bare function doing `import boto3; boto3.client("dynamodb")` in the same conditions.

**In the virtualenv** (the second column): the same imports from the source tree in this
project's .venv, site-packages and bytecode caches included.

Each function is timed as `import app` plus the DynamoDB client the handler creates (the adapters
create it on first use, so the first invocation pays for it; the floor creates one too). For the
SnapStart functions also `import app` plus the before-snapshot hook (rh_common/runtime/snapstart.py): the
init a restore from a snapshot takes off a cold start. Each run is timed from spawning the process
until it signals the end of its imports; it then leaves with os._exit (no interpreter teardown,
which Lambda does not run either). Variants run interleaved in a shuffled order each round, after
one discarded warm-up run each. Tracing is on, as deployed (`Tracing: Active`): LAMBDA_TASK_ROOT is
set and POWERTOOLS_TRACE_DISABLED is not, so Tracer imports and patches with the X-Ray SDK.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lambda_tree import LambdaTree
from bench.stats import Summary, ratio, summarize

FLOOR_CODE = "import boto3\nboto3.client('dynamodb')"
CLIENT_CODE = "from rh_common.adapters.dynamodb import base\nbase.client()"
SNAPSHOT_CODE = "from rh_common.runtime import snapstart\nsnapstart.prepare()"
# A reference, not a goal: the floor plus what every function of this design imports first.
POWERTOOLS_CODE = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "Logger(); Metrics(); Tracer(patch_modules=('botocore',))\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "boto3.client('dynamodb')"
)
GOAL_RATIO = 1.3

# Top-level modules -> what a reader recognises, for "where the time goes".
GROUPS: dict[str, tuple[str, ...]] = {
    "boto3 / botocore": ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six"),
    "Powertools": ("aws_lambda_powertools",),
    "X-Ray SDK (Tracer)": ("aws_xray_sdk", "wrapt"),
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
    "requests": ("requests", "charset_normalizer", "idna", "certifi"),
    "pycountry": ("pycountry",),
    "handler + rh_common": ("app", "rh_common"),
}
OTHER = "standard library / other"


@dataclass(frozen=True)
class Variant:
    key: str  # venv: floor | powertools | <id>; built: built:floor | built:<id> | built:<id>:snapshot
    code: str
    env: dict[str, str]
    cwd: str
    args: tuple[str, ...] = ()  # interpreter options (-S for the built ones)


READY = "__rh_bench_ready__"
# After the imports: say so, then leave without the interpreter's teardown, which Lambda never
# runs between an init and the first invocation (a finished process would time it too).
_SIGNAL_READY = f"\nimport os, sys\nsys.stdout.write({READY!r} + '\\n')\nsys.stdout.flush()\nos._exit(0)\n"


def _run(variant: Variant, args: tuple[str, ...] = ()) -> tuple[float, str]:
    """Seconds from spawning the process to the end of its imports (and client); and its stderr."""
    env = variant.env
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *variant.args, *args, "-c", variant.code + _SIGNAL_READY],
            env=env,
            cwd=variant.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        elapsed = None
        for line in process.stdout:  # anything a module prints on import comes first
            if line.rstrip(b"\n") == READY.encode():
                elapsed = time.perf_counter() - started
                break
        process.stdout.close()
        code = process.wait(timeout=120)
        stderr.seek(0)
        output = stderr.read().decode("utf-8", "replace")
    if elapsed is None or code != 0:
        raise RuntimeError(f"{variant.key}: exit {code}\n{output[-2000:]}")
    return elapsed, output


def _rounds(variants: list[Variant], runs: int, seed: int) -> dict[str, list[float]]:
    shuffle = random.Random(seed)
    samples: dict[str, list[float]] = {v.key: [] for v in variants}
    for _ in range(runs):
        order = list(variants)
        shuffle.shuffle(order)
        for variant in order:
            samples[variant.key].append(_run(variant)[0])
    return samples


def variants_for(
    functions: dict[str, Any],
    environment: Callable[[str], dict[str, str]],
    tree: LambdaTree,
    snapstart_functions: frozenset[str],
) -> list[Variant]:
    """functions: {logical id: FunctionSpec}; environment(logical_id) -> the function's env."""
    first = next(iter(functions))
    venv_env, venv_cwd = environment(first), str(functions[first].code_dir)
    variants = [
        Variant("floor", FLOOR_CODE, venv_env, venv_cwd),
        Variant("powertools", POWERTOOLS_CODE, venv_env, venv_cwd),
        Variant("built:floor", FLOOR_CODE, _built_env(venv_env, tree, None), str(tree.empty_function), ("-S",)),
    ]
    for logical_id, spec in functions.items():
        module = spec.handler.rsplit(".", 1)[0]
        env = environment(logical_id)
        variants.append(Variant(logical_id, f"import {module}\n{CLIENT_CODE}", env, str(spec.code_dir)))
        built_env, built_cwd = _built_env(env, tree, logical_id), str(tree.function_dir(logical_id))
        variants.append(
            Variant(f"built:{logical_id}", f"import {module}\n{CLIENT_CODE}", built_env, built_cwd, ("-S",))
        )
        if logical_id in snapstart_functions:
            code = f"import {module}\n{SNAPSHOT_CODE}"
            variants.append(Variant(f"built:{logical_id}:snapshot", code, built_env, built_cwd, ("-S",)))
    return variants


def _built_env(env: dict[str, str], tree: LambdaTree, logical_id: str | None) -> dict[str, str]:
    built = {**env, "PYTHONPATH": tree.python_path(logical_id), "PYTHONDONTWRITEBYTECODE": "1"}
    built["LAMBDA_TASK_ROOT"] = str(tree.function_dir(logical_id) if logical_id else tree.empty_function)
    return built


def measure(
    functions: dict[str, Any],
    environment: Callable[[str], dict[str, str]],
    tree: LambdaTree,
    snapstart_functions: frozenset[str],
    *,
    runs: int,
    importtime_runs: int = 1,
    log: Callable[[str], None] = print,
    seed: int = 1,
) -> dict[str, Any]:
    variants = variants_for(functions, environment, tree, snapstart_functions)
    log(f"cold start: warm-up, then {runs} interleaved runs of {len(variants)} variants")
    for variant in variants:
        _run(variant)
    samples = _rounds(variants, runs, seed)
    explained = [v for v in variants if v.key == "built:floor" or v.key.removeprefix("built:") in functions]
    log(f"cold start: -X importtime, {importtime_runs} runs of {len(explained)} variants")
    profiles = {v.key: import_profile(v, importtime_runs) for v in explained}
    return report(functions, samples, profiles, tree.source, snapstart_functions)


def report(
    functions: dict[str, Any],
    samples: dict[str, list[float]],
    profiles: dict[str, ImportProfile],
    source: str,
    snapstart_functions: frozenset[str],
) -> dict[str, Any]:
    floor, venv_floor = summarize(samples["built:floor"]), summarize(samples["floor"])
    floor_modules = profiles["built:floor"].modules
    rows = {}
    for logical_id in functions:
        profile = profiles[f"built:{logical_id}"]
        built, venv = summarize(samples[f"built:{logical_id}"]), summarize(samples[logical_id])
        rows[logical_id] = {
            "importAndClient": built.to_json(),
            "ratio": ratio(built, floor),
            "goal": GOAL_RATIO,
            "met": ratio(built, floor) <= GOAL_RATIO,
            "venv": venv.to_json(),
            "venvRatio": ratio(venv, venv_floor),
            "importTimeMs": profile.groups,
            "largestImportsMs": profile.largest_above(floor_modules),
        }
        if logical_id in snapstart_functions:
            rows[logical_id]["snapshotInit"] = summarize(samples[f"built:{logical_id}:snapshot"]).to_json()
    powertools = summarize(samples["powertools"])
    return {
        "built": source,
        "floor": floor.to_json(),
        "venvFloor": venv_floor.to_json(),
        "powertoolsReference": {
            **powertools.to_json(),
            "ratio": ratio(powertools, venv_floor),
            "code": POWERTOOLS_CODE,
        },
        "floorImportTimeMs": profiles["built:floor"].groups,
        "functions": rows,
        "samples": samples,
    }


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


@dataclass(frozen=True)
class ImportProfile:
    """From `python -X importtime` runs: self ms per GROUPS entry and per module, each the median over runs."""

    groups: dict[str, float]
    modules: dict[str, float]

    def largest_above(self, floor: dict[str, float], count: int = 8, at_least: float = 1.0) -> list[list[Any]]:
        """[module, ms above the floor's self time for the same module] of the largest, import by import.

        A module imported with importlib.import_module is not listed by -X importtime: its time counts
        in the self time of the module that imported it."""
        above = ((module, ms - floor.get(module, 0.0)) for module, ms in self.modules.items())
        largest = sorted((item for item in above if item[1] >= at_least), key=lambda item: -item[1])[:count]
        return [[module, round(ms, 1)] for module, ms in largest]


def import_profile(variant: Variant, runs: int) -> ImportProfile:
    outputs = [_run(variant, args=("-X", "importtime"))[1] for _ in range(runs)]
    tables = [group_import_times(output) for output in outputs]
    groups = {group: round(statistics.median(table[group] for table in tables), 1) for group in tables[0]}
    per_run = [module_import_times(output) for output in outputs]
    modules = {module: statistics.median(run.get(module, 0.0) for run in per_run) for module in per_run[0]}
    return ImportProfile(groups, modules)


def module_import_times(importtime_output: str) -> dict[str, float]:
    return {match.group(3): int(match.group(1)) / 1000 for match in _IMPORTTIME.finditer(importtime_output)}


def group_import_times(importtime_output: str) -> dict[str, float]:
    owner = {module: group for group, modules in GROUPS.items() for module in modules}
    totals = dict.fromkeys([*GROUPS, OTHER], 0.0)
    for match in _IMPORTTIME.finditer(importtime_output):
        top = match.group(3).split(".")[0]
        totals[owner.get(top, OTHER)] += int(match.group(1)) / 1000
    return {group: round(ms, 1) for group, ms in totals.items()}


def summary_of(row: dict[str, Any], key: str) -> Summary:
    data = row[key]
    return Summary(data["median"], data["p25"], data["p75"], data["runs"])


if __name__ == "__main__":  # a quick look without the rest: RUNS=5 python -m bench.cold_start
    from bench import lambda_tree
    from bench.environment import BenchEnvironment

    offline = BenchEnvironment.offline()
    with tempfile.TemporaryDirectory(prefix="rh-bench-cold-") as work:
        tree = lambda_tree.prepare(Path(work), offline.functions(), quick=True)
        result = measure(
            offline.functions(),
            lambda logical_id: offline.function_environment(logical_id, tracing=True),
            tree,
            lambda_tree.snapstart_functions(),
            runs=int(os.environ.get("RUNS", "5")),
        )
    print("floor", summary_of(result, "floor").ms())
    for logical_id, row in result["functions"].items():
        print(
            logical_id,
            f"{row['ratio']:.2f}x",
            summary_of(row, "importAndClient").ms(),
            "venv",
            f"{row['venvRatio']:.2f}x",
        )
