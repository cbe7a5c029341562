//! The TOML configuration file (`config/leadgen.example.toml` documents
//! every key). Values here sit below flags and the environment.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::cli::SourceName;
use crate::error::Error;
use crate::output::Format;

/// The whole file. Unknown keys are an error: a misspelt key would
/// otherwise be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub discover: DiscoverFile,
    #[serde(default)]
    pub companies_house: ProviderFile,
    #[serde(default)]
    pub x: ProviderFile,
    #[serde(default)]
    pub linkedin: ProviderFile,
    #[serde(default)]
    pub facebook: ProviderFile,
    #[serde(default)]
    pub cache: CacheFile,
    #[serde(default)]
    pub register: RegisterFile,
    #[serde(default)]
    pub stream: StreamFile,
}

/// The `[stream]` section: following the streaming API (`leadgen stream`).
/// The streaming key comes only from the environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamFile {
    pub url: Option<String>,
    /// A stream lagging more than this keeps no cached answer fresh ("1h").
    pub max_lag: Option<String>,
    /// A connection silent (not even a heartbeat) this long is reopened.
    pub idle_timeout: Option<String>,
    /// How long a caught-up stream keeps its connection while another
    /// stream waits for one (four streams share two connections).
    pub rotate_after: Option<String>,
    /// Connections to hold at once: 1 or 2 (the service's limit per account).
    pub connections: Option<usize>,
}

/// The `[register]` section: the local copy of the register.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterFile {
    /// Age of the company snapshot past which leadgen warns ("40d").
    pub max_age: Option<String>,
    /// Age of the PSC snapshot past which leadgen warns ("7d").
    pub psc_max_age: Option<String>,
}

/// The `[cache]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheFile {
    pub dir: Option<PathBuf>,
    /// May hold a password.
    pub redis_url: Option<SecretString>,
    /// PEM of a private CA for a `rediss://` server.
    pub redis_ca_file: Option<PathBuf>,
    /// Memory tier size in MiB.
    pub memory_mib: Option<u64>,
    pub ttl_search: Option<String>,
    pub ttl_profile: Option<String>,
    pub ttl_officers: Option<String>,
    pub ttl_psc: Option<String>,
    pub ttl_social: Option<String>,
    pub ttl_not_found: Option<String>,
    /// The life of answers a followed stream keeps fresh ("30d").
    pub ttl_with_stream: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverFile {
    pub format: Option<Format>,
    pub concurrency: Option<usize>,
    pub include_resigned: Option<bool>,
    /// Keep only the executives whose seniority is `executive`.
    pub executives_only: Option<bool>,
    pub include_birth_month: Option<bool>,
    pub sources: Option<Vec<SourceName>>,
    /// JSON-lines audit of credential use.
    pub audit_log: Option<PathBuf>,
    pub min_confidence: Option<f64>,
    /// Name searches per name row on average over a batch.
    pub search_budget: Option<f64>,
    /// Name searches for one row at most.
    pub max_searches_per_row: Option<u32>,
}

/// Settings of one API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    pub url: Option<String>,
    /// Companies House only; social credentials come from the environment.
    pub api_key: Option<SecretString>,
    /// `LIMIT/WINDOW`, e.g. `600/5m`.
    pub rate_limit: Option<String>,
    /// e.g. `30s`.
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub max_attempts: Option<u32>,
    /// First backoff delay (full jitter, doubling per attempt) and its cap.
    pub backoff_base: Option<String>,
    pub backoff_max: Option<String>,
    /// Least wait after a 429 whose headers say nothing usable.
    pub rate_limited_wait: Option<String>,
    /// Longest wait for quota before a request is skipped as "quota spent"
    /// (social sources; Companies House always waits).
    pub max_quota_wait: Option<String>,
    /// Consecutive failed attempts that open the circuit breaker, and how
    /// long it stays open before one probe.
    pub breaker_threshold: Option<u32>,
    pub breaker_cooldown: Option<String>,
}

impl FileConfig {
    /// The section of `provider`.
    pub fn section(&self, provider: crate::gateway::Provider) -> &ProviderFile {
        use crate::gateway::Provider;
        match provider {
            Provider::CompaniesHouse => &self.companies_house,
            Provider::X => &self.x,
            Provider::LinkedIn => &self.linkedin,
            Provider::Facebook => &self.facebook,
        }
    }
}

/// The file in force and what it says.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    /// `None`: no file (defaults only).
    pub path: Option<PathBuf>,
    pub file: FileConfig,
}

/// `<config dir>/leadgen/config.toml` (e.g. `~/.config/leadgen/config.toml`).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "leadgen").map(|d| d.config_dir().join("config.toml"))
}

/// Load `explicit` (from `--config` / `LEADGEN_CONFIG`; it must exist), or
/// the default file if there is one.
pub fn load(explicit: Option<&Path>) -> Result<LoadedConfig, Error> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path().filter(|p| p.is_file()) {
            Some(p) => p,
            None => return Ok(LoadedConfig::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Usage(format!("config file {}: cannot read: {e}", path.display())))?;
    let file: FileConfig = toml::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })?;
    let redis_password =
        file.cache.redis_url.as_ref().is_some_and(|u| {
            url::Url::parse(u.expose_secret()).is_ok_and(|u| u.password().is_some())
        });
    if file.companies_house.api_key.is_some() || redis_password {
        warn_if_readable_by_others(&path);
    }
    Ok(LoadedConfig {
        path: Some(path),
        file,
    })
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "Config file holds an API key or Redis URL and is readable by other users; run chmod 600 on it."
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_documents_the_defaults() {
        let text = include_str!("../../config/leadgen.example.toml");
        let file: FileConfig = toml::from_str(text).expect("example parses");
        assert_eq!(file.discover.format, Some(Format::Csv));
        assert_eq!(
            file.discover.concurrency,
            Some(super::super::DEFAULT_CONCURRENCY)
        );
        assert_eq!(file.companies_house.rate_limit.as_deref(), Some("600/5m"));
        assert!(
            file.companies_house.api_key.is_none(),
            "the example holds no key"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[discover]\nconcurency = 4\n").unwrap();
        let e = load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("concurency"), "{e}");
        std::fs::write(&p, "[discover]\nformat = \"xml\"\n").unwrap();
        let e = load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = load(Some(&dir.path().join("missing.toml")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.toml") && e.contains("cannot read"),
            "{e}"
        );
    }

    #[test]
    fn a_key_in_the_file_is_a_secret() {
        let file: FileConfig =
            toml::from_str("[companies_house]\napi_key = \"abc-123\"\n").unwrap();
        let key = file.companies_house.api_key.as_ref().unwrap();
        assert_eq!(key.expose_secret(), "abc-123");
        assert!(!format!("{file:?}").contains("abc-123"));
    }
}
