//! Stamps the commit pipetop was built from into `--version` (`PIPETOP_COMMIT`): the short hash,
//! or "unknown commit" outside a git checkout (a source tarball).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|hash| format!("commit {}", hash.trim()))
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=PIPETOP_COMMIT={commit}");
    // A new commit changes HEAD (a checkout) or the branch it points at.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
