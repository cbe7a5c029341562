//! `leadgen doctor`: is the setup usable? Per provider: credentials
//! (masked) and where they came from, the base URL, and one cheap live
//! call through the normal [`Gateway`]; then the cache and Redis.
//!
//! A social provider without credentials is "not configured", not a
//! failure; Companies House without a key is a failure (it is required).

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use crate::cache::{self, Cache, CacheSettings};
use crate::cli::DiscoverArgs;
use crate::company_number::CompanyNumber;
use crate::config::file::LoadedConfig;
use crate::config::layers::Layers;
use crate::config::show::{mask, mask_url_password};
use crate::config::{COMPANIES_HOUSE_KEY_VAR, Resolved};
use crate::error::Error;
use crate::gateway::{Gateway, GatewayError, Provider, ProviderSettings};
use crate::sources::{SourceError, companies_house, facebook, linkedin, x};

/// The lines to print and whether everything configured works.
pub struct Outcome {
    pub lines: Vec<String>,
    pub ok: bool,
}

/// The company number Companies House is asked about: 200 or 404 both
/// prove the key works.
pub const CH_PROBE: &str = "00000006";

const ENV_ORIGIN: &str = "environment/.env";

/// One provider's section of the report.
struct Section {
    provider: Provider,
    status: String,
    ok: bool,
    credentials: Option<String>,
    from: Option<String>,
    url: Option<String>,
    check: Option<String>,
}

impl Section {
    fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("{}: {}", self.provider.label(), self.status)];
        if let Some(c) = &self.credentials {
            out.push(format!("  credentials: {c}"));
        }
        if let Some(f) = &self.from {
            out.push(format!("  from:        {f}"));
        }
        if let Some(u) = &self.url {
            out.push(format!("  base URL:    {u}"));
        }
        if let Some(access) = crate::sources::policy(self.provider).required_access() {
            out.push(format!("  needs:       {access}"));
        }
        if let Some(c) = &self.check {
            out.push(format!("  check:       {c}"));
        }
        out
    }
}

/// The verdict of a live call.
fn verdict(result: Result<String, SourceError>) -> (bool, String, String) {
    match result {
        Ok(detail) => (true, "ok".into(), detail),
        Err(SourceError::Gateway(GatewayError::CredentialRefused { status, .. })) => (
            false,
            format!("refused (HTTP {status})"),
            "the provider refused the credentials".into(),
        ),
        Err(SourceError::Gateway(GatewayError::NotPermitted { .. })) => (
            false,
            "missing access".into(),
            "the credential was accepted, but the app lacks the access under \"needs\"".into(),
        ),
        Err(e) => (false, "failed".into(), e.to_string()),
    }
}

pub async fn run(
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Outcome, Error> {
    let lookup = |k: &str| env(k);
    let layers = Layers::new(config, &lookup);
    // The same resolution a run makes: what doctor checks is what discover
    // would use, and it says where each value came from.
    let resolved = Resolved::from(&DiscoverArgs::default(), &layers)?;
    let origin = |section: &str, key: &str| {
        layers
            .entries()
            .into_iter()
            .find(|e| e.section == section && e.key == key)
            .map(|e| e.origin.to_string())
    };
    let mut lines = vec![match &config.path {
        Some(p) => format!("config file: {}", p.display()),
        None => "config file: none (built-in defaults)".to_string(),
    }];
    // One attempt per check: doctor should answer quickly, not retry.
    let mut providers: HashMap<Provider, ProviderSettings> = resolved.providers.clone();
    for settings in providers.values_mut() {
        settings.max_attempts = 1;
    }
    let probe = Probe {
        gateway: crate::sources::gateway(providers)?,
        // A fresh in-memory cache: every check goes to the provider.
        cache: Cache::in_memory(1 << 20),
        urls: &resolved.social_urls,
        env,
    };
    let sections = [
        probe
            .companies_house(
                resolved.companies_house_url.clone(),
                resolved.companies_house_key.clone(),
                origin("companies_house", "api_key"),
            )
            .await?,
        probe.x().await,
        probe.linkedin().await,
        probe.facebook().await,
    ];
    let mut ok = true;
    for s in &sections {
        ok &= s.ok;
        lines.extend(s.lines());
    }
    ok &= cache_report(&resolved.cache, &mut lines).await;
    probe.cache.close().await;
    quota_report(&resolved, env, &mut lines).await;
    ok &= stream_report(
        &resolved.cache,
        resolved.companies_house_key.as_ref(),
        env,
        &mut lines,
    )
    .await;
    lines.push(String::new());
    lines.push(if ok {
        "doctor: everything configured works".into()
    } else {
        "doctor: problems found (see above)".into()
    });
    Ok(Outcome { lines, ok })
}

/// What the live checks share.
struct Probe<'a, E> {
    gateway: Gateway,
    cache: Cache,
    urls: &'a HashMap<Provider, String>,
    env: &'a E,
}

