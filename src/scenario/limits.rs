//! Limits on the YAML the program reads (scenario files, variant bases, stress
//! overlays, `--set` values), checked before the YAML parser sees the text.
//!
//! The parser (libyaml, through serde_yaml_ng) is slow on deep flow nesting:
//! each token costs time in proportion to the number of open `[` and `{`, so
//! a file of 100,000 nested brackets takes tens of seconds before the
//! deserializer's own recursion limit refuses it. Aliases are expanded by
//! the deserializer, each time they are used, so a small file can stand for
//! billions of values. [`check`] scans the text once, following the parser's
//! own rules for where tokens, quoted scalars, block scalars and comments
//! begin and end (so that brackets inside a string or a comment do not count,
//! and nothing in the text can hide a bracket from the scan), and refuses:
//!
//! - nesting deeper than [`MAX_DEPTH`] levels: each open `[` or `{`, each
//!   indented block (map or list), and each `key: value` pair written inside
//!   a `[...]` list counts one level;
//! - more than [`MAX_VALUES`] values (scalars, lists, maps, aliases);
//! - aliases (`*name`) that, expanded, stand for more than [`MAX_VALUES`]
//!   values in all (counted by walking the parsed events, without building
//!   them, only when the text holds an alias).
//!
//! The size of a file is checked before it is read ([`MAX_SCENARIO_BYTES`],
//! and [`MAX_TAPE_BYTES`] for loan tapes, which are CSV).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};

use crate::limits::grouped;

/// Deepest nesting accepted in a YAML text (the deserializer itself stops
/// at 128).
pub const MAX_DEPTH: usize = 64;
/// Most values (scalars, lists, maps; aliases counted as what they stand
/// for) in one YAML text. The largest shipped scenario (the province) has
/// under 2,000; a text at the limit is parsed, and refused if it is wrong,
/// in a few tenths of a second.
pub const MAX_VALUES: usize = 100_000;
/// Largest scenario file (also a variant's base and a stress overlay). The
/// largest shipped scenario is under 40 KiB; a file at the limit is parsed
/// in about 0.2 s.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;
/// Largest loan tape (CSV).
pub const MAX_TAPE_BYTES: u64 = 1 << 30;

/// Why a text was refused, and the 1-based line where the limit was passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: Option<usize>,
    pub message: String,
}

/// What the scan found in a text that passed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Deepest nesting, counted as [`MAX_DEPTH`] counts it.
    pub depth: usize,
    /// Values written in the text (an alias counts one).
    pub values: usize,
    /// Lists and maps written in the text.
    pub collections: usize,
    /// Aliases (`*name`).
    pub aliases: usize,
    /// Whether the text holds anything but blanks, comments, directives and
    /// document markers.
    pub content: bool,
}

/// Checks a YAML text against the limits; see the module's documentation.
pub fn check(text: &str) -> Result<Shape, Refusal> {
    let shape = scan(text, MAX_DEPTH, MAX_VALUES)?;
    if shape.aliases > 0 {
        expanded_values(text, MAX_VALUES)?;
    }
    Ok(shape)
}

/// A size in bytes for messages: `4 MiB`, `1 GiB`, `20.3 MiB`.
pub fn show_bytes(n: u64) -> String {
    let (unit, name) = if n >= 1 << 30 { (1u64 << 30, "GiB") } else { (1u64 << 20, "MiB") };
    if n % unit == 0 { format!("{} {name}", n / unit) } else { format!("{:.1} {name}", n as f64 / unit as f64) }
}

/// Walks the parsed text without building it, counting values as the
/// deserializer meets them (each alias as the values it stands for), and
/// refuses the text once there are more than `limit`. The parser's own
/// errors are left to the parse that follows.
fn expanded_values(text: &str, limit: usize) -> Result<(), Refusal> {
    let left = Cell::new(limit);
    let over = Cell::new(false);
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let result = Count { left: &left, over: &over }.deserialize(de);
    // serde_yaml_ng stops aliases of aliases itself, after a number of
    // jumps in proportion to the text: the same excess.
    let repeated = result.is_err_and(|e| e.to_string().starts_with("repetition limit exceeded"));
    if over.get() || repeated {
        return Err(Refusal {
            line: None,
            message: format!(
                "its aliases (`*name`) expand to more than {} values; a YAML text may hold at most {} values, \
                 an alias counting as the values it stands for",
                grouped(limit as u64),
                grouped(limit as u64)
            ),
        });
    }
    Ok(())
}

