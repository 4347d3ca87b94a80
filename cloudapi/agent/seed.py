"""The cloud-init NoCloud seed a guest boots with: meta-data, user-data, as an ISO.

`nocloud_iso(payload)` takes a create or rebuild payload whose secrets the agent has
opened, in memory only (cloudapi/agent/keys.py), and returns the ISO 9660 image, volume
label `cidata`, files `meta-data` and `user-data` (Rock Ridge and Joliet names, as
cloud-init's NoCloud source reads them), that the libvirt driver attaches as a cdrom.

- meta-data: `instance-id: linode<id>`, `local-hostname: <label>`.
- user-data: a `#cloud-config` that sets root's password (`chpasswd`, `ssh_pwauth`, as
  Linode's images allow password logins) and root's SSH keys (`ssh_authorized_keys` with
  `disable_root: false`: cloud-init gives root the keys without the "login as" block).
- The customer's `metadata.user_data` (base64, as Linode's API takes it) is merged, as
  Linode's Metadata service hands both to cloud-init: a `#cloud-config` document's keys
  win over ours, but root's password is the request's `root_pass` and SSH key lists are
  joined (ours first); anything else (a script, a MIME multipart, gzip) goes with ours as
  a MIME multipart, the documented form cloud-init reads several parts from.
"""

import base64
import binascii
import contextlib
import email
import gzip
import io
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pycdlib
import yaml

CLOUD_CONFIG = "#cloud-config"
# cloud-init's part types, by how a part starts (cloudinit/handlers/__init__.py).
STARTS = (("#cloud-config-archive", "text/cloud-config-archive"),
          ("#cloud-config", "text/cloud-config"), ("#cloud-boothook", "text/cloud-boothook"),
          ("#include", "text/x-include-url"), ("#part-handler", "text/part-handler"),
          ("#upstart-job", "text/upstart-job"), ("## template: jinja", "text/jinja2"),
          ("#!", "text/x-shellscript"))  # fmt: skip


class SeedError(ValueError):
    """The customer's user_data is not base64: the job fails with this (no secret in it)."""


def nocloud_iso(payload: dict) -> bytes:
    """The seed ISO of the instance `payload` describes (its secrets opened)."""
    return iso_image({"meta-data": meta_data(payload).encode(),
                      "user-data": user_data(payload)})  # fmt: skip


def meta_data(payload):
    instance = {
        "instance-id": f"linode{payload['instance_id']}",
        "local-hostname": payload.get("label") or f"linode{payload['instance_id']}",
    }
    return yaml.safe_dump(instance, sort_keys=False)


def ours(payload):
    """The cloud-config for root: its password and its SSH keys."""
    config = {}
    if payload.get("root_pass"):
        config["ssh_pwauth"] = True
        config["chpasswd"] = {"expire": False, "users": [
            {"name": "root", "password": payload["root_pass"], "type": "text"}]}  # fmt: skip
    keys = list(payload.get("authorized_keys") or [])
    if keys:
        config["disable_root"] = False
        config["ssh_authorized_keys"] = keys
    return config


def user_data(payload):
    """user-data bytes: ours, merged with the customer's (see the module's docstring)."""
    config = ours(payload)
    customer = _decoded(payload.get("user_data"))
    if customer is None:
        return _cloud_config(config)
    text = _text(customer)
    if text is not None and text.lstrip().startswith(CLOUD_CONFIG):
        theirs = _parsed(text)
        if theirs is not None:
            return _cloud_config(merge(config, theirs))
    return multipart(config, customer, text)


def merge(config, theirs):
    """The customer's cloud-config over ours: their keys win, but root's password stays
    the request's and SSH key lists are joined, ours first, each once."""
    merged = {**config, **theirs}
    keys = list(config.get("ssh_authorized_keys", [])) + list(theirs.get("ssh_authorized_keys")
                                                             or [])  # fmt: skip
    if keys:
        merged["ssh_authorized_keys"] = list(dict.fromkeys(keys))
    if "chpasswd" in config:
        their_chpasswd = theirs.get("chpasswd") if isinstance(theirs.get("chpasswd"), dict) else {}
        users = [u for u in their_chpasswd.get("users") or []
                 if not (isinstance(u, dict) and u.get("name") == "root")]  # fmt: skip
        merged["chpasswd"] = {**their_chpasswd, "users": config["chpasswd"]["users"] + users}
        merged["chpasswd"].setdefault("expire", False)
    return merged


def multipart(config, customer, text):
    """A MIME multipart: our cloud-config, then the customer's part(s) as they are."""
    message = MIMEMultipart()
    message.attach(MIMEText(_cloud_config(config).decode(), "cloud-config", "utf-8"))
    if text is not None and text.lstrip().lower().startswith(("content-type:", "mime-version:")):
        for part in email.message_from_string(text).walk():
            if not part.is_multipart():
                message.attach(part)
        return message.as_bytes()
    if text is None:
        message.attach(MIMEApplication(customer))
        return message.as_bytes()
    subtype = next((kind for start, kind in STARTS if text.lstrip().startswith(start)),
                   "text/plain")  # fmt: skip
    message.attach(MIMEText(text, subtype.split("/", 1)[1], "utf-8"))
    return message.as_bytes()


def iso_image(files):
    """An ISO 9660 image, volume `cidata`, holding `files` ({name: bytes}) at its root."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    for name, data in files.items():
        short = name.replace("-", "").upper()[:8]
        iso.add_fp(io.BytesIO(data), len(data), f"/{short}.;1", rr_name=name,
                   joliet_path=f"/{name}")  # fmt: skip
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def _cloud_config(config):
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True) if config else ""
    return f"{CLOUD_CONFIG}\n{body}".encode()


def _decoded(user_data):
    if not user_data:
        return None
    try:
        raw = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise SeedError("user_data is not base64") from None
    if raw[:2] == b"\x1f\x8b":  # cloud-init takes gzip'd user-data too
        with contextlib.suppress(OSError, EOFError):  # not gzip after all: as it is
            raw = gzip.decompress(raw)
    return raw


def _text(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parsed(text):
    try:
        found = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return found if isinstance(found, dict) else None
