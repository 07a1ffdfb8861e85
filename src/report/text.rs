//! The readable tables printed on stdout.

use std::fmt::Write;

use crate::analysis::summary::{AccountSummary, Prob, Summary};
use crate::model::Model;
use crate::money::Fen;
use crate::report::format::{group, pct, pct_interval, ratio};

/// A throughput like `1.52e9`.
pub fn sci(x: f64) -> String {
    if x <= 0.0 || !x.is_finite() {
        return "0".into();
    }
    let e = x.log10().floor() as i32;
    format!("{:.2}e{}", x / 10f64.powi(e), e)
}

/// What `riskshare validate` prints: the portfolio's totals and the fund sizes.
pub fn portfolio(m: &Model) -> String {
    let mut o = String::new();
    let l = &m.loans;
    let total = m.total_principal();
    let _ = writeln!(
        o,
        "portfolio: {} loans, CNY {} in {} villages of {} county(ies); horizon {} years",
        group(l.n as f64, 0),
        group(total.to_yuan_f64(), 0),
        group(m.villages.len() as f64, 0),
        m.counties.len(),
        m.horizon
    );
    let mut by = |title: &str, names: &[String], key: &dyn Fn(usize) -> usize| {
        let mut count = vec![0usize; names.len()];
        let mut sum = vec![Fen::ZERO; names.len()];
        for i in 0..l.n {
            count[key(i)] += 1;
            sum[key(i)] += l.principal[i];
        }
        let _ = writeln!(o, "\n{:<20} {:>8} {:>18} {:>7}", format!("by {title}"), "loans", "principal (CNY)", "share");
        for (k, name) in names.iter().enumerate() {
            if count[k] > 0 {
                let _ = writeln!(
                    o,
                    "  {name:<18} {:>8} {:>18} {:>7}",
                    group(count[k] as f64, 0),
                    group(sum[k].to_yuan_f64(), 0),
                    pct(sum[k].0 as f64 / total.0.max(1) as f64)
                );
            }
        }
    };
    by("bank", &m.banks, &|i| l.bank[i] as usize);
    by("product", &m.products, &|i| l.product[i] as usize);
    by("industry", &m.industries, &|i| l.industry[i] as usize);
    by("grade", &m.grades, &|i| l.grade[i] as usize);
    let _ = writeln!(
        o,
        "\n{:<22} {:>22} {:>16} {:>8}",
        "compensation accounts", "covered loans (CNY)", "deposit (CNY)", "ratio"
    );
    if m.accounts.is_empty() {
        let _ = writeln!(o, "  (none: the compensation fund is off or covers no loan)");
    }
    for a in &m.accounts {
        let fund_ratio =
            if a.deposit.0 > 0 { ratio(a.covered_principal.0 as f64 / a.deposit.0 as f64) } else { "no fund".into() };
        let _ = writeln!(
            o,
            "  {:<20} {:>22} {:>16} {:>8}{}",
            format!("{} / {}", m.banks[a.bank as usize], m.counties[a.county as usize]),
            group(a.covered_principal.to_yuan_f64(), 0),
            group(a.deposit.to_yuan_f64(), 0),
            fund_ratio,
            if a.explicit { "  (explicit deposit)" } else { "" }
        );
    }
    let vf: Fen = m.village_fund_initial.iter().copied().sum();
    let funded = m.village_fund_initial.iter().filter(|f| f.0 > 0).count();
    let _ = writeln!(
        o,
        "\nvillage funds: CNY {} in {} village(s){}",
        group(vf.to_yuan_f64(), 0),
        funded,
        if m.village_fund_enabled { "" } else { " (off)" }
    );
    let h = &m.hazards;
    let _ = writeln!(
        o,
        "hazards: {} peril(s), {} disease(s), {} shock type(s), {} hazard region(s)",
        h.perils.len(),
        h.diseases.len(),
        h.shocks.len(),
        h.regions.len()
    );
    mechanisms(m, &mut o);
    o
}

