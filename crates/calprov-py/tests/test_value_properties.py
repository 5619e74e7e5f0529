"""Property tests of the value boundary: any JSON-shaped Python value stored through calprov
comes back equal (tuples as lists, non-finite floats as floats)."""

from __future__ import annotations

import math
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calprov
from conftest import TESTDATA

# calprov's stored strings for non-finite numbers come back as floats: a str holding exactly
# one of them is the one value that does not round-trip (docs/python.md).
STORED_NON_FINITE = {"NaN", "Infinity", "-Infinity"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text().filter(lambda s: s not in STORED_NON_FINITE)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)
params = st.dictionaries(st.text(max_size=12), values, max_size=8)


def same(a, b) -> bool:
    """Equality with NaN equal to NaN and tuples equal to lists."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("properties")
    caltable = root / "prop_gacal"
    shutil.copytree(TESTDATA / "sim_gacal", caltable)
    registry = calprov.Registry(root / "reg.sqlite3")
    registry.register_set("p", [{"path": str(caltable), "table_type": "GA", "order_index": 40}])
    yield registry, str(caltable)
    registry.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=params, metrics=params)
def test_stored_values_come_back_equal(registry, stored, metrics):
    registry_, caltable = registry
    assert registry_.record_provenance(caltable, solver_params=stored, quality_metrics=metrics)
    record = registry_.provenance(caltable)
    assert same(stored, record["solver_params"])
    assert same(metrics, record["quality_metrics"])


@settings(max_examples=150, deadline=None)
@given(stored=params)
def test_rendered_commands_read_back_as_the_values(stored):
    """The command is a Python call whose keyword values are the (non-None) parameters."""
    import ast
    import keyword

    # CASA's parameter names are ASCII identifiers; calprov refuses any other name.
    keywords = {
        k: v for k, v in stored.items() if k.isascii() and k.isidentifier() and not keyword.iskeyword(k)
    }
    command = calprov.render_command("gaincal", keywords)
    call = ast.parse(command, mode="eval").body
    rendered = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    expected = {k: as_stored(v) for k, v in keywords.items() if v is not None}
    assert same(expected, rendered)


def as_stored(value):
    """The value as the command carries it: non-finite floats as calprov's stored strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (list, tuple)):
        return [as_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: as_stored(v) for k, v in value.items()}
    return value
