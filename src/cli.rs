//! Command-line flags as parsed. [`crate::config`] turns them into
//! validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// A source `--sources` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceName {
    Ch,
    X,
    Linkedin,
    Facebook,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

const EXIT_CODES: &str = "\
Exit codes:
  0    every row processed (matched, not_found or ambiguous)
  1    any other failure
  2    usage or input error (nothing written)
  3    finished, but some rows ended in `error`
  75   another run is writing the same output (it holds the lock); nothing done
  130  interrupted (Ctrl-C)";

/// Find the executives of UK companies from the Companies House register.
#[derive(Debug, Parser)]
#[command(name = "leadgen", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log more (repeat for more detail); logs go to stderr. `LEADGEN_LOG`
    /// takes a tracing filter for finer control.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log format on stderr: `text` for people, `json` (one object per
    /// line) for machines. Every line carries the run id.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "LEADGEN_LOG_FORMAT",
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// Configuration file (TOML; see config/leadgen.example.toml). Default:
    /// ~/.config/leadgen/config.toml if it exists.
    #[arg(long, global = true, env = "LEADGEN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up every company of a CSV file and write its executives.
    ///
    /// The input needs a header row with a company name column
    /// (`company_name`, `name` or `company`); optional columns are
    /// `company_number`, `postcode`, `website` and `id` (echoed back).
    /// Every input row appears in the output, in input order, with a status:
    /// matched, not_found, ambiguous or error.
    ///
    /// Answers are cached (memory, optional Redis, SQLite in the cache
    /// directory), so a re-run over the same companies costs little quota.
    /// A run that is interrupted or killed resumes when the same command is
    /// run again: rows already finished are not looked up again. Input read
    /// from stdin is not resumable.
    #[command(after_help = EXIT_CODES)]
    Discover(DiscoverArgs),

    /// Show how leadgen resolves one company name: the searches it makes,
    /// every candidate with its probability and the evidence behind it,
    /// and the verdict. For cleaning a lead list row by row.
    Explain(ExplainArgs),

    /// List companies by industry (SIC) and place, for a lead list to feed
    /// to `discover`: `leadgen find --sic 43220 --postcode 'LS*' | leadgen
    /// discover -`. Answered from the local register with no call when one
    /// is imported; otherwise (or with --online) from Companies House's
    /// advanced search, paged, paced and cached. A query that matches
    /// nothing writes the header only and exits 0.
    #[command(after_help = FIND_EXIT_CODES)]
    Find(FindArgs),

    /// What changed between two `discover` outputs (JSON Lines or JSON):
    /// executives appointed and resigned, PSCs added and ceased, companies
    /// whose status or name changed. One change per line, as CSV or JSON
    /// Lines. Exits 0 whether or not anything changed, unless --exit-code.
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(DiffArgs),

    /// Follow Companies House's streaming API (companies, officers, PSCs,
    /// PSC statements):
    /// each change drops the changed company's cached answers, and is
    /// written as a JSON line when the cache knew the company. While the
    /// streams are followed, cached answers stay valid for
    /// cache.ttl_with_stream (30 days), so a nightly discover re-fetches
    /// only what changed. Needs a Streaming API key in
    /// COMPANIES_HOUSE_STREAM_KEY (not the REST key). Resumes where it
    /// stopped; Ctrl-C stops it cleanly.
    #[command(after_help = STREAM_EXIT_CODES)]
    Stream(StreamArgs),

    /// SIC 2007 codes, as Companies House uses them.
    Sic {
        #[command(subcommand)]
        action: SicAction,
    },

    /// Inspect and maintain the persistent cache.
    Cache(CacheArgs),

    /// A local copy of the company register, from Companies House's free
    /// monthly bulk file (BasicCompanyData), kept under the cache directory.
    Register(RegisterArgs),

    /// Check the setup: credentials (masked) and where they came from, one
    /// cheap live call per configured provider, the cache and Redis.
    /// Exits 0 only if everything configured works; a social source without
    /// credentials is "not configured", a missing Companies House key fails.
    Doctor,

    /// Show the configuration in force.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },

    /// Write shell completions or the man page to stdout (for packagers).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Debug, Subcommand)]
