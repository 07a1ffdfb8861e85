//! The trial loop (docs/model.md 3): economy, hazards, defaults and the waterfall,
//! year by year, for one trial; and the parallel driver over trials.
//!
//! **Sampling contract.** Given the year's factors and damages, loans default
//! independently (conditional independence of the factor model), so defaults
//! are drawn by geometric skip-ahead, at a cost that follows the number of
//! defaults rather than the number of loans or of damaged villages. A loan
//! with bucket probit `a = (Phi^-1(pd) - sqrt(rho) X) / sqrt(1 - rho)` and
//! village damage D defaults with `P(D) = Phi(a + kappa D / sqrt(1 - rho))`.
//!
//! Each year draws its defaults in three passes, in this order, each its own
//! function (`BucketYear::bucket_pass`, `shock_pass`, `extra_damage_pass`):
//!
//! 1. *Bucket pass*: each bucket (county, class, industry) skips over its
//!    alive loans (a prefix of the bucket) at a bound B: Phi at the first
//!    point of a 1/64 grid ([`rng::PhiGrid`]) at or above `a + kappa D_max
//!    / sqrt(1 - rho)`, where `1 - D_max` is the product of `1 - d` over
//!    this year's events that reached the county: the shared-damage ones
//!    (one ratio per event: floods, droughts, epidemics, forced events) and
//!    each varied one (a ratio per village: landslide, hail) at its largest
//!    ratio in the county. A candidate is kept with `P(D) / B`. Stream
//!    `(DefaultBase, year)` folded with the bucket's key ([`rng::SplitMix`]).
//!    A candidate whose uniform lies above `B_shared`, the bound from the
//!    shared events alone, can default only in a village a varied peril
//!    hit, and elsewhere is dropped as it is drawn.
//! 2. *Shock pass*: each shock type hits household borrowers alive at the start
//!    of the year with its probability; a shocked borrower defaults in
//!    addition with `q_shock`, which gives `1 - (1 - p)(1 - q_shock)`.
//!    Streams `(Shock, type, year)` and `(DefaultShock, type, year)`.
//! 3. *Extra-damage pass* (docs/model.md 3b): a loan carrying an extra
//!    damage term `e` (a linked household of a defaulted firm, a guarantor
//!    that paid, a society's bank loan with bad loans behind it), alive and
//!    not yet defaulted, defaults in addition with `r = (p(D') - p(D)) / (1 -
//!    p(D))`, `D' = 1 - (1 - D)(1 - e)`, on one uniform per (year, loan)
//!    keyed by the loan's id ([`rng::keyed_uniform`]), so the draws do not
//!    shift when the set of listed loans changes.
//!
//! A shared event does not list the villages it hits: village v is hit when
//! the uniform keyed by (the event's key, v's key) lies below its zone's
//! chance, asked where a candidate or a default of v needs its damage
//! (`sim::damage`).
//!
//! Under importance sampling with an inner twist (docs/tail.md), the large
//! loans it names are drawn by a fourth pass after the bucket pass
//! (`twisted_pass`), one draw per (year, loan), at a twisted probability
//! with its ratio; the bucket pass ignores them.
//!
//! The bucket pass runs as three loops over dense lists (first skips,
//! candidates, decisions: `bucket_passes`).
//! A year past every loan's term (a horizon longer than the longest term)
//! runs no pass and draws only its events' counts (`damage::count_year`).
//! A loan defaults at most once: a draw that lands on a loan already
//! defaulted (or repaid) is ignored, which is valid thinning. Every pass is
//! exact up to floating-point rounding; the normal CDF is evaluated only for
//! candidates. Nothing here allocates once a [`Workspace`] is warm.

use std::ops::Range;

use rayon::prelude::*;

use crate::model::importance::InnerTwist;
use crate::model::portfolio::CollateralKind;
use crate::model::society::{NO_LOAN, NO_SOCIETY};
use crate::model::{Economy, Model, NO_ACCOUNT};
use crate::money::Fen;
use crate::rng::{self, Stream};
use crate::scenario::ShockKind;
use crate::sim::claims::{SHOCK_ACCIDENT, SHOCK_ILLNESS, Terms};
use crate::sim::damage::{self, DamageState, FROM_DISASTER, FROM_EPIDEMIC};
use crate::sim::guarantee;
use crate::sim::importance;
use crate::sim::society::Ledger;
use crate::sim::tables::{AccountTrial, Batch, Counts, Flows, TrialRow, YearRow};
use crate::sim::waterfall::{self, ACCIDENT, AGRICULTURAL, CREDIT, Claim};

/// Per-thread buffers for running trials.
pub struct Workspace {
    terms: Terms,
    /// Year (1-based) in which each loan defaulted, 0 if it has not.
    default_year: Vec<u8>,
    defaulted: Vec<u32>,
    year_defaults: Vec<u32>,
    /// The trial's claims, all years (what the funds pay is filled in by
    /// [`settle_trial`], again at each settlement); and each year's draw.
    drawn: Vec<Claim>,
    year_draws: Vec<YearDraw>,
    passes: Vec<Pass>,
    candidates: Vec<Candidate>,
    shock: Vec<u8>,
    shocked: Vec<u32>,
    /// One shock type's draws in a year: (household, then its loan; uniform).
    shock_draws: Vec<(u32, f64)>,
    /// Factors of the trial, `[year][county]` and `[year][industry]`.
    z_county: Vec<f64>,
    z_industry: Vec<f64>,
    damage: DamageState,
    scratch: waterfall::Scratch,
    village_balance: Vec<Fen>,
    village_exhausted: Vec<bool>,
    exhausted_list: Vec<u32>,
    account_balance: Vec<Fen>,
    deposited: Vec<Fen>,
    topped: Vec<Fen>,
    lost_subsidy: Vec<Fen>,
    lost_premium: Vec<Fen>,
    lost_alive: Vec<u64>,
    acct: Vec<AccountTrial>,
    /// Demand on each account this year, and on each village fund this trial.
    year_demand: Vec<Fen>,
    village_demand: Vec<Fen>,
    village_demand_list: Vec<u32>,
    /// The seed's other mechanisms (docs/model.md 3b); empty when the book has none.
    mech: MechanismState,
    /// One bit per loan (or village), all clear between uses: [`sort_distinct`]'s scratch.
    bits: Vec<u64>,
    /// The trial's log likelihood ratio under the model's change of measure;
    /// `None` on plain runs, which then write no weights.
    log_weight: Option<f64>,
    /// The inner twist's state in a trial: each year's expected exposure
    /// (untwisted loans, then twisted: `[2 t]`, `[2 t + 1]`), the exposure
    /// of the defaults so far, the log ratio of its draws, and a year's
    /// twisted loans (place in the twist's list, probit or probability,
    /// exposure over the level).
    twist_expected: Vec<f64>,
    twist_realized: f64,
    twist_log_ratio: f64,
    twist_draws: Vec<(u32, f64, f64)>,
}

/// Sorts a list of distinct indices below `64 * bits.len()` by setting
/// their bits and reading them back in order: the extra-damage list or a
/// trial's villages with a demand cost a pass over the list and one over the
/// bit words, where a comparison sort costs a dozen comparisons each. (A
/// list that arrives as a few ascending runs, as a year's defaults do, is
/// cheaper to merge.) Leaves `bits` clear.
fn sort_distinct(list: &mut Vec<u32>, bits: &mut [u64]) {
    if list.len() < 32 || list.len() < bits.len() / 16 {
        // Few indices over many words: comparisons are cheaper than the scan.
        list.sort_unstable();
        return;
    }
    for &i in list.iter() {
        debug_assert_eq!(bits[i as usize / 64] >> (i % 64) & 1, 0, "index {i} listed twice");
        bits[i as usize / 64] |= 1 << (i % 64);
    }
    list.clear();
    for (w, word) in bits.iter_mut().enumerate() {
        let mut b = *word;
        while b != 0 {
            list.push((w * 64) as u32 + b.trailing_zeros());
            b &= b - 1;
        }
        *word = 0;
    }
}

