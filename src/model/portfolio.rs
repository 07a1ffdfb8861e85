//! The loan book: loans read from a tape (CSV, one loan a row, as a bank
//! would export it) or generated from the scenario's cohorts,
//! deterministically from the portfolio seed. Both give [`LoanRecord`]s with
//! names still as strings; [`crate::model`] turns them into dense arrays.

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rayon::prelude::*;

use crate::model::loan_id::CohortRanks;
pub use crate::model::loan_id::LoanId;
use crate::model::names::{Ids, NameMap, NameSet};
use crate::money::{Fen, Yuan, to_ppm};
use crate::rng::{self, TrialRng};
use crate::scenario::schema::*;
use crate::scenario::validate::Problems;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CollateralKind {
    #[default]
    None,
    LivestockPledge,
    ForestMortgage,
}

/// A name a loan refers to (its bank, village, product, industry, grade).
/// Shared, not owned: a cohort's 40,000 loans name the same few, and copying
/// and freeing five strings per loan was a fifth of a province's build.
/// `Arc` rather than `Rc` so that cohorts are generated in parallel.
pub type Name = std::sync::Arc<str>;

/// One loan as a tape row or cohort draw describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoanRecord {
    pub id: LoanId,
    pub bank: Name,
    pub village: Name,
    pub product: Name,
    pub borrower: BorrowerKind,
    pub industry: Name,
    pub grade: Name,
    pub principal: Fen,
    /// Annual interest rate, parts per million.
    pub rate_ppm: u32,
    pub term_years: u32,
    pub amortisation: Amortisation,
    pub subsidy_ppm: u32,
    pub collateral: CollateralKind,
    pub herd_size: u32,
    /// Market value of the collateral at origination.
    pub collateral_value: Fen,
    pub agricultural_insured: bool,
    /// Sum insured by agricultural insurance; `None` means coverage x principal.
    pub sum_insured: Option<Fen>,
    pub credit_insured: bool,
    pub accident_insured: bool,
    /// Overrides `funds.compensation.covers` for this loan.
    pub comp_covered: Option<bool>,
    /// Joint-guarantee group: loans naming the same group guarantee each other.
    pub guarantee_group: Option<Name>,
    /// Ids of the households linked to this firm's or cooperative's loan.
    pub linked: Box<[LoanId]>,
    /// Where the loan came from, for error messages.
    pub origin: LoanOrigin,
}

/// A tape row (file and line) or a cohort (its index). A tape's rows share
/// its file's name.
#[derive(Clone, Debug, PartialEq)]
pub enum LoanOrigin {
    Tape { file: Name, line: Option<usize> },
    Cohort(usize),
}

/// The columns a loan tape may have; the first nine are required.
pub const TAPE_COLUMNS: [&str; 22] = [
    "id",
    "bank",
    "village",
    "product",
    "borrower",
    "industry",
    "grade",
    "principal",
    "term_years",
    "rate",
    "amortisation",
    "subsidy_rate",
    "collateral",
    "herd_size",
    "collateral_value",
    "agricultural_insured",
    "sum_insured",
    "credit_insured",
    "accident_insured",
    "comp_covered",
    "guarantee_group",
    "linked_households",
];
const REQUIRED: usize = 9;

/// A tape column, by its place in [`TAPE_COLUMNS`]: a row's cells are found
/// through an array, not by hashing a name per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Id,
    Bank,
    Village,
    Product,
    Borrower,
    Industry,
    Grade,
    Principal,
    TermYears,
    Rate,
    Amortisation,
    SubsidyRate,
    Collateral,
    HerdSize,
    CollateralValue,
    AgriculturalInsured,
    SumInsured,
    CreditInsured,
    AccidentInsured,
    CompCovered,
    GuaranteeGroup,
    LinkedHouseholds,
}

impl Col {
    fn name(self) -> &'static str {
        TAPE_COLUMNS[self as usize]
    }
    fn required(self) -> bool {
        (self as usize) < REQUIRED
    }
}

/// Where each of [`TAPE_COLUMNS`] is in a tape's rows, if it has it.
type Columns = [Option<usize>; TAPE_COLUMNS.len()];

/// The line a tape record starts on. csv gives the position where reading
/// the record began, before the comment lines (`#`) and empty lines it
/// skipped: those are counted here.
fn record_line(text: &[u8], pos: &csv::Position) -> usize {
    let mut at = pos.byte() as usize;
    let mut line = pos.line() as usize;
    if at == 0 && text.starts_with(b"\xEF\xBB\xBF") {
        at = 3;
    }
    while let Some(&c) = text.get(at) {
        if !matches!(c, b'#' | b'\n' | b'\r') {
            break;
        }
        let rest = &text[at..];
        let end = rest.iter().position(|&c| c == b'\n' || c == b'\r').unwrap_or(rest.len());
        let brk = if rest[end..].starts_with(b"\r\n") { 2 } else { usize::from(end < rest.len()) };
        at += end + brk;
        line += 1;
    }
    line
}

/// Parses a loan tape. `origin` names the file in problems; rows are
/// reported by their line in the file.
pub fn parse_tape(text: &str, origin: &str, p: &mut Problems) -> Vec<LoanRecord> {
    parse_tape_in(text, origin, p, PIECE_BYTES)
}

/// [`parse_tape`], the rows read in pieces of about `piece_bytes`.
fn parse_tape_in(text: &str, origin: &str, p: &mut Problems, piece_bytes: usize) -> Vec<LoanRecord> {
    // Cells are trimmed where they are read: the reader's own trimming of
    // fields builds each record anew, twice (as bytes, then as text).
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::Headers).comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let line = e.position().map_or(1, |pos| record_line(text.as_bytes(), pos));
            p.push_at(origin, Some(line), "header", format!("cannot read the header row: {e}"));
            return Vec::new();
        }
    };
    // The header's own line, after any comment lines before it.
    let header_line = Some(headers.position().map_or(1, |pos| record_line(text.as_bytes(), pos)));
    let Some(col) = tape_columns(&headers, origin, header_line, p) else { return Vec::new() };
    let file = Name::from(origin);
    let rows = rdr.position().byte() as usize;
    let pieces = pieces(text, rows, piece_bytes);
    if pieces.len() > 1 {
        return parse_pieces(text, &pieces, headers.len(), &col, origin, &file, p);
    }
    let mut out = Vec::new();
    // One record read into again and again, and each name kept once: a
    // 300,000-row tape names a handful of banks, products and grades.
    let mut rec = csv::StringRecord::new();
    let mut names = Interned::default();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|pos| record_line(text.as_bytes(), pos));
                p.push_at(origin, line, "", format!("malformed CSV row: {e}"));
                continue;
            }
        }
        let line = rec.position().map(|pos| record_line(text.as_bytes(), pos));
        let mut row = RowReader { rec: &rec, col: &col, origin, file: &file, line, p, ok: true };
        let loan = tape_loan(&mut row, &mut names);
        if row.ok {
            out.push(loan);
        }
    }
    out
}

