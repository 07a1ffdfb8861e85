//! Charts of a run (docs/model.md section 5), drawn with plotters as PNG and
//! SVG from a [`RunData`] (a run's results in memory or read back from its
//! folder), and the charts of the commands that compare variants: the
//! comparison's bars and the sweep's heat map.
//!
//! The data series behind each chart are pure functions, tested on their
//! own. Statistics (means, quantiles, intervals) come from
//! [`crate::analysis`]: the summary's fields where it has them, else
//! [`stats`]; nothing is estimated twice.
//!
//! Text: every chart is laid out with the font embedded in the binary
//! ([`crate::report::font`], Chinese included) through
//! [`crate::report::glyphs::Text`], so PNGs read the same in either language
//! on a machine with no fonts installed, and SVGs, whose text stays text,
//! name that font first (report.html embeds it).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::compare::Comparison;
use crate::analysis::policy::PolicyFigures;
use crate::analysis::sizing::CurvePoint;
use crate::analysis::stats::{self, RunningMean};
use crate::analysis::stress::StressReport;
use crate::analysis::summary::{CONFIDENCE, Summary};
use crate::analysis::sweep::{Axis, CellRow};
use crate::report::font;
pub use crate::report::format::Lang;
use crate::report::format::{MoneyUnit, group, pct, ratio};
use crate::report::glyphs::Typeset;
use crate::report::labels::{Kind, Labels};
use crate::report::run::{RunData, YearBalances, load_run};

/// The target the finance bureau sets for each compensation account: run dry
/// in at most 1 % of futures (docs/model.md section 1).
pub const DEPLETION_TARGET: f64 = 0.01;

/// Column names of the waterfall, in the order the layers pay (docs/model.md 3.8,
/// 3b): the exposure, then what each layer takes off it, the bank's share and
/// the societies' capital last.
pub const WATERFALL: [&str; 9] = [
    "exposure",
    "collateral",
    "insurance",
    "guarantee",
    "village_fund",
    "comp_fund",
    "shortfall",
    "bank_loss",
    "society_loss",
];

/// Layers of mechanisms a scenario may not use (docs/model.md 3b): tables written
/// before they existed lack them, and charts leave them out when they are zero.
pub const OPTIONAL_LAYERS: [&str; 2] = ["guarantee", "society_loss"];

/// Columns drawn in the loss-distribution and exceedance charts: the layers,
/// with the bank's total loss (its share plus any shortfall it bears) in place
/// of its share, and the budget's cost.
pub const DISTRIBUTION_LAYERS: [&str; 8] =
    ["exposure", "collateral", "insurance", "village_fund", "comp_fund", "shortfall", "bank_total", "fiscal_cost"];

/// A layer's name for people.
pub fn layer_label(col: &str, lang: Lang) -> &'static str {
    let (en, zh) = match col {
        "exposure" => ("Exposure at default", "违约敞口"),
        "collateral" => ("Collateral", "抵质押物回收"),
        "insurance" => ("Insurance", "保险赔付"),
        "village_fund" => ("Village fund", "村级风险互助金"),
        "comp_fund" => ("Compensation fund", "风险补偿金"),
        "shortfall" => ("Shortfall", "补偿金缺口"),
        "bank_loss" => ("Bank's share", "银行分担"),
        "guarantee" => ("Joint guarantee", "联保代偿"),
        "society_loss" => ("Societies' capital", "互助社资金损失"),
        "bank_total" => ("Bank's total loss", "银行总损失"),
        "fiscal_cost" => ("Fiscal cost", "财政成本"),
        "interest_subsidy" => ("Interest subsidy", "贴息"),
        "premium_subsidy" => ("Premium subsidy", "保费补贴"),
        "top_ups" => ("Fund top-ups", "补偿金补充"),
        "shortfall_to_bank" => ("Shortfall borne by banks", "银行承担的缺口"),
        _ => ("", ""),
    };
    lang.pick(en, zh)
}

/// One colour per layer, the same in every chart.
fn layer_color(col: &str) -> RGBColor {
    match col {
        "exposure" => RGBColor(90, 90, 90),
        "collateral" => RGBColor(140, 86, 75),
        "insurance" => RGBColor(31, 119, 180),
        "village_fund" => RGBColor(44, 160, 44),
        "comp_fund" => RGBColor(255, 127, 14),
        "shortfall" => RGBColor(148, 103, 189),
        "bank_loss" | "bank_total" => RGBColor(214, 39, 40),
        "fiscal_cost" => RGBColor(23, 190, 207),
        "guarantee" => RGBColor(188, 189, 34),
        "society_loss" => RGBColor(227, 119, 194),
        _ => RGBColor(0, 0, 0),
    }
}

/// Colours for series that are not layers (banks, accounts).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

// ---------------------------------------------------------------------------
// Data series (pure)
// ---------------------------------------------------------------------------

/// The empirical exceedance curve: for every distinct value `x` (ascending,
/// in yuan), the share of trials whose value is strictly greater, `P(X > x)`.
/// The probabilities are non-increasing and the last is 0.
pub fn exceedance_series(values_fen: &[i64]) -> Vec<(f64, f64)> {
    let mut v = values_fen.to_vec();
    v.sort_unstable();
    stats::exceedance_curve(&v).into_iter().map(|(x, p)| (x as f64 / 100.0, p)).collect()
}

/// One bin of a histogram: `[lo, hi)` in yuan (the last bin includes `hi`)
/// and the share of trials in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub share: f64,
}

