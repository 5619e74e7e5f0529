-- Fingerprints: the row digests of a solve's caltable, 8 bytes a row (little-endian u64s,
-- back to back, in table order), so that `verify` can find every recorded row wherever CASA
-- has moved it. The rest of the fingerprint is in the solve's metrics, under `fingerprint`.
-- A solve recorded before fingerprints, or whose table could not be read, has no row here.
CREATE TABLE IF NOT EXISTS calprov_solve_rows (
    solve_id INTEGER PRIMARY KEY REFERENCES calprov_solves(id),
    n_rows INTEGER NOT NULL,
    digests BLOB NOT NULL
);