/// The seed's other mechanisms in the book (docs/model.md 3b), and the scorecard's grade mix.
fn mechanisms(m: &Model, o: &mut String) {
    let g = &m.guarantee;
    if g.is_active() {
        let members = g.members.len();
        let _ = writeln!(
            o,
            "joint guarantees: {} group(s), {} members (average {:.1}), capacity CNY {}{}",
            group(g.groups() as f64, 0),
            group(members as f64, 0),
            members as f64 / g.groups() as f64,
            group(g.capacity.iter().copied().sum::<Fen>().to_yuan_f64(), 0),
            if g.uplift > 0.0 { format!(", uplift {}", g.uplift) } else { String::new() }
        );
    }
    let so = &m.societies;
    if !so.is_empty() {
        let lent = so.lender_of.iter().filter(|&&x| x != crate::model::society::NO_SOCIETY).count();
        let bank_loans = so.bank_loan.iter().filter(|&&x| x != crate::model::society::NO_LOAN).count();
        let _ = writeln!(
            o,
            "mutual-aid societies: {} with CNY {} of capital, {} loan(s) lent from it, {} bank loan(s) to societies",
            group(so.len() as f64, 0),
            group(so.total_capital().to_yuan_f64(), 0),
            group(lent as f64, 0),
            bank_loans
        );
    }
    let lk = &m.linkage;
    if lk.is_active() {
        let firms = (0..m.loans.n).filter(|&i| !lk.of(i).is_empty()).count();
        let distinct: std::collections::BTreeSet<u32> = lk.linked.iter().copied().collect();
        let _ = writeln!(
            o,
            "benefit linkage: {} firm/cooperative loan(s) carry {} links to {} household loan(s); damage {}",
            group(firms as f64, 0),
            group(lk.linked.len() as f64, 0),
            group(distinct.len() as f64, 0),
            lk.damage
        );
    }
    for mix in &m.grade_mix {
        let cohort = &m.scenario.portfolio.cohorts[mix.cohort];
        let granted: u32 = mix.granted.iter().map(|x| x.1).sum();
        let _ = writeln!(
            o,
            "\nscorecard grades, cohort {}: {} rated, {} granted ({})",
            cohort.name,
            group(mix.rated as f64, 0),
            group(granted as f64, 0),
            pct(granted as f64 / mix.rated.max(1) as f64)
        );
        let _ = writeln!(o, "  {:<8} {:>8} {:>8} {:>18}", "grade", "loans", "share", "principal (CNY)");
        for (grade, k, principal) in &mix.granted {
            let _ = writeln!(
                o,
                "  {grade:<8} {:>8} {:>8} {:>18}",
                group(*k as f64, 0),
                pct(*k as f64 / mix.rated.max(1) as f64),
                group(principal.to_yuan_f64(), 0)
            );
        }
        let refused = mix.rated - granted;
        let _ = writeln!(
            o,
            "  {:<8} {:>8} {:>8}",
            "refused",
            group(refused as f64, 0),
            pct(refused as f64 / mix.rated.max(1) as f64)
        );
    }
}

