//! What a default triggers before the funds pay (docs/model.md 3.8.1-3.8.2): the
//! recoverable value of the collateral and the insurance claims. Pure
//! functions of the loan, this year's damage and the borrower's shocks, so
//! each formula is checked by hand in the tests below.

use crate::model::portfolio::CollateralKind;
use crate::model::{AtDefault, Model};
use crate::money::{Fen, to_ppm};
use crate::sim::waterfall::{ACCIDENT, AGRICULTURAL, CREDIT};

/// Shock bits of a borrower in a year.
pub const SHOCK_ACCIDENT: u8 = 1;
pub const SHOCK_ILLNESS: u8 = 2;

/// The scheme's terms that price collateral and claims.
#[derive(Clone, Copy, Debug)]
pub struct Terms {
    pub insurance: bool,
    pub agri_deductible: f64,
    pub credit_share_ppm: u32,
    pub accident_benefit: Fen,
    pub illness_benefit: Fen,
    pub livestock_keep_ppm: u32,
    pub forest_keep_ppm: u32,
}

impl Terms {
    pub fn of(m: &Model) -> Terms {
        let s = &m.scenario;
        let ins = &s.insurance;
        Terms {
            insurance: ins.enabled,
            agri_deductible: ins.agricultural.deductible,
            credit_share_ppm: to_ppm(ins.credit.share),
            accident_benefit: ins.accident.benefit.fen(),
            illness_benefit: ins.accident.illness_benefit.fen(),
            livestock_keep_ppm: to_ppm(1.0 - s.collateral.livestock_haircut),
            forest_keep_ppm: to_ppm(1.0 - s.collateral.forest_haircut),
        }
    }

    /// Recoverable collateral: a pledged herd is worth its value at origination
    /// times the share of the herd still alive (rounded down to the fen), less
    /// the liquidation haircut; forest rights, their value less the haircut.
    /// The waterfall caps the recovery at the exposure.
    pub fn collateral(&self, kind: CollateralKind, value: Fen, herd_survival: f64) -> Fen {
        match kind {
            CollateralKind::None => Fen::ZERO,
            CollateralKind::LivestockPledge => {
                Fen((value.0 as f64 * herd_survival).floor() as i64).mul_ppm(self.livestock_keep_ppm)
            }
            CollateralKind::ForestMortgage => value.mul_ppm(self.forest_keep_ppm),
        }
    }

    /// Claims triggered this year, by slot: agricultural `sum_insured *
    /// max(D - deductible, 0)` (rounded to the fen), the accident benefit
    /// for death or disability and the illness benefit, credit insurance
    /// `share * exposure`. The waterfall pays them in that order, each up to
    /// what is still owed.
    pub fn insurance(&self, loan: &AtDefault, damage: f64, shock: u8, exposure: Fen) -> [Fen; 3] {
        let mut claims = [Fen::ZERO; 3];
        if !self.insurance {
            return claims;
        }
        let si = loan.agri_sum_insured;
        if si.0 > 0 && damage > self.agri_deductible {
            claims[AGRICULTURAL] = Fen((si.0 as f64 * (damage - self.agri_deductible)).round() as i64);
        }
        if loan.accident_insured {
            if shock & SHOCK_ACCIDENT != 0 {
                claims[ACCIDENT] += self.accident_benefit;
            }
            if shock & SHOCK_ILLNESS != 0 {
                claims[ACCIDENT] += self.illness_benefit;
            }
        }
        if loan.credit_insured {
            claims[CREDIT] = exposure.mul_ppm(self.credit_share_ppm);
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            insurance: true,
            agri_deductible: 0.1,
            credit_share_ppm: 500_000,
            accident_benefit: Fen::from_yuan_int(31_000),
            illness_benefit: Fen::from_yuan_int(10_000),
            livestock_keep_ppm: 700_000,
            forest_keep_ppm: 600_000,
        }
    }

    fn one_loan(sum_insured: i64, accident: bool, credit: bool) -> AtDefault {
        AtDefault {
            agri_sum_insured: Fen(sum_insured),
            accident_insured: accident,
            credit_insured: credit,
            ..Default::default()
        }
    }

    #[test]
    fn agricultural_indemnity_by_hand() {
        // 40,000 yuan insured, damage 0.35, deductible 0.1: 40,000 x 0.25 = 10,000 yuan.
        let l = one_loan(4_000_000, false, false);
        let c = terms().insurance(&l, 0.35, 0, Fen(4_174_000));
        assert_eq!(c, [Fen(1_000_000), Fen(0), Fen(0)]);
        // Below the deductible nothing is paid.
        assert_eq!(terms().insurance(&l, 0.1, 0, Fen(4_174_000))[AGRICULTURAL], Fen(0));
        // 12,345.67 insured at D - ded = 0.123: 1,518.5174 yuan rounds to 1,518.52.
        let l = one_loan(1_234_567, false, false);
        assert_eq!(terms().insurance(&l, 0.223, 0, Fen(1))[AGRICULTURAL], Fen(151_852));
    }

    #[test]
    fn accident_and_illness_benefits_and_credit_cover() {
        let l = one_loan(0, true, true);
        let c = terms().insurance(&l, 0.0, SHOCK_ACCIDENT | SHOCK_ILLNESS, Fen(4_500_001));
        assert_eq!(c[ACCIDENT], Fen::from_yuan_int(41_000));
        // Half of 45,000.01 yuan: 22,500.005 rounds half up to 22,500.01.
        assert_eq!(c[CREDIT], Fen(2_250_001));
        let mut t = terms();
        t.insurance = false;
        assert_eq!(t.insurance(&l, 0.9, SHOCK_ACCIDENT, Fen(100)), [Fen(0); 3]);
    }

    #[test]
    fn collateral_after_mortality_and_haircut() {
        let t = terms();
        // A herd worth 100,000 yuan that lost 30 %: 70,000, less a 30 % haircut: 49,000.
        assert_eq!(t.collateral(CollateralKind::LivestockPledge, Fen(10_000_000), 0.7), Fen(4_900_000));
        assert_eq!(t.collateral(CollateralKind::ForestMortgage, Fen(10_000_000), 0.0), Fen(6_000_000));
        assert_eq!(t.collateral(CollateralKind::None, Fen(10_000_000), 1.0), Fen(0));
    }
}
