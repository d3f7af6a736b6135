"""The merchant REST API: the resolver, its routes by resource, its OpenAPI document and /docs.

Thin: each resource's routes are a Powertools Router in a module of its own, built over the
process's one wiring (`router(services)`); Powertools' REST resolver validates each request
against their typed signatures and pydantic models (the same types generate the OpenAPI
document), the domain services do the work, and every error body has the contract's shape
(rh_common.http.rest_api: the answer pattern and the error mapping).
"""

# isort: off
from rh_common.runtime import cold_start  # first: no garbage collection while the rest imports
# isort: on

import functools
import warnings
from typing import TYPE_CHECKING, Any

import delivery_routes
import fulfilment_routes
import health_routes
import instruction_routes
import inventory_routes
import resend_routes
import resend_workflow
import service_type_routes
import stock_routes
import sync_routes
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from rh_common.http import rest_api
from rh_common.runtime import observability, snapstart, wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what it calls (cold start); requests: wiring
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
rest_api.register(app, logger)


def _include_routes(services: wiring.Wiring) -> None:
    """Every resource's routes over one wiring. In this order: /openapi.json lists the paths in the
    order they were registered (its parameterised paths first), so it stays the same document."""
    app.include_router(delivery_routes.router(services))  # operator: deliveries
    app.include_router(sync_routes.router(services))  # operator: inventory sync
    app.include_router(resend_workflow.router(services))  # hold, quote, plan, batch
    app.include_router(health_routes.router())
    app.include_router(inventory_routes.router(services))
    app.include_router(service_type_routes.router(services))
    app.include_router(resend_routes.router(services))
    app.include_router(stock_routes.router(services))
    app.include_router(fulfilment_routes.router(services))
    app.include_router(instruction_routes.router(services))


# One set of clients for every route of this process, built once per cold start and held by the
# routes alone (each client on first use; requests traced once the upstream client is built).
_include_routes(wiring.Wiring(metrics, tracer=tracer))
observability.route_library_logs(logger)
# Reads emit no metric (API Gateway counts requests); that is expected, not worth a warning per process.
warnings.filterwarnings("ignore", "No application metrics to publish")

# The document /openapi.json serves and /docs embeds. The server is relative: resolved against
# where the document is read (https://<api>/<stage>/ deployed, http://127.0.0.1:<port>/ locally).
# Servers, security schemes and examples are plain dicts that Powertools validates into its OpenAPI
# models when it builds the document: those models (~40 ms to import) are not imported at init, so
# only the requests for /openapi.json and /docs load them.
OPENAPI: dict[str, Any] = {
    "title": "Return Helper resends",
    "version": "1.0.0",
    "security_schemes": rest_api.SECURITY_SCHEMES,
    "servers": [{"url": "."}],
}


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():  # type: ignore[no-untyped-def]  # none: Powertools would validate the document against it
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(**OPENAPI))


DOCS_PATH = "/docs"


@functools.cache
def _enable_docs() -> None:
    """Powertools' own Swagger UI: the page inlines the Swagger UI assets Powertools ships (no CDN),
    so /docs works on a machine without internet; the document is embedded in the page.

    Enabled on the first request for /docs, not at init: enable_swagger imports Powertools' OpenAPI
    models (~40 ms) that no other route needs.
    """
    app.enable_swagger(path=DOCS_PATH, persist_authorization=True, **OPENAPI)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: "LambdaContext") -> dict:
    observability.set_api_correlation_id(logger, event)
    refused = rest_api.refuse_unreadable_body(event, rest_api.MAX_BODY_BYTES)
    if refused is not None:
        return refused
    if event.get("resource") == DOCS_PATH:  # the route template.yaml declares, whatever the stage
        _enable_docs()
    return app.resolve(event, context)


snapstart.register()  # SnapStart's hooks (rh_common/runtime/snapstart.py says what each does and why)
cold_start.finished()
