//! The integration tests, in one test binary: each file of this folder is a
//! module (`cargo test --release --test it cli::` runs one). One binary links
//! the crate once instead of once per file, which in the release profile
//! (thin LTO, one codegen unit) is most of a cold `cargo test --release`.
//! Their inputs stay beside this folder: `tests/scenarios/`, `tests/golden/`.

mod common;

mod charts;
mod cli;
mod deploy;
mod directions;
mod docs;
mod golden;
mod hazards;
mod labels;
mod mechanisms;
mod moves;
mod parquet;
mod policy;
mod safety;
mod shards;
mod sizing;
mod tail;
mod textbook;
mod waterfall;
mod workbook;
