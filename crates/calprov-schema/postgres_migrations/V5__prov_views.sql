-- migrations/V5__prov_views.sql in PostgreSQL: the same ProvTAP-shaped views (names, columns,
-- ids, rules; see there for what each holds), so that a ProvTAP service or plain SQL reads on
-- the server the graph `calprov export` writes. What SQLite's dynamic typing left open is one
-- type per column here: the metrics are DOUBLE PRECISION (a metric stored as a string, as the
-- Python pipeline's "NaN", is NULL), `calprov_qa_passed` and `calprov_is_latest` BOOLEAN, and
-- `param_value` the parameter's text (a string unquoted, anything else its JSON text), its
-- `param_type` named as SQLite's json_each names it.

-- JSON text as `json` (its text kept verbatim, so a member reads back as stored), NULL where
-- it is not valid JSON (NaN tokens): SQLite's json_valid guard.
CREATE OR REPLACE FUNCTION calprov_try_json(t TEXT) RETURNS JSON
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::json;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Unix seconds as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', t, 'unixepoch'): ISO 8601 UTC,
-- rounded to the millisecond as SQLite rounds (through its Julian-day milliseconds, in the
-- same double arithmetic), NULL outside SQLite's range. The year is astronomical and printed
-- as C's %04d prints it (`-4713`, `-005`), where PostgreSQL would say BC.
CREATE OR REPLACE FUNCTION calprov_prov_time(t DOUBLE PRECISION) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
               WHEN y >= 0 THEN lpad(CAST(y AS TEXT), 4, '0')
               WHEN y > -100 THEN '-' || lpad(CAST(-y AS TEXT), 3, '0')
               ELSE CAST(y AS TEXT)
           END || to_char(ts, '-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM (
        SELECT ts, CAST(extract(year FROM ts) AS INTEGER) + (CASE WHEN extract(year FROM ts) < 0 THEN 1 ELSE 0 END) AS y
        FROM (
            -- Days and milliseconds apart: an interval times a number is double arithmetic,
            -- inexact past 2^53 microseconds.
            SELECT TIMESTAMP '1970-01-01 00:00:00' + (ms / 86400000) * INTERVAL '1 day'
                       + (ms % 86400000) * INTERVAL '1 millisecond' AS ts
            FROM (
                SELECT CAST(floor(r + 0.5) AS BIGINT) - 210866760000000 AS ms
                FROM (SELECT t * 1000 + 210866760000000 AS r) j
                WHERE r >= 0 AND r < 464269060800000
            ) m
        ) k
    ) d
$$;

-- A path or version as a PROV-N name can hold it: `plain` and it as it is when it is only
-- letters, digits and `/._+-` (and, with `absolute`, starts with `/`) and does not end in a
-- dot; else `hex` and the hex of its UTF-8 bytes.
CREATE OR REPLACE FUNCTION calprov_prov_name(plain TEXT, hex TEXT, v TEXT, absolute BOOLEAN) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v ~ (CASE WHEN absolute THEN '^/[A-Za-z0-9/._+-]*$' ELSE '^[A-Za-z0-9._+-]*$' END)
             AND v NOT LIKE '%.'
            THEN plain || v
        ELSE hex || upper(encode(convert_to(v, 'UTF8'), 'hex'))
    END
$$;

-- The last component of a path, as the SQLite views compute it.
CREATE OR REPLACE FUNCTION calprov_prov_label(p TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(p, rtrim(p, replace(p, '/', '')), '')
$$;

CREATE OR REPLACE VIEW calprov_prov_uses AS
SELECT u.*,
       CASE
           WHEN u.role = 'gaintable' AND u.pinned_solve IS NOT NULL THEN 'calprov:caltable-' || u.pinned_solve
           ELSE CASE u.role
               WHEN 'vis' THEN calprov_prov_name('calprov:ms', 'calprov:ms-x', u.path, TRUE)
               ELSE calprov_prov_name('calprov:caltable', 'calprov:caltable-x', u.path, TRUE)
           END
       END AS ent_id
FROM (
    SELECT 'calprov:solve-' || i.solve_id AS act_id, i.solve_id AS solve_id, CAST(NULL AS BIGINT) AS application_id,
           i.role AS role, i.idx AS idx, i.path AS path, i.input_solve_id AS pinned_solve,
           nullif(i.interp, '') AS interp, nullif(i.gainfield, '') AS gainfield, nullif(i.spwmap, '') AS spwmap
    FROM calprov_solve_inputs i WHERE i.path IS NOT NULL
    UNION ALL
    SELECT 'calprov:apply-' || a.id, NULL, a.id, 'vis', 0, a.ms_path, NULL, NULL, NULL, NULL
    FROM calprov_applications a
    UNION ALL
    SELECT 'calprov:apply-' || t.application_id, NULL, t.application_id, 'gaintable', t.idx,
           t.caltable_path, t.solve_id, nullif(t.interp, ''), nullif(t.gainfield, ''), nullif(t.spwmap, '')
    FROM calprov_application_tables t WHERE t.caltable_path IS NOT NULL
) u;

-- A number member of the metrics JSON `m` (NULL when absent or not a number).
CREATE OR REPLACE FUNCTION calprov_prov_metric(m JSON, key TEXT) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(m -> key) = 'number' THEN CAST(m ->> key AS DOUBLE PRECISION) END
$$;

CREATE OR REPLACE VIEW prov_entity AS
-- Each caltable version, with its fingerprint and key metrics.
SELECT 'calprov:caltable-' || s.id AS ent_id,
       calprov_prov_label(s.caltable_path) AS ent_name,
       'voprov:DatasetEntity' AS ent_type,
       s.caltable_path AS ent_location,
       calprov_prov_time(s.solved_at) AS ent_generated_at_time,
       'caltable' AS calprov_kind,
       s.id AS calprov_solve_id,
       CAST(NULL AS BIGINT) AS calprov_application_id,
       s.id = (SELECT max(l.id) FROM calprov_solves l WHERE l.caltable_path = s.caltable_path) AS calprov_is_latest,
       m.doc ->> 'fingerprint' AS calprov_fingerprint,
       calprov_prov_metric(m.doc, 'n_solutions') AS calprov_n_solutions,
       calprov_prov_metric(m.doc, 'flagged_fraction') AS calprov_flagged_fraction,
       calprov_prov_metric(m.doc, 'snr_median') AS calprov_snr_median,
       CASE json_typeof(m.doc -> 'qa_passed')
           WHEN 'boolean' THEN CAST(m.doc ->> 'qa_passed' AS BOOLEAN)
           WHEN 'number' THEN CAST(m.doc ->> 'qa_passed' AS NUMERIC) <> 0
       END AS calprov_qa_passed
FROM calprov_solves s, LATERAL (SELECT calprov_try_json(s.metrics) AS doc) m
UNION ALL
-- Each MS, once.
-- (Typed NULLs: DISTINCT would make an untyped one text.)
SELECT DISTINCT u.ent_id, calprov_prov_label(u.path), 'voprov:DatasetEntity', u.path, CAST(NULL AS TEXT), 'ms',
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BOOLEAN), CAST(NULL AS TEXT),
       CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION),
       CAST(NULL AS BOOLEAN)
