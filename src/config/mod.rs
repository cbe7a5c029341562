//! Validated run settings, built from the parsed flags, the environment
//! and the config file, in that order of precedence, over the defaults.
//! Everything here is checked before any input is read or output written.

pub mod file;
pub mod layers;
pub mod show;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

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
use file::{CacheFile, LoadedConfig};
use layers::{Key, Layers, Secret, Value as _};

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
    /// When the local register's snapshots are too old to trust silently.
    pub register: RegisterSettings,
    /// Where credential use is audited; `None` when there is nowhere to put it.
    pub audit_log: Option<PathBuf>,
    /// Discard an interrupted run's progress instead of resuming it.
    pub restart: bool,
    /// Ignore the local register (`--online`).
    pub online: bool,
    /// `--sic`/`--sic-section`: the SIC codes a matched company must have
    /// one of, else its row ends `filtered`; `None` for any industry.
    pub industry: Option<std::collections::BTreeSet<&'static str>>,
    /// Draw a progress bar on stderr (set by the binary when stderr is a
    /// terminal and `-q` is not given).
    pub progress: bool,
    /// `--appointments`: fetch each officer's appointments list.
    pub appointments: bool,
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
        let layers = Layers::new(config, &env);
        let all = Resolved::from(args, &layers)?;
        let key = all
            .companies_house_key
            .clone()
            .ok_or(Error::MissingApiKey)?;
        if !all.sources.contains(&SourceName::Ch) {
            return Err(Error::Usage(
                "--sources must include ch: Companies House finds the company and its officers"
                    .into(),
            ));
        }
        let social = all.social(&layers)?;
        Ok(DiscoverSettings {
            input: args.input.clone(),
            output: (args.output.as_os_str() != "-").then(|| args.output.clone()),
            format: all.format,
            merge: all.merge,
            concurrency: all.concurrency,
            companies_house_url: all.companies_house_url,
            companies_house_key: key,
            providers: all.providers,
            social,
            min_confidence: all.min_confidence,
            search_budget: all.search_budget,
            max_searches_per_row: all.max_searches_per_row,
            audit_log: all.audit_log,
            cache: all.cache,
            register: all.register,
            restart: args.restart,
            online: args.online,
            industry: crate::sic::table()
                .filter(&args.sic, &args.sic_section)
                .map_err(|e| Error::Usage(e.to_string()))?,
            progress: false,
            appointments: args.appointments,
        })
    }
}

/// Every setting a run can have, each resolved once through [`Layers`]
/// (which records it with its origin for `config show` and `doctor`).
/// Invalid values fail here; a missing API key does not (`config show`
/// and `doctor` report it).
pub(crate) struct Resolved {
    pub format: Format,
    pub merge: MergeOptions,
    pub concurrency: usize,
    pub companies_house_url: String,
    pub companies_house_key: Option<SecretString>,
    /// All four, in use or not.
    pub providers: HashMap<Provider, ProviderSettings>,
    /// The social sources' base URLs.
    pub social_urls: HashMap<Provider, String>,
    pub sources: Vec<SourceName>,
    pub min_confidence: f64,
    pub search_budget: f64,
    pub max_searches_per_row: u32,
    pub audit_log: Option<PathBuf>,
    pub cache: CacheSettings,
    pub register: RegisterSettings,
}

impl Resolved {
    pub(crate) fn from(args: &DiscoverArgs, layers: &Layers) -> Result<Resolved, Error> {
        let run = RunKeys::from(args, layers)?;
        let (companies_house_url, companies_house_key) = companies_house(args, layers)?;
        let mut providers = HashMap::new();
        let mut social_urls = HashMap::new();
        for provider in Provider::ALL {
            if let Some(url) = social_url(provider, layers) {
                social_urls.insert(provider, url);
            }
            let flag_rate_limit = match provider {
                Provider::CompaniesHouse => args.companies_house_rate_limit.clone(),
                _ => None,
            };
            providers.insert(
                provider,
                provider_settings(provider, layers, flag_rate_limit)?,
            );
        }
        let mode = if args.no_cache {
            CacheMode::Off
        } else if args.refresh {
            CacheMode::Refresh
        } else {
            CacheMode::Normal
        };
        let cache = cache_settings(&args.cache, mode, layers)?;
        let audit_log = audit_log(args, layers, &cache);
        let register = register_settings(layers)?;
        Ok(Resolved {
            format: run.format,
            merge: run.merge,
            concurrency: run.concurrency,
            companies_house_url,
            companies_house_key,
            providers,
            social_urls,
            sources: run.sources,
            min_confidence: run.min_confidence,
            search_budget: run.search_budget,
            max_searches_per_row: run.max_searches_per_row,
            audit_log,
            cache,
            register,
        })
    }

