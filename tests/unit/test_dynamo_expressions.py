"""base's update expressions and its reading of refused writes, the one home every table adapter uses."""

from botocore.exceptions import ClientError

from rh_common.adapters.dynamodb import base


def _refused(code: str, **answer) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "refused"}, **answer}, "TransactWriteItems")


def test_assignments_set_values_and_remove_the_none_ones_through_placeholders():
    names: dict[str, str] = {}
    values: dict = {":seen": {"S": "x"}}
    sets, removes = base.assignments("c", {"status": "SENT", "error": None, "count": 2}, names, values)
    assert base.update_expression(sets, removes) == "SET #c0 = :c0, #c2 = :c2 REMOVE #c1"
    assert names == {"#c0": "status", "#c1": "error", "#c2": "count"}
    assert values == {":seen": {"S": "x"}, ":c0": {"S": "SENT"}, ":c2": {"N": "2"}}


def test_an_update_expression_leaves_out_its_empty_clauses():
    assert base.update_expression(["a = :a"], adds=["n :one"]) == "SET a = :a ADD n :one"
    assert base.update_expression([], ["c"]) == "REMOVE c"


def test_put_new_writes_only_while_the_key_is_free():
    assert base.put_new("T", {"id": "1"}, "id") == {
        "TableName": "T",
        "Item": {"id": {"S": "1"}},
        "ConditionExpression": "attribute_not_exists(id)",
    }


def test_failed_conditions_by_action_index_with_the_stored_item():
    stored = {"id": {"S": "1"}}
    cancelled = _refused(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": stored}],
    )
    assert base.failed_conditions(cancelled) == {1: stored}
    assert base.failed_conditions(_refused("ConditionalCheckFailedException", Item=stored)) == {0: stored}
    conflict = _refused("TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}])
    assert base.failed_conditions(conflict) == {}
    assert base.cancellation_codes(conflict) == ["TransactionConflict"]
    assert base.failed_conditions(_refused("ValidationException")) is None
    assert base.cancellation_codes(_refused("ValidationException")) == []
