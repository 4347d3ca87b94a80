"""Endpoints for host agents only (per-host credentials); customers cannot reach them."""

from flask import Blueprint

from cloudapi.api.auth import host_required, load_principal
from cloudapi.api.context import body, database, principal
from cloudapi.services import jobs, sealing

bp = Blueprint("internal", __name__)
bp.before_request(load_principal)


@bp.post("/jobs/<job_id>/progress")
@host_required
def job_progress(job_id):
    state = jobs.progress(database(), principal().host, job_id, body())
    return {"job_id": job_id, "state": state}


@bp.put("/agents/key")
@host_required
def agent_key():
    """Register the calling agent's public key: its jobs' secrets are sealed to it."""
    row = sealing.register(database(), principal().host, body())
    return {"agent": row.agent, "key_id": row.key_id, "public_key": row.public_key,
            "created": row.created.isoformat(timespec="seconds")}  # fmt: skip
