//! A JSON report (`--format json`) read back: visible differences as (path, field)
//! pairs, ignored counts, one difference or one field, the notes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// (path, field) pairs, or (rule, field) pairs.
pub type Pairs = BTreeSet<(String, String)>;

/// Build an expected set from string pairs.
pub fn set(items: &[(&str, &str)]) -> Pairs {
    items
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect()
}

/// A difference's path as text (a non-UTF-8 path, an object, as its JSON).
fn path_of(d: &Value) -> String {
    d["path"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| d["path"].to_string())
}

/// The visible differences of a report as (path, field name) pairs; an added or
/// removed entry as (path, "+") or (path, "-").
pub fn visible(r: &Value) -> Pairs {
    pairs(&r["differences"])
}

/// [`visible`] of a `differences` list.
pub fn pairs(list: &Value) -> Pairs {
    let mut out = BTreeSet::new();
    for d in list.as_array().expect("differences") {
        let p = path_of(d);
        match d["status"].as_str().expect("status") {
            "added" => {
                out.insert((p, "+".into()));
            }
            "removed" => {
                out.insert((p, "-".into()));
            }
            _ => {
                for f in d["fields"].as_array().expect("fields") {
                    out.insert((p.clone(), f["name"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    out
}

/// Every (path, field name) of a `differences` list, sorted, with multiplicity; an
/// entry without fields (added or removed) counts as (path, status).
pub fn fields_of(list: &Value) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for d in list.as_array().expect("differences") {
        let path = d["path"].as_str().expect("path").to_string();
        let fs = d["fields"].as_array().expect("fields");
        if fs.is_empty() {
            v.push((path.clone(), d["status"].as_str().unwrap().to_string()));
        }
        for f in fs {
            v.push((path.clone(), f["name"].as_str().unwrap().to_string()));
        }
    }
    v.sort();
    v
}

/// The visible differences of a report as [`fields_of`] gives them, as a set: (path,
/// field name) pairs, an entry without fields as (path, status).
pub fn visible_by_status(r: &Value) -> Pairs {
    fields_of(&r["differences"]).into_iter().collect()
}

/// The hidden differences of a report as (rule, field) pairs.
pub fn ignored(r: &Value) -> Pairs {
    ignored_counts(r).into_keys().collect()
}

/// `report.ignored` as (rule, field) -> count.
pub fn ignored_counts(r: &Value) -> BTreeMap<(String, String), u64> {
    r["ignored"]
        .as_array()
        .expect("ignored")
        .iter()
        .map(|i| {
            (
                (
                    i["rule"].as_str().unwrap().to_string(),
                    i["field"].as_str().unwrap().to_string(),
                ),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The difference at `path` (panics, listing what there is, when there is none).
pub fn diff_at<'a>(r: &'a Value, path: &str) -> &'a Value {
    r["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no difference at {path:?}; have {:?}", visible(r)))
}

/// The field `name` of the difference at `path`.
pub fn field<'a>(r: &'a Value, path: &str, name: &str) -> &'a Value {
    field_in(&r["differences"], path, name)
}

/// [`field`] in a `differences` list.
pub fn field_in<'a>(list: &'a Value, path: &str, name: &str) -> &'a Value {
    list.as_array()
        .expect("differences")
        .iter()
        .filter(|d| d["path"] == path)
        .flat_map(|d| d["fields"].as_array().unwrap())
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} at {path} in {list}"))
}

/// `report.notes` as (path, kind, message).
pub fn notes(r: &Value) -> Vec<(String, String, String)> {
    r["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| {
            (
                n["path"].as_str().unwrap().to_string(),
                n["kind"].as_str().unwrap().to_string(),
                n["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
