"""Public SSH keys for tests: real ones from ssh-keygen where it exists, else built
by hand in OpenSSH's wire format (the server checks structure, not cryptography)."""

import base64
import os
import struct


def _string(data):
    return struct.pack(">I", len(data)) + data


def line(key_type, *material, comment="test@example"):
    """One public key line: `key_type`, the base64 blob of its type and `material`."""
    blob = _string(key_type.encode()) + b"".join(_string(m) for m in material)
    text = f"{key_type} {base64.b64encode(blob).decode()}"
    return f"{text} {comment}" if comment else text


def ed25519(comment="test@example"):
    return line("ssh-ed25519", os.urandom(32), comment=comment)


def rsa(comment="test@example"):
    return line("ssh-rsa", b"\x01\x00\x01", b"\x00" + os.urandom(256), comment=comment)


def ecdsa(comment="test@example"):
    return line("ecdsa-sha2-nistp256", b"nistp256", b"\x04" + os.urandom(64), comment=comment)
