"""Running the jobs: `cloudapi relay`, `cloudapi agent`, and `cloudapi domain-xml`."""

import logging
from pathlib import Path

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import tokens


@click.command()
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds between polls.")
@pass_runtime
def relay(runtime, poll):
    """Relay unsent jobs from the outbox to the broker (BROKER_URL), forever."""
    from cloudapi.jobs.relay import Relay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s relay %(message)s")
    Relay(runtime.database, runtime.config["BROKER_URL"]).run_forever(poll=poll)


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
@pass_runtime
def agent(runtime, hostname, api_url, token, boot_seconds, driver_kind, libvirt_uri, image_store,
          disk_dir):  # fmt: skip
    """Run the host agent for HOST: consume its jobs, run them, report progress."""
    from cloudapi.agent.main import make_driver, run_agent

    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s agent {hostname} %(message)s")
    config = runtime.config
    if not token:
        token = tokens.issue(runtime.database, host=hostname, label=f"agent {hostname}")
    state = Path(config["AGENT_STATE_DIR"]) / hostname
    driver = make_driver(driver_kind, state, boot_seconds, libvirt_uri, image_store, disk_dir)
    run_agent(hostname, api_url, token, config["BROKER_URL"], state, boot_seconds,
              driver=driver)  # fmt: skip


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


COMMANDS = (relay, agent, domain_xml)