/// The table printed at the end of a run.
pub fn run_table(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} trials x {} years, seed {} (riskshare {})",
        s.scenario,
        group(s.trials as f64, 0),
        s.horizon_years,
        s.seed,
        s.engine_version
    );
    let p = &s.portfolio;
    let _ = writeln!(
        o,
        "portfolio: {} loans, CNY {}; compensation deposits CNY {}; village funds CNY {}\n",
        group(p.loans as f64, 0),
        group(p.principal, 0),
        group(p.comp_deposits, 0),
        group(p.village_funds, 0)
    );
    let _ =
        writeln!(o, "{:<22} {:>16} {:>16} {:>16}", "over the horizon", "mean (CNY)", "99 % (CNY)", "TVaR 99 % (CNY)");
    let rows = [
        ("exposure at default", "exposure"),
        ("  collateral", "collateral"),
        ("  insurance", "insurance"),
        ("  guarantee groups", "guarantee"),
        ("  village funds", "village_fund"),
        ("  compensation fund", "comp_fund"),
        ("  shortfall", "shortfall"),
        ("  bank's share", "bank_loss"),
        ("  societies' capital", "society_loss"),
        ("bank's total loss", "bank_total"),
        ("interest subsidy", "interest_subsidy"),
        ("fiscal cost", "fiscal_cost"),
    ];
    // Layers of mechanisms the scenario does not use stay out of the table.
    let optional = ["guarantee", "society_loss"];
    for (label, key) in rows {
        if let Some(st) = s.layers.get(key) {
            if optional.contains(&key) && st.max == 0.0 {
                continue;
            }
            let _ = writeln!(
                o,
                "{label:<22} {:>16} {:>16} {:>16}",
                group(st.mean, 0),
                group(st.p99, 0),
                group(st.tvar99, 0)
            );
        }
    }
    let a = &s.adequacy;
    let _ = writeln!(o, "\ncompensation fund exhausted (any account): {}", with_ci(&a.comp_fund_exhausted));
    // A province has hundreds of accounts: the table names those closest to
    // running dry, and says where the rest are.
    let shown = worst_accounts(&a.accounts, MAX_ACCOUNT_LINES);
    if shown.len() < a.accounts.len() {
        let _ = writeln!(
            o,
            "  the {} of {} accounts most likely to run dry (then by expected draw):",
            shown.len(),
            group(a.accounts.len() as f64, 0)
        );
    }
    let names: Vec<String> = shown.iter().map(|acc| format!("{} / {}", acc.bank, acc.county)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(18);
    for (acc, name) in shown.iter().zip(&names) {
        let fund_ratio = acc.deposit_ratio.map_or_else(|| "no fund".into(), ratio);
        let _ = writeln!(
            o,
            "  {name:<width$} deposit CNY {:>12} ({fund_ratio}), exhausted {}",
            group(acc.deposit, 0),
            with_ci(&acc.exhausted)
        );
    }
    if shown.len() < a.accounts.len() {
        let _ = writeln!(
            o,
            "  ... and {} more accounts: every account is in summary.json (adequacy.accounts) and report.html",
            group((a.accounts.len() - shown.len()) as f64, 0)
        );
    }
    let _ = writeln!(
        o,
        "village funds exhausted: {} of funds on average; at least one in {} of trials {}",
        pct(a.village_funds_exhausted_share),
        pct(a.any_village_fund_exhausted.p),
        ci(&a.any_village_fund_exhausted)
    );
    if let Some(so) = &s.societies {
        let _ = writeln!(
            o,
            "mutual-aid societies: {} of {} impaired on average; at least one in {} of futures {}",
            pct(so.impaired_share),
            group(so.count as f64, 0),
            pct(so.any_impaired.p),
            ci(&so.any_impaired)
        );
    }
    if s.causes.linkage > 0.0 {
        let _ = writeln!(o, "exposure through benefit linkage: {} of the exposure at default", pct(s.causes.linkage));
    }
    let f = &s.fiscal;
    let l = &f.leverage_parts;
    let _ = writeln!(
        o,
        "fiscal leverage: {} yuan of loans per budget yuan (CNY {} of loans / CNY {} of budget money)\n  \
         budget money: deposits {}, village funds {}, society capital {}, interest subsidy {}, top-ups {}, \
         shortfall {}",
        f.leverage.map_or("unbounded".into(), |x| group(x, 2)),
        group(l.loans, 0),
        group(l.budget, 0),
        group(l.deposits, 0),
        group(l.village_funds, 0),
        group(l.society_capital, 0),
        group(l.interest_subsidy, 0),
        group(l.top_ups, 0),
        group(l.shortfall, 0)
    );
    o
}

/// Most accounts the run table lists one by one.
pub const MAX_ACCOUNT_LINES: usize = 10;

