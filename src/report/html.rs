//! `report.html`: one self-contained page per run that a finance bureau or a
//! bank's risk desk can read without knowing the engine.
//!
//! It opens with the answers in sentences computed from the run (is today's
//! deposit ratio enough for each bank's compensation fund? what is the banks'
//! 1-in-100 loss? what does the budget pay?), then shows the portfolio, the
//! assumptions, the key figures, the fund adequacy per account, the sizing
//! table when `size.json` exists, the charts, and a reproducibility line.
//!
//! **Architecture Invariant:** like [`crate::report::charts`], this draws a
//! [`RunData`] and nothing else: no simulation, no network. Figures are the
//! summary's and the sizing's, parameters the typed scenario's. The page has
//! no scripts and no external references; charts are inline SVG whose text
//! the browser draws, so `Lang::Zh` needs no font shipped.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::analysis::sizing::Sizing;
use crate::analysis::summary::{AccountSummary, Prob, Summary};
use crate::report::charts::{
    self, Chart, DEPLETION_TARGET, Lang, OPTIONAL_LAYERS, WATERFALL, layer_label, today_ratio,
};
use crate::report::format::{group, money, pct, pct_interval, plain, ratio};
use crate::report::labels::{Kind, Labels};
use crate::report::markup::{Attrs, Html, PreEscaped};
use crate::report::page::{self, section, table};
use crate::report::run::{RunData, load_run};
use crate::scenario::{Scenario, ShortfallBearer};

/// Writes `dir/report.html` from the run's files (see the module docs);
/// `command` is the command line that produced the run, printed for
/// reproducibility. Returns the path written.
pub fn write_report(dir: &Path, lang: Lang, command: &str) -> Result<PathBuf> {
    write_report_of(&load_run(dir)?, lang, command)
}

/// [`write_report`] for a run's data, in memory or read with [`load_run`].
pub fn write_report_of(d: &RunData, lang: Lang, command: &str) -> Result<PathBuf> {
    let html = render(d, lang, command)?;
    let path = d.out.join("report.html");
    fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The page as a string.
pub fn render(d: &RunData, lang: Lang, command: &str) -> Result<String> {
    let s = &d.summary;
    // Drawn first: the only part that can fail, and the build below cannot.
    let charts = Chart::ALL
        .iter()
        .filter(|c| c.available(d))
        .map(|&c| Ok((c, charts::render_svg(c, d, lang)?)))
        .collect::<Result<Vec<_>>>()?;
    let labels = d.labels();
    let name = labels.title(&s.scenario, lang);
    let title = match lang {
        Lang::En => format!("{name}: loan risk-sharing report"),
        Lang::Zh => format!("{name}：贷款风险分担评估报告"),
    };
    Ok(page::page(lang, &title, |h| {
        h.el("header", &[], |h| {
            h.text_el("h1", &[], &title);
            let description =
                d.scenario.as_ref().map_or(s.description.as_str(), |y| y.description.pick(lang == Lang::Zh));
            if !description.trim().is_empty() {
                h.text_el("p", &[("class", "lead")], description.trim());
            }
            h.text_el("p", &[("class", "meta")], &run_line(s, lang));
            let importance = crate::report::text::importance_lines(s, lang);
            for (i, line) in importance.iter().enumerate() {
                let attrs: Attrs =
                    if i == 0 { &[("class", "meta"), ("id", "importance")] } else { &[("class", "warn")] };
                h.text_el("p", attrs, line);
            }
        });
        h.line();
        answers_section(h, d, &labels, lang);
        portfolio_section(h, s, lang);
        assumptions_section(h, d, lang);
        figures_section(h, s, lang);
        accounts_section(h, s, &labels, lang);
        sizing_section(h, d, &labels, lang);
        charts_section(h, d, &charts, lang);
        footer(h, s, lang, command);
    }))
}

/// The answers first: what the reader came for.
fn answers_section(h: &mut Html, d: &RunData, labels: &Labels, lang: Lang) {
    let s = &d.summary;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    section(h, &[("class", "answers")], l("The answers in brief", "结论摘要"), |h| {
        h.el("p", &[("class", "key"), ("id", "adequacy")], |h| {
            h.text_el("strong", &[], &adequacy_sentence(s, labels, lang));
            h.text(" ");
            h.text(&adequacy_verdict(s, labels, d.sizing.as_ref(), lang));
        });
        if let Some(t) = bank_loss_sentence(s, d.scenario.as_ref(), lang) {
            h.text_el("p", &[("class", "key"), ("id", "bank-loss")], &t);
        }
        if let Some(t) = budget_sentence(s, lang) {
            h.text_el("p", &[], &t);
        }
        h.text_el("p", &[], &village_sentence(s, lang));
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "Every figure comes from simulated futures of the loan book: each future draws the economy, disasters, epidemics and personal shocks, lets loans default, and routes each loss through collateral, insurance, the village fund, the compensation fund and the government : bank split. \"1 in 100\" is the level exceeded in 1 % of the futures.",
                "所有数字均来自对贷款组合未来情景的模拟：每个情景抽取经济、自然灾害、疫病和个人意外，决定贷款是否违约，并把损失依次分配给抵质押物、保险、村级风险互助金、风险补偿金以及政府与银行的分担。“百年一遇”指只有 1 % 的情景会超过的水平。",
            ),
        );
    });
}

