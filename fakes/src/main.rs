//! `leadgen-fakes`: the fake Companies House as a process, for the demo,
//! benchmarks and manual testing (`serve`), for wrapping a command (`exec`),
//! and for generating benchmark registers (`generate`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use leadgen_fakes::companies_house::Register;
use leadgen_fakes::quota::parse_duration;
use leadgen_fakes::social::SocialData;
use leadgen_fakes::{
    BurstKind, DEMO_API_KEY, DEMO_STREAM_KEY, FakeConfig, FakeServer, Faults, Quota,
};

/// Local fakes of the Companies House public data API, X API v2, LinkedIn's
/// organization lookup and Facebook's Graph API (Pages), speaking their wire formats.
#[derive(Parser)]
#[command(name = "leadgen-fakes", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until Ctrl-C or SIGTERM; prints the base URL as the first line of stdout.
    Serve(ServeArgs),
    /// Start the fake, run CMD with LEADGEN_COMPANIES_HOUSE_URL and
    /// COMPANIES_HOUSE_API_KEY set (and LEADGEN_COMPANIES_HOUSE_STREAM_URL and
    /// COMPANIES_HOUSE_STREAM_KEY for the streaming API, and the X, LinkedIn
    /// and Facebook URLs and demo credentials), stop the fake and exit with
    /// CMD's code.
    Exec {
        #[command(flatten)]
        serve: ServeArgs,
        /// Print the fake's counters as JSON to stderr when CMD ends.
        #[arg(long)]
        stats: bool,
        /// The command and its arguments (after `--`).
        #[arg(required = true, last = true)]
        cmd: Vec<String>,
    },
    /// Write the register (bundled, plus N synthetic companies) as
    /// Companies House's bulk product, BasicCompanyData: its 55 columns,
    /// header quirks and human-text status and category, live companies
    /// only; one file or --parts files, each CSV or zipped.
    ExportBulk {
        #[command(flatten)]
        export: ExportArgs,
        /// Leave out the bundled register (synthetic companies only).
        #[arg(long)]
        no_bundled: bool,
    },
    /// Write the register's PSCs as Companies House's daily PSC snapshot
    /// (newline-delimited JSON, the totals record last).
    ExportPsc {
        #[command(flatten)]
        export: ExportArgs,
        /// Leave the totals record out, as a snapshot cut short would.
        #[arg(long)]
        no_totals: bool,
    },
    /// Write a synthetic register (or an input CSV of its names) to stdout.
    Generate {
        /// How many companies.
        #[arg(long)]
        companies: usize,
        /// Same seed, same register; `serve --synthetic N --synthetic-seed S` serves it.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write `id,company_name,company_number,postcode,website` rows instead of the dataset.
        #[arg(long)]
        csv: bool,
    },
}

/// What the bulk exports share: where, which snapshot, which companies.
#[derive(Args)]
struct ExportArgs {
    /// The directory to write into.
    #[arg(long)]
    out: PathBuf,
    /// The snapshot date in the file names.
    #[arg(long, default_value = "2026-11-01")]
    date: String,
    /// Add N synthetic companies (as `serve --synthetic N`).
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    #[arg(long, default_value_t = 1)]
    synthetic_seed: u64,
    /// Split into this many part files, as Companies House does.
    #[arg(long, default_value_t = 1)]
    parts: usize,
    /// Write zips holding the files, as Companies House publishes them.
    #[arg(long)]
    zip: bool,
}

