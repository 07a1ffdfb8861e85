//! Display names: what a reader is shown for a scenario's banks, counties,
//! zones, products, industries, perils, diseases and shocks, and for the
//! scenario itself, in the report's language. Built once from the
//! scenario's `label`s (docs/scenario.md, "Display names"); every output
//! that shows these ids to people asks [`Labels::name`], so that they all
//! fall back the same way: the label in the language asked for, then in the
//! other language (the older `name` key counts as English), then the id.
//! CSV columns, JSON keys, file names and key paths keep the ids.

use std::collections::BTreeMap;

use crate::report::format::Lang;
use crate::scenario::{Label, Labelled, Scenario};

/// What kind of thing an id names: ids are unique within a kind only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Bank,
    County,
    Zone,
    Product,
    Industry,
    Peril,
    Disease,
    Shock,
}

/// A scenario's display names, by kind and id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    title: Label,
    names: BTreeMap<Kind, BTreeMap<String, Label>>,
}

impl Labels {
    /// The display names a scenario gives; things without any are left
    /// out, and [`Labels::name`] shows their ids.
    pub fn of(s: &Scenario) -> Labels {
        let mut l = Labels { title: s.label.clone().unwrap_or_default(), names: BTreeMap::new() };
        l.add(Kind::Bank, &s.banks);
        l.add(Kind::County, &s.counties);
        l.add(Kind::Zone, &s.zones);
        l.add(Kind::Product, &s.products);
        l.add(Kind::Industry, &s.industries);
        l.add(Kind::Peril, &s.hazards.perils);
        l.add(Kind::Disease, &s.epidemics.diseases);
        l.add(Kind::Shock, &s.shocks);
        l
    }

    fn add<T: Labelled>(&mut self, kind: Kind, items: &[T]) {
        for it in items {
            self.insert(kind, it.id(), it.display());
        }
    }

    /// Gives `id` the names `label` (replacing any), unless `label` is empty.
    pub fn insert(&mut self, kind: Kind, id: &str, label: Label) {
        if label.pick(false).is_some() {
            self.names.entry(kind).or_default().insert(id.to_string(), label);
        }
    }

    /// What a reader is shown for `id`: its name in `lang`, else in the
    /// other language, else `id` itself.
    pub fn name<'a>(&'a self, kind: Kind, id: &'a str, lang: Lang) -> &'a str {
        self.get(kind, id, lang).unwrap_or(id)
    }

    /// [`Labels::name`] when the scenario names `id`, `None` when it does not.
    pub fn get(&self, kind: Kind, id: &str, lang: Lang) -> Option<&str> {
        self.names.get(&kind)?.get(id)?.pick(lang == Lang::Zh)
    }

    /// The names of a list of ids, as [`Labels::name`].
    pub fn names<'a>(&'a self, kind: Kind, ids: impl IntoIterator<Item = &'a str>, lang: Lang) -> Vec<&'a str> {
        ids.into_iter().map(|id| self.name(kind, id, lang)).collect()
    }

    /// The scenario's title: its `label` in `lang`, else in the other
    /// language, else `name` (the scenario's short name).
    pub fn title<'a>(&'a self, name: &'a str, lang: Lang) -> &'a str {
        self.title.pick(lang == Lang::Zh).unwrap_or(name)
    }

    /// A compensation account (one bank in one county): the bank's name, and
    /// the county's after a slash when `with_county` (a run with several
    /// counties).
    pub fn account(&self, bank: &str, county: &str, with_county: bool, lang: Lang) -> String {
        let b = self.name(Kind::Bank, bank, lang);
        if with_county { format!("{b} / {}", self.name(Kind::County, county, lang)) } else { b.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(zh: Option<&str>, en: Option<&str>) -> Label {
        Label { zh: zh.map(String::from), en: en.map(String::from) }
    }

    #[test]
    fn falls_back_to_the_other_language_then_the_id() {
        let mut l = Labels::default();
        l.insert(Kind::Bank, "both", label(Some("信用联社"), Some("rural credit cooperative")));
        l.insert(Kind::Bank, "zh", label(Some("农行"), None));
        l.insert(Kind::Bank, "en", label(None, Some("Guishang Bank")));
        l.insert(Kind::Bank, "none", label(None, None));
        let both = [Lang::Zh, Lang::En].map(|lang| l.name(Kind::Bank, "both", lang));
        assert_eq!(both, ["信用联社", "rural credit cooperative"]);
        assert_eq!([Lang::Zh, Lang::En].map(|lang| l.name(Kind::Bank, "zh", lang)), ["农行", "农行"]);
        assert_eq!([Lang::Zh, Lang::En].map(|lang| l.name(Kind::Bank, "en", lang)), ["Guishang Bank"; 2]);
        assert_eq!(l.name(Kind::Bank, "none", Lang::Zh), "none");
        assert_eq!(l.get(Kind::Bank, "none", Lang::Zh), None);
        // Ids are unique within a kind only.
        assert_eq!(l.name(Kind::County, "both", Lang::Zh), "both");
    }

    #[test]
    fn name_is_the_english_label() {
        let s = crate::scenario::parse(
            "name: t\nlabel: {zh: 测试}\ngrades: [{id: A, pd: 0.01}]\nindustries: [{id: tea}]\n\
             products: [{id: p}]\nbanks: [{id: b, name: Bank B, label: {zh: 乙行}}, {id: c, name: Bank C}]\n\
             counties: [{id: x, label: {en: X County}, village_counts: {plain: 1}}]\n\
             portfolio: {tapes: [t.csv]}\n",
            "t.yaml",
            &[],
        )
        .unwrap();
        let l = Labels::of(&s);
        assert_eq!(l.name(Kind::Bank, "b", Lang::Zh), "乙行");
        assert_eq!(l.name(Kind::Bank, "b", Lang::En), "Bank B");
        assert_eq!(l.name(Kind::Bank, "c", Lang::Zh), "Bank C");
        assert_eq!(l.name(Kind::County, "x", Lang::Zh), "X County");
        assert_eq!(l.name(Kind::Industry, "tea", Lang::Zh), "tea");
        assert_eq!((l.title("t", Lang::En), l.title("t", Lang::Zh)), ("测试", "测试"));
        assert_eq!(l.account("b", "x", true, Lang::Zh), "乙行 / X County");
        assert_eq!(l.account("b", "x", false, Lang::En), "Bank B");
    }
}
