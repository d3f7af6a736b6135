"""Results -> docs/benchmarks.json (everything) and docs/benchmarks.md (the tables, against each goal)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.cold_start import GOAL_RATIO, GROUPS, OTHER
from bench.stats import Summary, summarize
from bench.warm import ITEMS_PER_RESEND, OPERATIONS, UNITS_PER_FULFILMENT

# operation -> the goal on its ratio to the floor (None: reported, no goal).
WARM_GOALS: dict[str, float | None] = {
    "new_delivery": 2.0,
    "duplicate_delivery": 1.2,
    "late_delivery": None,
    "get_inventory": None,
    "create_resend": 6.0,
    # 1.3x what quick runs measured on a loaded 2-core machine (13.5x and 17.9x, 2026-12-07): a guard against
    # the path growing, not a target reached by design (it is a resend's create plus the pick's own requests).
    "create_fulfilment": 21.0,
}
MAX_RESEND_REQUESTS = 3
# The record, the stock rows, one warehouse's quote (its units, the cache, the quote kept), the groups stored,
# the group's create as POST /resends (3 requests), the answer.
MAX_FULFILMENT_REQUESTS = 10
LAYER_MAX_MB = 20  # MiB, as layers/common/layer_check.py counts

# The figures of the previous docs/benchmarks.md (2026-11-27, commit aca4953, Python 3.11, the layer
# built by SAM's python builder), for the before/after table. Its cold starts "as Lambda runs it" are
# that page's "without bytecode" column (the built layer had none); its in-venv ratio in brackets.
BEFORE = {
    "cold start: WebhookFunction": "1.61x (1.44x in the venv)",
    "cold start: MerchantApiFunction": "1.79x (2.28x in the venv)",
    "cold start: ResendWorkerFunction": "1.98x (1.99x in the venv)",
    "cold start: ReconcilerFunction": "1.19x (1.57x in the venv)",
    "layer: unzipped, bytecode included": "55.2 MiB (57.9 MB)",
    "layer: no copy of a runtime package (boto3, botocore, s3transfer, jmespath)": "botocore 21.2 MB inside",
    "layer: unchecked-hash bytecode for every module": "no .pyc at all",
    "layer: nothing no function reads (pycountry's locales)": "pycountry 21.0 MB, mostly locales/",
    "warm: new webhook delivery (POST /webhooks/returnhelper)": "2.78x (6.0 ms vs 2.2 ms)",
    "warm: duplicate delivery (same bytes again)": "1.49x (3.2 ms vs 2.2 ms)",
    f"warm: POST /resends ({ITEMS_PER_RESEND} items, upstream answered in-process)": "12.02x (25.9 ms vs 2.2 ms)",
    "sequential DynamoDB requests per POST /resends": "7",
    "write requests per new delivery": "2",
    "write requests per duplicate delivery": "1",
    "reads on the webhook path (new, duplicate, late)": "0, 0, 0",
    f"transactions to reserve {ITEMS_PER_RESEND} items": "1 (TransactWriteItems of 4 actions)",
}
WEBHOOK_OPERATIONS = ("new_delivery", "duplicate_delivery", "late_delivery")


def _summary(data: dict[str, Any]) -> Summary:
    return Summary(data["median"], data["p25"], data["p75"], data["runs"])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]


# ------------------------------------------------------------------ assemble


def assemble(meta: dict[str, Any], cold: dict[str, Any], warm: dict[str, Any], built: dict[str, Any]) -> dict[str, Any]:
    capacity_trusted = meta["dynamodb"]["backend"] == "dynamodb-local"
    floor = summarize(warm["timings"]["floor"])
    warm_rows = {}
    for operation, samples in warm["timings"].items():
        summary = summarize(samples)
        counted = warm["counts"][operation]
        goal = WARM_GOALS.get(operation)
        value = summary.median / floor.median
        warm_rows[operation] = {
            "label": OPERATIONS[operation],
            **summary.to_json(),
            "ratio": value,
            "goal": goal,
            "met": None if goal is None or operation == "floor" else value <= goal,
            "dynamodbSeconds": statistics.median(c["dynamodbSeconds"] for c in counted),
            "countedSeconds": statistics.median(c["seconds"] for c in counted),
            "sequenceMs": [
                statistics.median(c["sequenceMs"][i] for c in counted if len(c["sequenceMs"]) > i)
                for i in range(len(counted[0]["sequenceMs"]))
            ],
            "samples": samples,
        }
    dynamodb_rows = {}
    for operation, counted in warm["counts"].items():
        first = counted[0]
        dynamodb_rows[operation] = {
            "label": OPERATIONS[operation],
            **{key: first[key] for key in ("requests", "byApi", "sequence", "readRequests", "writeRequests")},
            "readsBeforeFirstWrite": max(c["readsBeforeFirstWrite"] for c in counted),
            "transactions": first["transactions"],
            "sameEveryRun": all(c["sequence"] == first["sequence"] for c in counted),
            "rcu": statistics.median(c["rcu"] for c in counted) if capacity_trusted else None,
            "wcu": statistics.median(c["wcu"] for c in counted) if capacity_trusted else None,
            "capacityNotReported": sorted({api for c in counted for api in c["capacityNotReported"]}),
        }
    results = {
        "meta": meta,
        "coldStart": cold,
        "warm": {
            "floorItemBytes": warm["floorItemBytes"],
            "warmupRounds": warm.get("warmupRounds"),
            "warmupRequests": warm.get("warmupRequests"),
            "operations": warm_rows,
        },
        "dynamodb": {"capacityTrusted": capacity_trusted, "operations": dynamodb_rows},
        "artifacts": built,
    }
    results["goals"] = goals(results)
    return results


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    cold = results["coldStart"]
    for logical_id, row in cold["functions"].items():
        rows.append(
            {
                "figure": f"cold start: {logical_id}",
                "measured": f"{row['ratio']:.2f}x ({_ms(row['importAndClient']['median'])} vs "
                f"{_ms(cold['floor']['median'])})",
                "goal": f"<= {GOAL_RATIO}x",
                "met": row["met"],
            }
        )
    rows += _layer_goals(results["artifacts"])
    warm = results["warm"]["operations"]
    for operation, goal in WARM_GOALS.items():
        if goal is not None:
            row = warm[operation]
            rows.append(
                {
                    "figure": f"warm: {row['label']}",
                    "measured": f"{row['ratio']:.2f}x ({_ms(row['median'])} vs {_ms(warm['floor']['median'])})",
                    "goal": f"<= {goal}x",
                    "met": row["met"],
                }
            )
    ops = results["dynamodb"]["operations"]
    create = ops["create_resend"]
    rows.append(
        {
            "figure": "sequential DynamoDB requests per POST /resends",
            "measured": f"{create['requests']} ({' → '.join(_compress(create['sequence']))})",
            "goal": f"<= {MAX_RESEND_REQUESTS}",
            "met": create["requests"] <= MAX_RESEND_REQUESTS,
        }
    )
    fulfil = ops["create_fulfilment"]
    rows.append(
        {
            "figure": f"sequential DynamoDB requests per POST /fulfilments ({UNITS_PER_FULFILMENT} units, 1 warehouse)",
            "measured": f"{fulfil['requests']} ({' → '.join(_compress(fulfil['sequence']))})",
            "goal": f"<= {MAX_FULFILMENT_REQUESTS}",
            "met": fulfil["requests"] <= MAX_FULFILMENT_REQUESTS,
        }
    )
    new, duplicate = ops["new_delivery"], ops["duplicate_delivery"]
    rows.append(
        {
            "figure": "write requests per new delivery",
            "measured": str(new["writeRequests"]),
            "goal": "<= 2",
            "met": new["writeRequests"] <= 2,
        }
    )
    rows.append(
        {
            "figure": "write requests per duplicate delivery",
            "measured": str(duplicate["writeRequests"]),
            "goal": "1",
            "met": duplicate["writeRequests"] == 1 and duplicate["requests"] == 1,
        }
    )
    reads = {operation: ops[operation]["readRequests"] for operation in WEBHOOK_OPERATIONS}
    rows.append(
        {
            "figure": "reads on the webhook path (new, duplicate, late)",
            "measured": ", ".join(str(count) for count in reads.values()),
            "goal": "0 (no read before write)",
            "met": not any(reads.values()),
        }
    )
    rows.append(
        {
            "figure": f"transactions to reserve {ITEMS_PER_RESEND} items",
            "measured": f"1 (TransactWriteItems of {create['transactions'][0]} actions)"
            if create["transactions"]
            else "0",
            "goal": f"1 (the request + {ITEMS_PER_RESEND} items)",
            "met": create["transactions"][:1] == [ITEMS_PER_RESEND + 1],
        }
    )
    for row in rows:
        row["before"] = BEFORE.get(row["figure"], "-")
    return rows


def _layer_goals(built: dict[str, Any]) -> list[dict[str, Any]]:
    layer = built["artifacts"].get("CommonLayer")
    problems = built.get("layerProblems") or []

    def row(figure: str, kind: str) -> dict[str, Any]:
        found = [p for p in problems if kind in p]
        return {
            "figure": figure,
            "measured": "yes" if not found else f"no: {len(found)} ({found[0]})",
            "goal": "yes",
            "met": None if layer is None else not found,
        }

    size = layer["unzippedBytes"] if layer else None
    return [
        {
            "figure": "layer: unzipped, bytecode included",
            "measured": "not built" if size is None else f"{size / 1024 / 1024:.1f} MiB",
            "goal": f"<= {LAYER_MAX_MB} MiB",
            "met": None if size is None else size <= LAYER_MAX_MB * 1024 * 1024,
        },
        row("layer: no copy of a runtime package (boto3, botocore, s3transfer, jmespath)", "the runtime provides"),
        row("layer: unchecked-hash bytecode for every module", ".pyc"),
        row("layer: nothing no function reads (pycountry's locales)", "locales"),
    ]


# ------------------------------------------------------------------ markdown


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    parts = [_header(meta), _summary_table(results), _cold(results), _warm(results), _dynamodb(results)]
    parts += [_artifacts(results), _method(results)]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


def _header(meta: dict[str, Any]) -> str:
    db = meta["dynamodb"]
    backend = db["backend"] + (f" ({db['dynamodbLocalVersion']})" if db.get("dynamodbLocalVersion") else "")
    packages = ", ".join(f"{name} {version}" for name, version in meta["packages"].items() if version)
    quick = (
        "\n> **Quick mode** (`make bench-quick`): every figure with very few repetitions, to check that the "
        "benchmark runs. These numbers are not evidence; `make bench` writes the real ones.\n"
        if meta["mode"] == "quick"
        else ""
    )
    load = " / ".join(f"{value:.2f}" for value in meta["loadAverageBefore"])
    return f"""# Benchmarks

