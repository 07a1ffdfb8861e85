//! The stress test's `report.html`: baseline and stressed side by side, for
//! a bank's risk officer or a finance bureau. It says what was applied (the
//! overlay or preset in words, the `--set` overrides), then the headline
//! figures, the fiscal cost part by part (so that a cost that falls says
//! why), each bank's deposit, draw, chance of running dry and loss, two
//! charts, and the command that repeats it.
//!
//! Like the run's page ([`crate::report::html`]) it renders a typed result,
//! [`StressReport`], and computes no statistic of its own; it has no scripts
//! and no external references, and its charts are inline SVG.

use anyhow::Result;

use crate::analysis::policy::{BankFigures, MeanCi, PolicyFigures};
use crate::analysis::stress::StressReport;
use crate::analysis::summary::Prob;
use crate::report::charts::{self, layer_label};
use crate::report::format::{Lang, group, pct};
use crate::report::labels::{Kind, Labels};
use crate::report::markup::{Attrs, Html, PreEscaped};
use crate::report::page::{self, section, table};
use crate::report::text::{fiscal_change_sentence, fiscal_part_label, signed, stress_lines};

/// The page as a string; `command` is the command line that produced it.
pub fn render(r: &StressReport, labels: &Labels, lang: Lang, command: &str) -> Result<String> {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    // Drawn first: the only part that can fail.
    let layers = charts::stress_layers_svg(r, lang)?;
    let fiscal = charts::stress_fiscal_svg(r, lang)?;
    let title = match lang {
        Lang::En => format!("{}: stress test", labels.title(&r.scenario, lang)),
        Lang::Zh => format!("{}：压力测试报告", labels.title(&r.scenario, lang)),
    };
    Ok(page::page(lang, &title, |h| {
        h.el("header", &[], |h| {
            h.text_el("h1", &[], &title);
            h.text_el("p", &[("class", "meta")], &run_line(r, lang));
        });
        h.line();
        applied_section(h, r, labels, lang);
        headline_section(h, r, lang);
        fiscal_section(h, r, lang);
        banks_section(h, r, labels, lang);
        section(h, &[], l("Charts", "图表"), |h| {
            figure(
                h,
                "stress-layers",
                l("Expected loss by layer", "各层预期损失"),
                &layers,
                l(
                    "Each pair of bars is the mean over the simulated futures of one layer: grey without the stress, red with it. Both sides run the same futures (the same seed), so the difference is the stress's.",
                    "每对柱为某一层在所有模拟情景中的平均值：灰色为无压力，红色为有压力。两侧使用相同的模拟情景（相同随机种子），差异即来自压力。",
                ),
            );
            figure(
                h,
                "stress-fiscal",
                l("What the stress does to the fiscal cost", "压力对财政成本的影响"),
                &fiscal,
                l(
                    "Each bar is the change in one part of the budget's mean cost (stressed less baseline); the last bar is their sum. Orange parts rise, blue parts fall.",
                    "每根柱为财政平均成本某一部分的变化（压力减基准）；最后一根为合计。橙色为增加，蓝色为减少。",
                ),
            );
        });
        footer(h, r, lang, command);
    }))
}

fn run_line(r: &StressReport, lang: Lang) -> String {
    let n = group(r.trials as f64, 0);
    match lang {
        Lang::En => format!(
            "{n} simulated futures on each side · seed {} · the same futures with and without the stress",
            r.seed
        ),
        Lang::Zh => format!("每侧模拟 {n} 次 · 随机种子 {} · 有无压力使用相同的模拟情景", r.seed),
    }
}

/// A row: a heading cell, then cells holding numbers.
fn row(h: &mut Html, attrs: Attrs, label: &str, cells: &[String]) {
    h.el("tr", attrs, |h| {
        h.text_el("th", &[], label);
        for c in cells {
            h.text_el("td", &[("class", "num")], c);
        }
    });
}

/// A figure and, on a second line, its 95 % interval.
type WithCi = (String, String);

fn mean_ci(m: &MeanCi) -> WithCi {
    (group(m.mean, 0), format!("{} – {}", group(m.lo, 0), group(m.hi, 0)))
}

fn prob_ci(p: &Prob) -> WithCi {
    (pct(p.p), format!("{} – {}", pct(p.lo), pct(p.hi)))
}

/// A cell holding a figure over its interval.
fn ci_cell(h: &mut Html, x: &WithCi) {
    h.el("td", &[("class", "num")], |h| {
        h.text(&x.0);
        h.void("br", &[]);
        h.text_el("span", &[("class", "ci")], &x.1);
    });
}

