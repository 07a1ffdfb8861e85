//! The one font riskshare draws with, carried by the binary so that Chinese
//! reads the same on a machine with no CJK fonts: Noto Sans CJK SC Regular
//! (SIL Open Font License 1.1, `assets/fonts/OFL.txt`), cut to ASCII,
//! Latin-1 and the GB 2312 character set (`assets/fonts/make_subset.py`
//! says how, and why TrueType outlines).
//!
//! PNG text is drawn with it ([`crate::report::glyphs`]); HTML pages embed
//! it as an `@font-face` data URL, cut further to the characters the page
//! uses ([`face_css`]), so a report carries about 100 KB of font rather
//! than 2 MB.

use std::collections::BTreeSet;

use base64::Engine;

/// The font file.
pub static SANS: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-subset.ttf");

/// The family name charts and pages give the font.
pub const FAMILY: &str = "riskshare Sans";

/// CSS font lists: the embedded font first, then the reader's own.
pub const CSS_STACK: &str = "'riskshare Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', \
                             'PingFang SC', system-ui, sans-serif";

/// The `@font-face` rule that embeds [`SANS`], cut to the characters of
/// `text` (the page with its charts), as a base64 data URL.
pub fn face_css(text: &str) -> String {
    let cut = subset(SANS, text).unwrap_or_else(|| SANS.to_vec());
    format!(
        "@font-face{{font-family:'{FAMILY}';src:url(data:font/ttf;base64,{}) format('truetype');\
         font-weight:normal;font-style:normal}}",
        base64::engine::general_purpose::STANDARD.encode(cut)
    )
}

/// A copy of the TrueType font `font` in which every glyph that neither a
/// character of `text` nor printable ASCII needs has an empty outline. Glyph ids, `cmap`,
/// metrics and layout tables stay as they are (a character the cut font
/// lacks draws as blank, never as another glyph), so the cut is a few
/// dozen lines where renumbering glyphs would rewrite half the tables.
/// `None` if `font` is not a TrueType font this understands.
pub fn subset(font: &[u8], text: &str) -> Option<Vec<u8>> {
    let face = Face::parse(font)?;
    let ids = ab_glyph::FontRef::try_from_slice(font).ok()?;
    let mut keep = glyphs_of(&ids, text);
    // Composite glyphs draw other glyphs: keep those too.
    let mut todo: Vec<u16> = keep.iter().copied().collect();
    while let Some(g) = todo.pop() {
        for part in face.components(g)? {
            if keep.insert(part) {
                todo.push(part);
            }
        }
    }
    face.rebuild(&keep)
}

/// The glyphs of the characters of `text`, of printable ASCII and of
/// `.notdef`.
fn glyphs_of(ids: &ab_glyph::FontRef, text: &str) -> BTreeSet<u16> {
    use ab_glyph::Font;
    // Printable ASCII always: a page's markup writes some of it as entities
    // (`&#39;`), and all of it costs a few kilobytes. A page is hundreds of
    // kilobytes of far fewer distinct characters: each is looked up in
    // `cmap` once, not once per occurrence.
    let mut ascii = [false; 128];
    ascii[usize::from(b' ')..=usize::from(b'~')].fill(true);
    let mut other = BTreeSet::new();
    for c in text.chars() {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() => ascii[usize::from(b)] = true,
            _ => {
                other.insert(c);
            }
        }
    }
    let ascii = (0u8..128).filter(|&b| ascii[usize::from(b)]).map(char::from);
    let mut keep = BTreeSet::from([0]);
    keep.extend(ascii.chain(other).map(|c| ids.glyph_id(c).0));
    keep
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The parts of a TrueType file the cut touches.
struct Face<'a> {
    font: &'a [u8],
    /// (tag, offset, length) of each table, in the file's order.
    tables: Vec<([u8; 4], usize, usize)>,
    /// Byte range of each glyph in `glyf`.
    glyphs: Vec<std::ops::Range<usize>>,
    glyf: usize,
}

