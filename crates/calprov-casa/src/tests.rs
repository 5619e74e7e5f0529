use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::*;

#[test]
fn every_casa_version_form_normalises() {
    for (input, expected) in [
        ("6.7.0-31", "6.7.0.31"),
        ("6.7.0.31", "6.7.0.31"),
        ("[6, 7, 0, 31]", "6.7.0.31"),
        (
            "[np.int64(6), np.int64(7), np.int64(0), np.int64(31)]",
            "6.7.0.31",
        ),
        ("6.7.2", "6.7.2"),
        (" 5.8.0-109 ", "5.8.0.109"),
    ] {
        assert_eq!(
            normalize_version(input).unwrap().as_str(),
            expected,
            "{input}"
        );
    }
    for bad in [
        "Unknown",
        "",
        "6",
        "6.x.0",
        "6..7",
        "[6, 7, 'a']",
        "20240611.1.2",
        "6.7.0-31-beta",
        "v6.7",
        "1.2.3.4.5",
    ] {
        assert!(
            matches!(normalize_version(bad), Err(Error::InvalidVersion(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn command_is_sorted_without_none_and_escaped() {
    let params = [
        ("vis", PyValue::Str("/data/x.ms".into())),
        ("refant", PyValue::Str("103".into())),
        (
            "gaintable",
            PyValue::List(vec![PyValue::Str("a".into()), PyValue::Str("b".into())]),
        ),
        ("field", PyValue::Str("0".into())),
        ("caltable", PyValue::Str("x".into())),
        ("spw", PyValue::None),
    ];
    let cmd = render_command("gaincal", params.iter().map(|(k, v)| (*k, v))).unwrap();
    assert_eq!(
        cmd,
        "gaincal(caltable='x', field='0', gaintable=['a', 'b'], refant='103', vis='/data/x.ms')"
    );
    let hostile = PyValue::Str("'); import os; os.system('x') #\n\t\\ é ✓ \u{1F600} \u{7}".into());
    let cmd = render_command("gaincal", [("vis", &hostile)]).unwrap();
    assert_eq!(
        cmd,
        r"gaincal(vis='\'); import os; os.system(\'x\') #\n\t\\ \xe9 \u2713 \U0001f600 \x07')"
    );
    let floats = [
        ("a", PyValue::Float(f64::NAN)),
        ("b", PyValue::Float(f64::NEG_INFINITY)),
        ("c", PyValue::Float(1.0)),
        ("d", PyValue::Tuple(vec![PyValue::Int(1)])),
        ("e", PyValue::Bool(true)),
    ];
    let cmd = render_command("t", floats.iter().map(|(k, v)| (*k, v))).unwrap();
    assert_eq!(
        cmd,
        "t(a=float('nan'), b=-float('inf'), c=1.0, d=(1,), e=True)"
    );
}

#[test]
fn keys_that_are_not_identifiers_are_errors() {
    for key in ["", "1a", "a-b", "a b", "class", "é", "a=1,b"] {
        let err = render_command("gaincal", [(key, &PyValue::Int(1))]).unwrap_err();
        assert!(matches!(err, Error::InvalidIdentifier { .. }), "{key:?}");
    }
    assert!(render_command("os.system", std::iter::empty()).is_err());
}

#[test]
fn too_deep_values_are_refused_not_overflowed() {
    let mut v = PyValue::Int(1);
    for _ in 0..10_000 {
        v = PyValue::List(vec![v]);
    }
    assert!(matches!(
        render_command("t", [("x", &v)]),
        Err(Error::TooDeep { .. })
    ));
    let deep = format!("t(x={}1{})", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_command(&deep).is_err());
}

/// Found by the `command_render` fuzzer: a negative number at the deepest nesting the
/// renderer allows did not parse back, because the parser counted the sign as a level.
#[test]
fn negative_numbers_at_the_deepest_allowed_nesting_round_trip() {
    for leaf in [
        PyValue::Int(-3),
        PyValue::Float(-2.5),
        PyValue::Float(f64::NEG_INFINITY),
    ] {
        let mut v = leaf.clone();
        let mut depth = 0;
        while render_command("t", [("x", &PyValue::List(vec![v.clone()]))]).is_ok() {
            v = PyValue::List(vec![v]);
            depth += 1;
        }
        assert_eq!(depth, MAX_NESTING);
        let cmd = render_command("t", [("x", &v)]).unwrap();
        let parsed = parse_command(&cmd).unwrap();
        assert!(parsed.params[0].1.same_as(&v));
    }
    assert!(parse_command("t(x=--5)").is_err());
    assert!(parse_command(&format!("t(x={}5)", "-".repeat(100_000))).is_err());
}

#[test]
fn truncation_marks_the_cut() {
    let long = "é".repeat(10_000);
    let cut = truncate_command(&long, 1000);
    assert!(cut.len() <= 1000);
    assert!(cut.ends_with(" bytes]"));
    let kept = cut.find(" ... [truncated").unwrap();
    assert_eq!(
        cut,
        format!("{}{}", &long[..kept], truncation_marker(long.len() - kept))
    );
    assert_eq!(truncate_command("short", 1000), "short");
}

#[test]
fn dist_info_metadata_is_read() {
    let meta = "Metadata-Version: 2.1\nName: casatools\nVersion: 6.7.0.31\nSummary: x\n\nVersion: 9.9.9 in the description\n";
    assert_eq!(
        parse_dist_info_metadata(meta, "casatools").as_deref(),
        Some("6.7.0.31")
    );
    assert_eq!(parse_dist_info_metadata(meta, "casatasks"), None);
}

#[test]
fn monolithic_directory_names() {
    assert_eq!(
        monolithic_version_from_dir(Path::new("/opt/casa-6.7.1-13-py3.10.el8")).as_deref(),
        Some("6.7.1.13")
    );
    assert_eq!(
        monolithic_version_from_dir(Path::new("/opt/casa-release-5.8.0-109.el7")).as_deref(),
        Some("5.8.0.109")
    );
    assert_eq!(
        monolithic_version_from_dir(Path::new("/opt/casa-6.6.0")).as_deref(),
        Some("6.6.0")
    );
    assert_eq!(
        monolithic_version_from_dir(Path::new("/opt/casacore")),
        None
    );
    assert_eq!(
        monolithic_version_from_dir(Path::new("/opt/casa-latest")),
        None
    );
}

fn write_executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn inputs(dirs: Vec<PathBuf>) -> DetectionInputs {
    DetectionInputs {
        path_dirs: dirs,
        probe_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

// Detection tests share the process-wide cache: each uses its own temporary PATH, which is
// part of the cache key, so they cannot see each other's results.

#[test]
fn chain_order_explicit_keyword_env() {
    let empty = tempfile::tempdir().unwrap();
    let mut i = inputs(vec![empty.path().to_path_buf()]);
    i.explicit = Some("6.6.1-17".into());
    i.caltable_keyword = Some("6.7.0-31".into());
    i.env_casa_version = Some("6.5.0".into());
    assert_eq!(
        detect_version(&i).found.map(|(v, s)| (v.to_string(), s)),
        Some(("6.6.1.17".into(), VersionStep::Explicit))
    );
    i.explicit = Some("garbage".into());
    let r = detect_version(&i);
    assert_eq!(
        r.found.map(|(v, s)| (v.to_string(), s)),
        Some(("6.7.0.31".into(), VersionStep::CaltableKeyword))
    );
    assert_eq!(r.rejected.len(), 1);
    i.caltable_keyword = Some("Unknown".into());
    assert_eq!(
        detect_version(&i).found.map(|(_, s)| s),
        Some(VersionStep::EnvVar)
    );
    i.env_casa_version = None;
    i.explicit = None;
    i.caltable_keyword = None;
    assert_eq!(detect_version(&i).found, None);
}

#[test]
fn modular_casa_found_in_site_packages_of_the_configured_python() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    let dist = site.join("casatools-6.7.0.31.dist-info");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("METADATA"),
        "Metadata-Version: 2.1\nName: casatools\nVersion: 6.7.0.31\n\nbody\n",
    )
    .unwrap();
    let python = dir.path().join("python3");
    write_executable(&python, &format!("#!/bin/sh\necho {}\n", site.display()));
    let mut i = inputs(vec![dir.path().to_path_buf()]);
    i.python = Some(python);
    let r = detect_version(&i);
    assert_eq!(
        r.found.map(|(v, s)| (v.to_string(), s)),
        Some(("6.7.0.31".into(), VersionStep::ModularPython))
    );
}

#[test]
fn monolithic_casa_found_through_path_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let install = dir.path().join("opt/casa-6.7.1-13-py3.10.el8/bin");
    std::fs::create_dir_all(&install).unwrap();
    write_executable(&install.join("casa"), "#!/bin/sh\nexit 0\n");
    let bin = dir.path().join("usr-local-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(install.join("casa"), bin.join("casa")).unwrap();
    let r = detect_version(&inputs(vec![bin]));
    assert_eq!(
        r.found.map(|(v, s)| (v.to_string(), s)),
        Some(("6.7.1.13".into(), VersionStep::MonolithicPath))
    );
}

#[test]
fn a_hanging_python_is_bounded_by_the_timeout_and_cached() {
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python3");
    write_executable(&python, "#!/bin/sh\nexec sleep 30\n");
    let mut i = inputs(vec![dir.path().to_path_buf()]);
    i.probe_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let r = detect_version(&i);
    let first = started.elapsed();
    assert!(first < Duration::from_secs(3), "took {first:?}");
    assert_eq!(r.found, None);
    assert_eq!(r.rejected[0].step, VersionStep::ModularPython);
    assert!(
        r.rejected[0].reason.contains("no answer"),
        "{:?}",
        r.rejected
    );
    let started = Instant::now();
    let again = detect_version(&i);
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "the second call probed again"
    );
    assert_eq!(again, r);
}

#[test]
fn a_missing_python_falls_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut i = inputs(vec![dir.path().to_path_buf()]);
    i.python = Some(dir.path().join("no-such-python"));
    let r = detect_version(&i);
    assert_eq!(r.found, None);
    assert!(r.rejected[0].reason.contains("cannot start"));
}

fn leaf() -> impl Strategy<Value = PyValue> {
    prop_oneof![
        Just(PyValue::None),
        any::<bool>().prop_map(PyValue::Bool),
        // Every integer JSON holds: i64 and the u64 beyond it.
        any::<i64>().prop_map(|i| PyValue::Int(i.into())),
        any::<u64>().prop_map(|u| PyValue::Int(u.into())),
        any::<f64>().prop_map(PyValue::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0)
        ]
        .prop_map(PyValue::Float),
        any::<String>().prop_map(PyValue::Str),
        "[\\\\'\"\n\r\t ;#)(=,]{0,12}".prop_map(PyValue::Str),
    ]
}

fn value() -> impl Strategy<Value = PyValue> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(PyValue::List),
            prop::collection::vec(inner.clone(), 0..5).prop_map(PyValue::Tuple),
            prop::collection::vec((any::<String>(), inner), 0..5).prop_map(PyValue::Dict),
        ]
    })
}

