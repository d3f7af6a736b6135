"""One wiring: every function builds its services through rh_common.runtime.wiring, one set of clients a process."""

import os

import pytest
from aws_lambda_powertools import Metrics, Tracer

from rh_common.runtime import observability, wiring
from tests.support.resend import handler_caller

# What any process has (the interpreter's, AWS's region and credentials): everything else comes from the template.
BASE_ENVIRONMENT = ("PATH", "HOME", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def merchant(load_with_upstream, monkeypatch):
    """The merchant API module and the one Wiring its import built (its routes hold it; the module does not)."""
    built = []

    class Recorded(wiring.Wiring):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(wiring, "Wiring", Recorded)
    module = load_with_upstream("MerchantApiFunction")
    [services] = built  # one a process
    return module, services


def test_the_merchant_api_shares_one_wiring_across_its_route_modules(merchant, lambda_context, tables):
    module, services = merchant
    api = handler_caller(module, lambda_context)
    # GIVEN nothing built yet / WHEN each router module's routes answer / THEN they built the one wiring's services
    assert not {"deliveries", "syncs", "batches", "inventories", "listing"} & set(vars(services))
    assert api("GET", "/deliveries", query={"status": "ignored"})[0] == 200  # delivery_routes
    assert api("GET", "/sync/inventories/unknown")[0] == 404  # sync_routes
    assert api("GET", "/resends/batch/unknown")[0] == 404  # resend_workflow
    assert api("GET", "/inventories/7")[0] == 404  # inventory_routes
    assert api("GET", "/resends", query={"status": "PENDING"})[0] == 200  # resend_routes
    assert {"deliveries", "syncs", "batches", "inventories", "listing"} <= set(vars(services))
    # one upstream client (and service-type cache) behind the resend path and the routes around it
    assert services.resends._upstream is services.batches._upstream is services.quotes._upstream
    assert services.syncs._upstream is services.upstream
    assert services.resends._service_types is services.quotes._service_types
    assert not hasattr(module, "services") and not hasattr(module, "store")  # no module-level service object


def test_every_function_that_calls_return_helper_counts_its_calls(merchant, load_with_upstream):
    # (the tracker's status counter is a required argument: mypy checks that every tracker has one)
    wirings = {"MerchantApiFunction": merchant[1]}
    for logical_id in ("ResendWorkerFunction", "ReconcilerFunction"):
        wirings[logical_id] = load_with_upstream(logical_id).services
    for logical_id, services in wirings.items():
        assert services.upstream._on_call is observability.record_upstream_call, logical_id


def test_the_upstream_client_is_traced_once_it_is_built_not_at_init(merchant, monkeypatch):
    # GIVEN a merchant API process, whose routes call Return Helper only on some paths
    module, services = merchant
    patched = []
    monkeypatch.setattr(module.tracer, "patch", lambda modules: patched.append(tuple(modules)))
    assert "upstream" not in vars(services)  # nothing built it at init
    # WHEN the first route that needs it builds the upstream client / THEN requests is patched for X-Ray
    assert services.upstream is services.upstream
    assert patched == [("requests",)]


# What each function builds through its wiring (its handler module and the services behind it).
BUILT_BY = {
    "WebhookFunction": ("ingestor",),
    "MerchantApiFunction": (
        "resends",
        "listing",
        "deliveries",
        "ingestor",
        "syncs",
        "holds",
        "quotes",
        "batches",
        "references",
        "delivery_replays",
        "address_rules",
    ),
    "ResendWorkerFunction": ("resends", "syncs", "batches", "automation_dead_letters", "delivery_replays"),
    "ReconcilerFunction": ("reconciler", "syncs", "release_parked"),
    "EventPublisherFunction": ("publisher",),
    "InventoryReferenceFunction": ("reference_keeper",),
}


@pytest.mark.parametrize(("logical_id", "pieces"), list(BUILT_BY.items()))
def test_what_a_function_builds_needs_only_the_settings_its_template_environment_sets(
    template, monkeypatch, logical_id, pieces
):
    # GIVEN exactly the environment template.yaml gives the function (settings have no default in the code)
    for name in [name for name in os.environ if name not in BASE_ENVIRONMENT]:
        monkeypatch.delenv(name)
    for name, value in template.functions()[logical_id].environment.items():
        monkeypatch.setenv(name, value)
    services = wiring.Wiring(Metrics(), Tracer())
    # WHEN each piece it uses is built / THEN none misses a setting (RuntimeError names it)
    for piece in pieces:
        assert getattr(services, piece) is not None, piece