/// How much of a tape one thread reads at a time when a tape is read in
/// pieces: a 300,000-row tape is some 30 pieces, enough to share between
/// threads, each still thousands of rows.
const PIECE_BYTES: usize = 1 << 20;

/// Where a tape's rows (from byte `rows`) can be cut into pieces of about
/// `size` bytes that read alone as they read together: at line ends that
/// end a record (not inside a quoted cell, which may hold a line break),
/// between two lines that are rows (read whole, a row after comment or
/// empty lines is placed where they begin). A tape too short to share is
/// one piece. Returns the pieces' starts, then the text's end.
fn pieces(text: &str, rows: usize, size: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut cuts = vec![rows];
    // Without a quote every line end ends a record; with one, the reader's
    // states are followed from the first row to each line end considered.
    let mut quotes = bytes[rows..].contains(&b'"').then_some((rows, Scan::RecordStart));
    let is_row = |line: &[u8]| !line.is_empty() && line[0] != b'#' && !line.contains(&b'\r');
    let mut at = rows;
    while bytes.len() - at > size {
        // The first line end after `at + size` that ends a record between two rows.
        let mut nl = at + size;
        let cut = loop {
            let Some(k) = bytes[nl..].iter().position(|&b| b == b'\n') else { break None };
            nl += k;
            if let Some((scanned, state)) = quotes.as_mut() {
                *state = bytes[*scanned..nl].iter().fold(*state, |s, &b| s.next(b));
                *scanned = nl;
                if *state == Scan::Quoted {
                    nl += 1;
                    continue;
                }
            }
            let before = bytes[..nl].strip_suffix(b"\r").unwrap_or(&bytes[..nl]);
            let before = &before[before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)..];
            let after = &bytes[nl + 1..];
            let after = &after[..after.iter().position(|&b| b == b'\n').unwrap_or(after.len())];
            let after = after.strip_suffix(b"\r").unwrap_or(after);
            if is_row(before) && is_row(after) {
                break Some(nl + 1);
            }
            nl += 1;
        };
        let Some(cut) = cut else { break };
        at = cut;
        cuts.push(at);
    }
    if *cuts.last().unwrap() < bytes.len() {
        cuts.push(bytes.len());
    }
    cuts
}

/// Where the CSV reader stands after a byte, as far as finding record ends
/// needs: a quote opens a quoted cell only at a cell's start (elsewhere it
/// is a character of the cell), `""` in a quoted cell is a quote, and `#`
/// at a record's start makes the line a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    RecordStart,
    CellStart,
    Cell,
    Quoted,
    QuoteInQuoted,
    Comment,
}

impl Scan {
    fn next(self, b: u8) -> Scan {
        use Scan::*;
        match (self, b) {
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (Comment, b'\n') => RecordStart,
            (Comment, _) => Comment,
            (_, b'\n' | b'\r') => RecordStart,
            (RecordStart, b'#') => Comment,
            (RecordStart | CellStart, b'"') | (QuoteInQuoted, b'"') => Quoted,
            (_, b',') => CellStart,
            _ => Cell,
        }
    }
}

/// The rows of a tape read in pieces (see [`pieces`]) on the pool's threads:
/// the loans and problems of reading it whole, in its order. A piece is
/// read without the header, so each row's position is moved to the text's
/// (byte, line) and a malformed row's message, which counts the records
/// before it, is written once every piece has counted its own.
fn parse_pieces(
    text: &str,
    cuts: &[usize],
    fields: usize,
    col: &Columns,
    origin: &str,
    file: &Name,
    p: &mut Problems,
) -> Vec<LoanRecord> {
    struct Piece {
        loans: Vec<LoanRecord>,
        problems: Problems,
        /// Each malformed row: its problem's index, its record in the piece,
        /// its position in the text and how many fields it has.
        malformed: Vec<(usize, u64, csv::Position, usize)>,
        records: u64,
    }
    let bytes = text.as_bytes();
    // The line each piece begins on, as the reader counts them (line ends).
    let mut first_lines = vec![1 + bytes[..cuts[0]].iter().filter(|&&b| b == b'\n').count() as u64];
    for w in cuts.windows(2) {
        first_lines.push(
            first_lines[first_lines.len() - 1] + bytes[w[0]..w[1]].iter().filter(|&&b| b == b'\n').count() as u64,
        );
    }
    let read = |k: usize| {
        let (start, end, first_line) = (cuts[k], cuts[k + 1], first_lines[k]);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(&bytes[start..end]);
        let mut piece = Piece { loans: Vec::new(), problems: Problems::new(origin), malformed: Vec::new(), records: 0 };
        let (mut rec, mut names) = (csv::StringRecord::new(), Interned::default());
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                // Not met: a piece is text cut at line ends, and a flexible
                // reader finds no row malformed; reported all the same.
                Err(e) => {
                    piece.problems.push_at(origin, None, "", format!("malformed CSV row: {e}"));
                    continue;
                }
            }
            piece.records += 1;
            let at = rec.position().expect("a record read has a position");
            let mut pos = csv::Position::new();
            pos.set_byte(start as u64 + at.byte()).set_line(first_line + at.line() - 1).set_record(at.record());
            // Read whole, a row after `\r\n` begins at the `\n`: the reader
            // ends a row at its `\r`.
            if at.byte() == 0 && bytes[..start].ends_with(b"\r\n") {
                pos.set_byte(start as u64 - 1).set_line(first_line - 1);
            }
            let line = Some(record_line(bytes, &pos));
            if rec.len() != fields {
                let n = piece.problems.list.len();
                piece.problems.push_at(origin, line, "", String::new());
                piece.malformed.push((n, at.record(), pos, rec.len()));
                continue;
            }
            let mut row = RowReader { rec: &rec, col, origin, file, line, p: &mut piece.problems, ok: true };
            let loan = tape_loan(&mut row, &mut names);
            if row.ok {
                piece.loans.push(loan);
            }
        }
        piece
    };
    let read_pieces: Vec<Piece> = (0..cuts.len() - 1).into_par_iter().map(read).collect();
    let mut out = Vec::with_capacity(read_pieces.iter().map(|x| x.loans.len()).sum());
    // The header is record 0.
    let mut records_before = 1;
    for mut piece in read_pieces {
        for (n, record, pos, len) in piece.malformed {
            piece.problems.list[n].message = format!(
                "malformed CSV row: CSV error: record {} (line: {}, byte: {}): found record with {len} fields, but \
                 the previous record has {fields} fields",
                records_before + record,
                pos.line(),
                pos.byte()
            );
        }
        records_before += piece.records;
        out.append(&mut piece.loans);
        p.list.append(&mut piece.problems.list);
    }
    out
}

