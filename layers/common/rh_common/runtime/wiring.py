"""Builds every adapter and service of every function from the environment template.yaml sets.

One place, so the HTTP API and the SQS workers run the same code path, and one `Wiring`
per process: each adapter and service is built once, on first use, and shared (one
Return Helper client, one service-type cache, one store of each table). The upstream-call
metric (`observability.record_upstream_call`) and the resend statuses a tracker records (in
the function's `Metrics`) are counted wherever they happen: no collaborator is optional.

Each piece is imported where it is built: a function pays only for what it uses (the
reconciler never imports pydantic or pycountry, nor does the resend worker until a message
brings a request body; the webhook and the event publisher never import requests: they call
no Return Helper API).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from rh_common.runtime import observability, settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer

    from rh_common.adapters.dynamodb.delivery_log import DeliveryLog
    from rh_common.adapters.dynamodb.inventory_store import InventoryStore
    from rh_common.adapters.dynamodb.reference_store import ReferenceStore
    from rh_common.adapters.event_bus import EventBusPublisher
    from rh_common.adapters.sqs.dead_letters import DeadLetterQueue
    from rh_common.domain.resend_lifecycle import Status
    from rh_common.services.aging import AgingCheck
    from rh_common.services.batch_service import BatchService
    from rh_common.services.delivery_replay import DeliveryReplayService
    from rh_common.services.fulfilment_service import FulfilmentService
    from rh_common.services.hold_service import HoldService
    from rh_common.services.instruction_service import InstructionService
    from rh_common.services.inventory_references import ReferenceKeeper
    from rh_common.services.inventory_sync import InventorySyncService
    from rh_common.services.ports import (
        AddressRules,
        ResendPages,
        ResendRecords,
        RetryScheduler,
        ReturnHelper,
        ServiceTypes,
    )
    from rh_common.services.quote_service import QuoteService
    from rh_common.services.reconciler import Reconciler
    from rh_common.services.resend_service import ResendService
    from rh_common.services.resend_tracking import ResendTracker
    from rh_common.services.stock_service import StockService
    from rh_common.services.webhook_ingest import WebhookIngestor

    # The tracker's observability hook (rh_common.runtime.observability makes it).
    OnStatus = Callable[[Status], None]

# A first request that has not answered within this long has died (Lambda's
# timeout is below it); its key stops answering 409.
_IN_FLIGHT_SECONDS = 60


def eligible_handling_codes() -> frozenset[str]:
    return settings.code_set("ELIGIBLE_HANDLING_CODES")


def _upstream_timeout() -> int:
    return settings.integer("UPSTREAM_TIMEOUT_SECONDS")


_LEASE_MARGIN_SECONDS = 20


class Wiring:
    """One function's adapters and services, each built on first use and kept for the process.

    An adapter is typed as its port (rh_common.services.ports) wherever the callers need no more, so mypy
    checks the adapter against the port here; the inventory store is wider (listing, webhook writes)."""

    def __init__(self, metrics: Metrics, tracer: Tracer) -> None:
        # Given the function's Tracer, requests (the upstream client's HTTP) is patched for X-Ray where
        # that client is built: `Tracer(patch_modules=(..., "requests"))` would import requests at init,
        # on every cold start, also of the routes that never call Return Helper.
        self._tracer = tracer
        # Told each new status a tracker records (COMPLETED, FAILED, CANCELED are metrics).
        self._on_status: OnStatus = observability.resend_status_counter(metrics)

    # ------------------------------------------------------------------ adapters
    @cached_property
    def inventories(self) -> InventoryStore:
        from rh_common.adapters.dynamodb.inventory_store import InventoryStore

        return InventoryStore(settings.required("INVENTORY_TABLE"))

    @cached_property
    def references(self) -> ReferenceStore:
        """The reference table: look-ups, the rows its stream consumer keeps, the webhook's order cancellations."""
        from rh_common.adapters.dynamodb.reference_store import ReferenceStore

        return ReferenceStore(settings.required("INVENTORY_REFERENCE_TABLE"))

    @cached_property
    def reference_keeper(self) -> ReferenceKeeper:
        from rh_common.services.inventory_references import ReferenceKeeper

        return ReferenceKeeper(self.references, self.inventories, eligible_handling_codes())

    @cached_property
    def instructions(self) -> InstructionService:
        from rh_common.adapters.dynamodb.instruction_store import InstructionStore
        from rh_common.services.instruction_service import InstructionService

        store = InstructionStore(settings.required("INSTRUCTION_TABLE"))
        return InstructionService(store, lambda: self.resends, lambda: self.quotes, self.references, self.inventories)

    @cached_property
    def stock(self) -> StockService:
        from rh_common.services.stock_service import StockService

        return StockService(self.references, self.service_types)

    @cached_property
    def fulfilments(self) -> FulfilmentService:
        from rh_common.adapters.dynamodb.batch_store import BatchStore
        from rh_common.contract import item_caps
        from rh_common.services.fulfilment_service import FulfilmentService, FulfilmentSettings

        return FulfilmentService(
            records=BatchStore(settings.required("BATCH_TABLE")),
            stock=self.references,
            resend_records=self.resend_records,
            resends=self.resends,
            quotes=self.quotes,
            settings=FulfilmentSettings(max_items=item_caps.resend_max_items(), in_flight_seconds=_IN_FLIGHT_SECONDS),
        )

    @cached_property
    def upstream(self) -> ReturnHelper:
        from rh_common.adapters.returnhelper import credentials
        from rh_common.adapters.returnhelper.client import ReturnHelperClient

        self._tracer.patch(("requests",))
        secret_id = settings.required("RH_SECRET_ID")
        return ReturnHelperClient(
            settings.required("RH_API_BASE_URL"),
            lambda: credentials.load(secret_id),
            timeout_seconds=_upstream_timeout(),
            on_call=observability.record_upstream_call,
        )

    @cached_property
    def resend_records(self) -> ResendRecords:
        from rh_common.adapters.dynamodb.resend_store import ResendStore

        return ResendStore(
            settings.required("RESEND_TABLE"), settings.required("INVENTORY_TABLE"), settings.optional("CACHE_TABLE")
        )

    @cached_property
    def listing(self) -> ResendPages:
        from rh_common.adapters.dynamodb.resend_listing import ResendListing

        return ResendListing(settings.required("RESEND_TABLE"))

    @cached_property
    def retries(self) -> RetryScheduler:
        from rh_common.adapters.sqs.retry_queue import RetryQueue

        return RetryQueue(settings.required("RESEND_RETRY_QUEUE_URL"))

    @cached_property
    def automation_dead_letters(self) -> DeadLetterQueue:
        """The resend request queue's DLQ: where the worker moves a message that is not an intake shape."""
        from rh_common.adapters.sqs.dead_letters import DeadLetterQueue

        return DeadLetterQueue(settings.required("RESEND_REQUEST_DLQ_URL"))

    @cached_property
    def deliveries(self) -> DeliveryLog:
        from rh_common.adapters.dynamodb.delivery_log import DeliveryLog

        return DeliveryLog(settings.required("DELIVERY_TABLE"), settings.integer("DELIVERY_RETENTION_DAYS"))

    @cached_property
    def service_types(self) -> ServiceTypes:
        from rh_common.adapters.dynamodb.service_type_cache import ServiceTypeCache

        return ServiceTypeCache(
            settings.required("CACHE_TABLE"),
            self.upstream.available_shipment_service_types,
            settings.integer("SERVICE_TYPE_CACHE_SECONDS"),
        )

    @cached_property
    def address_rules(self) -> AddressRules:
        from rh_common.adapters.address_rules import GoogleAddressRules

        return GoogleAddressRules()

    @cached_property
    def publisher(self) -> EventBusPublisher:
        from rh_common.adapters.event_bus import EventBusPublisher

        return EventBusPublisher(settings.required("EVENT_BUS_NAME"), settings.required("POWERTOOLS_SERVICE_NAME"))

    # ------------------------------------------------------------------ the webhook path
    @cached_property
    def tracker(self) -> ResendTracker:
        from rh_common.services.resend_tracking import ResendTracker

        return ResendTracker(self.resend_records, self._on_status, self.inventories)

    @cached_property
    def ingestor(self) -> WebhookIngestor:
        from rh_common.adapters.dynamodb import base
        from rh_common.services.webhook_ingest import WebhookIngestor

        return WebhookIngestor(
            self.deliveries, self.inventories, self.tracker, self.references, retryable=base.is_retryable
        )

    @cached_property
    def release_parked(self) -> Callable[[int], int]:
        """Applies the resend reports parked under a resend id (the reconciler: the stream, the poll)."""
        from rh_common.services.webhook_ingest import ParkedResendUpdates

        return ParkedResendUpdates(self.deliveries, self.tracker).release

    @cached_property
    def reconciler(self) -> Reconciler:
        from rh_common.services.reconciler import Reconciler, ReconcileSettings

        return Reconciler(
            resends=self.resend_records,
            tracker=self.tracker,
            upstream=self.upstream,
            retries=self.retries,
            deliveries=self.ingestor,
            release_parked=self.release_parked,
            aging=self.aging,
            instructions=self.instructions,
            settings=ReconcileSettings(
                pending_after_seconds=settings.integer("RECONCILE_PENDING_AFTER_SECONDS"),
                submitted_after_seconds=settings.integer("RECONCILE_SUBMITTED_AFTER_SECONDS"),
                deliveries_after_seconds=settings.integer("RECONCILE_DELIVERIES_AFTER_SECONDS"),
                poll_max_per_run=settings.integer("RECONCILE_POLL_MAX_PER_RUN"),
                poll_backoff_max_seconds=settings.integer("RECONCILE_POLL_BACKOFF_MAX_SECONDS"),
                approval_timeout_hours=settings.integer("APPROVAL_TIMEOUT_HOURS"),
                instructions_max_per_run=settings.integer("RECONCILE_INSTRUCTIONS_MAX_PER_RUN"),
                # An upstream call started with less left could outlive the invocation.
                margin_seconds=_upstream_timeout() + 5,
            ),
        )

    @cached_property
    def aging(self) -> AgingCheck:
        from rh_common.services.aging import AgingCheck, AgingSettings

        return AgingCheck(
            self.references, self.references, self.publisher, AgingSettings(settings.integer("AGING_ALERT_DAYS"))
        )

    @cached_property
    def delivery_replays(self) -> DeliveryReplayService:
        """POST /deliveries/replay and its pages (the resend worker): the webhook's apply path, paced."""
        from rh_common.adapters.dynamodb.replay_store import ReplayStore
        from rh_common.adapters.sqs.replay_queue import ReplayQueue
        from rh_common.services.delivery_replay import DeliveryReplayService, ReplaySettings

        return DeliveryReplayService(
            deliveries=self.deliveries,
            replays=ReplayStore(settings.required("DELIVERY_REPLAY_TABLE")),
            queue=ReplayQueue(settings.required("DELIVERY_REPLAY_QUEUE_URL")),
            ingestor=self.ingestor,
            settings=ReplaySettings(
                rate_limit=settings.integer("DELIVERY_REPLAY_RATE_LIMIT"),
                workers=settings.integer("DELIVERY_REPLAY_WORKERS"),
                retention_days=settings.integer("DELIVERY_RETENTION_DAYS"),
            ),
        )

    # ------------------------------------------------------------------ the resend path
    @cached_property
    def resends(self) -> ResendService:
        from rh_common.domain import approval
        from rh_common.services.resend_service import ResendService, ResendSettings

        tuned = ResendSettings(
            eligible_handling_codes=eligible_handling_codes(),
            retry_base_delay_seconds=settings.integer("RETRY_BASE_DELAY_SECONDS"),
            retry_max_attempts=settings.integer("RETRY_MAX_ATTEMPTS"),
            in_flight_seconds=_IN_FLIGHT_SECONDS,
            approval_fee_threshold=approval.parse_threshold(settings.optional("APPROVAL_FEE_THRESHOLD")),
            # Outlasts one upstream call (its read timeout, the connect timeout, the writes around it).
            attempt_lease_seconds=_upstream_timeout() + _LEASE_MARGIN_SECONDS,
        )
        return ResendService(
            self.resend_records,
            self.inventories,
            self.service_types,
            self.upstream,
            self.retries,
            self.address_rules,
            self.holds,
            tuned,
        )

    @cached_property
    def syncs(self) -> InventorySyncService:
        from rh_common.adapters.dynamodb.sync_store import SyncStore
        from rh_common.adapters.sqs.sync_queue import SyncQueue
        from rh_common.services.inventory_sync import InventorySyncService, SyncSettings

        return InventorySyncService(
            syncs=SyncStore(settings.required("SYNC_TABLE")),
            queue=SyncQueue(settings.required("SYNC_QUEUE_URL")),
            inventories=self.inventories,
            upstream=self.upstream,
            settings=SyncSettings(
                retry_base_delay_seconds=settings.integer("RETRY_BASE_DELAY_SECONDS"),
                retry_max_attempts=settings.integer("RETRY_MAX_ATTEMPTS"),
            ),
        )

    # ------------------------------------------------------------------ around a resend (contract section 7)
    @cached_property
    def holds(self) -> HoldService:
        from rh_common.services.hold_service import HoldService

        return HoldService(self.inventories, self.upstream, eligible_handling_codes())

    @cached_property
    def quotes(self) -> QuoteService:
        from rh_common.adapters.dynamodb.quote_cache import QuoteCache
        from rh_common.services.quote_service import QUOTE_CACHE_SECONDS, QuoteService, QuoteSettings

        return QuoteService(
            self.inventories,
            self.service_types,
            self.upstream,
            QuoteCache(settings.required("CACHE_TABLE"), QUOTE_CACHE_SECONDS),
            self.address_rules,
            QuoteSettings(eligible_handling_codes()),
        )

    @cached_property
    def batches(self) -> BatchService:
        from rh_common.adapters.dynamodb.batch_store import BatchStore
        from rh_common.contract import item_caps
        from rh_common.services.batch_service import BatchService, BatchSettings

        return BatchService(
            batches=BatchStore(settings.required("BATCH_TABLE")),
            inventories=self.inventories,
            resend_records=self.resend_records,
            resends=self.resends,
            quotes=self.quotes,
            holds=self.holds,
            upstream=self.upstream,
            settings=BatchSettings(
                eligible_handling_codes=eligible_handling_codes(),
                max_items=item_caps.resend_max_items(),
                in_flight_seconds=_IN_FLIGHT_SECONDS,
            ),
        )
