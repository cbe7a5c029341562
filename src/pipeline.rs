//! The order of the steps: read rows, resolve each company, fetch its
//! officers and PSCs, merge, write. Rows are processed concurrently and
//! written in input order as they complete.
//!
//! Each finished row is recorded in the run journal ([`crate::journal`])
//! before it is written, so a run stopped by Ctrl-C or killed resumes when
//! the same command runs again: recorded rows are written from the journal,
//! the rest are looked up.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Mutex, mpsc};

use crate::cache::{Cache, CacheStats};
use crate::config::{DiscoverSettings, Optional, SocialSettings};
use crate::error::Error;
use crate::failure::FailureKind;
use crate::gateway::{Gateway, Provider, ProviderStats};
use crate::input::{InputReader, InputRow};
use crate::journal::{DoneRow, Journal, RunIdentity};
use crate::lock;
use crate::merge::{self, MergeOptions};
use crate::output::{self, Format, RowFailure, RowOutcome, Sink, SourceWarning, Status};
use crate::register::local::LocalRegister;
use crate::resolve::{self, Resolution, SearchBudget};
use crate::sources::SourceError;
use crate::sources::companies_house::{self as ch, Client};
use crate::sources::social::{OfficerName, Platform, SocialFindings, SocialQuery, SocialSource};
use crate::sources::{facebook, linkedin, x};

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub rows: u64,
    pub by_status: BTreeMap<Status, u64>,
    pub executives: u64,
    /// Rows written from the journal of an interrupted earlier attempt.
    pub resumed: u64,
    pub cache: CacheStats,
    /// Calls, retries, 429s and breaker openings per provider.
    pub providers: BTreeMap<Provider, ProviderStats>,
    pub elapsed: Duration,
    /// About how long the same batch would take with every answer cached:
    /// the rows' time not spent waiting for uncached answers
    /// ([`crate::timing`]), spread over the rows in flight.
    pub warm_estimate: Duration,
    /// Summed over rows: time not spent waiting for uncached answers.
    pub own_time: Duration,
    /// A provider refused its credential; named once for the user.
    pub credential_refused: Option<String>,
    /// Requested sources that were not used, and why.
    pub skipped_sources: Vec<String>,
    /// Source failures that left a row's register answer standing.
    pub warnings: u64,
}

impl RunSummary {
    pub fn count(&self, status: Status) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Counts one finished row (`replayed`: from the journal).
    fn add(&mut self, done: &DoneRow, replayed: bool) {
        self.rows += 1;
        self.resumed += u64::from(replayed);
        *self.by_status.entry(done.status).or_default() += 1;
        self.executives += done.executives;
        self.warnings += done.warnings;
        self.own_time += done.own_time;
        if let Some(message) = &done.credential_refused {
            self.credential_refused
                .get_or_insert_with(|| message.clone());
        }
    }
}

/// Everything a row needs to be processed.
#[derive(Clone)]
struct Context {
    ch: Client,
    merge: MergeOptions,
    social: SocialClients,
    min_confidence: f64,
    format: Format,
    journal: Option<Journal>,
    /// Name searches the batch may make.
    searches: Arc<SearchBudget>,
    /// The local register, when imported and not `--online`.
    register: Option<LocalRegister>,
    /// Searches of the local register per row (they cost no quota).
    register_searches: u32,
    /// `--sic`: the industry a matched company must be in.
    industry: Option<Arc<std::collections::BTreeSet<&'static str>>>,
    /// `--appointments`.
    appointments: bool,
}

impl Context {
    fn new(
        settings: &DiscoverSettings,
        gateway: &Gateway,
        cache: &Cache,
        journal: Option<Journal>,
        register: Option<LocalRegister>,
    ) -> Context {
        Context {
            ch: Client::new(
                gateway.clone(),
                cache.clone(),
                &settings.companies_house_url,
                settings.companies_house_key.clone(),
            ),
            merge: settings.merge,
            social: SocialClients::new(&settings.social, gateway, cache),
            min_confidence: settings.min_confidence,
            format: settings.format,
            journal,
            searches: Arc::new(SearchBudget::new(
                settings.search_budget,
                settings.max_searches_per_row,
            )),
            register,
            register_searches: settings.max_searches_per_row,
            industry: settings.industry.clone().map(Arc::new),
            appointments: settings.appointments,
        }
    }
}

