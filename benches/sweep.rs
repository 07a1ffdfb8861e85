//! The sweep's fast path against one run: a deposit-ratio sweep over 6..14
//! on the default scenario should cost about one run plus a little per cell.
//!
//! `cargo bench --bench sweep`

use criterion::{Criterion, criterion_group, criterion_main};
use riskshare::analysis::sweep;
use riskshare::app::runner;
use riskshare::model::Model;
use riskshare::scenario::{self, Override};

const TRIALS: u64 = 512;

fn model(sets: &[Override]) -> Model {
    let s = scenario::parse(scenario::WANGCANG_YAML, "wangcang", sets).expect("the built-in scenario parses");
    Model::build(s, "wangcang", &[]).expect("the built-in scenario builds")
}

fn bench(c: &mut Criterion) {
    let base = model(&[]);
    let cells: Vec<Model> = (6..=14)
        .map(|r| model(&[Override { path: "funds.compensation.deposit_ratio".into(), value: r.to_string() }]))
        .collect();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.bench_function("one_run_512_trials", |b| b.iter(|| runner::collect(&base, 1, TRIALS, 2, &|_| {})));
    g.bench_function("fast_path_9_cells_512_trials", |b| {
        b.iter(|| sweep::run_fast(&base, &cells, 1, 0..TRIALS, 2, sweep::Keep::Trials, &|_| {}))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
