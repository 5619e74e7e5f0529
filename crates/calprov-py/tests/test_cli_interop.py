"""One registry, two front ends: what Python writes the CLI reads, and the other way round."""

from __future__ import annotations

import json

import calprov
from conftest import GAINCAL_PARAMS, run_cli


def test_python_writes_the_cli_reads(tmp_path, caltables, cli):
    db = tmp_path / "reg.sqlite3"
    k, g = caltables["sim_kcal"], caltables["sim_gacal"]
    with calprov.Registry(db) as registry:
        registry.register_set(
            "obs1",
            [
                {"path": k, "table_type": "K", "order_index": 10},
                {"path": g, "table_type": "GA", "order_index": 40, "refant": "OV03"},
            ],
        )
        registry.track_after_solve("/data/cal.ms", k, "gaincal", {"vis": "/data/cal.ms", "gaintype": "K"})
        tracked = registry.track_after_solve("/data/cal.ms", g, "gaincal", dict(GAINCAL_PARAMS, gaintable=[k]))
        registry.record_application({"vis": "/data/target.ms", "gaintable": [k, g]})
        from_python = registry.provenance(g)
        impact_from_python = registry.impact(k)

    shown = json.loads(run_cli(cli, "--db", str(db), "show", g, "--json").stdout)
    assert shown["type"] == "show"
    record = shown["data"]
    assert record["solver_command"] == tracked.solver_command == from_python["solver_command"]
    assert record["source_ms_path"] == "/data/cal.ms"
    assert record["refant"] == "OV03"
    assert record["quality_metrics"]["n_solutions"] == from_python["quality_metrics"]["n_solutions"]
    impact = json.loads(run_cli(cli, "--db", str(db), "impact", k, "--json").stdout)
    assert impact["data"] == impact_from_python["ms"] == ["/data/cal.ms", "/data/target.ms"]


def test_the_cli_writes_python_reads(tmp_path, caltables, cli):
    db = tmp_path / "reg.sqlite3"
    g = caltables["sim_gacal"]
    run_cli(cli, "--db", str(db), "register", "--path", g, "--type", "GA", "--order", "40", "--set", "obs1")
    run_cli(
        cli, "--db", str(db), "track", "--caltable", g, "--task", "gaincal", "--ms", "/data/cli.ms",
        "--params", json.dumps({"vis": "/data/cli.ms", "solint": "60s", "minsnr": 3}),
    )
    run_cli(cli, "--db", str(db), "applied", "--params", json.dumps({"vis": "/data/t.ms", "gaintable": [g]}))

    with calprov.Registry(db) as registry:
        record = registry.provenance(g)
        assert record["source_ms_path"] == "/data/cli.ms"
        assert record["solver_params"] == {"vis": "/data/cli.ms", "solint": "60s", "minsnr": 3}
        assert record["solver_command"] == calprov.render_command("gaincal", record["solver_params"])
        assert registry.impact(g)["ms"] == ["/data/cli.ms", "/data/t.ms"]
        assert len(registry.history(g)) == 1
        # Python tracks on top of the CLI's solve: both in the history, in order.
        assert registry.track_after_solve("/data/cli.ms", g, "gaincal", {"vis": "/data/cli.ms"}).status == "tracked"
        assert [h["version"] for h in registry.history(g)] == [1, 2]
    table = calprov.get_caltable_provenance(db, g)
    assert table.set_name == "obs1" and table.solver_params == {"vis": "/data/cli.ms"}


def test_both_count_the_same_failures(tmp_path, caltables, cli):
    db = tmp_path / "reg.sqlite3"
    with calprov.Registry(db) as registry:
        registry.track_after_solve("/d.ms", caltables["sim_gacal"], "gaincal", {})  # not registered
        registry.track_after_solve("/d.ms", caltables["sim_gacal"], "gaincal", {"x": {1}})  # invalid
    stats = json.loads(run_cli(cli, "--db", str(db), "stats", "--json").stdout)
    text = json.dumps(stats)
    assert "not_registered" in text and "invalid_params" in text
