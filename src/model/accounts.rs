//! The funds' accounts (docs/model.md 1.2, 1.3, 3.9): a compensation account
//! per (bank, county) with covered loans, its deposit and the batches it is
//! paid in by; a village fund per village. Part of
//! [`crate::model::Model::build`].

use std::collections::BTreeMap;

use crate::limits;
use crate::model::names::Ids;
use crate::model::{Account, Loans, NO_ACCOUNT, VillageInfo, stop};
use crate::money::{Fen, to_ppm};
use crate::scenario::InputError;
use crate::scenario::schema::*;
use crate::scenario::validate::Problems;

/// The compensation fund's accounts and when their deposits come in.
pub(super) struct Compensation {
    pub accounts: Vec<Account>,
    /// Deposits paid in at the start of year t, per account: `injections[t][a]`.
    pub injections: Vec<Vec<Fen>>,
    /// Cumulative share of each deposit paid in by the start of year t, ppm.
    pub injected_share_ppm: Vec<u32>,
}

/// The village funds: what each starts with, and the principal it covers.
pub(super) struct VillageFunds {
    pub initial: Vec<Fen>,
    pub covered: Vec<Fen>,
}

impl Compensation {
    /// Opens an account for each (bank, county) with a covered loan (`covered`
    /// in book order), sets `Loans::account`, and sizes each deposit: the
    /// amount the scenario gives, else the covered principal over the deposit
    /// ratio. A deposit that names no account, or one already given, is a
    /// problem; so are funds beyond riskshare's bound, which stop the build
    /// before anything sums them.
    pub fn open(
        s: &Scenario,
        covered: &[bool],
        loans: &mut Loans,
        ids: &Ids,
        horizon: usize,
        p: &mut Problems,
    ) -> Result<Compensation, InputError> {
        let comp = &s.funds.compensation;
        let mut accounts = assign(covered, loans);
        explicit_deposits(comp, ids, &mut accounts, p);
        stop(p)?;
        for a in accounts.iter_mut().filter(|a| !a.explicit) {
            a.deposit = Fen((a.covered_principal.0 as f64 / comp.deposit_ratio).round() as i64);
        }
        check_funds(s, &accounts, p)?;
        let share_by_year = share_by_year(&comp.injections, horizon);
        let mut cum = 0.0;
        let injected_share_ppm = share_by_year
            .iter()
            .map(|x| {
                cum += x;
                to_ppm(cum.min(1.0))
            })
            .collect();
        Ok(Compensation { injections: injection_schedule(&accounts, &share_by_year), injected_share_ppm, accounts })
    }
}

/// The accounts, numbered by (bank, county), each with the principal it
/// covers; `Loans::account` of each loan.
fn assign(covered: &[bool], loans: &mut Loans) -> Vec<Account> {
    let mut account_ix: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    loans.account = (0..loans.n)
        .map(|i| {
            if covered[i] {
                let next = account_ix.len() as u32;
                *account_ix.entry((loans.bank[i], loans.county[i])).or_insert(next)
            } else {
                NO_ACCOUNT
            }
        })
        .collect();
    // Ids were handed out in book order; renumber by (bank, county).
    let mut remap = vec![0u32; account_ix.len()];
    for (new, (_, &old)) in account_ix.iter().enumerate() {
        remap[old as usize] = new as u32;
    }
    for a in loans.account.iter_mut().filter(|a| **a != NO_ACCOUNT) {
        *a = remap[*a as usize];
    }
    let mut accounts: Vec<Account> = account_ix
        .keys()
        .map(|&(bank, county)| Account {
            bank,
            county,
            covered_principal: Fen::ZERO,
            deposit: Fen::ZERO,
            explicit: false,
        })
        .collect();
    for i in 0..loans.n {
        if loans.account[i] != NO_ACCOUNT {
            accounts[loans.account[i] as usize].covered_principal += loans.principal[i];
        }
    }
    accounts
}

