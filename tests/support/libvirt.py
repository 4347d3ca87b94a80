"""libvirt for tests: the Python binding, and a daemon for ``qemu:///system``.

``libvirt_module()`` imports libvirt-python (bin/setup installs the ``libvirt`` extra where
libvirt-dev is) or skips through ``missing_service``. ``system_libvirt()`` yields a
connection to ``qemu:///system`` (``CLOUDAPI_TEST_LIBVIRT_URI``): when no daemon answers,
it starts Debian 12's ``virtlogd`` and ``libvirtd`` (monolithic; bookworm packages no
modular ``virtqemud``) as daemons, and stops the ones it started afterwards, by the pid
they wrote. That needs root and the Debian packages of bin/system-packages; without them
the tests skip, or fail under CLOUDAPI_REQUIRE_SERVICES=1.
"""

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from tests.support.databases import missing_service

DEFAULT_URI = "qemu:///system"
# The daemons as bin/system-packages installs them: binary, its pid file, its socket.
DAEMONS = (
    ("virtlogd", Path("/run/virtlogd.pid"), Path("/run/libvirt/virtlogd-sock")),
    ("libvirtd", Path("/run/libvirtd.pid"), Path("/run/libvirt/libvirt-sock")),
)
START_TIMEOUT = 30.0


def libvirt_module():
    try:
        import libvirt
    except ImportError:
        missing_service("libvirt-python not installed (bin/setup installs it when "
                        "libvirt-dev is there: bin/system-packages)")  # fmt: skip
    libvirt.registerErrorHandler(lambda _context, _error: None, None)
    return libvirt


def libvirt_uri():
    return os.environ.get("CLOUDAPI_TEST_LIBVIRT_URI", DEFAULT_URI)


@contextmanager
def system_libvirt():
    """An open connection to the system libvirt, its daemons started if need be."""
    libvirt = libvirt_module()
    uri = libvirt_uri()
    started = []
    try:
        conn = _open(libvirt, uri)
        if conn is None:
            started = _start_daemons()
            conn = _wait_open(libvirt, uri)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        for name, pid in reversed(started):
            _stop(name, pid)


def _open(libvirt, uri):
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError:
        return None


def _wait_open(libvirt, uri):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        conn = _open(libvirt, uri)
        if conn is not None:
            return conn
        if time.monotonic() > deadline:
            missing_service(f"libvirt at {uri} did not answer {START_TIMEOUT:.0f} s after "
                            "starting libvirtd")  # fmt: skip
        time.sleep(0.2)


def _start_daemons():
    """Start each daemon whose socket is missing; [(name, pid)] of those started."""
    if os.geteuid() != 0:
        missing_service("no libvirt daemon answers, and starting one needs root")
    started = []
    for name, pidfile, socket in DAEMONS:
        if socket.exists() and _running(pidfile):
            continue
        binary = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if binary is None:
            missing_service(f"{name} not installed (bin/system-packages: libvirt-daemon)")
        done = subprocess.run([binary, "--daemon"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            missing_service(f"{name} did not start: {(done.stderr or done.stdout).strip()}")
        started.append((name, _wait_pid(name, pidfile)))
    return started


def _running(pidfile):
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def _wait_pid(name, pidfile):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            return int(pidfile.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.1)
    missing_service(f"{name} wrote no {pidfile}")
    return None  # (missing_service raises)


def _stop(name, pid):
    """SIGTERM to a daemon this module started; wait until it is gone (or a zombie)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)


def _alive(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
