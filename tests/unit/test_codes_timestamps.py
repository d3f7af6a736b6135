"""Normalising at the edge: codes and ids in any upstream form, Return Helper date-times."""

from datetime import UTC, datetime

import pytest

from rh_common import codes, timestamps


@pytest.mark.parametrize(("raw", "expected"), [("ohd", "ohd"), (4, "ohd"), ("4", "ohd"), ("OHD", "ohd"), (0, "tbc")])
def test_handling_code_names_and_numbers_mean_the_same(raw, expected):
    assert codes.handling_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("pending", "pending"), (0, "pending"), ("2", "completed"), (1, "inProgress")]
)
def test_handling_status_names_and_numbers_mean_the_same(raw, expected):
    assert codes.handling_status(raw) == expected


@pytest.mark.parametrize("raw", [6, -1, "xyz", None, True, 1.5])
def test_unknown_handling_codes_are_refused(raw):
    with pytest.raises(ValueError):
        codes.handling_code(raw)


@pytest.mark.parametrize(("raw", "expected"), [("20278", 20278), (20278, 20278), (" 7 ", 7)])
def test_ids_arrive_as_strings_or_numbers(raw, expected):
    assert codes.parse_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", 0, -5, True, 2**63, None, "1.5"])
def test_bad_ids_are_refused(raw):
    with pytest.raises(ValueError):
        codes.parse_id(raw)


def test_seven_fraction_digits_with_z_parse_to_utc():
    assert timestamps.parse("2024-05-02T02:59:27.8657445Z") == datetime(2024, 5, 2, 2, 59, 27, 865744, tzinfo=UTC)


def test_offsetless_times_are_utc_and_offsets_are_converted():
    assert timestamps.parse("2024-04-30T03:06:40.9068") == datetime(2024, 4, 30, 3, 6, 40, 906800, tzinfo=UTC)
    assert timestamps.parse("2024-04-30T05:06:40+02:00") == datetime(2024, 4, 30, 3, 6, 40, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["yesterday", "", "2024-13-01T00:00:00Z", None, 12])
def test_non_iso_times_are_refused(raw):
    with pytest.raises((ValueError, TypeError)):
        timestamps.parse(raw)


def test_sortable_form_orders_like_time_whatever_the_precision_or_offset():
    raw = [
        "2024-05-02T02:59:27Z",
        "2024-05-02T02:59:27.8657445Z",
        "2024-05-02T04:59:27.1+02:00",
        "2024-05-02T02:59:27.87",
    ]
    ordered = sorted(raw, key=timestamps.sortable)
    assert ordered == [
        "2024-05-02T02:59:27Z",
        "2024-05-02T04:59:27.1+02:00",
        "2024-05-02T02:59:27.8657445Z",
        "2024-05-02T02:59:27.87",
    ]
    assert timestamps.sortable("2024-05-02T02:59:27.8657445Z") == "2024-05-02T02:59:27.8657445Z"
