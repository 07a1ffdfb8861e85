//! A loan's id. Most of a province's 300,000 ids are generated,
//! `c{cohort}-{n:06}`, and are kept as the two numbers they are written
//! from: no string is allocated for them, and sorting, hashing and comparing
//! them is integer work (string ids were a fifth of a province's build).
//! They order and compare exactly as their text does, so the book's order
//! and every output are those of string ids.

use std::cmp::Ordering;
use std::fmt;

/// A loan's id, ordered as its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LoanId {
    /// `c{cohort + 1}-{n + 1:06}`: applicant `n` (0-based) of cohort `cohort`.
    Cohort { cohort: u32, n: u32 },
    /// Any other id: a tape's, a society's bank loan. Never text that reads
    /// as a generated id: [`LoanId::from`] makes that a `Cohort`, so that
    /// equal ids are equal values, whatever made them.
    Text(Box<str>),
}

impl LoanId {
    /// Applicant `n` (0-based) of cohort `ci` (0-based).
    pub fn cohort(ci: usize, n: u32) -> LoanId {
        LoanId::Cohort { cohort: u32::try_from(ci).expect("fewer than 2^32 cohorts"), n }
    }

    /// Calls `f` with the id's text; a generated id is written on the stack.
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            LoanId::Cohort { cohort, n } => f(Generated::new(*cohort, *n).as_str()),
            LoanId::Text(s) => f(s),
        }
    }
}

impl From<&str> for LoanId {
    fn from(s: &str) -> LoanId {
        match parse_generated(s) {
            Some((cohort, n)) => LoanId::Cohort { cohort, n },
            None => LoanId::Text(s.into()),
        }
    }
}

impl From<String> for LoanId {
    fn from(s: String) -> LoanId {
        match parse_generated(&s) {
            Some((cohort, n)) => LoanId::Cohort { cohort, n },
            None => LoanId::Text(s.into_boxed_str()),
        }
    }
}

impl fmt::Display for LoanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl PartialEq<str> for LoanId {
    fn eq(&self, other: &str) -> bool {
        self.with_str(|s| s == other)
    }
}

