"""The merchant API's one pattern for answers: success models, error exceptions, documented responses.

Every route (in a Router module of functions/merchant_api, one per resource) follows it:

    from rh_common.http import rest_api
    from rh_common.http.rest_api import doc, keyed_route

    @keyed_route(
        routes.get, "/things/<thingId>", "get_thing", "One thing",
        {200: doc("The thing", ThingView), **rest_api.NOT_FOUND, **rest_api.INVALID},
    )
    def get_thing(thingId: Annotated[str, Path(max_length=64)]) -> ThingView:
        ...
        raise rest_api.NotFound(f"thing {thingId} is not known")   # any non-2xx: raise, never return

Why raise: with `enable_validation=True` Powertools validates every JSON body a route *returns*
against the route's return annotation (a failure would turn a 404 into a 422). So a route returns
only its success models (a `Union` where it has several: pydantic picks the model that matches,
and the models forbid extra keys so it cannot pick a narrower one), and every other answer is an
exception that `register(app)`'s exception handlers turn into the contract's error body; their
answers do not pass through that validation. A domain `Result` goes through `respond`, which
maps it (rh_common.http.status_codes, the one mapping) and does both.

A route the merchant's API key opens is declared with `keyed_route`, an operator route (AWS_IAM
in template.yaml) with `operator_route`: each adds its security scheme, API Gateway's 403 and,
for a route that takes a body, the refusals of an unreadable one; nothing else declares them.

The documented responses (`doc`, `INVALID`, ...) are the truth for schemathesis'
`response_schema_conformance` check (tests/integration/test_api_fuzz.py) and for
tests/integration/test_openapi_conformance.py: a status a route can answer must be documented
with a schema that matches every body sent with it (`doc(description, A, B)` documents anyOf).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union

import annotated_types
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import AfterValidator, BaseModel

from rh_common.contract.error_schemas import ErrorBody
from rh_common.contract.resend_request import MAX_ID
from rh_common.domain import field_errors, idempotency_keys, json_limits
from rh_common.domain.results import Result
from rh_common.http import json_responses, status_codes
from rh_common.http.json_responses import json_response

if TYPE_CHECKING:  # annotations only
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------ the API key (API Gateway's)

# A plain dict, which Powertools validates into its APIKey model when it builds the document:
# importing its OpenAPI models costs ~40 ms of a cold start that only /openapi.json and /docs need.
_API_KEY_SCHEMES = {"ApiKey": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
# `security=` of every keyed route (ApiKeyRequired in template.yaml)
_API_KEY_REQUIRED: list[dict[str, list[str]]] = [{"ApiKey": []}]
# The operator routes (template.yaml Auth: AWS_IAM): SigV4 for execute-api, as API Gateway itself
# declares AWS_IAM in an OpenAPI document; the merchant key does not open them.
_SIGV4_SCHEMES = {
    "SigV4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "awsSigv4",
        "description": "AWS Signature Version 4 (service execute-api) with IAM credentials allowed execute-api:Invoke.",
    }
}
_OPERATOR_REQUIRED: list[dict[str, list[str]]] = [{"SigV4": []}]  # `security=` of every operator route
SECURITY_SCHEMES = {**_API_KEY_SCHEMES, **_SIGV4_SCHEMES}  # the document's (app.py)


class GatewayErrorBody(BaseModel):
    """API Gateway's own answers (403 without a valid key or for an unknown route, 429): a message only."""

    message: str


# ------------------------------------------------------------------ parameters

# Every id parameter: a positive int64. (Powertools' OpenAPI Schema model types bounds as floats,
# so the document shows 2**63 - 1 as 9.223372036854776e+18; validation uses the exact int.)
Id = Annotated[int, annotated_types.Gt(0), annotated_types.Le(MAX_ID)]

# The Idempotency-Key header: its grammar is rh_common.domain.idempotency_keys' (the automation queue
# checks the same), a 422 on the header.
IdempotencyKey = Annotated[str | None, AfterValidator(idempotency_keys.checked)]
BatchKey = Annotated[str, AfterValidator(idempotency_keys.checked_batch_key)]


