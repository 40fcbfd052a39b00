//! Benchmarks only: see `benches/` and bench/rust/README.md.
