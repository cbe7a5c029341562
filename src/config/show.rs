//! `leadgen config show`: the effective configuration, key by key, with
//! where each value came from, and secrets masked.
//!
//! The origin of a key is found in precedence order: its environment
//! variable (for the keys that have one), then the loaded config file,
//! then the built-in default. (`config show` takes no flags of its own.)

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cache::{DEFAULT_MEMORY_BYTES, Ttl};
use crate::error::Error;
use crate::gateway::Provider;
use crate::gateway::settings::rate_limit_var;
use crate::sources::companies_house::DEFAULT_BASE_URL;
use crate::sources::{facebook, linkedin, x};

use super::file::LoadedConfig;
use super::{CACHE_DIR_VAR, COMPANIES_HOUSE_KEY_VAR, DEFAULT_CONCURRENCY, REDIS_URL_VAR};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(String),
    Env(String),
    File(PathBuf),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::File(path) => write!(f, "config {}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A secret shown only by its first and last 4 characters (`demo…cret`);
/// a value of 8 characters or fewer shows as `…`.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A URL with its password (if any) masked; an unparsable URL is masked whole.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => match u.password().map(mask) {
            Some(masked) => {
                // `set_password` would percent-encode the ellipsis.
                let plain = u.to_string();
                if u.set_password(Some("PASSWORD")).is_err() {
                    return mask(&plain);
                }
                u.to_string().replacen("PASSWORD", &masked, 1)
            }
            None => u.to_string(),
        },
        Err(_) => mask(raw),
    }
}

/// `30s`, `5m`, `24h`: the shortest exact form the parser reads back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms != 0 && ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms != 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

/// How a value is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secret {
    No,
    Whole,
    UrlPassword,
}

/// One key's effective value (already TOML-rendered), or `None` if unset.
pub struct Effective {
    pub key: &'static str,
    pub value: Option<String>,
    pub origin: Origin,
}

/// A string as TOML writes it.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Resolve one key: environment, then file, then default.
fn resolve(
    key: &'static str,
    var: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
    from_file: Option<&toml::Value>,
    path: Option<&PathBuf>,
    default: Option<String>,
    secret: Secret,
) -> Effective {
    let show_str = |s: &str| match secret {
        Secret::No => quoted(s),
        Secret::Whole => quoted(&mask(s)),
        Secret::UrlPassword => quoted(&mask_url_password(s)),
    };
    if let Some(var) = var
        && let Some(v) = env(var).filter(|v| !v.trim().is_empty())
    {
        return Effective {
            key,
            value: Some(show_str(v.trim())),
            origin: Origin::Env(var.to_string()),
        };
    }
    if let (Some(v), Some(path)) = (from_file, path) {
        let value = match v {
            toml::Value::String(s) => show_str(s),
            other if secret != Secret::No => quoted(&mask(&other.to_string())),
            other => other.to_string(),
        };
        return Effective {
            key,
            value: Some(value),
            origin: Origin::File(path.clone()),
        };
    }
    Effective {
        key,
        value: default,
        origin: Origin::Default,
    }
}