impl ExportArgs {
    /// The bundled register (when `bundled`) plus the synthetic companies.
    fn register(&self, bundled: bool) -> Result<Register> {
        let base = if bundled {
            Register::bundled()
        } else {
            Register::default()
        };
        match self.synthetic {
            Some(n) => base
                .merged(&Register::synthetic(n, self.synthetic_seed))
                .context("the synthetic companies clash with the bundled numbers"),
            None => Ok(base),
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
    /// Dataset file (`{"companies":[...]}`) instead of the bundled register.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Add N synthetic companies (numbers from 20000000) to the register.
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// Seed of the synthetic companies (as `generate --seed`).
    #[arg(long, default_value_t = 1)]
    synthetic_seed: u64,
    /// The API key accepted as the Basic-auth username.
    #[arg(long, env = "LEADGEN_FAKES_API_KEY", default_value = DEMO_API_KEY)]
    api_key: String,
    /// Requests per window per key, as LIMIT/WINDOW (the real API: 600/5m).
    #[arg(long, default_value = "600/5m", value_parser = Quota::parse)]
    quota: Quota,
    /// Delay added to every answer, e.g. 80ms.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    latency: Duration,
    /// Probability (0..=1) of an injected 429.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_429: f64,
    /// Probability of a sporadic 403 from Companies House (IP-level blocking).
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_403: f64,
    /// Probability of a 503 gateway error page.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_503: f64,
    /// Probability of answering only after --slow-delay.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_slow: f64,
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    slow_delay: Duration,
    /// Probability of a 200 whose JSON body is cut in half.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_truncated: f64,
    /// Probability of closing the connection without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_drop: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Serve LinkedIn as to a token without Community Management API
    /// access: 403 "Not enough permissions" (serviceErrorCode 100).
    #[arg(long)]
    linkedin_no_organization_access: bool,
    /// Serve Facebook as to an app without Page Public Metadata Access:
    /// Graph error code 10.
    #[arg(long)]
    facebook_no_page_access: bool,
    /// The streaming API key accepted on the stream paths (`/companies`,
    /// `/officers`, `/persons-with-significant-control`,
    /// `/persons-with-significant-control-statements`).
    #[arg(long, env = "LEADGEN_FAKES_STREAM_KEY", default_value = DEMO_STREAM_KEY)]
    stream_key: String,
    /// Send a heartbeat (a blank line) after this long with nothing sent.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    stream_heartbeat: Duration,
    /// Publish one background event per stream this often, about companies
    /// not on the register; `off` for none.
    #[arg(long, default_value = "1s", value_parser = parse_every, value_name = "DURATION|off")]
    stream_ambient: Every,
    /// Events kept per stream for resuming with `?timepoint=`; older ones get 416.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    stream_backlog: usize,
    /// Events queued per stream connection before its reader counts as too
    /// slow and is disconnected.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    stream_queue: usize,
    /// Open stream connections per key; one more closes the key's oldest.
    #[arg(long, default_value_t = 2, value_name = "N")]
    stream_max_connections: usize,
    /// Change N register companies and publish their events right after
    /// starting (before CMD runs), so a client resuming from an old
    /// timepoint finds a backlog. KIND: officers, psc, companies,
    /// psc-statements or mixed (all four in turn);
    /// SEED picks the companies (default: the burst's position, 1 for the
    /// first). Repeatable.
    #[arg(long, value_name = "KIND:N[:SEED]", value_parser = parse_burst)]
    stream_burst: Vec<BurstSpec>,
}

/// `--stream-ambient`: a period, or none.
#[derive(Clone, Copy)]
struct Every(Option<Duration>);

fn parse_every(text: &str) -> Result<Every, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "no" => Ok(Every(None)),
        _ => match parse_duration(text)? {
            d if d.is_zero() => Err("use `off` rather than a zero period".into()),
            d => Ok(Every(Some(d))),
        },
    }
}

/// `--stream-burst KIND:N[:SEED]`.
#[derive(Clone, Copy)]
struct BurstSpec {
    kind: BurstKind,
    companies: usize,
    seed: Option<u64>,
}

fn parse_burst(text: &str) -> Result<BurstSpec, String> {
    let mut parts = text.split(':');
    let kind: BurstKind = parts.next().unwrap_or_default().parse()?;
    let companies = parts
        .next()
        .ok_or_else(|| format!("{text:?} is not KIND:N[:SEED]"))?
        .trim()
        .parse::<usize>()
        .map_err(|_| format!("{text:?}: N is not a number"))?;
    let seed = match parts.next() {
        None => None,
        Some(s) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("{text:?}: SEED is not a number"))?,
        ),
    };
    if parts.next().is_some() {
        return Err(format!("{text:?} is not KIND:N[:SEED]"));
    }
    Ok(BurstSpec {
        kind,
        companies,
        seed,
    })
}

fn rate(text: &str) -> Result<f64, String> {
    let r: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{text} is not a probability between 0 and 1"))
    }
}

impl ServeArgs {
    fn config(&self) -> Result<FakeConfig> {
        let mut data = match &self.data {
            Some(path) => Register::from_path(path)?,
            None => Register::bundled(),
        };
        let mut social = SocialData::bundled();
        if let Some(n) = self.synthetic {
            let synthetic = Register::synthetic(n, self.synthetic_seed);
            social = social.merged(&SocialData::synthetic(&synthetic, self.synthetic_seed));
            data = data
                .merged(&synthetic)
                .context("the synthetic companies clash with the dataset's numbers")?;
        }
        let mut config = FakeConfig::new(data, &self.api_key);
        config.social.data = social;
        config.social.linkedin_organization_access = !self.linkedin_no_organization_access;
        config.social.facebook_page_access = !self.facebook_no_page_access;
        config.quota_limit = self.quota.limit.get();
        config.quota_window = self.quota.window;
        config.latency = self.latency;
        config.stream.stream_key = self.stream_key.clone();
        config.stream.heartbeat = self.stream_heartbeat;
        config.stream.ambient = self.stream_ambient.0;
        config.stream.backlog = self.stream_backlog;
        config.stream.queue = self.stream_queue;
        config.stream.max_connections = self.stream_max_connections;
        config.faults = Faults {
            rate_429: self.fault_429,
            rate_403: self.fault_403,
            rate_503: self.fault_503,
            rate_slow: self.fault_slow,
            slow_delay: self.slow_delay,
            rate_truncated: self.fault_truncated,
            rate_drop: self.fault_drop,
            seed: self.seed,
        };
        Ok(config)
    }

