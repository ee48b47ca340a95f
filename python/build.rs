//! Embeds every `../envs/*.toml` in the extension, so that the shipped environments
//! (`rlkit/<stem>-v0`) load from any directory and a new env file needs no code.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let envs = root.join("..").join("envs");
    println!("cargo:rerun-if-changed={}", envs.display());
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&envs).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    let mut out = String::from("/// The shipped env files: (stem, TOML text), from `envs/*.toml`.\n");
    out.push_str("pub static SHIPPED_ENVS: &[(&str, &str)] = &[\n");
    for p in &files {
        println!("cargo:rerun-if-changed={}", p.display());
        let stem = p.file_stem().and_then(|s| s.to_str()).expect("UTF-8 env file name");
        let abs = p.canonicalize().expect("env file path");
        writeln!(out, "    ({stem:?}, include_str!({:?})),", abs.display().to_string()).expect("write");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("shipped_envs.rs");
    std::fs::write(dest, out).expect("write shipped_envs.rs");
}
