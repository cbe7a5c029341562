//! `leadgen register import PATH...`: BasicCompanyData files, zipped or
//! not, streamed (a zip entry is decompressed as it is read, never to
//! disk) into a new register file, renamed over the old one at the end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, params};

use super::RegisterError;
use super::bulk::{BadRow, Columns};
use super::names;

/// Bad rows named in the summary; the rest are counted.
const LISTED_BAD_ROWS: usize = 5;

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub path: PathBuf,
    pub snapshot: Option<String>,
    pub companies: u64,
    pub bad_rows: u64,
    /// `FILE line N: reason`, the first few.
    pub first_bad: Vec<String>,
    /// Rows with bytes that were not UTF-8 (replaced, row kept).
    pub lossy_rows: u64,
    /// Status and category texts the enumerations do not know, with counts.
    pub unknown_status: BTreeMap<String, u64>,
    pub unknown_category: BTreeMap<String, u64>,
    pub seconds: f64,
    pub bytes: u64,
}

impl Summary {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "register: {} companies imported in {:.1} s ({:.0} rows/s) into {} ({:.1} MiB), snapshot {}",
            self.companies,
            self.seconds,
            self.companies as f64 / self.seconds.max(1e-9),
            self.path.display(),
            self.bytes as f64 / (1024.0 * 1024.0),
            self.snapshot.as_deref().unwrap_or("of unknown date")
        )];
        if self.bad_rows > 0 {
            lines.push(format!(
                "register: {} rows not imported; the first: {}",
                self.bad_rows,
                self.first_bad.join("; ")
            ));
        }
        if self.lossy_rows > 0 {
            lines.push(format!(
                "register: {} rows had bytes that are not UTF-8 (replaced; the rows are kept)",
                self.lossy_rows
            ));
        }
        for (what, unknown) in [
            ("status", &self.unknown_status),
            ("category", &self.unknown_category),
        ] {
            if !unknown.is_empty() {
                let listed: Vec<String> =
                    unknown.iter().map(|(t, n)| format!("{t:?} x{n}")).collect();
                lines.push(format!(
                    "register: {what} texts the API's enumerations do not name (kept as text): {}",
                    listed.join(", ")
                ));
            }
        }
        lines
    }
}

