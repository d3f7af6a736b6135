"""Builds one function's code for Lambda (SAM `BuildMethod: makefile`, see the Makefile next to this file).

    python3.13 build_function.py --source functions/webhook --target $ARTIFACTS_DIR

The function's directory as SAM's python builder would copy it, plus its bytecode. That builder
compiles nothing and `/var/task` is read-only, so Lambda compiled the handler's own modules on every
cold start. Compiled as the layer is (layers/common/build_layer.py): `--invalidation-mode
unchecked-hash`, since the zip SAM uploads carries fixed timestamps, and checked with the layer's
own bytecode check (layers/common/layer_check.py). Standard library only.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "common"))
import layer_check  # noqa: E402


def build(source: Path, target: Path) -> None:
    # A developer's __pycache__ (timestamp-checked, from running the tests) stays behind.
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    if not compileall.compile_dir(target, quiet=1, force=True, invalidation_mode=mode):
        raise SystemExit("compileall failed")
    wrong = layer_check.bytecode_problems(target)
    if wrong:
        raise SystemExit(f"{source.name}: not what Lambda should load:\n  " + "\n  ".join(wrong))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the function's CodeUri directory")
    parser.add_argument("--target", type=Path, required=True, help="where SAM collects the function's code")
    args = parser.parse_args()
    build(args.source, args.target)


if __name__ == "__main__":
    main()
