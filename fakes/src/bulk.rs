//! The fake register written as Companies House's free company data
//! product (BasicCompanyData), so tests, the demo and the benchmarks run
//! leadgen's real import on real-format files.
//!
//! The format follows `../shared/docs/companies-house-api.md` section 5:
//! 55 columns, 14 header names with a leading space, every field
//! double-quoted, `DD/MM/YYYY` dates, status and category as human text,
//! SIC codes as `"70229 - Management consultancy ..."`, live companies
//! only. The human texts are the api-enumerations descriptions, capitalised
//! as the bulk file's documented examples are ("Private Limited Company",
//! "Active - Proposal to Strike off").

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::LazyLock;

use serde_json::Value;

use crate::companies_house::{Company, Register};

/// The header, exactly: the leading spaces are the real file's.
pub fn header() -> Vec<String> {
    let mut h: Vec<String> = [
        "CompanyName",
        " CompanyNumber",
        "RegAddress.CareOf",
        "RegAddress.POBox",
        "RegAddress.AddressLine1",
        " RegAddress.AddressLine2",
        "RegAddress.PostTown",
        "RegAddress.County",
        "RegAddress.Country",
        "RegAddress.PostCode",
        "CompanyCategory",
        "CompanyStatus",
        "CountryOfOrigin",
        "DissolutionDate",
        "IncorporationDate",
        "Accounts.AccountRefDay",
        "Accounts.AccountRefMonth",
        "Accounts.NextDueDate",
        "Accounts.LastMadeUpDate",
        "Accounts.AccountCategory",
        "Returns.NextDueDate",
        "Returns.LastMadeUpDate",
        "Mortgages.NumMortCharges",
        "Mortgages.NumMortOutstanding",
        "Mortgages.NumMortPartSatisfied",
        "Mortgages.NumMortSatisfied",
        "SICCode.SicText_1",
        "SICCode.SicText_2",
        "SICCode.SicText_3",
        "SICCode.SicText_4",
        "LimitedPartnerships.NumGenPartners",
        "LimitedPartnerships.NumLimPartners",
        "URI",
    ]
    .map(String::from)
    .to_vec();
    for i in 1..=10 {
        let date_space = if i == 2 { " " } else { "" };
        h.push(format!("{date_space}PreviousName_{i}.CONDATE"));
        h.push(format!(" PreviousName_{i}.CompanyName"));
    }
    h.push("ConfStmtNextDueDate".into());
    h.push(" ConfStmtLastMadeUpDate".into());
    h
}

/// `section` -> key -> description, from the api-enumerations.
static TEXTS: LazyLock<HashMap<(String, String), String>> = LazyLock::new(|| {
    include_str!("../../data/company_enumerations.tsv")
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            Some((
                (f.next()?.to_owned(), f.next()?.to_owned()),
                f.next()?.to_owned(),
            ))
        })
        .collect()
});

static SIC: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    let mut reader =
        csv::Reader::from_reader(include_str!("../../data/sic07_condensed_list_en.csv").as_bytes());
    reader
        .records()
        .flatten()
        .filter_map(|r| Some((r.get(0)?.to_owned(), r.get(1)?.to_owned())))
        .collect()
});

fn text(section: &str, key: &str) -> Option<String> {
    TEXTS
        .get(&(section.to_owned(), key.to_owned()))
        .filter(|t| !t.is_empty())
        .cloned()
}

