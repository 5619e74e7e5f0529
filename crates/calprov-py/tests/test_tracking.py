"""Tracking from Python: every outcome, strict and not, on real caltables and registries."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

import calprov
from conftest import GAINCAL_PARAMS, events, lock_held_by_another_process


def registered(db: Path, *paths: str) -> calprov.Registry:
    registry = calprov.Registry(db)
    registry.register_set(
        "obs1", [{"path": p, "table_type": "GA", "order_index": 40} for p in paths]
    )
    return registry


def test_tracked_records_every_part(tmp_path, caltables, golden):
    db = tmp_path / "reg.sqlite3"
    registry = registered(db, caltables["sim_gacal"])
    params = dict(GAINCAL_PARAMS, caltable=caltables["sim_gacal"])

    outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", params)

    assert outcome.status == "tracked" and outcome.ok
    assert outcome.failure_kind is None and outcome.message is None and outcome.missing == {}
    assert outcome.latency_ms > 0
    assert outcome.solver_version == "6.7.0.31"  # the caltable's CASA_Version keyword
    assert outcome.solver_command == calprov.render_command("gaincal", params)
    record = registry.provenance(caltables["sim_gacal"])
    assert record["source_ms_path"] == "/data/obs1.ms"
    assert record["solver_command"] == outcome.solver_command
    assert record["solver_params"] == {k: v for k, v in params.items() if v is not None}
    metrics = record["quality_metrics"]
    assert metrics["n_solutions"] == golden["sim_gacal"]["n_solutions"]
    assert metrics["flagged_fraction"] == golden["sim_gacal"]["flagged_fraction"]
    assert metrics["qa_passed"] is outcome.qa_passed is True
    assert events(db) == [(caltables["sim_gacal"], "tracked", None)]


def test_partial_when_the_table_cannot_be_read(tmp_path, caltables, monkeypatch):
    monkeypatch.delenv("CASA_VERSION", raising=False)
    not_a_table = tmp_path / "obs1_gacal"
    not_a_table.mkdir()
    db = tmp_path / "reg.sqlite3"
    registry = registered(db, str(not_a_table))

    outcome = registry.track_after_solve("/data/obs1.ms", not_a_table, "gaincal", GAINCAL_PARAMS)

    assert outcome.status == "partial" and outcome.ok
    assert "quality_metrics" in outcome.missing
    assert str(not_a_table) in outcome.missing["quality_metrics"]
    # What could be recorded was: the source MS and the command.
    record = registry.provenance(not_a_table)
    assert record["source_ms_path"] == "/data/obs1.ms"
    assert record["solver_command"].startswith("gaincal(")
    assert record["quality_metrics"] is None
    assert [e[1] for e in events(db)] == ["partial"]
    with pytest.raises(calprov.TrackingError) as raised:
        registry.track_after_solve("/data/obs1.ms", not_a_table, "gaincal", GAINCAL_PARAMS, strict=True)
    assert raised.value.status == raised.value.kind == "partial"
    assert "quality_metrics" in str(raised.value)


def test_not_registered_writes_no_row(tmp_path, caltables, caplog):
    db = tmp_path / "reg.sqlite3"
    registry = calprov.Registry(db)
    with caplog.at_level(logging.WARNING, logger="calprov"):
        outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS)
    assert outcome.status == "not_registered" and not outcome.ok
    assert registry.provenance(caltables["sim_gacal"]) is None
    assert events(db) == [(caltables["sim_gacal"], "not_registered", None)]
    assert any("not registered" in r.getMessage() for r in caplog.records)
    with pytest.raises(calprov.TrackingError) as raised:
        registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS, strict=True)
    assert raised.value.status == raised.value.kind == "not_registered"
    assert raised.value.caltable == caltables["sim_gacal"]


def test_failed_when_another_process_holds_the_lock(tmp_path, caltables):
    db = tmp_path / "reg.sqlite3"
    registered(db, caltables["sim_gacal"]).close()
    registry = calprov.Registry(db, busy_timeout=0.2)
    with lock_held_by_another_process(db):
        started = time.monotonic()
        outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS)
        waited = time.monotonic() - started
        assert outcome.status == "failed"
        assert outcome.failure_kind == "registry_locked"
        assert waited < 5.0  # one busy timeout, not a hang
        with pytest.raises(calprov.TrackingError) as raised:
            registry.track_after_solve(
                "/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS, strict=True
            )
        assert raised.value.kind == "registry_locked"
    # The lock gone, the same call tracks: nothing was half-written.
    assert registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS).status == "tracked"


@pytest.mark.parametrize(
    "params, where",
    [
        ({"spw": {0, 1}}, "params['spw']"),
        ({"gaintable": ["k", b"bytes"]}, "params['gaintable'][1]"),
        ({"nested": {"deeper": object()}}, "params['nested']['deeper']"),
        ({(1, 2): "tuple key"}, "params"),
        ({"huge": 2**70}, "params['huge']"),
        (["not", "a", "mapping"], "params"),
    ],
)
def test_unrecordable_params_fail_and_are_counted(tmp_path, caltables, params, where):
    db = tmp_path / "reg.sqlite3"
    registry = registered(db, caltables["sim_gacal"])
    outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", params)
    assert outcome.status == "failed"
    assert outcome.failure_kind == "invalid_params"
    assert outcome.message.startswith(where)
    assert events(db) == [(caltables["sim_gacal"], "failed", "invalid_params")]
    assert registry.provenance(caltables["sim_gacal"])["solver_command"] is None
    with pytest.raises(calprov.InvalidParamsError, match=r"^" + where.replace("[", r"\[").replace("]", r"\]")):
        registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", params, strict=True)


def test_a_value_that_contains_itself_is_refused_not_recursed(tmp_path, caltables):
    registry = registered(tmp_path / "reg.sqlite3", caltables["sim_gacal"])
    loop: list = []
    loop.append(loop)
    outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", {"x": loop})
    assert outcome.failure_kind == "invalid_params"
    assert "nested more than" in outcome.message


def test_closed_registry(tmp_path, caltables):
    registry = registered(tmp_path / "reg.sqlite3", caltables["sim_gacal"])
    with registry:
        pass
    outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS)
    assert outcome.status == "failed" and "closed" in outcome.message
    # Not even unrecordable params on a closed registry raise.
    assert registry.track_after_solve("/d.ms", caltables["sim_gacal"], "gaincal", {"x": {1}}).status == "failed"
    assert registry.record_application({"vis": "/t.ms", "gaintable": []}).status == "failed"
    with pytest.raises(calprov.RegistryError, match="closed"):
        registry.provenance(caltables["sim_gacal"])
    with pytest.raises(calprov.RegistryError, match="closed"):
        registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS, strict=True)


def test_the_gil_is_released_while_tracking_waits(tmp_path, caltables):
    """A call waiting a second for another process's lock lets the other threads run."""
    db = tmp_path / "reg.sqlite3"
    registered(db, caltables["sim_gacal"]).close()
    registry = calprov.Registry(db, busy_timeout=1.0)
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "outcome",
            registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS),
        )
    )
    with lock_held_by_another_process(db):
        worker.start()
        time.sleep(0.1)  # the worker is inside the call, waiting for the lock
        ticks = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and worker.is_alive():
            ticks += 1
        assert worker.is_alive(), "the call should still be waiting for the lock"
        # With the GIL held by the waiting call this loop could not have run at all.
        assert ticks > 10_000
        worker.join()
    assert result["outcome"].failure_kind == "registry_locked"


