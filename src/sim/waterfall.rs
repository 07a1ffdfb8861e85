//! The waterfall (docs/model.md 3.8, 3b): one year's defaults routed through the
//! layers, in the order of docs/model.md 3.8, one function per layer. Each
//! layer pays from what the loan still owes ([`Claim::owed`]) and hands the
//! rest to the next:
//!
//! 1. `collateral` (3.8.1): `min(recoverable value, exposure)`, the value
//!    after mortality and the liquidation haircut as the claim gives it;
//! 2. `insurance` (3.8.2): each triggered claim (agricultural,
//!    accident/illness, credit, in that order) pays `min(claim, owed)`; the
//!    rest of the claim is `insurance_excess`, paid to the household and not
//!    a loss;
//! 3. [`guarantee`] (3.8.3): what the loan's joint-guarantee group pays
//!    ([`crate::sim::guarantee`]);
//! 4. `village_fund` (3.8.4): a village's covered defaults of the year ask
//!    `D = sum(owed)`; the fund pays all of it when `D <= balance`, else its
//!    whole balance pro rata to `owed`;
//! 5. `society` (3.8.5): a mutual-aid society's loan leaves the rest to the
//!    society's capital (`society_loss`); it never reaches a bank;
//! 6. `split` (3.8.6): a covered loan's remainder `R` goes `round(R *
//!    share)` to the government, which its compensation account is then
//!    asked for, and `R - that` to the bank (`bank_loss`); an uncovered
//!    loan's all to the bank;
//! 7. `compensation_account` (3.8.6): the lending bank's account in the
//!    county pays the government's parts, pro rata when it is short; the
//!    unpaid part is `shortfall`.
//!
//! Layers 1-3 read the draws only, never a fund, and the guarantee's
//! payments set off the next year's extra damage terms (3b), so they run
//! once, when the year is drawn: [`secure`] (layers 1-2, which act on one
//! claim alone) as each claim is built, [`guarantee`] on the year's claims.
//! Layers 4-7 draw the funds down ([`settle`]); they start again from what
//! layers 1-3 left (`Claim::to_funds`) at every settlement, so a trial's
//! draws can be settled under other funds (a sweep). The fund layers share one pro-rata split by fund
//! (`pay_by_fund`): largest remainder, ties by loan index, never first
//! come, first served.
//!
//! Invariant, per claim and so per trial: `exposure = collateral + insurance
//! + guarantee + village_fund + comp_fund + shortfall + bank_loss + society_loss`.

use crate::model::NO_ACCOUNT;
use crate::model::guarantee::GuaranteeBook;
use crate::model::society::NO_SOCIETY;
use crate::money::{Fen, Remainders, allocate_pro_rata_in, split_share};
use crate::sim::guarantee::{self, Call};

/// Insurance claim slots, in the order they pay.
pub const AGRICULTURAL: usize = 0;
pub const ACCIDENT: usize = 1;
pub const CREDIT: usize = 2;

/// One defaulted loan going through the waterfall.
///
/// The fields every pass of the fund layers reads or writes come first, in
/// this order (`repr(C)`), so that they share a cache line or two: a
/// province year's claims outgrow the first-level cache, and each fund layer
/// walks them all.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Claim {
    /// The loan's index: its identity and the tie-break of pro-rata splits.
    pub loan: u32,
    pub village: u32,
    /// Compensation account, or [`NO_ACCOUNT`] when the fund does not cover the loan.
    pub account: u32,
    /// The mutual-aid society that lent the loan, or [`NO_SOCIETY`].
    pub society: u32,
    pub village_covered: bool,
    /// What the loan still owes after the layers so far: each layer pays
    /// from it, and it is zero once the split and the account have placed
    /// the rest.
    pub owed: Fen,
    /// What the layers that read the draws only ([`secure`], [`guarantee`])
    /// leave owed: where the fund layers start, at every settlement of the
    /// same draws.
    pub to_funds: Fen,
    // What each layer paid.
    pub village_fund: Fen,
    pub comp_fund: Fen,
    pub shortfall: Fen,
    pub bank_loss: Fen,
    pub society_loss: Fen,
    pub collateral: Fen,
    pub insurance_paid: [Fen; 3],
    pub insurance_excess: Fen,
    /// What the loan's guarantee group pays.
    pub guarantee: Fen,
    // What the draws give.
    pub exposure: Fen,
    /// Recoverable collateral value (after mortality and haircut).
    pub collateral_value: Fen,
    /// Insurance claims triggered this year, by slot.
    pub claims: [Fen; 3],
}

