"""moto server (SQS, Secrets Manager, and DynamoDB when Java is missing) and the template's resources on it."""

from __future__ import annotations

import json
import re
import sys

import boto3
from botocore.config import Config

from local.processes import ChildServer, log
from local.settings import DUMMY_CREDENTIALS, HOST
from local.template import LocalTemplate, Physical

# werkzeug logs one line per request (the functions call constantly) and a banner meant for its own
# foreground use ("Press CTRL+C"); keep the rest, e.g. tracebacks.
_NOISE = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" \d{3} |development server|Press CTRL\+C')


def client(service: str, endpoint_url: str, region: str):
    """A boto3 client on a local endpoint, signed with the dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        **{name.lower(): value for name, value in DUMMY_CREDENTIALS.items()},  # aws_access_key_id=...
        config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2}),
    )


class MotoServer(ChildServer):
    """`python -m moto.server` on 127.0.0.1:<port>, all services in one in-memory process."""

    component = "moto"
    port_variable = "AWS_ENDPOINT_PORT"
    describe = "moto server"
    skip = _NOISE

    def command(self) -> tuple[list[str], None]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)], None

    def readiness_check(self):
        return client("sqs", self.endpoint, self.region).list_queues


def create_queues(template: LocalTemplate, aws_endpoint: str) -> dict[str, Physical]:
    """Every AWS::SQS::Queue, dead-letter queues first (a redrive policy needs its target to exist)."""
    sqs = client("sqs", aws_endpoint, template.region)
    created = {}
    for queue in template.queues():
        url = sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue.logical_id] = Physical(url, {"Arn": arn, "QueueName": queue.name, "QueueUrl": url})
        log("moto", f"queue {queue.logical_id}: {url}")
    return created


def create_tables(template: LocalTemplate, dynamodb_endpoint: str) -> dict[str, Physical]:
    """Every AWS::DynamoDB::Table, ACTIVE, with its TTL setting and stream; returns their real ids
    (the stream ARN is known only once the table exists)."""
    dynamodb = client("dynamodb", dynamodb_endpoint, template.region)
    created = {}
    for table in template.tables():
        description = dynamodb.create_table(**table.create_kwargs)["TableDescription"]
        # the waiter's own 20 s between polls is for AWS; local tables are ACTIVE at once or nearly
        dynamodb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
            )
        stream = {"StreamArn": description["LatestStreamArn"]} if description.get("LatestStreamArn") else {}
        created[table.logical_id] = Physical(table.name, {"Arn": description["TableArn"], **stream})
        view = description.get("StreamSpecification", {}).get("StreamViewType")
        log("dynamodb", f"table {table.logical_id}: {table.name}" + (f", stream {view}" if view else ""))
    return created


def create_event_buses(template: LocalTemplate, aws_endpoint: str) -> str:
    """Every AWS::Events::EventBus of the template on moto; returns the bus the stack publishes to
    (the EventBusName output: the template's own bus, or ExistingEventBusName, created if missing)."""
    events = client("events", aws_endpoint, template.region)
    target = str(template.output("EventBusName"))
    for name in dict.fromkeys([*template.event_buses(), target]):
        if name != "default":
            events.create_event_bus(Name=name)
            log("moto", f"event bus {name}")
    return target


def create_secrets(template: LocalTemplate, aws_endpoint: str, secret_value: dict) -> dict[str, Physical]:
    """Every AWS::SecretsManager::Secret, holding the local Return Helper credentials."""
    secrets = client("secretsmanager", aws_endpoint, template.region)
    created = {}
    for secret in template.secrets():
        value = json.dumps(secret_value)
        arn = secrets.create_secret(Name=secret.name, Description=secret.description, SecretString=value)["ARN"]
        created[secret.logical_id] = Physical(arn, {"Id": arn})
        log("moto", f"secret {secret.logical_id}: {arn}")
    return created
