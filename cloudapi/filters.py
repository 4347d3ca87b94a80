"""Linode's X-Filter: parsed once into a small tree, then compiled to SQL or a predicate.

Only the fields a resource declares filterable are accepted; anything else is a
400. Values are checked against each field's kind, so no client text ever reaches
SQL except as a bound parameter, and no value the database cannot hold reaches it at
all: integers stay within the INTEGER columns' 32-bit range, text has no NUL and no lone
surrogate, and the JSON itself is depth-bounded before it is parsed (a header of
`[[[...` once raised RecursionError, a 500).
"""

import itertools
from dataclasses import dataclass
from datetime import datetime

from cloudapi.errors import Invalid
from cloudapi.schemas import wire

COMPARISONS = ("+gt", "+gte", "+lt", "+lte", "+neq", "+contains")
ORDERED_KINDS = ("int", "float", "str", "datetime")
MAX_DEPTH = 8
# +and/+or levels (MAX_DEPTH) each take two JSON levels, a field's operator one more.
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 4
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
TEXT_KINDS = ("str", "list", "datetime")


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str  # "eq" or one of COMPARISONS without the "+"
    value: object


@dataclass(frozen=True)
class Combine:
    op: str  # "and" | "or"
    items: tuple


@dataclass(frozen=True)
class Filter:
    where: Cmp | Combine | None = None
    order_by: str | None = None
    order: str = "asc"


def _error(reason):
    return Invalid.field("X-Filter", reason)


def parse(raw, fields):
    """Parse an X-Filter header value against `fields` ({name: kind})."""
    if raw is None or raw.strip() == "":
        return Filter()
    try:
        doc = wire.loads(raw, max_depth=MAX_JSON_DEPTH)
    except wire.TooDeep:
        raise _error("X-Filter is nested too deeply") from None
    except wire.BadJson:
        raise _error("X-Filter is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _error("X-Filter must be a JSON object")
    doc = dict(doc)
    order_by = doc.pop("+order_by", None)
    order = doc.pop("+order", "asc")
    if order_by is not None and (not isinstance(order_by, str) or order_by not in fields):
        raise _error(f"Cannot order by {order_by}")
    if order not in ("asc", "desc"):
        raise _error("+order must be 'asc' or 'desc'")
    return Filter(_parse_object(doc, fields, 0), order_by, order)


def _parse_object(doc, fields, depth):
    if depth > MAX_DEPTH:
        raise _error("X-Filter is nested too deeply")
    if not isinstance(doc, dict):
        raise _error("Each filter must be a JSON object")
    items = []
    for key, value in doc.items():
        if key in ("+and", "+or"):
            if not isinstance(value, list) or not value:
                raise _error(f"{key} must be a non-empty list")
            parts = tuple(_parse_object(v, fields, depth + 1) for v in value)
            items.append(Combine(key[1:], tuple(p for p in parts if p is not None)))
        elif key.startswith("+"):
            raise _error(f"Unknown filter operator {key}")
        elif key not in fields:
            raise _error(f"Cannot filter on {key}")
        else:
            items.append(_parse_field(key, value, fields[key]))
    if not items:
        return None
    return items[0] if len(items) == 1 else Combine("and", tuple(items))


def _parse_field(name, value, kind):
    if isinstance(value, dict):
        if len(value) != 1:
            raise _error(f"Filter on {name} must have exactly one operator")
        ((op, operand),) = value.items()
        if op not in COMPARISONS:
            raise _error(f"Unknown filter operator {op}")
        if op == "+contains" and kind not in ("str", "list"):
            raise _error(f"+contains is not supported on {name}")
        if op in ("+gt", "+gte", "+lt", "+lte") and kind not in ORDERED_KINDS:
            raise _error(f"{op} is not supported on {name}")
        return Cmp(name, op[1:], _coerce(name, operand, kind))
    return Cmp(name, "eq", _coerce(name, value, kind))


def _coerce(name, value, kind):
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, str),
        "bool": isinstance(value, bool),
        "datetime": isinstance(value, str),
    }[kind]
    if not ok:
        raise _error(f"Invalid value for {name}")
    if kind == "int" and not INT_MIN <= value <= INT_MAX:
        raise _error(f"{name} must be between {INT_MIN} and {INT_MAX}")
    if kind in TEXT_KINDS and wire.text_problem(value):
        raise _error(f"{name}: {wire.text_problem(value)}")
    if kind == "datetime":
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise _error(f"{name} must be a YYYY-MM-DDTHH:MM:SS timestamp") from None
    return value


