"""The jobs a host agent finished: ``<state_dir>/done-jobs``, so a redelivery runs none twice.

Append-only, one JSON line per job (id, outcome, message), fsynced before the message is
acked (cloudapi/agent/consumer.py says why).
"""

import json
import os
from pathlib import Path


class DoneJobs:
    """The jobs this host finished, kept in an append-only file of JSON lines."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._done = {}
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
                self._done[entry["job_id"]] = (entry["status"], entry.get("message"))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash while writing it: that job runs again

    def get(self, job_id):
        """``(status, message)`` of a finished job, or None."""
        return self._done.get(job_id)

    def __contains__(self, job_id):
        return job_id in self._done

    def __len__(self):
        return len(self._done)

    def add(self, job_id, status, message=None):
        line = json.dumps({"job_id": job_id, "status": status, "message": message})
        with open(self.path, "a") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())
        self._done[job_id] = (status, message)
