//! The topology as a picture (`netlab graph`): Graphviz dot, Mermaid, or an SVG drawn here.
//!
//! Pure: a validated model in, text out. The SVG is laid out by netlab itself so that the
//! picture needs no tool the user may not have; dot and Mermaid leave the layout to their
//! renderers.

use crate::model::firewall::{Action, Firewall};
use crate::model::{Endpoint, Lab, Node, NodeKind};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

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
    let forwards = s.get("net.ipv4.ip_forward").is_some_and(|v| v == "1") || s.get("net.ipv6.conf.all.forwarding").is_some_and(|v| v == "1");
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
    !fw.forward.is_empty() || !fw.input.is_empty() || fw.forward_policy != Action::Accept || fw.input_policy != Action::Accept
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

/// A dot quoted string. Interface names may hold quotes and backslashes: the kernel allows them.
fn dot_quote(s: &str) -> String {
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

fn dot(lab: &Lab) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "graph {} {{", dot_quote(&lab.name));
    let _ = writeln!(s, "  graph [rankdir=LR, nodesep=0.6, ranksep=1.8, fontname=\"Helvetica\", label={}, labelloc=t];", dot_quote(&format!("lab {}", lab.name)));
    s.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    s.push_str("  edge [fontname=\"Helvetica\", labelfontsize=9, labeldistance=2.5, labelangle=20];\n");
    for node in lab.nodes.values() {
        let label = std::iter::once(node.name.clone()).chain(details(node)).collect::<Vec<_>>().join("\n");
        let style = match node.kind {
            NodeKind::Netns => "shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", color=\"#3b6fb6\"",
            NodeKind::Host => "shape=box, peripheries=2, style=filled, fillcolor=\"#fff4d6\", color=\"#b7791f\"",
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

/// A Mermaid node id: node names may hold `-` (an edge token to Mermaid) and `_`, so both are
/// spelled out in a way that cannot make two names collide, and the `n_` keeps words such as
/// `end` from being read as keywords.
fn mermaid_id(name: &str) -> String {
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
fn mermaid_text(s: &str) -> String {
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

fn mermaid(lab: &Lab) -> String {
    let mut s = String::from("graph LR\n");
    let _ = writeln!(s, "  %% netlab lab {}", lab.name);
    for node in lab.nodes.values() {
        let label = std::iter::once(node.name.as_str()).chain(details(node).iter().map(String::as_str)).map(mermaid_text).collect::<Vec<_>>().join("<br/>");
        let id = mermaid_id(&node.name);
        let _ = match node.kind {
            NodeKind::Netns => writeln!(s, "  {id}(\"{label}\")"),
            NodeKind::Host => writeln!(s, "  {id}[[\"{label}\"]]"),
            NodeKind::Switch => writeln!(s, "  {id}{{{{\"{label}\"}}}}"),
        };
    }
    for link in &lab.links {
        let label = format!("{} ↔ {}", end_inline(&link.a), end_inline(&link.b));
        let _ = writeln!(s, "  {} ---|\"{}\"| {}", mermaid_id(&link.a.node), mermaid_text(&label), mermaid_id(&link.b.node));
    }
    for (kind, class, style) in [
        (NodeKind::Netns, "netns", "fill:#e8f0fe,stroke:#3b6fb6,color:#000"),
        (NodeKind::Host, "hostns", "fill:#fff4d6,stroke:#b7791f,stroke-width:3px,color:#000"),
        (NodeKind::Switch, "switch", "fill:#e6f4ea,stroke:#2e7d32,color:#000"),
    ] {
        let ids: Vec<String> = lab.nodes.values().filter(|n| n.kind == kind).map(|n| mermaid_id(&n.name)).collect();
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

const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
/// The advance of a monospace glyph, in ems: what lets text widths be known without a font.
const GLYPH: f64 = 0.6;
const NAME_PX: f64 = 13.0;
const TEXT_PX: f64 = 11.0;
const LINE: f64 = 13.0;
const MARGIN: f64 = 24.0;
const TITLE: f64 = 30.0;
/// Between two nodes of a column, and between two parts of the lab.
const VGAP: f64 = 26.0;
/// The least horizontal run of the slanted part of a link.
const RUN: f64 = 56.0;
/// Between a label and its line or node.
const PAD: f64 = 6.0;
/// How far a switch's hexagon points stick out above and below its ports.
const POINT: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Default)]
struct Place {
    /// Which connected part of the lab the node is in.
    part: usize,
    col: i32,
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
}

#[derive(Debug, Clone)]
struct Port {
    node: usize,
    other: usize,
    side: Side,
    lines: Vec<String>,
    x: f64,
    y: f64,
    /// Where the horizontal stub ends and the link turns toward the other end.
    turn: f64,
}

struct Layout<'a> {
    nodes: Vec<&'a Node>,
    places: Vec<Place>,
    /// Two per link: `ports[2 * i]` at end a, `ports[2 * i + 1]` at end b.
    ports: Vec<Port>,
    /// The points of each link's line.
    paths: Vec<Vec<(f64, f64)>>,
    width: f64,
    height: f64,
}

fn text_width(chars: usize, px: f64) -> f64 {
    chars as f64 * px * GLYPH
}

/// Vertical room a port needs: its lines split above and below the stub, as many each side.
fn slot(lines: usize) -> f64 {
    2.0 * lines.div_ceil(2) as f64 * LINE + 8.0
}

fn label_width(lines: &[String]) -> f64 {
    text_width(lines.iter().map(|l| l.chars().count()).max().unwrap_or(0), TEXT_PX) + 2.0 * PAD
}

/// Hops from `from` to every node it reaches without passing `avoid`, with the node that found
/// each one; neighbours are taken in the file's link order, so the result is deterministic.
fn bfs(adj: &[Vec<usize>], from: usize, avoid: Option<usize>) -> (Vec<Option<usize>>, Vec<Option<usize>>, Vec<usize>) {
    let mut dist = vec![None; adj.len()];
    let mut parent = vec![None; adj.len()];
    let mut order = vec![from];
    dist[from] = Some(0);
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &u in &adj[v] {
            if dist[u].is_none() && Some(u) != avoid {
                dist[u] = dist[v].map(|d| d + 1);
                parent[u] = Some(v);
                order.push(u);
                queue.push_back(u);
            }
        }
    }
    (dist, parent, order)
}

fn layout(lab: &Lab) -> Layout<'_> {
    let nodes: Vec<&Node> = lab.nodes.values().collect();
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let ends: Vec<(usize, usize)> = lab.links.iter().map(|l| (index[l.a.node.as_str()], index[l.b.node.as_str()])).collect();
    let mut adj = vec![Vec::new(); nodes.len()];
    for &(a, b) in &ends {
        adj[a].push(b);
        adj[b].push(a);
    }
    let mut places = vec![Place::default(); nodes.len()];
    let mut ports: Vec<Port> = Vec::with_capacity(2 * ends.len());
    for (l, &(a, b)) in ends.iter().enumerate() {
        let link = &lab.links[l];
        for (node, other, ep) in [(a, b, &link.a), (b, a, &link.b)] {
            ports.push(Port { node, other, side: Side::Right, lines: end_lines(ep), x: 0.0, y: 0.0, turn: 0.0 });
        }
    }
    let mut seen = vec![false; nodes.len()];
    let mut top = MARGIN + TITLE;
    let mut width: f64 = 0.0;
    for start in 0..nodes.len() {
        if seen[start] {
            continue;
        }
        let (_, _, part) = bfs(&adj, start, None);
        for &v in &part {
            seen[v] = true;
            places[v].part = start;
        }
        let (w, h) = layout_part(&part, &nodes, &adj, &ends, &mut places, &mut ports, top);
        width = width.max(w);
        top += h + VGAP;
    }
    let paths = route(&ends, &places, &ports);
    Layout { nodes, places, ports, paths, width: width.max(2.0 * MARGIN + text_width(lab.name.len() + 4, 15.0)), height: top - VGAP + MARGIN }
}

/// Lays out one connected part with its top at `top`; returns its width and height.
fn layout_part(part: &[usize], nodes: &[&Node], adj: &[Vec<usize>], ends: &[(usize, usize)], places: &mut [Place], ports: &mut [Port], top: f64) -> (f64, f64) {
    let kind_rank = |v: usize| match nodes[v].kind {
        NodeKind::Switch => 0,
        NodeKind::Host => 1,
        NodeKind::Netns => 2,
    };
    let eccentricity = |v: usize| bfs(adj, v, None).0.iter().flatten().copied().max().unwrap_or(0);
    let root = *part.iter().min_by_key(|&&v| (eccentricity(v), std::cmp::Reverse(adj[v].len()), kind_rank(v), v)).expect("a part has a node");

    // What hangs off the root, in link order, shared left and right as evenly as the order allows.
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    let mut sizes: Vec<usize> = Vec::new();
    for &u in &adj[root] {
        if u == root || group_of.contains_key(&u) {
            continue;
        }
        let (_, _, members) = bfs(adj, u, Some(root));
        for m in &members {
            group_of.insert(*m, sizes.len());
        }
        sizes.push(members.len());
    }
    let total: usize = sizes.iter().sum();
    let split = (0..=sizes.len()).min_by_key(|&k| (2 * sizes[..k].iter().sum::<usize>()).abs_diff(total)).unwrap_or(0);
    let sign = |v: usize| if v == root || group_of[&v] >= split { 1 } else { -1 };

    let (dist, parent, order) = bfs(adj, root, None);
    for &v in part {
        places[v].col = sign(v) * dist[v].unwrap_or(0) as i32;
    }
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for &v in order.iter().skip(1) {
        children.entry(parent[v].expect("reached from the root")).or_default().push(v);
    }

    // Ports face the other end's column; between two nodes of a column they face outward.
    for p in ports.iter_mut().filter(|p| part.contains(&p.node)) {
        let (mine, theirs) = (places[p.node].col, places[p.other].col);
        p.side = if theirs > mine || (theirs == mine && mine >= 0) { Side::Right } else { Side::Left };
    }
    for &v in part {
        let lines = 1 + details(nodes[v]).len();
        let text_w = text_width(nodes[v].name.len(), NAME_PX).max(details(nodes[v]).iter().map(|d| text_width(d.len(), TEXT_PX)).fold(0.0, f64::max));
        let inset = if nodes[v].kind == NodeKind::Switch { POINT + 4.0 } else { 6.0 };
        let stack = |side| ports.iter().filter(|p| p.node == v && p.side == side).map(|p| slot(p.lines.len())).sum::<f64>() + 2.0 * inset;
        places[v].w = (text_w + 28.0).max(72.0);
        places[v].h = (NAME_PX + (lines - 1) as f64 * (TEXT_PX + 4.0) + 22.0 + 2.0 * (inset - 6.0)).max(stack(Side::Left)).max(stack(Side::Right));
    }

    // Rows: each side as a tidy tree, parents level with the middle of their children.
    let mut next_free: HashMap<i32, f64> = HashMap::new();
    places[root].cy = 0.0;
    for side in [-1, 1] {
        let firsts: Vec<usize> = children.get(&root).into_iter().flatten().copied().filter(|&c| sign(c) == side).collect();
        for &c in &firsts {
            place_subtree(c, &children, places, &mut next_free);
        }
        if let (Some(&f), Some(&l)) = (firsts.first(), firsts.last()) {
            let shift = -(places[f].cy + places[l].cy) / 2.0;
            for v in subtree(&firsts, &children) {
                places[v].cy += shift;
            }
        }
    }
    let min_top = part.iter().map(|&v| places[v].cy - places[v].h / 2.0).fold(f64::INFINITY, f64::min);
    for &v in part {
        places[v].cy += top - min_top;
    }
    let height = part.iter().map(|&v| places[v].cy + places[v].h / 2.0).fold(0.0, f64::max) - top;

    // Columns: each as wide as its widest node, with room for its labels and brackets.
    let (cmin, cmax) = part.iter().fold((0, 0), |(lo, hi), &v| (lo.min(places[v].col), hi.max(places[v].col)));
    let mut x = MARGIN;
    for col in cmin..=cmax {
        let members: Vec<usize> = part.iter().copied().filter(|&v| places[v].col == col).collect();
        let col_w = members.iter().map(|&v| places[v].w).fold(0.0, f64::max);
        let band = |side| ports.iter().filter(|p| p.side == side && members.contains(&p.node)).map(|p| label_width(&p.lines)).fold(0.0, f64::max);
        let brackets = ends.iter().filter(|&&(a, b)| members.contains(&a) && places[a].col == places[b].col).count();
        let room = if brackets > 0 { 12.0 + 10.0 * brackets as f64 } else { 0.0 };
        let (room_l, room_r) = if col < 0 { (room, 0.0) } else { (0.0, room) };
        let (band_l, band_r) = (band(Side::Left), band(Side::Right));
        x += room_l + band_l;
        let cx = x + col_w / 2.0;
        for &v in &members {
            places[v].cx = cx;
        }
        for p in ports.iter_mut().filter(|p| members.contains(&p.node)) {
            p.turn = match p.side {
                Side::Left => cx - col_w / 2.0 - band_l,
                Side::Right => cx + col_w / 2.0 + band_r,
            };
        }
        x += col_w + band_r + room_r;
        if col < cmax {
            x += RUN;
        }
    }

    // Ports down each side, in the order of what they lead to, so that links do not cross.
    for &v in part {
        for side in [Side::Left, Side::Right] {
            let mut mine: Vec<usize> = (0..ports.len()).filter(|&i| ports[i].node == v && ports[i].side == side).collect();
            mine.sort_by(|&i, &j| places[ports[i].other].cy.total_cmp(&places[ports[j].other].cy).then(i.cmp(&j)));
            let mut y = places[v].cy - mine.iter().map(|&i| slot(ports[i].lines.len())).sum::<f64>() / 2.0;
            for i in mine {
                let s = slot(ports[i].lines.len());
                let p = &mut ports[i];
                p.y = y + s / 2.0;
                p.x = places[v].cx + if side == Side::Left { -places[v].w / 2.0 } else { places[v].w / 2.0 };
                y += s;
            }
        }
    }
    (x + MARGIN, height)
}

fn subtree(roots: &[usize], children: &HashMap<usize, Vec<usize>>) -> Vec<usize> {
    let mut all = Vec::new();
    let mut stack = roots.to_vec();
    while let Some(v) = stack.pop() {
        all.push(v);
        stack.extend(children.get(&v).into_iter().flatten());
    }
    all
}

/// Places `v` and what hangs off it below everything already in their columns.
fn place_subtree(v: usize, children: &HashMap<usize, Vec<usize>>, places: &mut [Place], next_free: &mut HashMap<i32, f64>) {
    let kids = children.get(&v).cloned().unwrap_or_default();
    for &c in &kids {
        place_subtree(c, children, places, next_free);
    }
    let lowest = next_free.get(&places[v].col).copied().unwrap_or(0.0) + places[v].h / 2.0;
    let wanted = match (kids.first(), kids.last()) {
        (Some(&f), Some(&l)) => (places[f].cy + places[l].cy) / 2.0,
        _ => lowest,
    };
    places[v].cy = wanted.max(lowest);
    if wanted < lowest {
        // The children were placed as high as they could go; they follow their parent down.
        for u in subtree(&kids, children) {
            places[u].cy += lowest - wanted;
            let bottom = places[u].cy + places[u].h / 2.0 + VGAP;
            let free = next_free.entry(places[u].col).or_insert(0.0);
            *free = free.max(bottom);
        }
    }
    next_free.insert(places[v].col, places[v].cy + places[v].h / 2.0 + VGAP);
}

/// Each link's line: out along its stub, across the band between columns, in along the other
/// stub. Two nodes of one column are joined by a bracket beside the column.
fn route(ends: &[(usize, usize)], places: &[Place], ports: &[Port]) -> Vec<Vec<(f64, f64)>> {
    let mut brackets: HashMap<(usize, i32), usize> = HashMap::new();
    (0..ends.len())
        .map(|l| {
            let (a, b) = (&ports[2 * l], &ports[2 * l + 1]);
            let col = places[a.node].col;
            if col == places[b.node].col {
                let k = brackets.entry((places[a.node].part, col)).or_insert(0);
                *k += 1;
                let out = 12.0 + 10.0 * (*k - 1) as f64;
                let x = if a.side == Side::Left { a.turn - out } else { a.turn + out };
                vec![(a.x, a.y), (x, a.y), (x, b.y), (b.x, b.y)]
            } else {
                vec![(a.x, a.y), (a.turn, a.y), (b.turn, b.y), (b.x, b.y)]
            }
        })
        .collect()
}

// ---- SVG: drawing --------------------------------------------------------------------------

fn xml(s: &str) -> String {
    let mut t = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => t.push_str("&amp;"),
            '<' => t.push_str("&lt;"),
            '>' => t.push_str("&gt;"),
            '"' => t.push_str("&quot;"),
            '\'' => t.push_str("&apos;"),
            c => t.push(c),
        }
    }
    t
}