fn footer(h: &mut Html, s: &Summary, lang: Lang, command: &str) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    h.el("footer", &[], |h| {
        h.text_el("h2", &[], l("Reproducibility", "可复现性"));
        let trials = group(s.trials as f64, 0);
        let (engine, seed, years) = (&s.engine_version, s.seed, s.horizon_years);
        h.text_el(
            "p",
            &[],
            &match lang {
                Lang::En => format!(
                    "Engine riskshare {engine}, seed {seed}, {trials} trials, {years}-year horizon. The same scenario, seed and number of trials give the same numbers on any machine. Command:"
                ),
                Lang::Zh => format!(
                    "引擎 riskshare {engine}，随机种子 {seed}，模拟 {trials} 次，期限 {years} 年。相同的情景、种子和模拟次数在任何机器上得到相同结果。命令："
                ),
            },
        );
        h.el("p", &[], |h| h.text_el("code", &[], command));
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "Files beside this report: trials.csv (one row per future), years.csv (one row per future and year, with fund balances), summary.json (all statistics), scenario.resolved.yaml (the scenario with every default, to repeat the run), and each chart as PNG and SVG.",
                "本报告旁的文件：trials.csv（每个情景一行）、years.csv（每个情景每年一行，含资金余额）、summary.json（全部统计量）、scenario.resolved.yaml（含全部默认值的情景文件，可重复运行）以及各图表的 PNG 和 SVG。",
            ),
        );
    });
    h.line();
}

// ---------------------------------------------------------------------------
// Sentences
// ---------------------------------------------------------------------------

/// Whether an account meets the depletion target, judged by its 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval is at or below the target.
    Meets,
    /// The whole interval is above it.
    Fails,
    /// The interval contains the target: more trials are needed to tell.
    Unclear,
}

pub fn verdict(p: &Prob) -> Verdict {
    if p.hi <= DEPLETION_TARGET {
        Verdict::Meets
    } else if p.lo > DEPLETION_TARGET {
        Verdict::Fails
    } else {
        Verdict::Unclear
    }
}

/// "At 10:1", or the range of ratios when accounts differ.
fn at_today(s: &Summary, lang: Lang) -> String {
    if let Some(r) = today_ratio(s) {
        return match lang {
            Lang::En => format!("At {}", ratio(r)),
            Lang::Zh => format!("按 {} 的存入比例", ratio(r)),
        };
    }
    let rs: Vec<f64> = s.adequacy.accounts.iter().filter_map(|a| a.deposit_ratio).collect();
    let (lo, hi) = rs.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &r| (a.min(r), b.max(r)));
    match (lang, rs.is_empty()) {
        (Lang::En, true) => "At today's deposits".into(),
        (Lang::Zh, true) => "按现行存入金额".into(),
        (Lang::En, false) => format!("At today's deposits (from {} to {})", ratio(lo), ratio(hi)),
        (Lang::Zh, false) => format!("按现行存入金额（{} 至 {}）", ratio(lo), ratio(hi)),
    }
}

/// "today's ratio" as a noun: "10:1" or "today's deposits".
fn today_noun(s: &Summary, lang: Lang) -> String {
    today_ratio(s).map(ratio).unwrap_or_else(|| lang.pick("today's deposits", "现行存入金额").into())
}

/// The key sentence: how often the compensation funds ran dry at today's
/// deposit ratio, with its 95 % interval, against the 1 % target. For several
/// accounts it quotes the worst (highest depletion probability).
pub fn adequacy_sentence(s: &Summary, labels: &Labels, lang: Lang) -> String {
    let accs = &s.adequacy.accounts;
    let n = group(s.trials as f64, 0);
    let h = s.horizon_years;
    let target = pct(DEPLETION_TARGET);
    let Some(worst) = accs
        .iter()
        .max_by(|a, b| a.exhausted.p.total_cmp(&b.exhausted.p).then(a.exhausted.hi.total_cmp(&b.exhausted.hi)))
    else {
        return lang.pick("This scenario has no compensation fund account.", "本情景没有风险补偿金账户。").into();
    };
    let e = &worst.exhausted;
    let at = at_today(s, lang);
    if e.p == 0.0 && accs.len() > 1 {
        // "at most 0 %" reads oddly: say "none", and give the widest upper bound.
        let hi = accs.iter().map(|a| a.exhausted.hi).fold(0.0, f64::max);
        return match lang {
            Lang::En => format!(
                "{at}, no bank's compensation fund ran dry in any of the {n} simulated {h}-year futures (95 % CI 0 % – {} for each); the target is at most {target}.",
                pct(hi)
            ),
            Lang::Zh => format!(
                "{at}，在 {n} 个 {h} 年期模拟情景中，没有任何一家银行的风险补偿金被用尽（每家的 95 % 置信区间为 0 % – {}）；目标是不超过 {target}。",
                pct(hi)
            ),
        };
    }
    match (lang, accs.len()) {
        (Lang::En, 1) => format!(
            "{at}, the compensation fund ran dry in {} of the {n} simulated {h}-year futures (95 % CI {} – {}); the target is at most {target}.",
            pct(e.p),
            pct_interval(e.lo, e.hi).0,
            pct_interval(e.lo, e.hi).1
        ),
        (Lang::En, _) => format!(
            "{at}, each bank's compensation fund ran dry in at most {} of the {n} simulated {h}-year futures (the worst is {}: 95 % CI {} – {}); the target is at most {target}.",
            pct(e.p),
            account_name(s, labels, worst, lang),
            pct_interval(e.lo, e.hi).0,
            pct_interval(e.lo, e.hi).1
        ),
        (Lang::Zh, 1) => format!(
            "{at}，风险补偿金在 {n} 个 {h} 年期模拟情景中有 {} 被用尽（95 % 置信区间 {} – {}）；目标是不超过 {target}。",
            pct(e.p),
            pct_interval(e.lo, e.hi).0,
            pct_interval(e.lo, e.hi).1
        ),
        (Lang::Zh, _) => format!(
            "{at}，各银行的风险补偿金在 {n} 个 {h} 年期模拟情景中被用尽的比例最高为 {}（最差的是{}：95 % 置信区间 {} – {}）；目标是不超过 {target}。",
            pct(e.p),
            account_name(s, labels, worst, lang),
            pct_interval(e.lo, e.hi).0,
            pct_interval(e.lo, e.hi).1
        ),
    }
}

