//! Integration tests of `rlkit nn …`, running the built binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::ArrayD;
use rlkit::nn::io::{read_tensors, write_tensors};
use rlkit::nn::model::NetworkFile;

fn rlkit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rlkit")).args(args).output().expect("run rlkit")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rlkit-nn-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn backbone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/networks/grid_backbone.toml")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_forward_backward_round_trip_matches_the_library() {
    let d = tmpdir("rt");
    let (w, x, y, g, dd) = (
        d.join("w.safetensors"),
        d.join("x.safetensors"),
        d.join("y.safetensors"),
        d.join("g.safetensors"),
        d.join("d.safetensors"),
    );
    let model = backbone();
    let out = rlkit(&["nn", "init", s(&model), "--input", "4,5,3", "--seed", "7", "-o", s(&w)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let input =
        ArrayD::from_shape_fn(vec![3, 4, 5, 3], |i| ((i[0] * 7 + i[1] * 5 + i[2] * 3 + i[3]) % 11) as f32 / 11.0 - 0.4);
    write_tensors(&x, &[("input".into(), input.clone())]).unwrap();
    let out = rlkit(&["nn", "forward", s(&model), "--weights", s(&w), "--input", s(&x), "-o", s(&y)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let output = read_tensors(&y).unwrap()["output"].clone();
    assert_eq!(output.shape(), &[3, 5]);

    // The library, built with the same seed, gives the same weights and outputs.
    let file = NetworkFile::load(&model).unwrap();
    let mut net = file.build::<f32>([4, 5, 3], 7).unwrap();
    let weights = read_tensors(&w).unwrap();
    assert_eq!(weights.len(), net.named_params().len());
    for (name, p) in net.named_params() {
        assert_eq!(weights[&name], p.value, "{name}");
    }
    assert_eq!(net.forward(input.clone()).unwrap(), output);

    let gy = ArrayD::from_shape_fn(vec![3, 5], |i| (i[0] as f32 - 1.0) * 0.3 + i[1] as f32 * 0.1);
    write_tensors(&g, &[("grad_output".into(), gy.clone())]).unwrap();
    let out = rlkit(&[
        "nn",
        "backward",
        s(&model),
        "--weights",
        s(&w),
        "--input",
        s(&x),
        "--grad-output",
        s(&g),
        "-o",
        s(&dd),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let grads = read_tensors(&dd).unwrap();
    let dx = net.backward(gy).unwrap();
    assert_eq!(grads["grad_input"], dx);
    for (name, p) in net.named_params() {
        assert_eq!(grads[&format!("grad.{name}")], p.grad, "{name}");
    }
    assert_eq!(grads.len(), 1 + net.named_params().len());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_model_file_is_exit_2_with_one_located_line() {
    let d = tmpdir("bad");
    let m = d.join("bad.toml");
    std::fs::write(&m, "[[layers]]\nkind = \"conv2d\"\nout_channels = 4\nkernel = 3\n").unwrap();
    let out = rlkit(&["nn", "summary", s(&m), "--input", "1,4,4"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: {}:4:1: layers[0].kernel: unknown field `kernel`", m.display())), "{err}");

    std::fs::write(&m, "[[layers]]\nkind = \"linear\"\nout_features = 4\n").unwrap();
    let out = rlkit(&["nn", "summary", s(&m), "--input", "1,4,4"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("layers[0]: linear: needs a vector input [F], got a feature map [1, 4, 4]"), "{err}");

    let out = rlkit(&["nn", "summary", s(&d.join("missing.toml"))]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn missing_or_misshapen_tensors_are_exit_2() {
    let d = tmpdir("missing");
    let model = backbone();
    let (w, x, y) = (d.join("w.safetensors"), d.join("x.safetensors"), d.join("y.safetensors"));
    assert!(rlkit(&["nn", "init", s(&model), "--input", "4,3,3", "-o", s(&w)]).status.success());
    // No tensor `input`.
    write_tensors(&x, &[("inputs".into(), ArrayD::zeros(vec![1, 4, 3, 3]))]).unwrap();
    let out = rlkit(&["nn", "forward", s(&model), "--weights", s(&w), "--input", s(&x), "-o", s(&y)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no tensor named `input`") && err.contains("inputs"), "{err}");
    assert_eq!(err.lines().count(), 1);
    // A weight file missing one parameter.
    let mut t = read_tensors(&w).unwrap();
    t.remove("layers.5.q.bias");
    let w2 = d.join("w2.safetensors");
    write_tensors(&w2, &t.into_iter().collect::<Vec<_>>()).unwrap();
    write_tensors(&x, &[("input".into(), ArrayD::zeros(vec![1, 4, 3, 3]))]).unwrap();
    let out = rlkit(&["nn", "forward", s(&model), "--weights", s(&w2), "--input", s(&x), "-o", s(&y)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing tensor `layers.5.q.bias`"));
    // Wrong channel count in the input: the first conv's weight no longer fits.
    write_tensors(&x, &[("input".into(), ArrayD::zeros(vec![1, 3, 3, 3]))]).unwrap();
    let out = rlkit(&["nn", "forward", s(&model), "--weights", s(&w), "--input", s(&x), "-o", s(&y)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("`layers.0.weight` has shape [16, 4, 3, 3], the network expects [16, 3, 3, 3]"));
    assert!(!y.exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn summary_and_gradcheck_run() {
    let out = rlkit(&["nn", "summary", s(&backbone()), "--input", "4,16,16"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("total: 13275 parameters"), "{text}");
    let out = rlkit(&["nn", "gradcheck", s(&backbone()), "--input", "4,2,3", "--max-entries", "8"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("layers.5.q.weight"));
}

/// Run rlkit under `ulimit -v 4000000` (about 3.8 GiB of address space), as the
/// issue's reproducers are judged: an allocation abort there is a failure.
fn rlkit_limited(args: &[&str]) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_rlkit"))
        .args(args)
        .output()
        .expect("run rlkit under ulimit")
}

/// Exit code 2 and exactly one line on stderr; returns the line.
fn one_line_exit_2(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// An F32 safetensors file holding one all-zero tensor `input` of `shape`.
fn zeros_input(path: &Path, shape: &[usize]) {
    write_tensors(path, &[("input".into(), ArrayD::zeros(shape.to_vec()))]).unwrap();
}

#[test]
fn huge_widths_and_spp_levels_are_located_limit_errors() {
    // Before the limits: 2^62 panicked with "capacity overflow", 2^30 aborted on
    // allocation, and spp levels [2^32] gave an output of shape [0].
    let d = tmpdir("widths");
    let m = d.join("m.toml");
    for (text, located) in [
        (
            "[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 4611686018427387904\n",
            ":5:1: layers[1].out_features: linear: out_features = 4611686018427387904 exceeds the limit 65536",
        ),
        (
            "[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 1073741824\n",
            ":5:1: layers[1].out_features: linear: out_features = 1073741824 exceeds the limit 65536",
        ),
        (
            "[[layers]]\nkind = \"conv2d\"\nkernel_size = 3\nout_channels = 4611686018427387904\n",
            ":4:1: layers[0].out_channels: conv2d: out_channels = 4611686018427387904 exceeds the limit 65536",
        ),
        (
            "[[layers]]\nkind = \"spp\"\nlevels = [4294967296]\n",
            ":3:1: layers[0].levels: spp: levels = 4294967296 exceeds the limit 256",
        ),
    ] {
        std::fs::write(&m, text).unwrap();
        let err = one_line_exit_2(&rlkit_limited(&["nn", "summary", s(&m), "--input", "4,8,8"]));
        assert!(err.starts_with(&format!("error: {}{located}", m.display())), "{err}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn parameters_over_the_memory_budget_are_refused_before_allocation() {
    let d = tmpdir("budget");
    let m = d.join("m.toml");
    // 64·128·128 = 2^20 features into 60 000 outputs: 6.3e10 weights, 469 GiB
    // with gradients, each width within its limit.
    std::fs::write(&m, "[[layers]]\nkind = \"flatten\"\n[[layers]]\nkind = \"linear\"\nout_features = 60000\n")
        .unwrap();
    let err = one_line_exit_2(&rlkit_limited(&["nn", "summary", s(&m), "--input", "64,128,128"]));
    assert!(
        err.starts_with(&format!("error: {}:3:1: layers[1]: linear: storing the parameters", m.display())),
        "{err}"
    );
    assert!(err.contains("468.8 GiB") && err.contains("--mem-budget"), "{err}");
    // grid_backbone's parameters up to its attention layer (layers[5]):
    // 592 + 4 640 + 390 + 4 288 = 9 910, 79 280 bytes = 77.4 KiB as f32 values
    // and gradients, the first layer over a 64 KiB budget; all of it fits 1 MiB.
    let out = rlkit(&["--mem-budget", "64k", "nn", "summary", s(&backbone()), "--input", "4,4,4"]);
    let err = one_line_exit_2(&out);
    assert!(
        err.starts_with(&format!("error: {}:36:1: layers[5]: attention: storing the parameters", backbone().display())),
        "{err}"
    );
    assert!(err.contains("77.4 KiB but the memory budget is 64.0 KiB"), "{err}");
    assert!(rlkit(&["--mem-budget", "1M", "nn", "summary", s(&backbone()), "--input", "4,4,4"]).status.success());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn forward_input_shapes_are_capped_and_name_the_input_file() {
    let d = tmpdir("fwdcap");
    let (w, x, y) = (d.join("w.safetensors"), d.join("x.safetensors"), d.join("y.safetensors"));
    let model = backbone();
    assert!(rlkit(&["nn", "init", s(&model), "--input", "4,3,3", "-o", s(&w)]).status.success());
    let fwd = || rlkit_limited(&["nn", "forward", s(&model), "--weights", s(&w), "--input", s(&x), "-o", s(&y)]);
    // [1, 1, 1, 2^24] with one-channel weights: the network used to be sized
    // from it (256 GB for attention; an allocation abort under the ulimit).
    let w1 = d.join("w1.safetensors");
    assert!(rlkit(&["nn", "init", s(&model), "--input", "1,3,3", "-o", s(&w1)]).status.success());
    zeros_input(&x, &[1, 1, 1, 1 << 24]);
    let err = one_line_exit_2(&rlkit_limited(&[
        "nn",
        "forward",
        s(&model),
        "--weights",
        s(&w1),
        "--input",
        s(&x),
        "-o",
        s(&y),
    ]));
    assert!(
        err.starts_with(&format!(
            "error: {}: tensor `input` has shape [1, 1, 1, 16777216]: input shape [1, 1, 16777216]: W = 16777216 exceeds the limit 65536",
            x.display()
        )),
        "{err}"
    );
    // [1, 4, 1, 100000]: over 30 s of quadratic attention before.
    zeros_input(&x, &[1, 4, 1, 100_000]);
    let err = one_line_exit_2(&fwd());
    assert!(err.contains("W = 100000 exceeds the limit 65536"), "{err}");
    // Within the side limit, 5000 cells are over the attention limit of 4096:
    // located at the attention layer of the model, naming the input file.
    zeros_input(&x, &[1, 4, 1, 5000]);
    let err = one_line_exit_2(&fwd());
    assert!(err.starts_with(&format!("error: {}:36:1: layers[5]: attention: input [32, 1, 5000] has H·W = 5000 cells; attention attends over at most 4096 cells", model.display())), "{err}");
    assert!(err.contains(&format!("comes from tensor `input` of {}", x.display())), "{err}");
    // A batch whose activations exceed the budget is refused before running.
    zeros_input(&x, &[64, 4, 32, 32]);
    let out =
        rlkit(&["--mem-budget", "32M", "nn", "forward", s(&model), "--weights", s(&w), "--input", s(&x), "-o", s(&y)]);
    let err = one_line_exit_2(&out);
    assert!(
        err.starts_with(&format!("error: {}: running the network on a batch of 64 input(s) [4, 32, 32]", x.display())),
        "{err}"
    );
    assert!(!y.exists());
    // 4096 cells run.
    zeros_input(&x, &[1, 4, 64, 64]);
    assert!(fwd().status.success());
    assert_eq!(read_tensors(&y).unwrap()["output"].shape(), &[1, 5]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn gradcheck_reports_kinks_instead_of_failing_and_bounds_the_batch() {
    // Used to fail with relative error 0.54: one ReLU input 1.8e-7 from zero.
    let out = rlkit(&["nn", "gradcheck", s(&backbone()), "--input", "4,9,11", "--seed", "0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("entries at a kink"), "{text}");
    assert!(text.contains("ok: all relative errors ≤ 1e-4"), "{text}");
    // A batch of 10^8 used to abort on allocation.
    let err = one_line_exit_2(&rlkit_limited(&[
        "nn",
        "gradcheck",
        s(&backbone()),
        "--input",
        "4,9,11",
        "--batch",
        "100000000",
    ]));
    assert!(
        err.starts_with("error: --batch 100000000: running the network on a batch of 100000000 input(s) [4, 9, 11]")
            && err.contains("--mem-budget"),
        "{err}"
    );
}
