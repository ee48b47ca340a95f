//! `rlkit nn …`: inspect, initialise, run and check networks from the command line.
//!
//! ```text
//! rlkit nn summary configs/networks/grid_backbone.toml --input 4,8,8
//! rlkit nn init MODEL.toml --input 4,8,8 --seed 1 -o w.safetensors
//! rlkit nn forward MODEL.toml --weights w.safetensors --input x.safetensors -o y.safetensors
//! rlkit nn backward MODEL.toml --weights w.safetensors --input x.safetensors --grad-output g.safetensors -o d.safetensors
//! rlkit nn gradcheck MODEL.toml --input 4,5,5
//! ```

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use rand::RngExt;

use super::io::{read_tensors, take_tensor, write_tensors};
use super::model::{check_input_shape, Layer, Network, NetworkFile};
use crate::{Error, Result};

/// Parse `C,H,W`.
fn parse_chw(s: &str) -> std::result::Result<[usize; 3], String> {
    let parts: Vec<&str> = s.split(',').map(|p| p.trim()).collect();
    let bad = || format!("`{s}` is not C,H,W (three positive integers, e.g. 4,8,8)");
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut out = [0usize; 3];
    for (o, p) in out.iter_mut().zip(&parts) {
        *o = p.parse().map_err(|_| bad())?;
        if *o == 0 {
            return Err(bad());
        }
    }
    // Keep every derived size far from overflow (docs/nn.md, Limits).
    super::model::check_input_shape(out).map_err(|m| format!("`{s}`: {m}"))?;
    Ok(out)
}

