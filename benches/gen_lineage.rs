//! `gen-lineage DB [N]`: writes the synthetic lineage registry (default 1,000,000 caltables)
//! that the lineage benches measure; see `lineage_fixture.rs` for its shape.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(db) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen-lineage DB [N]");
        return ExitCode::from(2);
    };
    let n = match args.next().map(|a| a.parse::<usize>()) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("N must be a positive number of caltables");
            return ExitCode::from(2);
        }
    };
    if db.exists() {
        eprintln!("{} exists: refusing to add to it", db.display());
        return ExitCode::from(1);
    }
    let started = std::time::Instant::now();
    match calprov_benches::write_lineage_registry(&db, n) {
        Ok(fixture) => {
            println!(
                "wrote {} ({n} caltables) in {:.1} s; hub {} ({} descendants), deep {}",
                db.display(),
                started.elapsed().as_secs_f64(),
                fixture.hub,
                calprov_benches::HUB_BLOCKS * calprov_benches::CHAIN,
                fixture.deep
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gen-lineage: {err}");
            ExitCode::from(1)
        }
    }
}
