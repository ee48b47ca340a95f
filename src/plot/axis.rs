//! Axis ranges and tick labels, shared by every rlkit plot.
//!
//! - **Ranges** never reach plotters unchecked: [`fit_range`] fits a range to
//!   data, ignoring non-finite values and values beyond [`MAX_ABS`];
//!   [`check_range`] refuses a user-given range that is not finite, not
//!   increasing, beyond ±[`MAX_ABS`] or (log axes) not positive, naming the key.
//!   Every range is then [`normalize`]d so that its span is finite and
//!   resolvable at its magnitude.
//! - **Ticks** are computed here, never by plotters' own key-point search
//!   (which loops forever on an infinite range): [`Axis::new`] picks ticks
//!   (1, 2, 2.5, 5 × 10ᵏ steps on linear axes; powers of ten, or 1-2-5 and
//!   1…9 multiples, on log axes) and at most [`MAX_TICKS`] of them. A log
//!   axis spanning less than a decade still gets at least three ticks.
//! - **Labels** come from one formatter, [`tick_labels`]: one style per axis
//!   (all fixed-point with the same number of decimals, or all scientific with
//!   the same mantissa digits), with the fewest digits that make every label
//!   on the axis distinct.

use std::ops::Range;

use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// The largest magnitude a plotted value or axis end may have. Beyond it
/// (for example a value of 1.5e307 whose padded span overflows to infinity)
/// a value is left out of a fitted range, and a given range is refused.
pub const MAX_ABS: f64 = 1e300;

/// The most major ticks an axis gets.
pub const MAX_TICKS: usize = 12;

/// Check a user-given axis range `[lo, hi]`; the message names `key` and
/// says what would be valid.
pub fn check_range(key: &str, lo: f64, hi: f64, log: bool) -> std::result::Result<(), String> {
    if !lo.is_finite() || !hi.is_finite() {
        return Err(format!("{key}: [{lo}, {hi}] must be finite numbers [low, high] with low < high"));
    }
    if lo.abs() > MAX_ABS || hi.abs() > MAX_ABS {
        return Err(format!(
            "{key}: [{lo:e}, {hi:e}] is beyond the drawable range; use values with |v| <= {MAX_ABS:e}"
        ));
    }
    if lo >= hi {
        return Err(format!("{key}: [{lo}, {hi}] must be [low, high] with low < high"));
    }
    if log && lo <= 0.0 {
        return Err(format!("{key}: [{lo}, {hi}] is on a log axis, so low must be > 0"));
    }
    Ok(())
}

/// Whether `v` can be drawn on an axis (`log`: also positive).
pub fn drawable(v: f64, log: bool) -> bool {
    v.is_finite() && v.abs() <= MAX_ABS && (!log || v > 0.0)
}

/// The range of the drawable values among `vals`, padded (5 % of the span on
/// linear axes, a factor 1.5 on log axes); `None` when no value is drawable.
pub fn fit_range(vals: impl IntoIterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in vals {
        if drawable(v, log) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    if log {
        return Some(normalize(lo / 1.5, hi * 1.5, true));
    }
    let pad = (hi - lo) * 0.05;
    Some(normalize(lo - pad, hi + pad, false))
}

/// Make `[lo, hi]` drawable: finite, within ±[`MAX_ABS`] (log: within
/// [1e-300, 1e300]), increasing, and with a span of at least 1e-9 of its
/// magnitude (a constant series gets ±5 % around its value, or ±1 around 0).
pub fn normalize(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    let (min, max) = if log { (1e-300, MAX_ABS) } else { (-MAX_ABS, MAX_ABS) };
    let fix = |v: f64, d: f64| if v.is_nan() { d } else { v.clamp(min, max) };
    let (mut lo, mut hi) = (fix(lo, if log { 0.1 } else { 0.0 }), fix(hi, 1.0));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if log {
        if hi / lo < 1.0 + 1e-9 {
            lo = (lo / 2.0).max(min);
            hi = (hi * 2.0).min(max);
        }
    } else {
        let mag = lo.abs().max(hi.abs());
        if hi - lo < mag * 1e-9 || hi - lo < 1e-300 {
            let pad = if mag > 0.0 { mag * 0.05 } else { 1.0 };
            lo = (lo - pad).max(min);
            hi = (hi + pad).min(max);
        }
    }
    (lo, hi)
}

/// 10^e, exactly as written in decimal (10f64.powi is inexact for e < 0).
fn pow10(e: i32) -> f64 {
    format!("1e{e}").parse().unwrap_or(0.0)
}

/// Ticks at multiples of a 1, 2, 2.5 or 5 × 10ᵏ step inside `[lo, hi]`,
/// about `target` intervals (at least target / 2).
fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / target.max(1) as f64;
    let mag = pow10(raw.log10().floor() as i32);
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-12)).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    let n = (last - first) as i64;
    if !(0..=4 * target as i64 + 4).contains(&n) {
        return vec![lo, hi];
    }
    (0..=n)
        .map(|k| {
            let t = (first + k as f64) * step;
            if t.abs() < step * 1e-9 {
                0.0
            } else {
                t
            }
        })
        .collect()
}

