//! Validated run settings, built from the parsed flags and the environment.
//! Everything here is checked before any input is read or output written.

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::cli::DiscoverArgs;
use crate::error::Error;
use crate::gateway::{Provider, ProviderSettings, Quota};
use crate::merge::MergeOptions;
use crate::output::Format;
use crate::sources::companies_house::DEFAULT_BASE_URL;

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
}

impl DiscoverSettings {
    /// `env` looks a variable up (the process environment, after `.env`).
    pub fn from_args(
        args: &DiscoverArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DiscoverSettings, Error> {
        if args.concurrency == 0 {
            return Err(Error::Usage("--concurrency must be at least 1".into()));
        }
        let url = args
            .companies_house_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(Error::Usage(format!(
                    "LEADGEN_COMPANIES_HOUSE_URL / --companies-house-url: {url:?} is not an http(s) URL"
                )));
            }
        }
        let key = env(COMPANIES_HOUSE_KEY_VAR)
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .ok_or(Error::MissingApiKey)?;
        let mut ch = ProviderSettings::from_lookup(Provider::CompaniesHouse, &env)
            .map_err(|e| Error::Usage(e.to_string()))?;
        if let Some(flag) = &args.companies_house_rate_limit {
            ch.quota = Quota::parse(flag)
                .map_err(|e| Error::Usage(format!("--companies-house-rate-limit: {e}")))?;
        }
        let output = (args.output.as_os_str() != "-").then(|| args.output.clone());
        Ok(DiscoverSettings {
            input: args.input.clone(),
            output,
            format: args.format,
            merge: MergeOptions {
                include_resigned: args.include_resigned,
                include_birth: args.include_birth_month,
            },
            concurrency: args.concurrency,
            companies_house_url: url,
            companies_house_key: SecretString::from(key),
            providers: HashMap::from([(Provider::CompaniesHouse, ch)]),
        })
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