/// Each known column's position in the header; `None` (with the problems
/// recorded) when a column is unknown, repeated or a required one missing.
fn tape_columns(
    headers: &csv::StringRecord,
    origin: &str,
    header_line: Option<usize>,
    p: &mut Problems,
) -> Option<Columns> {
    let mut col: Columns = [None; TAPE_COLUMNS.len()];
    let mut bad_header = false;
    for (i, h) in headers.iter().enumerate() {
        match TAPE_COLUMNS.iter().position(|c| *c == h) {
            Some(c) => {
                if col[c].replace(i).is_some() {
                    p.push_at(origin, header_line, h, format!("column `{h}` appears twice"));
                    bad_header = true;
                }
            }
            None => {
                let hint = crate::scenario::nearest(h, &TAPE_COLUMNS)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                p.push_at(
                    origin,
                    header_line,
                    h,
                    format!("unknown column `{h}`{hint} (columns: {})", TAPE_COLUMNS.join(", ")),
                );
                bad_header = true;
            }
        }
    }
    for (c, at) in TAPE_COLUMNS[..REQUIRED].iter().zip(&col) {
        if at.is_none() {
            p.push_at(origin, header_line, c, format!("required column `{c}` is missing"));
            bad_header = true;
        }
    }
    (!bad_header).then_some(col)
}

/// Names shared through a tape, looked up by their text.
type Interned = std::collections::HashSet<Name, foldhash::fast::FixedState>;

/// One tape row as a loan; a cell that does not parse is a problem and
/// clears `row.ok`. Names already met are shared from `names`.
fn tape_loan(row: &mut RowReader, names: &mut Interned) -> LoanRecord {
    let mut name = |row: &mut RowReader, c: Col| -> Name {
        let s = row.text(c);
        match names.get(s) {
            Some(n) => n.clone(),
            None => {
                let n = Name::from(s);
                names.insert(n.clone());
                n
            }
        }
    };
    LoanRecord {
        id: row.text(Col::Id).into(),
        bank: name(row, Col::Bank),
        village: name(row, Col::Village),
        product: name(row, Col::Product),
        borrower: row.parse_with(Col::Borrower, BorrowerKind::Household, |s| match s {
            "household" => Ok(BorrowerKind::Household),
            "cooperative" => Ok(BorrowerKind::Cooperative),
            "enterprise" => Ok(BorrowerKind::Enterprise),
            _ => Err("household, cooperative or enterprise".into()),
        }),
        industry: name(row, Col::Industry),
        grade: name(row, Col::Grade),
        principal: row.yuan(Col::Principal, None),
        rate_ppm: row.fraction(Col::Rate, 0.0),
        term_years: row
            .parse_with(Col::TermYears, 0, |s| s.parse::<u32>().map_err(|_| "a whole number of years".into())),
        amortisation: row.parse_with(Col::Amortisation, Amortisation::Bullet, |s| match s {
            "bullet" => Ok(Amortisation::Bullet),
            "equal_principal" => Ok(Amortisation::EqualPrincipal),
            _ => Err("bullet or equal_principal".into()),
        }),
        subsidy_ppm: row.fraction(Col::SubsidyRate, 0.0),
        collateral: row.parse_with(Col::Collateral, CollateralKind::None, |s| match s {
            "none" | "" => Ok(CollateralKind::None),
            "livestock_pledge" => Ok(CollateralKind::LivestockPledge),
            "forest_mortgage" => Ok(CollateralKind::ForestMortgage),
            _ => Err("none, livestock_pledge or forest_mortgage".into()),
        }),
        herd_size: row.parse_with(Col::HerdSize, 0, |s| s.parse::<u32>().map_err(|_| "a whole number of head".into())),
        collateral_value: row.yuan(Col::CollateralValue, Some(Fen::ZERO)),
        agricultural_insured: row.flag(Col::AgriculturalInsured),
        sum_insured: row.optional_yuan(Col::SumInsured),
        credit_insured: row.flag(Col::CreditInsured),
        accident_insured: row.flag(Col::AccidentInsured),
        comp_covered: row.optional_flag(Col::CompCovered),
        guarantee_group: row.raw(Col::GuaranteeGroup).map(Name::from),
        // Loan ids separated by `;` (a CSV field holds the list).
        linked: row
            .raw(Col::LinkedHouseholds)
            .map(|s| s.split(';').map(str::trim).filter(|x| !x.is_empty()).map(LoanId::from).collect())
            .unwrap_or_default(),
        origin: LoanOrigin::Tape { file: row.file.clone(), line: row.line },
    }
}

struct RowReader<'a> {
    rec: &'a csv::StringRecord,
    col: &'a Columns,
    origin: &'a str,
    /// `origin` again, shared by the rows' records.
    file: &'a Name,
    line: Option<usize>,
    p: &'a mut Problems,
    ok: bool,
}

