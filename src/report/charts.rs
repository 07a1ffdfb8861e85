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
use std::sync::{Once, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::DrawingErrorKind;

use crate::analysis::compare::Comparison;
use crate::analysis::policy::PolicyFigures;
use crate::analysis::sizing::CurvePoint;
use crate::analysis::stats::{self, RunningMean};
use crate::analysis::stress::StressReport;
use crate::analysis::summary::{CONFIDENCE, Summary};
use crate::analysis::sweep::{Axis, CellRow};
use crate::analysis::weighted;
use crate::report::font;
pub use crate::report::format::Lang;
use crate::report::format::{MoneyAxis, MoneyUnit, group, nice_ticks, pct, ratio, step_decimals};
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

/// Colours for series that are not layers (banks, accounts): the first
/// eight of the scenarios' colours.
const PALETTE: &[RGBColor] = SCENARIO_COLORS.split_at(8).0;

/// Colours of a comparison's scenarios, as many as a bureau compares: the
/// ten of Tableau 10, then their lighter companions of Tableau 20.
const SCENARIO_COLORS: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
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

/// A point of an exceedance curve with its band: loss (yuan), `P(X > x)`
/// and the ends of its 95 % interval.
pub type BandedPoint = (f64, f64, f64, f64);

/// What a run's charts draw more than once, worked out once: each chart is
/// drawn as PNG and as SVG, and `report.html` embeds the same SVG, on other
/// threads. The exceedance curves and the balance bands run over every
/// trial (a 100,000-trial run sorted 100,000 values per curve three times).
#[derive(Clone, Debug, Default)]
pub struct Drawn {
    exceedance: OnceLock<Vec<(&'static str, Vec<BandedPoint>)>>,
    /// The balance panels' banks (`RunData::balances` indices) and bands.
    bands: OnceLock<Vec<(usize, Vec<BandPoint>)>>,
    /// Each chart's SVG (by its place in [`Chart::ALL`]), in the language it
    /// was first drawn in; an error as its message.
    svg: [OnceLock<(Lang, Result<String, String>)>; Chart::ALL.len()],
}

/// The weighted exceedance curve of an importance-sampled run
/// ([`weighted::exceedance_curve`]): for every distinct value `x` (in
/// yuan), `P(X > x)` and its 95 % pointwise interval, clamped to [0, 1].
pub fn weighted_exceedance_series(values_fen: &[i64], w: &[f64]) -> Vec<BandedPoint> {
    let z = stats::z_for(CONFIDENCE);
    weighted::exceedance_curve(&weighted::sorted_pairs(values_fen, w))
        .into_iter()
        .map(|c| {
            let half = z * c.stderr;
            (c.x as f64 / 100.0, c.p.min(1.0), (c.p - half).clamp(0.0, 1.0), (c.p + half).min(1.0))
        })
        .collect()
}

/// The rarest level a weighted curve resolves: its smallest positive
/// probability whose interval stays clear of 0 (relative error below
/// 1 / z), so that the axis goes no deeper than the run knows.
pub fn resolved_level(curve: &[BandedPoint]) -> Option<f64> {
    curve.iter().filter(|&&(_, p, lo, _)| p > 0.0 && lo > 0.0).map(|c| c.1).min_by(f64::total_cmp)
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

/// [`histogram`] of an importance-sampled column: a bin's share is
/// `(1/N) sum w` over its trials (the shares sum to the mean weight, 1 up
/// to its error).
pub fn weighted_histogram(values_fen: &[i64], w: &[f64], bins: usize) -> Vec<Bin> {
    let mut out = histogram(values_fen, bins);
    if out.len() < 2 {
        return out;
    }
    let n = values_fen.len() as f64;
    let (min, width) = (out[0].lo * 100.0, (out[0].hi - out[0].lo) * 100.0);
    let mut sums = vec![0.0; out.len()];
    for (&x, &wi) in values_fen.iter().zip(w) {
        sums[(((x as f64 - min) / width) as usize).min(out.len() - 1)] += wi;
    }
    for (b, s) in out.iter_mut().zip(sums) {
        b.share = s / n;
    }
    out
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

/// [`running_mean_yuan`] of an importance-sampled column: the weighted mean
/// `(1/n) sum w y` of the first n trials with its delta-method interval.
pub fn weighted_running_mean_yuan(values_fen: &[i64], w: &[f64], points: usize) -> Vec<RunningMean> {
    let step = values_fen.len().div_ceil(points.max(1)).max(1);
    let z = stats::z_for(CONFIDENCE);
    let (mut s, mut s2) = (0.0, 0.0);
    let mut out = Vec::new();
    for (i, (&x, &wi)) in values_fen.iter().zip(w).enumerate() {
        let t = wi * x as f64 / 100.0;
        s += t;
        s2 += t * t;
        let n = i + 1;
        if n % step == 0 || n == values_fen.len() {
            let nf = n as f64;
            let mean = s / nf;
            let var = if n > 1 { ((s2 - s * s / nf) / (nf - 1.0)).max(0.0) } else { 0.0 };
            let half = z * (var / nf).sqrt();
            out.push(RunningMean { n: n as u64, mean, lo: mean - half, hi: mean + half });
        }
    }
    out
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
        let [p1, p5, p50, p95] = stats::quantiles(&mut vals.clone(), [100, 500, 5000, 9500]).map(|x| x as f64 / 100.0);
        out.push(BandPoint { year: t as u32 + 1, p1, p5, p50, p95 });
    }
    out
}

/// [`balance_band`] of an importance-sampled run: each year's quantiles
/// from the weighted exceedance curve of the balances (in trial order, as
/// the weights).
pub fn weighted_balance_band(b: &YearBalances, w: &[f64]) -> Vec<BandPoint> {
    let open = b.opening as f64 / 100.0;
    let mut out = vec![BandPoint { year: 0, p1: open, p5: open, p50: open, p95: open }];
    for (t, vals) in b.by_year.iter().enumerate() {
        if vals.len() != w.len() {
            return balance_band(b);
        }
        let curve = weighted::exceedance_curve(&weighted::sorted_pairs(vals, w));
        let q = |bp| weighted::quantile(&curve, vals.len(), bp) as f64 / 100.0;
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
fn thin_exceedance<T: Copy>(points: &[T], max: usize, p: impl Fn(&T) -> f64) -> Vec<T> {
    let split = points.partition_point(|x| p(x) >= 0.01);
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

// ---------------------------------------------------------------------------
// The frame every chart shares
// ---------------------------------------------------------------------------

/// Font size of a page's title.
const TITLE: u32 = 24;

/// A pixel on the page.
type BackendCoord = (i32, i32);

type AreaResult<DB> = Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Sizes of a chart's frame, in pixels: its margins, the areas of the axes'
/// labels, and the text of its caption, ticks, axis titles and legend.
#[derive(Clone, Copy, Debug)]
struct Frame {
    margin: u32,
    right: u32,
    x_area: u32,
    y_area: u32,
    caption: u32,
    ticks: u32,
    titles: u32,
    legend: u32,
}

impl Frame {
    /// A chart alone on its page.
    const PAGE: Frame =
        Frame { margin: 16, right: 30, x_area: 56, y_area: 90, caption: 18, ticks: 15, titles: 17, legend: 15 };
    /// One of a few panels on a page.
    const PANEL: Frame =
        Frame { margin: 10, right: 20, x_area: 40, y_area: 70, caption: 18, ticks: 13, titles: 14, legend: 13 };
    /// One of many small panels.
    const SMALL: Frame =
        Frame { margin: 8, right: 16, x_area: 30, y_area: 44, caption: 17, ticks: 13, titles: 13, legend: 13 };
}

/// The page: white, its title on top. Returns the area below the title.
fn page<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, look: &Look) -> AreaResult<DB> {
    root.fill(&WHITE)?;
    root.margin(8, 0, 0, 0).titled(title, look.font(TITLE))
}

/// A chart on `area` in the frame `f` over the ranges `x` and `y`, with
/// `caption` above it when given.
#[allow(clippy::type_complexity)]
fn frame<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    f: Frame,
    caption: Option<&str>,
    look: &Look,
    x: X,
    y: Y,
) -> Result<ChartContext<'a, DB, Cartesian2d<X::CoordDescType, Y::CoordDescType>>, DrawingAreaErrorKind<DB::ErrorType>>
{
    let mut b = ChartBuilder::on(area);
    b.margin(f.margin).margin_right(f.right).x_label_area_size(f.x_area).y_label_area_size(f.y_area);
    if let Some(c) = caption {
        b.caption(c, look.font(f.caption));
    }
    b.build_cartesian_2d(x, y)
}

/// The mesh every chart shares: faint major lines, no minor ones, text in
/// the frame's sizes. The caller adds what its axes say, then draws it.
fn mesh<'a, 'b, DB, X, Y, XT, YT>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    f: Frame,
    look: &Look,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
{
    let mut m = chart.configure_mesh();
    m.light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .label_style(look.font(f.ticks))
        .axis_desc_style(look.font(f.titles));
    m
}

/// A chart's legend box at `at`, in the frame's text size.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
    f: Frame,
    look: &Look,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(look.font(f.legend))
        .draw()
}

/// How a series is marked in a legend.
#[derive(Clone, Copy, Debug)]
enum Mark {
    Line(RGBColor, u32),
    Dashed(RGBColor, u32),
    Fill(RGBAColor),
    /// A filled box with a dark outline (the comparison's colours, second round).
    Outlined(RGBColor),
}

/// A legend key: a mark 22 pixels wide from `at`, centred on its height.
/// plotters' legend takes an element whose type does not name the backend,
/// so the key draws on the backend itself.
#[derive(Clone, Copy, Debug)]
struct Key {
    mark: Mark,
    at: BackendCoord,
}

impl<'a> PointCollection<'a, BackendCoord> for &'a Key {
    type Point = &'a BackendCoord;
    type IntoIter = std::iter::Once<&'a BackendCoord>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Key {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else { return Ok(()) };
        let (top_left, bottom_right) = ((x, y - 6), (x + 22, y + 6));
        match self.mark {
            Mark::Line(c, w) => backend.draw_line((x, y), (x + 22, y), &c.stroke_width(w)),
            Mark::Dashed(c, w) => {
                for (a, b) in [(0, 6), (10, 16), (20, 22)] {
                    backend.draw_line((x + a, y), (x + b, y), &c.stroke_width(w))?;
                }
                Ok(())
            }
            Mark::Fill(c) => backend.draw_rect(top_left, bottom_right, &c.filled(), true),
            Mark::Outlined(c) => {
                backend.draw_rect(top_left, bottom_right, &c.filled(), true)?;
                backend.draw_rect(top_left, bottom_right, &BLACK.stroke_width(2), false)
            }
        }
    }
}

/// A legend across the top of a page of panels, for marks that mean the
/// same in every panel.
fn key_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(Mark, &str)],
    size: u32,
    look: &Look,
) -> DrawResult<DB> {
    let y = area.dim_in_pixel().1 as i32 / 2;
    let mut x = 60;
    for (mark, label) in items {
        area.draw(&Key { mark: *mark, at: (x, y) })?;
        let style = look.font(size).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.to_string(), (x + 32, y), style))?;
        x += 32 + text_width(area, label, size, look) + 40;
    }
    Ok(())
}

