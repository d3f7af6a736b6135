"""ops.dlq: listing a dead-letter queue without its addresses, and redriving it (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.server import ThreadedMotoServer
from moto.sqs.responses import SQSResponse

from ops import dlq

REGION = "us-east-1"
PII = ("Jane Secret", "1 Hidden Lane", "5550100", "jane@example.com", "08817")
AUTOMATION = {
    "idempotencyKey": "k-automation-1",
    "request": {
        "returnInventoryIdList": [30001],
        "resendShipment": {
            "shipmentName": "Jane Secret",
            "shipmentStreet1": "1 Hidden Lane",
            "shipmentPhone": "5550100",
            "shipmentEmail": "jane@example.com",
            "shipmentPostalCode": "08817",
        },
    },
}
RETRY = {"resendRequestId": "4f1c2a1e-0000-5000-8000-000000000001"}
MOTO_HAS_MOVE_TASK = hasattr(SQSResponse, "start_message_move_task")


@pytest.fixture(autouse=True)
def no_long_polling(monkeypatch):
    """moto answers at once; an empty long poll would only slow the tests down."""
    monkeypatch.setattr(dlq, "RECEIVE_WAIT_SECONDS", 0)


@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def sqs(aws_env):
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def make_pair(client, prefix: str = "rh-test") -> tuple[str, str]:
    """A source queue whose redrive policy sends a message to its DLQ on the second receive."""
    dlq_url = client.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source_url = client.create_queue(QueueName=f"{prefix}-source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return source_url, dlq_url


def dead_letter(client, source_url: str, body: str, **attributes: str) -> None:
    """Send to the source, then let SQS's redrive policy move it to the DLQ (like a failing consumer)."""
    message_attributes = {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}
    client.send_message(QueueUrl=source_url, MessageBody=body, MessageAttributes=message_attributes)
    assert client.receive_message(QueueUrl=source_url, VisibilityTimeout=0).get("Messages")
    assert not client.receive_message(QueueUrl=source_url, VisibilityTimeout=0).get("Messages")


def drain(client, url: str) -> list[dict]:
    """Every message in the queue (received and deleted)."""
    found = []
    while True:
        messages = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found.extend(messages)


def visible(client, url: str) -> int:
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def run(argv: list[str]) -> tuple[int, str]:
    lines: list[str] = []
    code = dlq.main(argv, out=lines.append)
    return code, "\n".join(lines)


# -- list ----------------------------------------------------------------------------------------------


def test_list_shows_ids_counts_and_safe_fields_but_never_the_request(sqs):
    # GIVEN a DLQ holding an automation request (with an address), a retry and a non-JSON body
    source_url, dlq_url = make_pair(sqs)
    dead_letter(sqs, source_url, json.dumps(AUTOMATION), origin="automation")
    dead_letter(sqs, source_url, json.dumps(RETRY))
    dead_letter(sqs, source_url, "free text about Jane Secret at 1 Hidden Lane")
    # WHEN it is listed, as lines and as JSON
    code, text = run(["list", dlq_url])
    json_code, json_text = run(["list", dlq_url, "--json"])
    # THEN ids, receive counts, sent times, keys and the safe fields are shown
    assert (code, json_code) == (0, 0)
    listing = json.loads(json_text)
    assert len(listing["messages"]) == 3 and listing["sources"] == [source_url]
    for message in listing["messages"]:
        assert message["messageId"] in text
        assert message["receiveCount"] >= 2 and message["sentAt"].endswith("Z")
    assert "keys [idempotencyKey, request]  idempotencyKey=k-automation-1  attributes [origin]" in text
    assert f"keys [resendRequestId]  resendRequestId={RETRY['resendRequestId']}" in text
    assert "body not JSON" in text
    # AND nothing of the address or the request object appears, in either form
    for secret in PII:
        assert secret not in text and secret not in json_text
    assert all("request" not in message for message in listing["messages"])
    # AND listing left every message in the DLQ, visible
    assert visible(sqs, dlq_url) == 3


