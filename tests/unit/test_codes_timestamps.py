"""Normalising at the edge: codes and ids in any upstream form, Return Helper date-times."""

from datetime import UTC, datetime

import pytest

from rh_common.domain import codes, timestamps


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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-12T09:23:08", datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)),  # 0 fraction digits, no offset
        ("2024-01-12T09:23:08.4863561Z", datetime(2024, 1, 12, 9, 23, 8, 486356, tzinfo=UTC)),  # 7 digits
        ("2022-08-09 08:54:59.8219", datetime(2022, 8, 9, 8, 54, 59, 821900, tzinfo=UTC)),  # a `…Str` field
        ("2024-01-12T09:23:08+00:00", datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)),
    ],
)
def test_the_one_grammar_reads_0_to_7_digits_t_or_space_and_z_none_or_colon_offsets(raw, expected):
    assert timestamps.parse(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2024-01-12T09:23:08.48635612Z",  # 8 fraction digits: the layer's copy took 9, the signature's 7
        "2024-01-12T09:23:08+0000",  # offset without a colon: the layer's copy took it, the signature's not
        "2024-01-12T09:23:08+24:00",
        "0001-01-01T00:00:00+01:00",  # before year 1 once moved to UTC
    ],
)
def test_forms_outside_the_grammar_are_refused_by_parse_and_sortable(raw):
    with pytest.raises(ValueError):
        timestamps.parse(raw)
    with pytest.raises(ValueError):
        timestamps.sortable(raw)


def test_the_signature_header_form_asks_for_t_where_the_str_fields_may_have_a_space():
    with pytest.raises(ValueError):
        timestamps.parse("2024-01-12 09:23:08Z", space_separator=False)
    expected = datetime(2024, 1, 12, 9, 23, 8, tzinfo=UTC)
    assert timestamps.parse("2024-01-12T09:23:08Z", space_separator=False) == expected


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
