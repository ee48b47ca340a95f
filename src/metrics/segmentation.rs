//! Segmentation metrics from a confusion matrix (rows are the truth).
//!
//! With n_ij the number of items of true class i predicted as j,
//! t_i = Σ_j n_ij (true items of class i) and p_j = Σ_i n_ij (predictions of j):
//!
//! ```text
//! PA    = Σ_i n_ii / Σ_i t_i
//! MPA   = nanmean_i  n_ii / t_i
//! IoU_i = n_ii / (t_i + p_i − n_ii)
//! MIoU  = nanmean_i IoU_i
//! FWIoU = Σ_i (t_i / Σ_j t_j) · IoU_i
//! ```
//!
//! A 0/0 is NaN and left out of the means (nanmean): a class absent from both
//! the truth and the prediction does not count. A class that is predicted but
//! absent from the truth has t_i = 0 < p_i, so IoU_i = 0, and it *does*
//! count in MIoU (it has no MPA term, since n_ii / t_i is 0/0). FWIoU gives it
//! weight t_i / Σt = 0. With no items at all every score is NaN.

use crate::{Error, Result};

/// A confusion matrix: `get(i, j)` counts items of true class i predicted as j.
///
/// ```
/// use rlkit::metrics::ConfusionMatrix;
/// let cm = ConfusionMatrix::from_labels(&[0, 0, 1, 1], &[0, 1, 1, 1], None, 2).unwrap();
/// assert_eq!(cm.get(0, 1), 1);
/// let s = cm.scores();
/// assert_eq!(s.pa, 0.75);
/// assert_eq!(s.iou, vec![0.5, 2.0 / 3.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    n_classes: usize,
    counts: Vec<u64>,
}

/// The scores of a confusion matrix (see the module docs for definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Pixel accuracy.
    pub pa: f64,
    /// Mean pixel (per-class) accuracy, nanmean.
    pub mpa: f64,
    /// IoU per class (NaN when the class is in neither truth nor prediction).
    pub iou: Vec<f64>,
    /// Mean IoU, nanmean.
    pub miou: f64,
    /// Frequency-weighted IoU.
    pub fwiou: f64,
}

impl ConfusionMatrix {
    /// An all-zero matrix with `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        ConfusionMatrix { n_classes, counts: vec![0; n_classes * n_classes] }
    }

    /// Count `truth[k]` against `pred[k]` for every k with `ignore[k] == false`
    /// (`ignore = None` keeps everything). Labels must be `< n_classes`.
    pub fn from_labels(truth: &[usize], pred: &[usize], ignore: Option<&[bool]>, n_classes: usize) -> Result<Self> {
        if truth.len() != pred.len() || ignore.is_some_and(|m| m.len() != truth.len()) {
            return Err(Error::input(format!(
                "label maps differ in size: truth {}, prediction {}, mask {}",
                truth.len(),
                pred.len(),
                ignore.map_or(truth.len(), <[bool]>::len)
            )));
        }
        let mut cm = ConfusionMatrix::new(n_classes);
        for k in 0..truth.len() {
            if ignore.is_some_and(|m| m[k]) {
                continue;
            }
            let (t, p) = (truth[k], pred[k]);
            if t >= n_classes || p >= n_classes {
                return Err(Error::input(format!(
                    "label {} at position {k} is out of range (there are {n_classes} classes)",
                    t.max(p)
                )));
            }
            cm.add(t, p);
        }
        Ok(cm)
    }

    /// Count one item of true class `t` predicted as `p`. Panics if out of range.
    pub fn add(&mut self, t: usize, p: usize) {
        self.counts[t * self.n_classes + p] += 1;
    }

    /// n_tp.
    pub fn get(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.n_classes + p]
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Row-major counts.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Total number of items.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// PA, MPA, IoU per class, MIoU and FWIoU.
    pub fn scores(&self) -> Scores {
        let n = self.n_classes;
        let t: Vec<f64> = (0..n).map(|i| (0..n).map(|j| self.get(i, j)).sum::<u64>() as f64).collect();
        let p: Vec<f64> = (0..n).map(|j| (0..n).map(|i| self.get(i, j)).sum::<u64>() as f64).collect();
        let d: Vec<f64> = (0..n).map(|i| self.get(i, i) as f64).collect();
        let total: f64 = t.iter().sum();
        let pa = d.iter().sum::<f64>() / total;
        let acc: Vec<f64> = (0..n).map(|i| d[i] / t[i]).collect();
        let iou: Vec<f64> = (0..n).map(|i| d[i] / (t[i] + p[i] - d[i])).collect();
        let fwiou =
            if total > 0.0 { (0..n).filter(|&i| t[i] > 0.0).map(|i| t[i] / total * iou[i]).sum() } else { f64::NAN };
        Scores { pa, mpa: nanmean(&acc), miou: nanmean(&iou), iou, fwiou }
    }
}

