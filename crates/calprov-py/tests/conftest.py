"""Fixtures of the calprov Python tests: real CASA caltables, real registries (one made by
the Python pipeline's own DDL), and the real `calprov` CLI binary."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TESTDATA = REPO / "testdata" / "caltables"
REAL_TABLES = ["sim_gacal", "sim_bpcal", "sim_gpcal", "sim_kcal", "sim_flagged_gpcal"]

# The Python pipeline's registry DDL (DESIGN.md section 2), as its schema code runs it.
PIPELINE_DDL = """
CREATE TABLE IF NOT EXISTS caltables (
    id INTEGER PRIMARY KEY,
    set_name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    table_type TEXT NOT NULL,
    order_index INTEGER NOT NULL,
    cal_field TEXT,
    refant TEXT,
    created_at REAL NOT NULL,
    valid_start_mjd REAL,
    valid_end_mjd REAL,
    status TEXT NOT NULL,
    notes TEXT,
    source_ms_path TEXT,
    solver_command TEXT,
    solver_version TEXT,
    solver_params TEXT,
    quality_metrics TEXT
);
CREATE INDEX IF NOT EXISTS idx_caltables_set ON caltables(set_name);
CREATE INDEX IF NOT EXISTS idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);
CREATE INDEX IF NOT EXISTS idx_caltables_source ON caltables(source_ms_path);
"""

PIPELINE_COLUMNS = [
    "id", "set_name", "path", "table_type", "order_index", "cal_field", "refant", "created_at",
    "valid_start_mjd", "valid_end_mjd", "status", "notes", "source_ms_path", "solver_command",
    "solver_version", "solver_params", "quality_metrics",
]


@pytest.fixture
def caltables(tmp_path: Path) -> dict[str, str]:
    """Copies of the real CASA caltables, by name."""
    out = {}
    for name in REAL_TABLES:
        shutil.copytree(TESTDATA / name, tmp_path / name)
        out[name] = str(tmp_path / name)
    return out


@pytest.fixture
def golden() -> dict[str, dict]:
    """The golden metrics of the real caltables (computed by python-casacore + numpy)."""
    import json

    return {n: json.loads((TESTDATA / f"{n}.metrics.json").read_text()) for n in REAL_TABLES}


def make_pipeline_registry(path: Path) -> Path:
    """A registry exactly as the Python pipeline creates it (no calprov tables)."""
    conn = sqlite3.connect(path)
    conn.executescript(PIPELINE_DDL)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def pipeline_db(tmp_path: Path) -> Path:
    return make_pipeline_registry(tmp_path / "pipeline_registry.sqlite3")


@pytest.fixture(scope="session")
def cli() -> str:
    """The calprov binary: $CALPROV_CLI, else the workspace's build. Never skipped: the
    interoperability tests need the real CLI."""
    explicit = os.environ.get("CALPROV_CLI")
    candidates = [explicit] if explicit else [
        str(REPO / "target" / "release" / "calprov"),
        str(REPO / "target" / "debug" / "calprov"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    subprocess.run(["cargo", "build", "-q", "-p", "calprov-cli"], cwd=REPO, check=True)
    return str(REPO / "target" / "debug" / "calprov")


def run_cli(cli: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PIPELINE_DB", "CAL_REGISTRY_DB", "PIPELINE_STATE_DIR")}
    return subprocess.run([cli, *args], capture_output=True, text=True, check=check, env=env)


def sql(db: Path | str, query: str, *params) -> list[tuple]:
    """Runs one query on the registry in another process, as the Python pipeline's own code
    would, and returns its rows.

    Another process, because this one has calprov's SQLite loaded: a second SQLite library
    in the same process (Python's `sqlite3`) does not see calprov's locks, and closing its
    connection can checkpoint and remove the WAL under calprov's (docs/python.md)."""
    script = (
        "import json, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "rows = conn.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()\n"
        "conn.commit()\n"
        "print(json.dumps(rows))\n"
    )
    import json

    done = subprocess.run(
        [sys.executable, "-c", script, str(db), query, json.dumps(list(params))],
        capture_output=True, text=True, check=True,
    )
    return [tuple(r) for r in json.loads(done.stdout)]


def events(db: Path | str) -> list[tuple]:
    """calprov's tracking events: (caltable_path, outcome, failure_kind)."""
    return sql(db, "SELECT caltable_path, outcome, failure_kind FROM calprov_tracking_events ORDER BY id")


GAINCAL_PARAMS = {
    "vis": "/data/obs1.ms",
    "caltable": None,
    "gaintype": "G",
    "calmode": "ap",
    "solint": "int",
    "refant": "OV03",
    "minsnr": 3.0,
}


@contextlib.contextmanager
def lock_held_by_another_process(db: Path | str):
    """Another process holds the registry's write lock until the block ends.

    Another process, not a `sqlite3` connection of this one: calprov's extension carries its
    own SQLite, and two SQLite copies in one process do not see each other's POSIX locks
    (docs/python.md)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
