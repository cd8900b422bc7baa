//! A connected part with a cycle, spread in the plane: a ring on a circle in ring order; any
//! other graph by stress majorization (node distances in the picture follow hops in the lab)
//! from a few fixed starting points, keeping the one whose links cross least. Links are
//! straight lines from border to border, each end's label beside its line and off its node.
//! No randomness but a fixed seed: the same file gives the same picture.

use super::layout::{base_size, block_box, label_width, note_width, Graph, Place, Port};
use super::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

type Point = (f64, f64);

/// Lays out one part with its top at `top`; returns its width and height.
pub(super) fn layout_cyclic(
    part: &[usize],
    g: Graph<'_>,
    places: &mut [Place],
    ports: &mut [Port],
    top: f64,
) -> (f64, f64) {
    let Graph { nodes, ends, notes, .. } = g;
    let local: BTreeMap<usize, usize> = part.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let links: Vec<usize> = (0..ends.len()).filter(|&l| local.contains_key(&ends[l].0)).collect();
    let edges: BTreeSet<(usize, usize)> = links
        .iter()
        .map(|&l| (local[&ends[l].0], local[&ends[l].1]))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect();
    let edges: Vec<(usize, usize)> = edges.into_iter().collect();
    let unit = spread(part.len(), &edges);

    for &v in part {
        let (w, h) = base_size(nodes[v]);
        places[v].w = w;
        places[v].h = h;
        places[v].spread = true;
    }
    // Long enough links for a label at each end and the note between them; far enough apart
    // nodes that no two boxes meet.
    let widest = |i: usize| label_width(&ports[i].lines);
    let length = links
        .iter()
        .map(|&l| {
            let (a, b) = ends[l];
            let boxes = (places[a].w.hypot(places[a].h) + places[b].w.hypot(places[b].h)) / 2.0;
            boxes + widest(2 * l) + widest(2 * l + 1) + note_width(&notes[l]) + 24.0
        })
        .fold(120.0, f64::max);
    let mut scale = length;
    for i in 0..part.len() {
        for j in i + 1..part.len() {
            let (pi, pj) = (&places[part[i]], &places[part[j]]);
            let need = (pi.w.hypot(pi.h) + pj.w.hypot(pj.h)) / 2.0 + 2.0 * VGAP;
            let have = dist(unit[i], unit[j]);
            if have > 1e-9 {
                scale = scale.max(need / have);
            }
        }
    }
    for (i, &v) in part.iter().enumerate() {
        places[v].cx = unit[i].0 * scale;
        places[v].cy = unit[i].1 * scale;
    }

    // Two links between the same two nodes run side by side.
    let mut between: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for &l in &links {
        let (a, b) = ends[l];
        between.entry((a.min(b), a.max(b))).or_default().push(l);
    }
    let mut heading: BTreeMap<usize, Point> = BTreeMap::new();
    for group in between.values() {
        for (k, &l) in group.iter().enumerate() {
            let shift = (k as f64 - (group.len() - 1) as f64 / 2.0) * 3.0 * LINE;
            let (a, b) = ends[l];
            let (pa, pb) = ((places[a].cx, places[a].cy), (places[b].cx, places[b].cy));
            // The side is fixed by the node order, not the link's, so that shifts add up.
            let d = if a < b { unit_vec(pa, pb) } else { unit_vec(pb, pa) };
            let n = (-d.1 * shift, d.0 * shift);
            for (i, from, to) in [(2 * l, pa, pb), (2 * l + 1, pb, pa)] {
                let (from, to) = ((from.0 + n.0, from.1 + n.1), (to.0 + n.0, to.1 + n.1));
                let (x, y) = border(from, to, &places[ports[i].node]);
                ports[i].x = x;
                ports[i].y = y;
                heading.insert(i, unit_vec(from, to));
            }
        }
    }

    // Each end's label where it meets the fewest lines, boxes and labels placed before it.
    let segments: Vec<(Point, Point)> = links
        .iter()
        .map(|&l| ((ports[2 * l].x, ports[2 * l].y), (ports[2 * l + 1].x, ports[2 * l + 1].y)))
        .collect();
    let mut taken: Vec<(f64, f64, f64, f64)> = part
        .iter()
        .map(|&v| {
            let p = &places[v];
            (p.cx - p.w / 2.0, p.cy - p.h / 2.0, p.cx + p.w / 2.0, p.cy + p.h / 2.0)
        })
        .collect();
    for (&i, &d) in &heading {
        let at = &places[ports[i].node];
        let reach = dist((ports[i].x, ports[i].y), (ports[i ^ 1].x, ports[i ^ 1].y)) * 0.4;
        let mut best: Option<(usize, Point)> = None;
        'search: for side in [1.0, -1.0] {
            for step in 0..=(reach / 6.0) as usize {
                let corner =
                    beside((ports[i].x, ports[i].y), d, side, step as f64 * 6.0, &ports[i].lines, at);
                let mut probe = ports[i].clone();
                probe.block = Some(corner);
                let b = block_box(&probe).expect("a block was just set");
                let hits = segments.iter().filter(|&&seg| segment_meets_box(seg, b, 2.0)).count()
                    + taken.iter().filter(|&&t| boxes_meet(t, b, 3.0)).count();
                if best.is_none_or(|(h, _)| hits < h) {
                    best = Some((hits, corner));
                }
                if hits == 0 {
                    break 'search;
                }
            }
        }
        let corner = best.expect("one place was tried").1;
        ports[i].block = Some(corner);
        taken.extend(block_box(&ports[i]));
    }

    // Shift the part to its place: its boxes, labels and notes all below `top`, right of the margin.
    let mut boxes: Vec<(f64, f64, f64, f64)> = part
        .iter()
        .map(|&v| {
            let p = &places[v];
            (p.cx - p.w / 2.0, p.cy - p.h / 2.0, p.cx + p.w / 2.0, p.cy + p.h / 2.0)
        })
        .collect();
    for &l in &links {
        boxes.extend(block_box(&ports[2 * l]));
        boxes.extend(block_box(&ports[2 * l + 1]));
        if notes[l].is_some() {
            let (a, b) = (&ports[2 * l], &ports[2 * l + 1]);
            let (mx, my) = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
            let half = note_width(&notes[l]) / 2.0;
            boxes.push((mx - half, my - LINE, mx + half, my + LINE));
        }
    }
    let left = boxes.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let high = boxes.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
    let right = boxes.iter().map(|b| b.2).fold(f64::NEG_INFINITY, f64::max);
    let low = boxes.iter().map(|b| b.3).fold(f64::NEG_INFINITY, f64::max);
    let (dx, dy) = (MARGIN - left, top - high);
    for &v in part {
        places[v].cx += dx;
        places[v].cy += dy;
    }
    for &l in &links {
        for p in [2 * l, 2 * l + 1] {
            let port = &mut ports[p];
            port.x += dx;
            port.y += dy;
            port.block = port.block.map(|(x, y)| (x + dx, y + dy));
        }
    }
    (right - left + 2.0 * MARGIN, low - high)
}

