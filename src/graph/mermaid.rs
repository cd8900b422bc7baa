//! A Mermaid flowchart.

use super::*;
use std::fmt::Write;

/// A Mermaid node id: node names may hold `-` (an edge token to Mermaid) and `_`, so both are
/// spelled out in a way that cannot make two names collide, and the `n_` keeps words such as
/// `end` from being read as keywords.
pub(super) fn mermaid_id(name: &str) -> String {
    let mut id = String::from("n_");
    for c in name.chars() {
        match c {
            '_' => id.push_str("__"),
            '-' => id.push_str("_d"),
            c => id.push(c),
        }
    }
    id
}

/// Text inside a quoted Mermaid label: the characters Mermaid would read as syntax or HTML
/// become its `#NN;` entities.
pub(super) fn mermaid_text(s: &str) -> String {
    let mut t = String::new();
    for c in s.chars() {
        match c {
            '"' | '#' | '<' | '>' | '|' | '&' => {
                let _ = write!(t, "#{};", c as u32);
            }
            c => t.push(c),
        }
    }
    t
}

pub(super) fn mermaid(lab: &Lab) -> String {
    let mut s = String::from("graph LR\n");
    let _ = writeln!(s, "  %% netlab lab {}", lab.name);
    for node in lab.nodes.values() {
        let label = std::iter::once(node.name.as_str())
            .chain(details(node).iter().map(String::as_str))
            .map(mermaid_text)
            .collect::<Vec<_>>()
            .join("<br/>");
        let id = mermaid_id(&node.name);
        let _ = match node.kind {
            NodeKind::Netns => writeln!(s, "  {id}(\"{label}\")"),
            NodeKind::Host => writeln!(s, "  {id}[[\"{label}\"]]"),
            NodeKind::Switch => writeln!(s, "  {id}{{{{\"{label}\"}}}}"),
        };
    }
    for link in &lab.links {
        let (ends, impaired) = link_inline(link);
        let label = match impaired {
            Some(i) => format!("{}<br/>{}", mermaid_text(&ends), mermaid_text(&i)),
            None => mermaid_text(&ends),
        };
        let _ = writeln!(s, "  {} ---|\"{label}\"| {}", mermaid_id(&link.a.node), mermaid_id(&link.b.node));
    }
    for (kind, class, style) in [
        (NodeKind::Netns, "netns", "fill:#e8f0fe,stroke:#3b6fb6,color:#000"),
        (NodeKind::Host, "hostns", "fill:#fff4d6,stroke:#b7791f,stroke-width:3px,color:#000"),
        (NodeKind::Switch, "switch", "fill:#e6f4ea,stroke:#2e7d32,color:#000"),
    ] {
        let ids: Vec<String> =
            lab.nodes.values().filter(|n| n.kind == kind).map(|n| mermaid_id(&n.name)).collect();
        if !ids.is_empty() {
            let _ = writeln!(s, "  classDef {class} {style}");
            let _ = writeln!(s, "  class {} {class}", ids.join(","));
        }
    }
    s
}

// ---- SVG: layout ---------------------------------------------------------------------------
//
// Each connected part of the lab is drawn around its most central node (a switch when there
// is a tie). The parts of the graph that hang off that node are shared between its left and
// right, and every other node sits in a column by its distance from the centre, so that links
// only ever join neighbouring columns (or two nodes of one column, drawn as a bracket). A
// node's links leave from ports spread down its side, each with a short horizontal stub that
// carries the interface and its addresses: labels then never sit on a slanted line, and the
// slanted part of every link lies in the free band between two columns.
