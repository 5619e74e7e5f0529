"""Python values across the boundary: what is stored is what was given, numpy included."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import calprov


def stored(tmp_path, caltable, params):
    registry = calprov.Registry(tmp_path / "reg.sqlite3")
    registry.register_set("s", [{"path": caltable, "table_type": "GA", "order_index": 40}])
    outcome = registry.track_after_solve("/data/obs1.ms", caltable, "gaincal", params)
    assert outcome.status == "tracked", outcome
    return registry.provenance(caltable)["solver_params"], outcome.solver_command


def test_builtin_values_round_trip(tmp_path, caltables):
    params = {
        "vis": "/data/obs1.ms",
        "solint": "inf",
        "minsnr": 3.5,
        "minblperant": 4,
        "solnorm": False,
        "gaintable": ["/cal/a_kcal", "/cal/b_bpcal"],
        "interp": ("nearest", "linear,linear"),
        "spwmap": [[0, 0], []],
        "nested": {"a": {"b": [1, 2.5, None, True]}},
        "unicode": "Ω — ‘quoted’ \\ \n",
        "big": 2**63 + 5,
        "negative": -(2**63),
    }
    back, command = stored(tmp_path, caltables["sim_gacal"], params)
    expected = dict(params, interp=list(params["interp"]))
    assert back == expected
    assert "interp=['nearest', 'linear,linear']" in command
    assert "solnorm=False" in command


def test_non_finite_floats_come_back_as_floats(tmp_path, caltables):
    back, command = stored(
        tmp_path, caltables["sim_gacal"], {"a": float("nan"), "b": float("inf"), "c": -math.inf}
    )
    assert math.isnan(back["a"]) and back["b"] == math.inf and back["c"] == -math.inf


def test_numpy_scalars_and_arrays(tmp_path, caltables):
    params = {
        "i64": np.int64(7),
        "i32": np.int32(-3),
        "u8": np.uint8(200),
        "f32": np.float32(0.25),
        "f64": np.float64(1e-300),
        "flag": np.bool_(True),
        "spw": np.array([0, 1, 3]),
        "grid": np.arange(6, dtype=np.float64).reshape(2, 3),
        "names": np.array(["a", "b"]),
        "nan32": np.float32("nan"),
    }
    back, command = stored(tmp_path, caltables["sim_gacal"], params)
    assert back["i64"] == 7 and isinstance(back["i64"], int)
    assert back["i32"] == -3 and back["u8"] == 200
    assert back["f32"] == 0.25 and back["f64"] == 1e-300
    assert back["flag"] is True
    assert back["spw"] == [0, 1, 3]
    assert back["grid"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert back["names"] == ["a", "b"]
    assert math.isnan(back["nan32"])
    assert "spw=[0, 1, 3]" in command and "flag=True" in command


def test_paths_are_recorded_as_paths(tmp_path, caltables):
    back, _ = stored(
        tmp_path, caltables["sim_gacal"], {"vis": Path("/data/obs1.ms"), "gaintable": [Path("/cal/k")]}
    )
    assert back == {"vis": "/data/obs1.ms", "gaintable": ["/cal/k"]}


def test_none_values_are_dropped_as_unset_arguments(tmp_path, caltables):
    back, command = stored(tmp_path, caltables["sim_gacal"], {"vis": "/x.ms", "refant": None})
    assert back == {"vis": "/x.ms"} and "refant" not in command


def test_render_command_matches_casa_syntax():
    assert (
        calprov.render_command("bandpass", {"vis": "a.ms", "solnorm": True, "gaintable": ("k",), "refant": None})
        == "bandpass(gaintable=['k'], solnorm=True, vis='a.ms')"
    )
    tricky = {"caltable": "it's \"quoted\" \\ back\nslash Ω", "spw": [0, 1], "minsnr": 2.5, "solnorm": False}
    call = ast.parse(calprov.render_command("gaincal", tricky), mode="eval").body
    assert call.func.id == "gaincal"
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == tricky
    with pytest.raises(calprov.InvalidParamsError, match=r"params\['spw'\]"):
        calprov.render_command("gaincal", {"spw": {1}})
    with pytest.raises(calprov.InvalidParamsError, match="mapping"):
        calprov.render_command("gaincal", [1, 2])


def test_metrics_match_the_golden_values(caltables, golden):
    keys = ["n_solutions", "flagged_fraction", "snr_mean", "snr_median", "snr_min", "snr_max", "n_antennas", "n_spws"]
    for name, path in caltables.items():
        metrics = calprov.metrics(path)
        for key in keys:
            if key in golden[name]:
                assert metrics[key] == pytest.approx(golden[name][key], rel=1e-12, abs=1e-12), (name, key)
        assert isinstance(metrics["qa_passed"], bool)


def test_metrics_of_a_missing_table_name_it(tmp_path):
    missing = tmp_path / "nope_gacal"
    with pytest.raises(calprov.CaltableError, match="nope_gacal"):
        calprov.metrics(missing)


def test_casa_version(caltables):
    assert calprov.casa_version(caltables["sim_gacal"]) == "6.7.0.31"
    assert calprov.casa_version(explicit="6.6.1-17") == "6.6.1.17"


def test_registry_location_rules(tmp_path, monkeypatch):
    db = tmp_path / "state" / "deeper" / "cal_registry.sqlite3"
    monkeypatch.setenv("PIPELINE_DB", str(db))
    registry = calprov.Registry()
    assert registry.path == str(db) and registry.rule == "PIPELINE_DB"
    assert db.exists()  # the directory was created, the registry migrated
    monkeypatch.delenv("PIPELINE_DB")
    monkeypatch.setenv("PIPELINE_STATE_DIR", str(tmp_path / "state2"))
    registry = calprov.Registry()
    assert registry.path == str(tmp_path / "state2" / "cal_registry.sqlite3")
    assert calprov.Registry(tmp_path / "explicit.sqlite3").rule == "explicit path"


def test_registry_errors_name_the_input(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(calprov.RegistryError, match=str(a_file)):
        calprov.Registry(a_file / "reg.sqlite3")
    not_sqlite = tmp_path / "garbage.sqlite3"
    not_sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(calprov.RegistryError, match="garbage.sqlite3"):
        calprov.Registry(not_sqlite)
    assert not_sqlite.read_bytes() == b"this is not a database" * 100  # nothing overwritten
    with pytest.raises(calprov.RegistryError, match="PostgreSQL") as unreachable:
        calprov.Registry("postgresql://user:secret@127.0.0.1:1/cal", busy_timeout=2)
    assert "secret" not in str(unreachable.value)
    with pytest.raises(ValueError):
        calprov.Registry(tmp_path / "r.sqlite3", busy_timeout=-1)
    assert issubclass(calprov.RegistryError, calprov.CalprovError)
    assert issubclass(calprov.CalprovError, Exception)


def test_another_sqlite_in_this_process_is_named(tmp_path, caplog):
    """Python's sqlite3 holding the registry open when calprov opens it: calprov warns (the
    two libraries do not see each other's locks; docs/python.md)."""
    import logging
    import sqlite3

    db = tmp_path / "reg.sqlite3"
    calprov.Registry(db).close()
    theirs = sqlite3.connect(db)
    theirs.execute("SELECT count(*) FROM caltables").fetchall()
    try:
        with caplog.at_level(logging.WARNING, logger="calprov"):
            ours = calprov.Registry(db)
        assert "another SQLite library in this process" in caplog.text
        assert str(db) in caplog.text
        ours.close()
    finally:
        theirs.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="calprov"):
        calprov.Registry(db).close()
    assert "another SQLite" not in caplog.text
