"""The README's Python example runs as written (with its registry path made temporary)."""

from __future__ import annotations

import re

import calprov
from conftest import GAINCAL_PARAMS, REPO


def test_the_readme_example_tracks(tmp_path, caltables, capsys):
    readme = (REPO / "README.md").read_text()
    example = re.search(r"## From a Python pipeline.*?```python\n(.*?)```", readme, re.S).group(1)
    assert len(example.strip().splitlines()) == 3
    db = tmp_path / "cal_registry.sqlite3"
    with calprov.Registry(db) as registry:
        registry.register_set("obs1", [{"path": caltables["sim_gacal"], "table_type": "GA", "order_index": 40}])
    example = example.replace("/data/state/cal_registry.sqlite3", str(db))
    exec(example, {"ms": "/data/obs1.ms", "caltable": caltables["sim_gacal"], "params": GAINCAL_PARAMS})
    assert capsys.readouterr().out.strip() == "tracked"
