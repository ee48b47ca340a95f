//! Helpers shared by the kernel tests: seeded random arrays, precision
//! conversion, a tolerance check and central finite differences.

use ndarray::{Array, Dimension, IntoDimension};
use rand::RngExt;

/// Uniform values in (−scale, scale) from a seeded portable stream.
pub fn rand_array<Sh: IntoDimension>(shape: Sh, seed: u64, scale: f64) -> Array<f64, Sh::Dim> {
    let mut rng = crate::util::rng_for(seed, &[0x7e57]);
    Array::from_shape_simple_fn(shape, || (rng.random::<f64>() * 2.0 - 1.0) * scale)
}

/// f64 → f32.
pub fn to32<D: Dimension>(a: &Array<f64, D>) -> Array<f32, D> {
    a.mapv(|v| v as f32)
}

/// f32 → f64.
pub fn to64<D: Dimension>(a: &Array<f32, D>) -> Array<f64, D> {
    a.mapv(|v| v as f64)
}

/// Assert `|a − b| ≤ atol + rtol·|b|` elementwise (b is the reference).
pub fn assert_close<D: Dimension>(a: &Array<f64, D>, b: &Array<f64, D>, atol: f64, rtol: f64, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let mut worst = (0.0f64, 0usize);
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        assert!(x.is_finite(), "{what}: element {i} is {x}");
        let excess = (x - y).abs() - (atol + rtol * y.abs());
        if excess > worst.0 {
            worst = (excess, i);
        }
    }
    if worst.0 > 0.0 {
        let i = worst.1;
        let (x, y) = (a.iter().nth(i).unwrap(), b.iter().nth(i).unwrap());
        panic!(
            "{what}: element {i} (shape {:?}): got {x}, expected {y}, |diff| = {:e} > {atol:e} + {rtol:e}·|expected|",
            a.shape(),
            (x - y).abs()
        );
    }
}

/// Central differences `(f(x + h·e_i) − f(x − h·e_i)) / 2h` with h = 1e-5.
pub fn fd_grad<D: Dimension>(x: &Array<f64, D>, mut f: impl FnMut(&Array<f64, D>) -> f64) -> Array<f64, D> {
    let h = 1e-5;
    let mut xp = x.as_standard_layout().into_owned();
    let n = xp.len();
    let mut g = Array::zeros(xp.raw_dim());
    for i in 0..n {
        let orig = xp.as_slice().unwrap()[i];
        xp.as_slice_mut().unwrap()[i] = orig + h;
        let fp = f(&xp);
        xp.as_slice_mut().unwrap()[i] = orig - h;
        let fm = f(&xp);
        xp.as_slice_mut().unwrap()[i] = orig;
        g.as_slice_mut().unwrap()[i] = (fp - fm) / (2.0 * h);
    }
    g
}