impl<'a> Face<'a> {
    fn parse(font: &'a [u8]) -> Option<Face<'a>> {
        let n = u16_at(font, 4)? as usize;
        let tables = (0..n)
            .map(|i| {
                let r = 12 + 16 * i;
                let tag: [u8; 4] = font.get(r..r + 4)?.try_into().ok()?;
                let (off, len) = (u32_at(font, r + 8)? as usize, u32_at(font, r + 12)? as usize);
                font.get(off..off + len)?;
                Some((tag, off, len))
            })
            .collect::<Option<Vec<_>>>()?;
        let table = |t: &[u8; 4]| tables.iter().find(|x| &x.0 == t).map(|x| (x.1, x.2));
        let (head, _) = table(b"head")?;
        let (maxp, _) = table(b"maxp")?;
        let (loca, _) = table(b"loca")?;
        let (glyf, glyf_len) = table(b"glyf")?;
        let long = u16_at(font, head + 50)? == 1;
        let count = u16_at(font, maxp + 4)? as usize;
        let at = |i: usize| {
            if long {
                u32_at(font, loca + 4 * i).map(|x| x as usize)
            } else {
                u16_at(font, loca + 2 * i).map(|x| 2 * x as usize)
            }
        };
        let glyphs = (0..count)
            .map(|i| {
                let r = at(i)?..at(i + 1)?;
                (r.start <= r.end && r.end <= glyf_len).then_some(r)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Face { font, tables, glyphs, glyf })
    }

    fn outline(&self, g: u16) -> Option<&[u8]> {
        let r = self.glyphs.get(g as usize)?;
        self.font.get(self.glyf + r.start..self.glyf + r.end)
    }

    /// The glyphs a composite glyph is made of (none for a simple one).
    fn components(&self, g: u16) -> Option<Vec<u16>> {
        const WORDS: u16 = 0x0001;
        const SCALE: u16 = 0x0008;
        const MORE: u16 = 0x0020;
        const XY_SCALE: u16 = 0x0040;
        const TWO_BY_TWO: u16 = 0x0080;
        let o = self.outline(g)?;
        if o.is_empty() || (u16_at(o, 0)? as i16) >= 0 {
            return Some(Vec::new());
        }
        let (mut at, mut parts) = (10, Vec::new());
        loop {
            let flags = u16_at(o, at)?;
            parts.push(u16_at(o, at + 2)?);
            at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
            at += match () {
                _ if flags & SCALE != 0 => 2,
                _ if flags & XY_SCALE != 0 => 4,
                _ if flags & TWO_BY_TWO != 0 => 8,
                _ => 0,
            };
            if flags & MORE == 0 {
                return Some(parts);
            }
        }
    }

    /// The file with only `keep`'s outlines, a long `loca`, and the
    /// checksums the format asks for.
    fn rebuild(&self, keep: &BTreeSet<u16>) -> Option<Vec<u8>> {
        let mut glyf = Vec::new();
        let mut loca = Vec::with_capacity(4 * (self.glyphs.len() + 1));
        for g in 0..self.glyphs.len() {
            loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());
            if keep.contains(&(g as u16)) {
                glyf.extend_from_slice(self.outline(g as u16)?);
                // Glyphs start on 4-byte boundaries.
                glyf.resize(glyf.len().next_multiple_of(4), 0);
            }
        }
        loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());

        let n = self.tables.len();
        let mut out = self.font[..12].to_vec();
        out.resize(12 + 16 * n, 0);
        let mut head_at = None;
        for (i, (tag, off, len)) in self.tables.iter().enumerate() {
            let mut body = match tag {
                b"glyf" => glyf.clone(),
                b"loca" => loca.clone(),
                _ => self.font[*off..off + len].to_vec(),
            };
            if tag == b"head" {
                body.get_mut(8..12)?.copy_from_slice(&[0; 4]); // checksum adjustment, set below
                body.get_mut(50..52)?.copy_from_slice(&1u16.to_be_bytes()); // long loca offsets
            }
            let start = out.len();
            if tag == b"head" {
                head_at = Some(start);
            }
            let r = 12 + 16 * i;
            out[r..r + 4].copy_from_slice(tag);
            out[r + 4..r + 8].copy_from_slice(&checksum(&body).to_be_bytes());
            out[r + 8..r + 12].copy_from_slice(&(start as u32).to_be_bytes());
            out[r + 12..r + 16].copy_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(&body);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        let h = head_at?;
        out[h + 8..h + 12].copy_from_slice(&adjust.to_be_bytes());
        Some(out)
    }
}

/// The OpenType table checksum: the sum of big-endian 32-bit words.
fn checksum(b: &[u8]) -> u32 {
    b.chunks(4).fold(0u32, |s, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        s.wrapping_add(u32::from_be_bytes(w))
    })
}

