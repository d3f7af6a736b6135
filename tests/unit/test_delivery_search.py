"""What a delivery search or a bulk replay asks for (rh_common.domain.delivery_search), and the pace of a
replay (rh_common.services.delivery_replay.Pacer)."""

from datetime import UTC, datetime

import pytest

from rh_common.domain.deliveries import Delivery
from rh_common.domain.delivery_search import DeliverySearch, parse_replay, parse_search
from rh_common.services.delivery_replay import Pacer, ReplaySettings

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
DAY_START, DAY_END = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()), int(NOW.timestamp())


def test_a_delivery_is_filed_under_its_resend_else_its_first_item_and_a_search_queries_the_same_key():
    report = Delivery("d1", b"{}", "received", inventory_ids=(7, 8), resend_id=3601)
    arrival = Delivery("d2", b"{}", "received", inventory_ids=(8, 7))
    assert (report.subject, arrival.subject, Delivery("d3", b"x", "unprocessable").subject) == (
        "resend#3601",
        "inventory#8",
        None,
    )
    assert DeliverySearch(resend_id=3601, inventory_id=7).subject == report.subject
    assert DeliverySearch(inventory_id=8).subject == arrival.subject
    assert DeliverySearch(status="accepted").subject is None


def test_a_search_window_is_epoch_seconds_of_the_arrival_and_needs_a_status_or_an_id():
    search, problems = parse_search(NOW, status="accepted", since="2026-12-01", until="2026-12-07T12:00:00Z")
    assert problems == [] and (search.since, search.until) == (DAY_START, DAY_END)
    end_of_day = parse_search(NOW, inventory_id=5, until="2026-12-01")[0]
    assert end_of_day.until == DAY_START + 86399 and end_of_day.since is None
    assert parse_search(NOW, category="rsl")[1][0].field == "status"
    assert parse_search(NOW, status="accepted", since="2026-12-08")[1][0].field == "since"  # the future


def test_a_replay_takes_a_replayable_status_and_a_since_and_ends_its_window_now():
    search, problems = parse_replay(NOW, "applyFailed", None, "2026-12-01", "2027-01-01")
    assert problems == [] and (search.since, search.until) == (DAY_START, DAY_END)
    assert parse_replay(NOW, "applyFailed", "rsl", "2026-12-01")[0].until == DAY_END
    assert DeliverySearch.from_stored(search.stored()) == search
    for status, since in (("accepted", "2026-12-01"), ("parked", "2026-12-01"), ("applyFailed", None)):
        assert parse_replay(NOW, status, None, since)[0] is None


@pytest.mark.parametrize(("rate", "workers", "page"), [(20, 2, 50), (2, 2, 10), (1, 2, 5), (1, 100, 1)])
def test_a_replay_page_is_at_most_ten_seconds_of_one_workers_share_of_the_rate(rate, workers, page):
    assert ReplaySettings(rate, workers).page_size == page


def test_the_pacer_spaces_starts_by_one_over_the_rate_across_calls():
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer, starts = Pacer(4, clock=lambda: now[0], sleep=sleep), []
    for _ in range(9):
        pacer.wait()
        starts.append(now[0])
        now[0] += 0.05  # the apply itself
    assert all(later - earlier >= 0.25 - 1e-9 for earlier, later in zip(starts, starts[1:], strict=False))
    assert starts[-1] - starts[0] == pytest.approx(2.0)  # 9 starts in 2 s: 4 a second
    now[0] += 10  # idle: the next start is not delayed
    slept.clear()
    pacer.wait()
    assert slept == []
