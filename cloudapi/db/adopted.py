"""Rows written by one Core statement, then kept in the session as if loaded from it.

The ORM writes one INSERT per table, each a round trip. Where a change writes rows of
several tables that are known in full beforehand (a job and its event), one statement
with data-modifying CTEs writes them all; `adopt` then puts the objects in the session as
persistent, so later changes to them are flushed as UPDATEs and nothing reads them back.
"""

import functools

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value


@functools.cache
def columns_of(model):
    """(attribute name, column) for each column `model` maps, in the table's order."""
    return tuple((prop.key, prop.columns[0]) for prop in inspect(model).column_attrs)


def row_of(model, **values):
    """`values` (by attribute name) completed with the Python-side defaults of `model`'s
    columns (None where a column has none): what an ORM INSERT would write, every
    column present."""
    row = {}
    for key, column in columns_of(model):
        if key in values:
            row[key] = values[key]
        elif column.default is not None and column.default.is_callable:
            row[key] = column.default.arg(None)
        elif column.default is not None and column.default.is_scalar:
            row[key] = column.default.arg
        else:
            row[key] = None
    return row


def adopt(session, model, row, **related):
    """An instance of `model` made of `row` (row_of's: every column, as inserted), persistent in
    `session` with `related` (relationship: value) set as loaded."""
    made = model(**row)
    make_transient_to_detached(made)
    session.add(made)
    for name, value in related.items():
        set_committed_value(made, name, value)
    return made
