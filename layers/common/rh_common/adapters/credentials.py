"""Return Helper credentials from the one Secrets Manager secret.

Read through Powertools parameters with a cache, so a rotated secret is picked
up within `max_age` without a deploy; listing two signing keys lets a new one
overlap the old.
"""

from __future__ import annotations

from dataclasses import dataclass

SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class ReturnHelperCredentials:
    api_key: str
    api_token: str
    signing_keys: tuple[str, ...]

    def __repr__(self) -> str:  # never print secrets by accident
        return f"ReturnHelperCredentials(signing_keys={len(self.signing_keys)})"


def load(secret_id: str) -> ReturnHelperCredentials:
    # Imported here: parameters pulls in its providers, which only this path needs.
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    keys = secret.get("signingKeys") or []
    if isinstance(keys, str):
        keys = [keys]
    if secret.get("signingKey"):
        keys = [*keys, secret["signingKey"]]
    return ReturnHelperCredentials(
        api_key=str(secret.get("apiKey") or ""),
        api_token=str(secret.get("apiToken") or ""),
        signing_keys=tuple(str(key) for key in keys if key),
    )