/// The effective configuration, section by section.
pub fn effective(
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, Vec<Effective>)>, Error> {
    // The typed file was validated by `file::load`; the raw table tells
    // which keys the file actually sets, with their values as written.
    let raw: toml::Table = match &config.path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Usage(format!("config file {}: cannot read: {e}", p.display()))
            })?;
            toml::from_str(&text)
                .map_err(|e| Error::Usage(format!("config file {}: {e}", p.display())))?
        }
        None => toml::Table::new(),
    };
    let path = config.path.as_ref();
    let in_file = |section: &str, key: &str| raw.get(section).and_then(|s| s.get(key));
    let get = |section: &'static str,
               key: &'static str,
               var: Option<&str>,
               default: Option<String>,
               secret: Secret| {
        resolve(key, var, env, in_file(section, key), path, default, secret)
    };

    let discover = vec![
        get("discover", "format", None, Some(quoted("csv")), Secret::No),
        get(
            "discover",
            "concurrency",
            None,
            Some(DEFAULT_CONCURRENCY.to_string()),
            Secret::No,
        ),
        get(
            "discover",
            "include_resigned",
            None,
            Some("false".into()),
            Secret::No,
        ),
        get(
            "discover",
            "include_birth_month",
            None,
            Some("false".into()),
            Secret::No,
        ),
        get(
            "discover",
            "sources",
            None,
            Some(r#"["ch", "x", "linkedin", "facebook"]"#.into()),
            Secret::No,
        ),
        get(
            "discover",
            "min_confidence",
            None,
            Some("0.0".into()),
            Secret::No,
        ),
        get(
            "discover",
            "search_budget",
            None,
            Some(crate::resolve::SearchBudget::AVERAGE.to_string()),
            Secret::No,
        ),
        get(
            "discover",
            "max_searches_per_row",
            None,
            Some(crate::resolve::SearchBudget::PER_ROW.to_string()),
            Secret::No,
        ),
    ];
    let mut sections = vec![("discover", discover)];

    for (provider, default_url) in [
        (Provider::CompaniesHouse, DEFAULT_BASE_URL),
        (Provider::X, x::DEFAULT_BASE_URL),
        (Provider::LinkedIn, linkedin::DEFAULT_BASE_URL),
        (Provider::Facebook, facebook::DEFAULT_BASE_URL),
    ] {
        let section = provider.key();
        let d = crate::sources::policy(provider).defaults();
        let url_var = format!("LEADGEN_{}_URL", section.to_ascii_uppercase());
        let rate_var = rate_limit_var(provider);
        let dur = |d: Duration| Some(quoted(&format_duration(d)));
        let mut keys = vec![get(
            section,
            "url",
            Some(&url_var),
            Some(quoted(default_url)),
            Secret::No,
        )];
        if provider == Provider::CompaniesHouse {
            keys.push(get(
                section,
                "api_key",
                Some(COMPANIES_HOUSE_KEY_VAR),
                None,
                Secret::Whole,
            ));
        }
        // X counts per endpoint unless a single limit is configured.
        let rate_default = d
            .endpoint_quotas
            .is_empty()
            .then(|| quoted(&d.quota.to_string()));
        keys.extend([
            get(
                section,
                "rate_limit",
                Some(&rate_var),
                rate_default,
                Secret::No,
            ),
            get(section, "timeout", None, dur(d.timeout), Secret::No),
            get(
                section,
                "connect_timeout",
                None,
                dur(d.connect_timeout),
                Secret::No,
            ),
            get(
                section,
                "max_attempts",
                None,
                Some(d.max_attempts.to_string()),
                Secret::No,
            ),
            get(
                section,
                "backoff_base",
                None,
                dur(d.backoff.base),
                Secret::No,
            ),
            get(section, "backoff_max", None, dur(d.backoff.max), Secret::No),
            get(
                section,
                "rate_limited_wait",
                None,
                dur(d.rate_limited_wait),
                Secret::No,
            ),
            get(
                section,
                "max_quota_wait",
                None,
                d.max_quota_wait.and_then(dur),
                Secret::No,
            ),
            get(
                section,
                "breaker_threshold",
                None,
                Some(d.breaker.threshold.to_string()),
                Secret::No,
            ),
            get(
                section,
                "breaker_cooldown",
                None,
                dur(d.breaker.cooldown),
                Secret::No,
            ),
        ]);
        sections.push((section, keys));
    }

    let ttl = Ttl::default();
    let dur = |d: Duration| Some(quoted(&format_duration(d)));
    let default_dir = directories::ProjectDirs::from("", "", "leadgen")
        .map(|d| quoted(&d.cache_dir().display().to_string()));
    sections.push((
        "cache",
        vec![
            get("cache", "dir", Some(CACHE_DIR_VAR), default_dir, Secret::No),
            get(
                "cache",
                "redis_url",
                Some(REDIS_URL_VAR),
                None,
                Secret::UrlPassword,
            ),
            get(
                "cache",
                "memory_mib",
                None,
                Some((DEFAULT_MEMORY_BYTES / (1024 * 1024)).to_string()),
                Secret::No,
            ),
            get("cache", "ttl_search", None, dur(ttl.search), Secret::No),
            get("cache", "ttl_profile", None, dur(ttl.profile), Secret::No),
            get("cache", "ttl_officers", None, dur(ttl.officers), Secret::No),
            get("cache", "ttl_psc", None, dur(ttl.psc), Secret::No),
            get("cache", "ttl_social", None, dur(ttl.social), Secret::No),
            get(
                "cache",
                "ttl_not_found",
                None,
                dur(ttl.not_found),
                Secret::No,
            ),
        ],
    ));
    Ok(sections)
}