/// A bucket's skip in one year, after its first draw:
/// at loan `k` of the bucket, with its stream where that draw left it.
#[derive(Clone, Copy, Debug, Default)]
struct Pass {
    bucket: u32,
    /// Loans alive in the bucket.
    len: u32,
    k: u64,
    g: rng::SplitMix,
    ln_q: f64,
    /// The bucket's probit, its bound B, and the bound B_shared of its
    /// villages no varied peril hit (filled in only once the pass is kept:
    /// [`BucketYear::first_skips`]).
    a: f64,
    bound: f64,
    shared: f64,
}

/// A loan a bucket's skip landed on, with its uniform (already scaled to the
/// pass's bound) and what deciding it needs.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    loan: u32,
    industry: u16,
    u: f64,
    /// The bucket's probit and its bound B.
    a: f64,
    bound: f64,
}

/// [`MechanismState::flags`]: the loan is on the extra-damage list.
const LISTED: u8 = 1;
/// [`MechanismState::flags`]: the loan's firm has defaulted, and it carries
/// the linkage damage.
const LINKED: u8 = 2;

/// Per-trial state of guarantees, linkage and societies.
#[derive(Default)]
struct MechanismState {
    /// What each guarantor has paid so far.
    groups: guarantee::Ledger,
    /// Per loan, [`LISTED`] when it is in `extra` and [`LINKED`] when it
    /// carries the linkage damage (its firm has defaulted); empty when no
    /// loan can be listed. A byte a loan: both are asked of scattered loans,
    /// and the stressed province's 287,200 bytes (0.29 MB) stay in the cache
    /// where a float a loan and a flag beside it (2.6 MB) would not.
    flags: Vec<u8>,
    /// Loans that may carry an extra damage term from next year on.
    extra: Vec<u32>,
    /// Each society's bad loans so far (after insurance and guarantees), and
    /// (bank loan, society) for the societies whose bank loan follows them.
    society_bad: Vec<Fen>,
    /// Sorted by loan, so that the extra-damage pass, which walks its
    /// sorted list, finds a loan's society by a merge, not a search.
    fed_back: Vec<(u32, u32)>,
    /// Each society's capital in the settlement.
    ledger: Ledger,
}

impl MechanismState {
    fn new(m: &Model) -> Self {
        let n = m.loans.n;
        let so = &m.societies;
        MechanismState {
            groups: guarantee::Ledger::new(&m.guarantee, n),
            flags: if m.extra_key.is_empty() { Vec::new() } else { vec![0; n] },
            society_bad: vec![Fen::ZERO; so.len()],
            fed_back: {
                let mut v: Vec<(u32, u32)> = (0..so.len())
                    .filter(|&k| so.bank_loan[k] != NO_LOAN && so.sensitivity[k] > 0.0)
                    .map(|k| (so.bank_loan[k], k as u32))
                    .collect();
                v.sort_unstable();
                v
            },
            ledger: Ledger::new(so),
            ..Default::default()
        }
    }

    fn reset(&mut self) {
        self.groups.reset();
        for &i in &self.extra {
            self.flags[i as usize] = 0;
        }
        self.extra.clear();
        self.society_bad.fill(Fen::ZERO);
    }

    /// Puts loan `i` on the list of the extra-damage pass (from next year).
    fn list(&mut self, i: u32) {
        if self.flags[i as usize] & LISTED == 0 {
            self.flags[i as usize] |= LISTED;
            self.extra.push(i);
        }
    }

    /// Loan `i`'s extra damage term this year: linkage, guarantees paid and,
    /// for a society's bank loan, the society's (`society`) bad loans, combined
    /// as independent damages.
    fn extra_damage(&self, m: &Model, i: usize, society: Option<u32>) -> f64 {
        let mut survive = if self.flags[i] & LINKED != 0 { 1.0 - m.linkage.damage } else { 1.0 };
        if m.guarantee.uplift > 0.0 && m.guarantee.is_active() {
            let burden = self.groups.used(i).0 as f64 / m.loans.principal[i].0 as f64;
            survive *= 1.0 - (m.guarantee.uplift * burden).min(1.0);
        }
        if let Some(k) = society {
            let k = k as usize;
            let lost = self.society_bad[k].0 as f64 / m.societies.capital[k].0 as f64;
            survive *= 1.0 - (m.societies.sensitivity[k] * lost).min(1.0);
        }
        1.0 - survive
    }
}

impl Workspace {
    pub fn new(m: &Model) -> Self {
        let (n, h, na) = (m.loans.n, m.horizon, m.accounts.len());
        Workspace {
            terms: Terms::of(m),
            default_year: vec![0; n],
            defaulted: Vec::new(),
            year_defaults: Vec::new(),
            drawn: Vec::new(),
            year_draws: Vec::new(),
            passes: Vec::new(),
            candidates: Vec::new(),
            shock: vec![0; n],
            shocked: Vec::new(),
            shock_draws: Vec::new(),
            z_county: vec![0.0; m.counties.len() * m.horizon],
            z_industry: vec![0.0; m.industries.len() * m.horizon],
            damage: DamageState::new(&m.hazards, m.villages.len(), m.counties.len()),
            scratch: waterfall::Scratch::default(),
            village_balance: m.village_fund_initial.clone(),
            village_exhausted: vec![false; m.villages.len()],
            exhausted_list: Vec::new(),
            account_balance: vec![Fen::ZERO; na],
            deposited: vec![Fen::ZERO; na],
            topped: vec![Fen::ZERO; na],
            lost_subsidy: vec![Fen::ZERO; h],
            lost_premium: vec![Fen::ZERO; h],
            lost_alive: vec![0; h],
            acct: vec![AccountTrial::default(); na],
            year_demand: vec![Fen::ZERO; na],
            village_demand: vec![Fen::ZERO; m.villages.len()],
            village_demand_list: Vec::new(),
            mech: MechanismState::new(m),
            bits: vec![0; n.max(m.villages.len()).div_ceil(64)],
            log_weight: None,
            twist_expected: vec![0.0; 2 * h],
            twist_realized: 0.0,
            twist_log_ratio: 0.0,
            twist_draws: Vec::new(),
        }
    }

    /// Clears what phase 1 (the draws) keeps per trial.
    fn reset_draws(&mut self) {
        for &i in &self.defaulted {
            self.default_year[i as usize] = 0;
        }
        self.defaulted.clear();
        self.damage.new_trial();
        self.lost_subsidy.fill(Fen::ZERO);
        self.lost_premium.fill(Fen::ZERO);
        self.lost_alive.fill(0);
        self.mech.reset();
    }

    /// Resets the funds for phase 2 (the settlement).
    fn reset_funds(&mut self, m: &Model) {
        self.village_balance.copy_from_slice(&m.village_fund_initial);
        for &v in &self.exhausted_list {
            self.village_exhausted[v as usize] = false;
        }
        self.exhausted_list.clear();
        let na = m.accounts.len();
        for v in [&mut self.account_balance, &mut self.deposited, &mut self.topped, &mut self.year_demand] {
            v.clear();
            v.resize(na, Fen::ZERO);
        }
        self.acct.clear();
        self.acct.resize(na, AccountTrial::default());
        for &v in &self.village_demand_list {
            self.village_demand[v as usize] = Fen::ZERO;
        }
        self.village_demand_list.clear();
        self.mech.ledger.reset(&m.societies);
    }

    /// Marks loan `i` defaulted in year `t` unless it already has.
    #[inline]
    fn default(&mut self, i: usize, t: usize) {
        if self.default_year[i] == 0 {
            self.default_year[i] = t as u8 + 1;
            self.defaulted.push(i as u32);
            self.year_defaults.push(i as u32);
        }
    }
}

/// Runs trial `trial` and appends its rows to `out`.
pub fn run_trial(m: &Model, seed: u64, trial: u64, ws: &mut Workspace, out: &mut Batch) {
    draw_trial(m, seed, trial, ws);
    settle(m, trial, ws, out, false);
}

/// What a trial's draws leave for the funds, year by year: the defaults'
/// claims (before any fund pays) and the flows that do not depend on the funds.
#[derive(Clone, Copy, Debug, Default)]
struct YearDraw {
    /// End of the year's claims in `Workspace::drawn`.
    end: usize,
    flows: Flows,
    counts: Counts,
}

