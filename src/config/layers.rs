//! Where each setting comes from, decided in one place: a flag, then the
//! environment, then the config file, then the built-in default.
//!
//! Every command resolves its settings through [`Layers`]: `discover`
//! (with its flags), `config show` and `doctor` (without). Each value
//! resolved is recorded with its [`Origin`] and its text as TOML writes it
//! (secrets masked), so `config show` prints exactly what a run would use
//! and where it came from.

use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::file::LoadedConfig;
use crate::cli::SourceName;
use crate::error::Error;
use crate::output::Format;

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

/// A setting's name in each layer.
#[derive(Debug, Clone)]
pub struct Key {
    /// Config file section and key: `[cache] ttl_search`.
    pub section: &'static str,
    pub name: &'static str,
    /// The flag that sets it, for messages (`--concurrency`).
    pub flag: Option<&'static str>,
    /// The environment variable that sets it.
    pub var: Option<String>,
}

impl Key {
    pub fn file(section: &'static str, name: &'static str) -> Key {
        Key {
            section,
            name,
            flag: None,
            var: None,
        }
    }

    pub fn flag(mut self, flag: &'static str) -> Key {
        self.flag = Some(flag);
        self
    }

    pub fn var(mut self, var: impl Into<String>) -> Key {
        self.var = Some(var.into());
        self
    }
}

/// One resolved value, as `config show` prints it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub section: &'static str,
    pub key: &'static str,
    /// TOML text, secrets masked; `None`: unset.
    pub value: Option<String>,
    pub origin: Origin,
}

/// How a value is shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Secret {
    No,
    Whole,
    UrlPassword,
}

/// A value a layer can hold: read from an environment variable's text,
/// and written as TOML for `config show`.
pub trait Value: Sized {
    /// `None`: this kind of value has no environment variable.
    fn from_env(text: &str) -> Option<Self> {
        let _ = text;
        None
    }
    fn toml(&self, secret: Secret) -> String;
}

/// A string as TOML writes it.
pub fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn shown(s: &str, secret: Secret) -> String {
    match secret {
        Secret::No => quoted(s),
        Secret::Whole => quoted(&super::show::mask(s)),
        Secret::UrlPassword => quoted(&super::show::mask_url_password(s)),
    }
}

impl Value for String {
    fn from_env(text: &str) -> Option<String> {
        Some(text.to_owned())
    }
    fn toml(&self, secret: Secret) -> String {
        shown(self, secret)
    }
}

impl Value for PathBuf {
    fn from_env(text: &str) -> Option<PathBuf> {
        Some(PathBuf::from(text))
    }
    fn toml(&self, secret: Secret) -> String {
        shown(&self.display().to_string(), secret)
    }
}

impl Value for SecretString {
    fn from_env(text: &str) -> Option<SecretString> {
        Some(SecretString::from(text.to_owned()))
    }
    fn toml(&self, secret: Secret) -> String {
        // A secret is never shown whole, whatever the caller asked.
        let secret = if secret == Secret::No {
            Secret::Whole
        } else {
            secret
        };
        shown(self.expose_secret(), secret)
    }
}

macro_rules! plain_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn toml(&self, _: Secret) -> String {
                self.to_string()
            }
        }
    )*};
}
plain_value!(usize, u32, u64, bool);

impl Value for f64 {
    fn toml(&self, _: Secret) -> String {
        toml::Value::Float(*self).to_string()
    }
}

impl Value for Format {
    fn toml(&self, _: Secret) -> String {
        quoted(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        })
    }
}

impl Value for Vec<SourceName> {
    fn toml(&self, _: Secret) -> String {
        let names = self
            .iter()
            .map(|s| {
                toml::Value::String(
                    match s {
                        SourceName::Ch => "ch",
                        SourceName::X => "x",
                        SourceName::Linkedin => "linkedin",
                        SourceName::Facebook => "facebook",
                    }
                    .to_owned(),
                )
            })
            .collect();
        toml::Value::Array(names).to_string()
    }
}

/// The flags, environment and config file of one command, and every value
/// resolved from them so far.
pub struct Layers<'a> {
    config: &'a LoadedConfig,
    env: &'a dyn Fn(&str) -> Option<String>,
    entries: RefCell<Vec<Entry>>,
}