/// "贵商银行" / "Guishang Bank", with " / county" when a run has several counties.
fn account_name(s: &Summary, labels: &Labels, a: &AccountSummary, lang: Lang) -> String {
    labels.account(&a.bank, &a.county, several_counties(s), lang)
}

fn several_counties(s: &Summary) -> bool {
    let accs = &s.adequacy.accounts;
    accs.iter().any(|x| x.county != accs[0].county)
}

/// The verdict on today's ratio, from every account's interval; when the
/// sizing has a 99 % level, the ratio each failing account would need.
pub fn adequacy_verdict(s: &Summary, labels: &Labels, sizing: Option<&Sizing>, lang: Lang) -> String {
    let accs = &s.adequacy.accounts;
    if accs.is_empty() {
        return String::new();
    }
    let today = today_noun(s, lang);
    let names = |v: Verdict| -> Vec<String> {
        accs.iter().filter(|a| verdict(&a.exhausted) == v).map(|a| account_name(s, labels, a, lang)).collect()
    };
    let (fails, unclear) = (names(Verdict::Fails), names(Verdict::Unclear));
    let sep = lang.pick(", ", "、");
    let mut out = String::new();
    if fails.is_empty() && unclear.is_empty() {
        out += &match lang {
            Lang::En => format!("So {today} is enough: every bank's fund meets the target, with 95 % confidence."),
            Lang::Zh => format!("因此 {today} 是足够的：在 95 % 的置信水平下，每家银行的补偿金都达到目标。"),
        };
    }
    if !fails.is_empty() {
        out += &match lang {
            Lang::En => format!(
                "So {today} is not enough for {}: their funds run dry more often than the target allows.",
                fails.join(sep)
            ),
            Lang::Zh => format!("因此 {today} 对{}不够：其补偿金用尽的概率高于目标。", fails.join(sep)),
        };
    }
    if !unclear.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out += &match lang {
            // Four times the trials halves the interval's width.
            Lang::En => format!(
                "For {} the run cannot yet tell (the interval contains {}): run more trials (e.g. --trials {}).",
                unclear.join(sep),
                pct(DEPLETION_TARGET),
                s.trials * 4
            ),
            Lang::Zh => format!(
                "对{}，本次模拟尚不能判断（置信区间包含 {}）：请增加模拟次数（例如 --trials {}）。",
                unclear.join(sep),
                pct(DEPLETION_TARGET),
                s.trials * 4
            ),
        };
    }
    // What the sizing says each account needs at 99 %.
    if let Some(sz) = sizing {
        let needs: Vec<String> = sz
            .accounts
            .iter()
            .filter_map(|a| {
                let lv = a.levels.iter().find(|l| (l.confidence - 0.99).abs() < 1e-9)?;
                let name = labels.account(&a.bank, &a.county, several_counties(s), lang);
                Some(format!("{name} {}", lv.ratio.map_or("-".into(), ratio)))
            })
            .collect();
        if !needs.is_empty() {
            out.push(' ');
            out += &match lang {
                Lang::En => format!(
                    "To run dry in at most 1 % of futures, the loans : fund ratio may be at most: {}.",
                    needs.join(sep)
                ),
                Lang::Zh => format!("若要用尽概率不超过 1 %，贷款与补偿金之比最高可为：{}。", needs.join(sep)),
            };
        }
    }
    out
}

/// The banks' 1-in-100 loss (layers.bank_total.p99) with its interval.
pub fn bank_loss_sentence(s: &Summary, scenario: Option<&Scenario>, lang: Lang) -> Option<String> {
    let b = s.layers.get("bank_total")?;
    let h = s.horizon_years;
    let gov = scenario.map_or_else(
        || crate::scenario::schema::CompensationFund::default().government_share,
        |y| y.funds.compensation.government_share,
    );
    let bank_share = pct(1.0 - gov);
    let [lo, hi] = b.p99_ci();
    let ci = match lang {
        Lang::En => format!(" (95 % CI {} – {})", money(lo, lang), money(hi, lang)),
        Lang::Zh => format!("（95 % 置信区间 {} – {}）", money(lo, lang), money(hi, lang)),
    };
    Some(match lang {
        Lang::En => format!(
            "The banks' 1-in-100 loss: in 1 future in 100 the banks together lose more than {} over the {h} years{ci}; on average they lose {}. This is their {bank_share} share of what the other layers leave, plus any shortfall the scenario puts on them; the table of accounts below gives each bank's share.",
            money(b.p99, lang),
            money(b.mean, lang)
        ),
        Lang::Zh => format!(
            "银行的百年一遇损失：每 100 个情景中有 1 个，各银行 {h} 年合计损失超过 {}{ci}；平均损失为 {}。这是其他各层未覆盖部分中银行承担的 {bank_share}，加上情景规定由银行承担的缺口；下方账户表列出每家银行的情况。",
            money(b.p99, lang),
            money(b.mean, lang)
        ),
    })
}

