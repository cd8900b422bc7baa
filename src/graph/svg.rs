//! An SVG drawn by netlab itself, with no external tool.

use super::*;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

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
pub(super) enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Place {
    /// Which connected part of the lab the node is in.
    pub(super) part: usize,
    pub(super) col: i32,
    pub(super) cx: f64,
    pub(super) cy: f64,
    pub(super) w: f64,
    pub(super) h: f64,
}

#[derive(Debug, Clone)]
pub(super) struct Port {
    pub(super) node: usize,
    pub(super) other: usize,
    pub(super) side: Side,
    pub(super) lines: Vec<String>,
    pub(super) x: f64,
    pub(super) y: f64,
    /// Where the horizontal stub ends and the link turns toward the other end.
    pub(super) turn: f64,
}

pub(super) struct Layout<'a> {
    pub(super) nodes: Vec<&'a Node>,
    pub(super) places: Vec<Place>,
    /// Two per link: `ports[2 * i]` at end a, `ports[2 * i + 1]` at end b.
    pub(super) ports: Vec<Port>,
    /// The points of each link's line.
    pub(super) paths: Vec<Vec<(f64, f64)>>,
    pub(super) width: f64,
    pub(super) height: f64,
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
fn bfs(
    adj: &[Vec<usize>],
    from: usize,
    avoid: Option<usize>,
) -> (Vec<Option<usize>>, Vec<Option<usize>>, Vec<usize>) {
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

pub(super) fn layout(lab: &Lab) -> Layout<'_> {
    let nodes: Vec<&Node> = lab.nodes.values().collect();
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let ends: Vec<(usize, usize)> =
        lab.links.iter().map(|l| (index[l.a.node.as_str()], index[l.b.node.as_str()])).collect();
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
            ports.push(Port {
                node,
                other,
                side: Side::Right,
                lines: end_lines(ep),
                x: 0.0,
                y: 0.0,
                turn: 0.0,
            });
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
    Layout {
        nodes,
        places,
        ports,
        paths,
        width: width.max(2.0 * MARGIN + text_width(lab.name.len() + 4, 15.0)),
        height: top - VGAP + MARGIN,
    }
}

