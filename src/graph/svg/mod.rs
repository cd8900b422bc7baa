//! An SVG drawn by netlab itself, with no external tool. Where everything goes is decided first
//! (`layout.rs` for the whole lab and its link lines, `part.rs` for one connected part), then
//! drawn from those coordinates (`draw.rs`); the sizes below are shared because text
//! widths have to be known to lay out what is drawn.

mod cyclic;
mod draw;
mod layout;
mod part;

use super::*;

pub(super) use draw::svg;
#[cfg(test)]
pub(super) use {
    cyclic::{boxes_meet, crossings, segment_meets_box, segments_cross},
    draw::xml,
    layout::{block_box, layout, Layout},
};

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