fn budget_sentence(s: &Summary, lang: Lang) -> Option<String> {
    let f = s.layers.get("fiscal_cost")?;
    let h = s.horizon_years;
    let leverage = s.fiscal.leverage.filter(|&x| x > 0.0).map(|x| match lang {
        Lang::En => format!(
            " Each yuan of budget money committed (deposits, budget-funded village funds and society capital, the interest subsidy, expected top-ups and shortfalls) backs {x:.2} yuan of loans."
        ),
        Lang::Zh => format!("每投入 1 元财政资金（补偿金、财政出资的村级互助金和互助社资金、贴息、预期补充资金与缺口）撬动 {x:.2} 元贷款。"),
    });
    let leverage = leverage.unwrap_or_default();
    Some(match lang {
        Lang::En => format!(
            "The county budget pays {} on average over the {h} years (compensation fund draws, shortfalls it bears, top-ups, interest and insurance-premium subsidies), and more than {} in 1 future in 100.{leverage}",
            money(f.mean, lang),
            money(f.p99, lang)
        ),
        Lang::Zh => format!(
            "县级财政 {h} 年平均支出 {}（补偿金支付、财政承担的缺口、补充资金、贴息和保费补贴），百年一遇超过 {}。{leverage}",
            money(f.mean, lang),
            money(f.p99, lang)
        ),
    })
}

fn village_sentence(s: &Summary, lang: Lang) -> String {
    let a = &s.adequacy;
    let v = &a.any_village_fund_exhausted;
    match lang {
        Lang::En => format!(
            "Village risk mutual funds: on average {} of the village funds ran dry within the horizon; at least one village's fund ran dry in {} of the futures (95 % CI {} – {}).",
            pct(a.village_funds_exhausted_share),
            pct(v.p),
            pct_interval(v.lo, v.hi).0,
            pct_interval(v.lo, v.hi).1
        ),
        Lang::Zh => format!(
            "村级风险互助金：期限内平均有 {} 的村级互助金被用尽；至少一个村的互助金被用尽的情景占 {}（95 % 置信区间 {} – {}）。",
            pct(a.village_funds_exhausted_share),
            pct(v.p),
            pct_interval(v.lo, v.hi).0,
            pct_interval(v.lo, v.hi).1
        ),
    }
}

fn run_line(s: &Summary, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{} simulated futures of {} years · seed {} · riskshare {}",
            group(s.trials as f64, 0),
            s.horizon_years,
            s.seed,
            s.engine_version
        ),
        Lang::Zh => format!(
            "模拟 {} 次，每次 {} 年 · 随机种子 {} · riskshare {}",
            group(s.trials as f64, 0),
            s.horizon_years,
            s.seed,
            s.engine_version
        ),
    }
}

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------

/// A table of (name, value) rows; values aligned as numbers when `numbers`.
fn key_values(h: &mut Html, rows: &[(&str, String)], numbers: bool) {
    let cell: Attrs = if numbers { &[("class", "num")] } else { &[] };
    h.el("table", &[("class", "kv")], |h| {
        for (k, v) in rows {
            h.el("tr", &[], |h| {
                h.text_el("th", &[], k);
                h.text_el("td", cell, v);
            });
        }
    });
}

/// A cell holding a number.
fn num(h: &mut Html, text: &str) {
    h.text_el("td", &[("class", "num")], text);
}

fn portfolio_section(h: &mut Html, s: &Summary, lang: Lang) {
    let p = &s.portfolio;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let rows = [
        (l("Loans", "贷款笔数"), group(p.loans as f64, 0)),
        (l("Principal", "贷款本金"), money(p.principal, lang)),
        (
            l("Principal covered by the compensation fund", "风险补偿金覆盖的本金"),
            money(p.comp_covered_principal, lang),
        ),
        (l("Compensation deposits (all banks)", "风险补偿金存入（所有银行）"), money(p.comp_deposits, lang)),
        (l("Village risk mutual funds (all villages)", "村级风险互助金（所有村）"), money(p.village_funds, lang)),
        (l("Villages", "行政村"), group(p.villages as f64, 0)),
        (l("Compensation accounts (bank and county)", "补偿金账户（银行 × 县）"), group(p.accounts as f64, 0)),
        (l("Horizon", "期限"), format!("{} {}", s.horizon_years, l("years", "年"))),
    ];
    section(h, &[], l("The portfolio", "贷款组合"), |h| key_values(h, &rows, true));
}

/// Key parameters of the scenario as run: what the run assumed.
fn assumptions_section(h: &mut Html, d: &RunData, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    // The scenario's own description opens the page; here come its parameters.
    section(h, &[], l("Assumptions", "主要假设"), |h| {
        let Some(y) = d.scenario.as_ref() else {
            let missing =
                l("scenario.resolved.yaml is missing from this folder.", "本目录缺少 scenario.resolved.yaml。");
            h.text_el("p", &[("class", "note")], missing);
            return;
        };
        key_values(h, &assumptions(y, lang), false);
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "Every parameter, with its source, is in scenario.resolved.yaml beside this report.",
                "全部参数及其来源见本报告旁的 scenario.resolved.yaml。",
            ),
        );
    });
}

