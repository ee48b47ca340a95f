//! Embed the git commit (when built from a git checkout) as `RLKIT_GIT_COMMIT`,
//! for `provenance.json`. Outside a checkout, or without git, nothing is set.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let o = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