/// A coordinate, to a tenth of a pixel, without a trailing ".0": stable, short output.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

fn svg(lab: &Lab) -> String {
    let lay = layout(lab);
    let mut s = String::new();
    let (w, h) = (num(lay.width), num(lay.height));
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\">");
    let _ = writeln!(s, "<title>{}</title>", xml(&format!("netlab lab {}", lab.name)));
    s.push_str("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#222222\">{}</text>", num(MARGIN), num(MARGIN + 8.0), xml(&format!("lab {}", lab.name)));

    s.push_str("<g fill=\"none\" stroke=\"#666666\" stroke-width=\"1.5\" stroke-linejoin=\"round\">\n");
    for path in &lay.paths {
        let points: Vec<String> = path.iter().map(|&(x, y)| format!("{},{}", num(x), num(y))).collect();
        let _ = writeln!(s, "<polyline points=\"{}\"/>", points.join(" "));
    }
    s.push_str("</g>\n<g fill=\"#666666\">\n");
    for p in &lay.ports {
        let _ = writeln!(s, "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\"/>", num(p.x), num(p.y));
    }
    s.push_str("</g>\n");

    let _ = writeln!(s, "<g font-size=\"{}\">", num(TEXT_PX));
    for p in &lay.ports {
        port_label(&mut s, p);
    }
    s.push_str("</g>\n");

    for (v, node) in lay.nodes.iter().enumerate() {
        node_shape(&mut s, node, &lay.places[v]);
    }
    s.push_str("</svg>\n");
    s
}

