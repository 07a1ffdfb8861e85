//! Upper bounds on every amount, count and size a run accepts, chosen so
//! that no sum in the engine can overflow and no allocation can outgrow the
//! machine unannounced. Each is checked at the boundary (scenario validation,
//! the model build, the command line) and a refusal names the key and the
//! bound; `docs/reliability.md` lists them with the reasoning below.
//!
//! Why these numbers: a trial's money columns are `i64` fen, and the run's
//! statistics keep exact sums of squares in `i128` (`analysis::stats::Moments`).
//! With a book of at most [`MAX_BOOK_FEN`], rates of at most 100 % a year and
//! a horizon of at most [`MAX_HORIZON`] years, no trial's column exceeds
//! about 31 times the book (the interest subsidy over the horizon), about
//! 3.1e14 fen; [`MAX_TRIALS`] times its square, 9.6e36, stays below
//! `i128::MAX` (1.7e38). The same bound keeps every fund balance, draw and
//! cap far inside `i64`.

/// Largest single amount in a scenario or on a loan tape: CNY 100 bn.
pub const MAX_AMOUNT_YUAN: i64 = 100_000_000_000;
/// Largest book: the principal of all loans together, CNY 100 bn in fen.
/// (Wangcang's book is about CNY 1 bn; a province's a few tens of bn.)
pub const MAX_BOOK_FEN: i64 = MAX_AMOUNT_YUAN * 100;
/// Largest total of the funds' starting money (compensation deposits and
/// the village funds' explicit amounts), in fen.
pub const MAX_FUNDS_FEN: i64 = MAX_AMOUNT_YUAN * 100;
/// Deposit ratio (loans : fund) bounds: a fund of at most ten times the
/// loans it covers, and at least a millionth of them.
pub const MIN_DEPOSIT_RATIO: f64 = 0.1;
pub const MAX_DEPOSIT_RATIO: f64 = 1_000_000.0;
/// Trials of one run (all its shards together).
pub const MAX_TRIALS: u64 = 100_000_000;
/// Worker threads; more than the cores only costs memory.
pub const MAX_THREADS: usize = 256;
/// Loans in a book (tapes and cohorts together).
pub const MAX_LOANS: u64 = 10_000_000;
/// Villages in a scenario (listed and counted together).
pub const MAX_VILLAGES: u64 = 1_000_000;
/// Years of the horizon.
pub const MAX_HORIZON: u32 = 30;

/// Groups digits by thousands, for the bounds in messages: 1234567 -> "1,234,567".
pub fn grouped(n: u64) -> String {
    group_digits(&n.to_string())
}

/// Puts a comma between every three digits of a run of ASCII digits, from
/// the right: "1234567" -> "1,234,567". The one grouping rule of the crate:
/// messages ([`grouped`]) and every number shown to people
/// (`report::format::group`) go through it.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Memory available to this process, in bytes, where the system says
/// (`MemAvailable` of `/proc/meminfo`, or a cgroup's limit if lower).
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let mut avail = kb.saturating_mul(1024);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    if let Some(limit) = cgroup.and_then(|s| s.trim().parse::<u64>().ok()) {
        avail = avail.min(limit);
    }
    Some(avail)
}

/// Refuses a run whose kept rows would not fit in memory: `per_trial`
/// bytes a trial and `fixed` bytes whatever the trials (histograms bounded
/// by value); the message suggests fewer trials or shards.
pub fn check_memory(per_trial: u64, fixed: u64, trials: u64) -> Result<(), String> {
    match available_memory() {
        Some(avail) => memory_verdict(per_trial, fixed, trials, avail),
        None => Ok(()),
    }
}

/// [`check_memory`] against `avail` bytes available.
fn memory_verdict(per_trial: u64, fixed: u64, trials: u64, avail: u64) -> Result<(), String> {
    let bytes = per_trial.saturating_mul(trials).saturating_add(fixed);
    // Leave room for the model, the engine's waves and the system.
    let budget = avail / 10 * 8;
    if bytes <= budget {
        return Ok(());
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let fits = budget.saturating_sub(fixed) / per_trial.max(1);
    Err(format!(
        "{} trials would keep about {:.1} GiB of rows in memory, more than the {:.1} GiB available: run at most \
         about {} trials at once, or split the run into shards (`--shard I/N`, then `riskshare merge`)",
        grouped(trials),
        gib(bytes),
        gib(avail),
        grouped(fits.max(1))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_check_counts_the_fixed_part_apart_from_the_trials() {
        let avail = 10 << 30;
        // 80 % of it is the budget: 8 GiB.
        assert!(memory_verdict(1 << 20, 0, 8 * 1024, avail).is_ok());
        assert!(memory_verdict(1 << 20, 0, 8 * 1024 + 1, avail).is_err());
        // A fixed part beyond the budget is refused whatever the trials.
        let e = memory_verdict(1, (8 << 30) + 1, 1, avail).unwrap_err();
        assert!(e.contains("run at most about 1 trials"), "{e}");
        // Trials that fit beside the fixed part: what it leaves, over a trial's bytes.
        assert!(memory_verdict(1 << 20, 6 << 30, 2 * 1024, avail).is_ok());
        let e = memory_verdict(1 << 20, 6 << 30, 2 * 1024 + 1, avail).unwrap_err();
        assert!(e.contains("at most about 2,048 trials"), "{e}");
    }

    #[test]
    fn the_bounds_keep_the_exact_sums_inside_their_integers() {
        // A trial's largest column: the book plus a year's interest at 100 %,
        // or the subsidy over the horizon, plus the funds' starting money
        // (deposits of up to ten times the loans) and a top-up cap each year.
        let h = MAX_HORIZON as i128;
        let column = MAX_BOOK_FEN as i128 * (h + 1) + MAX_FUNDS_FEN as i128 * 11 + MAX_AMOUNT_YUAN as i128 * 100 * h;
        assert!(column < i64::MAX as i128);
        assert!(column.checked_mul(column).and_then(|sq| sq.checked_mul(MAX_TRIALS as i128)).is_some());
        assert_eq!(grouped(100_000_000), "100,000,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(0), "0");
        assert_eq!(group_digits("123456"), "123,456");
        assert_eq!(group_digits(""), "");
    }
}
