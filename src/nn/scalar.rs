//! The float type the kernels are generic over.
//!
//! Every kernel is written once, generic over [`Real`], and instantiated for
//! `f32` (the working precision) and `f64` (used by the tests and by
//! `rlkit nn gradcheck` for finite differences with ~1e-9 truncation error).

use std::fmt::{Debug, Display};
use std::ops::{AddAssign, DivAssign, MulAssign, Neg, SubAssign};

use crate::nn::attention::KeptProbs;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

/// A floating-point scalar: `f32` or `f64`.
///
/// ```
/// use rlkit::nn::scalar::Real;
/// fn softplus<T: Real>(x: T) -> T { (T::ONE + x.exp()).ln() }
/// assert!((softplus(0.0f64) - 2f64.ln()).abs() < 1e-15);
/// ```
pub trait Real:
    ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + PartialOrd
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Neg<Output = Self>
    + std::iter::Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// −∞.
    const NEG_INFINITY: Self;
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Convert from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Convert to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Convert from `usize`.
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }
    /// eˣ.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// The larger of two numbers (IEEE `max`: a NaN loses).
    fn max(self, other: Self) -> Self;
    /// The smaller of two numbers.
    fn min(self, other: Self) -> Self;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// True unless NaN or ±∞.
    fn is_finite(self) -> bool;

    /// Scaled dot-product attention forward, `q, k, v: [BH, N, D]` →
    /// (`O [BH, N, D]`, row logsumexp `L [BH, N]`, the probabilities when they
    /// were kept). For `f32` these are the kernels of [`crate::nn::attention`]:
    /// the kept-P pair while `P` fits [`crate::nn::attention::KEEP_P_MAX_BYTES`],
    /// the tiled flash pair beyond; for `f64` an exact materialising
    /// implementation (used for gradient checks).
    fn sdpa_forward(
        q: ArrayView3<Self>,
        k: ArrayView3<Self>,
        v: ArrayView3<Self>,
        scale: Self,
        causal: bool,
    ) -> (Array3<Self>, Array2<Self>, Option<KeptProbs>);

    /// Scaled dot-product attention backward: (`dq, dk, dv`), each `[BH, N, D]`;
    /// `kept` is what the forward returned.
    #[allow(clippy::too_many_arguments)]
    fn sdpa_backward(
        q: ArrayView3<Self>,
        k: ArrayView3<Self>,
        v: ArrayView3<Self>,
        o: ArrayView3<Self>,
        lse: ArrayView2<Self>,
        kept: Option<&KeptProbs>,
        d_o: ArrayView3<Self>,
        scale: Self,
        causal: bool,
    ) -> (Array3<Self>, Array3<Self>, Array3<Self>);
}

macro_rules! impl_real {
    ($t:ident) => {
        const ZERO: Self = 0.0;
        const ONE: Self = 1.0;
        const NEG_INFINITY: Self = $t::NEG_INFINITY;
        const NAME: &'static str = stringify!($t);
        fn from_f64(x: f64) -> Self {
            x as $t
        }
        fn to_f64(self) -> f64 {
            self as f64
        }
        fn exp(self) -> Self {
            $t::exp(self)
        }
        fn ln(self) -> Self {
            $t::ln(self)
        }
        fn sqrt(self) -> Self {
            $t::sqrt(self)
        }
        fn tanh(self) -> Self {
            $t::tanh(self)
        }
        fn abs(self) -> Self {
            $t::abs(self)
        }
        fn max(self, other: Self) -> Self {
            $t::max(self, other)
        }
        fn min(self, other: Self) -> Self {
            $t::min(self, other)
        }
        fn powi(self, n: i32) -> Self {
            $t::powi(self, n)
        }
        fn is_finite(self) -> bool {
            $t::is_finite(self)
        }
    };
}

impl Real for f32 {
    impl_real!(f32);
    fn sdpa_forward(
        q: ArrayView3<f32>,
        k: ArrayView3<f32>,
        v: ArrayView3<f32>,
        scale: f32,
        causal: bool,
    ) -> (Array3<f32>, Array2<f32>, Option<KeptProbs>) {
        crate::nn::mha::sdpa_forward_f32(q, k, v, scale, causal)
    }
    fn sdpa_backward(
        q: ArrayView3<f32>,
        k: ArrayView3<f32>,
        v: ArrayView3<f32>,
        o: ArrayView3<f32>,
        lse: ArrayView2<f32>,
        kept: Option<&KeptProbs>,
        d_o: ArrayView3<f32>,
        scale: f32,
        causal: bool,
    ) -> (Array3<f32>, Array3<f32>, Array3<f32>) {
        crate::nn::mha::sdpa_backward_f32(q, k, v, o, lse, kept, d_o, scale, causal)
    }
}

impl Real for f64 {
    impl_real!(f64);
    fn sdpa_forward(
        q: ArrayView3<f64>,
        k: ArrayView3<f64>,
        v: ArrayView3<f64>,
        scale: f64,
        causal: bool,
    ) -> (Array3<f64>, Array2<f64>, Option<KeptProbs>) {
        let (o, lse) = crate::nn::mha::sdpa_reference_forward(q, k, v, scale, causal);
        (o, lse, None)
    }
    fn sdpa_backward(
        q: ArrayView3<f64>,
        k: ArrayView3<f64>,
        v: ArrayView3<f64>,
        o: ArrayView3<f64>,
        lse: ArrayView2<f64>,
        _kept: Option<&KeptProbs>,
        d_o: ArrayView3<f64>,
        scale: f64,
        causal: bool,
    ) -> (Array3<f64>, Array3<f64>, Array3<f64>) {
        crate::nn::mha::sdpa_reference_backward(q, k, v, o, lse, d_o, scale, causal)
    }
}
