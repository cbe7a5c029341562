//! `leadgen config show`: the effective configuration, key by key, with
//! where each value came from, and secrets masked.
//!
//! Values and origins come from the same resolution a run makes
//! ([`super::layers`]): a key's environment variable (for the keys that
//! have one), then the loaded config file, then the built-in default.
//! (`config show` takes no flags of its own.)

use crate::cli::DiscoverArgs;
use crate::error::Error;
use crate::gateway::Provider;

use super::Resolved;
use super::file::LoadedConfig;
pub use super::format_duration;
pub use super::layers::Origin;
use super::layers::{Entry, Layers, quoted};

pub use crate::masking::{mask, mask_url_password};

/// The effective configuration, section by section: what a `discover`
/// without flags would resolve, key by key.
pub fn effective(
    config: &LoadedConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, Vec<Entry>)>, Error> {
    let layers = Layers::new(config, env);
    Resolved::from(&DiscoverArgs::default(), &layers)?;
    super::stream_keys(&layers, None)?;
    let entries = layers.entries();
    Ok(SECTIONS
        .iter()
        .map(|section| {
            let keys = entries
                .iter()
                .filter(|e| e.section == *section)
                .cloned()
                .collect();
            (*section, keys)
        })
        .collect())
}

/// The config file's sections, in the order the example file has them.
const SECTIONS: [&str; 8] = [
    "discover",
    "companies_house",
    "x",
    "linkedin",
    "facebook",
    "cache",
    "register",
    "stream",
];

/// The credentials of the social sources (environment only), masked, as
/// comment lines for their section.
fn social_credentials(provider: Provider, env: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    crate::sources::policy(provider)
        .credential_vars()
        .iter()
        .map(|var| env_credential(var, env))
        .collect()
}

/// An environment-only credential, masked, as a comment line.
fn env_credential(var: &str, env: &impl Fn(&str) -> Option<String>) -> String {
    match env(var).filter(|v| !v.trim().is_empty()) {
        Some(v) => format!("# {var} = {}  # from: env {var}", quoted(&mask(v.trim()))),
        None => format!("# {var}: unset"),
    }
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
        if section == "stream" {
            lines.push(env_credential(super::STREAM_KEY_VAR, env));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