/// Phase 1 of a trial: economy, hazards, defaults, exposure and the
/// waterfall's layers that read the draws only (collateral, insurance, the
/// guarantee) for every year (docs/model.md 3.1-3.8.3). Nothing here depends
/// on the funds, so a sweep over fund settings draws a trial once and settles
/// it per setting ([`settle_trial`]) with exactly the results of full runs.
pub fn draw_trial(m: &Model, seed: u64, trial: u64, ws: &mut Workspace) {
    ws.reset_draws();
    ws.drawn.clear();
    ws.year_draws.clear();
    draw_economy(m, seed, trial, ws);
    ws.log_weight = m.importance.as_ref().map(|ms| importance::log_weight(m, &ms.tilt, seed, trial));
    (ws.twist_realized, ws.twist_log_ratio) = (0.0, 0.0);
    if let Some(tw) = &m.twist {
        twist_expectations(m, tw, ws);
    }
    // Held outside the workspace while the passes borrow it; put back at the end.
    let (zc_all, zi_all) = (std::mem::take(&mut ws.z_county), std::mem::take(&mut ws.z_industry));
    let (nc, ni) = (m.counties.len(), m.industries.len());
    for t in 0..m.horizon {
        let f = Factors { county: &zc_all[t * nc..(t + 1) * nc], industry: &zi_all[t * ni..(t + 1) * ni] };
        draw_year(m, seed, trial, t, f, ws);
    }
    (ws.z_county, ws.z_industry) = (zc_all, zi_all);
    if let Some(lw) = ws.log_weight.as_mut() {
        *lw += ws.damage.severity_log_ratio + ws.twist_log_ratio;
    }
}

/// The economy (docs/model.md 3.1), all years at once: each county's AR(1)
/// factor and each industry's factor from its own stream, addressed by its id.
fn draw_economy(m: &Model, seed: u64, trial: u64, ws: &mut Workspace) {
    let e = &m.economy;
    let (nc, ni) = (m.counties.len(), m.industries.len());
    // Under importance sampling each innovation is drawn from N(mu, 1), mu
    // the trial's shift: the same uniform, shifted, so a trial keeps its streams.
    let shift = m.importance.as_ref().map(|ms| importance::shift_of(&ms.tilt, seed, trial));
    for c in 0..nc {
        let mut g = rng::stream(seed, trial, Stream::Economy, m.keys.county[c], 0);
        let mut z = 0.0;
        for t in 0..m.horizon {
            let eps = rng::normal(&mut g) + shift.map_or(0.0, |sh| sh.county[t * nc + c]);
            z = if t == 0 { eps } else { e.phi * z + e.sqrt_1m_phi2 * eps };
            ws.z_county[t * nc + c] = z;
        }
    }
    for i in 0..ni {
        let mut g = rng::stream(seed, trial, Stream::Economy, m.keys.industry[i], 1);
        for t in 0..m.horizon {
            ws.z_industry[t * ni + i] = rng::normal(&mut g) + shift.map_or(0.0, |sh| sh.industry[t * ni + i]);
        }
    }
    // A stress overlay fixes the county factor in some years (the draws above
    // are made all the same, so the other streams do not move).
    for (t, z) in m.fixed_county_factor.iter().enumerate() {
        if let Some(z) = z {
            ws.z_county[t * nc..(t + 1) * nc].fill(*z);
        }
    }
}

/// One year's economic factors (docs/model.md 3.1), by county and by industry.
#[derive(Clone, Copy)]
struct Factors<'a> {
    county: &'a [f64],
    industry: &'a [f64],
}

impl Factors<'_> {
    /// The systematic factor X of a loan in `county` and industry `ind`.
    #[inline]
    fn x(&self, e: &Economy, county: usize, ind: usize) -> f64 {
        e.sqrt_w * self.county[county] + e.sqrt_1m_w * self.industry[ind]
    }
}

/// Year `t` of [`draw_trial`]: disasters and epidemics (docs/model.md
/// 3.2-3.3), the four sampling passes of the module doc in its order, then
/// the claims of the year's defaults through the waterfall's layers that
/// read the draws only.
fn draw_year(m: &Model, seed: u64, trial: u64, t: usize, f: Factors, ws: &mut Workspace) {
    let mut counts = Counts::default();
    let (ev0, ob0) = (ws.damage.events, ws.damage.outbreaks);
    // Loans are alive from the first year to their term, so once none is
    // (a horizon past the longest term) no later year has a loan to default
    // or be shocked: its passes would draw only to turn every draw down.
    // Every stream is keyed by its year, so the years before draw the same.
    let alive = m.scheduled_alive[t] > 0;
    if alive {
        damage::draw_year(&m.hazards, seed, trial, t, &mut ws.damage);
    } else {
        damage::count_year(&m.hazards, seed, trial, t, &mut ws.damage);
    }
    counts.disaster_events = ws.damage.events - ev0;
    counts.epidemic_outbreaks = ws.damage.outbreaks - ob0;

    ws.year_defaults.clear();
    if alive {
        bucket_passes(m, seed, trial, t, f, ws);
        if let Some(tw) = &m.twist {
            twisted_pass(m, tw, seed, trial, t, f, ws);
        }
        counts.shocks = shock_pass(m, seed, trial, t, ws);
        // An extra term acts through kappa, like any damage: without it the
        // pass could change no probability.
        if !ws.mech.extra.is_empty() && m.economy.kappa > 0.0 {
            extra_damage_pass(m, seed, trial, t, f, ws);
        }
    }

    let year_start = ws.drawn.len();
    let mut flows = year_claims(m, t, ws);
    if m.twist.is_some() {
        ws.twist_realized += ws.drawn[year_start..].iter().map(|c| c.exposure.0 as f64).sum::<f64>();
    }
    // Layer 3 of the waterfall: it reads the draws only, and what the
    // guarantors pay strains them from next year on.
    let (default_year, term) = (&ws.default_year, &m.loans.term);
    waterfall::guarantee(
        &mut ws.drawn[year_start..],
        &m.guarantee,
        |g, bound| default_year[g as usize] == 0 && (bound || term[g as usize] as usize > t),
        &mut ws.mech.groups,
    );
    mechanisms_after_defaults(m, year_start, ws);
    flows.interest_subsidy = m.scheduled_subsidy[t] - ws.lost_subsidy[t];
    flows.premium_subsidy = m.premium_subsidy[t] - ws.lost_premium[t];
    counts.loan_years = m.scheduled_alive[t] - ws.lost_alive[t];
    ws.year_draws.push(YearDraw { end: ws.drawn.len(), flows, counts });
}

/// What the bucket passes of one year share: the grid whose points bound
/// their probabilities, their streams' year key, and `kappa / sqrt(1 -
/// rho)`, which turns a damage into a shift of the probit.
struct BucketYear<'a> {
    m: &'a Model,
    f: Factors<'a>,
    grid: &'static rng::PhiGrid,
    base: u64,
    damaged: bool,
    slope: f64,
}

/// The bucket passes of year `t`, as three loops over dense lists: every
/// bucket's first skip, a pass being kept only if it lands on a loan (most
/// do not: a bucket expects well under one default); the kept passes run
/// on, listing their candidates; the candidates are decided. The draws
/// never depend on the decisions, so this gives the defaults of one loop
/// doing all three bucket by bucket, while the first loop runs without an
/// unpredictable branch per bucket.
fn bucket_passes(m: &Model, seed: u64, trial: u64, t: usize, f: Factors, ws: &mut Workspace) {
    let e = &m.economy;
    let y = BucketYear {
        m,
        f,
        grid: rng::phi_grid(),
        base: rng::key(&[seed, trial, Stream::DefaultBase as u64, t as u64]),
        damaged: e.kappa > 0.0,
        slope: e.kappa * e.inv_sqrt_1m_rho,
    };
    let kept = y.first_skips(&m.live_buckets[t], &ws.damage, &mut ws.passes);
    list_candidates(m, &ws.passes[..kept], &ws.damage, &mut ws.candidates);
    y.decide_candidates(t, ws);
}