def idempotency_key_header(max_length: int = idempotency_keys.MAX_LENGTH, **documented: Any) -> Any:
    """The `Idempotency-Key` header parameter, documented with its grammar."""
    return Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=max_length,
        description=f"Printable ASCII; {idempotency_keys.rule(max_length)}",
        json_schema_extra={"pattern": idempotency_keys.PATTERN},
        **documented,
    )


# The required Idempotency-Key of the routes that store their record before any side effect and may run
# long (a batch, a fulfilment): the longer batch grammar.
BatchKeyHeader = Annotated[BatchKey, idempotency_key_header(idempotency_keys.BATCH_MAX_LENGTH)]


# ------------------------------------------------------------------ documented responses


def doc(description: str, *models: type[BaseModel]) -> OpenAPIResponse:
    """One documented response; several models document a body that is any one of them (anyOf)."""
    chosen = models or (ErrorBody,)
    model: Any = chosen[0] if len(chosen) == 1 else Union[chosen]  # noqa: UP007 - a runtime tuple of types
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


# A CreateResend body is under 2 KB; larger ones are refused before they are parsed.
# One limit for every route of the merchant API.
MAX_BODY_BYTES = 64 * 1024

INVALID = {422: doc("Validation failed: one entry per offending field")}
NOT_FOUND = {404: doc("Not known")}
NOT_JSON = {400: doc("Body is not JSON (or not UTF-8, or nested deeper than 64 levels)")}
UNAVAILABLE = {503: doc("Return Helper unavailable; try again")}


# What `refuse_unreadable_body` answers, for the routes that take a body.
_BODY_LIMITS = {**NOT_JSON, 413: doc(f"Body larger than {MAX_BODY_BYTES} bytes"), 415: doc("Not application/json")}

# API Gateway's own refusals, before the function runs.
_KEY_REFUSED = {403: doc("No valid x-api-key (API Gateway's answer)", GatewayErrorBody)}
_SIGNATURE_REFUSED = {
    403: doc(
        "No valid SigV4 signature: missing, made with other credentials, expired, or not allowed "
        "execute-api:Invoke (API Gateway's answer; the x-api-key alone is refused)",
        GatewayErrorBody,
    )
}


def keyed_route(
    register: Callable[..., Any],
    path: str,
    operation_id: str,
    summary: str,
    answers: Mapping[int, OpenAPIResponse],
    takes_body: bool = False,
) -> Callable[[Any], Any]:
    """A route the merchant's API key opens (`register`: `routes.post`, `routes.get`, ...), documented with
    its own answers, the refusals of an unreadable body when it takes one, and API Gateway's 403."""
    return _route(register, path, operation_id, summary, answers, takes_body, _API_KEY_REQUIRED, _KEY_REFUSED)


def operator_route(
    register: Callable[..., Any],
    path: str,
    operation_id: str,
    summary: str,
    answers: Mapping[int, OpenAPIResponse],
    takes_body: bool = False,
) -> Callable[[Any], Any]:
    """An operator route (template.yaml Auth: AWS_IAM; SigV4, never the merchant's key), documented as
    `keyed_route` documents its routes, with API Gateway's 403 for a missing or refused signature."""
    return _route(register, path, operation_id, summary, answers, takes_body, _OPERATOR_REQUIRED, _SIGNATURE_REFUSED)


def _route(
    register: Callable[..., Any],
    path: str,
    operation_id: str,
    summary: str,
    answers: Mapping[int, OpenAPIResponse],
    takes_body: bool,
    security: list[dict[str, list[str]]],
    refused: Mapping[int, OpenAPIResponse],
) -> Callable[[Any], Any]:
    responses = {**answers, **(_BODY_LIMITS if takes_body else {}), **refused}
    return register(path, operation_id=operation_id, summary=summary, security=security, responses=responses)


# ------------------------------------------------------------------ non-2xx answers are raised


class ApiError(Exception):
    """A non-2xx answer: the status and the contract's error body (which may carry more keys)."""

    def __init__(self, status_code: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})  # e.g. Retry-After on a 503


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, field_errors.error_body(message))


def invalid(field: str | None, message: str) -> RequestValidationError:
    """A 422 for one field, raised like Powertools' own request validation errors."""
    return RequestValidationError([{"loc": (field,) if field else (), "msg": message, "type": "value_error"}])


