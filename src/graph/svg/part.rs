//! One connected part: a root chosen at its centre, columns by hops from it on two sides,
//! rows as a tidy tree, and each node's ports in the order of what they lead to.

use super::layout::{base_size, bfs, label_width, note_width, slot, Graph, Place, Port, Side};
use super::*;
use std::collections::HashMap;

/// Lays out one connected part with its top at `top`; returns its width and height.
pub(super) fn layout_part(
    part: &[usize],
    g: Graph<'_>,
    places: &mut [Place],
    ports: &mut [Port],
    top: f64,
) -> (f64, f64) {
    let Graph { nodes, adj, ends, notes } = g;
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
        let inset = if nodes[v].kind == NodeKind::Switch { POINT + 4.0 } else { 6.0 };
        let stack = |side| {
            ports.iter().filter(|p| p.node == v && p.side == side).map(|p| slot(p.lines.len())).sum::<f64>()
                + 2.0 * inset
        };
        let (w, h) = base_size(nodes[v]);
        places[v].w = w;
        places[v].h = h.max(stack(Side::Left)).max(stack(Side::Right));
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
            // Wide enough for the note in the middle of every link to the next column.
            let note = (0..ends.len())
                .filter(|&l| {
                    let (a, b) = ends[l];
                    let (ca, cb) = (places[a].col, places[b].col);
                    (members.contains(&a) || members.contains(&b))
                        && ca.min(cb) == col
                        && ca.max(cb) == col + 1
                })
                .map(|l| note_width(&notes[l]))
                .fold(0.0, f64::max);
            x += RUN.max(note + 16.0);
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
