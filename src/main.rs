use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use leadgen::cache::{self, CacheMode};
use leadgen::cli::{
    CacheAction, CacheArgs, Cli, Command, ConfigAction, DiffArgs, DiscoverArgs, ExplainArgs,
    FindArgs, Generate, ListFormat, LogFormat, RegisterAction, RegisterArgs, SicAction, SourceName,
    StreamArgs,
};
use leadgen::config::{self, DiscoverSettings};
use leadgen::error::{Error, exit};
use leadgen::output::Status;
use leadgen::pipeline;
use leadgen::progress;
use leadgen::report::{self, Report};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let run_id = report::new_run_id();
    init_logging(&cli, &run_id);
    match run(&cli, &run_id) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("leadgen: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli, run_id: &str) -> Result<u8, Error> {
    config::load_dotenv()?;
    match &cli.command {
        Command::Generate { what } => {
            generate(what)?;
            Ok(exit::OK)
        }
        Command::Discover(args) => discover(cli, args, run_id),
        Command::Explain(args) => explain(cli, args),
        Command::Cache(args) => cache_command(cli, args),
        Command::Register(args) => register_command(cli, args),
        Command::Find(args) => find_command(cli, args),
        Command::Diff(args) => diff_command(cli, args),
        Command::Stream(args) => stream_command(cli, args),
        Command::Sic {
            action: SicAction::Search { words, format },
        } => sic_search(words, *format),
        Command::Doctor => {
            let config = config::file::load(cli.config.as_deref())?;
            let outcome =
                runtime()?.block_on(leadgen::doctor::run(&config, &|k| std::env::var(k).ok()))?;
            print_lines(&outcome.lines)?;
            Ok(if outcome.ok { exit::OK } else { exit::FAILURE })
        }
        Command::Config {
            action: ConfigAction::Show,
        } => {
            let config = config::file::load(cli.config.as_deref())?;
            print_lines(config::show::show(&config, &|k| std::env::var(k).ok())?)?;
            Ok(exit::OK)
        }
    }
}

fn discover(cli: &Cli, args: &DiscoverArgs, run_id: &str) -> Result<u8, Error> {
    if args.plan {
        let config = config::file::load(cli.config.as_deref())?;
        let settings = DiscoverSettings::resolve(args, &config, |k| std::env::var(k).ok())?;
        let plan = runtime()?.block_on(leadgen::plan::plan(&settings))?;
        print_lines(plan.lines())?;
        return Ok(exit::OK);
    }
    let started = SystemTime::now();
    let mut audit_log = None;
    let ran = config::file::load(cli.config.as_deref())
        .and_then(|config| DiscoverSettings::resolve(args, &config, |k| std::env::var(k).ok()))
        .and_then(|mut settings| {
            settings.progress = !cli.quiet && std::io::stderr().is_terminal();
            audit_log = settings.audit_log.clone();
            runtime()?.block_on(pipeline::discover(settings))
        });
    let ran = match ran {
        // The report files belong to the run holding the lock.
        Err(e @ Error::Locked { .. }) => return Err(e),
        ran => ran,
    };
    let report = match &ran {
        Ok(summary) => Report::finished(run_id, started, summary),
        Err(e) if e.is_broken_pipe() => return Ok(exit::OK),
        Err(e) => Report::failed(run_id, started, e.to_string(), e.exit_code()),
    };
    write_reports(args, &report)?;
    if let Some(path) = &audit_log
        && let Err(e) = report::append_audit(path, &report::audit_lines(&report))
    {
        // The run's data is written; a missing audit line is worth a warning, not a failure.
        tracing::warn!(path = %path.display(), error = %e, "Could not append to the audit log.");
    }
    let summary = ran?;
    if !cli.quiet {
        for line in report::summary_lines(&report) {
            eprintln!("leadgen: {line}");
        }
    }
    Ok(if summary.count(Status::Error) > 0 {
        exit::ROW_ERRORS
    } else {
        exit::OK
    })
}

