"""Resend eligibility and holdability as data: conditions an item's stored attributes must meet.

Each condition names a stored attribute (`a.b`: member `b` of the map `a`), a check, and the reason shown when
it fails. The Python predicate (`unmet`, used by the create path, quote, plan, batch, hold and the view) and
the DynamoDB listing filter (adapters/dynamodb/inventory_store) are both derived from these conditions, so the
two cannot drift (contract sections 3, 7 and 11).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

RESERVATION_ATTRIBUTE = "activeResendRequestId"


class Check(Enum):
    """What a condition asks of its attribute; an unset attribute reads as null."""

    PRESENT = "present"  # set and not null
    ABSENT = "absent"  # unset or null
    EQUALS = "equals"  # equal to the operand
    ONE_OF = "oneOf"  # one of the operand's values
    NOT_TRUE = "notTrue"  # anything but the boolean true (unset and null included)


@dataclass(frozen=True)
class Condition:
    attribute: str
    check: Check
    reason: str  # why an item failing it is left out; `{value}` and `{operand}` are filled in
    operand: Any = None
    detail: str | None = None  # the field error's wording when it says more than `reason`

    def holds(self, attributes: Mapping[str, Any]) -> bool:
        value = read(attributes, self.attribute)
        if self.check is Check.PRESENT:
            return value is not None
        if self.check is Check.ABSENT:
            return value is None
        if self.check is Check.EQUALS:
            return _same(value, self.operand)
        if self.check is Check.ONE_OF:
            return any(_same(value, allowed) for allowed in self.operand)
        return value is not True  # Check.NOT_TRUE

    def explain(self, attributes: Mapping[str, Any], detailed: bool = False) -> str:
        operand = "/".join(self.operand) if self.check is Check.ONE_OF else self.operand
        template = self.detail if detailed and self.detail else self.reason
        return template.format(value=read(attributes, self.attribute), operand=operand)


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python, not in DynamoDB (BOOL is not N): compare the types too.
    return type(value) is type(expected) and value == expected


def read(attributes: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, None when any step is unset or not a map."""
    value: Any = attributes
    for step in path.split("."):
        value = value.get(step) if isinstance(value, Mapping) else None
    return value


FRAUD_FLAG = Condition(
    "fraudFlag.isFraudulent",
    Check.NOT_TRUE,
    "fraudFlag",  # the contract's name for this exclusion (section 11)
    detail="is flagged as fraudulent by Return Helper (fraudFlag)",
)
KNOWN_WAREHOUSE = Condition("warehouseId", Check.PRESENT, "has no known warehouse yet")
HANDLING_PENDING = Condition("handlingStatusCode", Check.EQUALS, "has handling status {value}, not pending", "pending")
IN_STOCK = Condition("inStock", Check.EQUALS, "is not in stock", True)
NO_PENDING_VAS = Condition("pendingVas", Check.NOT_TRUE, "has a pending VAS request")
NO_OTHER_WORKFLOW = Condition("otherWorkflow", Check.ABSENT, "is in another workflow ({value})")
NOT_RESERVED = Condition(RESERVATION_ATTRIBUTE, Check.ABSENT, "is reserved by resend request {value}")

# POST /inventories/{id}/hold (contract section 7): checked in this order, the first unmet one answers.
HOLD_CONDITIONS: tuple[Condition, ...] = (NOT_RESERVED, NO_PENDING_VAS, HANDLING_PENDING, IN_STOCK)


def resend_conditions(eligible_handling_codes: Iterable[str]) -> tuple[Condition, ...]:
    """What an item needs to be resent, its reservation aside (NOT_RESERVED: a reserved item is a 409 conflict,
    not a validation error)."""
    allowed = tuple(sorted(eligible_handling_codes))
    handling = Condition("handlingCode", Check.ONE_OF, "has handling code {value}; a resend needs {operand}", allowed)
    return (FRAUD_FLAG, KNOWN_WAREHOUSE, handling, HANDLING_PENDING, IN_STOCK, NO_PENDING_VAS, NO_OTHER_WORKFLOW)


def unmet(conditions: Iterable[Condition], attributes: Mapping[str, Any]) -> list[Condition]:
    return [condition for condition in conditions if not condition.holds(attributes)]
