"""The account's and profile's records (cloudapi/api/account_records.py): billing, logins,
OAuth apps, devices and security questions are empty here, each record a 404; the month's
transfer comes from the account's plans; a second user or deleting the only one is a 400."""

import pytest

from tests.compat.conftest import cli, cli_errors, cli_json  # noqa: F401 (cli: a fixture)

EMPTY_LISTS = (
    "/account/invoices", "/account/payments", "/account/payment-methods",
    "/account/service-transfers", "/account/oauth-clients", "/account/logins",
    "/profile/logins", "/profile/apps", "/profile/devices",
)  # fmt: skip
RECORDS = (
    "/account/invoices/1", "/account/invoices/1/items", "/account/payments/1",
    "/account/payment-methods/1", "/account/service-transfers/123e4567-e89b-12d3-a456-426614174000",
    "/account/oauth-clients/2737bf16b39ab5d7b4a1", "/account/logins/1", "/profile/logins/1",
    "/profile/apps/1", "/profile/devices/1",
)  # fmt: skip
EMPTY_PAGE = {"data": [], "page": 1, "pages": 1, "results": 0}
NOT_FOUND = {"errors": [{"reason": "Not found"}]}
NO_MORE_USERS = "This account has exactly one user; no other user can be added to it"
ONLY_USER = "The account's only user cannot be deleted"
NEW_USER = {"username": "second-user", "email": "second@example.com", "restricted": True}


def reasons(response):
    return [e["reason"] for e in response.get_json()["errors"]]


@pytest.mark.parametrize("path", EMPTY_LISTS)
def test_lists_are_empty_pages_under_both_versions(client, customer, path):
    _, headers = customer
    for version in ("v4", "v4beta"):
        listed = client.get(f"/{version}{path}", headers=headers)
        assert listed.status_code == 200 and listed.get_json() == EMPTY_PAGE
    assert client.get(f"/v4{path}?page=3", headers=headers).get_json() == EMPTY_PAGE
    refused = client.get(f"/v4{path}?page_size=5", headers=headers)
    assert refused.status_code == 400


@pytest.mark.parametrize("path", RECORDS)
def test_every_record_is_linodes_not_found(client, customer, path):
    _, headers = customer
    found = client.get(f"/v4{path}", headers=headers)
    assert found.status_code == 404 and found.get_json() == NOT_FOUND


def test_reads_need_the_account_scope(client, make_account):
    _, reader = make_account(scopes="account:read_only")
    _, linodes = make_account(scopes="linodes:read_write")
    reads = [*EMPTY_LISTS, "/account/transfer", "/profile/security-questions"]
    for path in reads:
        assert client.get(f"/v4{path}", headers=reader).status_code == 200, path
        assert client.get(f"/v4{path}", headers=linodes).status_code == 401, path
        assert client.get(f"/v4{path}").status_code == 401, path
    assert client.get("/v4/account/invoices/1", headers=linodes).status_code == 401


def test_security_questions_are_none(client, customer):
    _, headers = customer
    found = client.get("/v4/profile/security-questions", headers=headers)
    assert found.status_code == 200 and found.get_json() == {"security_questions": []}


def _plan_transfer(client, type_id):
    return client.get(f"/v4/linode/types/{type_id}").get_json()["transfer"]


def _create(client, headers, type_id):
    body = {"type": type_id, "region": "us-east"}
    made = client.post("/v4/linode/instances", json=body, headers=headers)
    assert made.status_code == 200, made.get_json()
    return made.get_json()["id"]