impl<E: Fn(&str) -> Option<String>> Probe<'_, E> {
    fn url(&self, provider: Provider) -> String {
        self.urls.get(&provider).cloned().unwrap_or_default()
    }

    async fn companies_house(
        &self,
        url: String,
        key: Option<SecretString>,
        from: Option<String>,
    ) -> Result<Section, Error> {
        let Some(key) = key else {
            return Ok(Section {
                provider: Provider::CompaniesHouse,
                status: "MISSING (required)".into(),
                ok: false,
                credentials: Some(format!(
                    "none; set {COMPANIES_HOUSE_KEY_VAR} or companies_house.api_key"
                )),
                from: None,
                url: Some(url),
                check: None,
            });
        };
        let masked = format!("{COMPANIES_HOUSE_KEY_VAR} = {}", mask(key.expose_secret()));
        let client =
            companies_house::Client::new(self.gateway.clone(), self.cache.clone(), &url, key);
        let number = CompanyNumber::parse(CH_PROBE).map_err(|e| Error::Internal {
            what: "the probe's company number",
            source: Box::new(e),
        })?;
        let result = client.company_profile(&number).await.map(|p| {
            format!(
                "GET /company/{CH_PROBE}: {} (key accepted)",
                if p.is_some() {
                    "found"
                } else {
                    "not found (404)"
                }
            )
        });
        let (good, status, check) = verdict(result);
        Ok(Section {
            provider: Provider::CompaniesHouse,
            status,
            ok: good,
            credentials: Some(masked),
            from,
            url: Some(url),
            check: Some(check),
        })
    }

    async fn x(&self) -> Section {
        let url = self.url(Provider::X);
        match x::Credentials::from_lookup(self.env) {
            Ok(Some(creds)) => {
                let masked = match &creds {
                    x::Credentials::Bearer(t) => {
                        format!("X_BEARER_TOKEN = {}", mask(t.expose_secret()))
                    }
                    x::Credentials::AppKey { key, secret } => format!(
                        "X_API_KEY = {}, X_API_SECRET = {}",
                        mask(key.expose_secret()),
                        mask(secret.expose_secret())
                    ),
                };
                let client = x::Client::new(self.gateway.clone(), self.cache.clone(), &url, creds);
                let result = client
                    .users_by_usernames(&["XDevelopers".to_string()])
                    .await
                    .map(|_| {
                        "GET /2/users/by?usernames=XDevelopers: answered (token accepted)".into()
                    });
                checked(Provider::X, result, masked, url)
            }
            other => unconfigured(Provider::X, other.map(|_| ()), url),
        }
    }

    async fn linkedin(&self) -> Section {
        let url = self.url(Provider::LinkedIn);
        match linkedin::access_token_from_lookup(self.env) {
            Some(token) => {
                let masked = format!("LINKEDIN_ACCESS_TOKEN = {}", mask(token.expose_secret()));
                let client =
                    linkedin::Client::new(self.gateway.clone(), self.cache.clone(), &url, token);
                let result = client
                    .organizations_by_vanity_name("linkedin")
                    .await
                    .map(|_| {
                        "GET /rest/organizations?q=vanityName&vanityName=linkedin: answered (token accepted)"
                            .into()
                    });
                checked(Provider::LinkedIn, result, masked, url)
            }
            None => unconfigured(Provider::LinkedIn, Ok(()), url),
        }
    }

    async fn facebook(&self) -> Section {
        let url = self.url(Provider::Facebook);
        match facebook::AppCredentials::from_lookup(self.env) {
            Ok(Some(app)) => {
                let masked = format!(
                    "FACEBOOK_APP_ID = {}, FACEBOOK_APP_SECRET = {}",
                    mask(&app.app_id),
                    mask(app.app_secret.expose_secret())
                );
                let client =
                    facebook::Client::new(self.gateway.clone(), self.cache.clone(), &url, app);
                let result = client.search_pages("leadgen").await.map(|_| {
                    format!(
                        "GET /{}/pages/search?q=leadgen: answered (app token accepted)",
                        facebook::GRAPH_VERSION
                    )
                });
                checked(Provider::Facebook, result, masked, url)
            }
            other => unconfigured(Provider::Facebook, other.map(|_| ()), url),
        }
    }
}

