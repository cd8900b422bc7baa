//! The commands that describe things and touch no kernel state: `graph`, `completions` and
//! `man`, run as the built binary. No root needed.

use crate::{netlab, show, stdout};

#[test]
fn bash_completions_name_the_command_and_its_subcommands() {
    let o = netlab(&["completions", "bash"]);
    assert!(o.status.success(), "{}", show(&o));
    let script = stdout(&o);
    for word in ["netlab", "up", "down", "plan", "status", "exec", "graph", "validate", "completions", "man"]
    {
        assert!(script.contains(word), "completion script lacks {word}:\n{script}");
    }
}

#[test]
fn zsh_and_fish_completions_are_generated() {
    for shell in ["zsh", "fish"] {
        let o = netlab(&["completions", shell]);
        assert!(o.status.success() && stdout(&o).contains("graph"), "{shell}: {}", show(&o));
    }
}

/// Whether a page is roff whose first request is `.TH`, after the two-line string definition
/// (`.ie \n(.g .ds Aq ...`) that clap_mangen puts first so that quotes render in groff and
/// other troffs alike.
fn is_man_page(text: &str) -> bool {
    let mut lines = text.lines().skip_while(|l| l.starts_with(".ie ") || l.starts_with(".el "));
    lines.next().is_some_and(|l| l.starts_with(".TH ")) && text.contains("\n.SH NAME\n")
}

#[test]
fn man_prints_a_roff_page() {
    let o = netlab(&["man"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(is_man_page(&stdout(&o)), "{}", show(&o));
}

#[test]
fn man_writes_one_page_per_subcommand() {
    let dir = std::env::temp_dir().join(format!("netlab-man-{}", std::process::id()));
    let o = netlab(&["man", "-o", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", show(&o));
    for page in ["netlab.1", "netlab-up.1", "netlab-graph.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(is_man_page(&text), "{page}:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn graph_dot_of_the_lan() {
    let o = netlab(&["graph", "--format", "dot", "topologies/lan.toml"]);
    assert!(o.status.success(), "{}", show(&o));
    let dot = stdout(&o);
    assert!(dot.starts_with("graph \"lan\" {") && dot.contains("h1"), "{dot}");
}

#[test]
fn graph_writes_svg_to_a_file() {
    let file = std::env::temp_dir().join(format!("netlab-graph-{}.svg", std::process::id()));
    let o = netlab(&["graph", "--format", "svg", "topologies/nat-sim.toml", "-o", file.to_str().unwrap()]);
    assert!(o.status.success() && stdout(&o).is_empty(), "{}", show(&o));
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.contains("<svg") && svg.contains("viewBox") && svg.trim_end().ends_with("</svg>"), "{svg}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn graph_mermaid_of_the_lan() {
    let o = netlab(&["graph", "--format", "mermaid", "topologies/lan.toml"]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).starts_with("graph LR\n"), "{}", show(&o));
}

#[test]
fn graph_shows_impairments_and_spreads_a_ring() {
    for format in ["dot", "mermaid", "svg"] {
        let o = netlab(&["graph", "--format", format, "tests/graphs/impaired.toml"]);
        assert!(o.status.success() && stdout(&o).contains("100mbit 20ms±5ms 1%"), "{format}: {}", show(&o));
    }
    // The ring is drawn on a circle: its nodes are not stacked in columns.
    let o = netlab(&["graph", "--format", "svg", "tests/graphs/ring11.toml"]);
    assert!(o.status.success(), "{}", show(&o));
    let svg = stdout(&o);
    let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline points=")).collect();
    assert_eq!(lines.len(), 11, "{svg}");
    assert!(lines.iter().all(|l| l.matches(',').count() == 2), "ring links are straight: {svg}");
}

#[test]
fn graph_refuses_an_unknown_format() {
    let o = netlab(&["graph", "--format", "png", "topologies/lan.toml"]);
    assert!(!o.status.success(), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("png"), "{}", show(&o));
}

#[test]
fn graph_of_a_missing_file_fails() {
    let o = netlab(&["graph", "no-such-file.toml"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

#[test]
fn up_and_plan_take_adopt_and_test_takes_up() {
    for (cmd, flag) in [("up", "--adopt"), ("plan", "--adopt"), ("test", "--up"), ("test", "--down")] {
        let o = netlab(&[cmd, "--help"]);
        assert!(o.status.success() && stdout(&o).contains(flag), "{cmd} --help lacks {flag}: {}", show(&o));
    }
}
