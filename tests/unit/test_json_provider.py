"""FastJSONProvider answers exactly the bytes of Flask's stdlib provider (sort_keys off),
and takes orjson's fast path where it can."""

import dataclasses
import datetime
import decimal
import enum
import uuid

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from cloudapi.api import json_provider
from cloudapi.api.json_provider import FastJSONProvider


def _providers():
    app = Flask(__name__)
    fast, slow = FastJSONProvider(app), DefaultJSONProvider(app)
    slow.sort_keys = False
    return app, fast, slow


APP, FAST, SLOW = _providers()


def same_bytes(payload):
    with APP.app_context():
        fast, slow = FAST.response(payload), SLOW.response(payload)
    assert fast.get_data() == slow.get_data()
    assert fast.mimetype == slow.mimetype == "application/json"
    return fast.get_data()


scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_any_document_encodes_as_the_stdlib_does(doc):
    same_bytes(doc)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False) | st.floats(-1e-3, 1e-3))
def test_every_float_is_formatted_as_repr(value):
    same_bytes({"duration": value, "list": [value, 1]})


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    when: datetime.date


ODD = [
    "ünïcode", "line\u2028separator", "del\x7f", "\x00\x1f control", "\ud800",
    1e-05, 1e16, 1.5e300, -0.0, 2**64, {1: "int key"}, {None: 1, True: 2},
    datetime.datetime(2024, 5, 1, 12, 30), datetime.date(2024, 5, 1),
    uuid.UUID("6e7b7f0e-8d1a-4c3e-9a55-2f8e1c2d3b4a"), decimal.Decimal("1.10"),
    Point(1, datetime.date(2020, 1, 1)), Markup("<b>x</b>"), Level.HIGH,
    ("a", "tuple"), {"ip": "2001:db8::1e5", "a": ":1e5,"}, [[[[[[[[[[[]]]]]]]]]]],
]  # fmt: skip


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_odd_values_answer_the_same(value):
    same_bytes({"value": value, "again": [value]})


def test_a_plain_enum_is_its_value():
    """The stdlib refuses a plain Enum (a 500); orjson writes its value (module docstring)."""
    with APP.app_context():
        assert FAST.response({"color": Color.RED}).get_data() == b'{"color":"red"}\n'
        with pytest.raises(TypeError):
            SLOW.response({"color": Color.RED})


def test_what_neither_can_encode_fails_alike():
    for value in (object(), datetime.time(12, 0), {"set"}):
        with APP.app_context(), pytest.raises(TypeError):
            FAST.response({"value": value})


def test_plain_pages_take_the_fast_path():
    page = {"data": [{"id": 7, "label": "web-1", "price": {"hourly": 0.0075, "monthly": 5.0},
                      "created": "2024-05-01T12:00:00", "ipv6": "2001:db8::1e5/128",
                      "host_uuid": "6e7b7f0e-8d1a-4c3e-9a55-2f8e1c2d3b4a", "tags": [],
                      "image": None, "watchdog_enabled": True}] * 3,
            "page": 1, "pages": 1, "results": 3}  # fmt: skip
    assert json_provider.encode(page, FAST.default) == same_bytes(page)
    for odd in ("ü", 1e-05, 2**64, "\x7f"):
        assert json_provider.encode({**page, "odd": odd}, FAST.default) is None


def test_nan_and_infinities_are_null():
    """The one difference, on purpose: the stdlib's NaN is no JSON (module docstring)."""
    with APP.app_context():
        body = FAST.response({"a": float("nan"), "b": float("inf")}).get_data()
    assert body == b'{"a":null,"b":null}\n'


def test_debug_and_sorted_keys_use_the_stdlib():
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    app.debug = True
    with app.app_context():
        assert app.json.response({"b": 1, "a": 2}).get_data() == b'{\n  "b": 1,\n  "a": 2\n}\n'
        app.debug = False
        app.json.sort_keys = True
        assert app.json.response({"b": 1, "a": 2}).get_data() == b'{"a":2,"b":1}\n'


def test_the_app_installs_it(app):
    assert isinstance(app.json, FastJSONProvider) and app.json.sort_keys is False