fn applied_section(h: &mut Html, r: &StressReport, labels: &Labels, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    section(h, &[("id", "applied")], l("What was applied", "施加的压力与参数"), |h| {
        h.el("p", &[], |h| {
            h.text(l("Stress: ", "压力："));
            h.text_el("code", &[], &r.applied.overlay);
        });
        let lines = stress_lines(&r.stress, labels, lang);
        if !lines.is_empty() {
            h.el("ul", &[], |h| {
                for line in &lines {
                    h.text_el("li", &[], line);
                }
            });
        }
        h.el("p", &[], |h| {
            h.text(l("Overrides (--set), applied to both sides: ", "参数覆盖（--set，两侧均适用）："));
            if r.applied.set.is_empty() {
                h.text(l("none.", "无。"));
            }
        });
        if !r.applied.set.is_empty() {
            h.el("ul", &[("class", "overrides")], |h| {
                for s in &r.applied.set {
                    h.el("li", &[], |h| h.text_el("code", &[], s));
                }
            });
        }
    });
}

fn headline_section(h: &mut Html, r: &StressReport, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    section(h, &[("id", "headline")], l("The whole scheme", "整体结果"), |h| {
        h.text_el(
            "p",
            &[],
            l(
                "Yuan over the horizon; 1 in 100 is the level exceeded in 1 % of the futures.",
                "单位：元，期限合计；百年一遇指只有 1 % 的情景会超过的水平。",
            ),
        );
        let heads = [
            l("", ""),
            l("baseline, mean", "基准均值"),
            l("stressed, mean", "压力均值"),
            l("change", "变化"),
            l("baseline, 1 in 100", "基准百年一遇"),
            l("stressed, 1 in 100", "压力百年一遇"),
        ];
        table(h, &heads, |h| {
            for (name, b, s) in &r.totals {
                let label = layer_label(name, lang);
                let label = if label.is_empty() { name.as_str() } else { label };
                let attrs: Attrs = if name == "bank_total" { &[("class", "hl")] } else { &[] };
                row(
                    h,
                    attrs,
                    label,
                    &[group(b.mean, 0), group(s.mean, 0), signed(s.mean - b.mean), group(b.p99, 0), group(s.p99, 0)],
                );
            }
        });
    });
}

fn fiscal_section(h: &mut Html, r: &StressReport, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let (b, s) = (&r.baseline_policy, &r.stressed_policy);
    section(h, &[("id", "fiscal")], l("The fiscal cost, part by part", "财政成本的构成"), |h| {
        h.text_el("p", &[("class", "key")], &fiscal_change_sentence(&b.fiscal_cost, &s.fiscal_cost, lang));
        let heads = [
            l("mean over the horizon (CNY)", "期限内均值（元）"),
            l("baseline", "基准"),
            l("stressed", "压力"),
            l("change", "变化"),
        ];
        table(h, &heads, |h| {
            for ((key, x), (_, y)) in b.fiscal_cost.parts().iter().zip(s.fiscal_cost.parts()) {
                row(h, &[], fiscal_part_label(key, lang), &[group(*x, 0), group(y, 0), signed(y - x)]);
            }
            let (x, y) = (b.fiscal_cost.mean, s.fiscal_cost.mean);
            row(h, &[("class", "hl")], l("fiscal cost", "财政成本"), &[group(x, 0), group(y, 0), signed(y - x)]);
            let (x, y) = (b.budget_committed, s.budget_committed);
            row(h, &[], l("budget money committed", "财政资金投入"), &[group(x, 0), group(y, 0), signed(y - x)]);
            let lev = |p: &PolicyFigures| p.fiscal_leverage.map_or("-".into(), |x| group(x, 2));
            row(
                h,
                &[],
                l("loans per budget yuan (fiscal leverage)", "财政杠杆（每元财政资金对应贷款）"),
                &[lev(b), lev(s), String::new()],
            );
        });
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "Fiscal cost = compensation fund draws + shortfall borne by the budget + top-ups + interest subsidy + premium subsidy. Budget money committed = deposits, budget-paid village funds and society capital, and the expected interest subsidy, top-ups and shortfall; the leverage is the loan book over it.",
                "财政成本 = 补偿金支付 + 财政承担的缺口 + 补偿金补充 + 贴息 + 保费补贴。财政资金投入 = 补偿金存入、财政出资的村级互助金和互助社资金，加上预期的贴息、补充资金和缺口；财政杠杆为贷款总额与之相比。",
            ),
        );
    });
}