/// The `rlkit nn` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum NnCommand {
    /// Print a table of layers, output shapes, parameter counts and FLOPs.
    Summary {
        /// Network TOML file.
        model: PathBuf,
        /// Input shape C,H,W (default: the file's `input`).
        #[arg(long, value_parser = parse_chw)]
        input: Option<[usize; 3]>,
    },
    /// Write seeded initial weights as safetensors.
    Init {
        /// Network TOML file.
        model: PathBuf,
        /// Input shape C,H,W (default: the file's `input`).
        #[arg(long, value_parser = parse_chw)]
        input: Option<[usize; 3]>,
        /// Seed of the initialisation.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output safetensors file.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Read tensor `input` [N, C, H, W], write tensor `output`.
    Forward {
        /// Network TOML file.
        model: PathBuf,
        /// Weights (safetensors, names `layers.<i>.<param>`).
        #[arg(long)]
        weights: PathBuf,
        /// Safetensors file holding `input`.
        #[arg(long)]
        input: PathBuf,
        /// Output safetensors file (tensor `output`).
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Vector–Jacobian product: read `input` and `grad_output`, write
    /// `grad_input` and `grad.<param name>` for every parameter.
    Backward {
        /// Network TOML file.
        model: PathBuf,
        /// Weights (safetensors).
        #[arg(long)]
        weights: PathBuf,
        /// Safetensors file holding `input`.
        #[arg(long)]
        input: PathBuf,
        /// Safetensors file holding `grad_output` (shape of the output).
        #[arg(long)]
        grad_output: PathBuf,
        /// Output safetensors file.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Finite-difference check of the whole network in f64; prints the worst
    /// relative error per parameter.
    Gradcheck {
        /// Network TOML file.
        model: PathBuf,
        /// Input shape C,H,W (default: the file's `input`).
        #[arg(long, value_parser = parse_chw)]
        input: Option<[usize; 3]>,
        /// Weights to check at (default: a seeded initialisation).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Seed for the initialisation, the input and the output projection.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Batch size of the random input.
        #[arg(long, default_value_t = 2)]
        batch: usize,
        /// Entries checked per parameter at most (sampled with the seed).
        #[arg(long, default_value_t = 64)]
        max_entries: usize,
        /// Fail (exit 1) if any relative error exceeds this.
        #[arg(long, default_value_t = 1e-4)]
        tol: f64,
    },
}

/// Run one `rlkit nn` subcommand.
pub fn run(cmd: NnCommand) -> Result<()> {
    match cmd {
        NnCommand::Summary { model, input } => {
            let file = NetworkFile::load(&model)?;
            let net = file.build::<f32>(file.input_shape(input)?, 0)?;
            print!("{}", summary_table(&net));
            Ok(())
        }
        NnCommand::Init { model, input, seed, out } => {
            let file = NetworkFile::load(&model)?;
            let net = file.build::<f32>(file.input_shape(input)?, seed)?;
            let tensors: Vec<(String, ArrayD<f32>)> =
                net.named_params().into_iter().map(|(n, p)| (n, p.value.clone())).collect();
            write_tensors(&out, &tensors)?;
            eprintln!("wrote {} tensors ({} parameters) to {}", tensors.len(), net.num_params(), out.display());
            Ok(())
        }
        NnCommand::Forward { model, weights, input, out } => {
            let (mut net, x) = load_net_and_input(&model, &weights, &input)?;
            let y = net.forward(x).map_err(|e| in_file(&input, e))?;
            write_tensors(&out, &[("output".to_string(), y)])
        }
        NnCommand::Backward { model, weights, input, grad_output, out } => {
            let (mut net, x) = load_net_and_input(&model, &weights, &input)?;
            let mut g = read_tensors(&grad_output)?;
            let dy = take_tensor(&mut g, "grad_output", &grad_output)?;
            net.forward(x).map_err(|e| in_file(&input, e))?;
            let dx = net.backward(dy).map_err(|e| in_file(&grad_output, e))?;
            let mut tensors = vec![("grad_input".to_string(), dx)];
            tensors.extend(net.named_params().into_iter().map(|(n, p)| (format!("grad.{n}"), p.grad.clone())));
            write_tensors(&out, &tensors)
        }
        NnCommand::Gradcheck { model, input, weights, seed, batch, max_entries, tol } => {
            let file = NetworkFile::load(&model)?;
            let shape = file.input_shape(input)?;
            let mut net32 = file.build::<f32>(shape, seed)?;
            if let Some(w) = &weights {
                net32.load_state(&read_tensors(w)?, &w.display().to_string())?;
            }
            if batch == 0 || max_entries == 0 {
                return Err(Error::input("--batch and --max-entries must be at least 1"));
            }
            if !(tol.is_finite() && tol > 0.0) {
                return Err(Error::input(format!("--tol {tol}: must be a finite number > 0")));
            }
            let net64 = net32.cast::<f64>();
            net64.check_batch(batch).map_err(|e| match e {
                Error::Input(m) => Error::input(format!("--batch {batch}: {m}")),
                other => other,
            })?;
            let rows = gradcheck(&net64, batch, max_entries, seed)?;
            println!("{:<32} {:>18} {:>8} {:>12} {:>6}", "parameter", "shape", "checked", "worst rel", "kinks");
            let mut worst = ("", 0.0f64);
            for r in &rows {
                println!(
                    "{:<32} {:>18} {:>8} {:>12.3e} {:>6}",
                    r.name,
                    format!("{:?}", r.shape),
                    r.checked,
                    r.worst,
                    r.kinks
                );
                if r.worst > worst.1 || r.worst.is_nan() {
                    worst = (&r.name, r.worst);
                }
            }
            println!("relative error = |analytic − numeric| / max(|analytic|, |numeric|, 1e-4); f64, central differences, h = 1e-5");
            let kinks: usize = rows.iter().map(|r| r.kinks).sum();
            if kinks > 0 {
                println!("{kinks} entries at a kink (a ReLU input or max gap within the step): checked against one-sided differences");
            }
            if worst.1 > tol || worst.1.is_nan() {
                return Err(Error::internal(format!(
                    "gradcheck failed: worst relative error {:.3e} at `{}` exceeds --tol {tol:e}",
                    worst.1, worst.0
                )));
            }
            println!("ok: all relative errors ≤ {tol:e}");
            Ok(())
        }
    }
}

fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::Input(m) => Error::input(format!("{}: {m}", path.display())),
        other => other,
    }
}

fn load_net_and_input(model: &Path, weights: &Path, input: &Path) -> Result<(Network<f32>, ArrayD<f32>)> {
    let file = NetworkFile::load(model)?;
    let mut t = read_tensors(input)?;
    let x = take_tensor(&mut t, "input", input)?;
    if x.ndim() != 4 || x.shape().contains(&0) {
        return Err(Error::input(format!(
            "{}: tensor `input` has shape {:?}; expected [N, C, H, W] with every size ≥ 1",
            input.display(),
            x.shape()
        )));
    }
    let s = [x.shape()[1], x.shape()[2], x.shape()[3]];
    check_input_shape(s)
        .map_err(|m| Error::input(format!("{}: tensor `input` has shape {:?}: {m}", input.display(), x.shape())))?;
    let mut net = file.build::<f32>(s, 0).map_err(|e| match e {
        Error::Input(m) => {
            Error::input(format!("{m} (the input shape {s:?} comes from tensor `input` of {})", input.display()))
        }
        other => other,
    })?;
    net.check_batch(x.shape()[0]).map_err(|e| in_file(input, e))?;
    net.load_state(&read_tensors(weights)?, &weights.display().to_string())?;
    Ok((net, x))
}