/// Mean of the non-NaN entries (NaN if there are none).
pub fn nanmean(xs: &[f64]) -> f64 {
    let (s, c) = xs.iter().filter(|x| !x.is_nan()).fold((0.0, 0usize), |(s, c), &x| (s + x, c + 1));
    if c == 0 {
        f64::NAN
    } else {
        s / c as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_classes() {
        // truth:  0 0 0 1 1 2 2 2 2
        // pred:   0 0 1 1 2 2 2 2 0
        let truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
        let pred = [0, 0, 1, 1, 2, 2, 2, 2, 0];
        let cm = ConfusionMatrix::from_labels(&truth, &pred, None, 3).unwrap();
        // n = [[2,1,0],[0,1,1],[1,0,3]]
        assert_eq!(cm.counts(), &[2, 1, 0, 0, 1, 1, 1, 0, 3]);
        let s = cm.scores();
        assert!((s.pa - 6.0 / 9.0).abs() < 1e-15);
        // per-class acc: 2/3, 1/2, 3/4
        assert!((s.mpa - (2.0 / 3.0 + 0.5 + 0.75) / 3.0).abs() < 1e-15);
        // t = 3,2,4; p = 3,2,4; IoU = 2/4, 1/3, 3/5
        let want = [0.5, 1.0 / 3.0, 0.6];
        for (got, want) in s.iou.iter().zip(want) {
            assert!((got - want).abs() < 1e-15);
        }
        assert!((s.miou - (0.5 + 1.0 / 3.0 + 0.6) / 3.0).abs() < 1e-15);
        let fw = 3.0 / 9.0 * 0.5 + 2.0 / 9.0 / 3.0 + 4.0 / 9.0 * 0.6;
        assert!((s.fwiou - fw).abs() < 1e-15);
    }

    #[test]
    fn absent_and_predicted_only_classes() {
        // 4 classes; class 3 never appears; class 2 is predicted but not true.
        let truth = [0, 0, 1, 1];
        let pred = [0, 2, 1, 1];
        let cm = ConfusionMatrix::from_labels(&truth, &pred, None, 4).unwrap();
        let s = cm.scores();
        assert_eq!(s.pa, 0.75);
        // MPA over classes 0 and 1 only: (1/2 + 1) / 2.
        assert_eq!(s.mpa, 0.75);
        assert_eq!(s.iou[0], 0.5);
        assert_eq!(s.iou[1], 1.0);
        assert_eq!(s.iou[2], 0.0); // predicted but absent from the truth: counts as 0
        assert!(s.iou[3].is_nan()); // absent from both: left out
        assert!((s.miou - 0.5).abs() < 1e-15); // (0.5 + 1 + 0) / 3
        assert_eq!(s.fwiou, 0.5 * 0.5 + 0.5 * 1.0);
    }

    #[test]
    fn mask_and_errors() {
        let cm = ConfusionMatrix::from_labels(&[0, 1, 1], &[1, 1, 0], Some(&[true, false, false]), 2).unwrap();
        assert_eq!(cm.counts(), &[0, 0, 1, 1]);
        assert_eq!(cm.total(), 2);
        assert!(ConfusionMatrix::from_labels(&[0, 1], &[0], None, 2).is_err());
        assert!(ConfusionMatrix::from_labels(&[0, 2], &[0, 1], None, 2).is_err());
        let empty = ConfusionMatrix::new(2).scores();
        assert!(empty.pa.is_nan() && empty.mpa.is_nan() && empty.miou.is_nan() && empty.fwiou.is_nan());
    }
}
