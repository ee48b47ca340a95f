//! Value heatmaps with policy arrows, in the style of the books' grid figures,
//! drawn from plain data: a [`GridMap`] (filled by the caller from its env)
//! and a [`GridPlot`] (values, actions, tied actions).
//!
//! - Each cell is coloured by its value on a viridis-like scale, with a
//!   **colour bar** to the right of the grid; the value is printed at the top
//!   of the cell, inside any frame, and the policy's action is drawn as an
//!   arrow below it (a circle for "stay"). With [`GridPlot::action_sets`],
//!   **every tied action** is drawn (as Sutton & Barto Fig. 3.5).
//! - Forbidden cells get an orange frame, target and goal cells a blue frame
//!   (a terminal goal is pale green with a "G"), walls are dark grey, **holes
//!   dark slate with a white "H"**, other terminal cells light grey with a
//!   "T", cliffs dark red. **Start cells** get a green dot in their lower left
//!   corner, **teleports** a purple letter pair (A at the source, A′ at the
//!   destination, as Sutton & Barto Fig. 3.2), and **wind** strengths are
//!   printed under their columns.
//! - The title ends with what is drawn: "values", "values and policy",
//!   "policy" or "map". Cells smaller than [`MIN_TEXT_PX`] pixels drop the
//!   printed values, and smaller than [`MIN_ARROW_PX`] also the arrows; the
//!   legend then says what was dropped.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{drawable, Axis};
use super::{render_png, FONT};
use crate::{Error, Result};

/// The largest map side [`render_grid`] draws (4 pixels a cell at least).
pub const MAX_SIDE: usize = 2000;

/// Cells narrower than this (in pixels) drop their printed values.
pub const MIN_TEXT_PX: i32 = 34;

/// Cells narrower than this (in pixels) also drop their arrows.
pub const MIN_ARROW_PX: i32 = 14;

/// What a cell is, for drawing: the env's own cell kinds (plain data).
pub use crate::env::CellKind as CellMark;

/// A gridworld map as plain data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridMap {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// One mark per cell, row-major (state s is at row s / width, column s % width).
    pub cells: Vec<CellMark>,
    /// Absorbing cells (no value colour, no arrow), one flag per cell.
    pub fixed: Vec<bool>,
    /// Each action's move (row delta, column delta); (0, 0) is "stay".
    pub dirs: Vec<(i32, i32)>,
    /// Start states.
    pub starts: Vec<usize>,
    /// Teleports: (from state, to state).
    pub teleports: Vec<(usize, usize)>,
    /// Upward wind strength per column (empty: no wind).
    pub wind: Vec<u32>,
}

/// What to draw on a grid.
#[derive(Debug, Clone, Default)]
pub struct GridPlot<'a> {
    /// Title above the grid; ": values", ": values and policy", ": policy"
    /// or ": map" is appended according to what is drawn.
    pub title: String,
    /// One value per state (row-major); `None` draws the bare map.
    pub values: Option<&'a [f64]>,
    /// One action per state; `None` draws no arrows.
    pub actions: Option<&'a [usize]>,
    /// Every optimal (tied) action per state, drawn instead of `actions`
    /// where given.
    pub action_sets: Option<&'a [Vec<usize>]>,
    /// Decimals printed in each cell (default 1, or 2 when every |value| < 2).
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

/// A cell's value as printed: fixed with `decimals` decimals, scientific when
/// that would be too long or round a non-zero value to 0.
pub fn cell_text(v: f64, decimals: usize) -> String {
    let a = v.abs();
    if !v.is_finite() || a >= 1e5 || (a > 0.0 && a < 0.5 * 10f64.powi(-(decimals as i32))) {
        format!("{v:.1e}")
    } else {
        format!("{v:.decimals$}")
    }
}