/// Histogram of `values_fen` in `bins` equal bins from the minimum to the
/// maximum; one bin when all values are equal. The shares sum to 1.
pub fn histogram(values_fen: &[i64], bins: usize) -> Vec<Bin> {
    let (Some(&min), Some(&max)) = (values_fen.iter().min(), values_fen.iter().max()) else {
        return vec![];
    };
    let n = values_fen.len() as f64;
    if min == max || bins <= 1 {
        return vec![Bin { lo: min as f64 / 100.0, hi: max as f64 / 100.0, share: 1.0 }];
    }
    let width = (max - min) as f64 / bins as f64;
    let mut counts = vec![0u64; bins];
    for &x in values_fen {
        let k = (((x - min) as f64 / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(k, &c)| Bin {
            lo: (min as f64 + k as f64 * width) / 100.0,
            hi: (min as f64 + (k + 1) as f64 * width) / 100.0,
            share: c as f64 / n,
        })
        .collect()
}

/// One bar of the waterfall: a layer's expected payment, drawn from `top`
/// down to `bottom` (yuan). The exposure's bar runs from its mean down to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct WaterfallBar {
    pub layer: &'static str,
    pub top: f64,
    pub bottom: f64,
}

impl WaterfallBar {
    pub fn value(&self) -> f64 {
        self.top - self.bottom
    }
}

/// The expected loss falling through the layers: the exposure's bar, then
/// each layer of [`WATERFALL`] taking its mean off what is left. Because
/// every trial conserves money (docs/model.md 4), the last bar ends at 0 up to the
/// rounding of the means to the fen. `means` maps column names to means in
/// yuan; a missing layer counts as 0.
pub fn waterfall_series(means: &BTreeMap<String, f64>) -> Vec<WaterfallBar> {
    let get = |k: &str| means.get(k).copied().unwrap_or(0.0);
    let exposure = get("exposure");
    let mut bars = vec![WaterfallBar { layer: WATERFALL[0], top: exposure, bottom: 0.0 }];
    let mut level = exposure;
    for layer in &WATERFALL[1..] {
        let v = get(layer);
        bars.push(WaterfallBar { layer, top: level, bottom: level - v });
        level -= v;
    }
    bars
}

/// The running mean of a money column in trial order, in yuan, with its
/// 95 % interval ([`stats::running_mean`]), at about `points` points: every
/// k-th trial and the last.
pub fn running_mean_yuan(values_fen: &[i64], points: usize) -> Vec<RunningMean> {
    let step = values_fen.len().div_ceil(points.max(1));
    let yuan = |x: f64| x / 100.0;
    stats::running_mean(values_fen, CONFIDENCE, step)
        .into_iter()
        .map(|p| RunningMean { n: p.n, mean: yuan(p.mean), lo: yuan(p.lo), hi: yuan(p.hi) })
        .collect()
}

/// Quantiles of a bank's balance at the end of each year, in yuan. Year 0 is
/// the opening deposit (the same in every trial).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPoint {
    pub year: u32,
    pub p1: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

/// The median, 5-95 % band and 1 % quantile of a bank's balance by year
/// (lower empirical quantiles, as in the summary: [`stats::quantile_sorted`]).
pub fn balance_band(b: &YearBalances) -> Vec<BandPoint> {
    let open = b.opening as f64 / 100.0;
    let mut out = vec![BandPoint { year: 0, p1: open, p5: open, p50: open, p95: open }];
    for (t, vals) in b.by_year.iter().enumerate() {
        let mut v = vals.clone();
        v.sort_unstable();
        let q = |bp| stats::quantile_sorted(&v, bp) as f64 / 100.0;
        out.push(BandPoint { year: t as u32 + 1, p1: q(100), p5: q(500), p50: q(5000), p95: q(9500) });
    }
    out
}

/// Keeps at most about `max` points of a long series for drawing: every k-th
/// point, and always the last. The series' shape is unchanged at chart scale.
fn thin<T: Copy>(points: &[T], max: usize) -> Vec<T> {
    if points.len() <= max {
        return points.to_vec();
    }
    let k = points.len().div_ceil(max);
    let mut out: Vec<T> = points.iter().step_by(k).copied().collect();
    if (points.len() - 1) % k != 0 {
        out.push(points[points.len() - 1]);
    }
    out
}

/// Thins an exceedance curve but keeps every point of its tail (P < 1 %),
/// where the 1-in-100 and 1-in-200 levels are read.
fn thin_exceedance(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let split = points.partition_point(|&(_, p)| p >= 0.01);
    let mut out = thin(&points[..split], max);
    out.extend_from_slice(&points[split..]);
    out
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// The charts a run has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    LossDistribution,
    Exceedance,
    Waterfall,
    FundBalance,
    Sizing,
    Convergence,
}

impl Chart {
    pub const ALL: [Chart; 6] = [
        Chart::Waterfall,
        Chart::Exceedance,
        Chart::LossDistribution,
        Chart::FundBalance,
        Chart::Sizing,
        Chart::Convergence,
    ];

    /// File name without extension.
    pub fn stem(self) -> &'static str {
        match self {
            Chart::LossDistribution => "loss_distribution",
            Chart::Exceedance => "exceedance",
            Chart::Waterfall => "waterfall",
            Chart::FundBalance => "fund_balance",
            Chart::Sizing => "sizing",
            Chart::Convergence => "convergence",
        }
    }

    /// Whether the run has the data for this chart.
    pub fn available(self, d: &RunData) -> bool {
        match self {
            Chart::FundBalance => !d.balances.is_empty(),
            Chart::Sizing => d.size_curve.as_ref().is_some_and(|c| !c.is_empty()),
            _ => d.trials.n() > 0,
        }
    }

    fn size(self) -> (u32, u32) {
        match self {
            Chart::LossDistribution => (1400, 820),
            Chart::FundBalance => (1300, 760),
            Chart::Convergence => (1300, 560),
            _ => (1200, 700),
        }
    }

    fn draw<DB: DrawingBackend>(self, root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        match self {
            Chart::LossDistribution => draw_loss_distribution(root, d, look),
            Chart::Exceedance => draw_exceedance(root, d, look),
            Chart::Waterfall => draw_waterfall(root, d, look),
            Chart::FundBalance => draw_fund_balance(root, d, look),
            Chart::Sizing => draw_sizing(root, d, look),
            Chart::Convergence => draw_convergence(root, d, look),
        }
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Font family that SVG text names: the embedded font first (report.html
/// carries it as `@font-face`), then what a reader's machine may have.
const SVG_FAMILY: &str =
    "riskshare Sans, Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif";

/// Registers the embedded font under the family names the charts use:
/// plotters measures some text (chart captions) through its font registry
/// rather than the backend.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for name in [font::FAMILY, SVG_FAMILY, "sans-serif"] {
            // The bytes are the font a unit test of report::font parses; a
            // failure here would only make text disappear, which the PNG
            // tests would catch.
            let _ = plotters::style::register_font(name, FontStyle::Normal, font::SANS);
        }
    });
}

/// How a chart is drawn: the language of its labels and the font family.
struct Look {
    lang: Lang,
    family: &'static str,
}

impl Look {
    fn font(&self, size: u32) -> FontDesc<'static> {
        FontDesc::new(FontFamily::Name(self.family), size as f64, FontStyle::Normal)
    }
    fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        self.lang.pick(en, zh)
    }
    /// A legend label (the backend measures it as drawn).
    fn legend(&self, label: &str) -> String {
        label.to_string()
    }
    /// Chart title with the run's size, e.g. "... (2,000 futures, 3 years)".
    fn futures(&self, d: &RunData) -> String {
        let n = group(d.trials.n() as f64, 0);
        let h = d.summary.horizon_years;
        match self.lang {
            Lang::En => format!("{n} simulated futures of {h} year{}", if h == 1 { "" } else { "s" }),
            Lang::Zh => format!("{n} 次模拟，每次 {h} 年"),
        }
    }
    fn over_horizon(&self, d: &RunData) -> String {
        let h = d.summary.horizon_years;
        match self.lang {
            Lang::En => format!("over {h} year{}", if h == 1 { "" } else { "s" }),
            Lang::Zh => format!("{h} 年合计"),
        }
    }
}

/// A two-point line: a marker line across a chart.
fn seg(a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
    vec![a, b]
}