    /// The social sources requested with `--sources`: used when they have
    /// credentials, else skipped with a note.
    fn social(&self, layers: &Layers) -> Result<SocialSettings, Error> {
        let env = |var: &str| layers.env(var);
        let file = &layers.config().file;
        for (name, provider) in [
            (SourceName::X, Provider::X),
            (SourceName::Linkedin, Provider::LinkedIn),
            (SourceName::Facebook, Provider::Facebook),
        ] {
            if self.sources.contains(&name) && file.section(provider).api_key.is_some() {
                return Err(Error::Usage(format!(
                    "{}: {} credentials are read from the environment ({}), not the config file",
                    layers.in_file(&format!("{}.api_key", provider.key())),
                    provider.label(),
                    crate::sources::policy(provider).credential_label()
                )));
            }
        }
        let url = |name: SourceName, provider: Provider| {
            self.sources
                .contains(&name)
                .then(|| self.social_urls.get(&provider).cloned().unwrap_or_default())
        };
        Ok(SocialSettings {
            x: optional(
                Provider::X,
                url(SourceName::X, Provider::X),
                x::Credentials::from_lookup(env),
            )?,
            linkedin: optional(
                Provider::LinkedIn,
                url(SourceName::Linkedin, Provider::LinkedIn),
                Ok(linkedin::access_token_from_lookup(env)),
            )?,
            facebook: optional(
                Provider::Facebook,
                url(SourceName::Facebook, Provider::Facebook),
                facebook::AppCredentials::from_lookup(env),
            )?,
        })
    }
}

/// The `[discover]` keys that shape a run.
struct RunKeys {
    format: Format,
    merge: MergeOptions,
    concurrency: usize,
    sources: Vec<SourceName>,
    min_confidence: f64,
    search_budget: f64,
    max_searches_per_row: u32,
}

impl RunKeys {
    fn from(args: &DiscoverArgs, layers: &Layers) -> Result<RunKeys, Error> {
        let file = &layers.config().file;
        let discover = |name| Key::file("discover", name);
        let format = layers.get_or(
            &discover("format"),
            args.format,
            file.discover.format,
            Secret::No,
            Format::Csv,
        );
        let concurrency = layers.get_or(
            &discover("concurrency").flag("--concurrency"),
            args.concurrency,
            file.discover.concurrency,
            Secret::No,
            DEFAULT_CONCURRENCY,
        );
        if concurrency == 0 {
            return Err(Error::Usage("concurrency must be at least 1".into()));
        }
        let merge = MergeOptions {
            include_resigned: layers.get_or(
                &discover("include_resigned").flag("--include-resigned"),
                args.include_resigned.then_some(true),
                file.discover.include_resigned,
                Secret::No,
                false,
            ),
            include_birth: layers.get_or(
                &discover("include_birth_month").flag("--include-birth-month"),
                args.include_birth_month.then_some(true),
                file.discover.include_birth_month,
                Secret::No,
                false,
            ),
            executives_only: layers.get_or(
                &discover("executives_only").flag("--executives-only"),
                args.executives_only.then_some(true),
                file.discover.executives_only,
                Secret::No,
                false,
            ),
        };
        let sources = layers.get_or(
            &discover("sources").flag("--sources"),
            args.sources.clone(),
            file.discover.sources.clone(),
            Secret::No,
            vec![
                SourceName::Ch,
                SourceName::X,
                SourceName::Linkedin,
                SourceName::Facebook,
            ],
        );
        let min_confidence = layers.get_or(
            &discover("min_confidence").flag("--min-confidence"),
            args.min_confidence,
            file.discover.min_confidence,
            Secret::No,
            0.0,
        );
        if !(0.0..=1.0).contains(&min_confidence) {
            return Err(Error::Usage(format!(
                "min confidence {min_confidence} is not between 0 and 1"
            )));
        }
        let search_budget = layers.get_or(
            &discover("search_budget").flag("--search-budget"),
            args.search_budget,
            file.discover.search_budget,
            Secret::No,
            crate::resolve::SearchBudget::AVERAGE,
        );
        if !(search_budget >= 1.0 && search_budget.is_finite()) {
            return Err(Error::Usage(format!(
                "search budget {search_budget} is less than 1 search per name row"
            )));
        }
        let max_searches_per_row = layers.get_or(
            &discover("max_searches_per_row").flag("--max-searches-per-row"),
            args.max_searches_per_row,
            file.discover.max_searches_per_row,
            Secret::No,
            crate::resolve::SearchBudget::PER_ROW,
        );
        if max_searches_per_row == 0 {
            return Err(Error::Usage(
                "max searches per row must be at least 1".into(),
            ));
        }
        Ok(RunKeys {
            format,
            merge,
            concurrency,
            sources,
            min_confidence,
            search_budget,
            max_searches_per_row,
        })
    }
}