impl BucketYear<'_> {
    /// Every live bucket's first skip, into `passes`; returns how many
    /// landed on a loan (they come first).
    fn first_skips(&self, live: &[(u32, u32)], damage: &DamageState, passes: &mut Vec<Pass>) -> usize {
        // Slots are overwritten until a pass is kept, so the list only grows.
        if passes.len() < live.len() {
            passes.resize(live.len(), Pass::default());
        }
        let mut kept = 0;
        for &(b, len) in live {
            let pass = self.bucket_pass(b, len, damage);
            passes[kept] = pass;
            kept += (pass.k < len as u64) as usize;
        }
        // Only a kept pass lists candidates, so only it needs B_shared.
        for p in &mut passes[..kept] {
            p.shared = self.shared_bound(p, damage);
        }
        kept
    }

    /// The bucket pass's first skip in bucket `b` (its first `len` loans are
    /// alive), at the bound B: the grid point at or above the probit of a
    /// village hit by every event that reached the county, each varied one
    /// at its largest ratio there. Its B_shared is left at B.
    #[inline]
    fn bucket_pass(&self, b: u32, len: u32, damage: &DamageState) -> Pass {
        let (m, e, grid) = (self.m, &self.m.economy, self.grid);
        let bucket = &m.buckets[b as usize];
        let (county, ind) = (bucket.county as usize, bucket.industry as usize);
        let a =
            (m.classes[bucket.class as usize].threshold - e.sqrt_rho * self.f.x(e, county, ind)) * e.inv_sqrt_1m_rho;
        let all = if self.damaged { a + self.slope * damage.bound_all(county, ind) } else { a };
        let kb = grid.above(all);
        let (bound, ln_q) = (grid.p(kb), grid.ln_q(kb));
        let mut g = rng::SplitMix::new(self.base, m.keys.bucket[b as usize]);
        let k = rng::geometric_gap(&mut g, ln_q);
        Pass { bucket: b, len, k, g, ln_q, a, bound, shared: bound }
    }

    /// A pass's bound B_shared: the grid point at or above the probit of a
    /// village no varied peril hit (the shared events only). Without damage
    /// it is B.
    #[inline]
    fn shared_bound(&self, p: &Pass, damage: &DamageState) -> f64 {
        if !self.damaged {
            return p.bound;
        }
        let bucket = &self.m.buckets[p.bucket as usize];
        let shared = damage.shared_bound(bucket.county as usize, bucket.industry as usize);
        self.grid.p(self.grid.above(p.a + self.slope * shared))
    }

    /// Decides the listed candidates; the normal CDF is computed only where
    /// the grid cannot tell.
    fn decide_candidates(&self, t: usize, ws: &mut Workspace) {
        let twisted = self.m.twist.as_ref().map(|tw| &tw.twisted);
        for k in 0..ws.candidates.len() {
            let c = ws.candidates[k];
            // The inner twist draws its loans itself (`twisted_pass`): a
            // draw landing on one is ignored, which is valid thinning.
            if twisted.is_some_and(|tw| tw[c.loan as usize]) {
                continue;
            }
            let v = self.m.loans.village[c.loan as usize];
            if self.bucket_pass_keeps(&c, v, &ws.damage) {
                ws.default(c.loan as usize, t);
            }
        }
    }

    /// The bucket pass keeps a candidate in village `v` with `P(D) / B`.
    #[inline]
    fn bucket_pass_keeps(&self, c: &Candidate, v: u32, damage: &DamageState) -> bool {
        if !self.damaged {
            return c.u < c.bound && self.grid.below(c.u, c.a, |p| p);
        }
        // Damage only raises P(D): below Phi at the grid point under the
        // undamaged probit, the candidate defaults whatever its village's
        // damage, which is then not looked up (the same answer, sooner).
        let k = self.grid.above(c.a);
        if k > 0 && rng::PhiGrid::x(k - 1) <= c.a && c.u < self.grid.p(k - 1) {
            return true;
        }
        let arg = c.a + self.slope * damage.damage(v, c.industry as usize);
        c.u < c.bound && self.grid.below(c.u, arg, |p| p)
    }
}

/// Runs the kept passes on from their first skip, listing the loans they
/// land on, each with its uniform scaled to its pass's bound.
fn list_candidates(m: &Model, passes: &[Pass], damage: &DamageState, candidates: &mut Vec<Candidate>) {
    candidates.clear();
    for p in passes {
        let (start, industry) = (m.buckets[p.bucket as usize].start, m.buckets[p.bucket as usize].industry);
        let (mut g, mut k) = (p.g, p.k);
        while k < p.len as u64 {
            // One uniform per candidate whatever its village, so draws stay aligned.
            let u = rng::uniform(&mut g) * p.bound;
            let loan = start + k as u32;
            // Above B_shared, a candidate can default only in a village a
            // varied peril hit: elsewhere it is dropped here, not listed.
            if u < p.shared || damage.is_varied(m.loans.village[loan as usize]) {
                candidates.push(Candidate { loan, industry, u, a: p.a, bound: p.bound });
            }
            k = (k + 1).saturating_add(rng::geometric_gap(&mut g, p.ln_q));
        }
    }
}

/// The inner twist's estimate of each year's expected exposure given the
/// trial's factors (`twist_expected`): each bucket's probability at no
/// damage, as its bound on the grid, times its loans' scheduled exposure.
/// An estimate only steers how far a year is twisted: the twisted draws'
/// ratio is exact whatever it says.
fn twist_expectations(m: &Model, tw: &InnerTwist, ws: &mut Workspace) {
    let (e, grid, h) = (&m.economy, rng::phi_grid(), m.horizon);
    let (nc, ni) = (m.counties.len(), m.industries.len());
    ws.twist_expected.fill(0.0);
    for t in 0..h {
        let f = Factors { county: &ws.z_county[t * nc..(t + 1) * nc], industry: &ws.z_industry[t * ni..(t + 1) * ni] };
        let (mut small, mut large) = (0.0, 0.0);
        for (b, bk) in m.buckets.iter().enumerate() {
            let (s, l) = (tw.small[b * h + t], tw.large[b * h + t]);
            if s + l == 0.0 {
                continue;
            }
            let x = f.x(e, bk.county as usize, bk.industry as usize);
            let p = grid.p(grid.above((m.classes[bk.class as usize].threshold - e.sqrt_rho * x) * e.inv_sqrt_1m_rho));
            small += p * s;
            large += p * l;
        }
        (ws.twist_expected[2 * t], ws.twist_expected[2 * t + 1]) = (small, large);
    }
}

/// The inner twist's draws of year `t` (docs/tail.md): each twisted loan
/// alive and not yet defaulted has its probability given the factors and
/// this year's damage, `p = P(D)` as the bucket passes give it; it defaults
/// with the twisted `q` of [`twisted`] at `z = theta c`, `c` its exposure
/// over the level, and its draw's log ratio is `ln(1 - p + p e^z) - z
/// 1[default]`. `theta` ([`twist_theta`]) makes the twisted loans' expected
/// exposure what the year lacks for the trial to reach the level: the
/// level, less the defaults so far, this year's untwisted loans' and the
/// later years' expected exposure. It depends on the trial's draws so far
/// only, so the ratio is exact.
fn twisted_pass(m: &Model, tw: &InnerTwist, seed: u64, trial: u64, t: usize, f: Factors, ws: &mut Workspace) {
    let (e, loans, h, grid) = (&m.economy, &m.loans, m.horizon, rng::phi_grid());
    let slope = e.kappa * e.inv_sqrt_1m_rho;
    // (place in the twist's list, probit of its probability, exposure over the level).
    ws.twist_draws.clear();
    for (k, &i) in tw.loans.iter().enumerate() {
        let i = i as usize;
        if loans.term[i] as usize <= t || ws.default_year[i] != 0 {
            continue;
        }
        let (v, ind) = (loans.village[i], loans.industry[i] as usize);
        let x = f.x(e, loans.county[i] as usize, ind);
        let mut arg = (m.classes[loans.class[i] as usize].threshold - e.sqrt_rho * x) * e.inv_sqrt_1m_rho;
        if e.kappa > 0.0 {
            arg += slope * ws.damage.damage(v, ind);
        }
        ws.twist_draws.push((k as u32, arg, m.loan_years[i * h + t].ead.0 as f64 / tw.level));
    }
    let later: f64 = (t + 1..h).map(|s| ws.twist_expected[2 * s] + ws.twist_expected[2 * s + 1]).sum();
    let need = (tw.level - ws.twist_realized - ws.twist_expected[2 * t] - later) / tw.level;
    let uniform = |k: u32| rng::keyed_uniform(&[seed, trial, Stream::Twist as u64, t as u64, tw.keys[k as usize]]);
    // A year the loans' probabilities (at their grid bounds) already carry
    // is not twisted: its draws are decided as the bucket passes decide
    // theirs, the normal CDF computed only where the grid cannot tell.
    let upper: f64 = ws.twist_draws.iter().map(|&(_, arg, c)| c * grid.p(grid.above(arg))).sum();
    if need.is_nan() || need <= upper {
        for d in 0..ws.twist_draws.len() {
            let (k, arg, _) = ws.twist_draws[d];
            if grid.below(uniform(k), arg, |p| p) {
                ws.default(tw.loans[k as usize] as usize, t);
            }
        }
        return;
    }
    for d in ws.twist_draws.iter_mut() {
        d.1 = rng::phi(d.1);
    }
    let theta = twist_theta(&ws.twist_draws, need);
    for d in 0..ws.twist_draws.len() {
        let (k, p, c) = ws.twist_draws[d];
        let z = theta * c;
        let (q, ln_norm) = twisted(p, z);
        if uniform(k) < q {
            ws.twist_log_ratio += ln_norm - z;
            ws.default(tw.loans[k as usize] as usize, t);
        } else {
            ws.twist_log_ratio += ln_norm;
        }
    }
}