/// Upper end of an axis: `max` with a little headroom, never an empty range.
fn headroom(max: f64) -> f64 {
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// Loss distribution: one histogram panel per layer, the mean and the 1-in-100
/// loss marked.
fn draw_loss_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &RunData,
    look: &Look,
) -> DrawResult<DB> {
    let title = format!("{} ({})", look.t("Loss distribution by layer", "各层损失分布"), look.futures(d));
    let body = root.margin(8, 0, 0, 0).titled(&title, look.font(26))?;
    let (legend, grid) = body.split_vertically(34);
    // A figure-wide legend: the markers mean the same in every panel.
    let items = [
        (look.t("mean", "均值"), RGBColor(20, 20, 20), true),
        (look.t("1 in 100 (99 % quantile)", "百年一遇（99 % 分位数）"), RGBColor(200, 0, 0), false),
    ];
    let mut x = 60;
    for (label, color, dashed) in items {
        let style = color.stroke_width(2);
        if dashed {
            for k in 0..3 {
                legend.draw(&PathElement::new(vec![(x + k * 10, 17), (x + k * 10 + 6, 17)], style))?;
            }
        } else {
            legend.draw(&PathElement::new(vec![(x, 17), (x + 26, 17)], style))?;
        }
        legend.draw(&Text::new(label.to_string(), (x + 34, 9), look.font(16)))?;
        x += 60 + (label.chars().count() as i32) * 9;
    }
    let share_desc = look.t("share of futures (%)", "情景占比（%）");
    for (panel, col) in grid.split_evenly((2, 4)).iter().zip(DISTRIBUTION_LAYERS) {
        let (Some(values), Some(stat)) = (d.trials.column(col), d.summary.layers.get(col)) else { continue };
        let bins = histogram(&values, 30);
        let (mean, p99) = (stat.mean, stat.p99);
        let extreme = |x: Option<&i64>| x.copied().unwrap_or(0) as f64 / 100.0;
        let (lo, hi) = (extreme(values.iter().min()), extreme(values.iter().max()));
        if hi == lo {
            // A layer that pays the same in every future (usually never): say so
            // rather than draw an axis around one value.
            let (w, h) = panel.dim_in_pixel();
            let p = panel.margin(8, 8, 8, 8);
            p.draw(&Text::new(
                layer_label(col, look.lang).to_string(),
                (w as i32 / 2 - 8, 4),
                look.font(17).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
            let what = if lo == 0.0 {
                look.t("never paid in any future", "所有情景中均未发生").to_string()
            } else {
                format!(
                    "{} {} {}",
                    look.t("the same in every future:", "所有情景相同："),
                    group(lo, 2),
                    look.t("CNY", "元")
                )
            };
            p.draw(&Text::new(
                what,
                (w as i32 / 2 - 8, h as i32 / 2),
                look.font(16).color(&BLACK.mix(0.6)).pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
            continue;
        }
        let (x0, x1) = (lo, hi + (hi - lo) * 0.02);
        let unit = MoneyUnit::for_max(x1.abs().max(x0.abs()));
        // Headroom above the tallest bar keeps a strip for the figures note.
        let ymax = bins.iter().map(|b| b.share).fold(0.0, f64::max) * 100.0 * 1.3;
        let caption = format!("{} ({})", layer_label(col, look.lang), unit.name(look.lang));
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, look.font(17))
            .margin(8)
            .margin_right(16)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, 0.0..ymax.max(1.0))?;
        let span = x1 - x0;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_labels(4)
            .y_labels(5)
            .x_label_formatter(&|v| unit.tick(*v, span))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(look.font(13))
            .y_desc(share_desc)
            .axis_desc_style(look.font(13))
            .draw()?;
        let color = layer_color(col);
        chart.draw_series(
            bins.iter().map(|b| Rectangle::new([(b.lo, 0.0), (b.hi, b.share * 100.0)], color.mix(0.75).filled())),
        )?;
        let top = ymax.max(1.0);
        // Marker lines stop below the note strip so they never cross its text.
        let line_top = top * 0.86;
        chart.draw_series(DashedLineSeries::new(
            seg((mean, 0.0), (mean, line_top)),
            6,
            4,
            RGBColor(20, 20, 20).stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(seg((p99, 0.0), (p99, line_top)), RGBColor(200, 0, 0).stroke_width(2)))?;
        let note = format!(
            "{} {}   {} {}",
            look.t("mean", "均值"),
            unit.tick(mean, span),
            look.t("1 in 100:", "百年一遇"),
            unit.tick(p99, span)
        );
        chart.draw_series(std::iter::once(Text::new(
            note,
            (x1, top),
            look.font(13).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Top)),
        )))?;
    }
    Ok(())
}

/// Exceedance probability curves: loss against the probability of exceeding
/// it, log-scaled, with the 1-in-100 and 1-in-200 levels marked.
fn draw_exceedance<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let n = d.trials.n().max(1);
    let layers: Vec<&str> = DISTRIBUTION_LAYERS.iter().copied().filter(|c| *c != "fiscal_cost").collect();
    let curves: Vec<(&str, Vec<(f64, f64)>)> = layers
        .iter()
        .filter_map(|&c| d.trials.column(c).map(|v| (c, thin_exceedance(&exceedance_series(&v), 1500))))
        .collect();
    let xmax = headroom(curves.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).fold(0.0, f64::max));
    let unit = MoneyUnit::for_max(xmax);
    // Down to the rarest level the run can show (1/n), on a power of ten.
    let ymin = 10f64.powf((1.0 / n as f64).log10().floor()).min(1e-3);
    let title = format!(
        "{} ({})",
        look.t("Probability that a loss is exceeded, by layer", "各层损失超越概率"),
        look.futures(d)
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(24))
        .margin(16)
        .margin_right(30)
        .x_label_area_size(56)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..xmax, (ymin..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(10)
        .x_label_formatter(&|v| unit.tick(*v, xmax))
        .y_label_formatter(&|p| one_in(*p, look.lang))
        .label_style(look.font(15))
        .x_desc(format!("{} ({}, {})", look.t("loss", "损失"), look.over_horizon(d), unit.name(look.lang)))
        .y_desc(look.t("probability of exceeding (log scale)", "超越概率（对数坐标）"))
        .axis_desc_style(look.font(17))
        .draw()?;
    // The reference levels first, so the curves draw over them.
    for (p, en, zh) in [(0.01, "1 in 100", "百年一遇"), (0.005, "1 in 200", "两百年一遇")] {
        chart.draw_series(DashedLineSeries::new(seg((0.0, p), (xmax, p)), 8, 5, BLACK.mix(0.5).stroke_width(1)))?;
        chart.draw_series(std::iter::once(Text::new(
            look.t(en, zh).to_string(),
            (xmax, p),
            look.font(14).color(&BLACK.mix(0.7)).pos(Pos::new(HPos::Right, VPos::Bottom)),
        )))?;
    }
    for (col, pts) in &curves {
        let color = layer_color(col);
        let label = layer_label(col, look.lang).to_string();
        if pts.iter().all(|&(_, p)| p == 0.0) || pts.len() < 2 && pts[0].0 == 0.0 {
            // Never above its minimum: nothing to draw on a log axis; say so in the legend.
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label(look.legend(&format!("{label} ({})", look.t("never paid", "从未发生"))))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.mix(0.3).stroke_width(3)));
            continue;
        }
        chart
            .draw_series(LineSeries::new(step_path(pts, ymin), color.stroke_width(3)))?
            .label(look.legend(&label))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
    }
    // Mark where the bank's loss curve crosses 1 in 100: the figure a bank asks for.
    if let Some(p99) = d.summary.layers.get("bank_total").map(|s| s.p99) {
        if p99 > 0.0 {
            let c = layer_color("bank_total");
            chart.draw_series(std::iter::once(Circle::new((p99, 0.01), 6, c.filled())))?;
            let text = format!(
                "{} {} {}",
                look.t("bank's 1-in-100 loss:", "银行百年一遇损失："),
                unit.tick(p99, xmax),
                unit.name(look.lang)
            );
            chart.draw_series(std::iter::once(Text::new(
                text,
                (p99 + xmax * 0.01, 0.0115),
                look.font(15).color(&c).pos(Pos::new(HPos::Left, VPos::Bottom)),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(look.font(15))
        .draw()?;
    Ok(())
}

/// "1 in 100" style tick for a log probability axis.
fn one_in(p: f64, lang: Lang) -> String {
    if p >= 0.999 {
        return "100 %".into();
    }
    let k = (1.0 / p).round();
    match lang {
        Lang::En => format!("1 in {}", group(k, 0)),
        Lang::Zh => format!("{} 分之一", group(k, 0)),
    }
}

/// The exceedance curve as a step function (it is right-continuous: P(X > x)
/// holds from x up to the next value), starting at probability 1 and ending
/// on the axis floor at the largest loss.
fn step_path(pts: &[(f64, f64)], floor: f64) -> Vec<(f64, f64)> {
    let mut path = vec![(pts[0].0, 1.0)];
    for w in pts.windows(2) {
        path.push((w[0].0, w[0].1.max(floor)));
        path.push((w[1].0, w[0].1.max(floor)));
    }
    let last = pts[pts.len() - 1];
    path.push((last.0, last.1.max(floor)));
    path
}

/// Expected loss by layer as a waterfall: the exposure and what each layer
/// takes off it, in the order they pay.
fn draw_waterfall<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let means: BTreeMap<String, f64> = d.summary.layers.iter().map(|(k, s)| (k.clone(), s.mean)).collect();
    let mut bars = waterfall_series(&means);
    bars.retain(|b| !(OPTIONAL_LAYERS.contains(&b.layer) && b.value() == 0.0));
    let exposure = bars[0].top;
    let ymax = headroom(bars.iter().map(|b| b.top.max(b.bottom)).fold(0.0, f64::max) * 1.05);
    let unit = MoneyUnit::for_max(ymax);
    let title = format!(
        "{} ({})",
        look.t("Where the expected loss goes: mean per future, by layer", "预期损失如何分担：各层平均值"),
        look.over_horizon(d)
    );
    let nb = bars.len() as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        // A segmented u32 range holds its end too: 0..nb-1 gives nb categories.
        .build_cartesian_2d((0u32..nb - 1).into_segmented(), 0.0..ymax)?;
    let names: Vec<String> = bars
        .iter()
        .map(|b| match b.layer {
            "bank_loss" => look.t("Bank", "银行").to_string(),
            l => layer_label(l, look.lang).to_string(),
        })
        .collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(nb as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| unit.tick(*v, ymax))
        .label_style(look.font(15))
        .y_desc(format!("{} ({})", look.t("expected loss", "预期损失"), unit.name(look.lang)))
        .axis_desc_style(look.font(17))
        .draw()?;
    // Thin connectors from each bar's foot to the next bar's head.
    for w in bars.windows(2).enumerate() {
        let (i, pair) = w;
        let level = pair[1].top;
        chart.draw_series(LineSeries::new(
            vec![(SegmentValue::CenterOf(i as u32), level), (SegmentValue::CenterOf(i as u32 + 1), level)],
            BLACK.mix(0.35),
        ))?;
    }
    for (i, b) in bars.iter().enumerate() {
        let i = i as u32;
        let color = layer_color(b.layer);
        let (lo, hi) = (b.bottom.min(b.top), b.bottom.max(b.top));
        let mut r = Rectangle::new([(SegmentValue::Exact(i), hi), (SegmentValue::Exact(i + 1), lo)], color.filled());
        r.set_margin(0, 0, 18, 18);
        chart.draw_series(std::iter::once(r))?;
        let share = if exposure > 0.0 { b.value() / exposure } else { 0.0 };
        let label = format!("{}  ({})", unit.tick(b.value(), ymax), pct(share));
        chart.draw_series(std::iter::once(Text::new(
            label,
            (SegmentValue::CenterOf(i), hi),
            look.font(15).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )))?;
    }
    Ok(())
}

/// Each bank's compensation balance over the years: the median, the 5-95 %
/// band and the 1 % quantile (the balance that 99 futures in 100 stay above).
fn draw_fund_balance<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let title = format!(
        "{} ({})",
        look.t("Compensation fund balance at each year end, per bank", "各银行风险补偿金年末余额"),
        look.futures(d)
    );
    let body = root.margin(8, 0, 0, 0).titled(&title, look.font(24))?;
    // Province-scale runs have many banks: the largest deposits get panels.
    const MAX_PANELS: usize = 6;
    let mut banks: Vec<&YearBalances> = d.balances.iter().collect();
    banks.sort_by_key(|b| std::cmp::Reverse(b.opening));
    banks.truncate(MAX_PANELS);
    let cols = banks.len().clamp(1, 3);
    let rows = banks.len().div_ceil(cols).max(1);
    let horizon = d.summary.horizon_years as f64;
    let labels = d.labels();
    for (k, (panel, b)) in body.split_evenly((rows, cols)).iter().zip(&banks).enumerate() {
        let band = balance_band(b);
        let ymax = headroom(band.iter().map(|p| p.p95.max(p.p50)).fold(0.0, f64::max));
        let ymin = band.iter().map(|p| p.p1).fold(0.0, f64::min);
        let unit = MoneyUnit::for_max(ymax);
        let mut chart = ChartBuilder::on(panel)
            .caption(labels.get(Kind::Bank, &b.bank, look.lang).unwrap_or(&b.name), look.font(18))
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.1..horizon + 0.1, ymin..ymax)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_labels(d.summary.horizon_years as usize + 1)
            .x_label_formatter(&|v| {
                let y = v.round();
                if (v - y).abs() < 1e-6 && y >= 0.0 { format!("{y:.0}") } else { String::new() }
            })
            .y_label_formatter(&|v| unit.tick(*v, ymax))
            .label_style(look.font(13))
            .x_desc(look.t("year (0 = opening deposit)", "年份（0 = 初始存入）"))
            .y_desc(format!("{} ({})", look.t("balance", "余额"), unit.name(look.lang)))
            .axis_desc_style(look.font(14))
            .draw()?;
        let color = PALETTE[0];
        let mut poly: Vec<(f64, f64)> = band.iter().map(|p| (p.year as f64, p.p95)).collect();
        poly.extend(band.iter().rev().map(|p| (p.year as f64, p.p5)));
        let legend = k == 0;
        let s = chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.22).filled())))?;
        if legend {
            s.label(look.legend(look.t("5-95 % of futures", "5%-95% 情景区间")))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], color.mix(0.22).filled()));
        }
        let s =
            chart.draw_series(LineSeries::new(band.iter().map(|p| (p.year as f64, p.p50)), color.stroke_width(3)))?;
        if legend {
            s.label(look.legend(look.t("median", "中位数")))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
        }
        let red = RGBColor(200, 0, 0);
        let s = chart.draw_series(DashedLineSeries::new(
            band.iter().map(|p| (p.year as f64, p.p1)).collect::<Vec<_>>(),
            6,
            4,
            red.stroke_width(2),
        ))?;
        if legend {
            s.label(look.legend(look.t("1 in 100 worst", "百年一遇最低")))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], red.stroke_width(2)));
        }
        chart.draw_series(LineSeries::new(seg((-0.1, 0.0), (horizon + 0.1, 0.0)), BLACK.mix(0.6)))?;
        // Say what the worst line means in words: the share of the deposit left.
        if let (Some(last), true) = (band.last(), b.opening > 0) {
            let left = last.p1 / (b.opening as f64 / 100.0);
            let text = match look.lang {
                Lang::En => format!("1 in 100: {} of the deposit left", pct(left.max(0.0))),
                Lang::Zh => format!("百年一遇：剩余 {}", pct(left.max(0.0))),
            };
            chart.draw_series(std::iter::once(Text::new(
                text,
                // A little below the line's end, so the line does not cross it.
                (horizon, last.p1 - (ymax - ymin) * 0.03),
                look.font(13).color(&red).pos(Pos::new(HPos::Right, VPos::Top)),
            )))?;
        }
        if legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font(look.font(13))
                .draw()?;
        }
    }
    Ok(())
}