/// The deposits the scenario gives: each names one account, by its bank and,
/// where the bank lends in several counties, the county.
fn explicit_deposits(comp: &CompensationFund, ids: &Ids, accounts: &mut [Account], p: &mut Problems) {
    for (di, d) in comp.deposits.iter().enumerate() {
        let b = ids.bank[&*d.bank] as u32;
        let matching: Vec<usize> = accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.bank == b && d.county.as_ref().is_none_or(|c| ids.county[c.as_str()] as u32 == a.county))
            .map(|(i, _)| i)
            .collect();
        match matching.len() {
            0 => p.push(
                format!("funds.compensation.deposits[{di}]"),
                format!(
                    "bank `{}` has no covered loans{}",
                    d.bank,
                    d.county.as_ref().map(|c| format!(" in county `{c}`")).unwrap_or_default()
                ),
            ),
            1 => {
                let a = &mut accounts[matching[0]];
                if a.explicit {
                    p.push(format!("funds.compensation.deposits[{di}]"), "a second deposit for the same account");
                }
                a.deposit = d.amount.fen();
                a.explicit = true;
            }
            _ => p.push(
                format!("funds.compensation.deposits[{di}].county"),
                format!("bank `{}` lends in several counties: name the county", d.bank),
            ),
        }
    }
}

/// Stops the build on funds beyond riskshare's bound (docs/reliability.md),
/// so that no balance or sum of them can overflow.
fn check_funds(s: &Scenario, accounts: &[Account], p: &mut Problems) -> Result<(), InputError> {
    let funds: i128 = accounts.iter().map(|a| i128::from(a.deposit.0)).sum::<i128>()
        + s.funds.village.amounts.values().map(|y| i128::from(y.fen().0)).sum::<i128>();
    if funds <= i128::from(limits::MAX_FUNDS_FEN) {
        return Ok(());
    }
    p.push(
        "funds",
        format!(
            "expected funds (compensation deposits and village amounts) of at most CNY {} in all \
             (riskshare's bound), found CNY {}",
            limits::grouped(limits::MAX_FUNDS_FEN as u64 / 100),
            limits::grouped((funds / 100) as u64)
        ),
    );
    Err(InputError { problems: std::mem::take(&mut p.list) })
}

/// The share of the deposit each year's batch brings, by year.
fn share_by_year(inj: &[Injection], horizon: usize) -> Vec<f64> {
    let mut share_by_year = vec![0.0f64; horizon];
    for i in inj {
        share_by_year[i.year as usize - 1] += i.share;
    }
    share_by_year
}

/// Splits each account's deposit over the injection years by cumulative
/// rounding, so the batches add up to the deposit exactly.
fn injection_schedule(accounts: &[Account], share_by_year: &[f64]) -> Vec<Vec<Fen>> {
    let mut out = vec![vec![Fen::ZERO; accounts.len()]; share_by_year.len()];
    for (a, acc) in accounts.iter().enumerate() {
        let mut cum = 0.0;
        let mut given = Fen::ZERO;
        let last = share_by_year.iter().rposition(|&s| s > 0.0).unwrap_or(0);
        for (t, &sh) in share_by_year.iter().enumerate() {
            cum += sh;
            let upto = if t >= last { acc.deposit } else { acc.deposit.mul_ppm(to_ppm(cum.min(1.0))) };
            out[t][a] = upto - given;
            given = upto;
            if t >= last {
                break;
            }
        }
    }
    out
}

impl VillageFunds {
    /// Each village fund's covered principal and starting balance: the
    /// amount the scenario gives, else its share of that principal; nothing
    /// when village funds are off.
    pub fn open(s: &Scenario, loans: &Loans, villages: &[VillageInfo]) -> VillageFunds {
        let vf = &s.funds.village;
        let nv = villages.len();
        let mut initial = vec![Fen::ZERO; nv];
        let mut covered = vec![Fen::ZERO; nv];
        for j in 0..loans.n {
            if loans.village_covered[j] {
                covered[loans.village[j] as usize] += loans.principal[j];
            }
        }
        if vf.enabled {
            let share = to_ppm(vf.share);
            for v in 0..nv {
                initial[v] = match vf.amounts.get(&villages[v].id) {
                    Some(y) => y.fen(),
                    None => covered[v].mul_ppm(share),
                };
            }
        }
        VillageFunds { initial, covered }
    }
}
