"""Golden per-antenna and per-spw quality of the real caltables, by an independent reader.

python-casacore reads each table and numpy reduces it; calprov's own reader and reductions
are not used. Writes `<table>.breakdown.json` next to each table, or with `--check` compares
what it computes with the committed files and exits 1 on a difference: floats within 1e-12
relative, everything else exactly. On a CPU with AVX-512 numpy computes `angle` with other
vector code, which differs in the last bit of some phases (with
`NPY_DISABLE_CPU_FEATURES="AVX512_SPR AVX512_ICL X86_V4"` it writes the committed files byte
for byte). The test `the_goldens_are_what_python_casacore_computes` in calprov-metrics runs
it that way when CALPROV_CASACORE_PYTHON names a Python with python-casacore and numpy.

    python breakdown_goldens.py [--check] [DIR]
"""

import json
import math
import pathlib
import sys

import numpy as np
from casacore.tables import table

TABLES = ["sim_kcal", "sim_bpcal", "sim_gpcal", "sim_gacal", "sim_flagged_gpcal"]


def group_quality(ident, rows, flag, snr, cparam):
    """The quality of the rows selected by the boolean mask `rows`."""
    f = flag[rows]
    out = {"id": int(ident), "n_solutions": int(rows.sum())}
    if f.size:
        out["flagged_fraction"] = float(f.mean())
    s = snr[rows][~f]
    s = s[~np.isnan(s)]
    if s.size:
        out["snr_median_unflagged"] = float(np.median(s))
    if cparam is not None:
        c = cparam[rows][~f].astype(np.complex128)
        if c.size:
            phase = np.angle(c, deg=True)
            phase[phase == -180.0] = 180.0
            out["amp_mean_unflagged"] = float(np.abs(c).mean())
            out["phase_rms_deg_unflagged"] = float(np.sqrt(np.mean(phase**2)))
    return out


def breakdown(path):
    t = table(str(path), ack=False)
    ant = t.getcol("ANTENNA1")
    spw = t.getcol("SPECTRAL_WINDOW_ID")
    flag = t.getcol("FLAG")
    snr = t.getcol("SNR").astype(np.float64)
    cparam = t.getcol("CPARAM") if "CPARAM" in t.colnames() else None
    t.close()
    antennas, spws = np.unique(ant), np.unique(spw)
    grid_flagged = [[int(flag[(ant == a) & (spw == s)].sum()) for s in spws] for a in antennas]
    grid_cells = [[int(flag[(ant == a) & (spw == s)].size) for s in spws] for a in antennas]
    return {
        "table": path.name,
        "reader": "python-casacore + numpy",
        "by_antenna": [group_quality(a, ant == a, flag, snr, cparam) for a in antennas],
        "by_spw": [group_quality(s, spw == s, flag, snr, cparam) for s in spws],
        "flag_grid": {
            "antennas": [int(a) for a in antennas],
            "spws": [int(s) for s in spws],
            "flagged": grid_flagged,
            "cells": grid_cells,
        },
    }


def same(golden, ours, rel=1e-12):
    """Equal JSON values: floats within `rel` of each other (NaN equal to NaN, as the files'
    text is), everything else exactly."""
    if isinstance(golden, float) and isinstance(ours, float):
        if math.isnan(golden) or math.isnan(ours):
            return math.isnan(golden) and math.isnan(ours)
        return golden == ours or abs(golden - ours) <= rel * max(abs(golden), abs(ours))
    if isinstance(golden, dict) and isinstance(ours, dict):
        return golden.keys() == ours.keys() and all(same(golden[k], ours[k], rel) for k in golden)
    if isinstance(golden, list) and isinstance(ours, list):
        return len(golden) == len(ours) and all(same(g, o, rel) for g, o in zip(golden, ours))
    return type(golden) is type(ours) and golden == ours


def main(argv):
    check = "--check" in argv
    rest = [a for a in argv if a != "--check"]
    root = pathlib.Path(rest[0]) if rest else pathlib.Path(__file__).parent
    differ = []
    for name in TABLES:
        ours = breakdown(root / name)
        golden = root / f"{name}.breakdown.json"
        if check:
            if not golden.exists() or not same(json.loads(golden.read_text()), ours):
                differ.append(name)
        else:
            golden.write_text(json.dumps(ours, indent=1) + "\n")
    if differ:
        print("golden breakdowns differ from python-casacore's for: " + ", ".join(differ))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