def test_summarize_keeps_only_top_level_keys_and_the_safe_fields():
    # GIVEN a message whose body nests personal data, and an oversized id
    message = {
        "MessageId": "m-1",
        "Body": json.dumps({**AUTOMATION, "resendRequestId": "x" * 500, "note": {"phone": "5550100"}}),
        "Attributes": {"ApproximateReceiveCount": "6", "SentTimestamp": "1700000000000"},
    }
    # WHEN it is summarized
    summary = dlq.summarize(message)
    # THEN only keys, counts, times and the (truncated) safe fields remain
    assert summary["keys"] == ["idempotencyKey", "note", "request", "resendRequestId"]
    assert (summary["receiveCount"], summary["sentAt"]) == (6, "2023-11-14T22:13:20Z")
    assert summary["resendRequestId"].endswith("...") and len(summary["resendRequestId"]) == 203
    assert not any(secret in json.dumps(summary) for secret in PII)


# -- redrive ------------------------------------------------------------------------------------------


def test_receive_and_resend_moves_messages_back_and_empties_the_dlq(sqs):
    # GIVEN two dead-lettered messages, one with a message attribute
    source_url, dlq_url = make_pair(sqs)
    dead_letter(sqs, source_url, json.dumps(AUTOMATION), origin="automation")
    dead_letter(sqs, source_url, json.dumps(RETRY))
    # WHEN the DLQ is redriven by receive-and-resend
    code, text = run(["redrive", dlq_url, "--method", "resend"])
    # THEN both bodies are back on the source queue unchanged, with their attributes, and the DLQ is empty
    assert code == 0, text
    assert "receive-and-resend: 2 moved, 0 failed, 0 skipped" in text
    back = drain(sqs, source_url)
    assert sorted(m["Body"] for m in back) == sorted([json.dumps(AUTOMATION), json.dumps(RETRY)])
    [attributed] = [m for m in back if m.get("MessageAttributes")]
    assert attributed["MessageAttributes"]["origin"]["StringValue"] == "automation"
    assert visible(sqs, dlq_url) == 0 and drain(sqs, dlq_url) == []


def test_auto_uses_a_move_task_when_available_else_falls_back(sqs):
    # GIVEN a dead-lettered message
    source_url, dlq_url = make_pair(sqs)
    dead_letter(sqs, source_url, json.dumps(RETRY))
    # WHEN the DLQ is redriven with the default method
    code, text = run(["redrive", dlq_url, "--wait"])
    # THEN moto's lack of StartMessageMoveTask is detected and receive-and-resend does the job
    assert code == 0, text
    if MOTO_HAS_MOVE_TASK:
        assert "move task started" in text
    else:
        assert "StartMessageMoveTask not available" in text and "falling back to receive-and-resend" in text
    assert [m["Body"] for m in drain(sqs, source_url)] == [json.dumps(RETRY)]
    assert visible(sqs, dlq_url) == 0


def test_redrive_to_an_explicit_queue_at_most_max(sqs):
    # GIVEN three dead-lettered messages and another queue
    source_url, dlq_url = make_pair(sqs)
    for n in range(3):
        dead_letter(sqs, source_url, json.dumps({"resendRequestId": f"r-{n}"}))
    other_url = sqs.create_queue(QueueName="rh-test-other")["QueueUrl"]
    # WHEN two are redriven to the other queue
    code, text = run(["redrive", dlq_url, "--to", other_url, "--max", "2"])
    # THEN exactly two moved there (receive-and-resend, as a move task cannot be capped); one stays
    assert code == 0, text
    assert "--max given" in text
    assert len(drain(sqs, other_url)) == 2
    assert drain(sqs, source_url) == []
    assert visible(sqs, dlq_url) == 1