/// The assumptions table's rows: (parameter, value).
fn assumptions(y: &Scenario, lang: Lang) -> Vec<(&'static str, String)> {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let labels = Labels::of(y);
    let e = &y.economy;
    let mut rows = vec![
        (l("Correlation of defaults with the economy (rho)", "违约与经济的相关性（ρ）"), plain(e.rho)),
        (
            l("Weight of the county factor vs the industry factor", "县域因子权重（相对行业因子）"),
            plain(e.county_weight),
        ),
        (l("Persistence of the economy from year to year", "经济因子的年际持续性"), plain(e.persistence)),
        (l("Default sensitivity to disaster damage (kappa)", "违约对灾害损失的敏感度（κ）"), plain(e.kappa)),
    ];
    let listed = |items: Vec<String>| (!items.is_empty()).then(|| items.join(lang.pick(", ", "、")));
    if let Some(v) = listed(y.grades.iter().map(|g| format!("{} {}", g.id, pct(g.pd))).collect()) {
        rows.push((l("Annual default probability by credit grade", "各信用等级年违约概率"), v));
    }
    let c = &y.funds.compensation;
    if c.enabled {
        rows.push((
            l("Compensation deposit ratio (loans : fund)", "风险补偿金存入比例（贷款 : 补偿金）"),
            ratio(c.deposit_ratio),
        ));
        let g = c.government_share;
        rows.push((
            l("Government : bank split of what remains", "剩余损失的政府 : 银行分担比例"),
            format!("{} : {}", plain(g * 10.0), plain((1.0 - g) * 10.0)),
        ));
        let bearer = match c.shortfall_bearer {
            ShortfallBearer::Budget => l("the county budget", "县级财政"),
            ShortfallBearer::Bank => l("the bank", "银行"),
        };
        rows.push((l("Who bears a shortfall of the fund", "补偿金不足部分由谁承担"), bearer.into()));
        if let Some(v) = listed(c.covers.iter().map(|p| labels.name(Kind::Product, p, lang).to_string()).collect()) {
            rows.push((l("Loans the compensation fund covers", "风险补偿金覆盖的贷款产品"), v));
        }
    } else {
        rows.push((l("Compensation fund", "风险补偿金"), l("off", "未启用").into()));
    }
    if y.funds.village.enabled {
        rows.push((
            l("Village fund (share of the village's loans)", "村级风险互助金（占本村贷款比例）"),
            pct(y.funds.village.share),
        ));
    } else {
        rows.push((l("Village fund", "村级风险互助金"), l("off", "未启用").into()));
    }
    let per_year = l(" /yr", " 次/年");
    let rates = |events: Vec<(&str, f64)>| {
        listed(events.iter().map(|(name, r)| format!("{name} {}{per_year}", plain(*r))).collect())
    };
    if y.hazards.enabled {
        let perils = y.hazards.perils.iter().map(|p| (labels.name(Kind::Peril, &p.id, lang), p.rate));
        if let Some(v) = rates(perils.collect()) {
            rows.push((l("Natural hazards (events per year)", "自然灾害（年均次数）"), v));
        }
    }
    if y.epidemics.enabled {
        let diseases = y.epidemics.diseases.iter().map(|d| (labels.name(Kind::Disease, &d.id, lang), d.rate));
        if let Some(v) = rates(diseases.collect()) {
            rows.push((l("Livestock epidemics (outbreaks per year)", "畜禽疫病（年均暴发次数）"), v));
        }
    }
    let shocks = y.shocks.iter().map(|x| format!("{} {}", labels.name(Kind::Shock, &x.id, lang), pct(x.prob)));
    if let Some(v) = listed(shocks.collect()) {
        rows.push((l("Personal shocks (annual probability per borrower)", "个人意外（每位借款人年概率）"), v));
    }
    rows
}

fn figures_section(h: &mut Html, s: &Summary, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    section(h, &[], l("Key figures", "关键数字"), |h| {
        let unit = match lang {
            Lang::En => format!("Per future, summed over the {}-year horizon, in CNY.", s.horizon_years),
            Lang::Zh => format!("每个情景 {} 年合计，单位：元。", s.horizon_years),
        };
        h.text_el("p", &[], &unit);
        let heads = [
            l("layer", "层"),
            l("expected (mean)", "预期（均值）"),
            l("1 in 100 (99 %)", "百年一遇（99 %）"),
            l("95 % CI of the 1 in 100", "百年一遇的 95 % 置信区间"),
            l("1 in 200 (99.5 %)", "两百年一遇（99.5 %）"),
            l("mean of the worst 1 % (TVaR 99 %)", "最差 1 % 的平均（TVaR 99 %）"),
        ];
        table(h, &heads, |h| {
            // The layers in the order they pay, then the totals.
            for &col in WATERFALL.iter().chain(&["bank_total", "interest_subsidy", "fiscal_cost"]) {
                let Some(st) = s.layers.get(col) else { continue };
                if OPTIONAL_LAYERS.contains(&col) && st.mean == 0.0 {
                    continue;
                }
                let row: Attrs = if col == "bank_total" { &[("class", "hl")] } else { &[] };
                h.el("tr", row, |h| {
                    h.text_el("th", &[], layer_label(col, lang));
                    let [lo, hi] = st.p99_ci();
                    num(h, &group(st.mean, 0));
                    num(h, &group(st.p99, 0));
                    num(h, &format!("{} – {}", group(lo, 0), group(hi, 0)));
                    num(h, &group(st.p99_5, 0));
                    num(h, &group(st.tvar99, 0));
                });
            }
        });
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "Exposure at default = collateral + insurance + joint guarantees + village fund + compensation fund + shortfall + bank's share + societies' capital, in every future (layers a scenario does not use are left out). Bank's total loss = its share plus any shortfall it bears. Fiscal cost = compensation draws + shortfall borne by the budget + top-ups + interest and premium subsidies.",
                "每个情景中：违约敞口 = 抵质押物回收 + 保险赔付 + 联保代偿 + 村级互助金 + 风险补偿金 + 缺口 + 银行分担 + 互助社资金损失（情景未使用的层不列出）。银行总损失 = 银行分担 + 由银行承担的缺口。财政成本 = 补偿金支付 + 财政承担的缺口 + 补充资金 + 贴息与保费补贴。",
            ),
        );
    });
}