/// A probability's 95 % interval, "(95 % CI 0.17 % - 0.72 %)", its ends with
/// the digits that tell them apart.
fn ci(p: &Prob) -> String {
    let (lo, hi) = pct_interval(p.lo, p.hi);
    format!("(95 % CI {lo} - {hi})")
}

/// A probability with its 95 % interval: "0.35 % (95 % CI 0.17 % - 0.72 %)".
fn with_ci(p: &Prob) -> String {
    format!("{} {}", pct(p.p), ci(p))
}

/// The accounts a table lists: all of them, in their order, when there are
/// at most `max`; else the `max` most likely to run dry, the larger expected
/// draw first among equals.
pub fn worst_accounts(accounts: &[AccountSummary], max: usize) -> Vec<&AccountSummary> {
    let mut shown: Vec<&AccountSummary> = accounts.iter().collect();
    if shown.len() > max {
        shown.sort_by(|a, b| b.exhausted.p.total_cmp(&a.exhausted.p).then(b.draws.mean.total_cmp(&a.draws.mean)));
        shown.truncate(max);
    }
    shown
}

/// A sizing's ratio; none where the account needs no deposit.
fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "no deposit needed".into(), ratio)
}

/// The table `riskshare size` prints.
pub fn sizing_table(s: &crate::analysis::sizing::Sizing, comp: bool, village: bool) -> String {
    let mut o = String::new();
    if comp {
        let _ = writeln!(o, "compensation deposits that last the horizon (loans : fund, 95 % interval in brackets)");
        for a in &s.accounts {
            let _ = writeln!(
                o,
                "\n  {} / {}: covered loans CNY {}; today CNY {} ({}), runs dry in {} of futures {}",
                a.bank,
                a.county,
                group(a.covered_principal, 0),
                group(a.current_deposit, 0),
                ratio_text(a.current_ratio),
                pct(a.current_depletion.p),
                ci(&a.current_depletion)
            );
            let _ = writeln!(o, "    {:>10} {:>16} {:>30}  today's deposit", "confidence", "deposit (CNY)", "ratio");
            for l in &a.levels {
                let range =
                    format!("{} [{} - {}]", ratio_text(l.ratio), ratio_text(l.ratio_ci[0]), ratio_text(l.ratio_ci[1]));
                let _ = writeln!(
                    o,
                    "    {:>10} {:>16} {:>30}  {}",
                    pct(l.confidence),
                    group(l.deposit, 0),
                    range,
                    if l.current_is_enough { "is enough" } else { "is NOT enough" }
                );
            }
        }
    }
    if village {
        let v = &s.village;
        let _ = writeln!(
            o,
            "\nvillage funds: today {} of each village's covered loans; a fund lasts the horizon in {} of (village, future) pairs",
            pct(v.current_share),
            pct(v.lasting_at_current)
        );
        for l in &v.levels {
            let (lo, hi) = pct_interval(l.share_ci[0], l.share_ci[1]);
            let _ = writeln!(
                o,
                "    to last in {:>7} of pairs: {:>8} of covered loans [{} - {}]",
                pct(l.confidence),
                pct(l.share),
                lo,
                hi
            );
        }
    }
    o
}

