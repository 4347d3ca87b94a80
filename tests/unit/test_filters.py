"""X-Filter parsing and its in-memory evaluation."""

import json
from datetime import datetime

import pytest

from cloudapi import filters
from cloudapi.api.errors import status_of
from cloudapi.errors import Invalid

FIELDS = {"class": "str", "vcpus": "int", "tags": "list", "created": "datetime", "on": "bool"}
ROWS = [
    {"class": "standard", "vcpus": 1, "tags": ["web"], "created": datetime(2024, 1, 1), "on": True},
    {"class": "standard", "vcpus": 4, "tags": ["db", "prod"], "created": datetime(2025, 1, 1),
     "on": False},
    {"class": "dedicated", "vcpus": 8, "tags": [], "created": datetime(2026, 1, 1), "on": True},
]  # fmt: skip


def run(doc):
    flt = filters.parse(json.dumps(doc), FIELDS)
    return [r["vcpus"] for r in filters.apply(ROWS, flt, lambda r, name: r.get(name))]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, [1, 4, 8]),
        ({"class": "standard"}, [1, 4]),
        ({"class": "standard", "vcpus": 4}, [4]),
        ({"vcpus": {"+gt": 1}}, [4, 8]),
        ({"vcpus": {"+gte": 4}}, [4, 8]),
        ({"vcpus": {"+lt": 4}}, [1]),
        ({"vcpus": {"+lte": 4}}, [1, 4]),
        ({"vcpus": {"+neq": 4}}, [1, 8]),
        ({"class": {"+contains": "DEDI"}}, [8]),
        ({"tags": "prod"}, [4]),
        ({"tags": {"+contains": "we"}}, [1]),
        ({"on": False}, [4]),
        ({"created": {"+gte": "2025-01-01T00:00:00"}}, [4, 8]),
        ({"+or": [{"vcpus": 1}, {"vcpus": 8}]}, [1, 8]),
        ({"+and": [{"class": "standard"}, {"+or": [{"vcpus": 4}, {"tags": "web"}]}]}, [1, 4]),
        ({"+order_by": "vcpus", "+order": "desc"}, [8, 4, 1]),
        ({"+order_by": "class", "class": {"+neq": "x"}}, [8, 1, 4]),
    ],
)
def test_filters(doc, expected):
    assert run(doc) == expected


@pytest.mark.parametrize(
    "doc",
    [
        {"nope": 1},
        {"vcpus": "4"},
        {"vcpus": True},
        {"on": "yes"},
        {"vcpus": {"+contains": 4}},
        {"on": {"+gt": True}},
        {"vcpus": {"+gt": 1, "+lt": 9}},
        {"vcpus": {"+between": 1}},
        {"+xor": []},
        {"+or": []},
        {"+or": [1]},
        {"created": {"+gt": "yesterday"}},
        {"+order_by": "nope"},
        {"+order": "up"},
    ],
)
def test_rejected_filters(doc):
    with pytest.raises(Invalid) as caught:
        filters.parse(json.dumps(doc), FIELDS)
    assert status_of(caught.value) == 400
    assert caught.value.errors[0]["field"] == "X-Filter"


def test_deep_nesting_rejected():
    doc = {"vcpus": 1}
    for _ in range(20):
        doc = {"+and": [doc]}
    with pytest.raises(Invalid):
        filters.parse(json.dumps(doc), FIELDS)


def test_empty_header_is_no_filter():
    assert filters.parse("", FIELDS) == filters.Filter()
    assert filters.parse(None, FIELDS) == filters.Filter()


def test_filters_of_one_shape_share_one_statement_and_bind_their_own_values():
    """to_sql(bound=True): the SQL depends on the shape only; bound_values gives the values
    in the order the parameters are numbered (a +contains value as its escaped pattern)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    table = Table("t", MetaData(), Column("vcpus", Integer), Column("class", String))
    columns = {"vcpus": table.c.vcpus, "class": table.c["class"]}
    docs = [{"+or": [{"vcpus": {"+gt": n}}, {"class": {"+contains": text}}]}
            for n, text in ((1, "std"), (4, "50%_off"))]  # fmt: skip
    parsed = [filters.parse(json.dumps(d), FIELDS).where for d in docs]
    assert filters.shape(parsed[0]) == filters.shape(parsed[1])
    assert filters.shape(parsed[0]) != filters.shape(filters.parse('{"vcpus": 1}', FIELDS).where)
    sql = [str(filters.to_sql(p, columns, bound=True)) for p in parsed]
    assert sql[0] == sql[1] and ":xf_0" in sql[0] and ":xf_1" in sql[0]
    assert [filters.bound_values(p) for p in parsed] == [
        {"xf_0": 1, "xf_1": "%std%"},
        {"xf_0": 4, "xf_1": "%50\\%\\_off%"},
    ]