/// A legend down the side of a page, one line per series, for more series
/// than a box inside the chart could hold without covering it.
fn key_column<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(Mark, String)],
    size: u32,
    look: &Look,
) -> DrawResult<DB> {
    let line = size as i32 * 8 / 5;
    for (k, (mark, label)) in items.iter().enumerate() {
        let y = 30 + k as i32 * line;
        area.draw(&Key { mark: *mark, at: (8, y) })?;
        let style = look.font(size).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(label.clone(), (38, y), style))?;
    }
    Ok(())
}

/// Width in pixels of `text` at `size`, as the backend lays it out.
fn text_width<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    text: &str,
    size: u32,
    look: &Look,
) -> i32 {
    area.estimate_text_size(text, &look.font(size).into()).map_or(0, |(w, _)| w as i32)
}

/// A two-point line: a marker line across a chart.
fn seg(a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
    vec![a, b]
}

/// Upper end of an axis: `max` with a little headroom, never an empty range.
fn headroom(max: f64) -> f64 {
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// A linear axis with ticks of our choosing ([`nice_ticks`]). plotters'
/// `with_key_points` on an f64 range drops the range's own formatting,
/// which its mesh asks for even when a formatter labels every tick.
#[derive(Clone)]
struct Ticked {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

fn ticked(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Ticked {
    Ticked { range: range.into(), ticks }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Major ticks only: the mesh has no minor lines.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// Ticks of a plain number axis on a nice step ([`nice_ticks`]), with the
/// decimals that step needs to label them.
fn plain_axis(lo: f64, hi: f64, max: usize) -> (Vec<f64>, usize) {
    let (ticks, step) = nice_ticks(lo, hi, max);
    (ticks, step_decimals(step))
}

// ---------------------------------------------------------------------------
// Labels that keep off the lines
// ---------------------------------------------------------------------------

/// A box in pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

/// Whether the segment from `a` to `b` passes through the box `r`
/// (Liang–Barsky: the part of the segment left after cutting it to each of
/// the box's four edges is not empty).
fn crosses(a: BackendCoord, b: BackendCoord, r: Rect) -> bool {
    let (x0, y0) = (a.0 as f64, a.1 as f64);
    let (dx, dy) = (b.0 as f64 - x0, b.1 as f64 - y0);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, x0 - r.0 as f64), (dx, r.2 as f64 - x0), (-dy, y0 - r.1 as f64), (dy, r.3 as f64 - y0)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

fn overlap(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Places for a label of `size` (top left corners) near `point`, nearest
/// first: to the right above, to the left below, to the right below and to
/// the left above the point, then slid sideways along those heights (the
/// label stays level with what it names), then further up or down.
fn beside(point: BackendCoord, size: (i32, i32)) -> Vec<BackendCoord> {
    let ((px, py), (w, h), gap) = (point, size, 8);
    let mut places: Vec<(i32, BackendCoord)> = Vec::new();
    for dy in (0..4).map(|k| k * h) {
        for dx in (0..40).map(|k| k * 20) {
            let cost = dx + 4 * dy;
            places.push((cost, (px + gap + dx, py - gap / 2 - h - dy)));
            places.push((cost, (px - gap - w - dx, py + gap / 2 + dy)));
            places.push((cost, (px + gap + dx, py + gap / 2 + dy)));
            places.push((cost, (px - gap - w - dx, py - gap / 2 - h - dy)));
        }
    }
    places.sort_by_key(|(cost, _)| *cost);
    places.into_iter().map(|(_, p)| p).collect()
}

/// A thin line from `point` to the nearest edge of a label placed at `at`
/// when the label had to move away from it; none when it sits beside it.
fn leader(point: BackendCoord, at: BackendCoord, size: (i32, i32)) -> Option<[BackendCoord; 2]> {
    let near = (point.0.clamp(at.0, at.0 + size.0), point.1.clamp(at.1, at.1 + size.1));
    let far = (near.0 - point.0).abs().max((near.1 - point.1).abs()) > 24;
    far.then_some([point, near])
}

/// The first of `places` (top left corners) where a label of `size` lies
/// inside `within`, crosses none of `lines` (polylines in pixels, with a few
/// pixels to spare for their width) and overlaps none of `avoid`; failing
/// that the first place inside `within`, failing that the first place.
fn free_place(
    places: &[BackendCoord],
    size: (i32, i32),
    within: Rect,
    lines: &[Vec<BackendCoord>],
    avoid: &[Rect],
) -> BackendCoord {
    const SPARE: i32 = 6;
    let rect = |(x, y): BackendCoord| (x, y, x + size.0, y + size.1);
    let inside = |p: &BackendCoord| {
        let r = rect(*p);
        r.0 >= within.0 && r.1 >= within.1 && r.2 <= within.2 && r.3 <= within.3
    };
    let free = |p: &BackendCoord| {
        let r = rect(*p);
        let wide = (r.0 - SPARE, r.1 - SPARE, r.2 + SPARE, r.3 + SPARE);
        !avoid.iter().any(|a| overlap(*a, r)) && !lines.iter().any(|l| l.windows(2).any(|s| crosses(s[0], s[1], wide)))
    };
    let first = places.first().copied().unwrap_or((within.0, within.1));
    places.iter().copied().filter(inside).find(free).or_else(|| places.iter().copied().find(inside)).unwrap_or(first)
}

/// The plotting area of a chart as a box in pixels.
fn plot_rect<DB: DrawingBackend, CT: CoordTranslate>(chart: &ChartContext<'_, DB, CT>) -> Rect {
    let area = chart.plotting_area();
    let (x, y) = area.get_base_pixel();
    let (w, h) = area.dim_in_pixel();
    (x, y, x + w as i32, y + h as i32)
}

/// Where plotters draws a legend of `labels` in a corner of `plot`
/// (`SeriesLabelStyle::draw`: 10 pixels of margin, a 30-pixel column for the
/// marks, lines 1.25 em apart, 5 pixels from the corner).
fn legend_rect<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    plot: Rect,
    labels: &[String],
    right: bool,
    f: Frame,
    look: &Look,
) -> Rect {
    let widest = labels.iter().map(|l| text_width(area, l, f.legend, look)).max().unwrap_or(0);
    let w = widest + 30 + 20;
    let h = (labels.len().max(1) as f64 * 1.25 * f.legend as f64) as i32 + 20;
    let left = if right { plot.2 - 5 - w } else { plot.0 + 5 };
    (left, plot.1 + 5, left + w, plot.1 + 5 + h)
}

// ---------------------------------------------------------------------------
// A run's charts
// ---------------------------------------------------------------------------

/// Loss distribution: one histogram panel per layer, the mean and the 1-in-100
/// loss marked.
fn draw_loss_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &RunData,
    look: &Look,
) -> DrawResult<DB> {
    let title = format!("{} ({})", look.t("Loss distribution by layer", "各层损失分布"), look.futures(d));
    let body = page(root, &title, look)?;
    let (keys, grid) = body.split_vertically(34);
    let (mean_color, p99_color) = (RGBColor(20, 20, 20), RGBColor(200, 0, 0));
    key_row(
        &keys,
        &[
            (Mark::Dashed(mean_color, 2), look.t("mean", "均值")),
            (Mark::Line(p99_color, 2), look.t("1 in 100 (99 % quantile)", "百年一遇（99 % 分位数）")),
        ],
        16,
        look,
    )?;
    let share_desc = look.t("share of futures (%)", "情景占比（%）");
    let f = Frame::SMALL;
    for (panel, col) in grid.split_evenly((2, 4)).iter().zip(DISTRIBUTION_LAYERS) {
        let (Some(values), Some(stat)) = (d.trials.column(col), d.summary.layers.get(col)) else { continue };
        let bins = match d.trials.weights() {
            None => histogram(&values, 30),
            Some(w) => weighted_histogram(&values, w, 30),
        };
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
                look.font(f.caption).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top)),
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
        let axis = MoneyAxis::new(x0, x1, 5);
        let span = x1 - x0;
        // Headroom above the tallest bar keeps a strip for the figures note.
        let ymax = (bins.iter().map(|b| b.share).fold(0.0, f64::max) * 100.0 * 1.3).max(1.0);
        let (shares, share_decimals) = plain_axis(0.0, ymax, 5);
        let caption = format!("{} ({})", layer_label(col, look.lang), axis.unit.name(look.lang));
        let mut chart =
            frame(panel, f, Some(&caption), look, ticked(x0..x1, axis.ticks.clone()), ticked(0.0..ymax, shares))?;
        mesh(&mut chart, f, look)
            .x_label_formatter(&|v| axis.label(*v))
            .y_label_formatter(&|v| group(*v, share_decimals))
            .y_desc(share_desc)
            .draw()?;
        let color = layer_color(col);
        chart.draw_series(
            bins.iter().map(|b| Rectangle::new([(b.lo, 0.0), (b.hi, b.share * 100.0)], color.mix(0.75).filled())),
        )?;
        // Marker lines stop below the note strip so they never cross its text.
        let line_top = ymax * 0.86;
        chart.draw_series(DashedLineSeries::new(
            seg((mean, 0.0), (mean, line_top)),
            6,
            4,
            mean_color.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(seg((p99, 0.0), (p99, line_top)), p99_color.stroke_width(2)))?;
        let note = format!(
            "{} {}   {} {}",
            look.t("mean", "均值"),
            axis.unit.tick(mean, span),
            look.t("1 in 100:", "百年一遇"),
            axis.unit.tick(p99, span)
        );
        chart.draw_series(std::iter::once(Text::new(
            note,
            (x1, ymax),
            look.font(13).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Top)),
        )))?;
    }
    Ok(())
}