/// The social sources in use this run.
#[derive(Clone, Default)]
struct SocialClients {
    x: Option<x::Client>,
    linkedin: Option<linkedin::Client>,
    facebook: Option<facebook::Client>,
}

impl SocialClients {
    fn new(settings: &SocialSettings, gateway: &Gateway, cache: &Cache) -> SocialClients {
        let (g, c) = (gateway, cache);
        SocialClients {
            x: settings
                .x
                .used()
                .map(|(url, creds)| x::Client::new(g.clone(), c.clone(), url, creds.clone())),
            linkedin: settings.linkedin.used().map(|(url, token)| {
                linkedin::Client::new(g.clone(), c.clone(), url, token.clone())
            }),
            facebook: settings
                .facebook
                .used()
                .map(|(url, app)| facebook::Client::new(g.clone(), c.clone(), url, app.clone())),
        }
    }

    /// Ask every source in use about the company, concurrently. A source
    /// that fails is a warning on the row, never its error.
    async fn lookup(&self, query: &SocialQuery) -> (SocialFindings, Vec<SourceWarning>) {
        let (x, linkedin, facebook) = tokio::join!(
            ask(self.x.as_ref(), query),
            ask(self.linkedin.as_ref(), query),
            ask(self.facebook.as_ref(), query)
        );
        let mut found = SocialFindings::default();
        let mut warnings = Vec::new();
        for (platform, result) in [
            (Platform::X, x),
            (Platform::LinkedIn, linkedin),
            (Platform::Facebook, facebook),
        ] {
            match result {
                None => {}
                Some(Ok(f)) => {
                    found.accounts.extend(f.accounts);
                    found.profiles.extend(f.profiles);
                }
                Some(Err(e)) => warnings.push(SourceWarning {
                    source: platform,
                    kind: e.kind(),
                    message: e.to_string(),
                }),
            }
        }
        (found, warnings)
    }
}

async fn ask<S: SocialSource>(
    source: Option<&S>,
    query: &SocialQuery,
) -> Option<Result<SocialFindings, SourceError>> {
    Some(source?.lookup(query).await)
}

