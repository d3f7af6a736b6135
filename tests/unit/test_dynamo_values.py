"""The adapters' attribute-value conversions give exactly what boto3's TypeSerializer / TypeDeserializer give.

`dynamo.to_attribute` and `dynamo.from_attribute` handle the plain types themselves (faster) and hand
the rest to boto3; the oracle is boto3 alone, for any value the adapters may write.
"""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from rh_common.adapters import dynamo

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
    return dynamo._plain(TypeDeserializer().deserialize(attribute))


@given(values)
def test_to_attribute_is_what_boto3_makes_of_any_value(value):
    try:
        expected = boto3_attribute(value)
    except Exception as refused:  # e.g. an integer past 38 digits: refused the same way
        with pytest.raises(type(refused)):
            dynamo.to_attribute(value)
    else:
        assert dynamo.to_attribute(value) == expected


@given(values)
def test_from_attribute_reads_back_what_boto3_reads(value):
    try:
        attribute = boto3_attribute(value)
    except Exception:
        return  # not storable at all
    assert dynamo.from_attribute(attribute) == boto3_plain(attribute)
    assert type(dynamo.from_attribute(attribute)) is type(boto3_plain(attribute))


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
    assert dynamo.from_attribute(attribute) == plain
    assert type(dynamo.from_attribute(attribute)) is type(plain)


def test_floats_and_sets_go_through_boto3():
    with pytest.raises(TypeError):  # boto3 refuses floats (Decimal only): so do the adapters
        dynamo.to_attribute(1.5)
    assert dynamo.to_attribute({1, 2}) == boto3_attribute({1, 2})
    assert dynamo.to_attribute(Binary(b"x")) == {"B": Binary(b"x")}
    assert dynamo.to_item({"id": 7, "price": Decimal("9.90")}) == {"id": {"N": "7"}, "price": {"N": "9.90"}}