# -- compiling to a Python predicate (for in-memory catalogs) -------------------------


def _match(cmp, actual):
    value = cmp.value
    if isinstance(actual, list):  # list fields: "has an element that matches"
        return any(_match(cmp, a) for a in actual)
    if cmp.op == "contains":
        return isinstance(actual, str) and value.lower() in actual.lower()
    if actual is None:
        return cmp.op == "neq" and value is not None
    tests = {
        "eq": lambda: actual == value,
        "neq": lambda: actual != value,
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
    }
    return tests[cmp.op]()


def predicate(node, get):
    """Return a function obj -> bool for `node`, reading fields with get(obj, name)."""
    if node is None:
        return lambda obj: True
    if isinstance(node, Cmp):
        return lambda obj: _match(node, get(obj, node.field))
    parts = [predicate(n, get) for n in node.items]
    combine = all if node.op == "and" else any
    return lambda obj: combine(p(obj) for p in parts)


def apply(items, flt, get):
    """Filter and order a list of objects in memory."""
    keep = predicate(flt.where, get)
    found = [i for i in items if keep(i)]
    if flt.order_by:
        present = [i for i in found if get(i, flt.order_by) is not None]
        absent = [i for i in found if get(i, flt.order_by) is None]
        present.sort(key=lambda i: get(i, flt.order_by), reverse=flt.order == "desc")
        found = present + absent
    return found


# -- compiling to SQL ---------------------------------------------------------------


def _sql_value(cmp):
    """What SQL compares with: the value, or for +contains its escaped ILIKE pattern."""
    if cmp.op == "contains":
        escaped = cmp.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"
    return cmp.value


def _sql_cmp(column, op, value):
    """`column` `op` `value`, where `value` is what _sql_value gives, or its bind parameter."""
    if op == "contains":
        return column.ilike(value, escape="\\")
    return {
        "eq": column.__eq__,
        "neq": column.__ne__,
        "gt": column.__gt__,
        "gte": column.__ge__,
        "lt": column.__lt__,
        "lte": column.__le__,
    }[op](value)


def _comparisons(node):
    """The filter's comparisons, in the order to_sql numbers their bind parameters."""
    if node is None:
        return []
    if isinstance(node, Cmp):
        return [node]
    return [cmp for n in node.items for cmp in _comparisons(n)]


def shape(node):
    """The filter without its values: filters of one shape compile to one statement."""
    if node is None or isinstance(node, Cmp):
        return None if node is None else (node.field, node.op)
    return (node.op, tuple(shape(n) for n in node.items))


def bound_values(node):
    """{bind parameter name: value} for to_sql(node, columns, bound=True)."""
    return {f"xf_{n}": _sql_value(cmp) for n, cmp in enumerate(_comparisons(node))}


def to_sql(node, columns, bound=False):
    """Return a SQLAlchemy clause for `node`.

    `columns` maps each field to a column, or to a function (op, value, compare) -> clause
    for fields that are not one column (such as tags). With `bound`, each value is a
    bind parameter (xf_0, xf_1, ... in _comparisons order; bound_values gives them), so
    the statement fits every filter of the same shape.
    """
    from sqlalchemy import and_, bindparam, or_, true

    numbers = itertools.count()  # clause() walks the tree in _comparisons' order

    def clause(node):
        if node is None:
            return true()
        if isinstance(node, Cmp):
            value = bindparam(f"xf_{next(numbers)}") if bound else _sql_value(node)
            target = columns[node.field]
            if callable(target) and not hasattr(target, "expression"):
                return target(node.op, value, _sql_cmp)
            return _sql_cmp(target, node.op, value)
        parts = [clause(n) for n in node.items]
        return and_(*parts) if node.op == "and" else or_(*parts)

    return clause(node)