pub async fn discover(settings: DiscoverSettings) -> Result<RunSummary, Error> {
    let started = Instant::now();
    // The header is checked before anything is written.
    let reader = InputReader::open(&settings.input)?;
    if let Some(dir) = &settings.cache.dir {
        crate::private::warn_if_exposed(dir);
    }
    // Held until the run ends; see `crate::lock`.
    let _lock = take_lock(&settings)?;
    let gateway = crate::sources::gateway(settings.providers.clone())?;
    share_quota(&gateway, &settings).await;
    let cache = Cache::open(&settings.cache).await?;
    let journal = open_journal(&settings).await?;
    let register = match (&settings.cache.dir, settings.online) {
        (Some(dir), false) => LocalRegister::open(dir)?,
        _ => None,
    };
    if let (Some(r), Some(dir)) = (&register, &settings.cache.dir) {
        tracing::info!(
            register = r.label(),
            pscs = r.has_pscs(),
            "Resolving from the local register; officers still come from the API."
        );
        let days = |d: std::time::Duration| d.as_secs() / 86_400;
        if let Ok(status) = crate::register::status(dir)
            && let Some(age) = status.age.filter(|a| *a > settings.register.max_age)
        {
            tracing::warn!(
                "The local register's snapshot is {} days old (register.max_age is {} days): \
                 companies formed since are not in it; import this month's BasicCompanyData file.",
                days(age),
                days(settings.register.max_age)
            );
        }
        if r.has_pscs()
            && let Some((_, true)) =
                crate::register::psc::status_lines(dir, settings.register.psc_max_age)
        {
            tracing::warn!(
                "The PSC snapshot is older than register.psc_max_age ({} days): \
                 its PSCs may be out of date; import today's.",
                days(settings.register.psc_max_age)
            );
        }
    }
    let ctx = Context::new(&settings, &gateway, &cache, journal.clone(), register);

    let (out, temp) = open_output(settings.output.as_deref())?;
    let mut sink = Sink::new(out, settings.format, settings.merge.include_birth);
    let out_name = settings
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    let write_err = |source: io::Error| Error::Output {
        path: out_name.clone(),
        source,
    };

    let outcomes = steps(reader, journal.as_ref())
        .map(|step| {
            let ctx = ctx.clone();
            async move {
                match step? {
                    Step::Replay(done) => Ok((done, true)),
                    Step::Process(row) => {
                        let started = Instant::now();
                        let (outcome, cold) = crate::timing::timed(process(&ctx, row)).await;
                        let mut done = finish_row(&ctx, outcome).await?;
                        done.own_time = started.elapsed().saturating_sub(cold);
                        Ok((done, false))
                    }
                }
            }
        })
        .buffered(settings.concurrency);
    let mut outcomes = Box::pin(outcomes);

    let mut watch = settings.progress.then(|| Watch::new(&settings, &gateway));
    let bar = watch.as_ref().map(|w| w.bar.clone());
    let mut summary = RunSummary::default();
    let result = drive(
        &mut outcomes,
        &mut summary,
        watch.as_mut(),
        &settings,
        |done| sink.write_rendered(&done.rendered).map_err(write_err),
    )
    .await;
    // Rows in flight are dropped: they are not in the journal, so a resume
    // looks them up again.
    drop(outcomes);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    cache.close().await;
    if let Err(e) = result {
        // Dropping the temporary file deletes it: an earlier complete
        // output stays as it was.
        drop(temp);
        if matches!(e, Error::Interrupted) && journal.is_some() {
            tracing::warn!(
                rows = summary.rows,
                "Interrupted; run the same command again to resume where this run stopped."
            );
        }
        return Err(e);
    }
    sink.finish().map_err(write_err)?;
    if let (Some(temp), Some(path)) = (temp, settings.output.as_deref()) {
        crate::atomic::persist(temp, path).map_err(|source| Error::Output {
            path: path.to_path_buf(),
            source,
        })?;
    }
    if let Some(journal) = &journal
        && let Err(e) = journal.finish().await
    {
        tracing::warn!(error = %e, "Could not clear the run journal; the next run of this command will replay this one's rows.");
    }
    summary.skipped_sources = settings
        .social
        .skipped()
        .into_iter()
        .map(String::from)
        .collect();
    summary.cache = cache.stats();
    summary.providers = gateway.stats();
    summary.elapsed = started.elapsed();
    summary.warm_estimate = warm_estimate(&summary, settings.concurrency);
    Ok(summary)
}

/// The run lock on this input and output, when there is a place for it.
fn take_lock(settings: &DiscoverSettings) -> Result<Option<lock::RunLock>, Error> {
    let Some(path) = lock::lock_path(
        &settings.input,
        settings.output.as_deref(),
        settings.cache.dir.as_deref(),
    ) else {
        return Ok(None);
    };
    let target = settings.output.as_deref().map_or_else(
        || format!("the output of {}", settings.input.display()),
        |o| o.display().to_string(),
    );
    lock::acquire(&path, &target).map(Some)
}

/// The input rows, each either replayed from the journal of an interrupted
/// earlier attempt or to be processed.
fn steps(
    reader: InputReader,
    journal: Option<&Journal>,
) -> impl futures::Stream<Item = Result<Step, Error>> {
    let cursor = journal.map(|j| Arc::new(Mutex::new(j.cursor())));
    read_rows(reader).then(move |row| {
        let cursor = cursor.clone();
        async move {
            let row = row.map_err(Error::Input)?;
            let Some(cursor) = cursor else {
                return Ok(Step::Process(row));
            };
            let done =
                cursor
                    .lock()
                    .await
                    .take(row.row)
                    .await
                    .map_err(|source| Error::Journal {
                        source,
                        at_open: false,
                    })?;
            Ok(match done {
                Some(done) => Step::Replay(done),
                None => Step::Process(row),
            })
        }
    })
}

/// The progress bar of a run and what it reads: the plan's calls per row
/// (worked out while the run starts), the calls made, the pacing.
struct Watch<'a> {
    bar: indicatif::ProgressBar,
    started: Instant,
    rows: Option<u64>,
    expected: Option<crate::progress::Expected>,
    planning: bool,
    /// The pace of Companies House calls.
    quota: Option<crate::gateway::Quota>,
    gateway: &'a Gateway,
}

