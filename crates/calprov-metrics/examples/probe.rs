#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]
use calprov_metrics::synthetic::*;
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let out = std::path::PathBuf::from(format!("/tmp/syn_{n}"));
    let _ = std::fs::remove_dir_all(&out);
    let t = std::time::Instant::now();
    write_synthetic_caltable(&out, &SyntheticSpec::gain(n)).unwrap();
    println!("write {:?}", t.elapsed());
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let c = calprov_metrics::reader::read_caltable(&out).unwrap();
        println!(
            "read {:?} rows={} flag={} shapes={:?} kw={:?}",
            t.elapsed(),
            c.n_rows,
            c.flag.as_ref().unwrap().len(),
            c.cell_shapes,
            c.keywords
        );
    }
}
