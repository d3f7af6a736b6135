"""AWS_IAM routes on the local gateway: a SigV4 signature made with the operator's credentials, or 403.

Requests are signed the way any AWS client signs them (botocore's SigV4Auth.add_auth over the
request as sent) and checked the way API Gateway checks them: a missing, wrong, stale or
tampered signature is 403 with API Gateway's {"message"}, and the function never runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local import sigv4
from local.gateway import LocalApiGateway
from local.lambda_runtime import InvocationResult
from local.settings import LocalSettings, OperatorCredentials
from local.template import ApiRoute, LocalTemplate
from ops.operator_api import SignedBySigV4

OPERATOR = OperatorCredentials("LOCALOPERATOR", "the-operator-secret", "us-east-1")
URL = "http://127.0.0.1:3000/sync/inventories?x=1&a=b"
BODY = b'{"since": "2025-01-01"}'
SYNC = ApiRoute(
    "POST", "/sync/inventories", "MerchantApiFunction", "StartInventorySync", "MerchantApi", "v1", False, "AWS_IAM"
)
KEYED = ApiRoute("GET", "/inventories", "MerchantApiFunction", "ListInventories", "MerchantApi", "v1", True)


def signed_headers(
    *, url: str = URL, body: bytes = BODY, secret: str = OPERATOR.secret_access_key, region: str = "us-east-1"
) -> list[tuple[str, str]]:
    """The headers an AWS client sends for this request (Host, Content-Type, X-Amz-Date, Authorization)."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(OPERATOR.access_key_id, secret), "execute-api", region).add_auth(request)
    return [("Host", "127.0.0.1:3000"), *request.headers.items()]


def check(headers, *, url: str = URL, body: bytes = BODY, now: datetime | None = None):
    return sigv4.refusal("POST", url, headers, body, OPERATOR, now=now or datetime.now(UTC))


# ------------------------------------------------------------------ the verifier


def test_a_request_signed_with_the_operators_credentials_holds():
    assert check(signed_headers()) is None


def test_a_missing_signature_is_missing_authentication_token():
    assert check([("Host", "127.0.0.1:3000")]) == sigv4.MISSING


def test_a_signature_made_with_another_secret_is_refused():
    assert check(signed_headers(secret="not-the-secret")) == sigv4.MISMATCH