class _FailingSends:
    """An SQS client whose send_message fails for bodies containing 'fail'."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def send_message(self, **kwargs):
        if "fail" in kwargs["MessageBody"]:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "SendMessage")
        return self._client.send_message(**kwargs)


def test_a_message_is_deleted_only_after_its_send_succeeded(sqs):
    # GIVEN two dead-lettered messages, and a destination that refuses one of them
    source_url, dlq_url = make_pair(sqs)
    dead_letter(sqs, source_url, json.dumps({"resendRequestId": "ok"}))
    dead_letter(sqs, source_url, json.dumps({"resendRequestId": "fail"}))
    ctx = dlq.Context(_FailingSends(sqs))
    # WHEN the DLQ is redriven
    lines: list[str] = []
    report = dlq.resend_messages(ctx, dlq_url, source_url, None, lines.append)
    # THEN the good one moved, the refused one is still in the DLQ (invisible for now), and the report says so
    assert (report.moved, report.failed, report.ok) == (1, 1, False)
    assert [json.loads(m["Body"]) for m in drain(sqs, source_url)] == [{"resendRequestId": "ok"}]
    in_flight = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert int(in_flight["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) == 1
    assert any("failed" in line and "left in the DLQ" in line for line in lines)


def test_several_sources_without_to_leave_messages_in_place(sqs):
    # GIVEN a DLQ fed by two source queues
    source_url, dlq_url = make_pair(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    sqs.create_queue(QueueName="rh-test-second", Attributes={"RedrivePolicy": policy})
    dead_letter(sqs, source_url, json.dumps(RETRY))
    # WHEN it is redriven without --to
    code, text = run(["redrive", dlq_url, "--method", "resend"])
    # THEN nothing is guessed: the message is skipped, the exit code says so, and --to is suggested
    assert code == 1
    assert "several source queues" in text and "pass --to" in text
    assert drain(sqs, source_url) == []


# -- StartMessageMoveTask -----------------------------------------------------------------------------


DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/prod-dlq"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:prod-dlq"
TO_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/prod-source"
TO_ARN = "arn:aws:sqs:us-east-1:123456789012:prod-source"


@pytest.fixture
def stubbed(aws_env):
    client = boto3.client("sqs", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_move_task_is_started_from_the_dlq_to_the_given_queue(stubbed):
    # GIVEN an endpoint that has StartMessageMoveTask
    client, stubber = stubbed
    for url, arn in ((DLQ_URL, DLQ_ARN), (TO_URL, TO_ARN)):
        stubber.add_response(
            "get_queue_attributes", {"Attributes": {"QueueArn": arn}}, {"QueueUrl": url, "AttributeNames": ["QueueArn"]}
        )
    stubber.add_response(
        "start_message_move_task", {"TaskHandle": "handle-1"}, {"SourceArn": DLQ_ARN, "DestinationArn": TO_ARN}
    )
    lines: list[str] = []
    # WHEN the DLQ is redriven with the default method
    report = dlq.redrive(dlq.Context(client), DLQ_URL, TO_URL, out=lines.append)
    # THEN one move task was started, DLQ -> destination, and its handle reported
    assert (report.method, report.task_handle) == ("move-task", "handle-1")
    assert any("handle-1" in line for line in lines)


def test_move_task_without_to_returns_messages_to_their_sources(stubbed):
    # GIVEN an endpoint that has StartMessageMoveTask
    client, stubber = stubbed
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"QueueArn": DLQ_ARN}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["QueueArn"]},
    )
    stubber.add_response("start_message_move_task", {"TaskHandle": "handle-2"}, {"SourceArn": DLQ_ARN})
    # WHEN it is redriven without --to
    report = dlq.redrive(dlq.Context(client), DLQ_URL, method="move-task", out=lambda _: None)
    # THEN no DestinationArn is sent: SQS moves each message back to its original source queue
    assert report.task_handle == "handle-2"


@pytest.mark.parametrize(
    ("code", "status", "unsupported"),
    [
        ("UnsupportedOperation", 400, True),
        ("AWS.SimpleQueueService.UnsupportedOperation", 400, True),
        ("InvalidAction", 400, True),
        ("AccessDenied", 403, False),
        ("InternalError", 500, False),  # on AWS a 500 is a real error, not a missing feature
    ],
)
def test_which_move_task_errors_mean_fall_back(stubbed, code, status, unsupported):
    # GIVEN an AWS endpoint answering StartMessageMoveTask with an error
    client, stubber = stubbed
    stubber.add_client_error("start_message_move_task", service_error_code=code, http_status_code=status)
    # WHEN a move task is started
    # THEN only "not supported" errors become a fallback; the others reach the operator
    expected = dlq.MoveTaskUnsupported if unsupported else ClientError
    with pytest.raises(expected):
        dlq.start_move_task(dlq.Context(client), DLQ_ARN, None)


# -- the local stack: stack.json, logical ids, moto server -----------------------------------------------


@pytest.fixture
def moto_server(aws_env):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_logical_ids_from_stack_json_on_the_local_endpoint(moto_server, tmp_path, monkeypatch):
    # GIVEN a local stack (moto server) whose stack.json names its queues by logical id, no credentials set
    client = boto3.client("sqs", endpoint_url=moto_server, region_name=REGION)
    source_url, dlq_url = make_pair(client, prefix="rh-local-stackjson")
    dead_letter(client, source_url, json.dumps(AUTOMATION))
    stack_json = tmp_path / "stack.json"
    stack_json.write_text(
        json.dumps(
            {
                "awsEndpoint": moto_server,
                "region": REGION,
                "queues": {"ResendRequestQueue": source_url, "ResendRequestDLQ": dlq_url},
            }
        )
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # WHEN the DLQ is listed and redriven by its logical id
    list_code, listing = run(["list", "ResendRequestDLQ", "--stack", str(stack_json)])
    redrive_code, redriven = run(["redrive", "ResendRequestDLQ", "--stack", str(stack_json)])
    # THEN the listing shows the message safely, and the moto server's missing move task falls back
    assert (list_code, redrive_code) == (0, 0), listing + redriven
    assert "idempotencyKey=k-automation-1" in listing and not any(secret in listing for secret in PII)
    assert "falling back to receive-and-resend" in redriven and "1 moved" in redriven
    assert [json.loads(m["Body"]) for m in drain(client, source_url)] == [AUTOMATION]
    assert visible(client, dlq_url) == 0


def test_unknown_logical_id_names_the_stack_queues(moto_server, tmp_path, capsys):
    # GIVEN a stack.json with known queues
    stack_json = tmp_path / "stack.json"
    queues = {"ResendRetryDLQ": f"{moto_server}/123456789012/x"}
    stack_json.write_text(json.dumps({"awsEndpoint": moto_server, "region": REGION, "queues": queues}))
    # WHEN an unknown logical id is asked for
    code, _ = run(["list", "ResendRetryDLX", "--stack", str(stack_json)])
    # THEN it is a usage error that lists the queues the stack has
    assert code == 2
    assert "ResendRetryDLQ" in capsys.readouterr().err


def test_the_redrive_allow_policy_names_the_source_when_no_queue_points_here(stubbed):
    # GIVEN a DLQ no redrive policy points to (any more) that allows one source queue (moto has no
    # RedriveAllowPolicy, so the SQS answers are stubbed)
    client, stubber = stubbed
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [TO_ARN]})
    stubber.add_response("list_dead_letter_source_queues", {"queueUrls": []}, {"QueueUrl": DLQ_URL})
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"RedriveAllowPolicy": allow}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["All"]},
    )
    stubber.add_response(
        "get_queue_url", {"QueueUrl": TO_URL}, {"QueueName": "prod-source", "QueueOwnerAWSAccountId": "123456789012"}
    )
    # WHEN the DLQ's source queues are looked up
    # THEN the allowed queue is the destination
    assert dlq.source_queues(dlq.Context(client), DLQ_URL) == [TO_URL]