/// The sizing curve: the loans : fund ratio against the probability that the
/// account runs dry, today's ratio and the 1 % target marked.
fn draw_sizing<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let Some(points) = &d.size_curve else { return Ok(()) };
    let curve = curves_by_account(points);
    let (rmin, rmax) = points.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| (a.min(p.ratio), b.max(p.ratio)));
    let today = today_ratio(&d.summary).unwrap_or(10.0);
    let labels = d.labels();
    let (x0, x1) = (rmin.min(today).max(0.1) * 0.95, rmax.max(today) * 1.05);
    let pmax = points.iter().map(|p| p.hi.max(p.depletion_prob)).fold(0.0, f64::max);
    let ymax = (pmax * 100.0 * 1.1).max(2.0);
    let title = format!(
        "{} ({})",
        look.t("How often the compensation fund runs dry, by deposit ratio", "补偿金用尽概率与存入比例"),
        look.over_horizon(d)
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(24))
        .margin(16)
        .margin_right(30)
        .x_label_area_size(56)
        .y_label_area_size(80)
        // Ratios on a log axis: 5:1 to 10:1 matters as much as 100:1 to 200:1.
        .build_cartesian_2d((x0..x1).log_scale().with_key_points(ratio_ticks(x0, x1)), 0.0..ymax)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_label_formatter(&|v| ratio(*v))
        .y_label_formatter(&|v| format!("{v:.1} %"))
        .label_style(look.font(15))
        .x_desc(look.t(
            "loans : fund ratio (covered loans per yuan of deposit; higher = smaller fund)",
            "贷款与补偿金之比（比值越大，补偿金越少）",
        ))
        .y_desc(look.t("probability the fund runs dry", "补偿金用尽概率"))
        .axis_desc_style(look.font(17))
        .draw()?;
    let target = DEPLETION_TARGET * 100.0;
    chart.draw_series(DashedLineSeries::new(
        seg((x0, target), (x1, target)),
        8,
        5,
        RGBColor(200, 0, 0).stroke_width(2),
    ))?;
    chart.draw_series(std::iter::once(Text::new(
        look.t("target: at most 1 %", "目标：不超过 1 %").to_string(),
        (x0, target),
        look.font(15).color(&RGBColor(200, 0, 0)).pos(Pos::new(HPos::Left, VPos::Bottom)),
    )))?;
    chart.draw_series(DashedLineSeries::new(seg((today, 0.0), (today, ymax)), 8, 5, BLACK.mix(0.6).stroke_width(2)))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("{} {}", look.t("today", "现行"), ratio(today)),
        // Halfway up, clear of the legend in the top left.
        (today * 1.02, ymax * 0.55),
        look.font(15).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Top)),
    )))?;
    for (k, (account, pts)) in curve.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.ratio, p.hi * 100.0)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.ratio, p.lo * 100.0)));
        chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.15).filled())))?;
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.ratio, p.depletion_prob * 100.0)),
                color.stroke_width(3),
            ))?
            .label(look.legend(&account_label(d, &labels, account, look.lang)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(look.font(15))
        .draw()?;
    Ok(())
}

/// The sizing curve's points grouped by account, in order of first
/// appearance, each account's in increasing ratio.
pub fn curves_by_account(points: &[CurvePoint]) -> Vec<(&str, Vec<&CurvePoint>)> {
    let mut out: Vec<(&str, Vec<&CurvePoint>)> = Vec::new();
    for p in points {
        match out.iter_mut().find(|(a, _)| *a == p.account) {
            Some((_, v)) => v.push(p),
            None => out.push((&p.account, vec![p])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    }
    out
}

/// Ticks of a log ratio axis: 1, 2, 5 times powers of ten within the range.
fn ratio_ticks(x0: f64, x1: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut p = 10f64.powf(x0.log10().floor());
    while p <= x1 {
        for m in [1.0, 2.0, 5.0] {
            let t = m * p;
            if t >= x0 && t <= x1 {
                out.push(t);
            }
        }
        p *= 10.0;
    }
    out
}

/// The deposit ratio every account shares, if they share one.
pub fn today_ratio(s: &Summary) -> Option<f64> {
    let mut rs = s.adequacy.accounts.iter().filter_map(|a| a.deposit_ratio);
    let first = rs.next()?;
    rs.all(|r| (r - first).abs() < 1e-6).then_some(first)
}

/// A sizing-curve account id as its bank's display name when the summary knows it.
fn account_label(d: &RunData, labels: &Labels, account: &str, lang: Lang) -> String {
    let accs = &d.summary.adequacy.accounts;
    let one_county = accs.iter().all(|a| a.county == accs[0].county);
    accs.iter()
        .find(|a| {
            a.bank == account
                || format!("{}_{}", a.bank, a.county) == account
                || format!("{}/{}", a.bank, a.county) == account
        })
        .map(|a| labels.account(&a.bank, &a.county, !one_county, lang))
        .unwrap_or_else(|| account.to_string())
}

/// Convergence: the running mean of the bank's loss and of the compensation
/// draw as trials accumulate, with the 95 % band: narrow and flat means enough
/// trials.
fn draw_convergence<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let title = format!(
        "{} ({})",
        look.t(
            "Does the estimate settle? Running mean as trials accumulate",
            "估计值是否收敛：随模拟次数增加的累计均值"
        ),
        look.futures(d)
    );
    let body = root.margin(8, 0, 0, 0).titled(&title, look.font(24))?;
    let panels = body.split_evenly((1, 2));
    for (panel, col) in panels.iter().zip(["bank_total", "comp_fund"]) {
        let Some(values) = d.trials.column(col) else { continue };
        let n = values.len() as u64;
        let all = running_mean_yuan(&values, 800);
        // The first few trials' intervals are wide: the y axis fits the band
        // from a tenth of the run on, and earlier points are clipped to it.
        let tail = all.iter().filter(|p| p.n >= (n / 10).max(1));
        let (ylo, yhi) = tail.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.lo), hi.max(p.hi)));
        let pad = ((yhi - ylo) * 0.15).max(yhi.abs() * 0.01).max(1.0);
        let (y0, y1) = ((ylo - pad).max(0.0), yhi + pad);
        let pts: Vec<RunningMean> = all
            .iter()
            .filter(|p| p.n > n / 100 || p.n == n)
            .map(|p| RunningMean { mean: p.mean.clamp(y0, y1), lo: p.lo.clamp(y0, y1), hi: p.hi.clamp(y0, y1), ..*p })
            .collect();
        let unit = MoneyUnit::for_max(y1);
        let caption = format!("{} ({})", layer_label(col, look.lang), unit.name(look.lang));
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, look.font(18))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..n as f64, y0..y1)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .x_labels(6)
            .x_label_formatter(&|v| group(*v, 0))
            .y_label_formatter(&|v| unit.tick(*v, y1 - y0))
            .label_style(look.font(14))
            .x_desc(look.t("number of simulated futures", "模拟次数"))
            .y_desc(format!("{} ({})", look.t("mean so far", "累计均值"), unit.name(look.lang)))
            .axis_desc_style(look.font(15))
            .draw()?;
        let color = layer_color(col);
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.n as f64, p.hi)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.n as f64, p.lo)));
        chart
            .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?
            .label(look.legend(look.t("95 % confidence band", "95 % 置信区间")))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], color.mix(0.2).filled()));
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.n as f64, p.mean)), color.stroke_width(2)))?
            .label(look.legend(look.t("running mean", "累计均值")))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(look.font(14))
            .draw()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The charts of compare and sweep
