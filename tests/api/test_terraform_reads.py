"""The reads Terraform's `linode_instance` runs after every create, as one sequence.

The provider (through linodego) reads the instance, then `/ips`, `/disks` and `/configs`,
and stops on any error; it then matches what it planned: the image's root disk, the swap
disk, one config booting them, the public IPv4 it prints as `ip_address`.
"""

URL = "/v4/linode/instances"
BODY = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x", "label": "tf-web", "private_ip": True}  # fmt: skip


def test_the_reads_after_a_create_all_answer_in_linodes_shapes(client, customer):
    _, headers = customer
    linode = client.post(URL, json=BODY, headers=headers).get_json()
    base = f"{URL}/{linode['id']}"
    reads = {path: client.get(f"{base}{path}", headers=headers) for path in
             ("", "/ips", "/disks", "/configs", "/firewalls", "/backups")}  # fmt: skip
    assert {path: r.status_code for path, r in reads.items()} == dict.fromkeys(reads, 200)
    instance, ips = reads[""].get_json(), reads["/ips"].get_json()
    public = [a["address"] for a in ips["ipv4"]["public"]]
    private = [a["address"] for a in ips["ipv4"]["private"]]
    assert instance["ipv4"] == public + private and len(public) == len(private) == 1
    assert instance["ipv6"] == ips["ipv6"]["slaac"]["address"] + "/128"
    disks = reads["/disks"].get_json()["data"]
    assert [(d["filesystem"], d["label"]) for d in disks] == [
        ("ext4", "Debian 12 Disk"), ("swap", "512 MB Swap Image")]  # fmt: skip
    assert sum(d["size"] for d in disks) == instance["specs"]["disk"]
    (config,) = reads["/configs"].get_json()["data"]
    assert config["devices"]["sda"]["disk_id"] == disks[0]["id"]
    assert config["devices"]["sdb"]["disk_id"] == disks[1]["id"]
    assert config["root_device"] == "/dev/sda"
