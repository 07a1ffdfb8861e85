//! `results.xlsx`: the report's tables as an Excel workbook that a county
//! office opens in Excel or WPS and pastes from, one per `run` (and `merge`,
//! `report`), `compare`, `sweep` and `stress`.
//!
//! Every sheet is drawn from the typed results the CSV, text and HTML
//! outputs render ([`Summary`], [`Sizing`], [`CurvePoint`], [`Comparison`],
//! [`Sweep`], [`StressReport`]); nothing here computes a statistic. Cells
//! hold numbers, not text: money in yuan with two decimals shown with
//! thousands separators (`#,##0.00`, the unit in the header), probabilities
//! as fractions shown as percentages, ratios as `10.0:1`. The header row is
//! frozen, widths follow the content, and the main figures have native
//! Excel charts (they stay live when a user edits a cell).
//!
//! A sheet is a list of columns, each a header, a [`Kind`] and how to read
//! the cell from a row ([`col`]), so adding a figure to a sheet is one line.
//! Labels follow [`Lang`], in the HTML report's wording.
//!
//! No I/O: each function returns the workbook's bytes. The document's
//! creation date is fixed, so the same results give the same bytes (a merge
//! of shards writes the single run's workbook).

use rust_xlsxwriter::{
    Chart, ChartLegendPosition, ChartRange, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder,
    Workbook, XlsxError,
};

use crate::analysis::compare::{Comparison, MetricRow};
use crate::analysis::policy::PolicyFigures;
use crate::analysis::sizing::{AccountSizing, CurvePoint, DepositLevel, Sizing};
use crate::analysis::stats::QUANTILE_LEVELS_BP;
use crate::analysis::stress::{AccountImpact, Figures, StressReport};
use crate::analysis::summary::{AccountSummary, CountySummary, Importance, Prob, Stat, Summary};
use crate::analysis::sweep::{Axis, CellRow, Sweep};
use crate::report::charts::{OPTIONAL_LAYERS, WATERFALL, layer_label};
use crate::report::format::{Lang, group, pct};
use crate::report::labels::{Kind as Named, Labels};
use crate::sim::tables::COUNTS;

/// The file every command writes its workbook to.
pub const FILE: &str = "results.xlsx";

/// What a column holds: its number format, and how wide its cells read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Yuan, two decimals, thousands separators (the header names the unit).
    Yuan,
    /// A fraction shown as a percentage with two decimals.
    Percent,
    /// Loans per yuan of fund, shown as `10.0:1`.
    Ratio,
    /// A whole number with thousands separators.
    Count,
    /// A number with two decimals (a mean count).
    Decimal,
    /// Scientific notation: a percentage cell whose value is a chance below
    /// 1 in 10,000 (an importance-sampled run's 1e-10), which `0.00%` would
    /// show as 0.
    Sci,
    Text,
}

impl Kind {
    fn num_format(self) -> &'static str {
        match self {
            Kind::Yuan | Kind::Decimal => "#,##0.00",
            Kind::Percent => "0.00%",
            Kind::Ratio => "#,##0.0\":1\"",
            Kind::Count => "#,##0",
            Kind::Sci => "0.00E+00",
            Kind::Text => "General",
        }
    }

    /// The number as Excel shows it, for the column's width.
    fn shown(self, x: f64) -> String {
        match self {
            Kind::Yuan | Kind::Decimal => group(x, 2),
            Kind::Percent => format!("{:.2}%", x * 100.0),
            Kind::Ratio => format!("{}:1", group(x, 1)),
            Kind::Sci => format!("{x:.2E}"),
            Kind::Count | Kind::Text => group(x, 0),
        }
    }

    /// The kind a value of this kind is written in: a percentage below
    /// 0.01 % (but not 0) in scientific notation, so it keeps its digits.
    fn for_value(self, x: f64) -> Kind {
        if self == Kind::Percent && x > 0.0 && x < 1e-4 { Kind::Sci } else { self }
    }

    const ALL: [Kind; 7] = [Kind::Yuan, Kind::Percent, Kind::Ratio, Kind::Count, Kind::Decimal, Kind::Sci, Kind::Text];

    /// Its place in [`Kind::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Blank,
    Text(String),
    /// A number in its column's kind.
    Num(f64),
    /// A number in a kind of its own (a sheet whose rows differ in kind).
    As(Kind, f64),
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Num(x)
    }
}
impl From<Option<f64>> for Value {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Value::Blank, Value::Num)
    }
}
impl From<u64> for Value {
    fn from(x: u64) -> Self {
        Value::Num(x as f64)
    }
}
impl From<usize> for Value {
    fn from(x: usize) -> Self {
        Value::Num(x as f64)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}

/// A column of a sheet of `T` rows.
pub struct Column<'a, T> {
    head: String,
    kind: Kind,
    get: Box<dyn Fn(&T) -> Value + 'a>,
}

/// A column: its header, its kind and how to read its cell from a row.
pub fn col<'a, T, V: Into<Value>>(head: impl Into<String>, kind: Kind, get: impl Fn(&T) -> V + 'a) -> Column<'a, T> {
    Column { head: head.into(), kind, get: Box::new(move |r| get(r).into()) }
}

/// Where a table landed, for charts of its columns.
#[derive(Clone, Debug)]
pub struct Placed {
    pub sheet: String,
    /// Data rows (the header is row 0, the data rows 1 ..= rows).
    pub rows: u32,
    pub cols: u16,
}

impl Placed {
    /// Column `c`'s data rows `from ..= to` (1-based data rows).
    pub fn range(&self, c: u16, from: u32, to: u32) -> ChartRange {
        ChartRange::new_from_range(&self.sheet, from, c, to, c)
    }
    /// The header cell of column `c`, to name a series after it.
    pub fn head(&self, c: u16) -> ChartRange {
        ChartRange::new_from_range(&self.sheet, 0, c, 0, c)
    }
}

/// A workbook being built.
pub struct Book {
    wb: Workbook,
    pub lang: Lang,
    cells: Vec<Format>,
    head: Format,
}

/// Headers wrap beyond this width (in characters) rather than widen the column.
const HEAD_WRAP: usize = 18;
/// No column is wider than this.
const MAX_WIDTH: usize = 60;

impl Book {
    /// A workbook whose properties name what it holds (`title`) and its
    /// provenance (`comment`: seed, trials, version).
    pub fn new(lang: Lang, title: &str, comment: &str) -> Result<Book, XlsxError> {
        let mut wb = Workbook::new();
        let props = DocProperties::new()
            .set_title(title)
            .set_author("riskshare")
            .set_comment(comment)
            .set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?);
        wb.set_properties(&props);
        let cells = Kind::ALL.iter().map(|k| Format::new().set_num_format(k.num_format())).collect();
        let head =
            Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Top).set_border_bottom(FormatBorder::Thin);
        Ok(Book { wb, lang, cells, head })
    }

    /// A sheet named `name` holding `rows` in `cols`: header row frozen,
    /// widths from the content.
    ///
    /// Each column's number format is the column's own, which its cells
    /// take unless they are written with another: the writer hashes a whole
    /// `Format` for every cell written with one, which was most of the cost
    /// of a province's 46,000-row sizing curve.
    pub fn table<T>(&mut self, name: &str, cols: &[Column<'_, T>], rows: &[T]) -> Result<Placed, XlsxError> {
        let mut widths: Vec<Widths> = (0..cols.len()).map(|_| Widths::default()).collect();
        let (formats, head) = (self.cells.clone(), self.head.clone());
        let fmt = |k: Kind| &formats[k.index()];
        let ws = self.wb.add_worksheet();
        ws.set_name(name)?;
        for (c, column) in cols.iter().enumerate() {
            // A text column's numbers keep "General" cell by cell.
            if column.kind != Kind::Text {
                ws.set_column_format(c as u16, fmt(column.kind))?;
            }
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, column) in cols.iter().enumerate() {
                let cn = c as u16;
                let (k, x) = match (column.get)(row) {
                    Value::Blank => continue,
                    Value::Text(s) => {
                        ws.write_string(r, cn, &s)?;
                        widths[c].text = widths[c].text.max(text_width(&s));
                        continue;
                    }
                    Value::Num(x) | Value::As(_, x) if !x.is_finite() => continue,
                    Value::Num(x) => (column.kind.for_value(x), x),
                    Value::As(k, x) => (k.for_value(x), x),
                };
                if k == column.kind && k != Kind::Text {
                    ws.write_number(r, cn, x)?;
                } else {
                    ws.write_number_with_format(r, cn, x, fmt(k))?;
                }
                widths[c].add(k, x);
            }
        }
        let mut lines = 1;
        for (c, column) in cols.iter().enumerate() {
            let cn = c as u16;
            ws.write_string_with_format(0, cn, &column.head, &head)?;
            let h = text_width(&column.head);
            let w = widths[c].widest().max(h.min(HEAD_WRAP)).clamp(6, MAX_WIDTH);
            lines = lines.max(h.div_ceil(w));
            ws.set_column_width(cn, (w + 2) as f64)?;
        }
        ws.set_row_height(0, 15 * lines as u32)?;
        ws.set_freeze_panes(1, 0)?;
        Ok(Placed { sheet: name.to_string(), rows: rows.len() as u32, cols: cols.len() as u16 })
    }

    /// Places `chart` to the right of the table `at`.
    pub fn chart(&mut self, at: &Placed, chart: &Chart) -> Result<(), XlsxError> {
        let ws = self.wb.worksheet_from_name(&at.sheet)?;
        ws.insert_chart(1, at.cols + 1, chart)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.wb.save_to_buffer()
    }
}