// ---------------------------------------------------------------------------

/// Layers the comparison shows, in the order they pay; the bank's total last.
const COMPARED: [&str; 6] = ["collateral", "insurance", "village_fund", "comp_fund", "shortfall", "bank_total"];

/// The expected loss by layer in each scenario of a comparison, as bars
/// grouped by layer (one colour per scenario), as SVG labelled in `lang`.
pub fn comparison_svg(c: &Comparison, lang: Lang) -> Result<String> {
    draw_svg((1200, 700), lang, "comparison.svg", |root, look| draw_comparison(root, c, look))
}

fn draw_comparison<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Comparison, look: &Look) -> DrawResult<DB> {
    let means: Vec<Vec<f64>> = COMPARED
        .iter()
        .map(|k| c.rows.iter().find(|r| r.metric == *k).map(|r| r.mean.clone()).unwrap_or_default())
        .collect();
    let ymax = headroom(means.iter().flatten().copied().fold(0.0, f64::max) * 1.05);
    let unit = MoneyUnit::for_max(ymax);
    let trials = group(c.trials as f64, 0);
    let title = match look.lang {
        Lang::En => format!("Expected loss by layer in each scenario ({trials} futures, the same in each)"),
        Lang::Zh => format!("各情景各层预期损失（{trials} 次模拟，各情景相同）"),
    };
    let nl = COMPARED.len() as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        // A segmented u32 range holds its end too: 0..nl-1 gives nl groups.
        .build_cartesian_2d((0u32..nl - 1).into_segmented(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(nl as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => COMPARED.get(*i as usize).map_or("", |l| layer_label(l, look.lang)).into(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| unit.tick(*v, ymax))
        .label_style(look.font(15))
        .y_desc(format!("{} ({})", look.t("expected loss", "预期损失"), unit.name(look.lang)))
        .axis_desc_style(look.font(17))
        .draw()?;
    // Each scenario's bar takes its slot of a group's middle 80 %, in pixels.
    let group_px = chart.plotting_area().dim_in_pixel().0 as f64 / nl as f64;
    let slot = group_px * 0.8 / c.scenarios.len().max(1) as f64;
    for (j, name) in c.scenarios.iter().enumerate() {
        let color = PALETTE[j % PALETTE.len()];
        let left = (group_px * 0.1 + slot * j as f64).round() as u32;
        let right = (group_px - group_px * 0.1 - slot * (j + 1) as f64 + slot * 0.08).round().max(0.0) as u32;
        let bars = means.iter().enumerate().filter_map(move |(i, m)| {
            let i = i as u32;
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), m.get(j).copied()?), (SegmentValue::Exact(i + 1), 0.0)],
                color.filled(),
            );
            bar.set_margin(0, 0, left, right);
            Some(bar)
        });
        chart
            .draw_series(bars)?
            .label(look.legend(name))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(look.font(15))
        .draw()?;
    Ok(())
}

