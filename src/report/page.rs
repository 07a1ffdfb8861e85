//! The frame every HTML page of riskshare shares: the head, the stylesheet
//! and the embedded font, cut to the characters the page uses, so that a
//! page reads the same on a machine without CJK fonts and carries no
//! external reference.

use crate::report::font;
use crate::report::format::Lang;
use crate::report::markup::{Attrs, Html, PreEscaped};

/// The stylesheet every page shares.
const STYLE: &str = "body{max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}\
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}\
h3{margin:.2em 0}.lead{font-size:1.05em;color:#444}.meta,.note{color:#666;font-size:.9em}\
.answers{background:#f6f8fa;border:1px solid #dde3ea;border-radius:6px;padding:.2em 1.2em 1em}\
.answers h2{border:none}.key{font-size:1.1em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}\
thead th{background:#f0f2f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
table.kv th{font-weight:normal;color:#444;background:#fafafa}tr.hl{background:#fff3f3;font-weight:bold}\
.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}.warn{color:#9a6700;font-weight:bold}\
figure{margin:1.5em 0;page-break-inside:avoid}.chart svg{width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#444;font-size:.93em}code{background:#f0f2f5;padding:.1em .3em;word-break:break-all}\
.ci{color:#666;font-size:.85em}footer{margin-top:2em}pre{background:#f6f8fa;padding:1em;overflow:auto}";

/// A whole page: `title` and the body `body` writes. The body is written
/// first so that the font is cut to what it holds.
pub fn page(lang: Lang, title: &str, body: impl FnOnce(&mut Html)) -> String {
    let mut b = Html::new();
    body(&mut b);
    let body = b.finish();
    let face = font::face_css(&format!("{title}{body}"));
    let mut h = Html::new();
    h.doctype();
    h.el("html", &[("lang", lang.pick("en", "zh-CN"))], |h| {
        h.line();
        h.el("head", &[], |h| {
            h.void("meta", &[("charset", "utf-8")]);
            h.void("meta", &[("name", "viewport"), ("content", "width=device-width, initial-scale=1")]);
            h.text_el("title", &[], title);
            h.el("style", &[], |h| {
                h.raw(PreEscaped(&face));
                h.raw(PreEscaped(&format!("body{{font-family:{}}}", font::CSS_STACK)));
                h.raw(PreEscaped(STYLE));
            });
        });
        h.line();
        h.el("body", &[], |h| h.raw(PreEscaped(&body)));
        h.line();
    });
    h.line();
    h.finish()
}

/// A section headed `title`.
pub fn section(h: &mut Html, attrs: Attrs, title: &str, body: impl FnOnce(&mut Html)) {
    h.el("section", attrs, |h| {
        h.text_el("h2", &[], title);
        body(h);
    });
    h.line();
}

/// A table with a header row of `heads`, its body written by `rows`.
pub fn table(h: &mut Html, heads: &[&str], rows: impl FnOnce(&mut Html)) {
    h.el("table", &[], |h| {
        h.el("thead", &[], |h| {
            h.el("tr", &[], |h| {
                for head in heads {
                    h.text_el("th", &[], head);
                }
            })
        });
        h.el("tbody", &[], rows);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_embeds_the_font_cut_to_its_text() {
        let p = page(Lang::Zh, "旺苍", |h| h.text_el("p", &[], "信用联社"));
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(p.contains("@font-face{font-family:'riskshare Sans';src:url(data:font/ttf;base64,"));
        assert!(p.contains("<body><p>信用联社</p></body>"));
        assert!(p.contains("td.num{text-align:right"));
        // About 120 KB of tables (cmap, metrics, layout) plus the few outlines.
        assert!(p.len() < 250_000, "{} bytes", p.len());
    }
}
