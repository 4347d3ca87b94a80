"""Fixtures shared by the integration tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cloudapi"))


@pytest.fixture
def cli(app):
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"]}

    def run(*args, ok=True):
        proc = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run
