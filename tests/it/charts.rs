//! Charts and the HTML report, on a real run of the binary: the data series
//! behind each chart against the tables they come from, and the files
//! (valid PNG, SVG, a self-contained report that says whether 10:1 is enough).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use riskshare::analysis::sizing::Sizing;
use riskshare::analysis::stats;
use riskshare::analysis::summary::{CONFIDENCE, Summary};
use riskshare::report::charts::{self, Chart, Lang};
use riskshare::report::html;
use riskshare::report::run::load_run;
use tempfile::TempDir;

const TRIALS: usize = 300;

/// Runs the binary on the mini scenario into a fresh folder. `cmd` is `run`
/// (the loss tables and summary) or `size` (the same plus size.json and
/// size_curve.csv).
fn simulate(cmd: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_riskshare"))
        .args([cmd, "tests/scenarios/mini.yaml", "--trials", &TRIALS.to_string(), "--out"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "riskshare {cmd} failed: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// One run shared by the tests that only read it.
fn shared() -> &'static Path {
    static RUN: OnceLock<TempDir> = OnceLock::new();
    RUN.get_or_init(|| simulate("run")).path()
}

/// A money column of trials.csv read directly: "1234.56" -> 123456 fen.
fn column_fen(dir: &Path, name: &str) -> Vec<i64> {
    let mut rdr = csv::Reader::from_path(dir.join("trials.csv")).unwrap();
    let i = rdr.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    rdr.records()
        .map(|r| {
            let cell = r.unwrap()[i].to_string();
            assert_eq!(cell.len() - cell.find('.').unwrap(), 3, "two decimals: {cell}");
            cell.replace('.', "").parse::<i64>().unwrap()
        })
        .collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn mean(s: &serde_json::Value, col: &str) -> f64 {
    s["layers"][col]["mean"].as_f64().unwrap_or_else(|| panic!("no mean of {col}"))
}

/// Half a fen: the rounding of a mean printed to two decimals.
const HALF_FEN: f64 = 0.005 + 1e-9;

#[test]
fn exceedance_curve_is_non_increasing_and_matches_a_direct_count() {
    let dir = shared();
    for col in ["exposure", "insurance", "village_fund", "comp_fund", "bank_loss"] {
        let v = column_fen(dir, col);
        assert_eq!(v.len(), TRIALS);
        let curve = charts::exceedance_series(&v);
        assert!(!curve.is_empty());
        assert!(curve.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1), "{col}: not monotone");
        assert_eq!(curve.last().unwrap().1, 0.0, "{col}: nothing exceeds the maximum");
        for &(x, p) in &curve {
            let fen = (x * 100.0).round() as i64;
            let above = v.iter().filter(|&&y| y > fen).count();
            assert_eq!(p, above as f64 / TRIALS as f64, "{col} at {x}");
        }
    }
}

#[test]
fn waterfall_bars_add_up_to_the_summary_means() {
    let dir = shared();
    let s = summary(dir);
    let means: BTreeMap<String, f64> = charts::WATERFALL.iter().map(|c| (c.to_string(), mean(&s, c))).collect();
    let bars = charts::waterfall_series(&means);
    assert_eq!(bars.len(), charts::WATERFALL.len());
    assert_eq!((bars[0].top, bars[0].bottom), (mean(&s, "exposure"), 0.0));
    for (i, b) in bars.iter().enumerate().skip(1) {
        // The first layer takes its share off the whole exposure; each next one off what is left.
        let left = if i == 1 { bars[0].top } else { bars[i - 1].bottom };
        assert_eq!(b.top, left, "bar {} starts where the previous ends", b.layer);
        assert!((b.value() - mean(&s, b.layer)).abs() < 1e-6, "{}: {} vs {}", b.layer, b.value(), mean(&s, b.layer));
    }
    // Money is conserved in every trial, so the bank's bar ends at 0 up to the
    // rounding of seven means to the fen.
    let rest = bars.last().unwrap().bottom;
    assert!(rest.abs() <= 7.0 * HALF_FEN, "left over {rest}");
    // And the summary's means are the trial table's.
    for c in charts::WATERFALL {
        let v = column_fen(dir, c);
        let direct = v.iter().sum::<i64>() as f64 / v.len() as f64 / 100.0;
        assert!((direct - mean(&s, c)).abs() <= HALF_FEN, "{c}: {direct} vs {}", mean(&s, c));
    }
}

#[test]
fn running_mean_ends_at_the_column_mean() {
    let dir = shared();
    let s = summary(dir);
    let d = load_run(dir).unwrap();
    for col in ["bank_total", "comp_fund", "exposure"] {
        let v = d.trials.column(col).unwrap();
        let r = stats::running_mean(&v, CONFIDENCE, 1);
        assert_eq!(r.len(), TRIALS);
        assert_eq!(r.last().unwrap().n, TRIALS as u64);
        let exact = v.iter().map(|&x| x as i128).sum::<i128>() as f64 / TRIALS as f64;
        let last = r.last().unwrap();
        assert!((last.mean - exact).abs() < 1e-6, "{col}");
        let yuan = last.mean / 100.0;
        assert!((yuan - mean(&s, col)).abs() <= HALF_FEN, "{col}: {yuan} vs summary {}", mean(&s, col));
        // The chart's thinned series ends at the same point, in yuan.
        let drawn = charts::running_mean_yuan(&v, 50);
        assert!(drawn.len() <= 51 && drawn.last().unwrap().mean == yuan, "{col}");
        assert!(r.iter().all(|p| p.lo <= p.mean && p.mean <= p.hi), "{col}: band around the mean");
        // The band narrows as trials accumulate (roughly as 1/sqrt(n)).
        assert!(last.hi - last.lo < r[TRIALS / 10].hi - r[TRIALS / 10].lo, "{col}: band narrows");
    }
    // bank_total is the bank's share plus the shortfall it bears, trial by trial.
    let (bl, sb) = (column_fen(dir, "bank_loss"), column_fen(dir, "shortfall_to_bank"));
    let bt = d.trials.column("bank_total").unwrap();
    assert!(bt.iter().zip(bl.iter().zip(&sb)).all(|(t, (a, b))| *t == a + b));
}

#[test]
fn fund_balance_bands_start_at_the_deposit_and_are_ordered() {
    let dir = shared();
    let s = summary(dir);
    let d = load_run(dir).unwrap();
    let accounts = s["adequacy"]["accounts"].as_array().unwrap();
    assert_eq!(d.balances.len(), 2, "mini has two banks in one county");
    let horizon = s["horizon_years"].as_u64().unwrap() as usize;
    for b in &d.balances {
        let deposit: f64 =
            accounts.iter().filter(|a| a["bank"] == b.bank.as_str()).map(|a| a["deposit"].as_f64().unwrap()).sum();
        let band = charts::balance_band(b);
        assert_eq!(band.len(), horizon + 1);
        assert!((band[0].p50 - deposit).abs() < 0.01, "{}: year 0 is the deposit", b.bank);
        for p in &band {
            assert!(p.p1 <= p.p5 && p.p5 <= p.p50 && p.p50 <= p.p95, "{}: {p:?}", b.bank);
            // No top-ups in mini: a balance only falls.
            assert!(p.p95 <= deposit + 0.01);
        }
        assert!(b.by_year.iter().all(|y| y.len() == TRIALS));
        // The axis is chosen around the band: it holds every quantile drawn,
        // and the band fills most of it rather than a sliver above 0.
        let (lo, hi) = charts::balance_range(&band);
        assert!(band.iter().all(|p| lo < p.p1 && p.p95 < hi), "{}: {lo} .. {hi}", b.bank);
        let spread =
            band.iter().map(|p| p.p95).fold(f64::MIN, f64::max) - band.iter().map(|p| p.p1).fold(f64::MAX, f64::min);
        if spread > 0.0 {
            assert!(spread / (hi - lo) > 0.7, "{}: the band fills {} of the axis", b.bank, spread / (hi - lo));
        }
    }
}

#[test]
fn the_convergence_lines_stay_inside_their_axes() {
    let d = load_run(shared()).unwrap();
    for col in ["bank_total", "comp_fund"] {
        let v = d.trials.column(col).unwrap();
        let n = v.len() as u64;
        let drawn: Vec<_> =
            charts::running_mean_yuan(&v, 800).into_iter().filter(|p| p.n > n / 100 || p.n == n).collect();
        let (y0, y1) = charts::convergence_range(&drawn, n);
        assert!(drawn.iter().all(|p| y0 <= p.mean && p.mean <= y1), "{col}: the running mean leaves {y0} .. {y1}");
        let mut band: Vec<(f64, f64)> = drawn.iter().map(|p| (p.n as f64, p.hi)).collect();
        band.extend(drawn.iter().rev().map(|p| (p.n as f64, p.lo)));
        let cut = charts::clip_polygon(&band, y0, y1);
        assert!(!cut.is_empty() && cut.iter().all(|&(_, y)| y0 - 1e-9 <= y && y <= y1 + 1e-9), "{col}");
    }
}

#[test]
fn the_exceedance_axis_ends_at_one_in_the_trials() {
    let svg = charts::render_svg(Chart::Exceedance, &load_run(shared()).unwrap(), Lang::En).unwrap();
    // 300 trials resolve 1 in 300, not 1 in 1,000; the named levels are ticks.
    assert!(svg.contains("\n1 in 300\n") && svg.contains("\n1 in 100\n"), "{svg}");
    assert!(!svg.contains("1 in 1,000"), "{svg}");
    let (floor, ticks) = charts::exceedance_axis(TRIALS);
    assert!(floor < 1.0 / TRIALS as f64 && ticks.contains(&(1.0 / TRIALS as f64)));
}

#[test]
fn histogram_covers_every_trial() {
    let v = column_fen(shared(), "exposure");
    let h = charts::histogram(&v, 30);
    assert_eq!(h.len(), 30);
    assert!((h.iter().map(|b| b.share).sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(h[0].lo, *v.iter().min().unwrap() as f64 / 100.0);
    assert!((h[29].hi - *v.iter().max().unwrap() as f64 / 100.0).abs() < 1e-6);
}

/// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: enough for a few files.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// Checks a PNG's structure: the signature, an IHDR of the given size, every
/// chunk's CRC, image data, and the end chunk. Returns (width, height).
fn check_png(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}: PNG signature", path.display());
    let mut i = 8;
    let (mut size, mut idat, mut iend) = (None, 0usize, false);
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
        let kind = &b[i + 4..i + 8];
        let data = &b[i + 8..i + 8 + len];
        let crc = u32::from_be_bytes(b[i + 8 + len..i + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&b[i + 4..i + 8 + len]), "{}: CRC of {:?}", path.display(), kind);
        match kind {
            b"IHDR" => {
                let w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                let h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                size = Some((w, h));
            }
            b"IDAT" => idat += len,
            b"IEND" => iend = true,
            _ => {}
        }
        i += 12 + len;
    }
    assert!(iend && i == b.len(), "{}: ends with IEND", path.display());
    let (w, h) = size.expect("IHDR");
    assert!(w >= 800 && h >= 400, "{}: {w}x{h}", path.display());
    // A blank white image compresses to almost nothing; a chart does not.
    assert!(idat > 10_000, "{}: only {idat} bytes of image data", path.display());
    (w, h)
}

fn check_svg(path: &Path) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.trim_start().starts_with("<svg"), "{}", path.display());
    assert!(s.trim_end().ends_with("</svg>"), "{}", path.display());
    assert!(s.contains("<text"), "{}: has labels", path.display());
    assert!(s.matches("<svg").count() == 1 && s.matches("</svg>").count() == 1);
}

