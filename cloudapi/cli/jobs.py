"""Running the jobs: `cloudapi relay`, `cloudapi agent`, `cloudapi domain-xml`, and
`cloudapi jobs trace` (a request's path from the database and the logs)."""

from pathlib import Path

import click

from cloudapi import tracing
from cloudapi.cli.health_port import health, health_port_options
from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import tokens


@click.command()
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds between polls.")
@health_port_options
@pass_runtime
def relay(runtime, poll, health_host, health_port):
    """Relay unsent jobs from the outbox to the broker (BROKER_URL), forever."""
    from cloudapi.jobs.relay import Relay

    tracing.configure("relay")  # JSON lines on stderr
    sender = Relay(runtime.database, runtime.config["BROKER_URL"])
    if health_port is not None:
        from cloudapi.observability import health_server

        health_server.start(health_host, health_port, health_server.relay_checks(sender))
    sender.run_forever(poll=poll)


@click.command()
@click.option("--host", "hostname", required=True, help="The host (or pool.<region>) to serve.")
@click.option("--api", "api_url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--token", envvar="AGENT_TOKEN", help="The host's token (env AGENT_TOKEN).")
@click.option("--boot-seconds", default=0.5, show_default=True, type=float,
              help="How long the simulated driver takes to boot.")  # fmt: skip
@click.option("--driver", "driver_kind", envvar="AGENT_DRIVER", default="simulated",
              show_default=True, type=click.Choice(["simulated", "libvirt"]),
              help="simulated (domains as files) or libvirt (env AGENT_DRIVER).")  # fmt: skip
@click.option("--libvirt-uri", envvar="LIBVIRT_URI", default="qemu:///system",
              show_default=True, help="The libvirt to drive (env LIBVIRT_URI).")  # fmt: skip
@click.option("--image-store", envvar="AGENT_IMAGE_STORE", default="/var/lib/cloudapi/images",
              show_default=True, help="Base images, linode/debian12 as linode_debian12.qcow2 "
              "(env AGENT_IMAGE_STORE).")  # fmt: skip
@click.option("--disk-dir", envvar="AGENT_DISK_DIR", default="/var/lib/cloudapi/disks",
              show_default=True, help="Instance disks and seeds (env AGENT_DISK_DIR).")  # fmt: skip
@health_port_options
@pass_runtime
def agent(runtime, hostname, api_url, token, boot_seconds, driver_kind, libvirt_uri, image_store,
          disk_dir, health_host, health_port):  # fmt: skip
    """Run the host agent for HOST: consume its jobs, run them, report progress."""
    from cloudapi.agent.main import make_driver, run_agent

    tracing.configure("agent", host=hostname)  # JSON lines on stderr
    config = runtime.config
    if not token:
        token = tokens.issue(runtime.database, host=hostname, label=f"agent {hostname}")
    state = Path(config["AGENT_STATE_DIR"]) / hostname
    driver = make_driver(driver_kind, state, boot_seconds, libvirt_uri, image_store, disk_dir)
    run_agent(hostname, api_url, token, config["BROKER_URL"], state, boot_seconds,
              driver=driver, health=health(health_host, health_port))  # fmt: skip


@click.command("domain-xml")
@click.argument("instance_id", type=int)
@pass_runtime
def domain_xml(runtime, instance_id):
    """Print the libvirt domain XML an agent built for INSTANCE_ID."""
    root = Path(runtime.config["AGENT_STATE_DIR"])
    found = sorted(root.glob(f"*/domains/{instance_id}/domain.xml"))
    if not found:
        raise click.ClickException(f"no agent under {root} has a domain for {instance_id}")
    click.echo(found[-1].read_text())


@click.group("jobs")
def jobs_group():
    """Look into the jobs the API wrote for the agents."""


@jobs_group.command("trace")
@click.argument("request_id")
@click.option("--logs", "logs", type=click.Path(exists=True, path_type=Path),
              help="A JSON-lines log file, or a folder of them, to read.")  # fmt: skip
@pass_runtime
def trace(runtime, request_id, logs):
    """Print the path of REQUEST_ID: its jobs, their sends and events, and its log lines."""
    from cloudapi.jobs import trace as tracer

    with runtime.database.reader() as session:
        jobs = tracer.read(session, request_id)
    lines = None if logs is None else tracer.log_lines(logs, request_id, [j["id"] for j in jobs])
    for line in tracer.render(request_id, jobs, lines):
        click.echo(line)


COMMANDS = (relay, agent, domain_xml, jobs_group)
