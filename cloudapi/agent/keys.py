"""The agent's key ring: the key pairs its jobs' secrets are sealed to.

Keys live in ``<state_dir>/keys``: one ``<key_id>.key`` per pair (the base64 private key,
mode 0600), and ``current`` naming the newest, whose public half the agent registers with
the API at start (``PUT /internal/agents/key``). A rotation makes a new pair and keeps the
old ones, so a job sealed before it (written, not yet run) still opens. ``key_id`` is the
first 16 hex digits of the SHA-256 of the public key (as services/sealing.py names it).

A sealed secret in a payload is ``{"sealed": <base64 sealed box>, "key_id": ...}``;
:meth:`KeyRing.open` returns a copy of the payload with each opened, in memory only.
"""

import base64
import hashlib
import logging
import os
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

log = logging.getLogger(__name__)


class SealedSecretError(Exception):
    """A sealed secret this agent cannot open; the job fails (its message has no secret)."""


def key_id(public_key):
    return hashlib.sha256(bytes(public_key)).hexdigest()[:16]


def is_sealed(value):
    return isinstance(value, dict) and set(value) == {"sealed", "key_id"}


class NoKeys:
    """An agent without a key ring (tests that build Agents directly): opens nothing."""

    public_key = None

    def open(self, payload):
        return payload


class KeyRing:
    """The key pairs in ``folder`` (made, with a first pair, when missing)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._keys = {}
        self._load()
        if self.current is None:
            self.rotate()

    @property
    def current(self):
        """The newest pair's key_id, or None before the first."""
        try:
            name = (self.folder / "current").read_text().strip()
        except FileNotFoundError:
            return None
        if name not in self._keys:
            self._load()  # rotated by another process
        return name if name in self._keys else None

    @property
    def public_key(self):
        """The newest public key, base64: what the agent registers."""
        return base64.b64encode(bytes(self._keys[self.current].public_key)).decode()

    def rotate(self):
        """Make a new pair, make it the current one, keep the old; return its key_id."""
        private = PrivateKey.generate()
        kid = key_id(private.public_key)
        path = self.folder / f"{kid}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(base64.b64encode(bytes(private)).decode() + "\n")
        tmp = self.folder / "current.tmp"
        tmp.write_text(kid + "\n")
        tmp.replace(self.folder / "current")
        self._keys[kid] = private
        return kid

    def open(self, payload):
        """A copy of `payload` with its sealed secrets opened; SealedSecretError when one
        was sealed to a key this agent does not hold (or does not open)."""
        if not any(is_sealed(v) for v in payload.values()):
            return payload
        return {name: self._open(name, v) if is_sealed(v) else v for name, v in payload.items()}

    def _open(self, name, value):
        kid = value["key_id"]
        if kid not in self._keys:
            self._load()  # rotated by another process (`cloudapi agent-keys rotate`)
        if kid not in self._keys:
            raise SealedSecretError(f"{name} is sealed to key {kid}, which this agent lacks")
        try:
            opened = SealedBox(self._keys[kid]).decrypt(base64.b64decode(value["sealed"]))
        except (CryptoError, ValueError):
            raise SealedSecretError(f"{name} does not open with key {kid}") from None
        return opened.decode("utf-8")

    def _load(self):
        for path in self.folder.glob("*.key"):
            if path.stem not in self._keys:
                self._keys[path.stem] = PrivateKey(base64.b64decode(path.read_text().strip()))


def register(agent):
    """Register `agent`'s newest public key with the API (at start). Failing that, the
    agent still runs: jobs written meanwhile carry no secret (docs/decisions.md 32)."""
    keyring = agent.keyring
    if keyring.public_key is None:
        return None
    try:
        return agent.reporter.register_key(keyring.public_key)
    except Exception as exc:
        log.error("agent %s: key %s not registered (%s); secrets will not be sent to it",
                  agent.host, keyring.current, exc)  # fmt: skip
        return None
