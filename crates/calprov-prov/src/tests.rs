//! The writers on hand-made records: PROV-JSON parses as JSON with the right shape, PROV-N
//! and DOT say the same records, and the grouping rule holds. (The real validation, by the
//! PyPI `prov` package and Graphviz, is in the CLI's integration tests.)

use proptest::prelude::*;
use serde_json::Value as Json;

use crate::{
    DotWriter, Format, Kind, ProvJsonWriter, ProvNWriter, Record, Value, Writer, param_name,
};

fn entity(id: &str, label: &str) -> Record {
    let mut r = Record::new(Kind::Entity);
    r.id = id.to_owned();
    r.push("prov:type", Value::QName("voprov:DatasetEntity".into()));
    r.push("prov:label", Value::Str(label.to_owned()));
    r
}

fn used(id: &str, activity: &str, entity: &str) -> Record {
    let mut r = Record::new(Kind::Used);
    r.id = id.to_owned();
    r.formal[0] = Some(activity.to_owned());
    r.formal[1] = Some(entity.to_owned());
    r.push("prov:role", Value::Str("gaintable".into()));
    r.push("calprov:index", Value::Int(1));
    r
}

fn activity(id: &str) -> Record {
    let mut r = Record::new(Kind::Activity);
    r.id = id.to_owned();
    r.formal[1] = Some("2026-01-02T03:04:05.678Z".into());
    r.push("prov:label", Value::Str("gaincal".into()));
    r.push("casaparam:minsnr", Value::Float(3.0));
    r.push("casaparam:solnorm", Value::Bool(true));
    r.push("calprov:snr", Value::Float(f64::NAN));
    r
}

fn render<W: Writer>(mut writer: W, records: &[Record]) -> W {
    for r in records {
        writer.record(r).expect("written");
    }
    writer.finish().expect("finished");
    writer
}

fn json_of(records: &[Record]) -> Json {
    let mut out = Vec::new();
    render(ProvJsonWriter::new(&mut out).expect("started"), records);
    serde_json::from_slice(&out).expect("PROV-JSON is JSON")
}

fn provn_of(records: &[Record]) -> String {
    let mut out = Vec::new();
    render(ProvNWriter::new(&mut out).expect("started"), records);
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn prov_json_groups_records_by_kind_with_plain_numbers_and_typed_names() {
    let doc = json_of(&[
        entity("calprov:caltable-1", "a"),
        entity("calprov:caltable-2", "b"),
        activity("calprov:solve-2"),
        used(
            "calprov:solve-2.gaintable-1",
            "calprov:solve-2",
            "calprov:caltable-1",
        ),
    ]);
    assert_eq!(doc["prefix"]["calprov"], "urn:calprov:");
    assert_eq!(
        doc["prefix"]["voprov"],
        "http://www.ivoa.net/documents/ProvenanceDM/index.html#"
    );
    assert_eq!(doc["entity"].as_object().map(|o| o.len()), Some(2));
    assert_eq!(
        doc["entity"]["calprov:caltable-1"]["prov:type"],
        serde_json::json!({"$": "voprov:DatasetEntity", "type": "prov:QUALIFIED_NAME"})
    );
    let solve = &doc["activity"]["calprov:solve-2"];
    assert_eq!(solve["prov:endTime"], "2026-01-02T03:04:05.678Z");
    assert!(
        solve.get("prov:startTime").is_none(),
        "absent formal attributes are left out"
    );
    assert_eq!(solve["casaparam:minsnr"], serde_json::json!(3.0));
    assert_eq!(solve["casaparam:solnorm"], Json::Bool(true));
    assert_eq!(solve["calprov:snr"], "NaN");
    let usage = &doc["used"]["calprov:solve-2.gaintable-1"];
    assert_eq!(usage["prov:activity"], "calprov:solve-2");
    assert_eq!(usage["prov:entity"], "calprov:caltable-1");
    assert_eq!(usage["calprov:index"], serde_json::json!(1));
}

#[test]
fn an_empty_document_is_valid_json() {
    let doc = json_of(&[]);
    assert_eq!(doc.as_object().map(|o| o.len()), Some(1), "{doc}");
}

#[test]
fn a_repeated_attribute_becomes_an_array() {
    let mut e = entity("calprov:x", "x");
    e.push("prov:label", Value::Str("y".into()));
    let doc = json_of(&[e]);
    assert_eq!(
        doc["entity"]["calprov:x"]["prov:label"],
        serde_json::json!(["x", "y"])
    );
}

#[test]
fn records_of_a_kind_that_comes_back_are_refused() {
    let mut out = Vec::new();
    let mut writer = ProvJsonWriter::new(&mut out).expect("started");
    writer.record(&entity("calprov:a", "a")).expect("entity");
    writer.record(&activity("calprov:s")).expect("activity");
    let err = writer
        .record(&entity("calprov:b", "b"))
        .expect_err("entity again");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("entity records must come together"),
        "{err}"
    );
}