/// The Companies House base URL and API key.
fn companies_house(
    args: &DiscoverArgs,
    layers: &Layers,
) -> Result<(String, Option<SecretString>), Error> {
    let file = &layers.config().file;
    let url_key = Key::file("companies_house", "url")
        .flag("--companies-house-url")
        .var("LEADGEN_COMPANIES_HOUSE_URL");
    let companies_house_url = layers.get_or(
        &url_key,
        args.companies_house_url
            .clone()
            .filter(|u| !u.trim().is_empty()),
        file.companies_house.url.clone(),
        Secret::No,
        DEFAULT_BASE_URL.to_string(),
    );
    match url::Url::parse(&companies_house_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(Error::Usage(format!(
                "Companies House URL ({}): {companies_house_url:?} is not an http(s) URL",
                layers.names(&url_key)
            )));
        }
    }
    Ok((companies_house_url, companies_house_key(layers)))
}

/// The Companies House REST key: the environment, else the file.
pub fn companies_house_key(layers: &Layers) -> Option<SecretString> {
    let key = Key::file("companies_house", "api_key").var(COMPANIES_HOUSE_KEY_VAR);
    let found = layers.get(
        &key,
        None,
        layers.config().file.companies_house.api_key.clone(),
        Secret::Whole,
    );
    if found.is_none() {
        layers.default_shown(&key, None);
    }
    found
}

/// Whether `stream_key` is the REST key (which the streaming API refuses).
pub fn is_rest_key(stream_key: &str, rest: Option<&SecretString>) -> bool {
    rest.is_some_and(|rest| secrecy::ExposeSecret::expose_secret(rest).trim() == stream_key.trim())
}

/// A social source's base URL (`None` for Companies House, resolved apart).
fn social_url(provider: Provider, layers: &Layers) -> Option<String> {
    let default_url = match provider {
        Provider::CompaniesHouse => return None,
        Provider::X => x::DEFAULT_BASE_URL,
        Provider::LinkedIn => linkedin::DEFAULT_BASE_URL,
        Provider::Facebook => facebook::DEFAULT_BASE_URL,
    };
    Some(layers.get_or(
        &Key::file(provider.key(), "url").var(url_var(provider)),
        None,
        layers.config().file.section(provider).url.clone(),
        Secret::No,
        default_url.to_string(),
    ))
}

/// Where credential use is audited: flag, environment, file, else beside the cache.
fn audit_log(args: &DiscoverArgs, layers: &Layers, cache: &CacheSettings) -> Option<PathBuf> {
    let default_audit = cache.dir.as_ref().map(|d| d.join("audit.jsonl"));
    let audit_key = Key::file("discover", "audit_log")
        .flag("--audit-log")
        .var("LEADGEN_AUDIT_LOG");
    layers
        .get(
            &audit_key,
            args.audit_log.clone(),
            layers.config().file.discover.audit_log.clone(),
            Secret::No,
        )
        .or_else(|| {
            layers.default_shown(
                &audit_key,
                default_audit.as_ref().map(|p| p.toml(Secret::No)),
            );
            default_audit
        })
}

/// `LEADGEN_X_URL` and the like.
pub fn url_var(provider: Provider) -> String {
    format!("LEADGEN_{}_URL", provider.key().to_ascii_uppercase())
}

