//! The topology as a picture (`netlab graph`): Graphviz dot, Mermaid, or an SVG drawn here.
//!
//! Pure: a validated model in, text out. The SVG is laid out by netlab itself so that the
//! picture needs no tool the user may not have; dot and Mermaid leave the layout to their
//! renderers.

use crate::model::firewall::{Action, Firewall};
use crate::model::{Endpoint, Lab, Node, NodeKind};

/// The output formats of `netlab graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Graphviz (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (`graph LR`), as GitHub renders in Markdown.
    Mermaid,
    /// A finished SVG 1.1 picture.
    Svg,
}

/// Draws the lab in the given format.
pub fn render(lab: &Lab, format: Format) -> String {
    match format {
        Format::Dot => dot(lab),
        Format::Mermaid => mermaid(lab),
        Format::Svg => svg(lab),
    }
}

// ---- what every format says ----------------------------------------------------------------

/// The lines under a node's name: its role, then what it does, wrapped to stay narrow.
fn details(node: &Node) -> Vec<String> {
    let s = &node.sysctls;
    let forwards = s.get("net.ipv4.ip_forward").is_some_and(|v| v == "1")
        || s.get("net.ipv6.conf.all.forwarding").is_some_and(|v| v == "1");
    let role = match node.kind {
        NodeKind::Host => Some("host"),
        NodeKind::Switch => Some("switch"),
        NodeKind::Netns if forwards => Some("router"),
        NodeKind::Netns => None,
    };
    let mut parts = Vec::new();
    if forwards && node.kind == NodeKind::Host {
        parts.push("forwarding".to_string());
    }
    if !node.firewall.nat.is_empty() {
        parts.push("nat".to_string());
    }
    if filters(&node.firewall) {
        parts.push("firewall".to_string());
    }
    let p = &node.processes;
    match &p.isolation.hostname {
        Some(h) if h != &node.name => parts.push(format!("hostname {h}")),
        _ => {}
    }
    if p.isolation.needs_holder() || p.isolation.rootfs.is_some() {
        parts.push("isolated".to_string());
    }
    match p.run.len() {
        0 => {}
        1 => parts.push("1 workload".to_string()),
        n => parts.push(format!("{n} workloads")),
    }
    role.map(String::from).into_iter().chain(wrap(&parts, 24)).collect()
}

fn filters(fw: &Firewall) -> bool {
    !fw.forward.is_empty()
        || !fw.input.is_empty()
        || fw.forward_policy != Action::Accept
        || fw.input_policy != Action::Accept
}