impl<'a> RowReader<'a> {
    /// The cell, trimmed, borrowed from the record (not from the reader), so
    /// that a problem can be pushed while it is held.
    fn raw(&self, c: Col) -> Option<&'a str> {
        let rec: &'a csv::StringRecord = self.rec;
        self.col[c as usize].and_then(|i| rec.get(i)).map(str::trim).filter(|s| !s.is_empty())
    }
    fn bad(&mut self, c: Col, expected: &str, found: &str) {
        self.ok = false;
        self.p.push_at(self.origin, self.line, c.name(), format!("expected {expected}, found `{found}`"));
    }
    fn text(&mut self, c: Col) -> &'a str {
        match self.raw(c) {
            Some(s) => s,
            None => {
                self.bad(c, "a value", "");
                ""
            }
        }
    }
    fn parse_with<T>(&mut self, c: Col, default: T, f: impl Fn(&str) -> Result<T, String>) -> T {
        let Some(s) = self.raw(c) else {
            if c.required() {
                self.bad(c, "a value", "");
            }
            return default;
        };
        match f(s) {
            Ok(v) => v,
            Err(exp) => {
                self.bad(c, &exp, s);
                default
            }
        }
    }
    fn yuan(&mut self, c: Col, default: Option<Fen>) -> Fen {
        match (self.raw(c), default) {
            (None, Some(d)) => d,
            (None, None) => {
                self.bad(c, "an amount in yuan", "");
                Fen::ZERO
            }
            (Some(s), _) => match Yuan::parse(s) {
                Ok(y) => y.fen(),
                Err(m) => {
                    self.ok = false;
                    self.p.push_at(self.origin, self.line, c.name(), m);
                    Fen::ZERO
                }
            },
        }
    }
    fn optional_yuan(&mut self, c: Col) -> Option<Fen> {
        self.raw(c)?;
        Some(self.yuan(c, None))
    }
    fn fraction(&mut self, c: Col, default: f64) -> u32 {
        let v = self.parse_with(c, default, |s| {
            s.parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| "a rate in [0, 1] (0.0435 for 4.35 %)".into())
        });
        to_ppm(v)
    }
    fn optional_flag(&mut self, c: Col) -> Option<bool> {
        self.raw(c)?;
        Some(self.flag(c))
    }
    fn flag(&mut self, c: Col) -> bool {
        self.parse_with(c, false, |s| match s.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "y" => Ok(true),
            "0" | "false" | "no" | "n" => Ok(false),
            _ => Err("1/0, true/false, yes/no or y/n".into()),
        })
    }
}

/// How a scorecard graded one cohort: households rated, and loans granted by grade.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeMix {
    pub cohort: usize,
    pub rated: u32,
    /// (grade, loans, principal), best grade first; the rest were refused credit.
    pub granted: Vec<(String, u32, Fen)>,
}

/// The cohorts' loans, in cohort order.
pub(super) struct Generated {
    pub loans: Vec<LoanRecord>,
    /// Each loan's references as ids, so that later steps need not look its
    /// names up.
    pub refs: Vec<CohortRefs>,
    /// How the scorecard graded each scored cohort.
    pub mixes: Vec<GradeMix>,
}

/// The `(village, bank, product, industry, grade)` ids of a generated loan,
/// the village's its index in the villages given to [`generate`] and the
/// others' `u32::MAX` for a name the scenario does not know.
#[derive(Clone, Copy)]
pub(super) struct CohortRefs {
    pub village: u32,
    pub bank: u32,
    pub product: u32,
    pub industry: u32,
    pub grade: u32,
}

/// Generates the cohorts' loans. `villages` lists every village as
/// `(id, county id, zone id)`. Each cohort draws from its own stream keyed by
/// (portfolio seed, cohort index), so editing one cohort leaves the others'
/// loans as they were; scorecard indicators, guarantee groups and linked
/// households draw from streams of their own, so turning them on moves no
/// other draw. `spare` is room to leave for loans added after them.
pub(super) fn generate(s: &Scenario, villages: &[(String, String, String)], ids: &Ids, spare: usize) -> Generated {
    let society_villages = society_villages(s, villages);
    let cohorts = &s.portfolio.cohorts;
    let grouped = cohorts.iter().any(|c| c.guarantee_groups.is_some() || c.linked_households.is_some());
    let rank = if grouped { village_ranks(villages) } else { Vec::new() };
    // The first cohort's vector is the book's, with room for every applicant
    // of every cohort: the others are appended to it, and the first (a
    // province's 212,000 micro-credit loans) is never copied.
    let applicants: usize = cohorts.iter().map(|c| c.count as usize).sum::<usize>() + spare;
    // Cohorts draw from streams of their own, so they are generated side by
    // side and joined in cohort order: the same book on any number of threads.
    let generated: Vec<(Vec<LoanRecord>, Vec<CohortRefs>, Option<GradeMix>)> = cohorts
        .par_iter()
        .enumerate()
        .map(|(ci, c)| {
            let room = if ci == 0 { applicants } else { c.count as usize };
            let (mut loans, mut refs) = (Vec::with_capacity(room), Vec::with_capacity(room));
            let mix = generate_cohort(s, ci, c, villages, ids, &society_villages, &mut loans, &mut refs);
            if let Some(size) = c.guarantee_groups {
                form_groups(s.portfolio.seed, ci, size, &mut loans, &refs, &rank);
            }
            (loans, refs, mix)
        })
        .collect();
    let mut out = Generated { loans: Vec::new(), refs: Vec::new(), mixes: Vec::new() };
    for (loans, refs, mix) in generated {
        if out.loans.is_empty() {
            (out.loans, out.refs) = (loans, refs);
        } else {
            out.loans.extend(loans);
            out.refs.extend(refs);
        }
        out.mixes.extend(mix);
    }
    link_households(s, villages, &rank, &out.refs, &mut out.loans);
    out
}

/// Each village's place in the order of the villages' ids: sorting by it
/// sorts by id. Ids are unique, so the order is total.
fn village_ranks(villages: &[(String, String, String)]) -> Vec<u32> {
    let mut by_id: Vec<u32> = (0..villages.len() as u32).collect();
    by_id.sort_unstable_by(|&a, &b| villages[a as usize].0.cmp(&villages[b as usize].0));
    let mut rank = vec![0u32; villages.len()];
    for (r, &v) in by_id.iter().enumerate() {
        rank[v as usize] = r as u32;
    }
    rank
}

