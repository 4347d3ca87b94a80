"""What the agent asks of the hypervisor, and a simulated one that keeps its state on disk.

The real one, :class:`cloudapi.agent.libvirt_driver.LibvirtDriver`, wraps libvirt
(``virDomainDefineXML``, ``create``, ``shutdown``, ``reboot``, ``destroy`` + ``undefine``)
and makes disks with ``qemu-img``. Every operation must be idempotent, because a job
can run again after the agent was killed in the middle of it: defining a defined domain
replaces its XML, starting a running one does nothing, and so on.
"""

import json
import os
import time
from pathlib import Path
from typing import Protocol

DEFINED = "defined"
RUNNING = "running"
SHUT_OFF = "shut off"


class DriverError(Exception):
    """The hypervisor refused an operation; the message is reported as the job's failure."""


class Driver(Protocol):
    def prepare(self, instance_id: int, payload: dict, fresh: bool = False) -> None:
        """Lay down what a create (or, ``fresh``, a rebuild: the root disk made again)
        needs before its domain is defined: the disks from the payload's image, the
        cloud-init seed. Kept when already there unless ``fresh``."""

    def define(self, instance_id: int, xml: str) -> None: ...

    def start(self, instance_id: int) -> None: ...

    def stop(self, instance_id: int) -> None: ...

    def reboot(self, instance_id: int) -> None: ...

    def destroy(self, instance_id: int) -> None: ...

    def state(self, instance_id: int) -> str | None:
        """``defined``, ``running``, ``shut off``, or None when there is no such domain."""

    def xml(self, instance_id: int) -> str | None: ...

    def apply_firewall(self, instance_id: int, rules: dict | None) -> None:
        """Enforce `rules` (a whole Cloud Firewall ruleset) on the instance's interfaces,
        replacing any before; None removes filtering. Allowed before the domain exists."""

    def transfer_disks(self, instance_id: int, payload: dict) -> None:
        """Lay down the disks a resize, migration or rebuild needs on this host (copied
        from the host the instance leaves, grown to its new plan, or written afresh
        from the image), with the domain shut off. The slow part of each."""

    def storage(self, action: str, instance_id: int, payload: dict) -> None:
        """Run a disk or config job (consumer.STORAGE_ACTIONS) with its payload: make,
        rename, resize, copy or delete a disk, set its root password, or take a config
        change (used at the next boot)."""


class SimulatedDriver:
    """Domains as folders: ``<state_dir>/<instance_id>/domain.xml`` and ``state``.

    Each domain also has ``history``, one line per state change (``defined``,
    ``running``, ``shut off``, ``destroyed``), so tests can count what happened.
    ``boot_seconds`` is how long a start, a reboot or a disk transfer takes; other
    operations take a tenth.
    """

    def __init__(self, state_dir, boot_seconds=0.5):
        self.root = Path(state_dir)
        self.boot_seconds = boot_seconds
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, instance_id):
        return self.root / str(int(instance_id))

    def _require(self, instance_id):
        if self.state(instance_id) is None:
            raise DriverError(f"domain linode{instance_id} is not defined")

    def _set(self, instance_id, state):
        folder = self._dir(instance_id)
        _write_atomic(folder / "state", state)
        with open(folder / "history", "a") as history:
            history.write(state + "\n")

    def _work(self, seconds):
        if seconds > 0:
            time.sleep(seconds)

    def prepare(self, instance_id, payload, fresh=False):
        """Nothing: the simulated disks are the storage jobs' ``disks.json``."""

    def define(self, instance_id, xml):
        self._work(self.boot_seconds / 10)
        folder = self._dir(instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / "domain.xml", xml)
        if self.state(instance_id) is None:
            self._set(instance_id, DEFINED)

    def start(self, instance_id):
        self._require(instance_id)
        if self.state(instance_id) == RUNNING:
            return
        self._work(self.boot_seconds)
        self._set(instance_id, RUNNING)

    def stop(self, instance_id):
        self._require(instance_id)
        if self.state(instance_id) != RUNNING:
            return
        self._work(self.boot_seconds / 10)
        self._set(instance_id, SHUT_OFF)

    def reboot(self, instance_id):
        self._require(instance_id)
        self._work(self.boot_seconds)
        self._set(instance_id, RUNNING)

    def transfer_disks(self, instance_id, payload):
        """Take the time a copy takes; the disks themselves are kept by storage jobs."""
        self._work(self.boot_seconds)

    def destroy(self, instance_id):
        folder = self._dir(instance_id)
        if self.state(instance_id) is None:
            return
        self._work(self.boot_seconds / 10)
        with open(folder / "history", "a") as history:
            history.write("destroyed\n")
        (folder / "state").unlink()
        (folder / "domain.xml").unlink(missing_ok=True)

    def state(self, instance_id):
        try:
            return (self._dir(instance_id) / "state").read_text().strip() or None
        except FileNotFoundError:
            return None

    def xml(self, instance_id):
        try:
            return (self._dir(instance_id) / "domain.xml").read_text()
        except FileNotFoundError:
            return None

    def apply_firewall(self, instance_id, rules):
        """Record the ruleset in ``firewall.json`` (removed when ``rules`` is None).

        No packet filtering yet: a libvirt driver would turn the rules into an nwfilter.
        The file holds the whole state, so applying the same job twice is harmless.
        """
        folder = self._dir(instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        if rules is None:
            (folder / "firewall.json").unlink(missing_ok=True)
        else:
            _write_atomic(folder / "firewall.json", json.dumps(rules, sort_keys=True))

    def storage(self, action, instance_id, payload):
        """Keep the instance's disks in ``disks.json`` ({id: {size, label}}); no images
        are written and passwords and configs are taken and dropped (a libvirt driver
        would make the volumes and use the configs). Whole-state writes: idempotent."""
        folder = self._dir(instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        disks = self.disks(instance_id)
        key = str(payload.get("disk_id"))
        if action in ("disk_create", "disk_duplicate", "disk_resize", "disk_update"):
            known = disks.get(key, {})
            disks[key] = {"size": payload.get("size", known.get("size")),
                          "label": payload.get("label", known.get("label"))}  # fmt: skip
        elif action == "disk_delete":
            disks.pop(key, None)
        _write_atomic(folder / "disks.json", json.dumps(disks, sort_keys=True))

    def disks(self, instance_id):
        """The disks the storage jobs left, by id (as a string)."""
        try:
            return json.loads((self._dir(instance_id) / "disks.json").read_text())
        except FileNotFoundError:
            return {}

    def firewall(self, instance_id):
        """The ruleset last applied to an instance, or None."""
        try:
            return json.loads((self._dir(instance_id) / "firewall.json").read_text())
        except FileNotFoundError:
            return None

    def history(self, instance_id):
        """The state changes of one domain, oldest first."""
        try:
            return (self._dir(instance_id) / "history").read_text().split("\n")[:-1]
        except FileNotFoundError:
            return []


def _write_atomic(path, text):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
