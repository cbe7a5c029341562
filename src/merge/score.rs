//! How likely an executive is to be a current executive of the company the
//! user meant, from the evidence the sources give.
//!
//! ```text
//! evidence = 0.95  an active director-type officer (director, LLP member,
//!                  general partner, managing officer, member of an organ, ...)
//!            0.92  another active officer role (secretary, nominee, ...)
//!            0.92  an active PSC only
//!          + 0.03  an active PSC as well as an active officer (ownership)
//!            0.05  nothing active (resigned / ceased; shown with --include-resigned)
//!          + 0.02  per verified social profile; at most 0.99
//! company  = 1 - (1 - match confidence) x 0.5^(verified social profiles)
//! confidence = evidence x company, rounded to 2 places
//! ```
//!
//! The two factors answer two questions: is this person a current executive
//! of the matched company (the register's evidence), and is the matched
//! company the one the user meant (the matcher's confidence). A verified
//! profile bears on both: the person still presents themselves as being at
//! the company, and their own bio names the registered company, which a
//! wrong name match rarely survives; each one halves the doubt about the
//! company. Measured on `fixtures/labelled/calibration.csv` (README, "How
//! executives are merged and scored"): a resigned officer was never a current
//! one (0 of 97), hence 0.05 rather than the earlier 0.40.

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

/// Extra evidence per social profile the company's own account vouches for.
pub const SOCIAL_CONFIRMATION: f64 = 0.02;
/// What each verified profile leaves of the doubt about the company match.
pub const SOCIAL_MATCH_DOUBT: f64 = 0.5;
/// Evidence for someone whose every role has ended: the register's
/// resignations are rarely wrong, so this is close to none.
pub const RESIGNED_EVIDENCE: f64 = 0.05;
/// Evidence for an active secretary, nominee or other non-directing
/// officer, and for an active PSC who holds no office. It was 0.85 while
/// company matches scored 0.90 at best. Once the matcher's confidence
/// became a fitted probability, the calibration test's held-out check
/// failed (0.8-0.95 right more often than scored, by 0.107); the
/// development half had 9 of 9 such people right, and 0.92 is the rule of
/// succession on them (10/11 = 0.91) rounded up to the next hundredth step
/// that keeps a secretary below a director (0.95).
pub const SECONDARY_EVIDENCE: f64 = 0.92;
/// Nothing is certain: the register may lag a resignation by weeks.
pub const MAX_EVIDENCE: f64 = 0.99;

/// The confidence shown for an executive.
pub fn confidence(evidence: f64, social_confirmations: usize, match_confidence: f64) -> f64 {
    let evidence = (evidence + SOCIAL_CONFIRMATION * social_confirmations as f64).min(MAX_EVIDENCE);
    let doubt = (1.0 - match_confidence.clamp(0.0, 1.0))
        * SOCIAL_MATCH_DOUBT.powi(social_confirmations.min(8) as i32);
    round2(evidence * (1.0 - doubt))
}

/// What the register says about a person, before the match factor.
pub fn evidence(records: &[&PersonRecord]) -> f64 {
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
        Some(SECONDARY_EVIDENCE)
    } else {
        None
    };
    match (officer, active_psc) {
        (Some(o), true) => (o + 0.03).min(MAX_EVIDENCE),
        (Some(o), false) => o,
        (None, true) => SECONDARY_EVIDENCE,
        (None, false) => RESIGNED_EVIDENCE,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
