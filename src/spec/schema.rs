//! The JSON Schema (draft 2020-12) of the topology format, generated from the types the parser
//! reads it into (`raw.rs`), and the key reference of docs/FORMAT.md generated from the schema:
//! one source for the parser, editors and the documentation.

use super::raw::{RawHop, RawSeccomp, RawSeccompRule, RawSeccompRuleTable, RawSeccompTable, RawTopo, RawVia};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;
use std::borrow::Cow;

/// The schema as JSON: strict about unknown keys (`additionalProperties: false`), with no
/// `null` anywhere (TOML has none).
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut v = generator.into_root_schema_for::<RawTopo>().to_value();
    drop_null(&mut v);
    if let Value::Object(root) = &mut v {
        root.insert("title".into(), "netlab topology".into());
    }
    v
}

/// Removes what schemars adds for `Option`: `null` in a `type` list, `{"type": "null"}` in an
/// `anyOf`, and a `"default": null`.
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let one = types[0].clone();
                    m.insert("type".into(), one);
                }
            }
            if m.get("default") == Some(&Value::Null) {
                m.remove("default");
            }
            if let Some(Value::Array(any)) = m.get_mut("anyOf") {
                any.retain(|s| s.get("type") != Some(&Value::from("null")));
                if any.len() == 1 {
                    let Some(Value::Object(only)) = any.pop() else { unreachable!("one schema") };
                    m.remove("anyOf");
                    for (k, x) in only {
                        m.entry(k).or_insert(x);
                    }
                }
            }
            m.values_mut().for_each(drop_null);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// A schema of its own, by hand: for the values `raw.rs` keeps as `toml::Value` (checked in
/// `model`) and for the string-or-table types it deserializes by hand.
macro_rules! schema_of {
    ($ty:ty, $name:literal, |$g:ident| $body:expr) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema($g: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

/// A duration: a string with a unit (never a bare number).
pub struct DurationText;
schema_of!(DurationText, "Duration", |_g| json_schema!({
    "type": "string",
    "pattern": "^\\s*([0-9]+(\\.[0-9]+)?\\s*[a-zµ]+\\s*)+$",
    "description": "A duration: a number with a unit (ns, us, ms, s, m, h, d), such as \"500ms\", \"2s\", \"1m\", \"1h30m\"."
}));

/// A sysctl's value.
pub struct SysctlValue;
schema_of!(SysctlValue, "SysctlValue", |_g| json_schema!({
    "description": "An integer, true/false (1/0), or a one-line string such as \"1024 65535\" or \"cubic\".",
    "type": ["integer", "boolean", "string"]
}));

/// One endpoint's entry of `addresses`.
pub struct AddrEntry;
schema_of!(AddrEntry, "AddressEntry", |_g| json_schema!({
    "description": "A CIDR such as \"10.0.0.1/24\" or \"fd00::1/64\", a list of them, or \"\" for none.",
    "anyOf": [
        { "type": "string" },
        { "type": "array", "items": { "type": "string" } }
    ]
}));

/// `ping_all` of a check.
pub struct PingAllNodes;
schema_of!(PingAllNodes, "PingAllNodes", |_g| json_schema!({
    "description": "true (every node but the switches) or a list of at least two node names.",
    "anyOf": [
        { "enum": [true] },
        { "type": "array", "items": { "type": "string" } }
    ]
}));

/// `cpu` of `limits`.
pub struct Cores;
schema_of!(Cores, "Cores", |_g| json_schema!({
    "description": "A number of cores: an integer or a fraction, such as 0.5 or 2.",
    "type": "number",
    "minimum": 0
}));

schema_of!(RawSeccomp, "Seccomp", |g| json_schema!({
    "description": "\"default\", \"unconfined\", \"FILE.json\", or a table { default, allow, deny }.",
    "anyOf": [ { "type": "string" }, g.subschema_for::<RawSeccompTable>() ]
}));

schema_of!(RawSeccompRule, "SeccompRule", |g| json_schema!({
    "description": "A syscall name, or a table { name, action?, errno? }.",
    "anyOf": [ { "type": "string" }, g.subschema_for::<RawSeccompRuleTable>() ]
}));

schema_of!(RawVia, "Via", |g| json_schema!({
    "description": "A gateway, or a list of two or more next hops (one multipath route).",
    "anyOf": [
        { "type": "string" },
        {
            "type": "array",
            "items": { "anyOf": [ { "type": "string" }, g.subschema_for::<RawHop>() ] }
        }
    ]
}));

/// The keys a table of schema `s` takes: `Some(names)` when only those (sorted), `None` when
/// any (a map such as `nodes` or `sysctls`), with the schema of each.
fn table_keys<'a>(root: &'a Value, s: &'a Value) -> (Option<Vec<&'a str>>, Vec<(&'a str, &'a Value)>) {
    let s = deref(root, s);
    let alternatives = s.get("anyOf").and_then(Value::as_array).into_iter().flatten().map(|a| deref(root, a));
    let mut names = Vec::new();
    let mut open = false;
    for t in std::iter::once(s).chain(alternatives) {
        if let Some(Value::Object(props)) = t.get("properties") {
            names.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
        }
        open |= t.get("additionalProperties").is_some_and(Value::is_object);
    }
    let closed = (!open).then(|| names.iter().map(|(k, _)| *k).collect());
    (closed, names)
}

/// The schema of the value at key `key` of a table of schema `s`.
fn child<'a>(root: &'a Value, s: &'a Value, key: &str) -> Option<&'a Value> {
    let (_, names) = table_keys(root, s);
    if let Some((_, v)) = names.iter().find(|(k, _)| *k == key) {
        return Some(v);
    }
    let s = deref(root, s);
    s.get("additionalProperties").filter(|a| a.is_object()).or_else(|| {
        s.get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|alt| deref(root, alt).get("additionalProperties").filter(|a| a.is_object()))
    })
}