/// The table `riskshare compare` prints: means, and differences to the first
/// scenario with their 95 % intervals.
pub fn comparison_table(c: &crate::analysis::compare::Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} trials, seed {}, common random numbers; differences to the first scenario (95 % CI)",
        group(c.trials as f64, 0),
        c.seed
    );
    for (i, s) in c.scenarios.iter().enumerate() {
        let _ = writeln!(o, "  [{}] {s}", i + 1);
    }
    let shown = [
        ("exposure", "exposure at default"),
        ("village_fund", "village funds"),
        ("comp_fund", "compensation fund"),
        ("shortfall", "shortfall"),
        ("bank_total", "bank's total loss"),
        ("fiscal_cost", "fiscal cost"),
        ("comp_exhausted", "P(a fund runs dry)"),
    ];
    for (key, label) in shown {
        let Some(r) = c.rows.iter().find(|r| r.metric == key) else { continue };
        let _ = writeln!(o, "\n{label}");
        for i in 0..c.scenarios.len() {
            let money = key != "comp_exhausted";
            let f = |x: f64| if money { group(x, 0) } else { pct(x) };
            let d = &r.diff[i];
            let sign = if d.mean > 0.0 { "+" } else { "" };
            let diff = if i == 0 {
                String::from("(baseline)")
            } else {
                format!("{sign}{} [{} .. {}]", f(d.mean), f(d.lo), f(d.hi))
            };
            let _ = writeln!(o, "  [{}] mean {:>14}  99 % {:>14}  {}", i + 1, f(r.mean[i]), f(r.p99[i]), diff);
        }
    }
    o
}

/// The table `riskshare sweep` prints.
pub fn sweep_table(axes: &[crate::analysis::sweep::Axis], rows: &[crate::analysis::sweep::CellRow]) -> String {
    let mut o = String::new();
    let head: Vec<String> = axes.iter().map(|a| a.key.rsplit('.').next().unwrap_or(&a.key).to_string()).collect();
    let _ = writeln!(
        o,
        "{:<28} {:>14} {:>14} {:>12} {:>14} {:>14}  P(a fund runs dry)",
        head.join(" / "),
        "comp mean",
        "comp 99 %",
        "shortfall",
        "bank mean",
        "bank 99 %"
    );
    for r in rows {
        let cell: Vec<&str> = r.values.iter().map(|(_, v)| v.as_str()).collect();
        let (lo, hi) = pct_interval(r.depletion.lo, r.depletion.hi);
        let _ = writeln!(
            o,
            "{:<28} {:>14} {:>14} {:>12} {:>14} {:>14}  {} [{} - {}]",
            cell.join(" / "),
            group(r.comp_fund_mean, 0),
            group(r.comp_fund_p99, 0),
            group(r.shortfall_mean, 0),
            group(r.bank_total_mean, 0),
            group(r.bank_total_p99, 0),
            pct(r.depletion.p),
            lo,
            hi
        );
    }
    o
}

/// The table `riskshare stress` prints: baseline against stressed, same seed.
pub fn stress_table(r: &crate::analysis::stress::StressReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: stressed against the baseline, {} trials, seed {}",
        r.scenario,
        group(r.trials as f64, 0),
        r.seed
    );
    let _ = writeln!(
        o,
        "\n{:<22} {:>16} {:>16} {:>16} {:>16}",
        "whole scheme (CNY)", "mean", "stressed mean", "99 %", "stressed 99 %"
    );
    for (name, b, s) in &r.totals {
        let _ = writeln!(
            o,
            "{name:<22} {:>16} {:>16} {:>16} {:>16}",
            group(b.mean, 0),
            group(s.mean, 0),
            group(b.p99, 0),
            group(s.p99, 0)
        );
    }
    for a in &r.accounts {
        let _ = writeln!(o, "\n{} / {}", a.bank, a.county);
        let rows = [
            ("bank's loss", &a.baseline.bank_loss, &a.stressed.bank_loss),
            ("fund draws", &a.baseline.fund_draws, &a.stressed.fund_draws),
            ("shortfall", &a.baseline.shortfall, &a.stressed.shortfall),
        ];
        for (label, b, s) in rows {
            let _ = writeln!(
                o,
                "  {label:<20} {:>16} {:>16} {:>16} {:>16}",
                group(b.mean, 0),
                group(s.mean, 0),
                group(b.p99, 0),
                group(s.p99, 0)
            );
        }
        let _ = writeln!(
            o,
            "  {:<20} {:>16} {:>16}",
            "P(fund runs dry)",
            pct(a.baseline.exhausted.p),
            pct(a.stressed.exhausted.p)
        );
    }
    o
}
