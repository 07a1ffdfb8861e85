//! Display names (`label: {zh, en}`, docs/scenario.md "Display names"):
//! what the file may say, how a name falls back, and that the shipped
//! scenarios and the reports use them.

use std::path::Path;
use std::process::Command;

use riskshare::model::Model;
use riskshare::report::format::Lang;
use riskshare::report::labels::{Kind, Labels};
use riskshare::scenario::validate::{Problems, validate};
use riskshare::scenario::{self, Labelled, Override, Problem, Scenario};

/// A valid scenario whose `banks` list is `banks`.
fn with_banks(banks: &str) -> String {
    format!(
        "name: t
grades: [{{id: A, pd: 0.01}}]
industries: [{{id: tea}}]
products: [{{id: micro}}]
banks: {banks}
counties: [{{id: c, village_counts: {{plain: 2}}}}]
portfolio:
  cohorts:
    - {{name: m, count: 10, product: micro, borrower: household, banks: {{rcc: 1}}, industries: {{tea: 1}},
       grades: {{A: 1}}, principal: {{fixed: 40000}}, rate: 0.04, term_years: 1}}
"
    )
}

fn parse(yaml: &str) -> Scenario {
    scenario::parse(yaml, "t.yaml", &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems validation finds in `yaml`, which must parse.
fn problems(yaml: &str) -> Vec<Problem> {
    let mut p = Problems::new("t.yaml");
    validate(&parse(yaml), &mut p);
    p.list
}

/// The one problem at `path`, which must be there.
fn problem_at<'a>(list: &'a [Problem], path: &str) -> &'a str {
    let at: Vec<&Problem> = list.iter().filter(|p| p.path == path).collect();
    assert_eq!(at.len(), 1, "one problem at {path} expected, found {list:#?}");
    &at[0].message
}

#[test]
fn labels_parse_in_either_or_both_languages_and_survive_the_resolved_file() {
    let yaml = with_banks(
        "[{id: rcc, label: {zh: 信用联社, en: rural credit cooperative}}, {id: abc, label: {zh: 农行}},
          {id: gs, label: {en: Guishang Bank}}, {id: old, name: Old Bank, label: {zh: 老银行}}, {id: bare}]",
    )
    .replace("name: t\n", "name: t\nlabel: {zh: 测试情景}\n");
    assert!(problems(&yaml).is_empty(), "{:#?}", problems(&yaml));
    let s = parse(&yaml);
    // scenario.resolved.yaml is what `report` reads back: the labels must be in it.
    let again = parse(&scenario::to_yaml(&s));
    assert_eq!(Labels::of(&again), Labels::of(&s));
    let l = Labels::of(&s);
    let both = |id: &str| [Lang::Zh, Lang::En].map(|lang| l.name(Kind::Bank, id, lang).to_string());
    assert_eq!(both("rcc"), ["信用联社", "rural credit cooperative"]);
    assert_eq!(both("old"), ["老银行", "Old Bank"], "`name` is the English name");
    assert_eq!(l.title("t", Lang::En), "测试情景");
}

#[test]
fn a_name_falls_back_to_the_other_language_then_to_the_id() {
    let l = Labels::of(&parse(&with_banks(
        "[{id: rcc, label: {zh: 信用联社}}, {id: gs, label: {en: Guishang Bank}}, {id: old, name: Old Bank},
          {id: bare}]",
    )));
    for lang in [Lang::Zh, Lang::En] {
        assert_eq!(l.name(Kind::Bank, "rcc", lang), "信用联社");
        assert_eq!(l.name(Kind::Bank, "gs", lang), "Guishang Bank");
        assert_eq!(l.name(Kind::Bank, "old", lang), "Old Bank");
        assert_eq!(l.name(Kind::Bank, "bare", lang), "bare");
        assert_eq!(l.get(Kind::Bank, "bare", lang), None);
        // Kinds do not mix: the county `c` is not a bank.
        assert_eq!(l.name(Kind::Bank, "c", lang), "c");
        assert_eq!(l.title("t", lang), "t", "no title: the scenario's name");
    }
    assert_eq!(l.names(Kind::Bank, ["rcc", "bare"], Lang::En), ["信用联社", "bare"]);
}

#[test]
fn summary_json_keeps_each_banks_english_name() {
    let yaml = with_banks(
        "[{id: rcc, label: {zh: 信用联社, en: rural credit cooperative}}, {id: abc, label: {zh: 农行}},
          {id: old, name: Old Bank}, {id: bare}]",
    );
    let m = Model::build(parse(&yaml), "t.yaml", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.bank_names, ["rural credit cooperative", "农行", "Old Bank", "bare"]);
}

