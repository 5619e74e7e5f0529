"""Edits a caltable the way CASA and pipelines do, with python-casacore, for calprov's verify
tests: python edit_caltable.py <edit> <caltable>."""

import os
import shutil
import sys

import numpy as np
from casacore.tables import table


def flags(path):
    t = table(path, readonly=False, ack=False)
    f = t.getcol("FLAG")
    f[0:5] = ~f[0:5]
    t.putcol("FLAG", f)
    t.close()


def cparam(path):
    t = table(path, readonly=False, ack=False)
    c = t.getcol("CPARAM")
    c[3] *= 1.5
    t.putcol("CPARAM", c)
    t.close()


def _add_rows(t, count, time_shift):
    """Copies the last `count` rows to new rows at the end, their TIME shifted."""
    n = t.nrows()
    t.addrows(count)
    for col in t.colnames():
        try:
            values = t.getcol(col, n - count, count)
        except RuntimeError:
            continue  # a column with undefined cells (WEIGHT): nothing to copy
        if col == "TIME":
            values = values + time_shift
        t.putcol(col, values, n, count)


def append_end(path):
    t = table(path, readonly=False, ack=False)
    _add_rows(t, 14, 1.0e4)
    t.close()


def append_resorted(path):
    # What gaincal(append=True) leaves: new solutions interleaved with the old ones, the
    # whole table rewritten in time order.
    t = table(path, readonly=False, ack=False)
    times = np.unique(t.getcol("TIME"))
    _add_rows(t, 14, (times[1] - times[0]) / 2 if len(times) > 1 else 1.0)
    t.close()
    t = table(path, ack=False)
    s = t.sort("TIME")
    s.copy(path + ".sorted", deep=True)
    s.close()
    t.close()
    shutil.rmtree(path)
    os.rename(path + ".sorted", path)


def keyword(path):
    t = table(path, readonly=False, ack=False)
    t.putkeyword("VisCal", "T Jones")
    t.close()


def subtable_row(path):
    a = table(os.path.join(path, "ANTENNA"), readonly=False, ack=False)
    names = a.getcol("NAME")
    names[0] = "XX99"
    a.putcol("NAME", names)
    a.close()


def subtable_other_manager(path):
    # smoothcal rewrites subtables: the same rows under another storage manager.
    sub = os.path.join(path, "ANTENNA")
    a = table(sub, ack=False)
    dminfo = {"*1": {"TYPE": "IncrementalStMan", "NAME": "ISM", "SPEC": {}, "COLUMNS": a.colnames()}}
    a.copy(sub + ".ism", deep=True, dminfo=dminfo)
    a.close()
    check = table(sub + ".ism", ack=False)
    managers = {dm["TYPE"] for dm in check.getdminfo().values()}
    check.close()
    assert managers == {"IncrementalStMan"}, managers
    shutil.rmtree(sub)
    os.rename(sub + ".ism", sub)


def open_close(path):
    table(path, ack=False).close()
    t = table(path, readonly=False, ack=False)
    t.getcol("CPARAM")
    t.close()


def remove(path):
    shutil.rmtree(path)


def garble_table_dat(path):
    with open(os.path.join(path, "table.dat"), "wb") as f:
        f.write(b"\xbe\xbe\xbe\xbe not a table description")


if __name__ == "__main__":
    globals()[sys.argv[1]](sys.argv[2])
