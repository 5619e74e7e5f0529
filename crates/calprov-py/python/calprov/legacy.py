"""The Python pipeline's registry helpers, with their exact signatures, on calprov.

A pipeline replaces ``from pipeline.calibration.registry import ...`` with
``from calprov import ...`` and keeps its calls. Two things change, both on purpose:

* ``register_caltable_set(..., upsert=True)`` merges into an existing row instead of the
  pipeline's ``INSERT OR REPLACE`` (which deleted the row and, with it, its provenance and
  id): incoming values win, ``None`` keeps what is stored.
* every write also records calprov's history and events, so monitoring and lineage see it.

Registries are opened once per process and path and kept (an open costs a migration check);
after ``os.fork()`` the child opens its own, and never closes the parent's connection
(closing an inherited SQLite connection could checkpoint and delete the WAL that the parent
is still using).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._calprov import Registry

PathLike = Union[str, "os.PathLike[str]"]

_log = logging.getLogger("calprov")

# The variables that decide a registry's path when none is given (the CLI's rules).
_PATH_VARIABLES = ("PIPELINE_DB", "CAL_REGISTRY_DB", "PIPELINE_STATE_DIR")

_registries: Dict[Tuple[Any, ...], Registry] = {}
_registries_lock = threading.Lock()
# Registries inherited through fork: kept alive, never closed (see the module docstring).
_inherited: List[Registry] = []


def _forget_after_fork() -> None:
    global _registries_lock
    _inherited.extend(_registries.values())
    _registries.clear()
    _registries_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _registry(path: Optional[PathLike]) -> Registry:
    """The process's open registry for ``path`` (or the environment's when ``None``)."""
    explicit = os.fspath(path) if path is not None else None
    key = (explicit, tuple(os.environ.get(v) for v in _PATH_VARIABLES), os.getcwd())
    with _registries_lock:
        registry = _registries.get(key)
        if registry is None:
            registry = Registry(explicit)
            _registries[key] = registry
        return registry


@dataclass
class CalTable:
    """One registered caltable: the registry's 17 columns (JSON columns as dicts)."""

    id: int
    set_name: str
    path: str
    table_type: str
    order_index: int
    cal_field: Optional[str]
    refant: Optional[str]
    created_at: float
    valid_start_mjd: Optional[float]
    valid_end_mjd: Optional[float]
    status: str
    notes: Optional[str]
    source_ms_path: Optional[str] = None
    solver_command: Optional[str] = None
    solver_version: Optional[str] = None
    solver_params: Optional[Dict[str, Any]] = None
    quality_metrics: Optional[Dict[str, Any]] = None


@dataclass
class CalTableRow:
    """A caltable to register with ``register_caltable_set``."""

    set_name: str
    path: str
    table_type: str
    order_index: int
    cal_field: Optional[str]
    refant: Optional[str]
    valid_start_mjd: Optional[float]
    valid_end_mjd: Optional[float]
    status: str = "active"
    notes: Optional[str] = None
    source_ms_path: Optional[str] = None
    solver_command: Optional[str] = None
    solver_version: Optional[str] = None
    solver_params: Optional[Dict[str, Any]] = None
    quality_metrics: Optional[Dict[str, Any]] = None


def _caltable(record: Mapping[str, Any]) -> CalTable:
    return CalTable(**record)


def track_calibration_provenance(
    registry_db: PathLike,
    ms_path: PathLike,
    caltable_path: PathLike,
    params: Mapping[str, Any],
    metrics: Optional[Mapping[str, Any]] = None,
    solver_command: Optional[str] = None,
    solver_version: Optional[str] = None,
) -> None:
    """Writes the provenance columns of a registered caltable as given.

    Raises ``RegistryError`` when the registry cannot be written and
    ``InvalidParamsError`` when ``params`` or ``metrics`` cannot be stored as JSON. A
    caltable that is not registered gets no row (a warning is logged), as before.
    """
    updated = _registry(registry_db).record_provenance(
        caltable_path,
        source_ms_path=ms_path,
        solver_command=solver_command,
        solver_version=solver_version,
        solver_params=params,
        quality_metrics=metrics,
    )
    if not updated:
        _log.warning(
            "provenance for %s not recorded: the caltable is not registered",
            os.fspath(caltable_path),
        )


def get_caltable_provenance(registry_db: PathLike, caltable_path: PathLike) -> Optional[CalTable]:
    """The caltable's row, or ``None`` when it is not registered."""
    record = _registry(registry_db).provenance(caltable_path)
    return None if record is None else _caltable(record)


def query_caltables_by_source(registry_db: PathLike, ms_path: PathLike) -> List[CalTable]:
    """Every caltable solved from ``ms_path``, by ``order_index`` then newest first."""
    return [_caltable(r) for r in _registry(registry_db).by_source(ms_path)]


def impact_analysis(registry_db: PathLike, caltable_paths: Sequence[PathLike]) -> List[str]:
    """The distinct source MSes of the caltables, sorted (``Registry.impact`` goes further:
    everything they touched, transitively)."""
    return _registry(registry_db).source_ms_of(list(caltable_paths))


def register_caltable_set(
    db_path: PathLike,
    set_name: str,
    rows: Sequence[Union[CalTableRow, Mapping[str, Any]]],
    *,
    upsert: bool = True,
) -> None:
    """Registers ``rows`` as set ``set_name`` in one transaction (all or nothing).

    ``upsert=True`` merges into rows already registered (recorded provenance is kept);
    ``upsert=False`` leaves them untouched. Every row is stored in ``set_name``.
    """
    plain = []
    for row in rows:
        fields = asdict(row) if isinstance(row, CalTableRow) else dict(row)
        fields.pop("set_name", None)
        plain.append(fields)
    _registry(db_path).register_set(set_name, plain, upsert=upsert)


def _track_calibration_provenance(
    ms_path: PathLike,
    caltable_path: PathLike,
    task_name: str,
    params: Mapping[str, Any],
    registry_db: Optional[PathLike] = None,
) -> None:
    """The pipeline's after-solve hook: tracks the solve and never raises.

    Anything that goes wrong (the registry missing or locked, the table unreadable, even a
    bad argument) is logged as a warning on the ``calprov`` logger and, where the registry
    can take it, recorded as a countable event; the solve goes on.
    """
    try:
        _registry(registry_db).track_after_solve(ms_path, caltable_path, task_name, params)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - the hook's contract: never fail the solve
        # BaseException: a bug in calprov surfaces as pyo3's PanicException, which is not an
        # Exception; it must not stop the pipeline either.
        _log.warning(
            "failed to track provenance of %s: %s: %s; calibration succeeded",
            caltable_path,
            type(err).__name__,
            err,
        )
