"""What every bench script does before it measures: the right Python, clean stops, a database.

The scripts run as `python3 bench/<name>.py` as well as under .venv: they restart
themselves under .venv when the packages are missing. A benchmark creates throwaway
databases and starts servers, so a signal must unwind it like Ctrl-C does and let its
`finally` blocks drop and kill them.
"""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def use_project_venv(*modules):
    """Re-run under the project's .venv when one of `modules` cannot be imported here.

    Also puts the repository on sys.path, so that `cloudapi`, `bench` and `tests` import
    from this checkout whatever the current directory.
    """
    try:
        for module in modules:
            __import__(module)
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1]:
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        raise SystemExit("cloudapi's packages are missing: run bin/setup first") from None
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def stop_cleanly_on_signals():
    """Unwind on SIGINT, SIGTERM and SIGHUP, even where the caller left SIGINT ignored.

    A shell's background job starts with SIGINT ignored; without this, Ctrl-C or a kill
    would leave the servers running and the throwaway databases behind.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)


def add_admin_url_option(parser):
    """--admin-url: the PostgreSQL server where the bench may create and drop databases."""
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("CLOUDAPI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL to create/drop the throwaway database with",
    )


def admin_url(url):
    """`url` with psycopg 3 as its driver: a bare postgresql:// would ask for psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
