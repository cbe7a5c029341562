//! Writing results: one record per input row, in input order, as CSV,
//! JSON or JSON Lines. The schema is documented in the README.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::failure::FailureKind;
use crate::merge::{Executive, Organisation};
use crate::model::{Company, ProtectedPsc};
use crate::resolve::{CandidateSummary, MatchInfo};
use crate::sources::social::Account;
use crate::sources::social::Platform;

/// How a row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Matched,
    NotFound,
    Ambiguous,
    /// Matched, but outside the industry `--sic`/`--sic-section` asks
    /// for: its officers were not fetched.
    Filtered,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Matched => "matched",
            Status::NotFound => "not_found",
            Status::Ambiguous => "ambiguous",
            Status::Filtered => "filtered",
            Status::Error => "error",
        }
    }
}

/// Why a row ended in `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The outcome of one input row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowOutcome {
    pub row: u64,
    pub input: Map<String, Value>,
    pub status: Status,
    pub company: Option<Company>,
    #[serde(rename = "match")]
    pub match_info: Option<MatchInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<CandidateSummary>>,
    pub executives: Vec<Executive>,
    pub organisations: Vec<Organisation>,
    /// PSCs whose details the register protects (no name to report).
    pub protected_pscs: Vec<ProtectedPsc>,
    /// The company's official social accounts, best first per platform.
    pub accounts: Vec<Account>,
    pub error: Option<RowFailure>,
    /// Sources that failed for this row without failing it (a social
    /// platform down, say); the register's answer stands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<SourceWarning>,
}

/// A source that could not answer for one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceWarning {
    pub source: Platform,
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
    Jsonl,
}

/// Streams outcomes to a writer as they complete.
pub struct Sink<W: Write> {
    out: Out<W>,
    include_birth: bool,
    written: u64,
}

enum Out<W: Write> {
    /// Rows arrive rendered ([`render`]), so CSV is plain bytes here too.
    Csv(W),
    Json(W),
    Jsonl(W),
}

/// CSV columns, one row per executive.
const CSV_COLUMNS: [&str; 35] = [
    "row",
    "input_id",
    "input_company_name",
    "input_company_number",
    "status",
    "company_number",
    "company_name",
    "company_status",
    "match_confidence",
    "match_method",
    "name",
    "given_name",
    "family_name",
    "roles",
    "seniority",
    "seniority_basis",
    "appointments_count",
    "other_appointments",
    "appointed_on",
    "resigned_on",
    "occupation",
    "nationality",
    "country_of_residence",
    "natures_of_control",
    "sources",
    "confidence",
    "verified_by",
    "link",
    "profiles",
    "accounts",
    "protected_pscs",
    "psc_statements",
    "candidates",
    "error_kind",
    "error_message",
];

impl<W: Write> Sink<W> {
    pub fn new(out: W, format: Format, include_birth: bool) -> Sink<W> {
        let out = match format {
            Format::Csv => Out::Csv(out),
            Format::Json => Out::Json(out),
            Format::Jsonl => Out::Jsonl(out),
        };
        Sink {
            out,
            include_birth,
            written: 0,
        }
    }

    pub fn write(&mut self, outcome: &RowOutcome) -> io::Result<()> {
        let rendered = render(self.format(), self.include_birth, outcome)?;
        self.write_rendered(&rendered)
    }

    /// Write a row [`render`]ed earlier for this sink's format (a resumed
    /// run replays finished rows this way from the run journal).
    pub fn write_rendered(&mut self, rendered: &[u8]) -> io::Result<()> {
        let first = self.written == 0;
        match &mut self.out {
            Out::Jsonl(out) => out.write_all(rendered)?,
            Out::Json(out) => {
                out.write_all(if first { b"[\n" } else { b",\n" })?;
                out.write_all(rendered)?;
            }
            Out::Csv(out) => {
                if first {
                    out.write_all(&csv_header(self.include_birth)?)?;
                }
                out.write_all(rendered)?;
                // Flush per row so a reader (or `| head`) sees rows as they complete.
                out.flush()?;
            }
        }
        self.written += 1;
        Ok(())
    }

    fn format(&self) -> Format {
        match self.out {
            Out::Csv(_) => Format::Csv,
            Out::Json(_) => Format::Json,
            Out::Jsonl(_) => Format::Jsonl,
        }
    }

