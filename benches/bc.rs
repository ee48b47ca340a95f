//! `cargo bench --bench bc`: behaviour-cloning training throughput (cells per
//! second) of `grid_backbone` on 8×8 generated maps, batch 32, one core, and a
//! per-layer breakdown of one training step (data, forward and backward per
//! layer, head, optimizer).

use std::path::Path;
use std::time::Instant;

use ndarray::{Array2, ArrayD, Axis};
use rlkit::agents::bc::{self, BcConfig, BcModel, LabelledMap};
use rlkit::env::generate::{generate_maps, MapGenConfig};
use rlkit::nn::model::NetworkFile;
use rlkit::nn::optim::{Adam, Optimizer};

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/networks/grid_backbone.toml");
    let file = NetworkFile::load(&path).expect("grid_backbone.toml");
    let maps: Vec<LabelledMap> = generate_maps((8, 8), 16, &MapGenConfig::default(), 1)
        .expect("maps")
        .into_iter()
        .map(|g| LabelledMap::new(g).expect("label"))
        .collect();
    let cells: usize = maps.iter().map(|m| m.states().len()).sum();

    // 1. End to end: bc::train (shuffling, image building, forward, head, backward, Adam).
    let cfg = BcConfig { epochs: 1, batch_size: 32, ..BcConfig::default() };
    let _ = bc::train(&file, &cfg, &maps[..2], 0).expect("warm-up");
    let mut best = f64::INFINITY;
    for rep in 0..5 {
        let cfg = BcConfig { epochs: 3, ..cfg.clone() };
        let t = Instant::now();
        bc::train(&file, &cfg, &maps, rep).expect("train");
        best = best.min(t.elapsed().as_secs_f64());
    }
    let samples = 3 * cells;
    println!("behaviour cloning, grid_backbone, 8x8 maps, batch 32, softmax head, Adam, one core");
    println!(
        "  {samples} samples (3 epochs x {cells} cells) in {best:.3} s (best of 5): {:.0} samples/s, {:.1} steps/s",
        samples as f64 / best,
        (3 * cells.div_ceil(32)) as f64 / best
    );

    // 2. One batch of 32 through BcModel::train_step, timed alone.
    let mut model = BcModel::new(&file, &cfg, (8, 8), 0).expect("model");
    let states: Vec<usize> = maps[0].states().into_iter().take(32).collect();
    let x = maps[0].images(&states);
    let sets: Vec<&[usize]> = states.iter().map(|&s| maps[0].optimal[s].as_slice()).collect();
    let reps = 50;
    model.train_step(&x, &sets).expect("step");
    let t = Instant::now();
    for _ in 0..reps {
        model.train_step(&x, &sets).expect("step");
    }
    let step = t.elapsed().as_secs_f64() / reps as f64;
    println!("  train_step on a fixed batch: {:.2} ms/step, {:.0} samples/s", step * 1e3, 32.0 / step);

    // 3. Where a step goes: the same network run layer by layer.
    let mut net = file.build::<f32>([4, 8, 8], 0).expect("net");
    let mut opt = Adam::<f32>::new(3e-3);
    let names: Vec<&str> = net.layers.iter().map(|l| l.kind_name).collect();
    let nl = names.len();
    let (mut fwd, mut bwd) = (vec![0.0f64; nl], vec![0.0f64; nl]);
    let (mut data, mut head, mut optim) = (0.0f64, 0.0f64, 0.0f64);
    let labels: Vec<usize> = states.iter().map(|&s| maps[0].lowest_labels()[s]).collect();
    for _ in 0..reps {
        let t = Instant::now();
        let mut xb = ArrayD::<f32>::zeros(vec![states.len(), 4, 8, 8]);
        for (j, &s) in states.iter().enumerate() {
            xb.index_axis_mut(Axis(0), j).assign(&maps[0].grid.one_hot(s).into_dyn());
        }
        data += t.elapsed().as_secs_f64();
        net.zero_grad();
        let mut a = xb;
        for (i, l) in net.layers.iter_mut().enumerate() {
            let t = Instant::now();
            a = l.forward(a);
            fwd[i] += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        let z: Array2<f32> = a.into_dimensionality().expect("logits");
        let (_, dz) = rlkit::nn::loss::cross_entropy_forward_backward(z.view(), &labels).expect("ce");
        head += t.elapsed().as_secs_f64();
        let mut g = dz.into_dyn();
        for (i, l) in net.layers.iter_mut().enumerate().rev() {
            let t = Instant::now();
            g = l.backward(g);
            bwd[i] += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        opt.step(&mut net.params_mut());
        optim += t.elapsed().as_secs_f64();
    }
    let total: f64 = fwd.iter().sum::<f64>() + bwd.iter().sum::<f64>() + data + head + optim;
    println!("\n| part of one step (batch 32, 8x8) | forward ms | backward ms | share |");
    println!("|---|---|---|---|");
    let ms = |s: f64| s / reps as f64 * 1e3;
    println!("| data (one-hot images) | {:.3} | | {:.1}% |", ms(data), 100.0 * data / total);
    for i in 0..nl {
        println!(
            "| layers.{i} {} | {:.3} | {:.3} | {:.1}% |",
            names[i],
            ms(fwd[i]),
            ms(bwd[i]),
            100.0 * (fwd[i] + bwd[i]) / total
        );
    }
    println!("| softmax cross-entropy | {:.3} | | {:.1}% |", ms(head), 100.0 * head / total);
    println!("| Adam | {:.3} | | {:.1}% |", ms(optim), 100.0 * optim / total);
    println!("| total | {:.3} | | |", ms(total));
}
