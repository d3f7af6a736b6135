"""The layer build's rewrite of re-export `__init__`s (layers/common/build_layer.py: lazy_package_init).

The rewrite runs on the Powertools release this venv holds (the layer's), so an upgrade that
changes one of those files shows up here as well as in the build.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "common"))
import build_layer  # noqa: E402
import layer_check  # noqa: E402


def lazy_module(relative: str) -> tuple[types.ModuleType, types.ModuleType]:
    """(the installed package, the same package's rewritten `__init__` run as a separate module)."""
    package = relative.removesuffix("/__init__.py").replace("/", ".")
    real = importlib.import_module(package)
    lazy = types.ModuleType(package)
    exec(build_layer.lazy_package_init(Path(real.__file__).read_text(), package), lazy.__dict__)  # noqa: S102
    return real, lazy


@pytest.mark.parametrize("relative", layer_check.LAZY_PACKAGE_INITS)
def test_the_lazy_init_exports_the_same_objects(relative: str) -> None:
    real, lazy = lazy_module(relative)
    assert lazy.__all__ == real.__all__
    assert {name: getattr(lazy, name) for name in real.__all__} == {name: getattr(real, name) for name in real.__all__}
    assert set(real.__all__) <= set(dir(lazy))
    with pytest.raises(AttributeError):
        lazy.NotExported  # noqa: B018


@pytest.mark.parametrize("relative", layer_check.LAZY_PACKAGE_INITS)
def test_the_lazy_init_imports_nothing_until_a_name_is_used(relative: str) -> None:
    _, lazy = lazy_module(relative)
    assert [name for name in vars(lazy) if not name.startswith("_")] == []


@pytest.mark.parametrize(
    "source",
    [
        "from pkg.a import A\n__all__ = ['A']\nregister(A)\n",  # code
        "from other.a import A\n__all__ = ['A']\n",  # not a submodule
        "from pkg.a import *\n__all__ = []\n",
        "from pkg.a import A\n__all__ = ['A', 'B']\n",  # exports what it does not import
        "from pkg.a import A\n",  # no __all__
    ],
)
def test_an_init_that_does_more_than_re_export_is_refused(source: str) -> None:
    with pytest.raises(ValueError):
        build_layer.lazy_package_init(source, "pkg")


def test_layer_check_flags_an_eager_init(tmp_path: Path) -> None:
    relative = layer_check.LAZY_PACKAGE_INITS[0]
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    path.write_text("from aws_lambda_powertools.event_handler.api_gateway import Response\n__all__ = ['Response']\n")
    eager = [problem for problem in layer_check.problems(tmp_path) if "lazy" in problem]
    path.write_text(build_layer.lazy_package_init(path.read_text(), "aws_lambda_powertools.event_handler"))
    lazy = [problem for problem in layer_check.problems(tmp_path) if "lazy" in problem]
    assert eager == [f"{relative}: imports at the top (every submodule on each cold start), not the lazy rewrite"]
    assert lazy == []