Generated by `make bench` (`bench/run.py`): do not edit by hand. Raw numbers in `benchmarks.json`.
{quick}
How to run: `make bench` (full, writes this page and `docs/benchmarks.json`; runs `sam build`) or
`make bench-quick` (a few repetitions, no `sam build`; `make bench QUICK=1` is the same). Run it on
a quiet machine: every figure is a ratio to a floor measured in the same run, but noise still widens
the spreads.

| | |
|---|---|
| date | {meta["date"]} ({meta["mode"]} mode, {meta["seconds"]} s) |
| machine | {meta["cpu"]}, {meta["cores"]} cores, {meta["machine"]}, {meta["os"]} |
| load average (1/5/15 min) at start | {load} |
| Python | {meta["python"]} |
| DynamoDB | {backend}; Java: {meta["java"] or "not found"} |
| packages | {packages} |
| commit | {meta["commit"] or "-"} |"""


def _summary_table(results: dict[str, Any]) -> str:
    lines = [
        "## Every goal, before and after",
        "",
        "*Before*: the previous page (2026-11-27, commit aca4953, Python 3.11, the layer SAM's python builder",
        "made: no bytecode, its own botocore, pycountry's translations); its cold starts as Lambda ran them",
        "are that page's *without bytecode* figures (the built layer had none). *After*: this run.",
        "",
        "| figure | before | after | goal | met |",
        "|---|---|---|---|---|",
    ]
    for row in results["goals"]:
        lines.append(f"| {row['figure']} | {row['before']} | {row['measured']} | {row['goal']} | {_met(row['met'])} |")
    missed = [row["figure"] for row in results["goals"] if row["met"] is False]
    lines += ["", f"Met {len(results['goals']) - len(missed)} of {len(results['goals'])}."]
    if missed:
        lines.append("Where a goal is missed, the section below says where the time goes and why it stays.")
    return "\n".join(lines)


def _cold(results: dict[str, Any]) -> str:
    cold = results["coldStart"]
    plan = results["meta"]["plan"]
    floor, venv_floor = _summary(cold["floor"]), _summary(cold["venvFloor"])
    lines = [
        "## 1. Cold start",
        "",
        f"**As Lambda runs it** (the goal's figure; built by: {cold['built']}): each built function in its own",
        "`python -S` process whose `sys.path` is only the function's build directory, the built layer and the",
        "runtime's boto3 and its dependencies (with their bytecode, as the runtime ships them) plus the standard",
        "library, as `.ci/smoke_build.py` invokes them, with nothing writable (`PYTHONDONTWRITEBYTECODE`):",
        "whatever has no bytecode in the build is compiled on every run, as on Lambda's read-only `/var/task`",
        "and `/opt`. Timed: `import app` with the function's environment (the one template.yaml gives it,",
        "tracing on as deployed) plus the DynamoDB client the handler creates on first use (so the first",
        "invocation pays for it, and it is counted here as the floor counts its own). The floor: a bare",
        '`import boto3; boto3.client("dynamodb")` function in the same conditions. **In the venv**: the same',
        "imports from the source tree in this project's `.venv` (site-packages, bytecode caches), against a",
        "floor run the same way. From spawning the process to the end of its imports (it then leaves without",
        "the interpreter's teardown, which Lambda does not run either); measured before DynamoDB Local and moto",
        f"start, in a shuffled order each round; median and IQR of {floor.runs} runs each; ratio = median /",
        "floor median. The reference row (venv) is the floor plus the Powertools pieces every function here",
        "starts with: what the design costs before any of our code.",
        "",
        f"| function | as Lambda runs it | ratio | goal <= {GOAL_RATIO}x | in the venv | ratio |",
        "|---|---|---|---|---|---|",
        f"| *floor: boto3 + DynamoDB client* | {floor.ms()} | 1.00x | | {venv_floor.ms()} | 1.00x |",
        f"| *reference: floor + Powertools Logger, Metrics, Tracer, REST resolver* | | | | "
        f"{_summary(cold['powertoolsReference']).ms()} | {cold['powertoolsReference']['ratio']:.2f}x |",
    ]
    for logical_id, row in cold["functions"].items():
        built, venv = _summary(row["importAndClient"]), _summary(row["venv"])
        lines.append(
            f"| {logical_id} | {built.ms()} | {row['ratio']:.2f}x | {_met(row['met'])} | "
            f"{venv.ms()} | {row['venvRatio']:.2f}x |"
        )
    lines += ["", *_snapstart(cold)]
    lines += [
        "",
        "### Where the time goes",
        "",
        f"Self time of every import as Lambda runs it, summed by package: per package the median of"
        f" {plan['importtimeRuns']}",
        "`python -S -X importtime` runs of import + client. `-X importtime` adds overhead of its own, so the",
        "totals exceed the timed runs. The floor's column is what any boto3 function pays.",
        "",
    ]
    groups = [*GROUPS, OTHER]
    header = ["floor", *cold["functions"]]
    lines.append("| ms | " + " | ".join(header) + " |")
    lines.append("|---|" + "---|" * len(header))
    tables = [cold["floorImportTimeMs"], *(row["importTimeMs"] for row in cold["functions"].values())]
    for group in groups:
        lines.append(f"| {group} | " + " | ".join(f"{table.get(group, 0):.0f}" for table in tables) + " |")
    lines.append("| **total** | " + " | ".join(f"**{sum(table.values()):.0f}**" for table in tables) + " |")
    lines += ["", *_cold_findings(cold, results["meta"]["python"])]
    return "\n".join(lines)


def _snapstart(cold: dict[str, Any]) -> list[str]:
    rows = {logical_id: row for logical_id, row in cold["functions"].items() if "snapshotInit" in row}
    if not rows:
        return []
    floor = cold["floor"]["median"]
    lines = [
        "### What SnapStart takes off (and why SnapStart itself is not measured here)",
        "",
        f"{' and '.join(rows)} have SnapStart (template parameter `SnapStart`, on by default). A restored",
        "environment skips the init: the process start, every import and the before-snapshot hook",
        "(`rh_common/runtime/snapstart.py`: the DynamoDB client, the parameters utility). That init, measured as above",
        "up to the end of the hook, is the work SnapStart saves each cold start. What replaces it, restoring",
        "the snapshot, happens inside Lambda (its time depends on the snapshot's size and Lambda's caching of",
        "it) and has no local equivalent, so SnapStart's own cold start cannot be measured here: only on AWS",
        "(the `Restore Duration` of the function's REPORT log lines).",
        "",
        "| function | init before the snapshot (import + hook) | the floor's whole init, for scale |",
        "|---|---|---|",
    ]
    for logical_id, row in rows.items():
        lines.append(f"| {logical_id} | {_summary(row['snapshotInit']).ms()} | {_ms(floor)} |")
    return lines


# CPython releases that free and allocate a frame-stack chunk on every call across its boundary
# (python/cpython#142183; fixed in 3.13.13 and 3.14.4 by keeping one chunk cached).
def _stack_chunk_thrash(python: str) -> bool:
    version = tuple(int(part) for part in python.split(".")[:3] if part.isdigit())
    return version < (3, 13, 13) or (3, 14) <= version < (3, 14, 4)


def _thrash_note(cold: dict[str, Any], python: str) -> list[str]:
    if not _stack_chunk_thrash(python):
        return []
    hit = [
        f"{logical_id} +{ms:.0f} ms"
        for logical_id, row in cold["functions"].items()
        for module, ms in row.get("largestImportsMs", [])
        if module == "urllib3.util.url"
    ]
    return [
        f"- **This interpreter's frame stack** (Python {python} here): CPython 3.13 before the fix of",
        "  python/cpython#142183 (its 3.13 backport, python/cpython#146123, by our reading first released in",
        "  3.13.13; not checked on a release here) frees and allocates a 16 KiB chunk of its frame stack",
        "  whenever a call crosses a chunk boundary. Code that recurses at exactly that depth pays it on",
        "  every call: urllib3's",
        "  `util/url.py` regexes, compiled on import, made about 5,500 `mmap`/`munmap` pairs in the merchant API",
        "  and 540 in the worker and the reconciler (strace, 2026-12-02), none in the floor; which import hits the",
        "  boundary depends on the depth it runs at, so any change to the import order moves it. Lambda's",
        "  managed runtime is kept on current 3.13 patch releases, which keep a chunk cached instead (not",
        "  measurable here: this machine has only 3.13.0). In this run,",
        "  `urllib3.util.url` above the floor's: " + (", ".join(hit) or "nowhere") + ".",
    ]


def _cold_findings(cold: dict[str, Any], python: str) -> list[str]:
    floor = cold["floorImportTimeMs"]
    reference = cold["powertoolsReference"]
    beyond = ", ".join(
        f"{logical_id} {(row['venv']['median'] - reference['median']) * 1000:+.0f} ms"
        for logical_id, row in cold["functions"].items()
    )
    verdict = "out of reach" if reference["ratio"] > GOAL_RATIO else "mostly spent"
    missed = [logical_id for logical_id, row in cold["functions"].items() if not row["met"]]
    lines = [
        f"The reference row alone is {reference['ratio']:.2f}x its floor (in the venv): with the Powertools Logger,",
        f"Metrics, Tracer and REST resolver this design starts from, the {GOAL_RATIO}x goal is {verdict} before",
        f"any of our code runs. Beyond the reference (venv medians): {beyond}.",
        "",
        "What each function adds to the floor as Lambda runs it (import self time above the floor's, largest",
        "first):",
        "",
    ]
    for logical_id, row in cold["functions"].items():
        extra = {group: row["importTimeMs"].get(group, 0) - floor.get(group, 0) for group in [*GROUPS, OTHER]}
        biggest = [f"{group} +{ms:.0f} ms" for group, ms in sorted(extra.items(), key=lambda kv: -kv[1]) if ms >= 3]
        lines.append(f"- **{logical_id}** ({row['ratio']:.2f}x): " + (", ".join(biggest) or "nothing notable") + ".")
        largest = [f"`{module}` +{ms:.0f}" for module, ms in row.get("largestImportsMs", [])]
        if largest:
            lines.append("  Import by import (self ms above the floor's): " + ", ".join(largest) + ".")
    lines += [
        "",
        "Taken off the cold path:",
        "",
        "- the layer is compiled at build time (`compileall --invalidation-mode unchecked-hash`, so the zip's fixed",
        "  timestamps do not matter): before, every cold start compiled every imported module of the layer;",
        "- the functions are compiled at build time too (`functions/build_function.py`, SAM `BuildMethod:",
        "  makefile`): SAM's python builder copied their directories without bytecode, and `/var/task` is",
        "  read-only, so their own modules were compiled on every cold start;",
        "- Powertools' `event_handler` and `data_classes` package `__init__`s are rewritten lazy (PEP 562) in the",
        "  layer build: as released, importing the REST resolver ran the package's `__init__`, which imports every",
        "  resolver (AppSync, Bedrock, VPC Lattice, the HTTP resolver) and, through it, every event data class;",
        "- the layer holds no botocore of its own: the functions import the runtime's (one copy, compiled, from",
        "  the same release as the runtime's boto3);",
        "- the error body's pydantic models live in `rh_common.contract.error_schemas`, imported on first use through",
        "  `errors.__getattr__`: the webhook function does not import pydantic at all;",
        "- `wiring` imports `ResendService` (pydantic models, pycountry) only when it builds one: the",
        "  reconciler imports neither; and the Return Helper client (requests) and the reconciler only when it",
        "  builds those: the webhook and the event publisher, which call no Return Helper API, import neither;",
        "- `Tracer(patch_modules=...)` patches only what each function calls (`botocore`, plus `requests` where",
        "  Return Helper is called): X-Ray's `patch_all` imports requests, sqlite3 and every other supported",
        "  library it finds;",
        "- loaded by the first request that needs them (real cuts for every other request, not for that one):",
        "  Powertools' OpenAPI models (~40 ms here) by the first `/openapi.json` or `/docs` request (the",
        "  routes' security scheme, server and examples are plain dicts Powertools validates when it builds the",
        "  document; the Swagger UI is enabled by the first `/docs` request); X-Ray's patch of requests (and so",
        "  requests itself) when the upstream client is first built (the merchant API's health, inventory and",
        "  delivery routes never build it); in the worker, pydantic, pycountry and the request models by the",
        "  first message that carries a resend or batch request (a retry or sync-page message never does).",
        "  **A worker whose cold start is triggered by a resend request pays those ~45-55 ms in its first",
        "  message instead**: for that trigger its init plus first message is about the figure before this cut;",
        "- lazy: the Powertools parameters utility (imported when the secret is first read, or before the",
        "  snapshot with SnapStart), pycountry's database (loaded on the first country lookup).",
        "",
        "What stays, and why:",
        "",
        "- **Powertools** Logger, Metrics, Tracer and the event handler are the design (structured logs with",
        "  correlation ids, EMF metrics, tracing, the REST resolver) and every function imports them.",
        "- **X-Ray SDK**: `Tracing: Active` means Tracer imports and patches with aws_xray_sdk (which pulls",
        "  wrapt and asyncio). Turning tracing off would save it; tracing is worth more.",
        "- **pydantic** (MerchantApiFunction): the merchant API validates every request and generates its",
        "  OpenAPI document from pydantic models (Powertools `enable_validation`), and Powertools reads the",
        "  route signatures (the models) when the routes are registered, at import.",
        "- **requests** in the worker, every message of which calls Return Helper (it builds the upstream",
        "  client at init; requests is also what X-Ray patches to trace those calls). The reconciler builds",
        "  it on its first scheduled run: its stream invocations (parked reports released) never import it.",
        "- The handlers turn the garbage collector off while their module imports (`rh_common/runtime/cold_start.py`,",
        "  9-13% of their init's CPU when measured) and freeze what the imports made (`gc.freeze()`) before",
        "  turning it back on: re-enabled without freezing, the first collections after the init went over",
        "  all of it, in the DynamoDB client's creation, and gave most of the saving back. The floor does",
        "  neither. A collection during the floor's",
        "  imports counts for whichever module is importing at that moment, which is why the floor's",
        "  boto3 / botocore can look dearer than the same imports in a function. `-X importtime`'s per-package",
        "  split is noisy on a loaded machine; the timed runs above are the figures.",
        *_thrash_note(cold, python),
    ]
    if missed:
        lines += [
            "",
            f"Missed ({', '.join(missed)}): the floor is the cheapest possible boto3 function, so the gap is the",
            "imports above, almost all of them Powertools, the X-Ray SDK and pydantic, which the design keeps;",
            "for the functions with SnapStart (the webhook and the merchant API) it takes the whole init off a",
            "cold start (next to last table), which is the remedy this project ships for them.",
        ]
    return lines


def _warm(results: dict[str, Any]) -> str:
    warm = results["warm"]["operations"]
    floor = warm["floor"]
    lines = [
        "## 2. Warm cost per operation",
        "",
        "In-process handler calls (API Gateway REST proxy events built by the local gateway's code; Return",
        "Helper answered instantly in-process) against the benchmark's DynamoDB endpoint, on warm handler",
        f"modules. The floor is one bare `put_item` of a {results['warm']['floorItemBytes']}-byte item (the size of",
        "a new delivery's log item) on the handlers' own client. Every round runs each operation once in a",
        f"shuffled order; median and IQR of {floor['runs']} rounds. *In DynamoDB requests* is the time between",
        "botocore's `before-call` and `after-call` (HTTP round trip and parsing) and *handler's own* the rest",
        "(Powertools, our code, and botocore's own work around each request: even the floor has some), both",
        "medians of the separate counting pass.",
        "",
        "| operation | median (IQR) | ratio | goal | met | in DynamoDB requests | handler's own |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in warm.values():
        goal = "" if row["goal"] is None else f"<= {row['goal']}x"
        own = max(row["countedSeconds"] - row["dynamodbSeconds"], 0.0)
        lines.append(
            f"| {row['label']} | {_summary(row).ms()} | {row['ratio']:.2f}x | {goal} | {_met(row['met'])} | "
            f"{_ms(row['dynamodbSeconds'])} | {_ms(own)} |"
        )
    lines += ["", *_warm_findings(results)]
    return "\n".join(lines)


def _warm_findings(results: dict[str, Any]) -> list[str]:
    warm = results["warm"]["operations"]
    ops = results["dynamodb"]["operations"]
    floor = warm["floor"]
    lines = []
    for operation, row in warm.items():
        if row["met"] is not False:
            continue
        own = max(row["countedSeconds"] - row["dynamodbSeconds"], 0.0)
        timed = list(zip(ops[operation]["sequence"], row["sequenceMs"], strict=False))
        calls = ", ".join(f"{api} {ms:.1f} ms" for api, ms in timed)
        lines.append(
            f"- **{row['label']}** misses its goal ({row['ratio']:.2f}x against <= {row['goal']}x): "
            f"{ops[operation]['requests']} sequential DynamoDB request(s) ({calls}; the floor's `PutItem`: "
            f"{_ms(floor['dynamodbSeconds'])} in the same pass) and {_ms(own)} of the handler's own work."
        )
        lines.append(f"  {_reach(row, timed, floor)}")
        lines.append(f"  {MISSED_WHY[operation]}")
    if lines:
        lines = ["Where a goal is missed, and why:", "", *lines]
    return lines


def _reach(row: dict[str, Any], timed: list[tuple[str, float]], floor: dict[str, Any]) -> str:
    """Request by request, against the floor's whole call in the same counting pass: whether the goal is
    out of reach before any of the handler's own work (DynamoDB's side alone above it) or how much the
    goal leaves for that work."""
    floor_ms = floor["countedSeconds"] * 1000
    if not floor_ms:
        return ""
    each = ", ".join(f"{api} {ms / floor_ms:.2f}x" for api, ms in timed)
    alone = row["dynamodbSeconds"] * 1000 / floor_ms
    own = max(row["countedSeconds"] - row["dynamodbSeconds"], 0.0) * 1000 / floor_ms
    if alone >= row["goal"]:
        return (
            f"Out of reach against this endpoint: measured against the floor's whole call ({floor_ms:.1f} ms in the"
            f" counting pass), its requests take {each}: {alone:.2f}x together, at or above the goal's"
            f" {row['goal']}x before any of the handler's own work ({own:.2f}x more)."
        )
    together = f" ({alone:.2f}x together)" if len(timed) > 1 else ""
    return (
        f"Within reach on DynamoDB's side: measured against the floor's whole call ({floor_ms:.1f} ms in the counting"
        f" pass), its requests take {each}{together}, which leaves {row['goal'] - alone:.2f}x of the goal for the"
        f" handler's own work; in that pass (a fixed order, not shuffled among the other operations as the timed"
        f" rounds are) the handler's own work takes {own:.2f}x."
    )


MISSED_WHY = {
    "new_delivery": "Two sequential conditional writes (the delivery log, then the inventory updates with the "
    "delivery's `accepted` mark in one `TransactWriteItems`, dearer than a put) are already 2x the floor's put or "
    "more, so the 2x goal cannot be met with the nothing-lost order (issue 10): the second write's `accepted` mark "
    "must follow the first one's `received` record, and the first one's answer decides whether the second is made "
    "at all (a duplicate stops there, one write); folding both into one transaction would make one round trip but "
    "cost twice the WCU and a slower request. The handler's own work is mostly botocore's around each request "
    "(serialisation, endpoint rules, SigV4 signing, parsing: the floor pays it once, a new delivery twice); "
    "client-side parameter validation is off on the handlers' client (DynamoDB validates every request itself). "
    "Profiled in-process with DynamoDB's answers canned (2026-12-02), the rest is Powertools' (the JSON log line, "
    "the EMF document, the resolver, the Logger/Tracer/Metrics decorators: about 0.15 ms) and ours (the HMAC "
    "check, reading the event, building the writes: about 0.1 ms). Cut on 2026-12-02: the attribute values are "
    "built without boto3's TypeSerializer for plain types, the signing keys are decoded once, and the correlation "
    "id is read from the event instead of a JMESPath search per invocation.",
    "duplicate_delivery": "One conditional `PutItem`, whose failed condition botocore parses and raises (since "
    "2026-12-02 without the stored item: the condition itself tells a finished delivery from an unfinished one, so "
    "a duplicate's answer is a short error), plus the same fixed handler work as a new delivery: verifying the "
    "signature, reading the event, the JSON log line, the EMF document, Powertools' resolver and decorators. The "
    "failed put itself is a little cheaper than the floor's put (DynamoDB writes nothing); what is left above the "
    "floor is that fixed per-invocation work (profiled as above: about 0.25 ms of Python with DynamoDB's answers "
    "canned), which is Powertools' structured log line, metrics and routing that the design keeps.",
    "create_resend": "The path is three sequential requests when warm: one `TransactGetItems` of the items (with an "
    "Idempotency-Key, the request record the key names too; transactional, so a concurrent reservation is seen whole "
    "or not at all, which a `BatchGetItem` does not promise), the reserving "
    "`TransactWriteItems` (the request record and every item, conditional on none being held: slower than a put, it "
    "locks every item), and one `TransactWriteItems` recording SUBMITTED together with each item's `rsd` fact (a "
    "last-writer-wins fact dated now). The service types are kept in memory between invocations until the cache "
    "entry's own expiry, so only an environment's first resend per warehouse reads the cache table. Fewer requests "
    "are not possible without giving something up: the items must be read before reserving (the 422 answers name "
    "what is wrong with each, and the warehouse decides the service types), reserved before the upstream call, and "
    "recorded after it. Left of the handler's own work: request validation and response serialisation (pydantic, "
    "Powertools' `enable_validation`), the upstream call through requests (answered in-process here), the two "
    "upstream-call EMF documents, and botocore's work around three requests.",
    "create_fulfilment": "A fulfilment is a resend's create (its three requests, above) and what comes before it, "
    "each request waiting for the one before: the fulfilment's record under its Idempotency-Key (before any side "
    "effect, so the same key answers the same fulfilment), the SKU's `stock#<sku>` rows (one Query), the "
    "warehouse's quote (a consistent read of its units, the quote cache, the quote kept: the create then reads it "
    "with the units, no second quote), the groups stored before they are submitted (a call that dies is carried on, "
    "never filled twice), and the answer. With several SKUs or warehouses the quotes run side by side (two at "
    "once) and so do the groups' creates, so the chain does not grow with the order; one warehouse is its "
    "shortest. Left of the handler's own work: as POST /resends, plus the pick and a thread pool per step.",
}


def _dynamodb(results: dict[str, Any]) -> str:
    dynamodb = results["dynamodb"]
    trusted = dynamodb["capacityTrusted"]
    lines = [
        "## 3. DynamoDB requests and consumed capacity per operation",
        "",
        "Counted with botocore event hooks on the handlers' DynamoDB client (`before-call`, every request",
        "by API). The application never asks for consumed capacity, so the counting pass injects",
        "`ReturnConsumedCapacity=TOTAL` into every call that accepts it (a `before-parameter-build` hook)",
        "and reads `ConsumedCapacity` from every answer. DynamoDB Local reports real capacity units;",
        "moto's are not trustworthy and are not shown.",
        "",
        "| operation | requests (in order) | reads | writes | reads before first write | RCU | WCU |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in dynamodb["operations"].values():
        sequence = " → ".join(_compress(row["sequence"]))
        if row["transactions"]:
            sequence += f" (transaction of {', '.join(map(str, row['transactions']))} actions)"
        rcu = f"{row['rcu']:g}" if trusted else "n/a (moto)"
        wcu = f"{row['wcu']:g}" if trusted else "n/a (moto)"
        if trusted and row["capacityNotReported"]:
            failed = " and ".join(row["capacityNotReported"])
            wcu = (f"{wcu} + " if row["wcu"] else "") + f"the failed {failed}: not reported*"
        lines.append(
            f"| {row['label']} | {sequence} | {row['readRequests']} | {row['writeRequests']} | "
            f"{row['readsBeforeFirstWrite']} | {rcu} | {wcu} |"
        )
    lines += [
        "",
        "- A new delivery is one conditional `PutItem` (the delivery log) and one conditional `UpdateItem`",
        "  (the inventory); a duplicate is the conditional `PutItem` alone, whose failed condition ends it.",
        "  A late (out-of-order) event's failed condition returns the stored item",
        "  (`ReturnValuesOnConditionCheckFailure`), so the merge needs no read either.",
        f"- `POST /resends` reads its {ITEMS_PER_RESEND} items in one `TransactGetItems` (isolated from concurrent",
        "  reservations, at twice a consistent read's RCU; with an Idempotency-Key the request record too), takes",
        "  the service types from memory (the cache table's entry,",
        "  kept until it expires), reserves the request and every item in one `TransactWriteItems`, then records",
        "  SUBMITTED and each item's `rsd` fact in a second one. When a newer webhook has already moved an item",
        "  on, that transaction is cancelled and the record and each fact are written on their own (the fact",
        "  merged as a late event), so the newer webhook still wins. Status reports that beat the create answer",
        "  (parked in the delivery log under the resend id) are not looked up here: the record's first resend id",
        "  on the table's stream makes the reconciler apply them (`ResendIdRecorded`, filtered in template.yaml),",
        "  and the webhook applies one itself when the record appears while it parks it.",
        "- \\* A write whose condition fails answers with an error that carries no `ConsumedCapacity`, so",
        "  it cannot be counted here; DynamoDB still bills it, by the size of the item already stored",
        "  (at least 1 WCU). For the duplicate that is the stored delivery, the same size as the floor's",
        "  item: as many WCU as the floor's.",
    ]
    if not all(row["sameEveryRun"] for row in dynamodb["operations"].values()):
        lines.append("- Some operation made a different sequence of requests between counted runs (see the JSON).")
    return "\n".join(lines)


def _compress(sequence: list[str]) -> list[str]:
    out: list[str] = []
    for api in sequence:
        if out and out[-1].split(" ×")[0] == api:
            count = int(out[-1].split(" ×")[1]) + 1 if " ×" in out[-1] else 2
            out[-1] = f"{api} ×{count}"
        else:
            out.append(api)
    return out or ["-"]


def _artifacts(results: dict[str, Any]) -> str:
    built = results["artifacts"]
    lines = ["## 4. Built artifacts", "", f"Source: {built['source']}.", ""]
    if not built["artifacts"]:
        lines.append(
            "| artifact | unzipped | zipped | files | .pyc |\n|---|---|---|---|---|\n| (not measured) | | | | |"
        )
        return "\n".join(lines)
    lines += ["| artifact | unzipped | zipped | files | .pyc | biggest parts |", "|---|---|---|---|---|---|"]
    for logical_id, size in built["artifacts"].items():
        parts = ", ".join(f"{name} {_mb(part)}" for name, part in list(size["biggest"].items())[:5])
        lines.append(
            f"| {logical_id} | {_mb(size['unzippedBytes'])} | {_mb(size['zippedBytes'])} | {size['files']} | "
            f"{size['pycFiles']} | {parts} |"
        )
    notes: list[str] = []
    problems = built.get("layerProblems") or []
    layer = built["artifacts"].get("CommonLayer")
    if layer:
        notes.append(
            "- CommonLayer is built by `layers/common/Makefile` (`build_layer.py`): the requirements resolved for"
        )
        notes += [
            "  Lambda's platform, minus what the runtime ships (boto3, botocore, s3transfer, jmespath, dateutil,",
            "  six), installed with `--no-deps`; pycountry's translations and other databases, unused Powertools",
            "  utilities, stubs and C sources pruned (Swagger UI's assets stay: `enable_swagger` serves them);",
            "  every module compiled with",
            "  `--invalidation-mode unchecked-hash` (SAM's zips carry fixed timestamps). `layer_check.py` fails the",
            "  build otherwise: "
            + ("no problem found in this build." if not problems else f"{len(problems)} problems: {problems[:3]}"),
        ]
        if "pydantic_core" in layer["biggest"]:
            notes.append(
                "- The biggest single part is pydantic_core's compiled core "
                f"({_mb(layer['biggest']['pydantic_core'])})."
            )
    for name, size in built["artifacts"].items():
        if name != "CommonLayer" and size["pycFiles"] == 0:
            notes.append(
                "- The functions' own directories hold only `app.py` (no bytecode: SAM's python builder copies them),"
            )
            notes.append("  compiled on each cold start; a few kB each, a few milliseconds.")
            break
    return "\n".join([*lines, *([""] + notes if notes else [])])


def _method(results: dict[str, Any]) -> str:
    plan = results["meta"]["plan"]
    warm = results["warm"]
    warmup = (
        f"{warm['warmupRounds']} warm-up rounds ({warm['warmupRequests']} DynamoDB requests)"
        if warm.get("warmupRounds") is not None
        else f"{plan['warmup']} warm-up rounds"
    )
    return f"""## Method and caveats

