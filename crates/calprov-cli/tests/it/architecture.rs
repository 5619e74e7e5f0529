//! The layering rule of ARCHITECTURE.md, checked against `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The calprov crates each crate may depend on (normal, dev and build dependencies alike).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let leaves = [
        "calprov-schema",
        "calprov-metrics",
        "calprov-casa",
        "calprov-prov",
        "calprov-report",
    ];
    let mut allowed = BTreeMap::new();
    for leaf in leaves {
        allowed.insert(leaf, BTreeSet::new());
    }
    allowed.insert("calprov-core", leaves.into_iter().collect());
    allowed.insert("calprov-cli", ["calprov-core"].into_iter().collect());
    // The Python package is a front end like the CLI: the core's API only.
    allowed.insert("calprov-py", ["calprov-core"].into_iter().collect());
    allowed.insert("xtask", BTreeSet::new());
    allowed.insert(
        "calprov-benches",
        [
            "calprov-core",
            "calprov-schema",
            "calprov-metrics",
            "calprov-casa",
            "calprov-prov",
            "calprov-report",
        ]
        .into_iter()
        .collect(),
    );
    allowed
}

#[test]
fn crates_depend_only_on_what_the_layering_allows() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed = allowed();
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    for member in &members {
        assert!(
            allowed.contains_key(member.as_str()),
            "crate {member} is not in the layering rule"
        );
    }
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            if members.contains(dep_name) || dep_name.starts_with("calprov") {
                assert!(
                    allowed[name].contains(dep_name),
                    "{name} may not depend on {dep_name} (see ARCHITECTURE.md)"
                );
            }
        }
    }
}
