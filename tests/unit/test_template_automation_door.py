"""One door for automation (contract section 10), as template.yaml wires it: the worker is told which
queues only this system writes to (their ARNs, compared with each record's eventSourceARN) and may send
to the automation queue's own DLQ, where it moves every message that is not an intake shape."""

import pytest

from local.template import LocalTemplate


@pytest.fixture(scope="module")
def worker() -> dict:
    return LocalTemplate.load().document["Resources"]["ResendWorkerFunction"]["Properties"]


def test_the_system_queue_arns_are_those_of_the_worker_s_own_retry_and_sync_sources(worker):
    events = worker["Events"]
    env = worker["Environment"]["Variables"]
    assert env["RESEND_RETRY_QUEUE_ARN"] == events["Retries"]["Properties"]["Queue"]
    assert env["SYNC_QUEUE_ARN"] == events["InventorySyncPages"]["Properties"]["Queue"]
    automation = events["AutomationRequests"]["Properties"]["Queue"]
    assert automation not in (env["RESEND_RETRY_QUEUE_ARN"], env["SYNC_QUEUE_ARN"])


def test_the_worker_moves_refused_messages_to_the_automation_queue_s_own_dlq_and_may_send_there():
    template = LocalTemplate.load()
    resources = template.document["Resources"]
    worker = resources["ResendWorkerFunction"]["Properties"]
    automation = worker["Events"]["AutomationRequests"]["Properties"]["Queue"]["Fn::GetAtt"][0]
    dlq = resources[automation]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert worker["Environment"]["Variables"]["RESEND_REQUEST_DLQ_URL"] == {"Ref": dlq}
    sends = [p["SQSSendMessagePolicy"]["QueueName"] for p in worker["Policies"] if "SQSSendMessagePolicy" in p]
    assert {"Fn::GetAtt": [dlq, "QueueName"]} in sends
