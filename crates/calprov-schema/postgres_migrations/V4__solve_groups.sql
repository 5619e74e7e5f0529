-- migrations/V4__solve_groups.sql in PostgreSQL's types: the groups' bytes are a BYTEA.
CREATE TABLE IF NOT EXISTS calprov_solve_groups (
    solve_id BIGINT PRIMARY KEY REFERENCES calprov_solves(id),
    n_groups BIGINT NOT NULL,
    groups BYTEA NOT NULL
);