const SCHEMA: &str = "
CREATE TABLE companies (
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT, status_detail TEXT, status_text TEXT NOT NULL,
    company_type TEXT, subtype TEXT, category_text TEXT NOT NULL,
    incorporated_on TEXT, dissolved_on TEXT, country_of_origin TEXT NOT NULL,
    care_of TEXT NOT NULL, po_box TEXT NOT NULL,
    address_line_1 TEXT NOT NULL, address_line_2 TEXT NOT NULL,
    locality TEXT NOT NULL, region TEXT NOT NULL, country TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    sic_codes TEXT NOT NULL,
    previous_names TEXT NOT NULL
);
CREATE TABLE company_sic (
    code TEXT NOT NULL, description TEXT NOT NULL, company INTEGER NOT NULL,
    postal_code TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE blobs (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE name_keys (key TEXT NOT NULL, entry INTEGER NOT NULL);
CREATE VIRTUAL TABLE company_words USING fts5(
    words, content = '', detail = none, columnsize = 0, tokenize = 'ascii'
);
";

/// Indexes built once the rows are in: faster than keeping them up to date.
const INDEXES: &str = "
CREATE INDEX company_sic_code ON company_sic (code, postal_code);
CREATE INDEX companies_postal_code ON companies (postal_code);
CREATE INDEX name_keys_key ON name_keys (key, entry);
INSERT INTO company_words (company_words) VALUES ('optimize');
CREATE VIRTUAL TABLE temp.company_terms USING fts5vocab(main, company_words, 'row');
";

/// The register's layout: [`super::local`] refuses a file of another.
pub const FORMAT: &str = "3";

/// Imports `inputs` into a new register under `cache_dir`, replacing the
/// old one only when every file has been read. `tick` is called with the
/// rows read so far (for a progress bar).
pub fn import(
    cache_dir: &Path,
    inputs: &[PathBuf],
    mut tick: impl FnMut(u64),
) -> Result<Summary, RegisterError> {
    let started = Instant::now();
    let target = super::path(cache_dir);
    let mut new = super::NewFile::create(target.clone(), SCHEMA)?;
    let mut summary = Summary {
        path: target.clone(),
        snapshot: inputs.iter().find_map(|p| snapshot_date(p)),
        ..Summary::default()
    };
    let tx = new.conn.transaction().map_err(|e| RegisterError::Db {
        path: target.clone(),
        source: e,
    })?;
    let db = |source| RegisterError::Db {
        path: target.clone(),
        source,
    };
    {
        let mut writer = Writer::new(&tx).map_err(db)?;
        for input in inputs {
            for_each_entry(input, Some(".csv"), |name, reader| {
                read_csv(name, reader, &mut writer, &mut summary, &mut tick)
            })?;
        }
    }
    super::NewFile::write_meta(
        &tx,
        &[
            ("snapshot", summary.snapshot.clone().unwrap_or_default()),
            ("companies", summary.companies.to_string()),
            ("bad_rows", summary.bad_rows.to_string()),
            ("files", file_names(inputs)),
            ("format", FORMAT.to_owned()),
        ],
    )
    .map_err(db)?;
    tx.execute_batch(INDEXES).map_err(db)?;
    write_terms(&tx).map_err(db)?;
    tx.commit().map_err(db)?;
    summary.bytes = new.swap_in()?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The word index's vocabulary, each word with the number of names that
/// hold it, as an `fst` map in the `blobs` table (one file, swapped in
/// whole with the rest).
fn write_terms(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let bad = |e: fst::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    let mut builder = fst::MapBuilder::memory();
    {
        // BINARY collation: byte order, as the fst wants its keys.
        let mut stmt =
            tx.prepare("SELECT term, doc FROM temp.company_terms ORDER BY term COLLATE BINARY")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let term: String = row.get(0)?;
            let docs: i64 = row.get(1)?;
            builder
                .insert(term.as_bytes(), u64::try_from(docs).unwrap_or(0))
                .map_err(bad)?;
        }
    }
    let bytes = builder.into_inner().map_err(bad)?;
    tx.execute("DROP TABLE temp.company_terms", [])?;
    tx.execute(
        "INSERT INTO blobs (key, value) VALUES ('terms', ?1)",
        params![bytes],
    )?;
    Ok(())
}

/// `BasicCompanyDataAsOneFile-2026-11-01.zip` -> `2026-11-01`.
pub(crate) fn snapshot_date(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(9)).find_map(|i| {
        let candidate = name.get(i..i + 10)?;
        let b = candidate.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
            .then(|| candidate.to_owned())
    })
}

/// The inputs' file names, for the register's record of where it came from.
pub(crate) fn file_names(inputs: &[PathBuf]) -> String {
    inputs
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Calls `read` with each file in `path`: the file itself, or each entry
/// of a zip (those ending in `suffix`, when given), decompressed as it is
/// read.
pub(crate) fn for_each_entry(
    path: &Path,
    suffix: Option<&str>,
    mut read: impl FnMut(&str, &mut dyn Read) -> Result<(), RegisterError>,
) -> Result<(), RegisterError> {
    let file = File::open(path).map_err(|source| RegisterError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let is_zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if !is_zip {
        return read(
            &path.display().to_string(),
            &mut BufReader::with_capacity(1 << 20, file),
        );
    }
    let zip_error = |e: zip::result::ZipError| RegisterError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_error)?;
    let mut found = false;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_error)?;
        let entry_name = entry.name().map_err(zip_error)?.into_owned();
        let wanted = suffix.is_none_or(|s| entry_name.to_ascii_lowercase().ends_with(s));
        if entry.is_dir() || !wanted {
            continue;
        }
        found = true;
        let name = format!("{}:{entry_name}", path.display());
        read(&name, &mut BufReader::with_capacity(1 << 20, &mut entry))?;
    }
    if found {
        Ok(())
    } else {
        Err(RegisterError::NotARegister {
            path: path.to_path_buf(),
            reason: format!("the zip holds no {} file", suffix.unwrap_or("data")),
        })
    }
}

