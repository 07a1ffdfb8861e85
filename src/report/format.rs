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
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A share or probability as a percentage: three decimals below 0.1 %, two
/// below 10 %, one above, trailing zeros dropped. 0.0019 -> "0.19 %",
/// 0.015 -> "1.5 %", 0.5 -> "50 %".
pub fn pct(p: f64) -> String {
    let v = p * 100.0;
    let decimals = if v.abs() < 0.1 {
        3
    } else if v.abs() < 10.0 {
        2
    } else {
        1
    };
    let s = group(v, decimals);
    // "1.50" -> "1.5", "2.00" -> "2": the precision is a bound, not a promise.
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s} %")
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
        assert_eq!(pct(-0.0000001), "0 %");
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