def test_outcome_is_immutable_and_serialisable(tmp_path, caltables):
    registry = registered(tmp_path / "reg.sqlite3", caltables["sim_gacal"])
    outcome = registry.track_after_solve("/data/obs1.ms", caltables["sim_gacal"], "gaincal", GAINCAL_PARAMS)
    with pytest.raises(AttributeError):
        outcome.status = "failed"
    as_dict = outcome.to_dict()
    assert as_dict["status"] == "tracked"
    assert set(as_dict) == {
        "status", "target", "missing", "failure_kind", "message", "latency_ms",
        "solver_version", "solver_command", "qa_passed", "shortened_params",
    }
    assert "tracked" in repr(outcome)


def test_applications_and_the_walks(tmp_path, caltables):
    db = tmp_path / "reg.sqlite3"
    registry = calprov.Registry(db)
    k, g = caltables["sim_kcal"], caltables["sim_gacal"]
    registry.register_set(
        "obs1",
        [
            {"path": k, "table_type": "K", "order_index": 10},
            {"path": g, "table_type": "GA", "order_index": 40},
        ],
    )
    assert registry.track_after_solve("/data/cal.ms", k, "gaincal", {"vis": "/data/cal.ms", "gaintype": "K"}).ok
    assert registry.track_after_solve(
        "/data/cal.ms", g, "gaincal", {"vis": "/data/cal.ms", "gaintable": [k]}
    ).ok
    applied = registry.record_application({"vis": "/data/target.ms", "gaintable": [k, g], "spw": "0"})
    assert applied.status == "tracked", applied

    impact = registry.impact([k])
    assert impact["caltables"] == [g]
    assert impact["ms"] == ["/data/cal.ms", "/data/target.ms"]
    explained = registry.impact(k, explain=True)
    applied_to = [f for f in explained["findings"] if f["kind"] == "applied_to"]
    assert applied_to and applied_to[0]["path"][0] == k
    # The application selected spw 0 only: a bad spw 1 of K does not reach the target MS.
    assert "/data/target.ms" not in registry.impact(k, spw=1)["ms"]
    assert "/data/target.ms" in registry.impact(k, spw=[0])["ms"]
    assert "/data/target.ms" in registry.impact(k, antenna="0~3")["ms"]
    with pytest.raises(ValueError, match="not a list of ids"):
        registry.impact(k, antenna="zero")

    lineage = registry.lineage(g)
    assert lineage["caltable"] == g and lineage["task"] == "gaincal"
    gaintable = [i for i in lineage["inputs"] if i["role"] == "gaintable"]
    assert gaintable[0]["path"] == k and gaintable[0]["solved_by"]["caltable"] == k
    assert registry.lineage(tmp_path / "never_solved") is None
    history = registry.history(g)
    assert len(history) == 1 and history[0]["outcome"] == "tracked"

    unpinned = registry.record_application({"vis": "/data/t2.ms", "gaintable": ["/nowhere/x_gacal"]})
    assert unpinned.status == "partial"
    with pytest.raises(calprov.TrackingError):
        registry.record_application({"vis": "/data/t2.ms", "gaintable": ["/nowhere/x_gacal"]}, strict=True)
