//! The readable tables printed on stdout.

use std::fmt::Write;

use crate::analysis::compare::Comparison;
use crate::analysis::policy::{MeanCi, PolicyFigures};
use crate::analysis::stress::StressReport;
use crate::analysis::summary::{AccountSummary, Prob, Summary};
use crate::analysis::sweep::{Axis, CellRow};
use crate::model::Model;
use crate::money::Fen;
use crate::report::charts::layer_label;
use crate::report::format::{Lang, group, pad, pad_left, pct, pct_interval, ratio, width};
use crate::report::labels::{Kind, Labels};

/// A throughput like `1.52e9`.
pub fn sci(x: f64) -> String {
    if x <= 0.0 || !x.is_finite() {
        return "0".into();
    }
    let e = x.log10().floor() as i32;
    format!("{:.2}e{}", x / 10f64.powi(e), e)
}

/// What `riskshare validate` prints: the portfolio's totals and the fund
/// sizes, things named by their English display names.
pub fn portfolio(m: &Model) -> String {
    let mut o = String::new();
    let labels = Labels::of(&m.scenario);
    let names = |kind: Kind, ids: &[String]| -> Vec<String> {
        ids.iter().map(|id| labels.name(kind, id, Lang::En).to_string()).collect()
    };
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
        let w = names.iter().zip(&count).filter(|(_, k)| **k > 0).map(|(n, _)| width(n)).fold(18, usize::max);
        let head = pad(&format!("by {title}"), w + 2);
        let _ = writeln!(o, "\n{head} {:>8} {:>18} {:>7}", "loans", "principal (CNY)", "share");
        for (k, name) in names.iter().enumerate() {
            if count[k] > 0 {
                let _ = writeln!(
                    o,
                    "  {} {:>8} {:>18} {:>7}",
                    pad(name, w),
                    group(count[k] as f64, 0),
                    group(sum[k].to_yuan_f64(), 0),
                    pct(sum[k].0 as f64 / total.0.max(1) as f64)
                );
            }
        }
    };
    by("bank", &names(Kind::Bank, &m.banks), &|i| l.bank[i] as usize);
    by("product", &names(Kind::Product, &m.products), &|i| l.product[i] as usize);
    by("industry", &names(Kind::Industry, &m.industries), &|i| l.industry[i] as usize);
    by("grade", &m.grades, &|i| l.grade[i] as usize);
    let several = m.counties.len() > 1;
    // One row an account; a province's hundreds of accounts, one row a bank.
    let mut rows: Vec<(String, i64, i64, bool)> = Vec::new();
    let mut head = "compensation accounts".to_string();
    if m.accounts.len() <= MAX_ACCOUNT_LINES {
        for a in &m.accounts {
            let name = labels.account(&m.banks[a.bank as usize], &m.counties[a.county as usize], several, Lang::En);
            rows.push((name, a.covered_principal.0, a.deposit.0, a.explicit));
        }
    } else {
        head = format!(
            "compensation accounts by bank ({} in {} counties)",
            group(m.accounts.len() as f64, 0),
            group(m.counties.len() as f64, 0)
        );
        for (b, id) in m.banks.iter().enumerate() {
            let of: Vec<_> = m.accounts.iter().filter(|a| a.bank as usize == b).collect();
            if !of.is_empty() {
                let name = format!("{} ({} accounts)", labels.name(Kind::Bank, id, Lang::En), of.len());
                let covered = of.iter().map(|a| a.covered_principal.0).sum();
                let deposit = of.iter().map(|a| a.deposit.0).sum();
                rows.push((name, covered, deposit, of.iter().any(|a| a.explicit)));
            }
        }
    }
    let w = rows.iter().map(|r| width(&r.0)).fold(20, usize::max).max(width(&head).saturating_sub(2));
    let _ = writeln!(o, "\n{} {:>22} {:>16} {:>8}", pad(&head, w + 2), "covered loans (CNY)", "deposit (CNY)", "ratio");
    if m.accounts.is_empty() {
        let _ = writeln!(o, "  (none: the compensation fund is off or covers no loan)");
    }
    for (name, covered, deposit, explicit) in &rows {
        let fund_ratio = if *deposit > 0 { ratio(*covered as f64 / *deposit as f64) } else { "no fund".into() };
        let _ = writeln!(
            o,
            "  {} {:>22} {:>16} {:>8}{}",
            pad(name, w),
            group(Fen(*covered).to_yuan_f64(), 0),
            group(Fen(*deposit).to_yuan_f64(), 0),
            fund_ratio,
            if *explicit { "  (explicit deposit)" } else { "" }
        );
    }
    let vf: Fen = m.village_fund_initial.iter().copied().sum();
    let funded = m.village_fund_initial.iter().filter(|f| f.0 > 0).count();
    let _ = writeln!(
        o,
        "\nvillage funds: CNY {} in {} village(s){}",
        group(vf.to_yuan_f64(), 0),
        group(funded as f64, 0),
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

/// What an importance-sampled run's weights are worth, and a warning when
/// they degenerate; nothing for a plain run.
pub fn importance_lines(s: &Summary, lang: Lang) -> Vec<String> {
    let Some(i) = &s.importance else { return Vec::new() };
    let trials = group(s.trials as f64, 0);
    let ess = group(i.effective_sample_size, 1);
    let largest = pct(i.largest_weight_share);
    let mean = group(i.mean_weight, 4);
    let mut v = vec![match lang {
        Lang::En => format!(
            "importance sampled: the {trials} weighted trials are worth {ess} plain ones (effective sample size); \
             largest weight {largest} of their sum; mean weight {mean} (1 expected)"
        ),
        Lang::Zh => format!(
            "重要性抽样：{trials} 次加权模拟的有效样本量为 {ess} 次；最大权重占权重总和的 {largest}；平均权重 {mean}（应为 1）"
        ),
    }];
    if let Some(ms) = i.measure.as_ref().filter(|ms| ms.tilt.is_identity()) {
        let target = &ms.target;
        v.push(match lang {
            Lang::En => format!(
                "NOTE: the pilot found nothing to tilt toward for --tail {target} (the event in every one of its \
                 trials, or the same score in all of them): these trials are drawn from the scenario's own law, as \
                 a plain run's"
            ),
            Lang::Zh => format!(
                "注意：试算未能为 --tail {target} 找到偏移方向（该事件在每次试算中都发生，或试算结果全部相同）：本次模拟按情景自身的分布抽样，与普通模拟相同"
            ),
        });
    }
    if i.degenerate {
        let floor = pct(crate::analysis::summary::ESS_FLOOR);
        let ceiling = pct(crate::analysis::summary::LARGEST_WEIGHT_CEILING);
        v.push(match lang {
            Lang::En => format!(
                "WARNING: the importance weights degenerate (an effective sample size below {floor} of the trials, \
                 or one trial above {ceiling} of the weights' sum): the weighted figures and their intervals are \
                 not reliable; run more trials or choose another --tail"
            ),
            Lang::Zh => format!(
                "警告：重要性权重退化（有效样本量低于模拟次数的 {floor}，或单次模拟的权重超过总和的 {ceiling}）：\
                 加权结果及其置信区间不可靠；请增加模拟次数或另选 --tail"
            ),
        });
    }
    v
}

/// The table printed at the end of a run; the scenario and its banks and
/// counties named in `lang`.
pub fn run_table(s: &Summary, labels: &Labels, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} trials x {} years, seed {} (riskshare {})",
        labels.title(&s.scenario, lang),
        group(s.trials as f64, 0),
        s.horizon_years,
        s.seed,
        s.engine_version
    );
    for line in importance_lines(s, lang) {
        let _ = writeln!(o, "{line}");
    }
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
    let several = a.accounts.iter().any(|x| x.county != a.accounts[0].county);
    let names: Vec<String> = shown.iter().map(|x| labels.account(&x.bank, &x.county, several, lang)).collect();
    let w = names.iter().map(|n| width(n)).fold(18, usize::max);
    for (acc, name) in shown.iter().zip(&names) {
        let fund_ratio = acc.deposit_ratio.map_or_else(|| "no fund".into(), ratio);
        let _ = writeln!(
            o,
            "  {} deposit CNY {:>12} ({fund_ratio}), exhausted {}",
            pad(name, w),
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

/// The table `riskshare size` prints, banks and counties named in `lang`.
pub fn sizing_table(
    s: &crate::analysis::sizing::Sizing,
    labels: &Labels,
    lang: Lang,
    comp: bool,
    village: bool,
) -> String {
    let mut o = String::new();
    if comp {
        let _ = writeln!(o, "compensation deposits that last the horizon (loans : fund, 95 % interval in brackets)");
        let several = s.accounts.iter().any(|a| a.county != s.accounts[0].county);
        // A province has hundreds of accounts: those most likely to run dry,
        // then those that need the most fund per loan, and where the rest are.
        let mut shown: Vec<&crate::analysis::sizing::AccountSizing> = s.accounts.iter().collect();
        if shown.len() > MAX_ACCOUNT_LINES {
            let need = |a: &crate::analysis::sizing::AccountSizing| {
                a.levels.last().and_then(|l| l.ratio).unwrap_or(f64::INFINITY)
            };
            shown.sort_by(|x, y| {
                y.current_depletion.p.total_cmp(&x.current_depletion.p).then(need(x).total_cmp(&need(y)))
            });
            shown.truncate(MAX_ACCOUNT_LINES);
            let _ = writeln!(
                o,
                "  the {} of {} accounts most likely to run dry (then by the smallest ratio needed):",
                shown.len(),
                group(s.accounts.len() as f64, 0)
            );
        }
        for a in shown.iter().copied() {
            let _ = writeln!(
                o,
                "\n  {}: covered loans CNY {}; today CNY {} ({}), runs dry in {} of futures {}",
                labels.account(&a.bank, &a.county, several, lang),
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
        if shown.len() < s.accounts.len() {
            let _ = writeln!(
                o,
                "\n  ... and {} more accounts: every account is in size.json and size_curve.csv",
                group((s.accounts.len() - shown.len()) as f64, 0)
            );
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

/// A table: a label column, then columns of numbers aligned right, each as
/// wide as its widest cell. Rows without cells are headings.
fn grid(o: &mut String, corner: &str, heads: &[String], rows: &[(String, Vec<String>)]) {
    let lw = rows.iter().map(|(l, _)| width(l)).chain([width(corner)]).max().unwrap_or(0);
    let ws: Vec<usize> = (0..heads.len())
        .map(|j| {
            rows.iter().filter_map(|(_, v)| v.get(j)).map(|x| width(x)).chain([width(&heads[j])]).max().unwrap_or(0)
        })
        .collect();
    let line = |label: &str, cells: &[String]| {
        let mut t = pad(label, lw);
        for (c, w) in cells.iter().zip(&ws) {
            t.push_str("   ");
            t.push_str(&pad_left(c, *w));
        }
        t.trim_end().to_string()
    };
    let _ = writeln!(o, "{}", line(corner, heads));
    for (label, cells) in rows {
        let _ = writeln!(o, "{}", line(label, cells));
    }
}

/// "281,596 [250,112 - 313,080]".
fn mean_ci(m: &MeanCi) -> String {
    format!("{} [{} - {}]", group(m.mean, 0), group(m.lo, 0), group(m.hi, 0))
}

/// "0.5 % [0.27 % - 0.92 %]".
fn prob_ci(p: &Prob) -> String {
    let (lo, hi) = pct_interval(p.lo, p.hi);
    format!("{} [{lo} - {hi}]", pct(p.p))
}

/// "+1,234" or "-1,234" or "0".
pub(crate) fn signed(x: f64) -> String {
    let g = group(x, 0);
    if x > 0.0 && g != "0" { format!("+{g}") } else { g }
}

fn leverage(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| lang.pick("unbounded", "无上限").into(), |x| group(x, 2))
}

/// The labels of a policy's figures (the rows of [`policy_rows`]).
pub fn fiscal_part_label(key: &str, lang: Lang) -> &'static str {
    let (en, zh) = match key {
        "comp_fund_draws" => ("compensation fund draws", "补偿金支付"),
        "shortfall_borne_by_budget" => ("shortfall borne by the budget", "财政承担的缺口"),
        "top_ups" => ("top-ups", "补偿金补充"),
        "interest_subsidy" => ("interest subsidy", "贴息"),
        "premium_subsidy" => ("premium subsidy", "保费补贴"),
        _ => ("", ""),
    };
    lang.pick(en, zh)
}

/// The money each variant moves, one column per variant: deposits (each
/// bank's too), village funds, the budget committed, the leverage, the
/// fiscal cost and its parts, each bank's expected draw and loss and the
/// chance its fund runs dry. Banks are matched by id across the variants.
/// With `change`, a last column holds the second variant less the first.
fn policy_rows(ps: &[&PolicyFigures], change: bool, labels: &Labels, lang: Lang) -> Vec<(String, Vec<String>)> {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh).to_string();
    let mut banks: Vec<(&str, &str)> = Vec::new();
    for p in ps {
        for b in &p.banks {
            if !banks.iter().any(|(id, _)| *id == b.bank) {
                banks.push((&b.bank, labels.get(Kind::Bank, &b.bank, lang).unwrap_or(b.name())));
            }
        }
    }
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut money = |label: String, get: &dyn Fn(&PolicyFigures) -> Option<f64>| {
        let vals: Vec<Option<f64>> = ps.iter().map(|p| get(p)).collect();
        let mut cells: Vec<String> = vals.iter().map(|v| v.map_or("-".into(), |x| group(x, 0))).collect();
        if change {
            cells.push(match (vals.first().copied().flatten(), vals.last().copied().flatten()) {
                (Some(a), Some(b)) => signed(b - a),
                _ => String::new(),
            });
        }
        rows.push((label, cells));
    };
    money(l("compensation deposits", "风险补偿金存入"), &|p| Some(p.deposits));
    for (id, name) in &banks {
        money(format!("  {name}"), &|p| p.banks.iter().find(|b| b.bank == *id).map(|b| b.deposit));
    }
    money(l("village funds", "村级风险互助金"), &|p| Some(p.village_funds));
    money(l("budget money committed", "财政资金投入"), &|p| Some(p.budget_committed));
    money(l("fiscal cost, mean", "财政成本（均值）"), &|p| Some(p.fiscal_cost.mean));
    for (i, (key, _)) in ps[0].fiscal_cost.parts().iter().enumerate() {
        money(format!("  {}", fiscal_part_label(key, lang)), &|p| Some(p.fiscal_cost.parts()[i].1));
    }
    let mut lev: Vec<String> = ps.iter().map(|p| leverage(p.fiscal_leverage, lang)).collect();
    if change {
        lev.push(String::new());
    }
    rows.push((l("loans per budget yuan (fiscal leverage)", "财政杠杆（每元财政资金对应贷款）"), lev));
    let mut per_bank = |title: String,
                        cell: &dyn Fn(&crate::analysis::policy::BankFigures) -> String,
                        diff: &dyn Fn(
        &crate::analysis::policy::BankFigures,
        &crate::analysis::policy::BankFigures,
    ) -> String| {
        rows.push((title, Vec::new()));
        for (id, name) in &banks {
            let found: Vec<_> = ps.iter().map(|p| p.banks.iter().find(|b| b.bank == *id)).collect();
            let mut cells: Vec<String> = found.iter().map(|b| b.map_or("-".into(), cell)).collect();
            if change {
                cells.push(match (found.first().copied().flatten(), found.last().copied().flatten()) {
                    (Some(a), Some(b)) => diff(a, b),
                    _ => String::new(),
                });
            }
            rows.push((format!("  {name}"), cells));
        }
    };
    per_bank(
        l("expected draw on each bank's fund (95 % CI)", "各银行补偿金平均支付（95 % 置信区间）"),
        &|b| mean_ci(&b.draws),
        &|a, b| signed(b.draws.mean - a.draws.mean),
    );
    per_bank(
        l("chance each bank's fund runs dry (95 % CI)", "各银行补偿金用尽概率（95 % 置信区间）"),
        &|b| prob_ci(&b.dry),
        &|a, b| {
            let d = b.dry.p - a.dry.p;
            if d > 0.0 { format!("+{}", pct(d)) } else { pct(d) }
        },
    );
    per_bank(
        l("each bank's expected loss (95 % CI)", "各银行平均损失（95 % 置信区间）"),
        &|b| mean_ci(&b.bank_loss),
        &|a, b| signed(b.bank_loss.mean - a.bank_loss.mean),
    );
    rows
}

/// The table `riskshare compare` prints: means, and differences to the first
/// scenario with their 95 % intervals; then the money each scenario moves.
pub fn comparison_table(c: &Comparison, labels: &Labels, lang: Lang) -> String {
    let mut o = String::new();
    let _ = match lang {
        Lang::En => writeln!(
            o,
            "{} trials, seed {}, common random numbers; differences to the first scenario (95 % CI)",
            group(c.trials as f64, 0),
            c.seed
        ),
        Lang::Zh => writeln!(
            o,
            "模拟 {} 次，随机种子 {}，各情景使用相同的随机数；与第一个情景的差异（95 % 置信区间）",
            group(c.trials as f64, 0),
            c.seed
        ),
    };
    for (i, s) in c.scenarios.iter().enumerate() {
        let _ = writeln!(o, "  [{}] {s}", i + 1);
    }
    let shown = ["exposure", "village_fund", "comp_fund", "shortfall", "bank_total", "fiscal_cost", "comp_exhausted"];
    let (mean, p99, base) = (lang.pick("mean", "均值"), lang.pick("99 %", "99 %"), lang.pick("(baseline)", "（基准）"));
    for key in shown {
        let Some(r) = c.rows.iter().find(|r| r.metric == key) else { continue };
        let label = match key {
            "comp_exhausted" => lang.pick("P(a fund runs dry)", "补偿金用尽概率（任一账户）"),
            _ => layer_label(key, lang),
        };
        let _ = writeln!(o, "\n{label}");
        for i in 0..c.scenarios.len() {
            let money = key != "comp_exhausted";
            let f = |x: f64| if money { group(x, 0) } else { pct(x) };
            let d = &r.diff[i];
            let sign = if d.mean > 0.0 { "+" } else { "" };
            let diff =
                if i == 0 { base.to_string() } else { format!("{sign}{} [{} .. {}]", f(d.mean), f(d.lo), f(d.hi)) };
            let _ = writeln!(o, "  [{}] {mean} {:>14}  {p99} {:>14}  {}", i + 1, f(r.mean[i]), f(r.p99[i]), diff);
        }
    }
    if !c.policy.is_empty() {
        let ps: Vec<&PolicyFigures> = c.policy.iter().collect();
        let heads: Vec<String> = (1..=ps.len()).map(|i| format!("[{i}]")).collect();
        o.push('\n');
        grid(
            &mut o,
            lang.pick("what each scenario commits and costs (CNY)", "各情景的投入与成本（元）"),
            &heads,
            &policy_rows(&ps, false, labels, lang),
        );
    }
    o
}

/// A sweep cell's values: "6 / 0.03".
fn cell_name(r: &CellRow) -> String {
    r.values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" / ")
}

/// The table `riskshare sweep` prints: per cell, the losses, then the money
/// the cell moves (deposits, budget, leverage, the fiscal cost's parts), then
/// each bank's deposit, expected draw and chance of running dry.
pub fn sweep_table(axes: &[Axis], rows: &[CellRow], labels: &Labels, lang: Lang) -> String {
    let mut o = String::new();
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh).to_string();
    let corner: String =
        axes.iter().map(|a| a.key.rsplit('.').next().unwrap_or(&a.key).to_string()).collect::<Vec<_>>().join(" / ");
    let heads = [
        l("comp mean", "补偿金均值"),
        l("comp 99 %", "补偿金 99 %"),
        l("shortfall", "缺口"),
        l("bank mean", "银行均值"),
        l("bank 99 %", "银行 99 %"),
        l("P(a fund runs dry) [95 % CI]", "补偿金用尽概率 [95 % 置信区间]"),
    ];
    let losses: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let cells = vec![
                group(r.comp_fund_mean, 0),
                group(r.comp_fund_p99, 0),
                group(r.shortfall_mean, 0),
                group(r.bank_total_mean, 0),
                group(r.bank_total_p99, 0),
                prob_ci(&r.depletion),
            ];
            (cell_name(r), cells)
        })
        .collect();
    let _ = writeln!(o, "{}", l("losses over the horizon (CNY)", "期限内损失（元）"));
    grid(&mut o, &corner, &heads, &losses);

    let heads = [
        l("deposits", "补偿金存入"),
        l("village funds", "村级互助金"),
        l("budget committed", "财政资金投入"),
        l("loans per budget yuan", "财政杠杆"),
        l("fiscal cost", "财政成本"),
        l("fund draws", "补偿金支付"),
        l("shortfall", "财政承担缺口"),
        l("top-ups", "补充"),
        l("interest subsidy", "贴息"),
        l("premium subsidy", "保费补贴"),
    ];
    let money: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let p = &r.policy;
            let mut cells = vec![
                group(p.deposits, 0),
                group(p.village_funds, 0),
                group(p.budget_committed, 0),
                leverage(p.fiscal_leverage, lang),
                group(p.fiscal_cost.mean, 0),
            ];
            cells.extend(p.fiscal_cost.parts().iter().map(|(_, v)| group(*v, 0)));
            (cell_name(r), cells)
        })
        .collect();
    let _ = writeln!(
        o,
        "\n{}",
        l("the money each cell moves (CNY; fiscal cost: means)", "各格的资金投入与财政成本（元；财政成本为均值）")
    );
    grid(&mut o, &corner, &heads, &money);

    let heads = [
        l("deposit", "存入"),
        l("expected draw [95 % CI]", "平均支付 [95 % 置信区间]"),
        l("runs dry [95 % CI]", "用尽概率 [95 % 置信区间]"),
    ];
    // The cell's values and the bank's name as two columns of the label.
    let cw = rows.iter().map(|r| width(&cell_name(r))).chain([width(&corner)]).max().unwrap_or(0);
    let per_bank: Vec<(String, Vec<String>)> = rows
        .iter()
        .flat_map(|r| {
            r.policy.banks.iter().map(move |b| {
                let label = format!(
                    "{}  {}",
                    pad(&cell_name(r), cw),
                    labels.get(Kind::Bank, &b.bank, lang).unwrap_or(b.name())
                );
                (label, vec![group(b.deposit, 0), mean_ci(&b.draws), prob_ci(&b.dry)])
            })
        })
        .collect();
    if !per_bank.is_empty() {
        let _ = writeln!(o, "\n{}", l("each bank's compensation fund (CNY)", "各银行的风险补偿金（元）"));
        grid(&mut o, &format!("{}  {}", pad(&corner, cw), l("bank", "银行")), &heads, &per_bank);
    }
    o
}

