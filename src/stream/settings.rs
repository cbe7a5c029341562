//! `leadgen stream`'s settings, resolved as every command's are
//! ([`crate::config::layers`]: flag, environment, file, default).

use secrecy::SecretString;

use super::{
    DEFAULT_HANDOVER, DEFAULT_IDLE_TIMEOUT, DEFAULT_ROTATE_AFTER, DEFAULT_STREAM_URL,
    STREAM_KEY_VAR, StreamSettings, Waits,
};
use crate::cache::CacheMode;
use crate::config::file::LoadedConfig;
use crate::config::layers::{Key, Layers, Secret};
use crate::config::{COMPANIES_HOUSE_KEY_VAR, cache_settings, stream_duration};
use crate::error::Error;

/// `leadgen stream`'s settings: flags, then the environment, then the
/// file's `[stream]` and `[cache]` sections.
pub fn resolve(
    args: &crate::cli::StreamArgs,
    config: &LoadedConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<crate::stream::StreamSettings, Error> {
    let layers = Layers::new(config, &env);
    let file = &config.file.stream;
    let url_key = Key::file("stream", "url")
        .flag("--stream-url")
        .var("LEADGEN_COMPANIES_HOUSE_STREAM_URL");
    let url = layers.get_or(
        &url_key,
        args.stream_url.clone().filter(|u| !u.trim().is_empty()),
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
    if env(COMPANIES_HOUSE_KEY_VAR)
        .is_some_and(|rest| rest.trim() == secrecy::ExposeSecret::expose_secret(&key))
    {
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
    let idle_timeout = stream_duration(
        &layers,
        "idle_timeout",
        file.idle_timeout.as_ref(),
        DEFAULT_IDLE_TIMEOUT,
    )?;
    let rotate_after = stream_duration(
        &layers,
        "rotate_after",
        file.rotate_after.as_ref(),
        DEFAULT_ROTATE_AFTER,
    )?;
    if args.run_for.is_some_and(|d| d.is_zero()) {
        return Err(Error::Usage("--for must be longer than 0s".into()));
    }
    let cache = cache_settings(&args.cache, CacheMode::Normal, &layers)?;
    if cache.dir.is_none() {
        return Err(Error::Cache(crate::cache::CacheError::NoDir));
    }
    Ok(StreamSettings {
        url,
        key,
        streams,
        cache,
        idle_timeout,
        rotate_after,
        handover: DEFAULT_HANDOVER,
        connections,
        waits: Waits::DOCUMENTED,
        until_caught_up: args.until_caught_up,
        run_for: args.run_for,
        output: (args.output.as_os_str() != "-").then(|| args.output.clone()),
        metrics_file: args.metrics_file.clone(),
        progress: false,
    })
}