/// A text table of the network: layer, output shape, parameters, FLOPs per sample.
pub fn summary_table<T: crate::nn::scalar::Real>(net: &Network<T>) -> String {
    let mut s = String::new();
    if let Some(n) = &net.name {
        s += &format!("network: {n}\n");
    }
    s += &format!("{:<8} {:<18} {:>16} {:>10} {:>14}\n", "layer", "kind", "output", "params", "FLOPs/sample");
    s += &format!("{:<8} {:<18} {:>16} {:>10} {:>14}\n", "", "input", net.input.to_string(), "", "");
    fn rows<T: crate::nn::scalar::Real>(layers: &[Layer<T>], prefix: &str, depth: usize, s: &mut String) {
        for (i, l) in layers.iter().enumerate() {
            let id = format!("{prefix}{i}");
            let kind = format!("{}{}", "  ".repeat(depth), l.kind_name);
            *s += &format!(
                "{:<8} {:<18} {:>16} {:>10} {:>14}\n",
                id,
                kind,
                l.out_shape.to_string(),
                l.num_params(),
                l.flops
            );
            rows(l.children(), &format!("{id}."), depth + 1, s);
        }
    }
    rows(&net.layers, "", 0, &mut s);
    s += &format!("total: {} parameters, {} FLOPs per sample (forward)\n", net.num_params(), net.flops());
    s
}

/// One row of [`gradcheck`].
#[derive(Debug, Clone)]
pub struct GradcheckRow {
    /// Parameter name, or `input`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Entries checked.
    pub checked: usize,
    /// Worst relative error `|a − n| / max(|a|, |n|, 1e-4)`: below 1e-4 in
    /// magnitude it is the absolute error over 1e-4, because finite differences
    /// cannot resolve the relative error of a (near-)zero gradient (for example
    /// the attention key bias, whose exact gradient is 0 since softmax ignores a
    /// shift shared by a whole row of scores).
    pub worst: f64,
    /// Entries found at a kink (see [`check_entry`]): checked against a
    /// one-sided difference instead of the central one.
    pub kinks: usize,
}

/// Step of the finite differences in [`gradcheck`].
pub const GRADCHECK_STEP: f64 = 1e-5;

/// `|a − b| / max(|a|, |b|, 1e-4)`.
pub fn rel_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-4)
}

/// The result of [`check_entry`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryCheck {
    /// Relative error ([`rel_error`]) of the analytic derivative.
    pub err: f64,
    /// True if the central difference straddles a kink (a ReLU input or a
    /// max gap within the step) and `err` is against a one-sided difference.
    pub at_kink: bool,
}

/// Check one analytic derivative `a` of `f` at `x0` with step `h`.
///
/// First the central difference `(f(x0+h) − f(x0−h)) / 2h`. If it disagrees
/// with `a` (relative error above 1e-6), the entry may sit within `h` of a
/// kink of a piecewise-smooth `f` (a ReLU pre-activation near 0, two nearly
/// equal maxima of a pool), where the central difference averages two slopes.
/// Then the second-order one-sided differences
/// `R = (−3f(x0) + 4f(x0+h) − f(x0+2h)) / 2h` and
/// `L = (3f(x0) − 4f(x0−h) + f(x0−2h)) / 2h` are computed: if they disagree
/// with each other (relative error above 1e-4, so `f` has a kink within the
/// step) and `a` is closer to one of them than to the central difference, the
/// entry is *at a kink* and its error is against that one-sided slope. On a
/// smooth stretch `R ≈ L ≈` the central difference, so a wrong gradient is
/// still reported.
///
/// ```
/// use rlkit::nn::cli::check_entry;
/// // f(t) = 3·max(t, 0) + t has slope 4 right of 0; at t = 1.8e-7 the central
/// // difference with h = 1e-5 gives ≈ 2.5.
/// let f = |t: f64| 3.0 * t.max(0.0) + t;
/// let c = check_entry(4.0, f, 1.8e-7, 1e-5);
/// assert!(c.at_kink && c.err < 1e-9);
/// // A wrong derivative is still caught.
/// assert!(check_entry(3.5, f, 1.8e-7, 1e-5).err > 0.1);
/// ```
pub fn check_entry(a: f64, mut f: impl FnMut(f64) -> f64, x0: f64, h: f64) -> EntryCheck {
    let (fp, fm) = (f(x0 + h), f(x0 - h));
    let central = rel_error(a, (fp - fm) / (2.0 * h));
    if central <= 1e-6 || central.is_nan() {
        return EntryCheck { err: central, at_kink: false };
    }
    let (f0, fp2, fm2) = (f(x0), f(x0 + 2.0 * h), f(x0 - 2.0 * h));
    let right = (-3.0 * f0 + 4.0 * fp - fp2) / (2.0 * h);
    let left = (3.0 * f0 - 4.0 * fm + fm2) / (2.0 * h);
    let one_sided = rel_error(a, right).min(rel_error(a, left));
    if rel_error(right, left) > 1e-4 && one_sided < central {
        EntryCheck { err: one_sided, at_kink: true }
    } else {
        EntryCheck { err: central, at_kink: false }
    }
}

