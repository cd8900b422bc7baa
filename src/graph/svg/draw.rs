//! The SVG text, from a finished layout: link lines, port dots and labels, node shapes.

use super::layout::{layout, note_width, Place, Port, Side};
use super::*;
use std::fmt::Write;

pub(in crate::graph) fn xml(s: &str) -> String {
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

pub(in crate::graph) fn svg(lab: &Lab) -> String {
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

    // Notes sit on their link, in the middle of its middle stretch, the line broken behind them.
    let _ = writeln!(s, "<g font-size=\"{}\" text-anchor=\"middle\" fill=\"#8a3b00\">", num(TEXT_PX));
    for (path, note) in lay.paths.iter().zip(&lay.notes) {
        if let Some(note) = note {
            let k = (path.len() - 1) / 2;
            let (x, y) = ((path[k].0 + path[k + 1].0) / 2.0, (path[k].1 + path[k + 1].1) / 2.0);
            let w = note_width(&Some(note.clone()));
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
                num(x - w / 2.0),
                num(y - LINE / 2.0 - 1.0),
                num(w),
                num(LINE + 2.0)
            );
            let _ = writeln!(s, "<text x=\"{}\" y=\"{}\">{}</text>", num(x), num(y + 4.0), xml(note));
        }
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
    if let Some((x, top)) = p.block {
        for (i, line) in p.lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" {}>{}</text>",
                num(x),
                num(top + 10.0 + i as f64 * LINE),
                line_style(i, line),
                xml(line)
            );
        }
        return;
    }
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
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" {}>{}</text>",
            num(x),
            num(y),
            line_style(i, line),
            xml(line)
        );
    }
}

/// The interface in bold, its addresses in blue, what leaves it (when the directions differ)
/// in the notes' colour.
fn line_style(i: usize, line: &str) -> &'static str {
    match i {
        0 => "fill=\"#222222\" font-weight=\"bold\"",
        _ if line.starts_with("out ") => "fill=\"#8a3b00\"",
        _ => "fill=\"#1a5fb4\"",
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
