//! Networks from TOML: a list of layers, shapes inferred at build time.
//!
//! ```toml
//! name = "tiny"
//! input = [4, 8, 8]          # default C, H, W (optional; the CLI's --input wins)
//! init = "kaiming_uniform"   # kaiming_uniform | kaiming_normal | xavier_uniform | xavier_normal
//!
//! [[layers]]
//! kind = "conv2d"
//! out_channels = 16
//! kernel_size = 3
//! padding = 2
//! dilation = 2
//!
//! [[layers]]
//! kind = "relu"
//! ```
//!
//! Activations are `[N, C, H, W]` feature maps or `[N, F]` vectors; every
//! layer states which it takes. Parameters are named `layers.<i>.<param>`
//! (inside a residual block `layers.<i>.layers.<j>.<param>`) in PyTorch
//! layouts. The layers, their exact math and parameter names:
//!
//! | kind | input → output | math | parameters |
//! |---|---|---|---|
//! | `conv2d` (`out_channels`, `kernel_size`, `stride`=1, `padding`=0, `dilation`=1, `bias`=true) | map → map | cross-correlation, `nn.Conv2d` ([`crate::nn::conv`]) | `weight [O, C, k, k]`, `bias [O]` |
//! | `linear` (`out_features`, `bias`=true) | `[F]` → `[O]` | `y = x·Wᵀ + b` | `weight [O, F]`, `bias [O]` |
//! | `relu`, `gelu` (tanh form), `sigmoid` | any → same | elementwise ([`crate::nn::act`]) | — |
//! | `layer_norm` | `[F]` → `[F]` | `(x−μ)/√(σ²+1e-5)·γ+β` | `weight [F]`, `bias [F]` |
//! | `max_pool2d`, `avg_pool2d` (`kernel_size`, `stride`=kernel, `padding`=0) | map → map | [`crate::nn::pool`] (avg counts padding) | — |
//! | `global_avg_pool`, `global_max_pool` | map → `[C]` | mean / max over H·W | — |
//! | `flatten` | map → `[C·H·W]` | row-major, `torch.flatten(x, 1)` | — |
//! | `spp` (`levels = [1,2,4]`) | map → `[C·Σn²]` | [`crate::nn::spp`] | — |
//! | `se` (`reduction`=16) | map → map | [`crate::nn::blocks`] | `fc1.weight [Hd, C]`, `fc1.bias [Hd]`, `fc2.weight [C, Hd]`, `fc2.bias [C]` |
//! | `cbam` (`reduction`=16, `kernel_size`=7) | map → map | [`crate::nn::blocks`] (paper order, `[mean; max]`, no BN) | `fc1.*`, `fc2.*` as SE, `spatial.weight [1, 2, k, k]` |
//! | `attention` (`heads`, `causal`=false) | map → map | [`crate::nn::mha`]: `y = x + o(MHA(LN(x)))` over H·W tokens | `ln.weight [C]`, `ln.bias [C]`, `q/k/v/o.weight [C, C]`, `q/k/v/o.bias [C]` |
//! | `residual` (`layers` = [...]) | any → same | `y = x + f(x)`, `f` the inner layers | `layers.<j>.*` of the inner layers |

use std::fmt;
use std::path::Path;

use ndarray::{Array1, ArrayD, ArrayView1, ArrayView2, ArrayView4, Ix1, Ix2, Ix4};
use serde::Deserialize;

use super::act;
use super::blocks::{self, CbamParams, Mlp2};
use super::conv::{self, Conv2dConfig};
use super::init::{init_weight, Init};
use super::linear;
use super::mha::{self, MhaCache, MhaConfig, MhaParams};
use super::optim::Param;
use super::pool::{self, Pool2dConfig};
use super::scalar::Real;
use super::spp;
use crate::config::{path_string, Doc, Seg};
use crate::{Error, Result};

/// Largest `out_channels` of a conv, `out_features` of a linear layer, and
/// channel count C of an input: 65 536.
pub const MAX_WIDTH: usize = 1 << 16;
/// Largest H or W of an input, and largest `kernel_size`, `stride`, `padding`
/// and `dilation` of a layer: 65 536.
pub const MAX_SIDE: usize = 1 << 16;
/// Most values in one sample's activation (C·H·W of a map, F of a vector), at
/// the input and after every layer: 2^26 = 67 108 864.
pub const MAX_SAMPLE_ELEMS: usize = 1 << 26;
/// Largest SPP level n (n×n bins): 256.
pub const MAX_SPP_LEVEL: usize = 256;
/// Most SPP levels in one layer: 16.
pub const MAX_SPP_LEVELS: usize = 16;
/// Most tokens (H·W cells) an attention layer attends over: 4 096 (its cost is
/// quadratic in the number of cells).
pub const MAX_ATTENTION_TOKENS: usize = 4096;
/// Deepest nesting of `residual` blocks: 16.
pub const MAX_RESIDUAL_DEPTH: usize = 16;
/// Most layers in a network, inner layers of residual blocks included: 4 096.
pub const MAX_LAYERS: usize = 4096;

/// Check a per-sample input shape `[C, H, W]` against [`MAX_WIDTH`],
/// [`MAX_SIDE`] and [`MAX_SAMPLE_ELEMS`]; the error says what is valid.
///
/// ```
/// use rlkit::nn::model::check_input_shape;
/// assert!(check_input_shape([4, 8, 8]).is_ok());
/// assert!(check_input_shape([1, 1, 1 << 24]).unwrap_err().contains("65536"));
/// assert!(check_input_shape([0, 8, 8]).is_err());
/// ```
pub fn check_input_shape(shape: [usize; 3]) -> std::result::Result<(), String> {
    let limits =
        format!("C ≤ {MAX_WIDTH}, H ≤ {MAX_SIDE}, W ≤ {MAX_SIDE}, C·H·W ≤ {MAX_SAMPLE_ELEMS}; see docs/nn.md, Limits");
    if shape.contains(&0) {
        return Err(format!("input shape {shape:?}: C, H and W must all be at least 1"));
    }
    for (dim, v, max) in [("C", shape[0], MAX_WIDTH), ("H", shape[1], MAX_SIDE), ("W", shape[2], MAX_SIDE)] {
        if v > max {
            return Err(format!("input shape {shape:?}: {dim} = {v} exceeds the limit {max} ({limits})"));
        }
    }
    let elems = prod(&shape);
    if elems > MAX_SAMPLE_ELEMS as u64 {
        return Err(format!("input shape {shape:?}: C·H·W = {elems} values per sample exceeds the limit ({limits})"));
    }
    Ok(())
}

/// Saturating product, for size estimates that must not overflow.
fn prod(xs: &[usize]) -> u64 {
    xs.iter().fold(1u64, |a, &x| a.saturating_mul(x as u64))
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn sixteen() -> usize {
    16
}
fn seven() -> usize {
    7
}
fn spp_levels() -> Vec<usize> {
    vec![1, 2, 4]
}

/// A network definition as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// A name for summaries.
    #[serde(default)]
    pub name: Option<String>,
    /// Default input shape `[C, H, W]`.
    #[serde(default)]
    pub input: Option<[usize; 3]>,
    /// Weight initialisation for conv, linear and projection weights.
    #[serde(default)]
    pub init: Init,
    /// The layers, applied in order.
    pub layers: Vec<LayerSpec>,
}

