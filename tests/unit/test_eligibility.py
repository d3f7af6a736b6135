"""Eligibility as data: what each test means, what an item is told, and a DynamoDB expression for every test."""

import pytest

from rh_common.adapters.dynamodb.inventory_store import eligibility_filter
from rh_common.domain import eligibility, inventory
from rh_common.domain.eligibility import Check, Condition
from rh_common.domain.inventory import InventoryRecord

ELIGIBLE = frozenset({"ohd", "tbc"})
ON_HOLD = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}


@pytest.mark.parametrize(
    ("check", "operand", "met", "unmet"),
    [
        (Check.PRESENT, None, [0, "", False, "x"], [None]),
        (Check.ABSENT, None, [None], [0, "", False, "recall"]),
        (Check.EQUALS, True, [True], [1, "true", None, False]),  # a DynamoDB BOOL is never the number 1
        (Check.ONE_OF, ("ohd", "tbc"), ["ohd", "tbc"], ["rsd", None, "OHD"]),
        (Check.NOT_TRUE, None, [None, False, 0, "true"], [True]),
    ],
)
def test_each_check_holds_for_exactly_its_values(check, operand, met, unmet):
    condition = Condition("a", check, "reason", operand)
    assert all(condition.holds({"a": value}) for value in met)
    assert not any(condition.holds({"a": value}) for value in unmet)


def test_a_dotted_attribute_reads_into_a_map_and_unset_steps_read_as_null():
    assert eligibility.read({"fraudFlag": {"isFraudulent": True}}, "fraudFlag.isFraudulent") is True
    assert eligibility.read({"fraudFlag": None}, "fraudFlag.isFraudulent") is None
    assert eligibility.read({"fraudFlag": "odd"}, "fraudFlag.isFraudulent") is None
    assert eligibility.read({}, "fraudFlag.isFraudulent") is None


def test_a_fraud_flagged_item_is_excluded_as_fraudFlag_and_told_why_in_a_field_error():
    record = InventoryRecord(1, {**ON_HOLD, "fraudFlag": {"isFraudulent": True, "reasonCode": "serialMismatch"}})
    assert inventory.ineligible_reasons(record, ELIGIBLE) == ["fraudFlag"]
    assert inventory.ineligible_reasons(record, ELIGIBLE, detailed=True) == [
        "is flagged as fraudulent by Return Helper (fraudFlag)"
    ]
    assert not inventory.is_eligible(record, ELIGIBLE)
    assert inventory.view(record, ELIGIBLE)["eligibleForResend"] is False


def test_an_item_cleared_of_fraud_or_out_of_its_workflow_is_eligible_again():
    cleared = {"fraudFlag": {"isFraudulent": False, "reasonCode": None}, "otherWorkflow": None}
    assert inventory.is_eligible(InventoryRecord(1, {**ON_HOLD, **cleared}), ELIGIBLE)


def test_reasons_say_what_is_wrong_with_the_values_in_place():
    record = InventoryRecord(
        1, {"handlingCode": "rsd", "handlingStatusCode": "completed", "otherWorkflow": "consolidation"}
    )
    assert inventory.ineligible_reasons(record, ELIGIBLE) == [
        "has no known warehouse yet",
        "has handling code rsd; a resend needs ohd/tbc",
        "has handling status completed, not pending",
        "is not in stock",
        "is in another workflow (consolidation)",
    ]


def test_the_reservation_counts_for_eligibility_but_is_not_an_ineligibility_reason():
    reserved = InventoryRecord(1, ON_HOLD, active_resend_request_id="rr-1")
    assert inventory.ineligible_reasons(reserved, ELIGIBLE) == []
    assert not inventory.is_eligible(reserved, ELIGIBLE)


@pytest.mark.parametrize("check", list(Check))
def test_the_store_has_an_expression_for_every_kind_of_check(check):
    operand = {Check.EQUALS: "pending", Check.ONE_OF: ("ohd", "tbc")}.get(check)
    expression, names, values = eligibility_filter([Condition("fraudFlag.isFraudulent", check, "r", operand)])
    assert "#e0_0.#e0_1" in expression
    assert names == {"#e0_0": "fraudFlag", "#e0_1": "isFraudulent"}
    placeholders = {token.strip("(),") for token in expression.split() if token.strip("(),").startswith(":")}
    assert placeholders == set(values)


def test_the_listing_filter_leaves_out_the_querys_key_which_dynamodb_refuses_in_a_filter():
    conditions = eligibility.resend_conditions(ELIGIBLE)
    _, names, _ = eligibility_filter(conditions, query_key="warehouseId")
    tested = {c.attribute.split(".")[0] for c in conditions} - {"warehouseId"}
    assert set(names.values()) == tested | {"isFraudulent"}  # every other condition is still filtered on
    with pytest.raises(ValueError, match="query's key"):
        eligibility_filter([Condition("warehouseId", Check.EQUALS, "r", 2)], query_key="warehouseId")
