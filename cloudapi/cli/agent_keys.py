"""`cloudapi agent-keys`: the key pairs a host agent's job secrets are sealed to."""

from pathlib import Path

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import sealing


@click.group("agent-keys")
def agent_keys_group():
    """Host agents' key pairs (docs/jobs.md, "Secrets")."""


@agent_keys_group.command("rotate")
@click.option("--host", "hostname", required=True, help="The host (or pool.<region>).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="The agent's state folder (default: AGENT_STATE_DIR/HOST).")  # fmt: skip
@pass_runtime
def rotate(runtime, hostname, state_dir):
    """Make HOST's agent a new key pair and register it; its old keys stay on the host, so
    jobs sealed to them (written, not yet run) still open. Run it where the agent runs."""
    from cloudapi.agent.keys import KeyRing

    state = state_dir or Path(runtime.config["AGENT_STATE_DIR"]) / hostname
    ring = KeyRing(state / "keys")
    ring.rotate()
    row = sealing.register(runtime.database, hostname, {"public_key": ring.public_key})
    click.echo(f"{hostname}: new key {row.key_id} registered; new jobs are sealed to it")


COMMANDS = (agent_keys_group,)
