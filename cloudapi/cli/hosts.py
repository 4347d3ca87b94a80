"""`cloudapi hosts` (GPU hosts: add, list, set status, discover) and `cloudapi capacity`."""

import json

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.inventory import discover
from cloudapi.services import hosts


@click.group("hosts")
def hosts_group():
    """GPU hosts: add, list, set status, discover."""


@hosts_group.command("add")
@click.argument("description", type=click.File("r"))
@click.option("--region", help="Region for the host (overrides the file's).")
@pass_runtime
def hosts_add(runtime, description, region):
    """Register the host described in DESCRIPTION (JSON, as `hosts discover` writes)."""
    try:
        doc = json.load(description)
    except ValueError as exc:
        raise click.ClickException(f"{description.name}: not JSON: {exc}") from None
    if region and isinstance(doc, dict):
        doc["region"] = region
    added = hosts.add(runtime.database, doc)
    click.echo(
        f"added {added.hostname} ({added.region_id}): "
        f"{len(added.nodes)} NUMA nodes, {len(added.gpus)} GPUs"
    )


@hosts_group.command("list")
@click.option("--region")
@pass_runtime
def hosts_list(runtime, region):
    """List hosts with their status and GPUs per NUMA node."""
    for host in hosts.search(runtime.database, region):
        click.echo(_host_line(host))


def _host_line(host):
    nodes = " ".join(f"node{n.node}:{n.gpus_free}/{n.gpus_total}" for n in host.nodes)
    return f"{host.hostname:<24} {host.region_id:<12} {host.status:<12} free/total GPUs {nodes}"


@hosts_group.command("set-status")
@click.argument("hostname")
@click.argument("status", type=click.Choice(["active", "maintenance", "draining"]))
@pass_runtime
def hosts_set_status(runtime, hostname, status):
    """Set a host active (takes new instances), maintenance or draining (takes none)."""
    hosts.change_status(runtime.database, hostname, status)
    click.echo(f"{hostname}: {status}")


@hosts_group.command("drain")
@click.argument("hostname")
@pass_runtime
def hosts_drain(runtime, hostname):
    """Mark HOSTNAME draining and migrate each of its GPU instances to another host."""
    from cloudapi.services import migrations

    catalog = runtime.app().extensions["cloudapi.catalog"]
    drained = migrations.drain(runtime.database, catalog.snapshot(), hostname)
    click.echo(f"{hostname}: draining; {len(drained.migrating)} migrating")
    for label, ids in (("no room elsewhere", drained.no_room), ("busy", drained.busy)):
        if ids:
            click.echo(f"  {label}: {', '.join(map(str, ids))}")


@hosts_group.command("discover")
@click.option("--sysfs", "root", default="/", show_default=True, help="Root of /sys and /proc.")
@click.option("--hostname")
@click.option("--region")
def hosts_discover(root, hostname, region):
    """Print this machine's host description (GPUs, NUMA nodes, IOMMU groups) as JSON."""
    found = discover.discover(root, hostname=hostname, region=region)
    click.echo(json.dumps(found, indent=2))


@click.command("capacity")
@click.option("--region")
@pass_runtime
def capacity_cmd(runtime, region):
    """GPUs total, allocated, free and sellable per plan, per region and host."""
    from cloudapi.services import capacity

    catalog = runtime.app().extensions["cloudapi.catalog"]
    with runtime.database.reader() as session:
        report = capacity.report(session, catalog.snapshot(), region)
    click.echo(capacity.table(report))


COMMANDS = (hosts_group, capacity_cmd)
