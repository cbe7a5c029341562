//! Reading the companies to look up from a CSV file (or stdin).
//!
//! A file-level problem (unreadable, not CSV, no name column) stops the run
//! before anything is written. A row-level problem (empty name, invalid
//! UTF-8, wrong field count, a malformed company number) turns that row
//! into an [`InputRow`] whose query is an error; the rest go on.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use crate::company_number::CompanyNumber;

/// Header names accepted for each column (compared case-insensitively, trimmed).
const NAME_COLUMNS: [&str; 3] = ["company_name", "name", "company"];
const NUMBER_COLUMNS: [&str; 2] = ["company_number", "number"];

/// What one input row asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyQuery {
    pub name: Option<String>,
    pub company_number: Option<CompanyNumber>,
    pub postcode: Option<String>,
    pub website: Option<String>,
    /// The caller's own key, echoed back.
    pub id: Option<String>,
    /// The row's `company_status` (or `status`) says the company is no
    /// longer live (dissolved, closed): the matcher then prefers such a
    /// company to a live namesake.
    pub wants_dissolved: bool,
}

/// Why a row could not be turned into a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The column at fault, when there is one.
    pub field: Option<&'static str>,
    pub message: String,
}

/// One data row of the input.
#[derive(Debug, Clone)]
pub struct InputRow {
    /// 1 for the first data row.
    pub row: u64,
    /// Line of the file the row starts on (the header is line 1).
    pub line: u64,
    /// The row as given, keyed by the header's names.
    pub fields: Map<String, Value>,
    pub query: Result<CompanyQuery, RowError>,
}

/// A file-level input problem. Nothing has been written when it is raised.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", source_name.display())]
pub struct InputError {
    pub source_name: PathBuf,
    pub message: String,
}

/// Columns found in the header row.
#[derive(Debug, Clone)]
struct Columns {
    headers: Vec<String>,
    name: usize,
    number: Option<usize>,
    postcode: Option<usize>,
    website: Option<usize>,
    id: Option<usize>,
    status: Option<usize>,
}

/// Reads rows one at a time, so inputs of any size use little memory.
pub struct InputReader {
    reader: csv::Reader<BufReader<Box<dyn Read + Send>>>,
    columns: Columns,
    /// The csv crate counts the lines of CRLF files one short; this corrects it.
    line_offset: u64,
    source_name: PathBuf,
    next_row: u64,
    record: csv::ByteRecord,
}

impl InputReader {
    /// Open `path` (`-` for stdin) and check its header row.
    pub fn open(path: &Path) -> Result<InputReader, InputError> {
        let is_stdin = path.as_os_str() == "-";
        let source_name = if is_stdin {
            PathBuf::from("<stdin>")
        } else {
            path.to_path_buf()
        };
        let err = |message: String| InputError {
            source_name: source_name.clone(),
            message,
        };
        let input: Box<dyn Read + Send> = if is_stdin {
            Box::new(io::stdin())
        } else {
            if path.is_dir() {
                return Err(err("is a directory, not a CSV file".into()));
            }
            Box::new(File::open(path).map_err(|e| err(format!("cannot open: {e}")))?)
        };
        Self::from_reader(input, source_name)
    }

    /// Read from any source; `source_name` is used in messages.
    pub fn from_reader(
        input: Box<dyn Read + Send>,
        source_name: PathBuf,
    ) -> Result<InputReader, InputError> {
        let err = |message: String| InputError {
            source_name: source_name.clone(),
            message,
        };
        let mut input = BufReader::with_capacity(64 * 1024, input);
        let head = input
            .fill_buf()
            .map_err(|e| err(format!("cannot read: {e}")))?;
        let crlf = head
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|i| i > 0 && head[i - 1] == b'\r');
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(input);
        let raw = reader
            .byte_headers()
            .map_err(|e| err(format!("cannot read the header row: {}", csv_message(&e))))?
            .clone();
        if raw.is_empty() || (raw.len() == 1 && raw[0].is_empty()) {
            return Err(err(
                "is empty: expected a CSV header row with a company_name column".into(),
            ));
        }
        if raw.iter().any(|f| f.contains(&0u8)) {
            return Err(err("is not a CSV text file (it contains NUL bytes)".into()));
        }
        let headers: Vec<String> = raw
            .iter()
            .map(|h| {
                std::str::from_utf8(h)
                    .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
                    .map_err(|_| {
                        err("is not a UTF-8 CSV file (the header row is not valid UTF-8)".into())
                    })
            })
            .collect::<Result<_, _>>()?;
        let find = |names: &[&str]| {
            headers
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let Some(name) = find(&NAME_COLUMNS) else {
            let shown: Vec<&str> = headers.iter().map(String::as_str).take(10).collect();
            return Err(err(format!(
                "has no company name column: expected one of {} in the header row, found {:?}",
                NAME_COLUMNS.join(", "),
                shown
            )));
        };
        let columns = Columns {
            name,
            number: find(&NUMBER_COLUMNS),
            postcode: find(&["postcode", "post_code"]),
            website: find(&["website", "domain", "url"]),
            id: find(&["id"]),
            status: find(&["company_status", "status"]),
            headers,
        };
        Ok(InputReader {
            reader,
            columns,
            line_offset: u64::from(crlf),
            source_name,
            next_row: 1,
            record: csv::ByteRecord::new(),
        })
    }