/// A requested social source: used when it has credentials, else skipped
/// with a note saying what to set.
fn optional<C>(
    provider: Provider,
    url: Option<String>,
    credentials: Result<Option<C>, CredentialsError>,
) -> Result<Optional<C>, Error> {
    let Some(url) = url else {
        return Ok(Optional::Off);
    };
    if !matches!(url::Url::parse(&url), Ok(u) if matches!(u.scheme(), "http" | "https")) {
        return Err(Error::Usage(format!(
            "{}: {url:?} is not an http(s) URL",
            url_var(provider)
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

/// A provider's settings: its published defaults, then the file, then the
/// environment, then the flag.
pub(crate) fn provider_settings(
    provider: Provider,
    layers: &Layers,
    flag_rate_limit: Option<String>,
) -> Result<ProviderSettings, Error> {
    let section = provider.key();
    let file = layers.config().file.section(provider);
    let mut s = crate::sources::policy(provider).defaults();
    let key = |name| Key::file(section, name);
    let duration = |name: &'static str, value: Option<&String>, default: Option<Duration>| {
        let key = key(name);
        match layers.text(&key, None, value, default.map(format_duration)) {
            Some((text, origin)) => parse_duration(&text)
                .map(Some)
                .map_err(|e| layers.bad(&key, &origin, e)),
            None => Ok(None),
        }
    };
    // X counts per endpoint unless a single limit is configured.
    let rate_default = s.endpoint_quotas.is_empty().then(|| s.quota.to_string());
    let rate_key = match provider {
        Provider::CompaniesHouse => key("rate_limit").flag("--companies-house-rate-limit"),
        _ => key("rate_limit"),
    }
    .var(rate_limit_var(provider));
    if let Some((value, origin)) = layers.text(
        &rate_key,
        flag_rate_limit.filter(|v| !v.trim().is_empty()),
        file.rate_limit.as_ref(),
        rate_default,
    ) {
        s.quota = Quota::parse(&value).map_err(|e| layers.bad(&rate_key, &origin, e))?;
        // A configured limit is the user's word for every endpoint of a
        // provider that counts per endpoint (a higher X tier, say).
        s.endpoint_quotas.clear();
    }
    if let Some(d) = duration("timeout", file.timeout.as_ref(), Some(s.timeout))? {
        s.timeout = d;
    }
    if let Some(d) = duration(
        "connect_timeout",
        file.connect_timeout.as_ref(),
        Some(s.connect_timeout),
    )? {
        s.connect_timeout = d;
    }
    let at_least_one = |name: &'static str, value: Option<u32>, default: u32| {
        let key = key(name);
        match layers.get_or(&key, None, value, Secret::No, default) {
            0 => Err(Error::Usage(format!(
                "{}: must be at least 1",
                layers.in_file(&format!("{section}.{name}"))
            ))),
            n => Ok(n),
        }
    };
    s.max_attempts = at_least_one("max_attempts", file.max_attempts, s.max_attempts)?;
    if let Some(d) = duration(
        "backoff_base",
        file.backoff_base.as_ref(),
        Some(s.backoff.base),
    )? {
        s.backoff.base = d;
    }
    if let Some(d) = duration(
        "backoff_max",
        file.backoff_max.as_ref(),
        Some(s.backoff.max),
    )? {
        s.backoff.max = d;
    }
    if let Some(d) = duration(
        "rate_limited_wait",
        file.rate_limited_wait.as_ref(),
        Some(s.rate_limited_wait),
    )? {
        s.rate_limited_wait = d;
    }
    if let Some(d) = duration(
        "max_quota_wait",
        file.max_quota_wait.as_ref(),
        s.max_quota_wait,
    )? {
        s.max_quota_wait = Some(d);
    }
    s.breaker.threshold = at_least_one(
        "breaker_threshold",
        file.breaker_threshold,
        s.breaker.threshold,
    )?;
    if let Some(d) = duration(
        "breaker_cooldown",
        file.breaker_cooldown.as_ref(),
        Some(s.breaker.cooldown),
    )? {
        s.breaker.cooldown = d;
    }
    Ok(s)
}

/// The variables naming the cache directory and the Redis server.
pub const CACHE_DIR_VAR: &str = "LEADGEN_CACHE_DIR";
pub const REDIS_URL_VAR: &str = "LEADGEN_REDIS_URL";
pub const REDIS_CA_FILE_VAR: &str = "LEADGEN_REDIS_CA_FILE";

/// Cache settings: flag, then environment, then the file's `[cache]`
/// section, then defaults (the user's cache directory, no Redis).
pub fn cache_settings(
    flags: &CacheLocation,
    mode: CacheMode,
    layers: &Layers,
) -> Result<CacheSettings, Error> {
    let file: &CacheFile = &layers.config().file.cache;
    let key = |name| Key::file("cache", name);
    let default_dir =
        directories::ProjectDirs::from("", "", "leadgen").map(|d| d.cache_dir().to_path_buf());
    let dir_key = key("dir").flag("--cache-dir").var(CACHE_DIR_VAR);
    let dir = layers
        .get(
            &dir_key,
            flags
                .cache_dir
                .clone()
                .filter(|d| !d.as_os_str().is_empty()),
            file.dir.clone(),
            Secret::No,
        )
        .or_else(|| {
            layers.default_shown(&dir_key, default_dir.as_ref().map(|d| d.toml(Secret::No)));
            default_dir
        });
    let redis_key = key("redis_url").flag("--redis-url").var(REDIS_URL_VAR);
    let redis_url = layers.get(
        &redis_key,
        flags
            .redis_url
            .clone()
            .filter(|v| !v.trim().is_empty())
            .map(SecretString::from),
        file.redis_url.clone(),
        Secret::UrlPassword,
    );
    if redis_url.is_none() {
        layers.default_shown(&redis_key, None);
    }
    let ca_key = key("redis_ca_file").var(REDIS_CA_FILE_VAR);
    let redis_ca_file = layers.get(&ca_key, None, file.redis_ca_file.clone(), Secret::No);
    if redis_ca_file.is_none() {
        layers.default_shown(&ca_key, None);
    }
    let memory_mib = layers.get_or(
        &key("memory_mib"),
        None,
        file.memory_mib,
        Secret::No,
        DEFAULT_MEMORY_BYTES / (1024 * 1024),
    );
    if memory_mib == 0 {
        return Err(Error::Usage(format!(
            "{}: must be at least 1",
            layers.in_file("cache.memory_mib")
        )));
    }
    let mut ttl = Ttl::default();
    for (name, value, slot) in [
        ("ttl_search", &file.ttl_search, &mut ttl.search),
        ("ttl_profile", &file.ttl_profile, &mut ttl.profile),
        ("ttl_officers", &file.ttl_officers, &mut ttl.officers),
        ("ttl_psc", &file.ttl_psc, &mut ttl.psc),
        ("ttl_social", &file.ttl_social, &mut ttl.social),
        ("ttl_not_found", &file.ttl_not_found, &mut ttl.not_found),
    ] {
        let key = key(name);
        if let Some((text, origin)) =
            layers.text(&key, None, value.as_ref(), Some(format_duration(*slot)))
        {
            *slot = parse_duration(&text).map_err(|e| layers.bad(&key, &origin, e))?;
        }
    }
    let with_stream_key = key("ttl_with_stream");
    if let Some((text, origin)) = layers.text(
        &with_stream_key,
        None,
        file.ttl_with_stream.as_ref(),
        Some(days(ttl.with_stream)),
    ) {
        ttl.with_stream = parse_age(&text).map_err(|e| layers.bad(&with_stream_key, &origin, e))?;
    }
    let stream_max_lag = stream_duration(
        layers,
        "max_lag",
        layers.config().file.stream.max_lag.as_ref(),
        crate::cache::DEFAULT_STREAM_MAX_LAG,
    )?;
    Ok(CacheSettings {
        dir,
        redis_url,
        redis_ca_file,
        mode,
        ttl,
        memory_bytes: memory_mib.saturating_mul(1024 * 1024),
        stream_max_lag,
    })
}

/// `https://stream.companieshouse.gov.uk`.
pub const DEFAULT_STREAM_URL: &str = "https://stream.companieshouse.gov.uk";
/// The environment variable holding the streaming key (environment only).
pub const STREAM_KEY_VAR: &str = "COMPANIES_HOUSE_STREAM_KEY";
/// Defaults of the `[stream]` keys.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
pub const DEFAULT_ROTATE_AFTER: Duration = Duration::from_secs(10 * 60);

/// The `[stream]` section's keys (`stream.max_lag` is the cache's, in
/// [`cache_settings`]).
#[derive(Debug, Clone)]
pub struct StreamKeys {
    pub url: String,
    pub idle_timeout: Duration,
    pub rotate_after: Duration,
    pub connections: usize,
}

/// The `[stream]` keys: `--stream-url` (`url_flag`), then the environment,
/// then the file, then the defaults.
pub fn stream_keys(layers: &Layers, url_flag: Option<String>) -> Result<StreamKeys, Error> {
    let file = &layers.config().file.stream;
    let url_key = Key::file("stream", "url")
        .flag("--stream-url")
        .var("LEADGEN_COMPANIES_HOUSE_STREAM_URL");
    let url = layers.get_or(
        &url_key,
        url_flag.filter(|u| !u.trim().is_empty()),
        file.url.clone(),
        Secret::No,
        DEFAULT_STREAM_URL.to_string(),
    );
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(Error::Usage(format!(
                "streaming API URL ({}): {url:?} is not an http(s) URL",
                layers.names(&url_key)
            )));
        }
    }
    let connections = layers.get_or(
        &Key::file("stream", "connections"),
        None,
        file.connections,
        Secret::No,
        2,
    );
    if !(1..=2).contains(&connections) {
        return Err(Error::Usage(format!(
            "{}: must be 1 or 2 (the streaming API allows two connections per account)",
            layers.in_file("stream.connections")
        )));
    }
    Ok(StreamKeys {
        url,
        idle_timeout: stream_duration(
            layers,
            "idle_timeout",
            file.idle_timeout.as_ref(),
            DEFAULT_IDLE_TIMEOUT,
        )?,
        rotate_after: stream_duration(
            layers,
            "rotate_after",
            file.rotate_after.as_ref(),
            DEFAULT_ROTATE_AFTER,
        )?,
        connections,
    })
}

/// A `[stream]` duration over its default.
fn stream_duration(
    layers: &Layers,
    name: &'static str,
    value: Option<&String>,
    default: Duration,
) -> Result<Duration, Error> {
    let key = Key::file("stream", name);
    match layers.text(&key, None, value, Some(format_duration(default))) {
        Some((text, origin)) => parse_duration(&text).map_err(|e| layers.bad(&key, &origin, e)),
        None => Ok(default),
    }
}

/// How old the local register's snapshots may get before leadgen warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterSettings {
    pub max_age: Duration,
    pub psc_max_age: Duration,
}

