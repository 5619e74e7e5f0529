-- The registry table exactly as the Python pipeline creates it (DESIGN.md section 2).
-- Every statement is IF NOT EXISTS: on a registry the Python code already created, the
-- adoption step has added any missing provenance columns first, and this migration then
-- changes nothing but records the baseline in refinery's history.
CREATE TABLE IF NOT EXISTS caltables (
    id INTEGER PRIMARY KEY,
    set_name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    table_type TEXT NOT NULL,
    order_index INTEGER NOT NULL,
    cal_field TEXT,
    refant TEXT,
    created_at REAL NOT NULL,
    valid_start_mjd REAL,
    valid_end_mjd REAL,
    status TEXT NOT NULL,
    notes TEXT,
    source_ms_path TEXT,
    solver_command TEXT,
    solver_version TEXT,
    solver_params TEXT,
    quality_metrics TEXT
);
CREATE INDEX IF NOT EXISTS idx_caltables_set ON caltables(set_name);
CREATE INDEX IF NOT EXISTS idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);
CREATE INDEX IF NOT EXISTS idx_caltables_source ON caltables(source_ms_path);