/// The probability axis of an exceedance chart of `n` trials: it ends a
/// little below 1/n, the rarest level n trials resolve, and has ticks at the
/// 1-in-100 and 1-in-200 levels the run resolves, at the powers of ten above
/// 1/n and at 1/n itself. Ticks closer than about 20 pixels give way: a power
/// of ten to 1/n, 1/n to a named level. Returns the axis' lower end and its
/// ticks, largest first.
pub fn exceedance_axis(n: usize) -> (f64, Vec<f64>) {
    exceedance_axis_to(1.0 / n.max(1) as f64)
}

/// [`exceedance_axis`] down to the rarest level `rarest` a run resolves:
/// `1 / n` for `n` plain trials, deeper for an importance-sampled run
/// ([`resolved_level`]).
pub fn exceedance_axis_to(rarest: f64) -> (f64, Vec<f64>) {
    let rarest = rarest.clamp(1e-12, 1.0);
    let floor = rarest * 0.8;
    // A 560-pixel axis: 3.5 % of its decades is about 20 pixels.
    let near = |a: f64, b: f64| (a / b).log10().abs() < 0.035 * (1.0 / floor).log10();
    let mut ticks = vec![1.0];
    ticks.extend([0.01, 0.005].into_iter().filter(|&p| p >= rarest));
    for k in 1..=12 {
        let p = 1.0 / 10f64.powi(k);
        if p > rarest && !near(p, rarest) && !ticks.contains(&p) {
            ticks.push(p);
        }
    }
    if rarest < 1.0 && !ticks.iter().any(|&t| near(t, rarest)) {
        ticks.push(rarest);
    }
    ticks.sort_by(|a, b| b.total_cmp(a));
    (floor, ticks)
}

/// The exceedance chart's curves, thinned to 1,500 points each, with their
/// 95 % bands: on a plain run the band is the curve (the reports' intervals
/// of plain tails are the summary's); on a weighted run the pointwise
/// delta-method interval.
fn exceedance_curves(d: &RunData) -> Vec<(&'static str, Vec<BandedPoint>)> {
    DISTRIBUTION_LAYERS
        .iter()
        .filter(|&&c| c != "fiscal_cost")
        .filter_map(|&c| {
            let v = d.trials.column(c)?;
            let pts = match d.trials.weights() {
                None => exceedance_series(&v).into_iter().map(|(x, p)| (x, p, p, p)).collect(),
                Some(w) => weighted_exceedance_series(&v, w),
            };
            Some((c, thin_exceedance(&pts, 1500, |x| x.1)))
        })
        .collect()
}