fn accounts_section(h: &mut Html, s: &Summary, labels: &Labels, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let a = &s.adequacy;
    section(h, &[], l("Is each compensation fund big enough?", "各银行的风险补偿金是否足够？"), |h| {
        if a.accounts.is_empty() {
            h.text_el("p", &[], l("This scenario has no compensation fund account.", "本情景没有风险补偿金账户。"));
            return;
        }
        let heads = [
            l("bank", "银行"),
            l("county", "县"),
            l("covered loans (CNY)", "覆盖贷款（元）"),
            l("deposit (CNY)", "存入金额（元）"),
            l("loans : fund", "贷款 : 补偿金"),
            l("ran dry in (95 % CI)", "用尽概率（95 % 置信区间）"),
            l("meets the 1 % target?", "达到 1 % 目标？"),
            l("expected draw (CNY)", "平均支付（元）"),
            l("bank's share, 1 in 100 (CNY)", "银行分担百年一遇（元）"),
        ];
        table(h, &heads, |h| {
            for acc in &a.accounts {
                let e = &acc.exhausted;
                let (answer, class) = match verdict(e) {
                    Verdict::Meets => (l("yes", "是"), "ok"),
                    Verdict::Fails => (l("no", "否"), "bad"),
                    Verdict::Unclear => (l("cannot tell yet: run more trials", "尚难判断：请增加模拟次数"), "warn"),
                };
                h.el("tr", &[], |h| {
                    h.text_el("th", &[], labels.name(Kind::Bank, &acc.bank, lang));
                    h.text_el("td", &[], labels.name(Kind::County, &acc.county, lang));
                    num(h, &group(acc.covered_principal, 0));
                    num(h, &group(acc.deposit, 0));
                    num(h, &acc.deposit_ratio.map_or("-".into(), ratio));
                    num(h, &format!("{} ({} – {})", pct(e.p), pct_interval(e.lo, e.hi).0, pct_interval(e.lo, e.hi).1));
                    h.text_el("td", &[("class", class)], answer);
                    num(h, &group(acc.draws.mean, 0));
                    num(h, &group(acc.bank_loss.p99, 0));
                });
            }
        });
        let c = &a.comp_fund_exhausted;
        let (p, (lo, hi)) = (pct(c.p), pct_interval(c.lo, c.hi));
        let weighted = s.importance.is_some();
        let note = match (lang, weighted) {
            (Lang::En, false) => format!(
                "At least one account ran dry in {p} of the futures (95 % CI {lo} – {hi}). Intervals are Wilson score intervals; \"cannot tell yet\" means the interval contains the 1 % target."
            ),
            (Lang::Zh, false) => format!(
                "至少一个账户被用尽的情景占 {p}（95 % 置信区间 {lo} – {hi}）。区间为 Wilson 区间；“尚难判断”表示区间包含 1 % 的目标。"
            ),
            (Lang::En, true) => format!(
                "At least one account ran dry with probability {p} (95 % CI {lo} – {hi}), weighed back from importance-sampled futures. Intervals are delta-method intervals of the weighted estimates; \"cannot tell yet\" means the interval contains the 1 % target."
            ),
            (Lang::Zh, true) => format!(
                "至少一个账户被用尽的概率为 {p}（95 % 置信区间 {lo} – {hi}），由重要性抽样的加权情景估计。区间为加权估计的 delta 方法区间；“尚难判断”表示区间包含 1 % 的目标。"
            ),
        };
        h.text_el("p", &[], &note);
    });
}

