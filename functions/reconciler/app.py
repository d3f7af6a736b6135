"""Schedule: nothing stuck. Re-queues PENDING requests with no attempt due, polls quiet submissions."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from rh_common import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()
reconciler = wiring.reconciler()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    report = reconciler.run()
    metrics.add_metric(name="ResendsRequeued", unit=MetricUnit.Count, value=len(report.requeued))
    metrics.add_metric(name="ResendsPolled", unit=MetricUnit.Count, value=len(report.polled))
    metrics.add_metric(name="ResendsUpdatedByPoll", unit=MetricUnit.Count, value=len(report.updated))
    logger.info(
        "reconciled", extra={"requeued": report.requeued, "polled": len(report.polled), "updated": report.updated}
    )
    return {"requeued": len(report.requeued), "polled": len(report.polled), "updated": len(report.updated)}
