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
use super::model::{Layer, Network, NetworkFile};
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
    // Keep every derived size far from overflow: C·H·W at most 2^26 (64 M values per sample).
    if out.iter().any(|&d| d > 1 << 16) || out[0] * out[1] * out[2] > 1 << 26 {
        return Err(format!("`{s}`: C·H·W must be at most 67108864 and each of C, H, W at most 65536"));
    }
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
            let rows = gradcheck(&net32.cast::<f64>(), batch, max_entries, seed);
            println!("{:<32} {:>18} {:>8} {:>12}", "parameter", "shape", "checked", "worst rel");
            let mut worst = ("", 0.0f64);
            for r in &rows {
                println!("{:<32} {:>18} {:>8} {:>12.3e}", r.name, format!("{:?}", r.shape), r.checked, r.worst);
                if r.worst > worst.1 || r.worst.is_nan() {
                    worst = (&r.name, r.worst);
                }
            }
            println!("relative error = |analytic − numeric| / max(|analytic|, |numeric|, 1e-4); f64, central differences, h = 1e-5");
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
    let s = x.shape();
    let mut net = file.build::<f32>([s[1], s[2], s[3]], 0)?;
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
}

/// Compare backward against central differences (h = 1e-5) of
/// `L = Σ r ∘ net(x)` with seeded random `x` (batch `batch`) and `r`, for the
/// input and up to `max_entries` sampled entries of every parameter.
pub fn gradcheck(net: &Network<f64>, batch: usize, max_entries: usize, seed: u64) -> Vec<GradcheckRow> {
    let mut rng = crate::util::rng_for(seed, &[0x6c, 1]);
    let x = ArrayD::from_shape_simple_fn(net.input.batch_dims(batch), || rng.random::<f64>() * 2.0 - 1.0);
    let r = ArrayD::from_shape_simple_fn(net.output.batch_dims(batch), || rng.random::<f64>() * 2.0 - 1.0);
    let mut base = net.clone();
    base.zero_grad();
    base.forward(x.clone()).expect("shapes from the network itself");
    let dx = base.backward(r.clone()).expect("shapes from the network itself");
    let h = 1e-5;
    let loss = |n: &mut Network<f64>, x: &ArrayD<f64>| (n.forward(x.clone()).expect("own shapes") * &r).sum();
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-4);
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
    let mut worst = 0.0f64;
    let mut xp = x.clone();
    for &i in &idx {
        let orig = xp.as_slice().expect("fresh")[i];
        xp.as_slice_mut().expect("fresh")[i] = orig + h;
        let fp = loss(&mut probe, &xp);
        xp.as_slice_mut().expect("fresh")[i] = orig - h;
        let fm = loss(&mut probe, &xp);
        xp.as_slice_mut().expect("fresh")[i] = orig;
        worst = worst.max(rel(dx.as_slice().expect("fresh")[i], (fp - fm) / (2.0 * h)));
    }
    rows.push(GradcheckRow { name: "input".into(), shape: x.shape().to_vec(), checked: idx.len(), worst });
    let named: Vec<(String, Vec<usize>, ArrayD<f64>)> =
        base.named_params().into_iter().map(|(n, p)| (n, p.value.shape().to_vec(), p.grad.clone())).collect();
    for (k, (name, shape, grad)) in named.into_iter().enumerate() {
        let len = grad.len();
        let idx = pick(len);
        let mut worst = 0.0f64;
        for &i in &idx {
            let orig = probe.params_mut()[k].value.as_slice().expect("params are standard layout")[i];
            let set =
                |p: &mut Network<f64>, v: f64| p.params_mut()[k].value.as_slice_mut().expect("standard layout")[i] = v;
            set(&mut probe, orig + h);
            let fp = loss(&mut probe, &x);
            set(&mut probe, orig - h);
            let fm = loss(&mut probe, &x);
            set(&mut probe, orig);
            let g = grad.as_standard_layout()[ndarray::IxDyn(&unravel(i, &shape))];
            worst = worst.max(rel(g, (fp - fm) / (2.0 * h)));
        }
        rows.push(GradcheckRow { name, shape, checked: idx.len(), worst });
    }
    rows
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
        let rows = gradcheck(&net.cast::<f64>(), 2, 12, 3);
        assert_eq!(rows.len(), 1 + net.named_params().len());
        for r in rows {
            // f64 central differences, h = 1e-5: relative error (floor 1e-4) ≤ 1e-5.
            assert!(r.worst <= 1e-5, "{}: {}", r.name, r.worst);
            assert!(r.checked > 0);
        }
    }
}
