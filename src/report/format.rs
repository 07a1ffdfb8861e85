//! How numbers read, everywhere riskshare shows them to people: the stdout
//! tables ([`crate::report::text`]), the charts and the HTML report. One rule
//! per kind of number, so that a figure reads the same in each; the CSV and
//! JSON outputs keep their own machine formats.

use std::str::FromStr;

/// Language of chart and report labels, and of the money units that differ
/// by language (yuan in English, 元 and 万元 in Chinese).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// Picks the English or the Chinese text.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "zh" | "zh-cn" | "cn" | "chinese" => Ok(Lang::Zh),
            _ => Err(format!("unknown language `{s}`: expected `en` or `zh`")),
        }
    }
}

/// Columns `s` takes on a terminal: two for each character of the CJK
/// blocks and full-width forms (汉字, 、，（）), one for any other. Enough for
/// display names in Chinese and English; not a full East Asian Width table.
pub fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// `s` followed by the spaces that make it `cols` terminal columns wide
/// (none when it is wider): `{:<n}` counts characters, not columns.
pub fn pad(s: &str, cols: usize) -> String {
    format!("{s}{}", " ".repeat(cols.saturating_sub(width(s))))
}

/// `s` aligned right in `cols` terminal columns.
pub fn pad_left(s: &str, cols: usize) -> String {
    format!("{}{s}", " ".repeat(cols.saturating_sub(width(s))))
}

/// `v` with `decimals` places and thousands separators: 1234567.8 -> "1,234,567.8".
/// A value that rounds to zero has no minus sign.
pub fn group(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if v < 0.0 && s.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        out.push('-');
    }
    out.push_str(&crate::limits::group_digits(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Most decimals a percentage is shown with: a probability estimated from at
/// most `limits::MAX_TRIALS` trials (1e8) is a multiple of 1e-6 %, and the
/// ends of its interval need two significant digits of their distance to 0 or
/// 100 % (3.8e-6 % for none in 1e8 trials); what lies below is float noise.
const MAX_PCT_DECIMALS: usize = 8;

/// Decimals of a percentage `v` (in percent): what tells it apart is its
/// distance `d` to the nearer of 0 and 100 % (to 0 outside that range), so
/// 99.98 % reads as such and not as 100 %. One decimal from d = 10 on, two
/// from d = 0.1, below that two significant digits of d (at least three
/// decimals); none when v is exactly 0 or 100 %.
fn pct_decimals(v: f64) -> usize {
    let d = if (0.0..=100.0).contains(&v) { v.min(100.0 - v) } else { v.abs() };
    if d == 0.0 || !d.is_finite() {
        0
    } else if d >= 10.0 {
        1
    } else if d >= 0.1 {
        2
    } else {
        let first = (-d.log10()).floor() as usize + 1; // decimal place of d's first digit
        (first + 1).clamp(3, MAX_PCT_DECIMALS)
    }
}

/// `v` percent with `decimals` places, trailing zeros dropped: the precision is a bound, not a promise.
fn pct_with(v: f64, decimals: usize) -> String {
    let s = group(v, decimals);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s} %")
}

/// A share or probability as a percentage, with as many decimals as its
/// distance to 0 or to 100 % needs ([`pct_decimals`]), trailing zeros
/// dropped. 0.0019 -> "0.19 %", 0.015 -> "1.5 %", 0.5 -> "50 %",
/// 0.99981 -> "99.981 %", 1 -> "100 %".
pub fn pct(p: f64) -> String {
    let v = p * 100.0;
    pct_with(v, pct_decimals(v))
}

/// The ends of an interval of probabilities as percentages: each as [`pct`]
/// shows it, with more decimals for both where that would show different
/// ends as the same number.
pub fn pct_interval(lo: f64, hi: f64) -> (String, String) {
    let (vl, vh) = (lo * 100.0, hi * 100.0);
    let (dl, dh) = (pct_decimals(vl), pct_decimals(vh));
    let at = |extra: usize| {
        (pct_with(vl, (dl + extra).min(MAX_PCT_DECIMALS)), pct_with(vh, (dh + extra).min(MAX_PCT_DECIMALS)))
    };
    let shown = at(0);
    if lo == hi || shown.0 != shown.1 {
        return shown;
    }
    (1..=MAX_PCT_DECIMALS).map(at).find(|(a, b)| a != b).unwrap_or(shown)
}

/// A loans : fund ratio: "10:1", "7.8:1", "2,000:1". Within 0.05 of a whole
/// number it is shown whole.
pub fn ratio(r: f64) -> String {
    if (r - r.round()).abs() < 0.05 { format!("{}:1", group(r.round(), 0)) } else { format!("{}:1", group(r, 1)) }
}

/// Money in a sentence: "CNY 6,613,900" in English; in Chinese "661.39 万元"
/// from six figures on, else "999 元".
pub fn money(yuan: f64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("CNY {}", group(yuan, 0)),
        Lang::Zh if yuan.abs() >= 100_000.0 => format!("{} 万元", group(yuan / 10_000.0, 2)),
        Lang::Zh => format!("{} 元", group(yuan, 0)),
    }
}

