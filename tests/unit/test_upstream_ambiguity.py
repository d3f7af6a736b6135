"""rh_common.adapters.returnhelper.answers: whether a transient failure may have been processed by Return Helper.

Only a call that certainly was not processed may count toward giving a request up (DEAD releases its
items); anything after which a resend may exist upstream keeps the request asking (contract section 3).
"""

from __future__ import annotations

import socket

import pytest
import requests
import urllib3.exceptions

from rh_common.adapters.returnhelper.answers import classify_exception, classify_response
from rh_common.domain.upstream_outcome import OutcomeKind

TRANSIENT = OutcomeKind.TRANSIENT


def _refused_connection() -> requests.ConnectionError:
    """What requests really raises for a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    except requests.ConnectionError as refused:
        return refused
    raise AssertionError("a closed port answered")


def _name_not_resolved() -> requests.ConnectionError:
    resolution = urllib3.exceptions.NameResolutionError("rh.invalid", None, socket.gaierror(-2, "not known"))
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason=resolution))


def _remote_disconnected() -> requests.ConnectionError:
    """The server closed the connection after the request was sent, without an answer."""
    import http.client

    closed = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", closed))


def _reset_after_sending() -> requests.ConnectionError:
    reset = ConnectionResetError(104, "Connection reset by peer")
    return requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", reset))


@pytest.mark.parametrize(
    ("http_status", "body", "maybe_processed"),
    [
        pytest.param(429, b"", False, id="429"),
        pytest.param(503, b"", False, id="503"),
        pytest.param(401, b"", False, id="401"),
        pytest.param(403, b"<html>Forbidden</html>", False, id="403"),
        pytest.param(500, b"", True, id="500"),
        pytest.param(502, b"", True, id="502"),
        pytest.param(504, b"", True, id="504"),
        pytest.param(507, b"", True, id="other-5xx"),
        pytest.param(408, b"", True, id="408"),
        pytest.param(409, b"", True, id="409-key-in-flight"),
        pytest.param(200, b"<html>proxy</html>", True, id="2xx-not-the-envelope"),
        pytest.param(200, b'{"meta": {"status": 500}}', True, id="meta-status-5xx"),
    ],
)
def test_transient_answers_say_whether_the_call_may_have_been_processed(http_status, body, maybe_processed):
    outcome = classify_response("createResend", http_status, {}, body)
    assert (outcome.kind, outcome.maybe_processed) == (TRANSIENT, maybe_processed)


def test_credentials_refused_is_transient_and_says_so():
    # GIVEN Return Helper refusing our key (a rotation half done) / THEN never a refusal of the request
    for status in (401, 403):
        outcome = classify_response("createResend", status, {}, b"")
        assert outcome.transient and not outcome.permanent and outcome.credentials_refused
        assert "credentials" in outcome.detail
    assert not classify_response("createResend", 503, {}, b"").credentials_refused


@pytest.mark.parametrize(
    ("make_exc", "detail", "maybe_processed"),
    [
        pytest.param(_refused_connection, "connection refused", False, id="connection-refused-for-real"),
        pytest.param(_name_not_resolved, "name not resolved", False, id="dns"),
        pytest.param(lambda: requests.ConnectTimeout("connect timed out"), "connect timeout", False, id="connect"),
        pytest.param(lambda: ConnectionRefusedError(111, "refused"), "connection refused", False, id="builtin"),
        pytest.param(
            lambda: requests.exceptions.InvalidHeader("Invalid leading whitespace ... in header value: secret\n"),
            "refused before sending: a header value is not valid",
            False,
            id="invalid-header",
        ),
        pytest.param(
            lambda: UnicodeEncodeError("latin-1", "order-€1", 6, 7, "ordinal not in range(256)"),
            "refused before sending: a header value is not valid",
            False,
            id="header-not-latin-1",
        ),
        pytest.param(lambda: requests.ReadTimeout("read timed out"), "read timeout", True, id="read-timeout"),
        pytest.param(_reset_after_sending, "connection reset", True, id="reset-after-sending"),
        pytest.param(_remote_disconnected, "connection reset", True, id="closed-without-answer"),
        pytest.param(lambda: requests.ConnectionError("who knows"), "connection error", True, id="unknown-cause"),
        pytest.param(lambda: TimeoutError("timed out"), "timeout", True, id="builtin-timeout"),
    ],
)
def test_network_failures_say_whether_the_call_may_have_been_processed(make_exc, detail, maybe_processed):
    outcome = classify_exception("createResend", make_exc())
    assert (outcome.kind, outcome.detail, outcome.maybe_processed) == (TRANSIENT, detail, maybe_processed)


def test_a_refusal_before_sending_never_carries_the_exceptions_text():
    # GIVEN requests refusing a token with a newline: its message quotes the header value
    exc = requests.exceptions.InvalidHeader("Invalid return character or leading space in header: tok\nen")
    outcome = classify_exception("createResend", exc)
    assert "tok" not in repr(outcome)
    from rh_common.domain.upstream_outcome import not_sent

    assert not_sent("createResend", "fixed").maybe_processed is False