impl Default for Claim {
    fn default() -> Self {
        Claim {
            loan: 0,
            village: 0,
            account: NO_ACCOUNT,
            village_covered: false,
            exposure: Fen::ZERO,
            collateral_value: Fen::ZERO,
            claims: [Fen::ZERO; 3],
            society: NO_SOCIETY,
            owed: Fen::ZERO,
            to_funds: Fen::ZERO,
            collateral: Fen::ZERO,
            insurance_paid: [Fen::ZERO; 3],
            insurance_excess: Fen::ZERO,
            guarantee: Fen::ZERO,
            village_fund: Fen::ZERO,
            comp_fund: Fen::ZERO,
            shortfall: Fen::ZERO,
            bank_loss: Fen::ZERO,
            society_loss: Fen::ZERO,
        }
    }
}

impl Claim {
    pub fn insurance(&self) -> Fen {
        self.insurance_paid.iter().copied().sum()
    }
    /// What the layers account for; equals `exposure` after all of them.
    pub fn accounted(&self) -> Fen {
        self.collateral
            + self.insurance()
            + self.guarantee
            + self.village_fund
            + self.comp_fund
            + self.shortfall
            + self.bank_loss
            + self.society_loss
    }
}

/// What the year asked of one kind of fund (village funds or compensation accounts).
#[derive(Default, Debug)]
pub struct Asked {
    /// (fund, demand) for each fund with a demand this year, by fund.
    pub demand: Vec<(u32, Fen)>,
    /// Funds that could not pay (or just paid) everything asked of them.
    pub exhausted: Vec<u32>,
}

impl Asked {
    fn clear(&mut self) {
        self.demand.clear();
        self.exhausted.clear();
    }
}

/// Reusable buffers, so that settling a year allocates nothing once warm.
#[derive(Default, Debug)]
pub struct Scratch {
    groups: Grouping,
    /// What the village funds were asked this year.
    pub villages: Asked,
    /// What the compensation accounts were asked (the government's parts).
    pub accounts: Asked,
}

/// The claims a fund layer pays, grouped by fund, and the buffers of a
/// pro-rata split.
#[derive(Default, Debug)]
struct Grouping {
    /// `fund << 32 | claim`, by (fund, loan).
    order: Vec<u64>,
    weights: Vec<Fen>,
    keys: Vec<u32>,
    shares: Vec<Fen>,
    remainders: Remainders,
    /// (fund << 32 | loan, claim): sorting plain integers instead of
    /// comparing claims through their indices.
    sorted: Vec<(u64, u32)>,
    radix: Vec<u64>,
}

impl Grouping {
    /// Leaves in `order` the claims that `fund_of` gives a fund, by (fund, loan).
    fn sort_by(&mut self, claims: &[Claim], fund_of: impl Fn(&Claim) -> Option<u32>) {
        self.order.clear();
        if claims.is_sorted_by_key(|c| c.loan) {
            // The engine's case: claim order is loan order, so (fund, claim)
            // sorts as (fund, loan), in one integer per claim.
            for (i, c) in claims.iter().enumerate() {
                if let Some(f) = fund_of(c) {
                    self.order.push((f as u64) << 32 | i as u64);
                }
            }
            sort_by_group(&mut self.order, &mut self.radix);
            return;
        }
        self.sorted.clear();
        for (i, c) in claims.iter().enumerate() {
            if let Some(f) = fund_of(c) {
                self.sorted.push(((f as u64) << 32 | c.loan as u64, i as u32));
            }
        }
        self.sorted.sort_unstable();
        self.order.extend(self.sorted.iter().map(|&(k, i)| k >> 32 << 32 | i as u64));
    }
}

/// Sorts keys `group << 32 | index`, listed by increasing index, into
/// increasing order. A year's province claims are a thousand or more, so a
/// stable radix sort on the group's bytes (one pass below 256 groups, two
/// below 65,536, and so on) replaces a comparison sort; the order is the
/// same.
pub(crate) fn sort_by_group(keys: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    // Books list their loans village by village, so a year's claims in loan
    // order are often grouped already: one pass says so.
    if keys.is_sorted() {
        return;
    }
    if keys.len() < 256 {
        keys.sort_unstable();
        return;
    }
    let top = keys.iter().map(|&k| k >> 32).max().unwrap_or(0);
    let mut shift = 32;
    while shift < 64 && top >> (shift - 32) > 0 {
        let mut count = [0u32; 257];
        for &k in keys.iter() {
            count[((k >> shift) & 0xff) as usize + 1] += 1;
        }
        for d in 0..256 {
            count[d + 1] += count[d];
        }
        tmp.clear();
        tmp.resize(keys.len(), 0);
        for &k in keys.iter() {
            let d = ((k >> shift) & 0xff) as usize;
            tmp[count[d] as usize] = k;
            count[d] += 1;
        }
        std::mem::swap(keys, tmp);
        shift += 8;
    }
}

