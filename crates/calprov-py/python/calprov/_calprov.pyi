"""Type stubs for calprov's Rust extension (``calprov._calprov``)."""

import os
from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Union

_Path = Union[str, "os.PathLike[str]"]
_Ids = Union[int, Iterable[int], str, None]

__version__: str
SCHEMA_VERSION: int

class CalprovError(Exception):
    """The base of every calprov exception."""

class RegistryError(CalprovError):
    """The registry cannot be opened, migrated, read or written."""

class CaltableError(CalprovError):
    """A caltable cannot be read (missing, not a CASA table, damaged)."""

class TrackingError(CalprovError):
    """A strict tracking call did not track."""

    status: Literal["partial", "not_registered", "failed"]
    #: the failure kind of a failed call (``registry_locked``, ...), else the status
    kind: str
    caltable: str

class InvalidParamsError(CalprovError):
    """Parameters that cannot be recorded as JSON."""

class Outcome:
    """What one tracking call did."""

    @property
    def status(self) -> Literal["tracked", "partial", "not_registered", "failed"]: ...
    @property
    def target(self) -> str: ...
    @property
    def missing(self) -> Dict[str, str]: ...
    @property
    def failure_kind(self) -> Optional[str]: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def solver_version(self) -> Optional[str]: ...
    @property
    def solver_command(self) -> Optional[str]: ...
    @property
    def qa_passed(self) -> Optional[bool]: ...
    @property
    def shortened_params(self) -> List[str]: ...
    @property
    def ok(self) -> bool:
        """True when provenance was recorded (``tracked`` or ``partial``)."""
    def to_dict(self) -> Dict[str, Any]: ...

class Registry:
    """A calibration registry, opened (created and migrated when needed) once."""

    def __init__(self, path_or_url: Optional[_Path] = None, *, busy_timeout: float = 30.0) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def rule(self) -> str: ...
    def track_after_solve(
        self,
        ms: _Path,
        caltable: _Path,
        task: str,
        params: Mapping[str, Any],
        *,
        strict: bool = False,
        solver_version: Optional[str] = None,
        solver_command: Optional[str] = None,
    ) -> Outcome: ...
    def record_application(
        self, params: Mapping[str, Any], ms: Optional[_Path] = None, *, strict: bool = False
    ) -> Outcome: ...
    def provenance(self, caltable: _Path) -> Optional[Dict[str, Any]]: ...
    def by_source(self, ms: _Path) -> List[Dict[str, Any]]: ...
    def impact(
        self,
        caltables: Union[_Path, Iterable[_Path]],
        antenna: _Ids = None,
        spw: _Ids = None,
        explain: bool = False,
        *,
        since: Optional[float] = None,
        until: Optional[float] = None,
    ) -> Dict[str, Any]: ...
    def lineage(self, caltable: _Path) -> Optional[Dict[str, Any]]: ...
    def history(self, caltable: _Path) -> List[Dict[str, Any]]: ...
    def source_ms_of(self, caltables: Union[_Path, Iterable[_Path]]) -> List[str]: ...
    def register_set(
        self, set_name: str, rows: Iterable[Mapping[str, Any]], *, upsert: bool = True
    ) -> Dict[str, int]: ...
    def record_provenance(
        self,
        caltable: _Path,
        *,
        source_ms_path: Optional[_Path] = None,
        solver_command: Optional[str] = None,
        solver_version: Optional[str] = None,
        solver_params: Optional[Mapping[str, Any]] = None,
        quality_metrics: Optional[Mapping[str, Any]] = None,
    ) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Registry": ...
    def __exit__(self, *exc: object) -> bool: ...

def metrics(caltable: _Path) -> Dict[str, Any]: ...
def casa_version(caltable: Optional[_Path] = None, *, explicit: Optional[str] = None) -> Optional[str]: ...
def render_command(task: str, params: Mapping[str, Any]) -> str: ...