const WALL: RGBColor = RGBColor(60, 60, 60);
const CLIFF: RGBColor = RGBColor(120, 20, 20);
const HOLE: RGBColor = RGBColor(55, 65, 85);
const TERMINAL: RGBColor = RGBColor(205, 205, 205);
const GOAL: RGBColor = RGBColor(200, 235, 200);
const FORBIDDEN: RGBColor = RGBColor(255, 140, 0);
const TARGET: RGBColor = RGBColor(0, 150, 255);
const START: RGBColor = RGBColor(0, 170, 60);
const TELEPORT: RGBColor = RGBColor(150, 40, 190);

/// Draw `plot` for `map` to a PNG at `path` (atomically).
///
/// # Errors
/// A map side above [`MAX_SIDE`], values, actions or action sets of the wrong
/// length, an action index without a move, or a write failure.
pub fn render_grid(path: &Path, map: &GridMap, plot: &GridPlot<'_>) -> Result<()> {
    let (h, w) = (map.height, map.width);
    let n = h * w;
    if h.max(w) > MAX_SIDE || h == 0 || w == 0 {
        return Err(Error::input(format!(
            "{}: a {h}x{w} map cannot be drawn (1 to {MAX_SIDE} cells a side)",
            path.display()
        )));
    }
    let bad = |what: &str, len: usize| {
        Error::input(format!("{}: {len} {what} for a {h}x{w} map of {n} cells", path.display()))
    };
    if map.cells.len() != n || map.fixed.len() != n {
        return Err(bad("cell marks", map.cells.len()));
    }
    if let Some(v) = plot.values.filter(|v| v.len() != n) {
        return Err(bad("values", v.len()));
    }
    if let Some(a) = plot.actions {
        if a.len() != n {
            return Err(bad("actions", a.len()));
        }
        if let Some(&x) = a.iter().find(|&&x| x >= map.dirs.len()) {
            return Err(Error::input(format!(
                "{}: action {x} has no move (the map has {})",
                path.display(),
                map.dirs.len()
            )));
        }
    }
    if let Some(sets) = plot.action_sets {
        if sets.len() != n {
            return Err(bad("action sets", sets.len()));
        }
        if sets.iter().flatten().any(|&x| x >= map.dirs.len()) {
            return Err(Error::input(format!("{}: an action set names an action with no move", path.display())));
        }
    }
    let cell = (900 / w.max(h)).clamp(4, 90) as i32;
    let notes = legend_items(map, plot, cell);
    let (top, left) = (60i32, 30i32);
    let bar = if plot.values.is_some() { 130 } else { 30 };
    let grid_w = cell * w as i32;
    let width = (left + grid_w + bar).max(620);
    let lines = wrap(&notes, (width - left - 10) as usize / 8);
    let wind_row = if map.wind.iter().any(|&x| x > 0) { 26 } else { 0 };
    let height = top + cell * h as i32 + wind_row + 24 + 20 * lines.len() as i32;
    render_png(path, (width as u32, height as u32), |root| {
        draw(root, map, plot, cell, top, left, &lines).map_err(|e| e.to_string())
    })
}

