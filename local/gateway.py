"""Local API Gateway (REST API, Lambda proxy integration) for every Api event of the template.

Behaves like API Gateway where a client can tell: unknown routes and methods get
403 "Missing Authentication Token", keyed routes 403 "Forbidden" without the right
x-api-key, AWS_IAM routes 403 without a SigV4 signature made with the operator's
credentials (local/sigv4.py), the handler receives a REST (v1) proxy event with the body byte-exact,
a failed or malformed invocation is 502 and a timed-out one 504.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.lambda_runtime import InvocationResult
from local.processes import log
from local.settings import HOST, LOCAL_ACCOUNT_ID, OperatorCredentials
from local.sigv4 import MISSING, UNKNOWN_KEY, Refusal, refusal
from local.template import ApiRoute
from local.wsgi import BackgroundServer

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
LOCAL_API_KEY_ID = "localapikey"

Invoke = Callable[[str, dict], InvocationResult]


def _werkzeug_rule(path: str) -> str:
    """API Gateway's ``{name}`` and greedy ``{name+}`` as werkzeug's ``<name>`` and ``<path:name>``."""
    return re.sub(r"\{(\w+)\}", r"<\1>", re.sub(r"\{(\w+)\+\}", r"<path:\1>", path))


class RouteTable:
    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._methods: dict[str, dict[str, ApiRoute]] = {}
        for route in routes:
            self._methods.setdefault(route.path, {})[route.method] = route
        # werkzeug prefers a literal segment over {x} over {proxy+}, as API Gateway does.
        rules = [Rule(_werkzeug_rule(path), endpoint=path) for path in self._methods]
        self._urls = Map(rules, merge_slashes=False).bind("localhost")

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        """The route for this method and path, with decoded path parameters; None if API Gateway has none.

        The most specific resource matching the path decides: a method it lacks is not looked
        up on less specific resources (ANY matches every method).
        """
        try:
            resource, values = self._urls.match(path)  # the rules take every method
        except HTTPException:
            return None
        route = self._methods[resource].get(method) or self._methods[resource].get("ANY")
        return None if route is None else (route, {name: unquote(value) for name, value in values.items()})


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # as received, still percent-encoded, without the query string
    query: str  # raw query string, "" when absent
    headers: Sequence[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


def _stable_id(text: str, length: int) -> str:
    """An id like execute-api's (the API's, 10 characters; a resource's, 6), the same at every start."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's single-value map (the last value wins) and its multi-value map."""
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text as-is when it is UTF-8, base64 otherwise; None when empty."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def build_proxy_event(
    route: ApiRoute,
    request: HttpRequest,
    path_parameters: dict[str, str],
    *,
    domain_name: str,
    request_id: str,
    request_time: datetime,
    api_key: str | None = None,
    iam_access_key: str | None = None,
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway would send for this request."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    body, is_base64 = encode_body(request.body)
    user_agent = next((value for name, value in reversed(request.headers) if name.lower() == "user-agent"), None)
    account_id = LOCAL_ACCOUNT_ID
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": _stable_id(route.api_id, 10),
            "resourceId": _stable_id(route.api_id + route.path, 6),
            "resourcePath": route.path,
            "httpMethod": request.method,
            "path": f"/{route.stage}{request.path}",
            "stage": route.stage,
            "requestId": request_id,
            "extendedRequestId": base64.b64encode(uuid.UUID(request_id).bytes[:12]).decode("ascii"),
            "requestTime": request_time.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(request_time.timestamp() * 1000),
            "identity": {  # no Cognito caller; an IAM one is the operator user
                "accessKey": iam_access_key,
                "accountId": account_id if iam_access_key else None,
                "caller": iam_access_key,
                "user": iam_access_key,
                "userArn": f"arn:aws:iam::{account_id}:user/local-operator" if iam_access_key else None,
                "apiKey": api_key,
                "apiKeyId": LOCAL_API_KEY_ID if api_key else None,
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0].split(":")[0],
            "protocol": request.protocol,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


class MalformedProxyResponse(ValueError):
    pass


def translate_proxy_result(payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from a Lambda proxy result; MalformedProxyResponse if API Gateway would 502."""
    try:
        status, body = int(payload["statusCode"]), payload.get("body")
        encoded = payload.get("isBase64Encoded") and body
        raw = base64.b64decode(body, validate=True) if encoded else body.encode() if body else b""
    except (TypeError, ValueError, KeyError, AttributeError):
        raise MalformedProxyResponse("not a proxy result: statusCode, and a (base64) string body or none") from None
    if not (100 <= status <= 599 and isinstance(body, str | None)):
        raise MalformedProxyResponse(f"statusCode {status} or a body of type {type(body).__name__}")
    # API Gateway merges both maps; a pair given in multiValueHeaders is not repeated from headers.
    multi = payload.get("multiValueHeaders") or {}
    headers = [(str(name), str(value)) for name, values in multi.items() for value in values or []]
    given = {(name.lower(), value) for name, value in headers}
    for name, value in (payload.get("headers") or {}).items():
        if (str(name).lower(), str(value)) not in given:
            headers.append((str(name), str(value)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))  # API Gateway's default for proxy results
    return status, headers, raw


