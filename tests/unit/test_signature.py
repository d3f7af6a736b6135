"""rh_common.domain.signature: Return Helper's HMAC-SHA256 over POST + URL + timestamp + raw body."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rh_common.domain.signature import SignatureError, sign, signed_headers, verify
from rh_common.domain.timestamps import upstream_iso

URL = "https://hooks.example.com/webhooks/returnhelper"
KEY = base64.b64encode(b"vector-key-0123456789abcdef").decode()  # "dmVjdG9yLWtleS0wMTIzNDU2Nzg5YWJjZGVm"
OTHER_KEY = base64.b64encode(b"another-key-for-rotation-tests").decode()
TS = "2024-01-12T09:23:08.4863561Z"
BODY = b'{"category":"labelGenerated","action":"labelGenerated","eventTime":"2024-01-12T09:23:08.4862743Z"}'
SKEW = 900
# TS as a datetime; Python keeps 6 fraction digits, the 7th (100 ns) is dropped for the clock check.
TS_AT = datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)

# Known vectors, computed once outside Python with OpenSSL 3.0 and pasted here:
#   HEX=$(printf 'vector-key-0123456789abcdef' | xxd -p | tr -d '\n')
#   printf '%s' "POST${URL}${TS}${BODY}" \
#     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$HEX -binary | base64
VECTOR_SIGNATURE = "x6uftvzDsXnQGxlA4R1Fzks9ZO7PUcJzMQ/LoSOlgL4="
# Same key and URL, timestamp "2024-01-12T09:23:08Z", body '{"description":"café – 20 €"}' in UTF-8.
UTF8_BODY = '{"description":"café – 20 €"}'.encode()
UTF8_VECTOR_SIGNATURE = "YDjqJG5nMPlWM9NxAIis2dHNpihUkCtM090HrcGaCKc="


def headers_for(body: bytes = BODY, *, key: str = KEY, url: str = URL, timestamp: str = TS) -> dict[str, str]:
    return {"returnhelper-signature": sign(key, url, timestamp, body), "timestamp": timestamp}


def reason_of(**kwargs) -> str:
    arguments = {
        "headers": headers_for(),
        "raw_body": BODY,
        "url": URL,
        "signing_keys": [KEY],
        "max_skew_seconds": SKEW,
        "now": TS_AT,
    }
    arguments.update(kwargs)
    with pytest.raises(SignatureError) as caught:
        verify(**arguments)
    return caught.value.reason


# --------------------------------------------------------------------------- sign


def test_given_the_openssl_vector_when_signing_then_the_signature_matches():
    assert sign(KEY, URL, TS, BODY) == VECTOR_SIGNATURE


def test_given_a_utf8_body_and_a_fractionless_timestamp_when_signing_then_the_openssl_vector_matches():
    assert sign(KEY, URL, "2024-01-12T09:23:08Z", UTF8_BODY) == UTF8_VECTOR_SIGNATURE


def test_given_the_openssl_vector_when_verifying_then_it_is_accepted():
    verify({"returnhelper-signature": VECTOR_SIGNATURE, "timestamp": TS}, BODY, URL, [KEY], SKEW, now=TS_AT)


def test_given_a_non_base64_key_when_signing_then_value_error():
    with pytest.raises(ValueError):
        sign("not base64!", URL, TS, BODY)


# --------------------------------------------------------------------------- the timestamp header


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC), "2024-01-12T09:23:08.4863560Z"),
        (datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC), "2024-01-12T09:23:08.0000000Z"),
        (datetime(2024, 1, 12, 11, 23, 8, 5, tzinfo=timezone(timedelta(hours=2))), "2024-01-12T09:23:08.0000050Z"),
        (datetime(2024, 1, 12, 9, 23, 8, 1), "2024-01-12T09:23:08.0000010Z"),  # naive = UTC
    ],
)
def test_given_a_datetime_when_formatting_then_utc_with_7_fraction_digits_and_z(when, expected):
    assert upstream_iso(when) == expected


def test_given_no_timestamp_when_building_headers_then_now_is_used_and_the_result_verifies():
    before = datetime.now(UTC)
    headers = signed_headers(KEY, URL, BODY)
    assert set(headers) == {"returnhelper-signature", "timestamp", "content-type"}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert len(headers["timestamp"]) == len("2024-01-12T09:23:08.4863561Z")
    verify(headers, BODY, URL, [KEY], max_skew_seconds=5, now=before)


def test_given_a_timestamp_when_building_headers_then_it_is_signed_verbatim():
    headers = signed_headers(KEY, URL, BODY, timestamp=TS)
    assert headers["timestamp"] == TS
    assert headers["returnhelper-signature"] == VECTOR_SIGNATURE


# --------------------------------------------------------------------------- body and URL


def test_given_a_tampered_body_when_verifying_then_bad_signature():
    assert reason_of(raw_body=BODY.replace(b"labelGenerated", b"labelGeneratee", 1)) == "bad_signature"


def test_given_the_body_reserialised_after_json_loads_when_verifying_then_bad_signature():
    """GIVEN a pretty-printed body signed as received WHEN a framework re-serialises it THEN refused."""
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    headers = headers_for(pretty)
    verify(headers, pretty, URL, [KEY], SKEW, now=TS_AT)
    reserialised = json.dumps(json.loads(pretty)).encode()
    assert reserialised != pretty
    assert reason_of(headers=headers, raw_body=reserialised) == "bad_signature"


def test_given_an_extra_trailing_newline_when_verifying_then_bad_signature():
    assert reason_of(raw_body=BODY + b"\n") == "bad_signature"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/webhooks/returnhelper/",  # trailing slash
        "http://hooks.example.com/webhooks/returnhelper",  # scheme
        "https://hooks.example.com/v1/webhooks/returnhelper",  # stage prefix
        "https://HOOKS.example.com/webhooks/returnhelper",  # host case
    ],
)
def test_given_another_url_than_the_registered_one_when_verifying_then_bad_signature(url):
    assert reason_of(url=url) == "bad_signature"


def test_given_a_signature_for_another_timestamp_when_verifying_then_bad_signature():
    """The timestamp header is part of the signed message: swapping it breaks the signature."""
    headers = headers_for()
    headers["timestamp"] = "2024-01-12T09:23:09.4863561Z"
    assert reason_of(headers=headers) == "bad_signature"


def test_given_the_same_instant_written_differently_when_verifying_then_bad_signature():
    """The header is signed byte for byte: an equal instant in another spelling is another message."""
    headers = headers_for()
    headers["timestamp"] = "2024-01-12T10:23:08.4863561+01:00"
    assert reason_of(headers=headers) == "bad_signature"


# --------------------------------------------------------------------------- header names


@pytest.mark.parametrize(
    ("signature_name", "timestamp_name"),
    [
        ("returnhelper-signature", "timestamp"),
        ("ReturnHelper-Signature", "Timestamp"),
        ("RETURNHELPER-SIGNATURE", "TIMESTAMP"),
        ("returnHelper-signature", "timeStamp"),
    ],
)
def test_given_header_names_in_any_case_when_verifying_then_accepted(signature_name, timestamp_name):
    headers = {signature_name: sign(KEY, URL, TS, BODY), timestamp_name: TS, "Content-Type": "application/json"}
    verify(headers, BODY, URL, [KEY], SKEW, now=TS_AT)


@pytest.mark.parametrize("name", ["signature", "Signature"])
def test_given_the_old_signature_header_name_when_verifying_then_accepted(name):
    verify({name: VECTOR_SIGNATURE, "timestamp": TS}, BODY, URL, [KEY], SKEW, now=TS_AT)


def test_given_both_header_names_when_verifying_then_the_current_name_wins():
    headers = {"signature": "stale-value", "returnhelper-signature": VECTOR_SIGNATURE, "timestamp": TS}
    verify(headers, BODY, URL, [KEY], SKEW, now=TS_AT)


@pytest.mark.parametrize("headers", [{"timestamp": TS}, {"returnhelper-signature": "", "timestamp": TS}, {}])
def test_given_no_signature_header_when_verifying_then_missing_signature(headers):
    assert reason_of(headers=headers) == "missing_signature"


@pytest.mark.parametrize("value", [None, ""])
def test_given_no_timestamp_header_when_verifying_then_missing_timestamp(value):
    headers = {"returnhelper-signature": VECTOR_SIGNATURE}
    if value is not None:
        headers["timestamp"] = value
    assert reason_of(headers=headers) == "missing_timestamp"


def test_given_api_gateway_null_headers_when_verifying_then_missing_signature():
    assert reason_of(headers=None) == "missing_signature"


# --------------------------------------------------------------------------- timestamp forms


@pytest.mark.parametrize(
    ("timestamp", "instant"),
    [
        ("2024-01-12T09:23:08Z", datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)),
        ("2024-01-12T09:23:08.4Z", datetime(2024, 1, 12, 9, 23, 8, 400000, tzinfo=UTC)),
        ("2024-01-12T09:23:08.486356Z", datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)),
        ("2024-01-12T09:23:08.4863561Z", datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)),
        ("2024-01-12T09:23:08.4863561", datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)),  # no offset = UTC
        ("2024-01-12T17:23:08.4863561+08:00", datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)),
        ("2024-01-12T04:23:08-05:00", datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)),
        ("2024-01-12T09:23:08+00:00", datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)),
    ],
)
def test_given_0_to_7_fraction_digits_and_any_offset_when_verifying_then_the_instant_is_read(timestamp, instant):
    """GIVEN a header exactly one window away from its instant WHEN verifying THEN accepted (read right)."""
    headers = headers_for(timestamp=timestamp)
    verify(headers, BODY, URL, [KEY], SKEW, now=instant + timedelta(seconds=SKEW))
    verify(headers, BODY, URL, [KEY], SKEW, now=instant - timedelta(seconds=SKEW))
    assert reason_of(headers=headers, now=instant + timedelta(seconds=SKEW, microseconds=1)) == "stale_timestamp"


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-01-12T09:23:08.48635612Z",  # 8 fraction digits
        "2024-01-12 09:23:08Z",  # space separator
        "2024-01-12T09:23Z",  # no seconds
        "2024-01-12",
        "1705051388",  # epoch seconds
        "2024-13-12T09:23:08Z",  # month 13
        "2024-01-12T25:23:08Z",
        "2024-01-12T09:23:08.Z",
        "2024-01-12T09:23:08+0800",  # offset without colon
        "2024-01-12T09:23:08+24:00",
        " 2024-01-12T09:23:08Z",
        "2024-01-12T09:23:08Z\n",
        "0001-01-01T00:00:00+01:00",  # out of range once moved to UTC
        "9999-12-31T23:59:59-01:00",
        "２０２４-01-12T09:23:08Z",  # non-ASCII digits
    ],
)
def test_given_a_malformed_timestamp_when_verifying_then_bad_timestamp(timestamp):
    assert reason_of(headers={"returnhelper-signature": VECTOR_SIGNATURE, "timestamp": timestamp}) == "bad_timestamp"


# --------------------------------------------------------------------------- replay window


def test_given_a_delivery_just_inside_the_past_window_when_verifying_then_accepted():
    verify(headers_for(), BODY, URL, [KEY], SKEW, now=TS_AT + timedelta(seconds=SKEW))


def test_given_a_delivery_just_outside_the_past_window_when_verifying_then_stale_timestamp():
    assert reason_of(now=TS_AT + timedelta(seconds=SKEW, microseconds=1)) == "stale_timestamp"


def test_given_a_delivery_just_inside_the_future_window_when_verifying_then_accepted():
    verify(headers_for(), BODY, URL, [KEY], SKEW, now=TS_AT - timedelta(seconds=SKEW))


def test_given_a_delivery_just_outside_the_future_window_when_verifying_then_future_timestamp():
    assert reason_of(now=TS_AT - timedelta(seconds=SKEW, microseconds=1)) == "future_timestamp"


def test_given_a_stale_timestamp_and_a_bad_signature_when_verifying_then_the_window_is_checked_first():
    headers = {"returnhelper-signature": "AAAA", "timestamp": TS}
    assert reason_of(headers=headers, now=TS_AT + timedelta(hours=1)) == "stale_timestamp"


def test_given_a_naive_now_when_verifying_then_it_is_taken_as_utc():
    verify(headers_for(), BODY, URL, [KEY], SKEW, now=TS_AT.replace(tzinfo=None) + timedelta(seconds=SKEW))
    naive_late = TS_AT.replace(tzinfo=None) + timedelta(seconds=SKEW + 1)
    assert reason_of(now=naive_late) == "stale_timestamp"


def test_given_an_aware_now_in_another_zone_when_verifying_then_the_instant_counts():
    verify(headers_for(), BODY, URL, [KEY], SKEW, now=TS_AT.astimezone(timezone(timedelta(hours=-7))))


def test_given_no_now_when_verifying_then_the_clock_is_used():
    assert reason_of(now=None) == "stale_timestamp"  # TS is in 2024
    verify(signed_headers(KEY, URL, BODY), BODY, URL, [KEY], SKEW)


# --------------------------------------------------------------------------- keys


def test_given_old_and_new_keys_during_rotation_when_verifying_then_both_are_accepted():
    keys = [OTHER_KEY, KEY]
    verify(headers_for(key=KEY), BODY, URL, keys, SKEW, now=TS_AT)
    verify(headers_for(key=OTHER_KEY), BODY, URL, keys, SKEW, now=TS_AT)


def test_given_a_key_removed_after_rotation_when_verifying_then_bad_signature():
    assert reason_of(headers=headers_for(key=KEY), signing_keys=[OTHER_KEY]) == "bad_signature"


def test_given_no_keys_when_verifying_then_bad_signature():
    assert reason_of(signing_keys=[]) == "bad_signature"


@pytest.mark.parametrize("broken", ["not base64!", "abc", "", "====", None])
def test_given_an_undecodable_key_beside_a_good_one_when_verifying_then_it_is_skipped(broken):
    verify(headers_for(), BODY, URL, [broken, KEY], SKEW, now=TS_AT)
    assert reason_of(signing_keys=[broken]) == "bad_signature"


def test_given_a_single_key_passed_bare_when_verifying_then_it_is_used_as_one_key():
    verify(headers_for(), BODY, URL, KEY, SKEW, now=TS_AT)


def test_given_a_signature_header_with_surrounding_spaces_when_verifying_then_accepted():
    verify({"returnhelper-signature": f" {VECTOR_SIGNATURE} ", "timestamp": TS}, BODY, URL, [KEY], SKEW, now=TS_AT)


@pytest.mark.parametrize(
    "value",
    [
        VECTOR_SIGNATURE.rstrip("="),  # padding dropped
        base64.urlsafe_b64encode(base64.b64decode(VECTOR_SIGNATURE)).decode() + "x",
        base64.b64decode(VECTOR_SIGNATURE).hex(),  # hex instead of base64
        "sïgnature",  # non-ASCII must not crash compare_digest
    ],
)
def test_given_a_signature_in_another_encoding_when_verifying_then_bad_signature(value):
    assert reason_of(headers={"returnhelper-signature": value, "timestamp": TS}) == "bad_signature"


def test_given_a_refusal_when_raised_then_the_error_names_the_reason_and_no_key():
    with pytest.raises(SignatureError) as caught:
        verify(headers_for(key=OTHER_KEY), BODY, URL, [KEY], SKEW, now=TS_AT)
    assert caught.value.reason == "bad_signature"
    assert str(caught.value) == "bad_signature"
    assert KEY not in repr(caught.value) and OTHER_KEY not in repr(caught.value)
