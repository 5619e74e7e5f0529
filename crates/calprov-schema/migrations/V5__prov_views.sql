-- The provenance graph as W3C PROV records, in views named and shaped after the IVOA
-- ProvTAP / PROV-VOTable draft (`prov_entity`, `prov_activity`, `prov_agent`, `prov_used`,
-- `prov_was_generated_by`, `prov_was_associated_with`, `prov_was_derived_from`,
-- `prov_parameter`; columns prefixed by the record: `ent_`, `act_`, `agent_`, `used_`, `wgb_`,
-- `waw_`, `wdf_`, `param_`). A ProvTAP service or plain SQL reads the same graph that
-- `calprov export` writes (the export computes the same records from the history tables by
-- these rules, `export/ids.rs`; a test compares the two). Views only: nothing is stored twice,
-- and history rows appended later appear at once. Columns named `calprov_*` are calprov's own
-- (the solve or application a record belongs to, metrics); the draft allows extra columns.
--
-- Ids are stable qualified names in the `calprov` namespace, never blank nodes:
--   calprov:solve-<id>          a solve (an activity)
--   calprov:caltable-<id>       the caltable as solve <id> wrote it (one entity per version)
--   calprov:apply-<id>          an applycal (an activity)
--   calprov:calibrated-<id>     the MS as applycal <id> left it (a revision of the MS)
--   calprov:ms<path>            an MS, by its absolute path
--   calprov:caltable<path>      a caltable known by path only (registered and never solved,
--                               or applied while unregistered)
--   calprov:casa-<version>      CASA at that version; `calprov:casa` where it is unknown
-- A path or version that a PROV-N name cannot hold as it is (anything beyond letters, digits
-- and `/._+-`, a relative path, a trailing dot) is spelled `-x<hex of its UTF-8 bytes>`
-- instead: `calprov:ms-x2F646174...`. The spelling rule is the CASE repeated below for MS
-- paths, caltable paths and versions.
-- Times are ISO 8601 UTC with milliseconds.