/// Exceedance probability curves: loss against the probability of exceeding
/// it, log-scaled down to what the run resolves, with the 1-in-100 and
/// 1-in-200 levels marked and named on the axis.
fn draw_exceedance<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let n = d.trials.n().max(1);
    let curves = d.drawn.exceedance.get_or_init(|| exceedance_curves(d));
    let xmax = headroom(curves.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).fold(0.0, f64::max));
    let axis = MoneyAxis::new(0.0, xmax, 10);
    let rarest = match d.trials.weights() {
        None => 1.0 / n as f64,
        Some(_) => curves.iter().filter_map(|(_, c)| resolved_level(c)).fold(1.0 / n as f64, f64::min),
    };
    let (floor, levels) = exceedance_axis_to(rarest);
    let title = format!(
        "{} ({})",
        look.t("Probability that a loss is exceeded, by layer", "各层损失超越概率"),
        look.futures(d)
    );
    let area = page(root, &title, look)?;
    let f = Frame { y_area: 110, ..Frame::PAGE };
    let mut chart = frame(
        &area,
        f,
        None,
        look,
        ticked(0.0..xmax, axis.ticks.clone()),
        (floor..1.0).log_scale().with_key_points(levels),
    )?;
    mesh(&mut chart, f, look)
        .x_label_formatter(&|v| axis.label(*v))
        .y_label_formatter(&|p| one_in(*p, look.lang))
        .x_desc(format!("{} ({}, {})", look.t("loss", "损失"), look.over_horizon(d), axis.unit.name(look.lang)))
        .y_desc(look.t("probability of exceeding (log scale)", "超越概率（对数坐标）"))
        .draw()?;
    // The reference levels the run resolves, named by the axis' ticks; drawn
    // first, so the curves draw over them.
    let references: Vec<f64> = [0.01, 0.005].into_iter().filter(|&p| p >= rarest).collect();
    let mut lines = Vec::new();
    for &p in &references {
        chart.draw_series(DashedLineSeries::new(seg((0.0, p), (xmax, p)), 8, 5, BLACK.mix(0.5).stroke_width(1)))?;
        lines.push(vec![chart.backend_coord(&(0.0, p)), chart.backend_coord(&(xmax, p))]);
    }
    let mut labels = Vec::new();
    for (col, pts) in curves {
        let color = layer_color(col);
        let label = layer_label(col, look.lang).to_string();
        if pts.iter().all(|&(_, p, _, _)| p == 0.0) || pts.len() < 2 && pts[0].0 == 0.0 {
            // Never above its minimum: nothing to draw on a log axis; say so in the legend.
            let label = format!("{label} ({})", look.t("never paid", "从未发生"));
            labels.push(label.clone());
            let mark = Mark::Line(RGBColor(color.0 / 3 + 170, color.1 / 3 + 170, color.2 / 3 + 170), 3);
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label(label)
                .legend(move |p| Key { mark, at: p });
            continue;
        }
        if d.trials.weights().is_some() {
            // The band: the upper bounds' steps out, the lower bounds' back.
            let hi: Vec<(f64, f64)> = pts.iter().map(|&(x, _, _, h)| (x, h)).collect();
            let lo: Vec<(f64, f64)> = pts.iter().map(|&(x, _, l, _)| (x, l)).collect();
            let mut band = step_path(&hi, floor);
            band.extend(step_path(&lo, floor).into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.18).filled())))?;
        }
        let pts: Vec<(f64, f64)> = pts.iter().map(|&(x, p, _, _)| (x, p)).collect();
        let path = step_path(&pts, floor);
        lines.push(path.iter().map(|p| chart.backend_coord(p)).collect());
        let label = label.clone();
        labels.push(label.clone());
        chart
            .draw_series(LineSeries::new(path, color.stroke_width(3)))?
            .label(label)
            .legend(move |p| Key { mark: Mark::Line(color, 3), at: p });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, f, look)?;
    // Mark where the bank's loss curve crosses 1 in 100, the figure a bank
    // asks for, with its label where no line runs.
    let bank_p99 = d.summary.layers.get("bank_total").map_or(0.0, |s| s.p99);
    if bank_p99 > 0.0 && references.contains(&0.01) {
        let c = layer_color("bank_total");
        chart.draw_series(std::iter::once(Circle::new((bank_p99, 0.01), 6, c.filled())))?;
        let text = format!(
            "{} {} {}",
            look.t("bank's 1-in-100 loss:", "银行百年一遇损失："),
            axis.unit.tick(bank_p99, xmax),
            axis.unit.name(look.lang)
        );
        let size = (text_width(root, &text, 15, look), 17);
        let plot = plot_rect(&chart);
        let avoid = [legend_rect(root, plot, &labels, true, f, look)];
        let point = chart.backend_coord(&(bank_p99, 0.01));
        let at = free_place(&beside(point, size), size, plot, &lines, &avoid);
        if let Some(line) = leader(point, at, size) {
            root.draw(&PathElement::new(line.to_vec(), c.mix(0.7).stroke_width(1)))?;
        }
        root.draw(&Text::new(text, at, look.font(15).color(&c).pos(Pos::new(HPos::Left, VPos::Top))))?;
    }
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
    let axis = MoneyAxis::new(0.0, ymax, 8);
    let title = format!(
        "{} ({})",
        look.t("Where the expected loss goes: mean per future, by layer", "预期损失如何分担：各层平均值"),
        look.over_horizon(d)
    );
    let nb = bars.len() as u32;
    let area = page(root, &title, look)?;
    let f = Frame { x_area: 50, right: 16, ..Frame::PAGE };
    // A segmented u32 range holds its end too: 0..nb-1 gives nb categories.
    let mut chart =
        frame(&area, f, None, look, (0u32..nb - 1).into_segmented(), ticked(0.0..ymax, axis.ticks.clone()))?;
    let names: Vec<String> = bars
        .iter()
        .map(|b| match b.layer {
            "bank_loss" => look.t("Bank", "银行").to_string(),
            l => layer_label(l, look.lang).to_string(),
        })
        .collect();
    mesh(&mut chart, f, look)
        .disable_x_mesh()
        .x_labels(nb as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| axis.label(*v))
        .y_desc(format!("{} ({})", look.t("expected loss", "预期损失"), axis.unit.name(look.lang)))
        .draw()?;
    // Thin connectors from each bar's foot to the next bar's head.
    for (i, pair) in bars.windows(2).enumerate() {
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
        let label = format!("{}  ({})", axis.unit.tick(b.value(), ymax), pct(share));
        chart.draw_series(std::iter::once(Text::new(
            label,
            (SegmentValue::CenterOf(i), hi),
            look.font(15).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )))?;
    }
    Ok(())
}

/// The balance axis of a bank's panel: from below the lowest 1 % quantile
/// (with room under it for the panel's note) to just above the highest
/// median or 95 % quantile, so that the band fills the panel; never an empty
/// range.
pub fn balance_range(band: &[BandPoint]) -> (f64, f64) {
    let lo = band.iter().map(|p| p.p1.min(p.p5)).fold(f64::INFINITY, f64::min);
    let hi = band.iter().map(|p| p.p95.max(p.p50)).fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs() * 0.02).max(1.0);
    (lo - span * 0.2, hi + span * 0.06)
}

/// The banks of the balance chart's panels (indices into
/// `RunData::balances`) with their bands: province-scale runs have many
/// banks, and the largest deposits get panels.
fn balance_panels(d: &RunData) -> Vec<(usize, Vec<BandPoint>)> {
    const MAX_PANELS: usize = 6;
    let mut banks: Vec<usize> = (0..d.balances.len()).collect();
    banks.sort_by_key(|&b| std::cmp::Reverse(d.balances[b].opening));
    banks.truncate(MAX_PANELS);
    banks
        .into_iter()
        .map(|b| {
            let band = match d.trials.weights() {
                None => balance_band(&d.balances[b]),
                Some(w) => weighted_balance_band(&d.balances[b], w),
            };
            (b, band)
        })
        .collect()
}

/// Each bank's compensation balance over the years: the median, the 5-95 %
/// band and the 1 % quantile (the balance that 99 futures in 100 stay above).
fn draw_fund_balance<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let title = format!(
        "{} ({})",
        look.t("Compensation fund balance at each year end, per bank", "各银行风险补偿金年末余额"),
        look.futures(d)
    );
    let body = page(root, &title, look)?;
    let (keys, body) = body.split_vertically(30);
    let (color, red) = (PALETTE[0], RGBColor(200, 0, 0));
    key_row(
        &keys,
        &[
            (Mark::Fill(color.mix(0.22)), look.t("5-95 % of futures", "5%-95% 情景区间")),
            (Mark::Line(color, 3), look.t("median", "中位数")),
            (Mark::Dashed(red, 2), look.t("1 in 100 worst", "百年一遇最低")),
        ],
        15,
        look,
    )?;
    let banks = d.drawn.bands.get_or_init(|| balance_panels(d));
    let cols = banks.len().clamp(1, 3);
    let rows = banks.len().div_ceil(cols).max(1);
    let horizon = d.summary.horizon_years as f64;
    let f = Frame::PANEL;
    let labels = d.labels();
    for (panel, (b, band)) in body.split_evenly((rows, cols)).iter().zip(banks) {
        let (b, band) = (&d.balances[*b], band.as_slice());
        let (y0, y1) = balance_range(band);
        let axis = MoneyAxis::new(y0, y1, 7);
        let mut chart = frame(
            panel,
            f,
            Some(labels.get(Kind::Bank, &b.bank, look.lang).unwrap_or(&b.name)),
            look,
            -0.1..horizon + 0.1,
            ticked(y0..y1, axis.ticks.clone()),
        )?;
        mesh(&mut chart, f, look)
            .x_labels(d.summary.horizon_years as usize + 1)
            .x_label_formatter(&|v| {
                let y = v.round();
                if (v - y).abs() < 1e-6 && y >= 0.0 { format!("{y:.0}") } else { String::new() }
            })
            .y_label_formatter(&|v| axis.label(*v))
            .x_desc(look.t("year (0 = opening deposit)", "年份（0 = 初始存入）"))
            .y_desc(format!("{} ({})", look.t("balance", "余额"), axis.unit.name(look.lang)))
            .draw()?;
        let mut poly: Vec<(f64, f64)> = band.iter().map(|p| (p.year as f64, p.p95)).collect();
        poly.extend(band.iter().rev().map(|p| (p.year as f64, p.p5)));
        chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.22).filled())))?;
        chart.draw_series(LineSeries::new(band.iter().map(|p| (p.year as f64, p.p50)), color.stroke_width(3)))?;
        chart.draw_series(DashedLineSeries::new(
            band.iter().map(|p| (p.year as f64, p.p1)).collect::<Vec<_>>(),
            6,
            4,
            red.stroke_width(2),
        ))?;
        if y0 <= 0.0 {
            // Where the fund runs dry.
            chart.draw_series(LineSeries::new(seg((-0.1, 0.0), (horizon + 0.1, 0.0)), BLACK.mix(0.6)))?;
        }
        // Say what the worst line means in words: the share of the deposit left.
        if let (Some(last), true) = (band.last(), b.opening > 0) {
            let left = last.p1 / (b.opening as f64 / 100.0);
            let text = match look.lang {
                Lang::En => format!("1 in 100: {} of the deposit left", pct(left.max(0.0))),
                Lang::Zh => format!("百年一遇：剩余 {}", pct(left.max(0.0))),
            };
            chart.draw_series(std::iter::once(Text::new(
                text,
                // Below the line's end, in the room the axis keeps there.
                (horizon, last.p1 - (y1 - y0) * 0.03),
                look.font(13).color(&red).pos(Pos::new(HPos::Right, VPos::Top)),
            )))?;
        }
    }
    Ok(())
}