/// A parameter as written, without float noise: 0.15 -> "0.15", 6.000000001 -> "6".
pub fn plain(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The money unit of a chart axis: yuan for small amounts, 10,000 yuan (万元)
/// where amounts reach six figures, which is how a finance bureau reads them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MoneyUnit {
    div: f64,
}

impl MoneyUnit {
    /// The unit for an axis whose largest amount is `max_yuan`.
    pub fn for_max(max_yuan: f64) -> MoneyUnit {
        MoneyUnit { div: if max_yuan >= 100_000.0 { 10_000.0 } else { 1.0 } }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        if self.div > 1.0 { lang.pick("CNY 10k", "万元") } else { lang.pick("CNY", "元") }
    }

    /// An amount in yuan as a tick of this unit, with as many decimals as an
    /// axis spanning `span_yuan` needs to tell its ticks apart.
    pub fn tick(self, yuan: f64, span_yuan: f64) -> String {
        let span = span_yuan / self.div;
        let d = if span >= 20.0 {
            0
        } else if span >= 2.0 {
            1
        } else {
            2
        };
        group(yuan / self.div, d)
    }
}

/// Ticks of an axis from `lo` to `hi`: the multiples within it of the
/// smallest "nice" step, 1, 2 or 5 times a power of ten, that gives at most
/// `max` ticks (ticks on 0/64/128/192/257 are hard to read; 0/50/100/150/200/250
/// are not). Returns the ticks and the step; none for an empty range.
pub fn nice_ticks(lo: f64, hi: f64, max: usize) -> (Vec<f64>, f64) {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || max == 0 {
        return (Vec::new(), 0.0);
    }
    let first_k = ((hi - lo) / max as f64).log10().floor() as i32 - 1;
    for k in first_k..first_k + 4 {
        for m in [1i64, 2, 5] {
            // m 10^k as m / 10^-k for negative k: 3 x 0.1 is 0.30000000000000004, 3 / 10 is 0.3.
            let at = |i: i64| if k >= 0 { (i * m) as f64 * 10f64.powi(k) } else { (i * m) as f64 / 10f64.powi(-k) };
            let step = at(1);
            let (first, last) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
            if last - first < max as i64 {
                return ((first..=last).map(at).collect(), step);
            }
        }
    }
    unreachable!("a step of 10^(k+3) > 100 (hi - lo) / max gives at most one tick")
}

/// Decimals that tell apart the ticks of a step: 0.5 -> 1, 0.02 -> 2, 2 -> 0.
pub fn step_decimals(step: f64) -> usize {
    if step > 0.0 && step.is_finite() { (-step.log10() - 1e-9).ceil().max(0.0) as usize } else { 0 }
}

/// A money axis: the unit for its largest amount, ticks (in yuan) on a nice
/// step of that unit ([`nice_ticks`]) and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyAxis {
    pub unit: MoneyUnit,
    /// The ticks, in yuan.
    pub ticks: Vec<f64>,
    decimals: usize,
}

