"""One trailing slash is ignored under /v4 and /v4beta, as Linode ignores it.

linode_api4 reads a list through `client.load(Event, "")`: GET /account/events/ (an empty
id), which Linode answers with the list; its own integration suite relies on that.
"""


def test_a_list_with_a_trailing_slash_is_the_list(client, customer):
    _, headers = customer
    for path in ("/v4/account/events", "/v4/regions", "/v4beta/linode/types", "/v4/tags"):
        plain = client.get(path, headers=headers)
        slashed = client.get(path + "/", headers=headers)
        assert plain.status_code == slashed.status_code == 200, path
        assert slashed.get_json() == plain.get_json(), path


def test_an_object_with_a_trailing_slash_is_the_object(client, customer):
    _, headers = customer
    assert (
        client.get("/v4/regions/us-east/").get_json()
        == client.get("/v4/regions/us-east").get_json()
    )
    assert client.get("/v4/profile/", headers=headers).get_json()["email"]


def test_only_one_slash_and_only_the_customer_api(client, admin_headers):
    assert client.get("/v4/regions//").status_code == 404
    assert client.get("/admin/flags/", headers=admin_headers).status_code == 404