/// One layer of a [`NetworkSpec`]; `kind` selects the variant. See the module docs.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution.
    Conv2d {
        /// Output channels O.
        out_channels: usize,
        /// Square kernel side k.
        kernel_size: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding.
        #[serde(default)]
        padding: usize,
        /// Dilation.
        #[serde(default = "one")]
        dilation: usize,
        /// Learn a bias.
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Fully connected layer on vectors.
    Linear {
        /// Output features.
        out_features: usize,
        /// Learn a bias.
        #[serde(default = "yes")]
        bias: bool,
    },
    /// ReLU.
    Relu {},
    /// GELU, tanh form.
    Gelu {},
    /// Logistic sigmoid.
    Sigmoid {},
    /// LayerNorm over the features of a vector.
    LayerNorm {},
    /// Max pooling.
    MaxPool2d {
        /// Window side.
        kernel_size: usize,
        /// Stride (default: the window side).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (≤ k/2).
        #[serde(default)]
        padding: usize,
    },
    /// Average pooling (padding counted).
    AvgPool2d {
        /// Window side.
        kernel_size: usize,
        /// Stride (default: the window side).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding (≤ k/2).
        #[serde(default)]
        padding: usize,
    },
    /// Mean over H·W.
    GlobalAvgPool {},
    /// Max over H·W.
    GlobalMaxPool {},
    /// Feature map to vector.
    Flatten {},
    /// Spatial pyramid pooling.
    Spp {
        /// Pyramid levels n (n×n bins each).
        #[serde(default = "spp_levels")]
        levels: Vec<usize>,
    },
    /// Squeeze-and-excitation.
    Se {
        /// Reduction ratio r.
        #[serde(default = "sixteen")]
        reduction: usize,
    },
    /// CBAM (paper form).
    Cbam {
        /// Reduction ratio r of the channel MLP.
        #[serde(default = "sixteen")]
        reduction: usize,
        /// Spatial kernel side (odd).
        #[serde(default = "seven")]
        kernel_size: usize,
    },
    /// Pre-norm multi-head self-attention over the H·W cells.
    Attention {
        /// Number of heads (divides C).
        heads: usize,
        /// Causal mask in row-major cell order.
        #[serde(default)]
        causal: bool,
    },
    /// `y = x + f(x)`.
    Residual {
        /// The inner layers f.
        layers: Vec<LayerSpec>,
    },
}

/// The shape of one sample's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A feature map `[C, H, W]`.
    Map(usize, usize, usize),
    /// A vector `[F]`.
    Vec(usize),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Map(c, h, w) => write!(f, "[{c}, {h}, {w}]"),
            Shape::Vec(n) => write!(f, "[{n}]"),
        }
    }
}

impl Shape {
    /// Dimensions of a batch of `n` samples.
    pub fn batch_dims(&self, n: usize) -> Vec<usize> {
        match *self {
            Shape::Map(c, h, w) => vec![n, c, h, w],
            Shape::Vec(f) => vec![n, f],
        }
    }

    /// Elements per sample.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Map(c, h, w) => c * h * w,
            Shape::Vec(f) => f,
        }
    }

    /// True if a sample has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
enum Kind<T> {
    Conv2d(Conv2dConfig, bool),
    Linear(bool),
    Relu,
    Gelu,
    Sigmoid,
    LayerNorm,
    MaxPool(Pool2dConfig),
    AvgPool(Pool2dConfig),
    GlobalAvg,
    GlobalMax,
    Flatten,
    Spp(Vec<usize>),
    Se,
    Cbam,
    Attention(MhaConfig),
    Residual(Vec<Layer<T>>),
}

/// A built layer: its parameters, shapes, and the activations cached by the
/// last `forward` for `backward`.
#[derive(Debug, Clone)]
pub struct Layer<T> {
    kind: Kind<T>,
    /// `kind` as written in TOML.
    pub kind_name: &'static str,
    /// Parameters, named inside the layer (`weight`, `fc1.bias`, …).
    pub params: Vec<Param<T>>,
    /// Per-sample input shape.
    pub in_shape: Shape,
    /// Per-sample output shape.
    pub out_shape: Shape,
    /// Forward FLOPs per sample (2 per multiply–add, dominant terms).
    pub flops: u64,
    input: Option<ArrayD<T>>,
    output: Option<ArrayD<T>>,
    ln: Option<(Array1<T>, Array1<T>)>,
    mha: Option<MhaCache<T>>,
}

fn v4<T: Real>(a: &ArrayD<T>) -> ArrayView4<'_, T> {
    a.view().into_dimensionality::<Ix4>().expect("activation rank checked at build time")
}
fn v2<T: Real>(a: &ArrayD<T>) -> ArrayView2<'_, T> {
    a.view().into_dimensionality::<Ix2>().expect("activation rank checked at build time")
}
fn v1<T: Real>(a: &ArrayD<T>) -> ArrayView1<'_, T> {
    a.view().into_dimensionality::<Ix1>().expect("parameter rank fixed at build time")
}

struct Builder<'a> {
    init: Init,
    seed: u64,
    counter: u64,
    err: &'a dyn Fn(&[Seg], String) -> Error,
    /// Parameters allocated so far (values; gradients double it).
    param_elems: u64,
    /// Estimated activation values per sample held by forward/backward.
    act_elems: u64,
    /// Layers built so far, inner ones included.
    n_layers: usize,
    /// Residual nesting depth of the layer being built.
    depth: usize,
}