impl MoneyAxis {
    /// An axis from `lo` to `hi` yuan with at most `max` ticks.
    pub fn new(lo: f64, hi: f64, max: usize) -> MoneyAxis {
        let unit = MoneyUnit::for_max(lo.abs().max(hi.abs()));
        let (ticks, step) = nice_ticks(lo / unit.div, hi / unit.div, max);
        MoneyAxis { unit, ticks: ticks.into_iter().map(|t| t * unit.div).collect(), decimals: step_decimals(step) }
    }

    /// A tick's label in the axis' unit, with the decimals its step needs: "2,500", "12.5".
    pub fn label(&self, yuan: f64) -> String {
        group(yuan / self.unit.div, self.decimals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_by_terminal_columns() {
        assert_eq!((width("rcc"), width("信用联社"), width("农行（旺苍）")), (3, 8, 12));
        assert_eq!(pad("农行", 6), "农行  ");
        assert_eq!(pad("Guishang Bank", 4), "Guishang Bank");
    }

    #[test]
    fn grouped_numbers() {
        assert_eq!(group(1_234_567.891, 1), "1,234,567.9");
        assert_eq!(group(1_234_567.891, 0), "1,234,568");
        assert_eq!(group(-1000.0, 0), "-1,000");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(group(0.0, 2), "0.00");
        assert_eq!(group(-0.4, 0), "0");
        assert_eq!(group(-0.004, 2), "0.00");
        assert_eq!(group(-0.006, 2), "-0.01");
        assert_eq!(group(100_000.0, 0), "100,000");
    }

    #[test]
    fn percentages() {
        assert_eq!(pct(0.00191705), "0.19 %");
        assert_eq!(pct(0.0005), "0.05 %");
        assert_eq!(pct(0.00076243), "0.076 %");
        assert_eq!(pct(0.0), "0 %");
        assert_eq!(pct(0.015), "1.5 %");
        assert_eq!(pct(0.04), "4 %");
        assert_eq!(pct(0.5), "50 %");
        assert_eq!(pct(1.0), "100 %");
        assert_eq!(pct(0.995), "99.5 %");
        assert_eq!(pct(0.113456), "11.3 %");
        assert_eq!(pct(12.5), "1,250 %");
        // Negative differences read as their positive counterparts do.
        assert_eq!(pct(-0.006), "-0.6 %");
        assert_eq!(pct(-0.15), "-15 %");
        // Float noise is not a digit.
        assert_eq!(pct(-1e-14), "0 %");
    }

    #[test]
    fn percentages_near_one_hundred_keep_their_distance_to_it() {
        // The upper end of 1 - p reads as 100 % less what p's lower end reads.
        assert_eq!(pct(1.0 - 0.00019204), "99.981 %");
        assert_eq!(pct(1.0 - 0.0019), "99.81 %");
        assert_eq!(pct(0.9123), "91.23 %");
        assert_eq!(pct(0.87654), "87.7 %");
        assert_eq!(pct(0.9999), "99.99 %");
        // A rare level keeps two significant digits at any depth.
        assert_eq!(pct(3.8e-8), "0.0000038 %");
        assert_eq!(pct(1.0 - 3.8e-8), "99.9999962 %");
    }

    #[test]
    fn interval_ends_differ_unless_they_are_equal() {
        // Every trial hit: the Wilson interval of 20,000 of 20,000.
        assert_eq!(pct_interval(0.99980796, 1.0), ("99.981 %".into(), "100 %".into()));
        assert_eq!(pct_interval(0.0, 0.00019204), ("0 %".into(), "0.019 %".into()));
        // Narrow intervals of a million trials: more decimals for both ends.
        assert_eq!(pct(0.4999), pct(0.5001));
        assert_eq!(pct_interval(0.4999, 0.5001), ("49.99 %".into(), "50.01 %".into()));
        assert_eq!(pct_interval(0.12341, 0.12349), ("12.34 %".into(), "12.35 %".into()));
        assert_eq!(pct_interval(0.3, 0.3), ("30 %".into(), "30 %".into()));
        assert_eq!(pct_interval(0.02, 0.05), ("2 %".into(), "5 %".into()));
    }

    #[test]
    fn nice_ticks_step_by_one_two_or_five() {
        assert_eq!(nice_ticks(0.0, 257.0, 6), (vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0], 50.0));
        assert_eq!(nice_ticks(0.0, 257.0, 10), (vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0], 50.0));
        assert_eq!(nice_ticks(0.0, 257.0, 14).1, 20.0);
        assert_eq!(nice_ticks(1.3, 1.9, 5), (vec![1.4, 1.6, 1.8], 0.2));
        assert_eq!(nice_ticks(0.0, 1.0, 11).0, vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
        assert_eq!(nice_ticks(-35.0, 12.0, 6), (vec![-30.0, -20.0, -10.0, 0.0, 10.0], 10.0));
        assert_eq!(nice_ticks(1_290.0, 1_415.0, 4), (vec![1_300.0, 1_350.0, 1_400.0], 50.0));
        assert_eq!(nice_ticks(1_290.0, 1_415.0, 6).1, 20.0);
        assert_eq!(nice_ticks(7.0, 7.0, 5), (vec![], 0.0));
        assert_eq!(nice_ticks(0.0, f64::INFINITY, 5), (vec![], 0.0));
        // Every step is 1, 2 or 5 times a power of ten, and at most `max` ticks fall in the range.
        for (lo, hi, max) in [(0.0, 3e9, 7), (-0.004, 0.013, 4), (12.0, 13.0, 3), (0.0, 1e-6, 8), (5.0, 95.0, 2)] {
            let (ticks, step) = nice_ticks(lo, hi, max);
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{step}");
            assert!(!ticks.is_empty() && ticks.len() <= max, "{ticks:?}");
            assert!(ticks.iter().all(|t| *t >= lo - step * 1e-9 && *t <= hi + step * 1e-9));
        }
    }

    #[test]
    fn money_axes_label_their_ticks_in_their_unit() {
        let a = MoneyAxis::new(0.0, 2_570_000.0, 6);
        assert_eq!(a.unit.name(Lang::En), "CNY 10k");
        assert_eq!(a.ticks, vec![0.0, 500_000.0, 1_000_000.0, 1_500_000.0, 2_000_000.0, 2_500_000.0]);
        assert_eq!(a.label(2_500_000.0), "250");
        let b = MoneyAxis::new(13_000_000.0, 14_150_000.0, 6);
        assert_eq!(
            b.ticks.iter().map(|t| b.label(*t)).collect::<Vec<_>>(),
            ["1,300", "1,320", "1,340", "1,360", "1,380", "1,400"]
        );
        let c = MoneyAxis::new(0.0, 14_000.0, 5);
        assert_eq!((c.unit.name(Lang::En), c.label(5_000.0).as_str()), ("CNY", "5,000"));
        let d = MoneyAxis::new(100_000.0, 112_000.0, 6);
        assert_eq!(d.label(105_000.0), "10.5");
    }

    #[test]
    fn ratios_money_and_parameters() {
        assert_eq!(ratio(10.0), "10:1");
        assert_eq!(ratio(9.97), "10:1");
        assert_eq!(ratio(7.84), "7.8:1");
        assert_eq!(ratio(2000.0), "2,000:1");
        assert_eq!(ratio(271.6025), "271.6:1");
        assert_eq!(money(6_613_899.51, Lang::En), "CNY 6,613,900");
        assert_eq!(money(6_613_899.51, Lang::Zh), "661.39 万元");
        assert_eq!(money(99_999.0, Lang::Zh), "99,999 元");
        assert_eq!(plain(0.15), "0.15");
        assert_eq!(plain(6.000000001), "6");
        assert_eq!(plain(-0.0000001), "0");
        assert_eq!("zh".parse::<Lang>(), Ok(Lang::Zh));
        assert!("fr".parse::<Lang>().is_err());
    }

    #[test]
    fn axis_units() {
        let u = MoneyUnit::for_max(250_000.0);
        assert_eq!((u.name(Lang::En), u.name(Lang::Zh)), ("CNY 10k", "万元"));
        assert_eq!(u.tick(125_000.0, 100_000.0), "12.5");
        assert_eq!(u.tick(126_000.0, 2_500_000.0), "13");
        let y = MoneyUnit::for_max(99_999.0);
        assert_eq!((y.name(Lang::En), y.tick(1234.0, 5000.0).as_str()), ("CNY", "1,234"));
    }
}