fn dist(a: Point, b: Point) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

fn unit_vec(from: Point, to: Point) -> Point {
    let d = dist(from, to);
    if d < 1e-9 {
        (1.0, 0.0)
    } else {
        ((to.0 - from.0) / d, (to.1 - from.1) / d)
    }
}

/// Where the line from `from` (inside the node's box) toward `to` leaves the box.
fn border(from: Point, to: Point, at: &Place) -> Point {
    let d = unit_vec(from, to);
    let exit = |c: f64, half: f64, p: f64, d: f64| {
        if d > 1e-9 {
            (c + half - p) / d
        } else if d < -1e-9 {
            (c - half - p) / d
        } else {
            f64::INFINITY
        }
    };
    let t = exit(at.cx, at.w / 2.0, from.0, d.0).min(exit(at.cy, at.h / 2.0, from.1, d.1)).max(0.0);
    (from.0 + d.0 * t, from.1 + d.1 * t)
}

/// The top left corner of an end's label: on one side of the line seen from the node (the
/// left for `side` 1), clear of the line by a few pixels, `push` pixels along the line and then
/// on until it clears the node's box.
fn beside(port: Point, d: Point, side: f64, push: f64, lines: &[String], at: &Place) -> Point {
    const CLEAR: f64 = 5.0;
    let (w, h) = (label_width(lines) - 2.0 * PAD, lines.len() as f64 * LINE);
    let n = (side * d.1, -side * d.0);
    let corners = |c: Point| [(c.0, c.1), (c.0 + w, c.1), (c.0, c.1 + h), (c.0 + w, c.1 + h)];
    let mut corner = (port.0 - w / 2.0 + d.0 * push, port.1 - h / 2.0 + d.1 * push);
    let off = corners(corner)
        .iter()
        .map(|&(x, y)| (x - port.0) * n.0 + (y - port.1) * n.1)
        .fold(f64::INFINITY, f64::min);
    corner = (corner.0 + n.0 * (CLEAR - off), corner.1 + n.1 * (CLEAR - off));
    let node = (at.cx - at.w / 2.0, at.cy - at.h / 2.0, at.cx + at.w / 2.0, at.cy + at.h / 2.0);
    for _ in 0..400 {
        if !boxes_meet(node, (corner.0, corner.1, corner.0 + w, corner.1 + h), CLEAR) {
            break;
        }
        corner = (corner.0 + d.0 * 2.0, corner.1 + d.1 * 2.0);
    }
    corner
}