/// A default probability `p` twisted by `z`: `q = p e^z / (1 - p + p e^z)`
/// (its odds times `e^z`), with `ln(1 - p + p e^z)`, from which a draw's
/// log ratio follows. Exact for tiny `p` and large `z` alike.
fn twisted(p: f64, z: f64) -> (f64, f64) {
    let ln_norm = (p * z.exp_m1()).ln_1p();
    let q = if p > 0.0 { (p.ln() + z - ln_norm).exp().min(1.0) } else { 0.0 };
    (q, ln_norm)
}

/// Most a twist may multiply the odds of default of the largest twisted
/// exposure by (smaller ones less): a stronger twist makes the trials that
/// need it reach the level with weights the others cannot balance.
/// Measured on the default scenario (docs/tail.md): 2, 4 and 8 gave
/// variance ratios of 349, 387 and 275.
const TWIST_MAX_ODDS: f64 = 4.0;

/// The twist `theta` at which loans `(_, p, c)` expect `sum c q = need`:
/// 0 when they already expect that much, and at most [`TWIST_MAX_ODDS`]
/// on the largest `c`. Newton's steps on the increasing sum, kept inside a
/// bracket by bisection.
fn twist_theta(draws: &[(u32, f64, f64)], need: f64) -> f64 {
    // q = 1 / (1 + e^(-z) (1 - p) / p): one exponential a loan and step.
    let sum = |theta: f64| -> (f64, f64) {
        draws.iter().filter(|d| d.1 > 0.0).fold((0.0, 0.0), |(g, d), &(_, p, c)| {
            let q = 1.0 / (1.0 + (-theta * c).exp() * ((1.0 - p) / p));
            (g + c * q, d + c * c * q * (1.0 - q))
        })
    };
    let largest = draws.iter().map(|d| d.2).fold(0.0f64, f64::max);
    // NaN (a level of no trial) asks for nothing.
    if need.is_nan() || need <= sum(0.0).0 || largest <= 0.0 {
        return 0.0;
    }
    let mut hi = TWIST_MAX_ODDS.ln() / largest;
    if sum(hi).0 <= need {
        return hi;
    }
    let mut lo = 0.0;
    let mut theta = 0.5 * hi;
    for _ in 0..40 {
        let (g, d) = sum(theta);
        if (g - need).abs() <= 1e-9 * need {
            break;
        }
        if g < need {
            lo = theta
        } else {
            hi = theta
        }
        let step = theta - (g - need) / d;
        theta = if d > 0.0 && step > lo && step < hi { step } else { 0.5 * (lo + hi) };
    }
    theta
}

/// The shock pass of year `t`: each shock type strikes the household
/// borrowers alive at the start of the year with its probability, and a
/// shocked borrower defaults in addition with the shock's `q`. Returns the
/// year's shocks.
fn shock_pass(m: &Model, seed: u64, trial: u64, t: usize, ws: &mut Workspace) -> u32 {
    let loans = &m.loans;
    for &i in &ws.shocked {
        ws.shock[i as usize] = 0;
    }
    ws.shocked.clear();
    let mut shocks = 0;
    for sh in &m.hazards.shocks {
        let mut g = rng::stream(seed, trial, Stream::Shock, sh.key, t as u64);
        let mut gd = rng::stream(seed, trial, Stream::DefaultShock, sh.key, t as u64);
        let bit = match sh.kind {
            ShockKind::Accident => SHOCK_ACCIDENT,
            ShockKind::Illness => SHOCK_ILLNESS,
        };
        let hh = &m.household_loans;
        ws.shock_draws.clear();
        rng::bernoulli_indices(&mut g, hh.len(), sh.prob, |j| {
            ws.shock_draws.push((j as u32, rng::uniform(&mut gd)));
        });
        for d in ws.shock_draws.iter_mut() {
            d.0 = hh[d.0 as usize];
        }
        load_ahead_shocked(&ws.shock_draws, &ws.default_year, &loans.term, &ws.shock);
        for k in 0..ws.shock_draws.len() {
            let (i, u) = ws.shock_draws[k];
            let i = i as usize;
            let dy = ws.default_year[i];
            let alive_at_start = loans.term[i] as usize > t && (dy == 0 || dy as usize == t + 1);
            if !alive_at_start {
                continue;
            }
            shocks += 1;
            if ws.shock[i] == 0 {
                ws.shocked.push(i as u32);
            }
            ws.shock[i] |= bit;
            if u < sh.default_prob {
                ws.default(i, t);
            }
        }
    }
    shocks
}

/// Reads what the shock pass will read of each shocked borrower, in a short
/// loop of independent loads: the borrowers are scattered over the book, and
/// loaded this way their cache misses overlap instead of following one
/// another.
#[inline]
fn load_ahead_shocked(draws: &[(u32, f64)], default_year: &[u8], term: &[u8], shock: &[u8]) {
    let mut touched = 0;
    for &(i, _) in draws {
        touched ^= default_year[i as usize] ^ term[i as usize] ^ shock[i as usize];
    }
    std::hint::black_box(touched);
}

/// The extra-damage pass of year `t` (docs/model.md 3b): linked households
/// of defaulted firms, guarantors that paid, society bank loans with bad
/// loans behind them. Each listed loan alive and not yet defaulted defaults
/// in addition with r = (p(D') - p(D)) / (1 - p(D)), D' = 1 - (1 - D)(1 - e),
/// so that it defaults with exactly p(D'). One uniform per (year, loan),
/// keyed by the loan's id: draws do not shift when the list changes.
fn extra_damage_pass(m: &Model, seed: u64, trial: u64, t: usize, f: Factors, ws: &mut Workspace) {
    let loans = &m.loans;
    ws.mech.extra.sort_unstable();
    // Both lists are sorted by loan: the society bank loans among the listed
    // loans are found by walking them together.
    let mut fb = 0;
    for k in 0..ws.mech.extra.len() {
        let i = ws.mech.extra[k] as usize;
        let fed = &ws.mech.fed_back;
        while fb < fed.len() && (fed[fb].0 as usize) < i {
            fb += 1;
        }
        let society = fed.get(fb).filter(|(l, _)| *l as usize == i).map(|&(_, s)| s);
        if loans.term[i] as usize <= t || ws.default_year[i] != 0 {
            continue;
        }
        let extra = ws.mech.extra_damage(m, i, society);
        if extra <= 0.0 {
            continue;
        }
        let u = rng::keyed_uniform(&[seed, trial, Stream::Mechanisms as u64, t as u64, m.extra_key[i]]);
        if extra_term_defaults(m, f, &ws.damage, i, extra, u) {
            ws.default(i, t);
        }
    }
}

