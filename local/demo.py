"""`make demo`: one resend told end to end against a RUNNING local stack (`make run`).

    .venv/bin/python -m local.demo [--state .local/stack.json] [--timeout 90]

Reads the stack's URLs and merchant API key from its stack.json and tells the story README
"Try it" describes: parcels arrive (signed webhooks from the emulator) and are listed as
eligible, a service type is picked, Return Helper is made to refuse createResend three times,
POST /resends answers 202 PENDING and the retry worker and the emulated warehouse take it to
COMPLETED, created once upstream; then a hold, a quote and a batch at two warehouses, created
once per group even when repeated. Exit code 0 when every step checked out, 1 with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from local.settings import stack_file

WAREHOUSE_ID = 2
OTHER_WAREHOUSE_ID = 5
DESTINATION_COUNTRY = "usa"
DEFAULT_TIMEOUT_SECONDS = 90.0
POLL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 10.0
CREATE_TIMEOUT_SECONDS = 35.0  # one inline upstream call (UPSTREAM_TIMEOUT_SECONDS) plus bookkeeping
# What Return Helper answers the first three createResend calls with.
CREATE_FAULTS = [
    {"kind": "http5xx", "status": 503},
    {"kind": "http5xx", "status": 502},
    {"kind": "http429", "retryAfter": 1},
]
# A made-up recipient: the shape CreateResend wants, nothing real.
DEMO_SHIPMENT = {
    "shipmentCountryCode": DESTINATION_COUNTRY,
    "shipmentName": "Demo Recipient",
    "shipmentPhone": "5550100",
    "shipmentEmail": "demo@example.com",
    "shipmentStreet1": "1 Demo Street",
    "shipmentStreet2": "",
    "shipmentState": "NJ",
    "shipmentCity": "Edison",
    "shipmentPostalCode": "08817",
}
# The batch's destination: both emulated warehouses ship there, each with two services.
BATCH_SHIPMENT = {
    **DEMO_SHIPMENT,
    "shipmentServiceType": "cheapest",
    "shipmentCountryCode": "gbr",
    "shipmentState": "NA",
    "shipmentCity": "London",
    "shipmentPostalCode": "SW1A 1AA",
}
# What the demo waits for after each status, and who is expected to deliver it.
NEXT_STEP = {
    "PENDING": "SUBMITTED (the SQS retry worker retrying createResend through the injected faults)",
    "SUBMITTED": "IN_PROGRESS (the emulator's updateResendStatus webhook, status 2)",
    "IN_PROGRESS": "COMPLETED (the emulator's updateResendStatus webhook with a tracking number)",
}
ORDER = ["PENDING", "SUBMITTED", "IN_PROGRESS", "COMPLETED"]
DEAD_ENDS = ("REJECTED", "DEAD", "FAILED", "CANCELED")


class DemoError(Exception):
    """A step did not turn out as the story says; the message says what and why."""


@dataclass(frozen=True)
class StackInfo:
    api: str
    api_key: str
    emulator: str | None

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            return cls(api=state["api"].rstrip("/"), api_key=state["apiKey"], emulator=state.get("emulator"))
        except FileNotFoundError:
            raise DemoError(f"{path} not found: start the local stack first (`make run` in another terminal)") from None
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise DemoError(f"{path} is not the stack's state ({exc!r}); restart `make run`") from None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _item(item: dict) -> str:
    return (
        f"    {item['returnInventoryId']}: {item['handlingCode']}/{item['handlingStatusCode']}, "
        f"in stock {item['inStock']}, eligible {item['eligibleForResend']}"
    )


class Demo:
    """The story's steps as separate methods; each returns what the next one needs."""

    def __init__(
        self, stack: StackInfo, *, out: Callable[[str], None] = print, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        if not stack.emulator:
            raise DemoError(
                "the stack runs without the Return Helper emulator (RH_API_BASE_URL is set); "
                "the demo needs the emulator to simulate arrivals, faults and warehouse progress"
            )
        self.stack = stack
        self.emulator = stack.emulator.rstrip("/")
        self.say = out
        self.http = requests.Session()
        self.timeout_seconds = timeout_seconds

    # -- HTTP helpers ------------------------------------------------------------------------------

    def api(self, method: str, path: str, expect: int | None = 200, **kwargs: Any) -> Any:
        """The merchant API's answer (JSON); with expect=None the response itself."""
        kwargs["headers"] = {"x-api-key": self.stack.api_key, **kwargs.get("headers", {})}
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        try:
            response = self.http.request(method, self.stack.api + path, **kwargs)
        except requests.RequestException as exc:
            raise DemoError(f"{method} {path}: the merchant API at {self.stack.api} is not reachable ({exc})") from None
        if expect is None:
            return response
        if response.status_code != expect:
            raise DemoError(f"{method} {path} -> {response.status_code} (expected {expect}): {_json(response)}")
        return _json(response)

    def control(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        url = f"{self.emulator}/_emulator{path}"
        try:
            response = self.http.request(method, url, json=body, params=params, timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise DemoError(f"the emulator at {self.emulator} is not reachable ({exc})") from None
        if response.status_code >= 300:
            raise DemoError(f"emulator {method} {path} -> {response.status_code}: {_json(response)}")
        return _json(response)

    def step(self, number: int, title: str) -> None:
        self.say("")
        self.say(f"[{number}] {title}")

    @staticmethod
    def until(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 10.0) -> Any:
        """read() until done(answer) or the time is up; the last answer either way."""
        deadline = time.monotonic() + seconds
        while not done(answer := read()) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        return answer

    # -- the steps ---------------------------------------------------------------------------------

    def check_ready(self) -> None:
        self.api("GET", "/health")
        self.control("GET", "/health")
        self.say(f"stack: API {self.stack.api}, Return Helper emulator {self.emulator}")

    def arrive_parcels(self, count: int = 2, warehouse_id: int = WAREHOUSE_ID) -> list[int]:
        run, ids = uuid.uuid4().hex[:6].upper(), []
        for n in range(1, count + 1):
            result = self.control("POST", "/inventories", {"warehouseId": warehouse_id, "sku": f"DEMO-{run}-{n}"})
            inventory_id, webhook = result["inventory"]["returnInventoryId"], result["webhook"] or {}
            if webhook.get("status") != 200:
                reason = webhook.get("error") or f"HTTP {webhook.get('status')}: {webhook.get('body')}"
                raise DemoError(f"the webhook for parcel {inventory_id} was not accepted by the stack ({reason})")
            self.say(
                f"    parcel {inventory_id} (sku DEMO-{run}-{n}) arrived at {warehouse_id} -> webhook answered 200"
            )
            ids.append(inventory_id)
        return ids

    def eligible(self, warehouse_id: int = WAREHOUSE_ID) -> list[dict]:
        items, token = [], None
        while True:
            params = {"warehouseId": warehouse_id, "eligible": "true", **({"nextToken": token} if token else {})}
            page = self.api("GET", "/inventories", params=params)
            items += page["items"]
            if not (token := page.get("nextToken")):
                return items

    def show_eligible(self, ids: list[int], warehouse_id: int = WAREHOUSE_ID) -> list[dict[str, Any]]:
        self.step(2, f"GET /inventories?warehouseId={warehouse_id}&eligible=true")
        items = self.until(lambda: self.eligible(warehouse_id), lambda items: set(ids) <= self._ids(items))
        if missing := sorted(set(ids) - self._ids(items)):
            raise DemoError(f"parcels {missing} are not listed as eligible (the listing has {len(items)} items)")
        ours = sorted(
            (item for item in items if item["returnInventoryId"] in ids), key=lambda i: i["returnInventoryId"]
        )
        for item in ours:
            self.say(_item(item))
        self.say(f"    ({len(items)} eligible in warehouse {warehouse_id} in all)")
        return ours

    @staticmethod
    def _ids(items: list[dict]) -> set[int]:
        return {item["returnInventoryId"] for item in items}

    def pick_service_type(self, warehouse_id: int = WAREHOUSE_ID, country: str = DESTINATION_COUNTRY) -> str:
        self.step(3, f"GET /service-types?warehouseId={warehouse_id}: a shipment service that ships to {country!r}")
        types = self.api("GET", "/service-types", params={"warehouseId": warehouse_id})["items"]
        for entry in types:
            if country in {pair.get("toCountryCode", "").lower() for pair in entry.get("countryCodePairList") or []}:
                self.say(f"    {len(types)} service types; picked {entry['serviceTypeCode']} ({entry['serviceType']})")
                return entry["serviceTypeCode"]
        raise DemoError(f"no service type of warehouse {warehouse_id} ships to {country!r}: {types}")

    def inject_faults(self) -> dict[str, Any]:
        self.step(4, "Return Helper will refuse the next createResend calls: 503, 502, then 429 (Retry-After 1)")
        self.control("DELETE", "/faults", params={"operation": "createResend"})
        self.control("POST", "/faults", {"operation": "createResend", "faults": CREATE_FAULTS})
        config = self.control("GET", "/config")
        if not config.get("autoProgress") or config.get("outcome") != "completed":
            config = self.control("POST", "/config", {"autoProgress": True, "outcome": "completed"})
            self.say("    (turned the emulator's auto-progress on)")
        self.say(
            f"    the emulated warehouse starts {config['inProgressAfterSeconds']:g} s after acceptance "
            f"and ships {config['completeAfterSeconds']:g} s later"
        )
        return config

    def create_resend(self, ids: list[int], service_type: str) -> tuple[str, str]:
        key = f"demo-{uuid.uuid4()}"
        self.step(5, f"POST /resends for {ids} with Idempotency-Key {key}")
        body = {
            "returnInventoryIdList": ids,
            "description": "make demo",
            "remarks": "",
            "resendShipment": {"shipmentServiceType": service_type, **DEMO_SHIPMENT},
        }
        headers, timeout = {"Idempotency-Key": key}, CREATE_TIMEOUT_SECONDS
        response = self.api("POST", "/resends", None, json=body, headers=headers, timeout=timeout)
        answer = _json(response)
        if response.status_code == 201:
            raise DemoError(
                f"201 {answer.get('status')}: Return Helper accepted the first call, so the injected faults were not "
                "used (is another client consuming the emulator's createResend faults?)"
            )
        if response.status_code != 202 or not isinstance(answer, dict) or answer.get("status") != "PENDING":
            raise DemoError(f"expected 202 PENDING, got {response.status_code}: {answer}")
        self.say(f"    202 {answer['status']}, resendRequestId {answer['resendRequestId']} (the inline call got a 503)")
        return answer["resendRequestId"], key

    def follow(self, request_id: str) -> dict[str, Any]:
        self.step(6, f"GET /resends/{request_id} until COMPLETED (timeout {self.timeout_seconds:g} s)")
        started, last = time.monotonic(), None
        while True:
            view = self.api("GET", f"/resends/{request_id}")
            status = view.get("status")
            seen = (status, view.get("attempts"), view.get("trackingNumber"))
            if seen != last:
                self.say(f"    +{time.monotonic() - started:5.1f} s  {self._describe(view)}")
                if last and status in ORDER and last[0] in ORDER and ORDER.index(status) < ORDER.index(last[0]):
                    raise DemoError(f"the status moved backwards from {last[0]} to {status}")
                last = seen
            if status in DEAD_ENDS:
                raise DemoError(f"the resend ended {status}: {json.dumps(view.get('lastError'))}")
            if status == "COMPLETED" and view.get("trackingNumber"):
                return view
            if time.monotonic() - started > self.timeout_seconds:
                raise DemoError(
                    f"timed out after {self.timeout_seconds:g} s: the resend is still {status} after "
                    f"{view.get('attempts')} attempt(s); was waiting for "
                    + NEXT_STEP.get(status, "a tracking number with COMPLETED")
                )
            time.sleep(POLL_SECONDS)

    @staticmethod
    def _describe(view: dict[str, Any]) -> str:
        line = f"{view.get('status')}, attempts {view.get('attempts')}"
        if view.get("resendNumber"):
            line += f", Return Helper {view['resendNumber']}"
        if view.get("trackingNumber"):
            line += f", tracking {view['trackingNumber']}"
        error = view.get("lastError")
        if view.get("status") == "PENDING" and isinstance(error, dict):
            line += f" (last error: {error.get('detail') or error.get('errorCode') or json.dumps(error)})"
        return line

    def check_upstream_once(self, key: str) -> None:
        """Return Helper saw several calls with the key, and created exactly one resend from them."""
        state = self.control("GET", "/state")
        calls = state.get("createResendCalls", {}).get(key, 0)
        created = state.get("createdPerIdempotencyKey", {}).get(key, 0)
        self.say(f"    Return Helper saw {calls} createResend calls with the key and created {created} resend")
        if created != 1:
            raise DemoError(f"Return Helper created {created} resends for one request (expected exactly 1)")

    def check_shipped(self, ids: list[int]) -> list[dict[str, Any]]:
        self.step(7, "GET /inventories/{id}: the items were resent")

        def shipped(items: list[dict]) -> bool:
            return all(
                i["handlingCode"] == "rsd" and i["handlingStatusCode"] == "completed" for i in items
            ) and not any(i["inStock"] for i in items)

        items = self.until(lambda: [self.api("GET", f"/inventories/{inventory_id}") for inventory_id in ids], shipped)
        for item in items:
            self.say(_item(item))
        if not shipped(items):
            raise DemoError("the items should read rsd/completed and not in stock after COMPLETED")
        return items

    def hold(self, warehouse_id: int = WAREHOUSE_ID) -> int:
        self.step(8, "a parcel arrives tbc; POST /inventories/{id}/hold puts it on hold (ohd)")
        [inventory_id] = self.arrive_parcels(1, warehouse_id)
        before = self.api("GET", f"/inventories/{inventory_id}")
        view = self.api("POST", f"/inventories/{inventory_id}/hold")
        self.say(
            f"    {inventory_id}: {before['handlingCode']}/{before['handlingStatusCode']} -> "
            f"{view['handlingCode']}/{view['handlingStatusCode']}, eligible {view['eligibleForResend']}"
        )
        if view["handlingCode"] != "ohd":
            raise DemoError(f"the hold answered {view['handlingCode']}, expected ohd")
        return inventory_id

    def quote(self, inventory_id: int) -> dict[str, Any]:
        country, postal_code = BATCH_SHIPMENT["shipmentCountryCode"], BATCH_SHIPMENT["shipmentPostalCode"]
        self.step(9, f"POST /resends/quote for [{inventory_id}] to {country}")
        body = {
            "returnInventoryIdList": [inventory_id],
            "shipmentCountryCode": country,
            "shipmentPostalCode": postal_code,
        }
        quote = self.api("POST", "/resends/quote", json=body)
        for item in quote["items"]:
            self.say(
                f"    {item['fee']:7.2f} {item['currencyCode']}  {item['serviceTypeCode']} ({item['serviceTypeName']})"
            )
        if any(item["serviceTypeCode"].startswith("RETURN_") for item in quote["items"]):
            raise DemoError("the quote offered a return service type")
        self.say(f"    cheapest: {quote['cheapestServiceTypeCode']}")
        return quote

    def batch(self, held: int) -> dict[str, Any]:
        self.step(10, "POST /resends/batch: parcels at warehouses 2 and 5, holdFirst, the cheapest service per group")
        ids = [held, *self.arrive_parcels(2, WAREHOUSE_ID), *self.arrive_parcels(1, OTHER_WAREHOUSE_ID)]
        key = f"demo-batch-{uuid.uuid4()}"
        request = {
            "json": {"returnInventoryIdList": ids, "holdFirst": True, "resendShipment": BATCH_SHIPMENT},
            "headers": {"Idempotency-Key": key},
            "timeout": CREATE_TIMEOUT_SECONDS,
        }
        result = self.api("POST", "/resends/batch", **request)
        for entry in result["resends"]:
            self.say(
                f"    warehouse {entry['warehouseId']}: {entry['returnInventoryIdList']} -> {entry['status']} "
                f"via {entry['shipmentServiceType']} (resendRequestId {entry['resendRequestId']})"
            )
        for excluded in result["excluded"]:
            self.say(f"    left out {excluded['returnInventoryId']}: {excluded['reason']}")
        again = self.api("POST", "/resends/batch", **request)
        same = [e["resendRequestId"] for e in again["resends"]] == [e["resendRequestId"] for e in result["resends"]]
        calls = self.control("GET", "/state").get("createResendCalls", {})
        per_group = {k: v for k, v in calls.items() if k.startswith(key + "#")}
        self.say(f"    the same call again: same resends {same}; createResend calls per group {per_group}")
        if not same or len(per_group) != len(result["resends"]) or set(per_group.values()) != {1}:
            raise DemoError("a repeated batch must answer the same groups and create each once upstream")
        if {e["status"] for e in result["resends"]} != {"SUBMITTED"}:
            raise DemoError(f"every group should be SUBMITTED: {result['resends']}")
        return result

    def run(self) -> None:
        self.check_ready()
        self.step(1, f"2 parcels arrive at warehouse {WAREHOUSE_ID} (signed newInventoryCreated webhooks)")
        ids = self.arrive_parcels()
        self.show_eligible(ids)
        service_type = self.pick_service_type()
        self.inject_faults()
        request_id, key = self.create_resend(ids, service_type)
        view = self.follow(request_id)
        self.check_upstream_once(key)
        self.check_shipped(ids)
        held = self.hold()
        self.quote(held)
        batch = self.batch(held)
        self.say("")
        self.say(f"done: resend {request_id} COMPLETED, tracking number {view['trackingNumber']}")
        self.say(f"      batch {batch['batchKey']}: {len(batch['resends'])} resends, each created once")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=None, help="stack.json of the running stack")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait for COMPLETED")
    args = parser.parse_args(argv)
    try:
        stack = StackInfo.load(args.state or stack_file())
        Demo(stack, out=lambda line: print(line, flush=True), timeout_seconds=args.timeout).run()
    except DemoError as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    except (KeyError, TypeError, AttributeError) as exc:
        print(f"\nDEMO FAILED: a response did not have the contract's shape ({exc!r})", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