    /// Close the document (JSON's closing bracket) and flush.
    pub fn finish(self) -> io::Result<W> {
        let mut out = match self.out {
            Out::Json(mut out) => {
                out.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
                out
            }
            Out::Jsonl(out) => out,
            Out::Csv(mut out) => {
                if self.written == 0 {
                    out.write_all(&csv_header(self.include_birth)?)?;
                }
                out
            }
        };
        out.flush()?;
        Ok(out)
    }
}

/// One row as it appears in `format`: its CSV lines, its JSON object, or
/// its JSON line with the newline; separators between rows are the sink's.
pub fn render(format: Format, include_birth: bool, outcome: &RowOutcome) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        Format::Jsonl => {
            serde_json::to_writer(&mut out, outcome)?;
            out.push(b'\n');
        }
        Format::Json => serde_json::to_writer(&mut out, outcome)?,
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut out);
            write_csv(&mut w, outcome, include_birth)?;
            w.flush()?;
            drop(w);
        }
    }
    Ok(out)
}

/// A list as CSV text: `header`, then one record per row (`find`, `diff`,
/// `sic search`).
pub fn csv_text<R, F>(header: &[&str], rows: impl IntoIterator<Item = R>) -> io::Result<String>
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    String::from_utf8(bytes).map_err(io::Error::other)
}

/// A list as JSON Lines text: one object per item.
pub fn jsonl_text<T: Serialize>(items: &[T]) -> io::Result<String> {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(item).map_err(io::Error::other)?);
        out.push('\n');
    }
    Ok(out)
}

fn csv_header(include_birth: bool) -> io::Result<Vec<u8>> {
    let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
    if include_birth {
        header.push("birth_month");
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    w.into_inner()
        .map_err(|e| io::Error::new(e.error().kind(), e.error().to_string()))
}

/// The CSV columns by name, in [`CSV_COLUMNS`] order: a line is filled by
/// column, so it cannot drift from the header.
#[derive(Debug, Clone, Copy)]
enum Col {
    Row,
    InputId,
    InputCompanyName,
    InputCompanyNumber,
    Status,
    CompanyNumber,
    CompanyName,
    CompanyStatus,
    MatchConfidence,
    MatchMethod,
    Name,
    GivenName,
    FamilyName,
    Roles,
    Seniority,
    SeniorityBasis,
    AppointmentsCount,
    OtherAppointments,
    AppointedOn,
    ResignedOn,
    Occupation,
    Nationality,
    CountryOfResidence,
    NaturesOfControl,
    Sources,
    Confidence,
    VerifiedBy,
    Link,
    Profiles,
    Accounts,
    ProtectedPscs,
    PscStatements,
    Candidates,
    ErrorKind,
    ErrorMessage,
}

// Every column has a name and every name a column.
const _: () = assert!(Col::ErrorMessage as usize + 1 == CSV_COLUMNS.len());

/// One CSV line under construction.
#[derive(Clone)]
struct Line([String; CSV_COLUMNS.len()]);

impl Line {
    fn set(&mut self, col: Col, value: impl Into<String>) {
        self.0[col as usize] = value.into();
    }
}

fn write_csv<W: Write>(
    w: &mut csv::Writer<W>,
    o: &RowOutcome,
    include_birth: bool,
) -> io::Result<()> {
    let row = row_columns(o);
    let mut write = |line: Line, birth: String| -> io::Result<()> {
        let mut fields = line.0.to_vec();
        if include_birth {
            fields.push(birth);
        }
        w.write_record(fields.iter().map(|f| neutralise_formula(f).into_owned()))?;
        Ok(())
    };
    if o.executives.is_empty() {
        write(row.clone(), String::new())?;
    }
    for e in &o.executives {
        let mut line = row.clone();
        executive_columns(&mut line, e);
        let birth = e
            .date_of_birth
            .map(|b| format!("{:04}-{:02}", b.year, b.month))
            .unwrap_or_default();
        write(line, birth)?;
    }
    Ok(())
}

/// The columns every line of a row shares: input, status, company, match,
/// accounts, candidates and error.
fn row_columns(o: &RowOutcome) -> Line {
    let input = |k: &[&str]| -> String {
        o.input
            .iter()
            .find(|(h, _)| k.iter().any(|x| h.eq_ignore_ascii_case(x)))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut line = Line(std::array::from_fn(|_| String::new()));
    line.set(Col::Row, o.row.to_string());
    line.set(Col::InputId, input(&["id"]));
    line.set(
        Col::InputCompanyName,
        input(&["company_name", "name", "company"]),
    );
    line.set(
        Col::InputCompanyNumber,
        input(&["company_number", "number"]),
    );
    line.set(Col::Status, o.status.as_str());
    if let Some(c) = &o.company {
        line.set(Col::CompanyNumber, c.company_number.to_string());
        line.set(Col::CompanyName, c.company_name.clone());
        line.set(
            Col::CompanyStatus,
            c.company_status.clone().unwrap_or_default(),
        );
    }
    if let Some(m) = &o.match_info {
        line.set(Col::MatchConfidence, m.confidence.to_string());
        let method = serde_json::to_value(m.method)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        line.set(Col::MatchMethod, method);
    }
    let accounts: Vec<&str> = o.accounts.iter().map(|a| a.url.as_str()).collect();
    line.set(Col::Accounts, accounts.join(";"));
    let protected: Vec<String> = o
        .protected_pscs
        .iter()
        .map(|p| {
            if p.active {
                p.kind.clone()
            } else {
                format!("{} (ceased)", p.kind)
            }
        })
        .collect();
    line.set(Col::ProtectedPscs, protected.join(";"));
    if let Some(c) = &o.company {
        let statements: Vec<&str> = c
            .psc_statements
            .iter()
            .map(|s| s.statement.as_str())
            .collect();
        line.set(Col::PscStatements, statements.join(";"));
    }
    let candidates: Vec<String> = o
        .candidates
        .iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} ({}, {})",
                c.company_number,
                c.company_name,
                c.company_status.as_deref().unwrap_or("unknown"),
                c.confidence
            )
        })
        .collect();
    line.set(Col::Candidates, candidates.join("; "));
    if let Some(e) = &o.error {
        line.set(Col::ErrorKind, e.kind.as_str());
        line.set(Col::ErrorMessage, e.message.clone());
    }
    line
}