/// Width of a text in columns of Excel's default font: a CJK or full-width
/// character takes two.
fn text_width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

/// How wide a column's cells read, found without writing out each number:
/// in every kind but scientific notation a number reads wider the further
/// it lies from zero on its side of it, so each kind's widest cells are its
/// smallest and its largest number (in `total_cmp`'s order, where -0 lies
/// below 0 and reads as `-0.00%`). Scientific notation is measured cell by
/// cell; those cells are few.
#[derive(Default)]
struct Widths {
    /// The widest cell measured one by one: text, and numbers in scientific
    /// notation.
    text: usize,
    /// Per kind, in [`Kind::ALL`]'s order: its smallest and largest number.
    span: [Option<(f64, f64)>; Kind::ALL.len()],
}

impl Widths {
    fn add(&mut self, k: Kind, x: f64) {
        if k == Kind::Sci {
            self.text = self.text.max(text_width(&k.shown(x)));
            return;
        }
        let span = &mut self.span[k.index()];
        *span = Some(match *span {
            None => (x, x),
            Some((lo, hi)) => {
                (if x.total_cmp(&lo).is_lt() { x } else { lo }, if x.total_cmp(&hi).is_gt() { x } else { hi })
            }
        });
    }

    fn widest(&self) -> usize {
        let numbers = Kind::ALL.iter().zip(&self.span).filter_map(|(k, span)| span.map(|(lo, hi)| (k, lo, hi)));
        numbers.map(|(k, lo, hi)| text_width(&k.shown(lo)).max(text_width(&k.shown(hi)))).fold(self.text, usize::max)
    }
}

/// A chart of `kind`, titled, `720 x 400` pixels, its value axis in `num_format`.
fn new_chart(kind: ChartType, title: &str, value_axis: &str, num_format: &str) -> Chart {
    let mut c = Chart::new(kind);
    c.title().set_name(title);
    c.y_axis().set_name(value_axis).set_num_format(num_format);
    c.set_width(720).set_height(400);
    c
}

// ---------------------------------------------------------------------------
// run

/// The workbook of a whole run: a summary of the headline figures, every
/// layer's statistics, the counts, the compensation accounts and counties,
/// the year each county's first account runs dry, the deposits that last
/// and the sizing curve. (The year loss table stays in `years.csv`: a run
/// does not hold it in memory.)
pub fn run(
    s: &Summary,
    sizing: Option<&Sizing>,
    curve: Option<&[CurvePoint]>,
    labels: &Labels,
    lang: Lang,
) -> anyhow::Result<Vec<u8>> {
    let comment = format!(
        "seed {}, {} trials, {} years; riskshare {}",
        s.seed,
        group(s.trials as f64, 0),
        s.horizon_years,
        s.engine_version
    );
    let mut b = Book::new(lang, &format!("riskshare: {}", s.scenario), &comment)?;
    // size.json's levels when the run sized the funds, else the summary's own.
    let sizing = sizing.unwrap_or(&s.adequacy.sizing);
    summary_sheet(&mut b, s, sizing)?;
    layers_sheet(&mut b, s)?;
    counts_sheet(&mut b, s)?;
    if !s.adequacy.accounts.is_empty() {
        accounts_sheet(&mut b, s, labels)?;
        counties_sheet(&mut b, s, labels)?;
        years_sheet(&mut b, s)?;
        sizing_sheet(&mut b, s, sizing, labels)?;
    }
    if let Some(curve) = curve.filter(|c| !c.is_empty()) {
        curve_sheet(&mut b, curve)?;
    }
    if let Some(imp) = &s.importance {
        importance_sheet(&mut b, imp)?;
    }
    Ok(b.finish()?)
}

/// An importance-sampled run's law and what its weights say: whether its
/// weighted figures can be read as they stand (docs/tail.md).
fn importance_sheet(b: &mut Book, imp: &Importance) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let text = |label: &str, v: String| Figure { label: label.into(), value: Value::Text(v), ci: None };
    let mut rows = Vec::new();
    if let Some(ms) = &imp.measure {
        let t = &ms.tilt;
        let (shift, rate, theta) = t.extremes();
        rows.extend([
            text(l("Tail the law was chosen for (--tail)", "抽样针对的尾部（--tail）"), ms.target.clone()),
            text(l("Method", "方法"), ms.method.clone()),
            fig(l("Level of the tail (pilot's estimate)", "尾部阈值（试算估计）"), Kind::Decimal, ms.level),
            fig(l("Pilot rounds", "试算轮数"), Kind::Count, ms.pilot_rounds as f64),
            fig(l("Pilot trials per round", "每轮试算次数"), Kind::Count, ms.pilot_trials as f64),
            fig(l("Factor shifts (mixture components)", "因子偏移（混合分量）"), Kind::Count, t.shifts.len() as f64),
            fig(l("Largest factor shift (standard deviations)", "最大因子偏移（标准差）"), Kind::Decimal, shift),
            fig(l("Largest event-rate factor", "最大事件频率倍数"), Kind::Decimal, rate),
            fig(l("Largest severity shift (added to alpha)", "最大损失程度偏移（加于 alpha）"), Kind::Decimal, theta),
            fig(l("Step kept: factors", "步长：因子"), Kind::Decimal, ms.factor_scale),
            fig(l("Step kept: hazards", "步长：灾害"), Kind::Decimal, ms.hazard_scale),
            fig(
                l("Inner twist: exposure aimed at (CNY, 0 for none)", "内层扭转：目标风险敞口（元，0 为无）"),
                Kind::Decimal,
                ms.twist_level,
            ),
        ]);
    }
    rows.extend([
        fig(
            l("Effective sample size (plain trials worth)", "有效样本量（相当的普通模拟次数）"),
            Kind::Decimal,
            imp.effective_sample_size,
        ),
        fig(l("Effective share of the trials", "有效样本占比"), Kind::Percent, imp.effective_share),
        fig_ci(l("Mean weight (1 expected)", "平均权重（应为 1）"), Kind::Decimal, imp.mean_weight, {
            let half = crate::analysis::stats::z_for(0.95) * imp.mean_weight_stderr;
            [imp.mean_weight - half, imp.mean_weight + half]
        }),
        fig(
            l("Largest weight's share of their sum", "最大权重占权重和的比例"),
            Kind::Percent,
            imp.largest_weight_share,
        ),
        text(
            l("Weights degenerate", "权重退化"),
            match (imp.degenerate, &imp.warning) {
                (true, Some(w)) => w.clone(),
                (true, None) => l("yes", "是").into(),
                (false, _) => l("no", "否").into(),
            },
        ),
    ]);
    let cols = [
        col(l("figure", "指标"), Kind::Text, |f: &Figure| f.label.clone()),
        col(l("value", "数值"), Kind::Text, |f: &Figure| f.value.clone()),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Text, |f: &Figure| ci_cell(f, 0)),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Text, |f: &Figure| ci_cell(f, 1)),
    ];
    Ok(b.table(l("Importance", "重要性抽样"), &cols, &rows)?)
}

