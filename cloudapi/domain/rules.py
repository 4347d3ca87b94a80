"""Pure validation rules for Linode request fields: no Flask, no database.

SSH public keys have their own module, cloudapi/domain/sshkeys.py (one parser for
/profile/sshkeys and a create's `authorized_keys`).
"""

import base64
import binascii
import re

from zxcvbn import zxcvbn

LABEL_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
DOUBLED = ("--", "__", "..")
MIN_PASSWORD_SCORE = 2  # zxcvbn's 0..4 scale: 2 rejects "password123"-style guesses
USER_DATA_MAX = 65535
TAG_MIN, TAG_MAX = 3, 50


def label_problems(label: str, low=3, high=64) -> list[str]:
    """Return what is wrong with a Linode label, or [] when it is valid."""
    problems = []
    if not low <= len(label) <= high:
        problems.append(f"Length must be {low}-{high} characters")
    if not LABEL_CHARS.match(label):
        problems.append("Must only contain letters, numbers, dashes, underscores and periods")
    elif not (label[0].isalnum() and label[-1].isalnum()):
        problems.append("Must begin and end with a letter or number")
    if any(d in label for d in DOUBLED):
        problems.append("Must not contain two dashes, underscores or periods in a row")
    return problems


def password_problem(password: str) -> str | None:
    """Return why a root password is unacceptable, or None."""
    if not 7 <= len(password) <= 128:
        return "Length must be 7-128 characters"
    if zxcvbn(password[:100])["score"] < MIN_PASSWORD_SCORE:
        return "Password does not meet strength requirement"
    return None


def user_data_problem(data: str) -> str | None:
    """Return why metadata.user_data is unacceptable: it must be base64 of <= 65535 bytes."""
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "Must be valid base64"
    if len(decoded) > USER_DATA_MAX:
        return f"Must be at most {USER_DATA_MAX} bytes before encoding"
    return None


def tag_problem(tag: str) -> str | None:
    if not TAG_MIN <= len(tag) <= TAG_MAX:
        return f"Length must be {TAG_MIN}-{TAG_MAX} characters"
    return None
