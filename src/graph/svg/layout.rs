//! Where the lab's nodes, ports and link lines go: each connected part laid out below the
//! previous one, then every link routed between its two ports.

use super::part::layout_part;
use super::*;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::graph) enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Default)]
pub(in crate::graph) struct Place {
    /// Which connected part of the lab the node is in.
    pub(in crate::graph) part: usize,
    pub(in crate::graph) col: i32,
    pub(in crate::graph) cx: f64,
    pub(in crate::graph) cy: f64,
    pub(in crate::graph) w: f64,
    pub(in crate::graph) h: f64,
}

#[derive(Debug, Clone)]
pub(in crate::graph) struct Port {
    pub(in crate::graph) node: usize,
    pub(in crate::graph) other: usize,
    pub(in crate::graph) side: Side,
    pub(in crate::graph) lines: Vec<String>,
    pub(in crate::graph) x: f64,
    pub(in crate::graph) y: f64,
    /// Where the horizontal stub ends and the link turns toward the other end.
    pub(in crate::graph) turn: f64,
}

pub(in crate::graph) struct Layout<'a> {
    pub(in crate::graph) nodes: Vec<&'a Node>,
    pub(in crate::graph) places: Vec<Place>,
    /// Two per link: `ports[2 * i]` at end a, `ports[2 * i + 1]` at end b.
    pub(in crate::graph) ports: Vec<Port>,
    /// The points of each link's line.
    pub(in crate::graph) paths: Vec<Vec<(f64, f64)>>,
    pub(in crate::graph) width: f64,
    pub(in crate::graph) height: f64,
}

pub(super) fn text_width(chars: usize, px: f64) -> f64 {
    chars as f64 * px * GLYPH
}

/// Vertical room a port needs: its lines split above and below the stub, as many each side.
pub(super) fn slot(lines: usize) -> f64 {
    2.0 * lines.div_ceil(2) as f64 * LINE + 8.0
}

pub(super) fn label_width(lines: &[String]) -> f64 {
    text_width(lines.iter().map(|l| l.chars().count()).max().unwrap_or(0), TEXT_PX) + 2.0 * PAD
}

/// Hops from `from` to every node it reaches without passing `avoid`, with the node that found
/// each one; neighbours are taken in the file's link order, so the result is deterministic.
pub(super) fn bfs(
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

pub(in crate::graph) fn layout(lab: &Lab) -> Layout<'_> {
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