FROM calprov_prov_uses u WHERE u.role = 'vis'
UNION ALL
-- Each MS as an applycal left it.
SELECT 'calprov:calibrated-' || a.id, calprov_prov_label(a.ms_path), 'voprov:DatasetEntity', a.ms_path,
       calprov_prov_time(a.applied_at), 'calibrated', NULL, a.id, NULL, NULL, NULL, NULL, NULL, NULL
FROM calprov_applications a
UNION ALL
-- Caltables known by path only: applied while unregistered, or registered and never solved.
SELECT k.ent_id, calprov_prov_label(k.path), 'voprov:DatasetEntity', k.path, NULL, 'caltable',
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM (
    SELECT u.ent_id, u.path FROM calprov_prov_uses u WHERE u.role = 'gaintable' AND u.pinned_solve IS NULL
    UNION
    SELECT calprov_prov_name('calprov:caltable', 'calprov:caltable-x', c.path, TRUE), c.path
    FROM caltables c WHERE NOT EXISTS (SELECT 1 FROM calprov_solves s WHERE s.caltable_path = c.path)
) k;

CREATE OR REPLACE VIEW prov_activity AS
SELECT 'calprov:solve-' || s.id AS act_id,
       coalesce(s.task, 'solve') AS act_name,
       'Calibration' AS act_type,
       CAST(NULL AS TEXT) AS act_start_time,
       calprov_prov_time(s.solved_at) AS act_end_time,
       'solve' AS calprov_kind,
       s.id AS calprov_solve_id,
       CAST(NULL AS BIGINT) AS calprov_application_id,
       s.command AS calprov_command,
       s.origin AS calprov_origin,
       s.outcome AS calprov_outcome,
       s.host AS calprov_host,
       s.cwd AS calprov_cwd,
       s.params AS calprov_params
FROM calprov_solves s
UNION ALL
SELECT 'calprov:apply-' || a.id, 'applycal', 'Calibration', NULL,
       calprov_prov_time(a.applied_at), 'application', NULL, a.id,
       a.command, NULL, NULL, a.host, a.cwd, a.params
FROM calprov_applications a;

CREATE OR REPLACE VIEW calprov_prov_casa AS
SELECT s.id AS solve_id,
       CASE
           WHEN s.casa_version IS NULL THEN 'calprov:casa'
           ELSE calprov_prov_name('calprov:casa-', 'calprov:casa-x', s.casa_version, FALSE)
       END AS agent_id,
       s.casa_version AS version
FROM calprov_solves s;

CREATE OR REPLACE VIEW prov_agent AS
SELECT DISTINCT c.agent_id AS agent_id,
       'CASA' || coalesce(' ' || c.version, '') AS agent_name,
       'prov:SoftwareAgent' AS agent_type,
       c.version AS calprov_casa_version