/// The schema of the items of a list of schema `s`.
fn items<'a>(root: &'a Value, s: &'a Value) -> Option<&'a Value> {
    let s = deref(root, s);
    s.get("items")
        .or_else(|| s.get("anyOf")?.as_array()?.iter().find_map(|alt| deref(root, alt).get("items")))
}

/// A key of a parsed file that the format does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Where the key is written.
    pub at: std::ops::Range<usize>,
    pub key: String,
    /// The keys allowed beside it.
    pub allowed: Vec<String>,
    /// Where its value is written.
    pub value: std::ops::Range<usize>,
}

/// Every key of a parsed file that the format does not have. Serde stops at the first unknown
/// key; this finds all of them.
pub fn unknown_keys(doc: &toml::de::DeTable<'_>) -> Vec<UnknownKey> {
    let root = schema();
    let mut out = Vec::new();
    unknown_in_table(&root, &root, doc, &mut out);
    out
}

type Unknown = Vec<UnknownKey>;

fn unknown_in_table(root: &Value, s: &Value, t: &toml::de::DeTable<'_>, out: &mut Unknown) {
    let (closed, _) = table_keys(root, s);
    for (k, v) in t.iter() {
        let name = k.get_ref().as_ref();
        if let Some(allowed) = &closed {
            if !allowed.contains(&name) {
                out.push(UnknownKey {
                    at: k.span(),
                    key: name.to_string(),
                    allowed: allowed.iter().map(|a| a.to_string()).collect(),
                    value: v.span(),
                });
                continue;
            }
        }
        if let Some(cs) = child(root, s, name) {
            unknown_in_value(root, cs, v.get_ref(), out);
        }
    }
}

fn unknown_in_value(root: &Value, s: &Value, v: &toml::de::DeValue<'_>, out: &mut Unknown) {
    match v {
        toml::de::DeValue::Table(t) => unknown_in_table(root, s, t, out),
        toml::de::DeValue::Array(a) => {
            if let Some(is) = items(root, s) {
                for x in a.iter() {
                    unknown_in_value(root, is, x.get_ref(), out);
                }
            }
        }
        _ => {}
    }
}

/// One row of the key reference: a key's path (`nodes.NAME.routes[].via`), its type in words
/// and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub path: String,
    pub kind: String,
    pub description: String,
}

/// Every key of the format, in the order of the types, depth first.
pub fn keys(schema: &Value) -> Vec<Key> {
    let mut out = Vec::new();
    walk(schema, schema, "", &mut out, 0);
    out
}

/// The schema `s` points at, following `$ref` into `$defs`.
fn deref<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => root.get("$defs").and_then(|d| d.get(name)).unwrap_or(s),
        None => s,
    }
}