/// Compare backward against finite differences (h = [`GRADCHECK_STEP`]) of
/// `L = Σ r ∘ net(x)` with seeded random `x` (batch `batch`) and `r`, for the
/// input and up to `max_entries` sampled entries of every parameter; entries
/// within a step of a kink are checked one-sided ([`check_entry`]).
/// Refuses a batch whose memory estimate exceeds the budget.
pub fn gradcheck(net: &Network<f64>, batch: usize, max_entries: usize, seed: u64) -> Result<Vec<GradcheckRow>> {
    gradcheck_impl(net, batch, max_entries, seed, &|g| g)
}

/// [`gradcheck`] with every analytic derivative passed through `tamper` (the
/// tests' way to plant a gradient bug).
fn gradcheck_impl(
    net: &Network<f64>,
    batch: usize,
    max_entries: usize,
    seed: u64,
    tamper: &dyn Fn(f64) -> f64,
) -> Result<Vec<GradcheckRow>> {
    net.check_batch(batch)?;
    let mut rng = crate::util::rng_for(seed, &[0x6c, 1]);
    let x = ArrayD::from_shape_simple_fn(net.input.batch_dims(batch), || rng.random::<f64>() * 2.0 - 1.0);
    let r = ArrayD::from_shape_simple_fn(net.output.batch_dims(batch), || rng.random::<f64>() * 2.0 - 1.0);
    let mut base = net.clone();
    base.zero_grad();
    base.forward(x.clone())?;
    let dx = base.backward(r.clone())?;
    let h = GRADCHECK_STEP;
    let loss = |n: &mut Network<f64>, x: &ArrayD<f64>| (n.forward(x.clone()).expect("checked batch") * &r).sum();
    let mut pick = |len: usize| -> Vec<usize> {
        if len <= max_entries {
            (0..len).collect()
        } else {
            (0..max_entries).map(|_| rng.random_range(0..len)).collect()
        }
    };
    let mut probe = net.clone();
    let mut rows = vec![];
    // The input.
    let idx = pick(x.len());
    let (mut worst, mut kinks) = (0.0f64, 0);
    let mut xp = x.clone();
    for &i in &idx {
        let orig = xp.as_slice().expect("fresh")[i];
        let c = check_entry(
            tamper(dx.as_slice().expect("fresh")[i]),
            |v| {
                xp.as_slice_mut().expect("fresh")[i] = v;
                loss(&mut probe, &xp)
            },
            orig,
            h,
        );
        xp.as_slice_mut().expect("fresh")[i] = orig;
        worst = worst.max(c.err);
        kinks += c.at_kink as usize;
    }
    rows.push(GradcheckRow { name: "input".into(), shape: x.shape().to_vec(), checked: idx.len(), worst, kinks });
    let named: Vec<(String, Vec<usize>, ArrayD<f64>)> =
        base.named_params().into_iter().map(|(n, p)| (n, p.value.shape().to_vec(), p.grad.clone())).collect();
    for (k, (name, shape, grad)) in named.into_iter().enumerate() {
        let len = grad.len();
        let idx = pick(len);
        let (mut worst, mut kinks) = (0.0f64, 0);
        for &i in &idx {
            let orig = probe.params_mut()[k].value.as_slice().expect("params are standard layout")[i];
            let set =
                |p: &mut Network<f64>, v: f64| p.params_mut()[k].value.as_slice_mut().expect("standard layout")[i] = v;
            let g = grad.as_standard_layout()[ndarray::IxDyn(&unravel(i, &shape))];
            let c = check_entry(
                tamper(g),
                |v| {
                    set(&mut probe, v);
                    loss(&mut probe, &x)
                },
                orig,
                h,
            );
            set(&mut probe, orig);
            worst = worst.max(c.err);
            kinks += c.at_kink as usize;
        }
        rows.push(GradcheckRow { name, shape, checked: idx.len(), worst, kinks });
    }
    Ok(rows)
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        idx[d] = i % n;
        i /= n;
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_chw_accepts_three_positive_integers() {
        assert_eq!(parse_chw("4,8, 8"), Ok([4, 8, 8]));
        assert!(parse_chw("4,8").is_err());
        assert!(parse_chw("4,0,8").unwrap_err().contains("C,H,W"));
        assert!(parse_chw("a,b,c").is_err());
    }

    #[test]
    fn grid_backbone_builds_for_any_size_and_passes_gradcheck() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/networks/grid_backbone.toml");
        let file = NetworkFile::load(&path).unwrap();
        for (h, w) in [(1, 1), (1, 7), (3, 2), (5, 5), (8, 8), (16, 16), (13, 31)] {
            let net = file.build::<f32>([4, h, w], 0).unwrap();
            assert_eq!(net.output.to_string(), "[5]", "{h}×{w}");
        }
        let net = file.build::<f32>([4, 3, 4], 3).unwrap();
        let rows = gradcheck(&net.cast::<f64>(), 2, 12, 3).unwrap();
        assert_eq!(rows.len(), 1 + net.named_params().len());
        for r in rows {
            // f64 central differences, h = 1e-5: relative error (floor 1e-4) ≤ 1e-5.
            assert!(r.worst <= 1e-5, "{}: {}", r.name, r.worst);
            assert!(r.checked > 0);
        }
    }

    #[test]
    fn check_entry_uses_one_sided_differences_only_at_a_kink() {
        // f(t) = 3·max(t, 0) + t: slope 4 right of 0, 1 left of it. At t0 = 1.8e-7
        // with h = 1e-5 the central difference is (5h + 3·t0)/(2h) = 2.527, a
        // relative error of 0.368 for the right slope 4.
        let f = |t: f64| 3.0 * t.max(0.0) + t;
        let central = (f(1.8e-7 + 1e-5) - f(1.8e-7 - 1e-5)) / 2e-5;
        assert!((central - 2.527).abs() < 1e-9, "{central}");
        let c = check_entry(4.0, f, 1.8e-7, 1e-5);
        assert!(c.at_kink);
        assert!(c.err < 1e-9, "{c:?}");
        // Left of the kink the left slope 1 is right.
        let c = check_entry(1.0, f, -1.8e-7, 1e-5);
        assert!(c.at_kink && c.err < 1e-9, "{c:?}");
        // A wrong slope at the kink: nearest one-sided slope 4, error 0.5/4.
        let c = check_entry(3.5, f, 1.8e-7, 1e-5);
        assert!((c.err - 0.125).abs() < 1e-9, "{c:?}");
        // Smooth: sin at 0.3; a 0.1% error is reported as is, not as a kink.
        let c = check_entry(0.3f64.cos() * 1.001, f64::sin, 0.3, 1e-5);
        assert!(!c.at_kink);
        assert!((c.err - 0.001 / 1.001).abs() < 1e-6, "{c:?}");
        assert!(check_entry(0.3f64.cos(), f64::sin, 0.3, 1e-5).err < 1e-9);
    }

    #[test]
    fn gradcheck_passes_at_kinks_and_still_catches_a_wrong_gradient() {
        // `rlkit nn gradcheck grid_backbone --input 4,9,11 --seed 0` used to fail
        // (relative error 0.54) because one ReLU input sat 1.8e-7 from zero.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/networks/grid_backbone.toml");
        let net = NetworkFile::load(&path).unwrap().build::<f32>([4, 9, 11], 0).unwrap().cast::<f64>();
        let rows = gradcheck(&net, 2, 64, 0).unwrap();
        assert!(rows.iter().map(|r| r.kinks).sum::<usize>() >= 1);
        for r in &rows {
            assert!(r.worst <= 1e-5, "{}: {}", r.name, r.worst);
        }
        // The same check with every analytic derivative off by 1% + 1e-3 fails
        // on every parameter, those with entries at a kink included.
        let rows = gradcheck_impl(&net, 2, 64, 0, &|g| g * 1.01 + 1e-3).unwrap();
        for r in &rows {
            assert!(r.worst > 5e-4, "{}: {}", r.name, r.worst);
        }
    }
}