impl Builder<'_> {
    fn weight<T: Real>(&mut self, name: &str, shape: &[usize], fan_in: usize, fan_out: usize) -> Param<T> {
        let mut rng = crate::util::rng_for(self.seed, &[0x4e4e, self.counter]);
        self.counter += 1;
        Param::new(name, init_weight(self.init, shape, fan_in, fan_out, &mut rng))
    }

    fn constant<T: Real>(&mut self, name: &str, shape: &[usize], v: f64) -> Param<T> {
        self.counter += 1;
        Param::new(name, ArrayD::from_elem(shape, T::from_f64(v)))
    }

    fn mlp<T: Real>(&mut self, c: usize, hd: usize) -> Vec<Param<T>> {
        vec![
            self.weight("fc1.weight", &[hd, c], c, hd),
            self.constant("fc1.bias", &[hd], 0.0),
            self.weight("fc2.weight", &[c, hd], hd, c),
            self.constant("fc2.bias", &[c], 0.0),
        ]
    }

    /// Account for `elems` more parameter values of the layer at `path` and
    /// refuse (located) if values and gradients would exceed the memory budget.
    fn reserve<T: Real>(&mut self, path: &[Seg], name: &str, elems: u64) -> Result<()> {
        self.param_elems = self.param_elems.saturating_add(elems);
        let bytes = self.param_elems.saturating_mul(2 * std::mem::size_of::<T>() as u64);
        crate::util::check_mem(
            bytes,
            &format!("{name}: storing the parameters up to this layer (values and gradients)"),
        )
        .map_err(|e| match e {
            Error::Input(m) => (self.err)(path, m),
            other => other,
        })
    }

    fn layers<T: Real>(&mut self, specs: &[LayerSpec], mut shape: Shape, prefix: &[Seg]) -> Result<Vec<Layer<T>>> {
        let mut out = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let mut path = prefix.to_vec();
            path.push(Seg::Key("layers".into()));
            path.push(Seg::Index(i));
            self.n_layers += 1;
            if self.n_layers > MAX_LAYERS {
                return Err((self.err)(
                    &path,
                    format!("a network has at most {MAX_LAYERS} layers (see docs/nn.md, Limits)"),
                ));
            }
            let layer = self.layer(spec, shape, &path)?;
            shape = layer.out_shape;
            out.push(layer);
        }
        Ok(out)
    }

    fn layer<T: Real>(&mut self, spec: &LayerSpec, shape: Shape, path: &[Seg]) -> Result<Layer<T>> {
        let name = kind_name(spec);
        let err = self.err;
        let fail = |msg: String| err(path, format!("{name}: {msg}"));
        // A bound on an option, located at its key.
        let cap = |key: &str, v: usize, max: usize| -> Result<()> {
            if v > max {
                let mut p = path.to_vec();
                p.push(Seg::Key(key.into()));
                Err(err(&p, format!("{name}: {key} = {v} exceeds the limit {max} (see docs/nn.md, Limits)")))
            } else {
                Ok(())
            }
        };
        let need_map = |shape: Shape| -> Result<(usize, usize, usize)> {
            match shape {
                Shape::Map(c, h, w) => Ok((c, h, w)),
                Shape::Vec(_) => Err(fail(format!(
                    "needs a feature map input [C, H, W], got a vector {shape}; move it before the `flatten`/`spp`/global pool"
                ))),
            }
        };
        let need_vec = |shape: Shape| -> Result<usize> {
            match shape {
                Shape::Vec(f) => Ok(f),
                Shape::Map(..) => Err(fail(format!(
                    "needs a vector input [F], got a feature map {shape}; add a `flatten`, `spp` or `global_avg_pool` layer before it"
                ))),
            }
        };
        let positive = |what: &str, v: usize| -> Result<()> {
            if v == 0 {
                Err(fail(format!("{what} must be at least 1, got 0")))
            } else {
                Ok(())
            }
        };
        let mut params = vec![];
        let (kind, out_shape, flops): (Kind<T>, Shape, u64) = match spec {
            LayerSpec::Conv2d { out_channels, kernel_size, stride, padding, dilation, bias } => {
                let (c, h, w) = need_map(shape)?;
                positive("out_channels", *out_channels)?;
                positive("kernel_size", *kernel_size)?;
                positive("stride", *stride)?;
                positive("dilation", *dilation)?;
                cap("out_channels", *out_channels, MAX_WIDTH)?;
                for (key, v) in
                    [("kernel_size", kernel_size), ("stride", stride), ("padding", padding), ("dilation", dilation)]
                {
                    cap(key, *v, MAX_SIDE)?;
                }
                let cfg = Conv2dConfig { stride: *stride, padding: *padding, dilation: *dilation };
                let (oh, ow) = match (cfg.out_size(h, *kernel_size), cfg.out_size(w, *kernel_size)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        return Err(fail(format!(
                            "input {shape} is too small for kernel_size {kernel_size} with dilation {dilation} and padding {padding}: needs H + 2·padding and W + 2·padding ≥ {} (increase padding or reduce dilation)",
                            dilation * (kernel_size - 1) + 1
                        )))
                    }
                };
                let (o, k) = (*out_channels, *kernel_size);
                self.reserve::<T>(path, name, prod(&[o, c, k, k]).saturating_add(o as u64))?;
                params.push(self.weight("weight", &[o, c, k, k], c * k * k, o * k * k));
                if *bias {
                    params.push(self.constant("bias", &[o], 0.0));
                }
                // conv::conv2d_flops, saturating (the output size is checked below).
                let fl = prod(&[2, o, oh, ow, c, k, k]).saturating_add(if *bias { prod(&[o, oh, ow]) } else { 0 });
                (Kind::Conv2d(cfg, *bias), Shape::Map(o, oh, ow), fl)
            }
            LayerSpec::Linear { out_features, bias } => {
                let f = need_vec(shape)?;
                positive("out_features", *out_features)?;
                cap("out_features", *out_features, MAX_WIDTH)?;
                self.reserve::<T>(path, name, prod(&[*out_features, f]).saturating_add(*out_features as u64))?;
                params.push(self.weight("weight", &[*out_features, f], f, *out_features));
                if *bias {
                    params.push(self.constant("bias", &[*out_features], 0.0));
                }
                (Kind::Linear(*bias), Shape::Vec(*out_features), (2 * f * out_features) as u64)
            }
            LayerSpec::Relu {} => (Kind::Relu, shape, shape.len() as u64),
            LayerSpec::Gelu {} => (Kind::Gelu, shape, 8 * shape.len() as u64),
            LayerSpec::Sigmoid {} => (Kind::Sigmoid, shape, 4 * shape.len() as u64),
            LayerSpec::LayerNorm {} => {
                let f = need_vec(shape)?;
                self.reserve::<T>(path, name, 2 * f as u64)?;
                params.push(self.constant("weight", &[f], 1.0));
                params.push(self.constant("bias", &[f], 0.0));
                (Kind::LayerNorm, shape, 8 * f as u64)
            }
            LayerSpec::MaxPool2d { kernel_size, stride, padding }
            | LayerSpec::AvgPool2d { kernel_size, stride, padding } => {
                let (c, h, w) = need_map(shape)?;
                positive("kernel_size", *kernel_size)?;
                let cfg =
                    Pool2dConfig { kernel: *kernel_size, stride: stride.unwrap_or(*kernel_size), padding: *padding };
                positive("stride", cfg.stride)?;
                cap("kernel_size", *kernel_size, MAX_SIDE)?;
                cap("stride", cfg.stride, MAX_SIDE)?;
                if 2 * padding > *kernel_size {
                    return Err(fail(format!("padding {padding} must be at most kernel_size/2 = {}", kernel_size / 2)));
                }
                let (oh, ow) = match (cfg.out_size(h), cfg.out_size(w)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        return Err(fail(format!(
                        "input {shape} is smaller than the window {kernel_size}×{kernel_size} (with padding {padding})"
                    )))
                    }
                };
                let fl = prod(&[c, oh, ow, *kernel_size, *kernel_size]);
                let kind =
                    if matches!(spec, LayerSpec::MaxPool2d { .. }) { Kind::MaxPool(cfg) } else { Kind::AvgPool(cfg) };
                (kind, Shape::Map(c, oh, ow), fl)
            }
            LayerSpec::GlobalAvgPool {} | LayerSpec::GlobalMaxPool {} => {
                let (c, h, w) = need_map(shape)?;
                let kind = if matches!(spec, LayerSpec::GlobalAvgPool {}) { Kind::GlobalAvg } else { Kind::GlobalMax };
                (kind, Shape::Vec(c), (c * h * w) as u64)
            }
            LayerSpec::Flatten {} => {
                let (c, h, w) = need_map(shape)?;
                (Kind::Flatten, Shape::Vec(c * h * w), 0)
            }
            LayerSpec::Spp { levels } => {
                let (c, h, w) = need_map(shape)?;
                if levels.is_empty() || levels.contains(&0) {
                    return Err(fail(format!("levels must be a non-empty list of sizes ≥ 1, got {levels:?}")));
                }
                cap("levels", levels.len(), MAX_SPP_LEVELS).map_err(|_| {
                    let mut p = path.to_vec();
                    p.push(Seg::Key("levels".into()));
                    err(
                        &p,
                        format!(
                            "{name}: {} levels exceed the limit of {MAX_SPP_LEVELS} levels (see docs/nn.md, Limits)",
                            levels.len()
                        ),
                    )
                })?;
                for &n in levels {
                    cap("levels", n, MAX_SPP_LEVEL)?;
                }
                let fl = (levels.len() * c * h * w) as u64;
                (Kind::Spp(levels.clone()), Shape::Vec(spp::spp_len(c, levels)), fl)
            }
            LayerSpec::Se { reduction } => {
                let (c, h, w) = need_map(shape)?;
                positive("reduction", *reduction)?;
                let hd = blocks::hidden_units(c, *reduction);
                self.reserve::<T>(path, name, prod(&[2, c, hd]) + (c + hd) as u64)?;
                params = self.mlp(c, hd);
                (Kind::Se, shape, (4 * c * hd + 2 * c * h * w) as u64)
            }
            LayerSpec::Cbam { reduction, kernel_size } => {
                let (c, h, w) = need_map(shape)?;
                positive("reduction", *reduction)?;
                if kernel_size % 2 == 0 {
                    return Err(fail(format!("kernel_size must be odd (padding is kernel_size/2), got {kernel_size}")));
                }
                cap("kernel_size", *kernel_size, MAX_SIDE)?;
                let hd = blocks::hidden_units(c, *reduction);
                let k = *kernel_size;
                self.reserve::<T>(path, name, prod(&[2, c, hd]) + (c + hd) as u64 + prod(&[2, k, k]))?;
                params = self.mlp(c, hd);
                params.push(self.weight("spatial.weight", &[1, 2, k, k], 2 * k * k, k * k));
                (Kind::Cbam, shape, prod(&[8, c, hd]) + prod(&[4, k, k, h, w]).saturating_add(prod(&[6, c, h, w])))
            }
            LayerSpec::Attention { heads, causal } => {
                let (c, h, w) = need_map(shape)?;
                positive("heads", *heads)?;
                if c % heads != 0 {
                    return Err(fail(format!(
                        "heads = {heads} must divide the input channels C = {c} of input {shape}"
                    )));
                }
                if h * w > MAX_ATTENTION_TOKENS {
                    return Err(fail(format!(
                        "input {shape} has H·W = {} cells; attention attends over at most {MAX_ATTENTION_TOKENS} cells (its cost is quadratic in them; see docs/nn.md, Limits): pool or stride the map first",
                        h * w
                    )));
                }
                self.reserve::<T>(path, name, prod(&[4, c, c]) + 6 * c as u64)?;
                params.push(self.constant("ln.weight", &[c], 1.0));
                params.push(self.constant("ln.bias", &[c], 0.0));
                for p in ["q", "k", "v", "o"] {
                    params.push(self.weight(&format!("{p}.weight"), &[c, c], c, c));
                    params.push(self.constant(&format!("{p}.bias"), &[c], 0.0));
                }
                let t = h * w;
                let fl = 8 * t * c * c + 4 * t * t * c + 8 * t * c;
                (Kind::Attention(MhaConfig { heads: *heads, causal: *causal }), shape, fl as u64)
            }
            LayerSpec::Residual { layers } => {
                if self.depth >= MAX_RESIDUAL_DEPTH {
                    return Err(fail(format!(
                        "residual blocks nest at most {MAX_RESIDUAL_DEPTH} deep (see docs/nn.md, Limits)"
                    )));
                }
                self.depth += 1;
                let inner = self.layers(layers, shape, path);
                self.depth -= 1;
                let inner: Vec<Layer<T>> = inner?;
                let out = inner.last().map_or(shape, |l| l.out_shape);
                if out != shape {
                    return Err(fail(format!(
                        "the inner layers map input {shape} to {out}; a residual block needs them to keep the shape"
                    )));
                }
                let fl = inner.iter().fold(shape.len() as u64, |a, l| a.saturating_add(l.flops));
                (Kind::Residual(inner), shape, fl)
            }
        };
        if out_shape.len() > MAX_SAMPLE_ELEMS {
            return Err(fail(format!(
                "its output {out_shape} has {} values per sample, more than the limit {MAX_SAMPLE_ELEMS} (see docs/nn.md, Limits)",
                out_shape.len()
            )));
        }
        // Activation values per sample held during forward/backward (inputs,
        // outputs and the caches of the blocks), an estimate for the memory check.
        let extra = match (&kind, out_shape) {
            (Kind::Attention(cfg), Shape::Map(c, h, w)) => {
                // Tokens, LN, q/k/v, heads' outputs (~10·T·C); in f64 the exact
                // kernel also holds one T×T score matrix at a time; in f32 the
                // attention probabilities (heads·T² per sample) are kept while they
                // fit `attention::KEEP_P_MAX_BYTES` (counted when one sample's do).
                let t = (h * w) as u64;
                let kept = cfg.heads as u64 * t * t;
                let scores = if std::mem::size_of::<T>() == 8 {
                    t * t
                } else if kept * 4 <= crate::nn::attention::KEEP_P_MAX_BYTES as u64 {
                    kept
                } else {
                    0
                };
                10 * t * c as u64 + t * cfg.heads as u64 + scores
            }
            (Kind::Cbam, s) => 4 * s.len() as u64,
            (Kind::Se, s) => 2 * s.len() as u64,
            _ => 0,
        };
        self.act_elems = self.act_elems.saturating_add(shape.len() as u64 + out_shape.len() as u64 + extra);
        Ok(Layer {
            kind,
            kind_name: name,
            params,
            in_shape: shape,
            out_shape,
            flops,
            input: None,
            output: None,
            ln: None,
            mha: None,
        })
    }
}