/// Layers 1-2 of one claim, collateral and insurance, which read the draws
/// only; the guarantee is zero until [`guarantee`] runs on the year's claims.
pub fn secure(c: &mut Claim) {
    c.guarantee = Fen::ZERO;
    collateral(c);
    insurance(c);
    c.to_funds = c.owed;
}

/// Layers 4-7 of one year's claims, after layers 1-3: the village funds, the
/// societies, the split and the compensation accounts, drawing the balances
/// down. What each fund was asked is left in `s`.
pub fn settle(
    claims: &mut [Claim],
    village_balance: &mut [Fen],
    account_balance: &mut [Fen],
    government_share_ppm: u32,
    s: &mut Scratch,
) {
    // Each fund layer writes only the claims it pays.
    for c in claims.iter_mut() {
        c.owed = c.to_funds;
        c.village_fund = Fen::ZERO;
        c.comp_fund = Fen::ZERO;
        c.shortfall = Fen::ZERO;
        c.bank_loss = Fen::ZERO;
        c.society_loss = Fen::ZERO;
    }
    village_fund(claims, village_balance, s);
    // These two act on each claim alone, so one pass serves both.
    for c in claims.iter_mut() {
        society(c);
        split(c, government_share_ppm);
    }
    compensation_account(claims, account_balance, s);
}

/// 3.8.1: the bank takes the recoverable collateral, at most the exposure.
fn collateral(c: &mut Claim) {
    c.collateral = c.collateral_value.min(c.exposure).max(Fen::ZERO);
    c.owed = c.exposure - c.collateral;
}

/// 3.8.2: each triggered claim in slot order pays what is still owed at
/// most; the household keeps the rest of it.
fn insurance(c: &mut Claim) {
    c.insurance_excess = Fen::ZERO;
    for k in 0..3 {
        let pay = c.claims[k].min(c.owed).max(Fen::ZERO);
        c.insurance_paid[k] = pay;
        c.insurance_excess += c.claims[k] - pay;
        c.owed -= pay;
    }
}

/// 3.8.3, for one year's claims after [`secure`]: each defaulted member's
/// group pays what it can of what the member still owes (3b). Who can pay
/// depends on who has defaulted, never on a fund, which is why this layer
/// runs with the draws. `can_pay(member, bound)` says whether a member can
/// still pay (the flag is set for a group formed for one loan); `groups`
/// keeps what members have paid through the trial.
pub fn guarantee(
    claims: &mut [Claim],
    book: &GuaranteeBook,
    can_pay: impl Fn(u32, bool) -> bool,
    groups: &mut guarantee::Ledger,
) {
    // Without groups nobody pays: the claims keep the zero `secure` gave them.
    if !book.is_active() {
        return;
    }
    let calls = claims.iter().map(|c| Call { loan: c.loan, group: book.group_of[c.loan as usize], owed: c.owed });
    let received = groups.call(book, calls, can_pay);
    for (c, &got) in claims.iter_mut().zip(received) {
        debug_assert!(got <= c.owed, "guarantee above what is owed, loan {}", c.loan);
        c.guarantee = got;
        c.owed -= got;
        c.to_funds = c.owed;
    }
}

/// 3.8.4: each village's fund pays its covered defaults.
fn village_fund(claims: &mut [Claim], balance: &mut [Fen], s: &mut Scratch) {
    s.villages.clear();
    pay_by_fund(
        claims,
        |c| (c.village_covered && c.owed > Fen::ZERO).then_some(c.village),
        balance,
        // docs/model.md 3.9: a fund is exhausted when the demand reaches its balance.
        |demand, balance| demand >= balance,
        |c, paid| {
            c.village_fund = paid;
            c.owed -= paid;
        },
        &mut s.groups,
        &mut s.villages,
    );
}

/// 3.8.5: what a society lent from its capital falls on that capital.
fn society(c: &mut Claim) {
    if c.society != NO_SOCIETY {
        c.society_loss = c.owed;
        c.owed = Fen::ZERO;
    }
}

/// 3.8.6, the split: what the government's part leaves owed is what the
/// loan's compensation account is asked for; the bank bears the rest.
fn split(c: &mut Claim, government_share_ppm: u32) {
    // Most defaults owe nothing by now (the village fund paid them), and a
    // split costs a division.
    if c.owed == Fen::ZERO {
        return;
    }
    if c.account != NO_ACCOUNT {
        let (gov, bank) = split_share(c.owed, government_share_ppm);
        c.owed = gov;
        c.bank_loss = bank;
    } else {
        c.bank_loss = c.owed;
        c.owed = Fen::ZERO;
    }
}