/// Whether loan `i`, carrying the extra damage term `extra`, defaults in
/// addition on the uniform `u`.
fn extra_term_defaults(m: &Model, f: Factors, damage: &DamageState, i: usize, extra: f64, u: f64) -> bool {
    let (loans, e, grid) = (&m.loans, &m.economy, rng::phi_grid());
    let (v, ind, c) = (loans.village[i], loans.industry[i] as usize, loans.county[i] as usize);
    let thr = m.classes[loans.class[i] as usize].threshold - e.sqrt_rho * f.x(e, c, ind);
    // Most listed loans are turned down before their village's damage is
    // looked up: r is at most its value with p(D) at no damage and p(D') at
    // the county's bound on D, both taken at grid points.
    let k_0 = grid.above(thr * e.inv_sqrt_1m_rho);
    let p_0_lo = if k_0 > 0 { grid.p(k_0 - 1) } else { 0.0 };
    let d_all_max = 1.0 - (1.0 - damage.bound_all(c, ind)) * (1.0 - extra);
    let p_all_hi = grid.p(grid.above((thr + e.kappa * d_all_max) * e.inv_sqrt_1m_rho));
    if p_0_lo < 1.0 && u >= (p_all_hi - p_0_lo) / (1.0 - p_0_lo) {
        return false;
    }
    let d = damage.damage(v, ind);
    let d_all = 1.0 - (1.0 - d) * (1.0 - extra);
    let (x_d, x_all) = ((thr + e.kappa * d) * e.inv_sqrt_1m_rho, (thr + e.kappa * d_all) * e.inv_sqrt_1m_rho);
    // r grows with p(D') and falls with p(D): grid points around both bound
    // it, and most draws are decided without a CDF.
    let (k_d, k_all) = (grid.above(x_d), grid.above(x_all));
    let p_d_lo = if k_d > 0 { grid.p(k_d - 1) } else { 0.0 };
    if p_d_lo >= 1.0 || u >= (grid.p(k_all) - p_d_lo) / (1.0 - p_d_lo) {
        return false;
    }
    let p_d = rng::phi(x_d);
    let p_all = rng::phi(x_all);
    let r = if p_d >= 1.0 { 0.0 } else { ((p_all - p_d) / (1.0 - p_d)).clamp(0.0, 1.0) };
    u < r
}

/// The claims of the year's defaults, appended to the trial's claims in loan
/// order: exposure, collateral and insurance claims (docs/model.md 3.7-3.8.2),
/// through the waterfall's layers 1-2 as each is built, while it is in the
/// cache; and the subsidies, premiums and loan-years each default takes off
/// the schedule. Returns the year's exposure by cause.
fn year_claims(m: &Model, t: usize, ws: &mut Workspace) -> Flows {
    let mut flows = Flows::default();
    // The year's defaults arrive as a few ascending runs (the bucket passes
    // in book order, each shock type over the household loans in order, the
    // sorted extra-damage list), which a run-adaptive merge sort joins in a
    // pass or two; `sort_distinct` would scan the bit words of the whole book.
    ws.year_defaults.sort();
    let terms = ws.terms;
    let defaults = std::mem::take(&mut ws.year_defaults);
    for chunk in defaults.chunks(LOAD_AHEAD) {
        load_ahead_defaults(m, t, chunk, &ws.damage);
        for &i in chunk {
            let i = i as usize;
            let r = &m.at_default[i];
            let (v, ind) = (r.village, r.industry as usize);
            let years = &m.loan_years[i * m.horizon..(i + 1) * m.horizon];
            let exposure = years[t].ead;
            let (d, cause) = ws.damage.damage_and_cause(v, ind);
            // Only a herd's value follows its survival, which walks every year's hits.
            let herd =
                if r.collateral == CollateralKind::LivestockPledge { ws.damage.herd_survival(v, ind) } else { 1.0 };
            let collateral_value = terms.collateral(r.collateral, r.collateral_value, herd);
            let claims = terms.insurance(r, d, ws.shock[i], exposure);
            if cause & FROM_DISASTER != 0 {
                flows.exposure_disaster += exposure;
            }
            if cause & FROM_EPIDEMIC != 0 {
                flows.exposure_epidemic += exposure;
            }
            if ws.shock[i] != 0 {
                flows.exposure_shock += exposure;
            }
            if !ws.mech.flags.is_empty() && ws.mech.flags[i] & LINKED != 0 {
                flows.exposure_linkage += exposure;
            }
            let mut claim = Claim {
                loan: i as u32,
                village: v,
                account: r.account,
                village_covered: r.village_covered,
                exposure,
                collateral_value,
                claims,
                society: r.society,
                ..Default::default()
            };
            waterfall::secure(&mut claim);
            ws.drawn.push(claim);
            // Subsidy and alive count lost from this year on.
            for (y, ly) in years.iter().enumerate().take(r.term as usize).skip(t) {
                ws.lost_subsidy[y] += ly.subsidy;
                if y > t {
                    ws.lost_alive[y] += 1;
                    ws.lost_premium[y] += ly.premium;
                }
            }
        }
    }
    ws.year_defaults = defaults;
    flows
}

/// How many defaults [`year_claims`] loads ahead at a time: what 64 load
/// (about 200 cache lines) is still in the core's own caches when their
/// claims are built. A whole year's list at once overflowed them where
/// defaults are common (11,000 a year in a province at five times its pds:
/// docs/performance.md).
const LOAD_AHEAD: usize = 64;

/// Reads what [`year_claims`] will read of each default (its record, its
/// exposure rows, its village's first hit) in short loops of independent
/// loads: the defaults are scattered over the book, and loaded this way
/// their cache misses overlap instead of following one another through the
/// long loop that builds the claims.
fn load_ahead_defaults(m: &Model, t: usize, defaults: &[u32], damage: &DamageState) {
    let mut touched = 0;
    for &i in defaults {
        let years = &m.loan_years[i as usize * m.horizon..(i as usize + 1) * m.horizon];
        touched ^= m.at_default[i as usize].village as i64 ^ years[t].ead.0 ^ years[m.horizon - 1].ead.0;
    }
    for &i in defaults {
        touched ^= damage.first_hit(m.at_default[i as usize].village) as i64;
    }
    std::hint::black_box(touched);
}

/// The bucket passes of year 1 of trial `trial`, after the trial's reset
/// and economy, with no damage drawn: `benches/engine.rs` measures the
/// engine's own pass through it.
/// Returns the year's defaults. Not part of the API.
#[doc(hidden)]
pub fn bench_bucket_pass(m: &Model, seed: u64, trial: u64, ws: &mut Workspace) -> usize {
    ws.reset_draws();
    ws.damage.new_year(0);
    draw_economy(m, seed, trial, ws);
    ws.year_defaults.clear();
    let (zc_all, zi_all) = (std::mem::take(&mut ws.z_county), std::mem::take(&mut ws.z_industry));
    let f = Factors { county: &zc_all[..m.counties.len()], industry: &zi_all[..m.industries.len()] };
    bucket_passes(m, seed, trial, 0, f, ws);
    (ws.z_county, ws.z_industry) = (zc_all, zi_all);
    ws.year_defaults.len()
}

/// What this year's defaults set off (docs/model.md 3b), once the guarantee
/// groups have paid: the societies count their bad loans, and linked
/// households, paying guarantors and society bank loans take their extra
/// terms from next year.
fn mechanisms_after_defaults(m: &Model, year_start: usize, ws: &mut Workspace) {
    let mech = &mut ws.mech;
    let claims = &ws.drawn[year_start..];
    if m.guarantee.is_active() && m.guarantee.uplift > 0.0 && !mech.flags.is_empty() {
        for k in 0..mech.groups.paid().len() {
            let g = mech.groups.paid()[k].0;
            mech.list(g);
        }
    }
    for c in claims.iter().filter(|c| c.society != NO_SOCIETY) {
        let bad = c.to_funds;
        mech.society_bad[c.society as usize] += bad;
        if bad > Fen::ZERO {
            let k = c.society as usize;
            if let Some(&(loan, _)) = mech.fed_back.iter().find(|(_, s)| *s as usize == k) {
                mech.list(loan);
            }
        }
    }
    if m.linkage.is_active() {
        for c in claims.iter() {
            for &h in m.linkage.of(c.loan as usize) {
                if mech.flags[h as usize] & LINKED == 0 {
                    mech.flags[h as usize] |= LINKED;
                    mech.list(h);
                }
            }
        }
    }
    // The extra-damage pass walks the list by loan: sorted here through the
    // bits (a stressed book lists tens of thousands of loans), its own sort
    // meets a sorted list and only checks it.
    sort_distinct(&mut mech.extra, &mut ws.bits);
}