def _json_error(status: int, message: str, error_type: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"message": message}).encode()
    return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)], body


class LocalApiGateway(BackgroundServer):
    """Serves the template's Api routes on 127.0.0.1:<port>, invoking functions through `invoke`."""

    def __init__(
        self,
        routes: Iterable[ApiRoute],
        invoke: Invoke,
        *,
        port: int,
        api_key: str,
        operator: OperatorCredentials | None = None,
        host: str = HOST,
    ) -> None:
        super().__init__(self._serve, host, port, "api-gateway")
        self.routes = RouteTable(routes)
        self._invoke = invoke
        self._api_key = api_key
        self._operator = operator  # None: every AWS_IAM route is refused, as for an unknown caller
        self.url = f"http://{host}:{self.port}"

    @Request.application
    def _serve(self, request: Request) -> Response:
        started, request_id = time.monotonic(), str(uuid.uuid4())
        request.max_content_length = MAX_BODY_BYTES  # werkzeug refuses a longer body, chunked or not
        target = request.environ["RAW_URI"]  # still percent-encoded, as API Gateway gives the path
        try:
            body = request.get_data()
        except (RequestEntityTooLarge, OSError):  # OSError: a malformed chunked body
            status, headers, payload = _json_error(
                413, f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.", "RequestTooLargeException"
            )
        else:
            path, _, query = target.partition("?")
            headers = request.environ["local.headers"]
            protocol = request.environ["SERVER_PROTOCOL"]
            http_request = HttpRequest(request.method, path, query, headers, body, request.remote_addr, protocol)
            status, headers, payload = self.respond(http_request, request_id)
        log("gateway", f"{request.method} {target} -> {status} ({(time.monotonic() - started) * 1000:.0f} ms)")
        return Response(payload, status, [*headers, ("x-amzn-RequestId", request_id)])

    def respond(self, request: HttpRequest, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        matched = self.routes.match(request.method, request.path)
        if matched is None:
            return _json_error(403, *MISSING)
        route, path_parameters = matched
        iam_access_key = None
        if route.authorizer == "AWS_IAM":  # the signature first, as API Gateway does; then any key
            refused = self._iam_refusal(request)
            if refused is not None:
                return _json_error(403, *refused)
            iam_access_key = self._operator.access_key_id
        given_key = next((value for name, value in request.headers if name.lower() == "x-api-key"), None)
        if route.api_key_required and given_key != self._api_key:
            return _json_error(403, "Forbidden", "ForbiddenException")
        event = build_proxy_event(
            route,
            _with_forwarding_headers(request, self.port),
            path_parameters,
            domain_name=f"{HOST}:{self.port}",
            request_id=request_id,
            request_time=datetime.now(UTC),
            api_key=given_key,
            iam_access_key=iam_access_key,
        )
        try:
            result = self._invoke(route.function_id, event)
            if result.status == "timeout":
                return _json_error(504, "Endpoint request timed out", "IntegrationTimeout")
            if not result.ok:
                raise RuntimeError(f"the function failed: {result.error_type}: {result.error_message}")
            return translate_proxy_result(result.payload)
        except Exception as exc:  # a failed invocation, a function error, a malformed proxy result (or a local bug)
            log("gateway", f"{route.function_id}: {exc!r}")
            return _json_error(502, "Internal server error", "InternalServerErrorException")

    def _iam_refusal(self, request: HttpRequest) -> Refusal | None:
        if self._operator is None:
            return UNKNOWN_KEY
        host = next((value for name, value in request.headers if name.lower() == "host"), f"{HOST}:{self.port}")
        url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
        return refusal(request.method, url, request.headers, request.body, self._operator, now=datetime.now(UTC))


def _with_forwarding_headers(request: HttpRequest, port: int) -> HttpRequest:
    """API Gateway adds X-Forwarded-* before calling the function."""
    present = {name.lower() for name, _ in request.headers}
    forwarding = {"X-Forwarded-For": request.source_ip, "X-Forwarded-Port": str(port), "X-Forwarded-Proto": "http"}
    added = [(name, value) for name, value in forwarding.items() if name.lower() not in present]
    return replace(request, headers=[*request.headers, *added])