/// One executive's columns.
fn executive_columns(line: &mut Line, e: &Executive) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    line.set(Col::Name, e.name.clone());
    line.set(Col::GivenName, opt(&e.given_name));
    line.set(Col::FamilyName, e.family_name.clone());
    line.set(Col::Roles, e.roles.join(";"));
    line.set(Col::Seniority, e.seniority.as_str());
    line.set(Col::SeniorityBasis, e.seniority_basis.clone());
    let d = &e.directorships;
    line.set(
        Col::AppointmentsCount,
        d.count.map(|n| n.to_string()).unwrap_or_default(),
    );
    if let Some(other) = &d.other {
        let cells: Vec<String> = other
            .iter()
            .map(|a| {
                format!(
                    "{} {} ({}, {} to {}, {})",
                    a.company_number,
                    a.company_name.as_deref().unwrap_or(""),
                    a.role.as_deref().unwrap_or("?"),
                    a.appointed_on.as_deref().unwrap_or("?"),
                    a.resigned_on.as_deref().unwrap_or("now"),
                    a.company_status.as_deref().unwrap_or("?")
                )
            })
            .collect();
        line.set(Col::OtherAppointments, cells.join(";"));
    }
    line.set(
        Col::AppointedOn,
        e.appointed_on
            .clone()
            .or_else(|| e.appointed_before.as_ref().map(|d| format!("before {d}")))
            .unwrap_or_default(),
    );
    line.set(Col::ResignedOn, opt(&e.resigned_on));
    line.set(Col::Occupation, opt(&e.occupation));
    line.set(Col::Nationality, opt(&e.nationality));
    line.set(Col::CountryOfResidence, opt(&e.country_of_residence));
    line.set(Col::NaturesOfControl, e.natures_of_control.join(";"));
    let sources: Vec<&str> = e.sources.iter().map(|s| s.as_str()).collect();
    line.set(Col::Sources, sources.join(";"));
    line.set(Col::Confidence, e.confidence.to_string());
    line.set(Col::VerifiedBy, e.verified_by.to_string());
    line.set(
        Col::Link,
        e.links.values().next().cloned().unwrap_or_default(),
    );
    let profiles: Vec<&str> = e.profiles.iter().map(|p| p.url.as_str()).collect();
    line.set(Col::Profiles, profiles.join(";"));
}