fn kind_name(spec: &LayerSpec) -> &'static str {
    match spec {
        LayerSpec::Conv2d { .. } => "conv2d",
        LayerSpec::Linear { .. } => "linear",
        LayerSpec::Relu {} => "relu",
        LayerSpec::Gelu {} => "gelu",
        LayerSpec::Sigmoid {} => "sigmoid",
        LayerSpec::LayerNorm {} => "layer_norm",
        LayerSpec::MaxPool2d { .. } => "max_pool2d",
        LayerSpec::AvgPool2d { .. } => "avg_pool2d",
        LayerSpec::GlobalAvgPool {} => "global_avg_pool",
        LayerSpec::GlobalMaxPool {} => "global_max_pool",
        LayerSpec::Flatten {} => "flatten",
        LayerSpec::Spp { .. } => "spp",
        LayerSpec::Se { .. } => "se",
        LayerSpec::Cbam { .. } => "cbam",
        LayerSpec::Attention { .. } => "attention",
        LayerSpec::Residual { .. } => "residual",
    }
}

impl<T: Real> Layer<T> {
    fn p1(&self, i: usize) -> ArrayView1<'_, T> {
        v1(&self.params[i].value)
    }
    fn p2(&self, i: usize) -> ArrayView2<'_, T> {
        self.params[i].value.view().into_dimensionality::<Ix2>().expect("parameter rank fixed at build time")
    }
    fn p4(&self, i: usize) -> ArrayView4<'_, T> {
        v4(&self.params[i].value)
    }
    fn mlp(&self) -> Mlp2<'_, T> {
        Mlp2 { w1: self.p2(0), b1: self.p1(1), w2: self.p2(2), b2: self.p1(3) }
    }
    fn mha_params(&self) -> MhaParams<'_, T> {
        MhaParams {
            ln_w: self.p1(0),
            ln_b: self.p1(1),
            proj_w: std::array::from_fn(|i| self.p2(2 + 2 * i)),
            proj_b: std::array::from_fn(|i| self.p1(3 + 2 * i)),
        }
    }
    fn acc(&mut self, i: usize, g: ArrayD<T>) {
        self.params[i].grad += &g;
    }

    /// Forward one batch; caches what `backward` needs.
    pub fn forward(&mut self, x: ArrayD<T>) -> ArrayD<T> {
        if let Kind::Residual(inner) = &mut self.kind {
            let mut h = x.clone();
            for l in inner.iter_mut() {
                h = l.forward(h);
            }
            return act::add_forward(x.view(), h.view());
        }
        let y = match &self.kind {
            Kind::Conv2d(cfg, bias) => {
                conv::conv2d_forward(v4(&x), self.p4(0), bias.then(|| self.p1(1)), cfg).into_dyn()
            }
            Kind::Linear(bias) => linear::linear_forward(v2(&x), self.p2(0), bias.then(|| self.p1(1))).into_dyn(),
            Kind::Relu => act::relu_forward(x.view()),
            Kind::Gelu => act::gelu_forward(x.view()),
            Kind::Sigmoid => {
                let y = act::sigmoid_forward(x.view());
                self.output = Some(y.clone());
                return y;
            }
            Kind::LayerNorm => {
                let (y, m, r) = linear::layernorm_forward(v2(&x), self.p1(0), self.p1(1), T::from_f64(mha::LN_EPS));
                self.ln = Some((m, r));
                self.input = Some(x);
                return y.into_dyn();
            }
            Kind::MaxPool(cfg) => pool::maxpool2d_forward(v4(&x), cfg).into_dyn(),
            Kind::AvgPool(cfg) => pool::avgpool2d_forward(v4(&x), cfg).into_dyn(),
            Kind::GlobalAvg => pool::global_avg_pool_forward(v4(&x)).into_dyn(),
            Kind::GlobalMax => pool::global_max_pool_forward(v4(&x)).into_dyn(),
            Kind::Flatten => {
                let n = x.shape()[0];
                let f = x.len() / n.max(1);
                x.as_standard_layout().into_owned().into_shape_with_order(vec![n, f]).expect("flatten")
            }
            Kind::Spp(levels) => spp::spp_forward(v4(&x), levels).into_dyn(),
            Kind::Se => blocks::se_forward(v4(&x), &self.mlp()).into_dyn(),
            Kind::Cbam => blocks::cbam_forward(v4(&x), &CbamParams { mlp: self.mlp(), spatial: self.p4(4) }).into_dyn(),
            Kind::Attention(cfg) => {
                let (y, cache) = mha::mha_forward(v4(&x), &self.mha_params(), cfg);
                self.mha = Some(cache);
                return y.into_dyn();
            }
            Kind::Residual(_) => unreachable!("handled above"),
        };
        self.input = Some(x);
        y
    }

    /// Backward one batch: accumulates parameter gradients, returns `dx`.
    /// Panics if `forward` was not called first (an internal invariant of [`Network`]).
    pub fn backward(&mut self, dy: ArrayD<T>) -> ArrayD<T> {
        if let Kind::Residual(inner) = &mut self.kind {
            let (dskip, mut dh) = act::add_backward(dy.view());
            for l in inner.iter_mut().rev() {
                dh = l.backward(dh);
            }
            return dskip + dh;
        }
        const NO_FWD: &str = "backward called before forward";
        if let Kind::Sigmoid = self.kind {
            let y = self.output.as_ref().expect(NO_FWD);
            return act::sigmoid_backward(y.view(), dy.view());
        }
        if let Kind::Attention(cfg) = &self.kind {
            let cache = self.mha.as_ref().expect(NO_FWD);
            let (dx, g) = mha::mha_backward(&self.mha_params(), cfg, cache, v4(&dy));
            self.acc(0, g.ln_w.into_dyn());
            self.acc(1, g.ln_b.into_dyn());
            for (i, (w, b)) in g.proj_w.into_iter().zip(g.proj_b).enumerate() {
                self.acc(2 + 2 * i, w.into_dyn());
                self.acc(3 + 2 * i, b.into_dyn());
            }
            return dx.into_dyn();
        }
        let x = self.input.take().expect(NO_FWD);
        let dx = match &self.kind {
            Kind::Conv2d(cfg, bias) => {
                let (cfg, bias) = (*cfg, *bias);
                let (dx, dw, db) = conv::conv2d_backward(v4(&x), self.p4(0), v4(&dy), &cfg);
                self.acc(0, dw.into_dyn());
                if bias {
                    self.acc(1, db.into_dyn());
                }
                dx.into_dyn()
            }
            Kind::Linear(bias) => {
                let bias = *bias;
                let (dx, dw, db) = linear::linear_backward(v2(&x), self.p2(0), v2(&dy));
                self.acc(0, dw.into_dyn());
                if bias {
                    self.acc(1, db.into_dyn());
                }
                dx.into_dyn()
            }
            Kind::Relu => act::relu_backward(x.view(), dy.view()),
            Kind::Gelu => act::gelu_backward(x.view(), dy.view()),
            Kind::LayerNorm => {
                let (m, r) = self.ln.as_ref().expect(NO_FWD);
                let (dx, dg, db) = linear::layernorm_backward(v2(&x), self.p1(0), m.view(), r.view(), v2(&dy));
                self.acc(0, dg.into_dyn());
                self.acc(1, db.into_dyn());
                dx.into_dyn()
            }
            Kind::MaxPool(cfg) => pool::maxpool2d_backward(v4(&x), v4(&dy), cfg).into_dyn(),
            Kind::AvgPool(cfg) => pool::avgpool2d_backward(v4(&x).dim(), v4(&dy), cfg).into_dyn(),
            Kind::GlobalAvg => pool::global_avg_pool_backward(v4(&x).dim(), v2(&dy)).into_dyn(),
            Kind::GlobalMax => pool::global_max_pool_backward(v4(&x), v2(&dy)).into_dyn(),
            Kind::Flatten => {
                dy.as_standard_layout().into_owned().into_shape_with_order(x.raw_dim()).expect("unflatten")
            }
            Kind::Spp(levels) => spp::spp_backward(v4(&x), v2(&dy), levels).into_dyn(),
            Kind::Se => {
                let (dx, g) = blocks::se_backward(v4(&x), &self.mlp(), v4(&dy));
                self.acc_mlp(g);
                dx.into_dyn()
            }
            Kind::Cbam => {
                let (dx, g) =
                    blocks::cbam_backward(v4(&x), &CbamParams { mlp: self.mlp(), spatial: self.p4(4) }, v4(&dy));
                self.acc_mlp(g.mlp);
                self.acc(4, g.spatial.into_dyn());
                dx.into_dyn()
            }
            Kind::Sigmoid | Kind::Attention(_) | Kind::Residual(_) => unreachable!("handled above"),
        };
        dx
    }

    fn acc_mlp(&mut self, g: blocks::Mlp2Grads<T>) {
        self.acc(0, g.w1.into_dyn());
        self.acc(1, g.b1.into_dyn());
        self.acc(2, g.w2.into_dyn());
        self.acc(3, g.b2.into_dyn());
    }

    fn visit<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a Param<T>)>) {
        for p in &self.params {
            out.push((format!("{prefix}.{}", p.name), p));
        }
        if let Kind::Residual(inner) = &self.kind {
            for (j, l) in inner.iter().enumerate() {
                l.visit(&format!("{prefix}.layers.{j}"), out);
            }
        }
    }

    fn visit_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Param<T>>) {
        out.extend(self.params.iter_mut());
        if let Kind::Residual(inner) = &mut self.kind {
            for l in inner.iter_mut() {
                l.visit_mut(out);
            }
        }
    }

    /// Inner layers of a residual block (empty otherwise).
    pub fn children(&self) -> &[Layer<T>] {
        match &self.kind {
            Kind::Residual(inner) => inner,
            _ => &[],
        }
    }

    /// Number of parameters of this layer, inner layers included.
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|p| p.value.len()).sum::<usize>()
            + self.children().iter().map(|l| l.num_params()).sum::<usize>()
    }

    fn cast<U: Real>(&self) -> Layer<U> {
        let kind = match &self.kind {
            Kind::Conv2d(c, b) => Kind::Conv2d(*c, *b),
            Kind::Linear(b) => Kind::Linear(*b),
            Kind::Relu => Kind::Relu,
            Kind::Gelu => Kind::Gelu,
            Kind::Sigmoid => Kind::Sigmoid,
            Kind::LayerNorm => Kind::LayerNorm,
            Kind::MaxPool(c) => Kind::MaxPool(*c),
            Kind::AvgPool(c) => Kind::AvgPool(*c),
            Kind::GlobalAvg => Kind::GlobalAvg,
            Kind::GlobalMax => Kind::GlobalMax,
            Kind::Flatten => Kind::Flatten,
            Kind::Spp(l) => Kind::Spp(l.clone()),
            Kind::Se => Kind::Se,
            Kind::Cbam => Kind::Cbam,
            Kind::Attention(c) => Kind::Attention(*c),
            Kind::Residual(inner) => Kind::Residual(inner.iter().map(|l| l.cast()).collect()),
        };
        Layer {
            kind,
            kind_name: self.kind_name,
            params: self
                .params
                .iter()
                .map(|p| Param::new(&p.name, p.value.mapv(|v| U::from_f64(v.to_f64()))))
                .collect(),
            in_shape: self.in_shape,
            out_shape: self.out_shape,
            flops: self.flops,
            input: None,
            output: None,
            ln: None,
            mha: None,
        }
    }
}

