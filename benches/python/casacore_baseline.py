#!/usr/bin/env python3
"""The python-casacore + numpy baseline: the same reductions calprov-metrics does (getcol of
TIME, ANTENNA1, SPECTRAL_WINDOW_ID, FLAG, SNR, CPARAM; flagged fraction, SNR statistics with
an exact median, unflagged statistics, distinct counts, CPARAM amplitude and phase RMS),
timed per table as the median of N runs, table open included.

Usage: casacore_baseline.py RUNS TABLE [TABLE ...]   (needs python-casacore and numpy)
Prints one JSON object per table: {"table", "median_ms", "runs", "n_solutions"}.
"""
import json
import sys
import time

import numpy as np
from casacore.tables import table


def reduce(path):
    t = table(path, ack=False, readonly=True)
    flag = t.getcol("FLAG")
    snr = t.getcol("SNR").astype(np.float64)
    ant = t.getcol("ANTENNA1")
    spw = t.getcol("SPECTRAL_WINDOW_ID")
    times = t.getcol("TIME")
    param = t.getcol("CPARAM") if "CPARAM" in t.colnames() else t.getcol("FPARAM")
    n = t.nrows()
    t.close()
    out = {"n_solutions": n, "flagged_fraction": float(flag.mean()) if flag.size else None}
    good = snr[~np.isnan(snr)]
    if good.size:
        out.update(snr_mean=good.mean(), snr_median=np.median(good), snr_min=good.min(), snr_max=good.max())
    unflagged = snr[~flag & ~np.isnan(snr)]
    if unflagged.size:
        out.update(snr_mean_unflagged=unflagged.mean(), snr_median_unflagged=np.median(unflagged))
    out.update(n_antennas=len(np.unique(ant)), n_spws=len(np.unique(spw)), n_times=len(np.unique(times)))
    if np.iscomplexobj(param):
        c = param[~flag].astype(np.complex128)
        out.update(amp=np.abs(c).mean(), phase_rms=np.sqrt(np.mean(np.angle(c, deg=True) ** 2)))
    return out


def main():
    runs = int(sys.argv[1])
    for path in sys.argv[2:]:
        reduce(path)  # warm the page cache and imports
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = reduce(path)
            times.append(time.perf_counter() - start)
        print(json.dumps({"table": path, "median_ms": float(np.median(times)) * 1e3, "runs": runs,
                          "n_solutions": result["n_solutions"]}))


if __name__ == "__main__":
    main()
