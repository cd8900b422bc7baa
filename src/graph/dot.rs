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

/// The id of the node that carries one end's label: a space cannot be in a node's name.
fn port_id(link: usize, end: char) -> String {
    dot_quote(&format!("link {link} {end}"))
}

pub(super) fn dot(lab: &Lab) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "graph {} {{", dot_quote(&lab.name));
    // dot ranks nodes left to right: a tree reads well so, but a ring becomes a line with one
    // long link back. A lab with a cycle is spread by neato (stress majorization) instead; the
    // `layout` attribute picks it even when the file is fed to `dot`.
    let engine = if has_cycle(lab) { "layout=neato, overlap=false, splines=true, sep=\"+6\", " } else { "" };
    let _ = writeln!(
        s,
        "  graph [{engine}rankdir=LR, nodesep=0.3, ranksep=0.3, fontname=\"Helvetica\", label={}, labelloc=t];",
        dot_quote(&format!("lab {}", lab.name))
    );
    s.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=9, fontcolor=\"#8a3b00\"];\n");
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
    // Each end's interface and addresses are a text node of their own, on the link next to
    // its node: Graphviz keeps nodes apart and clips edges at them, so no edge or box ever
    // crosses an address (head and tail labels are placed without looking at other edges).
    for (l, link) in lab.links.iter().enumerate() {
        let imp = impairments(link);
        for (end, ep, out) in [('a', &link.a, &imp.out_a), ('b', &link.b, &imp.out_b)] {
            let label = dot_quote(&port_lines(ep, out).join("\n"));
            let _ = writeln!(
                s,
                "  {} [shape=plaintext, fontsize=9, margin=0.04, label={label}];",
                port_id(l, end)
            );
        }
        let middle = match &imp.middle {
            Some(m) => format!(" [label={}]", dot_quote(m)),
            None => String::new(),
        };
        let (a, b) = (port_id(l, 'a'), port_id(l, 'b'));
        let _ = writeln!(s, "  {} -- {a};", dot_quote(&link.a.node));
        let _ = writeln!(s, "  {a} -- {b}{middle};");
        let _ = writeln!(s, "  {b} -- {};", dot_quote(&link.b.node));
    }
    s.push_str("}\n");
    s
}

// ---- Mermaid -------------------------------------------------------------------------------
