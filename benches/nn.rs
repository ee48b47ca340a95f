//! `cargo bench --bench nn`: Conv2d forward+backward GFLOP/s and grid-backbone
//! training steps per second (batch 32, MSE loss, Adam).

use std::path::Path;
use std::time::Instant;

use ndarray::{Array1, Array4, ArrayD};
use rand::RngExt;
use rlkit::nn::conv::{conv2d_backward, conv2d_flops, conv2d_forward, Conv2dConfig};
use rlkit::nn::model::NetworkFile;
use rlkit::nn::optim::{Adam, Optimizer};

/// Median seconds of `reps` runs after one warm-up.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

fn main() {
    let mut rng = rlkit::util::rng_for(0, &[0xbe]);
    println!("threads: rayon {}", rayon::current_num_threads());
    println!("\n| conv2d (N=32, 16→32, 16×16, k=3, same padding) | fwd ms | bwd ms | fwd+bwd GFLOP/s |");
    println!("|---|---|---|---|");
    for d in [1usize, 2] {
        let x = Array4::from_shape_simple_fn((32, 16, 16, 16), || rng.random::<f32>() - 0.5);
        let w = Array4::from_shape_simple_fn((32, 16, 3, 3), || rng.random::<f32>() - 0.5);
        let b = Array1::from_shape_simple_fn(32, || rng.random::<f32>() - 0.5);
        let cfg = Conv2dConfig { stride: 1, padding: d, dilation: d };
        let y = conv2d_forward(x.view(), w.view(), Some(b.view()), &cfg);
        let dy = y.mapv(|v| v * 0.1);
        let tf = time(21, || {
            std::hint::black_box(conv2d_forward(x.view(), w.view(), Some(b.view()), &cfg));
        });
        let tb = time(21, || {
            std::hint::black_box(conv2d_backward(x.view(), w.view(), dy.view(), &cfg));
        });
        // Backward is two products of the forward's size (dx and dw).
        let fl = conv2d_flops(32, 16, 32, 3, 3, 16, 16) as f64;
        println!("| dilation {d} | {:.2} | {:.2} | {:.1} |", tf * 1e3, tb * 1e3, 3.0 * fl / (tf + tb) / 1e9);
    }

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/networks/grid_backbone.toml");
    let file = NetworkFile::load(&path).expect("grid_backbone.toml");
    println!("\n| grid_backbone training step (N=32, MSE, Adam) | ms/step | steps/s | fwd GFLOP/step |");
    println!("|---|---|---|---|");
    for hw in [8usize, 16] {
        let mut net = file.build::<f32>([4, hw, hw], 1).expect("build");
        let x =
            ArrayD::from_shape_simple_fn(vec![32, 4, hw, hw], || if rng.random::<f32>() < 0.25 { 1.0 } else { 0.0 });
        let target = ArrayD::from_shape_simple_fn(vec![32, 5], || rng.random::<f32>());
        let mut opt = Adam::new(1e-3);
        let t = time(11, || {
            net.zero_grad();
            let y = net.forward(x.clone()).unwrap();
            // MSE = mean((y − t)²); dL/dy = 2(y − t)/(N·5).
            let dy = (&y - &target) * (2.0 / y.len() as f32);
            net.backward(dy).unwrap();
            opt.step(&mut net.params_mut());
        });
        println!("| 4×{hw}×{hw} | {:.1} | {:.1} | {:.3} |", t * 1e3, 1.0 / t, net.flops() as f64 * 32.0 / 1e9);
    }
}