/// The probability that a compensation fund runs dry over a sweep of two
/// keys, as a heat map with a colour scale, as SVG labelled in `lang`; `None`
/// unless the sweep varies exactly two keys. `rows` are the cells in the
/// sweep's order (the last key varying fastest).
pub fn sweep_heatmap_svg(axes: &[Axis], rows: &[CellRow], lang: Lang) -> Result<Option<String>> {
    let [a, b] = axes else { return Ok(None) };
    if rows.len() != a.values.len() * b.values.len() {
        bail!("a sweep of {} x {} cells has {} rows", a.values.len(), b.values.len(), rows.len());
    }
    let size = ((300 + 120 * b.values.len() as u32).max(900), (220 + 56 * a.values.len() as u32).max(520));
    draw_svg(size, lang, "sweep_heatmap.svg", |root, look| draw_heatmap(root, a, b, rows, look)).map(Some)
}

/// The heat map's colour of a probability: white at 0, deep red from 10 % on.
fn heat(p: f64) -> RGBColor {
    let t = (p / 0.1).clamp(0.0, 1.0);
    RGBColor(255, (255.0 * (1.0 - 0.8 * t)).round() as u8, (255.0 * (1.0 - 0.85 * t)).round() as u8)
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: &Axis,
    b: &Axis,
    rows: &[CellRow],
    look: &Look,
) -> DrawResult<DB> {
    let trials = rows.first().map_or(0, |r| r.depletion.n);
    let title = format!(
        "{} ({} {})",
        look.t("Probability that a compensation fund runs dry", "补偿金用尽的概率"),
        group(trials as f64, 0),
        look.t("futures per cell", "次模拟/格")
    );
    let body = root.margin(8, 0, 0, 0).titled(&title, look.font(24))?;
    let (w, _) = body.dim_in_pixel();
    let (grid, scale) = body.split_horizontally(w.saturating_sub(150));
    let (na, nb) = (a.values.len() as u32, b.values.len() as u32);
    let mut chart = ChartBuilder::on(&grid)
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(110)
        // Segmented u32 ranges hold their ends too: 0..n-1 gives n cells.
        .build_cartesian_2d((0u32..nb - 1).into_segmented(), (0u32..na - 1).into_segmented())?;
    let label = |values: &[String], i: Option<u32>| i.and_then(|i| values.get(i as usize)).cloned().unwrap_or_default();
    // The first value of the first key is the top row, as in the table.
    let row = |y: u32| (na - 1).checked_sub(y);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nb as usize)
        .y_labels(na as usize)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(j) => label(&b.values, Some(*j)),
            _ => String::new(),
        })
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(y) => label(&a.values, row(*y)),
            _ => String::new(),
        })
        .label_style(look.font(15))
        .x_desc(&b.key)
        .y_desc(&a.key)
        .axis_desc_style(look.font(16))
        .draw()?;
    for (k, r) in rows.iter().enumerate() {
        let (x, y) = (k as u32 % nb, na - 1 - k as u32 / nb);
        let cell = [
            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
            (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
        ];
        let p = r.depletion.p;
        chart.draw_series(std::iter::once(Rectangle::new(cell.clone(), heat(p).filled())))?;
        chart.draw_series(std::iter::once(Rectangle::new(cell, BLACK.mix(0.35))))?;
        let ink = if p >= 0.06 { WHITE } else { BLACK };
        chart.draw_series(std::iter::once(Text::new(
            pct(p),
            (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
            look.font(15).color(&ink).pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
    }
    // The colour scale: 0 to 10 % and above, as the cells are coloured.
    let steps = 50;
    let mut legend = ChartBuilder::on(&scale)
        .margin_top(16)
        .margin_bottom(76)
        .margin_right(20)
        .y_label_area_size(70)
        // Room between the title and the top tick's label, centred on the edge.
        .top_x_label_area_size(12)
        .caption(look.t("runs dry", "用尽概率"), look.font(15))
        .build_cartesian_2d(0.0..1.0, 0.0..0.1)?;
    legend
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|p| if *p >= 0.1 - 1e-9 { format!("≥ {}", pct(*p)) } else { pct(*p) })
        .label_style(look.font(13))
        .draw()?;
    legend.draw_series((0..steps).map(|k| {
        let (p0, p1) = (0.1 * k as f64 / steps as f64, 0.1 * (k + 1) as f64 / steps as f64);
        Rectangle::new([(0.0, p0), (1.0, p1)], heat((p0 + p1) / 2.0).filled())
    }))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The charts of stress
// ---------------------------------------------------------------------------

/// The stress report's rows the layer chart draws (the fiscal cost, mostly
/// subsidies, is drawn part by part in [`stress_fiscal_svg`]).
const STRESS_LAYERS: [&str; 5] = ["exposure", "village_fund", "comp_fund", "shortfall", "bank_total"];

/// The expected loss by layer at baseline and under the stress, as pairs of
/// bars, as SVG labelled in `lang`.
pub fn stress_layers_svg(r: &StressReport, lang: Lang) -> Result<String> {
    draw_svg((1200, 640), lang, "the stress report's layer chart", |root, look| {
        let rows: Vec<(&str, f64, f64)> = STRESS_LAYERS
            .iter()
            .filter_map(|k| r.totals.iter().find(|(n, _, _)| n == k).map(|(_, b, s)| (*k, b.mean, s.mean)))
            .collect();
        let trials = group(r.trials as f64, 0);
        let title = match look.lang {
            Lang::En => format!("Expected loss by layer, baseline and stressed ({trials} futures each, the same seed)"),
            Lang::Zh => format!("各层预期损失：基准与压力情景（各 {trials} 次模拟，相同随机种子）"),
        };
        let groups: Vec<String> = rows.iter().map(|r| layer_label(r.0, look.lang).to_string()).collect();
        let series = [
            (look.t("baseline", "基准").to_string(), RGBColor(120, 144, 156), rows.iter().map(|r| r.1).collect()),
            (look.t("stressed", "压力").to_string(), RGBColor(214, 39, 40), rows.iter().map(|r| r.2).collect()),
        ];
        draw_grouped_bars(root, look, &title, &groups, &series, look.t("expected loss", "预期损失"), None)
    })
}

/// The money each variant (a scenario of `compare`, a cell of `sweep`,
/// named by `names`; `varied` names a sweep's keys) commits and costs:
/// compensation deposits, budget money committed and the mean fiscal cost,
/// as bars grouped by variant, as SVG labelled in `lang`.
pub fn policy_svg(names: &[String], varied: Option<&str>, policies: &[&PolicyFigures], lang: Lang) -> Result<String> {
    let width = (300 + 110 * names.len() as u32).clamp(1000, 2400);
    draw_svg((width, 640), lang, "the money chart", |root, look| {
        let title = look.t(
            "What each variant commits and costs the budget (fiscal cost: mean over the horizon)",
            "各方案的财政投入与成本（财政成本为期限内均值）",
        );
        let series = [
            (
                look.t("compensation deposits", "风险补偿金存入").to_string(),
                PALETTE[1],
                policies.iter().map(|p| p.deposits).collect(),
            ),
            (
                look.t("budget money committed", "财政资金投入").to_string(),
                PALETTE[0],
                policies.iter().map(|p| p.budget_committed).collect(),
            ),
            (
                look.t("fiscal cost", "财政成本").to_string(),
                layer_color("fiscal_cost"),
                policies.iter().map(|p| p.fiscal_cost.mean).collect(),
            ),
        ];
        draw_grouped_bars(root, look, title, names, &series, look.t("amount", "金额"), varied)
    })
}

/// Bars grouped by `groups` (the x axis, described by `x_desc`), one bar per
/// series in each group: (legend label, colour, one value a group, in yuan).
fn draw_grouped_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    title: &str,
    groups: &[String],
    series: &[(String, RGBColor, Vec<f64>)],
    what: &str,
    x_desc: Option<&str>,
) -> DrawResult<DB> {
    let ymax = headroom(series.iter().flat_map(|s| s.2.iter().copied()).fold(0.0, f64::max) * 1.12);
    let unit = MoneyUnit::for_max(ymax);
    let n = groups.len().max(1) as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        // A segmented u32 range holds its end too: 0..n-1 gives n groups.
        .build_cartesian_2d((0u32..n - 1).into_segmented(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(n as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => groups.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| unit.tick(*v, ymax))
        .label_style(look.font(15))
        .y_desc(format!("{what} ({})", unit.name(look.lang)))
        .x_desc(x_desc.unwrap_or_default())
        .axis_desc_style(look.font(17))
        .draw()?;
    // Each series' bar takes its slot of a group's middle 80 %, in pixels.
    let group_px = chart.plotting_area().dim_in_pixel().0 as f64 / n as f64;
    let slot = group_px * 0.8 / series.len().max(1) as f64;
    for (j, (name, color, values)) in series.iter().enumerate() {
        let color = *color;
        let left = (group_px * 0.1 + slot * j as f64).round() as u32;
        let right = (group_px - group_px * 0.1 - slot * (j + 1) as f64 + slot * 0.08).round().max(0.0) as u32;
        let bars = values.iter().enumerate().map(move |(i, &v)| {
            let i = i as u32;
            let mut bar =
                Rectangle::new([(SegmentValue::Exact(i), v), (SegmentValue::Exact(i + 1), 0.0)], color.filled());
            bar.set_margin(0, 0, left, right);
            bar
        });
        chart
            .draw_series(bars)?
            .label(look.legend(name))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(look.font(15))
        .draw()?;
    Ok(())
}

/// How each part of the mean fiscal cost changes under the stress (stressed
/// less baseline), and the total, as SVG labelled in `lang`: a cost that
/// falls shows which part fell.
pub fn stress_fiscal_svg(r: &StressReport, lang: Lang) -> Result<String> {
    draw_svg((1200, 600), lang, "the stress report's fiscal chart", |root, look| draw_stress_fiscal(root, r, look))
}

fn draw_stress_fiscal<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &StressReport,
    look: &Look,
) -> DrawResult<DB> {
    let (b, s) = (&r.baseline_policy.fiscal_cost, &r.stressed_policy.fiscal_cost);
    let mut bars: Vec<(String, f64)> = b
        .parts()
        .iter()
        .zip(s.parts())
        .map(|((k, x), (_, y))| (crate::report::text::fiscal_part_label(k, look.lang).to_string(), y - x))
        .collect();
    bars.push((look.t("fiscal cost", "财政成本").to_string(), s.mean - b.mean));
    let lo = bars.iter().map(|x| x.1).fold(0.0, f64::min);
    let hi = bars.iter().map(|x| x.1).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.15).max(1.0);
    let (y0, y1) = (if lo < 0.0 { lo - pad } else { 0.0 }, if hi > 0.0 { hi + pad } else { pad });
    let unit = MoneyUnit::for_max(lo.abs().max(hi));
    let title = look.t(
        "Change in the mean fiscal cost under the stress, part by part (stressed less baseline)",
        "压力情景下财政成本各部分的变化（压力减基准，均值）",
    );
    let n = bars.len() as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(title, look.font(22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d((0u32..n - 1).into_segmented(), y0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .x_labels(n as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars.get(*i as usize).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| unit.tick(*v, y1 - y0))
        .label_style(look.font(15))
        .y_desc(format!("{} ({})", look.t("change", "变化"), unit.name(look.lang)))
        .axis_desc_style(look.font(17))
        .draw()?;
    chart.draw_series(LineSeries::new(
        vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Exact(n), 0.0)],
        BLACK.mix(0.6),
    ))?;
    for (i, (_, v)) in bars.iter().enumerate() {
        let i = i as u32;
        let total = i + 1 == n;
        let color = match (total, *v < 0.0) {
            (true, _) => layer_color("fiscal_cost"),
            (false, true) => RGBColor(31, 119, 180),
            (false, false) => RGBColor(255, 127, 14),
        };
        let mut bar = Rectangle::new([(SegmentValue::Exact(i), *v), (SegmentValue::Exact(i + 1), 0.0)], color.filled());
        bar.set_margin(0, 0, 24, 24);
        chart.draw_series(std::iter::once(bar))?;
        let sign = if *v > 0.0 { "+" } else { "" };
        let at = if *v < 0.0 { VPos::Top } else { VPos::Bottom };
        chart.draw_series(std::iter::once(Text::new(
            format!("{sign}{}", group(*v, 0)),
            (SegmentValue::CenterOf(i), *v),
            look.font(14).color(&BLACK).pos(Pos::new(HPos::Center, at)),
        )))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Draws a chart as SVG text, labelled in `lang` (the browser draws the text).
pub fn render_svg(chart: Chart, d: &RunData, lang: Lang) -> Result<String> {
    draw_svg(chart.size(), lang, &format!("{}.svg", chart.stem()), |root, look| chart.draw(root, d, look))
}

/// SVG text of `size` pixels drawn by `draw` on a white page, labelled in
/// `lang`; `what` names it in errors.
fn draw_svg(
    size: (u32, u32),
    lang: Lang,
    what: &str,
    draw: impl FnOnce(&DrawingArea<Typeset<SVGBackend>, Shift>, &Look) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Result<String> {
    register_fonts();
    let look = Look { lang, family: SVG_FAMILY };
    let mut s = String::new();
    {
        let root = Typeset::vector(SVGBackend::with_string(&mut s, size)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("drawing {what}: {e:?}"))?;
        draw(&root, &look).map_err(|e| anyhow!("drawing {what}: {e:?}"))?;
        root.present().map_err(|e| anyhow!("drawing {what}: {e:?}"))?;
    }
    Ok(s)
}

/// Draws a chart as PNG, labelled in `lang`.
pub fn render_png(chart: Chart, d: &RunData, lang: Lang, path: &Path) -> Result<()> {
    register_fonts();
    let look = Look { lang, family: font::FAMILY };
    let root = Typeset::raster(BitMapBackend::new(path, chart.size())).into_drawing_area();
    chart.draw(&root, d, &look).map_err(|e| anyhow!("drawing {}: {e:?}", path.display()))?;
    root.present().map_err(|e| anyhow!("writing {}: {e:?}", path.display()))?;
    Ok(())
}

/// Reads the run in `dir` ([`load_run`]) and writes each chart there as PNG and SVG:
/// `waterfall`, `exceedance`, `loss_distribution`, `fund_balance` (when the
/// run has compensation accounts), `sizing` (when `size_curve.csv` exists)
/// and `convergence`. Both are labelled in `lang`. Returns
/// the files written.
pub fn write_charts(dir: &Path, lang: Lang) -> Result<Vec<PathBuf>> {
    write_charts_of(&load_run(dir)?, lang)
}

/// [`write_charts`] for a run already read with [`load_run`] (into its
/// folder), so that a caller drawing the report too reads the tables once.
pub fn write_charts_of(d: &RunData, lang: Lang) -> Result<Vec<PathBuf>> {
    use rayon::prelude::*;
    // Each chart is drawn on its own (on the cores the machine has); the
    // first error in chart order is the one reported.
    let drawn: Vec<Result<[PathBuf; 2]>> = Chart::ALL
        .par_iter()
        .filter(|chart| chart.available(d))
        .map(|&chart| {
            let png = d.out.join(format!("{}.png", chart.stem()));
            render_png(chart, d, lang, &png)?;
            let svg = d.out.join(format!("{}.svg", chart.stem()));
            fs::write(&svg, render_svg(chart, d, lang)?).with_context(|| format!("cannot write {}", svg.display()))?;
            Ok([png, svg])
        })
        .collect();
    let mut written = Vec::new();
    for paths in drawn {
        written.extend(paths?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceedance_by_hand() {
        // Values 0, 0, 1, 3 yuan: P(X > 0) = 1/2, P(X > 1) = 1/4, P(X > 3) = 0.
        assert_eq!(exceedance_series(&[100, 0, 300, 0]), vec![(0.0, 0.5), (1.0, 0.25), (3.0, 0.0)]);
    }

    #[test]
    fn histogram_shares_sum_to_one() {
        let h = histogram(&[0, 100, 200, 300, 400], 4);
        assert_eq!(h.len(), 4);
        assert_eq!(h.iter().map(|b| b.share).sum::<f64>(), 1.0);
        assert_eq!(h[3].share, 0.4); // the maximum falls in the last bin
        assert_eq!(histogram(&[5, 5], 10).len(), 1);
    }

    #[test]
    fn running_mean_in_yuan() {
        let r = running_mean_yuan(&[100, 300], 10);
        assert_eq!(r[0], RunningMean { n: 1, mean: 1.0, lo: 1.0, hi: 1.0 });
        // s = sqrt(2) yuan; half-width = z sqrt(2) / sqrt(2).
        assert_eq!(r[1].mean, 2.0);
        assert!((r[1].hi - 2.0 - stats::z_for(CONFIDENCE)).abs() < 1e-12);
        assert_eq!(running_mean_yuan(&[5; 1000], 10).len(), 10);
    }

    #[test]
    fn comparison_and_sweep_charts_are_labelled_svg() {
        use crate::analysis::compare::{Diff, MetricRow};
        use crate::analysis::summary::Prob;
        let diff = Diff { mean: 0.0, stderr: 0.0, lo: 0.0, hi: 0.0 };
        let row = |metric: &str| MetricRow {
            metric: metric.into(),
            mean: vec![250_000.0, 120_000.0],
            p99: vec![900_000.0, 800_000.0],
            diff: vec![diff.clone(); 2],
        };
        let c = Comparison {
            scenarios: vec!["a & <b>".into(), "c".into()],
            seed: 1,
            trials: 500,
            engine_version: "x".into(),
            rows: COMPARED.iter().map(|m| row(m)).collect(),
            policy: Vec::new(),
        };
        let svg = comparison_svg(&c, Lang::En).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Village fund") && svg.contains("a &amp; &lt;b&gt;") && svg.contains("CNY 10k"), "{svg}");
        assert!(comparison_svg(&c, Lang::Zh).unwrap().contains("村级风险互助金"));

        let axis = |key: &str, values: &[&str]| Axis {
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let axes = [
            axis("funds.compensation.deposit_ratio", &["8", "10", "12"]),
            axis("funds.village.share", &["0.03", "0.05"]),
        ];
        let cell = |k: u64| CellRow {
            values: Vec::new(),
            comp_fund_mean: 0.0,
            comp_fund_p99: 0.0,
            shortfall_mean: 0.0,
            shortfall_p99: 0.0,
            bank_total_mean: 0.0,
            bank_total_p99: 0.0,
            village_fund_mean: 0.0,
            depletion: Prob::of(k * 10, 500),
            policy: Default::default(),
        };
        let rows: Vec<CellRow> = (0..6).map(cell).collect();
        let svg = sweep_heatmap_svg(&axes, &rows, Lang::Zh).unwrap().expect("two keys");
        assert!(
            svg.contains("补偿金用尽的概率") && svg.contains("funds.village.share") && svg.contains("\n0.05\n"),
            "{svg}"
        );
        assert!(svg.contains(&format!("\n{}\n", pct(0.1))) && svg.contains("\n12\n"));
        assert!(sweep_heatmap_svg(&axes[..1], &rows[..3], Lang::En).unwrap().is_none());
        assert!(sweep_heatmap_svg(&axes, &rows[..5], Lang::En).is_err());
    }

    #[test]
    fn thinning_keeps_ends() {
        let v: Vec<u32> = (0..1001).collect();
        let t = thin(&v, 100);
        assert_eq!(t[0], 0);
        assert_eq!(*t.last().unwrap(), 1000);
        assert!(t.len() <= 102);
    }
}