#[test]
fn an_unknown_key_in_a_label_is_refused_with_the_nearest() {
    let yaml = with_banks("[{id: rcc, label: {zh: 信用联社, eng: rural credit cooperative}}]");
    let err = scenario::parse(&yaml, "t.yaml", &[]).unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.path, "banks[0].label.eng");
    assert_eq!(p.line, Some(5));
    assert!(p.message.contains("unknown key `eng`; did you mean `en`?"), "{}", p.message);
    assert!(p.message.contains("(expected one of: zh, en)"), "{}", p.message);
}

#[test]
fn a_label_written_as_a_plain_name_says_what_is_expected() {
    let err = scenario::parse(&with_banks("[{id: rcc, label: 信用联社}]"), "t.yaml", &[]).unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.path, "banks[0].label");
    assert!(p.message.contains("{zh: 信用联社, en: rural credit cooperative}"), "{}", p.message);
}

#[test]
fn empty_blank_and_missing_names_are_refused() {
    let list = problems(
        &with_banks(
            "[{id: rcc, label: {zh: \"\"}}, {id: abc, label: {}}, {id: gs, label: {en: \"  \", zh: 贵商银行}},
              {id: tab, label: {zh: \"信用\\t联社\"}}]",
        )
        .replace("name: t\n", "name: t\nlabel: {en: \"\"}\n"),
    );
    assert!(problem_at(&list, "banks[0].label.zh").contains("found an empty one"));
    assert!(problem_at(&list, "banks[1].label").contains("expected `zh` or `en`"));
    assert!(problem_at(&list, "banks[2].label.en").contains("found an empty one"));
    assert!(problem_at(&list, "banks[3].label.zh").contains("control characters"));
    assert!(problem_at(&list, "label.en").contains("found an empty one"));
    assert_eq!(list.len(), 5, "{list:#?}");
    let long = format!("[{{id: rcc, label: {{zh: {}}}}}]", "长".repeat(201));
    assert!(problem_at(&problems(&with_banks(&long)), "banks[0].label.zh").contains("at most 200 characters"));
}

#[test]
fn the_english_name_is_given_once() {
    // `name` is the English name: with `label.zh` it is fine, with `label.en` it says the same thing twice.
    assert!(problems(&with_banks("[{id: rcc, name: RCC, label: {zh: 信用联社}}]")).is_empty());
    let list = problems(&with_banks("[{id: rcc, name: RCC, label: {en: Rural credit cooperative}}]"));
    let m = problem_at(&list, "banks[0].label.en");
    assert!(m.contains("`name` (`RCC`)") && m.contains("give it once"), "{m}");
    // Every kind is checked, perils and diseases included.
    let yaml = with_banks("[{id: rcc}]").replace(
        "portfolio:",
        "hazards:\n  perils: [{id: flood, label: {zh: \"\"}, rate: 0.1, hit: {plain: 0.5}, damage: {fixed: 0.2},\n    \
         vulnerability: {tea: 1}}]\nepidemics:\n  diseases: [{id: asf, label: {}, rate: 0.1, hit: {plain: 0.5},\n    \
         mortality: {fixed: 0.9}, species: [pig]}]\nportfolio:",
    );
    let yaml = yaml.replace("[{id: tea}]", "[{id: tea}, {id: pig, kind: livestock, species: pig}]");
    let list = problems(&yaml);
    assert!(problem_at(&list, "hazards.perils[0].label.zh").contains("empty"));
    assert!(problem_at(&list, "epidemics.diseases[0].label").contains("expected `zh` or `en`"));
}

#[test]
fn set_reaches_a_label() {
    let o: Override = "banks.rcc.label.zh=农村信用社".parse().unwrap();
    let s = scenario::parse(&with_banks("[{id: rcc, label: {en: RCC}}]"), "t.yaml", &[o]).unwrap();
    let l = Labels::of(&s);
    assert_eq!([Lang::Zh, Lang::En].map(|lang| l.name(Kind::Bank, "rcc", lang)), ["农村信用社", "RCC"]);
}

#[test]
fn a_variant_that_renames_the_scenario_drops_the_base_title() {
    let base = with_banks("[{id: rcc, label: {zh: 信用联社}}]").replace("name: t\n", "name: t\nlabel: {zh: 基准}\n");
    let title = |variant: &str| {
        let v = scenario::variant_of(variant, "v.yaml").unwrap().unwrap();
        let s = scenario::parse_variant(&base, "t.yaml", &v, "v.yaml", &[]).unwrap().scenario;
        let l = Labels::of(&s);
        (l.title(&s.name, Lang::Zh).to_string(), l.name(Kind::Bank, "rcc", Lang::Zh).to_string())
    };
    assert_eq!(title("base: t.yaml\nname: t-8\n"), ("t-8".into(), "信用联社".into()));
    assert_eq!(title("base: t.yaml\nname: t-8\nlabel: {zh: 八比一}\n"), ("八比一".into(), "信用联社".into()));
    assert_eq!(title("base: t.yaml\nset: {simulation.trials: 5}\n"), ("基准".into(), "信用联社".into()));
}

/// Each thing the scenario names has a name in both languages, and so has the scenario.
fn named_in_both(s: &Scenario, file: &str) {
    fn check<T: Labelled>(file: &str, what: &str, items: &[T]) {
        for it in items {
            let l = it.display();
            assert!(l.zh.is_some() && l.en.is_some(), "{file}: {what} `{}` lacks a Chinese or English name", it.id());
        }
    }
    let t = s.label.as_ref().unwrap_or_else(|| panic!("{file}: no title"));
    assert!(t.zh.is_some() && t.en.is_some(), "{file}: title in one language only");
    check(file, "bank", &s.banks);
    check(file, "county", &s.counties);
    check(file, "zone", &s.zones);
    check(file, "product", &s.products);
    check(file, "industry", &s.industries);
    check(file, "peril", &s.hazards.perils);
    check(file, "disease", &s.epidemics.diseases);
    check(file, "shock", &s.shocks);
}

#[test]
fn the_shipped_scenarios_name_everything_in_chinese_and_english() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let s = match scenario::variant_of(&text, &file).unwrap() {
            None => parse(&text),
            Some(v) => {
                let base = std::fs::read_to_string(dir.join(&v.base)).unwrap();
                scenario::parse_variant(&base, &v.base, &v, &file, &[]).unwrap_or_else(|e| panic!("{e}")).scenario
            }
        };
        named_in_both(&s, &file);
        seen += 1;
    }
    assert!(seen >= 13, "only {seen} scenarios read");
    // The built-in scenario names its banks as the seed does.
    let l = Labels::of(&parse(scenario::WANGCANG_YAML));
    assert_eq!(l.names(Kind::Bank, ["rcc", "abc", "guishang"], Lang::Zh), ["信用联社", "农行", "贵商银行"]);
    assert_eq!(l.name(Kind::Disease, "african_swine_fever", Lang::Zh), "非洲猪瘟");
    assert_eq!(l.name(Kind::Peril, "flood", Lang::Zh), "洪涝");
    assert_eq!(l.name(Kind::Product, "micro_credit", Lang::Zh), "扶贫小额信贷");
    assert_eq!(l.name(Kind::County, "wangcang", Lang::Zh), "旺苍县");
}

