//! The order of the steps: read rows, resolve each company, fetch its
//! officers and PSCs, merge, write. Rows are processed concurrently and
//! written in input order as they complete.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::cache::{Cache, CacheStats};
use crate::config::{DiscoverSettings, Optional, SocialSettings};
use crate::error::Error;
use crate::gateway::{Gateway, Provider, ProviderStats};
use crate::input::{InputReader, InputRow};
use crate::merge::{self, MergeOptions};
use crate::output::{RowFailure, RowOutcome, Sink, SourceWarning, Status};
use crate::resolve::{self, Resolution};
use crate::sources::SourceError;
use crate::sources::companies_house::{self as ch, Client};
use crate::sources::social::{OfficerName, Platform, SocialFindings, SocialQuery, SocialSource};
use crate::sources::{facebook, linkedin, x};

/// Entries kept in memory: enough to make duplicate rows free in any
/// realistic batch while keeping memory flat on huge inputs.
const MEMORY_CACHE_ENTRIES: u64 = 50_000;

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub rows: u64,
    pub by_status: BTreeMap<Status, u64>,
    pub executives: u64,
    pub cache: CacheStats,
    /// Calls, retries, 429s and breaker openings per provider.
    pub providers: BTreeMap<Provider, ProviderStats>,
    pub elapsed: Duration,
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
}

/// Everything a row needs to be processed.
#[derive(Clone)]
struct Context {
    ch: Client,
    merge: MergeOptions,
    social: SocialClients,
    min_confidence: f64,
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
        let x = match &settings.x {
            Optional::Use { url, credentials } => Some(x::Client::new(
                gateway.clone(),
                cache.clone(),
                url,
                credentials.clone(),
            )),
            _ => None,
        };
        let linkedin = match &settings.linkedin {
            Optional::Use { url, credentials } => Some(linkedin::Client::new(
                gateway.clone(),
                cache.clone(),
                url,
                credentials.clone(),
            )),
            _ => None,
        };
        let facebook = match &settings.facebook {
            Optional::Use { url, credentials } => Some(facebook::Client::new(
                gateway.clone(),
                cache.clone(),
                url,
                credentials.clone(),
            )),
            _ => None,
        };
        SocialClients {
            x,
            linkedin,
            facebook,
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
                    source: platform.as_str().to_string(),
                    kind: e.kind().to_string(),
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
    let gateway =
        Gateway::new(settings.providers.clone()).map_err(|e| Error::Usage(e.to_string()))?;
    let cache = Cache::in_memory(MEMORY_CACHE_ENTRIES);
    let ctx = Context {
        ch: Client::new(
            gateway.clone(),
            cache.clone(),
            &settings.companies_house_url,
            settings.companies_house_key.clone(),
        ),
        merge: settings.merge,
        social: SocialClients::new(&settings.social, &gateway, &cache),
        min_confidence: settings.min_confidence,
    };

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

    let rows = read_rows(reader);
    let outcomes = rows
        .map(|row| {
            let ctx = ctx.clone();
            async move {
                match row {
                    Ok(row) => Ok(process(&ctx, row).await),
                    Err(e) => Err(e),
                }
            }
        })
        .buffered(settings.concurrency);
    let mut outcomes = std::pin::pin!(outcomes);

    let mut summary = RunSummary::default();
    let result: Result<(), Error> = async {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                next = outcomes.next() => {
                    let Some(outcome) = next else { break };
                    let outcome = outcome.map_err(Error::Input)?;
                    summary.rows += 1;
                    *summary.by_status.entry(outcome.status).or_default() += 1;
                    summary.executives += outcome.executives.len() as u64;
                    summary.warnings += outcome.warnings.len() as u64;
                    if let Some(RowFailure { kind, message }) = &outcome.error
                        && kind == "credential_refused"
                    {
                        summary.credential_refused.get_or_insert_with(|| message.clone());
                    }
                    sink.write(&outcome).map_err(write_err)?;
                }
                _ = &mut ctrl_c => return Err(Error::Interrupted),
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        if let Some(temp) = temp {
            // An earlier complete output stays as it was.
            let _ = fs::remove_file(temp);
        }
        return Err(e);
    }
    sink.finish().map_err(write_err)?;
    if let (Some(temp), Some(path)) = (temp, settings.output.as_deref()) {
        fs::rename(&temp, path).map_err(|source| Error::Output {
            path: path.to_path_buf(),
            source,
        })?;
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
    Ok(summary)
}

/// Stdout, or a temporary file beside `path` renamed over it at the end, so
/// a reader never sees a half-written file.
fn open_output(path: Option<&Path>) -> Result<(Box<dyn Write + Send>, Option<PathBuf>), Error> {
    let Some(path) = path else {
        return Ok((Box::new(BufWriter::new(io::stdout())), None));
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("-o {}: not a file name", path.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let file = fs::File::create(&temp).map_err(|source| Error::Output {
        path: path.to_path_buf(),
        source,
    })?;
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
        accounts: vec![],
        error: None,
        warnings: vec![],
    };
    let query = match row.query {
        Ok(q) => q,
        Err(e) => {
            outcome.error = Some(RowFailure {
                kind: "invalid_input".into(),
                message: e.message,
            });
            return outcome;
        }
    };
    if let Err(e) = fill(ctx, &query, &mut outcome).await {
        tracing::debug!(row = outcome.row, error = %e, "Row failed.");
        outcome.status = Status::Error;
        outcome.error = Some(RowFailure {
            kind: e.kind().into(),
            message: e.to_string(),
        });
    }
    outcome
}

/// Resolve and fetch, filling `outcome` as far as it gets: a company found
/// before a later call fails stays in the output.
async fn fill(
    ctx: &Context,
    query: &crate::input::CompanyQuery,
    outcome: &mut RowOutcome,
) -> Result<(), SourceError> {
    let (number, info) = match resolve::resolve(&ctx.ch, query).await? {
        Resolution::NotFound => {
            outcome.status = Status::NotFound;
            return Ok(());
        }
        Resolution::Ambiguous(candidates) => {
            outcome.status = Status::Ambiguous;
            outcome.candidates = Some(candidates);
            return Ok(());
        }
        Resolution::Matched { number, info } => (number, info),
    };
    let Some(profile) = ctx.ch.company_profile(&number).await? else {
        // Listed by search but gone from the register.
        outcome.status = Status::NotFound;
        return Ok(());
    };
    outcome.company = Some(ch::company(&profile, &number));
    outcome.match_info = Some(info);
    let (officers, pscs) = tokio::try_join!(
        ctx.ch.officers(&number),
        ctx.ch.persons_with_significant_control(&number)
    )?;
    let findings = ch::findings(&number, &officers, &pscs);
    let (mut executives, organisations) = merge::merge(&findings, ctx.merge, info.confidence);
    let social_query = SocialQuery {
        company_name: profile.company_name.clone().unwrap_or_default(),
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
    merge::confirm(&mut executives, &social.profiles, info.confidence);
    executives.retain(|e| e.confidence >= ctx.min_confidence);
    outcome.executives = executives;
    outcome.organisations = organisations;
    outcome.accounts = social.accounts;
    outcome.warnings = warnings;
    outcome.status = Status::Matched;
    Ok(())
}