/// A built network: layers with parameters, for one input shape `[C, H, W]`
/// (any batch size).
///
/// ```
/// use rlkit::nn::model::{Network, NetworkSpec};
/// let spec: NetworkSpec = toml::from_str(r#"
///     [[layers]]
///     kind = "conv2d"
///     out_channels = 2
///     kernel_size = 3
///     padding = 1
///     [[layers]]
///     kind = "spp"
///     levels = [1, 2]
///     [[layers]]
///     kind = "linear"
///     out_features = 3
/// "#).unwrap();
/// let mut net = Network::<f32>::build(&spec, [1, 5, 4], 0).unwrap();
/// let y = net.forward(ndarray::ArrayD::zeros(vec![2, 1, 5, 4])).unwrap();
/// assert_eq!(y.shape(), &[2, 3]);
/// assert_eq!(net.num_params(), 2 * 9 + 2 + 10 * 3 + 3);
/// ```
#[derive(Debug, Clone)]
pub struct Network<T> {
    /// The layers in order.
    pub layers: Vec<Layer<T>>,
    /// Per-sample input shape.
    pub input: Shape,
    /// Per-sample output shape.
    pub output: Shape,
    /// The network's name, if the file gave one.
    pub name: Option<String>,
    /// Estimated activation values per sample held by forward and backward.
    act_per_sample: u64,
}