/// Whether each provider's quota is shared through Redis, and how many
/// processes used it lately; appends to `lines`. Never a failure: without
/// Redis each process paces on its own, as designed.
async fn quota_report(
    resolved: &Resolved,
    env: &impl Fn(&str) -> Option<String>,
    lines: &mut Vec<String>,
) {
    use crate::gateway::shared::{Fingerprint, MEMBERS_WINDOW, ScopeKey, SharedQuota};
    let Some(url) = &resolved.cache.redis_url else {
        lines.push(
            "Quota: paced by each process on its own (set LEADGEN_REDIS_URL or cache.redis_url \
             to share it between processes and machines)"
                .into(),
        );
        return;
    };
    let shared =
        match SharedQuota::connect(url.expose_secret(), resolved.cache.redis_ca_file.as_deref())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                lines.push(format!(
                    "Quota: not shared, Redis is out of reach ({e}); each process paces on its own"
                ));
                return;
            }
        };
    lines.push(format!("Quota: shared through {}", shared.endpoint()));
    let lookup = |k: &str| env(k);
    let mut credentials: Vec<(Provider, String)> = Vec::new();
    if let Some(key) = &resolved.companies_house_key {
        credentials.push((Provider::CompaniesHouse, key.expose_secret().to_owned()));
    }
    if let Ok(Some(c)) = x::Credentials::from_lookup(lookup) {
        credentials.push((Provider::X, c.quota_name().expose_secret().to_owned()));
    }
    if let Some(token) = linkedin::access_token_from_lookup(lookup) {
        credentials.push((Provider::LinkedIn, token.expose_secret().to_owned()));
    }
    if let Ok(Some(app)) = facebook::AppCredentials::from_lookup(lookup) {
        credentials.push((Provider::Facebook, app.app_id.clone()));
    }
    for (provider, credential) in credentials {
        // X counts per endpoint: its user lookups are the scope leadgen uses most.
        let scope = (provider == Provider::X).then_some(x::policy::USERS_BY);
        let key = ScopeKey::new(provider, scope, &Fingerprint::of(&credential));
        let seen = match shared.processes(&key).await {
            Ok(n) => format!(
                "{n} process{} used it in the last {}",
                if n == 1 { "" } else { "es" },
                humantime::format_duration(MEMBERS_WINDOW)
            ),
            Err(e) => format!("cannot read its users ({e})"),
        };
        lines.push(format!("  {}: shared; {seen}", provider.label()));
    }
}

/// The cache tiers and whether they answer; appends to `lines`.
async fn cache_report(settings: &CacheSettings, lines: &mut Vec<String>) -> bool {
    lines.push("Cache:".into());
    let mut private = true;
    if let Some(dir) = &settings.dir {
        let exposed = crate::private::exposure_report(dir);
        private = exposed.is_empty();
        if private {
            lines.push(format!("  files: private ({})", dir.display()));
        }
        lines.extend(exposed.iter().map(|l| format!("  EXPOSED: {l}")));
    }
    match &settings.redis_url {
        Some(u) => {
            lines.push(format!(
                "  redis URL: {}",
                mask_url_password(u.expose_secret())
            ));
            let p = cache::redis::Protection::of(u.expose_secret());
            lines.push(format!(
                "  redis connection: {}, {}{}",
                if p.encrypted {
                    "encrypted (TLS)"
                } else {
                    "not encrypted"
                },
                if p.authenticated {
                    "authenticated (password in the URL, masked above)"
                } else {
                    "no password"
                },
                match (&settings.redis_ca_file, p.encrypted) {
                    (Some(ca), true) => format!(", server checked against {}", ca.display()),
                    (None, true) => ", server checked against the system's roots".to_owned(),
                    _ => String::new(),
                }
            ));
            if let Some(warning) = p.warning(&cache::redis::endpoint(u.expose_secret())) {
                lines.push(format!("  WARNING: {warning}"));
            }
        }
        None => lines.push("  redis: not configured".into()),
    }
    match cache::admin::stats(settings).await {
        Ok(done) => {
            if settings.redis_url.is_some() {
                lines.push(format!(
                    "  redis: {}",
                    if done.ok { "reachable" } else { "UNREACHABLE" }
                ));
            }
            lines.extend(done.lines.iter().map(|l| format!("  {l}")));
            done.ok && private
        }
        Err(e) => {
            lines.push(format!("  failed: {e}"));
            false
        }
    }
}