/// Most accounts the sizing chart draws; a province's are more than one
/// chart can tell apart.
const MAX_SIZING_CURVES: usize = 8;

/// Where an account's sizing curve, as drawn (straight between its points
/// on the log ratio axis), reaches `target`: the ratio at which the account
/// runs dry with probability `target`. `None` when the curve is at or above
/// the target from its first point or never reaches it. `riskshare size`
/// gives the ratio for the matching confidence (99 % for a 1 % target) from
/// the trials themselves, with its interval.
pub fn target_crossing(pts: &[&CurvePoint], target: f64) -> Option<f64> {
    let k = pts.iter().position(|p| p.depletion_prob >= target)?;
    let (a, b) = (pts.get(k.checked_sub(1)?)?, pts[k]);
    let t = (target - a.depletion_prob) / (b.depletion_prob - a.depletion_prob);
    Some((a.ratio.ln() + t * (b.ratio.ln() - a.ratio.ln())).exp())
}

/// The sizing curve: the loans : fund ratio against the probability that the
/// account runs dry, today's ratio and the 1 % target marked, and where each
/// account reaches it.
fn draw_sizing<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &RunData, look: &Look) -> DrawResult<DB> {
    let Some(points) = &d.size_curve else { return Ok(()) };
    let mut curves: Vec<(&str, Vec<&CurvePoint>, Option<f64>)> = curves_by_account(points)
        .into_iter()
        .map(|(account, pts)| {
            let cross = target_crossing(&pts, DEPLETION_TARGET);
            (account, pts, cross)
        })
        .collect();
    let accounts = curves.len();
    if accounts > MAX_SIZING_CURVES {
        // The accounts that reach the target at the lowest ratio (the
        // smallest deposit shortfall away), then those that never do.
        curves.sort_by(|a, b| a.2.unwrap_or(f64::INFINITY).total_cmp(&b.2.unwrap_or(f64::INFINITY)));
        curves.truncate(MAX_SIZING_CURVES);
    }
    let drawn = curves.iter().flat_map(|(_, pts, _)| pts.iter());
    let (rmin, rmax, pmax) = drawn.fold((f64::INFINITY, 0.0f64, 0.0f64), |(a, b, c), p| {
        (a.min(p.ratio), b.max(p.ratio), c.max(p.hi.max(p.depletion_prob)))
    });
    let today = today_ratio(&d.summary).unwrap_or(10.0);
    let names = d.labels();
    let (x0, x1) = (rmin.min(today).max(0.1) * 0.95, rmax.max(today) * 1.05);
    let ymax = (pmax * 100.0 * 1.1).max(2.0);
    let (y_ticks, y_decimals) = plain_axis(0.0, ymax, 8);
    let title = format!(
        "{} ({})",
        look.t("How often the compensation fund runs dry, by deposit ratio", "补偿金用尽概率与存入比例"),
        look.over_horizon(d)
    );
    let area = page(root, &title, look)?;
    let f = Frame { y_area: 80, ..Frame::PAGE };
    // Ratios on a log axis: 5:1 to 10:1 matters as much as 100:1 to 200:1.
    let mut chart = frame(
        &area,
        f,
        None,
        look,
        (x0..x1).log_scale().with_key_points(ratio_ticks(x0, x1)),
        ticked(0.0..ymax, y_ticks),
    )?;
    mesh(&mut chart, f, look)
        .x_label_formatter(&|v| ratio(*v))
        .y_label_formatter(&|v| format!("{} %", group(*v, y_decimals)))
        .x_desc(look.t(
            "loans : fund ratio (covered loans per yuan of deposit; higher = smaller fund)",
            "贷款与补偿金之比（比值越大，补偿金越少）",
        ))
        .y_desc(look.t("probability the fund runs dry", "补偿金用尽概率"))
        .draw()?;
    let target = DEPLETION_TARGET * 100.0;
    let red = RGBColor(200, 0, 0);
    chart.draw_series(DashedLineSeries::new(seg((x0, target), (x1, target)), 8, 5, red.stroke_width(2)))?;
    let target_text = look.t("target: at most 1 %", "目标：不超过 1 %").to_string();
    let target_at = chart.backend_coord(&(x0, target));
    let target_rect =
        (target_at.0, target_at.1 - 19, target_at.0 + text_width(root, &target_text, 15, look), target_at.1);
    chart.draw_series(std::iter::once(Text::new(
        target_text,
        (x0, target),
        look.font(15).color(&red).pos(Pos::new(HPos::Left, VPos::Bottom)),
    )))?;
    chart.draw_series(DashedLineSeries::new(seg((today, 0.0), (today, ymax)), 8, 5, BLACK.mix(0.6).stroke_width(2)))?;
    let today_text = format!("{} {}", look.t("today", "现行"), ratio(today));
    // Halfway up, clear of the legend in the top left.
    let today_at = chart.backend_coord(&(today * 1.02, ymax * 0.55));
    let today_rect = (today_at.0, today_at.1, today_at.0 + text_width(root, &today_text, 15, look), today_at.1 + 19);
    chart.draw_series(std::iter::once(Text::new(
        today_text,
        (today * 1.02, ymax * 0.55),
        look.font(15).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Top)),
    )))?;
    let mut lines = vec![
        vec![chart.backend_coord(&(x0, target)), chart.backend_coord(&(x1, target))],
        vec![chart.backend_coord(&(today, 0.0)), chart.backend_coord(&(today, ymax))],
    ];
    let mut labels = Vec::new();
    if accounts > curves.len() {
        let note = match look.lang {
            Lang::En => format!("the {} of {accounts} accounts that reach 1 % at the lowest ratio:", curves.len()),
            Lang::Zh => format!("{accounts} 个账户中最早达到 1 % 的 {} 个：", curves.len()),
        };
        let note = note.clone();
        labels.push(note.clone());
        chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?.label(note);
    }
    // The intervals' bands overlap: the more accounts, the fainter each.
    let band_alpha = 0.15 * (3.0 / curves.len().max(3) as f64);
    for (k, (account, pts, cross)) in curves.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.ratio, p.hi * 100.0)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.ratio, p.lo * 100.0)));
        chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(band_alpha).filled())))?;
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (p.ratio, p.depletion_prob * 100.0)).collect();
        lines.push(line.iter().map(|p| chart.backend_coord(p)).collect());
        let reach = match (cross, pts.first(), pts.last(), look.lang) {
            (Some(r), _, _, Lang::En) => format!("1 % at {}", ratio(*r)),
            (Some(r), _, _, Lang::Zh) => format!("{} 时达 1 %", ratio(*r)),
            (None, Some(first), _, lang) if first.depletion_prob >= DEPLETION_TARGET => match lang {
                Lang::En => format!("over 1 % from {}", ratio(first.ratio)),
                Lang::Zh => format!("自 {} 起超过 1 %", ratio(first.ratio)),
            },
            (None, _, Some(last), Lang::En) => format!("under 1 % up to {}", ratio(last.ratio)),
            (None, _, Some(last), Lang::Zh) => format!("至 {} 仍低于 1 %", ratio(last.ratio)),
            _ => String::new(),
        };
        let label = format!("{} ({reach})", account_label(d, &names, account, look.lang));
        labels.push(label.clone());
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(3)))?
            .label(label)
            .legend(move |p| Key { mark: Mark::Line(color, 3), at: p });
    }
    // Each crossing as a point on the target line, and one label for them.
    let crossings: Vec<(usize, f64)> = curves.iter().enumerate().filter_map(|(k, c)| Some((k, c.2?))).collect();
    for &(k, r) in &crossings {
        let color = PALETTE[k % PALETTE.len()];
        chart.draw_series(std::iter::once(Circle::new((r, target), 6, color.filled())))?;
        chart.draw_series(std::iter::once(Circle::new((r, target), 6, WHITE.stroke_width(1))))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, f, look)?;
    let (lo, hi) = crossings.iter().fold((f64::INFINITY, 0.0f64), |(a, b), c| (a.min(c.1), b.max(c.1)));
    if hi > 0.0 {
        let (lo_text, hi_text) = (ratio(lo), ratio(hi));
        let at = if lo_text == hi_text { lo_text } else { format!("{lo_text} – {hi_text}") };
        let text = match look.lang {
            Lang::En => format!("1 % reached at {at}"),
            Lang::Zh => format!("{at} 时达到 1 %"),
        };
        let size = (text_width(root, &text, 15, look), 17);
        let plot = plot_rect(&chart);
        let (left, right) = (chart.backend_coord(&(lo, target)), chart.backend_coord(&(hi, target)));
        // Below the target line right of the last crossing, or above it left
        // of the first: the curves run above the line right of their
        // crossings and below it left of them.
        let mut places = vec![(right.0 + 10, right.1 + 6), (left.0 - 10 - size.0, left.1 - 6 - size.1)];
        places.extend(beside(right, size));
        let avoid = [legend_rect(root, plot, &labels, false, f, look), target_rect, today_rect];
        let at = free_place(&places, size, plot, &lines, &avoid);
        root.draw(&Text::new(text, at, look.font(15).color(&red).pos(Pos::new(HPos::Left, VPos::Top))))?;
    }
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