pub enum SicAction {
    /// Codes whose text (or division or section title) holds every word,
    /// or whose code starts with a number given: code, section, division
    /// and text.
    Search {
        #[arg(required = true, value_name = "WORDS")]
        words: Vec<String>,
        /// Output format [default: a table].
        #[arg(short, long, value_enum)]
        format: Option<ListFormat>,
    },
}

/// What `find` and `sic search` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Csv,
    Jsonl,
}

const DIFF_EXIT_CODES: &str = "Exit codes: 0 done (with --exit-code: 0 nothing changed, 1 \
changes found, as `git diff --exit-code`); 2 an output that cannot be read (the file and line \
are named); 1 the result cannot be written.";

const STREAM_EXIT_CODES: &str = "Exit codes: 0 stopped as asked (caught up, --for elapsed, \
Ctrl-C); 1 a failure (the cache not writable); 2 no streaming key, or the key refused (401: a \
REST key used as a streaming key), or a bad flag; 75 another `leadgen stream` follows the same \
key on this machine.";

#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Consume what was published since the last run, then exit (for cron).
    #[arg(long)]
    pub until_caught_up: bool,

    /// Follow for this long (e.g. 8h), then exit; without it and without
    /// --until-caught-up, follow until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub run_for: Option<std::time::Duration>,

    /// Streams to follow, comma-separated [default: companies,officers,psc,psc-statements].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub streams: Vec<String>,

    /// Append the change lines (JSON) to FILE instead of writing them to stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,

    /// Write the streams' lag, timepoints and this run's counts in the
    /// Prometheus text format to FILE (every 15 s, and at the end).
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Streaming API base URL (for a proxy or the bundled fake).
    #[arg(long, env = "LEADGEN_COMPANIES_HOUSE_STREAM_URL", value_name = "URL")]
    pub stream_url: Option<String>,

    #[command(flatten)]
    pub cache: CacheLocation,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier output (`discover -f jsonl` or `-f json`).
    pub old: PathBuf,
    /// The later output.
    pub new: PathBuf,
    /// Output format [default: csv].
    #[arg(short, long, value_enum)]
    pub format: Option<ListFormat>,
    /// Write to FILE instead of stdout; `-` is stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Exit 1 when something changed, 0 when nothing did.
    #[arg(long)]
    pub exit_code: bool,
}

const FIND_EXIT_CODES: &str = "Exit codes: 0 done (also when nothing matches, or more match \
than --limit: a note on stderr says so); 1 a failure (Companies House unreachable, a file \
not writable); 2 a bad filter (unknown SIC code, malformed date or postcode, contradictory \
filters) or no API key for an online search; 130 interrupted.";

#[derive(Debug, Default, Args)]
pub struct FindArgs {
    /// SIC 2007 codes, comma-separated (e.g. 43220,43210); see `leadgen sic search`.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub sic: Vec<String>,

    /// Every code of a SIC section (a letter, F) or division (two digits, 43); comma-separated.
    #[arg(long, value_name = "SECTIONS", value_delimiter = ',')]
    pub sic_section: Vec<String>,

    /// Registered office postcodes, comma-separated: LS1 4AP, a sector LS1 4, a
    /// district LS1, or a prefix LS* (the LS area) or LS1* (LS1, LS10-LS19).
    #[arg(long, value_name = "POSTCODES", value_delimiter = ',')]
    pub postcode: Vec<String>,

    /// Free-text place (Leeds). Online, Companies House matches it; from the
    /// register, every word must be in the registered office address.
    #[arg(long, value_name = "TEXT")]
    pub location: Option<String>,

