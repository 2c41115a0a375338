//! The generated bindings, tested for real: `uniffi-bindgen` generates them from the built
//! library, and the journeys run through them against the library and a real server process.
//!
//! - Python: `tests/python/journey.py` (a keystore and a transport written in Python).
//!
//! The library, `uniffi-bindgen`, `dinhdanh-server` and `dinhdanh` must be built
//! (`scripts/test` runs `cargo build --workspace` first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// `target/<profile>`, from this test's executable (`target/<profile>/deps/bindings-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

fn built(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test does)",
        path.display()
    );
    path
}

fn library() -> PathBuf {
    built(&format!(
        "{}dinhdanh_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Generates the bindings for `language` into a new directory, with the library beside them.
fn generate(language: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(built("uniffi-bindgen"))
        .args(["generate", "--library"])
        .arg(library())
        .args(["--language", language, "--out-dir"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "uniffi-bindgen generate --language {language}"
    );
    std::fs::copy(library(), out.path().join(library().file_name().unwrap())).unwrap();
    out
}

#[test]
fn python_journey_through_the_generated_module() {
    let bindings = generate("python");
    assert!(bindings.path().join("dinhdanh_ffi.py").exists());
    let work = tempfile::tempdir().unwrap();
    // The interop venv (scripts/test) carries `cryptography`, which the Python keystore uses.
    let python = std::env::var("DINHDANH_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/journey.py"
        ))
        .env("PYTHONPATH", bindings.path())
        .env("DINHDANH_SERVER", built("dinhdanh-server"))
        .env("DINHDANH_CLI", built("dinhdanh"))
        .env("DINHDANH_WORK", work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "python journey failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("python journey: ok"));
}