/// Cohort `ci`'s loans, appended to `out`, drawn from the cohort's stream
/// (and its scorecard's) in a fixed order per loan: village, bank, industry,
/// grade, principal, insurance take-up; a refused applicant's draws are still
/// taken, so the next loan's stay where they were. Returns the scorecard's
/// grade mix when the cohort is scored.
#[allow(clippy::too_many_arguments)]
fn generate_cohort(
    s: &Scenario,
    ci: usize,
    c: &Cohort,
    villages: &[(String, String, String)],
    ids: &Ids,
    society_villages: &NameSet<'_>,
    out: &mut Vec<LoanRecord>,
    out_refs: &mut Vec<CohortRefs>,
) -> Option<GradeMix> {
    let mut rng = TrialRng::seed_from_u64(rng::key(&[s.portfolio.seed, 0x434F_484F_5254, ci as u64]));
    let by_society = s.products.iter().any(|p| p.id == c.product && p.lender == Lender::Society);
    // The cohort's own copy of each village's name: shared by every cohort,
    // one name's count was raised by two threads at once for most loans,
    // and moving its cache line between them was a tenth of the build.
    let eligible: Vec<(Name, u32)> = villages
        .iter()
        .enumerate()
        .filter(|(_, (id, county, zone))| {
            (c.counties.is_empty() || c.counties.contains(county))
                && (c.zones.is_empty() || c.zones.contains(zone))
                && (!by_society || society_villages.contains(id.as_str()))
        })
        .map(|(vi, (id, _, _))| (Name::from(id.as_str()), vi as u32))
        .collect();
    if eligible.is_empty() {
        return None; // reported by the model builder
    }
    let principals = PrincipalDraw::of(&c.principal);
    let banks = Categorical::new(&c.banks, &ids.bank);
    let inds = Categorical::new(&c.industries, &ids.industry);
    let grades = Categorical::new(&c.grades, &ids.grade);
    let card = s.scorecard.as_ref().filter(|_| !c.indicators.is_empty()).map(|card| Grader::new(card, c));
    let (credit_lines, card_grades): (Vec<Option<Fen>>, Vec<(Name, u32)>) = card
        .as_ref()
        .map(|g| {
            let grade = |x: &str| (Name::from(x), id_of(&ids.grade, x));
            g.card.grades.iter().map(|x| (x.credit_line.map(|l| l.fen()), grade(&x.grade))).unzip()
        })
        .unwrap_or_default();
    let (product, product_id) = (Name::from(c.product.as_str()), id_of(&ids.product, &c.product));
    let collateral = CollateralDraw::of(&c.collateral);
    let mut score_rng = TrialRng::seed_from_u64(rng::key(&[s.portfolio.seed, 0x0053_434F_5245, ci as u64]));
    let mut mix = card.as_ref().map(|g| GradeMix {
        cohort: ci,
        rated: 0,
        granted: g.card.grades.iter().map(|x| (x.grade.clone(), 0, Fen::ZERO)).collect(),
    });
    for n in 0..c.count {
        let (village, vi) = &eligible[(rng::uniform(&mut rng) * eligible.len() as f64) as usize % eligible.len()];
        let (bank, bank_id) = banks.draw(&mut rng);
        let (industry, industry_id) = inds.draw(&mut rng);
        // A scorecard replaces the grade draw; the uniform is still taken so
        // that the loan's other draws stay where they were.
        let drawn_grade = grades.draw(&mut rng);
        let mut principal = principals.draw(&mut rng);
        let (mut grade, mut grade_id) = drawn_grade;
        let mut granted = true;
        if let (Some(g), Some(mix)) = (&card, &mut mix) {
            mix.rated += 1;
            match g.grade(&mut score_rng) {
                Some(k) => {
                    if let Some(line) = credit_lines[k] {
                        principal = principal.min(line);
                    }
                    (grade, grade_id) = (&card_grades[k].0, card_grades[k].1);
                    mix.granted[k].1 += 1;
                    mix.granted[k].2 += principal;
                }
                None => granted = false,
            }
        }
        let (collateral, herd_size, collateral_value) = collateral.of_loan(principal);
        let agricultural_insured = rng::uniform(&mut rng) < c.insurance.agricultural;
        let credit_insured = rng::uniform(&mut rng) < c.insurance.credit;
        let accident_insured = c.borrower == BorrowerKind::Household && rng::uniform(&mut rng) < c.insurance.accident;
        if !granted {
            continue;
        }
        out_refs.push(CohortRefs {
            village: *vi,
            bank: bank_id,
            product: product_id,
            industry: industry_id,
            grade: grade_id,
        });
        out.push(LoanRecord {
            id: LoanId::cohort(ci, n),
            bank: bank.clone(),
            village: village.clone(),
            product: product.clone(),
            borrower: c.borrower,
            industry: industry.clone(),
            grade: grade.clone(),
            principal,
            rate_ppm: to_ppm(c.rate),
            term_years: c.term_years,
            amortisation: c.amortisation,
            subsidy_ppm: to_ppm(c.subsidy_rate),
            collateral,
            herd_size,
            collateral_value,
            agricultural_insured,
            sum_insured: None,
            credit_insured,
            accident_insured,
            comp_covered: None,
            guarantee_group: None,
            linked: Box::default(),
            origin: LoanOrigin::Cohort(ci),
        });
    }
    mix
}

/// A cohort's collateral rule, its value per head in fen once per cohort.
enum CollateralDraw {
    None,
    Livestock { ltv: f64, per_head: i64 },
    Forest { ltv: f64 },
}

impl CollateralDraw {
    fn of(c: &CohortCollateral) -> CollateralDraw {
        match c {
            CohortCollateral::None => CollateralDraw::None,
            CohortCollateral::LivestockPledge(LivestockPledge { ltv, value_per_head }) => {
                CollateralDraw::Livestock { ltv: *ltv, per_head: value_per_head.fen().0.max(1) }
            }
            CohortCollateral::ForestMortgage(ForestMortgage { ltv }) => CollateralDraw::Forest { ltv: *ltv },
        }
    }

    /// A cohort loan's collateral: kind, herd size and value, from its
    /// loan-to-value.
    fn of_loan(&self, principal: Fen) -> (CollateralKind, u32, Fen) {
        match *self {
            CollateralDraw::None => (CollateralKind::None, 0, Fen::ZERO),
            CollateralDraw::Livestock { ltv, per_head } => {
                let value = Fen((principal.0 as f64 / ltv).ceil() as i64);
                let herd = (value.0 + per_head - 1) / per_head;
                (CollateralKind::LivestockPledge, herd as u32, Fen(herd * per_head))
            }
            CollateralDraw::Forest { ltv } => {
                (CollateralKind::ForestMortgage, 0, Fen((principal.0 as f64 / ltv).ceil() as i64))
            }
        }
    }
}

/// Villages with a mutual-aid society: every village when the scenario gives
/// a capital per village, else the ones it lists.
pub fn society_villages<'a>(s: &'a Scenario, villages: &'a [(String, String, String)]) -> NameSet<'a> {
    let so = &s.societies;
    if !so.enabled {
        return NameSet::default();
    }
    if so.capital_per_village.is_some() || so.lending_ratio.is_some() {
        villages.iter().map(|v| v.0.as_str()).collect()
    } else {
        so.villages.iter().map(|v| &*v.village).collect()
    }
}

