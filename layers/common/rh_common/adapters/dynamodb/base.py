"""Low-level DynamoDB helpers: one client per process, plain-Python <-> attribute values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, DecimalException
from functools import cache
from typing import Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def client() -> Any:
    # Created once per execution environment (cold start pays, warm calls don't);
    # boto3 honours AWS_ENDPOINT_URL_DYNAMODB, which is how the local stack points it.
    # No client-side parameter validation: DynamoDB validates every request itself (a bad one still
    # fails, as a ValidationException), and botocore's pass over every parameter of every request was
    # the largest single part of the webhook's own CPU per delivery (profiled: ~1/6 of it).
    return boto3.client(
        "dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 4}, parameter_validation=False)
    )


class TableAdapter:
    """Adapters share the process's client, created on first use (a refused webhook never pays for it)."""

    _client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client()
        return self._client


def batch_get(
    client: Any,
    keys_by_table: dict[str, list[dict[str, Any]]],
    consistent: bool,
    attributes: tuple[str, ...] = (),
) -> dict[str, list[dict]]:
    """Items by table (only `attributes` of each, when given), read in BatchGetItem requests of up to 100 keys
    over all the tables (one request for up to 100), with the unprocessed keys asked again."""
    found: dict[str, list[dict]] = {table: [] for table in keys_by_table}
    pairs = [(table, key) for table, keys in keys_by_table.items() for key in keys]
    read: dict[str, Any] = {"ConsistentRead": consistent}
    if attributes:
        read["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
        read["ExpressionAttributeNames"] = {f"#p{i}": name for i, name in enumerate(attributes)}
    for start in range(0, len(pairs), 100):
        request: dict[str, Any] = {}
        for table, key in pairs[start : start + 100]:
            request.setdefault(table, {"Keys": [], **read})["Keys"].append(key)
        while request:
            response = client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found[table] += items
            request = response.get("UnprocessedKeys") or {}
    return found


def transact_get(client: Any, keys_by_table: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict]]:
    """Items by table, read in one TransactGetItems (at most 100 keys): serializable with transactions, so it
    never sees half of a concurrent TransactWriteItems, which a BatchGetItem can (its reads are isolated one
    item at a time). Missing items are left out."""
    pairs = [(table, key) for table, keys in keys_by_table.items() for key in keys]
    if len(pairs) > 100:
        raise ValueError(f"{len(pairs)} keys: one TransactGetItems reads at most 100")
    found: dict[str, list[dict]] = {table: [] for table in keys_by_table}
    if not pairs:
        return found
    response = client.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": k}} for t, k in pairs])
    for (table, _), answer in zip(pairs, response.get("Responses", []), strict=True):
        if answer.get("Item"):
            found[table].append(answer["Item"])
    return found


# boto3's TypeSerializer / TypeDeserializer, with the plain types handled first: they try every DynamoDB
# type in turn (ABC isinstance checks, a Decimal context per number), about 1 us per attribute, and a
# resend writes and reads ~100 attribute values (profiled 2026-12-02: 6% of POST /resends' own CPU).
# The fast paths give exactly what boto3 gives for these types (tests/unit/test_dynamo_values.py
# compares them); everything else (Decimal, bytes, sets, tuples, and integers past DynamoDB's 38
# digits) goes through boto3 itself. Floats are stored as the Decimal of their shortest repr
# (`620.0`, `5.1`), which boto3 refuses to guess.
_MAX_FAST_INT = 10**38


class UnstorableValue(ValueError):
    """A value DynamoDB cannot hold (a number past its 38 digits or its exponent range, NaN,
    Infinity): the same every time, so never worth a retry."""


def to_attribute(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_MAX_FAST_INT < value < _MAX_FAST_INT:
        return {"N": str(value)}
    if kind is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        return {"M": {name: to_attribute(member) for name, member in value.items()}}
    if kind is list:
        return {"L": [to_attribute(member) for member in value]}
    if kind is float:
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():  # boto3 lets an infinite one through
        raise UnstorableValue("a number DynamoDB cannot hold (NaN or Infinity)")
    try:
        return cast(dict[str, Any], _serializer.serialize(value))  # boto3-stubs: a TypedDict; ours: a plain dict
    except DecimalException:  # boto3's context traps rounding, overflow and underflow
        raise UnstorableValue("a number DynamoDB cannot hold (over 38 digits or out of range)") from None


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in values.items()}


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The plain-Python value: numbers as int (or float when not whole), binaries as bytes, sets as sets."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N" and value.isascii() and (value.isdigit() or (value[:1] == "-" and value[1:].isdigit())):
        return int(value)
    if kind == "BOOL":
        return value
    if kind == "M":
        return {name: from_attribute(member) for name, member in value.items()}
    if kind == "L":
        return [from_attribute(member) for member in value]
    return _plain(_deserializer.deserialize(cast(Any, attribute)))  # boto3-stubs: a TypedDict; ours: a plain map


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: from_attribute(value) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), bytes):
        return bytes(value.value)  # boto3's Binary wrapper
    return value