/// Joins words with ", " into lines of about `width` characters.
fn wrap(parts: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.len() + 2 + part.len() <= width => {
                line.push_str(", ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}

/// The text at one end of a link: the interface, then each of its addresses.
fn end_lines(ep: &Endpoint) -> Vec<String> {
    std::iter::once(ep.iface.clone()).chain(ep.addrs.iter().map(|a| a.to_string())).collect()
}

/// One end of a link on one line, for formats with a single label per link.
fn end_inline(ep: &Endpoint) -> String {
    let addrs: Vec<String> = ep.addrs.iter().map(|a| a.to_string()).collect();
    if addrs.is_empty() {
        format!("{}:{}", ep.node, ep.iface)
    } else {
        format!("{}:{} {}", ep.node, ep.iface, addrs.join(", "))
    }
}

// ---- Graphviz ------------------------------------------------------------------------------

mod dot;
mod mermaid;
mod svg;

use dot::dot;
use mermaid::mermaid;
use svg::svg;
#[cfg(test)]
use {dot::dot_quote, mermaid::mermaid_id, mermaid::mermaid_text, svg::layout, svg::xml};

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(rel: &str) -> Lab {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        crate::Lab::load(&path).expect("example topology loads")
    }

    const TINY: &str = r#"
name = "tiny"

[nodes.a]

[nodes.sw]
kind = "switch"

[[links]]
endpoints = ["a:eth0", "sw"]
addresses = ["10.0.0.1/24", ""]
"#;

    fn tiny() -> Lab {
        crate::Lab::parse(Path::new("tiny.toml"), TINY).expect("tiny topology is valid")
    }

    /// Every node name, interface and address of lan.toml, as each format must show them.
    fn lan_labels(lab: &Lab) -> Vec<String> {
        let mut want: Vec<String> = lab.nodes.keys().cloned().collect();
        for link in &lab.links {
            for ep in [&link.a, &link.b] {
                want.extend(end_lines(ep));
            }
        }
        want
    }

    #[test]
    fn every_format_shows_every_node_and_link_label() {
        let lab = load("topologies/lan.toml");
        let labels = lan_labels(&lab);
        assert!(labels.contains(&"h1-eth0".to_string()) && labels.contains(&"fd00:10::3/64".to_string()));
        for format in [Format::Dot, Format::Mermaid, Format::Svg] {
            let out = render(&lab, format);
            for label in &labels {
                assert!(out.contains(label.as_str()), "{format:?} lacks {label}:\n{out}");
            }
        }
        let mermaid = render(&lab, Format::Mermaid);
        assert!(mermaid.contains("h1:eth0 10.0.0.1/24, fd00:10::1/64 ↔ sw:h1-eth0"), "{mermaid}");
    }

    #[test]
    fn dot_golden() {
        let want = r##"graph "tiny" {
  graph [rankdir=LR, nodesep=0.6, ranksep=1.8, fontname="Helvetica", label="lab tiny", labelloc=t];
  node [fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", labelfontsize=9, labeldistance=2.5, labelangle=20];
  "a" [shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#3b6fb6", label="a"];
  "sw" [shape=hexagon, style=filled, fillcolor="#e6f4ea", color="#2e7d32", label="sw\nswitch"];
  "a" -- "sw" [taillabel="eth0\n10.0.0.1/24", headlabel="a-eth0"];
}
"##;
        assert_eq!(render(&tiny(), Format::Dot), want);
    }

    #[test]
    fn mermaid_golden() {
        let want = r##"graph LR
  %% netlab lab tiny
  n_a("a")
  n_sw{{"sw<br/>switch"}}
  n_a ---|"a:eth0 10.0.0.1/24 ↔ sw:a-eth0"| n_sw
  classDef netns fill:#e8f0fe,stroke:#3b6fb6,color:#000
  class n_a netns
  classDef switch fill:#e6f4ea,stroke:#2e7d32,color:#000
  class n_sw switch
"##;
        assert_eq!(render(&tiny(), Format::Mermaid), want);
    }

    #[test]
    fn quoting_keeps_the_syntax_intact() {
        assert_eq!(dot_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(mermaid_text("a\"b#c<d>|e"), "a#34;b#35;c#60;d#62;#124;e");
        assert_ne!(mermaid_id("a-b"), mermaid_id("a_b"));
        assert_eq!(mermaid_id("end"), "n_end");
        assert_eq!(xml("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }

    /// Tags open and close in order, attributes are quoted, and no text holds a bare `<` or `&`.
    fn well_formed(doc: &str) -> Result<(), String> {
        let body =
            doc.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").ok_or("no XML declaration")?;
        let mut open: Vec<&str> = Vec::new();
        let mut rest = body;
        let mut roots = 0;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            if text.contains('>')
                || text
                    .replace("&amp;", "")
                    .replace("&lt;", "")
                    .replace("&gt;", "")
                    .replace("&quot;", "")
                    .replace("&apos;", "")
                    .contains('&')
            {
                return Err(format!("bad text {text:?}"));
            }
            let gt = rest[lt..].find('>').ok_or("unclosed tag")? + lt;
            let tag = &rest[lt + 1..gt];
            if tag.matches('"').count() % 2 != 0 || tag[1..].contains('<') {
                return Err(format!("bad tag <{tag}>"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop() != Some(name) {
                    return Err(format!("</{name}> closes the wrong element"));
                }
            } else {
                let name = tag.split([' ', '\n', '/']).next().unwrap_or("");
                if open.is_empty() {
                    roots += 1;
                }
                if !tag.ends_with('/') {
                    open.push(name);
                }
            }
            rest = &rest[gt + 1..];
        }
        if !open.is_empty() || roots != 1 || !rest.trim().is_empty() {
            return Err(format!("unbalanced: open {open:?}, {roots} roots"));
        }
        Ok(())
    }

    #[test]
    fn svg_is_well_formed_with_a_view_box() {
        for rel in [
            "topologies/lan.toml",
            "topologies/nat-sim.toml",
            "topologies/seed-nat.toml",
            "topologies/isolated.toml",
            "tests/nft_golden/gateway.toml",
        ] {
            let out = render(&load(rel), Format::Svg);
            well_formed(&out).unwrap_or_else(|e| panic!("{rel}: {e}\n{out}"));
            assert!(
                out.contains("viewBox=\"0 0 ") && out.contains("xmlns=\"http://www.w3.org/2000/svg\""),
                "{rel}"
            );
        }
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><g></svg></g>").is_err());
        assert!(
            well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><text>a & b</text></svg>").is_err()
        );
    }

    #[test]
    fn svg_is_deterministic_and_keeps_nodes_apart() {
        let lab = load("topologies/lan.toml");
        assert_eq!(render(&lab, Format::Svg), render(&lab, Format::Svg));
        let lay = layout(&lab);
        for (i, a) in lay.places.iter().enumerate() {
            for b in &lay.places[i + 1..] {
                let apart_x = (a.cx - b.cx).abs() >= (a.w + b.w) / 2.0;
                let apart_y = (a.cy - b.cy).abs() >= (a.h + b.h) / 2.0;
                assert!(apart_x || apart_y, "{a:?} overlaps {b:?}");
            }
        }
        // The switch sits between its hosts: h1 on one side, h2 and h3 on the other.
        let col = |name: &str| lay.places[lay.nodes.iter().position(|n| n.name == name).unwrap()].col;
        assert_eq!((col("sw"), col("h1"), col("h2"), col("h3")), (0, -1, 1, 1));
    }
}
