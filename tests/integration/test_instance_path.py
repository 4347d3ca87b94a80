"""CLOUDAPI_INSTANCE_PATH moves everything the app writes out of the shared checkout."""

import os
import subprocess
import sys
from pathlib import Path

from cloudapi import create_app

CLOUDAPI = str(Path(sys.executable).with_name("cloudapi"))
DEFAULTED = ("DATABASE_URL", "BROKER_URL", "AGENT_STATE_DIR", "SECRET_KEY", "UNLEASH_URL")


def _clean_env(folder):
    env = {k: v for k, v in os.environ.items() if k not in DEFAULTED}
    return {**env, "CLOUDAPI_INSTANCE_PATH": str(folder)}


def test_every_default_path_follows_the_instance_folder(tmp_path, monkeypatch):
    for key in DEFAULTED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CLOUDAPI_INSTANCE_PATH", str(tmp_path / "one"))
    app = create_app({"FLAGS_ENABLED": False})
    try:
        assert app.instance_path == str(tmp_path / "one")
        assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'one' / 'cloudapi.sqlite'}"
        assert str(tmp_path / "one") in app.config["BROKER_URL"]
        assert app.config["AGENT_STATE_DIR"] == str(tmp_path / "one" / "agents")
        assert (tmp_path / "one" / "secret_key").exists()
    finally:
        app.extensions["cloudapi.db"].dispose()
    other = create_app({"FLAGS_ENABLED": False, "INSTANCE_PATH": str(tmp_path / "two")})
    try:
        assert other.config["DATABASE_URL"].endswith(f"{tmp_path / 'two' / 'cloudapi.sqlite'}")
        assert other.secret_key != app.secret_key
    finally:
        other.extensions["cloudapi.db"].dispose()


def test_two_servers_from_one_checkout_keep_apart(tmp_path):
    """The CLI (migrations, demo data) writes only into its own instance folder."""
    for name in ("a", "b"):
        env = _clean_env(tmp_path / name)
        for args in (["db", "upgrade"], ["demo", "--out", str(tmp_path / f"{name}.json")]):
            done = subprocess.run([CLOUDAPI, *args], env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        assert (tmp_path / name / "cloudapi.sqlite").stat().st_size > 0
    a = (tmp_path / "a.json").read_text()
    b = (tmp_path / "b.json").read_text()
    assert a != b  # separate databases, separate demo tokens
