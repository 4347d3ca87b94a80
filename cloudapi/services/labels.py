"""Renaming a row that only its label may change (tokens, SSH keys), in one transaction."""


def relabel(database, find, data):
    """Set `data["label"]` (when sent) on the row `find(session)` returns; return the row.

    `find` raises NotFound for a row the caller may not see, so nothing is written then.
    """
    with database.transaction() as session:
        row = find(session)
        if "label" in data:
            row.label = data["label"]
    return row