    /// Company statuses, comma-separated (active, liquidation, ...; `any` for all).
    #[arg(
        long,
        value_name = "STATUSES",
        value_delimiter = ',',
        default_value = "active"
    )]
    pub status: Vec<String>,

    /// Company types, comma-separated (ltd, plc, llp, ...).
    #[arg(long = "type", value_name = "TYPES", value_delimiter = ',')]
    pub company_type: Vec<String>,

    /// Incorporated on or after DATE (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub incorporated_from: Option<String>,

    /// Incorporated on or before DATE (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub incorporated_to: Option<String>,

    /// Words every company name must hold.
    #[arg(long, value_name = "WORDS")]
    pub name_includes: Option<String>,

    /// Write at most N companies (a note says how many more match).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Output format [default: csv].
    #[arg(short, long, value_enum)]
    pub format: Option<ListFormat>,

    /// Write to FILE (replaced only when complete) instead of stdout; `-` is stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,

    /// Ask Companies House even when a local register is imported.
    #[arg(long)]
    pub online: bool,

    /// Print the calls an online search would make, and make none.
    #[arg(long)]
    pub plan: bool,

    /// Companies House API base URL (for a proxy or the bundled fake).
    #[arg(long, env = "LEADGEN_COMPANIES_HOUSE_URL", value_name = "URL")]
    pub companies_house_url: Option<String>,

    #[command(flatten)]
    pub cache: CacheLocation,

    /// Neither read nor write the persistent cache (SQLite, Redis).
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Every key with its effective value and where it came from (env,
    /// config file or default); secrets are masked.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Completions for SHELL (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// The man page, in roff.
    Man,
}

/// Where the persistent cache is. Precedence: flag, then environment, then
/// the config file's `[cache]` section.
#[derive(Debug, Clone, Default, Args)]
pub struct CacheLocation {
    /// Directory of the SQLite cache and the run journal. Overrides
    /// LEADGEN_CACHE_DIR [default: the user's cache directory, e.g.
    /// ~/.cache/leadgen].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Redis server for a shared cache tier, e.g. redis://127.0.0.1:6379/0.
    /// Overrides LEADGEN_REDIS_URL. If it cannot be reached, leadgen warns
    /// and carries on without it.
    #[arg(long, global = true, value_name = "URL")]
    pub redis_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(subcommand)]
    pub action: RegisterAction,

    #[command(flatten)]
    pub location: CacheLocation,
}