fn sizing_section(h: &mut Html, d: &RunData, labels: &Labels, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let s = &d.summary;
    section(h, &[], l("How big must each deposit be?", "存入金额需要多大？"), |h| {
        let Some(sz) = d.sizing.as_ref() else {
            h.text_el(
                "p",
                &[("class", "note")],
                l(
                    "No sizing table for this run (size.json is absent): `riskshare size` computes the deposit each bank needs.",
                    "本次运行没有测算表（缺少 size.json）：`riskshare size` 可计算每家银行所需的存入金额。",
                ),
            );
            return;
        };
        h.text_el(
            "p",
            &[],
            l(
                "The smallest deposit that lasts the whole horizon in the given share of futures, as an amount and as a loans : fund ratio (a higher ratio is a smaller deposit).",
                "在给定比例的情景中能维持整个期限的最小存入金额，以金额和贷款 : 补偿金之比表示（比值越大，存入越少）。",
            ),
        );
        let heads = [
            l("bank", "银行"),
            l("lasts in", "维持概率"),
            l("deposit needed (CNY)", "所需存入（元）"),
            l("loans : fund at most", "贷款 : 补偿金最高"),
            l("95 % CI of the ratio", "比例的 95 % 置信区间"),
            l("today's deposit enough?", "现行存入是否足够？"),
        ];
        table(h, &heads, |h| {
            for a in &sz.accounts {
                let name = labels.account(&a.bank, &a.county, several_counties(s), lang);
                let today =
                    a.current_ratio.map_or(String::new(), |r| format!(" ({} {})", l("today", "现行"), ratio(r)));
                let rows = a.levels.len().to_string();
                for (i, lv) in a.levels.iter().enumerate() {
                    // The sizing writes f64::MAX for a deposit no amount can reach.
                    let deposit = if lv.deposit > 1e300 {
                        l("cannot be met", "无法满足").into()
                    } else {
                        group(lv.deposit, 0)
                    };
                    let ci = match lv.ratio_ci {
                        [Some(a), Some(b)] => format!("{} – {}", ratio(a.min(b)), ratio(a.max(b))),
                        _ => "-".into(),
                    };
                    let (ok, class) =
                        if lv.current_is_enough { (l("yes", "是"), "ok") } else { (l("no", "否"), "bad") };
                    h.el("tr", &[], |h| {
                        if i == 0 {
                            h.text_el("th", &[("rowspan", &rows)], &format!("{name}{today}"));
                        }
                        num(h, &pct(lv.confidence));
                        num(h, &deposit);
                        num(h, &lv.ratio.map_or("-".into(), ratio));
                        num(h, &ci);
                        h.text_el("td", &[("class", class)], ok);
                    });
                }
            }
        });
        let v = &sz.village;
        let (share, lasting) = (pct(v.current_share), pct(v.lasting_at_current));
        let levels: Vec<String> = v
            .levels
            .iter()
            .map(|x| match lang {
                Lang::En => format!("{} for {} of villages", pct(x.share), pct(x.confidence)),
                Lang::Zh => format!("{} 的村需要 {}", pct(x.confidence), pct(x.share)),
            })
            .collect();
        let village = match lang {
            Lang::En => format!(
                "Village funds: at today's {share} of the village's loans a village's fund lasts the horizon in {lasting} of cases; the share needed is {}.",
                levels.join(", ")
            ),
            Lang::Zh => format!(
                "村级互助金：按现行占本村贷款 {share} 的比例，村级互助金在 {lasting} 的情形下能维持整个期限；所需比例：{}。",
                levels.join("，")
            ),
        };
        h.text_el("p", &[], &village);
    });
}

/// What each chart shows and how to read it, in a sentence or two.
fn chart_caption(c: Chart, lang: Lang) -> (&'static str, &'static str) {
    let (en_t, zh_t, en, zh) = match c {
        Chart::Waterfall => (
            "Where the expected loss goes",
            "预期损失如何分担",
            "Each bar is an average per simulated future over the horizon. The grey bar is what defaulted borrowers owed; each coloured bar is what one layer paid, in the order the layers pay; the red bar is what is left to the banks.",
            "每根柱为每个模拟情景在期限内的平均值。灰色柱为违约借款人所欠金额；各彩色柱为各层依次承担的部分；红色柱为最终留给银行的损失。",
        ),
        Chart::Exceedance => (
            "How large the bad years get",
            "坏年份有多坏",
            "Read across from \"1 in 100\" to a curve, then down: the loss that layer exceeds in only 1 future in 100. The red dot marks the banks' 1-in-100 loss. Curves further right mean bigger losses in bad futures.",
            "从“百年一遇”水平线向右找到曲线，再向下读数：即该层只有 1 % 的情景会超过的损失。红点标出银行的百年一遇损失。曲线越靠右，坏情景下的损失越大。",
        ),
        Chart::LossDistribution => (
            "How the loss of each layer varies",
            "各层损失的分布",
            "How often each amount occurred across the futures. The dashed line is the mean, the red line the 1-in-100 level.",
            "各金额在所有情景中出现的频率。虚线为均值，红线为百年一遇水平。",
        ),
        Chart::FundBalance => (
            "Compensation fund balance over the years",
            "风险补偿金余额的变化",
            "What is left in each bank's compensation account at each year end. The shaded band holds the middle 90 % of futures; the dashed red line is the balance only 1 future in 100 falls below. A line reaching 0 means the fund ran dry.",
            "各银行补偿金账户每年年末的余额。阴影带包含中间 90 % 的情景；红色虚线为只有 1 % 的情景会低于的余额。触及 0 表示补偿金被用尽。",
        ),
        Chart::Sizing => (
            "Deposit ratio against the chance of running dry",
            "存入比例与用尽概率",
            "How often each account would run dry with a smaller or bigger deposit (a higher ratio is a smaller deposit). Where a curve crosses the 1 % line is the highest ratio that still meets the target; the dashed vertical line is today's ratio.",
            "不同存入金额下各账户被用尽的频率（比值越大，存入越少）。曲线与 1 % 线的交点即仍能达到目标的最高比例；竖虚线为现行比例。",
        ),
        Chart::Convergence => (
            "Are there enough simulated futures?",
            "模拟次数是否足够",
            "The average as more futures are simulated, with its 95 % confidence band. A narrow, flat band means the means are settled; the 1-in-100 figures need more futures than the means do.",
            "随模拟次数增加的累计均值及其 95 % 置信区间。区间窄且平稳说明均值已稳定；百年一遇等尾部数字需要比均值更多的模拟次数。",
        ),
    };
    (lang.pick(en_t, zh_t), lang.pick(en, zh))
}

