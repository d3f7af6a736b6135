"""Why some integration tests need DynamoDB Local: races that moto server does not isolate.

    python -m bench.moto_isolation [--rounds 200] [--dynamodb moto|dynamodb-local]

Each round, 8 threads (one client each) fire the same kind of conflicting write at once,
of which DynamoDB lets exactly one succeed: a conditional PutItem of one key (the delivery
log's dedupe), a conditional UpdateItem on one item's revision (the inventory merge), and
TransactWriteItems over overlapping items (the resend reservation). Prints how many rounds
had other than exactly one winner. Against DynamoDB Local it is 0 for all three.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from local.aws_services import MotoServer, client
from local.dynamodb_local import DynamoDBLocal
from local.processes import free_ports

THREADS = 8
REGION = "us-east-1"


def _table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _race(clients: list[Any], attempt: Callable[[int, Any], None]) -> int:
    """Run attempt(n, client) in THREADS threads at once; the number that succeeded."""
    wins: list[int] = []
    barrier = threading.Barrier(len(clients))

    def run(n: int, dynamodb: Any) -> None:
        barrier.wait()
        try:
            attempt(n, dynamodb)
            wins.append(n)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
        except dynamodb.exceptions.TransactionCanceledException:
            pass

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(wins)


def probe(endpoint: str, rounds: int) -> dict[str, int]:
    setup = client("dynamodb", endpoint, REGION)
    for name in ("log", "inv", "req"):
        _table(setup, name)
    clients = [client("dynamodb", endpoint, REGION) for _ in range(THREADS)]
    broken = {"conditional PutItem": 0, "conditional UpdateItem": 0, "TransactWriteItems": 0}
    for r in range(rounds):
        put = _race(
            clients,
            lambda n, c, r=r: c.put_item(
                TableName="log",
                Item={"k": {"S": f"d{r}"}, "n": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(k)",
            ),
        )
        setup.put_item(TableName="inv", Item={"k": {"S": f"i{r}"}, "revision": {"N": "1"}})
        update = _race(
            clients,
            lambda n, c, r=r: c.update_item(
                TableName="inv",
                Key={"k": {"S": f"i{r}"}},
                UpdateExpression="SET v = :v ADD revision :one",
                ConditionExpression="revision = :seen",
                ExpressionAttributeValues={":v": {"N": str(n)}, ":one": {"N": "1"}, ":seen": {"N": "1"}},
            ),
        )
        for i in range(5):
            setup.put_item(TableName="inv", Item={"k": {"S": f"t{r}-{i}"}})

        def reserve(n: int, c: Any, r: int = r) -> None:
            items = [f"t{r}-0", f"t{r}-{1 + n % 4}"]  # every request wants item 0
            c.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": "req",
                            "Item": {"k": {"S": f"r{r}-{n}"}},
                            "ConditionExpression": "attribute_not_exists(k)",
                        }
                    },
                    *(
                        {
                            "Update": {
                                "TableName": "inv",
                                "Key": {"k": {"S": item}},
                                "UpdateExpression": "SET holder = :n",
                                "ConditionExpression": "attribute_exists(k) AND attribute_not_exists(holder)",
                                "ExpressionAttributeValues": {":n": {"N": str(n)}},
                            }
                        }
                        for item in items
                    ),
                ]
            )

        transact = _race(clients, reserve)
        for name, winners in (("conditional PutItem", put), ("conditional UpdateItem", update)):
            broken[name] += winners != 1
        broken["TransactWriteItems"] += transact != 1
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.moto_isolation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--dynamodb", choices=("moto", "dynamodb-local"), default="moto")
    args = parser.parse_args(argv)
    (port,) = free_ports(1)
    server = MotoServer(port, REGION) if args.dynamodb == "moto" else DynamoDBLocal(port, REGION)
    server.start()
    try:
        broken = probe(server.endpoint, args.rounds)
    finally:
        server.stop()
    for name, count in broken.items():
        print(f"{args.dynamodb}: {name}: {count} of {args.rounds} rounds without exactly one winner")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
