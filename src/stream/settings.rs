//! `leadgen stream`'s settings, resolved as every command's are
//! ([`crate::config::layers`]: flag, environment, file, default).

use secrecy::SecretString;

use super::{DEFAULT_HANDOVER, STREAM_KEY_VAR, StreamSettings, Waits};
use crate::cache::CacheMode;
use crate::config::file::LoadedConfig;
use crate::config::layers::Layers;
use crate::config::{COMPANIES_HOUSE_KEY_VAR, cache_settings};
use crate::error::Error;

/// `leadgen stream`'s settings: flags, then the environment, then the
/// file's `[stream]` and `[cache]` sections.
pub fn resolve(
    args: &crate::cli::StreamArgs,
    config: &LoadedConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<crate::stream::StreamSettings, Error> {
    let layers = Layers::new(config, &env);
    let keys = crate::config::stream_keys(&layers, args.stream_url.clone())?;
    let key = env(STREAM_KEY_VAR)
        .filter(|k| !k.trim().is_empty())
        .map(|k| SecretString::from(k.trim().to_owned()))
        .ok_or_else(|| {
            Error::Usage(format!(
                "no streaming key: set {STREAM_KEY_VAR} in the environment or in a .env file. \
                 The streaming API takes its own kind of key: add a Streaming API key to your \
                 application at https://developer.company-information.service.gov.uk/manage-applications \
                 (the REST key in {COMPANIES_HOUSE_KEY_VAR} does not work there)."
            ))
        })?;
    let rest = crate::config::companies_house_key(&layers);
    if crate::config::is_rest_key(secrecy::ExposeSecret::expose_secret(&key), rest.as_ref()) {
        return Err(Error::Usage(format!(
            "{STREAM_KEY_VAR} is the same key as {COMPANIES_HOUSE_KEY_VAR}: a REST API key does \
             not work on the streaming API. Add a Streaming API key to your application and use that."
        )));
    }
    let mut streams = Vec::new();
    for name in &args.streams {
        let stream = crate::stream_kind::Stream::parse(name).ok_or_else(|| {
            Error::Usage(format!(
                "--streams: {name:?} is not a stream leadgen follows (companies, officers, psc, psc-statements)"
            ))
        })?;
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    if streams.is_empty() {
        streams = crate::stream_kind::Stream::ALL.to_vec();
    }
    if args.run_for.is_some_and(|d| d.is_zero()) {
        return Err(Error::Usage("--for must be longer than 0s".into()));
    }
    let cache = cache_settings(&args.cache, CacheMode::Normal, &layers)?;
    if cache.dir.is_none() {
        return Err(Error::Cache(crate::cache::CacheError::NoDir));
    }
    Ok(StreamSettings {
        url: keys.url,
        key,
        streams,
        cache,
        idle_timeout: keys.idle_timeout,
        rotate_after: keys.rotate_after,
        handover: DEFAULT_HANDOVER,
        connections: keys.connections,
        waits: Waits::DOCUMENTED,
        until_caught_up: args.until_caught_up,
        run_for: args.run_for,
        output: (args.output.as_os_str() != "-").then(|| args.output.clone()),
        metrics_file: args.metrics_file.clone(),
        progress: false,
    })
}