-- Internal: every use of a dataset by an activity (a solve's vis and gaintables, an
-- application's MS and tables), with the used entity's id computed once.
CREATE VIEW IF NOT EXISTS calprov_prov_uses AS
SELECT u.*,
       CASE
           WHEN u.role = 'gaintable' AND u.pinned_solve IS NOT NULL THEN 'calprov:caltable-' || u.pinned_solve
           WHEN u.path GLOB '/*' AND u.path NOT GLOB '*[^A-Za-z0-9/._+-]*' AND u.path NOT GLOB '*.'
               THEN (CASE u.role WHEN 'vis' THEN 'calprov:ms' ELSE 'calprov:caltable' END) || u.path
           ELSE (CASE u.role WHEN 'vis' THEN 'calprov:ms-x' ELSE 'calprov:caltable-x' END) || hex(u.path)
       END AS ent_id
FROM (
    SELECT 'calprov:solve-' || i.solve_id AS act_id, i.solve_id AS solve_id, NULL AS application_id,
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

CREATE VIEW IF NOT EXISTS prov_entity AS
-- Each caltable version, with its fingerprint and key metrics.
SELECT 'calprov:caltable-' || s.id AS ent_id,
       replace(s.caltable_path, rtrim(s.caltable_path, replace(s.caltable_path, '/', '')), '') AS ent_name,
       'voprov:DatasetEntity' AS ent_type,
       s.caltable_path AS ent_location,
       strftime('%Y-%m-%dT%H:%M:%fZ', s.solved_at, 'unixepoch') AS ent_generated_at_time,
       'caltable' AS calprov_kind,
       s.id AS calprov_solve_id,
       NULL AS calprov_application_id,
       s.id = (SELECT max(l.id) FROM calprov_solves l WHERE l.caltable_path = s.caltable_path) AS calprov_is_latest,
       CASE WHEN json_valid(s.metrics) THEN json_extract(s.metrics, '$.fingerprint') END AS calprov_fingerprint,
       CASE WHEN json_valid(s.metrics) THEN json_extract(s.metrics, '$.n_solutions') END AS calprov_n_solutions,
       CASE WHEN json_valid(s.metrics) THEN json_extract(s.metrics, '$.flagged_fraction') END AS calprov_flagged_fraction,
       CASE WHEN json_valid(s.metrics) THEN json_extract(s.metrics, '$.snr_median') END AS calprov_snr_median,
       CASE WHEN json_valid(s.metrics) THEN json_extract(s.metrics, '$.qa_passed') END AS calprov_qa_passed
FROM calprov_solves s
UNION ALL
-- Each MS, once.
SELECT DISTINCT u.ent_id, replace(u.path, rtrim(u.path, replace(u.path, '/', '')), ''),
       'voprov:DatasetEntity', u.path, NULL, 'ms', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM calprov_prov_uses u WHERE u.role = 'vis'
UNION ALL
-- Each MS as an applycal left it.
SELECT 'calprov:calibrated-' || a.id, replace(a.ms_path, rtrim(a.ms_path, replace(a.ms_path, '/', '')), ''),
       'voprov:DatasetEntity', a.ms_path, strftime('%Y-%m-%dT%H:%M:%fZ', a.applied_at, 'unixepoch'),
       'calibrated', NULL, a.id, NULL, NULL, NULL, NULL, NULL, NULL
FROM calprov_applications a
UNION ALL
-- Caltables known by path only: applied while unregistered, or registered and never solved.
SELECT k.ent_id, replace(k.path, rtrim(k.path, replace(k.path, '/', '')), ''),
       'voprov:DatasetEntity', k.path, NULL, 'caltable', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM (
    SELECT u.ent_id, u.path FROM calprov_prov_uses u WHERE u.role = 'gaintable' AND u.pinned_solve IS NULL
    UNION
    SELECT CASE
               WHEN c.path GLOB '/*' AND c.path NOT GLOB '*[^A-Za-z0-9/._+-]*' AND c.path NOT GLOB '*.'
                   THEN 'calprov:caltable' || c.path
               ELSE 'calprov:caltable-x' || hex(c.path)
           END, c.path
    FROM caltables c WHERE NOT EXISTS (SELECT 1 FROM calprov_solves s WHERE s.caltable_path = c.path)
) k;

CREATE VIEW IF NOT EXISTS prov_activity AS
SELECT 'calprov:solve-' || s.id AS act_id,
       coalesce(s.task, 'solve') AS act_name,
       'Calibration' AS act_type,
       NULL AS act_start_time,
       strftime('%Y-%m-%dT%H:%M:%fZ', s.solved_at, 'unixepoch') AS act_end_time,
       'solve' AS calprov_kind,
       s.id AS calprov_solve_id,
       NULL AS calprov_application_id,
       s.command AS calprov_command,
       s.origin AS calprov_origin,
       s.outcome AS calprov_outcome,
       s.host AS calprov_host,
       s.cwd AS calprov_cwd,
       s.params AS calprov_params
FROM calprov_solves s
UNION ALL
SELECT 'calprov:apply-' || a.id, 'applycal', 'Calibration', NULL,
       strftime('%Y-%m-%dT%H:%M:%fZ', a.applied_at, 'unixepoch'), 'application', NULL, a.id,
       a.command, NULL, NULL, a.host, a.cwd, a.params
FROM calprov_applications a;

CREATE VIEW IF NOT EXISTS calprov_prov_casa AS
SELECT s.id AS solve_id,
       CASE
           WHEN s.casa_version IS NULL THEN 'calprov:casa'
           WHEN s.casa_version NOT GLOB '*[^A-Za-z0-9._+-]*' AND s.casa_version NOT GLOB '*.'
               THEN 'calprov:casa-' || s.casa_version
           ELSE 'calprov:casa-x' || hex(s.casa_version)
       END AS agent_id,
       s.casa_version AS version
FROM calprov_solves s;

CREATE VIEW IF NOT EXISTS prov_agent AS
SELECT DISTINCT c.agent_id AS agent_id,
       'CASA' || coalesce(' ' || c.version, '') AS agent_name,
       'prov:SoftwareAgent' AS agent_type,
       c.version AS calprov_casa_version
FROM calprov_prov_casa c
UNION
-- An applycal's CASA version is not recorded.
SELECT 'calprov:casa', 'CASA', 'prov:SoftwareAgent', NULL
WHERE EXISTS (SELECT 1 FROM calprov_applications);

CREATE VIEW IF NOT EXISTS prov_used AS
SELECT u.act_id || '.' || u.role || '-' || u.idx AS used_id,
       u.act_id AS used_act_id,
       u.ent_id AS used_ent_id,
       u.role AS used_ent_role,
       NULL AS used_time,
       CASE u.role WHEN 'gaintable' THEN u.idx END AS calprov_index,
       u.interp AS calprov_interp,
       u.gainfield AS calprov_gainfield,
       u.spwmap AS calprov_spwmap,
       u.solve_id AS calprov_solve_id,
       u.application_id AS calprov_application_id
FROM calprov_prov_uses u;

CREATE VIEW IF NOT EXISTS prov_was_generated_by AS
SELECT 'calprov:solve-' || s.id || '.generated' AS wgb_id,
       'calprov:caltable-' || s.id AS wgb_ent_id,
       'calprov:solve-' || s.id AS wgb_act_id,
       NULL AS wgb_ent_role,
       strftime('%Y-%m-%dT%H:%M:%fZ', s.solved_at, 'unixepoch') AS wgb_time,
       s.id AS calprov_solve_id,
       NULL AS calprov_application_id
FROM calprov_solves s
UNION ALL
SELECT 'calprov:apply-' || a.id || '.generated', 'calprov:calibrated-' || a.id, 'calprov:apply-' || a.id,
       NULL, strftime('%Y-%m-%dT%H:%M:%fZ', a.applied_at, 'unixepoch'), NULL, a.id
FROM calprov_applications a;

CREATE VIEW IF NOT EXISTS prov_was_associated_with AS
SELECT 'calprov:solve-' || c.solve_id || '.associated' AS waw_id,
       'calprov:solve-' || c.solve_id AS waw_act_id,
       c.agent_id AS waw_agent_id,
       NULL AS waw_agent_role,
       c.solve_id AS calprov_solve_id,
       NULL AS calprov_application_id
FROM calprov_prov_casa c
UNION ALL
SELECT 'calprov:apply-' || a.id || '.associated', 'calprov:apply-' || a.id, 'calprov:casa', NULL, NULL, a.id
FROM calprov_applications a;

CREATE VIEW IF NOT EXISTS prov_was_derived_from AS
-- A caltable version from each dataset its solve read.
SELECT u.act_id || '.from-' || u.role || '-' || u.idx AS wdf_id,
       'calprov:caltable-' || u.solve_id AS wdf_generated_ent_id,
       u.ent_id AS wdf_used_ent_id,
       u.act_id AS wdf_act_id,
       NULL AS wdf_type,
       u.solve_id AS calprov_solve_id,
       NULL AS calprov_application_id
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

CREATE VIEW IF NOT EXISTS prov_parameter AS
SELECT p.act_id AS param_act_id,
       j.key AS param_name,
       j.value AS param_value,
       j.type AS param_type,
       p.solve_id AS calprov_solve_id,
       p.application_id AS calprov_application_id
FROM (
    SELECT 'calprov:solve-' || s.id AS act_id, s.id AS solve_id, NULL AS application_id, s.params AS params
    FROM calprov_solves s
    UNION ALL
    SELECT 'calprov:apply-' || a.id, NULL, a.id, a.params FROM calprov_applications a
) p,
json_each(CASE WHEN json_valid(p.params) THEN CASE json_type(p.params) WHEN 'object' THEN p.params END END) j
WHERE j.type <> 'null';
