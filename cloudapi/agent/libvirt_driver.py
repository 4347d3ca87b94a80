"""The agent's driver for a real hypervisor: libvirt (``qemu:///system`` on a GPU host).

:class:`LibvirtDriver` follows :class:`cloudapi.agent.driver.Driver`. Domains are named
``linode-<id>`` (`cloudapi.agent.domain_xml`); their disks are files in ``disk_dir`` made
with ``qemu-img`` from the base images of an :class:`~cloudapi.agent.images.ImageStore`.
Every operation is idempotent: defining replaces the XML, starting a running domain or
stopping a stopped one does nothing, destroying a domain that is gone is done.
A :class:`libvirt.libvirtError` becomes a :class:`DriverError` carrying libvirt's message,
so the job fails with it and the agent goes on.

The ``libvirt`` module (pip ``libvirt-python``, the ``libvirt`` extra) is imported here
only: the simulated driver needs none of it.
"""

import logging
import os
import time
from contextlib import contextmanager, suppress

import libvirt

from cloudapi.agent import domain_xml, images, nwfilter
from cloudapi.agent.driver import DEFINED, RUNNING, SHUT_OFF, DriverError

log = logging.getLogger(__name__)

# libvirt prints every error to stderr by default; ours are raised as DriverError instead.
libvirt.registerErrorHandler(lambda _context, _error: None, None)


