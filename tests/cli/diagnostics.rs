//! How a command refuses a file with several problems: all of them in one run, each with
//! `file:line:col`, its line, a caret and a hint; plain text when stderr is not a terminal.

use crate::{netlab, show, text};
use std::path::PathBuf;

/// A file with three independent problems (and nothing that depends on them).
const THREE: &str = r#"# three problems: a misspelt kind, a misspelt route destination, a bare-number timeout
name = "three"

[nodes.r]
kind = "swtich"

[nodes.a]
routes = [{ to = "defualt", via = "10.0.0.2" }]

[nodes.b]

[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]

[[check]]
from = "a"
ping = "10.0.0.2"
timeout = 2
"#;

/// Writes `text` to a file of its own and returns its path.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("diag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_file_with_three_problems_gets_three_positions_in_one_run() {
    let path = file("three.toml", THREE);
    let p = path.display().to_string();
    for cmd in ["validate", "plan", "graph"] {
        let o = netlab(&[cmd, &p]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", show(&o));
        assert_eq!(
            err.matches("\nerror: ").count() + usize::from(err.starts_with("error: ")),
            3,
            "{cmd}: {err}"
        );
        for (pos, line, hint) in [
            (":5:8", "5 | kind = \"swtich\"", "did you mean 'switch'?"),
            (":8:18", "8 | routes = [{ to = \"defualt\", via = \"10.0.0.2\" }]", "did you mean \"default\"?"),
            (":19:11", "19 | timeout = 2", "write timeout = \"2s\""),
        ] {
            assert!(err.contains(&format!("--> {p}{pos}\n")), "{cmd}: no {pos} in:\n{err}");
            assert!(err.contains(line), "{cmd}: no source line {line:?} in:\n{err}");
            assert!(err.contains(hint), "{cmd}: no hint {hint:?} in:\n{err}");
        }
        assert!(err.contains("  |                  ^^^^^^^^^\n"), "a caret under \"defualt\":\n{err}");
        assert!(err.trim_end().ends_with(&format!("netlab: {p}: 3 problems")), "{cmd}: {err}");
        assert!(!err.contains('\u{1b}'), "{cmd}: ANSI escapes on a stderr that is no terminal:\n{err}");
    }
}

#[test]
fn what_depends_on_a_broken_item_is_not_reported_again() {
    // The node is in error; the link to it and the check from it are skipped, not refused
    // for naming a node that "is not declared".
    let path = file(
        "dependent.toml",
        "[nodes.a]\nkind = \"router\"\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n\
         [[check]]\nfrom = \"a\"\nping = \"10.0.0.2\"\n",
    );
    let o = netlab(&["validate", &path.display().to_string()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(err.matches("error: ").count(), 1, "{err}");
    assert!(err.contains("unknown node kind \"router\""), "{err}");
}

#[test]
fn every_misspelt_key_is_answered_with_the_key_it_resembles() {
    let path = file(
        "typo.toml",
        "nmae = \"typo\"\n[nodes.a]\nknid = \"netns\"\nroutes = [{ to = \"default\", gw = \"10.0.0.1\" }]\n",
    );
    let p = path.display().to_string();
    let o = netlab(&["validate", &p]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    for (pos, key, hint) in [
        (":1:1", "'nmae'", "did you mean 'name'?"),
        (":3:1", "'knid'", "did you mean 'kind'?"),
        (":4:29", "'gw'", "remove it; the keys allowed here are 'dev', 'metric', 'to', 'via'"),
    ] {
        assert!(err.contains(&format!("error: unknown key {key}\n")), "no {key} in:\n{err}");
        assert!(err.contains(&format!("--> {p}{pos}\n")), "no {pos} in:\n{err}");
        assert!(err.contains(hint), "no {hint:?} in:\n{err}");
    }
    assert!(err.trim_end().ends_with("3 problems"), "{err}");
}

#[test]
fn a_misspelt_key_does_not_hide_the_other_problems_of_the_file() {
    let text_ =
        "name = \"keys\"\n[nodes.a]\nknid = \"netns\"\nroutes = [{ to = \"defualt\", via = \"10.0.0.2\" }]\n\
                 [[links]]\nendpoints = [\"a:eth0\", \"c:eth0\"]\nadress = []\n";
    let path = file("keys.toml", text_);
    let p = path.display().to_string();
    let o = netlab(&["validate", &p]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    for (pos, hint) in [
        (":3:1", "did you mean 'kind'?"),
        (":7:1", "the keys allowed here are 'endpoints', 'addresses'"),
        (":4:18", "did you mean \"default\"?"),
        (":6:24", "declare [nodes.c]"),
    ] {
        assert!(err.contains(&format!("--> {p}{pos}\n")), "no {pos} in:\n{err}");
        assert!(err.contains(hint), "no hint {hint:?} in:\n{err}");
    }
    assert!(err.ends_with(": 4 problems\n"), "{err}");
}