/// A row of the summary: a figure, its value in its own kind, its interval.
struct Figure {
    label: String,
    value: Value,
    ci: Option<[f64; 2]>,
}

fn fig(label: impl Into<String>, kind: Kind, x: f64) -> Figure {
    Figure { label: label.into(), value: Value::As(kind, x), ci: None }
}

fn fig_ci(label: impl Into<String>, kind: Kind, x: f64, ci: [f64; 2]) -> Figure {
    Figure { label: label.into(), value: Value::As(kind, x), ci: Some(ci) }
}

fn prob(label: impl Into<String>, p: &Prob) -> Figure {
    fig_ci(label, Kind::Percent, p.p, [p.lo, p.hi])
}

/// The interval of a quantile level of a [`Stat`] (basis points).
fn ci_of(st: &Stat, bp: u32) -> [f64; 2] {
    QUANTILE_LEVELS_BP.iter().position(|&x| x == bp).map_or([f64::NAN; 2], |i| st.ci[i])
}

/// Headline figures, one a row, each in its own kind, with its interval.
fn summary_sheet(b: &mut Book, s: &Summary, sizing: &Sizing) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let text = |label: &str, v: String| Figure { label: label.into(), value: Value::Text(v), ci: None };
    let p = &s.portfolio;
    let mut rows = vec![
        text(l("Scenario", "情景"), s.scenario.clone()),
        fig(l("Simulated futures (trials)", "模拟次数"), Kind::Count, s.trials as f64),
        // As text: a seed above 2^53 has no exact double.
        text(l("Seed", "随机种子"), s.seed.to_string()),
        fig(l("Horizon (years)", "期限（年）"), Kind::Count, s.horizon_years as f64),
        text(l("riskshare version", "riskshare 版本"), s.engine_version.clone()),
        fig(l("Loans", "贷款笔数"), Kind::Count, p.loans as f64),
        fig(l("Principal", "贷款本金"), Kind::Yuan, p.principal),
        fig(
            l("Principal covered by the compensation fund", "风险补偿金覆盖的本金"),
            Kind::Yuan,
            p.comp_covered_principal,
        ),
        fig(l("Compensation deposits (all banks)", "风险补偿金存入（所有银行）"), Kind::Yuan, p.comp_deposits),
        fig(l("Village risk mutual funds (all villages)", "村级风险互助金（所有村）"), Kind::Yuan, p.village_funds),
    ];
    // Per future, summed over the horizon: the mean and the tail of the main layers.
    let tails = |rows: &mut Vec<Figure>, col: &str, deep: bool| {
        let Some(st) = s.layers.get(col) else { return };
        let name = layer_label(col, lang);
        let at = |what: &str| match lang {
            Lang::En => format!("{name}: {what}"),
            Lang::Zh => format!("{name}：{what}"),
        };
        rows.push(fig(at(l("expected (mean)", "预期（均值）")), Kind::Yuan, st.mean));
        rows.push(fig_ci(at(l("1 in 100 (99 %)", "百年一遇（99 %）")), Kind::Yuan, st.p99, ci_of(st, 9900)));
        if deep {
            rows.push(fig_ci(
                at(l("1 in 1,000 (99.9 %)", "千年一遇（99.9 %）")),
                Kind::Yuan,
                st.p99_9,
                ci_of(st, 9990),
            ));
            rows.push(fig(
                at(l("mean of the worst 1 % (TVaR 99 %)", "最差 1 % 的平均（TVaR 99 %）")),
                Kind::Yuan,
                st.tvar99,
            ));
        }
    };
    tails(&mut rows, "exposure", false);
    tails(&mut rows, "bank_total", true);
    tails(&mut rows, "comp_fund", false);
    tails(&mut rows, "village_fund", false);
    tails(&mut rows, "shortfall", false);
    tails(&mut rows, "fiscal_cost", true);
    let f = &s.fiscal;
    let part = |en: &str, zh: &str| match lang {
        Lang::En => format!("  of which {en}"),
        Lang::Zh => format!("  其中：{zh}"),
    };
    rows.extend([
        fig(part("compensation fund draws", "补偿金支付"), Kind::Yuan, f.comp_fund_draws),
        fig(part("shortfall borne by the budget", "财政承担的缺口"), Kind::Yuan, f.shortfall_borne_by_budget),
        fig(part("fund top-ups", "补偿金补充"), Kind::Yuan, f.top_ups),
        fig(part("interest subsidy", "贴息"), Kind::Yuan, f.interest_subsidy),
        fig(part("premium subsidy", "保费补贴"), Kind::Yuan, f.premium_subsidy),
        fig(
            l("Budget money committed up front: compensation deposits", "财政预先投入：风险补偿金存入"),
            Kind::Yuan,
            f.deposits,
        ),
        fig(
            l("Budget money committed up front: village funds", "财政预先投入：村级互助金"),
            Kind::Yuan,
            f.village_funds,
        ),
        fig(
            l("Budget money committed, all parts (expected)", "财政资金投入合计（预期）"),
            Kind::Yuan,
            f.leverage_parts.budget,
        ),
    ]);
    if let Some(lev) = f.leverage {
        rows.push(fig(
            l("Fiscal leverage (loans per budget yuan)", "财政杠杆（每元财政资金撬动的贷款）"),
            Kind::Ratio,
            lev,
        ));
    }
    let a = &s.adequacy;
    rows.push(prob(
        l("P(at least one compensation account runs dry)", "至少一个补偿金账户用尽的概率"),
        &a.comp_fund_exhausted,
    ));
    rows.push(prob(
        l("P(at least one village fund runs dry)", "至少一个村级互助金用尽的概率"),
        &a.any_village_fund_exhausted,
    ));
    rows.push(fig(
        l("Mean share of village funds that run dry", "村级互助金用尽的平均比例"),
        Kind::Percent,
        a.village_funds_exhausted_share,
    ));
    for v in &sizing.village.levels {
        let label = match lang {
            Lang::En => {
                format!("Village fund share (of the village's loans) that lasts for {} of villages", pct(v.confidence))
            }
            Lang::Zh => format!("{} 的村能维持的村级互助金比例（占本村贷款）", pct(v.confidence)),
        };
        rows.push(fig_ci(label, Kind::Percent, v.share, v.share_ci));
    }
    if let Some(so) = &s.societies {
        rows.push(prob(l("P(at least one society ends impaired)", "至少一个互助社资金受损的概率"), &so.any_impaired));
        rows.push(fig(
            l("Societies' capital lost: expected (mean)", "互助社资金损失：预期（均值）"),
            Kind::Yuan,
            so.mean_loss,
        ));
    }
    let cols = [
        col(l("figure", "指标"), Kind::Text, |f: &Figure| f.label.clone()),
        col(l("value", "数值"), Kind::Text, |f: &Figure| f.value.clone()),
        col(l("unit", "单位"), Kind::Text, |f: &Figure| match f.value {
            Value::As(Kind::Yuan, _) => l("CNY", "元"),
            _ => "",
        }),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Text, |f: &Figure| ci_cell(f, 0)),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Text, |f: &Figure| ci_cell(f, 1)),
    ];
    Ok(b.table(l("Summary", "摘要"), &cols, &rows)?)
}

/// A figure's interval bound, in the figure's kind.
fn ci_cell(f: &Figure, i: usize) -> Value {
    match (&f.value, f.ci) {
        (Value::As(k, _), Some(ci)) => Value::As(*k, ci[i]),
        _ => Value::Blank,
    }
}

/// The money columns of summary.json's `layers`, in the order they pay, then
/// the totals, then the rest; the layers a scenario does not use left out.
fn layer_order(s: &Summary) -> (Vec<&str>, usize) {
    let mut order: Vec<&str> = WATERFALL
        .iter()
        .copied()
        .filter(|c| s.layers.get(*c).is_some_and(|st| !(OPTIONAL_LAYERS.contains(c) && st.max == 0.0)))
        .collect();
    let charted = order.len();
    for c in ["bank_total", "fiscal_cost"].into_iter().chain(s.layers.keys().map(String::as_str)) {
        if !order.contains(&c) && !WATERFALL.contains(&c) {
            order.push(c);
        }
    }
    (order, charted)
}