/// The `[register]` section, over its defaults (40 days for the monthly
/// company file, 7 for the daily PSC snapshot).
pub fn register_settings(layers: &Layers) -> Result<RegisterSettings, Error> {
    let file = &layers.config().file.register;
    let mut settings = RegisterSettings {
        max_age: crate::register::DEFAULT_MAX_AGE,
        psc_max_age: crate::register::DEFAULT_PSC_MAX_AGE,
    };
    for (name, value, slot) in [
        ("max_age", &file.max_age, &mut settings.max_age),
        ("psc_max_age", &file.psc_max_age, &mut settings.psc_max_age),
    ] {
        let key = Key::file("register", name);
        if let Some((text, origin)) = layers.text(&key, None, value.as_ref(), Some(days(*slot))) {
            *slot = parse_age(&text).map_err(|e| layers.bad(&key, &origin, e))?;
        }
    }
    Ok(settings)
}

/// An age: whole days (`40d`), or any duration the other keys take.
fn parse_age(text: &str) -> Result<Duration, String> {
    match text.trim().strip_suffix('d') {
        Some(days) => days
            .trim()
            .parse::<u64>()
            .map(|d| Duration::from_secs(d.saturating_mul(86_400)))
            .map_err(|_| format!("{text:?} is not a whole number of days (e.g. 40d)")),
        None => parse_duration(text).map_err(|e| e.to_string()),
    }
}

/// `40d` for whole days, else as [`format_duration`].
fn days(d: Duration) -> String {
    let s = d.as_secs();
    if s != 0 && s.is_multiple_of(86_400) && d.subsec_nanos() == 0 {
        format!("{}d", s / 86_400)
    } else {
        format_duration(d)
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