/// Groups a cohort's loans village by village, in id order, into groups of a
/// size drawn in `min..=max`; a village's last few loans (fewer than `min`)
/// join its last group, or form a group of their own when there is none and
/// they are at least two.
fn form_groups(seed: u64, ci: usize, size: CountRange, loans: &mut [LoanRecord], refs: &[CohortRefs], rank: &[u32]) {
    let mut g = TrialRng::seed_from_u64(rng::key(&[seed, 0x0047_524F_5550, ci as u64]));
    // The loans village by village in the order of the villages' ids, each
    // village's in id order (the order they were generated in): a counting
    // sort on the village's rank, where a map keyed by the village's name
    // compared strings a dozen times a loan.
    let mut start = vec![0usize; rank.len() + 1];
    for r in refs {
        start[rank[r.village as usize] as usize + 1] += 1;
    }
    for v in 0..rank.len() {
        start[v + 1] += start[v];
    }
    let mut by_village = vec![0usize; loans.len()];
    let mut at_of = start.clone();
    for (k, r) in refs.iter().enumerate() {
        let v = rank[r.village as usize] as usize;
        by_village[at_of[v]] = k;
        at_of[v] += 1;
    }
    // One name per group, shared by its members.
    let mut named: Option<(u32, Name)> = None;
    let mut next = 0u32;
    for members in start.windows(2).map(|w| &by_village[w[0]..w[1]]).filter(|m| !m.is_empty()) {
        let mut at = 0;
        let mut last: Option<u32> = None;
        while at < members.len() {
            let want = draw_count(&mut g, size);
            let left = members.len() - at;
            let take = if left < size.min as usize { left } else { (want as usize).min(left) };
            let group = if take < size.min as usize {
                match last {
                    Some(l) => Some(l),
                    None if take >= 2 => Some(next),
                    None => None,
                }
            } else {
                Some(next)
            };
            if let Some(id) = group {
                if Some(id) != last {
                    next += 1;
                    last = Some(id);
                }
                if named.as_ref().is_none_or(|(n, _)| *n != id) {
                    named = Some((id, Name::from(format!("c{}-g{:05}", ci + 1, id + 1))));
                }
                let name = named.as_ref().map(|(_, name)| name);
                for &k in &members[at..at + take] {
                    loans[k].guarantee_group = name.cloned();
                }
            }
            at += take;
        }
    }
}

/// Names each linked loan's households: the household loans of its village
/// first (in id order), then the rest of its county's in a random order.
/// `refs[k].village` is loan k's village, an index into `villages`; `rank`
/// is [`village_ranks`] of them.
fn link_households(
    s: &Scenario,
    villages: &[(String, String, String)],
    rank: &[u32],
    refs: &[CohortRefs],
    loans: &mut [LoanRecord],
) {
    // The county lists below cost a fifth of a province's build: none is
    // made for a book whose cohorts link no households.
    if s.portfolio.cohorts.iter().all(|c| c.linked_households.is_none()) {
        return;
    }
    // Each village's county, numbered as first met.
    let mut county_ix: NameMap<u32> = NameMap::default();
    let county_of: Vec<u32> = villages
        .iter()
        .map(|(_, c, _)| {
            let next = county_ix.len() as u32;
            *county_ix.entry(c.as_str()).or_insert(next)
        })
        .collect();
    // Generated ids as integers that sort as their text, where every one has one.
    let ranks = CohortRanks::new(s.portfolio.cohorts.len());
    let id_keys: Option<Vec<u64>> = loans.iter().map(|l| ranks.key(&l.id)).collect();
    let id_key = |k: usize| id_keys.as_ref().map_or(0, |keys| keys[k]);
    // Each county's household loans by (village, id), as (village rank, id
    // key, loan index): the links are drawn first and stored after, so no id
    // is copied but the linked.
    let mut households: Vec<Vec<(u32, u64, usize)>> = vec![Vec::new(); county_ix.len()];
    for (k, _) in loans.iter().enumerate().filter(|(_, l)| l.borrower == BorrowerKind::Household) {
        let v = refs[k].village as usize;
        households[county_of[v] as usize].push((rank[v], id_key(k), k));
    }
    // Ids are unique (a duplicate stops the build before any list is used),
    // so the order is total: sorted county by county on any number of
    // threads, the lists are the same.
    households.par_iter_mut().for_each(|list| {
        if id_keys.is_some() {
            list.sort_unstable_by_key(|h| (h.0, h.1));
        } else {
            list.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| loans[a.2].id.cmp(&loans[b.2].id)));
        }
    });
    let mut links = Vec::new();
    let mut moved: HashMap<usize, usize, foldhash::fast::FixedState> = HashMap::default();
    for (k, loan) in loans.iter().enumerate() {
        let LoanOrigin::Cohort(ci) = loan.origin else { continue };
        let Some(range) = s.portfolio.cohorts[ci].linked_households else { continue };
        let list = &households[county_of[refs[k].village as usize] as usize];
        if list.is_empty() {
            continue;
        }
        // Keyed by the loan's id, so editing another cohort moves no link.
        let mut g = TrialRng::seed_from_u64(rng::key(&[
            s.portfolio.seed,
            0x4C49_4E4B,
            loan.id.with_str(|id| rng::name_key(&[id])),
        ]));
        let want = draw_count(&mut g, range) as usize;
        // The county's list is sorted by village: the loan's own village is one run of it.
        let own = rank[refs[k].village as usize];
        let (lo, hi) = (list.partition_point(|h| h.0 < own), list.partition_point(|h| h.0 <= own));
        let mut linked: Vec<usize> = list[lo..hi].iter().take(want).map(|h| h.2).collect();
        // Partial Fisher-Yates over the rest of the county (the list without
        // the village's run), as many as are still wanted. The rest is not
        // copied: a county holds thousands of households and a firm takes a
        // few, so only the swapped places are kept (`moved`).
        let rest = list.len() - (hi - lo);
        let at = |p: usize| list[if p < lo { p } else { p + (hi - lo) }].2;
        moved.clear();
        let mut i = 0;
        while linked.len() < want && i < rest {
            let j = i + (rng::uniform(&mut g) * (rest - i) as f64) as usize % (rest - i);
            let (vi, vj) =
                (moved.get(&i).copied().unwrap_or_else(|| at(i)), moved.get(&j).copied().unwrap_or_else(|| at(j)));
            moved.insert(j, vi);
            linked.push(vj);
            i += 1;
        }
        links.push((k, linked));
    }
    for (k, linked) in links {
        loans[k].linked = linked.iter().map(|&h| loans[h].id.clone()).collect();
    }
}

