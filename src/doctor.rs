//! `leadgen doctor`: is the setup usable? Per provider: credentials
//! (masked) and where they came from, the base URL, and one cheap live
//! call through the normal [`Gateway`]; then the cache and Redis.
//!
//! A social provider without credentials is "not configured", not a
//! failure; Companies House without a key is a failure (it is required).

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use crate::cache::{self, Cache, CacheMode};
use crate::cli::CacheLocation;
use crate::company_number::CompanyNumber;
use crate::config::file::LoadedConfig;
use crate::config::show::{mask, mask_url_password};
use crate::config::{self, COMPANIES_HOUSE_KEY_VAR};
use crate::error::Error;
use crate::gateway::{GatewayError, Provider, ProviderSettings};
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
        if let Some(c) = &self.check {
            out.push(format!("  check:       {c}"));
        }
        out
    }
}

fn env_set(env: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    env(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A provider's base URL: environment, then file, then default.
fn base_url(
    provider: Provider,
    file_url: Option<&String>,
    default: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> String {
    let var = format!("LEADGEN_{}_URL", provider.key().to_ascii_uppercase());
    env_set(env, &var)
        .or_else(|| file_url.cloned())
        .unwrap_or_else(|| default.to_string())
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
        Err(e) => (false, "failed".into(), e.to_string()),
    }
}

pub async fn run(
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Outcome, Error> {
    let file = &config.file;
    let file_origin = |key: &str| match &config.path {
        Some(p) => format!("config {} ({key})", p.display()),
        None => format!("config file ({key})"),
    };
    let in_file = |key: &str| match &config.path {
        Some(p) => format!("{key} in {}", p.display()),
        None => key.to_string(),
    };
    let mut lines = vec![match &config.path {
        Some(p) => format!("config file: {}", p.display()),
        None => "config file: none (built-in defaults)".to_string(),
    }];
    let mut ok = true;

    // One attempt per check: doctor should answer quickly, not retry.
    let mut providers = HashMap::new();
    for (provider, section) in [
        (Provider::CompaniesHouse, &file.companies_house),
        (Provider::X, &file.x),
        (Provider::LinkedIn, &file.linkedin),
        (Provider::Facebook, &file.facebook),
    ] {
        let mut s: ProviderSettings =
            config::provider_settings(provider, section, None, env, &in_file)?;
        s.max_attempts = 1;
        providers.insert(provider, s);
    }
    let gateway = crate::sources::gateway(providers)?;
    // A fresh in-memory cache: every check goes to the provider.
    let cache = Cache::in_memory(1 << 20);
    let mut sections = Vec::new();

    // Companies House.
    let url = base_url(
        Provider::CompaniesHouse,
        file.companies_house.url.as_ref(),
        companies_house::DEFAULT_BASE_URL,
        env,
    );
    let key: Option<(SecretString, String)> = env_set(env, COMPANIES_HOUSE_KEY_VAR)
        .map(|k| (SecretString::from(k), ENV_ORIGIN.to_string()))
        .or_else(|| {
            file.companies_house
                .api_key
                .clone()
                .map(|k| (k, file_origin("companies_house.api_key")))
        });
    sections.push(match key {
        None => Section {
            provider: Provider::CompaniesHouse,
            status: "MISSING (required)".into(),
            ok: false,
            credentials: Some(format!(
                "none; set {COMPANIES_HOUSE_KEY_VAR} or companies_house.api_key"
            )),
            from: None,
            url: Some(url),
            check: None,
        },
        Some((key, from)) => {
            let masked = format!("{COMPANIES_HOUSE_KEY_VAR} = {}", mask(key.expose_secret()));
            let client = companies_house::Client::new(gateway.clone(), cache.clone(), &url, key);
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
            Section {
                provider: Provider::CompaniesHouse,
                status,
                ok: good,
                credentials: Some(masked),
                from: Some(from),
                url: Some(url),
                check: Some(check),
            }
        }
    });

    // X.
    let url = base_url(Provider::X, file.x.url.as_ref(), x::DEFAULT_BASE_URL, env);
    sections.push(match x::Credentials::from_lookup(env) {
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
            let client = x::Client::new(gateway.clone(), cache.clone(), &url, creds);
            let result = client
                .users_by_usernames(&["XDevelopers".to_string()])
                .await
                .map(|_| "GET /2/users/by?usernames=XDevelopers: answered (token accepted)".into());
            checked(Provider::X, result, masked, url)
        }
        other => unconfigured(Provider::X, other.map(|_| ()), url),
    });

    // LinkedIn.
    let url = base_url(
        Provider::LinkedIn,
        file.linkedin.url.as_ref(),
        linkedin::DEFAULT_BASE_URL,
        env,
    );
    sections.push(match linkedin::access_token_from_lookup(env) {
        Some(token) => {
            let masked = format!("LINKEDIN_ACCESS_TOKEN = {}", mask(token.expose_secret()));
            let client = linkedin::Client::new(gateway.clone(), cache.clone(), &url, token);
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
    });

    // Facebook.
    let url = base_url(
        Provider::Facebook,
        file.facebook.url.as_ref(),
        facebook::DEFAULT_BASE_URL,
        env,
    );
    sections.push(match facebook::AppCredentials::from_lookup(env) {
        Ok(Some(app)) => {
            let masked = format!(
                "FACEBOOK_APP_ID = {}, FACEBOOK_APP_SECRET = {}",
                mask(&app.app_id),
                mask(app.app_secret.expose_secret())
            );
            let client = facebook::Client::new(gateway.clone(), cache.clone(), &url, app);
            let result = client.search_pages("leadgen").await.map(|_| {
                format!(
                    "GET /{}/pages/search?q=leadgen: answered (app token accepted)",
                    facebook::GRAPH_VERSION
                )
            });
            checked(Provider::Facebook, result, masked, url)
        }
        other => unconfigured(Provider::Facebook, other.map(|_| ()), url),
    });

    for s in &sections {
        ok &= s.ok;
        lines.extend(s.lines());
    }

    // The cache tiers.
    lines.push("Cache:".into());
    match config::cache_settings(&CacheLocation::default(), CacheMode::Normal, config, env) {
        Err(e) => {
            ok = false;
            lines.push(format!("  failed: {e}"));
        }
        Ok(settings) => {
            match &settings.redis_url {
                Some(u) => lines.push(format!(
                    "  redis URL: {}",
                    mask_url_password(u.expose_secret())
                )),
                None => lines.push("  redis: not configured".into()),
            }
            match cache::admin::stats(&settings).await {
                Ok(done) => {
                    ok &= done.ok;
                    if settings.redis_url.is_some() {
                        lines.push(format!(
                            "  redis: {}",
                            if done.ok { "reachable" } else { "UNREACHABLE" }
                        ));
                    }
                    lines.extend(done.lines.iter().map(|l| format!("  {l}")));
                }
                Err(e) => {
                    ok = false;
                    lines.push(format!("  failed: {e}"));
                }
            }
        }
    }
    cache.close().await;
    lines.push(String::new());
    lines.push(if ok {
        "doctor: everything configured works".into()
    } else {
        "doctor: problems found (see above)".into()
    });
    Ok(Outcome { lines, ok })
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