def success_or_raise(status_code: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    """A domain answer: 2xx is returned (and validated against the route's models), anything else raised."""
    if 200 <= status_code < 300:
        return Response(status_code, content_types.APPLICATION_JSON, body, headers=dict(headers or {}) or None)
    raise ApiError(status_code, body, headers)


def respond(result: Result, retry_after_seconds: str | None = None) -> Response:
    """A domain result as the route's answer; with `retry_after_seconds`, a 503 says when to try again."""
    answer = status_codes.answer(result)
    headers = {"Retry-After": retry_after_seconds} if retry_after_seconds and answer.status_code == 503 else None
    return success_or_raise(answer.status_code, answer.body, headers)


def register(app: Any, log: Any = logger) -> None:
    """The exception handlers every merchant API route relies on (call once, on the resolver)."""

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response:
        log.info("answered %s: %s", exc.status_code, exc.body.get("message"))
        return json_response(exc.status_code, exc.body, exc.headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        problems = exc.errors()
        if any(tuple(problem.get("loc", ()))[:1] == ("response",) for problem in problems):
            # A route returned a body its own success models do not describe: our bug, not the input's.
            log.error("response does not match the route's success models: %s", _locations(problems))
            return json_response(500, field_errors.error_body("internal error"))
        if any(problem.get("type") == "json_invalid" for problem in problems):
            log.info("refused: body is not valid JSON")
            return json_response(400, field_errors.error_body("request body is not valid JSON"))
        # Powertools' default 422 body does not match its own schema; ours matches ErrorBody.
        log.info("refused: %s", _locations(problems))
        body = field_errors.error_body("request is not valid", field_errors.from_validation_errors(problems))
        return json_response(422, body)

    @app.not_found
    def no_route(_: Exception) -> Response:
        # Only reachable when template.yaml routes a path this app does not (API Gateway answers the rest).
        return json_response(404, field_errors.error_body("no such route"))

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_response(500, field_errors.error_body("internal error"))


def _locations(problems: Iterable[Mapping[str, Any]]) -> list[str]:
    # Where, never the offending values: they may be addresses or phone numbers.
    return [f"{field_errors.field_path(problem.get('loc', ())) or '-'}: {problem.get('type')}" for problem in problems]


# ------------------------------------------------------------------ before routing


_METHODS_WITH_BODIES = frozenset({"POST", "PUT", "PATCH"})


def refuse_unreadable_body(event: Mapping[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """A proxy result for a body no route can read (too large, not JSON, not UTF-8, nested too deep), else None.

    Checked before Powertools parses it: its JSON parsing lets a UnicodeDecodeError (bytes that
    are not UTF-8, which API Gateway hands over base64-encoded) or a ValueError (an integer past
    Python's 4300-digit limit) through as a 500.
    """
    raw = event.get("body") or ""
    oversized = json_responses.too_large(raw, max_body_bytes)
    if oversized is not None:
        return _proxy(413, oversized, "request body too large")
    if event.get("httpMethod") not in _METHODS_WITH_BODIES:
        return None  # a GET's body is never read
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type") or "").strip().lower()
    if content_type and not content_type.startswith(content_types.APPLICATION_JSON):
        # JSON in, only: Powertools would parse form and multipart bodies too (a multipart one
        # without a boundary escapes as a ValueError, i.e. a 500).
        refusal = field_errors.error_body("the body must be application/json")
        return _proxy(415, refusal, f"content type {content_type[:80]}")
    if not raw:
        return None
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _proxy(400, field_errors.error_body("request body is not UTF-8 JSON"), "request body not UTF-8")
    if json_limits.too_deep(raw):  # before json.loads, which recurses per level (RecursionError: a crash)
        message = f"request body is nested deeper than {json_limits.MAX_DEPTH} levels"
        return _proxy(400, field_errors.error_body(message), "request body nested too deep")
    try:
        json.loads(raw)
    except ValueError:
        return _proxy(400, field_errors.error_body("request body is not valid JSON"), "request body not JSON")
    return None


def _proxy(status: int, body: dict[str, Any], reason: str) -> dict[str, Any]:
    logger.warning("refused: %s", reason)
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