fn charts_section(h: &mut Html, d: &RunData, drawn: &[(Chart, String)], lang: Lang) {
    section(h, &[], lang.pick("Charts", "图表"), |h| {
        for &c in &Chart::ALL {
            let (title, caption) = chart_caption(c, lang);
            let Some((_, svg)) = drawn.iter().find(|(x, _)| *x == c) else {
                if c == Chart::Sizing && !c.available(d) {
                    h.text_el(
                        "p",
                        &[("class", "note")],
                        lang.pick(
                            "The sizing curve needs size_curve.csv, which this run did not write.",
                            "存入比例曲线需要 size_curve.csv，本次运行未生成。",
                        ),
                    );
                }
                continue;
            };
            h.el("figure", &[("id", c.stem())], |h| {
                h.text_el("h3", &[], title);
                // The picture named for screen readers; CSS scales it to the page.
                h.el("div", &[("class", "chart"), ("role", "img"), ("aria-label", title)], |h| h.raw(PreEscaped(svg)));
                h.text_el("figcaption", &[], caption);
            });
            h.line();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_by_interval() {
        let p = |p, lo, hi| Prob { p, lo, hi, k: 0, n: 0 };
        assert_eq!(verdict(&p(0.0, 0.0, 0.0019)), Verdict::Meets);
        assert_eq!(verdict(&p(0.0, 0.0, 0.0126)), Verdict::Unclear);
        assert_eq!(verdict(&p(0.03, 0.02, 0.04)), Verdict::Fails);
    }

    #[test]
    fn assumptions_read_the_typed_scenario() {
        let y = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &[]).unwrap();
        let rows = assumptions(&y, Lang::En);
        let get = |k: &str| rows.iter().find(|(name, _)| name.starts_with(k)).map(|(_, v)| v.as_str());
        assert_eq!(get("Compensation deposit ratio"), Some("10:1"));
        assert_eq!(get("Government : bank split"), Some("6 : 4"));
        assert_eq!(get("Who bears a shortfall"), Some("the county budget"));
        assert!(get("Natural hazards").is_some_and(|v| v.contains(" /yr")));
    }

    /// An importance-sampled run's page, table and exceedance chart: the
    /// weights are described, probabilities of running dry come with their
    /// weighted intervals, and the exceedance axis reaches below 1 / trials.
    /// The 30 trials of largest bank loss weigh 0.05 each (as if the tail
    /// had been sampled 20 times too often), the rest 1.
    #[test]
    fn a_weighted_run_shows_its_tail_and_its_weights() {
        use crate::analysis::summary::{self, Collected};
        use crate::report::run::{RunResults, Tables, Trials};
        let set = [crate::scenario::Override { path: "funds.compensation.deposit_ratio".into(), value: "300".into() }];
        let y = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &set).unwrap();
        let m = crate::model::Model::build(y.clone(), "wangcang", &[]).unwrap();
        let mut loss = Vec::new();
        let _ = crate::sim::engine::simulate(&m, 3, 0..300, 2, &|_| {}, |b| {
            loss.extend(b.trials.iter().map(|r| r.flows.bank_total().0));
            Ok::<(), std::convert::Infallible>(())
        });
        let mut order: Vec<usize> = (0..loss.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(loss[i]), i));
        let mut weight = vec![1.0; loss.len()];
        for &i in &order[..30] {
            weight[i] = 0.05;
        }
        let (mut c, mut t) = (Collected::new(&m), Trials::default());
        let _ = crate::sim::engine::simulate(&m, 3, 0..300, 2, &|_| {}, |mut b| {
            b.weights = b.trials.iter().map(|r| weight[r.trial as usize]).collect();
            c.push(&b);
            t.rows.extend(b.trials.iter().map(|r| r.flows));
            t.weights.extend_from_slice(&b.weights);
            Ok::<(), std::convert::Infallible>(())
        });
        let s = summary::build(&m, 3, &c);
        let imp = s.importance.clone().expect("weighted");
        assert!(!imp.degenerate, "{imp:?}");
        let dry = &s.adequacy.accounts[0].exhausted;
        assert!(dry.p > 0.0 && dry.lo < dry.p && dry.p < dry.hi, "{dry:?}");
        let table = crate::report::text::run_table(&s, &crate::report::labels::Labels::of(&y), Lang::En);
        assert!(table.contains("importance sampled") && table.contains("effective sample size"), "{table}");
        assert!(!table.contains("WARNING"));
        let d = RunData::of_results(
            std::path::Path::new("."),
            RunResults { summary: s, sizing: None, curve: None },
            Some(y),
            Some(Tables { trials: t, balance_sums: Vec::new() }),
        )
        .unwrap();
        let en = render(&d, Lang::En, "riskshare run").unwrap();
        assert!(
            en.contains("id=\"importance\"") && en.contains("delta-method intervals"),
            "the page describes its weights"
        );
        let zh = render(&d, Lang::Zh, "riskshare run").unwrap();
        assert!(zh.contains("有效样本量") && zh.contains("delta 方法区间"));
        // Weighted, the curve is known below 1 in 300: its axis says 1 in 1,000.
        let svg = charts::render_svg(Chart::Exceedance, &d, Lang::En).unwrap();
        assert!(svg.contains("1 in 1,000"), "the exceedance axis stops at 1 / trials");
        // Drawn once per run and language: what the page reused is what a
        // first drawing gives, in each language.
        let fresh = || RunData { drawn: Default::default(), ..d.clone() };
        for chart in [Chart::Exceedance, Chart::FundBalance, Chart::Waterfall] {
            for lang in [Lang::En, Lang::Zh] {
                let again = charts::render_svg(chart, &d, lang).unwrap();
                assert_eq!(again, charts::render_svg(chart, &fresh(), lang).unwrap());
                assert_eq!(
                    again.contains("超越概率"),
                    chart == Chart::Exceedance && lang == Lang::Zh,
                    "{chart:?} {lang:?}"
                );
            }
        }
        assert!(charts::render_svg(Chart::Exceedance, &fresh(), Lang::Zh).unwrap().contains("超越概率"));
    }
}
