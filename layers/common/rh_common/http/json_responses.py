"""JSON answers of every API function, pydantic-free (the webhook's cold start does without it).

One body-size guard: a body over a function's limit is refused with 413 before anything reads it
(API Gateway's own cap is 10 MB); each function sets its limit (the merchant API's is in http.rest_api).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from rh_common.domain import field_errors


def json_response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=dict(headers or {}) or None
    )


def too_large(body: bytes | str, max_body_bytes: int) -> dict[str, Any] | None:
    """The 413 error body for a body over `max_body_bytes`, else None."""
    if len(body) > max_body_bytes:
        return field_errors.error_body(f"body larger than {max_body_bytes} bytes")
    return None
