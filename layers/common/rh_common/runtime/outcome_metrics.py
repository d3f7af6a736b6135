"""The metric each resend outcome (`domain.results.Outcome`) is counted as.

Keyed by the outcomes themselves, so the vocabulary has one home and a metric name is written once
(a webhook delivery's outcomes, `domain.deliveries.DeliveryOutcome`, are counted by the webhook, their
only counter). Apart from rh_common.runtime.observability: only the merchant API and the resend worker
count resend outcomes, and the other functions' cold starts do not import `domain.results` for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from rh_common.domain.resend_lifecycle import Status
from rh_common.domain.results import Outcome
from rh_common.runtime.observability import RESEND_STATUS_METRICS

# The metric a person reads for each resend outcome.
RESEND_OUTCOME_METRICS: Mapping[Outcome, str] = {
    Outcome.SUBMITTED: "ResendsSubmitted",
    Outcome.PENDING: "ResendsRetried",
    Outcome.REJECTED: "ResendsRejected",
    Outcome.DEAD: "ResendsDead",
    Outcome.INVALID: "ResendsInvalid",
    Outcome.CONFLICT: "ResendsConflicted",
    Outcome.REPLAYED: "ResendsReplayed",
    Outcome.KEY_REUSED: "ResendsKeyReused",
    Outcome.IN_FLIGHT: "ResendsInFlight",
    Outcome.UNAVAILABLE: "ReturnHelperUnavailable",  # service types or cancel: upstream down, nothing cached
    Outcome.SETTLED: "ResendRetriesSkipped",
    Outcome.CANCELED: RESEND_STATUS_METRICS[Status.CANCELED],  # cancelled here or upstream: one count
    Outcome.NOT_CANCELLABLE: "ResendCancelsRefused",
    Outcome.AWAITING_APPROVAL: "ResendsAwaitingApproval",
    Outcome.APPROVED: "ResendsApproved",
    Outcome.NOT_AWAITING_APPROVAL: "ResendApprovalsRefused",
}
# Not counted: reads (API Gateway counts requests) and the steps around a resend (their calls upstream
# are counted as UpstreamCalls).
UNCOUNTED_RESEND_OUTCOMES = frozenset(
    {
        Outcome.READ,
        Outcome.NOT_FOUND,
        Outcome.HELD,
        Outcome.ALREADY_HELD,
        Outcome.NOT_HOLDABLE,
        Outcome.QUOTED,
        Outcome.PLANNED,
        Outcome.BATCHED,
        Outcome.FULFILLED,  # as a batch: what its resends became is in their own records
        Outcome.UNFILLED,
        Outcome.REGISTERED,  # an instruction, not a resend: its resend is counted when it is made
    }
)


def count_resend_outcome(metrics: Metrics, outcome: Outcome) -> None:
    name = RESEND_OUTCOME_METRICS.get(outcome)
    if name is not None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
