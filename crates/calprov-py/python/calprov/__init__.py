"""calprov: calibration provenance for radio-astronomy pipelines, in-process.

Open the registry the pipeline shares, track each solve right after CASA wrote its table,
and ask where any caltable came from::

    import calprov
    registry = calprov.Registry("/data/state/cal_registry.sqlite3")
    outcome = registry.track_after_solve(ms, caltable, "gaincal", params)

Tracking never raises (unless ``strict=True``): the returned :class:`Outcome` says what was
recorded, and anything short of ``tracked`` is logged on the ``calprov`` logger. The
pipeline's own helpers (``track_calibration_provenance``, ``get_caltable_provenance``,
``query_caltables_by_source``, ``impact_analysis``, ``register_caltable_set`` and the
after-solve hook ``_track_calibration_provenance``) are here with the same signatures, so
replacing an import is enough.
"""

from ._calprov import (
    SCHEMA_VERSION,
    CalprovError,
    CaltableError,
    InvalidParamsError,
    Outcome,
    Registry,
    RegistryError,
    TrackingError,
    __version__,
    casa_version,
    metrics,
    render_command,
)
from .legacy import (
    CalTable,
    CalTableRow,
    _track_calibration_provenance,
    get_caltable_provenance,
    impact_analysis,
    query_caltables_by_source,
    register_caltable_set,
    track_calibration_provenance,
)

__all__ = [
    "SCHEMA_VERSION",
    "CalTable",
    "CalTableRow",
    "CalprovError",
    "CaltableError",
    "InvalidParamsError",
    "Outcome",
    "Registry",
    "RegistryError",
    "TrackingError",
    "__version__",
    "_track_calibration_provenance",
    "casa_version",
    "get_caltable_provenance",
    "impact_analysis",
    "metrics",
    "query_caltables_by_source",
    "register_caltable_set",
    "render_command",
    "track_calibration_provenance",
]