impl<'a> Watch<'a> {
    fn new(settings: &DiscoverSettings, gateway: &'a Gateway) -> Watch<'a> {
        let from_file = settings.input.as_os_str() != "-";
        let quota = gateway.current_quota(Provider::CompaniesHouse).or_else(|| {
            settings
                .providers
                .get(&Provider::CompaniesHouse)
                .map(|p| p.quota)
        });
        Watch {
            bar: crate::progress::start(),
            started: Instant::now(),
            rows: from_file.then(|| count_rows(&settings.input)).flatten(),
            expected: None,
            planning: from_file,
            quota,
            gateway,
        }
    }

    fn show(&self, summary: &RunSummary) {
        let made = self
            .gateway
            .stats()
            .get(&Provider::CompaniesHouse)
            .map_or(0, |s| s.attempts);
        let snapshot = crate::progress::Snapshot {
            elapsed: self.started.elapsed(),
            unit: "rows",
            done: summary.rows,
            total: self.rows,
            calls: Some(crate::progress::Calls {
                done: made,
                expected: self.expected.as_ref().map(|e| e.total(summary.rows, made)),
                planning: self.planning,
                quota: self.quota,
            }),
            matched: Some((summary.count(Status::Matched), summary.count(Status::Error))),
            wait: self
                .gateway
                .quota_pause()
                .map(|(provider, wait)| (provider.label().to_owned(), wait)),
            // Companies House's pace is the ETA; another source's shows
            // when it holds rows back.
            paced: self
                .gateway
                .pacing_waits()
                .into_iter()
                .filter(|(p, _)| *p != Provider::CompaniesHouse)
                .map(|(p, n)| crate::progress::Paced {
                    who: p.label().to_owned(),
                    waiting: n,
                    quota: self.gateway.current_quota(p),
                })
                .collect(),
        };
        self.bar.set_message(crate::progress::line(&snapshot));
    }
}

/// Writes finished rows in input order as they come, counting them and
/// keeping the progress bar current (and, for it, working out the plan's
/// calls per row alongside), until the input ends or Ctrl-C.
async fn drive<S>(
    outcomes: &mut S,
    summary: &mut RunSummary,
    mut watch: Option<&mut Watch<'_>>,
    settings: &DiscoverSettings,
    mut write: impl FnMut(&DoneRow) -> Result<(), Error>,
) -> Result<(), Error>
where
    S: futures::Stream<Item = Result<(DoneRow, bool), Error>> + Unpin,
{
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let planning = watch.as_ref().is_some_and(|w| w.planning);
    let plan = async {
        if planning {
            crate::plan::plan(settings).await.ok().map(|p| p.per_row)
        } else {
            std::future::pending().await
        }
    };
    tokio::pin!(plan);
    let mut planned = !planning;
    loop {
        tokio::select! {
            _ = tick.tick(), if watch.is_some() => {
                if let Some(w) = watch.as_deref() {
                    w.show(summary);
                }
            }
            per_row = &mut plan, if !planned => {
                planned = true;
                if let Some(w) = watch.as_deref_mut() {
                    w.expected = per_row.as_deref().map(crate::progress::Expected::from_rows);
                    w.planning = false;
                }
            }
            next = outcomes.next() => {
                let Some(outcome) = next else { return Ok(()) };
                let (done, replayed) = outcome?;
                summary.add(&done, replayed);
                write(&done)?;
                if let Some(w) = watch.as_deref() {
                    w.show(summary);
                }
            }
            _ = &mut ctrl_c => return Err(Error::Interrupted),
        }
    }
}

/// `--appointments`: each officer's appointments list (all pages, through
/// the gateway and the cache, so a person met in several rows costs one
/// fetch). A failure is noted on the person; the row stands.
async fn directorships(
    ch: &Client,
    number: &crate::company_number::CompanyNumber,
    executives: &mut [merge::Executive],
    organisations: &mut [merge::Organisation],
) {
    let people = executives.iter_mut().map(|e| {
        (
            &e.officer_id,
            &mut e.directorships,
            e.roles.iter().all(|r| r == crate::model::PSC_ROLE),
        )
    });
    let bodies = organisations.iter_mut().map(|o| {
        (
            &o.officer_id,
            &mut o.directorships,
            o.roles.iter().all(|r| r == crate::model::PSC_ROLE),
        )
    });
    let lookups = people.chain(bodies).map(|(id, out, psc_only)| async move {
        let Some(id) = id else {
            out.note = Some(if psc_only {
                "a person with significant control, not an officer: no appointments list".into()
            } else {
                "no appointments link in the officer list".into()
            });
            return;
        };
        match ch
            .appointments(&format!("/officers/{id}/appointments"))
            .await
        {
            Ok(Some(items)) => {
                out.count = Some(items.iter().filter(|a| a.resigned_on.is_none()).count() as u64);
                out.other = Some(
                    items
                        .into_iter()
                        .filter_map(|a| {
                            let to = a.appointed_to?;
                            let company_number = to.company_number?;
                            (company_number != number.as_str()).then(|| merge::Appointment {
                                company_number,
                                company_name: to.company_name,
                                company_status: to.company_status,
                                role: a.officer_role,
                                appointed_on: a.appointed_on.or(a.appointed_before),
                                resigned_on: a.resigned_on,
                            })
                        })
                        .collect(),
                );
            }
            Ok(None) => out.note = Some("the officer is not in the register (404)".into()),
            Err(e) => out.note = Some(format!("appointments not fetched: {e}")),
        }
    });
    futures::future::join_all(lookups).await;
}

/// With Redis configured, paces every provider in use through it, under
/// its credential's fingerprint, so every process on the same key shares
/// one quota ([`crate::gateway::shared`]). A Redis that cannot be reached
/// is said once, and the run paces on its own.
pub async fn share_quota(gateway: &Gateway, settings: &DiscoverSettings) {
    use secrecy::ExposeSecret as _;
    let Some(url) = &settings.cache.redis_url else {
        return;
    };
    let shared = match crate::gateway::shared::SharedQuota::connect(
        url.expose_secret(),
        settings.cache.redis_ca_file.as_deref(),
    )
    .await
    {
        Ok(shared) => Arc::new(shared),
        Err(e) => {
            tracing::warn!(
                "The quota cannot be shared through Redis ({e}); this process paces on its own."
            );
            return;
        }
    };
    tracing::debug!(redis = %shared.endpoint(), "Quota shared through Redis.");
    gateway.share_quota(
        Provider::CompaniesHouse,
        Arc::clone(&shared),
        settings.companies_house_key.expose_secret(),
    );
    let social = &settings.social;
    if let Optional::Use { credentials, .. } = &social.x {
        gateway.share_quota(
            Provider::X,
            Arc::clone(&shared),
            credentials.quota_name().expose_secret(),
        );
    }
    if let Optional::Use { credentials, .. } = &social.linkedin {
        gateway.share_quota(
            Provider::LinkedIn,
            Arc::clone(&shared),
            credentials.expose_secret(),
        );
    }
    if let Optional::Use { credentials, .. } = &social.facebook {
        // App-token calls count against the app.
        gateway.share_quota(Provider::Facebook, shared, &credentials.app_id);
    }
}

/// See [`RunSummary::warm_estimate`]: the rows' own time, as many at once
/// as the run allows, never more than the run itself took.
fn warm_estimate(summary: &RunSummary, concurrency: usize) -> Duration {
    let in_flight = u32::try_from(concurrency.clamp(1, 1024)).unwrap_or(1);
    (summary.own_time / in_flight).min(summary.elapsed)
}

/// Data rows in a CSV file, for the progress bar's length; `None` if the
/// file cannot be read as CSV (the run itself reports why).
fn count_rows(path: &Path) -> Option<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_path(path)
        .ok()?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).ok()? {
        n += 1;
    }
    Some(n)
}