# ------------------------------------------------------------------ writes: one home for each shape


def put_new(table: str, item: Mapping[str, Any], key: str) -> dict[str, Any]:
    """PutItem parameters (also a TransactWriteItems `Put`) that write `item` only while no item has its `key`."""
    return {"TableName": table, "Item": to_item(dict(item)), "ConditionExpression": f"attribute_not_exists({key})"}


def create(client: Any, table: str, item: Mapping[str, Any], key: str) -> bool:
    """Write `item` unless an item with its `key` is stored: False (nothing written) when one is."""
    try:
        client.put_item(**put_new(table, item, key))
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def placeholders(
    prefix: str, attributes: Mapping[str, Any], names: dict[str, str], values: dict[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """Each attribute's name placeholder (`#c0`) and its value's (`:c0`; None for a None value), added to
    `names` / `values`: any attribute name is safe in an expression, reserved words included."""
    for index, (name, value) in enumerate(attributes.items()):
        names[f"#{prefix}{index}"] = name
        if value is None:
            yield f"#{prefix}{index}", None
        else:
            values[f":{prefix}{index}"] = to_attribute(value)
            yield f"#{prefix}{index}", f":{prefix}{index}"


def assignments(
    prefix: str, changes: Mapping[str, Any], names: dict[str, str], values: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(SET clauses, REMOVE names) writing `changes`, a None value removing its attribute."""
    sets: list[str] = []
    removes: list[str] = []
    for name, value in placeholders(prefix, changes, names, values):
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = {value}")
    return sets, removes


def update_expression(sets: Sequence[str], removes: Sequence[str] = (), adds: Sequence[str] = ()) -> str:
    """`SET a = :a, b = :b REMOVE c ADD n :one`, leaving out an empty clause."""
    clauses = [(keyword, parts) for keyword, parts in (("SET", sets), ("REMOVE", removes), ("ADD", adds)) if parts]
    return " ".join(f"{keyword} {', '.join(parts)}" for keyword, parts in clauses)


# ------------------------------------------------------------------ errors


def error_code(error: BaseException) -> str | None:
    """DynamoDB's code for a refused request (`ConditionalCheckFailedException`, ...); None for any other error."""
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None


def is_condition_failure(error: BaseException) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def failed_condition_item(error: ClientError) -> Mapping[str, Any] | None:
    """The stored item a ConditionalCheckFailedException carries (ReturnValuesOnConditionCheckFailure=ALL_OLD)."""
    response: Mapping[str, Any] = error.response  # botocore-stubs' error response has no Item: DynamoDB's own
    return response.get("Item")


def cancellation_codes(error: BaseException) -> list[str]:
    """A cancelled transaction's reason per action, in action order ("None": that action was fine); [] for any
    other error."""
    if error_code(error) != "TransactionCanceledException":
        return []
    response: Mapping[str, Any] = getattr(error, "response", {})
    return [reason.get("Code") or "None" for reason in response.get("CancellationReasons") or ()]


def failed_conditions(error: ClientError) -> dict[int, Mapping[str, Any] | None] | None:
    """{action index: the stored item it carries} for the writes whose condition failed (a single write is
    action 0; the item needs ReturnValuesOnConditionCheckFailure=ALL_OLD, else None). {} for a transaction
    cancelled for other reasons only (throttling, a concurrent transaction); None for any other error."""
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return {0: failed_condition_item(error)}
    if code != "TransactionCanceledException":
        return None
    response: Mapping[str, Any] = error.response
    return {
        index: reason.get("Item")
        for index, reason in enumerate(response.get("CancellationReasons") or ())
        if reason.get("Code") == "ConditionalCheckFailed"
    }


# What a retry can cure: DynamoDB throttled, unwell or racing another transaction, and (for the
# webhook) the table or its permissions missing until an operator restores them. Anything else
# DynamoDB refuses (ValidationException above all) fails the same way every time.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
    }
)
# A cancelled transaction's per-action reasons that a retry can cure ("None": that action was fine).
RETRYABLE_CANCELLATIONS = frozenset(
    {"None", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "TransactionConflict"}
)


class WriteContention(RuntimeError):
    """Conditional writes kept losing to other writers: the next attempt may win."""


def is_retryable(error: BaseException) -> bool:
    """Whether the same DynamoDB request may succeed later: throttling, contention, a service or network fault."""
    if isinstance(error, BotocoreConnectionError | HTTPClientError | WriteContention):  # timeouts, resets
        return True
    if not isinstance(error, ClientError):
        return False
    code = error_code(error)
    if code == "TransactionCanceledException":
        return set(cancellation_codes(error)) <= RETRYABLE_CANCELLATIONS
    return code in RETRYABLE_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
