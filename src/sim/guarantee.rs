//! Joint-guarantee groups (联保, docs/model.md 3b): the layer between insurance
//! and the village fund.
//!
//! When members of a group default in a year, the members still repaying
//! (not defaulted, loan not yet repaid) pay what their defaulted peers still
//! owe after collateral and insurance, up to each one's remaining capacity
//! (a share of its own principal, used up over the horizon):
//!
//! - the group's call is `P = min(D, C)`, with `D` the defaulters' owed and
//!   `C` the survivors' remaining capacity;
//! - survivors pay `P` pro rata to their remaining capacity, and the
//!   defaulters receive it pro rata to what they owe (largest remainder, ties
//!   by loan, so the result does not depend on the order of the claims);
//! - with everyone in default there is no survivor and nobody pays;
//! - a group formed for one loan (a society's bank loan and its guarantors)
//!   pays for that loan only: its members do not guarantee each other, and
//!   they stay bound after their own loans are repaid (in a peer group, a
//!   member whose loan is repaid has left the group).
//!
//! The call depends on the draws only (never on the funds): the waterfall's
//! guarantee layer ([`crate::sim::waterfall::guarantee`]) makes it once, when a
//! year is drawn, and every settlement of those draws starts after it.

use crate::model::guarantee::{GuaranteeBook, NO_GROUP, ONLY_NONE};
use crate::money::{Fen, Remainders, allocate_pro_rata_in};

/// A defaulted member's claim on its group: the loan and what it still owes
/// after collateral and insurance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub loan: u32,
    pub group: u32,
    pub owed: Fen,
}

/// Reusable buffers.
#[derive(Default, Debug)]
pub struct Scratch {
    calls: Vec<(Call, usize)>,
    /// The calls' sort: keys, the radix sort's buffer, the calls in order.
    order: Vec<u64>,
    radix: Vec<u64>,
    sorted: Vec<(Call, usize)>,
    survivors: Vec<u32>,
    weights: Vec<Fen>,
    keys: Vec<u32>,
    shares: Vec<Fen>,
    remainders: Remainders,
    /// Guarantors that paid in the last [`call_groups`], with what they paid.
    pub paid: Vec<(u32, Fen)>,
}

/// The groups through one trial: what each member has paid so far (its
/// capacity is used up over the horizon), and the year's buffers.
#[derive(Default, Debug)]
pub struct Ledger {
    /// Per loan, what it has paid as a guarantor; empty when the book has no groups.
    used: Vec<Fen>,
    /// Every member that has paid in the trial, so a new trial clears only them.
    payers: Vec<u32>,
    calls: Vec<Call>,
    received: Vec<Fen>,
    scratch: Scratch,
}

impl Ledger {
    pub fn new(book: &GuaranteeBook, loans: usize) -> Self {
        Ledger { used: if book.is_active() { vec![Fen::ZERO; loans] } else { Vec::new() }, ..Default::default() }
    }

    /// Back to the start of a trial.
    pub fn reset(&mut self) {
        for &i in &self.payers {
            self.used[i as usize] = Fen::ZERO;
        }
        self.payers.clear();
    }

    /// What loan `i` has paid for others so far in the trial (zero without groups).
    pub fn used(&self, i: usize) -> Fen {
        self.used.get(i).copied().unwrap_or(Fen::ZERO)
    }

    /// Settles one year's calls ([`call_groups`]); returns what each call receives.
    pub fn call(
        &mut self,
        book: &GuaranteeBook,
        calls: impl Iterator<Item = Call>,
        can_pay: impl Fn(u32, bool) -> bool,
    ) -> &[Fen] {
        self.calls.clear();
        self.calls.extend(calls);
        call_groups(book, &self.calls, can_pay, &mut self.used, &mut self.received, &mut self.scratch);
        self.payers.extend(self.scratch.paid.iter().map(|&(g, _)| g));
        &self.received
    }

    /// The guarantors that paid in the last [`Ledger::call`], with what they paid.
    pub fn paid(&self) -> &[(u32, Fen)] {
        &self.scratch.paid
    }
}