fn stems(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

#[test]
fn charts_are_valid_png_and_svg() {
    let run = simulate("run");
    // The sizing chart is drawn only when size_curve.csv is there.
    let _ = std::fs::remove_file(run.path().join("size_curve.csv"));
    let files = charts::write_charts(run.path(), Lang::En).unwrap();
    let names = stems(&files);
    for stem in ["waterfall", "exceedance", "loss_distribution", "fund_balance", "convergence"] {
        for ext in ["png", "svg"] {
            assert!(names.contains(&format!("{stem}.{ext}")), "{stem}.{ext} in {names:?}");
        }
    }
    assert!(!names.iter().any(|n| n.starts_with("sizing")), "{names:?}");
    for f in &files {
        assert!(f.exists());
        match f.extension().unwrap().to_str().unwrap() {
            "png" => {
                check_png(f);
            }
            "svg" => check_svg(f),
            e => panic!("unexpected {e}"),
        }
    }
    // Redrawing gives the same bytes: the charts are a function of the files.
    let first = std::fs::read(run.path().join("exceedance.svg")).unwrap();
    charts::write_charts(run.path(), Lang::En).unwrap();
    assert_eq!(first, std::fs::read(run.path().join("exceedance.svg")).unwrap());
}

#[test]
fn sizing_chart_and_table_when_the_run_has_them() {
    let run = simulate("size");
    assert!(run.path().join("size_curve.csv").exists() && run.path().join("size.json").exists());
    let d = load_run(run.path()).unwrap();
    let curve = charts::curves_by_account(d.size_curve.as_ref().unwrap());
    assert_eq!(curve.len(), 2, "one curve per account");
    for (_, pts) in &curve {
        assert!(pts.windows(2).all(|w| w[0].ratio <= w[1].ratio));
        assert!(pts.iter().any(|p| (p.ratio - 10.0).abs() < 1e-9), "the grid includes 10:1");
    }
    let files = charts::write_charts(run.path(), Lang::Zh).unwrap();
    let names = stems(&files);
    assert!(names.contains(&"sizing.png".into()) && names.contains(&"sizing.svg".into()), "{names:?}");
    check_png(&run.path().join("sizing.png"));
    // Chinese labels, the embedded font named first.
    let svg = std::fs::read_to_string(run.path().join("sizing.svg")).unwrap();
    assert!(svg.contains("目标") && svg.contains("font-family=\"riskshare Sans"));
    let report = std::fs::read_to_string(html::write_report(run.path(), Lang::En, "riskshare size").unwrap()).unwrap();
    assert!(report.contains("How big must each deposit be?") && report.contains("deposit needed"));
    assert!(report.contains("To run dry in at most 1 % of futures, the loans : fund ratio may be at most"));
    assert_eq!(report.matches("<svg").count(), 6, "every chart, the sizing curve too");
    // Where each account's curve crosses the 1 % target: marked, and near the
    // ratio the sizing reads from the trials at 99 % (the curve's grid steps
    // by about 12 %).
    let sizing = d.sizing.as_ref().unwrap();
    for (account, pts) in &curve {
        let crossing = charts::target_crossing(pts, charts::DEPLETION_TARGET);
        let sized = sizing
            .accounts
            .iter()
            .find(|a| format!("{}/{}", a.bank, a.county) == *account)
            .and_then(|a| a.levels.iter().find(|l| (l.confidence - 0.99).abs() < 1e-9))
            .and_then(|l| l.ratio);
        if let (Some(c), Some(r)) = (crossing, sized) {
            assert!((c / r).ln().abs() < 0.2, "{account}: the curve crosses 1 % at {c}, the sizing says {r}");
        }
    }
    let en = charts::render_svg(Chart::Sizing, &d, Lang::En).unwrap();
    if curve.iter().any(|(_, pts)| charts::target_crossing(pts, charts::DEPLETION_TARGET).is_some()) {
        assert!(en.contains("1 % reached at") && en.contains("(1 % at "), "{en}");
    }
    assert!(en.contains("target: at most 1 %"));
}

/// The charts and the report read summary.json and size.json as the types
/// the run wrote them from: read back, they write the same bytes again.
#[test]
fn summary_and_sizing_are_read_back_as_the_types_that_wrote_them() {
    let run = simulate("size");
    let d = load_run(run.path()).unwrap();
    let file = |name: &str| std::fs::read_to_string(run.path().join(name)).unwrap();
    let summary: Summary = serde_json::from_str(&file("summary.json")).unwrap();
    assert_eq!(d.summary, summary);
    assert_eq!(serde_json::to_string_pretty(&d.summary).unwrap() + "\n", file("summary.json"));
    let sizing: &Sizing = d.sizing.as_ref().expect("size writes size.json");
    assert_eq!(serde_json::to_string_pretty(sizing).unwrap() + "\n", file("size.json"));
    assert_eq!(riskshare::report::tables_csv::size_curve(d.size_curve.as_ref().unwrap()), file("size_curve.csv"));
    // The scenario as run, typed: what the report's assumptions are read from.
    let scenario = d.scenario.as_ref().expect("scenario.resolved.yaml");
    assert_eq!(scenario.name, summary.scenario);
    // A renamed field is an error naming the file, not a quietly shorter report.
    let broken = file("summary.json").replace("\"bank_loss\"", "\"bank_share\"");
    std::fs::write(run.path().join("summary.json"), broken).unwrap();
    let err = format!("{:#}", load_run(run.path()).unwrap_err());
    assert!(err.contains("summary.json") && err.contains("bank_loss"), "{err}");
}

#[test]
fn report_is_self_contained_and_answers_the_questions() {
    let run = simulate("run");
    let dir = run.path();
    let _ = std::fs::remove_file(dir.join("size_curve.csv"));
    let command = "riskshare run tests/scenarios/mini.yaml --trials 300";
    let path = html::write_report(dir, Lang::En, command).unwrap();
    assert_eq!(path, dir.join("report.html"));
    let page = std::fs::read_to_string(&path).unwrap();
    let s = summary(dir);
    let d = load_run(dir).unwrap();
    let available = Chart::ALL.iter().filter(|c| c.available(&d)).count();
    assert_eq!(available, 5, "all but sizing");
    assert_eq!(page.matches("<svg").count(), available);
    assert_eq!(page.matches("</svg>").count(), available);
    for c in Chart::ALL.iter().filter(|c| c.available(&d)) {
        assert!(page.contains(&format!("<figure id=\"{}\">", c.stem())), "{}", c.stem());
    }
    // Self-contained: no scripts, nothing fetched.
    let lower = page.to_lowercase();
    for bad in ["<script", "src=\"http", "href=\"http", "src='http", "href='http", "url(http", "@import", "<link"] {
        assert!(!lower.contains(bad), "{bad}");
    }
    // The key sentence, with the figures of this run.
    assert!(page.contains("ran dry in") && page.contains("the target is at most 1 %"), "key sentence");
    assert!(page.contains("So 10:1 is") || page.contains("cannot yet tell"), "verdict");
    let p99 = s["layers"]["bank_total"]["p99"].as_f64().unwrap();
    assert!(page.contains(&format!(
        "The banks&#39; 1-in-100 loss: in 1 future in 100 the banks together lose more than CNY {}",
        riskshare::report::format::group(p99, 0)
    )));
    // The scenario, its assumptions and the reproducibility line.
    assert!(page.contains("<h1>mini: loan risk-sharing report</h1>"));
    assert!(page.contains("Small test portfolio with every layer on."));
    assert!(page.contains("Correlation of defaults with the economy (rho)</th><td>0.15"));
    assert!(page.contains("flood 0.4 /yr") && page.contains("fmd 0.2 /yr"));
    assert!(page.contains(&format!("seed {}", s["seed"])) && page.contains(command));
    assert!(page.contains("size.json is absent"));

    // Chinese.
    let page = std::fs::read_to_string(html::write_report(dir, Lang::Zh, command).unwrap()).unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"));
    assert!(page.contains("目标是不超过 1 %") && page.contains("银行的百年一遇损失"));
    assert!(page.contains("Noto Sans CJK SC"));
    assert_eq!(page.matches("<svg").count(), available);
}

/// Chinese needs nothing from the reader's machine: the report carries the
/// font (cut to its text) and the PNGs are drawn in Chinese with it.
#[test]
fn chinese_reports_carry_their_font_and_chinese_pngs() {
    let en = tempfile::tempdir().unwrap();
    let zh = tempfile::tempdir().unwrap();
    for (dir, lang) in [(&en, Lang::En), (&zh, Lang::Zh)] {
        for f in ["trials.csv", "years.csv", "summary.json", "scenario.resolved.yaml"] {
            std::fs::copy(shared().join(f), dir.path().join(f)).unwrap();
        }
        charts::write_charts(dir.path(), lang).unwrap();
        html::write_report(dir.path(), lang, "riskshare run").unwrap();
    }
    let png = |d: &TempDir| std::fs::read(d.path().join("waterfall.png")).unwrap();
    // A Chinese SVG file carries the font too (report.html embeds it once for all).
    let svg = |d: &TempDir| std::fs::read_to_string(d.path().join("waterfall.svg")).unwrap();
    assert!(svg(&zh).contains("<defs><style>@font-face{font-family:'riskshare Sans'"));
    assert!(!svg(&en).contains("@font-face"));
    assert_ne!(png(&en), png(&zh), "the Chinese waterfall.png is drawn in Chinese");
    check_png(&zh.path().join("waterfall.png"));
    let report = std::fs::read_to_string(zh.path().join("report.html")).unwrap();
    let face = report.find("@font-face{font-family:'riskshare Sans';src:url(data:font/ttf;base64,").expect("a font");
    assert!(face < report.find("</head>").unwrap(), "in the head");
    assert!(report.contains("font-family:'riskshare Sans'"));
    // Cut to the page: far below the 2 MB the binary carries.
    assert!(report.len() < 1_500_000, "{} bytes", report.len());
}

#[test]
fn the_verdict_follows_the_interval() {
    // A fund that ran dry often: the report must say 10:1 is not enough.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_riskshare"))
        .args(["run", "tests/scenarios/mini.yaml", "--trials", "200", "--set", "funds.compensation.deposit_ratio=2000"])
        .arg("--out")
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = load_run(dir.path()).unwrap();
    let worst = d.summary.adequacy.accounts.iter().map(|a| a.exhausted.lo).fold(0.0, f64::max);
    assert!(worst > 0.01, "a 2000:1 fund runs dry often (lower bound {worst})");
    let sentence = html::adequacy_sentence(&d.summary, &d.labels(), Lang::En);
    assert!(sentence.starts_with("At 2,000:1, each bank's compensation fund ran dry in at most"), "{sentence}");
    let verdict = html::adequacy_verdict(&d.summary, &d.labels(), None, Lang::En);
    assert!(verdict.contains("So 2,000:1 is not enough for"), "{verdict}");
}

#[test]
fn a_run_draws_from_memory_what_report_draws_from_its_files() {
    // `run` hands its charts the tables it holds; `report` parses them back
    // from the CSVs: the files must be the same bytes.
    let run = shared();
    let copy = tempfile::tempdir().unwrap();
    // The tables and summaries only: the redraw must make every chart itself.
    for entry in std::fs::read_dir(run).unwrap() {
        let path = entry.unwrap().path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("csv" | "json" | "yaml")) {
            std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_riskshare")).arg("report").arg(copy.path()).output().unwrap();
    assert!(out.status.success(), "riskshare report failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut charts = 0;
    for entry in std::fs::read_dir(run).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "png" || ext == "svg" {
            charts += 1;
            let redrawn = std::fs::read(copy.path().join(path.file_name().unwrap())).unwrap();
            assert!(std::fs::read(&path).unwrap() == redrawn, "{} differs when redrawn", path.display());
        }
    }
    assert!(charts >= 10, "only {charts} chart files");
}
