//! Validated run settings, built from the parsed flags, the environment
//! and the config file, in that order of precedence, over the defaults.
//! Everything here is checked before any input is read or output written.

pub mod file;
pub mod show;

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::cache::{CacheMode, CacheSettings, DEFAULT_MEMORY_BYTES, Ttl};
use crate::cli::{CacheLocation, DiscoverArgs, SourceName};
use crate::error::Error;
use crate::gateway::quota::parse_duration;
use crate::gateway::{Provider, ProviderSettings, Quota, settings::rate_limit_var};
use crate::merge::MergeOptions;
use crate::output::Format;
use crate::sources::companies_house::DEFAULT_BASE_URL;
use crate::sources::social::CredentialsError;
use crate::sources::{facebook, linkedin, x};
use file::{CacheFile, LoadedConfig, ProviderFile};

/// Companies looked up at once unless configured.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The variable holding the Companies House key.
pub const COMPANIES_HOUSE_KEY_VAR: &str = "COMPANIES_HOUSE_API_KEY";

#[derive(Debug)]
pub struct DiscoverSettings {
    pub input: PathBuf,
    /// `None`: stdout.
    pub output: Option<PathBuf>,
    pub format: Format,
    pub merge: MergeOptions,
    pub concurrency: usize,
    pub companies_house_url: String,
    pub companies_house_key: SecretString,
    /// Quotas, timeouts and failure handling per provider.
    pub providers: HashMap<Provider, ProviderSettings>,
    pub social: SocialSettings,
    /// Executives scored below this are left out.
    pub min_confidence: f64,
    /// Name searches per name row on average over the batch, and at most
    /// for one row.
    pub search_budget: f64,
    pub max_searches_per_row: u32,
    pub cache: CacheSettings,
    /// Where credential use is audited; `None` when there is nowhere to put it.
    pub audit_log: Option<PathBuf>,
    /// Discard an interrupted run's progress instead of resuming it.
    pub restart: bool,
    /// Draw a progress bar on stderr (set by the binary when stderr is a
    /// terminal and `-q` is not given).
    pub progress: bool,
}

/// One optional source: where it is and how to authenticate, or why it is
/// not used this run.
#[derive(Debug, Clone)]
pub enum Optional<C> {
    Use {
        url: String,
        credentials: C,
    },
    /// Requested but not usable; the note goes into the run summary.
    Skip(String),
    /// Not requested with `--sources`.
    Off,
}