/// Every money column's statistics, with a chart of the layers' means.
fn layers_sheet(b: &mut Book, s: &Summary) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let (order, charted) = layer_order(s);
    let rows: Vec<(&str, &Stat)> = order.iter().filter_map(|&c| s.layers.get(c).map(|st| (c, st))).collect();
    let y = |en: &str, zh: &str| match lang {
        Lang::En => format!("{en} (CNY)"),
        Lang::Zh => format!("{zh}（元）"),
    };
    type Row<'r> = (&'r str, &'r Stat);
    let cols = [
        col(l("layer", "层"), Kind::Text, |r: &Row| label_or_key(r.0, lang)),
        col(l("column (trials.csv)", "列名（trials.csv）"), Kind::Text, |r: &Row| r.0.to_string()),
        col(y("mean", "均值"), Kind::Yuan, |r: &Row| r.1.mean),
        col(y("standard deviation", "标准差"), Kind::Yuan, |r: &Row| r.1.std),
        col(y("median", "中位数"), Kind::Yuan, |r: &Row| r.1.p50),
        col(y("90 %", "90 %"), Kind::Yuan, |r: &Row| r.1.p90),
        col(y("95 %", "95 %"), Kind::Yuan, |r: &Row| r.1.p95),
        col(y("1 in 100, 99 %", "百年一遇 99 %"), Kind::Yuan, |r: &Row| r.1.p99),
        col(y("99 %: 95 % CI low", "99 %：95 % 置信区间下限"), Kind::Yuan, |r: &Row| ci_of(r.1, 9900)[0]),
        col(y("99 %: 95 % CI high", "99 %：95 % 置信区间上限"), Kind::Yuan, |r: &Row| ci_of(r.1, 9900)[1]),
        col(y("1 in 200, 99.5 %", "两百年一遇 99.5 %"), Kind::Yuan, |r: &Row| r.1.p99_5),
        col(y("1 in 1,000, 99.9 %", "千年一遇 99.9 %"), Kind::Yuan, |r: &Row| r.1.p99_9),
        col(y("TVaR 95 %", "TVaR 95 %"), Kind::Yuan, |r: &Row| r.1.tvar95),
        col(y("TVaR 99 %, mean of the worst 1 %", "TVaR 99 %，最差 1 % 的平均"), Kind::Yuan, |r: &Row| {
            r.1.tvar99
        }),
        col(y("TVaR 99.5 %", "TVaR 99.5 %"), Kind::Yuan, |r: &Row| r.1.tvar99_5),
        col(y("largest", "最大值"), Kind::Yuan, |r: &Row| r.1.max),
    ];
    let at = b.table(l("Layers", "各层损失"), &cols, &rows)?;
    if charted > 0 {
        let title = l("Where the expected loss goes", "预期损失如何分担");
        let mut c = new_chart(ChartType::Column, title, &y("expected loss", "预期损失"), "#,##0");
        c.add_series().set_categories(&at.range(0, 1, charted as u32)).set_values(&at.range(2, 1, charted as u32));
        c.legend().set_hidden();
        b.chart(&at, &c)?;
    }
    Ok(at)
}

fn label_or_key(key: &str, lang: Lang) -> String {
    let l = layer_label(key, lang);
    if l.is_empty() { key.to_string() } else { l.to_string() }
}

/// The count columns of summary.json's `counts`.
fn counts_sheet(b: &mut Book, s: &Summary) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let rows: Vec<(&String, &Stat)> = COUNTS
        .iter()
        .filter_map(|c| s.counts.get_key_value(c.name))
        .chain(s.counts.iter().filter(|(k, _)| !COUNTS.iter().any(|c| c.name == k.as_str())))
        .collect();
    type Row<'r> = (&'r String, &'r Stat);
    let cols = [
        col(l("count", "计数"), Kind::Text, |r: &Row| count_label(r.0, lang)),
        col(l("column (trials.csv)", "列名（trials.csv）"), Kind::Text, |r: &Row| r.0.to_string()),
        col(l("expected (mean)", "预期（均值）"), Kind::Decimal, |r: &Row| r.1.mean),
        col(l("median (50 %)", "中位数（50 %）"), Kind::Count, |r: &Row| r.1.p50),
        col(l("1 in 100 (99 %)", "百年一遇（99 %）"), Kind::Count, |r: &Row| r.1.p99),
        col(l("largest", "最大值"), Kind::Count, |r: &Row| r.1.max),
    ];
    Ok(b.table(l("Counts", "次数统计"), &cols, &rows)?)
}

fn count_label(key: &str, lang: Lang) -> String {
    let (en, zh) = match key {
        "defaults" => ("Defaults", "违约笔数"),
        "village_funds_exhausted" => ("Village funds run dry", "用尽的村级互助金"),
        "comp_accounts_exhausted" => ("Compensation accounts run dry", "用尽的补偿金账户"),
        "societies_impaired" => ("Societies impaired", "资金受损的互助社"),
        "disaster_events" => ("Disaster events", "灾害事件"),
        "epidemic_outbreaks" => ("Epidemic outbreaks", "疫病暴发"),
        "shocks" => ("Personal shocks", "个人意外"),
        "loan_years" => ("Loan-years", "贷款年数"),
        _ => return key.to_string(),
    };
    lang.pick(en, zh).to_string()
}

/// Each compensation account (bank and county): deposit, how often it runs
/// dry and what it pays.
fn accounts_sheet(b: &mut Book, s: &Summary, labels: &Labels) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let cols = [
        col(l("bank", "银行"), Kind::Text, |a: &AccountSummary| {
            labels.get(Named::Bank, &a.bank, lang).unwrap_or(a.name()).to_string()
        }),
        col(l("county", "县"), Kind::Text, |a: &AccountSummary| {
            labels.name(Named::County, &a.county, lang).to_string()
        }),
        col(l("covered loans (CNY)", "覆盖贷款（元）"), Kind::Yuan, |a: &AccountSummary| a.covered_principal),
        col(l("deposit (CNY)", "存入金额（元）"), Kind::Yuan, |a: &AccountSummary| a.deposit),
        col(l("loans : fund", "贷款 : 补偿金"), Kind::Ratio, |a: &AccountSummary| a.deposit_ratio),
        col(l("P(runs dry)", "用尽概率"), Kind::Percent, |a: &AccountSummary| a.exhausted.p),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Percent, |a: &AccountSummary| a.exhausted.lo),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Percent, |a: &AccountSummary| a.exhausted.hi),
        col(l("expected draw (CNY)", "平均支付（元）"), Kind::Yuan, |a: &AccountSummary| a.draws.mean),
        col(l("draws, 1 in 100 (CNY)", "支付百年一遇（元）"), Kind::Yuan, |a: &AccountSummary| a.draws.p99),
        col(l("expected shortfall (CNY)", "平均缺口（元）"), Kind::Yuan, |a: &AccountSummary| a.shortfall.mean),
        col(l("bank's share, expected (CNY)", "银行分担均值（元）"), Kind::Yuan, |a: &AccountSummary| {
            a.bank_loss.mean
        }),
        col(
            l("bank's share, 1 in 100 (CNY)", "银行分担百年一遇（元）"),
            Kind::Yuan,
            |a: &AccountSummary| a.bank_loss.p99,
        ),
    ];
    Ok(b.table(l("Accounts", "补偿金账户"), &cols, &s.adequacy.accounts)?)
}