fn explain(cli: &Cli, args: &ExplainArgs) -> Result<u8, Error> {
    let config = config::file::load(cli.config.as_deref())?;
    let settings = companies_house_only(
        &config,
        DiscoverArgs {
            companies_house_url: args.companies_house_url.clone(),
            cache: args.cache.clone(),
            no_cache: args.no_cache,
            online: args.online,
            max_searches_per_row: args.max_searches_per_row,
            ..DiscoverArgs::default()
        },
    )?;
    let query = leadgen::resolve::Query {
        name: args.name.clone(),
        postcode: args.postcode.clone(),
        wants_dissolved: args.dissolved,
    };
    let found = runtime()?.block_on(leadgen::explain::explain(&settings, &query, args.top))?;
    if args.json {
        print_lines([leadgen::explain::to_json(&found).to_string()])?;
    } else {
        print_lines(leadgen::explain::lines(&found))?;
    }
    Ok(exit::OK)
}

/// The settings of a discover run over stdin with Companies House only,
/// from `flags` (the rest defaults): what `explain` and `find` call the
/// API with.
fn companies_house_only(
    config: &config::file::LoadedConfig,
    flags: DiscoverArgs,
) -> Result<DiscoverSettings, Error> {
    let as_discover = DiscoverArgs {
        input: "-".into(),
        output: "-".into(),
        sources: Some(vec![SourceName::Ch]),
        ..flags
    };
    DiscoverSettings::resolve(&as_discover, config, |k| std::env::var(k).ok())
}

