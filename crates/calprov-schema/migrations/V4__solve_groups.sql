-- Fingerprints: the solution groups of a solve's caltable (one per TIME, FIELD_ID,
-- SPECTRAL_WINDOW_ID: a key hash, the sum of its rows' content hashes and the sum of their
-- flag hashes, three little-endian u64s, 24 bytes a group), so that `verify` can find every
-- recorded solution wherever CASA has moved it. The rest of the fingerprint is in the solve's
-- metrics, under `fingerprint`. A solve recorded before fingerprints, or whose table could not
-- be read, has no row here.
CREATE TABLE IF NOT EXISTS calprov_solve_groups (
    solve_id INTEGER PRIMARY KEY REFERENCES calprov_solves(id),
    n_groups INTEGER NOT NULL,
    groups BLOB NOT NULL
);
