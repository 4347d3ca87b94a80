"""The NoCloud seed: an ISO (volume `cidata`) whose meta-data and user-data read back."""

import base64
import email
import gzip
import io

import pycdlib
import pytest
import yaml

from cloudapi.agent import seed

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv2 me@example"
PAYLOAD = {"instance_id": 42, "label": "web-1", "root_pass": "Seed-Secret-2026!z",
           "authorized_keys": [KEY], "user_data": None}  # fmt: skip


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def read_iso(image):
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        files = {}
        for name in ("meta-data", "user-data"):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
            joliet = io.BytesIO()
            iso.get_file_from_iso_fp(joliet, joliet_path=f"/{name}")
            assert joliet.getvalue() == out.getvalue()
            files[name] = out.getvalue().decode()
        label = iso.pvd.volume_identifier.decode().strip()
    finally:
        iso.close()
    return label, files


def test_the_iso_holds_meta_data_and_user_data():
    label, files = read_iso(seed.nocloud_iso(PAYLOAD))
    assert label == "cidata"
    assert yaml.safe_load(files["meta-data"]) == {"instance-id": "linode42",
                                                  "local-hostname": "web-1"}  # fmt: skip
    assert files["user-data"].startswith("#cloud-config\n")
    config = yaml.safe_load(files["user-data"])
    assert config["chpasswd"]["users"] == [
        {"name": "root", "password": "Seed-Secret-2026!z", "type": "text"}]  # fmt: skip
    assert config["ssh_pwauth"] is True and config["chpasswd"]["expire"] is False
    assert config["ssh_authorized_keys"] == [KEY] and config["disable_root"] is False


def test_keys_only_sets_no_password():
    config = yaml.safe_load(seed.user_data({**PAYLOAD, "root_pass": None}))
    assert "chpasswd" not in config and "ssh_pwauth" not in config
    assert config["ssh_authorized_keys"] == [KEY]


def test_a_customers_cloud_config_is_merged_but_roots_password_is_ours():
    theirs = ("#cloud-config\npackages: [htop]\nssh_pwauth: false\n"
              "ssh_authorized_keys: [other-key, " + KEY + "]\n"
              "chpasswd:\n  users:\n  - {name: root, password: theirs}\n"
              "  - {name: app, password: apppw}\n")  # fmt: skip
    config = yaml.safe_load(seed.user_data({**PAYLOAD, "user_data": b64(theirs)}))
    assert config["packages"] == ["htop"] and config["ssh_pwauth"] is False  # theirs win
    assert config["ssh_authorized_keys"] == [KEY, "other-key"]  # joined, each once
    users = config["chpasswd"]["users"]
    assert users[0] == {"name": "root", "password": "Seed-Secret-2026!z", "type": "text"}
    assert users[1:] == [{"name": "app", "password": "apppw"}]


def test_a_script_goes_with_ours_as_a_mime_multipart():
    script = "#!/bin/sh\necho hello > /tmp/hello\n"
    made = seed.user_data({**PAYLOAD, "user_data": b64(script)})
    parts = [p for p in email.message_from_bytes(made).walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/cloud-config", "text/x-shellscript"]
    config = yaml.safe_load(parts[0].get_payload(decode=True))
    assert config["chpasswd"]["users"][0]["password"] == "Seed-Secret-2026!z"
    assert parts[1].get_payload(decode=True).decode() == script


def test_a_customers_multipart_keeps_its_parts_and_gzip_is_opened():
    inner = seed.multipart({}, b"", "#!/bin/sh\ntrue\n").decode()
    made = seed.user_data({**PAYLOAD, "user_data": b64(gzip.compress(inner.encode()))})
    parts = [p for p in email.message_from_bytes(made).walk() if not p.is_multipart()]
    kinds = [p.get_content_type() for p in parts]
    assert kinds == ["text/cloud-config", "text/cloud-config", "text/x-shellscript"]


def test_user_data_that_is_not_base64_fails_without_the_secret():
    with pytest.raises(seed.SeedError) as raised:
        seed.user_data({**PAYLOAD, "user_data": "not base64!"})
    assert PAYLOAD["root_pass"] not in str(raised.value)


def test_a_broken_cloud_config_still_reaches_cloud_init_as_a_part():
    made = seed.user_data({**PAYLOAD, "user_data": b64("#cloud-config\n: : [\n")})
    parts = [p for p in email.message_from_bytes(made).walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/cloud-config", "text/cloud-config"]
