//! Value heatmaps with policy arrows, in the style of the books' grid figures.
//!
//! Each cell is coloured by its value (a viridis-like scale), the value is
//! printed in it, and the policy's action is drawn as an arrow (a circle for
//! "stay"). Forbidden cells get an orange frame, the target and goal cells a
//! blue frame, walls are dark grey, holes and terminal cells light grey with
//! their letter, cliffs dark red. Large grids drop the numbers and arrows when
//! cells get too small to read.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{render_png, FONT};
use crate::env::{CellKind, Grid};
use crate::Result;

/// The largest map side [`render_grid`] draws (4 pixels a cell at least).
pub const MAX_SIDE: usize = 2000;

/// What to draw on a grid.
#[derive(Debug, Clone, Default)]
pub struct GridPlot<'a> {
    /// Title above the grid.
    pub title: String,
    /// One value per state (row-major); `None` draws the bare map.
    pub values: Option<&'a [f64]>,
    /// One action per state; `None` draws no arrows.
    pub actions: Option<&'a [usize]>,
    /// Decimals printed in each cell (default 1).
    pub decimals: Option<usize>,
}

const VIRIDIS: [(f64, (u8, u8, u8)); 5] =
    [(0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)), (1.0, (253, 231, 37))];

/// A viridis-like colour for t in [0, 1].
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    for w in VIRIDIS.windows(2) {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if t <= t1 {
            let u = (t - t0) / (t1 - t0);
            let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * u).round() as u8;
            return RGBColor(mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2));
        }
    }
    RGBColor(253, 231, 37)
}

