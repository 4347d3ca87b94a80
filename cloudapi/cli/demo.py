"""`cloudapi demo`: demo accounts, tokens and GPU hosts."""

import json
import os
from pathlib import Path

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import demo as demo_data


@click.command()
@click.option("--out", default="demo-tokens.json", show_default=True, type=click.Path())
@pass_runtime
def demo(runtime, out):
    """Seed demo accounts and tokens; write the tokens to OUT."""
    seeded = demo_data.populate(runtime.database)
    Path(out).write_text(json.dumps(seeded, indent=2) + "\n")
    os.chmod(out, 0o600)
    click.echo(f"demo data seeded; tokens written to {out}")
    for name, info in seeded["accounts"].items():
        click.echo(f"  {name:<9} account {info['id']:<3} {info['email']:<24} token {info['token']}")
    click.echo(f"  admin     token {seeded['admin_token']}")


COMMANDS = (demo,)
