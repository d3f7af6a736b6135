"""Counts what a handler asked of DynamoDB and of Return Helper: a spy on the real client and
session, which still make every call."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from rh_common.adapters.dynamodb import base


class Calls:
    """Counts the DynamoDB calls of the process's one client and the HTTP calls to Return Helper."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, upstream_base: str) -> None:
        self.dynamodb: list[str] = []
        self.upstream: list[str] = []
        base.client().meta.events.register("before-call.dynamodb", self._dynamodb_call)
        send = requests.Session.send

        def counted_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            url = request.url or ""
            if url.startswith(upstream_base):
                self.upstream.append(url.split("?")[0].rsplit("/", 1)[-1])
            return send(session, request, **kwargs)

        monkeypatch.setattr(requests.Session, "send", counted_send)

    def _dynamodb_call(self, model: Any, **_: Any) -> None:
        self.dynamodb.append(model.name)

    def reset(self) -> None:
        self.dynamodb.clear()
        self.upstream.clear()
