use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use leadgen::cache::{self, CacheMode};
use leadgen::cli::{CacheAction, CacheArgs, Cli, Command, Generate};
use leadgen::config::{self, DiscoverSettings};
use leadgen::error::{Error, exit};
use leadgen::output::Status;
use leadgen::pipeline::{self, RunSummary};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("leadgen: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli) -> Result<u8, Error> {
    config::load_dotenv()?;
    match &cli.command {
        Command::Generate { what } => {
            generate(what)?;
            Ok(exit::OK)
        }
        Command::Discover(args) => {
            let config = config::file::load(cli.config.as_deref())?;
            let settings = DiscoverSettings::resolve(args, &config, |k| std::env::var(k).ok())?;
            let summary = runtime()?.block_on(pipeline::discover(settings))?;
            if !cli.quiet {
                report(&summary);
            }
            Ok(if summary.count(Status::Error) > 0 {
                exit::ROW_ERRORS
            } else {
                exit::OK
            })
        }
        Command::Cache(args) => cache_command(cli, args),
    }
}

/// Completions and the man page come from the same clap definitions as
/// `--help`, so they cannot drift from it.
fn generate(what: &Generate) -> Result<(), Error> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    let written = match what {
        Generate::Completions { shell } => {
            clap_complete::generate(*shell, &mut cmd, "leadgen", &mut out);
            Ok(())
        }
        Generate::Man => clap_mangen::Man::new(cmd).render(&mut out),
    };
    written.map_err(|source| Error::Output {
        path: "<stdout>".into(),
        source,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

fn cache_command(cli: &Cli, args: &CacheArgs) -> Result<u8, Error> {
    let config = config::file::load(cli.config.as_deref())?;
    let settings = config::cache_settings(&args.location, CacheMode::Normal, &config, &|k| {
        std::env::var(k).ok()
    })?;
    let number = match &args.action {
        CacheAction::Invalidate { company } => Some(
            leadgen::input::CompanyNumber::parse(company)
                .map_err(|e| Error::Usage(format!("--company: {e}")))?,
        ),
        _ => None,
    };
    let done = runtime()?.block_on(async {
        match (&args.action, &number) {
            (CacheAction::Stats, _) => cache::admin::stats(&settings).await,
            (CacheAction::Clear, _) => cache::admin::clear(&settings).await,
            (CacheAction::Invalidate { .. }, Some(n)) => {
                cache::admin::invalidate(&settings, n).await
            }
            (CacheAction::Invalidate { .. }, None) | (CacheAction::Prune, _) => {
                cache::admin::prune(&settings).await
            }
        }
    });
    let done = done.map_err(|e| Error::Other(e.to_string()))?;
    for line in &done.lines {
        println!("{line}");
    }
    Ok(if done.ok { exit::OK } else { exit::FAILURE })
}

fn report(s: &RunSummary) {
    for note in &s.skipped_sources {
        eprintln!("leadgen: {note}");
    }
    if s.warnings > 0 {
        eprintln!(
            "leadgen: {} social lookups failed; those rows keep the register's answer (see each row's `warnings`)",
            s.warnings
        );
    }
    if let Some(message) = &s.credential_refused {
        eprintln!("leadgen: {message}");
    }
    eprintln!(
        "leadgen: {} rows{}: {} matched, {} not_found, {} ambiguous, {} error; {} executives in {:.1}s",
        s.rows,
        if s.resumed > 0 {
            format!(" ({} resumed from an interrupted run)", s.resumed)
        } else {
            String::new()
        },
        s.count(Status::Matched),
        s.count(Status::NotFound),
        s.count(Status::Ambiguous),
        s.count(Status::Error),
        s.executives,
        s.elapsed.as_secs_f64()
    );
    for (provider, p) in &s.providers {
        if p.attempts == 0 {
            continue;
        }
        eprintln!(
            "leadgen: {provider}: {} requests ({} retries, {} answered 429), \
             {:.1} task-seconds waiting for quota{}",
            p.attempts,
            p.retries,
            p.rate_limited,
            p.quota_wait_ms as f64 / 1000.0,
            if p.breaker_openings > 0 {
                format!(", circuit opened {} times", p.breaker_openings)
            } else {
                String::new()
            }
        );
    }
    let c = &s.cache;
    if c.lookups() > 0 {
        eprintln!(
            "leadgen: cache: {} lookups, {:.1}% answered (memory {:.1}%, redis {:.1}%, sqlite {:.1}%), {} fetched",
            c.lookups(),
            c.percent(c.hits),
            c.percent(c.memory_hits),
            c.percent(c.redis_hits),
            c.percent(c.sqlite_hits),
            c.misses,
        );
    }
}

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "leadgen=info,warn",
        (false, 2) => "leadgen=debug,info",
        _ => "leadgen=trace,debug",
    };
    let filter = EnvFilter::try_from_env("LEADGEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
