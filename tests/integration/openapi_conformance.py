"""Every answer the integration tests get from a documented operation is checked against /openapi.json.

`ApiClient` (conftest.py) runs each response through `DocumentConformance.check`: the status
must be documented for that operation, the body JSON and valid against that status's schema
(OpenAPI 3.1, so JSON Schema 2020-12 with the document's components). A mismatch fails the
test that made the request. Routes the document does not describe (unknown paths, /docs,
the webhook) are not checked here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from openapi_schema_validator import OAS31Validator

Operation = tuple[str, str]  # (METHOD, path template)


def operation_patterns(operations: Iterable[Operation]) -> dict[Operation, re.Pattern[str]]:
    """A full-match pattern per operation's path template ({param} = one segment)."""
    return {
        (method, template): re.compile(
            "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
        )
        for method, template in operations
    }


def find_operation(patterns: dict[Operation, re.Pattern[str]], method: str, path: str) -> Operation | None:
    # Literal paths before templated ones, as API Gateway routes them (/resends/batch before /resends/{id}).
    candidates = [op for op, pattern in patterns.items() if op[0] == method and pattern.fullmatch(path)]
    return min(candidates, key=lambda op: op[1].count("{"), default=None)


Answer = tuple[str, str, int]  # (METHOD, path template, status)


class DocumentConformance:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._document: dict | None = None
        self._patterns: dict[Operation, re.Pattern[str]] = {}
        self._lock = threading.Lock()
        self.checked: set[Answer] = set()
        _DOCUMENTS.append(self)

    def document(self) -> dict:
        with self._lock:
            if self._document is None:
                self._document = requests.get(f"{self._base_url}/openapi.json", timeout=30).json()
                operations = [(m.upper(), p) for p, ops in self._document["paths"].items() for m in ops]
                self._patterns = operation_patterns(operations)
            return self._document

    def problem(self, method: str, url: str, status: int, content_type: str, body: bytes) -> str | None:
        """Why this answer does not match the document, or None (also None for undocumented routes)."""
        document = self.document()
        operation = find_operation(self._patterns, method.upper(), urlsplit(url).path)
        if operation is None:
            return None
        responses = document["paths"][operation[1]][operation[0].lower()]["responses"]
        documented = responses.get(str(status))
        where = f"{operation[0]} {operation[1]} -> {status}"
        if documented is None:
            return f"{where}: status not documented (documented: {sorted(responses)})"
        media = documented.get("content", {}).get("application/json")
        if media is None:
            return None
        if not content_type.startswith("application/json"):
            return f"{where}: Content-Type {content_type!r}, documented application/json"
        import json

        try:
            value = json.loads(body)
        except ValueError:
            return f"{where}: body is not JSON: {body[:200]!r}"
        validator = OAS31Validator({**media["schema"], "components": document.get("components", {})})
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            return f"{where}: body does not match the documented schema: {errors[0].message} ({value})"
        with self._lock:
            self.checked.add((operation[0], operation[1], status))
        return None

    def check(self, method: str, response: requests.Response) -> None:
        problem = self.problem(
            method, response.url, response.status_code, response.headers.get("Content-Type", ""), response.content
        )
        assert problem is None, problem


# For the session's summary (tests/conftest.py): every answer checked in this process, and those
# the pytest-xdist workers checked, merged in the controller as each worker finishes.
_DOCUMENTS: list[DocumentConformance] = []
_CHECKED_BY_WORKERS: set[Answer] = set()


def checked_answers() -> set[Answer]:
    return _CHECKED_BY_WORKERS.union(*(document.checked for document in _DOCUMENTS))


def add_checked_answers(answers: Iterable[Iterable]) -> None:
    _CHECKED_BY_WORKERS.update(tuple(answer) for answer in answers)
