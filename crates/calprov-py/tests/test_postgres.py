"""The package on a PostgreSQL registry: the test server `CALPROV_TEST_PG_URL` names (the
private cluster of `.ci/postgres`). Required in CI (`CALPROV_REQUIRE_TOOLS=1`); elsewhere the
tests are skipped without a server."""

from __future__ import annotations

import json
import os

import pytest

import calprov
from conftest import GAINCAL_PARAMS, run_cli

URL = os.environ.get("CALPROV_TEST_PG_URL")
REQUIRED = os.environ.get("CALPROV_REQUIRE_TOOLS") == "1"

pytestmark = pytest.mark.skipif(
    URL is None and not REQUIRED, reason="no PostgreSQL test server (CALPROV_TEST_PG_URL)"
)


def password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_tracking_on_a_server_is_read_back_by_python_and_the_cli(caltables, cli):
    assert URL, "CALPROV_TEST_PG_URL is required (CALPROV_REQUIRE_TOOLS=1)"
    table = caltables["sim_gacal"]  # a path of this test's own: rows of other tests differ
    registry = calprov.Registry(URL)
    assert registry.path.startswith("postgres://") and password(URL) not in registry.path
    assert password(URL) not in repr(registry)
    registry.register_set("py_pg", [{"path": table, "table_type": "GA", "order_index": 40}])
    params = dict(GAINCAL_PARAMS, caltable=table)

    outcome = registry.track_after_solve("/data/obs1.ms", table, "gaincal", params)

    assert outcome.status == "tracked", outcome.message
    record = registry.provenance(table)
    assert record["source_ms_path"] == "/data/obs1.ms"
    assert record["solver_version"] == "6.7.0.31"
    assert record["quality_metrics"]["qa_passed"] is True
    shown = run_cli(cli, "--db", URL, "show", table, "--json")
    assert json.loads(shown.stdout)["data"]["solver_command"] == outcome.solver_command
    # The CLI's record is the Python one, and the other way round.
    other = caltables["sim_gpcal"]
    run_cli(cli, "--db", URL, "register", "--set", "py_pg", "--path", other, "--type", "G", "--order", "20")
    run_cli(cli, "--db", URL, "track", "--caltable", other, "--ms", "/data/obs1.ms", "--solver-version", "6.6.1")
    assert registry.provenance(other)["solver_version"] == "6.6.1"


def test_an_unreachable_server_is_a_failed_outcome_or_a_registry_error():
    with pytest.raises(calprov.RegistryError, match="server_unreachable") as raised:
        calprov.Registry("postgresql://user:s3cret@127.0.0.1:1/cal", busy_timeout=2)
    assert "s3cret" not in str(raised.value)
