//! `netlab schema`: the JSON Schema accepts every example topology and refuses a misspelt key;
//! docs/FORMAT.md documents every key of it (its key reference is generated from it).

use crate::{netlab, show, stdout};
use std::path::{Path, PathBuf};

fn schema() -> serde_json::Value {
    let o = netlab(&["schema"]);
    assert!(o.status.success(), "{}", show(&o));
    serde_json::from_str(&stdout(&o)).expect("netlab schema prints JSON")
}

fn validator() -> jsonschema::Validator {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::validator_for(&s).expect("the schema is a valid JSON Schema")
}

/// A topology as the JSON an editor's TOML plugin checks against the schema.
fn json(text: &str) -> serde_json::Value {
    toml::from_str(text).expect("valid TOML")
}

/// Why `text` does not validate, one line per error ("" when it does).
fn problems(v: &jsonschema::Validator, text: &str) -> String {
    let instance = json(text);
    v.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect::<Vec<_>>().join("\n")
}

/// The example topologies: the repository's (and its graph tests'), and shared/'s beside it where it is there.
fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("topologies"), root.join("../shared/topologies"), root.join("tests/graphs")] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        files.extend(
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")),
        );
    }
    files.sort();
    files
}

#[test]
fn every_example_topology_validates_against_the_schema() {
    let v = validator();
    let files = examples();
    assert!(files.len() >= 4, "examples: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let why = problems(&v, &text);
        assert!(why.is_empty(), "{} does not validate against the schema:\n{why}", f.display());
    }
}

#[test]
fn a_misspelt_key_or_a_bare_number_duration_does_not_validate() {
    let v = validator();
    let lan =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/lan.toml")).unwrap();
    assert!(problems(&v, &lan).is_empty());
    for (bad, what) in [
        (format!("nmae = \"x\"\n{lan}"), "a misspelt top-level key"),
        (lan.replace("[[links]]", "[[links]]\nadress = \"10.0.0.1/24\""), "a misspelt link key"),
        (format!("{lan}\n[nodes.x]\nknid = \"netns\"\n"), "a misspelt node key"),
        (format!("{lan}\n[nodes.x]\nkind = \"router\"\n"), "an unknown kind"),
        (
            format!("{lan}\n[[check]]\nfrom = \"h1\"\nping = \"10.0.0.2\"\ntimeout = 2\n"),
            "a bare-number timeout",
        ),
        (
            format!("{lan}\n[[check]]\nfrom = \"h1\"\nping = \"10.0.0.2\"\ntiemout = \"2s\"\n"),
            "a misspelt check key",
        ),
    ] {
        assert!(!problems(&v, &bad).is_empty(), "{what} validates:\n{bad}");
    }
}

/// Where the generated key reference sits in docs/FORMAT.md.
fn format_md() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md")
}

/// docs/FORMAT.md holds exactly `netlab schema --markdown` between its markers, so the
/// documentation cannot drift from the format. With NETLAB_BLESS=1 the test writes it there.
#[test]
fn format_md_documents_every_key_of_the_schema_and_no_other() {
    let o = netlab(&["schema", "--markdown"]);
    assert!(o.status.success(), "{}", show(&o));
    let generated = stdout(&o);
    let (begin, end) = (generated.lines().next().unwrap(), "<!-- END KEYS -->");
    let doc = std::fs::read_to_string(format_md()).expect("docs/FORMAT.md");
    let (Some(b), Some(e)) = (doc.find(begin), doc.find(end)) else {
        panic!("docs/FORMAT.md has no key reference between\n{begin}\nand\n{end}");
    };
    let committed = &doc[b..e + end.len() + 1];
    if committed == generated {
        return;
    }
    if std::env::var_os("NETLAB_BLESS").is_some() {
        std::fs::write(format_md(), format!("{}{generated}{}", &doc[..b], &doc[e + end.len() + 1..]))
            .unwrap();
        return;
    }
    let rows =
        |t: &str| -> Vec<String> { t.lines().filter(|l| l.starts_with("| `")).map(String::from).collect() };
    let key = |row: &str| row.split('`').nth(1).unwrap_or("").to_string();
    let (want, have) = (rows(&generated), rows(committed));
    let mut why = Vec::new();
    for r in &want {
        if !have.iter().any(|h| key(h) == key(r)) {
            why.push(format!("key `{}` is not documented in docs/FORMAT.md", key(r)));
        } else if !have.contains(r) {
            why.push(format!("the row of key `{}` differs from its doc comment:\n    {r}", key(r)));
        }
    }
    for h in &have {
        if !want.iter().any(|r| key(r) == key(h)) {
            why.push(format!("docs/FORMAT.md documents key `{}`, which the format does not have", key(h)));
        }
    }
    panic!(
        "docs/FORMAT.md is out of date with the schema:\n  {}\nDocument a key with a /// comment on its field in \
         src/spec/raw.rs, then regenerate the reference: NETLAB_BLESS=1 cargo test --test cli format_md",
        why.join("\n  ")
    );
}

/// Every TOML example of docs/FORMAT.md is of the format: the schema accepts it.
#[test]
fn every_example_of_format_md_validates_against_the_schema() {
    let v = validator();
    let doc = std::fs::read_to_string(format_md()).expect("docs/FORMAT.md");
    let blocks: Vec<&str> = doc.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(blocks.len() >= 8, "docs/FORMAT.md has {} TOML examples", blocks.len());
    for b in blocks {
        let why = problems(&v, b);
        assert!(why.is_empty(), "this example of docs/FORMAT.md does not validate:\n{b}\n{why}");
    }
}