/// What to do with an input row.
enum Step {
    /// An earlier attempt finished it.
    Replay(DoneRow),
    Process(InputRow),
}

/// The journal of this command, unless it cannot resume (stdin, no cache
/// directory).
async fn open_journal(settings: &DiscoverSettings) -> Result<Option<Journal>, Error> {
    let Some(dir) = settings.cache.dir.clone() else {
        return Ok(None);
    };
    let identity = {
        let settings_input = settings.input.clone();
        let run = RunIdentity::of(settings);
        run.map_err(|source| Error::ReadInput {
            path: settings_input,
            source,
        })?
    };
    let Some(identity) = identity else {
        return Ok(None);
    };
    let (journal, done) = Journal::open(&dir, &identity, settings.restart)
        .await
        .map_err(|source| Error::Journal {
            source,
            at_open: true,
        })?;
    if done > 0 {
        tracing::info!(
            rows = done,
            "Resuming an interrupted run; finished rows are not looked up again."
        );
    }
    tracing::debug!(run = %identity.key, "Run journal open.");
    Ok(Some(journal))
}

/// Render the row and record it in the journal; the row is written only
/// after its record has committed.
async fn finish_row(ctx: &Context, outcome: RowOutcome) -> Result<DoneRow, Error> {
    let rendered =
        output::render(ctx.format, ctx.merge.include_birth, &outcome).map_err(|source| {
            Error::Render {
                row: outcome.row,
                source,
            }
        })?;
    let credential_refused = outcome
        .error
        .as_ref()
        .filter(|f| f.kind == FailureKind::CredentialRefused)
        .map(|f| f.message.clone());
    let done = DoneRow {
        row: outcome.row,
        status: outcome.status,
        executives: outcome.executives.len() as u64,
        warnings: outcome.warnings.len() as u64,
        credential_refused,
        rendered,
        own_time: Duration::ZERO,
    };
    // A transient failure is worth another try on resume; a bad input row is not.
    let lasting = match &outcome.error {
        None => true,
        Some(f) => f.kind == FailureKind::InvalidInput,
    };
    if lasting
        && let Some(journal) = &ctx.journal
        && let Err(e) = journal.record(done.clone()).await
    {
        tracing::warn!(row = done.row, error = %e, "Could not record the row in the run journal; a resume will look it up again.");
    }
    Ok(done)
}