impl<'a> Layers<'a> {
    pub fn new(config: &'a LoadedConfig, env: &'a dyn Fn(&str) -> Option<String>) -> Layers<'a> {
        Layers {
            config,
            env,
            entries: RefCell::new(Vec::new()),
        }
    }

    pub fn config(&self) -> &LoadedConfig {
        self.config
    }

    /// A variable's value, when set and not blank (trimmed).
    pub fn env(&self, var: &str) -> Option<String> {
        (self.env)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `KEY in FILE` (or `KEY` without a file), for messages about file values.
    pub fn in_file(&self, key: &str) -> String {
        match &self.config.path {
            Some(p) => format!("{key} in {}", p.display()),
            None => key.to_string(),
        }
    }

    /// Where `key` would be set, for messages: `--flag, VAR or section.key in FILE`.
    pub fn names(&self, key: &Key) -> String {
        let mut names: Vec<String> = key.flag.iter().map(|f| f.to_string()).collect();
        names.extend(key.var.clone());
        names.push(self.in_file(&format!("{}.{}", key.section, key.name)));
        match names.len() {
            1 => names.remove(0),
            n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }

    /// The first layer that sets `key`: `flag`, the key's variable, then
    /// `file` (the config file's typed value). Recorded when found.
    pub fn get<T: Value>(
        &self,
        key: &Key,
        flag: Option<T>,
        file: Option<T>,
        secret: Secret,
    ) -> Option<T> {
        let found = flag
            .map(|v| (v, Origin::Flag(key.flag.unwrap_or(key.name).to_owned())))
            .or_else(|| {
                let var = key.var.as_deref()?;
                let v = T::from_env(&self.env(var)?)?;
                Some((v, Origin::Env(var.to_owned())))
            })
            .or_else(|| {
                let path = self.config.path.clone()?;
                file.map(|v| (v, Origin::File(path)))
            });
        let (value, origin) = found?;
        self.record(key, Some(value.toml(secret)), origin);
        Some(value)
    }

    /// As [`Layers::get`], falling back on `default`.
    pub fn get_or<T: Value>(
        &self,
        key: &Key,
        flag: Option<T>,
        file: Option<T>,
        secret: Secret,
        default: T,
    ) -> T {
        match self.get(key, flag, file, secret) {
            Some(v) => v,
            None => {
                self.record(key, Some(default.toml(secret)), Origin::Default);
                default
            }
        }
    }

    /// As [`Layers::get`] for a value kept as text until its caller reads
    /// it (a duration, a quota); `default` is shown as given, or the key as
    /// unset. Returns the text and where it came from.
    pub fn text(
        &self,
        key: &Key,
        flag: Option<String>,
        file: Option<&String>,
        default: Option<String>,
    ) -> Option<(String, Origin)> {
        let found = self.get(key, flag, file.cloned(), Secret::No);
        let origin = match &found {
            Some(_) => self.origin_of(key),
            None => {
                self.record(key, default.as_deref().map(quoted), Origin::Default);
                None
            }
        };
        found.zip(origin)
    }

    /// Records `key` as unset or defaulted to `shown` (TOML text).
    pub fn default_shown(&self, key: &Key, shown: Option<String>) {
        self.record(key, shown, Origin::Default);
    }

    fn origin_of(&self, key: &Key) -> Option<Origin> {
        self.entries
            .borrow()
            .iter()
            .rev()
            .find(|e| e.section == key.section && e.key == key.name)
            .map(|e| e.origin.clone())
    }

    fn record(&self, key: &Key, value: Option<String>, origin: Origin) {
        let mut entries = self.entries.borrow_mut();
        // A key resolved twice (the same provider for two commands) keeps
        // its latest answer.
        entries.retain(|e| !(e.section == key.section && e.key == key.name));
        entries.push(Entry {
            section: key.section,
            key: key.name,
            value,
            origin,
        });
    }

    /// Every value resolved, in the order they were.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.borrow().clone()
    }

    /// Turns a message about a value into a usage error naming where it came from.
    pub fn bad(&self, key: &Key, origin: &Origin, why: impl fmt::Display) -> Error {
        let at = match origin {
            Origin::Flag(f) => f.clone(),
            Origin::Env(v) => v.clone(),
            Origin::File(_) => self.in_file(&format!("{}.{}", key.section, key.name)),
            Origin::Default => format!("{}.{}", key.section, key.name),
        };
        Error::Usage(format!("{at}: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_file_beats_default_and_each_is_recorded() {
        let config = LoadedConfig {
            path: Some(PathBuf::from("/etc/leadgen.toml")),
            file: Default::default(),
        };
        let env = |k: &str| (k == "V").then(|| " from-env ".to_owned());
        let layers = Layers::new(&config, &env);
        let key = Key::file("s", "k").flag("--k").var("V");
        let pick = |flag: Option<&str>, file: Option<&str>| {
            layers.get_or(
                &key,
                flag.map(str::to_owned),
                file.map(str::to_owned),
                Secret::No,
                "default".to_owned(),
            )
        };
        assert_eq!(pick(Some("flag"), Some("file")), "flag");
        assert_eq!(layers.entries()[0].origin, Origin::Flag("--k".into()));
        assert_eq!(pick(None, Some("file")), "from-env");
        assert_eq!(layers.entries()[0].origin, Origin::Env("V".into()));
        let no_env = |_: &str| None;
        let layers = Layers::new(&config, &no_env);
        let file_only = layers.get_or(
            &key,
            None,
            Some("file".to_owned()),
            Secret::No,
            String::new(),
        );
        assert_eq!(file_only, "file");
        assert_eq!(
            layers.entries()[0].origin,
            Origin::File("/etc/leadgen.toml".into())
        );
        let n = layers.get_or(&Key::file("s", "n"), None, None, Secret::No, 8_usize);
        assert_eq!(n, 8);
        let entries = layers.entries();
        assert_eq!(entries.len(), 2, "one entry per key");
        assert_eq!(
            (entries[1].value.as_deref(), &entries[1].origin),
            (Some("8"), &Origin::Default)
        );
        assert_eq!(layers.names(&key), "--k, V or s.k in /etc/leadgen.toml");
    }

    #[test]
    fn secrets_are_masked_whatever_the_caller_asks() {
        let config = LoadedConfig::default();
        let env = |_: &str| Some("super-secret-value".to_owned());
        let layers = Layers::new(&config, &env);
        let key = Key::file("s", "api_key").var("K");
        let got: Option<SecretString> = layers.get(&key, None, None, Secret::No);
        assert_eq!(got.unwrap().expose_secret(), "super-secret-value");
        assert_eq!(layers.entries()[0].value.as_deref(), Some("\"supe…alue\""));
    }
}