/// Each county's accounts together.
fn counties_sheet(b: &mut Book, s: &Summary, labels: &Labels) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let cols = [
        col(l("county", "县"), Kind::Text, |c: &CountySummary| {
            labels.name(Named::County, &c.county, lang).to_string()
        }),
        col(l("covered loans (CNY)", "覆盖贷款（元）"), Kind::Yuan, |c: &CountySummary| c.covered_principal),
        col(l("deposits (CNY)", "存入金额（元）"), Kind::Yuan, |c: &CountySummary| c.deposit),
        col(l("P(an account runs dry)", "任一账户用尽概率"), Kind::Percent, |c: &CountySummary| {
            c.any_account_exhausted.p
        }),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Percent, |c: &CountySummary| c.any_account_exhausted.lo),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Percent, |c: &CountySummary| {
            c.any_account_exhausted.hi
        }),
        col(l("expected draws (CNY)", "平均支付（元）"), Kind::Yuan, |c: &CountySummary| c.draws.mean),
        col(l("draws, 1 in 100 (CNY)", "支付百年一遇（元）"), Kind::Yuan, |c: &CountySummary| c.draws.p99),
        col(l("expected shortfall (CNY)", "平均缺口（元）"), Kind::Yuan, |c: &CountySummary| c.shortfall.mean),
        col(l("bank's share, expected (CNY)", "银行分担均值（元）"), Kind::Yuan, |c: &CountySummary| {
            c.bank_loss.mean
        }),
        col(l("bank's share, 1 in 100 (CNY)", "银行分担百年一遇（元）"), Kind::Yuan, |c: &CountySummary| {
            c.bank_loss.p99
        }),
    ];
    Ok(b.table(l("Counties", "各县"), &cols, &s.adequacy.counties)?)
}

/// The year in which each county's first account runs dry: one row a year,
/// one column a county.
fn years_sheet(b: &mut Book, s: &Summary) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let years: Vec<usize> = (0..s.horizon_years as usize).collect();
    let mut cols = vec![col(lang.pick("year", "年份"), Kind::Count, |t: &usize| t + 1)];
    for c in &s.adequacy.counties {
        let head = match lang {
            Lang::En => format!("{}: P(first runs dry)", c.county),
            Lang::Zh => format!("{}：首次用尽概率", c.county),
        };
        cols.push(col(head, Kind::Percent, move |t: &usize| c.first_exhausted_in_year.get(*t).copied()));
    }
    Ok(b.table(lang.pick("Years", "逐年用尽"), &cols, &years)?)
}

/// The deposit each account needs to last the horizon at each confidence level.
fn sizing_sheet(b: &mut Book, s: &Summary, sz: &Sizing, labels: &Labels) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let rows: Vec<(&AccountSizing, &DepositLevel)> =
        sz.accounts.iter().flat_map(|a| a.levels.iter().map(move |lv| (a, lv))).collect();
    let bank = |a: &AccountSizing| {
        s.adequacy
            .accounts
            .iter()
            .find(|x| x.bank == a.bank && x.county == a.county)
            .map_or(a.bank.clone(), |x| labels.get(Named::Bank, &x.bank, lang).unwrap_or(x.name()).to_string())
    };
    // The sizing writes f64::MAX for a deposit no amount can reach.
    let reachable = |x: f64| (x < 1e300).then_some(x);
    type Row<'r> = (&'r AccountSizing, &'r DepositLevel);
    let cols = [
        col(l("bank", "银行"), Kind::Text, |r: &Row| bank(r.0)),
        col(l("county", "县"), Kind::Text, |r: &Row| r.0.county.clone()),
        col(l("lasts in", "维持概率"), Kind::Percent, |r: &Row| r.1.confidence),
        col(l("deposit needed (CNY)", "所需存入（元）"), Kind::Yuan, |r: &Row| match reachable(r.1.deposit) {
            Some(d) => Value::Num(d),
            None => l("cannot be met", "无法满足").into(),
        }),
        col(l("95 % CI low (CNY)", "95 % 置信区间下限（元）"), Kind::Yuan, |r: &Row| {
            reachable(r.1.deposit_ci[0])
        }),
        col(l("95 % CI high (CNY)", "95 % 置信区间上限（元）"), Kind::Yuan, |r: &Row| {
            reachable(r.1.deposit_ci[1])
        }),
        col(l("loans : fund at most", "贷款 : 补偿金最高"), Kind::Ratio, |r: &Row| r.1.ratio),
        col(l("today's deposit (CNY)", "现行存入（元）"), Kind::Yuan, |r: &Row| r.0.current_deposit),
        col(l("today's loans : fund", "现行贷款 : 补偿金"), Kind::Ratio, |r: &Row| r.0.current_ratio),
        col(l("today's deposit enough?", "现行存入是否足够？"), Kind::Text, |r: &Row| {
            if r.1.current_is_enough { l("yes", "是") } else { l("no", "否") }
        }),
    ];
    Ok(b.table(l("Sizing", "存入测算"), &cols, &rows)?)
}

/// Most accounts the sizing curve's chart draws (the table holds them all).
const CURVES_CHARTED: usize = 8;

/// Each account's chance of running dry against the deposit ratio, with a
/// line chart of it.
fn curve_sheet(b: &mut Book, curve: &[CurvePoint]) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let cols = [
        col(l("account (bank/county)", "账户（银行/县）"), Kind::Text, |p: &CurvePoint| p.account.clone()),
        col(l("loans : fund", "贷款 : 补偿金"), Kind::Ratio, |p: &CurvePoint| p.ratio),
        col(l("deposit (CNY)", "存入金额（元）"), Kind::Yuan, |p: &CurvePoint| p.deposit),
        col(l("P(runs dry)", "用尽概率"), Kind::Percent, |p: &CurvePoint| p.depletion_prob),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Percent, |p: &CurvePoint| p.lo),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Percent, |p: &CurvePoint| p.hi),
    ];
    let at = b.table(l("Sizing curve", "测算曲线"), &cols, curve)?;
    // Each account's points are consecutive rows (the curve is written account by account).
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for (i, p) in curve.iter().enumerate() {
        let row = i as u32 + 1;
        match runs.last_mut() {
            Some(r) if curve[r.0 as usize - 1].account == p.account => r.1 = row,
            _ => runs.push((row, row)),
        }
    }
    let shown = runs.len().min(CURVES_CHARTED);
    let title = if shown < runs.len() {
        match lang {
            Lang::En => {
                format!("Deposit ratio against the chance of running dry (first {shown} of {} accounts)", runs.len())
            }
            Lang::Zh => format!("存入比例与用尽概率（{} 个账户中的前 {shown} 个）", runs.len()),
        }
    } else {
        l("Deposit ratio against the chance of running dry", "存入比例与用尽概率").to_string()
    };
    let mut c = new_chart(ChartType::ScatterStraight, &title, l("P(runs dry)", "用尽概率"), "0%");
    c.x_axis().set_name(l("loans : fund (log scale)", "贷款 : 补偿金（对数刻度）")).set_log_base(10);
    for &(from, to) in &runs[..shown] {
        c.add_series()
            .set_name(&curve[from as usize - 1].account)
            .set_categories(&at.range(1, from, to))
            .set_values(&at.range(3, from, to));
    }
    c.legend().set_position(ChartLegendPosition::Bottom);
    b.chart(&at, &c)?;
    Ok(at)
}

// ---------------------------------------------------------------------------
// compare

/// The metrics of a comparison in the workbook's order, with their kind:
/// money, a probability, or a mean count.
fn metric_kind(metric: &str) -> Kind {
    match metric {
        "comp_exhausted" => Kind::Percent,
        "village_funds_exhausted" => Kind::Decimal,
        _ => Kind::Yuan,
    }
}

fn metric_label(metric: &str, lang: Lang) -> String {
    match metric {
        "comp_exhausted" => lang.pick("P(a compensation account runs dry)", "补偿金账户用尽的概率").into(),
        "village_funds_exhausted" => {
            lang.pick("Village funds run dry (mean count)", "用尽的村级互助金（平均个数）").into()
        }
        m => label_or_key(m, lang),
    }
}

/// The layers whose means `comparison.svg` draws. (The fiscal cost, mostly
/// the interest subsidy, would dwarf them: it is on the comparison sheet.)
const COMPARED: [&str; 6] = ["collateral", "insurance", "village_fund", "comp_fund", "shortfall", "bank_total"];

/// The workbook of `riskshare compare`: each metric in each scenario with
/// the paired difference to the first, and the layers' means side by side
/// with a chart.
pub fn comparison(c: &Comparison, labels: &Labels, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let comment = format!(
        "seed {}, {} trials, common random numbers; riskshare {}",
        c.seed,
        group(c.trials as f64, 0),
        c.engine_version
    );
    let mut b = Book::new(lang, &format!("riskshare compare: {}", c.scenarios.join(", ")), &comment)?;
    comparison_sheet(&mut b, c)?;
    comparison_means_sheet(&mut b, c)?;
    policy_sheet(&mut b, &c.scenarios, &c.policy.iter().collect::<Vec<_>>(), labels)?;
    Ok(b.finish()?)
}

