"""The Python pipeline's helpers: same names, same signatures, on the pipeline's own registry."""

from __future__ import annotations

import inspect
import json
import logging
import sqlite3
import time
from dataclasses import fields

import pytest

import calprov
from conftest import GAINCAL_PARAMS, PIPELINE_COLUMNS, events, make_pipeline_registry, sql

P = inspect.Parameter

# (name, kind, default) of every parameter, as the pipeline's helpers declare them.
SIGNATURES = {
    "track_calibration_provenance": [
        ("registry_db", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("ms_path", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("caltable_path", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("params", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("metrics", P.POSITIONAL_OR_KEYWORD, None),
        ("solver_command", P.POSITIONAL_OR_KEYWORD, None),
        ("solver_version", P.POSITIONAL_OR_KEYWORD, None),
    ],
    "get_caltable_provenance": [
        ("registry_db", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("caltable_path", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "query_caltables_by_source": [
        ("registry_db", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("ms_path", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "impact_analysis": [
        ("registry_db", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("caltable_paths", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "register_caltable_set": [
        ("db_path", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("set_name", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("rows", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("upsert", P.KEYWORD_ONLY, True),
    ],
    "_track_calibration_provenance": [
        ("ms_path", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("caltable_path", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("task_name", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("params", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("registry_db", P.POSITIONAL_OR_KEYWORD, None),
    ],
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signatures_match_the_pipeline(name):
    signature = inspect.signature(getattr(calprov, name))
    assert [(p.name, p.kind, p.default) for p in signature.parameters.values()] == SIGNATURES[name]


def test_row_classes_have_the_pipeline_fields():
    assert [f.name for f in fields(calprov.CalTable)] == PIPELINE_COLUMNS
    row = calprov.CalTableRow("s", "/p", "GA", 40, "F", "OV03", 60000.0, 60001.0)
    assert row.status == "active" and row.notes is None
    assert [f.name for f in fields(calprov.CalTableRow)] == [c for c in PIPELINE_COLUMNS if c not in ("id", "created_at")]


def pipeline_select(db, path):
    """The pipeline's own read: the 17 columns by name, JSON columns through json.loads."""
    (row,) = sql(db, f"SELECT {', '.join(PIPELINE_COLUMNS)} FROM caltables WHERE path = ?", path)
    record = dict(zip(PIPELINE_COLUMNS, row))
    for column in ("solver_params", "quality_metrics"):
        if record[column] is not None:
            record[column] = json.loads(record[column])
    return record


def test_the_whole_flow_on_the_pipelines_registry(pipeline_db, caltables, golden):
    k, g = caltables["sim_kcal"], caltables["sim_gacal"]
    calprov.register_caltable_set(
        pipeline_db,
        "obs1",
        [
            calprov.CalTableRow("obs1", k, "K", 10, "3C286", "OV03", 60000.0, 60001.0),
            calprov.CalTableRow("obs1", g, "GA", 40, "3C286", "OV03", 60000.0, 60001.0, notes="first"),
        ],
    )
    calprov._track_calibration_provenance("/data/obs1.ms", g, "gaincal", dict(GAINCAL_PARAMS, caltable=g), registry_db=pipeline_db)

    table = calprov.get_caltable_provenance(pipeline_db, g)
    assert isinstance(table, calprov.CalTable)
    assert (table.set_name, table.table_type, table.order_index, table.notes) == ("obs1", "GA", 40, "first")
    assert table.source_ms_path == "/data/obs1.ms"
    assert table.solver_version == "6.7.0.31"
    assert table.solver_command == calprov.render_command("gaincal", dict(GAINCAL_PARAMS, caltable=g))
    assert table.solver_params["solint"] == "int"
    assert table.quality_metrics["n_solutions"] == golden["sim_gacal"]["n_solutions"]
    # The pipeline's own reader still reads what calprov wrote.
    raw = pipeline_select(pipeline_db, g)
    assert raw["solver_params"] == table.solver_params
    assert raw["quality_metrics"]["qa_passed"] is True
    assert calprov.get_caltable_provenance(pipeline_db, "/data/never_registered") is None


def test_track_calibration_provenance_writes_what_it_is_given(pipeline_db, caltables):
    g = caltables["sim_gacal"]
    calprov.register_caltable_set(pipeline_db, "s", [calprov.CalTableRow("s", g, "GA", 40, None, None, None, None)])
    calprov.track_calibration_provenance(
        pipeline_db, "/data/obs1.ms", g, {"solint": "int", "minsnr": float("nan")},
        metrics={"n_solutions": 3}, solver_command="gaincal(solint='int')", solver_version="6.6.1.17",
    )
    raw = pipeline_select(pipeline_db, g)
    assert raw["source_ms_path"] == "/data/obs1.ms"
    assert raw["solver_command"] == "gaincal(solint='int')"
    assert raw["solver_version"] == "6.6.1.17"
    assert raw["solver_params"] == {"solint": "int", "minsnr": "NaN"}  # standard JSON on disk
    assert raw["quality_metrics"] == {"n_solutions": 3}
    # metrics=None writes NULL, as the pipeline's helper did: the call says what the solve was.
    calprov.track_calibration_provenance(pipeline_db, "/data/obs1.ms", g, {"solint": "inf"})
    assert pipeline_select(pipeline_db, g)["quality_metrics"] is None
    assert [e[1] for e in events(pipeline_db)] == ["tracked", "tracked"]
    with pytest.raises(calprov.InvalidParamsError, match=r"solver_params\['x'\]"):
        calprov.track_calibration_provenance(pipeline_db, "/data/obs1.ms", g, {"x": {1}})


def test_track_calibration_provenance_of_an_unregistered_table_warns(pipeline_db, caplog):
    with caplog.at_level(logging.WARNING, logger="calprov"):
        calprov.track_calibration_provenance(pipeline_db, "/data/obs1.ms", "/cal/nope_gacal", {})
    assert "not registered" in caplog.text
    assert sql(pipeline_db, "SELECT count(*) FROM caltables") == [(0,)]


def test_query_by_source_order_and_impact(pipeline_db, caltables):
    rows = [
        calprov.CalTableRow("s", caltables["sim_gacal"], "GA", 40, None, None, None, None),
        calprov.CalTableRow("s", caltables["sim_kcal"], "K", 10, None, None, None, None),
    ]
    calprov.register_caltable_set(pipeline_db, "s", rows)
    time.sleep(0.01)
    calprov.register_caltable_set(pipeline_db, "s", [calprov.CalTableRow("s", caltables["sim_gpcal"], "GP", 40, None, None, None, None)])
    for name in ("sim_gacal", "sim_kcal", "sim_gpcal"):
        calprov._track_calibration_provenance("/data/obs1.ms", caltables[name], "gaincal", {"vis": "/data/obs1.ms"}, pipeline_db)
    calprov._track_calibration_provenance("/data/obs2.ms", caltables["sim_bpcal"], "bandpass", {}, pipeline_db)

    found = calprov.query_caltables_by_source(pipeline_db, "/data/obs1.ms")
    # order_index ascending, then the newest registration first.
    assert [t.path for t in found] == [caltables["sim_kcal"], caltables["sim_gpcal"], caltables["sim_gacal"]]
    assert all(isinstance(t, calprov.CalTable) for t in found)
    assert calprov.query_caltables_by_source(pipeline_db, "/data/none.ms") == []
    assert calprov.impact_analysis(pipeline_db, [caltables["sim_gacal"], caltables["sim_kcal"], "/cal/unknown"]) == ["/data/obs1.ms"]
    assert calprov.impact_analysis(pipeline_db, []) == []


def test_register_keeps_provenance_where_insert_or_replace_erased_it(pipeline_db, caltables):
    g = caltables["sim_gacal"]
    row = calprov.CalTableRow("s", g, "GA", 40, "F", "OV03", 60000.0, 60001.0)
    calprov.register_caltable_set(pipeline_db, "s", [row])
    calprov._track_calibration_provenance("/data/obs1.ms", g, "gaincal", {"solint": "int"}, pipeline_db)
    before = calprov.get_caltable_provenance(pipeline_db, g)

    calprov.register_caltable_set(pipeline_db, "s", [calprov.CalTableRow("s", g, "GA", 40, "F", "OV04", 60000.0, 60002.0, notes="re-registered")])
    after = calprov.get_caltable_provenance(pipeline_db, g)
    assert after.id == before.id
    assert (after.refant, after.valid_end_mjd, after.notes) == ("OV04", 60002.0, "re-registered")
    assert (after.source_ms_path, after.solver_command, after.quality_metrics) == (
        before.source_ms_path, before.solver_command, before.quality_metrics,
    )
    # Registry.register_set takes the row classes too.
    summary = calprov.Registry(pipeline_db).register_set("s", [row], upsert=False)
    assert summary == {"inserted": 0, "updated": 0, "ignored": 1}
    # upsert=False leaves the existing row alone.
    calprov.register_caltable_set(pipeline_db, "s", [calprov.CalTableRow("s", g, "GA", 40, None, "OV09", None, None)], upsert=False)
    assert calprov.get_caltable_provenance(pipeline_db, g).refant == "OV04"


def test_register_rejects_bad_rows_and_writes_nothing(pipeline_db):
    good = calprov.CalTableRow("s", "/cal/a_gacal", "GA", 40, None, None, None, None)
    with pytest.raises(ValueError, match='unknown field "colour"'):
        calprov.register_caltable_set(pipeline_db, "s", [good, {"path": "/cal/b", "table_type": "GA", "order_index": 1, "colour": "red"}])
    with pytest.raises(calprov.RegistryError, match="status"):
        calprov.register_caltable_set(pipeline_db, "s", [good, calprov.CalTableRow("s", "/cal/b", "GA", 40, None, None, None, None, status="bogus")])
    with pytest.raises(TypeError, match="order_index"):
        calprov.register_caltable_set(pipeline_db, "s", [{"path": "/cal/b", "table_type": "GA", "order_index": "first"}])
    assert sql(pipeline_db, "SELECT count(*) FROM caltables") == [(0,)]


def test_the_hook_never_raises(tmp_path, caltables, caplog):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    pipeline = make_pipeline_registry(tmp_path / "p.sqlite3")
    with caplog.at_level(logging.WARNING, logger="calprov"):
        # A registry that cannot be opened, one that is not SQLite, unrecordable params,
        # a caltable that is not registered, arguments of the wrong type.
        assert calprov._track_calibration_provenance("/d.ms", caltables["sim_gacal"], "gaincal", {}, a_file / "r.sqlite3") is None
        assert calprov._track_calibration_provenance("/d.ms", caltables["sim_gacal"], "gaincal", {}, garbage) is None
        assert calprov._track_calibration_provenance("/d.ms", caltables["sim_gacal"], "gaincal", {"x": {1}}, pipeline) is None
        assert calprov._track_calibration_provenance("/d.ms", caltables["sim_gacal"], "gaincal", {}, pipeline) is None
        assert calprov._track_calibration_provenance(None, 42, None, None, pipeline) is None
    messages = caplog.text
    assert "r.sqlite3" in messages and "garbage.sqlite3" in messages
    assert "invalid_params" in messages and "not registered" in messages
    assert garbage.read_bytes() == b"not a database" * 100
    # The failures the registry could take are counted.
    assert sorted(e[1] for e in events(pipeline)) == ["failed", "not_registered"]


def test_the_legacy_registry_shape_is_adopted_in_place(tmp_path, caltables):
    db = tmp_path / "legacy.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(
        """CREATE TABLE caltables (id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
        table_type TEXT NOT NULL, order_index INTEGER NOT NULL, cal_field TEXT, refant TEXT,
        created_at REAL NOT NULL, valid_start_mjd REAL, valid_end_mjd REAL, status TEXT NOT NULL, notes TEXT);
        CREATE INDEX idx_caltables_set ON caltables(set_name);"""
    )
    conn.execute(
        "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status) VALUES ('old', ?, 'GA', 40, 1.7e9, 'active')",
        (caltables["sim_gacal"],),
    )
    conn.commit()
    conn.close()
    calprov._track_calibration_provenance("/data/old.ms", caltables["sim_gacal"], "gaincal", {"solint": "int"}, db)
    table = calprov.get_caltable_provenance(db, caltables["sim_gacal"])
    assert (table.set_name, table.created_at, table.source_ms_path) == ("old", 1.7e9, "/data/old.ms")
    assert pipeline_select(db, caltables["sim_gacal"])["solver_params"] == {"solint": "int"}
