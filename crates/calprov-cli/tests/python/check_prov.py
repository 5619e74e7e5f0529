"""Checks one calprov export with the PyPI `prov` package (and, given the registry, against
the registry's PROV views). Usage:

    check_prov.py EXPORT.json EXPORT.provn [REGISTRY.sqlite3 or postgres://URL]

Every check raises on failure; Python warnings are errors. Prints the record counts.
"""

import json
import sqlite3
import sys
import warnings
from pathlib import Path

import jsonschema
import prov
import prov.model as pm

warnings.simplefilter("error")

REFERENCES = {"prov:activity", "prov:entity", "prov:agent", "prov:generatedEntity", "prov:usedEntity",
              "prov:plan", "prov:generation", "prov:usage"}
SCHEMA = Path(prov.__file__).parent / "tests" / "schemas" / "prov-json.schema.json"


def records(doc):
    """Every record as (type, id, formal attributes, other attributes), comparable."""
    out = set()
    for r in doc.get_records():
        out.add(
            (
                r.get_type().localpart,
                str(r.identifier),
                tuple(sorted((str(k), str(v)) for k, v in r.formal_attributes if v is not None)),
                tuple(sorted((str(k), repr(v)) for k, v in r.extra_attributes)),
            )
        )
    return out


def check_document(json_text, provn_text):
    data = json.loads(json_text)
    # 1. The PROV-JSON schema that ships with prov.
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    validator(schema).validate(data)
    # No blank nodes, every prefix used declared.
    declared = set(data.get("prefix", {})) | {"prov", "xsd"}
    for section, recs in data.items():
        if section == "prefix":
            continue
        for rid, attrs in recs.items():
            assert not rid.startswith("_:"), rid
            names = [rid] + [v for k, v in attrs.items() if k in REFERENCES]
            names += [v["$"] for v in attrs.values()
                      if isinstance(v, dict) and v.get("type") == "prov:QUALIFIED_NAME"]
            names += list(attrs)
            for name in names:
                prefix = name.split(":", 1)[0]
                assert prefix in declared, f"undeclared prefix {prefix} in {name}"
    # 2. Deserialises (warnings are errors).
    doc = pm.ProvDocument.deserialize(content=json_text, format="json")
    # 3. Survives unified().
    unified = doc.unified()
    assert len(list(unified.get_records())) <= len(list(doc.get_records()))
    # 4. Round-trips.
    again = pm.ProvDocument.deserialize(content=doc.serialize(format="json"), format="json")
    assert again == doc, "PROV-JSON round trip changed the document"
    # 5. Our PROV-N and prov's describe the same records as our PROV-JSON.
    ours = pm.ProvDocument.deserialize(content=provn_text, format="provn")
    theirs = pm.ProvDocument.deserialize(content=doc.get_provn(), format="provn")
    assert records(ours) == records(doc), sorted(records(ours) ^ records(doc))[:6]
    assert records(theirs) == records(doc), sorted(records(theirs) ^ records(doc))[:6]
    assert ours == doc, "our PROV-N is not the same document as our PROV-JSON"
    return data


def sql_value(value, kind):
    # PostgreSQL's param_value is text (a column has one type there).
    if kind == "integer" and isinstance(value, str):
        return int(value)
    if kind == "real" and isinstance(value, str):
        return float(value)
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in ("array", "object"):
        return json.loads(value)
    return value