    /// Start the fake on `config` and publish the `--stream-burst`s.
    async fn start(&self, config: FakeConfig) -> Result<FakeServer> {
        let server = FakeServer::start_on(config, self.addr)
            .await
            .with_context(|| format!("cannot listen on {}", self.addr))?;
        for (i, burst) in self.stream_burst.iter().enumerate() {
            let seed = burst.seed.unwrap_or(i as u64 + 1);
            server.publish_burst(burst.kind, burst.companies, seed);
        }
        Ok(server)
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let server = args.start(args.config()?).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", server.base_url())?;
            out.flush()?;
            drop(out);
            terminated().await;
            server.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Exec { serve, stats, cmd } => {
            let config = serve.config()?;
            let key = config.api_key.clone();
            let stream_key = config.stream.stream_key.clone();
            let social = config.social.clone();
            let server = serve.start(config).await?;
            let status = tokio::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .env("LEADGEN_COMPANIES_HOUSE_URL", server.base_url())
                .env("COMPANIES_HOUSE_API_KEY", &key)
                // The streaming API answers on the same address.
                .env("LEADGEN_COMPANIES_HOUSE_STREAM_URL", server.stream_url())
                .env("COMPANIES_HOUSE_STREAM_KEY", &stream_key)
                // The social fakes answer on the same address.
                .env("LEADGEN_X_URL", server.base_url())
                .env("LEADGEN_LINKEDIN_URL", server.base_url())
                .env("LEADGEN_FACEBOOK_URL", server.base_url())
                .env("X_BEARER_TOKEN", &social.x_bearer_token)
                .env("LINKEDIN_ACCESS_TOKEN", &social.linkedin_access_token)
                .env("FACEBOOK_APP_ID", &social.facebook_app_id)
                .env("FACEBOOK_APP_SECRET", &social.facebook_app_secret)
                .status()
                .await
                .with_context(|| format!("cannot run {:?}", cmd[0]))?;
            if stats {
                eprintln!("{}", server.stats().to_json());
            }
            server.shutdown().await;
            Ok(ExitCode::from(exit_code(status)))
        }
        Command::ExportBulk { export, no_bundled } => {
            if no_bundled && export.parts == 1 {
                // Streamed: millions of rows are never held at once.
                let companies = leadgen_fakes::synthetic::SyntheticCompanies::new(
                    export.synthetic.unwrap_or(0),
                    export.synthetic_seed,
                );
                let (path, rows) = leadgen_fakes::bulk::export_stream(
                    companies,
                    &export.out,
                    &export.date,
                    export.zip,
                )?;
                eprintln!("{rows} companies");
                println!("{}", path.display());
                return Ok(ExitCode::SUCCESS);
            }
            let register = export.register(!no_bundled)?;
            let paths = leadgen_fakes::bulk::export(
                &register,
                &export.out,
                &export.date,
                export.parts,
                export.zip,
            )?;
            paths.iter().for_each(|p| println!("{}", p.display()));
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportPsc { export, no_totals } => {
            let register = export.register(true)?;
            let paths = leadgen_fakes::bulk::export_psc(
                &register,
                &export.out,
                &export.date,
                export.parts,
                export.zip,
                !no_totals,
            )?;
            paths.iter().for_each(|p| println!("{}", p.display()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            companies,
            seed,
            csv,
        } => {
            let register = Register::synthetic(companies, seed);
            let mut out = std::io::stdout().lock();
            if csv {
                let mut writer = csv::Writer::from_writer(&mut out);
                writer.write_record([
                    "id",
                    "company_name",
                    "company_number",
                    "postcode",
                    "website",
                ])?;
                for (i, c) in register.companies().iter().enumerate() {
                    // Every other row carries the postcode, as real input lists half do.
                    let postcode = if i % 2 == 0 {
                        c.profile["registered_office_address"]["postal_code"]
                            .as_str()
                            .unwrap_or_default()
                    } else {
                        ""
                    };
                    writer.write_record([&(i + 1).to_string(), c.name(), "", postcode, ""])?;
                }
                writer.flush()?;
            } else {
                writeln!(out, "{}", register.to_json())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// CMD's code, or 128 + signal when a signal ended it (as shells report it).
fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("leadgen-fakes: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leadgen-fakes: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_flags_parse() {
        let b = parse_burst("officers:100").unwrap();
        assert_eq!(
            (b.kind, b.companies, b.seed),
            (BurstKind::Officers, 100, None)
        );
        let b = parse_burst("psc-statements:3").unwrap();
        assert_eq!(
            (b.kind, b.companies, b.seed),
            (BurstKind::PscStatements, 3, None)
        );
        let b = parse_burst("mixed:5:42").unwrap();
        assert_eq!(
            (b.kind, b.companies, b.seed),
            (BurstKind::Mixed, 5, Some(42))
        );
        for bad in [
            "officers",
            "filings:3",
            "psc:x",
            "psc:1:2:3",
            "companies:1:y",
        ] {
            assert!(parse_burst(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_every("off").unwrap().0, None);
        assert_eq!(
            parse_every("250ms").unwrap().0,
            Some(Duration::from_millis(250))
        );
        assert!(parse_every("0s").is_err());
    }
}