class LibvirtDriver:
    """Domains on the libvirt at ``uri``.

    - ``image_store``: the folder of base images (:class:`images.ImageStore`), or one.
    - ``disk_dir``: where instance disks and seeds are written (created if missing).
    - ``boot``: ``{"kernel", "initrd", "cmdline"}`` to boot a host kernel directly.
    - ``network``: the libvirt network of the interface (None: no interface).
    - ``domain_type``: ``kvm`` or ``qemu`` (emulation); by default ``kvm`` when /dev/kvm
      exists. ``cpu_mode``: ``host-passthrough``, or None for the hypervisor's default.
    - ``shutdown_timeout``: seconds a graceful shutdown may take before a power-off.
    - ``connection``: an open ``virConnect`` to use instead of opening ``uri`` (the test
      driver's state lives in its connection).
    """

    def __init__(self, uri="qemu:///system", image_store=None, disk_dir=domain_xml.DISK_DIR,
                 *, boot=None, network=domain_xml.NETWORK, domain_type=None,
                 cpu_mode="host-passthrough", shutdown_timeout=60.0,
                 connection=None, firewall=True):  # fmt: skip
        self.uri = uri
        store = image_store if isinstance(image_store, images.ImageStore) else None
        self.store = store or images.ImageStore(image_store or "/var/lib/cloudapi/images")
        self.disks = images.InstanceDisks(self.store, disk_dir)
        self.boot = boot
        self.network = network
        self.domain_type = domain_type or ("kvm" if os.path.exists("/dev/kvm") else "qemu")
        self.cpu_mode = cpu_mode
        self.shutdown_timeout = shutdown_timeout
        self._conn = connection
        # Bind the interface to the instance's nwfilter (libvirt's test driver has none).
        self.firewall = bool(network) and firewall

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what, instance_id):
        try:
            yield
        except libvirt.libvirtError as exc:
            message = exc.get_error_message() or str(exc)
            raise DriverError(f"{what} {domain_xml.domain_name(instance_id)}: {message}") from None

    def connection(self):
        """The open connection, (re)opened when it is missing or broken."""
        if self._conn is None or not self._alive():
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise DriverError(f"libvirt at {self.uri}: {exc.get_error_message()}") from None
        return self._conn

    def _alive(self):
        try:
            return self._conn.isAlive() == 1
        except libvirt.libvirtError:
            return False

    def close(self):
        if self._conn is not None:
            with suppress(libvirt.libvirtError):
                self._conn.close()
            self._conn = None

    def _domain(self, instance_id):
        """The domain of ``instance_id``, or None when libvirt has none."""
        try:
            return self.connection().lookupByName(domain_xml.domain_name(instance_id))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise DriverError(f"libvirt at {self.uri}: {exc.get_error_message()}") from None

    def _require(self, instance_id):
        domain = self._domain(instance_id)
        if domain is None:
            raise DriverError(f"domain {domain_xml.domain_name(instance_id)} is not defined")
        return domain

    # -- the domain XML ------------------------------------------------------------------

    def render_xml(self, payload):
        """The domain XML of a payload on this host: its disk dir, boot, network, type;
        the seed CD-ROM when `prepare` wrote one."""
        instance_id = payload["instance_id"]
        seed = self.disks.seed(instance_id).exists()
        return domain_xml.render(payload, disk_dir=str(self.disks.dir), seed=seed,
                                 boot=self.boot, network=self.network,
                                 domain_type=self.domain_type, cpu_mode=self.cpu_mode,
                                 firewall_filter=self._filter_of(instance_id))  # fmt: skip

    # -- the Driver protocol -------------------------------------------------------------

    def prepare(self, instance_id, payload, fresh=False):
        """The disks and seed; and the firewall filter the interface names, empty unless
        a firewall job defined it already (a domain does not start without it)."""
        self.disks.prepare(instance_id, payload, fresh=fresh)
        if self.firewall and not _filter_exists(self.connection(), instance_id):
            self.apply_firewall(instance_id, None)
        iso = _seed(payload)
        if iso is not None:
            self.disks.write_seed(instance_id, iso)

    def define(self, instance_id, xml):
        with self._errors("define", instance_id):
            flags = libvirt.VIR_DOMAIN_DEFINE_VALIDATE
            self.connection().defineXMLFlags(xml, flags)

    def start(self, instance_id):
        domain = self._require(instance_id)
        with self._errors("start", instance_id):
            if not domain.isActive():
                domain.create()

    def stop(self, instance_id):
        """ACPI shutdown; a power-off when the guest is still up after the timeout."""
        domain = self._require(instance_id)
        with self._errors("stop", instance_id):
            if not domain.isActive():
                return
            domain.shutdown()
            deadline = time.monotonic() + self.shutdown_timeout
            while domain.isActive() and time.monotonic() < deadline:
                time.sleep(0.2)
            if domain.isActive():
                log.info("libvirt: %s ignored the shutdown for %.0f s; powering it off",
                         domain.name(), self.shutdown_timeout)  # fmt: skip
                _power_off(domain)

    def reboot(self, instance_id):
        """A guest reboot (ACPI); a domain that is shut off is started."""
        domain = self._require(instance_id)
        with self._errors("reboot", instance_id):
            if domain.isActive():
                domain.reboot(0)
            else:
                domain.create()

    def destroy(self, instance_id):
        """Power off, undefine, and delete the disks and seed."""
        domain = self._domain(instance_id)
        if domain is not None:
            with self._errors("destroy", instance_id):
                if domain.isActive():
                    _power_off(domain)
                _undefine(domain)
        if self.firewall:
            with self._errors("firewall of", instance_id):
                _undefine_filter(self.connection(), nwfilter.filter_name(instance_id))
        self.disks.remove_all(instance_id)

    def state(self, instance_id):
        """``running`` while active; ``defined`` when never started since defined (libvirt's
        shut-off reason unknown), else ``shut off``; None without a domain."""
        domain = self._domain(instance_id)
        if domain is None:
            return None
        with self._errors("state of", instance_id):
            state, reason = domain.state()
        if state != libvirt.VIR_DOMAIN_SHUTOFF and state != libvirt.VIR_DOMAIN_CRASHED:
            return RUNNING
        return DEFINED if reason == libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN else SHUT_OFF

    def xml(self, instance_id):
        domain = self._domain(instance_id)
        if domain is None:
            return None
        with self._errors("XML of", instance_id):
            return domain.XMLDesc(0)

    def _filter_of(self, instance_id):
        return nwfilter.filter_name(instance_id) if self.firewall else None

    def apply_firewall(self, instance_id, rules):
        """Define the instance's nwfilter from the ruleset (cloudapi.agent.nwfilter); None
        defines it empty (filtering nothing): the domain's interface keeps naming it.
        Without an interface (or with `firewall` off) there is nothing to filter."""
        if not self.firewall:
            log.info("libvirt: linode %s has no filtered interface; rules not applied",
                     instance_id)  # fmt: skip
            return
        with self._errors("firewall of", instance_id):
            self.connection().nwfilterDefineXML(nwfilter.render_filter(instance_id, rules))

    def transfer_disks(self, instance_id, payload):
        """A rebuild's disks come in `prepare`; a resize here grows the root disk."""
        if "image" in payload:  # a rebuild
            return
        self.disks.grow_root(instance_id, payload)

    def storage(self, action, instance_id, payload):
        self.disks.storage(action, instance_id, payload)


def _seed(payload):
    """The NoCloud seed ISO of a payload, or None while `cloudapi.agent.seed` has none."""
    from cloudapi.agent import seed

    try:
        return seed.nocloud_iso(payload)
    except NotImplementedError:
        return None


def _power_off(domain):
    try:
        domain.destroy()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # not running (any more)
            raise


def _undefine(domain):
    # (no NVRAM flag: these domains boot with SeaBIOS, and the test driver refuses it)
    flags = (
        libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    )
    try:
        domain.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def _filter_exists(conn, instance_id):
    try:
        conn.nwfilterLookupByName(nwfilter.filter_name(instance_id))
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_NWFILTER:
            raise
        return False
    return True


def _undefine_filter(conn, name):
    try:
        conn.nwfilterLookupByName(name).undefine()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_NWFILTER:
            raise
