"""Endpoints for host agents only (per-host credentials); customers cannot reach them."""

from flask import Blueprint

from cloudapi.api.auth import host_required, load_principal
from cloudapi.api.context import body, database, principal
from cloudapi.services import jobs

bp = Blueprint("internal", __name__)
bp.before_request(load_principal)


@bp.post("/jobs/<job_id>/progress")
@host_required
def job_progress(job_id):
    state = jobs.progress(database(), principal().host, job_id, body())
    return {"job_id": job_id, "state": state}
