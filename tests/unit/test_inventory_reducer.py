"""The per-attribute last-writer-wins reducer converges for any arrival order.

Oracle: the plain sequential meaning of the events - sort them by eventTime
(ties by delivery id) and let each overwrite the attributes it states.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from rh_common.domain import inventory, sync_windows, timestamps
from rh_common.domain.inventory import InventoryRecord

EVENT_TIMES = [f"2024-05-02T02:59:{second:02d}.{fraction}Z" for second in (1, 2, 3) for fraction in ("5", "8657445")]

facts_strategy = st.dictionaries(
    st.sampled_from(["handlingCode", "handlingStatusCode", "inStock", "sku", "warehouseId", "pendingVas"]),
    st.one_of(
        st.sampled_from(["ohd", "tbc", "rsd", "pending", "completed", "SKU-1", "SKU-2"]),
        st.booleans(),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=4,
)
event_strategy = st.tuples(st.integers(1, 3), facts_strategy, st.sampled_from(EVENT_TIMES))
events_strategy = st.lists(event_strategy, min_size=1, max_size=12).map(
    lambda events: [(f"delivery-{i}", *event) for i, event in enumerate(events)]
)


def ordered_oracle(events):
    """What applying the events one by one in eventTime order gives."""
    state: dict[int, dict] = {}
    last_time: dict[int, str] = {}
    for _delivery, inventory_id, facts, event_time in sorted(events, key=lambda e: inventory.event_version(e[3], e[0])):
        state.setdefault(inventory_id, {}).update(facts)
        last_time[inventory_id] = event_time
    return state, last_time


def fold(deliveries):
    records: dict[int, InventoryRecord] = {}
    for delivery_id, inventory_id, facts, event_time in deliveries:
        record = records.get(inventory_id, InventoryRecord(inventory_id))
        version = inventory.event_version(event_time, delivery_id)
        records[inventory_id] = inventory.apply(record, facts, version, event_time)
    return records


@settings(max_examples=300)
@given(data=st.data(), events=events_strategy)
def test_any_permutation_with_duplicates_gives_the_ordered_state(data, events):
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    arrival = data.draw(st.permutations(events + duplicates))

    records = fold(arrival)

    expected_values, expected_last = ordered_oracle(events)
    assert {i: dict(r.values) for i, r in records.items()} == expected_values
    assert {i: r.last_event_time for i, r in records.items()} == expected_last


def test_a_late_event_only_wins_the_attributes_nobody_newer_set():
    # GIVEN the item shipped at t3 and its sku was set at t1
    record = InventoryRecord(1)
    record = inventory.apply(record, {"sku": "A"}, inventory.event_version(EVENT_TIMES[0], "a"), EVENT_TIMES[0])
    record = inventory.apply(record, {"inStock": False}, inventory.event_version(EVENT_TIMES[5], "c"), EVENT_TIMES[5])
    # WHEN an arrival event from t2 comes late
    late = inventory.apply(
        record, {"inStock": True, "sku": "B"}, inventory.event_version(EVENT_TIMES[2], "b"), EVENT_TIMES[2]
    )
    # THEN it wins the sku but not the stock, and the newest event time stays t3
    assert late.values == {"sku": "B", "inStock": False}
    assert late.last_event_time == EVENT_TIMES[5]
    assert inventory.changed_attributes(record, late) == ["sku"]


def test_reapplying_the_same_delivery_changes_nothing():
    version = inventory.event_version(EVENT_TIMES[1], "same")
    once = inventory.apply(InventoryRecord(1), {"handlingCode": "ohd"}, version, EVENT_TIMES[1])
    twice = inventory.apply(once, {"handlingCode": "ohd"}, version, EVENT_TIMES[1])
    assert twice == once
    assert inventory.changed_attributes(once, twice) == []


ELIGIBLE = frozenset({"ohd", "tbc"})
BASE = {"warehouseId": 2, "handlingCode": "ohd", "handlingStatusCode": "pending", "inStock": True}


def test_an_on_hold_pending_item_in_stock_is_eligible():
    assert inventory.is_eligible(InventoryRecord(1, BASE), ELIGIBLE)
    assert inventory.view(InventoryRecord(1, BASE), ELIGIBLE)["eligibleForResend"] is True


@given(
    st.sampled_from(
        [
            {"handlingCode": "rsd"},
            {"handlingCode": "dis"},
            {"handlingStatusCode": "inProgress"},
            {"inStock": False},
            {"pendingVas": True},
            {"otherWorkflow": "recall"},
            {"warehouseId": None},
        ]
    )
)
def test_each_prerequisite_failing_makes_the_item_ineligible(change):
    assert not inventory.is_eligible(InventoryRecord(1, {**BASE, **change}), ELIGIBLE)


def test_a_reserved_item_is_not_eligible_and_the_view_says_by_whom():
    record = InventoryRecord(1, BASE, active_resend_request_id="rr-1")
    view = inventory.view(record, ELIGIBLE)
    assert view["eligibleForResend"] is False
    assert view["activeResendRequestId"] == "rr-1"


def test_the_eligible_codes_are_a_setting():
    tbc = InventoryRecord(1, {**BASE, "handlingCode": "tbc"})
    assert inventory.is_eligible(tbc, frozenset({"ohd", "tbc"}))
    assert not inventory.is_eligible(tbc, frozenset({"ohd"}))


# ------------------------------------------------------------------ webhooks and sync results together

sync_payload_strategy = st.fixed_dictionaries(
    {
        "returnInventoryId": st.integers(1, 3),
        "warehouseId": st.integers(1, 3),
        "handlingCode": st.sampled_from(["ohd", "tbc", "rsd", "dis"]),
        "handlingStatusCode": st.sampled_from(["pending", "inProgress", "completed"]),
        "sku": st.sampled_from(["SKU-1", "SKU-2"]),
        "handlingUpdatedOnStr": st.sampled_from([t.replace("T", " ").rstrip("Z") for t in EVENT_TIMES]),
        "returnRequestLineItemVasList": st.lists(st.fixed_dictionaries({"isFinished": st.booleans()}), max_size=2),
    }
)


@settings(max_examples=300)
@given(data=st.data(), events=events_strategy, reads=st.lists(sync_payload_strategy, max_size=6))
def test_any_interleaving_of_webhooks_and_sync_results_converges_to_the_newest_facts(data, events, reads):
    # A sync result is one more dated event: its facts at handlingUpdatedOnStr, versioned "…#sync".
    # Upstream's record as of one update time is one record: reads of it agree (re-runs are duplicates).
    reads = list({(r["returnInventoryId"], r["handlingUpdatedOnStr"]): r for r in reversed(reads)}.values())
    sync_events = []
    for payload in reads:
        facts, version, fact_time = sync_windows.facts_of(payload)
        sync_events.append((version.split("#", 1)[1], facts.inventory_id, dict(facts.values), fact_time))
    everything = events + sync_events
    duplicates = data.draw(st.lists(st.sampled_from(everything), max_size=len(everything)))  # re-runs of a sync
    arrival = data.draw(st.permutations(everything + duplicates))

    records = fold(arrival)

    expected_values, expected_last = ordered_oracle(everything)
    assert {i: dict(r.values) for i, r in records.items()} == expected_values
    assert {i: timestamps.sortable(r.last_event_time) for i, r in records.items()} == {
        i: timestamps.sortable(t) for i, t in expected_last.items()
    }


LOGGED = {
    "arrivalCreateOn": "2025-03-03T08:15:33.8896800Z",  # the arrival's returnInventory.createOn
    "listedCreateOn": "2025-03-03T08:15:34.0000000Z",  # ReturnInventory/list's createOn (a sync)
    "arrivalEventTime": "2025-03-03T08:15:42.1984163Z",  # the arrival event's eventTime
}


@settings(max_examples=100)
@given(sources=st.lists(st.sampled_from(sorted(LOGGED)), min_size=1, unique=True).flatmap(st.permutations))
def test_logged_at_takes_the_arrivals_create_on_then_the_lists_then_the_event_time_whatever_arrives_first(sources):
    # GIVEN some of the three sources, each from its own delivery, arriving in any order (the sync's read dated
    # before or after the arrival)
    record = InventoryRecord(1)
    for n, name in enumerate(sources):
        event_time = EVENT_TIMES[n]
        record = inventory.apply(record, {name: LOGGED[name]}, inventory.event_version(event_time, name), event_time)
    # THEN loggedAt is the best source present
    best = next(name for name in inventory.LOGGED_AT_SOURCES if name in sources)
    assert inventory.view(record, frozenset({"ohd"}))["loggedAt"] == LOGGED[best]
