//! Damaged caltables: hundreds of broken copies of the real tables, each read by a separate
//! `calprov metrics` process so that an abort (which no in-process test survives) is seen.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const TABLES: [&str; 5] = [
    "sim_kcal",
    "sim_bpcal",
    "sim_gpcal",
    "sim_gacal",
    "sim_flagged_gpcal",
];
const FILES: [&str; 3] = ["table.dat", "table.f0", "table.f0i"];

/// One way of breaking one file.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    Zero(usize, usize),
    Garble(u64),
    Delete,
    Empty,
}

fn damages(len: usize) -> Vec<Damage> {
    let mut out = Vec::new();
    for cut in [
        0,
        1,
        4,
        16,
        64,
        len / 10,
        len / 4,
        len / 2,
        3 * len / 4,
        len.saturating_sub(8),
        len.saturating_sub(1),
    ] {
        out.push(Damage::Truncate(cut.min(len)));
    }
    for (i, fraction) in [0.0, 0.01, 0.03, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]
        .iter()
        .enumerate()
    {
        let at = ((len as f64 * fraction) as usize).min(len.saturating_sub(1));
        out.push(Damage::Flip(at, [0xff, 0x80, 0x01, 0x7f][i % 4]));
    }
    for (start, n) in [
        (0, 64),
        (len / 3, 256),
        (len / 2, len / 4),
        (len.saturating_sub(512), 512),
    ] {
        out.push(Damage::Zero(start.min(len), n));
    }
    out.push(Damage::Garble(7));
    out.push(Damage::Delete);
    out.push(Damage::Empty);
    out
}

fn apply(file: &Path, damage: &Damage) {
    let mut bytes = std::fs::read(file).unwrap();
    match damage {
        Damage::Truncate(n) => bytes.truncate(*n),
        Damage::Flip(at, mask) => {
            if let Some(b) = bytes.get_mut(*at) {
                *b ^= mask;
            }
        }
        Damage::Zero(start, n) => {
            let end = (start + n).min(bytes.len());
            bytes[*start..end].fill(0);
        }
        Damage::Garble(seed) => {
            let mut state = *seed;
            for b in bytes.iter_mut().skip(16) {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                if (state >> 60) == 0 {
                    *b = (state >> 33) as u8;
                }
            }
        }
        Damage::Delete => {
            std::fs::remove_file(file).unwrap();
            return;
        }
        Damage::Empty => bytes.clear(),
    }
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn hundreds_of_damaged_caltables_never_crash_the_reader() {
    let work = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, String)> = Vec::new();
    for table in TABLES {
        for file in FILES {
            let len = std::fs::metadata(testdata().join(table).join(file))
                .unwrap()
                .len() as usize;
            for (i, damage) in damages(len).into_iter().enumerate() {
                let copy = work.path().join(format!("{table}-{file}-{i}"));
                copy_dir(&testdata().join(table), &copy);
                apply(&copy.join(file), &damage);
                cases.push((copy, format!("{table}/{file} {damage:?}")));
            }
        }
    }
    // Not tables at all.
    let plain = work.path().join("plain_file");
    std::fs::write(&plain, b"not a table").unwrap();
    cases.push((plain, "plain file".into()));
    let empty_dir = work.path().join("empty_dir");
    std::fs::create_dir(&empty_dir).unwrap();
    cases.push((empty_dir, "directory without table.dat".into()));
    cases.push((work.path().join("missing"), "missing path".into()));
    assert!(cases.len() >= 200, "only {} damaged cases", cases.len());

    let (mut crashes, mut errors, mut readable) = (Vec::new(), 0, 0);
    for (path, what) in &cases {
        let mut cmd = Command::new(calprov_bin());
        clean_env(&mut cmd);
        let out = cmd.args(["metrics", "--json"]).arg(path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => readable += 1,
            Some(1) => {
                errors += 1;
                assert!(
                    stderr.contains(&*path.to_string_lossy()),
                    "{what}: the error does not name the table: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            }
            other => crashes.push(format!("{what}: exit {other:?}: {stderr}")),
        }
    }
    assert!(
        crashes.is_empty(),
        "{} crashes:\n{}",
        crashes.len(),
        crashes.join("\n")
    );
    eprintln!(
        "{} damaged tables: {errors} clear errors, {readable} still readable, 0 crashes",
        cases.len()
    );
}
