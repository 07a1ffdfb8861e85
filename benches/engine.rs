//! Criterion benches of the engine. The figures, the machine and
//! the commands that reproduce them are in `docs/performance.md`.
//!
//! Throughput is reported as `Throughput::Elements`: loan-years per
//! iteration for the kernels and the trials (one loan-year is one alive loan
//! in one year of one trial, the unit `docs/performance.md` counts in),
//! claims per iteration for the waterfall.
//!
//! - `kernel/bernoulli_indices/*`: the default-sampling kernel alone,
//!   `riskshare::rng::bernoulli_indices` (geometric skip-ahead) over a
//!   1e6-loan sequence at p = 0.03, counting hits, and also gathering an
//!   integer-fen EAD per hit (the loss aggregation a real kernel does).
//! - `kernel/base_pass/*`: the engine's own bucket pass of one year,
//!   `engine::bench_bucket_pass` (a bench entry, hidden from the docs): the
//!   trial's reset and economy, then the bucket and varied passes of year 1
//!   with no damage drawn (so the varied pass never applies), as the engine
//!   runs them (first skips, kept passes, decisions).
//! - `trial/*`: one whole trial, `engine::run_trial`, of the default scenario
//!   (`scenarios/wangcang.yaml`), of the province scenario
//!   (`scenarios/province.yaml`) and of the province where defaults are
//!   common (`scenarios/province-stressed.yaml`, about 2 % of loan-years
//!   default, every mechanism on: the per-default path). Each iteration runs
//!   the next trial number, so the figure is a mean over many different
//!   futures.
//! - `waterfall/settle_200_claims`: the waterfall, `waterfall::secure` on
//!   each claim (no guarantee groups) then `waterfall::settle`, on a synthetic year of 200
//!   claims in 50 villages and 4 compensation accounts, with some village
//!   funds and one account short, so the pro-rata paths run.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use riskshare::model::{Model, NO_ACCOUNT};
use riskshare::money::Fen;
use riskshare::rng::{self, Stream};
use riskshare::scenario;
use riskshare::sim::engine::{self, Workspace};
use riskshare::sim::tables::Batch;
use riskshare::sim::waterfall::{self, Claim, Scratch};

const PROVINCE_YAML: &str = include_str!("../scenarios/province.yaml");
const STRESSED_YAML: &str = include_str!("../scenarios/province-stressed.yaml");
const SEED: u64 = 20170801;

fn build(text: &str, name: &str) -> Model {
    let s = scenario::parse(text, name, &[]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    Model::build(s, name, &[]).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

/// The models, built once per bench process (the province takes seconds).
fn wangcang() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| build(scenario::WANGCANG_YAML, "wangcang"))
}

fn province() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| build(PROVINCE_YAML, "province"))
}

/// The stressed province, a variant of `province.yaml`.
fn stressed() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let name = "province-stressed";
        let v = scenario::variant_of(STRESSED_YAML, name).unwrap().expect("a variant of province.yaml");
        let p = scenario::parse_variant(PROVINCE_YAML, "province", &v, name, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        Model::build(p.scenario, name, &[]).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    })
}

/// Empties a batch's tables but keeps their capacity, so that running trial
/// after trial into it neither grows memory nor allocates once warm.
fn clear(b: &mut Batch) {
    b.trials.clear();
    b.years.clear();
    b.year_balances.clear();
    b.accounts.clear();
    b.account_demands.clear();
    b.village_demands.clear();
    b.village_demands_end.clear();
    b.exhausted_villages.clear();
    b.exhausted_villages_end.clear();
}

fn kernel(c: &mut Criterion) {
    const N: usize = 1_000_000;
    const P: f64 = 0.03;
    let mut g = c.benchmark_group("kernel/bernoulli_indices");
    g.throughput(Throughput::Elements(N as u64));
    let mut r = rng::stream(SEED, 0, Stream::DefaultBase, 0, 0);
    g.bench_function("1e6_p0.03_count", |b| {
        b.iter(|| {
            let mut hits = 0u64;
            rng::bernoulli_indices(&mut r, N, black_box(P), |i| hits += i as u64);
            hits
        })
    });
    // EADs of 30,000-50,000 yuan in fen, as i64 like `Loans::ead`.
    let ead: Vec<i64> = (0..N as u64).map(|i| 3_000_000 + (rng::mix64(i) % 2_000_001) as i64).collect();
    g.bench_function("1e6_p0.03_ead", |b| {
        b.iter(|| {
            let (mut hits, mut loss) = (0u64, 0i64);
            rng::bernoulli_indices(&mut r, N, black_box(P), |i| {
                hits += 1;
                loss += ead[i];
            });
            (hits, loss)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("kernel/base_pass");
    for (name, m) in [("wangcang", wangcang()), ("province", province())] {
        let alive: u64 = m.buckets.iter().map(|b| (b.ends[0] - b.start) as u64).sum();
        g.throughput(Throughput::Elements(alive));
        let mut ws = Workspace::new(m);
        let mut trial = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                trial += 1;
                engine::bench_bucket_pass(m, SEED, trial, &mut ws)
            })
        });
    }
    g.finish();
}