/// The y range of a convergence panel: every drawn point of the running
/// mean, and its interval from a tenth of the run on (before that the
/// interval is wide, and is cut at the range's edges), with a margin.
pub fn convergence_range(pts: &[RunningMean], n: u64) -> (f64, f64) {
    let (lo, hi) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        let (l, h) = if p.n >= (n / 10).max(1) { (p.lo, p.hi) } else { (p.mean, p.mean) };
        (lo.min(l).min(p.mean), hi.max(h).max(p.mean))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.15).max(hi.abs() * 0.01).max(1.0);
    ((lo - pad).max(0.0_f64.min(lo)), hi + pad)
}

/// A polygon cut to the band `lo <= y <= hi` (Sutherland–Hodgman against the
/// band's two edges): what lies outside is cut off, not squashed onto the
/// edge, so a filled band never spills out of its chart.
pub fn clip_polygon(poly: &[(f64, f64)], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    fn cut(pts: &[(f64, f64)], edge: f64, inside: impl Fn(f64) -> bool) -> Vec<(f64, f64)> {
        let mut out = Vec::with_capacity(pts.len() + 4);
        for (i, &b) in pts.iter().enumerate() {
            let a = pts[(i + pts.len() - 1) % pts.len()];
            let cross = || (a.0 + (edge - a.1) / (b.1 - a.1) * (b.0 - a.0), edge);
            match (inside(a.1), inside(b.1)) {
                (true, true) => out.push(b),
                (true, false) => out.push(cross()),
                (false, true) => {
                    out.push(cross());
                    out.push(b);
                }
                (false, false) => {}
            }
        }
        out
    }
    let above = cut(poly, lo, |y| y >= lo);
    cut(&above, hi, |y| y <= hi)
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
    let body = page(root, &title, look)?;
    let panels = body.split_evenly((1, 2));
    let f = Frame { margin: 12, right: 24, x_area: 50, y_area: 80, ticks: 14, titles: 15, legend: 14, ..Frame::PANEL };
    for (panel, col) in panels.iter().zip(["bank_total", "comp_fund"]) {
        let Some(values) = d.trials.column(col) else { continue };
        let n = values.len() as u64;
        // The first hundredth of the run says little and swings wide.
        let pts = match d.trials.weights() {
            None => running_mean_yuan(&values, 800),
            Some(w) => weighted_running_mean_yuan(&values, w, 800),
        };
        let pts: Vec<RunningMean> = pts.into_iter().filter(|p| p.n > n / 100 || p.n == n).collect();
        let (y0, y1) = convergence_range(&pts, n);
        let axis = MoneyAxis::new(y0, y1, 8);
        let (counts, _) = plain_axis(0.0, n as f64, 6);
        let caption = format!("{} ({})", layer_label(col, look.lang), axis.unit.name(look.lang));
        let mut chart =
            frame(panel, f, Some(&caption), look, ticked(0.0..n as f64, counts), ticked(y0..y1, axis.ticks.clone()))?;
        mesh(&mut chart, f, look)
            .x_label_formatter(&|v| group(*v, 0))
            .y_label_formatter(&|v| axis.label(*v))
            .x_desc(look.t("number of simulated futures", "模拟次数"))
            .y_desc(format!("{} ({})", look.t("mean so far", "累计均值"), axis.unit.name(look.lang)))
            .draw()?;
        let color = layer_color(col);
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.n as f64, p.hi)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.n as f64, p.lo)));
        let band = Mark::Fill(color.mix(0.2));
        chart
            .draw_series(std::iter::once(Polygon::new(clip_polygon(&poly, y0, y1), color.mix(0.2).filled())))?
            .label(look.t("95 % confidence band", "95 % 置信区间"))
            .legend(move |p| Key { mark: band, at: p });
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.n as f64, p.mean)), color.stroke_width(2)))?
            .label(look.t("running mean", "累计均值"))
            .legend(move |p| Key { mark: Mark::Line(color, 2), at: p });
        legend(&mut chart, SeriesLabelPosition::UpperRight, f, look)?;
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

/// The mark of the `j`-th scenario of a comparison: [`SCENARIO_COLORS`] in
/// turn, then the same colours again with a dark outline, so no two of the
/// first 40 scenarios look alike.
fn scenario_mark(j: usize) -> Mark {
    let color = SCENARIO_COLORS[j % SCENARIO_COLORS.len()];
    if (j / SCENARIO_COLORS.len()) % 2 == 0 { Mark::Fill(color.mix(1.0)) } else { Mark::Outlined(color) }
}

