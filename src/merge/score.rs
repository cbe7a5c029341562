//! How likely an executive is to be a current executive of the company the
//! user meant, from the evidence the sources give.
//!
//! ```text
//! evidence = 0.95  an active director-type officer (director, LLP member,
//!                  general partner, managing officer, member of an organ, ...)
//!            0.85  another active officer role (secretary, nominee, ...)
//!            0.85  an active PSC only
//!          + 0.03  an active PSC as well as an active officer (ownership)
//!            0.40  nothing active (resigned / ceased; shown with --include-resigned)
//! confidence = evidence x company match confidence, rounded to 2 places
//! ```
//! Social sources (a later issue) add confirmation on top of this.

use crate::model::{PSC_ROLE, PersonRecord, SourceKind};

/// Roles that run the company (as opposed to administering it).
const DIRECTING_ROLES: [&str; 12] = [
    "director",
    "llp-designated-member",
    "llp-member",
    "general-partner-in-a-limited-partnership",
    "managing-officer",
    "member-of-a-management-organ",
    "member-of-a-supervisory-organ",
    "member-of-an-administrative-organ",
    "manager-of-an-eeig",
    "cic-manager",
    "judicial-factor",
    "receiver-and-manager",
];

pub fn executive_confidence(records: &[&PersonRecord], match_confidence: f64) -> f64 {
    let active_officer = |directing: bool| {
        records.iter().any(|r| {
            r.active
                && r.source == SourceKind::CompaniesHouseOfficers
                && DIRECTING_ROLES.contains(&r.role.as_str()) == directing
        })
    };
    let active_psc = records.iter().any(|r| r.active && r.role == PSC_ROLE);
    let officer = if active_officer(true) {
        Some(0.95)
    } else if active_officer(false) {
        Some(0.85)
    } else {
        None
    };
    let evidence = match (officer, active_psc) {
        (Some(o), true) => o + 0.03,
        (Some(o), false) => o,
        (None, true) => 0.85,
        (None, false) => 0.40,
    };
    round2((evidence * match_confidence.clamp(0.0, 1.0)).min(1.0))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