/// One row per metric and scenario: mean, 99 %, and the paired difference to
/// the first scenario with its 95 % interval.
fn comparison_sheet(b: &mut Book, c: &Comparison) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let rows: Vec<(&MetricRow, usize)> =
        c.rows.iter().flat_map(|r| (0..c.scenarios.len()).map(move |i| (r, i))).collect();
    type Row<'r> = (&'r MetricRow, usize);
    let typed = |r: &Row, x: f64| Value::As(metric_kind(&r.0.metric), x);
    let diff = move |r: &Row, x: f64| if r.1 == 0 { Value::Blank } else { typed(r, x) };
    let cols = [
        col(l("metric", "指标"), Kind::Text, |r: &Row| metric_label(&r.0.metric, lang)),
        col(l("scenario", "情景"), Kind::Text, |r: &Row| &c.scenarios[r.1]),
        col(l("expected (mean)", "预期（均值）"), Kind::Yuan, move |r: &Row| typed(r, r.0.mean[r.1])),
        col(l("1 in 100 (99 %)", "百年一遇（99 %）"), Kind::Yuan, move |r: &Row| typed(r, r.0.p99[r.1])),
        col(l("difference to the first", "与第一个情景之差"), Kind::Yuan, move |r: &Row| {
            diff(r, r.0.diff[r.1].mean)
        }),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Yuan, move |r: &Row| diff(r, r.0.diff[r.1].lo)),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Yuan, move |r: &Row| diff(r, r.0.diff[r.1].hi)),
        col(l("column (comparison.csv)", "列名（comparison.csv）"), Kind::Text, |r: &Row| r.0.metric.clone()),
    ];
    Ok(b.table(l("Comparison", "情景比较"), &cols, &rows)?)
}

/// The layers' expected losses, one column a scenario, with a clustered
/// column chart (as comparison.svg).
fn comparison_means_sheet(b: &mut Book, c: &Comparison) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let rows: Vec<&MetricRow> = COMPARED.iter().filter_map(|k| c.rows.iter().find(|r| r.metric == *k)).collect();
    let mut cols =
        vec![col(l("layer (CNY)", "层（元）"), Kind::Text, |r: &&MetricRow| label_or_key(&r.metric, lang))];
    for (i, name) in c.scenarios.iter().enumerate() {
        cols.push(col(name, Kind::Yuan, move |r: &&MetricRow| r.mean.get(i).copied()));
    }
    let at = b.table(l("Means by layer", "各层均值"), &cols, &rows)?;
    if at.rows > 0 {
        let title = l("Expected loss by layer in each scenario", "各情景各层预期损失");
        let mut ch = new_chart(ChartType::Column, title, l("expected loss (CNY)", "预期损失（元）"), "#,##0");
        for i in 0..c.scenarios.len() as u16 {
            ch.add_series().set_name(&at.head(i + 1)).set_categories(&at.range(0, 1, at.rows)).set_values(&at.range(
                i + 1,
                1,
                at.rows,
            ));
        }
        ch.legend().set_position(ChartLegendPosition::Bottom);
        b.chart(&at, &ch)?;
    }
    Ok(at)
}

// ---------------------------------------------------------------------------
// sweep

/// The workbook of `riskshare sweep`: the cells table with a chart of the
/// chance that a compensation fund runs dry in each cell.
pub fn sweep(s: &Sweep, axes: &[Axis], labels: &Labels, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let comment = format!(
        "seed {}, {} trials a cell, {}; riskshare {}",
        s.seed,
        group(s.trials as f64, 0),
        if s.fast_path { "draws shared" } else { "full re-runs" },
        s.engine_version
    );
    let mut b = Book::new(lang, &format!("riskshare sweep: {}", s.scenario), &comment)?;
    sweep_sheet(&mut b, s, axes)?;
    let names: Vec<String> =
        s.cells.iter().map(|c| c.values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" / ")).collect();
    policy_sheet(&mut b, &names, &s.cells.iter().map(|c| &c.policy).collect::<Vec<_>>(), labels)?;
    Ok(b.finish()?)
}

/// One row per cell: the varied keys' values, then its figures.
fn sweep_sheet(b: &mut Book, s: &Sweep, axes: &[Axis]) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    // With more than one key a cell is named by all its values, for the chart.
    let label = axes.len() != 1;
    let mut cols: Vec<Column<CellRow>> = Vec::new();
    if label {
        cols.push(col(l("cell", "组合"), Kind::Text, |r: &CellRow| {
            r.values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" / ")
        }));
    }
    for (i, a) in axes.iter().enumerate() {
        // A value that reads as a number is one, so that it sorts and charts as one.
        cols.push(col(&a.key, Kind::Decimal, move |r: &CellRow| {
            let v = r.values.get(i).map_or("", |(_, v)| v.as_str());
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Value::As(if x.fract() == 0.0 { Kind::Count } else { Kind::Decimal }, x),
                _ => v.into(),
            }
        }));
    }
    let figures = [
        col(l("compensation fund, expected (CNY)", "风险补偿金均值（元）"), Kind::Yuan, |r: &CellRow| {
            r.comp_fund_mean
        }),
        col(
            l("compensation fund, 1 in 100 (CNY)", "风险补偿金百年一遇（元）"),
            Kind::Yuan,
            |r: &CellRow| r.comp_fund_p99,
        ),
        col(l("shortfall, expected (CNY)", "缺口均值（元）"), Kind::Yuan, |r: &CellRow| r.shortfall_mean),
        col(l("shortfall, 1 in 100 (CNY)", "缺口百年一遇（元）"), Kind::Yuan, |r: &CellRow| r.shortfall_p99),
        col(l("bank's total loss, expected (CNY)", "银行总损失均值（元）"), Kind::Yuan, |r: &CellRow| {
            r.bank_total_mean
        }),
        col(
            l("bank's total loss, 1 in 100 (CNY)", "银行总损失百年一遇（元）"),
            Kind::Yuan,
            |r: &CellRow| r.bank_total_p99,
        ),
        col(l("village funds, expected (CNY)", "村级互助金均值（元）"), Kind::Yuan, |r: &CellRow| {
            r.village_fund_mean
        }),
        col(l("P(a compensation fund runs dry)", "补偿金用尽的概率"), Kind::Percent, |r: &CellRow| {
            r.depletion.p
        }),
        col(l("95 % CI low", "95 % 置信区间下限"), Kind::Percent, |r: &CellRow| r.depletion.lo),
        col(l("95 % CI high", "95 % 置信区间上限"), Kind::Percent, |r: &CellRow| r.depletion.hi),
    ];
    let depletion = (cols.len() + figures.len() - 3) as u16;
    cols.extend(figures);
    let at = b.table(l("Sweep", "参数扫描"), &cols, &s.cells)?;
    if at.rows > 0 {
        let title = l("Probability that a compensation fund runs dry, by cell", "各组合补偿金用尽的概率");
        let mut c = new_chart(ChartType::Column, title, l("P(runs dry)", "用尽概率"), "0.0%");
        c.add_series().set_categories(&at.range(0, 1, at.rows)).set_values(&at.range(depletion, 1, at.rows));
        c.x_axis().set_name(if label { l("cell", "组合") } else { &axes[0].key });
        c.legend().set_hidden();
        b.chart(&at, &c)?;
    }
    Ok(at)
}

// ---------------------------------------------------------------------------
// stress

/// The workbook of `riskshare stress`: the whole scheme and each account,
/// baseline against stressed on the same futures.
pub fn stress(r: &StressReport, labels: &Labels, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let comment =
        format!("seed {}, {} trials, baseline and stressed on the same futures", r.seed, group(r.trials as f64, 0));
    let mut b = Book::new(lang, &format!("riskshare stress: {}", r.scenario), &comment)?;
    stress_totals_sheet(&mut b, r)?;
    let sides = [lang.pick("baseline", "基准").to_string(), lang.pick("stressed", "压力").to_string()];
    policy_sheet(&mut b, &sides, &[&r.baseline_policy, &r.stressed_policy], labels)?;
    if !r.accounts.is_empty() {
        stress_accounts_sheet(&mut b, r, labels)?;
    }
    Ok(b.finish()?)
}