impl<T: Real> Network<T> {
    /// Build from a spec for inputs `[C, H, W]`, initialising weights from `seed`.
    /// Shape errors name the layer (`layers[i]`), its kind and the shapes.
    pub fn build(spec: &NetworkSpec, input: [usize; 3], seed: u64) -> Result<Self> {
        let err = |path: &[Seg], msg: String| {
            if path.is_empty() {
                Error::input(msg)
            } else {
                Error::input(format!("{}: {msg}", path_string(path)))
            }
        };
        Self::build_with(spec, input, seed, &err)
    }

    fn build_with(
        spec: &NetworkSpec,
        input: [usize; 3],
        seed: u64,
        err: &dyn Fn(&[Seg], String) -> Error,
    ) -> Result<Self> {
        check_input_shape(input).map_err(Error::input)?;
        let shape = Shape::Map(input[0], input[1], input[2]);
        let mut b =
            Builder { init: spec.init, seed, counter: 0, err, param_elems: 0, act_elems: 0, n_layers: 0, depth: 0 };
        let layers = b.layers(&spec.layers, shape, &[])?;
        let output = layers.last().map_or(shape, |l| l.out_shape);
        let net = Network { layers, input: shape, output, name: spec.name.clone(), act_per_sample: b.act_elems };
        net.check_batch(1).map_err(|e| match e {
            Error::Input(m) => err(&[], m),
            other => other,
        })?;
        Ok(net)
    }

    /// Estimated bytes of a forward and backward pass over a batch of `batch`
    /// samples: parameters and their gradients plus the activations the layers
    /// hold (inputs, outputs, attention and CBAM caches).
    pub fn memory_estimate(&self, batch: usize) -> u64 {
        let size = std::mem::size_of::<T>() as u64;
        let params = (self.num_params() as u64).saturating_mul(2 * size);
        let acts = self.act_per_sample.saturating_add(self.input.len() as u64).saturating_mul(batch as u64);
        params.saturating_add(acts.saturating_mul(size))
    }

    /// Refuse (exit code 2) a batch of `batch` samples whose
    /// [`Network::memory_estimate`] exceeds the memory budget
    /// ([`crate::util::check_mem`]).
    pub fn check_batch(&self, batch: usize) -> Result<()> {
        crate::util::check_mem(
            self.memory_estimate(batch),
            &format!(
                "running the network on a batch of {batch} input(s) {} (parameters, gradients and activations)",
                self.input
            ),
        )
    }

    /// Forward a batch `x [N, C, H, W]` → `[N, …output shape]`.
    pub fn forward(&mut self, x: ArrayD<T>) -> Result<ArrayD<T>> {
        let n = x.shape().first().copied().unwrap_or(0);
        if x.shape() != self.input.batch_dims(n).as_slice() || n == 0 {
            return Err(Error::input(format!(
                "input tensor has shape {:?}, the network was built for [N ≥ 1, {}]",
                x.shape(),
                self.input.to_string().trim_matches(['[', ']'])
            )));
        }
        self.check_batch(n)?;
        let mut h = x;
        for l in &mut self.layers {
            h = l.forward(h);
        }
        Ok(h)
    }

