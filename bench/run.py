"""`make bench` (`python -m bench.run [--quick] [--out-dir DIR]`): every figure against its floor.

Starts its own DynamoDB Local (moto when Java is missing, then without capacity figures) and
moto server, creates the template's tables, queues and secret, then measures:

1. cold start of each *built* function, run as Lambda runs it, against a bare function's `import boto3` +
   one DynamoDB client (bench/cold_start.py, bench/lambda_tree.py), and the same in the virtualenv;
2. warm cost per operation against one bare `put_item` (bench/warm.py, in a child process);
3. DynamoDB requests and consumed capacity per operation (same child, a separate pass);
4. the built artifacts' sizes and the layer's checks (bench/artifacts.py, `sam build`).

Writes DIR/benchmarks.md and DIR/benchmarks.json (DIR defaults to docs/). `--quick` runs
every figure with few repetitions (the check in `make test`); its numbers are not evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import artifacts, cold_start, lambda_tree, report
from bench.environment import API_KEY, SIGNING_KEY, UPSTREAM_BASE_URL, WEBHOOK_PUBLIC_URL, BenchEnvironment
from bench.machine import machine_info
from local.settings import PROJECT_ROOT

WARM_FUNCTIONS = ("WebhookFunction", "MerchantApiFunction")
FULL = {"coldRuns": 21, "importtimeRuns": 5, "warmRounds": 300, "warmup": 30, "warmupRequests": 3000, "countRuns": 30}
QUICK = {"coldRuns": 2, "importtimeRuns": 1, "warmRounds": 12, "warmup": 2, "warmupRequests": 0, "countRuns": 2}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_warm(env: BenchEnvironment, plan: dict[str, int]) -> dict[str, Any]:
    functions = env.functions()
    config = {
        "functions": {
            logical_id: {
                "path": str(functions[logical_id].code_dir / (functions[logical_id].handler.rsplit(".", 1)[0] + ".py")),
                "env": env.function_environment(logical_id, tracing=False),
            }
            for logical_id in WARM_FUNCTIONS
        },
        "tables": env.tables,
        "upstreamBaseUrl": UPSTREAM_BASE_URL,
        "signingKey": SIGNING_KEY,
        "webhookUrl": WEBHOOK_PUBLIC_URL,
        "apiKey": API_KEY,
        "rounds": plan["warmRounds"],
        "warmup": plan["warmup"],
        "warmupRequests": plan["warmupRequests"],
        "countRuns": plan["countRuns"],
    }
    # Nothing of this shell's AWS setup reaches the handlers: they get their function's environment.
    child_env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    with tempfile.TemporaryDirectory(prefix="rh-bench-warm-") as work:
        config_path, out_path = Path(work) / "config.json", Path(work) / "out.json"
        config_path.write_text(json.dumps(config))
        log(
            f"warm: at least {plan['warmup']} warm-up rounds and {plan['warmupRequests']} DynamoDB requests, "
            f"then {plan['warmRounds']} timed rounds, then {plan['countRuns']} counted"
        )
        done = subprocess.run(
            [sys.executable, "-m", "bench.warm", str(config_path), str(out_path)],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the handlers' logs and metrics
            stderr=subprocess.PIPE,
            text=True,
            timeout=3600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"warm benchmark failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(out_path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, no sam build: checks the bench runs")
    parser.add_argument("--out-dir", type=Path, default=PROJECT_ROOT / "docs", help="where benchmarks.md/.json go")
    parser.add_argument(
        "--dynamodb",
        choices=("auto", "dynamodb-local", "moto"),
        default=os.environ.get("LOCAL_DYNAMODB") or "auto",
        help="DynamoDB backend (default: LOCAL_DYNAMODB, else auto = DynamoDB Local when Java is present)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    meta = {**machine_info(), "mode": "quick" if args.quick else "full", "plan": plan}

    offline = BenchEnvironment.offline()  # cold starts first, with no JVM or moto sharing the CPU
    with tempfile.TemporaryDirectory(prefix="rh-bench-lambda-") as work:
        tree = lambda_tree.prepare(Path(work), offline.functions(), args.quick, log)
        cold = cold_start.measure(
            offline.functions(),
            lambda logical_id: offline.function_environment(logical_id, tracing=True),
            tree,
            lambda_tree.snapstart_functions(),
            runs=plan["coldRuns"],
            importtime_runs=plan["importtimeRuns"],
            log=log,
        )
        with BenchEnvironment(requested_backend=args.dynamodb) as env:
            meta["dynamodb"] = env.describe()
            warm = run_warm(env, plan)
        built = artifacts.measure(args.quick, tree.build_dir, log=log)
    meta["loadAverageAfter"] = os.getloadavg()
    meta["seconds"] = round(time.monotonic() - started)

    results = report.assemble(meta, cold, warm, built)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "benchmarks.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out_dir / "benchmarks.md").write_text(report.markdown(results))
    missed = [goal["figure"] for goal in results["goals"] if goal["met"] is False]
    log(f"wrote {args.out_dir / 'benchmarks.md'} and benchmarks.json in {meta['seconds']} s")
    log(
        f"goals met: {sum(1 for g in results['goals'] if g['met'])}/{len(results['goals'])}; missed: {missed or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