/// Names come from third parties; a cell a spreadsheet would run as a
/// formula is prefixed with a quote.
fn neutralise_formula(field: &str) -> std::borrow::Cow<'_, str> {
    match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{field}").into(),
        _ => field.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company_number::CompanyNumber;
    use crate::merge::Executive;
    use crate::model::SourceKind;
    use std::collections::BTreeMap;

    fn outcome(name: &str) -> RowOutcome {
        let mut input = Map::new();
        input.insert(
            "company_name".into(),
            Value::String("=HYPERLINK(\"x\")".into()),
        );
        RowOutcome {
            row: 1,
            input,
            status: Status::Matched,
            company: Some(Company {
                company_number: CompanyNumber::parse("1").unwrap(),
                company_name: "ACME LIMITED".into(),
                company_status: Some("active".into()),
                company_type: Some("ltd".into()),
                date_of_creation: None,
                registered_office_postcode: None,
                sic_codes: vec![],
                source: "api".into(),
                psc_statements: vec![],
            }),
            match_info: None,
            candidates: None,
            executives: vec![Executive {
                name: name.into(),
                given_name: None,
                family_name: name.into(),
                roles: vec!["director".into()],
                appointed_on: None,
                appointed_before: None,
                resigned_on: None,
                occupation: Some("+44 trader".into()),
                nationality: None,
                country_of_residence: None,
                natures_of_control: vec![],
                date_of_birth: None,
                sources: vec![SourceKind::CompaniesHouseOfficers],
                profiles: vec![],
                verified_by: 1,
                confidence: 0.95,
                seniority: crate::seniority::Seniority::Unknown,
                seniority_basis: String::new(),
                directorships: Default::default(),
                officer_id: None,
                links: BTreeMap::new(),
                evidence: 0.95,
            }],
            organisations: vec![],
            protected_pscs: vec![],
            accounts: vec![],
            error: None,
            warnings: vec![],
        }
    }

    fn csv_of(o: &RowOutcome) -> Vec<csv::StringRecord> {
        let mut sink = Sink::new(Vec::new(), Format::Csv, false);
        sink.write(o).unwrap();
        let bytes = sink.finish().unwrap();
        csv::Reader::from_reader(&bytes[..])
            .records()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn csv_cells_that_would_run_as_formulas_are_neutralised() {
        let rows = csv_of(&outcome("@SUM(A1)"));
        let row = rows[0].iter().collect::<Vec<_>>();
        assert!(row.contains(&"'=HYPERLINK(\"x\")"), "{row:?}");
        assert!(row.contains(&"'@SUM(A1)"), "{row:?}");
        assert!(row.contains(&"'+44 trader"), "{row:?}");
        assert!(
            !row.iter().any(|c| c.starts_with(['=', '+', '@'])),
            "{row:?}"
        );
    }

    #[test]
    fn json_and_jsonl_carry_the_documented_fields() {
        let o = outcome("Smith");
        let mut sink = Sink::new(Vec::new(), Format::Jsonl, false);
        sink.write(&o).unwrap();
        let line = String::from_utf8(sink.finish().unwrap()).unwrap();
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        for key in [
            "row",
            "input",
            "status",
            "company",
            "match",
            "executives",
            "organisations",
            "error",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert!(
            v.get("candidates").is_none(),
            "candidates only when ambiguous"
        );
        let e = &v["executives"][0];
        for key in [
            "name",
            "given_name",
            "family_name",
            "roles",
            "appointed_on",
            "occupation",
            "nationality",
            "country_of_residence",
            "sources",
            "confidence",
            "links",
        ] {
            assert!(e.get(key).is_some(), "executive {key} missing");
        }
        assert!(
            e.get("date_of_birth").is_none(),
            "birth month only on request"
        );

        let mut sink = Sink::new(Vec::new(), Format::Json, false);
        sink.write(&o).unwrap();
        sink.write(&o).unwrap();
        let doc: Vec<Value> = serde_json::from_slice(&sink.finish().unwrap()).unwrap();
        assert_eq!(doc.len(), 2);
        let empty = Sink::new(Vec::new(), Format::Json, false).finish().unwrap();
        assert_eq!(
            serde_json::from_slice::<Vec<Value>>(&empty).unwrap().len(),
            0
        );
    }
}
