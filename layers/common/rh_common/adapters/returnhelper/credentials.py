"""Return Helper credentials from the one Secrets Manager secret.

Read through Powertools parameters with a cache, so a rotated secret is picked
up within `max_age` without a deploy; listing two signing keys lets a new one
overlap the old. Every value is stripped and checked when it is read (a token
pasted with a trailing newline works; one with a newline inside is refused): a
malformed one raises `CredentialsInvalid`, whose message names the field and
never holds its value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SECRET_MAX_AGE_SECONDS = 300
# What an HTTP header carries as is: printable ASCII, no spaces (requests refuses the rest, quoting it).
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")


class CredentialsInvalid(ValueError):
    """A field of the Return Helper secret is missing or malformed (the message names the field only)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"the Return Helper secret's {field} is missing or malformed "
            "(expected printable ASCII without spaces; signing keys base64)"
        )
        self.field = field


@dataclass(frozen=True)
class ReturnHelperCredentials:
    api_key: str
    api_token: str
    signing_keys: tuple[str, ...]

    def __repr__(self) -> str:  # never print secrets by accident
        return f"ReturnHelperCredentials(signing_keys={len(self.signing_keys)})"


def load(secret_id: str) -> ReturnHelperCredentials:
    """The API key and token and the signing keys, each checked (CredentialsInvalid)."""
    secret = _secret(secret_id)
    return ReturnHelperCredentials(
        api_key=_token(secret, "apiKey"), api_token=_token(secret, "apiToken"), signing_keys=_signing_keys(secret)
    )


def signing_keys(secret_id: str) -> tuple[str, ...]:
    """Only the signing keys (the webhook): a malformed API token must not refuse every delivery."""
    return _signing_keys(_secret(secret_id))


def _secret(secret_id: str) -> Mapping[str, Any]:
    # Imported here: parameters pulls in its providers, which only this path needs.
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(secret, Mapping):
        raise CredentialsInvalid("value (not a JSON object)")
    return secret


def _token(secret: Mapping[str, Any], field: str) -> str:
    value = secret.get(field)
    value = value.strip() if isinstance(value, str) else ""
    if not _HEADER_TOKEN.fullmatch(value):
        raise CredentialsInvalid(field)
    return value


def _signing_keys(secret: Mapping[str, Any]) -> tuple[str, ...]:
    listed = secret.get("signingKeys") or []
    keys = [listed] if isinstance(listed, str) else list(listed) if isinstance(listed, list) else [listed]
    if secret.get("signingKey"):
        keys.append(secret["signingKey"])
    checked = []
    for key in keys:
        key = key.strip() if isinstance(key, str) else None
        if key == "":
            continue  # an empty entry (the template's placeholder) is no key, not a malformed one
        if key is None or not _HEADER_TOKEN.fullmatch(key) or not _base64(key):
            raise CredentialsInvalid("signingKeys")
        checked.append(key)
    return tuple(checked)


def _base64(key: str) -> bool:
    try:
        return bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        return False