def export_value(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def connect(db):
    """The registry: a PostgreSQL URL (read with psycopg) or an SQLite file."""
    if db.startswith(("postgres://", "postgresql://")):
        import psycopg

        return psycopg.connect(db)
    return sqlite3.connect(db)


def check_views(data, conn):
    """The registry's views hold exactly the exported records."""
    q = lambda sql: set(conn.execute(sql).fetchall())
    section = lambda name: data.get(name, {})
    assert q("SELECT ent_id FROM prov_entity") == {(i,) for i in section("entity")}
    assert q("SELECT act_id FROM prov_activity") == {(i,) for i in section("activity")}
    assert q("SELECT agent_id FROM prov_agent") == {(i,) for i in section("agent")}
    assert q("SELECT used_id, used_act_id, used_ent_id, used_ent_role FROM prov_used") == {
        (i, r["prov:activity"], r["prov:entity"], r["prov:role"]) for i, r in section("used").items()
    }
    assert q("SELECT wgb_id, wgb_ent_id, wgb_act_id FROM prov_was_generated_by") == {
        (i, r["prov:entity"], r["prov:activity"]) for i, r in section("wasGeneratedBy").items()
    }
    assert q("SELECT waw_id, waw_act_id, waw_agent_id FROM prov_was_associated_with") == {
        (i, r["prov:activity"], r["prov:agent"]) for i, r in section("wasAssociatedWith").items()
    }
    assert q("SELECT wdf_id, wdf_generated_ent_id, wdf_used_ent_id, wdf_type FROM prov_was_derived_from") == {
        (i, r["prov:generatedEntity"], r["prov:usedEntity"], (r.get("prov:type") or {}).get("$"))
        for i, r in section("wasDerivedFrom").items()
    }
    for name, (ent_type, location) in {
        i: (r["prov:type"]["$"], r["prov:location"]) for i, r in section("entity").items()
    }.items():
        assert q(f"SELECT ent_type, ent_location FROM prov_entity WHERE ent_id = '{name}'") == {(ent_type, location)}
    # Every attribute the views hold, record by record (the export computes them itself).
    def same(sql, section_name, mapping):
        recs = section(section_name)
        rows = conn.execute(sql).fetchall()
        assert len(rows) == len(recs), (section_name, len(rows), len(recs))
        for row in rows:
            rec = recs[row[0]]
            for value, key in zip(row[1:], mapping):
                got = rec.get(key)
                if isinstance(got, dict):
                    got = got.get("$")
                if key == "calprov:qa_passed" and value is not None:
                    value = bool(value)
                assert got == value, (section_name, row[0], key, got, value)

    same("SELECT ent_id, ent_name, ent_location, calprov_kind, calprov_fingerprint, calprov_n_solutions, "
         "calprov_flagged_fraction, calprov_snr_median, calprov_qa_passed FROM prov_entity", "entity",
         ["prov:label", "prov:location", "calprov:kind", "calprov:fingerprint", "calprov:n_solutions",
          "calprov:flagged_fraction", "calprov:snr_median", "calprov:qa_passed"])
    same("SELECT act_id, act_name, act_type, act_start_time, act_end_time, calprov_command, calprov_origin, "
         "calprov_outcome, calprov_host, calprov_cwd FROM prov_activity", "activity",
         ["prov:label", "prov:type", "prov:startTime", "prov:endTime", "calprov:command", "calprov:origin",
          "calprov:outcome", "calprov:host", "calprov:cwd"])
    same("SELECT agent_id, agent_name, agent_type, calprov_casa_version FROM prov_agent", "agent",
         ["prov:label", "prov:type", "calprov:casa_version"])
    same("SELECT used_id, used_time, calprov_index, calprov_interp, calprov_gainfield, calprov_spwmap FROM prov_used",
         "used", ["prov:time", "calprov:index", "calprov:interp", "calprov:gainfield", "calprov:spwmap"])
    same("SELECT wgb_id, wgb_time FROM prov_was_generated_by", "wasGeneratedBy", ["prov:time"])
    same("SELECT wdf_id, wdf_act_id FROM prov_was_derived_from", "wasDerivedFrom", ["prov:activity"])
    params = conn.execute("SELECT param_act_id, param_name, param_value, param_type FROM prov_parameter").fetchall()
    exported = {
        (act, k.split(":", 1)[1]): export_value(v)
        for act, attrs in section("activity").items()
        for k, v in attrs.items()
        if k.startswith("casaparam:")
    }
    assert len(params) == len(exported), (len(params), len(exported))
    for act, name, value, kind in params:
        assert exported[(act, name)] == sql_value(value, kind), (act, name, value, exported[(act, name)])


def main():
    json_text = Path(sys.argv[1]).read_text()
    provn_text = Path(sys.argv[2]).read_text()
    data = check_document(json_text, provn_text)
    if len(sys.argv) > 3:
        conn = connect(sys.argv[3])
        try:
            check_views(data, conn)
        finally:
            conn.close()
    print(json.dumps({k: len(v) for k, v in data.items()}))


if __name__ == "__main__":
    main()
