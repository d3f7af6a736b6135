"""Builds the resend service from the function environment template.yaml sets.

One place, so the HTTP API and the SQS workers run the same code path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rh_common import settings
from rh_common.adapters import credentials
from rh_common.adapters.delivery_log import DeliveryLog
from rh_common.adapters.inventory_store import InventoryStore
from rh_common.adapters.resend_listing import ResendListing
from rh_common.adapters.resend_store import ResendStore
from rh_common.adapters.retry_queue import RetryQueue
from rh_common.resend_lifecycle import Status
from rh_common.resend_tracking import ResendTracker
from rh_common.upstream import UpstreamOutcome

if TYPE_CHECKING:  # imported where used: the reconciler never pays for pydantic and pycountry, the
    # webhook and the event publisher never for requests (they call no Return Helper API)
    from rh_common.adapters.returnhelper_client import ReturnHelperClient
    from rh_common.batch_service import BatchService
    from rh_common.hold_service import HoldService
    from rh_common.ingest import WebhookIngestor
    from rh_common.inventory_sync_service import InventorySyncService
    from rh_common.quote_service import QuoteService
    from rh_common.reconciler import Reconciler
    from rh_common.resend_service import ResendService

# Observability hooks the handlers pass in (rh_common.observability makes them).
OnCall = Callable[[UpstreamOutcome], None]
OnStatus = Callable[[Status], None]

# A first request that has not answered within this long has died (Lambda's
# timeout is below it); its key stops answering 409.
_IN_FLIGHT_SECONDS = 60


def inventory_store() -> InventoryStore:
    return InventoryStore(
        settings.required("INVENTORY_TABLE"), settings.optional("INVENTORY_WAREHOUSE_INDEX") or "ByWarehouse"
    )


def eligible_handling_codes() -> frozenset[str]:
    return settings.code_set("ELIGIBLE_HANDLING_CODES", "ohd,tbc")


def returnhelper_client(on_call: OnCall | None = None) -> ReturnHelperClient:
    from rh_common.adapters.returnhelper_client import ReturnHelperClient

    secret_id = settings.required("RH_SECRET_ID")
    return ReturnHelperClient(
        settings.required("RH_API_BASE_URL"),
        lambda: credentials.load(secret_id),
        timeout_seconds=settings.integer("UPSTREAM_TIMEOUT_SECONDS", 10),
        on_call=on_call,
    )


def resend_store() -> ResendStore:
    return ResendStore(settings.required("RESEND_TABLE"), settings.required("INVENTORY_TABLE"))


def resend_listing() -> ResendListing:
    return ResendListing(settings.required("RESEND_TABLE"))


def retry_queue() -> RetryQueue:
    return RetryQueue(settings.required("RESEND_RETRY_QUEUE_URL"))


def delivery_log() -> DeliveryLog:
    return DeliveryLog(settings.required("DELIVERY_TABLE"), settings.integer("DELIVERY_RETENTION_DAYS", 30))


def webhook_ingestor(on_status: OnStatus | None = None) -> WebhookIngestor:
    from rh_common.ingest import WebhookIngestor

    inventories = inventory_store()
    return WebhookIngestor(delivery_log(), inventories, ResendTracker(resend_store(), on_status, inventories))


def release_parked(on_status: OnStatus | None = None) -> Callable[[int], int]:
    """Applies the resend reports parked under a resend id (the reconciler: the stream, the poll)."""
    from rh_common.ingest import ParkedResendUpdates

    return ParkedResendUpdates(delivery_log(), ResendTracker(resend_store(), on_status, inventory_store())).release


def reconciler(on_call: OnCall | None = None, on_status: OnStatus | None = None) -> Reconciler:
    from rh_common.reconciler import Reconciler

    resends = resend_store()
    return Reconciler(
        resends=resends,
        tracker=ResendTracker(resends, on_status, inventory_store()),
        upstream=returnhelper_client(on_call),
        retries=retry_queue(),
        pending_after_seconds=settings.integer("RECONCILE_PENDING_AFTER_SECONDS", 300),
        submitted_after_seconds=settings.integer("RECONCILE_SUBMITTED_AFTER_SECONDS", 3600),
        deliveries=webhook_ingestor(on_status),
        deliveries_after_seconds=settings.integer("RECONCILE_DELIVERIES_AFTER_SECONDS", 300),
        release_parked=release_parked(on_status),
    )


def resend_service(inventories: InventoryStore | None = None, on_call: OnCall | None = None) -> ResendService:
    from rh_common.adapters.service_type_cache import ServiceTypeCache
    from rh_common.resend_service import ResendService, ResendSettings

    inventories = inventories or inventory_store()
    client = returnhelper_client(on_call)
    return ResendService(
        resends=resend_store(),
        inventories=inventories,
        service_types=ServiceTypeCache(
            settings.required("CACHE_TABLE"),
            client.available_shipment_service_types,
            settings.integer("SERVICE_TYPE_CACHE_SECONDS", 3600),
        ),
        upstream=client,
        retries=retry_queue(),
        settings=ResendSettings(
            eligible_handling_codes=eligible_handling_codes(),
            max_items=settings.integer("RESEND_MAX_ITEMS", 5),
            retry_base_delay_seconds=settings.integer("RETRY_BASE_DELAY_SECONDS", 30),
            retry_max_attempts=settings.integer("RETRY_MAX_ATTEMPTS", 8),
            in_flight_seconds=_IN_FLIGHT_SECONDS,
        ),
    )


def inventory_sync_service(
    inventories: InventoryStore | None = None, on_call: OnCall | None = None
) -> InventorySyncService:
    from rh_common.adapters.sync_queue import SyncQueue
    from rh_common.adapters.sync_store import SyncStore
    from rh_common.inventory_sync_service import InventorySyncService, SyncSettings

    return InventorySyncService(
        syncs=SyncStore(settings.required("SYNC_TABLE")),
        queue=SyncQueue(settings.required("SYNC_QUEUE_URL")),
        inventories=inventories or inventory_store(),
        upstream=returnhelper_client(on_call),
        settings=SyncSettings(
            retry_base_delay_seconds=settings.integer("RETRY_BASE_DELAY_SECONDS", 30),
            retry_max_attempts=settings.integer("RETRY_MAX_ATTEMPTS", 8),
        ),
    )


def workflow_services(
    resends: ResendService, inventories: InventoryStore | None = None, on_call: OnCall | None = None
) -> tuple[HoldService, QuoteService, BatchService]:
    """Hold, quote and plan/batch (contract section 7), around the given resend service."""
    from rh_common.adapters.batch_store import BatchStore
    from rh_common.adapters.quote_cache import QuoteCache
    from rh_common.adapters.service_type_cache import ServiceTypeCache
    from rh_common.batch_service import BatchService, BatchSettings
    from rh_common.hold_service import HoldService
    from rh_common.quote_service import QUOTE_CACHE_SECONDS, QuoteService, QuoteSettings

    inventories = inventories or inventory_store()
    client = returnhelper_client(on_call)
    codes = eligible_handling_codes()
    max_items = settings.integer("RESEND_MAX_ITEMS", 5)
    cache_table = settings.required("CACHE_TABLE")
    holds = HoldService(inventories, client, codes)
    quotes = QuoteService(
        inventories,
        ServiceTypeCache(
            cache_table, client.available_shipment_service_types, settings.integer("SERVICE_TYPE_CACHE_SECONDS", 3600)
        ),
        client,
        QuoteCache(cache_table, QUOTE_CACHE_SECONDS),
        QuoteSettings(codes, max_items),
    )
    batches = BatchService(
        batches=BatchStore(settings.required("BATCH_TABLE")),
        inventories=inventories,
        resend_records=resend_store(),
        resends=resends,
        quotes=quotes,
        holds=holds,
        upstream=client,
        settings=BatchSettings(
            eligible_handling_codes=codes,
            max_items=max_items,
            batch_max_items=settings.integer("BATCH_MAX_ITEMS", 50),
            in_flight_seconds=_IN_FLIGHT_SECONDS,
        ),
    )
    return holds, quotes, batches
