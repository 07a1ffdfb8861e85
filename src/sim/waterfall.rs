//! The waterfall (docs/model.md 3.8, 3b): one year's defaults routed through the
//! layers, in the policy's order.
//!
//! For each defaulted loan, with `owed` what is still unpaid after a layer:
//!
//! 1. **Collateral**: `collateral = min(recoverable value, exposure)`, where the
//!    recoverable value is the herd or forest value after mortality and the
//!    liquidation haircut (computed by the caller).
//! 2. **Insurance**: each triggered claim (agricultural, accident/illness,
//!    credit, in that order) pays `min(claim, owed)`; the rest of the claim is
//!    `insurance_excess`, paid to the household and not a loss.
//! 3. **Guarantee**: what the loan's joint-guarantee group pays
//!    ([`crate::sim::guarantee`]); it depends on the draws only, so it comes in
//!    with the claim, at most `owed`.
//! 4. **Village fund**: a village's covered defaults of the year ask
//!    `D = sum(owed)`; the fund pays all of it when `D <= balance`, else its
//!    whole balance pro rata to `owed` (largest remainder, ties by loan).
//! 5. **Society**: a mutual-aid society's loan leaves the rest to the
//!    society's capital (`society_loss`); it never reaches a bank.
//! 6. **Split**: for covered loans the remainder `R` is split into the
//!    government's `round(R * share)` and the bank's `R - that`; the
//!    government's part is paid from the lending bank's compensation account
//!    in the county, pro rata when the account is short; the unpaid part is
//!    `shortfall`. For uncovered loans all of `R` is `bank_loss`.
//!
//! Invariant, per claim and so per trial: `exposure = collateral + insurance
//! + guarantee + village_fund + comp_fund + shortfall + bank_loss + society_loss`.

use crate::model::NO_ACCOUNT;
use crate::model::society::NO_SOCIETY;
use crate::money::{Fen, Remainders, allocate_pro_rata_in, split_share};

/// Insurance claim slots, in the order they pay.
pub const AGRICULTURAL: usize = 0;
pub const ACCIDENT: usize = 1;
pub const CREDIT: usize = 2;

/// One defaulted loan going through the waterfall.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The loan's index: its identity and the tie-break of pro-rata splits.
    pub loan: u32,
    pub village: u32,
    /// Compensation account, or [`NO_ACCOUNT`] when the fund does not cover the loan.
    pub account: u32,
    pub village_covered: bool,
    pub exposure: Fen,
    /// Recoverable collateral value (after mortality and haircut).
    pub collateral_value: Fen,
    /// Insurance claims triggered this year, by slot.
    pub claims: [Fen; 3],
    /// What the loan's guarantee group pays (set with the draws, at most what
    /// is owed after collateral and insurance).
    pub guarantee: Fen,
    /// The mutual-aid society that lent the loan, or [`NO_SOCIETY`].
    pub society: u32,
    // Results.
    pub collateral: Fen,
    pub insurance_paid: [Fen; 3],
    pub insurance_excess: Fen,
    pub village_fund: Fen,
    pub comp_fund: Fen,
    pub shortfall: Fen,
    pub bank_loss: Fen,
    pub society_loss: Fen,
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
            guarantee: Fen::ZERO,
            society: NO_SOCIETY,
            collateral: Fen::ZERO,
            insurance_paid: [Fen::ZERO; 3],
            insurance_excess: Fen::ZERO,
            village_fund: Fen::ZERO,
            comp_fund: Fen::ZERO,
            shortfall: Fen::ZERO,
            bank_loss: Fen::ZERO,
            society_loss: Fen::ZERO,
        }
    }
}