/// Settles one year's calls. `calls[k]` receives `received[k]`;
/// `is_survivor(loan, bound_after_repaying)` says whether a member can still
/// pay (the flag is set for a group formed for one loan); `used[loan]` is
/// what each member has paid so far in the trial (updated). Guarantors that
/// paid are listed in `s.paid`.
pub fn call_groups(
    book: &GuaranteeBook,
    calls: &[Call],
    is_survivor: impl Fn(u32, bool) -> bool,
    used: &mut [Fen],
    received: &mut Vec<Fen>,
    s: &mut Scratch,
) {
    received.clear();
    received.resize(calls.len(), Fen::ZERO);
    s.paid.clear();
    s.calls.clear();
    let called = |c: &Call| {
        c.group != NO_GROUP
            && c.owed > Fen::ZERO
            && book.only.get(c.group as usize).is_none_or(|&o| o == ONLY_NONE || o == c.loan)
    };
    s.calls.extend(calls.iter().enumerate().filter(|(_, c)| called(c)).map(|(k, c)| (*c, k)));
    if s.calls.is_sorted_by_key(|(c, _)| c.loan) {
        // The engine's case, calls in loan order: (group, place in the list)
        // sorts as (group, loan), one integer per call, by the waterfall's
        // radix sort.
        s.order.clear();
        s.order.extend(s.calls.iter().enumerate().map(|(j, (c, _))| (c.group as u64) << 32 | j as u64));
        crate::sim::waterfall::sort_by_group(&mut s.order, &mut s.radix);
        s.sorted.clear();
        s.sorted.extend(s.order.iter().map(|&k| s.calls[k as u32 as usize]));
        std::mem::swap(&mut s.calls, &mut s.sorted);
    } else {
        s.calls.sort_unstable_by_key(|(c, _)| (c.group, c.loan));
    }
    let mut a = 0;
    while a < s.calls.len() {
        let group = s.calls[a].0.group;
        let mut b = a;
        while b < s.calls.len() && s.calls[b].0.group == group {
            b += 1;
        }
        let demand: Fen = s.calls[a..b].iter().map(|(c, _)| c.owed).sum();
        s.survivors.clear();
        s.weights.clear();
        let bound = book.only.get(group as usize).is_some_and(|&o| o != ONLY_NONE);
        for &m in book.members_of(group) {
            let left = book.capacity[m as usize] - used[m as usize];
            if left > Fen::ZERO && is_survivor(m, bound) {
                s.survivors.push(m);
                s.weights.push(left);
            }
        }
        let capacity: Fen = s.weights.iter().copied().sum();
        let pay = demand.min(capacity);
        if pay > Fen::ZERO {
            // Survivors, pro rata to what each can still give.
            s.keys.clone_from(&s.survivors);
            allocate_pro_rata_in(pay, &s.weights, &s.keys, &mut s.shares, &mut s.remainders);
            for (k, &m) in s.survivors.iter().enumerate() {
                if s.shares[k] > Fen::ZERO {
                    used[m as usize] += s.shares[k];
                    s.paid.push((m, s.shares[k]));
                }
            }
            // Defaulters, pro rata to what each owes.
            s.weights.clear();
            s.keys.clear();
            for (c, _) in &s.calls[a..b] {
                s.weights.push(c.owed);
                s.keys.push(c.loan);
            }
            allocate_pro_rata_in(pay, &s.weights, &s.keys, &mut s.shares, &mut s.remainders);
            for (k, (_, at)) in s.calls[a..b].iter().enumerate() {
                received[*at] = s.shares[k];
            }
        }
        a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One group of loans 0..n with the given capacities.
    fn book(capacity: &[i64]) -> GuaranteeBook {
        let n = capacity.len() as u32;
        GuaranteeBook {
            group_of: vec![0; n as usize],
            start: vec![0, n],
            members: (0..n).collect(),
            capacity: capacity.iter().map(|&c| Fen(c)).collect(),
            only: vec![ONLY_NONE],
            uplift: 0.0,
        }
    }

    fn run(b: &GuaranteeBook, calls: &[Call], defaulted: &[u32], used: &mut [Fen]) -> (Vec<Fen>, Vec<(u32, Fen)>) {
        let mut got = Vec::new();
        let mut s = Scratch::default();
        call_groups(b, calls, |m, _| !defaulted.contains(&m), used, &mut got, &mut s);
        (got, s.paid)
    }

    #[test]
    fn calls_in_loan_order_settle_as_calls_in_any_order() {
        // 500 groups of 6 spread over 3,000 loans, so loan order is not
        // group order; 429 calls: in loan order they take the radix sort,
        // reversed the comparison sort.
        let n = 3_000u32;
        let group_of: Vec<u32> = (0..n).map(|i| i * 7_919 % 500).collect();
        let mut members: Vec<u32> = (0..n).collect();
        members.sort_by_key(|&i| (group_of[i as usize], i));
        let mut start = vec![0u32; 501];
        for &g in &group_of {
            start[g as usize + 1] += 1;
        }
        for g in 0..500 {
            start[g + 1] += start[g];
        }
        let b = GuaranteeBook {
            group_of: group_of.clone(),
            start,
            members,
            capacity: (0..n).map(|i| Fen(20_000 + i as i64 % 7 * 3_001)).collect(),
            only: vec![ONLY_NONE; 500],
            uplift: 0.0,
        };
        let calls: Vec<Call> = (0..n)
            .step_by(7)
            .map(|i| Call { loan: i, group: group_of[i as usize], owed: Fen(10_000 + i as i64 * 37 % 90_001) })
            .collect();
        let defaulted: Vec<u32> = calls.iter().map(|c| c.loan).collect();
        let mut used = vec![Fen::ZERO; n as usize];
        let (got, mut paid) = run(&b, &calls, &defaulted, &mut used);
        let reversed: Vec<Call> = calls.iter().rev().copied().collect();
        let mut used_rev = vec![Fen::ZERO; n as usize];
        let (mut got_rev, mut paid_rev) = run(&b, &reversed, &defaulted, &mut used_rev);
        got_rev.reverse();
        assert_eq!(got, got_rev);
        assert_eq!(used, used_rev);
        paid.sort_unstable();
        paid_rev.sort_unstable();
        assert_eq!(paid, paid_rev);
        assert!(got.iter().filter(|g| g.0 > 0).count() > 300, "most calls are paid");
    }

    #[test]
    fn survivors_pay_in_full_pro_rata_to_capacity() {
        let b = book(&[10_000, 30_000, 60_000, 50_000]);
        let calls = [Call { loan: 3, group: 0, owed: Fen(20_000) }];
        let mut used = vec![Fen::ZERO; 4];
        let (got, paid) = run(&b, &calls, &[3], &mut used);
        assert_eq!(got, vec![Fen(20_000)]);
        // 20,000 over capacities 10k : 30k : 60k.
        assert_eq!(paid, vec![(0, Fen(2_000)), (1, Fen(6_000)), (2, Fen(12_000))]);
        assert_eq!(used, vec![Fen(2_000), Fen(6_000), Fen(12_000), Fen::ZERO]);
    }

    #[test]
    fn capacity_is_used_up_over_the_years() {
        let b = book(&[10_000, 10_000, 10_000]);
        let mut used = vec![Fen::ZERO; 3];
        // Year 1: loan 2 owes 15,000; both survivors pay 7,500.
        let (got, _) = run(&b, &[Call { loan: 2, group: 0, owed: Fen(15_000) }], &[2], &mut used);
        assert_eq!(got, vec![Fen(15_000)]);
        assert_eq!(used[..2], [Fen(7_500), Fen(7_500)]);
        // Year 2: loan 1 owes 9,000; loan 0 has 2,500 left, and pays it all.
        let (got, paid) = run(&b, &[Call { loan: 1, group: 0, owed: Fen(9_000) }], &[1, 2], &mut used);
        assert_eq!(got, vec![Fen(2_500)]);
        assert_eq!(paid, vec![(0, Fen(2_500))]);
        assert_eq!(used[0], Fen(10_000));
        // Year 3: loan 0 defaults; nobody is left to pay.
        let (got, paid) = run(&b, &[Call { loan: 0, group: 0, owed: Fen(5_000) }], &[0, 1, 2], &mut used);
        assert_eq!((got, paid), (vec![Fen::ZERO], vec![]));
    }

    #[test]
    fn short_capacity_is_shared_pro_rata_to_what_is_owed() {
        // Two defaulters owe 1 and 2 (thousand); survivors can give 10.01 yuan in all.
        let b = book(&[500, 501, 100_000, 200_000]);
        let calls = [Call { loan: 2, group: 0, owed: Fen(100_000) }, Call { loan: 3, group: 0, owed: Fen(200_000) }];
        let mut used = vec![Fen::ZERO; 4];
        let (got, paid) = run(&b, &calls, &[2, 3], &mut used);
        // 1,001 fen over 1 : 2 = 333.67 : 667.33: the larger remainder (loan 2's .67)
        // takes the odd fen.
        assert_eq!(got, vec![Fen(334), Fen(667)]);
        assert_eq!(paid, vec![(0, Fen(500)), (1, Fen(501))]);
        assert_eq!(got.iter().copied().sum::<Fen>(), Fen(1_001));
    }

    #[test]
    fn a_group_where_everyone_defaults_pays_nothing() {
        let b = book(&[10_000, 10_000]);
        let calls = [Call { loan: 0, group: 0, owed: Fen(8_000) }, Call { loan: 1, group: 0, owed: Fen(9_000) }];
        let mut used = vec![Fen::ZERO; 2];
        let (got, paid) = run(&b, &calls, &[0, 1], &mut used);
        assert_eq!(got, vec![Fen::ZERO, Fen::ZERO]);
        assert!(paid.is_empty());
        assert_eq!(used, vec![Fen::ZERO; 2]);
    }

    #[test]
    fn a_group_for_one_loan_pays_for_that_loan_only() {
        let mut b = book(&[0, 10_000, 10_000]);
        b.only = vec![0];
        let calls = [Call { loan: 0, group: 0, owed: Fen(8_000) }, Call { loan: 1, group: 0, owed: Fen(5_000) }];
        let mut used = vec![Fen::ZERO; 3];
        let (got, paid) = run(&b, &calls, &[0, 1], &mut used);
        // Loan 1 is a guarantor, not guaranteed: only loan 0 is paid, by loan 2 alone.
        assert_eq!(got, vec![Fen(8_000), Fen::ZERO]);
        assert_eq!(paid, vec![(2, Fen(8_000))]);
    }

    #[test]
    fn loans_outside_groups_are_not_called() {
        let b = book(&[10_000, 10_000]);
        let calls = [Call { loan: 7, group: NO_GROUP, owed: Fen(8_000) }];
        let mut used = vec![Fen::ZERO; 2];
        let (got, _) = run(&b, &calls, &[], &mut used);
        assert_eq!(got, vec![Fen::ZERO]);
    }
}