/// The interface (and first address, when there are two or more) above the stub, the rest
/// below it, starting beside the node.
fn port_label(s: &mut String, p: &Port) {
    let (x, anchor) = match p.side {
        Side::Right => (p.x + PAD, "start"),
        Side::Left => (p.x - PAD, "end"),
    };
    let above = p.lines.len().div_ceil(2);
    for (i, line) in p.lines.iter().enumerate() {
        let y = if i < above { p.y - 4.0 - (above - 1 - i) as f64 * LINE } else { p.y + 13.0 + (i - above) as f64 * LINE };
        let style = if i == 0 { "fill=\"#222222\" font-weight=\"bold\"" } else { "fill=\"#1a5fb4\"" };
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" {style}>{}</text>", num(x), num(y), xml(line));
    }
}

fn node_shape(s: &mut String, node: &Node, at: &Place) {
    let (x, y, w, h) = (at.cx - at.w / 2.0, at.cy - at.h / 2.0, at.w, at.h);
    let _ = writeln!(s, "<g>\n<title>{}</title>", xml(&format!("{} ({})", node.name, format!("{:?}", node.kind).to_lowercase())));
    match node.kind {
        NodeKind::Netns => {
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"#e8f0fe\" stroke=\"#3b6fb6\" stroke-width=\"1.5\"/>", num(x), num(y), num(w), num(h));
        }
        NodeKind::Host => {
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"#fff4d6\" stroke=\"#b7791f\" stroke-width=\"1.5\"/>", num(x), num(y), num(w), num(h));
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1\" fill=\"none\" stroke=\"#b7791f\" stroke-width=\"1\"/>", num(x + 3.0), num(y + 3.0), num(w - 6.0), num(h - 6.0));
        }
        NodeKind::Switch => {
            let pts = [(x, y + POINT), (at.cx, y), (x + w, y + POINT), (x + w, y + h - POINT), (at.cx, y + h), (x, y + h - POINT)];
            let pts: Vec<String> = pts.iter().map(|&(px, py)| format!("{},{}", num(px), num(py))).collect();
            let _ = writeln!(s, "<polygon points=\"{}\" fill=\"#e6f4ea\" stroke=\"#2e7d32\" stroke-width=\"1.5\"/>", pts.join(" "));
        }
    }
    let details = details(node);
    let block = NAME_PX + details.len() as f64 * (TEXT_PX + 4.0);
    let top = at.cy - block / 2.0;
    let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" font-weight=\"bold\" fill=\"#111111\">{}</text>", num(at.cx), num(top + NAME_PX * 0.8), num(NAME_PX), xml(&node.name));
    for (i, d) in details.iter().enumerate() {
        let y = top + NAME_PX + 4.0 + i as f64 * (TEXT_PX + 4.0) + TEXT_PX * 0.8;
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"#555555\">{}</text>", num(at.cx), num(y), num(TEXT_PX), xml(d));
    }
    s.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(rel: &str) -> Lab {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        crate::Lab::load(&path).expect("example topology loads").model
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
        crate::Lab::parse(Path::new("tiny.toml"), TINY).expect("tiny topology is valid").model
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
        let body = doc.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").ok_or("no XML declaration")?;
        let mut open: Vec<&str> = Vec::new();
        let mut rest = body;
        let mut roots = 0;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            if text.contains('>') || text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").replace("&quot;", "").replace("&apos;", "").contains('&') {
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
        for rel in ["topologies/lan.toml", "topologies/nat-sim.toml", "topologies/seed-nat.toml", "topologies/isolated.toml", "tests/nft_golden/gateway.toml"] {
            let out = render(&load(rel), Format::Svg);
            well_formed(&out).unwrap_or_else(|e| panic!("{rel}: {e}\n{out}"));
            assert!(out.contains("viewBox=\"0 0 ") && out.contains("xmlns=\"http://www.w3.org/2000/svg\""), "{rel}");
        }
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><g></svg></g>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><text>a & b</text></svg>").is_err());
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