/// 3.8.6, the account: pays the government's parts; what it cannot pay is
/// the shortfall.
fn compensation_account(claims: &mut [Claim], balance: &mut [Fen], s: &mut Scratch) {
    s.accounts.clear();
    pay_by_fund(
        claims,
        |c| (c.account != NO_ACCOUNT && c.owed > Fen::ZERO).then_some(c.account),
        balance,
        // docs/model.md 3.9: an account is exhausted when the demand on it is
        // positive and reaches its balance.
        |demand, balance| demand > Fen::ZERO && demand >= balance,
        |c, paid| {
            c.comp_fund = paid;
            c.shortfall = c.owed - paid;
            c.owed = Fen::ZERO;
        },
        &mut s.groups,
        &mut s.accounts,
    );
}

/// A fund layer: the claims `fund_of` gives a fund, fund by fund, are paid
/// from the fund's balance all they owe when it covers their demand, else
/// the whole balance pro rata to what each owes (largest remainder, ties by
/// loan index, docs/model.md 4); `pay(claim, paid)` books a payment. Each
/// fund's demand goes to `asked`, and to its exhausted list when
/// `is_exhausted(demand, balance)`.
fn pay_by_fund(
    claims: &mut [Claim],
    fund_of: impl Fn(&Claim) -> Option<u32>,
    balance: &mut [Fen],
    is_exhausted: impl Fn(Fen, Fen) -> bool,
    pay: impl Fn(&mut Claim, Fen),
    g: &mut Grouping,
    asked: &mut Asked,
) {
    g.sort_by(claims, fund_of);
    let claim = |k: u64| k as u32 as usize;
    let mut a = 0;
    while a < g.order.len() {
        let fund = (g.order[a] >> 32) as u32;
        let mut b = a + 1;
        while b < g.order.len() && (g.order[b] >> 32) as u32 == fund {
            b += 1;
        }
        let group = &g.order[a..b];
        // What each claim owes, read once from the claims for the demand and
        // the split.
        g.weights.clear();
        g.weights.extend(group.iter().map(|&k| claims[claim(k)].owed));
        let demand: Fen = g.weights.iter().copied().sum();
        asked.demand.push((fund, demand));
        let bal = balance[fund as usize];
        if is_exhausted(demand, bal) {
            asked.exhausted.push(fund);
        }
        if demand <= bal {
            for (&k, &owed) in group.iter().zip(&g.weights) {
                pay(&mut claims[claim(k)], owed);
            }
            balance[fund as usize] = bal - demand;
        } else {
            g.keys.clear();
            g.keys.extend(group.iter().map(|&k| claims[claim(k)].loan));
            allocate_pro_rata_in(bal.max(Fen::ZERO), &g.weights, &g.keys, &mut g.shares, &mut g.remainders);
            for (j, &k) in group.iter().enumerate() {
                pay(&mut claims[claim(k)], g.shares[j]);
            }
            balance[fund as usize] = Fen::ZERO;
        }
        a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(loan: u32, village: u32, account: u32, exposure: i64) -> Claim {
        Claim { loan, village, account, village_covered: true, exposure: Fen(exposure), ..Default::default() }
    }

    #[test]
    fn radix_sort_by_group_equals_sort() {
        let mut tmp = Vec::new();
        // Groups under 256, under 65,536 and above; short and long lists.
        for (n, groups) in [(10u64, 300u64), (300, 7), (1000, 200), (1500, 17_600), (2000, 70_000), (3000, 1 << 31)] {
            let mut keys: Vec<u64> = (0..n).map(|i| (crate::rng::mix64(i * 31 + groups) % groups) << 32 | i).collect();
            let mut want = keys.clone();
            want.sort_unstable();
            sort_by_group(&mut keys, &mut tmp);
            assert_eq!(keys, want, "{n} keys in {groups} groups");
        }
    }

    #[test]
    fn every_layer_pays_in_order() {
        let mut c = claim(0, 0, 0, 100_000);
        c.collateral_value = Fen(10_000);
        c.claims = [Fen(20_000), Fen(0), Fen(5_000)];
        let mut cs = vec![c];
        let mut vb = vec![Fen(30_000)];
        let mut ab = vec![Fen(1_000_000)];
        secure(&mut cs[0]);
        settle(&mut cs, &mut vb, &mut ab, 600_000, &mut Scratch::default());
        let c = &cs[0];
        assert_eq!(c.collateral, Fen(10_000));
        assert_eq!(c.insurance_paid, [Fen(20_000), Fen(0), Fen(5_000)]);
        assert_eq!(c.village_fund, Fen(30_000));
        // 35,000 left: 21,000 to the fund, 14,000 to the bank.
        assert_eq!((c.comp_fund, c.shortfall, c.bank_loss), (Fen(21_000), Fen(0), Fen(14_000)));
        assert_eq!(c.accounted(), c.exposure);
        assert_eq!((vb[0], ab[0]), (Fen(0), Fen(979_000)));
    }
}
