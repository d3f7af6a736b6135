"""Cold start: a fresh Python process importing a handler module with its function's environment.

Each function is timed as `import app` plus the DynamoDB client the handler creates (the
adapters create it on first use, so the first invocation pays for it; the floor creates one
too), and as `import app` alone. The floor is a fresh process doing `import boto3` and
creating one DynamoDB client, with the same environment; the reference adds the Powertools
pieces every function starts with. Each run is timed from spawning the process until it
signals the end of its imports; it then leaves with os._exit (no interpreter teardown, which
Lambda does not run either). Variants run interleaved in a shuffled order each round, after
one discarded warm-up run each (which also writes the project's bytecode, as a deployment
package with .pyc files would have it).

Tracing is on, as deployed (`Tracing: Active`): LAMBDA_TASK_ROOT is set and
POWERTOOLS_TRACE_DISABLED is not, so Tracer imports and patches with the X-Ray SDK.

"Without bytecode" repeats the measurement with no .pyc for anything outside the standard
library (PYTHONPYCACHEPREFIX pointing at a cache that holds only the standard library's):
what a SAM-built layer gives Lambda, whose read-only /opt cannot cache compiled modules.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import Summary, ratio, summarize

FLOOR_CODE = "import boto3\nboto3.client('dynamodb')"
CLIENT_CODE = "from rh_common.adapters import dynamo\ndynamo.client()"
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
    "data masking (jsonpath-ng)": ("jsonpath_ng", "ply"),
    "pycountry": ("pycountry",),
    "handler + rh_common": ("app", "rh_common"),
}
OTHER = "standard library / other"


@dataclass(frozen=True)
class Variant:
    key: str  # floor | <function id>:client | <function id>:import
    code: str
    env: dict[str, str]
    cwd: str


READY = "__rh_bench_ready__"
# After the imports: say so, then leave without the interpreter's teardown, which Lambda never
# runs between an init and the first invocation (a finished process would time it too).
_SIGNAL_READY = f"\nimport os, sys\nsys.stdout.write({READY!r} + '\\n')\nsys.stdout.flush()\nos._exit(0)\n"


def _run(variant: Variant, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> tuple[float, str]:
    """Seconds from spawning the process to the end of its imports (and client); and its stderr."""
    env = {**variant.env, **(extra_env or {})}
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *args, "-c", variant.code + _SIGNAL_READY],
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


def _rounds(variants: list[Variant], runs: int, extra_env: dict[str, str] | None, seed: int) -> dict[str, list[float]]:
    shuffle = random.Random(seed)
    samples: dict[str, list[float]] = {v.key: [] for v in variants}
    for _ in range(runs):
        order = list(variants)
        shuffle.shuffle(order)
        for variant in order:
            samples[variant.key].append(_run(variant, extra_env)[0])
    return samples


def variants_for(functions: dict[str, Any], environment: Callable[[str], dict[str, str]]) -> list[Variant]:
    """functions: {logical id: FunctionSpec}; environment(logical_id) -> the function's env."""
    first = next(iter(functions))
    variants = [
        Variant("floor", FLOOR_CODE, environment(first), str(functions[first].code_dir)),
        Variant("powertools", POWERTOOLS_CODE, environment(first), str(functions[first].code_dir)),
    ]
    for logical_id, spec in functions.items():
        module = spec.handler.rsplit(".", 1)[0]
        env, cwd = environment(logical_id), str(spec.code_dir)
        variants.append(Variant(f"{logical_id}:client", f"import {module}\n{CLIENT_CODE}", env, cwd))
        variants.append(Variant(f"{logical_id}:import", f"import {module}", env, cwd))
    return variants


def _stdlib_only(prefix: Path) -> None:
    """Keep only the standard library's compiled modules in a PYTHONPYCACHEPREFIX tree."""
    root = Path(sysconfig.get_paths()["stdlib"])  # not platstdlib: in a venv that is the venv's lib/
    keep = {root, root.resolve()}
    for pyc in list(prefix.rglob("*.pyc")):
        source_dir = Path("/") / pyc.parent.relative_to(prefix)
        if not any(source_dir == root or root in source_dir.parents for root in keep):
            pyc.unlink()


