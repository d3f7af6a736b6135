"""The adapters' attribute-value conversions give exactly what boto3's TypeSerializer / TypeDeserializer give.

`base.to_attribute` and `base.from_attribute` handle the plain types themselves (faster) and hand
the rest to boto3; the oracle is boto3 alone, for any value the adapters may write.
"""

from decimal import Decimal, DecimalException

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from rh_common.adapters.dynamodb import base

scalars = st.one_of(
    st.text(max_size=20),
    st.integers(),  # past 38 digits boto3 refuses them, and so must we
    st.integers(-(10**40), 10**40),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
        st.tuples(children, children),
    ),
    max_leaves=12,
)


def boto3_attribute(value):
    return TypeSerializer().serialize(value)


def boto3_plain(attribute):
    return base._plain(TypeDeserializer().deserialize(attribute))


@given(values)
def test_to_attribute_is_what_boto3_makes_of_any_value(value):
    try:
        expected = boto3_attribute(value)
    except DecimalException:  # e.g. an integer past 38 digits: refused as a value DynamoDB cannot hold
        with pytest.raises(base.UnstorableValue):
            base.to_attribute(value)
    except Exception as refused:
        with pytest.raises(type(refused)):
            base.to_attribute(value)
    else:
        assert base.to_attribute(value) == expected


@given(values)
def test_from_attribute_reads_back_what_boto3_reads(value):
    try:
        attribute = boto3_attribute(value)
    except Exception:
        return  # not storable at all
    assert base.from_attribute(attribute) == boto3_plain(attribute)
    assert type(base.from_attribute(attribute)) is type(boto3_plain(attribute))


@pytest.mark.parametrize(
    "attribute, plain",
    [
        ({"N": "12"}, 12),
        ({"N": "-7"}, -7),
        ({"N": "1.50"}, 1.5),
        ({"N": "2.0"}, 2),
        ({"N": "1E+2"}, 100),
        ({"B": b"\x00body"}, b"\x00body"),
        ({"NS": ["1", "2.5"]}, {1, 2.5}),
        ({"SS": ["a", "b"]}, {"a", "b"}),
        ({"NULL": True}, None),
        ({"M": {"n": {"N": "3"}, "l": {"L": [{"S": "x"}, {"BOOL": False}]}}}, {"n": 3, "l": ["x", False]}),
    ],
)
def test_from_attribute_gives_plain_python(attribute, plain):
    assert base.from_attribute(attribute) == plain
    assert type(base.from_attribute(attribute)) is type(plain)


def test_floats_are_stored_as_written_and_sets_go_through_boto3():
    # boto3 refuses floats (Decimal only); the adapters store the number the float prints as
    assert base.to_attribute(1.5) == {"N": "1.5"}
    assert base.to_attribute(620.0) == {"N": "620.0"}
    assert base.to_attribute(5.1) == {"N": "5.1"}  # not 5.0999999999999996447...
    assert base.to_attribute({"weight": 0.1}) == {"M": {"weight": {"N": "0.1"}}}
    assert base.to_attribute({1, 2}) == boto3_attribute({1, 2})
    assert base.to_attribute(Binary(b"x")) == {"B": Binary(b"x")}
    assert base.to_item({"id": 7, "price": Decimal("9.90")}) == {"id": {"N": "7"}, "price": {"N": "9.90"}}


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+400"),
        Decimal("1E-400"),
        Decimal("1.23456789012345678901234567890123456789"),  # 39 significant digits
        10**40,
        Decimal("NaN"),
        Decimal("Infinity"),
        float("nan"),
        float("-inf"),
        1e300,  # a float past DynamoDB's exponent range (1E+125)
    ],
)
def test_a_number_dynamodb_cannot_hold_is_refused_as_unstorable_never_a_crash(value):
    with pytest.raises(base.UnstorableValue) as refused:
        base.to_attribute({"nested": [value]})
    assert isinstance(refused.value, ValueError) and "number" in str(refused.value)
