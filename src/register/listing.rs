//! `leadgen find` over the local register: the companies that pass a
//! [`Criteria`], with no call.
//!
//! The industry and the place are answered from indexes: `company_sic`
//! holds each company's codes with its postcode, indexed by (code,
//! postcode), so "43220 in LS*" is one index range per code; a postcode
//! alone uses the companies' postcode index. The other filters are checked
//! on each row those ranges give. With neither, every company is read.
//!
//! A free-text `--location` is matched against the registered office's
//! words (address lines, locality, region, postcode): the register has no
//! better notion of "in Leeds", and the caller says so.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};

use super::local::{LocalRegister, blocking};
use crate::criteria::{Criteria, Listed};
use crate::sources::SourceError;

/// What the register found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The first `limit` companies, in register order.
    pub companies: Vec<Listed>,
    /// Every company that passed, including those past the limit.
    pub total: u64,
}

impl LocalRegister {
    /// The companies passing `criteria`; at most `limit` are returned, all
    /// are counted.
    pub async fn list(
        &self,
        criteria: &Criteria,
        limit: Option<u64>,
    ) -> Result<Listing, SourceError> {
        let register = self.clone();
        let criteria = criteria.clone();
        blocking(move || list(&register.connection(), &criteria, limit)).await
    }
}

fn list(conn: &Connection, c: &Criteria, limit: Option<u64>) -> rusqlite::Result<Listing> {
    let globs: Vec<String> = c.postcodes.iter().map(|p| p.glob()).collect();
    let rowids: Option<BTreeSet<i64>> = match (&c.sic_codes, globs.is_empty()) {
        (Some(codes), false) => {
            let mut st = conn.prepare_cached(
                "SELECT company FROM company_sic WHERE code = ?1 AND postal_code GLOB ?2",
            )?;
            let mut ids = BTreeSet::new();
            for code in codes {
                for glob in &globs {
                    for id in st.query_map(params![code, glob], |r| r.get(0))? {
                        ids.insert(id?);
                    }
                }
            }
            Some(ids)
        }
        (Some(codes), true) => {
            let mut st = conn.prepare_cached("SELECT company FROM company_sic WHERE code = ?1")?;
            let mut ids = BTreeSet::new();
            for code in codes {
                for id in st.query_map([code], |r| r.get(0))? {
                    ids.insert(id?);
                }
            }
            Some(ids)
        }
        (None, false) => {
            let mut st =
                conn.prepare_cached("SELECT rowid FROM companies WHERE postal_code GLOB ?1")?;
            let mut ids = BTreeSet::new();
            for glob in &globs {
                for id in st.query_map([glob], |r| r.get(0))? {
                    ids.insert(id?);
                }
            }
            Some(ids)
        }
        (None, true) => None,
    };
    const COLUMNS: &str = "number, name, postal_code, sic_codes, status, company_type, \
                           incorporated_on, locality, region, address_line_1, address_line_2";
    let mut listing = Listing::default();
    let mut take = |row: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
        let get = |i: usize| -> rusqlite::Result<String> {
            Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default())
        };
        let sic_codes: Vec<String> = get(3)?.split_whitespace().map(str::to_owned).collect();
        let (status, company_type, incorporated_on) = (get(4)?, get(5)?, get(6)?);
        let listed = Listed {
            company_number: get(0)?,
            company_name: get(1)?,
            postcode: get(2)?,
            sic_codes,
            company_status: Some(status).filter(|s| !s.is_empty()),
            company_type: Some(company_type).filter(|s| !s.is_empty()),
            incorporated_on: Some(incorporated_on).filter(|s| !s.is_empty()),
            locality: get(7)?,
            region: get(8)?,
        };
        let address = [
            get(9)?,
            get(10)?,
            listed.locality.clone(),
            listed.region.clone(),
            listed.postcode.clone(),
        ];
        if c.admits(&listed.facts()) && location_matches(c.location.as_deref(), &address) {
            listing.total += 1;
            if limit.is_none_or(|l| (listing.companies.len() as u64) < l) {
                listing.companies.push(listed);
            }
        }
        Ok(())
    };
    match rowids {
        Some(ids) => {
            let mut st =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM companies WHERE rowid = ?1"))?;
            for id in ids {
                let mut rows = st.query([id])?;
                // A row replaced by a later duplicate of its number is gone.
                if let Some(row) = rows.next()? {
                    take(row)?;
                }
            }
        }
        None => {
            let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM companies"))?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                take(row)?;
            }
        }
    }
    Ok(listing)
}

/// Every word of `location` among the address's words.
fn location_matches(location: Option<&str>, address: &[String]) -> bool {
    let Some(location) = location else {
        return true;
    };
    let words = |s: &str| -> Vec<String> {
        s.split(|ch: char| !ch.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let have: Vec<String> = address.iter().flat_map(|a| words(a)).collect();
    words(location).iter().all(|w| have.contains(w))
}