def measure(
    functions: dict[str, Any],
    environment: Callable[[str], dict[str, str]],
    *,
    runs: int,
    no_bytecode_runs: int,
    importtime_runs: int = 1,
    log: Callable[[str], None] = print,
    seed: int = 1,
) -> dict[str, Any]:
    variants = variants_for(functions, environment)
    log(f"cold start: warm-up, then {runs} interleaved runs of {len(variants)} variants")
    for variant in variants:
        _run(variant)
    samples = _rounds(variants, runs, None, seed)

    goal_variants = [v for v in variants if not v.key.endswith(":import") and v.key != "powertools"]
    with tempfile.TemporaryDirectory(prefix="rh-bench-pycache-") as prefix:
        for variant in goal_variants:  # prime: compile everything once into the prefix ...
            _run(variant, {"PYTHONPYCACHEPREFIX": prefix})
        _stdlib_only(Path(prefix))  # ... then forget all but the standard library
        log(f"cold start without bytecode: {no_bytecode_runs} runs of {len(goal_variants)} variants")
        no_bytecode = _rounds(
            goal_variants, no_bytecode_runs, {"PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": "1"}, seed
        )

    log(f"cold start: -X importtime, {importtime_runs} runs of {len(goal_variants)} variants")
    breakdown = {v.key: import_breakdown(v, importtime_runs) for v in goal_variants}
    return report(functions, samples, no_bytecode, breakdown)


def report(
    functions: dict[str, Any],
    samples: dict[str, list[float]],
    no_bytecode: dict[str, list[float]],
    breakdown: dict[str, dict[str, float]],
) -> dict[str, Any]:
    floor = summarize(samples["floor"])
    floor_nb = summarize(no_bytecode["floor"])
    rows = {}
    for logical_id in functions:
        client, imported = summarize(samples[f"{logical_id}:client"]), summarize(samples[f"{logical_id}:import"])
        nb = summarize(no_bytecode[f"{logical_id}:client"])
        rows[logical_id] = {
            "importAndClient": client.to_json(),
            "ratio": ratio(client, floor),
            "goal": GOAL_RATIO,
            "met": ratio(client, floor) <= GOAL_RATIO,
            "importOnly": imported.to_json(),
            "importOnlyRatio": ratio(imported, floor),
            "noBytecode": nb.to_json(),
            "noBytecodeRatio": ratio(nb, floor_nb),
            "importTimeMs": breakdown[f"{logical_id}:client"],
        }
    powertools = summarize(samples["powertools"])
    return {
        "floor": floor.to_json(),
        "powertoolsReference": {**powertools.to_json(), "ratio": ratio(powertools, floor), "code": POWERTOOLS_CODE},
        "floorNoBytecode": floor_nb.to_json(),
        "floorImportTimeMs": breakdown["floor"],
        "functions": rows,
        "samples": {**samples, **{f"{k}:nobytecode": v for k, v in no_bytecode.items()}},
    }


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


def import_breakdown(variant: Variant, runs: int) -> dict[str, float]:
    """Self time (ms) of every import, summed by GROUPS; per group the median of `python -X importtime` runs."""
    tables = [group_import_times(_run(variant, args=("-X", "importtime"))[1]) for _ in range(runs)]
    return {group: round(statistics.median(table[group] for table in tables), 1) for group in tables[0]}


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
    from bench.environment import BenchEnvironment

    offline = BenchEnvironment.offline()
    result = measure(
        offline.functions(),
        lambda logical_id: offline.function_environment(logical_id, tracing=True),
        runs=int(os.environ.get("RUNS", "5")),
        no_bytecode_runs=1,
    )
    print("floor", Summary(**{k: result["floor"][k] for k in ("median", "p25", "p75", "runs")}).ms())
    for logical_id, row in result["functions"].items():
        print(
            logical_id,
            f"{row['ratio']:.2f}x",
            summary_of(row, "importAndClient").ms(),
            "import only",
            summary_of(row, "importOnly").ms(),
        )
