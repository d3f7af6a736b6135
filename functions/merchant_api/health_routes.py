"""GET /health: the merchant API answers (public: no key, as template.yaml declares it)."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from rh_common.contract.views import SuccessModel
from rh_common.http.rest_api import INVALID, doc


class HealthView(SuccessModel):
    status: str


def router() -> Router:
    """The health route (no collaborator: it answers without reading anything)."""
    routes = Router()

    @routes.get(
        "/health", operation_id="health", summary="Liveness", responses={200: doc("Alive", HealthView), **INVALID}
    )
    def health() -> HealthView:
        return HealthView(status="ok")

    return routes
