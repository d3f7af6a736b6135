"""One wiring: every function builds its services through rh_common.runtime.wiring, one set of clients a process."""

from rh_common.runtime import observability
from tests.support.resend import handler_caller


def test_the_merchant_api_shares_one_wiring_across_its_route_modules(load_with_upstream, lambda_context, tables):
    merchant = load_with_upstream("MerchantApiFunction")
    services = merchant.services
    api = handler_caller(merchant, lambda_context)
    # GIVEN nothing built yet / WHEN each router module's routes answer / THEN they built app.py's wiring's services
    assert not {"deliveries", "syncs", "batches"} & set(vars(services))
    assert api("GET", "/deliveries", query={"status": "ignored"})[0] == 200  # delivery_routes
    assert api("GET", "/sync/inventories/unknown")[0] == 404  # sync_routes
    assert api("GET", "/resends/batch/unknown")[0] == 404  # resend_workflow
    assert {"deliveries", "syncs", "batches"} <= set(vars(services))
    # one upstream client (and service-type cache) behind the resend path and the routes around it
    assert services.resends._upstream is services.batches._upstream is services.quotes._upstream
    assert services.syncs._upstream is services.upstream
    assert services.resends._service_types is services.quotes._service_types


def test_every_function_that_calls_return_helper_counts_its_calls(load_with_upstream):
    # (the tracker's status counter is a required argument: mypy checks that every tracker has one)
    for logical_id in ("MerchantApiFunction", "ResendWorkerFunction", "ReconcilerFunction"):
        services = load_with_upstream(logical_id).services
        assert services.upstream._on_call is observability.record_upstream_call, logical_id


def test_the_upstream_client_is_traced_once_it_is_built_not_at_init(load_with_upstream, monkeypatch):
    # GIVEN a merchant API process, whose routes call Return Helper only on some paths
    merchant = load_with_upstream("MerchantApiFunction")
    patched = []
    monkeypatch.setattr(merchant.tracer, "patch", lambda modules: patched.append(tuple(modules)))
    assert "upstream" not in vars(merchant.services)  # nothing built it at init
    # WHEN the first route that needs it builds the upstream client / THEN requests is patched for X-Ray
    assert merchant.services.upstream is merchant.services.upstream
    assert patched == [("requests",)]