FROM calprov_prov_casa c
UNION
-- An applycal's CASA version is not recorded.
SELECT 'calprov:casa', 'CASA', 'prov:SoftwareAgent', NULL
WHERE EXISTS (SELECT 1 FROM calprov_applications);

CREATE OR REPLACE VIEW prov_used AS
SELECT u.act_id || '.' || u.role || '-' || u.idx AS used_id,
       u.act_id AS used_act_id,
       u.ent_id AS used_ent_id,
       u.role AS used_ent_role,
       CAST(NULL AS TEXT) AS used_time,
       CASE u.role WHEN 'gaintable' THEN u.idx END AS calprov_index,
       u.interp AS calprov_interp,
       u.gainfield AS calprov_gainfield,
       u.spwmap AS calprov_spwmap,
       u.solve_id AS calprov_solve_id,
       u.application_id AS calprov_application_id
FROM calprov_prov_uses u;

CREATE OR REPLACE VIEW prov_was_generated_by AS
SELECT 'calprov:solve-' || s.id || '.generated' AS wgb_id,
       'calprov:caltable-' || s.id AS wgb_ent_id,
       'calprov:solve-' || s.id AS wgb_act_id,
       CAST(NULL AS TEXT) AS wgb_ent_role,
       calprov_prov_time(s.solved_at) AS wgb_time,
       s.id AS calprov_solve_id,
       CAST(NULL AS BIGINT) AS calprov_application_id
FROM calprov_solves s
UNION ALL
SELECT 'calprov:apply-' || a.id || '.generated', 'calprov:calibrated-' || a.id, 'calprov:apply-' || a.id,
       NULL, calprov_prov_time(a.applied_at), NULL, a.id
FROM calprov_applications a;

CREATE OR REPLACE VIEW prov_was_associated_with AS
SELECT 'calprov:solve-' || c.solve_id || '.associated' AS waw_id,
       'calprov:solve-' || c.solve_id AS waw_act_id,
       c.agent_id AS waw_agent_id,
       CAST(NULL AS TEXT) AS waw_agent_role,
       c.solve_id AS calprov_solve_id,
       CAST(NULL AS BIGINT) AS calprov_application_id
FROM calprov_prov_casa c
UNION ALL
SELECT 'calprov:apply-' || a.id || '.associated', 'calprov:apply-' || a.id, 'calprov:casa', NULL, NULL, a.id
FROM calprov_applications a;

CREATE OR REPLACE VIEW prov_was_derived_from AS
-- A caltable version from each dataset its solve read.
SELECT u.act_id || '.from-' || u.role || '-' || u.idx AS wdf_id,
       'calprov:caltable-' || u.solve_id AS wdf_generated_ent_id,
       u.ent_id AS wdf_used_ent_id,
       u.act_id AS wdf_act_id,
       CAST(NULL AS TEXT) AS wdf_type,
       u.solve_id AS calprov_solve_id,
       CAST(NULL AS BIGINT) AS calprov_application_id
FROM calprov_prov_uses u WHERE u.solve_id IS NOT NULL
UNION ALL
-- A re-solved caltable, a revision of its previous version.
SELECT 'calprov:solve-' || r.id || '.revision', 'calprov:caltable-' || r.id, 'calprov:caltable-' || r.previous,
       'calprov:solve-' || r.id, 'prov:Revision', r.id, NULL
FROM (
    SELECT s.id,
           (SELECT max(p.id) FROM calprov_solves p WHERE p.caltable_path = s.caltable_path AND p.id < s.id) AS previous
    FROM calprov_solves s
) r WHERE r.previous IS NOT NULL
UNION ALL
-- An MS after applycal, a revision of the MS.
SELECT u.act_id || '.revision', 'calprov:calibrated-' || u.application_id, u.ent_id, u.act_id, 'prov:Revision',
       NULL, u.application_id
FROM calprov_prov_uses u WHERE u.application_id IS NOT NULL AND u.role = 'vis';

CREATE OR REPLACE VIEW prov_parameter AS
SELECT p.act_id AS param_act_id,
       j.key AS param_name,
       j.value #>> '{}' AS param_value,
       CASE json_typeof(j.value)
           WHEN 'string' THEN 'text'
           WHEN 'number' THEN CASE WHEN j.value::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
           WHEN 'boolean' THEN j.value::text
           ELSE json_typeof(j.value)
       END AS param_type,
       p.solve_id AS calprov_solve_id,
       p.application_id AS calprov_application_id
FROM (
    SELECT 'calprov:solve-' || s.id AS act_id, s.id AS solve_id, CAST(NULL AS BIGINT) AS application_id,
           calprov_try_json(s.params) AS params
    FROM calprov_solves s
    UNION ALL
    SELECT 'calprov:apply-' || a.id, NULL, a.id, calprov_try_json(a.params) FROM calprov_applications a
) p,
json_each(CASE json_typeof(p.params) WHEN 'object' THEN p.params END) j
WHERE json_typeof(j.value) <> 'null';