#[derive(Debug, Subcommand)]
pub enum RegisterAction {
    /// Import BasicCompanyDataAsOneFile-YYYY-MM-DD.zip, or its part files
    /// (BasicCompanyData-YYYY-MM-DD-partN_M.zip), zipped or not. The new
    /// register is built beside the old one and replaces it only when
    /// complete; a bad row is counted and reported, never fatal.
    Import {
        /// The files (download them from
        /// https://download.companieshouse.gov.uk/en_output.html).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Import the daily snapshot of persons with significant control
    /// (persons-with-significant-control-snapshot-YYYY-MM-DD.zip, or its
    /// parts psc-snapshot-YYYY-MM-DD_IofN.zip, in order). Only a snapshot
    /// that ends in its totals record, with the counts it names, replaces
    /// the previous one.
    ImportPsc {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// The register's snapshot date, rows, size and age; warns, and exits
    /// with 1, when the company snapshot is older than 40 days or the PSC
    /// snapshot older than 7.
    Status,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,

    #[command(flatten)]
    pub location: CacheLocation,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Entries and size per tier and provider, and the last run's hit ratios.
    Stats,
    /// Delete every cached answer (SQLite and Redis).
    Clear,
    /// Delete what is cached about one company: its profile, officers and
    /// PSCs, and searches whose answer lists it.
    Invalidate {
        /// Company number, e.g. 04475590 or SC123.
        #[arg(long, value_name = "NUMBER")]
        company: String,
    },
    /// Delete expired entries from the SQLite cache (Redis expires its own).
    Prune,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The company name as the lead list has it.
    pub name: String,

    /// The postcode the row gives, if any.
    #[arg(long, value_name = "POSTCODE")]
    pub postcode: Option<String>,

    /// The row says the company is dissolved: prefer companies no longer live.
    #[arg(long)]
    pub dissolved: bool,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Candidates to show [default: 10].
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Most searches to make for the name [default: 3].
    #[arg(long, value_name = "N")]
    pub max_searches_per_row: Option<u32>,

    /// Companies House API base URL (for a proxy or the bundled fake).
    #[arg(long, env = "LEADGEN_COMPANIES_HOUSE_URL", value_name = "URL")]
    pub companies_house_url: Option<String>,

    #[command(flatten)]
    pub cache: CacheLocation,

    /// Neither read nor write the persistent cache (SQLite, Redis).
    #[arg(long)]
    pub no_cache: bool,

    /// Search the API even when a local register is imported, as `discover --online`.
    #[arg(long)]
    pub online: bool,
}

#[derive(Debug, Default, Args)]
pub struct DiscoverArgs {
    /// CSV file of companies; `-` reads stdin (a run from stdin cannot be resumed).
    pub input: PathBuf,

    /// Output format [default: csv].
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,

    /// Write to FILE (replaced only when the run completes) instead of stdout; `-` is stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,

    /// Also list resigned officers and ceased persons with significant control.
    #[arg(long)]
    pub include_resigned: bool,

    /// Output each person's month and year of birth (not shown by default).
    #[arg(long)]
    pub include_birth_month: bool,

    /// Keep only the executives whose seniority is `executive` (those who
    /// run the company: see the seniority column).
    #[arg(long)]
    pub executives_only: bool,

    /// Also list each officer's other appointments (appointments_count,
    /// other_appointments): one call per distinct officer per page of
    /// their appointments list, cached like every other call.
    #[arg(long)]
    pub appointments: bool,

    /// Companies looked up at once; output order stays the input order [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Companies House quota as LIMIT/WINDOW (e.g. `600/5m`, the published
    /// default; `1200/5m` for a raised limit). Overrides
    /// LEADGEN_COMPANIES_HOUSE_RATE_LIMIT.
    #[arg(long, value_name = "LIMIT/WINDOW")]
    pub companies_house_rate_limit: Option<String>,

    /// Sources to use, comma-separated: ch (Companies House, always needed),
    /// x, linkedin, facebook. A source without credentials is skipped with a
    /// note in the run summary [default: all].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub sources: Option<Vec<SourceName>>,

    /// Leave out executives scored below this confidence (0..1).
    #[arg(long, value_name = "SCORE")]
    pub min_confidence: Option<f64>,

    /// Name searches per name row on average over the batch: when the
    /// first search does not settle a name, leadgen tries other forms of
    /// it while the batch stays within this [default: 1.5]. Searches
    /// answered from the cache are free.
    #[arg(long, value_name = "AVG")]
    pub search_budget: Option<f64>,

    /// Most name searches for one row [default: 3].
    #[arg(long, value_name = "N")]
    pub max_searches_per_row: Option<u32>,

    /// Companies House API base URL (for a proxy or the bundled fake).
    #[arg(long, env = "LEADGEN_COMPANIES_HOUSE_URL", value_name = "URL")]
    pub companies_house_url: Option<String>,

    #[command(flatten)]
    pub cache: CacheLocation,

    /// Neither read nor write the persistent cache (SQLite, Redis).
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,

    /// Ignore cached answers and fetch afresh, writing the fresh answers to
    /// the cache.
    #[arg(long)]
    pub refresh: bool,

    /// Start from the first row even if an earlier run of the same command
    /// was interrupted (its progress is discarded).
    #[arg(long)]
    pub restart: bool,

    /// Keep only companies with one of these SIC 2007 codes (comma-separated):
    /// a matched company outside them ends with status `filtered`, and its
    /// officers are not fetched. See `leadgen sic search`.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub sic: Vec<String>,

    /// As --sic, for every code of a SIC section (F) or division (43).
    #[arg(long, value_name = "SECTIONS", value_delimiter = ',')]
    pub sic_section: Vec<String>,

    /// Resolve every company through the API even when a local register
    /// (`leadgen register import`) is there to answer searches and profiles.
    #[arg(long)]
    pub online: bool,

    /// Make no calls and write nothing: say how many rows there are, how
    /// many are answered from the cache, how many API calls the rest need
    /// and how long they take at the configured quota.
    #[arg(long)]
    pub plan: bool,

    /// Write the run summary as JSON to FILE (rows by status, executives,
    /// calls, retries, 429s, breaker openings and latency per provider,
    /// cache hit ratios). Written also when the run fails.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write the run summary in the Prometheus text format to FILE, for
    /// node_exporter's textfile collector (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Append one JSON line per provider whose credential this run used
    /// (when, requests, outcome counts, authentication failures) to FILE.
    /// Overrides LEADGEN_AUDIT_LOG [default: audit.jsonl in the cache directory].
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}
