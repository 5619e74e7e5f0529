#!/usr/bin/env python3
"""A stand-in for the Python pipeline: standard library only (sqlite3, json).

It creates registries exactly as the pipeline does (DESIGN.md section 2 DDL, rows written with
json.dumps, NaN included), lets `calprov init` adopt them, and reads them back the way the
pipeline does: SELECT of the 17 columns by name and json.loads. Then the reverse: rows that
`calprov register` / `calprov track` wrote must read correctly here.

Usage: pipeline_client.py CALPROV_BINARY WORK_DIR [N_ROWS]
Prints one line per check and exits non-zero on the first mismatch.
"""
import json
import math
import os
import sqlite3
import subprocess
import sys

LEGACY_DDL = """
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
    notes TEXT
);
CREATE INDEX IF NOT EXISTS idx_caltables_set ON caltables(set_name);
CREATE INDEX IF NOT EXISTS idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);
"""
PROVENANCE = ["source_ms_path", "solver_command", "solver_version", "solver_params", "quality_metrics"]
COLUMNS = ["id", "set_name", "path", "table_type", "order_index", "cal_field", "refant",
           "created_at", "valid_start_mjd", "valid_end_mjd", "status", "notes"] + PROVENANCE


def create(path, n_provenance, n_rows):
    """Creates a registry with the first n_provenance provenance columns, as the pipeline's
    migration does one ALTER at a time."""
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_DDL)
    for col in PROVENANCE[:n_provenance]:
        conn.execute(f"ALTER TABLE caltables ADD COLUMN {col} TEXT")
    if n_provenance == len(PROVENANCE):
        conn.execute("CREATE INDEX IF NOT EXISTS idx_caltables_source ON caltables(source_ms_path)")
    rows = []
    for i in range(n_rows):
        row = {
            "set_name": f"set{i % 7}", "path": f"/data/cal/obs{i}_{['kcal', 'bpcal', 'gacal'][i % 3]}",
            "table_type": ["K", "BP", "GA"][i % 3], "order_index": [10, 30, 40][i % 3],
            "cal_field": None if i % 5 == 0 else "CAL_FLUX", "refant": "OV03' ; DROP TABLE x; --",
            "created_at": 1.7e9 + i * 0.25, "valid_start_mjd": 60000.5 + i if i % 4 else None,
            "valid_end_mjd": 60001.5 + i if i % 4 else None, "status": "active",
            "notes": "naïve ✓ \"quoted\"\nline" if i % 2 else None,
        }
        prov = {
            "source_ms_path": f"/data/ms/obs{i}.ms",
            "solver_command": f"gaincal(vis='/data/ms/obs{i}.ms')",
            "solver_version": "6.7.0.31",
            "solver_params": json.dumps({"vis": f"/data/ms/obs{i}.ms", "minsnr": 3.0, "uvrange": math.nan}),
            "quality_metrics": json.dumps({"snr_mean": math.inf if i % 3 == 0 else 12.5,
                                           "snr_min": -math.inf, "n_solutions": i}),
        }
        for col in PROVENANCE[:n_provenance]:
            row[col] = prov[col]
        cols = list(row)
        conn.execute(f"INSERT INTO caltables ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [row[c] for c in cols])
        rows.append(row)
    conn.commit()
    conn.close()
    return rows


def read_all(path):
    """Reads every row the way the pipeline does."""
    conn = sqlite3.connect(path)
    cur = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM caltables ORDER BY id")
    out = []
    for values in cur.fetchall():
        rec = dict(zip(COLUMNS, values))
        for col in ("solver_params", "quality_metrics"):
            if rec[col] is not None:
                rec[col] = json.loads(rec[col])
        out.append(rec)
    conn.close()
    return out


def same(a, b):
    """Equality that treats NaN as equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def calprov(binary, db, *args):
    proc = subprocess.run([binary, "--db", db, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"calprov {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def check_adoption(binary, work, name, n_provenance, n_rows):
    db = os.path.join(work, f"{name}.sqlite3")
    written = create(db, n_provenance, n_rows)
    before = read_all(db) if n_provenance == len(PROVENANCE) else None
    calprov(binary, db, "init")
    after = read_all(db)
    if len(after) != len(written):
        fail(f"{name}: {len(written)} rows written, {len(after)} after init")
    for row, rec in zip(written, after):
        for col, value in row.items():
            expected = json.loads(value) if col in ("solver_params", "quality_metrics") else value
            if not same(expected, rec[col]):
                fail(f"{name}: row {rec['id']} column {col}: {expected!r} became {rec[col]!r}")
        for col in PROVENANCE[n_provenance:]:
            if rec[col] is not None:
                fail(f"{name}: added column {col} is not NULL")
    if before is not None and not all(same(x, y) for x, y in zip(before, after)):
        fail(f"{name}: rows changed")
    # The pipeline keeps writing after calprov adopted the file.
    conn = sqlite3.connect(db)
    conn.execute("INSERT OR REPLACE INTO caltables (set_name, path, table_type, order_index, created_at, status, "
                 "solver_params) VALUES ('py', '/data/cal/py_kcal', 'K', 10, 1.0, 'active', ?)",
                 [json.dumps({"x": math.nan})])
    conn.commit()
    conn.close()
    shown = json.loads(calprov(binary, db, "show", "/data/cal/py_kcal", "--json"))
    if shown["data"]["solver_params"] != {"x": "NaN"}:
        fail(f"{name}: calprov read {shown['data']['solver_params']!r} for a Python NaN")
    print(f"ok adoption {name}: {n_rows} rows intact")


def check_reverse(binary, work):
    db = os.path.join(work, "reverse.sqlite3")
    create(db, 5, 3)
    path = "/data/cal/it's \"new\"; DROP TABLE caltables;_gacal"
    calprov(binary, db, "register", "--set", "rev", "--path", path, "--type", "GA", "--order", "40",
            "--refant", "OV03", "--valid-start", "60000.25", "--valid-end", "60001.75", "--notes", "naïve ✓")
    calprov(binary, db, "track", "--caltable", path, "--source-ms", "/data/ms/x.ms",
            "--solver-command", "gaincal(vis='/data/ms/x.ms')", "--solver-version", "6.7.0.31",
            "--params", json.dumps({"vis": "/data/ms/x.ms", "gaintable": ["a", "b"], "minsnr": 3.5, "bad": math.nan}),
            "--metrics", json.dumps({"n_solutions": 1680, "snr_mean": 12.874, "qa_passed": True}))
    recs = {r["path"]: r for r in read_all(db)}
    if len(recs) != 4:
        fail(f"reverse: expected 4 rows, found {len(recs)}")
    rec = recs[path]
    expected = {
        "set_name": "rev", "table_type": "GA", "order_index": 40, "refant": "OV03", "status": "active",
        "valid_start_mjd": 60000.25, "valid_end_mjd": 60001.75, "notes": "naïve ✓",
        "source_ms_path": "/data/ms/x.ms", "solver_command": "gaincal(vis='/data/ms/x.ms')",
        "solver_version": "6.7.0.31",
        "solver_params": {"vis": "/data/ms/x.ms", "gaintable": ["a", "b"], "minsnr": 3.5, "bad": "NaN"},
        "quality_metrics": {"n_solutions": 1680, "snr_mean": 12.874, "qa_passed": True},
    }
    for col, value in expected.items():
        if not same(value, rec[col]):
            fail(f"reverse: column {col}: expected {value!r}, read {rec[col]!r}")
    if not isinstance(rec["created_at"], float):
        fail("reverse: created_at is not REAL")
    print("ok reverse: calprov rows read by the pipeline")


def main():
    binary, work = sys.argv[1], sys.argv[2]
    n_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    check_adoption(binary, work, "legacy", 0, n_rows)
    check_adoption(binary, work, "partial2", 2, n_rows)
    check_adoption(binary, work, "partial4", 4, n_rows)
    check_adoption(binary, work, "current", 5, n_rows)
    check_reverse(binary, work)
    print("all python compatibility checks passed")


if __name__ == "__main__":
    main()