/// Draw `plot` for `grid` to a PNG at `path` (atomically).
pub fn render_grid(path: &Path, grid: &Grid, plot: &GridPlot<'_>) -> Result<()> {
    let (h, w) = (grid.height, grid.width);
    if h.max(w) > MAX_SIDE {
        return Err(crate::Error::input(format!(
            "{}: a {h}x{w} map is too large to draw (at most {MAX_SIDE} cells a side)",
            path.display()
        )));
    }
    let cell = (900 / w.max(h)).clamp(4, 90) as i32;
    let (top, left, pad, bottom) = (60i32, 30i32, 30i32, 70i32);
    let size = ((left + pad + cell * w as i32).max(560) as u32, (top + bottom + cell * h as i32) as u32);
    render_png(path, size, |root| draw(root, grid, plot, cell, top, left).map_err(|e| e.to_string()))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw(
    root: &Area<'_>,
    grid: &Grid,
    plot: &GridPlot<'_>,
    cell: i32,
    top: i32,
    left: i32,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let e = |x: DrawingAreaErrorKind<_>| -> Box<dyn std::error::Error> { x.to_string().into() };
    root.draw(&Text::new(plot.title.clone(), (left, 18), TextStyle::from((FONT, 22).into_font()).color(&BLACK)))
        .map_err(e)?;
    let (lo, hi) = match plot.values {
        Some(v) => {
            let fin: Vec<f64> =
                (0..v.len()).filter(|&s| !grid.model.is_fixed(s)).map(|s| v[s]).filter(|x| x.is_finite()).collect();
            let lo = fin.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if lo <= hi {
                (lo, hi)
            } else {
                (0.0, 1.0)
            }
        }
        None => (0.0, 1.0),
    };
    // One decimal as in the books' figures; two when the values are all small (e.g. probabilities).
    let decimals = plot.decimals.unwrap_or(if lo.abs().max(hi.abs()) < 2.0 { 2 } else { 1 });
    let show_text = cell >= 34;
    let font_px = (cell as f64 * 0.24).clamp(9.0, 20.0) as i32;
    for s in 0..grid.n_states() {
        let (r, c) = grid.coords(s);
        let x0 = left + c as i32 * cell;
        let y0 = top + r as i32 * cell;
        let rect = [(x0, y0), (x0 + cell, y0 + cell)];
        let kind = grid.cells[s];
        let fill = match kind {
            CellKind::Wall => RGBColor(60, 60, 60),
            CellKind::Cliff => RGBColor(120, 20, 20),
            CellKind::Hole | CellKind::Terminal => RGBColor(205, 205, 205),
            _ if grid.model.is_fixed(s) => RGBColor(205, 205, 205),
            _ => match plot.values {
                Some(v) => viridis(if hi > lo { (v[s] - lo) / (hi - lo) } else { 0.5 }),
                None => RGBColor(250, 250, 250),
            },
        };
        root.draw(&Rectangle::new(rect, fill.filled())).map_err(e)?;
        root.draw(&Rectangle::new(rect, ShapeStyle::from(&WHITE).stroke_width(1))).map_err(e)?;
        let frame = match kind {
            CellKind::Forbidden => Some(RGBColor(255, 140, 0)),
            CellKind::Target | CellKind::Goal => Some(RGBColor(0, 150, 255)),
            _ => None,
        };
        if let Some(col) = frame {
            let t = (cell / 12).max(2);
            for k in 0..t {
                root.draw(&Rectangle::new(
                    [(x0 + k, y0 + k), (x0 + cell - k, y0 + cell - k)],
                    ShapeStyle::from(&col).stroke_width(1),
                ))
                .map_err(e)?;
            }
        }
        let dark = {
            let RGBColor(rr, gg, bb) = fill;
            0.299 * rr as f64 + 0.587 * gg as f64 + 0.114 * bb as f64 <= 140.0
        };
        let ink = if dark { WHITE } else { BLACK };
        if !show_text {
            continue;
        }
        let letter = match kind {
            CellKind::Wall => None,
            CellKind::Hole => Some("H"),
            CellKind::Cliff => Some("cliff"),
            CellKind::Terminal => Some("T"),
            CellKind::Goal if grid.model.is_fixed(s) => Some("G"),
            CellKind::Target if grid.model.is_fixed(s) => Some("T"),
            _ => None,
        };
        let center = (x0 + cell / 2, y0 + cell / 2);
        if let Some(l) = letter {
            let style =
                TextStyle::from((FONT, font_px).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(l.to_string(), center, style)).map_err(e)?;
            continue;
        }
        if kind == CellKind::Wall {
            continue;
        }
        if let Some(v) = plot.values {
            let text = format!("{:.*}", decimals, v[s]);
            let style = TextStyle::from((FONT, font_px).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(text, (x0 + cell / 2, y0 + 3), style)).map_err(e)?;
        }
        if let Some(actions) = plot.actions {
            let d = grid.dirs[actions[s]];
            let cy = if plot.values.is_some() { y0 + cell * 3 / 5 } else { center.1 };
            let c = (center.0, cy);
            let len = cell as f64 * 0.28;
            let color = ShapeStyle::from(&ink).stroke_width(2);
            if (d.dr, d.dc) == (0, 0) {
                root.draw(&Circle::new(c, (cell / 9).max(3), color)).map_err(e)?;
            } else {
                let norm = ((d.dr * d.dr + d.dc * d.dc) as f64).sqrt();
                let (ux, uy) = (d.dc as f64 / norm, d.dr as f64 / norm);
                let tail = (c.0 - (ux * len * 0.6) as i32, c.1 - (uy * len * 0.6) as i32);
                let tip = (c.0 + (ux * len) as i32, c.1 + (uy * len) as i32);
                root.draw(&PathElement::new(vec![tail, tip], color)).map_err(e)?;
                // The head: a small filled triangle (plotters has no arrow element).
                let hs = len * 0.45;
                let (px, py) = (-uy, ux);
                let base = (tip.0 as f64 - ux * hs, tip.1 as f64 - uy * hs);
                let head = vec![
                    tip,
                    ((base.0 + px * hs * 0.6) as i32, (base.1 + py * hs * 0.6) as i32),
                    ((base.0 - px * hs * 0.6) as i32, (base.1 - py * hs * 0.6) as i32),
                ];
                root.draw(&Polygon::new(head, ink.filled())).map_err(e)?;
            }
        }
    }
    // Legend line.
    let h = grid.height as i32;
    let y = top + h * cell + 14;
    let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
    if plot.values.is_some() {
        let line = format!("colour: value from {lo:.2} (dark) to {hi:.2} (light)");
        root.draw(&Text::new(line, (left, y), style.clone())).map_err(e)?;
    }
    let y = y + 20;
    let mut note = String::new();
    let kinds: Vec<CellKind> = grid.cells.clone();
    if kinds.contains(&CellKind::Forbidden) {
        note.push_str("orange frame: forbidden   ");
    }
    if kinds.iter().any(|k| matches!(k, CellKind::Target | CellKind::Goal)) {
        note.push_str("blue frame: target/goal   ");
    }
    if kinds.contains(&CellKind::Wall) {
        note.push_str("dark: wall");
    }
    root.draw(&Text::new(note, (left, y), style)).map_err(e)?;
    Ok(())
}
