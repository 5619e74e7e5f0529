-- One row per call of track-after-solve, whatever its outcome, so operators can count
-- failures and latencies. A new table: the Python pipeline never reads it.
CREATE TABLE IF NOT EXISTS calprov_tracking_events (
    id INTEGER PRIMARY KEY,
    recorded_at REAL NOT NULL,
    caltable_path TEXT NOT NULL,
    outcome TEXT NOT NULL,
    failure_kind TEXT,
    message TEXT,
    latency_us INTEGER NOT NULL,
    version_step TEXT,
    solver_version TEXT,
    qa_passed INTEGER
);
CREATE INDEX IF NOT EXISTS idx_calprov_events_time ON calprov_tracking_events(recorded_at);
