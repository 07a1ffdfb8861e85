//! The loss tables (docs/model.md 5): one row per trial, one row per trial and
//! year, and each compensation account's figures per trial. They are the
//! primary output; every statistic, chart and comparison is computed from
//! them. Column names and order are defined here once, for the CSV writer,
//! the statistics and the reports alike.

use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// The money columns of a trial or a year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    pub exposure: Fen,
    pub collateral: Fen,
    pub insurance: Fen,
    /// Paid by joint-guarantee groups for their defaulted members.
    pub guarantee: Fen,
    pub village_fund: Fen,
    pub comp_fund: Fen,
    pub shortfall: Fen,
    pub bank_loss: Fen,
    /// Borne by mutual-aid societies' capital.
    pub society_loss: Fen,
    pub interest_subsidy: Fen,
    pub insurance_excess: Fen,
    /// The part of `shortfall` the bank bears (all of it when the scenario says so).
    pub shortfall_to_bank: Fen,
    pub top_ups: Fen,
    pub premium_subsidy: Fen,
    pub claims_agricultural: Fen,
    pub claims_accident: Fen,
    pub claims_credit: Fen,
    /// Exposure of defaults that had a disaster, an epidemic or a shock behind them.
    pub exposure_disaster: Fen,
    pub exposure_epidemic: Fen,
    pub exposure_shock: Fen,
    /// Exposure of defaults that carried a linkage term (their firm had defaulted).
    pub exposure_linkage: Fen,
}

impl Flows {
    pub fn add(&mut self, o: &Flows) {
        for c in MONEY {
            *(c.get_mut)(self) += (c.get)(o);
        }
    }
    /// What the budget pays: fund draws, shortfall it bears, top-ups,
    /// interest and premium subsidies.
    pub fn fiscal_cost(&self) -> Fen {
        self.comp_fund
            + (self.shortfall - self.shortfall_to_bank)
            + self.top_ups
            + self.interest_subsidy
            + self.premium_subsidy
    }
    /// What the layers account for: equals `exposure` (docs/model.md 4).
    pub fn accounted(&self) -> Fen {
        self.collateral
            + self.insurance
            + self.guarantee
            + self.village_fund
            + self.comp_fund
            + self.shortfall
            + self.bank_loss
            + self.society_loss
    }
    /// Everything the bank loses: its split share and any shortfall it bears.
    pub fn bank_total(&self) -> Fen {
        self.bank_loss + self.shortfall_to_bank
    }
}

/// A named money column with accessors.
pub struct Column {
    pub name: &'static str,
    pub get: fn(&Flows) -> Fen,
    pub get_mut: fn(&mut Flows) -> &mut Fen,
}

macro_rules! columns {
    ($($f:ident),* $(,)?) => {
        &[$(Column { name: stringify!($f), get: |x| x.$f, get_mut: |x| &mut x.$f }),*]
    };
}

/// Money columns in table order. The first nine make the conservation
/// identity ([`Flows::accounted`]).
pub const MONEY: &[Column] = columns!(
    exposure,
    collateral,
    insurance,
    guarantee,
    village_fund,
    comp_fund,
    shortfall,
    bank_loss,
    society_loss,
    interest_subsidy,
    insurance_excess,
    shortfall_to_bank,
    top_ups,
    premium_subsidy,
    claims_agricultural,
    claims_accident,
    claims_credit,
    exposure_disaster,
    exposure_epidemic,
    exposure_shock,
    exposure_linkage,
);

/// Counts per trial or year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub defaults: u32,
    pub village_funds_exhausted: u32,
    pub comp_accounts_exhausted: u32,
    /// Mutual-aid societies whose capital fell below their threshold (in the
    /// year; in the trial, all of them: a society is counted once).
    pub societies_impaired: u32,
    pub disaster_events: u32,
    pub epidemic_outbreaks: u32,
    pub shocks: u32,
    /// Loans alive at the start of each year, summed over the years.
    pub loan_years: u64,
}

/// A count column of the trial and year tables: its name and how to read it.
pub struct CountColumn {
    pub name: &'static str,
    pub get: fn(&Counts) -> u64,
}

/// The count columns, in the order `trials.csv` holds them: the one list
/// that the tail's columns, the Parquet schema and the workbook read.
pub const COUNTS: &[CountColumn] = &[
    CountColumn { name: "defaults", get: |c| c.defaults as u64 },
    CountColumn { name: "village_funds_exhausted", get: |c| c.village_funds_exhausted as u64 },
    CountColumn { name: "comp_accounts_exhausted", get: |c| c.comp_accounts_exhausted as u64 },
    CountColumn { name: "societies_impaired", get: |c| c.societies_impaired as u64 },
    CountColumn { name: "disaster_events", get: |c| c.disaster_events as u64 },
    CountColumn { name: "epidemic_outbreaks", get: |c| c.epidemic_outbreaks as u64 },
    CountColumn { name: "shocks", get: |c| c.shocks as u64 },
    CountColumn { name: "loan_years", get: |c| c.loan_years },
];