/// Stdout, or a temporary file beside `path` renamed over it at the end, so
/// a reader never sees a half-written file (see [`crate::atomic`]).
fn open_output(
    path: Option<&Path>,
) -> Result<(Box<dyn Write + Send>, Option<tempfile::TempPath>), Error> {
    let Some(path) = path else {
        return Ok((Box::new(BufWriter::new(io::stdout())), None));
    };
    if path.file_name().is_none() {
        return Err(Error::Usage(format!(
            "-o {}: not a file name",
            path.display()
        )));
    }
    let (file, temp) = crate::atomic::beside(path)
        .map_err(|source| Error::Output {
            path: path.to_path_buf(),
            source,
        })?
        .into_parts();
    Ok((Box::new(BufWriter::new(file)), Some(temp)))
}

/// Rows are read on a blocking thread (files and stdin block) and handed
/// over a small channel, so memory stays flat however long the input.
fn read_rows(
    mut reader: InputReader,
) -> impl futures::Stream<Item = Result<InputRow, crate::input::InputError>> {
    let (tx, rx) = mpsc::channel(256);
    tokio::task::spawn_blocking(move || {
        loop {
            let next = reader.next_row();
            let stop = !matches!(next, Ok(Some(_)));
            let item = match next {
                Ok(Some(row)) => Ok(row),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            if tx.blocking_send(item).is_err() || stop {
                break;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

async fn process(ctx: &Context, row: InputRow) -> RowOutcome {
    let mut outcome = RowOutcome {
        row: row.row,
        input: row.fields,
        status: Status::Error,
        company: None,
        match_info: None,
        candidates: None,
        executives: vec![],
        organisations: vec![],
        protected_pscs: vec![],
        accounts: vec![],
        error: None,
        warnings: vec![],
    };
    let query = match row.query {
        Ok(q) => q,
        Err(e) => {
            outcome.error = Some(RowFailure {
                kind: FailureKind::InvalidInput,
                message: e.message,
            });
            return outcome;
        }
    };
    if let Err(e) = fill(ctx, &query, &mut outcome).await {
        tracing::debug!(row = outcome.row, error = %e, "Row failed.");
        outcome.status = Status::Error;
        outcome.error = Some(RowFailure {
            kind: e.kind(),
            message: e.to_string(),
        });
    }
    outcome
}

/// The company a row names: from the local register when it settles the
/// row (a number it holds, or a confident name match), else through the
/// API. The register holds live companies only, so a row that names a
/// dissolved company goes to the API.
async fn resolve_row(
    ctx: &Context,
    query: &crate::input::CompanyQuery,
) -> Result<Resolution, SourceError> {
    if let Some(register) = &ctx.register
        && let Some(matched) = register.settle(query, ctx.register_searches).await?
    {
        return Ok(matched);
    }
    resolve::resolve(&ctx.ch, query, &ctx.searches).await
}

/// Resolve and fetch, filling `outcome` as far as it gets: a company found
/// before a later call fails stays in the output.
async fn fill(
    ctx: &Context,
    query: &crate::input::CompanyQuery,
    outcome: &mut RowOutcome,
) -> Result<(), SourceError> {
    let (number, info) = match resolve_row(ctx, query).await? {
        Resolution::NotFound(candidates) => {
            outcome.status = Status::NotFound;
            outcome.candidates = (!candidates.is_empty()).then_some(candidates);
            return Ok(());
        }
        Resolution::Ambiguous(candidates) => {
            outcome.status = Status::Ambiguous;
            outcome.candidates = Some(candidates);
            return Ok(());
        }
        Resolution::Matched { number, info } => (number, info),
    };
    let local = match &ctx.register {
        Some(r) => r.company(&number).await?,
        None => None,
    };
    let company = match local {
        Some(company) => company,
        None => match ctx.ch.company_profile(&number).await? {
            Some(profile) => ch::company(&profile, &number),
            None => {
                // Listed by search but gone from the register.
                outcome.status = Status::NotFound;
                return Ok(());
            }
        },
    };
    let company_name = company.company_name.clone();
    let outside = ctx.industry.as_ref().is_some_and(|wanted| {
        !company
            .sic_codes
            .iter()
            .any(|c| wanted.contains(c.as_str()))
    });
    outcome.company = Some(company);
    let match_confidence = info.confidence;
    outcome.match_info = Some(info);
    if outside {
        // Outside the industry asked for: no officer or PSC call is spent.
        outcome.status = Status::Filtered;
        return Ok(());
    }
    let pscs = async {
        if let Some(r) = &ctx.register
            && let Some(pscs) = r.pscs(&number).await?
        {
            return Ok(pscs);
        }
        ctx.ch.persons_with_significant_control(&number).await
    };
    let (officers, pscs) = tokio::try_join!(ctx.ch.officers(&number), pscs)?;
    // No PSC listed: the statements say why (the common case costs no call).
    if pscs.is_empty() {
        let local = match &ctx.register {
            Some(r) => r.psc_statements(&number).await?,
            None => None,
        };
        let items = match local {
            Some(items) => items,
            None => ctx.ch.psc_statements(&number).await?,
        };
        if let Some(company) = outcome.company.as_mut() {
            company.psc_statements = ch::psc_statements(&items, ctx.merge.include_resigned);
        }
    }
    outcome.protected_pscs = ch::protected_pscs(&pscs, ctx.merge.include_resigned);
    let findings = ch::findings(&number, &officers, &pscs);
    let (mut executives, organisations) = merge::merge(&findings, ctx.merge, match_confidence);
    let social_query = SocialQuery {
        company_name,
        company_number: number.clone(),
        website: query.website.clone(),
        postcode: outcome
            .company
            .as_ref()
            .and_then(|c| c.registered_office_postcode.clone()),
        officers: executives
            .iter()
            .map(|e| OfficerName {
                given_name: e.given_name.clone(),
                family_name: e.family_name.clone(),
            })
            .collect(),
    };
    let (social, warnings) = ctx.social.lookup(&social_query).await;
    merge::confirm(&mut executives, &social.profiles, match_confidence);
    executives.retain(|e| {
        e.confidence >= ctx.min_confidence
            && (!ctx.merge.executives_only || e.seniority == crate::seniority::Seniority::Executive)
    });
    let mut organisations = organisations;
    if ctx.appointments {
        directorships(&ctx.ch, &number, &mut executives, &mut organisations).await;
    }
    outcome.executives = executives;
    outcome.organisations = organisations;
    outcome.accounts = social.accounts;
    outcome.warnings = warnings;
    outcome.status = Status::Matched;
    Ok(())
}