/// The credentials of the social sources (environment only), masked, as
/// comment lines for their section.
fn social_credentials(provider: Provider, env: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    crate::sources::policy(provider)
        .credential_vars()
        .iter()
        .map(|var| match env(var).filter(|v| !v.trim().is_empty()) {
            Some(v) => format!("# {var} = {}  # from: env {var}", quoted(&mask(v.trim()))),
            None => format!("# {var}: unset"),
        })
        .collect()
}

/// The lines `leadgen config show` prints.
pub fn show(
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Error> {
    let mut lines = vec![match &config.path {
        Some(p) => format!("# config file: {}", p.display()),
        None => "# config file: none (built-in defaults)".to_string(),
    }];
    for (section, keys) in effective(config, env)? {
        lines.push(String::new());
        lines.push(format!("[{section}]"));
        for e in keys {
            lines.push(match e.value {
                Some(v) => format!("{} = {v}  # from: {}", e.key, e.origin),
                None => format!("# {} unset  # from: {}", e.key, e.origin),
            });
        }
        // The Companies House key is a key of its section; the social
        // credentials are environment-only and listed after theirs.
        let social = Provider::ALL
            .into_iter()
            .find(|p| p.key() == section && *p != Provider::CompaniesHouse);
        if let Some(provider) = social {
            lines.extend(social_credentials(provider, env));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_four_characters_each_side_at_most() {
        assert_eq!(mask("demo-key-not-secret"), "demo…cret");
        assert_eq!(mask("12345678"), "…");
        assert_eq!(mask("123456789"), "1234…6789");
        assert_eq!(mask(""), "…");
        assert_eq!(
            mask_url_password("redis://user:hunter2-long-pass@host:6379/0"),
            "redis://user:hunt…pass@host:6379/0"
        );
        assert_eq!(
            mask_url_password("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn durations_print_as_the_parser_reads_them() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(86400)), "24h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn env_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[companies_house]\nrate_limit = \"100/1m\"\nurl = \"http://file\"\napi_key = \"file-key-123456\"\n",
        )
        .unwrap();
        let config = super::super::file::load(Some(&p)).unwrap();
        let env = |k: &str| (k == "LEADGEN_COMPANIES_HOUSE_URL").then(|| "http://env".to_string());
        let text = show(&config, &env).unwrap().join("\n");
        assert!(
            text.contains(&format!(
                "rate_limit = \"100/1m\"  # from: config {}",
                p.display()
            )),
            "{text}"
        );
        assert!(
            text.contains("url = \"http://env\"  # from: env LEADGEN_COMPANIES_HOUSE_URL"),
            "{text}"
        );
        assert!(text.contains("api_key = \"file…3456\""), "{text}");
        assert!(!text.contains("file-key-123456"), "{text}");
        assert!(
            text.contains("timeout = \"30s\"  # from: default"),
            "{text}"
        );
    }
}