impl<C> Optional<C> {
    /// The base URL and credentials, when the source is in use.
    pub fn used(&self) -> Option<(&str, &C)> {
        match self {
            Optional::Use { url, credentials } => Some((url, credentials)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SocialSettings {
    pub x: Optional<x::Credentials>,
    pub linkedin: Optional<SecretString>,
    pub facebook: Optional<facebook::AppCredentials>,
}

impl SocialSettings {
    /// Notes on requested sources that are skipped, for the run summary.
    pub fn skipped(&self) -> Vec<&str> {
        fn note<C>(o: &Optional<C>) -> Option<&str> {
            match o {
                Optional::Skip(n) => Some(n),
                _ => None,
            }
        }
        [note(&self.x), note(&self.linkedin), note(&self.facebook)]
            .into_iter()
            .flatten()
            .collect()
    }
}

impl DiscoverSettings {
    /// `env` looks a variable up (the process environment, after `.env`).
    pub fn resolve(
        args: &DiscoverArgs,
        config: &LoadedConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DiscoverSettings, Error> {
        let file = &config.file;
        let in_file = |key: &str| match &config.path {
            Some(p) => format!("{key} in {}", p.display()),
            None => key.to_string(),
        };
        let concurrency = args
            .concurrency
            .or(file.discover.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err(Error::Usage("concurrency must be at least 1".into()));
        }
        let url = args
            .companies_house_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| file.companies_house.url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(Error::Usage(format!(
                    "Companies House URL (--companies-house-url, LEADGEN_COMPANIES_HOUSE_URL or {}): {url:?} is not an http(s) URL",
                    in_file("companies_house.url")
                )));
            }
        }
        let key = env(COMPANIES_HOUSE_KEY_VAR)
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(SecretString::from)
            .or_else(|| file.companies_house.api_key.clone())
            .ok_or(Error::MissingApiKey)?;
        let ch = provider_settings(
            Provider::CompaniesHouse,
            &file.companies_house,
            args.companies_house_rate_limit.as_deref(),
            &env,
            &in_file,
        )?;
        let sources = args
            .sources
            .clone()
            .or_else(|| file.discover.sources.clone())
            .unwrap_or_else(|| {
                vec![
                    SourceName::Ch,
                    SourceName::X,
                    SourceName::Linkedin,
                    SourceName::Facebook,
                ]
            });
        if !sources.contains(&SourceName::Ch) {
            return Err(Error::Usage(
                "--sources must include ch: Companies House finds the company and its officers"
                    .into(),
            ));
        }
        let min_confidence = args
            .min_confidence
            .or(file.discover.min_confidence)
            .unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_confidence) {
            return Err(Error::Usage(format!(
                "min confidence {min_confidence} is not between 0 and 1"
            )));
        }
        let search_budget = args
            .search_budget
            .or(file.discover.search_budget)
            .unwrap_or(crate::resolve::SearchBudget::AVERAGE);
        if !(search_budget >= 1.0 && search_budget.is_finite()) {
            return Err(Error::Usage(format!(
                "search budget {search_budget} is less than 1 search per name row"
            )));
        }
        let max_searches_per_row = args
            .max_searches_per_row
            .or(file.discover.max_searches_per_row)
            .unwrap_or(crate::resolve::SearchBudget::PER_ROW);
        if max_searches_per_row == 0 {
            return Err(Error::Usage(
                "max searches per row must be at least 1".into(),
            ));
        }
        let mut providers = HashMap::from([(Provider::CompaniesHouse, ch)]);
        let mut social_section = |name: SourceName,
                                  provider: Provider,
                                  section: &ProviderFile|
         -> Result<Option<String>, Error> {
            if !sources.contains(&name) {
                return Ok(None);
            }
            if section.api_key.is_some() {
                return Err(Error::Usage(format!(
                    "{}: {} credentials are read from the environment ({}), not the config file",
                    in_file(&format!("{}.api_key", provider.key())),
                    provider.label(),
                    crate::sources::policy(provider).credential_label()
                )));
            }
            providers.insert(
                provider,
                provider_settings(provider, section, None, &env, &in_file)?,
            );
            let var = format!("LEADGEN_{}_URL", provider.key().to_ascii_uppercase());
            Ok(Some(
                env(&var)
                    .filter(|v| !v.trim().is_empty())
                    .or_else(|| section.url.clone())
                    .unwrap_or_default(),
            ))
        };
        let x_url = social_section(SourceName::X, Provider::X, &file.x)?;
        let linkedin_url =
            social_section(SourceName::Linkedin, Provider::LinkedIn, &file.linkedin)?;
        let facebook_url =
            social_section(SourceName::Facebook, Provider::Facebook, &file.facebook)?;
        let social = SocialSettings {
            x: optional(
                Provider::X,
                x_url,
                x::DEFAULT_BASE_URL,
                x::Credentials::from_lookup(&env),
            )?,
            linkedin: optional(
                Provider::LinkedIn,
                linkedin_url,
                linkedin::DEFAULT_BASE_URL,
                Ok(linkedin::access_token_from_lookup(&env)),
            )?,
            facebook: optional(
                Provider::Facebook,
                facebook_url,
                facebook::DEFAULT_BASE_URL,
                facebook::AppCredentials::from_lookup(&env),
            )?,
        };
        let output = (args.output.as_os_str() != "-").then(|| args.output.clone());
        let mode = if args.no_cache {
            CacheMode::Off
        } else if args.refresh {
            CacheMode::Refresh
        } else {
            CacheMode::Normal
        };
        let cache = cache_settings(&args.cache, mode, config, &env)?;
        Ok(DiscoverSettings {
            input: args.input.clone(),
            output,
            format: args.format.or(file.discover.format).unwrap_or(Format::Csv),
            merge: MergeOptions {
                include_resigned: args.include_resigned
                    || file.discover.include_resigned.unwrap_or(false),
                include_birth: args.include_birth_month
                    || file.discover.include_birth_month.unwrap_or(false),
            },
            concurrency,
            companies_house_url: url,
            companies_house_key: key,
            providers,
            social,
            min_confidence,
            search_budget,
            max_searches_per_row,
            audit_log: args
                .audit_log
                .clone()
                .or_else(|| {
                    env("LEADGEN_AUDIT_LOG")
                        .filter(|v| !v.trim().is_empty())
                        .map(PathBuf::from)
                })
                .or_else(|| file.discover.audit_log.clone())
                .or_else(|| cache.dir.as_ref().map(|d| d.join("audit.jsonl"))),
            cache,
            restart: args.restart,
            progress: false,
        })
    }
}

/// A requested social source: used when it has credentials, else skipped
/// with a note saying what to set.
fn optional<C>(
    provider: Provider,
    url: Option<String>,
    default_url: &str,
    credentials: Result<Option<C>, CredentialsError>,
) -> Result<Optional<C>, Error> {
    let Some(url) = url else {
        return Ok(Optional::Off);
    };
    let url = if url.is_empty() {
        default_url.to_string()
    } else {
        url
    };
    if !matches!(url::Url::parse(&url), Ok(u) if matches!(u.scheme(), "http" | "https")) {
        return Err(Error::Usage(format!(
            "LEADGEN_{}_URL: {url:?} is not an http(s) URL",
            provider.key().to_ascii_uppercase()
        )));
    }
    Ok(match credentials {
        Ok(Some(credentials)) => Optional::Use { url, credentials },
        Ok(None) => Optional::Skip(format!(
            "{}: skipped, no credentials (set {})",
            provider.label(),
            crate::sources::policy(provider).credential_label()
        )),
        Err(e) => Optional::Skip(format!("{}: skipped, {e}", provider.label())),
    })
}

/// A provider's settings: defaults, then the file, then the environment,
/// then the flag.
pub(crate) fn provider_settings(
    provider: Provider,
    file: &ProviderFile,
    flag_rate_limit: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
    in_file: &impl Fn(&str) -> String,
) -> Result<ProviderSettings, Error> {
    let section = provider.key();
    let mut s = crate::sources::policy(provider).defaults();
    let duration = |key: &str, v: &str| {
        parse_duration(v)
            .map_err(|e| Error::Usage(format!("{}: {e}", in_file(&format!("{section}.{key}")))))
    };
    if let Some(v) = &file.timeout {
        s.timeout = duration("timeout", v)?;
    }
    if let Some(v) = &file.connect_timeout {
        s.connect_timeout = duration("connect_timeout", v)?;
    }
    if let Some(v) = &file.backoff_base {
        s.backoff.base = duration("backoff_base", v)?;
    }
    if let Some(v) = &file.backoff_max {
        s.backoff.max = duration("backoff_max", v)?;
    }
    if let Some(v) = &file.rate_limited_wait {
        s.rate_limited_wait = duration("rate_limited_wait", v)?;
    }
    if let Some(v) = &file.max_quota_wait {
        s.max_quota_wait = Some(duration("max_quota_wait", v)?);
    }
    if let Some(v) = &file.breaker_cooldown {
        s.breaker.cooldown = duration("breaker_cooldown", v)?;
    }
    let at_least_one = |key: &str, n: Option<u32>| match n {
        Some(0) => Err(Error::Usage(format!(
            "{}: must be at least 1",
            in_file(&format!("{section}.{key}"))
        ))),
        n => Ok(n),
    };
    if let Some(n) = at_least_one("max_attempts", file.max_attempts)? {
        s.max_attempts = n;
    }
    if let Some(n) = at_least_one("breaker_threshold", file.breaker_threshold)? {
        s.breaker.threshold = n;
    }
    let var = rate_limit_var(provider);
    let sources = [
        (
            flag_rate_limit.map(str::to_string),
            format!("--{}-rate-limit", section.replace('_', "-")),
        ),
        (env(&var).filter(|v| !v.trim().is_empty()), var.clone()),
        (
            file.rate_limit.clone(),
            in_file(&format!("{section}.rate_limit")),
        ),
    ];
    if let Some((value, origin)) = sources
        .into_iter()
        .find_map(|(v, origin)| v.map(|v| (v, origin)))
    {
        s.quota = Quota::parse(&value).map_err(|e| Error::Usage(format!("{origin}: {e}")))?;
        // A configured limit is the user's word for every endpoint of a
        // provider that counts per endpoint (a higher X tier, say).
        s.endpoint_quotas.clear();
    }
    Ok(s)
}

/// The variables naming the cache directory and the Redis server.
pub const CACHE_DIR_VAR: &str = "LEADGEN_CACHE_DIR";
pub const REDIS_URL_VAR: &str = "LEADGEN_REDIS_URL";

/// Cache settings: flag, then environment, then the file's `[cache]`
/// section, then defaults (the user's cache directory, no Redis).
pub fn cache_settings(
    flags: &CacheLocation,
    mode: CacheMode,
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<CacheSettings, Error> {
    let file: &CacheFile = &config.file.cache;
    let in_file = |key: &str| match &config.path {
        Some(p) => format!("cache.{key} in {}", p.display()),
        None => format!("cache.{key}"),
    };
    let set = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let dir = flags
        .cache_dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| set(env(CACHE_DIR_VAR)).map(PathBuf::from))
        .or_else(|| file.dir.clone())
        .or_else(|| {
            directories::ProjectDirs::from("", "", "leadgen").map(|d| d.cache_dir().to_path_buf())
        });
    let redis_url = set(flags.redis_url.clone())
        .or_else(|| set(env(REDIS_URL_VAR)))
        .map(SecretString::from)
        .or_else(|| file.redis_url.clone());
    let mut ttl = Ttl::default();
    for (key, value, slot) in [
        ("ttl_search", &file.ttl_search, &mut ttl.search),
        ("ttl_profile", &file.ttl_profile, &mut ttl.profile),
        ("ttl_officers", &file.ttl_officers, &mut ttl.officers),
        ("ttl_psc", &file.ttl_psc, &mut ttl.psc),
        ("ttl_social", &file.ttl_social, &mut ttl.social),
        ("ttl_not_found", &file.ttl_not_found, &mut ttl.not_found),
    ] {
        if let Some(v) = value {
            *slot =
                parse_duration(v).map_err(|e| Error::Usage(format!("{}: {e}", in_file(key))))?;
        }
    }
    let memory_bytes = match file.memory_mib {
        Some(0) => {
            return Err(Error::Usage(format!(
                "{}: must be at least 1",
                in_file("memory_mib")
            )));
        }
        Some(mib) => mib.saturating_mul(1024 * 1024),
        None => DEFAULT_MEMORY_BYTES,
    };
    Ok(CacheSettings {
        dir,
        redis_url,
        mode,
        ttl,
        memory_bytes,
    })
}

/// Load `.env` from the working directory (not from parents), without
/// overriding variables already set.
pub fn load_dotenv() -> Result<(), Error> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        // The message names the line, never a value.
        Err(e) => Err(Error::Usage(format!(".env: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use secrecy::ExposeSecret;

    fn args(extra: &[&str]) -> DiscoverArgs {
        let mut argv = vec!["leadgen", "discover", "in.csv"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Discover(a) => a,
            other => panic!("parsed {other:?}"),
        }
    }

    fn file(toml_text: &str) -> LoadedConfig {
        LoadedConfig {
            path: Some(PathBuf::from("/etc/leadgen.toml")),
            file: toml::from_str(toml_text).unwrap(),
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    const KEY: &[(&str, &str)] = &[("COMPANIES_HOUSE_API_KEY", "k")];

    #[test]
    fn defaults_apply_without_flags_env_or_file() {
        let s = DiscoverSettings::resolve(&args(&[]), &LoadedConfig::default(), env(KEY)).unwrap();
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(s.companies_house_url, DEFAULT_BASE_URL);
        assert_eq!(
            s.providers[&Provider::CompaniesHouse].quota.to_string(),
            "600/5m"
        );
        assert!(!s.merge.include_resigned);
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let cfg = file(
            "[discover]\nformat = \"json\"\nconcurrency = 3\ninclude_resigned = true\n\
             [companies_house]\nrate_limit = \"100/1m\"\ntimeout = \"5s\"\napi_key = \"from-file\"\n",
        );
        let s = DiscoverSettings::resolve(&args(&[]), &cfg, env(&[])).unwrap();
        assert_eq!((s.format, s.concurrency), (Format::Json, 3));
        assert!(s.merge.include_resigned);
        assert_eq!(s.companies_house_key.expose_secret(), "from-file");
        let cfg = file(
            "[companies_house]\nbackoff_base = \"20ms\"\nbackoff_max = \"1s\"\nrate_limited_wait = \"2s\"\n\
             breaker_threshold = 9\nbreaker_cooldown = \"3s\"\nmax_attempts = 2\n\
             [facebook]\nmax_quota_wait = \"1m\"\n",
        );
        let t = DiscoverSettings::resolve(&args(&[]), &cfg, env(KEY)).unwrap();
        let ch = &t.providers[&Provider::CompaniesHouse];
        assert_eq!(ch.backoff.base, std::time::Duration::from_millis(20));
        assert_eq!(ch.backoff.max, std::time::Duration::from_secs(1));
        assert_eq!(ch.rate_limited_wait, std::time::Duration::from_secs(2));
        assert_eq!(
            (ch.breaker.threshold, ch.breaker.cooldown),
            (9, std::time::Duration::from_secs(3))
        );
        assert_eq!(ch.max_attempts, 2);
        assert_eq!(
            t.providers[&Provider::Facebook].max_quota_wait,
            Some(std::time::Duration::from_secs(60))
        );
        let ch = &s.providers[&Provider::CompaniesHouse];
        assert_eq!(
            (ch.quota.to_string().as_str(), ch.timeout),
            ("100/1m", std::time::Duration::from_secs(5))
        );

        const ENV: &[(&str, &str)] = &[
            ("COMPANIES_HOUSE_API_KEY", "from-env"),
            ("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "200/1m"),
        ];
        let s = DiscoverSettings::resolve(&args(&[]), &cfg, env(ENV)).unwrap();
        assert_eq!(s.companies_house_key.expose_secret(), "from-env");
        assert_eq!(
            s.providers[&Provider::CompaniesHouse].quota.to_string(),
            "200/1m"
        );

        let s = DiscoverSettings::resolve(
            &args(&[
                "-f",
                "jsonl",
                "--concurrency",
                "2",
                "--companies-house-rate-limit",
                "300/1m",
            ]),
            &cfg,
            env(ENV),
        )
        .unwrap();
        assert_eq!((s.format, s.concurrency), (Format::Jsonl, 2));
        assert_eq!(
            s.providers[&Provider::CompaniesHouse].quota.to_string(),
            "300/1m"
        );
    }

    #[test]
    fn the_example_file_states_the_defaults() {
        let example = LoadedConfig {
            path: None,
            file: toml::from_str(include_str!("../../config/leadgen.example.toml")).unwrap(),
        };
        let a = DiscoverSettings::resolve(&args(&[]), &example, env(KEY)).unwrap();
        let b = DiscoverSettings::resolve(&args(&[]), &LoadedConfig::default(), env(KEY)).unwrap();
        let sorted = |s: &DiscoverSettings| {
            let mut v: Vec<String> = s
                .providers
                .iter()
                .map(|(p, x)| format!("{p:?}: {x:?}"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&a), sorted(&b));
        assert_eq!(
            (a.format, a.concurrency, a.companies_house_url),
            (b.format, b.concurrency, b.companies_house_url)
        );
    }

    #[test]
    fn a_blank_environment_value_is_unset() {
        const ENV: &[(&str, &str)] = &[
            ("COMPANIES_HOUSE_API_KEY", "k"),
            ("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "  "),
        ];
        let s = DiscoverSettings::resolve(&args(&[]), &LoadedConfig::default(), env(ENV)).unwrap();
        assert_eq!(
            s.providers[&Provider::CompaniesHouse].quota.to_string(),
            "600/5m"
        );
    }

    #[test]
    fn bad_values_name_where_they_came_from() {
        const ENV: &[(&str, &str)] = &[
            ("COMPANIES_HOUSE_API_KEY", "k"),
            ("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT", "600"),
        ];
        let e = DiscoverSettings::resolve(&args(&[]), &LoadedConfig::default(), env(ENV))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT: ") && e.contains("LIMIT/WINDOW"),
            "{e}"
        );
        let e = DiscoverSettings::resolve(
            &args(&["--companies-house-rate-limit", "x/1s"]),
            &LoadedConfig::default(),
            env(KEY),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--companies-house-rate-limit: "), "{e}");
        let e = DiscoverSettings::resolve(
            &args(&[]),
            &file("[companies_house]\ntimeout = \"soon\"\n"),
            env(KEY),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("companies_house.timeout in /etc/leadgen.toml: "),
            "{e}"
        );
        let e = DiscoverSettings::resolve(
            &args(&["--concurrency", "0"]),
            &LoadedConfig::default(),
            env(KEY),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at least 1"), "{e}");
    }

    #[test]
    fn no_key_anywhere_is_the_missing_key_error() {
        let e =
            DiscoverSettings::resolve(&args(&[]), &LoadedConfig::default(), env(&[])).unwrap_err();
        assert!(matches!(e, Error::MissingApiKey));
    }

    #[test]
    fn cache_settings_flag_beats_environment_beats_file() {
        let cfg = file(
            "[cache]\ndir = \"/from/file\"\nredis_url = \"redis://file:1\"\n\
             ttl_search = \"2h\"\nttl_not_found = \"10m\"\nmemory_mib = 8\n",
        );
        let s = DiscoverSettings::resolve(&args(&[]), &cfg, env(KEY)).unwrap();
        assert_eq!(s.cache.dir, Some(PathBuf::from("/from/file")));
        assert_eq!(s.cache.redis_url.unwrap().expose_secret(), "redis://file:1");
        assert_eq!(s.cache.ttl.search, std::time::Duration::from_secs(7200));
        assert_eq!(s.cache.ttl.not_found, std::time::Duration::from_secs(600));
        assert_eq!(s.cache.ttl.profile, Ttl::default().profile);
        assert_eq!(s.cache.memory_bytes, 8 << 20);
        assert_eq!(s.cache.mode, CacheMode::Normal);

        const ENV: &[(&str, &str)] = &[
            ("COMPANIES_HOUSE_API_KEY", "k"),
            ("LEADGEN_CACHE_DIR", "/from/env"),
            ("LEADGEN_REDIS_URL", "redis://env:2"),
        ];
        let s = DiscoverSettings::resolve(&args(&["--refresh"]), &cfg, env(ENV)).unwrap();
        assert_eq!(s.cache.dir, Some(PathBuf::from("/from/env")));
        assert_eq!(s.cache.redis_url.unwrap().expose_secret(), "redis://env:2");
        assert_eq!(s.cache.mode, CacheMode::Refresh);

        let s = DiscoverSettings::resolve(
            &args(&[
                "--cache-dir",
                "/from/flag",
                "--redis-url",
                "redis://flag:3",
                "--no-cache",
            ]),
            &cfg,
            env(ENV),
        )
        .unwrap();
        assert_eq!(s.cache.dir, Some(PathBuf::from("/from/flag")));
        assert_eq!(s.cache.redis_url.unwrap().expose_secret(), "redis://flag:3");
        assert_eq!(s.cache.mode, CacheMode::Off);

        let e = DiscoverSettings::resolve(
            &args(&[]),
            &file("[cache]\nttl_psc = \"a while\"\n"),
            env(KEY),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("cache.ttl_psc in /etc/leadgen.toml: "), "{e}");
    }
}
