"""Which read-only Linode properties a PUT body changes (cloudapi/domain/linode_fields.py)."""

from cloudapi.domain import linode_fields

VIEW = {"id": 7, "type": "g6-standard-2", "ipv4": ["192.0.2.1", "192.0.2.2"],
        "capabilities": ["A", "B"], "has_user_data": False, "lke_cluster_id": None,
        "specs": {"disk": 1, "memory": 2}, "status": "running",
        "backups": {"enabled": False, "available": False, "last_successful": None}}  # fmt: skip


def changed(sent):
    return [path for path, _ in linode_fields.changes(sent, VIEW)]


def test_values_as_shown_change_nothing():
    assert changed(VIEW) == []
    assert changed({"specs": {"memory": 2, "disk": 1}}) == []  # key order is no change
    assert changed({"ipv4": ["192.0.2.2", "192.0.2.1"], "capabilities": ["B", "A"]}) == []


def test_order_matters_only_for_ordered_values():
    assert changed({"ipv4": ["192.0.2.1"]}) == ["ipv4"]
    assert changed({"ipv4": ["192.0.2.1", "192.0.2.1"]}) == ["ipv4"]


def test_json_types_are_kept_apart():
    assert changed({"has_user_data": 0}) == ["has_user_data"]  # False == 0 in Python
    assert changed({"id": 7.0}) == ["id"]
    assert changed({"id": "7"}) == ["id"]
    assert changed({"lke_cluster_id": 0}) == ["lke_cluster_id"]


def test_nested_and_missing_properties():
    assert changed({"backups": {"enabled": True}}) == ["backups.enabled"]
    assert changed({"backups": {"enabled": False}}) == []
    assert changed({"locks": []}) == ["locks"]  # the view shows none: nothing to equal


def test_volatile_values_are_never_compared():
    assert changed({"status": "offline", "updated": "x",
                    "backups": {"available": True, "last_successful": "y"}}) == []  # fmt: skip
    assert not set(linode_fields.VOLATILE) & set(linode_fields.READ_ONLY)