    /// The input's name as it appears in messages.
    pub fn source_name(&self) -> &Path {
        &self.source_name
    }

    /// The next row, `Ok(None)` at the end. An I/O failure mid-file is an
    /// `Err`; a malformed row is an `Ok` row carrying a [`RowError`].
    pub fn next_row(&mut self) -> Result<Option<InputRow>, InputError> {
        let line_before = self.reader.position().line();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self
                    .record
                    .position()
                    .map(|p| p.line())
                    .unwrap_or(line_before)
                    + self.line_offset;
                let row = self.next_row;
                self.next_row += 1;
                Ok(Some(self.build_row(row, line)))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line_before.max(1));
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(InputError {
                        source_name: self.source_name.clone(),
                        message: format!("read failed near line {line}: {io}"),
                    });
                }
                let row = self.next_row;
                self.next_row += 1;
                Ok(Some(InputRow {
                    row,
                    line,
                    fields: Map::new(),
                    query: Err(RowError {
                        field: None,
                        message: format!(
                            "{} line {line}: {}",
                            self.source_name.display(),
                            csv_message(&e)
                        ),
                    }),
                }))
            }
        }
    }

    fn build_row(&self, row: u64, line: u64) -> InputRow {
        let record = &self.record;
        let cols = &self.columns;
        let mut fields = Map::new();
        let mut bad_utf8: Option<&str> = None;
        for (i, header) in cols.headers.iter().enumerate() {
            let value = match record.get(i) {
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(s) => Value::String(s.to_string()),
                    Err(_) => {
                        bad_utf8.get_or_insert(header.as_str());
                        Value::String(String::from_utf8_lossy(bytes).into_owned())
                    }
                },
                None => Value::Null,
            };
            fields.insert(header.clone(), value);
        }
        let at = |field: Option<&'static str>, what: String| RowError {
            field,
            message: format!("{} line {line}: {what}", self.source_name.display()),
        };
        let query = if record.len() != cols.headers.len() {
            Err(at(
                None,
                format!(
                    "expected {} fields as in the header, found {}",
                    cols.headers.len(),
                    record.len()
                ),
            ))
        } else if let Some(header) = bad_utf8 {
            Err(at(
                field_key(header),
                format!("field {header:?} is not valid UTF-8"),
            ))
        } else {
            self.query_of(&fields, &at)
        };
        InputRow {
            row,
            line,
            fields,
            query,
        }
    }

    fn query_of(
        &self,
        fields: &Map<String, Value>,
        at: &dyn Fn(Option<&'static str>, String) -> RowError,
    ) -> Result<CompanyQuery, RowError> {
        let cols = &self.columns;
        let get = |i: Option<usize>| -> Option<String> {
            let v = fields.get(&cols.headers[i?])?.as_str()?.trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let name = get(Some(cols.name));
        let company_number = match get(cols.number) {
            Some(raw) => Some(CompanyNumber::parse(&raw).map_err(|e| {
                at(
                    Some("company_number"),
                    format!("field {:?}: {e}", cols.headers[cols.number.unwrap_or(0)]),
                )
            })?),
            None => None,
        };
        if name.is_none() && company_number.is_none() {
            return Err(at(
                Some("company_name"),
                format!(
                    "field {:?} is empty and no company_number is given",
                    cols.headers[cols.name]
                ),
            ));
        }
        if company_number.is_none()
            && let Some(name) = &name
            && let Some(why) = crate::company_name::unsearchable(name)
        {
            return Err(at(
                Some("company_name"),
                format!("field {:?}: {why}", cols.headers[cols.name]),
            ));
        }
        let wants_dissolved = get(cols.status).is_some_and(|s| {
            s.eq_ignore_ascii_case("inactive")
                || crate::company_status::is_live(Some(&s)) == Some(false)
        });
        Ok(CompanyQuery {
            name,
            company_number,
            postcode: get(cols.postcode),
            website: get(cols.website),
            id: get(cols.id),
            wants_dissolved,
        })
    }
}

fn field_key(header: &str) -> Option<&'static str> {
    let h = header.to_ascii_lowercase();
    if NAME_COLUMNS.contains(&h.as_str()) {
        Some("company_name")
    } else if NUMBER_COLUMNS.contains(&h.as_str()) {
        Some("company_number")
    } else {
        None
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &[u8]) -> Result<InputReader, InputError> {
        InputReader::from_reader(Box::new(io::Cursor::new(text.to_vec())), "in.csv".into())
    }

    fn rows(text: &[u8]) -> Vec<InputRow> {
        let mut r = reader(text).unwrap();
        let mut out = vec![];
        while let Some(row) = r.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn accepts_name_aliases_bom_and_crlf() {
        let rs = rows(b"\xef\xbb\xbfID,Company\r\nA1,Acme Ltd\r\nA2,Beta PLC\r\n");
        assert_eq!(rs.len(), 2);
        let q = rs[0].query.as_ref().unwrap();
        assert_eq!(q.name.as_deref(), Some("Acme Ltd"));
        assert_eq!(q.id.as_deref(), Some("A1"));
        assert_eq!(rs[1].line, 3);
        let lf = rows(b"company_name\nA\n\"B\nC\"\nD\n");
        assert_eq!(lf.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
        let crlf = rows(b"company_name\r\nA\r\n\"B\r\nC\"\r\nD\r\n");
        assert_eq!(crlf.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(rs[0].fields["ID"], "A1");
    }

    #[test]
    fn normalises_company_numbers() {
        let rs = rows(b"name,company_number\n,473109\nX,sc1234\n");
        assert_eq!(
            rs[0]
                .query
                .as_ref()
                .unwrap()
                .company_number
                .as_ref()
                .unwrap()
                .as_str(),
            "00473109"
        );
        assert_eq!(
            rs[1]
                .query
                .as_ref()
                .unwrap()
                .company_number
                .as_ref()
                .unwrap()
                .as_str(),
            "SC001234"
        );
    }

    #[test]
    fn bad_rows_become_row_errors_and_the_rest_go_on() {
        let rs = rows(b"company_name,postcode\n,AB1 2CD\nGood Ltd,X\nToo,many,fields\n\xff\xfe Ltd,Y\nLast Ltd,Z\n");
        assert_eq!(rs.len(), 5);
        let e = rs[0].query.as_ref().unwrap_err();
        assert_eq!(e.field, Some("company_name"));
        assert!(e.message.contains("in.csv line 2"), "{}", e.message);
        assert!(rs[1].query.is_ok());
        let e = rs[2].query.as_ref().unwrap_err();
        assert!(
            e.message.contains("line 4") && e.message.contains("expected 2 fields"),
            "{}",
            e.message
        );
        let e = rs[3].query.as_ref().unwrap_err();
        assert!(
            e.message.contains("line 5") && e.message.contains("UTF-8"),
            "{}",
            e.message
        );
        assert!(rs[4].query.is_ok());
        assert_eq!(rs[4].row, 5);
    }

    #[test]
    fn a_malformed_number_names_the_field() {
        let rs = rows(b"company_name,company_number\nAcme,12-34\n");
        let e = rs[0].query.as_ref().unwrap_err();
        assert_eq!(e.field, Some("company_number"));
    }

    #[test]
    fn file_level_errors_name_the_file() {
        let e = reader(b"").err().unwrap();
        assert!(e.to_string().starts_with("in.csv: is empty"), "{e}");
        let e = reader(b"foo,bar\n1,2\n").err().unwrap();
        assert!(e.to_string().contains("no company name column"), "{e}");
        let e = reader(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("in.csv: is not"), "{e}");
    }
}
