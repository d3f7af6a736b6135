"""JSON nesting depth, counted without recursion (rh_common.domain.json_limits)."""

import json

import pytest

from rh_common.domain import json_limits


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (nested(64), False),
        (nested(65), True),
        ("[" * 50_000, True),  # unterminated: json.loads would raise RecursionError on it
        ('{"a":' * 65 + "1" + "}" * 65, True),
        ('{"a":' * 64 + "1" + "}" * 64, False),
        ("[" + "[1]," * 1000 + "1]", False),  # many brackets, two levels
        (json.dumps({"s": "[" * 100, "t": '{"[[[' * 50}), False),  # brackets inside strings are text
        (json.dumps({"s": '\\"' + "[" * 100}), False),  # an escaped quote does not end the string
        (json.dumps([["[" * 70]] * 3), False),
    ],
    ids=[
        "64",
        "65",
        "50000-unterminated",
        "65-objects",
        "64-objects",
        "wide",
        "brackets-in-strings",
        "escaped-quote",
        "strings-in-lists",
    ],
)
def test_depth_is_counted_by_brackets_outside_strings(text, deep):
    assert json_limits.too_deep(text) is deep


def test_the_answer_agrees_with_json_loads_where_it_can_parse():
    for depth in range(60, 70):
        text = nested(depth)
        assert json.loads(text) is not None
        assert json_limits.too_deep(text) is (depth > 64)
