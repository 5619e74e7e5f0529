"""`track_after_solve` from Python on the real `sim_gacal` against a 100k-row registry, next to
the whole `calprov track` process measured in the same run.

Run by `cargo xtask bench` (which holds the median to its budget) or by hand:

    python crates/calprov-py/bench/track_bench.py --cli target/release/calprov [--quick] [--json OUT]

Every figure is a median of single calls timed with `perf_counter_ns`. The same-run baselines:
reading every file of the table from the page cache (what any reader pays), and
`calprov --version` (what any process pays).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import calprov

REPO = Path(__file__).resolve().parents[3]
SIM_GACAL = REPO / "testdata" / "caltables" / "sim_gacal"
ROWS = 100_000

LEGACY_DDL = """
CREATE TABLE caltables (
    id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    table_type TEXT NOT NULL, order_index INTEGER NOT NULL, cal_field TEXT, refant TEXT,
    created_at REAL NOT NULL, valid_start_mjd REAL, valid_end_mjd REAL, status TEXT NOT NULL, notes TEXT);
CREATE INDEX idx_caltables_set ON caltables(set_name);
CREATE INDEX idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);
"""

PARAMS = {
    "vis": "/data/ms/bench.ms", "gaintype": "G", "calmode": "ap", "solint": "int",
    "refant": "OV03", "minsnr": 3.0, "gaintable": ["/cal/k", "/cal/b"],
}


def write_registry(path: Path) -> None:
    """The same 100k-row legacy registry as the Rust bench (closed before calprov opens it:
    two SQLite copies must not share a file in one process)."""
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_DDL)
    types = [("kcal", "K", 10), ("bpcal", "BP", 30), ("gacal", "GA", 40)]
    conn.executemany(
        "INSERT INTO caltables (set_name, path, table_type, order_index, cal_field, refant, created_at, "
        "valid_start_mjd, valid_end_mjd, status) VALUES (?, ?, ?, ?, 'CAL_FLUX', 'OV03', ?, ?, ?, 'active')",
        (
            (f"set{i // 3}", f"/data/cal/obs{i // 3:07}_{types[i % 3][0]}", types[i % 3][1], types[i % 3][2],
             1.7e9 + i, 60000.0 + (i // 3) * 0.01, 60001.0 + (i // 3) * 0.01)
            for i in range(ROWS)
        ),
    )
    conn.commit()
    conn.close()


def timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def read_files(table: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(table):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                total += len(f.read())
    return total


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the calprov binary")
    parser.add_argument("--quick", action="store_true", help="fewer samples (CI)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    n_track, n_process = (200, 30) if args.quick else (1000, 100)

    with tempfile.TemporaryDirectory(prefix="calprov-py-bench-") as tmp:
        tmp = Path(tmp)
        caltable = tmp / "bench_gacal"
        shutil.copytree(SIM_GACAL, caltable)
        db = tmp / "registry.sqlite3"
        write_registry(db)
        registry = calprov.Registry(db)
        registry.register_set("bench", [{"path": str(caltable), "table_type": "GA", "order_index": 40}])
        params = dict(PARAMS, caltable=str(caltable))

        def track() -> None:
            outcome = registry.track_after_solve("/data/ms/bench.ms", caltable, "gaincal", params)
            if outcome.status != "tracked":
                raise SystemExit(f"the bench's call did not track: {outcome!r}")

        timed(track, 20)  # warm: page cache, version cache, prepared statements
        floor = timed(lambda: read_files(caltable), n_track)
        python_track = timed(track, n_track)
        registry.close()

        env = dict(os.environ, PIPELINE_DB=str(db))
        track_cmd = [
            args.cli, "track", "--caltable", str(caltable), "--task", "gaincal",
            "--ms", "/data/ms/bench.ms", "--params", json.dumps(params),
        ]
        version_cmd = [args.cli, "--version"]
        run = lambda cmd: subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: E731
        timed(lambda: run(track_cmd), 5)
        # Pairs back to back, so the machine's drift hits both alike.
        cli_track, cli_version = [], []
        for _ in range(n_process):
            cli_track += timed(lambda: run(track_cmd), 1)
            cli_version += timed(lambda: run(version_cmd), 1)

    figures = {
        "python_track_ms": statistics.median(python_track),
        "python_track_p99_ms": percentile(python_track, 0.99),
        "io_floor_ms": statistics.median(floor),
        "cli_track_ms": statistics.median(cli_track),
        "cli_version_ms": statistics.median(cli_version),
        "samples": {"python_track": len(python_track), "cli": len(cli_track)},
    }
    figures["cli_over_python"] = figures["cli_track_ms"] / figures["python_track_ms"]
    print(
        f"python track_after_solve (sim_gacal, 100k rows): median {figures['python_track_ms']:.3f} ms, "
        f"p99 {figures['python_track_p99_ms']:.3f} ms; page-cache floor {figures['io_floor_ms']:.3f} ms\n"
        f"the same call as a process (calprov track): median {figures['cli_track_ms']:.3f} ms "
        f"({figures['cli_over_python']:.1f}x), calprov --version {figures['cli_version_ms']:.3f} ms"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