fn read_csv(
    name: &str,
    input: &mut dyn Read,
    writer: &mut Writer<'_>,
    summary: &mut Summary,
    tick: &mut impl FnMut(u64),
) -> Result<(), RegisterError> {
    let path = PathBuf::from(name);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let read_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        RegisterError::Read {
            path: path.clone(),
            line,
            reason: e.to_string(),
        }
    };
    let header = reader.byte_headers().map_err(read_error)?.clone();
    let columns = Columns::from_header(&header).map_err(|reason| RegisterError::NotARegister {
        path: path.clone(),
        reason,
    })?;
    let mut row = csv::ByteRecord::new();
    while reader.read_byte_record(&mut row).map_err(read_error)? {
        let line = row.position().map_or(0, |p| p.line());
        match columns.company(&row, line) {
            Ok((company, lossy)) => {
                summary.lossy_rows += u64::from(lossy);
                if company.status.is_none() {
                    *summary
                        .unknown_status
                        .entry(company.status_text.clone())
                        .or_default() += 1;
                }
                if company.company_type.is_none() && company.subtype.is_none() {
                    *summary
                        .unknown_category
                        .entry(company.category_text.clone())
                        .or_default() += 1;
                }
                writer.write(&company).map_err(|source| RegisterError::Db {
                    path: summary.path.clone(),
                    source,
                })?;
                summary.companies += 1;
            }
            Err(BadRow { line, reason }) => {
                summary.bad_rows += 1;
                if summary.first_bad.len() < LISTED_BAD_ROWS {
                    summary
                        .first_bad
                        .push(format!("{name} line {line}: {reason}"));
                }
            }
        }
        if summary.companies.is_multiple_of(10_000) {
            tick(summary.companies + summary.bad_rows);
        }
    }
    tick(summary.companies + summary.bad_rows);
    Ok(())
}

/// The prepared inserts of one import.
struct Writer<'c> {
    conn: &'c Connection,
    company: rusqlite::Statement<'c>,
    sic: rusqlite::Statement<'c>,
    words: rusqlite::Statement<'c>,
    key: rusqlite::Statement<'c>,
}

impl<'c> Writer<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Writer<'c>> {
        Ok(Writer {
            conn,
            company: conn.prepare(
                "INSERT OR REPLACE INTO companies (number, name, status, status_detail, status_text, \
                 company_type, subtype, category_text, incorporated_on, dissolved_on, country_of_origin, \
                 care_of, po_box, address_line_1, address_line_2, locality, region, country, postal_code, \
                 sic_codes, previous_names) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            )?,
            sic: conn.prepare(
                "INSERT INTO company_sic (code, description, company, postal_code) VALUES (?1, ?2, ?3, ?4)",
            )?,
            words: conn.prepare("INSERT INTO company_words (rowid, words) VALUES (?1, ?2)")?,
            key: conn.prepare("INSERT INTO name_keys (key, entry) VALUES (?1, ?2)")?,
        })
    }

    fn write(&mut self, c: &super::bulk::BulkCompany) -> rusqlite::Result<()> {
        let sic_codes: Vec<&str> = c.sic.iter().map(|(code, _)| code.as_str()).collect();
        let previous: Vec<serde_json::Value> = c
            .previous_names
            .iter()
            .map(|(name, ceased_on)| serde_json::json!({"name": name, "ceased_on": ceased_on}))
            .collect();
        self.company.execute(params![
            c.number,
            c.name,
            c.status,
            c.status_detail,
            c.status_text,
            c.company_type,
            c.subtype,
            c.category_text,
            c.incorporated_on,
            c.dissolved_on,
            c.country_of_origin,
            c.care_of,
            c.po_box,
            c.address_line_1,
            c.address_line_2,
            c.locality,
            c.region,
            c.country,
            c.postal_code,
            sic_codes.join(" "),
            serde_json::Value::Array(previous).to_string(),
        ])?;
        let rowid = self.conn.last_insert_rowid();
        for (code, description) in &c.sic {
            self.sic
                .execute(params![code, description, rowid, c.postal_code])?;
        }
        let names = std::iter::once(c.name.as_str())
            .chain(c.previous_names.iter().map(|(n, _)| n.as_str()));
        for (index, name) in names.enumerate().take(names::MAX_NAMES) {
            let entry = names::entry(rowid, index);
            let words = names::index_words(name);
            if !words.is_empty() {
                self.words.execute(params![entry, words.join(" ")])?;
            }
            let key = names::key(name);
            if !key.is_empty() {
                self.key.execute(params![key, entry])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_date_is_read_from_the_file_name() {
        assert_eq!(
            snapshot_date(Path::new("/d/BasicCompanyDataAsOneFile-2026-11-01.zip")).as_deref(),
            Some("2026-11-01")
        );
        assert_eq!(
            snapshot_date(Path::new("BasicCompanyData-2026-11-01-part3_7.zip")).as_deref(),
            Some("2026-11-01")
        );
        assert_eq!(snapshot_date(Path::new("companies.csv")), None);
    }
}