/// Major and minor ticks of a log axis on `[lo, hi]` (lo > 0).
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (lo.log10(), hi.log10());
    let (e0, e1) = (a.ceil() as i32, b.floor() as i32);
    let decades = (e1 - e0 + 1).max(0) as usize;
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    if decades >= 3 {
        let stride = decades.div_ceil(MAX_TICKS - 2);
        let major: Vec<f64> = (0..decades).step_by(stride).map(|k| pow10(e0 + k as i32)).collect();
        let minor: Vec<f64> = if stride == 1 && decades <= 40 {
            (e0 - 1..=e1).flat_map(|e| (2..10).map(move |m| m as f64 * pow10(e))).filter(inside).collect()
        } else {
            vec![]
        };
        return (major, minor);
    }
    for mults in [&[1.0, 2.0, 5.0][..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..]] {
        let major: Vec<f64> =
            (e0 - 1..=e1).flat_map(|e| mults.iter().map(move |m| m * pow10(e))).filter(inside).collect();
        if major.len() >= 3 {
            return (major, vec![]);
        }
    }
    // Less than a decade between two 1…9 multiples: linear ticks.
    (linear_ticks(lo, hi, 5).into_iter().filter(|v| *v > 0.0).collect(), vec![])
}

/// Tick labels in one style: fixed-point when every non-zero tick has
/// 1e-3 <= |t| < 1e5 and they span less than two decades, else scientific;
/// with the fewest digits (the same for every label) that make the labels
/// pairwise distinct and each within 1 % of its value.
pub fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let nz: Vec<f64> = ticks.iter().map(|t| t.abs()).filter(|a| *a > 0.0 && a.is_finite()).collect();
    let max = nz.iter().copied().fold(0.0, f64::max);
    let min = nz.iter().copied().fold(f64::INFINITY, f64::min);
    let fixed = nz.is_empty() || (max < 1e5 && min >= 1e-3 && max / min < 100.0);
    let distinct = |v: &[String]| {
        let mut s: Vec<&String> = v.iter().collect();
        s.sort();
        s.windows(2).all(|w| w[0] != w[1])
    };
    let faithful = |v: &[String]| {
        ticks.iter().zip(v).all(|(t, l)| {
            !t.is_finite() || *t == 0.0 || l.parse::<f64>().is_ok_and(|x| (x - t).abs() <= 0.01 * t.abs())
        })
    };
    for d in 0..=16usize {
        let labels: Vec<String> = ticks
            .iter()
            .map(|&t| {
                if t == 0.0 {
                    if fixed {
                        format!("{:.d$}", 0.0)
                    } else {
                        "0".to_string()
                    }
                } else if fixed {
                    format!("{t:.d$}")
                } else {
                    format!("{t:.d$e}")
                }
            })
            .collect();
        if distinct(&labels) && faithful(&labels) {
            return labels;
        }
    }
    ticks.iter().map(|t| format!("{t:e}")).collect()
}

/// One axis: its range, ticks and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Logarithmic.
    pub log: bool,
    /// Major ticks (labelled).
    pub ticks: Vec<f64>,
    /// Their labels, from [`tick_labels`].
    pub labels: Vec<String>,
    /// Minor ticks (grid lines only).
    pub minor: Vec<f64>,
}

impl Axis {
    /// An axis on `[lo, hi]` (made drawable with [`normalize`] first).
    pub fn new(lo: f64, hi: f64, log: bool) -> Axis {
        let (lo, hi) = normalize(lo, hi, log);
        let (ticks, minor) = if log { log_ticks(lo, hi) } else { (linear_ticks(lo, hi, 8), vec![]) };
        let labels = tick_labels(&ticks);
        Axis { lo, hi, log, ticks, labels, minor }
    }

    /// The label of tick `v` (the nearest tick's label).
    pub fn label(&self, v: f64) -> String {
        let d = |t: f64| if self.log && t > 0.0 && v > 0.0 { (t.ln() - v.ln()).abs() } else { (t - v).abs() };
        self.ticks
            .iter()
            .zip(&self.labels)
            .min_by(|a, b| d(*a.0).total_cmp(&d(*b.0)))
            .map(|p| p.1.clone())
            .unwrap_or_default()
    }

    /// The linear coordinate for plotters, with these ticks.
    pub fn linear(&self) -> Ticked<RangedCoordf64> {
        Ticked { inner: (self.lo..self.hi).into(), major: self.ticks.clone(), minor: self.minor.clone() }
    }

    /// The log coordinate for plotters, with these ticks.
    pub fn logarithmic(&self) -> Ticked<LogCoord<f64>> {
        Ticked { inner: (self.lo..self.hi).log_scale().into(), major: self.ticks.clone(), minor: self.minor.clone() }
    }

    /// `[lo, hi]` as a range.
    pub fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }

    /// Whether `v` lies inside the axis.
    pub fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }
}

/// A plotters coordinate whose key points are given ([`Axis`]'s ticks), so
/// plotters' own key-point search never runs.
#[derive(Clone)]
pub struct Ticked<R> {
    inner: R,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_for_hand_picked_ranges() {
        let a = Axis::new(0.0, 1.0, false);
        assert_eq!(a.ticks.len(), 6);
        assert_eq!(a.labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        // Mixed magnitudes on one axis: all scientific.
        assert_eq!(tick_labels(&[1e-4, 1e-3, 1e-2]), vec!["1e-4", "1e-3", "1e-2"]);
        // The old formatter printed "-2e6" three times here.
        assert_eq!(tick_labels(&[-2.2e6, -2.1e6, -2.0e6]), vec!["-2.2e6", "-2.1e6", "-2.0e6"]);
        let l = Axis::new(2.0, 8.0, true);
        assert_eq!(l.ticks, vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn ticks_never_loop_on_absurd_ranges() {
        for (lo, hi, log) in [
            (f64::NEG_INFINITY, f64::INFINITY, false),
            (-1e308, 1e308, false),
            (f64::NAN, 1.0, true),
            (1e-320, 1e308, true),
            (5.0, 5.0, false),
            (0.0, 0.0, true),
        ] {
            let a = Axis::new(lo, hi, log);
            assert!(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi, "{lo} {hi}: {a:?}");
            assert!(!a.ticks.is_empty() && a.ticks.len() <= MAX_TICKS, "{lo} {hi}: {a:?}");
        }
    }
}