/// One row of `trials.csv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialRow {
    pub trial: u64,
    pub flows: Flows,
    pub counts: Counts,
}

/// One row of `years.csv` (account balances are kept beside it in [`Batch`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YearRow {
    pub trial: u64,
    pub year: u32,
    pub flows: Flows,
    pub counts: Counts,
    /// All village funds' balances at year end.
    pub village_balance: Fen,
}

/// One compensation account's figures in one trial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTrial {
    pub draws: Fen,
    pub shortfall: Fen,
    /// The bank's split share on the account's loans (not the shortfall).
    pub bank_loss: Fen,
    pub top_ups: Fen,
    /// First year (1-based) in which the account was exhausted, 0 if never.
    pub exhausted_year: u32,
}

/// The tables of a contiguous range of trials, in trial order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub n_accounts: usize,
    pub horizon: usize,
    pub trials: Vec<TrialRow>,
    pub years: Vec<YearRow>,
    /// Account balances at year end: `[trial][year][account]`, flattened.
    pub year_balances: Vec<Fen>,
    /// `[trial][account]`, flattened.
    pub accounts: Vec<AccountTrial>,
    /// What each account was asked to pay in each year (the government's share
    /// after the village fund, whatever its balance): `[trial][year][account]`.
    /// Sizing reads it: the demand does not depend on the deposit.
    pub account_demands: Vec<Fen>,
    /// Villages with a demand on their fund over the horizon, trial after trial:
    /// (village, total demand); trial k's are `village_demands[ends[k-1]..ends[k]]`.
    pub village_demands: Vec<(u32, Fen)>,
    pub village_demands_end: Vec<u32>,
    /// Villages whose fund was exhausted, trial after trial (ids ascending
    /// within a trial); trial k's are `exhausted_villages[ends[k-1]..ends[k]]`.
    pub exhausted_villages: Vec<u32>,
    pub exhausted_villages_end: Vec<u32>,
    /// Each trial's likelihood ratio under importance sampling, in trial order; empty on plain runs (every weight 1).
    pub weights: Vec<f64>,
}

impl Batch {
    pub fn new(n_accounts: usize, horizon: usize) -> Self {
        Batch { n_accounts, horizon, ..Default::default() }
    }
    /// Room for `trials` more trials' rows of fixed size (the per-village
    /// lists grow with what happens), so a chunk's rows are not moved and
    /// their pages faulted again each time a vector doubles.
    /// Empties every table, keeping the capacity (a batch reused trial after trial).
    pub fn clear(&mut self) {
        // Every field named, so that a table added later is not left full.
        let Batch {
            n_accounts: _,
            horizon: _,
            trials,
            years,
            year_balances,
            accounts,
            account_demands,
            village_demands,
            village_demands_end,
            exhausted_villages,
            exhausted_villages_end,
            weights,
        } = self;
        trials.clear();
        years.clear();
        year_balances.clear();
        accounts.clear();
        account_demands.clear();
        village_demands.clear();
        village_demands_end.clear();
        exhausted_villages.clear();
        exhausted_villages_end.clear();
        weights.clear();
    }

    pub fn reserve_trials(&mut self, trials: usize) {
        let (na, h) = (self.n_accounts, self.horizon);
        self.trials.reserve(trials);
        self.years.reserve(trials * h);
        self.year_balances.reserve(trials * h * na);
        self.accounts.reserve(trials * na);
        self.account_demands.reserve(trials * h * na);
        self.village_demands_end.reserve(trials);
        self.exhausted_villages_end.reserve(trials);
    }

    /// Concatenates `batches` in order, every vector allocated once.
    pub fn concat(n_accounts: usize, horizon: usize, batches: Vec<Batch>) -> Batch {
        let mut out = Batch::new(n_accounts, horizon);
        out.reserve_trials(batches.iter().map(|b| b.trials.len()).sum());
        out.village_demands.reserve(batches.iter().map(|b| b.village_demands.len()).sum());
        out.exhausted_villages.reserve(batches.iter().map(|b| b.exhausted_villages.len()).sum());
        for b in batches {
            out.append(b);
        }
        out
    }

    pub fn append(&mut self, mut o: Batch) {
        self.trials.append(&mut o.trials);
        self.years.append(&mut o.years);
        self.year_balances.append(&mut o.year_balances);
        self.accounts.append(&mut o.accounts);
        self.account_demands.append(&mut o.account_demands);
        let base = self.village_demands.len() as u32;
        self.village_demands.append(&mut o.village_demands);
        self.village_demands_end.extend(o.village_demands_end.iter().map(|e| e + base));
        let base = self.exhausted_villages.len() as u32;
        self.exhausted_villages.append(&mut o.exhausted_villages);
        self.exhausted_villages_end.extend(o.exhausted_villages_end.iter().map(|e| e + base));
        self.weights.append(&mut o.weights);
    }
    pub fn len(&self) -> usize {
        self.trials.len()
    }
    pub fn is_empty(&self) -> bool {
        self.trials.is_empty()
    }
}
