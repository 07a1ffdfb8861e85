//! Chart text measured and rasterised right: a plotters backend that wraps
//! another and takes over its text.
//!
//! plotters 0.3's own ab_glyph text puts each glyph's bitmap at the pen
//! position without its side bearing (so "Exp osure" spaces unevenly),
//! truncates each glyph's vertical offset to whole pixels in a direction
//! that depends on its sign (so the decimal point of "10.8" rides high),
//! and measures text in units of the font's line height rather than its
//! em, while browsers draw an SVG's text in ems: the text boxes it lays a
//! chart out with are a third too narrow for the embedded CJK font.
//!
//! [`Typeset`] lays text out once, with the font's advances and kerning, at
//! the em size the SVG's `font-size` means, and places it as the SVG
//! backend asks the browser to (the baseline 0.76 em below a top anchor,
//! half an x-height below a centre one, half an x-height above a bottom
//! one). A bitmap backend gets each glyph rasterised at its exact
//! sub-pixel position; an SVG backend keeps writing text as text, measured
//! the same way, so PNG and SVG charts share one layout.

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};
use plotters::prelude::DrawingBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

use crate::report::font;

/// A backend whose text is laid out with the embedded font.
pub struct Typeset<B> {
    inner: B,
    font: FontRef<'static>,
    /// Rasterise text here (bitmaps) or hand it on as text (SVG).
    raster: bool,
}

/// One line of text laid out at the origin, the baseline at y = 0.
struct Line {
    glyphs: Vec<Glyph>,
    width: f32,
    em: f32,
    x_height: f32,
}

impl<B: DrawingBackend> Typeset<B> {
    /// Wraps a bitmap backend: text is drawn glyph by glyph.
    pub fn raster(inner: B) -> Typeset<B> {
        Typeset { inner, font: embedded(), raster: true }
    }

    /// Wraps a vector backend: text stays text, measured as a browser draws it.
    pub fn vector(inner: B) -> Typeset<B> {
        Typeset { inner, font: embedded(), raster: false }
    }

    fn layout(&self, text: &str, size: f64) -> Line {
        let em = size as f32;
        let units = self.font.units_per_em().unwrap_or(1000.0);
        // ab_glyph scales the line height (ascent - descent) to the scale:
        // this is the scale at which one em is `em` pixels.
        let scale = PxScale::from(em * self.font.height_unscaled() / units);
        let f = self.font.as_scaled(scale);
        let (mut x, mut prev, mut glyphs) = (0.0f32, None, Vec::with_capacity(text.len()));
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                x += f.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(x, 0.0)));
            x += f.h_advance(id);
            prev = Some(id);
        }
        let x_id = self.font.glyph_id('x');
        let x_height = self.font.outline(x_id).map_or(0.5 * units, |o| o.bounds.max.y) / units * em;
        Line { glyphs, width: x, em, x_height }
    }
}

fn embedded() -> FontRef<'static> {
    // The font is part of the binary and a unit test reads it: a failure
    // here is a broken build, not a user's input.
    FontRef::try_from_slice(font::SANS).expect("the embedded font parses")
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.present()
    }
    fn draw_pixel(&mut self, p: BackendCoord, c: BackendColor) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_pixel(p, c)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        let line = self.layout(text, style.size());
        Ok((line.width.ceil() as u32, line.em.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        if !self.raster {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let line = self.layout(text, style.size());
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        // Where the SVG backend puts the baseline for each anchor (its `dy`).
        let baseline = match style.anchor().v_pos {
            VPos::Top => 0.76 * line.em,
            VPos::Center => line.x_height / 2.0,
            VPos::Bottom => -line.x_height / 2.0,
        };
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        for glyph in line.glyphs {
            let mut glyph = glyph;
            glyph.position.x += dx;
            glyph.position.y += baseline;
            let Some(outline) = self.font.outline_glyph(glyph) else { continue };
            let min = outline.px_bounds().min;
            let mut pixels = Vec::new();
            outline.draw(|x, y, cover| pixels.push((min.x as i32 + x as i32, min.y as i32 + y as i32, cover)));
            for (x, y, cover) in pixels {
                let (x, y) = transform.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if cover > 0.0 && x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let c = BackendColor { alpha: color.alpha * f64::from(cover.min(1.0)), rgb: color.rgb };
                    self.inner.draw_pixel((x, y), c)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use plotters::prelude::*;
    use plotters::style::text_anchor::Pos;

    use super::*;

    /// Columns of a rendered line of text that hold ink.
    fn inked_columns(text: &str) -> Vec<bool> {
        let (w, h) = (400u32, 60u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let area = Typeset::raster(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
            let style = TextStyle::from(("sans-serif", 40).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
            area.draw_text(text, &style, (10, 5)).unwrap();
        }
        (0..w).map(|x| (0..h).any(|y| buf[((y * w + x) * 3) as usize] < 128)).collect()
    }

    /// Widths of the blank gaps between inked runs.
    fn gaps(cols: &[bool]) -> Vec<usize> {
        let (mut out, mut run, mut seen_ink) = (Vec::new(), 0, false);
        for &ink in cols {
            if ink {
                if seen_ink && run > 0 {
                    out.push(run);
                }
                seen_ink = true;
                run = 0;
            } else {
                run += 1;
            }
        }
        out
    }

    #[test]
    fn letters_sit_at_their_advances() {
        // "ll" and "il": narrow glyphs with side bearings; plotters' own
        // text drops the bearing, so gaps between equal letters differed.
        let g = gaps(&inked_columns("llll"));
        assert_eq!(g.len(), 3, "{g:?}");
        assert!(g.iter().max().unwrap() - g.iter().min().unwrap() <= 1, "uneven gaps {g:?}");
    }

    #[test]
    fn a_decimal_point_sits_on_the_baseline() {
        let (w, h) = (200u32, 80u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let area = Typeset::raster(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
            let style = TextStyle::from(("sans-serif", 48).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
            area.draw_text("1.1", &style, (4, 4)).unwrap();
        }
        let ink = |x: u32, y: u32| buf[((y * w + x) * 3) as usize] < 128;
        let cols: Vec<bool> = (0..w).map(|x| (0..h).any(|y| ink(x, y))).collect();
        // The three glyphs' column runs: 1, ., 1.
        let mut runs = Vec::new();
        let mut start = None;
        for (x, &c) in cols.iter().enumerate() {
            match (c, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    runs.push(s..x);
                    start = None;
                }
                _ => {}
            }
        }
        assert_eq!(runs.len(), 3, "{runs:?}");
        let bottom = |r: &std::ops::Range<usize>| (0..h).rev().find(|&y| r.clone().any(|x| ink(x as u32, y))).unwrap();
        assert!(bottom(&runs[0]).abs_diff(bottom(&runs[1])) <= 1, "{} vs {}", bottom(&runs[0]), bottom(&runs[1]));
    }

    #[test]
    fn chinese_text_has_ink_and_an_em_per_character() {
        let cols = inked_columns("信用联社");
        let inked = cols.iter().filter(|&&c| c).count();
        assert!(inked > 100, "{inked} inked columns");
        let mut out = String::new();
        let svg = Typeset::vector(SVGBackend::with_string(&mut out, (10, 10)));
        let style = TextStyle::from(("sans-serif", 20).into_font());
        let (w, h) = svg.estimate_text_size("信用联社", &style).unwrap();
        assert_eq!((w, h), (80, 20));
    }
}