/// Lays out one connected part with its top at `top`; returns its width and height.
fn layout_part(
    part: &[usize],
    nodes: &[&Node],
    adj: &[Vec<usize>],
    ends: &[(usize, usize)],
    places: &mut [Place],
    ports: &mut [Port],
    top: f64,
) -> (f64, f64) {
    let kind_rank = |v: usize| match nodes[v].kind {
        NodeKind::Switch => 0,
        NodeKind::Host => 1,
        NodeKind::Netns => 2,
    };
    let eccentricity = |v: usize| bfs(adj, v, None).0.iter().flatten().copied().max().unwrap_or(0);
    let root = *part
        .iter()
        .min_by_key(|&&v| (eccentricity(v), std::cmp::Reverse(adj[v].len()), kind_rank(v), v))
        .expect("a part has a node");

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
    let split = (0..=sizes.len())
        .min_by_key(|&k| (2 * sizes[..k].iter().sum::<usize>()).abs_diff(total))
        .unwrap_or(0);
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
        let text_w = text_width(nodes[v].name.len(), NAME_PX)
            .max(details(nodes[v]).iter().map(|d| text_width(d.len(), TEXT_PX)).fold(0.0, f64::max));
        let inset = if nodes[v].kind == NodeKind::Switch { POINT + 4.0 } else { 6.0 };
        let stack = |side| {
            ports.iter().filter(|p| p.node == v && p.side == side).map(|p| slot(p.lines.len())).sum::<f64>()
                + 2.0 * inset
        };
        places[v].w = (text_w + 28.0).max(72.0);
        places[v].h = (NAME_PX + (lines - 1) as f64 * (TEXT_PX + 4.0) + 22.0 + 2.0 * (inset - 6.0))
            .max(stack(Side::Left))
            .max(stack(Side::Right));
    }

    // Rows: each side as a tidy tree, parents level with the middle of their children.
    let mut next_free: HashMap<i32, f64> = HashMap::new();
    places[root].cy = 0.0;
    for side in [-1, 1] {
        let firsts: Vec<usize> =
            children.get(&root).into_iter().flatten().copied().filter(|&c| sign(c) == side).collect();
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
    let (cmin, cmax) =
        part.iter().fold((0, 0), |(lo, hi), &v| (lo.min(places[v].col), hi.max(places[v].col)));
    let mut x = MARGIN;
    for col in cmin..=cmax {
        let members: Vec<usize> = part.iter().copied().filter(|&v| places[v].col == col).collect();
        let col_w = members.iter().map(|&v| places[v].w).fold(0.0, f64::max);
        let band = |side| {
            ports
                .iter()
                .filter(|p| p.side == side && members.contains(&p.node))
                .map(|p| label_width(&p.lines))
                .fold(0.0, f64::max)
        };
        let brackets =
            ends.iter().filter(|&&(a, b)| members.contains(&a) && places[a].col == places[b].col).count();
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
            let mut mine: Vec<usize> =
                (0..ports.len()).filter(|&i| ports[i].node == v && ports[i].side == side).collect();
            mine.sort_by(|&i, &j| {
                places[ports[i].other].cy.total_cmp(&places[ports[j].other].cy).then(i.cmp(&j))
            });
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
fn place_subtree(
    v: usize,
    children: &HashMap<usize, Vec<usize>>,
    places: &mut [Place],
    next_free: &mut HashMap<i32, f64>,
) {
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

pub(super) fn xml(s: &str) -> String {
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

pub(super) fn svg(lab: &Lab) -> String {
    let lay = layout(lab);
    let mut s = String::new();
    let (w, h) = (num(lay.width), num(lay.height));
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\">");
    let _ = writeln!(s, "<title>{}</title>", xml(&format!("netlab lab {}", lab.name)));
    s.push_str("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
        num(MARGIN),
        num(MARGIN + 8.0),
        xml(&format!("lab {}", lab.name))
    );

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
        let y = if i < above {
            p.y - 4.0 - (above - 1 - i) as f64 * LINE
        } else {
            p.y + 13.0 + (i - above) as f64 * LINE
        };
        let style = if i == 0 { "fill=\"#222222\" font-weight=\"bold\"" } else { "fill=\"#1a5fb4\"" };
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" {style}>{}</text>",
            num(x),
            num(y),
            xml(line)
        );
    }
}

fn node_shape(s: &mut String, node: &Node, at: &Place) {
    let (x, y, w, h) = (at.cx - at.w / 2.0, at.cy - at.h / 2.0, at.w, at.h);
    let _ = writeln!(
        s,
        "<g>\n<title>{}</title>",
        xml(&format!("{} ({})", node.name, format!("{:?}", node.kind).to_lowercase()))
    );
    match node.kind {
        NodeKind::Netns => {
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"#e8f0fe\" stroke=\"#3b6fb6\" stroke-width=\"1.5\"/>", num(x), num(y), num(w), num(h));
        }
        NodeKind::Host => {
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"#fff4d6\" stroke=\"#b7791f\" stroke-width=\"1.5\"/>", num(x), num(y), num(w), num(h));
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1\" fill=\"none\" stroke=\"#b7791f\" stroke-width=\"1\"/>", num(x + 3.0), num(y + 3.0), num(w - 6.0), num(h - 6.0));
        }
        NodeKind::Switch => {
            let pts = [
                (x, y + POINT),
                (at.cx, y),
                (x + w, y + POINT),
                (x + w, y + h - POINT),
                (at.cx, y + h),
                (x, y + h - POINT),
            ];
            let pts: Vec<String> = pts.iter().map(|&(px, py)| format!("{},{}", num(px), num(py))).collect();
            let _ = writeln!(
                s,
                "<polygon points=\"{}\" fill=\"#e6f4ea\" stroke=\"#2e7d32\" stroke-width=\"1.5\"/>",
                pts.join(" ")
            );
        }
    }
    let details = details(node);
    let block = NAME_PX + details.len() as f64 * (TEXT_PX + 4.0);
    let top = at.cy - block / 2.0;
    let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" font-weight=\"bold\" fill=\"#111111\">{}</text>", num(at.cx), num(top + NAME_PX * 0.8), num(NAME_PX), xml(&node.name));
    for (i, d) in details.iter().enumerate() {
        let y = top + NAME_PX + 4.0 + i as f64 * (TEXT_PX + 4.0) + TEXT_PX * 0.8;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"#555555\">{}</text>",
            num(at.cx),
            num(y),
            num(TEXT_PX),
            xml(d)
        );
    }
    s.push_str("</g>\n");
}