/// The stress in words: each forced event, the fixed county factor, the pd multiplier.
pub fn stress_lines(s: &crate::scenario::Stress, labels: &Labels, lang: Lang) -> Vec<String> {
    use crate::report::format::plain;
    let mut out = Vec::new();
    for e in &s.events {
        let peril = e.peril.as_deref().map(|p| labels.name(Kind::Peril, p, lang));
        let disease = e.disease.as_deref().map(|d| labels.name(Kind::Disease, d, lang));
        let share = pct(e.share_of_villages);
        out.push(match (peril, disease, lang) {
            (Some(p), _, Lang::En) => {
                format!("year {}: {p} on {share} of the villages, damage ratio {}", e.year, plain(e.severity))
            }
            (Some(p), _, Lang::Zh) => format!("第 {} 年：{p}波及 {share} 的村，损失率 {}", e.year, plain(e.severity)),
            (None, Some(d), Lang::En) => {
                format!("year {}: {d} in {share} of the villages, {} of the herds struck die", e.year, pct(e.severity))
            }
            (None, Some(d), Lang::Zh) => {
                format!("第 {} 年：{d}波及 {share} 的村，受染畜群死亡 {}", e.year, pct(e.severity))
            }
            (None, None, _) => String::new(),
        });
    }
    if let Some(f) = &s.county_factor {
        let years = if f.years.is_empty() {
            lang.pick("every year", "每一年").to_string()
        } else {
            f.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
        };
        out.push(match lang {
            Lang::En => format!(
                "the county economy fixed at its {} quantile (a 1-in-{} bad year) in {years}",
                plain(f.quantile),
                group(1.0 / f.quantile, 0)
            ),
            Lang::Zh => format!(
                "县域经济固定在 {} 分位（{} 年一遇的坏年份），年份：{years}",
                plain(f.quantile),
                group(1.0 / f.quantile, 0)
            ),
        });
    }
    if let Some(k) = s.pd_multiplier {
        out.push(match lang {
            Lang::En => format!("every default probability multiplied by {}", plain(k)),
            Lang::Zh => format!("所有违约概率乘以 {}", plain(k)),
        });
    }
    out.retain(|x| !x.is_empty());
    out
}