fn banks_section(h: &mut Html, r: &StressReport, labels: &Labels, lang: Lang) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let (b, s) = (&r.baseline_policy, &r.stressed_policy);
    section(h, &[("id", "banks")], l("Each bank", "各银行"), |h| {
        if b.banks.is_empty() {
            h.text_el("p", &[], l("This scenario has no compensation fund account.", "本情景没有风险补偿金账户。"));
            return;
        }
        h.text_el("p", &[], l(
            "Each bank's compensation accounts, all its counties together: the deposit, the expected draw on the fund, the chance that the fund runs dry and the bank's own expected loss (its share plus any shortfall it bears), with 95 % intervals.",
            "各银行的风险补偿金账户（各县合计）：存入金额、补偿金平均支付、补偿金用尽概率，以及银行自身的平均损失（分担部分加上由银行承担的缺口），括号内为 95 % 置信区间。",
        ));
        let heads = [
            l("bank", "银行"),
            l("deposit (CNY)", "存入（元）"),
            l("expected draw, baseline", "平均支付（基准）"),
            l("expected draw, stressed", "平均支付（压力）"),
            l("runs dry, baseline", "用尽概率（基准）"),
            l("runs dry, stressed", "用尽概率（压力）"),
            l("bank's loss, baseline", "银行损失（基准）"),
            l("bank's loss, stressed", "银行损失（压力）"),
        ];
        table(h, &heads, |h| {
            for x in &b.banks {
                let y: Option<&BankFigures> = s.banks.iter().find(|y| y.bank == x.bank);
                let or = |f: &dyn Fn(&BankFigures) -> WithCi| y.map_or(("-".into(), String::new()), f);
                h.el("tr", &[], |h| {
                    h.text_el("th", &[], labels.get(Kind::Bank, &x.bank, lang).unwrap_or(x.name()));
                    h.text_el("td", &[("class", "num")], &group(x.deposit, 0));
                    for cell in [
                        mean_ci(&x.draws),
                        or(&|y| mean_ci(&y.draws)),
                        prob_ci(&x.dry),
                        or(&|y| prob_ci(&y.dry)),
                        mean_ci(&x.bank_loss),
                        or(&|y| mean_ci(&y.bank_loss)),
                    ] {
                        ci_cell(h, &cell);
                    }
                });
            }
        });
    });
}

fn figure(h: &mut Html, id: &'static str, title: &str, svg: &str, caption: &str) {
    h.el("figure", &[("id", id)], |h| {
        h.text_el("h3", &[], title);
        h.el("div", &[("class", "chart"), ("role", "img"), ("aria-label", title)], |h| h.raw(PreEscaped(svg)));
        h.text_el("figcaption", &[], caption);
    });
    h.line();
}

fn footer(h: &mut Html, r: &StressReport, lang: Lang, command: &str) {
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    h.el("footer", &[], |h| {
        h.text_el("h2", &[], l("Reproducibility", "可复现性"));
        h.text_el(
            "p",
            &[],
            &match lang {
                Lang::En => format!(
                    "Seed {}, {} trials on each side. The same scenario, overlay, overrides, seed and number of trials give the same numbers on any machine. Command:",
                    r.seed,
                    group(r.trials as f64, 0)
                ),
                Lang::Zh => format!(
                    "随机种子 {}，每侧模拟 {} 次。相同的情景、压力、参数覆盖、种子和模拟次数在任何机器上得到相同结果。命令：",
                    r.seed,
                    group(r.trials as f64, 0)
                ),
            },
        );
        h.el("p", &[], |h| h.text_el("code", &[], command));
        h.text_el(
            "p",
            &[("class", "note")],
            l(
                "stress.json beside this report holds every figure, each account's included.",
                "本报告旁的 stress.json 包含全部数字（含各账户）。",
            ),
        );
    });
    h.line();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page names what was applied, escaped, in either language.
    #[test]
    fn the_page_lists_the_overrides_and_the_overlay() {
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &[]).unwrap();
        let m = crate::model::Model::build(s, "wangcang", &[]).unwrap();
        let stress = crate::analysis::stress::preset("flood-year", &m.scenario).unwrap();
        let mut c = crate::analysis::summary::Collected::new(&m);
        let _ = crate::sim::engine::simulate(&m, 3, 0..50, 1, &|_| {}, |b| {
            c.push(&b);
            Ok::<(), std::convert::Infallible>(())
        });
        let applied = crate::analysis::stress::Applied {
            overlay: "--preset flood-year".into(),
            set: vec!["economy.rho=0.2".into(), "name=<x>".into()],
        };
        let r = crate::analysis::stress::report(&m, &m, &stress, applied, 3, &c, &c);
        let labels = Labels::of(&m.scenario);
        for lang in [Lang::En, Lang::Zh] {
            let page = render(&r, &labels, lang, "riskshare stress --preset flood-year").unwrap();
            assert!(page.contains("economy.rho=0.2") && page.contains("name=&lt;x&gt;"));
            assert!(page.contains("--preset flood-year"));
            assert_eq!(page.matches("<svg").count(), 2);
        }
        let zh = render(&r, &labels, Lang::Zh, "").unwrap();
        assert!(zh.contains("财政成本的构成") && zh.contains("lang=\"zh-CN\""));
        // Display names in the page's language, the font embedded.
        assert!(zh.contains("旺苍县基准情景") && zh.contains("信用联社") && zh.contains("洪涝"));
        assert!(zh.contains("@font-face"));
    }
}
