//! The generated bindings, tested for real: `uniffi-bindgen` generates them from the built
//! library, and the journeys run through them against the library and a real server process.
//!
//! - Python: `tests/python/journey.py` (a keystore and a transport written in Python).
//! - Kotlin on the JVM: `tests/kotlin/Journey.kt` compiled with the generated bindings by
//!   `kotlinc` and run with `java` and JNA (a keystore on `java.security`, a transport on
//!   `HttpURLConnection`).
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

/// Runs a journey program with the server, the CLI and a scratch directory; it must print
/// `<language> journey: ok`.
fn run_journey(mut command: Command, language: &str, work: &Path) {
    let output = command
        .env("DINHDANH_SERVER", built("dinhdanh-server"))
        .env("DINHDANH_CLI", built("dinhdanh"))
        .env("DINHDANH_WORK", work)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{language} journey failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("{language} journey: ok")));
}

#[test]
fn python_journey_through_the_generated_module() {
    let bindings = generate("python");
    assert!(bindings.path().join("dinhdanh_ffi.py").exists());
    let work = tempfile::tempdir().unwrap();
    // The interop venv (scripts/test) carries `cryptography`, which the Python keystore uses.
    let python = std::env::var("DINHDANH_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/journey.py"
        ))
        .env("PYTHONPATH", bindings.path());
    run_journey(command, "python", work.path());
}

/// kotlinc from `DINHDANH_KOTLINC` (scripts/test unpacks the npm package `kotlin-compiler`), JNA
/// from `DINHDANH_JNA_JAR` (Debian `libjna-java`).
fn kotlin_tools() -> Option<(PathBuf, PathBuf)> {
    let kotlinc = std::env::var_os("DINHDANH_KOTLINC").map(PathBuf::from)?;
    let jna = std::env::var_os("DINHDANH_JNA_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/jna.jar"));
    Some((kotlinc, jna))
}

#[test]
fn kotlin_journey_on_the_jvm_through_the_generated_bindings() {
    let Some((kotlinc, jna)) = kotlin_tools() else {
        assert!(
            std::env::var_os("DINHDANH_REQUIRE_KOTLIN").is_none(),
            "DINHDANH_KOTLINC is not set but DINHDANH_REQUIRE_KOTLIN is"
        );
        eprintln!("SKIPPED: the Kotlin journey needs DINHDANH_KOTLINC (run ./scripts/test)");
        return;
    };
    let bindings = generate("kotlin");
    let jar = bindings.path().join("journey.jar");
    let generated = bindings
        .path()
        .join("uniffi")
        .join("dinhdanh_ffi")
        .join("dinhdanh_ffi.kt");
    let compiled = Command::new(&kotlinc)
        .arg(&generated)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kotlin/Journey.kt"
        ))
        .arg("-classpath")
        .arg(&jna)
        .args(["-include-runtime", "-nowarn", "-d"])
        .arg(&jar)
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "kotlinc failed:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let work = tempfile::tempdir().unwrap();
    let classpath = std::env::join_paths([jar.as_path(), jna.as_path()]).unwrap();
    let mut command = Command::new("java");
    command
        .arg(format!("-Djna.library.path={}", bindings.path().display()))
        .arg("-cp")
        .arg(classpath)
        .arg("JourneyKt");
    run_journey(command, "kotlin", work.path());
}