/// The table `riskshare stress` prints: what was applied, then baseline
/// against stressed on the same seed: the whole scheme, the money each side
/// moves with the fiscal cost's parts, and each account.
pub fn stress_table(r: &StressReport, labels: &Labels, lang: Lang) -> String {
    let mut o = String::new();
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh).to_string();
    let _ = match lang {
        Lang::En => writeln!(
            o,
            "{}: stressed against the baseline, {} trials, seed {}",
            labels.title(&r.scenario, lang),
            group(r.trials as f64, 0),
            r.seed
        ),
        Lang::Zh => writeln!(
            o,
            "{}：压力情景与基准情景对比，模拟 {} 次，随机种子 {}",
            labels.title(&r.scenario, lang),
            group(r.trials as f64, 0),
            r.seed
        ),
    };
    let colon = lang.pick(": ", "：");
    let _ = writeln!(o, "{}{colon}{}", l("stress", "压力"), r.applied.overlay);
    for line in stress_lines(&r.stress, labels, lang) {
        let _ = writeln!(o, "  {line}");
    }
    let set = if r.applied.set.is_empty() { l("none", "无") } else { r.applied.set.join(", ") };
    let _ = writeln!(o, "{}{colon}{set}", l("overrides (--set, both sides)", "参数覆盖（--set，两侧均适用）"));

    let heads = [
        l("mean", "均值"),
        l("stressed mean", "压力均值"),
        l("change", "变化"),
        l("99 %", "99 %"),
        l("stressed 99 %", "压力 99 %"),
    ];
    let totals: Vec<(String, Vec<String>)> = r
        .totals
        .iter()
        .map(|(name, b, s)| {
            let label = layer_label(name, lang);
            let label = if label.is_empty() { name.clone() } else { label.to_string() };
            (label, vec![group(b.mean, 0), group(s.mean, 0), signed(s.mean - b.mean), group(b.p99, 0), group(s.p99, 0)])
        })
        .collect();
    o.push('\n');
    grid(&mut o, &l("whole scheme (CNY)", "整体（元）"), &heads, &totals);

    let heads = [l("baseline", "基准"), l("stressed", "压力"), l("change", "变化")];
    o.push('\n');
    grid(
        &mut o,
        &l("the money each side moves (CNY)", "两侧的资金投入与成本（元）"),
        &heads,
        &policy_rows(&[&r.baseline_policy, &r.stressed_policy], true, labels, lang),
    );
    let (b, s) = (&r.baseline_policy.fiscal_cost, &r.stressed_policy.fiscal_cost);
    if (s.mean - b.mean).abs() >= 0.5 {
        let _ = writeln!(o, "{}", fiscal_change_sentence(b, s, lang));
    }

    // Past a dozen accounts (a province) the per-bank figures above say it; stress.json has every account.
    if r.accounts.len() <= 12 {
        let mut t: Vec<(String, Vec<String>)> = Vec::new();
        let counties = r.accounts.iter().any(|a| a.county != r.accounts[0].county);
        for a in &r.accounts {
            t.push((labels.account(&a.bank, &a.county, counties, lang), Vec::new()));
            let rows = [
                (l("bank's loss", "银行损失"), &a.baseline.bank_loss, &a.stressed.bank_loss),
                (l("fund draws", "补偿金支付"), &a.baseline.fund_draws, &a.stressed.fund_draws),
                (l("shortfall", "缺口"), &a.baseline.shortfall, &a.stressed.shortfall),
            ];
            t.extend(rows.into_iter().map(|(label, b, s)| {
                (format!("  {label}"), vec![group(b.mean, 0), group(s.mean, 0), group(b.p99, 0), group(s.p99, 0)])
            }));
            t.push((
                format!("  {}", l("P(fund runs dry)", "补偿金用尽概率")),
                vec![pct(a.baseline.exhausted.p), pct(a.stressed.exhausted.p)],
            ));
        }
        let heads =
            [l("mean", "均值"), l("stressed mean", "压力均值"), l("99 %", "99 %"), l("stressed 99 %", "压力 99 %")];
        o.push('\n');
        grid(&mut o, &l("each account (CNY)", "各账户（元）"), &heads, &t);
    } else {
        let _ = writeln!(
            o,
            "\n{}",
            match lang {
                Lang::En => format!("{} accounts: each account's figures are in stress.json.", r.accounts.len()),
                Lang::Zh => format!("共 {} 个账户：各账户的数字见 stress.json。", r.accounts.len()),
            }
        );
    }
    o
}