/// Phase 2 of a trial: the funds and the waterfall's fund layers, year by
/// year (docs/model.md 3.8.4-3.10), on the claims [`draw_trial`] left in the
/// workspace; appends the trial's rows to `out`. `m` may differ from the
/// model that drew the trial in its funds only (same loans, same order).
pub fn settle_trial(m: &Model, trial: u64, ws: &mut Workspace, out: &mut Batch) {
    settle(m, trial, ws, out, true);
}

/// [`settle_trial`]; `other_funds` when `m` is not the model that drew the
/// trial, whose claims then take their accounts and village cover from `m`
/// (the same model's are already in place, and reading them again would
/// miss the cache once per default).
fn settle(m: &Model, trial: u64, ws: &mut Workspace, out: &mut Batch, other_funds: bool) {
    ws.reset_funds(m);
    let mut total = Flows::default();
    let mut tcounts = Counts::default();
    let mut village_total: Fen = m.village_fund_initial.iter().copied().sum();
    let mut start = 0;
    for t in 0..m.horizon {
        let draw = ws.year_draws[t];
        let (flows, counts) = settle_year(m, t, start, draw, ws, out, other_funds);
        start = draw.end;
        village_total -= flows.village_fund;
        out.years.push(YearRow { trial, year: t as u32 + 1, flows, counts, village_balance: village_total });
        out.year_balances.extend_from_slice(&ws.account_balance);
        total.add(&flows);
        tcounts.defaults += counts.defaults;
        tcounts.disaster_events += counts.disaster_events;
        tcounts.epidemic_outbreaks += counts.epidemic_outbreaks;
        tcounts.shocks += counts.shocks;
        tcounts.loan_years += counts.loan_years;
    }
    finish_trial(m, trial, total, tcounts, ws, out);
}

/// Year `t` of [`settle`], on the claims `start..draw.end`: the deposits
/// due, the waterfall's fund layers, what each fund was asked and whether it
/// ran dry, then the year-end top-ups. Returns the year's flows and counts.
fn settle_year(
    m: &Model,
    t: usize,
    start: usize,
    draw: YearDraw,
    ws: &mut Workspace,
    out: &mut Batch,
    other_funds: bool,
) -> (Flows, Counts) {
    let YearDraw { end, mut flows, mut counts } = draw;
    let impaired_before = ws.mech.ledger.impaired();
    for (a, &inj) in m.injections[t].iter().enumerate() {
        ws.account_balance[a] += inj;
        ws.deposited[a] += inj;
    }
    // The year's claims are settled where the draws left them: the fund
    // layers start again from what the draws' layers left, so a trial can be
    // settled again under other funds (a sweep).
    let claims = &mut ws.drawn[start..end];
    if other_funds {
        for c in claims.iter_mut() {
            let r = &m.at_default[c.loan as usize];
            (c.account, c.village_covered) = (r.account, r.village_covered);
        }
    }
    waterfall::settle(
        claims,
        &mut ws.village_balance,
        &mut ws.account_balance,
        m.government_share_ppm,
        &mut ws.scratch,
    );
    tally(m, claims, &mut flows, &mut ws.mech.ledger, &mut ws.acct);
    counts.defaults = claims.len() as u32;
    record_demands(ws, out);
    count_exhausted(m, t, ws, &mut counts);
    if m.shortfall_to_bank {
        flows.shortfall_to_bank = flows.shortfall;
    }
    top_up(m, ws, &mut flows);
    // Societies impaired this year (a trial's count is their sum).
    counts.societies_impaired = ws.mech.ledger.impaired() - impaired_before;
    (flows, counts)
}

/// Adds a year's settled claims to its flows, each society loan's loss to
/// its society's capital and each covered loan's figures to its account's row.
fn tally(m: &Model, claims: &[Claim], flows: &mut Flows, ledger: &mut Ledger, acct: &mut [AccountTrial]) {
    for c in claims {
        flows.exposure += c.exposure;
        flows.collateral += c.collateral;
        flows.insurance += c.insurance();
        flows.claims_agricultural += c.insurance_paid[AGRICULTURAL];
        flows.claims_accident += c.insurance_paid[ACCIDENT];
        flows.claims_credit += c.insurance_paid[CREDIT];
        flows.insurance_excess += c.insurance_excess;
        flows.guarantee += c.guarantee;
        flows.village_fund += c.village_fund;
        flows.comp_fund += c.comp_fund;
        flows.shortfall += c.shortfall;
        flows.bank_loss += c.bank_loss;
        flows.society_loss += c.society_loss;
        if c.society != NO_SOCIETY && c.society_loss > Fen::ZERO {
            ledger.bear(&m.societies, c.society as usize, c.society_loss);
        }
        debug_assert_eq!(c.accounted(), c.exposure, "conservation, loan {}", c.loan);
        if c.account != NO_ACCOUNT {
            let a = &mut acct[c.account as usize];
            a.draws += c.comp_fund;
            a.shortfall += c.shortfall;
            a.bank_loss += c.bank_loss;
        }
    }
}

/// What the year asked of each account (a row for every account) and of
/// each village fund (summed over the trial).
fn record_demands(ws: &mut Workspace, out: &mut Batch) {
    ws.year_demand.fill(Fen::ZERO);
    for &(a, d) in &ws.scratch.accounts.demand {
        ws.year_demand[a as usize] = d;
    }
    out.account_demands.extend_from_slice(&ws.year_demand);
    for &(v, d) in &ws.scratch.villages.demand {
        if ws.village_demand[v as usize].is_zero() {
            ws.village_demand_list.push(v);
        }
        ws.village_demand[v as usize] += d;
    }
}

/// Counts the funds that ran dry in year `t`, and remembers the villages
/// and the first year of each account for the trial's figures.
fn count_exhausted(m: &Model, t: usize, ws: &mut Workspace, counts: &mut Counts) {
    if m.village_fund_enabled {
        for &v in &ws.scratch.villages.exhausted {
            counts.village_funds_exhausted += 1;
            if !ws.village_exhausted[v as usize] {
                ws.village_exhausted[v as usize] = true;
                ws.exhausted_list.push(v);
            }
        }
    }
    for &a in &ws.scratch.accounts.exhausted {
        counts.comp_accounts_exhausted += 1;
        let acc = &mut ws.acct[a as usize];
        if acc.exhausted_year == 0 {
            acc.exhausted_year = t as u32 + 1;
        }
    }
}

/// Year-end top-ups (docs/model.md 3.9) back to what has been deposited so
/// far, within the yearly and total caps.
fn top_up(m: &Model, ws: &mut Workspace, flows: &mut Flows) {
    let Some(rule) = m.top_up else { return };
    for a in 0..m.accounts.len() {
        let mut add = (ws.deposited[a] - ws.account_balance[a]).max(Fen::ZERO);
        if let Some(cap) = rule.annual_cap {
            add = add.min(cap);
        }
        if let Some(cap) = rule.total_cap {
            add = add.min((cap - ws.topped[a]).max(Fen::ZERO));
        }
        ws.account_balance[a] += add;
        ws.topped[a] += add;
        ws.acct[a].top_ups += add;
        flows.top_ups += add;
    }
}