- Repetitions this run: cold start {plan["coldRuns"]} runs per variant, warm {plan["warmRounds"]} timed
  rounds after {warmup}, {plan["countRuns"]} counted runs per operation.
  Spread = IQR (p25-p75); with fewer than 4 samples, min-max.
- Everything runs on one machine: the handlers, DynamoDB Local (a JVM), moto server. The ratios compare
  like with like in the same run; absolute numbers say little about Lambda (arm64, 512 MB, a real network).
- The cold starts as Lambda runs them use this machine's Python 3.13 and architecture (a host build: the
  arm64 wheels cannot be loaded here), not Lambda's bootstrap; both the floor and the functions pay for
  the same interpreter start. The in-venv column pays for `site` and the venv's larger site-packages.
- This run shared the machine's 2 cores with other work (see the load average above): every figure is a
  ratio to a floor measured in the same run, but the spreads are wider than on a quiet machine, and the
  cold starts (CPU-bound) are the most sensitive.
- DynamoDB Local is a JVM that keeps getting faster for its first ~2000 requests (measured 2026-12-02: a
  fresh one's bare put went from 9 ms to 1.3 ms over its first 2000 puts, then stayed). So the
  warm-up runs until the endpoint has served at least {plan.get("warmupRequests", 0)} requests, however many
  rounds that takes, and the timed rounds measure a steady endpoint. On a slower (still warming) endpoint the DynamoDB
  requests weigh more against the handler's own work in every ratio (a duplicate's ratio looks
  better), and a transaction's cost against a put's moves too (about 2x a put on a fresh endpoint,
  about 3x on a warmed one, measured the same day).
- Benchmarks are not tests: `make test` runs the quick mode once (tests/integration/test_bench_quick.py)
  and checks that every figure was written, never the numbers."""