#[cfg(test)]
mod tests {
    use ab_glyph::{Font, FontRef};

    use super::*;

    fn outline(font: &[u8], c: char) -> Vec<u8> {
        let f = Face::parse(font).unwrap();
        let g = FontRef::try_from_slice(font).unwrap().glyph_id(c).0;
        f.outline(g).unwrap().to_vec()
    }

    #[test]
    fn the_font_has_what_reports_write() {
        let f = FontRef::try_from_slice(SANS).unwrap();
        for c in "信用联社农行贵商银行旺苍县洪涝非洲猪瘟元%0123456789ABCxyz，。（）".chars() {
            assert_ne!(f.glyph_id(c).0, 0, "{c} is missing");
        }
    }

    #[test]
    fn a_cut_keeps_the_text_and_empties_the_rest() {
        let cut = subset(SANS, "信用 ok").unwrap();
        assert!(cut.len() < SANS.len() / 5, "{} bytes", cut.len());
        for c in ['信', '用', 'o', 'k', '~'] {
            let (a, b) = (outline(&cut, c), outline(SANS, c));
            // Equal but for the padding to a 4-byte boundary.
            assert!(!b.is_empty() && a.starts_with(&b) && a.len() - b.len() < 4, "{c}");
        }
        assert!(!outline(SANS, '银').is_empty());
        assert!(outline(&cut, '银').is_empty());
        // Still a font that a rasteriser reads, with the same metrics.
        let (a, b) = (FontRef::try_from_slice(&cut).unwrap(), FontRef::try_from_slice(SANS).unwrap());
        let g = a.glyph_id('信');
        assert_eq!(a.h_advance_unscaled(g), b.h_advance_unscaled(g));
        assert!(a.outline(g).is_some());
        // Whole-file checksum as the format defines it.
        assert_eq!(checksum(&cut), 0xB1B0_AFBA);
    }

    #[test]
    fn each_character_is_looked_up_once_with_the_same_glyphs() {
        let ids = FontRef::try_from_slice(SANS).unwrap();
        let text = "旺苍县 Wangcang\n\t\u{0}信用联社 信用联社 &#39; ~ \u{7f}é 🐖 旺".repeat(3);
        let mut every: BTreeSet<u16> = BTreeSet::from([0]);
        for c in (' '..='~').chain(text.chars()) {
            every.insert(ids.glyph_id(c).0);
        }
        assert!(every.len() > 20, "{}", every.len());
        assert_eq!(glyphs_of(&ids, &text), every);
        assert_eq!(glyphs_of(&ids, ""), (' '..='~').map(|c| ids.glyph_id(c).0).chain([0]).collect());
    }

    #[test]
    fn not_a_font_is_none() {
        assert!(subset(b"not a font at all", "x").is_none());
        assert!(subset(&SANS[..100], "x").is_none());
    }

    #[test]
    fn face_css_is_a_data_url() {
        let css = face_css("旺苍");
        assert!(css.starts_with("@font-face{font-family:'riskshare Sans';src:url(data:font/ttf;base64,"));
        assert!(css.len() < 400_000, "{}", css.len());
    }
}