/// `--report` and `--metrics-file`. Failing to write them fails the run
/// (exit 1): a cron job relying on them must hear about it.
fn write_reports(args: &DiscoverArgs, report: &Report) -> Result<(), Error> {
    let files = [
        (args.report.as_deref(), report.to_json()),
        (args.metrics_file.as_deref(), report.to_prometheus()),
    ];
    for (path, text) in files {
        if let Some(path) = path {
            leadgen::atomic::write(path, &text).map_err(|source| Error::Output {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    Ok(())
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
        .map_err(Error::Runtime)
}

/// Runs `work` with a progress count on stderr when it is a terminal (and
/// `-q` is not given); `work` reports the `unit`s done so far. The same bar
/// as `discover`'s (`progress::line`).
fn with_progress<T>(
    cli: &Cli,
    unit: &'static str,
    work: impl FnOnce(&mut dyn FnMut(u64)) -> T,
) -> T {
    let bar = (!cli.quiet && std::io::stderr().is_terminal()).then(progress::start);
    let started = std::time::Instant::now();
    let mut last = None::<std::time::Instant>;
    let result = work(&mut |done| {
        if let Some(bar) = &bar {
            // A line per quarter second is plenty; counting is the work.
            let now = std::time::Instant::now();
            if last.is_none_or(|l| now - l >= std::time::Duration::from_millis(250)) {
                last = Some(now);
                bar.set_message(progress::line(&progress::Snapshot {
                    elapsed: started.elapsed(),
                    unit,
                    done,
                    ..progress::Snapshot::default()
                }));
            }
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result
}

fn stream_command(cli: &Cli, args: &StreamArgs) -> Result<u8, Error> {
    let config = config::file::load(cli.config.as_deref())?;
    let mut settings = leadgen::stream::resolve(args, &config, |k| std::env::var(k).ok())?;
    settings.progress = !cli.quiet && std::io::stderr().is_terminal();
    let summary = match runtime()?.block_on(leadgen::stream::follow(
        settings,
        leadgen::stream::interrupted(),
    )) {
        Err(e) if e.is_broken_pipe() => return Ok(exit::OK),
        other => other?,
    };
    if !cli.quiet {
        for line in leadgen::stream::summary_lines(&summary) {
            eprintln!("leadgen: {line}");
        }
    }
    Ok(exit::OK)
}

fn diff_command(cli: &Cli, args: &DiffArgs) -> Result<u8, Error> {
    let read =
        |p: &std::path::Path| leadgen::diff::read(p).map_err(|e| Error::Usage(e.to_string()));
    let (old, new) = (read(&args.old)?, read(&args.new)?);
    let (changes, only_one) = leadgen::diff::diff(&old, &new);
    let jsonl = args.format == Some(ListFormat::Jsonl);
    let text = leadgen::diff::render(&changes, jsonl).map_err(|source| Error::Output {
        path: args.output.clone(),
        source,
    })?;
    write_out(&args.output, &text)?;
    if !cli.quiet {
        if only_one > 0 {
            eprintln!(
                "leadgen: {only_one} companies are in only one of the two outputs (not compared)"
            );
        }
        eprintln!("leadgen: {} changes", changes.len());
    }
    Ok(if args.exit_code && !changes.is_empty() {
        exit::FAILURE
    } else {
        exit::OK
    })
}

fn find_command(cli: &Cli, args: &FindArgs) -> Result<u8, Error> {
    use leadgen::criteria::{Criteria, Given};
    let config = config::file::load(cli.config.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let layers = config::layers::Layers::new(&config, &env);
    let criteria = Criteria::from_given(
        &Given {
            sic: &args.sic,
            sic_sections: &args.sic_section,
            postcodes: &args.postcode,
            location: args.location.as_deref(),
            statuses: &args.status,
            types: &args.company_type,
            incorporated_from: args.incorporated_from.as_deref(),
            incorporated_to: args.incorporated_to.as_deref(),
            name_includes: args.name_includes.as_deref(),
        },
        leadgen::register::bulk::keys,
    )
    .map_err(|e| Error::Usage(e.to_string()))?;
    if args.limit == Some(0) {
        return Err(Error::Usage(
            "--limit 0 would write nothing; give 1 or more".into(),
        ));
    }
    let mode = if args.no_cache {
        CacheMode::Off
    } else {
        CacheMode::Normal
    };
    let cache = config::cache_settings(&args.cache, mode, &layers)?;
    let register = match (&cache.dir, args.online) {
        (Some(dir), false) => leadgen::register::local::LocalRegister::open(dir)?,
        _ => None,
    };
    let rt = runtime()?;
    let found = match register {
        Some(register) if args.plan => {
            print_lines([format!(
                "find --plan: answered from the local register ({}): 0 calls",
                register.label()
            )])?;
            return Ok(exit::OK);
        }
        Some(register) => rt.block_on(leadgen::find::offline(&register, &criteria, args.limit))?,
        None => {
            let mut settings = companies_house_only(
                &config,
                DiscoverArgs {
                    companies_house_url: args.companies_house_url.clone(),
                    cache: args.cache.clone(),
                    no_cache: args.no_cache,
                    online: true,
                    ..DiscoverArgs::default()
                },
            )?;
            settings.progress = !cli.quiet && std::io::stderr().is_terminal();
            if args.plan {
                print_lines(rt.block_on(leadgen::find::plan(&settings, &criteria, args.limit))?)?;
                return Ok(exit::OK);
            }
            rt.block_on(leadgen::find::online(&settings, &criteria, args.limit))?
        }
    };
    let format = args.format.unwrap_or(ListFormat::Csv);
    let text = leadgen::find::render(&found.companies, format).map_err(|source| Error::Output {
        path: args.output.clone(),
        source,
    })?;
    write_out(&args.output, &text)?;
    if !cli.quiet {
        for line in leadgen::find::summary(&found, args.limit) {
            eprintln!("leadgen: {line}");
        }
    }
    Ok(exit::OK)
}

/// Lines to stdout; a reader that went away (`| head`) ends them quietly.
fn print_lines<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> Result<(), Error> {
    let mut text = String::new();
    for line in lines {
        text.push_str(line.as_ref());
        text.push('\n');
    }
    write_out(std::path::Path::new("-"), &text)
}

/// `text` to `path`, replaced whole, or to stdout for `-`.
fn write_out(path: &std::path::Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        return match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|source| Error::Output {
                path: path.to_path_buf(),
                source,
            }),
        };
    }
    leadgen::atomic::write(path, text).map_err(|source| Error::Output {
        path: path.to_path_buf(),
        source,
    })
}

fn sic_search(words: &[String], format: Option<ListFormat>) -> Result<u8, Error> {
    let found = leadgen::sic::table().search(words);
    let written = |source| Error::Output {
        path: "-".into(),
        source,
    };
    let text = match format {
        None => {
            let mut out = String::new();
            for p in &found {
                out.push_str(&format!(
                    "{}  {}  {}  {}\n",
                    p.code, p.section, p.division, p.description
                ));
            }
            out
        }
        Some(ListFormat::Jsonl) => leadgen::output::jsonl_text(&found).map_err(written)?,
        Some(ListFormat::Csv) => leadgen::output::csv_text(
            &[
                "code",
                "section",
                "section_title",
                "division",
                "division_title",
                "description",
            ],
            found.iter().map(|p| {
                [
                    p.code,
                    p.section,
                    p.section_title,
                    p.division,
                    p.division_title,
                    p.description,
                ]
            }),
        )
        .map_err(written)?,
    };
    write_out(std::path::Path::new("-"), &text)?;
    if found.is_empty() {
        eprintln!("leadgen: no SIC code matches {:?}", words.join(" "));
    }
    Ok(exit::OK)
}

fn register_command(cli: &Cli, args: &RegisterArgs) -> Result<u8, Error> {
    let config = config::file::load(cli.config.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let layers = config::layers::Layers::new(&config, &env);
    let settings = config::cache_settings(&args.location, CacheMode::Normal, &layers)?;
    let ages = config::register_settings(&layers)?;
    let dir = settings.dir.ok_or(leadgen::cache::CacheError::NoDir)?;
    match &args.action {
        RegisterAction::Import { paths } => {
            let summary = with_progress(cli, "rows", |tick| {
                leadgen::register::import::import(&dir, paths, tick)
            })?;
            for line in summary.lines() {
                eprintln!("leadgen: {line}");
            }
            Ok(exit::OK)
        }
        RegisterAction::ImportPsc { paths } => {
            let summary = with_progress(cli, "records", |tick| {
                leadgen::register::psc::import(&dir, paths, tick)
            })?;
            for line in summary.lines() {
                eprintln!("leadgen: {line}");
            }
            Ok(exit::OK)
        }
        RegisterAction::Status => {
            let max_age = ages.max_age;
            let companies = match leadgen::register::status(&dir) {
                Ok(status) => Some(status),
                Err(leadgen::register::RegisterError::Missing { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let psc = leadgen::register::psc::status_lines(&dir, ages.psc_max_age);
            if companies.is_none() && psc.is_none() {
                return Err(leadgen::register::RegisterError::Missing {
                    path: leadgen::register::path(&dir),
                }
                .into());
            }
            let mut lines = match &companies {
                Some(status) => status.lines(max_age),
                None => vec!["register: no companies imported (leadgen register import)".into()],
            };
            match &psc {
                Some((psc_lines, _)) => lines.extend(psc_lines.iter().cloned()),
                None => lines.push("PSCs: none imported (leadgen register import-psc)".into()),
            }
            print_lines(&lines)?;
            let stale = companies.as_ref().is_some_and(|s| s.is_stale(max_age))
                || psc.as_ref().is_some_and(|(_, stale)| *stale);
            Ok(if stale { exit::FAILURE } else { exit::OK })
        }
    }
}

fn cache_command(cli: &Cli, args: &CacheArgs) -> Result<u8, Error> {
    let config = config::file::load(cli.config.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let layers = config::layers::Layers::new(&config, &env);
    let settings = config::cache_settings(&args.location, CacheMode::Normal, &layers)?;
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
    let done = done?;
    print_lines(&done.lines)?;
    Ok(if done.ok { exit::OK } else { exit::FAILURE })
}

fn init_logging(cli: &Cli, run_id: &str) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "leadgen=info,warn",
        (false, 2) => "leadgen=debug,info",
        _ => "leadgen=trace,debug",
    };
    let filter = EnvFilter::try_from_env("LEADGEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::LogWriter)
        .with_target(false);
    let run_id = run_id.to_string();
    match cli.log_format {
        LogFormat::Text => {
            let inner = tracing_subscriber::fmt::format().with_target(false);
            builder
                .event_format(progress::TextWithRunId { run_id, inner })
                .init();
        }
        LogFormat::Json => builder
            .event_format(progress::JsonWithRunId::new(run_id))
            .init(),
    }
}
