"""SSH public keys in OpenSSH's one-line form, checked the way Linode checks them.

Pure parsing: no Flask, no database. A key is `<type> <base64 blob> [comment]`; the blob
is a sequence of length-prefixed strings whose first one repeats the type, and whose
remaining ones are the key material that type needs. Checking the structure (not just
the first word) means a pasted private key, a fingerprint or a truncated key is refused
at upload rather than failing later on a Linode's first boot.
"""

import base64
import binascii
import struct
from dataclasses import dataclass

# Linode's own wording for a key of the wrong type (as the API answers /profile/sshkeys).
TYPE_PROBLEM = (
    "SSH Key key-type must be ssh-dss, ssh-rsa, ecdsa-sha2-nistp, ssh-ed25519, "
    "or sk-ecdsa-sha2-nistp256."
)
DATA_PROBLEM = "SSH Key key-data must be valid base64"
MISMATCH_PROBLEM = "SSH Key key-data does not match its key-type"
LINE_PROBLEM = "SSH Key must be a single line of printable characters"
MAX_KEY_CHARS = 16384  # a 16384-bit RSA key is under 3 KiB; room for long comments

# Each type and how many strings follow the type name inside the blob.
FIELDS_AFTER_TYPE = {
    "ssh-rsa": 2,  # e, n
    "ssh-dss": 4,  # p, q, g, y
    "ssh-ed25519": 1,  # the 32-byte public key
    "ecdsa-sha2-nistp256": 2,  # curve name, point
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "sk-ssh-ed25519@openssh.com": 2,  # key, application
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,  # curve name, point, application
}
KEY_TYPES = tuple(FIELDS_AFTER_TYPE)


class KeyProblem(ValueError):
    """Why a string is not an acceptable SSH public key (Linode-style text)."""


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    blob: bytes
    comment: str

    @property
    def text(self):
        """The key as stored and shown: type, base64, and the comment if any."""
        body = f"{self.key_type} {base64.b64encode(self.blob).decode()}"
        return f"{body} {self.comment}" if self.comment else body


def _strings(blob):
    """Split an SSH wire blob into its length-prefixed strings, or raise KeyProblem."""
    out, at = [], 0
    while at < len(blob):
        if len(blob) - at < 4:
            raise KeyProblem(MISMATCH_PROBLEM)
        (length,) = struct.unpack(">I", blob[at : at + 4])
        at += 4
        if length > len(blob) - at:
            raise KeyProblem(MISMATCH_PROBLEM)
        out.append(blob[at : at + length])
        at += length
    return out


def _check_material(key_type, parts):
    """The strings after the type name must be what `key_type` carries."""
    if len(parts) != FIELDS_AFTER_TYPE[key_type] or not all(parts):
        raise KeyProblem(MISMATCH_PROBLEM)
    if key_type == "ssh-ed25519" and len(parts[0]) != 32:
        raise KeyProblem(MISMATCH_PROBLEM)
    if key_type.startswith("ecdsa-sha2-") and parts[0].decode("latin-1") != key_type[11:]:
        raise KeyProblem(MISMATCH_PROBLEM)
    if key_type.startswith("sk-ecdsa") and parts[0] != b"nistp256":
        raise KeyProblem(MISMATCH_PROBLEM)


def parse(text):
    """Parse one public key line; return a PublicKey or raise KeyProblem."""
    if not isinstance(text, str) or len(text) > MAX_KEY_CHARS:
        raise KeyProblem(f"SSH Key must be at most {MAX_KEY_CHARS} characters")
    stripped = text.strip()
    words = stripped.split(None, 2)
    if not words or words[0] not in FIELDS_AFTER_TYPE:
        raise KeyProblem(TYPE_PROBLEM)  # a pasted private key or fingerprint ends here
    if not stripped.isprintable():
        raise KeyProblem(LINE_PROBLEM)
    key_type = words[0]
    if len(words) < 2:
        raise KeyProblem(DATA_PROBLEM)
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(DATA_PROBLEM) from None
    parts = _strings(blob)
    if not parts or parts[0] != key_type.encode():
        raise KeyProblem(MISMATCH_PROBLEM)
    _check_material(key_type, parts[1:])
    comment = words[2].strip() if len(words) > 2 else ""
    return PublicKey(key_type, blob, comment)


def problem(text):
    """Why `text` is not an acceptable public key, or None (for marshmallow validators)."""
    try:
        parse(text)
    except KeyProblem as exc:
        return str(exc)
    return None