#[test]
fn prov_n_uses_the_full_positional_form_and_prov_n_literals() {
    let text = provn_of(&[
        entity("calprov:caltable-1", "a \"b\"\n"),
        activity("calprov:solve-2"),
        used(
            "calprov:solve-2.gaintable-1",
            "calprov:solve-2",
            "calprov:caltable-1",
        ),
    ]);
    assert!(
        text.starts_with("document\n  prefix calprov <urn:calprov:>\n"),
        "{text}"
    );
    assert!(text.ends_with("endDocument\n"), "{text}");
    assert!(
        text.contains(
            "  entity(calprov:caltable-1, [prov:type='voprov:DatasetEntity', prov:label=\"a \\\"b\\\"\\n\"])\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  activity(calprov:solve-2, -, 2026-01-02T03:04:05.678Z, [prov:label=\"gaincal\", \
             casaparam:minsnr=\"3.0\" %% xsd:double, casaparam:solnorm=\"true\" %% xsd:boolean, calprov:snr=\"NaN\"])\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  used(calprov:solve-2.gaintable-1; calprov:solve-2, calprov:caltable-1, -, [prov:role=\"gaintable\", calprov:index=1])\n"
        ),
        "{text}"
    );
}

#[test]
fn prov_n_escapes_what_a_name_cannot_hold() {
    let text = provn_of(&[entity("calprov:ms/data/a b(1).ms", "x")]);
    assert!(
        text.contains("entity(calprov:ms/data/a%20b\\(1\\).ms, "),
        "{text}"
    );
}

#[test]
fn dot_draws_prov_shapes_and_marks_qa_failures_and_changed_tables() {
    let mut bad = entity("calprov:caltable-1", "obs_gacal");
    bad.push("calprov:qa_passed", Value::Bool(false));
    let mut changed = entity("calprov:caltable-2", "obs_bpcal");
    changed.push("calprov:verify", Value::Str("flags_edited".into()));
    let mut revision = Record::new(Kind::WasDerivedFrom);
    revision.id = "calprov:solve-2.revision".into();
    revision.formal[0] = Some("calprov:caltable-2".into());
    revision.formal[1] = Some("calprov:caltable-1".into());
    revision.push("prov:type", Value::QName("prov:Revision".into()));
    let mut out = Vec::new();
    render(
        DotWriter::new(&mut out).expect("started"),
        &[
            bad,
            changed,
            activity("calprov:solve-2"),
            used(
                "calprov:solve-2.gaintable-1",
                "calprov:solve-2",
                "calprov:caltable-1",
            ),
            revision,
        ],
    );
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with("digraph provenance {"), "{text}");
    assert!(
        text.contains("\"calprov:caltable-1\" [shape=ellipse, style=\"filled\", fillcolor=\"#FFFC87\", color=\"#D00000\", penwidth=3, label=\"obs_gacal\\ncaltable-1\\nQA failed\"];"),
        "{text}"
    );
    assert!(
        text.contains("\"calprov:caltable-2\" [shape=ellipse, style=\"filled,dashed\", fillcolor=\"#FFFC87\", color=\"#E07000\", penwidth=2, label=\"obs_bpcal\\ncaltable-2\\non disk: flags_edited\"];"),
        "{text}"
    );
    assert!(text.contains("\"calprov:solve-2\" [shape=box, "), "{text}");
    assert!(
        text.contains(
            "\"calprov:solve-2\" -> \"calprov:caltable-1\" [label=\"used\\ngaintable[1]\"];"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"calprov:caltable-2\" -> \"calprov:caltable-1\" [label=\"wasRevisionOf\", style=dashed];"),
        "{text}"
    );
    assert!(text.ends_with("}\n"), "{text}");
}

