"""Properties the official clients declare that Linode's spec (4.189.0) does not list yet:
an instance's `locks` (linode_api4 `Instance.locks`, Cloud Manager `Linode.locks`) and
the profile's `user_type` (Cloud Manager `Profile.user_type`)."""

URL = "/v4/linode/instances"
BODY = {"type": "g6-nanode-1", "region": "us-east"}


def test_instances_carry_an_empty_locks_list_everywhere(client, customer):
    _, headers = customer
    made = client.post(URL, json=BODY, headers=headers).get_json()
    assert made["locks"] == []
    assert client.get(f"{URL}/{made['id']}", headers=headers).get_json()["locks"] == []
    [listed] = client.get(URL, headers=headers).get_json()["data"]
    assert listed["locks"] == []


def test_the_profile_is_a_default_user(client, customer):
    _, headers = customer
    assert client.get("/v4/profile", headers=headers).get_json()["user_type"] == "default"