fn params() -> impl Strategy<Value = Vec<(String, PyValue)>> {
    prop::collection::btree_map("[a-z_][a-z0-9_]{0,10}", value(), 0..8).prop_map(|m| {
        m.into_iter()
            .filter(|(k, _)| validate_identifier("k", k).is_ok())
            .collect()
    })
}

proptest! {
    #[test]
    fn render_then_parse_round_trips(params in params()) {
        let cmd = render_command("gaincal", params.iter().map(|(k, v)| (k.as_str(), v))).unwrap();
        prop_assert!(cmd.is_ascii());
        let parsed = parse_command(&cmd).unwrap();
        prop_assert_eq!(&parsed.task, "gaincal");
        let expected: Vec<&(String, PyValue)> = params.iter().filter(|(_, v)| !matches!(v, PyValue::None)).collect();
        prop_assert_eq!(parsed.params.len(), expected.len());
        for ((pk, pv), (ek, ev)) in parsed.params.iter().zip(expected) {
            prop_assert_eq!(pk, ek);
            prop_assert!(pv.same_as(ev), "{:?} != {:?}", pv, ev);
        }
    }

    #[test]
    fn truncation_respects_limit_boundaries_and_is_idempotent(text in any::<String>(), limit in 0usize..400) {
        let cut = truncate_command(&text, limit);
        prop_assert!(cut.len() <= limit.max(text.len().min(limit)));
        prop_assert!(cut.len() <= limit || cut == text.as_str());
        prop_assert_eq!(truncate_command(&cut, limit), cut.clone());
        if text.len() > limit {
            if let Some(at) = cut.rfind(" ... [truncated ") {
                let kept = &cut[..at];
                prop_assert!(text.starts_with(kept));
                prop_assert_eq!(&cut[at..], truncation_marker(text.len() - kept.len()));
            } else {
                prop_assert!(text.starts_with(cut.as_ref()));
            }
        } else {
            prop_assert_eq!(cut.as_ref(), text.as_str());
        }
    }

    #[test]
    fn version_normalisation_is_idempotent(text in "[0-9\\[\\]., -]{0,20}|[0-9]{1,2}(\\.[0-9]{1,3}){1,3}") {
        if let Ok(v) = normalize_version(&text) {
            prop_assert_eq!(normalize_version(v.as_str()).unwrap(), v);
        }
    }

    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = parse_command(&text);
    }
}
