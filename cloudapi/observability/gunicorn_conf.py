"""gunicorn's settings file for `cloudapi serve`: Prometheus multiprocess mode, built in.

prometheus_client counts across gunicorn's workers only when PROMETHEUS_MULTIPROC_DIR
names a folder before the first metric is made in each worker, and when the arbiter tells
it, per worker that exits, to drop that worker's live gauges. `cloudapi serve` calls
`prepare` before it execs gunicorn (so the arbiter's environment, and every worker's,
has the folder from the start) and passes this file as `--config`; gunicorn reads it as a
file, not as a module of the package, so the arbiter imports nothing of cloudapi (nor
prometheus_client) before the folder is set. Run `gunicorn -c` on this file directly
and loading it prepares the folder just the same, before gunicorn loads anything else
(a logger class, say, that imports the package).

The folder is a fresh temporary one per server, removed when gunicorn exits, unless
PROMETHEUS_MULTIPROC_DIR was set already: that one is kept, but emptied of the last
run's files at start, as prometheus_client asks (stale files would be summed in).
Only the standard library is imported here.
"""

import glob
import os
import shutil
import tempfile

DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Set to the folder when `prepare` made it, so only a folder of ours is ever removed.
OWNED_VARIABLE = "CLOUDAPI_METRICS_DIR_CREATED"


def prepare(environ=None):
    """Make sure `environ` (default os.environ) names an empty metrics folder; return it."""
    environ = os.environ if environ is None else environ
    path = environ.get(DIR_VARIABLE)
    if path and os.path.isdir(path):
        if environ.get(OWNED_VARIABLE) != path:
            for stale in glob.glob(os.path.join(path, "*.db")):
                os.remove(stale)
        return path
    if path:  # named but missing: make it, and leave it there afterwards
        os.makedirs(path, exist_ok=True)
        return path
    path = tempfile.mkdtemp(prefix="cloudapi-metrics-")
    environ[DIR_VARIABLE] = path
    environ[OWNED_VARIABLE] = path
    return path


def child_exit(server, worker):
    """A worker exited: its live gauges go; its counters stay summed, as counters must."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    path = os.environ.get(DIR_VARIABLE)
    if path and os.environ.get(OWNED_VARIABLE) == path:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__config__":  # loaded by gunicorn as its settings file
    prepare()