impl PartialEq<&str> for LoanId {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Ord for LoanId {
    /// The order of the ids' text. Two generated ids whose cohort numbers
    /// have as many digits, and whose applicant numbers are six digits wide,
    /// compare as (cohort, n): the common case, without writing them out.
    fn cmp(&self, other: &LoanId) -> Ordering {
        if let (LoanId::Cohort { cohort: a, n: i }, LoanId::Cohort { cohort: b, n: j }) = (self, other) {
            let digits = |x: u32| (u64::from(x) + 1).ilog10();
            if *i < 999_999 && *j < 999_999 && (a == b || digits(*a) == digits(*b)) {
                return (a, i).cmp(&(b, j));
            }
        }
        self.with_str(|x| other.with_str(|y| x.cmp(y)))
    }
}

impl PartialOrd for LoanId {
    fn partial_cmp(&self, other: &LoanId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Integer keys that order generated ids as their text: (the rank of the
/// cohort's prefix `c{cohort + 1}-` among the prefixes, n). Two prefixes
/// differ before either ends (`-` closes each), so their order decides
/// between cohorts; within one, six-digit numbers order as numbers.
pub struct CohortRanks {
    rank: Vec<u32>,
}

impl CohortRanks {
    /// The ranks of the prefixes of `cohorts` cohorts.
    pub fn new(cohorts: usize) -> CohortRanks {
        let mut by_text: Vec<usize> = (0..cohorts).collect();
        by_text.sort_by_cached_key(|&ci| LoanId::cohort(ci, 0).to_string());
        let mut rank = vec![0; cohorts];
        for (r, &ci) in by_text.iter().enumerate() {
            rank[ci] = r as u32;
        }
        CohortRanks { rank }
    }

    /// The id's key; `None` for text and for a number of seven digits or
    /// more, which only the text orders.
    pub fn key(&self, id: &LoanId) -> Option<u64> {
        match *id {
            LoanId::Cohort { cohort, n } if n < 999_999 => {
                Some(u64::from(*self.rank.get(cohort as usize)?) << 32 | u64::from(n))
            }
            _ => None,
        }
    }
}

/// A generated id's text: `c`, at most 10 digits, `-`, at most 10 digits.
struct Generated {
    buf: [u8; 24],
    len: usize,
}

impl Generated {
    fn new(cohort: u32, n: u32) -> Generated {
        let mut g = Generated { buf: [0; 24], len: 0 };
        g.push(b"c");
        g.push(itoa::Buffer::new().format(u64::from(cohort) + 1).as_bytes());
        g.push(b"-");
        let mut b = itoa::Buffer::new();
        let digits = b.format(u64::from(n) + 1).as_bytes();
        for _ in digits.len()..6 {
            g.push(b"0");
        }
        g.push(digits);
        g
    }

    fn push(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("a generated id is ASCII")
    }
}

/// The (cohort, n) of text that is exactly a generated id as
/// [`Generated`] writes it, else `None`.
fn parse_generated(s: &str) -> Option<(u32, u32)> {
    let (c, n) = s.strip_prefix('c')?.split_once('-')?;
    // Digits only, at least `width` of them, and no leading zero beyond the
    // padding to `width`: only then does writing the number give the text back.
    let number = |d: &str, width: usize| -> Option<u32> {
        if d.len() < width || d.len() > 10 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if d.len() > width && d.starts_with('0') {
            return None;
        }
        let v: u64 = d.parse().ok()?;
        u32::try_from(v.checked_sub(1)?).ok()
    };
    Some((number(c, 1)?, number(n, 6)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 24] = [
        "c1-000001",
        "c1-000002",
        "c1-000010",
        "c1-999999",
        "c1-1000000",
        "c1-1000001",
        "c2-000001",
        "c9-123456",
        "c10-000001",
        "c11-000001",
        "c4294967296-4294967296",
        "c4294967297-000001",
        "c1-000000",
        "c0-000001",
        "c01-000001",
        "c1-00001",
        "c1-0000001",
        "c1-000001x",
        "c1--000001",
        "c1-",
        "society-c1-valley-001",
        "b",
        "d",
        "",
    ];

    #[test]
    fn generated_ids_read_back_and_other_text_stays_text() {
        for s in IDS {
            let id = LoanId::from(s);
            assert_eq!(id.to_string(), s);
            assert_eq!(id, LoanId::from(s.to_string()));
            assert!(id == s);
        }
        assert_eq!(LoanId::from("c1-000001"), LoanId::cohort(0, 0));
        assert_eq!(LoanId::from("c12-1000000"), LoanId::cohort(11, 999_999));
        assert_eq!(LoanId::from("c4294967296-4294967296"), LoanId::Cohort { cohort: u32::MAX, n: u32::MAX });
        for s in ["c1-000000", "c0-000001", "c01-000001", "c1-00001", "c1-0000001", "c4294967297-000001"] {
            assert!(matches!(LoanId::from(s), LoanId::Text(_)), "{s}");
        }
    }

    #[test]
    fn cohort_keys_order_as_the_text() {
        let ranks = CohortRanks::new(12);
        let ids: Vec<LoanId> = (0..12).flat_map(|c| [0, 7, 999_998].map(|n| LoanId::cohort(c, n))).collect();
        for a in &ids {
            for b in &ids {
                assert_eq!(ranks.key(a).cmp(&ranks.key(b)), a.to_string().cmp(&b.to_string()), "{a} {b}");
            }
        }
        assert_eq!(ranks.key(&LoanId::cohort(0, 999_999)), None);
        assert_eq!(ranks.key(&LoanId::cohort(12, 0)), None);
        assert_eq!(ranks.key(&LoanId::from("b")), None);
    }

    #[test]
    fn ids_order_as_their_text() {
        let mut ids: Vec<String> = IDS.iter().map(|s| s.to_string()).collect();
        for (c, n) in [(0, 5), (0, 999_998), (0, 999_999), (8, 0), (9, 0), (98, 41), (99, 41), (999, 0), (1_000, 0)] {
            ids.push(LoanId::cohort(c, n).to_string());
        }
        for a in &ids {
            for b in &ids {
                assert_eq!(LoanId::from(a.as_str()).cmp(&LoanId::from(b.as_str())), a.cmp(b), "{a} {b}");
            }
        }
    }
}
