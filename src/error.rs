//! Errors a user can see, and the exit code each maps to.

use std::path::PathBuf;

use crate::input::InputError;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Every row processed (matched, not_found or ambiguous).
    pub const OK: u8 = 0;
    /// Any other failure.
    pub const FAILURE: u8 = 1;
    /// Usage or input error; nothing was written.
    pub const USAGE: u8 = 2;
    /// Finished, but some rows ended in `error`.
    pub const ROW_ERRORS: u8 = 3;
    /// Another run holds the lock on the same output; nothing was done.
    /// 75 is `EX_TEMPFAIL` (sysexits.h): try again later.
    pub const LOCKED: u8 = 75;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Usage(String),
    #[error("{}", missing_key_message())]
    MissingApiKey,
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another leadgen run is writing {target} (it holds the lock {}); this run stopped before \
         doing anything. Try again when that run has finished.",
        lock.display()
    )]
    Locked { target: String, lock: PathBuf },
    #[error("interrupted")]
    Interrupted,
    /// The HTTP client could not be built (TLS roots, say): not the user's
    /// usage, so not exit 2.
    #[error("cannot set up the HTTP client: {0}")]
    Gateway(#[from] crate::gateway::GatewayError),
    /// The cache could not be opened or administered.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// The run journal could not be opened or read.
    #[error("run journal {source}{}", if *.at_open { "; set LEADGEN_CACHE_DIR (or --cache-dir) to a writable directory" } else { "" })]
    Journal {
        #[source]
        source: crate::db::DbError,
        /// Opening failed: the directory is the likely cause.
        at_open: bool,
    },
    /// The input could not be read to identify the run.
    #[error("{}: {source}", path.display())]
    ReadInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A source failed outside any row (`explain`).
    #[error(transparent)]
    Source(#[from] crate::sources::SourceError),
    #[error("cannot render row {row}: {source}")]
    Render {
        row: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take the run lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The local register could not be imported or read.
    #[error(transparent)]
    Register(#[from] crate::register::RegisterError),
    /// A value built into leadgen is invalid: a bug.
    #[error("internal error: {what}: {source}")]
    Internal {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Usage(_) | Error::MissingApiKey => exit::USAGE,
            Error::Register(e) if e.is_input() => exit::USAGE,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Locked { .. } => exit::LOCKED,
            Error::Output { .. }
            | Error::Gateway(_)
            | Error::Cache(_)
            | Error::Journal { .. }
            | Error::ReadInput { .. }
            | Error::Source(_)
            | Error::Render { .. }
            | Error::Lock { .. }
            | Error::Runtime(_)
            | Error::Register(_)
            | Error::Internal { .. } => exit::FAILURE,
        }
    }

    /// Writing to a closed pipe (`leadgen discover ... | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

fn missing_key_message() -> String {
    "no Companies House API key: set COMPANIES_HOUSE_API_KEY in the environment or in a .env file \
     in the working directory.\n  Get a free key: register at https://developer.company-information.service.gov.uk/, \
     create an application and add a REST API key to it.\n  To try leadgen without a key, run the demo \
     against the bundled fake API: ./scripts/demo"
        .to_string()
}