/// A count uniform in `min..=max`.
fn draw_count(g: &mut TrialRng, r: CountRange) -> u32 {
    let span = (r.max as u64).saturating_sub(r.min as u64) + 1;
    r.min + ((rng::uniform(g) * span as f64) as u64).min(span - 1) as u32
}

/// Grades households with a scorecard from the cohort's indicator distributions.
struct Grader<'a> {
    card: &'a Scorecard,
    /// (distribution, weight) in the card's indicator order.
    parts: Vec<(&'a BetaDist, f64)>,
}

impl<'a> Grader<'a> {
    fn new(card: &'a Scorecard, c: &'a Cohort) -> Self {
        let parts = card.indicators.iter().map(|x| (&c.indicators[&x.id], x.weight)).collect();
        Grader { card, parts }
    }
    /// The grade's index in the card, or `None` when the score is below every cut-off.
    fn grade(&self, g: &mut TrialRng) -> Option<usize> {
        let (mut num, mut den) = (0.0, 0.0);
        for (b, w) in &self.parts {
            num += w * b.fixed.unwrap_or_else(|| rng::beta(g, b.alpha, b.beta));
            den += w;
        }
        let score = 100.0 * num / den;
        // A score on a cut-off reaches it, whatever the rounding of the sum.
        self.card.grades.iter().position(|x| score >= x.min_score - 1e-9)
    }
}

/// A cohort's principal distribution in fen, converted from its decimal
/// yuan once per cohort rather than once per loan (the conversions were a
/// tenth of a province's build).
enum PrincipalDraw {
    Fixed(Fen),
    Uniform { lo: i64, hi: i64, step: i64 },
    Lognormal { ln: rng::LogNormal, lo: i64, hi: i64, step: i64 },
}

impl PrincipalDraw {
    fn of(d: &PrincipalDist) -> PrincipalDraw {
        match d {
            PrincipalDist::Fixed(y) => PrincipalDraw::Fixed(y.fen()),
            PrincipalDist::Uniform(UniformPrincipal { min, max, step }) => {
                PrincipalDraw::Uniform { lo: min.fen().0, hi: max.fen().0, step: step.fen().0.max(1) }
            }
            PrincipalDist::Lognormal(LognormalPrincipal { median, sigma, min, max, step }) => {
                let mu = (median.fen().0 as f64).ln();
                let ln = rng::LogNormal::new(mu, *sigma).expect("validate() keeps a principal's sigma in [0, 5]");
                PrincipalDraw::Lognormal { ln, lo: min.fen().0, hi: max.fen().0, step: step.fen().0.max(1) }
            }
        }
    }

    fn draw(&self, rng: &mut TrialRng) -> Fen {
        let round =
            |x: f64, lo: i64, hi: i64, step: i64| Fen((((x / step as f64).round() as i64) * step).clamp(lo, hi));
        match *self {
            PrincipalDraw::Fixed(f) => f,
            PrincipalDraw::Uniform { lo, hi, step } => {
                round(lo as f64 + rng::uniform(rng) * (hi as f64 - lo as f64), lo, hi, step)
            }
            PrincipalDraw::Lognormal { ref ln, lo, hi, step } => round(ln.sample(rng), lo, hi, step),
        }
    }
}

/// A name's id in `map`, `u32::MAX` for a name it does not know.
fn id_of(map: &NameMap<usize>, name: &str) -> u32 {
    map.get(name).map_or(u32::MAX, |&i| i as u32)
}

/// Draws keys of a shares map (in key order) by inversion of one uniform.
struct Categorical {
    /// Each key, with its id.
    keys: Vec<(Name, u32)>,
    cdf: Vec<f64>,
    /// What an empty map draws.
    none: (Name, u32),
}

