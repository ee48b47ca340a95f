//! Embed the git commit (when built from a git checkout) as `RLKIT_GIT_COMMIT`,
//! for `provenance.json`. Outside a checkout, or without git, nothing is set.
//!
//! Also generate `$OUT_DIR/env_library.rs`: the shipped `envs/*.toml` files,
//! embedded with `include_str!`, so that `env.path = "zhao_5x5"` works from any
//! directory (see `experiment::load::env_library`).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let o = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Write the env library table: `(name, text)` for every `envs/*.toml`, sorted by name.
fn env_library() {
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dir = root.join("envs");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("/// The shipped env library: (name, TOML text), sorted by name.\n");
    out.push_str("pub const ENV_LIBRARY: &[(&str, &str)] = &[\n");
    for n in &names {
        let file = dir.join(format!("{n}.toml"));
        println!("cargo:rerun-if-changed={}", file.display());
        out.push_str(&format!("    ({n:?}, include_str!({:?})),\n", file.display().to_string()));
    }
    out.push_str("];\n");
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("env_library.rs");
    std::fs::write(dest, out).expect("write env_library.rs");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    env_library();
    let Some(commit) = git(&["rev-parse", "HEAD"]) else { return };
    println!("cargo:rustc-env=RLKIT_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, and the branch it names (loose or packed).
    let watch = |p: &Path| {
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    };
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch(&Path::new(&dir).join("HEAD"));
    }
    if let (Some(common), Some(branch)) =
        (git(&["rev-parse", "--git-common-dir"]), git(&["rev-parse", "--symbolic-full-name", "HEAD"]))
    {
        watch(&Path::new(&common).join(&branch));
        watch(&Path::new(&common).join("packed-refs"));
    }
}