/// The title's ending: what is drawn.
fn drawn_what(plot: &GridPlot<'_>, cell: i32) -> &'static str {
    let arrows = (plot.actions.is_some() || plot.action_sets.is_some()) && cell >= MIN_ARROW_PX;
    match (plot.values.is_some(), arrows) {
        (true, true) => "values and policy",
        (true, false) => "values",
        (false, true) => "policy",
        (false, false) => "map",
    }
}

fn legend_items(map: &GridMap, plot: &GridPlot<'_>, cell: i32) -> Vec<String> {
    let has = |k: CellMark| map.cells.contains(&k);
    let mut out = Vec::new();
    if has(CellMark::Forbidden) {
        out.push("orange frame: forbidden".to_string());
    }
    if has(CellMark::Target) || has(CellMark::Goal) {
        out.push("blue frame: target/goal (G: terminal goal)".into());
    }
    if has(CellMark::Hole) {
        out.push("dark slate H: hole".into());
    }
    if has(CellMark::Wall) {
        out.push("dark grey: wall".into());
    }
    if has(CellMark::Cliff) {
        out.push("dark red: cliff".into());
    }
    if has(CellMark::Terminal) {
        out.push("grey T: terminal".into());
    }
    if starts_marked(map) {
        out.push("green dot: start".into());
    }
    if !map.teleports.is_empty() {
        out.push("purple A → A′: teleport".into());
    }
    if map.wind.iter().any(|&x| x > 0) {
        out.push("numbers below the grid: upward wind per column".into());
    }
    if plot.action_sets.is_some() && cell >= MIN_ARROW_PX {
        out.push("several arrows: tied optimal actions".into());
    }
    let side = |px: i32| 900 / px;
    if cell < MIN_ARROW_PX && (plot.actions.is_some() || plot.action_sets.is_some()) {
        out.push(format!("values, letters and arrows omitted above {} cells a side", side(MIN_ARROW_PX)));
    } else if cell < MIN_TEXT_PX && (plot.values.is_some() || map.cells.iter().any(|k| *k != CellMark::Free)) {
        out.push(format!("printed values and letters omitted above {} cells a side", side(MIN_TEXT_PX)));
    }
    out
}

/// Whether start cells are marked: some, but not every open cell, start.
fn starts_marked(map: &GridMap) -> bool {
    let open = (0..map.cells.len()).filter(|&s| !map.fixed[s] && map.cells[s] != CellMark::Wall).count();
    !map.starts.is_empty() && map.starts.len() < open
}

/// Pack legend items into lines of at most `chars` characters.
fn wrap(items: &[String], chars: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for it in items {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 4 + it.chars().count() <= chars => {
                l.push_str("    ");
                l.push_str(it);
            }
            _ => lines.push(it.clone()),
        }
    }
    lines
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn arrow(
    root: &Area<'_>,
    c: (i32, i32),
    d: (i32, i32),
    len: f64,
    ink: RGBColor,
    cell: i32,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let e = |x: DrawingAreaErrorKind<_>| -> Box<dyn std::error::Error> { x.to_string().into() };
    let style = ShapeStyle::from(&ink).stroke_width(2);
    if d == (0, 0) {
        root.draw(&Circle::new(c, (cell / 9).max(3), style)).map_err(e)?;
        return Ok(());
    }
    let norm = ((d.0 * d.0 + d.1 * d.1) as f64).sqrt();
    let (ux, uy) = (d.1 as f64 / norm, d.0 as f64 / norm);
    let tip = (c.0 + (ux * len) as i32, c.1 + (uy * len) as i32);
    root.draw(&PathElement::new(vec![c, tip], style)).map_err(e)?;
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
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw(
    root: &Area<'_>,
    map: &GridMap,
    plot: &GridPlot<'_>,
    cell: i32,
    top: i32,
    left: i32,
    notes: &[String],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let e = |x: DrawingAreaErrorKind<_>| -> Box<dyn std::error::Error> { x.to_string().into() };
    let title = format!("{}: {}", plot.title, drawn_what(plot, cell));
    root.draw(&Text::new(title, (left, 18), TextStyle::from((FONT, 22).into_font()).color(&BLACK))).map_err(e)?;
    let (lo, hi) = match plot.values {
        Some(v) => {
            let fin: Vec<f64> =
                (0..v.len()).filter(|&s| !map.fixed[s]).map(|s| v[s]).filter(|x| drawable(*x, false)).collect();
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
    // Halved so that a span near ±1e300 cannot overflow.
    let t_of = |v: f64| if hi > lo { (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) } else { 0.5 };
    // One decimal as in the books' figures; two when the values are all small (e.g. probabilities).
    let decimals = plot.decimals.unwrap_or(if lo.abs().max(hi.abs()) < 2.0 { 2 } else { 1 });
    let show_text = cell >= MIN_TEXT_PX;
    let show_arrows = cell >= MIN_ARROW_PX;
    let font_px = (cell as f64 * 0.22).clamp(9.0, 19.0) as i32;
    let frame_px = (cell / 12).max(2);
    let (w, h) = (map.width, map.height);
    let marked_starts = starts_marked(map);
    for s in 0..w * h {
        let (r, c) = (s / w, s % w);
        let x0 = left + c as i32 * cell;
        let y0 = top + r as i32 * cell;
        let rect = [(x0, y0), (x0 + cell, y0 + cell)];
        let kind = map.cells[s];
        let fixed = map.fixed[s];
        let fill = match kind {
            CellMark::Wall => WALL,
            CellMark::Cliff => CLIFF,
            CellMark::Hole => HOLE,
            CellMark::Goal | CellMark::Target if fixed => GOAL,
            CellMark::Terminal => TERMINAL,
            _ if fixed => TERMINAL,
            _ => match plot.values {
                Some(v) => viridis(t_of(v[s])),
                None => RGBColor(250, 250, 250),
            },
        };
        root.draw(&Rectangle::new(rect, fill.filled())).map_err(e)?;
        root.draw(&Rectangle::new(rect, ShapeStyle::from(&WHITE).stroke_width(1))).map_err(e)?;
        let frame = match kind {
            CellMark::Forbidden => Some(FORBIDDEN),
            CellMark::Target | CellMark::Goal => Some(TARGET),
            _ => None,
        };
        let inset = if frame.is_some() { frame_px } else { 0 };
        if let Some(col) = frame {
            for k in 0..frame_px {
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
        // Start: a green dot in the lower left corner (unless every cell is one).
        if marked_starts && map.starts.contains(&s) {
            let rad = (cell / 10).clamp(2, 7);
            let at = (x0 + inset + rad + 2, y0 + cell - inset - rad - 2);
            root.draw(&Circle::new(at, rad, START.filled())).map_err(e)?;
            root.draw(&Circle::new(at, rad, WHITE.stroke_width(1))).map_err(e)?;
        }
        // Teleports: A at the source, A′ at the destination.
        if show_text {
            for (k, &(from, to)) in map.teleports.iter().enumerate() {
                let letter = char::from(b'A' + (k % 26) as u8);
                for (state, text) in [(from, letter.to_string()), (to, format!("{letter}′"))] {
                    if state == s {
                        let style = TextStyle::from((FONT, font_px).into_font().style(FontStyle::Bold))
                            .color(&TELEPORT)
                            .pos(Pos::new(HPos::Right, VPos::Bottom));
                        let at = (x0 + cell - inset - 3, y0 + cell - inset - 2);
                        let bg = [(at.0 - font_px * 3 / 2, at.1 - font_px), (at.0 + 1, at.1)];
                        root.draw(&Rectangle::new(bg, WHITE.mix(0.8).filled())).map_err(e)?;
                        root.draw(&Text::new(text, at, style)).map_err(e)?;
                    }
                }
            }
        }
        if !show_arrows {
            continue;
        }
        let letter = match kind {
            CellMark::Wall => None,
            CellMark::Hole => Some("H"),
            CellMark::Cliff => Some("cliff"),
            CellMark::Terminal => Some("T"),
            CellMark::Goal if fixed => Some("G"),
            CellMark::Target if fixed => Some("T"),
            _ => None,
        };
        let center = (x0 + cell / 2, y0 + cell / 2);
        if let Some(l) = letter {
            if show_text {
                let style =
                    TextStyle::from((FONT, font_px).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                root.draw(&Text::new(l.to_string(), center, style)).map_err(e)?;
            }
            continue;
        }
        if kind == CellMark::Wall || fixed {
            continue;
        }
        let text_bottom = if show_text {
            if let Some(v) = plot.values {
                let style =
                    TextStyle::from((FONT, font_px).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Top));
                root.draw(&Text::new(cell_text(v[s], decimals), (x0 + cell / 2, y0 + inset + 3), style)).map_err(e)?;
                y0 + inset + 3 + font_px
            } else {
                y0
            }
        } else {
            y0
        };
        let acts: Vec<usize> = match (plot.action_sets, plot.actions) {
            (Some(sets), _) if !sets[s].is_empty() => sets[s].clone(),
            (_, Some(a)) => vec![a[s]],
            _ => vec![],
        };
        if acts.is_empty() {
            continue;
        }
        // The arrows sit in the space below the printed value, inside any frame.
        let room_top = text_bottom.max(y0 + inset);
        let room_bottom = y0 + cell - inset - 2;
        let cy = (room_top + room_bottom) / 2;
        let half = ((room_bottom - room_top) / 2).max(2) as f64;
        let len = if acts.len() > 1 { half * 0.95 } else { (cell as f64 * 0.28).min(half * 0.95) };
        for a in acts {
            let d = map.dirs[a];
            arrow(root, (center.0, cy), d, len, ink, cell)?;
        }
    }
    // Wind strengths under their columns.
    let mut y = top + h as i32 * cell + 6;
    if map.wind.iter().any(|&x| x > 0) {
        let style =
            TextStyle::from((FONT, 15).into_font()).color(&RGBColor(0, 90, 160)).pos(Pos::new(HPos::Center, VPos::Top));
        for (c, &wv) in map.wind.iter().enumerate().take(w) {
            if show_text || wv > 0 {
                root.draw(&Text::new(format!("{wv}"), (left + c as i32 * cell + cell / 2, y), style.clone()))
                    .map_err(e)?;
            }
        }
        y += 26;
    }
    // The colour bar, right of the grid.
    if plot.values.is_some() {
        let bx = left + w as i32 * cell + 20;
        let (by0, by1) = (top, top + (h as i32 * cell).max(120));
        let bw = 18;
        let steps = (by1 - by0).max(1);
        for k in 0..steps {
            let t = 1.0 - k as f64 / steps as f64;
            root.draw(&Rectangle::new([(bx, by0 + k), (bx + bw, by0 + k + 1)], viridis(t).filled())).map_err(e)?;
        }
        root.draw(&Rectangle::new([(bx, by0), (bx + bw, by1)], BLACK.stroke_width(1))).map_err(e)?;
        let axis = Axis::new(lo, hi, false);
        let style = TextStyle::from((FONT, 13).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        for (t, label) in axis.ticks.iter().zip(&axis.labels).filter(|_| hi > lo) {
            let u = t_of(*t);
            if !(0.0..=1.0).contains(&u) {
                continue;
            }
            let py = by1 - (u * (by1 - by0) as f64).round() as i32;
            root.draw(&PathElement::new(vec![(bx + bw, py), (bx + bw + 4, py)], BLACK.stroke_width(1))).map_err(e)?;
            root.draw(&Text::new(label.clone(), (bx + bw + 6, py), style.clone())).map_err(e)?;
        }
        if hi <= lo {
            root.draw(&Text::new(cell_text(lo, decimals), (bx + bw + 6, (by0 + by1) / 2), style.clone())).map_err(e)?;
        }
    }
    let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
    y += 4;
    for line in notes {
        root.draw(&Text::new(line.clone(), (left, y), style.clone())).map_err(e)?;
        y += 20;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_never_prints_hundreds_of_digits() {
        assert_eq!(cell_text(1.5e307, 1), "1.5e307");
        assert_eq!(cell_text(-3.26, 1), "-3.3");
        assert_eq!(cell_text(0.004, 2), "4.0e-3");
        assert_eq!(cell_text(0.0, 1), "0.0");
        assert_eq!(cell_text(f64::NAN, 1), "NaN");
    }

    #[test]
    fn legend_says_what_large_grids_drop() {
        let n = 100;
        let map = GridMap {
            height: n,
            width: n,
            cells: vec![CellMark::Free; n * n],
            fixed: vec![false; n * n],
            dirs: vec![(0, 1)],
            ..Default::default()
        };
        let acts = vec![0; n * n];
        let plot = GridPlot { actions: Some(&acts), ..Default::default() };
        let cell = (900 / n).clamp(4, 90) as i32;
        let items = legend_items(&map, &plot, cell);
        assert!(items.iter().any(|l| l.contains("omitted above 64 cells a side")), "{items:?}");
        assert_eq!(drawn_what(&plot, cell), "map");
    }
}