fn draw_comparison<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Comparison, look: &Look) -> DrawResult<DB> {
    let means: Vec<Vec<f64>> = COMPARED
        .iter()
        .map(|k| c.rows.iter().find(|r| r.metric == *k).map(|r| r.mean.clone()).unwrap_or_default())
        .collect();
    let ymax = headroom(means.iter().flatten().copied().fold(0.0, f64::max) * 1.05);
    let axis = MoneyAxis::new(0.0, ymax, 8);
    let trials = group(c.trials as f64, 0);
    let title = match look.lang {
        Lang::En => format!("Expected loss by layer in each scenario ({trials} futures, the same in each)"),
        Lang::Zh => format!("各情景各层预期损失（{trials} 次模拟，各情景相同）"),
    };
    let nl = COMPARED.len() as u32;
    let body = page(root, &title, look)?;
    // The scenarios' legend in a column of its own: a box inside the chart
    // would cover the bars of a long comparison.
    let f = Frame { x_area: 50, right: 16, ..Frame::PAGE };
    let keys: Vec<(Mark, String)> =
        c.scenarios.iter().enumerate().map(|(j, name)| (scenario_mark(j), name.clone())).collect();
    let widest = keys.iter().map(|(_, l)| text_width(&body, l, f.legend, look)).max().unwrap_or(0);
    let (w, _) = body.dim_in_pixel();
    let column = (widest as u32 + 56).clamp(120, w * 2 / 5);
    let (area, side) = body.split_horizontally(w - column);
    key_column(&side, &keys, f.legend, look)?;
    // A segmented u32 range holds its end too: 0..nl-1 gives nl groups.
    let mut chart =
        frame(&area, f, None, look, (0u32..nl - 1).into_segmented(), ticked(0.0..ymax, axis.ticks.clone()))?;
    mesh(&mut chart, f, look)
        .disable_x_mesh()
        .x_labels(nl as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => COMPARED.get(*i as usize).map_or("", |l| layer_label(l, look.lang)).into(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| axis.label(*v))
        .y_desc(format!("{} ({})", look.t("expected loss", "预期损失"), axis.unit.name(look.lang)))
        .draw()?;
    // Each scenario's bar takes its slot of a group's middle 80 %, in pixels.
    let group_px = chart.plotting_area().dim_in_pixel().0 as f64 / nl as f64;
    let slot = group_px * 0.8 / c.scenarios.len().max(1) as f64;
    for j in 0..c.scenarios.len() {
        let left = (group_px * 0.1 + slot * j as f64).round() as u32;
        let right = (group_px - group_px * 0.1 - slot * (j + 1) as f64 + slot * 0.08).round().max(0.0) as u32;
        let bar = |i: usize, style: ShapeStyle| {
            let m: f64 = means[i].get(j).copied()?;
            let i = i as u32;
            let mut bar = Rectangle::new([(SegmentValue::Exact(i), m), (SegmentValue::Exact(i + 1), 0.0)], style);
            bar.set_margin(0, 0, left, right);
            Some(bar)
        };
        let (fill, outlined) = match scenario_mark(j) {
            Mark::Outlined(color) => (color.filled(), true),
            Mark::Fill(color) => (color.filled(), false),
            _ => (BLACK.filled(), false),
        };
        chart.draw_series((0..means.len()).filter_map(|i| bar(i, fill)))?;
        if outlined {
            chart.draw_series((0..means.len()).filter_map(|i| bar(i, BLACK.stroke_width(2))))?;
        }
    }
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

/// A swept key's name for people, for the keys a bureau sweeps; other keys
/// as their last part in words, with the key itself.
pub fn key_title(key: &str, lang: Lang) -> String {
    let known = match key {
        "funds.compensation.deposit_ratio" => Some(("deposit ratio (loans : fund)", "存入比例（贷款 : 补偿金）")),
        "funds.compensation.government_share" => Some(("government's share of the loss", "政府分担比例")),
        "funds.compensation.shortfall_bearer" => Some(("who bears a shortfall", "缺口承担方")),
        "funds.compensation.top_up.enabled" => Some(("year-end top-ups", "年末补充")),
        "funds.compensation.top_up.annual_cap" => Some(("top-up cap per year (CNY)", "每年补充上限（元）")),
        "funds.compensation.top_up.total_cap" => Some(("top-up cap over the horizon (CNY)", "期内补充上限（元）")),
        "funds.village.share" => Some(("village fund (share of covered loans)", "村级互助金（占覆盖贷款比例）")),
        "funds.village.enabled" => Some(("village funds", "村级互助金")),
        "economy.rho" => Some(("correlation of defaults (rho)", "违约相关性（rho）")),
        _ => None,
    };
    match known {
        Some((en, zh)) => lang.pick(en, zh).to_string(),
        None => format!("{} ({key})", key.rsplit('.').next().unwrap_or(key).replace('_', " ")),
    }
}

/// A swept value as people read it: ratios as "8:1", shares as percentages,
/// other values as typed.
pub fn value_label(key: &str, value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if key.ends_with("deposit_ratio") => ratio(v),
        Ok(v) if key.ends_with("share") => pct(v),
        _ => value.to_string(),
    }
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
    let body = page(root, &title, look)?;
    let (w, _) = body.dim_in_pixel();
    let (grid, scale) = body.split_horizontally(w.saturating_sub(150));
    let (na, nb) = (a.values.len() as u32, b.values.len() as u32);
    let f = Frame { x_area: 60, y_area: 110, right: 16, titles: 16, ..Frame::PAGE };
    // Segmented u32 ranges hold their ends too: 0..n-1 gives n cells.
    let mut chart = frame(&grid, f, None, look, (0u32..nb - 1).into_segmented(), (0u32..na - 1).into_segmented())?;
    let label = |axis: &Axis, i: Option<u32>| {
        i.and_then(|i| axis.values.get(i as usize)).map(|v| value_label(&axis.key, v)).unwrap_or_default()
    };
    // The first value of the first key is the top row, as in the table.
    let row = |y: u32| (na - 1).checked_sub(y);
    mesh(&mut chart, f, look)
        .disable_mesh()
        .x_labels(nb as usize)
        .y_labels(na as usize)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(j) => label(b, Some(*j)),
            _ => String::new(),
        })
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(y) => label(a, row(*y)),
            _ => String::new(),
        })
        .x_desc(key_title(&b.key, look.lang))
        .y_desc(key_title(&a.key, look.lang))
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
    let (levels, _) = nice_ticks(0.0, 0.1, 6);
    let mut scale_chart = ChartBuilder::on(&scale)
        .margin_top(16)
        .margin_bottom(76)
        .margin_right(20)
        .y_label_area_size(70)
        // Room between the title and the top tick's label, centred on the edge.
        .top_x_label_area_size(12)
        .caption(look.t("runs dry", "用尽概率"), look.font(15))
        .build_cartesian_2d(0.0..1.0, ticked(0.0..0.1, levels))?;
    scale_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(&|p| if *p >= 0.1 - 1e-9 { format!("≥ {}", pct(*p)) } else { pct(*p) })
        .label_style(look.font(13))
        .draw()?;
    scale_chart.draw_series((0..steps).map(|k| {
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
            .label(name)
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

/// An SVG chart as a file of its own. A Chinese one carries the embedded
/// font, cut to its characters, so that it reads on a machine without CJK
/// fonts as report.html (which embeds the font once for all its charts)
/// does; an English one names the font and falls back to the reader's.
pub fn svg_file(svg: String, lang: Lang) -> String {
    if lang == Lang::En {
        return svg;
    }
    match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => {
            let face = font::face_css(&svg);
            format!("{}<defs><style>{face}</style></defs>{}", &svg[..=end], &svg[end + 1..])
        }
        _ => svg,
    }
}

/// Draws a chart as SVG text, labelled in `lang` (the browser draws the text).
pub fn render_svg(chart: Chart, d: &RunData, lang: Lang) -> Result<String> {
    let draw =
        || draw_svg(chart.size(), lang, &format!("{}.svg", chart.stem()), |root, look| chart.draw(root, d, look));
    let at = Chart::ALL.iter().position(|&c| c == chart).expect("every chart is in Chart::ALL");
    // The first caller draws; another asking meanwhile waits for its text.
    let (drawn_in, svg) = d.drawn.svg[at].get_or_init(|| (lang, draw().map_err(|e| format!("{e:#}"))));
    if *drawn_in != lang {
        return draw();
    }
    svg.clone().map_err(|e| anyhow!(e))
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
            fs::write(&svg, svg_file(render_svg(chart, d, lang)?, lang))
                .with_context(|| format!("cannot write {}", svg.display()))?;
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
        // Nice ticks: 0 to 25 (CNY 10k) in fives, not fractions of the top.
        for tick in ["0", "5", "10", "15", "20", "25"] {
            assert!(svg.contains(&format!("\n{tick}\n")), "tick {tick}");
        }
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
        // Titles for people, values as they read: shares as percentages, ratios as ratios.
        assert!(svg.contains("补偿金用尽的概率") && svg.contains("村级互助金（占覆盖贷款比例）"), "{svg}");
        assert!(svg.contains("存入比例（贷款 : 补偿金）") && !svg.contains("funds.village.share"), "{svg}");
        assert!(svg.contains("\n5 %\n") && svg.contains("\n12:1\n"), "{svg}");
        // The colour scale, 0 to 10 % and above.
        assert!(svg.contains(&format!("\n≥ {}\n", pct(0.1))) && svg.contains("用尽概率"), "{svg}");
        assert!(sweep_heatmap_svg(&axes[..1], &rows[..3], Lang::En).unwrap().is_none());
        assert!(sweep_heatmap_svg(&axes, &rows[..5], Lang::En).is_err());
    }

    /// Unit weights draw the plain curve inside a band that holds it; an
    /// axis for a rarer resolved level reaches it.
    #[test]
    fn weighted_exceedance_by_hand() {
        let v = [100, 0, 300, 0];
        let pts = weighted_exceedance_series(&v, &[1.0; 4]);
        assert_eq!(pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), exceedance_series(&v));
        assert!(pts.iter().all(|p| p.2 <= p.1 && p.1 <= p.3 && p.3 <= 1.0));
        // Halved weights halve the curve; the three values above 7 resolve S(7).
        let pts = weighted_exceedance_series(&[5, 5, 7, 9, 9, 9], &[0.5; 6]);
        assert_eq!(pts.iter().map(|p| p.1).collect::<Vec<_>>(), vec![2.0 / 6.0, 1.5 / 6.0, 0.0]);
        assert_eq!(resolved_level(&pts), Some(1.5 / 6.0));
        let (floor, ticks) = exceedance_axis_to(1e-6);
        assert!(floor < 1e-6 && ticks.contains(&1e-5) && ticks.last() == Some(&1e-6), "{ticks:?}");
        assert_eq!(exceedance_axis_to(1.0 / 20_000.0), exceedance_axis(20_000));
    }

    /// The weighted histogram, running mean and balance band are the plain
    /// ones when every weight is 1, and weigh trials as told otherwise.
    #[test]
    fn weighted_series_by_hand() {
        let v: Vec<i64> = (0..200).map(|i| (i * 7919 % 1000) * 100).collect();
        let ones = vec![1.0; v.len()];
        let (a, b) = (weighted_histogram(&v, &ones, 30), histogram(&v, 30));
        assert!(a.iter().zip(&b).all(|(x, y)| (x.lo, x.hi) == (y.lo, y.hi) && (x.share - y.share).abs() < 1e-12));
        // Weight 2 on the first half, 0 on the second: still a distribution.
        let w: Vec<f64> = (0..v.len()).map(|i| if i < 100 { 2.0 } else { 0.0 }).collect();
        let h = weighted_histogram(&v, &w, 30);
        assert!((h.iter().map(|b| b.share).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(h.iter().all(|b| b.share >= 0.0));
        let (r, p) = (weighted_running_mean_yuan(&v, &ones, 10), running_mean_yuan(&v, 10));
        assert_eq!(r.len(), p.len());
        for (x, y) in r.iter().zip(&p) {
            assert_eq!(x.n, y.n);
            assert!((x.mean - y.mean).abs() < 1e-9 && (x.hi - y.hi).abs() < 1e-6, "{x:?} against {y:?}");
        }
        let b = YearBalances { bank: "b".into(), name: "b".into(), opening: 500, by_year: vec![v.clone(), v] };
        assert_eq!(weighted_balance_band(&b, &ones), balance_band(&b));
    }

    #[test]
    fn exceedance_axis_stops_at_what_the_run_resolves() {
        let (floor, ticks) = exceedance_axis(20_000);
        assert_eq!(ticks, vec![1.0, 0.1, 0.01, 0.005, 0.001, 0.0001, 1.0 / 20_000.0]);
        assert!(floor < 1.0 / 20_000.0 && floor > 1.0 / 100_000.0, "{floor}");
        // A power of ten just above 1/n gives way to 1/n, whose label it would overlap.
        assert_eq!(exceedance_axis(12_000).1, vec![1.0, 0.1, 0.01, 0.005, 0.001, 1.0 / 12_000.0]);
        // Levels the run cannot resolve are not on the axis; 1/n gives way to a named level.
        assert_eq!(exceedance_axis(150).1, vec![1.0, 0.1, 0.01, 1.0 / 150.0]);
        assert_eq!(exceedance_axis(100).1, vec![1.0, 0.1, 0.01]);
        assert_eq!(exceedance_axis(210).1, vec![1.0, 0.1, 0.01, 0.005]);
        assert_eq!(one_in(1.0 / 20_000.0, Lang::En), "1 in 20,000");
    }

    #[test]
    fn labels_go_where_no_line_runs() {
        // A segment through a box, one beside it, one ending inside it.
        let r = (10, 10, 50, 30);
        assert!(crosses((0, 20), (60, 20), r));
        assert!(!crosses((0, 40), (60, 40), r));
        assert!(crosses((0, 0), (20, 20), r));
        assert!(!crosses((60, 0), (60, 50), r));
        let within = (0, 0, 400, 300);
        let point = (200, 150);
        let size = (80, 16);
        let places = beside(point, size);
        // Nothing in the way: right above the point.
        assert_eq!(free_place(&places, size, within, &[], &[]), (208, 130));
        // A line through that place: the next free one, clear of the line.
        let line = vec![vec![(150, 138), (350, 138)]];
        let at = free_place(&places, size, within, &line, &[]);
        assert_ne!(at, (208, 130));
        assert!(!crosses((150, 138), (350, 138), (at.0 - 6, at.1 - 6, at.0 + 86, at.1 + 22)), "{at:?}");
        // Boxes to avoid are avoided, and a place outside the chart is not used.
        let at = free_place(&places, size, within, &[], &[(190, 100, 400, 149)]);
        assert!(!overlap((190, 100, 400, 149), (at.0, at.1, at.0 + 80, at.1 + 16)), "{at:?}");
        let corner = free_place(&beside((395, 5), size), size, within, &[], &[]);
        assert!(corner.0 >= 0 && corner.0 + 80 <= 400 && corner.1 >= 0, "{corner:?}");
        // A label beside its point needs no leader; one moved away does.
        assert_eq!(leader(point, (208, 130), size), None);
        assert_eq!(leader(point, (300, 130), size), Some([point, (300, 146)]));
    }

    #[test]
    fn bands_are_cut_at_the_chart_edges_not_squashed() {
        // A triangle poking above y = 1: cut along y = 1 at the crossing points.
        let tri = [(0.0, 0.0), (2.0, 2.0), (4.0, 0.0)];
        assert_eq!(clip_polygon(&tri, 0.0, 1.0), vec![(0.0, 0.0), (1.0, 1.0), (3.0, 1.0), (4.0, 0.0)]);
        let cut = clip_polygon(&[(0.0, -5.0), (1.0, 5.0), (2.0, -5.0)], -1.0, 1.0);
        assert!(cut.iter().all(|&(_, y)| (-1.0..=1.0).contains(&y)), "{cut:?}");
        assert!(clip_polygon(&tri, 3.0, 4.0).is_empty());
        // The y range holds every drawn mean and the band from a tenth of the run on.
        let pt = |n, mean, half| RunningMean { n, mean, lo: mean - half, hi: mean + half };
        let pts = [pt(5, 200.0, 150.0), pt(50, 120.0, 30.0), pt(100, 100.0, 10.0)];
        let (y0, y1) = convergence_range(&pts, 100);
        assert!(y0 <= 90.0 && (200.0..350.0).contains(&y1), "{y0} {y1}");
    }

    #[test]
    fn the_balance_axis_fits_the_band() {
        let b = |year, p1, p5, p50, p95| BandPoint { year, p1, p5, p50, p95 };
        let band = [b(0, 1000.0, 1000.0, 1000.0, 1000.0), b(1, 930.0, 960.0, 990.0, 999.0)];
        let (lo, hi) = balance_range(&band);
        assert!(lo < 930.0 && hi > 1000.0, "{lo} {hi}");
        // The band fills most of the axis rather than a sliver above 0.
        assert!((1000.0 - 930.0) / (hi - lo) > 0.7, "{lo} {hi}");
        let flat = [b(0, 500.0, 500.0, 500.0, 500.0)];
        let (lo, hi) = balance_range(&flat);
        assert!(lo < 500.0 && hi > 500.0);
    }

    #[test]
    fn the_sizing_curve_crossing_is_read_where_it_is_drawn() {
        let p = |ratio: f64, prob: f64| CurvePoint {
            account: "a".into(),
            ratio,
            deposit: 0.0,
            depletion_prob: prob,
            lo: prob,
            hi: prob,
        };
        let pts = [p(10.0, 0.0), p(20.0, 0.005), p(40.0, 0.015), p(80.0, 0.05)];
        let refs: Vec<&CurvePoint> = pts.iter().collect();
        // Halfway from 0.5 % to 1.5 % on the log axis: the geometric mean of 20 and 40.
        let r = target_crossing(&refs, 0.01).unwrap();
        assert!((r - (20.0f64 * 40.0).sqrt()).abs() < 1e-9, "{r}");
        assert!((target_crossing(&refs, 0.05).unwrap() - 80.0).abs() < 1e-9);
        assert_eq!(target_crossing(&refs, 0.2), None);
        assert_eq!(target_crossing(&refs[1..], 0.001), None, "above the target from the first point");
    }

    #[test]
    fn scenarios_do_not_share_a_look() {
        let looks: Vec<String> = (0..40).map(|j| format!("{:?}", scenario_mark(j))).collect();
        let distinct: std::collections::BTreeSet<&String> = looks.iter().collect();
        assert_eq!(distinct.len(), 40);
    }

    #[test]
    fn swept_keys_and_values_read_as_words() {
        assert_eq!(key_title("funds.compensation.deposit_ratio", Lang::En), "deposit ratio (loans : fund)");
        assert_eq!(key_title("hazards.perils.flood.rate", Lang::En), "rate (hazards.perils.flood.rate)");
        assert_eq!(key_title("funds.compensation.top_up.annual_cap", Lang::Zh), "每年补充上限（元）");
        assert_eq!(value_label("funds.compensation.deposit_ratio", "12"), "12:1");
        assert_eq!(value_label("funds.village.share", "0.035"), "3.5 %");
        assert_eq!(value_label("funds.compensation.shortfall_bearer", "bank"), "bank");
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