impl Claim {
    /// Layers 1-2 (collateral, insurance); returns what is still owed.
    pub fn secure(&mut self) -> Fen {
        self.collateral = self.collateral_value.min(self.exposure).max(Fen::ZERO);
        let mut owed = self.exposure - self.collateral;
        self.insurance_excess = Fen::ZERO;
        for k in 0..3 {
            let pay = self.claims[k].min(owed).max(Fen::ZERO);
            self.insurance_paid[k] = pay;
            self.insurance_excess += self.claims[k] - pay;
            owed -= pay;
        }
        owed
    }
    pub fn insurance(&self) -> Fen {
        self.insurance_paid.iter().copied().sum()
    }
    /// What the layers account for; equals `exposure` after [`settle`].
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

/// Reusable buffers, so that settling a year allocates nothing once warm.
#[derive(Default, Debug)]
pub struct Scratch {
    order: Vec<u32>,
    weights: Vec<Fen>,
    keys: Vec<u32>,
    shares: Vec<Fen>,
    remainders: Remainders,
    gov: Vec<Fen>,
    /// Villages whose fund could not pay (or just paid) everything asked of it.
    pub exhausted_villages: Vec<u32>,
    /// Accounts that could not pay (or just paid) everything asked of them.
    pub exhausted_accounts: Vec<u32>,
    /// What each village fund was asked to pay this year (villages with a demand).
    pub village_demand: Vec<(u32, Fen)>,
    /// What each compensation account was asked to pay (the government's share).
    pub account_demand: Vec<(u32, Fen)>,
    /// (group << 32 | loan, claim): sorting plain integers instead of
    /// comparing claims through their indices.
    sorted: Vec<(u64, u32)>,
    keys64: Vec<u64>,
    radix: Vec<u64>,
}

impl Scratch {
    /// Leaves in `order` the claims that `group` gives a group, by (group, loan).
    fn sort_by(&mut self, claims: &[Claim], group: impl Fn(&Claim) -> Option<u32>) {
        self.order.clear();
        if claims.is_sorted_by_key(|c| c.loan) {
            // The engine's case: claim order is loan order, so (group, claim)
            // sorts as (group, loan), in one integer per claim.
            self.keys64.clear();
            for (i, c) in claims.iter().enumerate() {
                if let Some(g) = group(c) {
                    self.keys64.push((g as u64) << 32 | i as u64);
                }
            }
            sort_by_group(&mut self.keys64, &mut self.radix);
            self.order.extend(self.keys64.iter().map(|&k| k as u32));
            return;
        }
        self.sorted.clear();
        for (i, c) in claims.iter().enumerate() {
            if let Some(g) = group(c) {
                self.sorted.push(((g as u64) << 32 | c.loan as u64, i as u32));
            }
        }
        self.sorted.sort_unstable();
        self.order.extend(self.sorted.iter().map(|&(_, i)| i));
    }
}

/// Sorts keys `group << 32 | index`, listed by increasing index, into
/// increasing order. A year's province claims are a thousand or more, so a
/// stable radix sort on the group's bytes (one pass below 256 groups, two
/// below 65,536) replaces a comparison sort; the order is the same.
fn sort_by_group(keys: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    let top = keys.iter().map(|&k| k >> 32).max().unwrap_or(0);
    if keys.len() < 256 || top >= 1 << 16 {
        keys.sort_unstable();
        return;
    }
    let mut shift = 32;
    while shift < 48 && top >> (shift - 32) > 0 {
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

/// Settles one year's claims against the fund balances, which it draws down.
pub fn settle(
    claims: &mut [Claim],
    village_balance: &mut [Fen],
    account_balance: &mut [Fen],
    government_share_ppm: u32,
    s: &mut Scratch,
) {
    s.exhausted_villages.clear();
    s.exhausted_accounts.clear();
    s.village_demand.clear();
    s.account_demand.clear();
    // 1-3: collateral, insurance and the guarantee, loan by loan.
    for c in claims.iter_mut() {
        let owed = c.secure();
        debug_assert!(c.guarantee <= owed, "guarantee above what is owed, loan {}", c.loan);
        // Stash what is still owed in bank_loss until the split decides it.
        c.bank_loss = owed - c.guarantee;
        c.village_fund = Fen::ZERO;
        c.comp_fund = Fen::ZERO;
        c.shortfall = Fen::ZERO;
        c.society_loss = Fen::ZERO;
    }

    // 4: village funds, village by village.
    s.sort_by(claims, |c| (c.village_covered && c.bank_loss > Fen::ZERO).then_some(c.village));
    let mut g = 0;
    while g < s.order.len() {
        let v = claims[s.order[g] as usize].village;
        let mut e = g;
        while e < s.order.len() && claims[s.order[e] as usize].village == v {
            e += 1;
        }
        let group = &s.order[g..e];
        let demand: Fen = group.iter().map(|&i| claims[i as usize].bank_loss).sum();
        s.village_demand.push((v, demand));
        let bal = village_balance[v as usize];
        if demand >= bal {
            s.exhausted_villages.push(v);
        }
        if demand <= bal {
            for &i in group {
                let c = &mut claims[i as usize];
                c.village_fund = c.bank_loss;
                c.bank_loss = Fen::ZERO;
            }
            village_balance[v as usize] = bal - demand;
        } else {
            s.weights.clear();
            s.keys.clear();
            for &i in group {
                s.weights.push(claims[i as usize].bank_loss);
                s.keys.push(claims[i as usize].loan);
            }
            allocate_pro_rata_in(bal.max(Fen::ZERO), &s.weights, &s.keys, &mut s.shares, &mut s.remainders);
            for (k, &i) in group.iter().enumerate() {
                let c = &mut claims[i as usize];
                c.village_fund = s.shares[k];
                c.bank_loss -= s.shares[k];
            }
            village_balance[v as usize] = Fen::ZERO;
        }
        g = e;
    }

    // 5: a society's loans leave the rest to its capital.
    for c in claims.iter_mut().filter(|c| c.society != NO_SOCIETY) {
        c.society_loss = c.bank_loss;
        c.bank_loss = Fen::ZERO;
    }

    // 6: the split, and the compensation accounts.
    s.sort_by(claims, |c| (c.account != NO_ACCOUNT && c.bank_loss > Fen::ZERO).then_some(c.account));
    let mut g = 0;
    while g < s.order.len() {
        let a = claims[s.order[g] as usize].account;
        let mut e = g;
        while e < s.order.len() && claims[s.order[e] as usize].account == a {
            e += 1;
        }
        let group = &s.order[g..e];
        s.gov.clear();
        for &i in group {
            let c = &mut claims[i as usize];
            let (gov, bank) = split_share(c.bank_loss, government_share_ppm);
            c.bank_loss = bank;
            s.gov.push(gov);
        }
        let demand: Fen = s.gov.iter().copied().sum();
        s.account_demand.push((a, demand));
        let bal = account_balance[a as usize];
        if demand > Fen::ZERO && demand >= bal {
            s.exhausted_accounts.push(a);
        }
        if demand <= bal {
            for (k, &i) in group.iter().enumerate() {
                claims[i as usize].comp_fund = s.gov[k];
            }
            account_balance[a as usize] = bal - demand;
        } else {
            s.keys.clear();
            s.keys.extend(group.iter().map(|&i| claims[i as usize].loan));
            allocate_pro_rata_in(bal.max(Fen::ZERO), &s.gov, &s.keys, &mut s.shares, &mut s.remainders);
            for (k, &i) in group.iter().enumerate() {
                let c = &mut claims[i as usize];
                c.comp_fund = s.shares[k];
                c.shortfall = s.gov[k] - s.shares[k];
            }
            account_balance[a as usize] = Fen::ZERO;
        }
        g = e;
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
        // Groups under 256, under 65,536 and above (the fallback); short and long lists.
        for (n, groups) in [(10u64, 300u64), (300, 7), (1000, 200), (1500, 17_600), (2000, 70_000)] {
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
