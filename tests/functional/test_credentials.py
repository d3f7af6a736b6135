"""Credentials (contract section 10): values from the secret are stripped and checked at load; a
malformed one is refused naming the field, never its value; and whatever reaches the client, no
credential value gets into a log line, an X-Ray segment or an outcome, and the call is certainly
not processed (retried, counted). Return Helper refusing them (401/403) is counted for the alarm."""

from __future__ import annotations

import importlib
import json
import logging

import boto3
import pytest
import wrapt

from rh_common.adapters.returnhelper import credentials
from rh_common.adapters.returnhelper.answers import classify_response
from rh_common.adapters.returnhelper.client import ReturnHelperClient
from rh_common.adapters.returnhelper.credentials import CredentialsInvalid, ReturnHelperCredentials
from rh_common.runtime import observability
from tests.functional.test_returnhelper_client import new_key, resend_body, uncounted

SECRET_MARK = "SECRETVALUE9931"


@pytest.fixture
def emulator_client(emulator):
    def make(creds: ReturnHelperCredentials, session=None) -> ReturnHelperClient:
        return ReturnHelperClient(
            emulator.api_base, lambda: creds, timeout_seconds=2, session=session, on_call=uncounted
        )

    return make


def put_secret(secret, **fields) -> None:
    value = {"apiKey": "k", "apiToken": "t", "signingKeys": [], **fields}
    boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


def test_a_token_pasted_with_a_trailing_newline_is_stripped_at_load_and_works(secret, emulator):
    # GIVEN the secret's key and token pasted with surrounding whitespace (the emulator expects "k" / "t")
    put_secret(secret, apiKey=" k", apiToken="t\n")
    loaded = credentials.load(secret)
    # WHEN Return Helper is called with them / THEN they were stripped, and accepted
    client = ReturnHelperClient(emulator.api_base, lambda: loaded, timeout_seconds=2, on_call=uncounted)
    assert (loaded.api_key, loaded.api_token) == ("k", "t")
    assert client.available_shipment_service_types(2).ok


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("apiToken", f"tok\n{SECRET_MARK}"),
        ("apiToken", f"tök{SECRET_MARK}"),
        ("apiKey", f"key {SECRET_MARK}"),
        ("apiKey", ""),
        ("signingKeys", [f"not base64 {SECRET_MARK}"]),
    ],
)
def test_a_malformed_value_is_refused_at_load_naming_the_field_only(secret, field, value):
    put_secret(secret, **{field: value})
    with pytest.raises(CredentialsInvalid) as refused:
        credentials.load(secret)
    assert field in str(refused.value) and SECRET_MARK not in str(refused.value)


class SegmentCapture:
    """An X-Ray emitter that keeps what it would send to the daemon."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address) -> None:
        pass


@pytest.fixture
def traced_session():
    """A requests session traced as `Tracer.patch(("requests",))` traces it (X-Ray's own wrapper), into a
    capturing emitter; the recorder's settings restored after."""
    import requests
    from aws_xray_sdk.core import xray_recorder

    xray_requests = importlib.import_module("aws_xray_sdk.ext.requests.patch")

    from aws_xray_sdk import global_sdk_config

    saved = (xray_recorder._emitter, xray_recorder.sampling, global_sdk_config.sdk_enabled())
    global_sdk_config.set_sdk_enabled(True)  # a disabled Powertools Tracer turns the SDK off process-wide
    capture = SegmentCapture()
    xray_recorder.configure(emitter=capture, sampling=False, context_missing="LOG_ERROR")
    session = requests.Session()
    session.request = wrapt.FunctionWrapper(session.request, xray_requests._xray_traced_requests)
    xray_recorder.begin_segment("credentials-test")
    yield session, capture
    if xray_recorder.current_segment() is not None:
        xray_recorder.end_segment()
    xray_recorder._emitter, xray_recorder.sampling, enabled = saved
    global_sdk_config.set_sdk_enabled(enabled)


@pytest.mark.parametrize(
    "creds",
    [
        ReturnHelperCredentials("k", f"tok\n{SECRET_MARK}", ()),  # a newline inside: requests' InvalidHeader
        ReturnHelperCredentials(f"k€{SECRET_MARK}", "t", ()),  # not latin-1: http.client's UnicodeEncodeError
    ],
    ids=["newline", "non-ascii"],
)
def test_a_malformed_credential_reaching_the_client_leaks_into_no_log_or_trace(
    emulator_client, traced_session, caplog, creds
):
    from aws_xray_sdk.core import xray_recorder

    session, capture = traced_session
    caplog.set_level(logging.DEBUG)
    # GIVEN a traced call that works (the capture sees HTTP subsegments)
    assert emulator_client(ReturnHelperCredentials("k", "t", ()), session).available_shipment_service_types(2).ok
    # WHEN a create goes out with a credential requests would refuse
    outcome = emulator_client(creds, session).create_resend(resend_body(1), new_key())
    xray_recorder.end_segment()
    # THEN the value is in no outcome, log line or X-Ray document
    traced = "\n".join(capture.documents)
    assert '"url"' in traced  # the first call was traced
    for text in (repr(outcome), caplog.text, traced):
        assert SECRET_MARK not in text
    # AND it is certainly not processed (retried, counted), with a fixed detail naming the header
    assert outcome.transient and not outcome.maybe_processed
    assert outcome.detail.startswith("refused before sending: the x-rr-api")


def test_return_helper_refusing_our_credentials_is_counted_for_the_alarm(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ReturnHelperResends")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "returnhelper-resends")
    observability.record_upstream_call(classify_response("createResend", 403, {}, b""))
    observability.record_upstream_call(classify_response("createResend", 503, {}, b""))
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    refused = [d for d in documents if observability.UPSTREAM_CREDENTIALS_REFUSED in d]
    assert len(refused) == 1 and refused[0][observability.UPSTREAM_CREDENTIALS_REFUSED] == [1.0]
    [metric] = refused[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert (metric["Name"], metric["Unit"]) == ("UpstreamCredentialsRefused", "Count")