/// The whole scheme: each total's mean, 99 % and TVaR 99 %, baseline and
/// stressed, with a chart of the means (but the fiscal cost's, mostly the
/// interest subsidy, which would dwarf the others: it comes last, uncharted).
fn stress_totals_sheet(b: &mut Book, r: &StressReport) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    type Row<'r> = &'r (String, Figures, Figures);
    let cols = [
        col(l("whole scheme", "整体"), Kind::Text, |t: &Row| label_or_key(&t.0, lang)),
        col(l("baseline, expected (CNY)", "基准均值（元）"), Kind::Yuan, |t: &Row| t.1.mean),
        col(l("stressed, expected (CNY)", "压力均值（元）"), Kind::Yuan, |t: &Row| t.2.mean),
        col(l("change in the mean (CNY)", "均值变化（元）"), Kind::Yuan, |t: &Row| {
            // To the fen: the difference of two yuan amounts, without float noise.
            ((t.2.mean - t.1.mean) * 100.0).round() / 100.0
        }),
        col(l("baseline, 1 in 100 (CNY)", "基准百年一遇（元）"), Kind::Yuan, |t: &Row| t.1.p99),
        col(l("stressed, 1 in 100 (CNY)", "压力百年一遇（元）"), Kind::Yuan, |t: &Row| t.2.p99),
        col(l("baseline, TVaR 99 % (CNY)", "基准 TVaR 99 %（元）"), Kind::Yuan, |t: &Row| t.1.tvar99),
        col(l("stressed, TVaR 99 % (CNY)", "压力 TVaR 99 %（元）"), Kind::Yuan, |t: &Row| t.2.tvar99),
        col(l("column (trials.csv)", "列名（trials.csv）"), Kind::Text, |t: &Row| t.0.clone()),
    ];
    let (mut rows, fiscal): (Vec<Row>, Vec<Row>) = r.totals.iter().partition(|t| t.0 != "fiscal_cost");
    let charted = rows.len() as u32;
    rows.extend(fiscal);
    let at = b.table(l("Stress", "压力测试"), &cols, &rows)?;
    if charted > 0 {
        let title = l("Expected loss, baseline and stressed", "预期损失：基准与压力情景");
        let mut c = new_chart(ChartType::Column, title, l("expected (CNY)", "预期（元）"), "#,##0");
        for k in [1u16, 2] {
            c.add_series()
                .set_name(&at.head(k))
                .set_categories(&at.range(0, 1, charted))
                .set_values(&at.range(k, 1, charted));
        }
        c.legend().set_position(ChartLegendPosition::Bottom);
        b.chart(&at, &c)?;
    }
    Ok(at)
}

/// Each compensation account, baseline against stressed: what the bank,
/// the fund and the shortfall bear, and how often the fund runs dry.
fn stress_accounts_sheet(b: &mut Book, r: &StressReport, labels: &Labels) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    type A = AccountImpact;
    let cols = [
        col(l("bank", "银行"), Kind::Text, |a: &A| labels.name(Named::Bank, &a.bank, lang).to_string()),
        col(l("county", "县"), Kind::Text, |a: &A| labels.name(Named::County, &a.county, lang).to_string()),
        col(l("bank's loss, baseline (CNY)", "银行损失基准（元）"), Kind::Yuan, |a: &A| {
            a.baseline.bank_loss.mean
        }),
        col(l("bank's loss, stressed (CNY)", "银行损失压力（元）"), Kind::Yuan, |a: &A| {
            a.stressed.bank_loss.mean
        }),
        col(
            l("bank's loss 1 in 100, baseline (CNY)", "银行损失百年一遇基准（元）"),
            Kind::Yuan,
            |a: &A| a.baseline.bank_loss.p99,
        ),
        col(
            l("bank's loss 1 in 100, stressed (CNY)", "银行损失百年一遇压力（元）"),
            Kind::Yuan,
            |a: &A| a.stressed.bank_loss.p99,
        ),
        col(l("fund draws, baseline (CNY)", "补偿金支付基准（元）"), Kind::Yuan, |a: &A| {
            a.baseline.fund_draws.mean
        }),
        col(l("fund draws, stressed (CNY)", "补偿金支付压力（元）"), Kind::Yuan, |a: &A| {
            a.stressed.fund_draws.mean
        }),
        col(l("shortfall, baseline (CNY)", "缺口基准（元）"), Kind::Yuan, |a: &A| a.baseline.shortfall.mean),
        col(l("shortfall, stressed (CNY)", "缺口压力（元）"), Kind::Yuan, |a: &A| a.stressed.shortfall.mean),
        col(l("P(runs dry), baseline", "用尽概率基准"), Kind::Percent, |a: &A| a.baseline.exhausted.p),
        col(l("baseline: 95 % CI low", "基准：95 % 置信区间下限"), Kind::Percent, |a: &A| {
            a.baseline.exhausted.lo
        }),
        col(l("baseline: 95 % CI high", "基准：95 % 置信区间上限"), Kind::Percent, |a: &A| {
            a.baseline.exhausted.hi
        }),
        col(l("P(runs dry), stressed", "用尽概率压力"), Kind::Percent, |a: &A| a.stressed.exhausted.p),
        col(l("stressed: 95 % CI low", "压力：95 % 置信区间下限"), Kind::Percent, |a: &A| {
            a.stressed.exhausted.lo
        }),
        col(l("stressed: 95 % CI high", "压力：95 % 置信区间上限"), Kind::Percent, |a: &A| {
            a.stressed.exhausted.hi
        }),
    ];
    Ok(b.table(l("Stress by account", "各账户压力"), &cols, &r.accounts)?)
}

/// One row of the money sheet: a figure, its value in each variant.
struct PolicyRow {
    label: String,
    values: Vec<Value>,
}

