"""The address check before a resend is sent (contract section 11).

Return Helper refuses an address it cannot ship to with `{"message": "Invalid address."}` and nothing
more: the request is then `REJECTED` and the merchant guesses which field was wrong. So `POST /resends`,
quote, batch and the automation queue hold `resendShipment` to the destination country's address rules
first (required parts, postal-code pattern) and name the field; nothing is reserved or sent for a refused
address. The rules are Google's, through the `AddressRules` port (services.ports); what is judged, and how
a verdict reads, is Return Helper's convention and lives here:

- the state is checked only for the countries whose state codes Return Helper documents (AU, CA, DE, ES,
  US) and only where the rules list states; elsewhere any value passes, `NA` ("no state", Return Helper's
  own convention) included. Asked about `NA` in Italy the rules would read it as the province of Napoli
  and hold the postal code to Naples' prefix.
- the address is judged, never rewritten: what goes upstream is what the merchant sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from rh_common.domain.field_errors import FieldError

# Lower-case ISO 3166 alpha-3, as Return Helper takes country codes.
STATE_CODE_COUNTRIES = frozenset({"aus", "can", "deu", "esp", "usa"})


class Part(StrEnum):
    """The parts of an address the rules judge, each a `resendShipment` field."""

    STREET = "shipmentStreet1"
    CITY = "shipmentCity"
    STATE = "shipmentState"
    POSTAL_CODE = "shipmentPostalCode"


COUNTRY_FIELD = "shipmentCountryCode"
# The message of the 422 whose field errors `check` gives.
REFUSED = "the address does not fit the destination country's address rules"


@dataclass(frozen=True)
class Address:
    """What the rules read of an address; a part that is None is not judged (a quote has no street)."""

    country_code: str  # ISO 3166 alpha-3
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None

    def given(self) -> dict[Part, str]:
        parts = {Part.STREET: self.street, Part.CITY: self.city, Part.STATE: self.state}
        parts[Part.POSTAL_CODE] = self.postal_code
        return {part: value for part, value in parts.items() if value is not None}


@dataclass(frozen=True)
class Verdict:
    """The country's rules on an address: the parts they require and it lacks, those whose value they refuse."""

    country_known: bool = True
    missing: frozenset[Part] = frozenset()
    invalid: frozenset[Part] = frozenset()
    postal_code_examples: tuple[str, ...] = ()


def judged(address: Address) -> Address:
    """The address as the rules are asked about it: without its state where Return Helper has no state codes."""
    if address.country_code.lower() in STATE_CODE_COUNTRIES:
        return address
    return replace(address, state=None)


def check(address: Address, judge: Callable[[Address], Verdict], prefix: str = "") -> list[FieldError]:
    """One field error per part the rules refuse (none: the address may be sent as it is). `prefix` is
    where the fields sit in the body: "resendShipment." for POST /resends and batch, "" for a quote."""
    asked = judged(address)
    verdict = judge(asked)
    country = address.country_code.upper()
    if not verdict.country_known:
        return [FieldError(prefix + COUNTRY_FIELD, f"no address rules are known for country {country}")]
    given = asked.given()
    invalid = verdict.invalid
    if not given.get(Part.POSTAL_CODE, "").isascii():
        # The rules' patterns say `\d`, which Python also matches with other scripts' digits ("０８８１７");
        # no postal system writes its codes so, and Return Helper would refuse the address.
        invalid = invalid | {Part.POSTAL_CODE}
    errors = []
    for part in Part:  # in the order of the enumeration: the same answer for the same address
        if part not in given:
            continue  # not asked about (a quote's street, a state Return Helper has no codes for)
        if part in verdict.missing:
            errors.append(FieldError(prefix + part, f"required for an address in {country}"))
        elif part in invalid:
            errors.append(FieldError(prefix + part, _invalid(part, country, Part.STATE in given, verdict)))
    return errors


def _invalid(part: Part, country: str, with_state: bool, verdict: Verdict) -> str:
    if part is Part.POSTAL_CODE:
        of_state = " (or not of the state given)" if with_state and Part.STATE not in verdict.invalid else ""
        examples = verdict.postal_code_examples[:2]
        return f"not a postal code of {country}{of_state}" + (f", e.g. {', '.join(examples)}" if examples else "")
    if part is Part.STATE:
        return f"not a state of {country} (its state code)"
    return f"not valid for an address in {country}"
