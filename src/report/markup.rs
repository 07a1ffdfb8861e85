//! A small builder for `report.html`: the builder opens and closes every
//! element, and escapes every text and attribute value it is given. Markup
//! goes in unescaped only as [`PreEscaped`], which the report uses for what
//! this crate made itself (the charts' SVG, whose text plotters escapes,
//! and the stylesheet).
//!
//! Why not a template crate: the page is a dozen sections of tables and
//! sentences built from typed values in Rust; a template language would add
//! a second syntax (which rustfmt does not format) and, for `maud`, four
//! crates and a second `syn` to a cold build of the binary (about 17 s of
//! CPU), for what this does in a hundred lines.

/// Markup that is already HTML, put in as it is.
#[derive(Clone, Copy, Debug)]
pub struct PreEscaped<'a>(pub &'a str);

/// An HTML document being built.
#[derive(Debug, Default)]
pub struct Html {
    out: String,
}

/// Attributes of an element: (name, value); values are escaped.
pub type Attrs<'a> = &'a [(&'static str, &'a str)];

impl Html {
    pub fn new() -> Html {
        Html { out: String::with_capacity(1 << 16) }
    }

    /// `<!DOCTYPE html>` and a line break.
    pub fn doctype(&mut self) {
        self.out.push_str("<!DOCTYPE html>\n");
    }

    /// Element `tag` with `attrs`, its content written by `body`.
    pub fn el(&mut self, tag: &'static str, attrs: Attrs, body: impl FnOnce(&mut Html)) {
        self.open(tag, attrs);
        body(self);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// Element `tag` holding `text`.
    pub fn text_el(&mut self, tag: &'static str, attrs: Attrs, text: &str) {
        self.el(tag, attrs, |h| h.text(text));
    }

    /// An element without content or end tag (`meta`, `br`).
    pub fn void(&mut self, tag: &'static str, attrs: Attrs) {
        self.open(tag, attrs);
    }

    pub fn text(&mut self, text: &str) {
        escape_into(&mut self.out, text);
    }

    pub fn raw(&mut self, markup: PreEscaped) {
        self.out.push_str(markup.0);
    }

    /// A line break in the page's source, to keep it readable; no effect on the page.
    pub fn line(&mut self) {
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn open(&mut self, tag: &'static str, attrs: Attrs) {
        debug_assert!(is_name(tag), "tag `{tag}`");
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            debug_assert!(is_name(name), "attribute `{name}`");
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
    }
}

/// Tag and attribute names are the report's own constants; this keeps a
/// typo from making markup of them.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut h = Html::new();
        h.el("p", &[("class", "a\"><script>")], |h| {
            h.text("<b>Tom & Jerry's</b>");
            h.void("br", &[]);
            h.text_el("code", &[], "x < y");
        });
        h.raw(PreEscaped("<svg></svg>"));
        assert_eq!(
            h.finish(),
            "<p class=\"a&quot;&gt;&lt;script&gt;\">&lt;b&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;<br><code>x &lt; y</code></p><svg></svg>"
        );
        assert_eq!(escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}