/// Counts the values a deserializer produces, failing past the budget.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Count<'_> {
    fn tick<E: de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(n) => {
                self.left.set(n);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("too many values"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.tick()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.tick()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.tick()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.tick()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.tick()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.tick()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.tick()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.tick()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        self.tick()?;
        while a.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        self.tick()?;
        while a.next_key_seed(self)?.is_some() {
            a.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, a: A) -> Result<(), A::Error> {
        // A tagged value (`!Tag value`): the tag, then what it tags.
        let ((), v) = a.variant_seed(self)?;
        de::VariantAccess::newtype_variant_seed(v, self)
    }
}

/// The one-pass scan behind [`check`], with its limits as arguments.
///
/// It follows libyaml's scanner (the parser serde_yaml_ng uses): where a
/// token may start, which character starts which token, and where plain,
/// quoted and block scalars and comments end, which for plain and block
/// scalars depends on the indentation of the enclosing block, itself
/// tracked as libyaml tracks it (a `key:` opens a map at the key's column,
/// when the key is on the same line within 1,024 bytes). Where the text is
/// not valid YAML the scan goes on regardless: the parser stops at the
/// first error, so what follows it can only make the scan refuse too much,
/// never let through what the parser would be slow on.
pub fn scan(text: &str, max_depth: usize, max_values: usize) -> Result<Shape, Refusal> {
    let mut s = Scanner::new(text.as_bytes(), max_depth, max_values);
    s.run()?;
    Ok(s.shape)
}

/// A position: byte offset, 0-based line, column in characters.
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    line: usize,
    col: usize,
}

/// One open block (indented map or list).
#[derive(Clone, Copy)]
struct Block {
    /// The indent of the block around it.
    outer: isize,
    seq: bool,
    /// A map that also holds a list written at its own column (`key:` then
    /// `- item` under it, at the key's column).
    indentless: bool,
}

/// One open `[` or `{`.
#[derive(Clone, Copy)]
struct Flow {
    seq: bool,
    /// A `key: value` pair inside a `[...]` list opened a map of its own.
    pair: bool,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
    /// libyaml's `indent`: the column of the innermost block, -1 at the top.
    indent: isize,
    /// The open blocks, innermost last.
    indents: Vec<Block>,
    indentless: usize,
    flows: Vec<Flow>,
    pairs: usize,
    /// libyaml's `simple_key_allowed`.
    allowed: bool,
    /// Where a possible `key:` began, at block level.
    key: Option<Mark>,
    max_depth: usize,
    max_values: usize,
    shape: Shape,
}

fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_uri(c: u8, verbatim: bool) -> bool {
    is_alpha(c) || b";/?:@&=+$.%!~*'()".contains(&c) || verbatim && b",[]".contains(&c)
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8], max_depth: usize, max_values: usize) -> Self {
        Scanner {
            b,
            pos: 0,
            line: 0,
            col: 0,
            indent: -1,
            indents: Vec::new(),
            indentless: 0,
            flows: Vec::new(),
            pairs: 0,
            allowed: true,
            key: None,
            max_depth,
            max_values,
            shape: Shape::default(),
        }
    }

    /// The byte `i` ahead, 0 past the end (libyaml reads NUL as the end).
    fn at(&self, i: usize) -> u8 {
        self.b.get(self.pos + i).copied().unwrap_or(0)
    }
    fn is_z(&self) -> bool {
        self.at(0) == 0
    }
    fn is_break_at(&self, i: usize) -> bool {
        match self.at(i) {
            b'\r' | b'\n' => true,
            0xC2 => self.at(i + 1) == 0x85,
            0xE2 => self.at(i + 1) == 0x80 && matches!(self.at(i + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }
    fn is_break(&self) -> bool {
        self.is_break_at(0)
    }
    fn is_blank_at(&self, i: usize) -> bool {
        matches!(self.at(i), b' ' | b'\t')
    }
    fn is_blank(&self) -> bool {
        self.is_blank_at(0)
    }
    fn is_blankz_at(&self, i: usize) -> bool {
        self.is_blank_at(i) || self.is_break_at(i) || self.at(i) == 0
    }
    fn is_breakz(&self) -> bool {
        self.is_break() || self.is_z()
    }
    fn mark(&self) -> Mark {
        Mark { pos: self.pos, line: self.line, col: self.col }
    }

    /// Moves one character on (a column, however many bytes).
    fn skip(&mut self) {
        let w = match self.at(0) {
            0 => return,
            c if c < 0x80 => 1,
            c if c >= 0xF0 => 4,
            c if c >= 0xE0 => 3,
            _ => 2,
        };
        self.pos = (self.pos + w).min(self.b.len());
        self.col += 1;
    }
    /// Moves past a line break.
    fn skip_line(&mut self) {
        let w = match self.at(0) {
            b'\r' if self.at(1) == b'\n' => 2,
            b'\r' | b'\n' => 1,
            0xC2 => 2,
            _ => 3,
        };
        self.pos += w;
        self.line += 1;
        self.col = 0;
    }
    fn skip_to_break(&mut self) {
        while !self.is_breakz() {
            self.skip();
        }
    }

    fn depth(&self) -> usize {
        self.indents.len() + self.indentless + self.flows.len() + self.pairs
    }
    fn deeper(&mut self, at: usize) -> Result<(), Refusal> {
        let d = self.depth();
        if d > self.shape.depth {
            self.shape.depth = d;
        }
        if d > self.max_depth {
            return Err(Refusal {
                line: Some(at + 1),
                message: format!(
                    "nested deeper than {} levels (each open `[` or `{{` and each indented block counts one); \
                     a YAML text may nest at most {} levels",
                    self.max_depth, self.max_depth
                ),
            });
        }
        Ok(())
    }
    fn value(&mut self, at: usize) -> Result<(), Refusal> {
        self.shape.values += 1;
        self.shape.content = true;
        if self.shape.values > self.max_values {
            return Err(Refusal {
                line: Some(at + 1),
                message: format!(
                    "more than {} values (scalars, lists and maps); a YAML text may hold at most {}",
                    grouped(self.max_values as u64),
                    grouped(self.max_values as u64)
                ),
            });
        }
        Ok(())
    }
    fn collection(&mut self, at: usize) -> Result<(), Refusal> {
        self.shape.collections += 1;
        self.value(at)?;
        self.deeper(at)
    }

    fn save_key(&mut self) {
        if self.allowed && self.flows.is_empty() {
            self.key = Some(self.mark());
        }
    }
    fn remove_key(&mut self) {
        if self.flows.is_empty() {
            self.key = None;
        }
    }
    /// Opens a block at `column` if it is deeper than the current one;
    /// returns whether it did.
    fn roll(&mut self, column: usize, seq: bool, line: usize) -> Result<bool, Refusal> {
        if !self.flows.is_empty() || self.indent >= column as isize {
            return Ok(false);
        }
        self.indents.push(Block { outer: self.indent, seq, indentless: false });
        self.indent = column as isize;
        self.collection(line)?;
        Ok(true)
    }
    fn unroll(&mut self, column: isize) {
        if !self.flows.is_empty() {
            return;
        }
        while self.indent > column {
            let Some(b) = self.indents.pop() else { break };
            self.indent = b.outer;
            self.indentless -= usize::from(b.indentless);
        }
    }

    fn run(&mut self) -> Result<(), Refusal> {
        loop {
            self.skip_to_token();
            self.unroll(self.col as isize);
            if self.is_z() {
                return Ok(());
            }
            let line = self.line;
            let c = self.at(0);
            if self.col == 0 && c == b'%' {
                // A directive runs to the end of its line.
                self.unroll(-1);
                self.remove_key();
                self.allowed = false;
                self.skip_to_break();
                continue;
            }
            if self.col == 0
                && (c == b'-' && self.at(1) == b'-' && self.at(2) == b'-'
                    || c == b'.' && self.at(1) == b'.' && self.at(2) == b'.')
                && self.is_blankz_at(3)
            {
                self.unroll(-1);
                self.remove_key();
                self.allowed = false;
                self.skip();
                self.skip();
                self.skip();
                continue;
            }
            match c {
                b'[' | b'{' => {
                    self.save_key();
                    self.flows.push(Flow { seq: c == b'[', pair: false });
                    self.allowed = true;
                    self.skip();
                    self.collection(line)?;
                }
                b']' | b'}' => {
                    self.remove_key();
                    if let Some(f) = self.flows.pop() {
                        self.pairs -= usize::from(f.pair);
                    }
                    self.allowed = false;
                    self.skip();
                }
                b',' => {
                    self.remove_key();
                    if let Some(f) = self.flows.last_mut()
                        && f.pair
                    {
                        f.pair = false;
                        self.pairs -= 1;
                    }
                    self.allowed = true;
                    self.skip();
                }
                b'-' if self.is_blankz_at(1) => {
                    if self.flows.is_empty() && !self.roll(self.col, true, line)? {
                        // A list at the column of the map holding it.
                        if self.indents.last().is_some_and(|b| !b.seq && !b.indentless) {
                            self.set_top_indentless(true);
                            self.shape.collections += 1;
                            self.value(line)?;
                            self.deeper(line)?;
                        }
                    }
                    self.remove_key();
                    self.allowed = true;
                    self.skip();
                }
                b'?' if !self.flows.is_empty() || self.is_blankz_at(1) => {
                    if self.flows.is_empty() {
                        self.roll(self.col, false, line)?;
                        self.set_top_indentless(false);
                    } else {
                        self.flow_pair(line)?;
                    }
                    self.remove_key();
                    self.allowed = self.flows.is_empty();
                    self.skip();
                }
                b':' if !self.flows.is_empty() || self.is_blankz_at(1) => {
                    if self.flows.is_empty() {
                        let key = self.key.take().filter(|k| k.line == self.line && k.pos + 1024 >= self.pos);
                        match key {
                            Some(k) => {
                                self.roll(k.col, false, k.line)?;
                                self.allowed = false;
                            }
                            None => {
                                self.roll(self.col, false, line)?;
                                self.allowed = true;
                            }
                        }
                        // The map's next key ends a list at its column.
                        self.set_top_indentless(false);
                    } else {
                        self.flow_pair(line)?;
                        self.allowed = false;
                    }
                    self.skip();
                }
                b'*' | b'&' => {
                    self.save_key();
                    self.allowed = false;
                    self.skip();
                    while is_alpha(self.at(0)) {
                        self.skip();
                    }
                    if c == b'*' {
                        self.shape.aliases += 1;
                        self.value(line)?;
                    }
                }
                b'!' => {
                    self.save_key();
                    self.allowed = false;
                    let verbatim = self.at(1) == b'<';
                    self.skip();
                    if verbatim {
                        self.skip();
                    }
                    while is_uri(self.at(0), verbatim) {
                        self.skip();
                    }
                    if verbatim && self.at(0) == b'>' {
                        self.skip();
                    }
                }
                b'|' | b'>' if self.flows.is_empty() => {
                    self.remove_key();
                    self.allowed = true;
                    self.block_scalar();
                    self.value(line)?;
                }
                b'\'' | b'"' => {
                    self.save_key();
                    self.allowed = false;
                    self.quoted(c == b'\'');
                    self.value(line)?;
                }
                _ if self.starts_plain() => {
                    self.save_key();
                    self.allowed = false;
                    self.plain();
                    self.value(line)?;
                }
                _ => {
                    // Not a token: the parser stops here; go on regardless.
                    self.skip();
                }
            }
        }
    }

    fn set_top_indentless(&mut self, on: bool) {
        if let Some(top) = self.indents.last_mut()
            && top.indentless != on
        {
            top.indentless = on;
            if on {
                self.indentless += 1;
            } else {
                self.indentless -= 1;
            }
        }
    }

    /// A `key: value` (or `? key`) entry inside a `[...]` list is a map.
    fn flow_pair(&mut self, line: usize) -> Result<(), Refusal> {
        if let Some(f) = self.flows.last_mut()
            && f.seq
            && !f.pair
        {
            f.pair = true;
            self.pairs += 1;
            self.shape.collections += 1;
            self.value(line)?;
            self.deeper(line)?;
        }
        Ok(())
    }

    /// libyaml's `scan_skip_to_token`: blanks, comments, line breaks.
    fn skip_to_token(&mut self) {
        loop {
            if self.col == 0 && self.at(0) == 0xEF && self.at(1) == 0xBB && self.at(2) == 0xBF {
                self.skip();
            }
            while self.at(0) == b' ' || (!self.flows.is_empty() || !self.allowed) && self.at(0) == b'\t' {
                self.skip();
            }
            if self.at(0) == b'#' {
                self.skip_to_break();
            }
            if !self.is_break() {
                return;
            }
            self.skip_line();
            if self.flows.is_empty() {
                self.allowed = true;
            }
        }
    }

    /// Whether the character here starts a plain scalar.
    fn starts_plain(&self) -> bool {
        let c = self.at(0);
        let indicator = self.is_blankz_at(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || c == b'-' && !self.is_blank_at(1)
            || self.flows.is_empty() && (c == b'?' || c == b':') && !self.is_blankz_at(1)
    }

    /// libyaml's `scan_plain_scalar`.
    fn plain(&mut self) {
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        let flow = !self.flows.is_empty();
        loop {
            let c = self.at(0);
            if self.col == 0
                && (c == b'-' && self.at(1) == b'-' && self.at(2) == b'-'
                    || c == b'.' && self.at(1) == b'.' && self.at(2) == b'.')
                && self.is_blankz_at(3)
            {
                break;
            }
            if c == b'#' {
                break;
            }
            while !self.is_blankz_at(0) {
                let c = self.at(0);
                if c == b':' && self.is_blankz_at(1) || flow && b",[]{}".contains(&c) {
                    break;
                }
                // (In a flow, `:` before `,?[]{}` is an error; the parser stops.)
                leading_blanks = false;
                self.skip();
            }
            if !(self.is_blank() || self.is_break()) {
                break;
            }
            while self.is_blank() || self.is_break() {
                if self.is_blank() {
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if !flow && (self.col as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.allowed = true;
        }
    }

    /// libyaml's `scan_flow_scalar`, from the opening quote.
    fn quoted(&mut self, single: bool) {
        let quote = if single { b'\'' } else { b'"' };
        self.skip();
        loop {
            if self.is_z() {
                return;
            }
            while !self.is_blankz_at(0) {
                let c = self.at(0);
                if single && c == b'\'' && self.at(1) == b'\'' {
                    self.skip();
                    self.skip();
                } else if c == quote {
                    break;
                } else if !single && c == b'\\' && self.is_break_at(1) {
                    self.skip();
                    self.skip_line();
                    break;
                } else if !single && c == b'\\' {
                    self.skip();
                    self.skip();
                } else {
                    self.skip();
                }
            }
            if self.at(0) == quote {
                self.skip();
                return;
            }
            while self.is_blank() || self.is_break() {
                if self.is_blank() {
                    self.skip();
                } else {
                    self.skip_line();
                }
            }
        }
    }

    /// libyaml's `scan_block_scalar`, from the `|` or `>`.
    fn block_scalar(&mut self) {
        self.skip();
        let mut increment: isize = 0;
        let digit = |c: u8| c.is_ascii_digit();
        if matches!(self.at(0), b'+' | b'-') {
            self.skip();
            if digit(self.at(0)) {
                increment = (self.at(0) - b'0') as isize;
                self.skip();
            }
        } else if digit(self.at(0)) {
            increment = (self.at(0) - b'0') as isize;
            self.skip();
            if matches!(self.at(0), b'+' | b'-') {
                self.skip();
            }
        }
        while self.is_blank() {
            self.skip();
        }
        if self.at(0) == b'#' {
            self.skip_to_break();
        }
        if !self.is_breakz() {
            // An error in the header: the parser stops.
            return;
        }
        if self.is_break() {
            self.skip_line();
        }
        let mut indent: isize = 0;
        if increment != 0 {
            indent = if self.indent >= 0 { self.indent + increment } else { increment };
        }
        if !self.block_breaks(&mut indent) {
            return;
        }
        while self.col as isize == indent && !self.is_z() {
            self.skip_to_break();
            if self.is_z() {
                break;
            }
            self.skip_line();
            if !self.block_breaks(&mut indent) {
                return;
            }
        }
    }

    /// libyaml's `scan_block_scalar_breaks`: the indentation and the empty
    /// lines before a block scalar's next line; false where the parser stops
    /// on a tab.
    fn block_breaks(&mut self, indent: &mut isize) -> bool {
        let mut max_indent: isize = 0;
        loop {
            while (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b' ' {
                self.skip();
            }
            if self.col as isize > max_indent {
                max_indent = self.col as isize;
            }
            if (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b'\t' {
                return false;
            }
            if !self.is_break() {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_yaml_ng::Value;

    fn depth_of(text: &str) -> usize {
        scan(text, usize::MAX, usize::MAX).unwrap().depth
    }

    fn refused(text: &str) -> Refusal {
        check(text).expect_err("refused")
    }

    #[test]
    fn deep_flow_nesting_is_refused_at_its_line() {
        let text = format!("name: x\nbanks: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let r = refused(&text);
        assert_eq!(r.line, Some(2));
        assert!(r.message.contains("deeper than 64 levels"), "{}", r.message);
        // One bracket a line: the line where the 65th level opens.
        let text = format!("name: x\nbanks:\n{}", "[\n".repeat(1000));
        assert_eq!(refused(&text).line, Some(3 + 64 - 1));
        // Maps too, and the limit itself passes.
        assert!(check(&format!("a: {}{}", "{b: ".repeat(70), "}".repeat(70))).is_err());
        let at_limit = format!("a: {}{}", "[".repeat(63), "]".repeat(63));
        assert_eq!(check(&at_limit).unwrap().depth, 64);
    }

    #[test]
    fn deep_block_nesting_is_refused_at_its_line() {
        let mut text = String::from("name:\n");
        for i in 0..100 {
            text.push_str(&format!("{}k{i}:\n", " ".repeat(2 * i + 2)));
        }
        // `name` opens the top map, `k0` (line 2) the second ... `k63` the 65th.
        assert_eq!(refused(&text).line, Some(65));
        // Lists in lists on one line.
        let text = format!("banks:\n{}x\n", "- ".repeat(100_000));
        assert_eq!(refused(&text).line, Some(2));
        // Lists at their map's column count too.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("{}k{i}:\n{}- \n", " ".repeat(2 * i), " ".repeat(2 * i)));
        }
        assert!(depth_of(&text) >= 64, "{}", depth_of(&text));
        // Pairs in flow lists: `[a: [b: ...]]` is a list of maps of lists.
        assert_eq!(depth_of(&format!("{}x{}", "[a: ".repeat(10), "]".repeat(10))), 20);
    }

    #[test]
    fn a_long_shallow_text_passes() {
        let mut text = String::from("name: x\nbanks:\n");
        for i in 0..10_000 {
            text.push_str(&format!("  - {{id: b{i}, share: [0.5, 0.5]}} # [[[[ not nesting\n"));
        }
        let shape = check(&text).unwrap();
        assert_eq!(shape.depth, 4);
        assert_eq!(shape.collections, 1 + 1 + 2 * 10_000);
        assert!(check(crate::scenario::WANGCANG_YAML).is_ok());
    }

    #[test]
    fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
        let deep = "[".repeat(200);
        let texts = [
            format!("a: \"{deep}\"\n"),
            format!("a: '{deep} '' {deep}'\n"),
            format!("a: x {deep}\n"),
            format!("# {deep}\na: 1 # {deep}\n"),
            format!("a: |\n  {deep}\n  # {deep}\nb: >-\n   x\n   {deep}\n"),
            format!("a: \"x\n  {deep} \\\" {deep}\"\n"),
            format!("a: x\n  {deep}\n"),
            format!("a: [\"{deep}\", '{deep}', b # {deep}\n  ]\n"),
            format!("a: !<t{deep}> x\n"),
        ];
        for t in &texts {
            assert!(serde_yaml_ng::from_str::<Value>(t).is_ok(), "{t:?}");
            let shape = check(t).unwrap_or_else(|r| panic!("{t:?}: {r:?}"));
            assert!(shape.depth <= 2, "{t:?}: {}", shape.depth);
        }
    }

    #[test]
    fn nothing_hides_brackets_from_the_scan() {
        // Each of these holds a quote or `#` the parser does not read as the
        // start of a string or a comment, then deep brackets it does read.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let texts = [
            format!("a: x 'y\nb: {deep}\n"),
            format!("a: x\n  'y\nb: {deep}\n"),
            format!("a: don't\nb: \"c\"\nd: {deep}\n"),
            format!("a: [\"x #\", {deep}]\n"),
            format!("a: b#c\nd: {deep} # '\n"),
            format!("a: !<x,'y> {deep}\n"),
            format!("a:\n  b: |\n   x\n  c: {deep}\n"),
            format!("a: 'x''\n{deep}'\nb: {deep}\n"),
            format!("a: x\u{85}b: {deep}\n"),
            format!("a: 1 # x\u{2028}b: {deep}\n"),
        ];
        for t in &texts {
            // The parser does build the brackets.
            let v = serde_yaml_ng::from_str::<Value>(t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            assert!(depth(&v) > 100, "{t:?}");
            let r = check(t).expect_err(t);
            assert!(r.message.contains("deeper"), "{t:?}: {}", r.message);
        }
    }

    #[test]
    fn too_many_values_are_refused() {
        let text = format!("a: [{}]\n", "0,".repeat(MAX_VALUES));
        let r = refused(&text);
        assert_eq!(r.line, Some(1));
        assert!(r.message.contains("100,000 values"), "{}", r.message);
    }

    #[test]
    fn aliases_expanding_past_the_limit_are_refused() {
        // An anchor of 1,000 values used 1,000 times: a million values.
        let text = format!("big: &b [{}]\nuse: [{}]\n", "1,".repeat(1000), "*b,".repeat(1000));
        let r = refused(&text);
        assert!(r.message.contains("aliases"), "{}", r.message);
        // Billion laughs: nine levels of ten aliases each.
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
        }
        assert!(refused(&text).message.contains("aliases"));
        // A few aliases are fine.
        let shape = check("base: &b {x: 1, y: [2, 3]}\nother: *b\nthird: *b\n").unwrap();
        assert_eq!(shape.aliases, 2);
    }

    #[test]
    fn empty_texts_have_no_content() {
        for t in ["", "  \n\n", "# only a comment\n\n  # another\n", "---\n", "%YAML 1.2\n---\n...\n", "\u{feff}"] {
            assert!(!check(t).unwrap().content, "{t:?}");
        }
        for t in ["a", "~", "[]", "'x'", "- 1"] {
            assert!(check(t).unwrap().content, "{t:?}");
        }
    }

    #[test]
    fn sizes_read_as_units() {
        assert_eq!(show_bytes(MAX_SCENARIO_BYTES), "4 MiB");
        assert_eq!(show_bytes(MAX_TAPE_BYTES), "1 GiB");
        assert_eq!(show_bytes(20 << 20 | 1 << 19), "20.5 MiB");
    }

    fn depth(v: &Value) -> usize {
        match v {
            Value::Sequence(s) => 1 + s.iter().map(depth).max().unwrap_or(0),
            Value::Mapping(m) => 1 + m.iter().map(|(k, v)| depth(k).max(depth(v))).max().unwrap_or(0),
            Value::Tagged(t) => depth(&t.value),
            _ => 0,
        }
    }

    /// Lists and maps in a parsed value, keys included.
    fn collections(v: &Value) -> usize {
        match v {
            Value::Sequence(s) => 1 + s.iter().map(collections).sum::<usize>(),
            Value::Mapping(m) => 1 + m.iter().map(|(k, v)| collections(k) + collections(v)).sum::<usize>(),
            Value::Tagged(t) => collections(&t.value),
            _ => 0,
        }
    }

    const PIECES: &[&str] = &[
        "[", "]", "{", "}", ", ", ",", ": ", ":", "- ", "-", "? ", "?", "#", " #", "'", "\"", "\\", "|", ">", "|-",
        ">2", "\n", "\n", "\n", " ", "  ", "    ", "a", "b", "k: ", "x'y", "!t ", "!<a,'b> ", "&z ", "--- ", "...",
        "\t", "%", "\r\n", "''", "é", "\u{85}", "\u{2028}", "\u{feff}", "[a: b]", "{a: [b]}", "- - ", "'[['", "\"]]\"",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]
        /// Wherever serde_yaml_ng parses a text, the scan saw the lists and
        /// maps it built: none hidden in what the scan took for a string or
        /// a comment, none made up.
        #[test]
        fn the_scan_sees_the_collections_the_parser_builds(
            parts in prop::collection::vec(prop::sample::select(PIECES), 0..24)
        ) {
            let text: String = parts.concat();
            if let Ok(v) = serde_yaml_ng::from_str::<Value>(&text) {
                let shape = scan(&text, usize::MAX, usize::MAX).unwrap();
                prop_assert_eq!(shape.collections, collections(&v), "{:?}", text);
            }
        }
    }

    /// Renders random valid YAML: block and flow maps and lists, lists at
    /// their map's column, pairs in flow lists, and scalars that hold
    /// brackets, quotes and `#` (plain, quoted, over several lines, block
    /// scalars), with comments between.
    struct Gen(u64, usize);

    impl Gen {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.next(xs.len())]
        }
        fn key(&mut self) -> String {
            let k = self.pick(&["k#", "x'y#", "\"k [ # #\"", "'k[#'", "é#", "-k#", "a#b#", "&a k#", "!t k#"]);
            self.1 += 1;
            k.replace('#', &self.1.to_string())
        }
        fn comment(&mut self, ind: &str, out: &mut String) {
            if self.next(4) == 0 {
                let c = self.pick(&["# [[ {", "#'", "# \"", "#- [", ""]);
                out.push_str(&format!("{ind}{c}\n"));
            }
        }
        /// A scalar as a block value after `key:` or `- ` at column `col`.
        fn block_scalar(&mut self, col: usize) -> String {
            let more = " ".repeat(col + 2);
            match self.next(9) {
                0 => format!("|\n{more}[[ 'x {{\n{more}# ]] \"\n"),
                1 => format!(">-\n{more}'a [[\n\n{more} b\n"),
                2 => format!("|2\n{more}[[\n"),
                3 => format!("x\n{more}'y [[ \"\n"),
                4 => format!("\"a [[\n{more}b # ]]\"\n"),
                5 => format!("'c [[\n{more}'' d'\n"),
                _ => format!(
                    "{}\n",
                    self.pick(&[
                        "x",
                        "x'y",
                        "\"a [[ # b\"",
                        "'c ]] '' d'",
                        "x [y {",
                        "a#b",
                        "'# [['",
                        "-x",
                        ":x",
                        "?x",
                        "\"\\\"[\"",
                        "!t v",
                        ""
                    ])
                ),
            }
        }
        fn flow_scalar(&mut self) -> String {
            self.pick(&["x", "x'y", "\"a, [b] # c\"", "'d, ]] '' e'", "a#b", "-x", "\"\\\"[\"", "!t v"]).to_string()
        }
        fn flow(&mut self, depth: usize) -> String {
            if depth == 0 || self.next(3) == 0 {
                return self.flow_scalar();
            }
            let n = self.next(4);
            let items: Vec<String> = (0..n)
                .map(|_| match self.next(4) {
                    0 => format!("{}: {}", self.flow_scalar(), self.flow(depth - 1)),
                    _ => self.flow(depth - 1),
                })
                .collect();
            if self.next(2) == 0 {
                format!("[{}]", items.join(self.pick(&[", ", ",\n ", " , "])))
            } else {
                let items: Vec<String> = (0..n).map(|_| format!("{}: {}", self.key(), self.flow(depth - 1))).collect();
                format!("{{{}}}", items.join(", "))
            }
        }
        /// A block map or list at column `col`, each entry on its own line.
        fn block(&mut self, col: usize, depth: usize, seq: bool, out: &mut String) {
            let ind = " ".repeat(col);
            let n = 1 + self.next(3);
            for _ in 0..n {
                self.comment(&ind, out);
                let head = if seq { format!("{ind}- ") } else { format!("{ind}{}:", self.key()) };
                out.push_str(&head);
                let sep = if seq { "" } else { " " };
                match if depth == 0 { 0 } else { self.next(4) } {
                    0 => out.push_str(&format!("{sep}{}", self.block_scalar(col))),
                    1 => out.push_str(&format!("{sep}{}\n", self.flow(2))),
                    2 if !seq && self.next(2) == 0 => {
                        // A list at the key's column.
                        out.push('\n');
                        for _ in 0..1 + self.next(2) {
                            out.push_str(&format!("{ind}- {}", self.block_scalar(col)));
                        }
                    }
                    _ => {
                        out.push('\n');
                        let seq = self.next(2) == 0;
                        self.block(col + 2, depth - 1, seq, out);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]
        /// As above, on valid documents, whole and with one piece inserted.
        #[test]
        fn the_scan_sees_the_collections_of_valid_documents(seed: u64, piece in prop::sample::select(PIECES), at: usize) {
            let mut g = Gen(seed, 0);
            let mut text = String::from("&a anchor: v\n");
            g.block(0, 4, false, &mut text);
            let v = serde_yaml_ng::from_str::<Value>(&text);
            prop_assert!(v.is_ok(), "{:?}\n{}", v, text);
            let shape = scan(&text, usize::MAX, usize::MAX).unwrap();
            prop_assert_eq!(shape.collections, collections(&v.unwrap()), "{}", text);
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, piece);
            if let Ok(v) = serde_yaml_ng::from_str::<Value>(&text) {
                let shape = scan(&text, usize::MAX, usize::MAX).unwrap();
                prop_assert_eq!(shape.collections, collections(&v), "{:?}", text);
            }
        }
    }
}