fn trials(c: &mut Criterion) {
    let mut g = c.benchmark_group("trial");
    for (name, m, samples, secs) in
        [("wangcang", wangcang(), 100, 10), ("province", province(), 20, 20), ("province-stressed", stressed(), 20, 20)]
    {
        // Loan-years if no loan defaulted: the run's throughput unit (the
        // engine counts the alive ones; defaults remove well under 1 %).
        g.throughput(Throughput::Elements(m.scheduled_loan_years()));
        g.sample_size(samples).measurement_time(Duration::from_secs(secs));
        let mut ws = Workspace::new(m);
        let mut batch = Batch::new(m.accounts.len(), m.horizon);
        let mut k = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                clear(&mut batch);
                engine::run_trial(m, SEED, k, &mut ws, &mut batch);
                k += 1;
                batch.trials[0].counts.defaults
            })
        });
    }
    g.finish();
}

/// A synthetic year: 200 defaulted loans in 50 villages and 4 compensation
/// accounts (a fifth of them uncovered), with collateral on some, insurance
/// claims on half, village funds of which about one in five is short and one
/// account that is short.
fn synthetic_year() -> (Vec<Claim>, Vec<Fen>, Vec<Fen>) {
    const CLAIMS: u32 = 200;
    const VILLAGES: u64 = 50;
    const ACCOUNTS: u64 = 4;
    let mut r = rng::stream(SEED, 0, Stream::Mechanisms, 0, 0);
    let mut draw = |n: u64| (rng::uniform(&mut r) * n as f64) as u64;
    let mut claims = Vec::with_capacity(CLAIMS as usize);
    for loan in 0..CLAIMS {
        let exposure = Fen(3_000_000 + 1_000 * draw(20_000) as i64);
        let mut c = Claim {
            loan: loan * 37,
            village: draw(VILLAGES) as u32,
            account: if draw(5) == 0 { NO_ACCOUNT } else { draw(ACCOUNTS) as u32 },
            village_covered: draw(10) < 8,
            exposure,
            ..Default::default()
        };
        if draw(10) == 0 {
            c.collateral_value = Fen(exposure.0 / 2);
        }
        if draw(2) == 0 {
            c.claims[waterfall::AGRICULTURAL] = Fen(draw(1_500_000) as i64);
        }
        if draw(20) == 0 {
            c.claims[waterfall::ACCIDENT] = Fen(3_100_000);
        }
        if draw(3) == 0 {
            c.claims[waterfall::CREDIT] = Fen(exposure.0 / 2);
        }
        claims.push(c);
    }
    // About 160,000 yuan a village (4 % of 4 M), a fifth of them nearly spent.
    let village: Vec<Fen> =
        (0..VILLAGES).map(|_| if draw(5) == 0 { Fen(2_000_000) } else { Fen(16_000_000) }).collect();
    // Account 3 is short of its share of the year's demand.
    let account: Vec<Fen> = (0..ACCOUNTS).map(|a| if a == 3 { Fen(5_000_000) } else { Fen(1_000_000_000) }).collect();
    (claims, village, account)
}

fn waterfall_bench(c: &mut Criterion) {
    let (claims, village, account) = synthetic_year();
    let mut g = c.benchmark_group("waterfall");
    g.throughput(Throughput::Elements(claims.len() as u64));
    let mut scratch = Scratch::default();
    g.bench_function("settle_200_claims", |b| {
        b.iter_batched_ref(
            || (claims.clone(), village.clone(), account.clone()),
            |(cl, vb, ab)| {
                cl.iter_mut().for_each(waterfall::secure);
                waterfall::settle(cl, vb, ab, 600_000, &mut scratch);
                scratch.villages.exhausted.len()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, kernel, trials, waterfall_bench);
criterion_main!(benches);
