//! The topology as a picture (`netlab graph`): Graphviz dot, Mermaid, or an SVG drawn here.
//!
//! Pure: a validated model in, text out. The SVG is laid out by netlab itself so that the
//! picture needs no tool the user may not have; dot and Mermaid leave the layout to their
//! renderers.

use crate::model::firewall::{Action, Firewall};
use crate::model::shape::Shape;
use crate::model::{Endpoint, Lab, Link, Node, NodeKind};

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

/// What a link does to its traffic, as the pictures say it: what both directions share (and the
/// MTU) in the middle of the link, and what differs per direction at the end it leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Impairments {
    middle: Option<String>,
    /// What leaves end a, when the two directions differ.
    out_a: Option<String>,
    out_b: Option<String>,
}

fn impairments(link: &Link) -> Impairments {
    let mtu = link.mtu.map(|m| format!("mtu {m}"));
    let join = |parts: [Option<String>; 2]| {
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    if link.shape_a == link.shape_b {
        Impairments { middle: join([shape_text(&link.shape_a), mtu]), out_a: None, out_b: None }
    } else {
        let out = |s: &Shape| shape_text(s).map(|t| format!("out {t}"));
        Impairments { middle: mtu, out_a: out(&link.shape_a), out_b: out(&link.shape_b) }
    }
}

/// A shape in a few characters: `100mbit 20ms±5ms 1%`.
fn shape_text(s: &Shape) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(r) = s.rate {
        parts.push(rate_text(r));
    }
    match (s.delay, s.jitter) {
        (Some(d), Some(j)) => parts.push(format!("{}±{}", ms_text(d), ms_text(j))),
        (Some(d), None) => parts.push(ms_text(d)),
        (None, Some(j)) => parts.push(format!("±{}", ms_text(j))),
        (None, None) => {}
    }
    if let Some(l) = s.loss {
        parts.push(format!("{l}%"));
    }
    if let Some(l) = s.limit {
        parts.push(format!("limit {l}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn rate_text(bps: u64) -> String {
    for (unit, div) in [("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1_000)] {
        if bps >= div && bps % div == 0 {
            return format!("{}{unit}", bps / div);
        }
    }
    format!("{bps}bit")
}

fn ms_text(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    // Rounded to a microsecond, so that 0.1 + 0.2 style noise never reaches the picture.
    format!("{}ms", (ms * 1000.0).round() / 1000.0)
}

/// The lines at one end of a link: [`end_lines`], then what leaves that end if the two
/// directions differ.
fn port_lines(ep: &Endpoint, out: &Option<String>) -> Vec<String> {
    end_lines(ep).into_iter().chain(out.clone()).collect()
}

/// Everything a link says on one line, for formats with a single label per link.
fn link_inline(link: &Link) -> (String, Option<String>) {
    let imp = impairments(link);
    let ends = format!("{} ↔ {}", end_inline(&link.a), end_inline(&link.b));
    let mut extra: Vec<String> = imp.middle.into_iter().collect();
    for (ep, out) in [(&link.a, imp.out_a), (&link.b, imp.out_b)] {
        if let Some(o) = out {
            extra.push(format!("{}:{} {o}", ep.node, ep.iface));
        }
    }
    (ends, (!extra.is_empty()).then(|| extra.join(", ")))
}

/// Whether some link closes a cycle: joins two nodes already joined by other links.
fn has_cycle(lab: &Lab) -> bool {
    let index: std::collections::HashMap<&str, usize> =
        lab.nodes.keys().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut root: Vec<usize> = (0..index.len()).collect();
    fn find(root: &mut [usize], mut v: usize) -> usize {
        while root[v] != v {
            root[v] = root[root[v]];
            v = root[v];
        }
        v
    }
    lab.links.iter().any(|l| {
        let (a, b) = (find(&mut root, index[l.a.node.as_str()]), find(&mut root, index[l.b.node.as_str()]));
        root[a] = b;
        a == b
    })
}

// ---- Graphviz ------------------------------------------------------------------------------

mod dot;
mod mermaid;
mod svg;

use dot::dot;
use mermaid::mermaid;
use svg::svg;
#[cfg(test)]
use {
    dot::dot_quote,
    mermaid::{mermaid_id, mermaid_text},
    svg::{block_box, crossings, layout, segments_cross, xml},
};

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
  graph [rankdir=LR, nodesep=0.3, ranksep=0.3, fontname="Helvetica", label="lab tiny", labelloc=t];
  node [fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9, fontcolor="#8a3b00"];
  "a" [shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#3b6fb6", label="a"];
  "sw" [shape=hexagon, style=filled, fillcolor="#e6f4ea", color="#2e7d32", label="sw\nswitch"];
  "link 0 a" [shape=plaintext, fontsize=9, margin=0.04, label="eth0\n10.0.0.1/24"];
  "link 0 b" [shape=plaintext, fontsize=9, margin=0.04, label="a-eth0"];
  "a" -- "link 0 a";
  "link 0 a" -- "link 0 b";
  "link 0 b" -- "sw";
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

    /// The labs the pictures were checked on by eye, as PNGs (docs/graph.md).
    const PICTURES: [&str; 10] = [
        "tests/graphs/ring11.toml",
        "tests/graphs/ring-hosts.toml",
        "tests/graphs/grid3.toml",
        "tests/graphs/mesh.toml",
        "tests/graphs/tree.toml",
        "tests/graphs/two-switch.toml",
        "tests/graphs/impaired.toml",
        "topologies/lan.toml",
        "topologies/nat-sim.toml",
        "topologies/seed-nat.toml",
    ];

    type Seg = ((f64, f64), (f64, f64));

    /// Each link's line as segments.
    fn segments(lay: &svg::Layout<'_>, l: usize) -> Vec<Seg> {
        lay.paths[l].windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Pairs of links that share no node and whose lines cross, by segment intersection on the
    /// laid out coordinates.
    fn crossing_links(lab: &Lab) -> Vec<(usize, usize)> {
        let lay = layout(lab);
        let mut found = Vec::new();
        for i in 0..lab.links.len() {
            for j in i + 1..lab.links.len() {
                let (a, b) = (&lab.links[i], &lab.links[j]);
                let shared = [&a.a.node, &a.b.node].iter().any(|n| **n == b.a.node || **n == b.b.node);
                if !shared
                    && segments(&lay, i)
                        .iter()
                        .any(|&p| segments(&lay, j).iter().any(|&q| segments_cross(p, q)))
                {
                    found.push((i, j));
                }
            }
        }
        found
    }

    #[test]
    fn a_ring_is_drawn_on_a_circle_in_ring_order() {
        let lab = load("tests/graphs/ring11.toml");
        let lay = layout(&lab);
        let n = lay.places.len() as f64;
        let (mx, my) = lay.places.iter().fold((0.0, 0.0), |(x, y), p| (x + p.cx / n, y + p.cy / n));
        let radii: Vec<f64> = lay.places.iter().map(|p| (p.cx - mx).hypot(p.cy - my)).collect();
        for r in &radii {
            assert!((r - radii[0]).abs() < 1e-6 * radii[0], "not on one circle: {radii:?}");
        }
        // Neighbours in the ring are neighbours on the circle: r0, r1, ..., r10 at equal steps.
        let angle = |name: &str| {
            let p = &lay.places[lay.nodes.iter().position(|v| v.name == name).unwrap()];
            (p.cy - my).atan2(p.cx - mx)
        };
        let step = 2.0 * std::f64::consts::PI / n;
        for i in 0..11 {
            let turn = (angle(&format!("r{}", (i + 1) % 11)) - angle(&format!("r{i}")))
                .rem_euclid(2.0 * std::f64::consts::PI);
            assert!((turn - step).abs() < 1e-6, "r{i} → r{}: {turn} rad", (i + 1) % 11);
        }
        assert_eq!(crossing_links(&lab), vec![]);
    }

    #[test]
    fn each_part_is_drawn_as_what_it_is() {
        let lab = crate::Lab::parse(
            Path::new("parts.toml"),
            r#"
name = "parts"
[nodes.a]
[nodes.b]
[nodes.x]
[nodes.y]
[nodes.z]
[[links]]
endpoints = ["a:e0", "b:e0"]
[[links]]
endpoints = ["x:e0", "y:e0"]
[[links]]
endpoints = ["y:e1", "z:e0"]
[[links]]
endpoints = ["z:e1", "x:e1"]
"#,
        )
        .expect("valid");
        let lay = layout(&lab);
        let spread: Vec<(&str, bool)> =
            lay.nodes.iter().zip(&lay.places).map(|(n, p)| (n.name.as_str(), p.spread)).collect();
        assert_eq!(spread, [("a", false), ("b", false), ("x", true), ("y", true), ("z", true)]);
        // The ring is below the pair, all of it.
        let ys = |names: &[&str]| -> Vec<f64> {
            lay.nodes
                .iter()
                .zip(&lay.places)
                .filter(|(n, _)| names.contains(&n.name.as_str()))
                .map(|(_, p)| p.cy)
                .collect()
        };
        let pair_bottom = ys(&["a", "b"]).into_iter().fold(f64::MIN, f64::max);
        assert!(ys(&["x", "y", "z"]).iter().all(|&y| y > pair_bottom + 30.0), "{:?}", lay.places);
    }

    #[test]
    fn no_picture_has_crossing_links() {
        for rel in PICTURES {
            assert_eq!(crossing_links(&load(rel)), vec![], "{rel}");
        }
    }

    #[test]
    fn a_grid_is_drawn_square() {
        let lab = load("tests/graphs/grid3.toml");
        let lay = layout(&lab);
        // Every link runs within 10° of level or upright.
        for path in &lay.paths {
            let (a, b) = (path[0], path[path.len() - 1]);
            let phi = (b.1 - a.1).atan2(b.0 - a.0).to_degrees().rem_euclid(90.0);
            assert!(!(10.0..=80.0).contains(&phi), "a link at {phi}°");
        }
    }

    #[test]
    fn the_crossing_count_counts_crossings() {
        let square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        assert_eq!(crossings(&square, &[(0, 1), (1, 2), (2, 3), (3, 0)]), 0);
        assert_eq!(crossings(&square, &[(0, 2), (1, 3)]), 1);
        assert_eq!(crossings(&square, &[(0, 1), (2, 3), (0, 2), (1, 3)]), 1);
        assert!(!segments_cross(((0.0, 0.0), (1.0, 0.0)), ((2.0, 0.0), (3.0, 0.0))));
        assert!(segments_cross(((0.0, 0.0), (2.0, 0.0)), ((1.0, 0.0), (3.0, 0.0))));
    }

    #[test]
    fn labels_in_a_spread_picture_clear_every_line_box_and_label() {
        for rel in [
            "tests/graphs/ring11.toml",
            "tests/graphs/ring-hosts.toml",
            "tests/graphs/grid3.toml",
            "tests/graphs/mesh.toml",
        ] {
            let lab = load(rel);
            let lay = layout(&lab);
            let nodes: Vec<(f64, f64, f64, f64)> = lay
                .places
                .iter()
                .map(|p| (p.cx - p.w / 2.0, p.cy - p.h / 2.0, p.cx + p.w / 2.0, p.cy + p.h / 2.0))
                .collect();
            let blocks: Vec<_> = lay.ports.iter().map(|p| block_box(p).expect("a spread port")).collect();
            for (i, b) in blocks.iter().enumerate() {
                let what = &lay.ports[i].lines;
                for l in 0..lab.links.len() {
                    for seg in segments(&lay, l) {
                        assert!(!svg::segment_meets_box(seg, *b, 0.0), "{rel}: link {l} strikes {what:?}");
                    }
                }
                for (v, n) in nodes.iter().enumerate() {
                    assert!(!svg::boxes_meet(*n, *b, 0.0), "{rel}: {what:?} on {}", lay.nodes[v].name);
                }
                for (j, other) in blocks.iter().enumerate().skip(i + 1) {
                    assert!(!svg::boxes_meet(*other, *b, 0.0), "{rel}: {what:?} on {:?}", lay.ports[j].lines);
                }
            }
        }
    }

    #[test]
    fn every_picture_is_the_same_twice() {
        for rel in PICTURES {
            for format in [Format::Dot, Format::Mermaid, Format::Svg] {
                assert_eq!(render(&load(rel), format), render(&load(rel), format), "{rel} {format:?}");
            }
        }
    }

    #[test]
    fn impairments_show_in_every_format() {
        let lab = load("tests/graphs/impaired.toml");
        for format in [Format::Dot, Format::Mermaid, Format::Svg] {
            let out = render(&lab, format);
            for want in ["100mbit 20ms±5ms 1%", "mtu 1400", "out 10mbit 40ms", "out 2mbit"] {
                assert!(out.contains(want), "{format:?} lacks {want}:\n{out}");
            }
        }
        let mermaid = render(&lab, Format::Mermaid);
        assert!(
            mermaid.contains("router:lan 10.9.1.1/24<br/>100mbit 20ms±5ms 1%")
                && mermaid.contains("mtu 1400, router:wan out 10mbit 40ms, server:eth0 out 2mbit"),
            "{mermaid}"
        );
        // A link without impairments says nothing more.
        let plain = render(&load("topologies/lan.toml"), Format::Mermaid);
        assert!(
            plain
                .lines()
                .filter(|l| l.contains("---|"))
                .all(|l| !l.contains("<br/>") && !l.contains(" out ")),
            "{plain}"
        );
    }

    #[test]
    fn shapes_read_compactly() {
        let ms = std::time::Duration::from_millis;
        let s = Shape {
            rate: Some(1_500_000),
            delay: Some(ms(20)),
            jitter: Some(ms(5)),
            loss: Some(0.5),
            limit: Some(100),
        };
        assert_eq!(shape_text(&s).as_deref(), Some("1500kbit 20ms±5ms 0.5% limit 100"));
        let s = Shape { jitter: Some(std::time::Duration::from_micros(500)), ..Shape::default() };
        assert_eq!(shape_text(&s).as_deref(), Some("±0.5ms"));
        assert_eq!(
            shape_text(&Shape { rate: Some(1_000_000_000), ..Shape::default() }).as_deref(),
            Some("1gbit")
        );
        assert_eq!(shape_text(&Shape::default()), None);
    }

    #[test]
    fn dot_spreads_a_lab_with_a_cycle_and_ranks_a_tree() {
        for (rel, cyclic) in [
            ("tests/graphs/ring11.toml", true),
            ("tests/graphs/grid3.toml", true),
            ("tests/graphs/mesh.toml", true),
            ("tests/graphs/tree.toml", false),
            ("tests/graphs/two-switch.toml", false),
            ("topologies/lan.toml", false),
        ] {
            assert_eq!(render(&load(rel), Format::Dot).contains("layout=neato"), cyclic, "{rel}");
        }
    }

    #[test]
    fn dot_puts_addresses_in_text_nodes_never_on_an_edge() {
        for rel in PICTURES {
            let lab = load(rel);
            let dot = render(&lab, Format::Dot);
            let addrs: Vec<String> = lab
                .links
                .iter()
                .flat_map(|l| [&l.a, &l.b])
                .flat_map(|e| e.addrs.iter().map(|a| a.to_string()))
                .collect();
            for line in dot.lines() {
                if line.contains(" -- ") {
                    for a in &addrs {
                        assert!(!line.contains(a.as_str()), "{rel}: an edge carries {a}: {line}");
                    }
                }
            }
            for a in &addrs {
                assert!(
                    dot.lines().any(|l| l.contains("[shape=plaintext") && l.contains(a.as_str())),
                    "{rel}: no text node holds {a}"
                );
            }
        }
    }

    #[test]
    fn svg_is_well_formed_with_a_view_box() {
        for rel in [
            "topologies/lan.toml",
            "topologies/nat-sim.toml",
            "topologies/seed-nat.toml",
            "topologies/isolated.toml",
            "tests/nft_golden/gateway.toml",
            "tests/graphs/ring11.toml",
            "tests/graphs/mesh.toml",
            "tests/graphs/impaired.toml",
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