/// Why the fiscal cost moved: its change and each part's, largest first,
/// e.g. "the fiscal cost falls by 38,058: interest subsidy -162,000, ...".
pub fn fiscal_change_sentence(
    b: &crate::analysis::summary::FiscalParts,
    s: &crate::analysis::summary::FiscalParts,
    lang: Lang,
) -> String {
    let mut parts: Vec<(&str, f64)> =
        b.parts().iter().zip(s.parts()).map(|((k, x), (_, y))| (*k, y - x)).filter(|(_, d)| d.abs() >= 0.5).collect();
    parts.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()));
    let d = s.mean - b.mean;
    if parts.is_empty() && d.abs() < 0.5 {
        return lang.pick("The fiscal cost does not change.", "财政成本不变。").into();
    }
    let listed: Vec<String> =
        parts.iter().map(|(k, v)| format!("{} {}", fiscal_part_label(k, lang), signed(*v))).collect();
    let subsidy_falls = parts.iter().any(|(k, v)| matches!(*k, "interest_subsidy" | "premium_subsidy") && *v < 0.0);
    match lang {
        Lang::En => format!(
            "The fiscal cost {} by {}: {}.{}",
            if d < 0.0 { "falls" } else { "rises" },
            group(d.abs(), 0),
            listed.join(", "),
            if subsidy_falls {
                " Subsidies are paid only on loans still alive: a loan that defaults stops costing the budget its subsidy."
            } else {
                ""
            }
        ),
        Lang::Zh => format!(
            "财政成本{} {}：{}。{}",
            if d < 0.0 { "减少" } else { "增加" },
            group(d.abs(), 0),
            listed.join("，"),
            if subsidy_falls {
                "贴息和保费补贴只针对仍存续的贷款：违约贷款不再产生补贴支出。"
            } else {
                ""
            }
        ),
    }
}