/// "Private limited company" -> "Private Limited Company".
fn title(text: &str) -> String {
    const SMALL: [&str; 7] = ["by", "of", "or", "and", "to", "with", "without"];
    text.split(' ')
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && SMALL.contains(&w) {
                w.to_owned()
            } else {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2024-03-31` -> `31/03/2024`; empty when absent.
fn ddmmyyyy(iso: Option<&str>) -> String {
    match iso.map(|d| d.split('-').collect::<Vec<_>>()).as_deref() {
        Some([y, m, d]) => format!("{d}/{m}/{y}"),
        _ => String::new(),
    }
}

/// Whether the bulk file (live companies only) holds `company`.
pub fn is_live(company: &Company) -> bool {
    !matches!(
        company.profile["company_status"].as_str(),
        Some("dissolved" | "converted-closed" | "closed" | "removed")
    )
}

/// One company's 55 fields.
pub fn row(company: &Company) -> Vec<String> {
    let p = &company.profile;
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let address = &p["registered_office_address"];
    let status_key = p["company_status"].as_str().unwrap_or_default();
    let status = text("company_status", status_key).unwrap_or_else(|| status_key.to_owned());
    let status = match p["company_status_detail"].as_str() {
        Some("active-proposal-to-strike-off") => "Active - Proposal to Strike off".to_owned(),
        _ => status,
    };
    let category = match (p["subtype"].as_str(), p["type"].as_str()) {
        (Some("community-interest-company"), _) => "Community Interest Company".to_owned(),
        (_, Some(t)) => text("company_type", t).map_or_else(|| t.to_owned(), |d| title(&d)),
        _ => String::new(),
    };
    let sic: Vec<String> = p["sic_codes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|code| match SIC.get(code) {
            Some(d) => format!("{code} - {d}"),
            None => code.to_owned(),
        })
        .collect();
    let mut fields = vec![
        s(&p["company_name"]),
        s(&p["company_number"]),
        s(&address["care_of"]),
        s(&address["po_box"]),
        s(&address["address_line_1"]),
        s(&address["address_line_2"]),
        s(&address["locality"]),
        s(&address["region"]),
        s(&address["country"]),
        s(&address["postal_code"]),
        category,
        status,
        "United Kingdom".to_owned(),
        ddmmyyyy(p["date_of_cessation"].as_str()),
        ddmmyyyy(p["date_of_creation"].as_str()),
    ];
    let refdate = &p["accounts"]["accounting_reference_date"];
    fields.extend([
        s(&refdate["day"]),
        s(&refdate["month"]),
        ddmmyyyy(p["accounts"]["next_due"].as_str()),
        ddmmyyyy(p["accounts"]["last_accounts"]["made_up_to"].as_str()),
        String::new(),
        String::new(),
        String::new(),
    ]);
    fields.extend(["0", "0", "0", "0"].map(String::from));
    for i in 0..4 {
        fields.push(sic.get(i).cloned().unwrap_or_default());
    }
    fields.extend(["0", "0"].map(String::from));
    fields.push(format!(
        "http://business.data.gov.uk/id/company/{}",
        s(&p["company_number"])
    ));
    let previous = p["previous_company_names"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for i in 0..10 {
        match previous.get(i) {
            Some(n) => {
                fields.push(ddmmyyyy(n["ceased_on"].as_str()));
                fields.push(s(&n["name"]));
            }
            None => fields.extend([String::new(), String::new()]),
        }
    }
    fields.push(ddmmyyyy(p["confirmation_statement"]["next_due"].as_str()));
    fields.push(ddmmyyyy(
        p["confirmation_statement"]["last_made_up_to"].as_str(),
    ));
    fields
}

/// Writes the live ones of `companies` as a BasicCompanyData CSV.
pub fn write_csv<C: std::borrow::Borrow<Company>>(
    companies: impl IntoIterator<Item = C>,
    out: impl Write,
) -> io::Result<u64> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out);
    w.write_record(header())?;
    let mut n = 0;
    for company in companies {
        let company = company.borrow();
        if is_live(company) {
            w.write_record(row(company))?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

/// Writes `companies` as one bulk file without holding them (a benchmark's
/// millions of synthetic rows). Returns the path and the rows written.
pub fn export_stream(
    companies: impl Iterator<Item = Company>,
    dir: &std::path::Path,
    date: &str,
    zipped: bool,
) -> io::Result<(std::path::PathBuf, u64)> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(date, None, zipped));
    let file = std::fs::File::create(&path)?;
    let n = if zipped {
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file(file_name(date, None, false), options)
            .map_err(io::Error::other)?;
        let n = write_csv(companies, io::BufWriter::new(&mut zip))?;
        zip.finish().map_err(io::Error::other)?;
        n
    } else {
        write_csv(companies, io::BufWriter::with_capacity(1 << 20, file))?
    };
    Ok((path, n))
}

/// The file names Companies House uses: one file, or part `i` of `n`.
pub fn file_name(date: &str, part: Option<(usize, usize)>, zipped: bool) -> String {
    let ext = if zipped { "zip" } else { "csv" };
    match part {
        None => format!("BasicCompanyDataAsOneFile-{date}.{ext}"),
        Some((i, n)) => format!("BasicCompanyData-{date}-part{i}_{n}.{ext}"),
    }
}

/// Writes `register` into `dir` as the bulk product: one file, or `parts`
/// files, each a CSV or a zip holding the CSV. Returns the paths written.
pub fn export(
    register: &Register,
    dir: &std::path::Path,
    date: &str,
    parts: usize,
    zipped: bool,
) -> io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let live: Vec<&Company> = register.companies().iter().filter(|c| is_live(c)).collect();
    let parts = parts.max(1);
    let per_part = live.len().div_ceil(parts).max(1);
    let mut written = Vec::new();
    for (i, chunk) in live.chunks(per_part).enumerate() {
        let part = (parts > 1).then_some((i + 1, parts));
        let path = dir.join(file_name(date, part, zipped));
        let file = std::fs::File::create(&path)?;
        if zipped {
            let mut zip = zip::ZipWriter::new(file);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file(file_name(date, part, false), options)
                .map_err(io::Error::other)?;
            write_csv(chunk.iter().copied(), &mut zip)?;
            zip.finish().map_err(io::Error::other)?;
        } else {
            write_csv(chunk.iter().copied(), io::BufWriter::new(file))?;
        }
        written.push(path);
    }
    Ok(written)
}

/// The PSC snapshot's file names: one file, or part `i` of `n`.
pub fn psc_file_name(date: &str, part: Option<(usize, usize)>, ext: &str) -> String {
    match part {
        None => format!("persons-with-significant-control-snapshot-{date}.{ext}"),
        Some((i, n)) => format!("psc-snapshot-{date}_{i}of{n}.{ext}"),
    }
}

/// Writes the PSCs of `register` as Companies House's PSC snapshot: one
/// `{"company_number":...,"data":{...}}` line per PSC, the totals record
/// last (unless `totals` is false, as a cut-short snapshot would be), in
/// `parts` files, zipped or not. Returns the paths in order.
pub fn export_psc(
    register: &Register,
    dir: &std::path::Path,
    date: &str,
    parts: usize,
    zipped: bool,
    totals: bool,
) -> io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    // PSCs and statements, each record as the snapshot has it.
    let record = |c: &Company, item: &serde_json::Value| {
        serde_json::json!({"company_number": c.number(), "data": item}).to_string()
    };
    let mut lines: Vec<String> = Vec::new();
    let (mut count, mut statements) = (0usize, 0usize);
    for c in register.companies() {
        for item in &c.persons_with_significant_control {
            lines.push(record(c, item));
            count += 1;
        }
        for item in &c.psc_statements {
            lines.push(record(c, item));
            statements += 1;
        }
    }
    let parts = parts.max(1);
    let per_part = lines.len().div_ceil(parts).max(1);
    let chunks: Vec<&[String]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(per_part).collect()
    };
    let n = chunks.len();
    let mut written = Vec::new();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let part = (n > 1).then_some((i + 1, n));
        let mut text: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        if totals && i + 1 == n {
            text.push_str(
                &serde_json::json!({"data": {
                    "kind": "totals#persons-of-significant-control-snapshot",
                    "persons_of_significant_control_count": count,
                    "statements_count": statements,
                    "exemptions_count": 0,
                    "generated_at": format!("{date}T03:00:00Z"),
                }})
                .to_string(),
            );
            text.push('\n');
        }
        let path = dir.join(psc_file_name(
            date,
            part,
            if zipped { "zip" } else { "txt" },
        ));
        let file = std::fs::File::create(&path)?;
        if zipped {
            let mut zip = zip::ZipWriter::new(file);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file(psc_file_name(date, part, "txt"), options)
                .map_err(io::Error::other)?;
            zip.write_all(text.as_bytes())?;
            zip.finish().map_err(io::Error::other)?;
        } else {
            io::BufWriter::new(file).write_all(text.as_bytes())?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_the_documented_one() {
        let h = header();
        assert_eq!(h.len(), 55);
        assert_eq!(h.iter().filter(|n| n.starts_with(' ')).count(), 14);
        assert_eq!(h[1], " CompanyNumber");
        assert_eq!(h[54], " ConfStmtLastMadeUpDate");
    }

    #[test]
    fn rows_use_the_bulk_file_s_words() {
        let register = Register::bundled();
        let company = register
            .companies()
            .iter()
            .find(|c| c.profile["type"] == "ltd" && is_live(c))
            .unwrap();
        let r = row(company);
        assert_eq!(r.len(), 55);
        assert_eq!(r[10], "Private Limited Company");
        assert!(r[14].contains('/'), "{}", r[14]);
        assert_eq!(
            title("Private limited by guarantee without share capital"),
            "Private Limited by Guarantee without Share Capital"
        );
    }
}
