//! Support for the end-to-end tests: locating (and building, once) the workspace binaries,
//! and the reference data.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/data`, or a panic saying it is missing.
pub fn shared_data() -> PathBuf {
    let p = repo_root().join("../shared/data");
    assert!(
        p.is_dir(),
        "reference data not found at {}: the tests need ../shared beside the repository",
        p.display()
    );
    p
}

/// The directory of the test-only stage wrappers.
pub fn fixture_stage_dir() -> PathBuf {
    repo_root().join("tests/fixtures/stages")
}

fn target_debug_dir() -> PathBuf {
    // tests run from target/<profile>/deps/<test-binary>
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a workspace binary, built once per test process with `cargo build --bins`
/// (binaries of other packages are not built by `cargo test` on their own).
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile_dir = target_debug_dir();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = std::process::Command::new(cargo);
        cmd.current_dir(repo_root())
            .args(["build", "--quiet", "--workspace", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("cargo build --workspace --bins failed: {s}")),
            Err(e) => Err(format!("cannot run cargo: {e}")),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let p = target_debug_dir().join(name);
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// Copy a file, creating parent directories.
pub fn copy_into(src: &Path, dst: &Path) {
    if let Some(d) = dst.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::copy(src, dst)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
}
