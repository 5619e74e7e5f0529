"""Concurrent use: 8 Python processes on one registry, and 8 threads of one process."""

from __future__ import annotations

import subprocess
import sys
import threading

import calprov
from conftest import GAINCAL_PARAMS, sql

PER_WORKER = 25

WORKER = """
import sys
import calprov

db, caltable, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
registry = calprov.Registry(db)
bad = []
for i in range(n):
    solved = registry.track_after_solve(
        f"/data/w{worker}.ms", caltable, "gaincal", {"vis": f"/data/w{worker}.ms", "solint": "int", "i": i}
    )
    applied = registry.record_application(
        {"vis": f"/data/target_w{worker}_{i}.ms", "gaintable": [caltable]}
    )
    bad += [o for o in (solved, applied) if o.status != "tracked"]
print(len(bad), [repr(o) for o in bad][:3])
"""


def copies(tmp_path, caltables, n):
    import shutil

    paths = []
    for w in range(n):
        path = tmp_path / f"w{w}_gacal"
        shutil.copytree(caltables["sim_gacal"], path)
        paths.append(str(path))
    return paths


def check_everything_recorded(db, paths):
    assert sql(db, "SELECT outcome, count(*) FROM calprov_tracking_events GROUP BY outcome") == [
        ("tracked", 2 * PER_WORKER * len(paths))
    ]
    solves = dict(sql(db, "SELECT caltable_path, count(*) FROM calprov_solves GROUP BY caltable_path"))
    assert solves == {p: PER_WORKER for p in paths}
    assert sql(db, "SELECT count(*) FROM calprov_applications") == [(PER_WORKER * len(paths),)]
    # Every application pinned its table to a solve recorded before it.
    assert sql(db, "SELECT count(*) FROM calprov_application_tables WHERE solve_id IS NULL") == [(0,)]


def test_eight_processes(tmp_path, caltables):
    db = tmp_path / "reg.sqlite3"
    paths = copies(tmp_path, caltables, 8)
    with calprov.Registry(db) as registry:
        registry.register_set("s", [{"path": p, "table_type": "GA", "order_index": 40} for p in paths])
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), path, str(w), str(PER_WORKER)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for w, path in enumerate(paths)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert out.startswith("0 "), out
    check_everything_recorded(db, paths)


def test_eight_threads_sharing_one_registry(tmp_path, caltables):
    db = tmp_path / "reg.sqlite3"
    paths = copies(tmp_path, caltables, 8)
    registry = calprov.Registry(db)
    registry.register_set("s", [{"path": p, "table_type": "GA", "order_index": 40} for p in paths])
    bad: list = []

    def work(w: int, path: str) -> None:
        for i in range(PER_WORKER):
            solved = registry.track_after_solve(f"/data/w{w}.ms", path, "gaincal", dict(GAINCAL_PARAMS, i=i))
            applied = registry.record_application({"vis": f"/data/t{w}_{i}.ms", "gaintable": [path]})
            bad.extend(o for o in (solved, applied) if o.status != "tracked")

    threads = [threading.Thread(target=work, args=(w, p)) for w, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
    registry.close()
    check_everything_recorded(db, paths)


def test_eight_threads_with_a_registry_each(tmp_path, caltables):
    db = tmp_path / "reg.sqlite3"
    paths = copies(tmp_path, caltables, 8)
    with calprov.Registry(db) as registry:
        registry.register_set("s", [{"path": p, "table_type": "GA", "order_index": 40} for p in paths])
    bad: list = []

    def work(w: int, path: str) -> None:
        with calprov.Registry(db) as own:
            for i in range(PER_WORKER):
                solved = own.track_after_solve(f"/data/w{w}.ms", path, "gaincal", dict(GAINCAL_PARAMS, i=i))
                applied = own.record_application({"vis": f"/data/t{w}_{i}.ms", "gaintable": [path]})
                bad.extend(o for o in (solved, applied) if o.status != "tracked")

    threads = [threading.Thread(target=work, args=(w, p)) for w, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
    check_everything_recorded(db, paths)


def test_the_legacy_hook_from_threads(tmp_path, caltables):
    """The hook's per-process registry cache is shared by threads without races."""
    db = tmp_path / "reg.sqlite3"
    paths = copies(tmp_path, caltables, 8)
    calprov.register_caltable_set(db, "s", [calprov.CalTableRow("s", p, "GA", 40, None, None, None, None) for p in paths])

    def work(w: int, path: str) -> None:
        for i in range(PER_WORKER):
            calprov._track_calibration_provenance(f"/data/w{w}.ms", path, "gaincal", {"i": i}, db)

    threads = [threading.Thread(target=work, args=(w, p)) for w, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sql(db, "SELECT outcome, count(*) FROM calprov_tracking_events GROUP BY outcome") == [("tracked", PER_WORKER * 8)]