type Box = (f64, f64, f64, f64);

/// Whether two boxes (left, top, right, bottom) come within `gap` of each other.
pub(in crate::graph) fn boxes_meet(a: Box, b: Box, gap: f64) -> bool {
    a.0 < b.2 + gap && b.0 < a.2 + gap && a.1 < b.3 + gap && b.1 < a.3 + gap
}

/// Whether a segment passes within (about) `gap` of a box: through it grown by `gap`.
pub(in crate::graph) fn segment_meets_box(seg: (Point, Point), b: Box, gap: f64) -> bool {
    let (l, t, r, btm) = (b.0 - gap, b.1 - gap, b.2 + gap, b.3 + gap);
    let inside = |p: Point| p.0 > l && p.0 < r && p.1 > t && p.1 < btm;
    inside(seg.0)
        || inside(seg.1)
        || [((l, t), (r, t)), ((r, t), (r, btm)), ((r, btm), (l, btm)), ((l, btm), (l, t))]
            .iter()
            .any(|&e| segments_cross(seg, e))
}

/// Node positions for a connected graph of `n` nodes, about one unit per link.
fn spread(n: usize, edges: &[(usize, usize)]) -> Vec<Point> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
        adj[b].push(a);
    }
    if let Some(order) = ring_order(&adj) {
        // Clockwise from the top, in ring order, the first node of the file first.
        let r = 1.0 / (2.0 * (std::f64::consts::PI / n as f64).sin());
        let mut at = vec![(0.0, 0.0); n];
        for (k, &v) in order.iter().enumerate() {
            let angle = 2.0 * std::f64::consts::PI * k as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
            at[v] = (r * angle.cos(), r * angle.sin());
        }
        return at;
    }
    let hops: Vec<Vec<f64>> = (0..n).map(|v| hops_from(&adj, v)).collect();
    let hub = (0..n).max_by_key(|&v| (adj[v].len(), std::cmp::Reverse(v))).unwrap_or(0);
    let mut starts = vec![circle(&dfs_order(&adj, hub)), circle(&bfs_order(&adj, hub))];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..4 {
        starts.push(
            (0..n)
                .map(|_| {
                    let mut next = || {
                        // xorshift64: a fixed seed, so a fixed picture.
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        (seed >> 11) as f64 / (1u64 << 53) as f64 * n as f64
                    };
                    (next(), next())
                })
                .collect(),
        );
    }
    let mut best: Option<(usize, f64, Vec<Point>)> = None;
    for start in starts {
        let at = majorize(start, &hops);
        let score = (crossings(&at, edges), stress(&at, &hops));
        if best.as_ref().is_none_or(|b| (score.0, score.1) < (b.0, b.1 - 1e-9)) {
            best = Some((score.0, score.1, at));
        }
    }
    best.map(|b| square(b.2, edges)).unwrap_or_default()
}

/// Turns the picture so that links run as near level or upright as they can: the angle that
/// brings the links' directions, taken modulo a right angle, closest to 0 on average.
fn square(at: Vec<Point>, edges: &[(usize, usize)]) -> Vec<Point> {
    let (mut s, mut c) = (0.0, 0.0);
    for &(a, b) in edges {
        let phi = (at[b].1 - at[a].1).atan2(at[b].0 - at[a].0);
        s += (4.0 * phi).sin();
        c += (4.0 * phi).cos();
    }
    let turn = -s.atan2(c) / 4.0;
    let (sin, cos) = turn.sin_cos();
    at.into_iter().map(|(x, y)| (x * cos - y * sin, x * sin + y * cos)).collect()
}