/// The streaming key (masked; no live check, since a connection would
/// close the oldest of a running follower's), and where each followed
/// stream is. Fails only on a REST key given as the streaming key.
async fn stream_report(
    settings: &CacheSettings,
    rest_key: Option<&SecretString>,
    env: &impl Fn(&str) -> Option<String>,
    lines: &mut Vec<String>,
) -> bool {
    use crate::stream::STREAM_KEY_VAR;
    lines.push("Stream:".into());
    let mut ok = true;
    match env(STREAM_KEY_VAR).filter(|k| !k.trim().is_empty()) {
        None => lines.push(format!(
            "  key: not configured (set {STREAM_KEY_VAR} to a Streaming API key to run `leadgen stream`)"
        )),
        Some(key) => {
            lines.push(format!(
                "  key: {STREAM_KEY_VAR} = {} (not tried: a connection would close a running follower's oldest)",
                mask(key.trim())
            ));
            if crate::config::is_rest_key(&key, rest_key) {
                ok = false;
                lines.push(format!(
                    "  WRONG: it is the REST key of {COMPANIES_HOUSE_KEY_VAR}; the streaming API takes a Streaming API key"
                ));
            }
        }
    }
    let Some(dir) = &settings.dir else {
        return ok;
    };
    let states = match crate::cache::sqlite::SqliteTier::open(dir).await {
        Ok(tier) => {
            let read = tier
                .db()
                .call(|c| {
                    Ok((
                        crate::cache::followed::read_all(c)?,
                        crate::cache::followed::changes_recorded(c)?,
                    ))
                })
                .await;
            match read {
                Ok(read) => read,
                Err(e) => {
                    lines.push(format!("  cannot read the stream state: {e}"));
                    return ok;
                }
            }
        }
        Err(e) => {
            lines.push(format!("  cannot read the stream state: {e}"));
            return ok;
        }
    };
    let (states, (changes, last_change)) = states;
    let now = std::time::SystemTime::now();
    if states.is_empty() {
        lines.push("  streams: never followed here".into());
    }
    for state in &states {
        lines.push(format!(
            "  {}",
            crate::stream::lag_line(state, now, settings.stream_max_lag)
        ));
    }
    let cover = crate::cache::followed::cover(&states, settings.stream_max_lag, now);
    let covered: Vec<&str> = crate::stream_kind::Stream::ALL
        .into_iter()
        .filter(|s| cover.since(*s).is_some())
        .map(|s| s.path())
        .collect();
    lines.push(if covered.is_empty() {
        "  cached answers: normal lives (no stream followed within stream.max_lag)".into()
    } else {
        format!(
            "  cached answers kept fresh by {} last for {} (cache.ttl_with_stream)",
            covered.join(", "),
            crate::progress::duration(settings.ttl.with_stream)
        )
    });
    if changes > 0 {
        lines.push(format!(
            "  changes recorded: {}, the last at {}",
            crate::progress::grouped(changes),
            last_change.map_or_else(|| "-".into(), crate::report::rfc3339)
        ));
    }
    ok
}

fn checked(
    provider: Provider,
    result: Result<String, SourceError>,
    credentials: String,
    url: String,
) -> Section {
    let (ok, status, check) = verdict(result);
    Section {
        provider,
        status,
        ok,
        credentials: Some(credentials),
        from: Some(ENV_ORIGIN.into()),
        url: Some(url),
        check: Some(check),
    }
}

/// No usable credentials: "not configured" (fine) or "incomplete" (a failure:
/// half a credential is a mistake).
fn unconfigured(
    provider: Provider,
    credentials: Result<(), crate::sources::social::CredentialsError>,
    url: String,
) -> Section {
    match credentials {
        Ok(()) => Section {
            provider,
            status: "not configured".into(),
            ok: true,
            credentials: Some(format!(
                "none (set {})",
                crate::sources::policy(provider).credential_label()
            )),
            from: None,
            url: Some(url),
            check: None,
        },
        Err(e) => Section {
            provider,
            status: "incomplete".into(),
            ok: false,
            credentials: Some(e.to_string()),
            from: Some(ENV_ORIGIN.into()),
            url: Some(url),
            check: None,
        },
    }
}