#[test]
fn the_reports_name_wangcangs_banks_and_hazards_in_the_readers_language() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_riskshare");
    let out = dir.path().join("w");
    let o = Command::new(bin).args(["run", "--trials", "200", "--lang", "zh", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.starts_with("旺苍县基准情景: 200 trials"), "{printed}");
    assert!(printed.contains("  信用联社 ") && printed.contains("  贵商银行 "), "{printed}");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let zh = read("report.html");
    for name in [
        "<title>旺苍县基准情景：",
        "信用联社",
        "农行",
        "贵商银行",
        "旺苍县",
        "扶贫小额信贷",
        "洪涝",
        "非洲猪瘟",
        "意外伤残",
    ] {
        assert!(zh.contains(name), "the zh report lacks {name}");
    }
    // (The scenario's English description stays as written.)
    for id in ["rcc", "guishang", "micro_credit", "african_swine_fever", "sheep_pox", "Wangcang rural"] {
        assert!(!zh.contains(id), "the zh report shows `{id}`");
    }
    // Programs keep the ids and the English name.
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    let account = &summary["adequacy"]["accounts"][0];
    assert_eq!((account["bank"].as_str(), account["county"].as_str()), (Some("rcc"), Some("wangcang")));
    assert_eq!(account["bank_name"], "Wangcang rural credit cooperative");
    let o = Command::new(bin).args(["report", "--lang", "en"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let en = read("report.html");
    for name in
        ["Wangcang County baseline: loan", "Wangcang rural credit cooperative", "Guishang Bank", "African swine fever"]
    {
        assert!(en.contains(name), "the en report lacks {name}");
    }
    assert!(!en.contains("信用联社") && !en.contains("african_swine_fever"));
}
