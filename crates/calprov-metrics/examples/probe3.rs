#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]
fn main() {
    let p = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let n: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20);
    let t = std::time::Instant::now();
    for _ in 0..n {
        calprov_metrics::reader::read_caltable(&p).unwrap();
    }
    println!("avg {:?}", t.elapsed() / n as u32);
}
