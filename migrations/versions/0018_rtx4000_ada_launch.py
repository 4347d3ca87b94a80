"""The RTX 4000 Ada launch's catalog, plans' GPU models, region-scoped and partial launches.

- `linode_types.gpu_device_ids`: the PCI device ids (vendor 10de) of the GPUs a plan's
  instances get; placement never puts a plan on another model. The RTX 6000 plans take
  the Quadro RTX 6000/8000 family (pci.ids: 1e30, 1e36, 1e78).
- The nine NVIDIA RTX 4000 Ada plans (PCI 10de:27b2, "AD104GL [RTX 4000 Ada
  Generation]" in pci.ids), gated by the `gpu-rtx4000-ada` feature (flags/launches/).
  Where each figure comes from:
  * ids and labels: Linode's plan list (`linode-cli linodes types`, as quoted in public
    installer scripts that offer every plan, and the ids in the reference notes);
  * monthly prices: the same scripts ($350, $446, $638, $1022, $700, $892, $992, $1976,
    $2384), agreeing with each other;
  * vCPUs, memory and hourly prices of a1-s, a1-l, a2-s, a4-s, a4-m: a table "verified vs
    Linode API, 2026-06-05" (4/16 GB $0.52, 16/64 GB $0.96, 8/32 GB $1.05, 32/128 GB
    $2.96, 48/196 GB $3.57); the others follow Linode's pattern within the family (each
    size doubles vCPUs and memory: a1-m 8/32, a1-xl 32/128, a2-m and a2-hs 16/64) with
    hourly = monthly / 672 rounded to the cent, which reproduces the published ones
    within a cent or two ($0.66, $1.52, $1.33, $1.48);
  * disks: 500 GB per GPU-x1 plan, 1 TB for x2 (2 TB for the high-storage a2-hs), 2 TB
    for x4, as Linode lists them; transfer and network_out, and the backups price, are
    not published anywhere we could find: ours (5 TB/5 Gbps x1, 10/10 x2, 20/10 x4;
    backups at the RTX 6000 plans' rate of $0.0625 per GB of disk a month).
- The closed "RTX 4000 Ada GPU Beta".
- `flag_states.regions` / `.rollout`: a launch flag on in some regions only, or for a
  percentage of accounts (the embedded default; on an Unleash server the same lives in
  the flag's strategy); `flag_audit.change` says what a flip changed besides on/off.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FEATURE = "gpu-rtx4000-ada"
RTX6000_DEVICES = ["1e30", "1e36", "1e78"]
RTX4000_ADA_DEVICES = ["27b2"]
GB = 1024

# id, label, gpus, vcpus, memory GB, disk GB, transfer, network_out, hourly, monthly
PLANS = [
    ("g2-gpu-rtx4000a1-s", "RTX4000 Ada x1 Small", 1, 4, 16, 500, 5000, 5000, 0.52, 350.0),
    ("g2-gpu-rtx4000a1-m", "RTX4000 Ada x1 Medium", 1, 8, 32, 500, 5000, 5000, 0.66, 446.0),
    ("g2-gpu-rtx4000a1-l", "RTX4000 Ada x1 Large", 1, 16, 64, 500, 5000, 5000, 0.96, 638.0),
    ("g2-gpu-rtx4000a1-xl", "RTX4000 Ada x1 X-Large", 1, 32, 128, 500, 5000, 5000, 1.52, 1022.0),
    ("g2-gpu-rtx4000a2-s", "RTX4000 Ada x2 Small", 2, 8, 32, 1000, 10000, 10000, 1.05, 700.0),
    ("g2-gpu-rtx4000a2-m", "RTX4000 Ada x2 Medium", 2, 16, 64, 1000, 10000, 10000, 1.33, 892.0),
    ("g2-gpu-rtx4000a2-hs", "RTX4000 Ada x2 Medium High Storage", 2, 16, 64, 2000, 10000, 10000,
     1.48, 992.0),
    ("g2-gpu-rtx4000a4-s", "RTX4000 Ada x4 Small", 4, 32, 128, 2000, 20000, 10000, 2.96, 1976.0),
    ("g2-gpu-rtx4000a4-m", "RTX4000 Ada x4 Medium", 4, 48, 196, 2000, 20000, 10000, 3.57, 2384.0),
]  # fmt: skip
BACKUPS_PER_GB_MONTH = 0.0625


def _types():
    return sa.Table(
        "linode_types", sa.MetaData(),
        *(sa.Column(c) for c in ("id", "label", "class", "vcpus", "memory", "disk", "transfer",
                                 "network_out", "price_hourly", "price_monthly", "backups_hourly",
                                 "backups_monthly", "required_feature", "gpus",
                                 "accelerated_devices", "successor")),
        sa.Column("region_prices", sa.JSON()), sa.Column("gpu_device_ids", sa.JSON()),
    )  # fmt: skip


def upgrade():
    with op.batch_alter_table("linode_types") as batch:
        batch.add_column(sa.Column("gpu_device_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("flag_states") as batch:
        batch.add_column(sa.Column("regions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rollout", sa.Integer(), nullable=True))
    with op.batch_alter_table("flag_audit") as batch:
        batch.add_column(sa.Column("change", sa.String(length=1000), nullable=True))
    types = _types()
    op.execute(
        types.update()
        .where(types.c.id.like("g1-gpu-rtx6000-%"))
        .values(gpu_device_ids=RTX6000_DEVICES)
    )
    rows = []
    for plan_id, label, gpus, vcpus, memory, disk, transfer, net, hourly, monthly in PLANS:
        backups = round(disk * BACKUPS_PER_GB_MONTH, 2)
        rows.append({
            "id": plan_id, "label": label, "class": "gpu", "vcpus": vcpus,
            "memory": memory * GB, "disk": disk * GB, "transfer": transfer, "network_out": net,
            "price_hourly": hourly, "price_monthly": monthly,
            "backups_hourly": round(backups / 672, 3), "backups_monthly": backups,
            "required_feature": FEATURE, "gpus": gpus, "accelerated_devices": 0,
            "successor": None, "region_prices": [], "gpu_device_ids": RTX4000_ADA_DEVICES,
        })  # fmt: skip
    op.bulk_insert(types, rows)
    betas = sa.Table(
        "betas", sa.MetaData(),
        *(sa.Column(n) for n in ("id", "label", "description", "more_info", "greenlight_only",
                                  "is_open")),
        sa.Column("started", sa.DateTime()), sa.Column("ended", sa.DateTime()),
    )  # fmt: skip
    op.bulk_insert(betas, [{
        "id": "rtx4000-ada-beta", "label": "RTX 4000 Ada GPU Beta",
        "description": "Early access to the NVIDIA RTX 4000 Ada GPU plans.",
        "more_info": "https://www.linode.com/products/gpu/", "greenlight_only": False,
        "is_open": False, "started": datetime(2026, 12, 1), "ended": None,
    }])  # fmt: skip


def downgrade():
    op.execute(sa.text("DELETE FROM account_betas WHERE beta_id = 'rtx4000-ada-beta'"))
    op.execute(sa.text("DELETE FROM betas WHERE id = 'rtx4000-ada-beta'"))
    op.execute(sa.text("DELETE FROM linode_types WHERE id LIKE 'g2-gpu-rtx4000a%'"))
    with op.batch_alter_table("flag_audit") as batch:
        batch.drop_column("change")
    with op.batch_alter_table("flag_states") as batch:
        batch.drop_column("rollout")
        batch.drop_column("regions")
    with op.batch_alter_table("linode_types") as batch:
        batch.drop_column("gpu_device_ids")
