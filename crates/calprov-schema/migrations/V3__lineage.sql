-- Lineage: every solve and every application on record, append-only. New tables only: the
-- Python pipeline's `caltables` keeps exactly its meaning (the latest provenance of each
-- caltable); these hold the history behind it.

-- One row per recorded solve of a caltable. Re-solving a path adds a row; nothing earlier is
-- changed. `origin` is `tracked` (calprov track), `imported` (the provenance a registry held
-- when calprov adopted it) or `backfill` (read back from the table itself).
CREATE TABLE IF NOT EXISTS calprov_solves (
    id INTEGER PRIMARY KEY,
    caltable_path TEXT NOT NULL,
    solved_at REAL NOT NULL,
    origin TEXT NOT NULL,
    outcome TEXT NOT NULL,
    task TEXT,
    params TEXT,
    command TEXT,
    casa_version TEXT,
    version_step TEXT,
    metrics TEXT,
    source_ms_path TEXT,
    selection TEXT,
    cwd TEXT,
    host TEXT
);
CREATE INDEX IF NOT EXISTS idx_calprov_solves_caltable ON calprov_solves(caltable_path, id);
CREATE INDEX IF NOT EXISTS idx_calprov_solves_version ON calprov_solves(casa_version, solved_at);

-- What a solve read: its MS (`vis`) and every table applied on the fly (`gaintable`, with its
-- index and its own gainfield, interp and spwmap). `caltable_path` repeats the reading
-- solve's caltable so that a walk down the graph reads one covering index and nothing else. `input_solve_id` pins a registered input
-- caltable to the solve that was current when this one was recorded. `problem` says why an
-- input could not be read from the parameters (the solve is recorded all the same).
CREATE TABLE IF NOT EXISTS calprov_solve_inputs (
    solve_id INTEGER NOT NULL REFERENCES calprov_solves(id),
    caltable_path TEXT NOT NULL,
    role TEXT NOT NULL,
    idx INTEGER NOT NULL,
    path TEXT,
    gainfield TEXT,
    interp TEXT,
    spwmap TEXT,
    input_solve_id INTEGER REFERENCES calprov_solves(id),
    problem TEXT,
    PRIMARY KEY (solve_id, role, idx)
);
-- Covering: a walk down the graph reads only this index.
CREATE INDEX IF NOT EXISTS idx_calprov_inputs_solve ON calprov_solve_inputs(input_solve_id, solve_id, caltable_path);
CREATE INDEX IF NOT EXISTS idx_calprov_inputs_path ON calprov_solve_inputs(path);

-- One row per applycal: the MS, the data selection and the parameters.
CREATE TABLE IF NOT EXISTS calprov_applications (
    id INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL,
    ms_path TEXT NOT NULL,
    params TEXT,
    selection TEXT,
    command TEXT,
    cwd TEXT,
    host TEXT
);
CREATE INDEX IF NOT EXISTS idx_calprov_applications_ms ON calprov_applications(ms_path);

-- The tables an application applied, each pinned to its solve current at that time;
-- `ms_path` repeats the application's MS for the same reason as above.
CREATE TABLE IF NOT EXISTS calprov_application_tables (
    application_id INTEGER NOT NULL REFERENCES calprov_applications(id),
    ms_path TEXT NOT NULL,
    idx INTEGER NOT NULL,
    caltable_path TEXT,
    solve_id INTEGER REFERENCES calprov_solves(id),
    gainfield TEXT,
    interp TEXT,
    spwmap TEXT,
    problem TEXT,
    PRIMARY KEY (application_id, idx)
);
CREATE INDEX IF NOT EXISTS idx_calprov_app_tables_solve ON calprov_application_tables(solve_id, application_id, ms_path);
