//! The frame every HTML page of riskshare shares: the head, the stylesheet
//! and the embedded font, cut to the characters the page uses, so that a
//! page reads the same on a machine without CJK fonts and carries no
//! external reference.

use crate::report::font;
use crate::report::format::Lang;
use crate::report::markup::{Html, PreEscaped};

/// A whole page: `title`, the page's own `css`, and the body `body` writes.
/// The body is written first so that the font is cut to what it holds.
pub fn page(lang: Lang, title: &str, css: &str, body: impl FnOnce(&mut Html)) -> String {
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
                h.raw(PreEscaped(css));
            });
        });
        h.line();
        h.el("body", &[], |h| h.raw(PreEscaped(&body)));
        h.line();
    });
    h.line();
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_embeds_the_font_cut_to_its_text() {
        let p = page(Lang::Zh, "旺苍", "p{color:red}", |h| h.text_el("p", &[], "信用联社"));
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(p.contains("@font-face{font-family:'riskshare Sans';src:url(data:font/ttf;base64,"));
        assert!(p.contains("<body><p>信用联社</p></body>"));
        assert!(p.contains("p{color:red}"));
        // About 120 KB of tables (cmap, metrics, layout) plus the few outlines.
        assert!(p.len() < 250_000, "{} bytes", p.len());
    }
}