def test_transfer_quota_is_the_live_instances_plans_and_nothing_is_used(client, make_account):
    _, headers = make_account()
    _, other = make_account()
    zero = {"billable": 0, "quota": 0, "used": 0, "region_transfers": []}
    assert client.get("/v4/account/transfer", headers=headers).get_json() == zero

    _create(client, headers, "g6-nanode-1")
    gone = _create(client, headers, "g6-standard-2")
    _create(client, headers, "g6-standard-2")
    _create(client, other, "g6-dedicated-4")  # another account's plan is not this pool
    nanode, standard = (_plan_transfer(client, t) for t in ("g6-nanode-1", "g6-standard-2"))
    transfer = client.get("/v4/account/transfer", headers=headers).get_json()
    assert transfer == {**zero, "quota": nanode + 2 * standard}

    assert client.delete(f"/v4/linode/instances/{gone}", headers=headers).status_code == 200
    transfer = client.get("/v4beta/account/transfer", headers=headers).get_json()
    assert transfer == {**zero, "quota": nanode + standard}


def _the_username(client, headers):
    return client.get("/v4/account/users", headers=headers).get_json()["data"][0]["username"]


def test_adding_a_user_is_refused_and_the_account_keeps_its_one(client, customer):
    _, headers = customer
    refused = client.post("/v4/account/users", json=NEW_USER, headers=headers)
    assert refused.status_code == 400 and reasons(refused) == [NO_MORE_USERS]
    assert client.post("/v4beta/account/users", headers=headers).status_code == 400
    assert client.get("/v4/account/users", headers=headers).get_json()["results"] == 1
    assert client.get("/v4/account/users/second-user", headers=headers).status_code == 404


def test_the_only_user_cannot_be_deleted_and_others_are_404(client, make_account):
    _, headers = make_account()
    _, other = make_account()
    username = _the_username(client, headers)
    refused = client.delete(f"/v4/account/users/{username}", headers=headers)
    assert refused.status_code == 400 and reasons(refused) == [ONLY_USER]
    assert client.get(f"/v4/account/users/{username}", headers=headers).status_code == 200

    missing = client.delete("/v4/account/users/no-such-user", headers=headers)
    assert missing.status_code == 404 and missing.get_json() == NOT_FOUND
    theirs = client.delete(f"/v4/account/users/{_the_username(client, other)}", headers=headers)
    assert theirs.status_code == 404


def test_user_writes_need_the_write_scope(client, make_account):
    _, reader = make_account(scopes="account:read_only")
    username = _the_username(client, reader)
    assert client.post("/v4/account/users", json=NEW_USER, headers=reader).status_code == 401
    assert client.delete(f"/v4/account/users/{username}", headers=reader).status_code == 401
    assert client.delete(f"/v4/account/users/{username}").status_code == 401


CLI_LISTS = (
    ("account", "invoices-list"), ("account", "payments-list"), ("payment-methods", "list"),
    ("service-transfers", "list"), ("account", "clients-list"), ("account", "logins-list"),
    ("profile", "logins-list"), ("profile", "apps-list"), ("profile", "devices-list"),
)  # fmt: skip


@pytest.mark.slow
def test_linode_cli_reads_them_and_shows_the_refusals(cli, make_account):  # noqa: F811
    _, headers = make_account()
    token = headers["Authorization"].removeprefix("Bearer ")
    for command in CLI_LISTS:
        assert cli_json(cli(token, *command)) == [], command
    transfer = cli_json(cli(token, "account", "transfer"))
    assert transfer == [{"billable": 0, "quota": 0, "used": 0, "region_transfers": []}]
    # The CLI prints one row per question (its columns are `security_questions.*`).
    assert cli_json(cli(token, "security-questions", "list")) == []

    create = ("users", "create", "--username", "second-user", "--email", "s@example.com",
              "--restricted", "true")  # fmt: skip
    refused = cli(token, *create)
    assert refused.returncode != 0  # the CLI prints each error with a field ("" here)
    assert [e["reason"] for e in cli_errors(refused)] == [NO_MORE_USERS]
    missing = cli(token, "users", "delete", "second-user")
    assert missing.returncode != 0
    assert [e["reason"] for e in cli_errors(missing)] == ["Not found"]