/// The nodes in ring order when the graph is one cycle and nothing else; the first node first,
/// then its neighbour that comes first in the file.
fn ring_order(adj: &[Vec<usize>]) -> Option<Vec<usize>> {
    if adj.len() < 3 || adj.iter().any(|a| a.len() != 2) {
        return None;
    }
    let mut order = vec![0];
    let mut prev = 0;
    let mut here = adj[0][0].min(adj[0][1]);
    while here != 0 {
        order.push(here);
        let next = if adj[here][0] == prev { adj[here][1] } else { adj[here][0] };
        prev = here;
        here = next;
        if order.len() > adj.len() {
            return None;
        }
    }
    (order.len() == adj.len()).then_some(order)
}

fn hops_from(adj: &[Vec<usize>], from: usize) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; adj.len()];
    d[from] = 0.0;
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &u in &adj[v] {
            if d[u].is_infinite() {
                d[u] = d[v] + 1.0;
                queue.push_back(u);
            }
        }
    }
    d
}

fn dfs_order(adj: &[Vec<usize>], from: usize) -> Vec<usize> {
    let mut seen = vec![false; adj.len()];
    let mut order = Vec::new();
    let mut stack = vec![from];
    while let Some(v) = stack.pop() {
        if !std::mem::replace(&mut seen[v], true) {
            order.push(v);
            stack.extend(adj[v].iter().rev().filter(|&&u| !seen[u]));
        }
    }
    order
}

fn bfs_order(adj: &[Vec<usize>], from: usize) -> Vec<usize> {
    let mut seen = vec![false; adj.len()];
    seen[from] = true;
    let mut order = vec![from];
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &u in &adj[v] {
            if !std::mem::replace(&mut seen[u], true) {
                order.push(u);
                queue.push_back(u);
            }
        }
    }
    order
}

fn circle(order: &[usize]) -> Vec<Point> {
    let n = order.len();
    let mut at = vec![(0.0, 0.0); n];
    for (k, &v) in order.iter().enumerate() {
        let angle = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
        at[v] = (n as f64 / 6.0 * angle.cos(), n as f64 / 6.0 * angle.sin());
    }
    at
}

/// Stress majorization (Gansner, Koren and North): each node moves to where its distances to
/// the others best match their hops, weighted by 1/hops², a fixed number of rounds.
fn majorize(mut at: Vec<Point>, hops: &[Vec<f64>]) -> Vec<Point> {
    let n = at.len();
    for _ in 0..300 {
        for i in 0..n {
            let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
            for j in (0..n).filter(|&j| j != i) {
                let d = hops[i][j];
                let w = 1.0 / (d * d);
                let now = dist(at[i], at[j]);
                let (ux, uy) = if now > 1e-9 {
                    ((at[i].0 - at[j].0) / now, (at[i].1 - at[j].1) / now)
                } else {
                    (0.0, 0.0)
                };
                sx += w * (at[j].0 + d * ux);
                sy += w * (at[j].1 + d * uy);
                sw += w;
            }
            if sw > 0.0 {
                at[i] = (sx / sw, sy / sw);
            }
        }
    }
    at
}

fn stress(at: &[Point], hops: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    for i in 0..at.len() {
        for j in i + 1..at.len() {
            let d = hops[i][j];
            s += (dist(at[i], at[j]) - d).powi(2) / (d * d);
        }
    }
    s
}

/// How many pairs of links that share no node cross.
pub(in crate::graph) fn crossings(at: &[Point], edges: &[(usize, usize)]) -> usize {
    let mut count = 0;
    for (i, &(a, b)) in edges.iter().enumerate() {
        for &(c, d) in &edges[i + 1..] {
            if a != c && a != d && b != c && b != d && segments_cross((at[a], at[b]), (at[c], at[d])) {
                count += 1;
            }
        }
    }
    count
}

/// Whether two segments cross or touch.
pub(in crate::graph) fn segments_cross(p: (Point, Point), q: (Point, Point)) -> bool {
    let turn = |a: Point, b: Point, c: Point| (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    let (d1, d2) = (turn(q.0, q.1, p.0), turn(q.0, q.1, p.1));
    let (d3, d4) = (turn(p.0, p.1, q.0), turn(p.0, p.1, q.1));
    d1 * d2 <= 0.0 && d3 * d4 <= 0.0 && {
        // Collinear segments cross only if they overlap.
        let within = |a: f64, b: f64, c: f64, d: f64| a.max(b) >= c.min(d) && c.max(d) >= a.min(b);
        within(p.0 .0, p.1 .0, q.0 .0, q.1 .0) && within(p.0 .1, p.1 .1, q.0 .1, q.1 .1)
    }
}