impl Categorical {
    /// The map's keys' ids are looked up in `ids`.
    fn new(m: &BTreeMap<String, f64>, ids: &NameMap<usize>) -> Self {
        let total: f64 = m.values().sum();
        let mut acc = 0.0;
        let mut keys = Vec::new();
        let mut cdf = Vec::new();
        for (k, v) in m {
            acc += v / total;
            keys.push((Name::from(k.as_str()), id_of(ids, k)));
            cdf.push(acc);
        }
        Categorical { keys, cdf, none: (Name::from(""), id_of(ids, "")) }
    }
    fn draw(&self, rng: &mut TrialRng) -> (&Name, u32) {
        let u = rng::uniform(rng);
        // An empty map (a scorecard cohort's grades) still takes its uniform.
        let i = self.cdf.iter().position(|&c| u < c).unwrap_or(self.keys.len().saturating_sub(1));
        let (name, id) = self.keys.get(i).unwrap_or(&self.none);
        (name, *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_rows_parse_and_bad_rows_are_named_by_line() {
        let text = "id,bank,village,product,borrower,industry,grade,principal,term_years,rate\n\
                    L1,rcc,v1,micro,household,tea,A,40000,3,0.0435\n\
                    L2,rcc,v1,micro,farmer,tea,A,-5,3,0.0435\n";
        let mut p = Problems::new("t.csv");
        let loans = parse_tape(text, "t.csv", &mut p);
        assert_eq!(loans.len(), 1);
        assert_eq!(loans[0].principal, Fen(4_000_000));
        assert_eq!(loans[0].rate_ppm, 43_500);
        assert_eq!(p.list.len(), 1, "{:?}", p.list);
        assert_eq!(p.list[0].line, Some(3));
        assert_eq!(p.list[0].path, "borrower");
    }

    /// A tape read in pieces of a few rows gives what it gives read whole:
    /// its loans, and its problems with their lines, records and bytes.
    #[test]
    fn a_tape_read_in_pieces_reads_as_one() {
        let head = "# a comment before the header\n\
                    id,bank,village,product,borrower,industry,grade,principal,term_years,rate\n";
        let mut rows = String::new();
        for k in 0..60 {
            match k % 12 {
                // A malformed row, a bad cell, comments and empty lines among the rows.
                3 => rows.push_str(&format!("L{k},rcc,v1,micro\n")),
                5 => rows.push_str(&format!("L{k},rcc,v1,micro,farmer,tea,A,40000,3,0.0435\n")),
                7 => rows.push_str(&format!("# row {k} held back\n\nL{k},rcc,v1,micro,household,tea,A,1e9,3,0.04\n")),
                9 => rows.push_str(&format!("L{k},rcc,v1,micro,household,tea,A,40000,3,0.0435,extra\r\n")),
                _ => rows.push_str(&format!("L{k}, rcc ,v{},micro,household,tea,B,{},2,0.05\n", k % 4, 30000 + k)),
            }
        }
        for text in [
            format!("{head}{rows}"),
            format!("\u{feff}{head}{rows}"),
            format!("{head}{}", rows.trim_end()),
            format!("{head}{}", rows.replace('\n', "\r\n")),
            // Every line ended by `\r\n`, the header's too.
            format!("{head}{rows}").replace("\r\n", "\n").replace('\n', "\r\n"),
        ] {
            let mut whole = Problems::new("t.csv");
            let a = parse_tape_in(&text, "t.csv", &mut whole, usize::MAX / 2);
            assert_eq!(a.len(), 45, "{:?}", whole.list);
            assert_eq!(whole.list.len(), 15, "{:?}", whole.list);
            // Sizes that put the cuts before every kind of row.
            for size in (40..200).step_by(3) {
                let mut cut = Problems::new("t.csv");
                let b = parse_tape_in(&text, "t.csv", &mut cut, size);
                assert!(pieces(&text, text.find("L0").unwrap(), size).len() > 8, "read in pieces");
                assert_eq!(a, b, "pieces of {size}");
                assert_eq!(whole.list, cut.list, "pieces of {size}");
            }
        }
        // Quoted cells: every cell of a row, a comma, a doubled quote, a line
        // break and a `#` line inside one; and a quote inside an unquoted
        // cell, a character there, which a count of quotes would take for
        // an opening one.
        let mut quoted = String::new();
        for k in 0..60 {
            let tail = "micro,household,tea,A,40000,3,0.0435";
            match k % 6 {
                0 => quoted.push_str(&format!(
                    "\"L{k}\",\"rcc\",\"v1\",\"micro\",\"household\",\"tea\",\"A\",\"40000\",\"3\",\"0.0435\"\n"
                )),
                1 => quoted.push_str(&format!("L{k},r\"cc,v1,{tail}\n")),
                2 => quoted.push_str(&format!("\"L{k}\nits second line\",rcc,\"v1, east\",{tail}\n")),
                3 => quoted.push_str(&format!("\"L{k} \"\"B\"\"\",rcc,v1,{tail}\n")),
                4 => quoted.push_str(&format!("\"L{k}\n# not a comment\n\n\",rcc,v1,{tail}\n")),
                // After the line breaks in cells, a malformed row and a bad cell: their lines.
                _ if k % 12 == 5 => quoted.push_str(&format!("L{k},rcc,v1,micro\n")),
                _ => quoted.push_str(&format!("L{k},rcc,v{},micro,household,tea,B,{}x,2,0.05\n", k % 4, 30_000 + k)),
            }
        }
        for text in [
            format!("{head}{quoted}"),
            format!("{head}{rows}{quoted}"),
            format!("{head}{quoted}").replace('\n', "\r\n"),
        ] {
            let mut whole = Problems::new("t.csv");
            let a = parse_tape_in(&text, "t.csv", &mut whole, usize::MAX / 2);
            assert!(a.len() >= 50, "{:?}", whole.list);
            let last = whole.list.last().unwrap();
            assert_eq!((last.line, last.path.as_str()), (Some(text.lines().count()), "principal"), "{:?}", whole.list);
            for size in (40..200).step_by(3) {
                let mut cut = Problems::new("t.csv");
                let b = parse_tape_in(&text, "t.csv", &mut cut, size);
                assert!(pieces(&text, text.find("L0").unwrap() - 1, size).len() > 8, "read in pieces");
                assert_eq!(a, b, "pieces of {size}");
                assert_eq!(whole.list, cut.list, "pieces of {size}");
            }
        }
    }

    #[test]
    fn cells_and_headers_are_trimmed_of_any_whitespace() {
        // Tabs, no-break and ideographic spaces (a Chinese spreadsheet's) are
        // trimmed as plain spaces are; a cell of spaces only is empty.
        let text = " id , bank,village,product,borrower,industry,grade,principal,term_years,rate,guarantee_group\n\
                    \u{3000}L1\u{3000},\trcc\t,v1,micro, household ,tea,A,\u{a0}40000 ,3,0.0435,  \n\
                    L2,rcc,v1,micro,household,tea,A,40000,  ,0.0435,g1\n";
        let mut p = Problems::new("t.csv");
        let loans = parse_tape(text, "t.csv", &mut p);
        assert_eq!(loans.len(), 1, "{:?}", p.list);
        let l = &loans[0];
        assert_eq!((l.id.to_string(), &*l.bank, l.borrower), ("L1".to_string(), "rcc", BorrowerKind::Household));
        assert_eq!((l.principal, l.guarantee_group.clone()), (Fen(4_000_000), None));
        assert_eq!(p.list.len(), 1, "{:?}", p.list);
        assert_eq!((p.list[0].line, p.list[0].path.as_str()), (Some(3), "term_years"));
        assert!(p.list[0].message.contains("expected a value"), "{}", p.list[0].message);
    }

    #[test]
    fn lines_count_the_comments_before_the_header_and_between_rows() {
        let text =
            "\u{feff}# A tape\n# with notes\n\nid,bank,village,product,borrower,industry,grade,principle,term_years\n";
        let mut p = Problems::new("t.csv");
        parse_tape(text, "t.csv", &mut p);
        assert!(!p.list.is_empty());
        assert!(p.list.iter().all(|x| x.line == Some(4)), "{:?}", p.list);
        let text = "# notes\r\nid,bank,village,product,borrower,industry,grade,principal,term_years,rate\r\n\
                    # micro-credit\r\n\r\nL1,rcc,v1,micro,farmer,tea,A,40000,3,0.0435\r\n\
                    # more\r\nL2,rcc,v1,micro\r\n";
        let mut p = Problems::new("t.csv");
        parse_tape(text, "t.csv", &mut p);
        let lines: Vec<_> = p.list.iter().map(|x| (x.path.as_str(), x.line)).collect();
        assert_eq!(lines, [("borrower", Some(5)), ("", Some(7))]);
    }

    #[test]
    fn unknown_tape_column_suggests_the_nearest() {
        let text = "id,bank,village,product,borrower,industry,grade,principle,term_years\n";
        let mut p = Problems::new("t.csv");
        parse_tape(text, "t.csv", &mut p);
        assert!(p.list.iter().any(|x| x.message.contains("did you mean `principal`")), "{:?}", p.list);
    }
}
