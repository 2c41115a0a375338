//! The `dinhdanh-server` binary as a process.

use std::path::{Path, PathBuf};

use crate::TestDb;

/// The server binary: `DINHDANH_SERVER_BIN`, else `target/<profile>/dinhdanh-server` next to
/// the running test's directory (`cargo test --workspace` builds it for the server's tests).
pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("DINHDANH_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join(format!("dinhdanh-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: build it first (cargo build -p dinhdanh-server, or run cargo test --workspace)",
        binary.display()
    );
    binary
}

/// The server binary `binary` with `--data-dir` and `DATABASE_URL` set for `db`.
pub fn server_command(binary: &Path, db: &TestDb) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .arg("--data-dir")
        .arg(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("DINHDANH_LOG", "warn")
        .env_remove("DINHDANH_PUBLIC_URL");
    command
}

/// The `dinhdanh-server` binary running `serve` on a free port.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub public_url: String,
    pub data_dir: PathBuf,
    /// What the server printed after its address (the demo citizen line, when there is one).
    pub banner: Vec<String>,
}

impl ServerProcess {
    /// Starts `binary` serving `db` (its directory is the data directory), with a synthetic
    /// registry of `seed` citizens.
    pub fn start(binary: &Path, db: &TestDb, seed: u32) -> Self {
        Self::start_logging(binary, db, seed, None)
    }

    /// As [`ServerProcess::start`], with the server's log (stderr) at `level` written to `log`
    /// when given.
    pub fn start_logging(
        binary: &Path,
        db: &TestDb,
        seed: u32,
        log: Option<(&str, &Path)>,
    ) -> Self {
        use std::io::BufRead;
        let mut command = server_command(binary, db);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DINHDANH_SEED_CITIZENS", seed.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if let Some((level, path)) = log {
            command
                .env("DINHDANH_LOG", level)
                .stderr(std::fs::File::create(path).unwrap());
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let line = lines
            .next()
            .expect("the server prints where it listens")
            .unwrap();
        let public_url = line
            .split("(public URL ")
            .nth(1)
            .unwrap()
            .trim_end_matches(')')
            .to_owned();
        let banner: Vec<String> = lines
            .next()
            .and_then(Result::ok)
            .filter(|l| l.starts_with("demo citizen"))
            .into_iter()
            .collect();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            public_url,
            data_dir: db.dir.path().to_owned(),
            banner,
        }
    }

    /// Sends SIGTERM and waits: the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