/// The money each variant moves, one column a variant (a scenario, a cell,
/// a side of a stress): deposits (each bank's too), village funds, budget
/// money committed, fiscal leverage, the fiscal cost and its parts, and each
/// bank's expected draw and chance of running dry with its 95 % interval.
/// Banks are matched by id across the variants.
fn policy_sheet(b: &mut Book, names: &[String], ps: &[&PolicyFigures], labels: &Labels) -> anyhow::Result<Placed> {
    let lang = b.lang;
    let l = |en: &'static str, zh: &'static str| lang.pick(en, zh).to_string();
    let mut banks: Vec<&str> = Vec::new();
    for p in ps {
        for x in &p.banks {
            if !banks.contains(&x.bank.as_str()) {
                banks.push(&x.bank);
            }
        }
    }
    let bank = |id: &str| labels.name(Named::Bank, id, lang).to_string();
    let mut rows: Vec<PolicyRow> = Vec::new();
    let mut row = |label: String, kind: Kind, get: &dyn Fn(&PolicyFigures) -> Option<f64>| {
        let values = ps.iter().map(|p| get(p).map_or(Value::Blank, |x| Value::As(kind, x))).collect();
        rows.push(PolicyRow { label, values });
    };
    row(l("Compensation deposits (CNY)", "风险补偿金存入（元）"), Kind::Yuan, &|p| Some(p.deposits));
    for id in &banks {
        let of = |p: &PolicyFigures| p.banks.iter().find(|x| x.bank == *id).map(|x| x.deposit);
        row(format!("  {}", bank(id)), Kind::Yuan, &of);
    }
    row(l("Village funds (CNY)", "村级风险互助金（元）"), Kind::Yuan, &|p| Some(p.village_funds));
    row(l("Budget money committed (CNY)", "财政资金投入（元）"), Kind::Yuan, &|p| Some(p.budget_committed));
    row(
        l("Fiscal leverage (loans per budget yuan)", "财政杠杆（每元财政资金对应贷款）"),
        Kind::Decimal,
        &|p| p.fiscal_leverage,
    );
    row(l("Fiscal cost, expected (CNY)", "财政成本均值（元）"), Kind::Yuan, &|p| Some(p.fiscal_cost.mean));
    type Part = fn(&PolicyFigures) -> f64;
    let parts: [(String, Part); 5] = [
        (l("  compensation fund draws", "  补偿金支付"), |p| p.fiscal_cost.comp_fund_draws),
        (l("  shortfall borne by the budget", "  财政承担的缺口"), |p| p.fiscal_cost.shortfall_borne_by_budget),
        (l("  top-ups", "  补偿金补充"), |p| p.fiscal_cost.top_ups),
        (l("  interest subsidy", "  贴息"), |p| p.fiscal_cost.interest_subsidy),
        (l("  premium subsidy", "  保费补贴"), |p| p.fiscal_cost.premium_subsidy),
    ];
    for (label, get) in parts {
        row(label, Kind::Yuan, &|p| Some(get(p)));
    }
    row(l("Compensation fund draws, expected (CNY)", "补偿金平均支付（元）"), Kind::Yuan, &|p| {
        Some(p.comp_draws.mean)
    });
    for id in &banks {
        let find = |p: &PolicyFigures| p.banks.iter().find(|x| x.bank == *id).cloned();
        let name = bank(id);
        row(format!("{} {name} (CNY)", l("Expected draw:", "平均支付：")), Kind::Yuan, &|p| {
            find(p).map(|x| x.draws.mean)
        });
        row(format!("{} {name}", l("Runs dry:", "用尽概率：")), Kind::Percent, &|p| find(p).map(|x| x.dry.p));
        row(format!("  {}", l("95 % CI low", "95 % 置信区间下限")), Kind::Percent, &|p| {
            find(p).map(|x| x.dry.lo)
        });
        row(format!("  {}", l("95 % CI high", "95 % 置信区间上限")), Kind::Percent, &|p| {
            find(p).map(|x| x.dry.hi)
        });
    }
    let mut cols = vec![col(l("figure", "指标"), Kind::Text, |r: &PolicyRow| r.label.clone())];
    for (i, name) in names.iter().enumerate() {
        cols.push(col(name.clone(), Kind::Yuan, move |r: &PolicyRow| r.values[i].clone()));
    }
    Ok(b.table(&l("Money", "资金投入与成本"), &cols, &rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(text_width("bank"), 4);
        assert_eq!(text_width("银行"), 4);
        assert_eq!(text_width("（元）"), 6);
        assert_eq!(Kind::Yuan.shown(1234567.5), "1,234,567.50");
        assert_eq!(Kind::Percent.shown(0.00191705), "0.19%");
        assert_eq!(Kind::Ratio.shown(10.0), "10.0:1");
    }

    /// A column's width from its extremes is the widest of its cells
    /// written out one by one, on both sides of zero and across kinds.
    #[test]
    fn widths_from_extremes_are_the_widest_cell() {
        assert!(Kind::ALL.iter().enumerate().all(|(i, k)| k.index() == i));
        let cells = [
            (Kind::Yuan, 999.994),
            (Kind::Yuan, 999.995),
            (Kind::Yuan, -0.004),
            (Kind::Yuan, -12.5),
            (Kind::Percent, -0.0),
            (Kind::Percent, 0.5),
            (Kind::Percent, 1.0),
            (Kind::Ratio, 9.96),
            (Kind::Count, 1_000_000.0),
            (Kind::Sci, 1.5e-10),
            (Kind::Sci, 2e-5),
        ];
        let one_by_one = |cells: &[(Kind, f64)]| cells.iter().map(|&(k, x)| text_width(&k.shown(x))).max().unwrap();
        for n in 1..=cells.len() {
            for start in 0..=cells.len() - n {
                let part = &cells[start..start + n];
                let mut w = Widths::default();
                part.iter().for_each(|&(k, x)| w.add(k, x));
                assert_eq!(w.widest(), one_by_one(part), "{part:?}");
            }
        }
        // -0 reads as `-0.00%`, one wider than 0.
        let mut w = Widths::default();
        w.add(Kind::Percent, 0.0);
        w.add(Kind::Percent, -0.0);
        assert_eq!(w.widest(), "-0.00%".len());
    }

    /// Any number of a kind: money-sized, tiny, or zero of either sign,
    /// and close to where rounding adds a digit.
    fn any_number() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            -1e13..1e13f64,
            -1e-3..1e-3f64,
            Just(0.0),
            Just(-0.0),
            (1u32..14, any::<bool>()).prop_map(|(e, neg)| {
                let x = 10f64.powi(e as i32) - 0.005;
                if neg { -x } else { x }
            }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2_000, ..Default::default() })]
        /// Whatever a column holds, its width from the extremes is the
        /// widest of its cells written out one by one.
        #[test]
        fn any_column_is_as_wide_as_its_widest_cell(
            cells in proptest::collection::vec((0..Kind::ALL.len(), any_number()), 1..40)
        ) {
            let cells: Vec<(Kind, f64)> = cells.into_iter().map(|(k, x)| (Kind::ALL[k], x)).collect();
            let mut w = Widths::default();
            cells.iter().for_each(|&(k, x)| w.add(k, x));
            let widest = cells.iter().map(|&(k, x)| text_width(&k.shown(x))).max().unwrap();
            proptest::prop_assert_eq!(w.widest(), widest, "{:?}", cells);
        }
    }

    /// A cell in a kind of its own keeps it; a number that is not finite is
    /// left blank rather than written as a number Excel refuses.
    #[test]
    fn tables_write_numbers_in_their_kinds() {
        let mut b = Book::new(Lang::En, "t", "c").unwrap();
        let rows = [(1.5, f64::NAN), (2.0, 0.25)];
        let cols = [
            col("money (CNY)", Kind::Yuan, |r: &(f64, f64)| r.0),
            col("share", Kind::Yuan, |r: &(f64, f64)| Value::As(Kind::Percent, r.1)),
        ];
        let at = b.table("T", &cols, &rows).unwrap();
        assert_eq!((at.rows, at.cols), (2, 2));
        let bytes = b.finish().unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut xml).unwrap();
        assert!(xml.contains("<v>1.5</v>"), "{xml}");
        assert!(!xml.contains(r#"r="B2""#), "NaN is no cell: {xml}");
        // B3 is styled as a percentage, A3 as money: two styles.
        let style = |cell: &str| xml.split(&format!(r#"<c r="{cell}" s=""#)).nth(1).map(|s| s[..1].to_string());
        assert!(xml.contains("<v>0.25</v>") && style("A3").is_some() && style("A3") != style("B3"), "{xml}");
    }

    /// A chance below 0.01 % keeps its digits (scientific notation) where
    /// `0.00%` would show 0; 0 itself and larger chances stay percentages.
    #[test]
    fn tiny_chances_are_written_in_scientific_notation() {
        assert_eq!(Kind::Percent.for_value(1.17e-10), Kind::Sci);
        assert_eq!(Kind::Percent.for_value(0.0), Kind::Percent);
        assert_eq!(Kind::Percent.for_value(2e-4), Kind::Percent);
        assert_eq!(Kind::Yuan.for_value(1e-5), Kind::Yuan);
        assert_eq!(Kind::Sci.shown(1.17e-10), "1.17E-10");
        let mut b = Book::new(Lang::En, "t", "c").unwrap();
        let rows = [1.17e-10, 0.25, 0.0];
        let cols = [col("P(runs dry)", Kind::Percent, |p: &f64| *p)];
        b.table("T", &cols, &rows).unwrap();
        let bytes = b.finish().unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let (mut sheet, mut styles) = (String::new(), String::new());
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
        std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
        let style = |cell: &str| sheet.split(&format!(r#"<c r="{cell}" s=""#)).nth(1).map(|s| s[..1].to_string());
        // The cell holds the number itself; only its display changes.
        let cell = sheet.split(r#"<c r="A2" s=""#).nth(1).and_then(|c| c.split("<v>").nth(1)).unwrap();
        let a2: f64 = cell.split("</v>").next().unwrap().parse().unwrap();
        assert_eq!(a2, 1.17e-10);
        assert!(style("A2").is_some() && style("A2") != style("A3") && style("A3") == style("A4"), "{sheet}");
        assert!(styles.contains("0.00E+00"), "{styles}");
    }
}
