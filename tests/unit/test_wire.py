"""cloudapi/schemas/wire.py: bounded JSON and storable text; the id converter's range."""

import re

import pytest

from cloudapi import filters
from cloudapi.api.limits import ID_MAX, digits_at_most
from cloudapi.errors import Invalid
from cloudapi.schemas import wire


@pytest.mark.parametrize(
    "raw",
    ["[" * 10_000 + "]" * 10_000, "[" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000,
     "[" * 65 + "]" * 65],
)  # fmt: skip
def test_deep_json_is_refused_before_parsing(raw):
    with pytest.raises(wire.TooDeep):
        wire.loads(raw)


def test_depth_counts_brackets_outside_strings_only():
    assert wire.loads('["' + "[" * 5000 + '"]') == ["[" * 5000]
    assert wire.loads("[" * 64 + "]" * 64) is not None
    assert wire.loads(r'{"a": "\"[[[[[["}', max_depth=1) == {"a": '"[[[[[['}


@pytest.mark.parametrize("raw", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e400", "{", "", "[1,]"])
def test_non_json_is_refused(raw):
    with pytest.raises(wire.BadJson):
        wire.loads(raw)


def test_bytes_that_are_not_utf8_become_lone_surrogates():
    doc = wire.loads(b'{"group": "a\xffb"}')
    assert wire.text_problems(doc) == [(("group",), wire.NOT_UNICODE)]


def test_text_problems_name_every_field_in_order():
    doc = {"tags": ["ok", "b\x00d", "\ud800"], "metadata": {"user_data": "\udfff"},
           "x\x00": 1, "interfaces": [{"label": "fine"}]}  # fmt: skip
    found = wire.text_problems(doc)
    assert [(wire.field_name(path), reason) for path, reason in found] == [
        ("tags[1]", wire.NUL),
        ("tags[2]", wire.NOT_UNICODE),
        ("metadata.user_data", wire.NOT_UNICODE),
        ("", wire.BAD_KEY),
    ]
    assert wire.as_errors(found)[-1] == {"reason": wire.BAD_KEY}


def test_text_problems_are_capped():
    assert len(wire.text_problems(["\x00"] * 10_000)) == wire.MAX_REPORTED


def test_text_problems_walk_any_depth_without_recursion():
    doc = node = {}
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    node["a"] = "\x00"
    assert len(wire.text_problems(doc)) == 1


@pytest.mark.parametrize(
    "flt",
    ['{"vcpus": 2147483648}', '{"vcpus": {"+lt": -2147483649}}', '{"class": "a\\u0000"}',
     '{"class": "\\ud800"}', '{"tags": {"+contains": "\\udfff"}}', "[" * 1000,
     '{"+or": [' * 30 + '{"vcpus": 1}' + "]}" * 30],
)  # fmt: skip
def test_filters_refuse_what_the_database_cannot_take(flt):
    fields = {"class": "str", "vcpus": "int", "tags": "list"}
    with pytest.raises(Invalid) as raised:
        filters.parse(flt, fields)
    assert raised.value.errors[0]["field"] == "X-Filter"


def test_filters_keep_the_32_bit_range():
    flt = filters.parse('{"vcpus": {"+lte": 2147483647}}', {"vcpus": "int"})
    assert flt.where.value == 2**31 - 1


@pytest.mark.parametrize("limit", [0, 7, 10, 99, 100, 101, 1000, 65535])
def test_digits_at_most_matches_exactly_up_to_the_limit(limit):
    regex = re.compile(digits_at_most(limit) + r"\Z")
    assert [n for n in range(limit * 3 + 20) if regex.match(str(n))] == list(range(limit + 1))


def test_the_id_regex_is_the_32_bit_range():
    regex = re.compile(digits_at_most(ID_MAX) + r"\Z")
    assert regex.match("2147483647") and regex.match("0") and regex.match("1999999999")
    assert not regex.match("2147483648") and not regex.match("9999999999")
    assert not regex.match("21474836470") and not regex.match("-1")
