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