/// Records rendered elsewhere (by several threads, in chunks) and handed over in order make
/// the same document as records written one by one, in every format.
#[test]
fn rendered_chunks_make_the_same_document_as_single_records() {
    let records = [
        entity("calprov:a", "a"),
        entity("calprov:b", "b"),
        entity("calprov:c", "c"),
        activity("calprov:s"),
        used("calprov:s.gaintable-1", "calprov:s", "calprov:a"),
        used("calprov:s.gaintable-2", "calprov:s", "calprov:b"),
    ];
    fn both<W: Writer>(one: &mut W, chunked: &mut W, format: Format, records: &[Record]) {
        for r in records {
            one.record(r).expect("record");
        }
        // Chunks of two, an empty one, and the kind boundaries respected.
        let mut start = 0;
        while start < records.len() {
            let kind = records[start].kind;
            let mut end = start;
            let mut bytes = Vec::new();
            while end < records.len() && end < start + 2 && records[end].kind == kind {
                format.render(&records[end], &mut bytes).expect("rendered");
                end += 1;
            }
            chunked.rendered(kind, &bytes).expect("chunk");
            chunked.rendered(kind, &[]).expect("empty chunk");
            start = end;
        }
        one.finish().expect("finished");
        chunked.finish().expect("finished");
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    {
        let mut one = ProvJsonWriter::new(&mut a).expect("started");
        let mut chunked = ProvJsonWriter::new(&mut b).expect("started");
        both(&mut one, &mut chunked, Format::ProvJson, &records);
    }
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    serde_json::from_slice::<Json>(&b).expect("valid JSON");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    {
        let mut one = ProvNWriter::new(&mut a).expect("started");
        let mut chunked = ProvNWriter::new(&mut b).expect("started");
        both(&mut one, &mut chunked, Format::ProvN, &records);
    }
    assert_eq!(a, b);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    {
        let mut one = DotWriter::new(&mut a).expect("started");
        let mut chunked = DotWriter::new(&mut b).expect("started");
        both(&mut one, &mut chunked, Format::Dot, &records);
    }
    assert_eq!(a, b);
}

#[test]
fn parameter_names_are_qualified_names() {
    assert_eq!(param_name("solint"), "casaparam:solint");
    assert_eq!(param_name("_x1"), "casaparam:_x1");
    assert_eq!(param_name("a b"), "casaparam:_x612062");
    assert_eq!(param_name("1a"), "casaparam:_x3161");
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::Str),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        "[a-z]{1,8}:[A-Za-z]{1,12}".prop_map(Value::QName),
    ]
}

proptest! {
    /// Whatever the values, PROV-JSON is JSON and gives each value back: strings and
    /// booleans as themselves, integers and finite doubles as the same numbers, non-finite
    /// doubles as their names, qualified names typed.
    #[test]
    fn prov_json_gives_every_value_back(values in prop::collection::vec(any_value(), 0..12)) {
        let mut record = entity("calprov:e", "e");
        record.attributes.clear();
        for (i, v) in values.iter().enumerate() {
            record.push(format!("calprov:a{i}"), v.clone());
        }
        let doc = json_of(&[record]);
        let object = &doc["entity"]["calprov:e"];
        for (i, v) in values.iter().enumerate() {
            let got = &object[format!("calprov:a{i}")];
            match v {
                Value::Str(s) => prop_assert_eq!(got.as_str(), Some(s.as_str())),
                Value::Int(n) => prop_assert_eq!(got.as_i64(), Some(*n)),
                Value::Float(f) if f.is_finite() => prop_assert_eq!(got.as_f64(), Some(*f)),
                Value::Float(f) => prop_assert_eq!(
                    got.as_str(),
                    Some(if f.is_nan() { "NaN" } else if *f > 0.0 { "Infinity" } else { "-Infinity" })
                ),
                Value::Bool(b) => prop_assert_eq!(got.as_bool(), Some(*b)),
                Value::QName(q) => prop_assert_eq!(got["$"].as_str(), Some(q.as_str())),
            }
        }
    }

    /// A PROV-N string literal ends where it should whatever it holds: the escaped body has
    /// no bare quote and no raw line break.
    #[test]
    fn prov_n_string_literals_are_closed(s in any::<String>()) {
        let text = provn_of(&[entity("calprov:e", &s)]);
        let line = text.lines().find(|l| l.contains("entity(")).expect("the entity line");
        let body = line
            .split_once("prov:label=\"")
            .and_then(|(_, rest)| rest.strip_suffix("\"])"))
            .expect("the literal");
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            prop_assert!(c != '"', "bare quote in {:?}", body);
            if c == '\\' {
                prop_assert!(chars.next().is_some());
            }
        }
        prop_assert!(!text.lines().any(|l| l.starts_with("\"")));
    }
}
