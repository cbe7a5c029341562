//! Starting the fake API and running the binary against it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use leadgen_fakes::{FakeConfig, FakeServer, Stats};

pub const KEY: &str = "test-key-4f9c2a";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// A fake Companies House serving the bundled register, kept alive (with
/// its runtime) for as long as the value lives.
pub struct Fake {
    pub server: FakeServer,
    /// The cache directory of every run against this fake, so tests are
    /// hermetic: nothing is shared with the user's cache or another test.
    pub cache_dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl Fake {
    pub fn start() -> Fake {
        Fake::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut FakeConfig)) -> Fake {
        let mut config = FakeConfig::from_file(&fixture("fake-data/companies_house.json"), KEY)
            .expect("bundled fake data");
        config.quota_window = Duration::from_secs(300);
        config.quota_limit = 100_000;
        adjust(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(FakeServer::start(config))
            .expect("fake starts");
        // Private, as leadgen makes its own cache directory: a readable
        // one is warned about (see privacy.rs).
        let cache_dir = tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .expect("a temporary cache directory");
        Fake {
            server,
            cache_dir,
            _runtime: runtime,
        }
    }

    pub fn stats(&self) -> Stats {
        self.server.stats()
    }

    /// `leadgen` with the environment pointing at this fake.
    pub fn leadgen(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command())
    }

    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_leadgen"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LEADGEN_COMPANIES_HOUSE_URL", self.server.base_url())
            .env("COMPANIES_HOUSE_API_KEY", KEY)
            // The fake's quota is raised to match; tests are not about pacing.
            .env("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "100000/5m")
            .env("LEADGEN_X_RATE_LIMIT", "100000/5m")
            .env("LEADGEN_LINKEDIN_RATE_LIMIT", "100000/5m")
            .env("LEADGEN_FACEBOOK_RATE_LIMIT", "100000/5m")
            .env("LEADGEN_CACHE_DIR", self.cache_dir.path())
            .current_dir(root());
        cmd
    }
}

/// Parse JSON Lines output.
pub fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Write `text` to a temporary CSV file.
pub fn csv_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The rows of a synthetic register as input CSV, `n` of them.
pub fn synthetic_input(dir: &Path, register: &leadgen_fakes::companies_house::Register) -> PathBuf {
    let mut text = String::from("id,company_name\n");
    for (i, c) in register.companies().iter().enumerate() {
        text.push_str(&format!("{},\"{}\"\n", i + 1, c.name()));
    }
    csv_file(dir, "synthetic.csv", &text)
}

/// The files in `dir`, leaving out run locks (`.NAME.lock`, kept beside an
/// output on purpose).
pub fn files_in(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().ends_with(".lock"))
        .collect()
}

/// `leadgen discover -f jsonl --sources ch EXTRA INPUT` against `fake`,
/// which must finish (exit 0, or 3 for rows in error).
pub fn discover_jsonl(fake: &Fake, extra: &[&str], input: &Path) -> Output {
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl", "--sources", "ch"])
        .args(extra)
        .arg(input)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    out
}