/// The keys under the schema `s` of the value at `path`.
fn walk(root: &Value, s: &Value, path: &str, out: &mut Vec<Key>, depth: usize) {
    let s = deref(root, s);
    if depth > 12 {
        return;
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        for (name, p) in props {
            let here = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            let description = p
                .get("description")
                .or_else(|| deref(root, p).get("description"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            out.push(Key { path: here.clone(), kind: kind(root, p), description });
            walk(root, p, &here, out, depth + 1);
        }
    }
    if let Some(Value::Object(_)) = s.get("additionalProperties") {
        walk(root, &s["additionalProperties"], &format!("{path}.NAME"), out, depth + 1);
    }
    if let Some(items) = s.get("items") {
        walk(root, items, &format!("{path}[]"), out, depth + 1);
    }
    for alt in s.get("anyOf").and_then(Value::as_array).into_iter().flatten() {
        walk(root, alt, path, out, depth + 1);
    }
}

/// A schema's type in words: `string`, `"a" | "b"`, `list of table`, `string or table`.
fn kind(root: &Value, s: &Value) -> String {
    let s = deref(root, s);
    if let Some(Value::Array(values)) = s.get("enum") {
        return values.iter().map(Value::to_string).collect::<Vec<_>>().join(" \\| ");
    }
    if let Some(Value::Array(any)) = s.get("anyOf") {
        return any.iter().map(|a| kind(root, a)).collect::<Vec<_>>().join(" or ");
    }
    let one = |t: &str| match t {
        "object" if s.get("additionalProperties").is_some_and(Value::is_object) => {
            format!("table of {}", kind(root, &s["additionalProperties"]))
        }
        "object" => "table".to_string(),
        "array" => {
            let item = s.get("items").map(|i| kind(root, i)).unwrap_or_default();
            if item.contains(" or ") {
                format!("list of ({item})")
            } else {
                format!("list of {item}")
            }
        }
        "number" => "number".to_string(),
        other => other.to_string(),
    };
    match s.get("type") {
        Some(Value::String(t)) => one(t),
        Some(Value::Array(ts)) => {
            ts.iter().filter_map(Value::as_str).map(one).collect::<Vec<_>>().join(" or ")
        }
        _ => "any".to_string(),
    }
}

/// The key reference of docs/FORMAT.md: one table of every key, with its type and description
/// (its default and unit are in the description), between these markers.
pub const BEGIN: &str =
    "<!-- BEGIN KEYS: generated by `netlab schema --markdown`; edit the doc comments in src/spec/raw.rs -->";
pub const END: &str = "<!-- END KEYS -->";

pub fn markdown(schema: &Value) -> String {
    let mut out = format!("{BEGIN}\n\n| key | type | meaning |\n|---|---|---|\n");
    for k in keys(schema) {
        out.push_str(&format!("| `{}` | {} | {} |\n", k.path, k.kind, k.description.replace('|', "\\|")));
    }
    out.push_str(&format!("\n{END}\n"));
    out
}

/// Keys without a description, which FORMAT.md would list without saying what they mean.
pub fn undescribed(schema: &Value) -> Vec<String> {
    keys(schema).into_iter().filter(|k| k.description.is_empty()).map(|k| k.path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_strict_draft_2020_12_without_null() {
        let s = schema();
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["$defs"]["RawNode"]["additionalProperties"], false);
        assert!(!s.to_string().contains("\"null\""), "no null in {s}");
    }

    /// Taplo (Even Better TOML) implements Draft 4: the schema keeps to keywords Draft 4 has
    /// too, with their Draft 4 meaning, so editors check what netlab checks.
    #[test]
    fn the_schema_uses_only_keywords_draft_4_editors_know() {
        const KNOWN: &[&str] = &[
            "$schema",
            "$defs",
            "$ref",
            "title",
            "description",
            "type",
            "properties",
            "additionalProperties",
            "items",
            "anyOf",
            "enum",
            "pattern",
            "required",
            "default",
            "format",
            "minimum",
            "maximum",
        ];
        fn walk(v: &Value, inside_properties: bool, bad: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        if !inside_properties && !KNOWN.contains(&k.as_str()) {
                            bad.push(k.clone());
                        }
                        walk(x, !inside_properties && (k == "properties" || k == "$defs"), bad);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, false, bad)),
                _ => {}
            }
        }
        let mut bad = Vec::new();
        walk(&schema(), false, &mut bad);
        assert!(bad.is_empty(), "keywords an editor may not know: {bad:?}");
    }

    #[test]
    fn every_key_has_a_path_a_type_and_a_description() {
        let s = schema();
        let keys = keys(&s);
        let find = |p: &str| keys.iter().find(|k| k.path == p).unwrap_or_else(|| panic!("no key {p}"));
        assert_eq!(find("nodes.NAME.kind").kind, "\"netns\" \\| \"host\" \\| \"switch\"");
        assert_eq!(find("check[].timeout").kind, "string");
        assert!(find("check[].timeout").description.contains("Default: \"2s\""));
        find("nodes.NAME.routes[].via[].weight");
        find("nodes.NAME.seccomp.allow[].errno");
        find("links[].a_to_b.delay");
        let doc = toml::de::DeTable::parse(
            "nmae = 1\n[nodes.a]\nknid = 1\nroutes = [{ to = \"default\", gw = 1 }]\nsysctls = { x = 1 }\n\
             seccomp = { default = \"allow\", alow = [] }\n[[links]]\nendpoints = []\nadress = 1\n",
        )
        .unwrap();
        let mut unknown: Vec<String> = unknown_keys(doc.get_ref()).into_iter().map(|u| u.key).collect();
        unknown.sort();
        assert_eq!(unknown, ["adress", "alow", "gw", "knid", "nmae"]);
        assert_eq!(undescribed(&s), Vec::<String>::new());
    }
}
