//! Attention forward + backward, naive vs flash (FlashAttention-2 tiling):
//! wall time and peak extra heap memory, BH = 1, d_head = 64.
//!
//! Run: `cargo bench --bench attention`.
//!
//! Memory is measured with a counting global allocator: the peak of live
//! heap bytes during forward + backward, minus the live bytes before (the
//! inputs Q, K, V, dO). It therefore includes the outputs O, L, dQ, dK, dV.
//! Naive is skipped where its two N×N matrices would exceed 3 GiB.
//! The flash kernels' GEMMs (faer) keep a packing workspace per thread,
//! allocated on the thread's first GEMM and never freed (8 MiB on the
//! benchmark machine): the first size's flash peak includes it. (An untimed
//! warm-up call would exclude it, but it left glibc's heap trimming and
//! regrowing on every call, ≈ 20 page faults and +10 % at N 256, so the
//! bench does without.)
//!
//! Below each size whose P fits `KEEP_P_MAX_BYTES`, a line times the
//! kept-P pair (`kept_attention_forward`/`kept_attention_backward`: stored
//! probabilities, 12·N²·d FLOPs), which the attention layer runs there.
//!
//! Tuning knobs: `ATTN_SIZES=256,1024`, `FLASH_BLOCK_Q`, `FLASH_BLOCK_K`,
//! `FLASH_ONLY=1` (skip naive), `ATTN_SPLIT=1` (also print the flash
//! forward's and backward's best times separately).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::Array3;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlkit::nn::attention::{
    flash_attention_backward, flash_attention_forward, kept_attention_backward, kept_attention_forward,
    naive_attention_backward, naive_attention_forward, FlashConfig, KEEP_P_MAX_BYTES,
};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Grads = (Array3<f32>, Array3<f32>, Array3<f32>);

/// Runs `f` `reps` times; returns (best seconds, peak extra bytes, last result).
fn measure(reps: usize, mut f: impl FnMut() -> Grads) -> (f64, usize, Grads) {
    let mut best = f64::INFINITY;
    let mut peak = 0;
    let mut out = None;
    for _ in 0..reps {
        drop(out.take());
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
        out = Some(r);
    }
    (best, peak, out.expect("reps ≥ 1"))
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let d = 64;
    let scale = 1.0 / (d as f32).sqrt();
    // Tile sizes can be overridden for tuning: FLASH_BLOCK_Q=128 FLASH_BLOCK_K=64.
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let def = FlashConfig::default();
    let cfg =
        FlashConfig { block_q: env("FLASH_BLOCK_Q", def.block_q), block_k: env("FLASH_BLOCK_K", def.block_k), ..def };
    // FLASH_ONLY=1 skips the naive kernel (quick tuning runs).
    let flash_only = env("FLASH_ONLY", 0) == 1;
    println!(
        "attention fwd+bwd, BH = 1, d_head = {d}, flash tiles {}x{}, not causal, rayon threads = {}",
        cfg.block_q,
        cfg.block_k,
        rayon::current_num_threads()
    );
    println!(
        "{:>6} | {:>12} | {:>12} | {:>7} | {:>14} | {:>14} | {:>10}",
        "N", "naive ms", "flash ms", "speedup", "naive peak MiB", "flash peak MiB", "max |dq-dq|"
    );
    let sizes: Vec<usize> = std::env::var("ATTN_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![256, 1024, 4096, 16384]);
    for &n in &sizes {
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let mut r = |_| rng.random_range(-1.0f32..1.0);
        let q = Array3::from_shape_fn((1, n, d), &mut r);
        let k = Array3::from_shape_fn((1, n, d), &mut r);
        let v = Array3::from_shape_fn((1, n, d), &mut r);
        let d_o = Array3::from_shape_fn((1, n, d), &mut r);
        let reps = match n {
            0..=256 => 20,
            257..=1024 => 5,
            1025..=4096 => 2,
            _ => 1,
        };
        let (tf, mf, gf) = measure(reps, || {
            let (o, l) = flash_attention_forward(q.view(), k.view(), v.view(), scale, &cfg);
            flash_attention_backward(q.view(), k.view(), v.view(), o.view(), l.view(), d_o.view(), scale, &cfg)
        });
        if std::env::var("ATTN_SPLIT").is_ok() {
            let mut bf = f64::INFINITY;
            let mut bb = f64::INFINITY;
            for _ in 0..reps * 10 {
                let t = Instant::now();
                let (o, l) = flash_attention_forward(q.view(), k.view(), v.view(), scale, &cfg);
                bf = bf.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let g =
                    flash_attention_backward(q.view(), k.view(), v.view(), o.view(), l.view(), d_o.view(), scale, &cfg);
                bb = bb.min(t.elapsed().as_secs_f64());
                drop(g);
            }
            println!("{n:>6} | flash forward {:.3} ms, backward {:.3} ms (best of {})", bf * 1e3, bb * 1e3, reps * 10);
        }
        // The kept-P pair (stored probabilities, 12·N²·d FLOPs): what the attention
        // layer runs while P fits KEEP_P_MAX_BYTES.
        if 4 * n * n <= KEEP_P_MAX_BYTES {
            let (tk, mk, gk) = measure(reps, || {
                let (o, _, p) = kept_attention_forward(q.view(), k.view(), v.view(), scale, &cfg);
                kept_attention_backward(q.view(), k.view(), v.view(), o.view(), &p, d_o.view(), scale)
            });
            let diff = (&gf.0 - &gk.0).iter().fold(0.0f32, |m, e| m.max(e.abs()));
            println!(
                "{n:>6} | kept P, the attention layer's path at this N: {:.3} ms ({:.0} GFLOP/s at 12·N²·d), peak {:.2} MiB, max |dq - dq_flash| {diff:.2e}",
                tk * 1e3,
                12.0 * (n * n * d) as f64 / tk / 1e9,
                mib(mk)
            );
        }
        let naive_bytes = 2 * n * n * 4;
        if naive_bytes > 3 << 30 || flash_only {
            println!(
                "{n:>6} | {:>12} | {:>12.2} | {:>7} | {:>14} | {:>14.2} | {:>10}",
                "skipped",
                tf * 1e3,
                "-",
                "skipped",
                mib(mf),
                "-"
            );
            continue;
        }
        let (tn, mn, gn) = measure(reps, || {
            let (o, l) = naive_attention_forward(q.view(), k.view(), v.view(), scale, &cfg);
            naive_attention_backward(q.view(), k.view(), v.view(), o.view(), l.view(), d_o.view(), scale, &cfg)
        });
        let diff = (&gf.0 - &gn.0).iter().fold(0.0f32, |m, e| m.max(e.abs()));
        println!(
            "{n:>6} | {:>12.2} | {:>12.2} | {:>6.2}x | {:>14.2} | {:>14.2} | {:>10.2e}",
            tn * 1e3,
            tf * 1e3,
            tn / tf,
            mib(mn),
            mib(mf),
            diff
        );
    }
}
