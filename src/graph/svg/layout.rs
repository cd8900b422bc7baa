//! Where the lab's nodes, ports and link lines go: each connected part laid out below the
//! previous one, then every link routed between its two ports. A part that is a tree is laid
//! out in columns (`part.rs`); a part with a cycle is spread in the plane (`cyclic.rs`), where
//! a tree's columns would have to cross its links.

use super::cyclic::layout_cyclic;
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
    /// Laid out in the plane: its links are straight lines from border to border.
    pub(in crate::graph) spread: bool,
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
    /// In a spread part: the top left corner of the label's lines, which sit beside the link
    /// instead of along a stub.
    pub(in crate::graph) block: Option<(f64, f64)>,
}

pub(in crate::graph) struct Layout<'a> {
    pub(in crate::graph) nodes: Vec<&'a Node>,
    pub(in crate::graph) places: Vec<Place>,
    /// Two per link: `ports[2 * i]` at end a, `ports[2 * i + 1]` at end b.
    pub(in crate::graph) ports: Vec<Port>,
    /// The points of each link's line.
    pub(in crate::graph) paths: Vec<Vec<(f64, f64)>>,
    /// What each link says in its middle: the impairments both directions share, and the MTU.
    pub(in crate::graph) notes: Vec<Option<String>>,
    pub(in crate::graph) width: f64,
    pub(in crate::graph) height: f64,
}

/// What both kinds of part layout read: the lab's nodes, who neighbours whom, each link's two
/// nodes and its middle note, all by index.
#[derive(Clone, Copy)]
pub(super) struct Graph<'a> {
    pub(super) nodes: &'a [&'a Node],
    pub(super) adj: &'a [Vec<usize>],
    pub(super) ends: &'a [(usize, usize)],
    pub(super) notes: &'a [Option<String>],
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

/// The room a link's middle note takes, along the link.
pub(super) fn note_width(note: &Option<String>) -> f64 {
    note.as_ref().map_or(0.0, |n| text_width(n.chars().count(), TEXT_PX) + 2.0 * PAD)
}

/// A node's box before ports are stacked on its sides: its name and details, padded.
pub(super) fn base_size(node: &Node) -> (f64, f64) {
    let details = details(node);
    let text_w = text_width(node.name.chars().count(), NAME_PX)
        .max(details.iter().map(|d| text_width(d.chars().count(), TEXT_PX)).fold(0.0, f64::max));
    let inset = if node.kind == NodeKind::Switch { POINT + 4.0 } else { 6.0 };
    ((text_w + 28.0).max(72.0), NAME_PX + details.len() as f64 * (TEXT_PX + 4.0) + 22.0 + 2.0 * (inset - 6.0))
}

/// The box (left, top, right, bottom) of a spread port's label.
pub(in crate::graph) fn block_box(p: &Port) -> Option<(f64, f64, f64, f64)> {
    let (x, y) = p.block?;
    Some((x, y, x + label_width(&p.lines) - 2.0 * PAD, y + p.lines.len() as f64 * LINE))
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
    let mut notes = Vec::with_capacity(ends.len());
    for (l, &(a, b)) in ends.iter().enumerate() {
        let link = &lab.links[l];
        let imp = impairments(link);
        notes.push(imp.middle.clone());
        for (node, other, ep, out) in [(a, b, &link.a, &imp.out_a), (b, a, &link.b, &imp.out_b)] {
            ports.push(Port {
                node,
                other,
                side: Side::Right,
                lines: port_lines(ep, out),
                x: 0.0,
                y: 0.0,
                turn: 0.0,
                block: None,
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
        // A connected part is a tree when it has one link fewer than nodes (two links between
        // the same two nodes make a cycle too).
        let links = ends.iter().filter(|&&(a, _)| part.contains(&a)).count();
        let g = Graph { nodes: &nodes, adj: &adj, ends: &ends, notes: &notes };
        let (w, h) = if links + 1 == part.len() {
            layout_part(&part, g, &mut places, &mut ports, top)
        } else {
            layout_cyclic(&part, g, &mut places, &mut ports, top)
        };
        width = width.max(w);
        top += h + VGAP;
    }
    let paths = route(&ends, &places, &ports);
    Layout {
        nodes,
        places,
        ports,
        paths,
        notes,
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
            if places[a.node].spread {
                return vec![(a.x, a.y), (b.x, b.y)];
            }
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