def test_a_body_or_query_changed_after_signing_is_refused():
    headers = signed_headers()
    assert check(headers, body=b'{"since": "1970-01-01"}') == sigv4.MISMATCH
    assert check(headers, url=URL.replace("x=1", "x=2")) == sigv4.MISMATCH
    # an X-Amz-Content-SHA256 claim does not stand in for the body's own hash
    unsigned = [*headers, ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")]
    assert check(unsigned, body=b"{}") == sigv4.MISMATCH


def test_another_access_key_a_session_token_region_or_service_is_refused():
    other_key = [(n, v.replace("LOCALOPERATOR/", "AKIAOTHER/")) for n, v in signed_headers()]
    assert check(other_key) == sigv4.UNKNOWN_KEY
    assert check([*signed_headers(), ("X-Amz-Security-Token", "t")]) == sigv4.UNKNOWN_KEY
    assert check(signed_headers(region="eu-west-1")) == sigv4.MISMATCH
    other_service = [(n, v.replace("/execute-api/", "/s3/")) for n, v in signed_headers()]
    assert check(other_service) == sigv4.MISMATCH


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_signature_more_than_15_minutes_from_now_is_refused(minutes):
    assert check(signed_headers(), now=datetime.now(UTC) + timedelta(minutes=minutes)) == sigv4.EXPIRED
    assert check(signed_headers(), now=datetime.now(UTC) + timedelta(minutes=minutes / 2 - 1)) is None


def test_a_host_no_url_parser_takes_is_refused_not_a_crash():
    headers = [("Host" if n == "Host" else n, "[::1" if n == "Host" else v) for n, v in signed_headers()]
    assert check(headers, url="http://[::1/sync/inventories") == sigv4.MISMATCH


@pytest.mark.parametrize(
    ("authorization", "refused"),
    [
        ("Bearer abc", sigv4.INCOMPLETE),
        ("AWS4-HMAC-SHA256 Credential=LOCALOPERATOR/20250101/us-east-1/execute-api/aws4_request", sigv4.INCOMPLETE),
        ("", sigv4.MISSING),
    ],
)
def test_a_malformed_authorization_header_is_refused(authorization, refused):
    assert check([("Host", "127.0.0.1:3000"), ("Authorization", authorization)]) == refused


def test_a_signature_without_the_date_or_host_signed_is_incomplete():
    no_date = [(n, v) for n, v in signed_headers() if n != "X-Amz-Date"]
    assert check(no_date) == sigv4.INCOMPLETE


# ------------------------------------------------------------------ over HTTP


@pytest.fixture
def gateway():
    seen: list[dict] = []

    def invoke(function_id: str, event: dict) -> InvocationResult:
        seen.append(event)
        return InvocationResult("ok", {"statusCode": 202, "body": json.dumps({"syncId": "s", "status": "RUNNING"})})

    server = LocalApiGateway([SYNC, KEYED], invoke, port=0, api_key="the-key", operator=OPERATOR)
    server.start()
    server.seen = seen
    yield server
    server.stop()


def test_a_signed_request_reaches_the_function_with_the_callers_identity(gateway):
    auth = SignedBySigV4(Credentials(OPERATOR.access_key_id, OPERATOR.secret_access_key), OPERATOR.region)
    answer = requests.post(gateway.url + "/sync/inventories?a=1", json={"since": "2025-01-01"}, auth=auth, timeout=10)
    assert answer.status_code == 202, answer.text
    [event] = gateway.seen
    assert event["requestContext"]["identity"]["accessKey"] == OPERATOR.access_key_id
    assert json.loads(event["body"]) == {"since": "2025-01-01"}


def test_the_merchant_key_alone_a_wrong_secret_or_a_tampered_body_is_403(gateway):
    key_only = requests.post(gateway.url + "/sync/inventories", json={}, headers={"x-api-key": "the-key"}, timeout=10)
    assert (key_only.status_code, key_only.json()) == (403, {"message": "Missing Authentication Token"})
    wrong = SignedBySigV4(Credentials(OPERATOR.access_key_id, "guessed"), OPERATOR.region)
    refused = requests.post(gateway.url + "/sync/inventories", json={}, auth=wrong, timeout=10)
    assert refused.status_code == 403 and refused.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert set(refused.json()) == {"message"}
    # signed for one body, sent with another
    prepared = requests.Request("POST", gateway.url + "/sync/inventories", json={"since": "2025-01-01"}).prepare()
    SignedBySigV4(Credentials(OPERATOR.access_key_id, OPERATOR.secret_access_key), OPERATOR.region)(prepared)
    prepared.body = b'{"since": "1970-01-01"}'
    prepared.headers["Content-Length"] = str(len(prepared.body))
    assert requests.Session().send(prepared, timeout=10).status_code == 403
    assert gateway.seen == []
    # and a signature does not open the keyed routes
    auth = SignedBySigV4(Credentials(OPERATOR.access_key_id, OPERATOR.secret_access_key), OPERATOR.region)
    assert requests.get(gateway.url + "/inventories", auth=auth, timeout=10).status_code == 403


# ------------------------------------------------------------------ template and stack.json


OPERATOR_ROUTES = {
    ("POST", "/sync/inventories"),
    ("GET", "/sync/inventories/{syncId}"),
    ("GET", "/deliveries"),
    ("POST", "/deliveries/{deliveryId}/replay"),
    ("POST", "/deliveries/replay"),
    ("GET", "/deliveries/replay/{replayId}"),
}


def test_the_operator_routes_are_aws_iam_and_no_other_route_is():
    routes = {(route.method, route.path): route for route in LocalTemplate.load().api_routes()}
    iam = {key for key, route in routes.items() if route.authorizer == "AWS_IAM"}
    assert iam == OPERATOR_ROUTES
    assert not any(routes[key].api_key_required for key in OPERATOR_ROUTES)


def test_the_operator_credentials_are_the_stacks_settings_with_an_environment_override():
    default = LocalSettings.from_env({}).operator
    assert default.region == "us-east-1" and default.access_key_id and default.secret_access_key
    chosen = LocalSettings.from_env(
        {
            "LOCAL_OPERATOR_ACCESS_KEY_ID": "AKIAME",
            "LOCAL_OPERATOR_SECRET_ACCESS_KEY": "s3cr3t",
            "AWS_REGION": "eu-west-1",
        }
    ).operator
    assert chosen.as_json() == {"accessKeyId": "AKIAME", "secretAccessKey": "s3cr3t", "region": "eu-west-1"}