/// The trial's rows: its totals and counts, its accounts, and its villages
/// that ran dry or were asked for something, each list by village.
fn finish_trial(m: &Model, trial: u64, total: Flows, mut tcounts: Counts, ws: &mut Workspace, out: &mut Batch) {
    tcounts.village_funds_exhausted = ws.exhausted_list.len() as u32;
    tcounts.comp_accounts_exhausted = ws.acct.iter().filter(|a| a.exhausted_year > 0).count() as u32;
    tcounts.societies_impaired = ws.mech.ledger.impaired();
    out.trials.push(TrialRow { trial, flows: total, counts: tcounts });
    if let Some(lw) = ws.log_weight {
        out.weights.push(lw.exp());
    }
    out.accounts.extend_from_slice(&ws.acct);
    let words = m.villages.len().div_ceil(64);
    sort_distinct(&mut ws.exhausted_list, &mut ws.bits[..words]);
    out.exhausted_villages.extend_from_slice(&ws.exhausted_list);
    out.exhausted_villages_end.push(out.exhausted_villages.len() as u32);
    sort_distinct(&mut ws.village_demand_list, &mut ws.bits[..words]);
    out.village_demands.extend(ws.village_demand_list.iter().map(|&v| (v, ws.village_demand[v as usize])));
    out.village_demands_end.push(out.village_demands.len() as u32);
}

/// Trials per unit of parallel work, at most: large enough to amortise
/// scheduling, small enough to balance two cores.
pub const CHUNK: u64 = 256;
/// At most this many trials are simulated before their rows are handed to
/// the sink.
pub const WAVE: u64 = 64 * CHUNK;
/// What a wave's rows may take, roughly: a province trial holds about 100 KB
/// of rows (accounts by year, villages with a demand), so waves are bounded in
/// bytes, not only in trials.
const WAVE_BYTES: u64 = 128 << 20;

/// Trials per wave for model `m` on `threads` threads: whole rounds of
/// chunks, within [`WAVE_BYTES`] by an estimate of a trial's rows (its
/// accounts' yearly rows, and one demand row per eight villages).
fn wave_trials(m: &Model, threads: usize) -> u64 {
    let (na, nv, h) = (m.accounts.len() as u64, m.villages.len() as u64, m.horizon as u64);
    let per_trial = 2 * 8 * na * h + std::mem::size_of::<AccountTrial>() as u64 * na + 2 * nv + 256;
    let round = CHUNK * threads.max(1) as u64;
    (WAVE_BYTES / per_trial / round * round).clamp(round, WAVE.max(round))
}

/// A pool of at most `threads` workers, fewer when the system refuses to
/// start them (a process or memory cap): results do not depend on the count.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    let mut n = threads.max(1);
    loop {
        match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(p) => return p,
            Err(_) if n > 1 => n /= 2,
            // No thread can be started at all: nothing can run.
            Err(e) => panic!("cannot start a worker thread: {e}"),
        }
    }
}

/// Runs the trials in `trials` on `threads` threads and hands their tables to
/// `sink` in trial order, a chunk of at most [`CHUNK`] trials at a time,
/// wave after wave. While the sink takes a wave's chunks (on the calling
/// thread), the next wave is simulated, so writing the tables overlaps the
/// simulation; at most two waves are held. The chunks are handed over as the
/// workers made them: joining a wave's into one table would copy every row
/// once more. `progress` is told how many trials have finished. The tables
/// depend on (model, seed, trial) only. Returns how long the sink took on
/// the last wave, which no simulation overlapped.
pub fn simulate<E>(
    m: &Model,
    seed: u64,
    trials: Range<u64>,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    mut sink: impl FnMut(Batch) -> Result<(), E>,
) -> Result<std::time::Duration, E> {
    let pool = pool(threads);
    let na = m.accounts.len();
    let wave = wave_trials(m, threads);
    let run_wave = |wave_start: u64, wave_end: u64| -> Vec<Batch> {
        // Short waves (a 200-trial run) are cut finer, so every thread gets work.
        let chunk = ((wave_end - wave_start) / (4 * threads.max(1) as u64)).clamp(1, CHUNK);
        let chunks: Vec<Range<u64>> =
            (wave_start..wave_end).step_by(chunk as usize).map(|s| s..(s + chunk).min(wave_end)).collect();
        pool.install(|| {
            chunks
                .into_par_iter()
                .map_init(
                    || Workspace::new(m),
                    |ws, r| {
                        let mut b = Batch::new(na, m.horizon);
                        b.reserve_trials((r.end - r.start) as usize);
                        for k in r.clone() {
                            run_trial(m, seed, k, ws, &mut b);
                        }
                        progress(r.end - r.start);
                        b
                    },
                )
                .collect()
        })
    };
    let waves: Vec<(u64, u64)> =
        (trials.start..trials.end).step_by(wave.max(1) as usize).map(|s| (s, (s + wave).min(trials.end))).collect();
    std::thread::scope(|scope| {
        let run_wave = &run_wave;
        let mut next = waves.iter().map(|&(s, e)| move || run_wave(s, e));
        let mut pending = next.next().map(|w| scope.spawn(w));
        let mut last_sink = std::time::Duration::ZERO;
        while let Some(running) = pending.take() {
            let chunks = running.join().expect("a wave's simulation panicked");
            pending = next.next().map(|w| scope.spawn(w));
            let started = std::time::Instant::now();
            for b in chunks {
                sink(b)?;
            }
            last_sink = started.elapsed();
        }
        Ok(last_sink)
    })
}

#[cfg(test)]
mod tests {
    use super::{TWIST_MAX_ODDS, twist_theta, twisted};

    /// A twisted draw's ratio averages 1 under the twisted law, and the
    /// twist multiplies the odds by `e^z`, down to probabilities far below
    /// what `1 - p` can hold.
    #[test]
    fn a_twisted_draw_weighs_back_to_its_own_probability() {
        for p in [0.0, 1e-300, 1e-12, 1e-4, 0.02, 0.5, 0.97, 1.0] {
            for z in [0.0, 0.3, 1.4, 20.0] {
                let (q, ln_norm) = twisted(p, z);
                let (w_default, w_not) = ((ln_norm - z).exp(), ln_norm.exp());
                // E_q[w 1[default]] = p and E_q[w 1[not]] = 1 - p (the
                // latter to what 1 - q keeps of q's last bits when q is near 1).
                assert!((q * w_default - p).abs() <= 1e-12 * p.max(1e-300), "p {p} z {z}: {q} x {w_default}");
                assert!(((1.0 - q) * w_not - (1.0 - p)).abs() < 1e-15 * w_not.max(1.0), "p {p} z {z}");
                if p > 0.0 && p < 1.0 && q < 1.0 - 1e-6 {
                    let odds = |x: f64| x / (1.0 - x);
                    assert!((odds(q) / odds(p) / z.exp() - 1.0).abs() < 1e-9, "p {p} z {z}");
                }
            }
        }
    }

    /// The twist meets the exposure a year needs, stays 0 when the loans
    /// already expect it, and stops at its largest odds.
    #[test]
    fn the_twist_meets_the_need_within_its_bound() {
        let draws: Vec<(u32, f64, f64)> =
            (0..40).map(|k| (k, 0.01 + 0.001 * k as f64, 0.01 + 0.002 * k as f64)).collect();
        let expected = |theta: f64| draws.iter().map(|&(_, p, c)| c * twisted(p, theta * c).0).sum::<f64>();
        let base = expected(0.0);
        assert_eq!(twist_theta(&draws, 0.5 * base), 0.0);
        assert_eq!(twist_theta(&draws, f64::NAN), 0.0);
        let need = 1.5 * base;
        let theta = twist_theta(&draws, need);
        assert!(theta > 0.0 && (expected(theta) - need).abs() < 1e-9 * need, "theta {theta}");
        let largest = draws.iter().map(|d| d.2).fold(0.0f64, f64::max);
        let most = twist_theta(&draws, 100.0 * base);
        assert!((most * largest - TWIST_MAX_ODDS.ln()).abs() < 1e-12, "capped at {most}");
    }

    #[test]
    fn sort_distinct_equals_sort() {
        let mut bits = vec![0u64; 100];
        for n in [0u64, 5, 40, 700, 6000] {
            let mut list: Vec<u32> = (0..6400u32).filter(|&i| crate::rng::mix64(i as u64 + n) % 6400 < n).collect();
            list.reverse();
            let mut want = list.clone();
            want.sort_unstable();
            super::sort_distinct(&mut list, &mut bits);
            assert_eq!(list, want, "{n}");
            assert!(bits.iter().all(|&w| w == 0), "bits left set");
        }
    }
}
