//! Graphviz source.

use super::*;
use std::fmt::Write;

/// A dot quoted string. Interface names may hold quotes and backslashes: the kernel allows them.
pub(super) fn dot_quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

pub(super) fn dot(lab: &Lab) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "graph {} {{", dot_quote(&lab.name));
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, nodesep=0.6, ranksep=1.8, fontname=\"Helvetica\", label={}, labelloc=t];",
        dot_quote(&format!("lab {}", lab.name))
    );
    s.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    s.push_str("  edge [fontname=\"Helvetica\", labelfontsize=9, labeldistance=2.5, labelangle=20];\n");
    for node in lab.nodes.values() {
        let label = std::iter::once(node.name.clone()).chain(details(node)).collect::<Vec<_>>().join("\n");
        let style = match node.kind {
            NodeKind::Netns => {
                "shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", color=\"#3b6fb6\""
            }
            NodeKind::Host => {
                "shape=box, peripheries=2, style=filled, fillcolor=\"#fff4d6\", color=\"#b7791f\""
            }
            NodeKind::Switch => "shape=hexagon, style=filled, fillcolor=\"#e6f4ea\", color=\"#2e7d32\"",
        };
        let _ = writeln!(s, "  {} [{style}, label={}];", dot_quote(&node.name), dot_quote(&label));
    }
    for link in &lab.links {
        let _ = writeln!(
            s,
            "  {} -- {} [taillabel={}, headlabel={}];",
            dot_quote(&link.a.node),
            dot_quote(&link.b.node),
            dot_quote(&end_lines(&link.a).join("\n")),
            dot_quote(&end_lines(&link.b).join("\n"))
        );
    }
    s.push_str("}\n");
    s
}

// ---- Mermaid -------------------------------------------------------------------------------