    /// Backward `dy` (shape of the last output): accumulates parameter
    /// gradients and returns `dx [N, C, H, W]`. Call [`Network::forward`] first.
    pub fn backward(&mut self, dy: ArrayD<T>) -> Result<ArrayD<T>> {
        let n = dy.shape().first().copied().unwrap_or(0);
        let cached = self.layers.first().and_then(|l| l.input.as_ref().map(|x| x.shape()[0]));
        let ok_shape = dy.shape() == self.output.batch_dims(n).as_slice();
        if !ok_shape || (cached.is_some() && cached != Some(n)) {
            return Err(Error::input(format!(
                "gradient of the output has shape {:?}, expected [{}, {}] (the batch of the last forward)",
                dy.shape(),
                cached.unwrap_or(n),
                self.output.to_string().trim_matches(['[', ']'])
            )));
        }
        let mut g = dy;
        for l in self.layers.iter_mut().rev() {
            g = l.backward(g);
        }
        Ok(g)
    }

    /// Set every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in self.params_mut() {
            p.grad.fill(T::ZERO);
        }
    }

    /// All parameters with their full names `layers.<i>.<param>`, in a fixed order.
    pub fn named_params(&self) -> Vec<(String, &Param<T>)> {
        let mut out = vec![];
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&format!("layers.{i}"), &mut out);
        }
        out
    }

    /// All parameters, mutably, in the order of [`Network::named_params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param<T>> {
        let mut out = vec![];
        for l in &mut self.layers {
            l.visit_mut(&mut out);
        }
        out
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.layers.iter().map(|l| l.num_params()).sum()
    }

    /// Load parameter values by full name. Every parameter must be present with
    /// its exact shape, and no other tensor may be (`source` names the file in errors).
    pub fn load_state(&mut self, tensors: &std::collections::BTreeMap<String, ArrayD<T>>, source: &str) -> Result<()> {
        let names: Vec<String> = self.named_params().into_iter().map(|(n, _)| n).collect();
        for (name, p) in names.iter().zip(self.params_mut()) {
            let t = tensors.get(name).ok_or_else(|| {
                Error::input(format!(
                    "{source}: missing tensor `{name}` (shape {:?}) that the network needs",
                    p.value.shape()
                ))
            })?;
            if t.shape() != p.value.shape() {
                return Err(Error::input(format!(
                    "{source}: tensor `{name}` has shape {:?}, the network expects {:?}",
                    t.shape(),
                    p.value.shape()
                )));
            }
            p.value.assign(t);
        }
        if let Some(extra) = tensors.keys().find(|k| !names.contains(k)) {
            return Err(Error::input(format!(
                "{source}: unexpected tensor `{extra}`: the network has no such parameter (it has {} parameters, `{}` … `{}`)",
                names.len(),
                names.first().map_or("", |s| s.as_str()),
                names.last().map_or("", |s| s.as_str())
            )));
        }
        Ok(())
    }

    /// The same network in another precision (caches dropped).
    pub fn cast<U: Real>(&self) -> Network<U> {
        Network {
            layers: self.layers.iter().map(|l| l.cast()).collect(),
            input: self.input,
            output: self.output,
            name: self.name.clone(),
            act_per_sample: self.act_per_sample,
        }
    }

    /// Forward FLOPs per sample.
    pub fn flops(&self) -> u64 {
        self.layers.iter().fold(0u64, |a, l| a.saturating_add(l.flops))
    }
}

/// Deserialize a [`NetworkSpec`]. serde loses the key path inside an
/// internally tagged enum (the layers), so an unknown or invalid key inside a
/// layer is located here by the key its message names.
fn parse_spec(doc: &Doc) -> Result<NetworkSpec> {
    serde_path_to_error::deserialize(toml::Value::Table(doc.table.clone())).map_err(|e| {
        let mut path = vec![];
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => path.push(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => path.push(Seg::Key(key.clone())),
                _ => {}
            }
        }
        let msg = e.inner().to_string();
        let msg = msg.lines().next().unwrap_or("").trim().to_string();
        let named = msg
            .strip_prefix("unknown field `")
            .or_else(|| msg.strip_prefix("missing field `"))
            .and_then(|r| r.split('`').next());
        if let (Some(k), Some(Seg::Index(_))) = (named, path.last()) {
            if !msg.starts_with("missing") {
                path.push(Seg::Key(k.to_string()));
            }
        }
        doc.error_at(&path, &msg)
    })
}

/// A network file loaded and parsed, remembering its text for located errors.
#[derive(Debug, Clone)]
pub struct NetworkFile {
    /// The parsed spec.
    pub spec: NetworkSpec,
    doc: Doc,
}

impl NetworkFile {
    /// Read and parse a TOML network file. Errors are one line with the file,
    /// line:column, key and what is valid.
    pub fn load(path: &Path) -> Result<Self> {
        let doc = Doc::load(path)?;
        let spec = parse_spec(&doc)?;
        if spec.layers.is_empty() {
            return Err(doc.error_at(&[Seg::Key("layers".into())], "a network needs at least one layer"));
        }
        Ok(NetworkFile { spec, doc })
    }

    /// Parse TOML text as if it were `file`.
    pub fn from_str(file: &str, text: &str) -> Result<Self> {
        let doc = Doc::from_str(file, text)?;
        let spec = parse_spec(&doc)?;
        if spec.layers.is_empty() {
            return Err(doc.error_at(&[Seg::Key("layers".into())], "a network needs at least one layer"));
        }
        Ok(NetworkFile { spec, doc })
    }

    /// A located error at `path` of this file (`file:line:col: path: msg`).
    pub fn error_at(&self, path: &[Seg], msg: &str) -> Error {
        self.doc.error_at(path, msg)
    }

    /// The input shape: `input` if given, else the file's `input`, else an error.
    pub fn input_shape(&self, input: Option<[usize; 3]>) -> Result<[usize; 3]> {
        let shape = input.or(self.spec.input).ok_or_else(|| {
            Error::input(format!(
                "{}: no input shape: pass --input C,H,W or add `input = [C, H, W]` to the file",
                self.doc.file().display()
            ))
        })?;
        if let Err(m) = check_input_shape(shape) {
            return Err(match (input, self.spec.input) {
                (None, Some(_)) => self.doc.error_at(&[Seg::Key("input".into())], &m),
                _ => Error::input(format!("--input: {m}")),
            });
        }
        Ok(shape)
    }

    /// Build for inputs `[C, H, W]` with weights initialised from `seed`;
    /// shape errors point at the offending layer in the file.
    pub fn build<T: Real>(&self, input: [usize; 3], seed: u64) -> Result<Network<T>> {
        let err = |path: &[Seg], msg: String| self.doc.error_at(path, &msg);
        Network::build_with(&self.spec, input, seed, &err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::testutil::*;

    const NET: &str = r#"
name = "all"
[[layers]]
kind = "conv2d"
out_channels = 4
kernel_size = 3
padding = 2
dilation = 2
[[layers]]
kind = "gelu"
[[layers]]
kind = "residual"
[[layers.layers]]
kind = "conv2d"
out_channels = 4
kernel_size = 3
padding = 1
[[layers.layers]]
kind = "relu"
[[layers]]
kind = "se"
reduction = 2
[[layers]]
kind = "cbam"
reduction = 2
kernel_size = 3
[[layers]]
kind = "attention"
heads = 2
causal = true
[[layers]]
kind = "max_pool2d"
kernel_size = 2
stride = 1
[[layers]]
kind = "avg_pool2d"
kernel_size = 3
stride = 1
padding = 1
[[layers]]
kind = "spp"
levels = [1, 2]
[[layers]]
kind = "layer_norm"
[[layers]]
kind = "linear"
out_features = 3
[[layers]]
kind = "sigmoid"
"#;

    #[test]
    fn whole_network_gradients_match_finite_differences() {
        let file = NetworkFile::from_str("net.toml", NET).unwrap();
        let mut net = file.build::<f64>([3, 5, 4], 11).unwrap();
        assert_eq!(net.output, Shape::Vec(3));
        let x = rand_array((2, 3, 5, 4), 1, 1.0).into_dyn();
        let r = rand_array((2, 3), 2, 1.0).into_dyn();
        net.forward(x.clone()).unwrap();
        let dx = net.backward(r.clone()).unwrap();
        let loss = |net: &mut Network<f64>, x: &ArrayD<f64>| (net.forward(x.clone()).unwrap() * &r).sum();
        // |a − b| ≤ 1e-8 + 1e-6·|b| for every gradient of a 12-layer network in f64.
        let mut probe = net.clone();
        let fd = fd_grad(&x, |xp| loss(&mut probe, xp));
        assert_close(&dx, &fd, 1e-8, 1e-6, "network dx");
        let names: Vec<String> = net.named_params().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"layers.2.layers.0.weight".to_string()));
        assert!(names.contains(&"layers.5.q.weight".to_string()));
        assert!(names.contains(&"layers.4.spatial.weight".to_string()));
        for (k, name) in names.iter().enumerate() {
            let grad = net.named_params()[k].1.grad.clone();
            let value = net.named_params()[k].1.value.clone();
            let fd = fd_grad(&value, |v| {
                probe.params_mut()[k].value.assign(v);
                loss(&mut probe, &x)
            });
            probe.params_mut()[k].value.assign(&value);
            assert_close(&grad, &fd, 1e-8, 1e-6, name);
        }
        // The f32 network computes the same function: |a − b| ≤ 1e-5 + 1e-4·|b|.
        let mut net32 = net.cast::<f32>();
        let y32 = net32.forward(x.mapv(|v| v as f32)).unwrap();
        let y64 = net.forward(x.clone()).unwrap();
        assert_close(&y32.mapv(|v| v as f64), &y64, 1e-5, 1e-4, "f32 network");
    }

    fn build_err(text: &str, input: [usize; 3]) -> String {
        match NetworkFile::from_str("m.toml", text) {
            Err(e) => e.to_string(),
            Ok(f) => f.build::<f32>(input, 0).unwrap_err().to_string(),
        }
    }

    #[test]
    fn shape_errors_name_the_layer_and_both_shapes() {
        let e = build_err("[[layers]]\nkind = \"relu\"\n[[layers]]\nkind = \"linear\"\nout_features = 3\n", [2, 4, 4]);
        assert_eq!(
            e,
            "m.toml:3:1: layers[1]: linear: needs a vector input [F], got a feature map [2, 4, 4]; add a `flatten`, `spp` or `global_avg_pool` layer before it"
        );
        let e =
            build_err("[[layers]]\nkind = \"conv2d\"\nout_channels = 1\nkernel_size = 3\ndilation = 3\n", [1, 6, 9]);
        assert!(
            e.starts_with(
                "m.toml:1:1: layers[0]: conv2d: input [1, 6, 9] is too small for kernel_size 3 with dilation 3"
            ),
            "{e}"
        );
        let e = build_err("[[layers]]\nkind = \"attention\"\nheads = 3\n", [4, 2, 2]);
        assert!(
            e.contains("layers[0]: attention: heads = 3 must divide the input channels C = 4 of input [4, 2, 2]"),
            "{e}"
        );
        let e =
            build_err("[[layers]]\nkind = \"residual\"\n[[layers.layers]]\nkind = \"global_avg_pool\"\n", [4, 2, 2]);
        assert!(e.contains("residual: the inner layers map input [4, 2, 2] to [4]"), "{e}");
    }

    #[test]
    fn limits_are_checked_at_build() {
        let nested = |d: usize| {
            format!(
                "layers = {}[{{kind = \"relu\"}}]{}\n",
                "[{kind = \"residual\", layers = ".repeat(d),
                "}]".repeat(d)
            )
        };
        let net = NetworkFile::from_str("m.toml", &nested(MAX_RESIDUAL_DEPTH)).unwrap().build::<f32>([1, 2, 2], 0);
        assert_eq!(net.unwrap().output, Shape::Map(1, 2, 2));
        let e = build_err(&nested(MAX_RESIDUAL_DEPTH + 1), [1, 2, 2]);
        assert!(e.contains("residual: residual blocks nest at most 16 deep"), "{e}");
        // The library API (no file) names the layer and the key too.
        let spec: NetworkSpec = toml::from_str("[[layers]]\nkind = \"cbam\"\nkernel_size = 65537\n").unwrap();
        let e = Network::<f32>::build(&spec, [2, 3, 3], 0).unwrap_err().to_string();
        assert_eq!(
            e,
            "layers[0].kernel_size: cbam: kernel_size = 65537 exceeds the limit 65536 (see docs/nn.md, Limits)"
        );
        let e = Network::<f32>::build(&spec, [2, 3, 1 << 17], 0).unwrap_err().to_string();
        assert!(e.starts_with("input shape [2, 3, 131072]: W = 131072 exceeds the limit 65536"), "{e}");
        // 2^13 × 2^13 = 2^26 values per sample is the largest input; 2^13 × (2^13 + 1) is over.
        assert!(check_input_shape([1, 1 << 13, 1 << 13]).is_ok());
        assert!(check_input_shape([1, 1 << 13, (1 << 13) + 1]).unwrap_err().contains("67117056 values per sample"));
        // A conv whose output per sample exceeds 2^26 values: 4097 channels of 128×128.
        let e = build_err("[[layers]]\nkind = \"conv2d\"\nout_channels = 4097\nkernel_size = 1\n", [1, 128, 128]);
        assert!(e.contains("conv2d: its output [4097, 128, 128] has 67125248 values"), "{e}");
    }

    #[test]
    fn bad_toml_is_a_located_one_line_error() {
        let e = build_err("[[layers]]\nkind = \"conv2d\"\nout_channel = 3\nkernel_size = 3\n", [1, 3, 3]);
        assert!(e.starts_with("m.toml:"), "{e}");
        assert!(e.contains("unknown field `out_channel`"), "{e}");
        assert!(e.contains("out_channels"), "{e}");
        let e = build_err("[[layers]]\nkind = \"convolution\"\n", [1, 3, 3]);
        assert!(e.contains("unknown variant `convolution`") && e.contains("conv2d"), "{e}");
        let e = build_err("[[layers]]\nkind = \"relu\"\nslope = 0.1\n", [1, 3, 3]);
        assert!(e.contains("unknown field `slope`"), "{e}");
        let e = build_err("[[layers]\nkind = 1\n", [1, 3, 3]);
        assert!(e.starts_with("m.toml:1:"), "{e}");
        assert!(!e.contains('\n'));
    }
}
