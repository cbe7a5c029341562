//! Who an executive is at the company: `executive` (runs it), `non_executive`,
//! `secretary`, `member` (of an LLP, or a limited partner), `owner` (a person
//! with significant control who holds no office), or `unknown`; with the rule
//! that decided it.
//!
//! A leaf: it reads register vocabulary only (officer role keys, occupation
//! texts as people type them into their filings). The rules were written
//! from real officer lists (`fixtures/seniority/`: recorded API responses
//! from public projects), on the half of the companies used for development;
//! the other half is a holdout they were never tuned on (see the test in
//! `tests/it/labelled.rs` and `fixtures/seniority/README.md`).

use std::fmt;

use serde::Serialize;

/// The classes, in the order a sales team wants them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Executive,
    NonExecutive,
    Secretary,
    Member,
    Owner,
    Unknown,
}

impl Seniority {
    pub const ALL: [Seniority; 6] = [
        Seniority::Executive,
        Seniority::NonExecutive,
        Seniority::Secretary,
        Seniority::Member,
        Seniority::Owner,
        Seniority::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Seniority::Executive => "executive",
            Seniority::NonExecutive => "non_executive",
            Seniority::Secretary => "secretary",
            Seniority::Member => "member",
            Seniority::Owner => "owner",
            Seniority::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Seniority> {
        Seniority::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
    }
}

impl fmt::Display for Seniority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one person holds at the company.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// Officer role keys of the roles shown (`director`, `secretary`, ...),
    /// and `person-with-significant-control` for a PSC.
    pub roles: &'a [String],
    pub occupation: Option<&'a str>,
}

/// The board around them: the company's active officers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Board {
    /// Active officers who sit on the board (directors and the like).
    pub directors: usize,
    /// Whether one of them has an executive title (managing director,
    /// chief executive, ...): then a chair is the non-executive kind.
    pub has_chief: bool,
}

impl Board {
    /// The board of a company whose active officers are `officers`.
    pub fn of<'a>(officers: impl IntoIterator<Item = Person<'a>>) -> Board {
        let mut board = Board::default();
        for p in officers {
            if p.roles.iter().any(|r| kind(r) == Some(Kind::Board)) {
                board.directors += 1;
                if p.occupation.is_some_and(is_chief) {
                    board.has_chief = true;
                }
            }
        }
        board
    }
}

/// The class of `person` on `board`, and the rule that decided it.
pub fn classify(person: Person<'_>, board: Board) -> (Seniority, String) {
    let kinds: Vec<Kind> = person.roles.iter().filter_map(|r| kind(r)).collect();
    let occupation = person.occupation.map(normalise).unwrap_or_default();
    let said = || {
        format!(
            "occupation {:?}",
            person.occupation.unwrap_or_default().trim()
        )
    };
    if kinds.is_empty() {
        return if person.roles.iter().any(|r| r == PSC_ROLE) {
            (
                Seniority::Owner,
                "person with significant control, no office".into(),
            )
        } else {
            (Seniority::Unknown, "no officer role leadgen knows".into())
        };
    }
    if kinds.contains(&Kind::Supervisory) && !kinds.contains(&Kind::Board) {
        return (
            Seniority::NonExecutive,
            "role: member of a supervisory organ".into(),
        );
    }
    if kinds.contains(&Kind::Board) {
        if person
            .roles
            .iter()
            .all(|r| r.starts_with("corporate-") || r.starts_with("nominee-"))
        {
            return (
                Seniority::Unknown,
                "a body corporate or a nominee acting as director".into(),
            );
        }
        if is_non_executive(&occupation) {
            return (Seniority::NonExecutive, said());
        }
        if is_chair(&occupation) && !is_chief_text(&occupation) {
            return if board.has_chief {
                (
                    Seniority::NonExecutive,
                    format!("{}, with a chief executive on the board", said()),
                )
            } else {
                (
                    Seniority::Executive,
                    format!("{}, no other chief executive", said()),
                )
            };
        }
        if is_chief_text(&occupation) || is_executive(&occupation) {
            return (Seniority::Executive, said());
        }
        if board.directors == 1 {
            return (Seniority::Executive, "sole director".into());
        }
        if person.roles.iter().any(|r| r == PSC_ROLE) {
            return (
                Seniority::Executive,
                "director and person with significant control".into(),
            );
        }
        if board.directors > SMALL_BOARD && is_outside_seat(&occupation) {
            return (
                Seniority::NonExecutive,
                format!("{}, on a board of {}", said(), board.directors),
            );
        }
        if (1..=SMALL_BOARD).contains(&board.directors) && !is_outside_seat(&occupation) {
            return (
                Seniority::Executive,
                format!("director of a small board ({} directors)", board.directors),
            );
        }
        return (
            Seniority::Unknown,
            "director; occupation says nothing of the role".into(),
        );
    }
    if kinds.contains(&Kind::Member) {
        return (
            Seniority::Member,
            "role: LLP member or limited partner".into(),
        );
    }
    if kinds.contains(&Kind::Secretary) {
        return (Seniority::Secretary, "role: secretary".into());
    }
    (
        Seniority::Unknown,
        "role: a representative, receiver or factor".into(),
    )
}

const PSC_ROLE: &str = "person-with-significant-control";

/// Up to this many directors, the directors are taken to run the company
/// themselves (owner-managed companies), unless an occupation says otherwise.
const SMALL_BOARD: usize = 3;

/// Occupations of people who sit on a board for investors or as advisers.
fn is_outside_seat(t: &str) -> bool {
    has_any(
        t,
        &[
            "investor",
            "investment manager",
            "venture",
            "ventures",
            "venture capitalist",
            "venture partner",
            "managing partner",
            "principal",
            "business consultant",
            "adviser",
            "advisor",
            "retired",
        ],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Directs the company: directors, managing officers, managers.
    Board,
    /// Oversees without directing.
    Supervisory,
    Secretary,
    /// LLP members, limited partners.
    Member,
    /// Acts for the company without directing it (a representative, a
    /// receiver, a judicial factor).
    Other,
}

/// The kind of an officer role key (`constants.yml` `officer_role`).
fn kind(role: &str) -> Option<Kind> {
    Some(match role {
        "director"
        | "corporate-director"
        | "nominee-director"
        | "corporate-nominee-director"
        | "managing-officer"
        | "corporate-managing-officer"
        | "member-of-a-management-organ"
        | "corporate-member-of-a-management-organ"
        | "member-of-an-administrative-organ"
        | "corporate-member-of-an-administrative-organ"
        | "cic-manager"
        | "manager-of-an-eeig"
        | "corporate-manager-of-an-eeig"
        | "general-partner-in-a-limited-partnership"
        | "corporate-general-partner-in-a-limited-partnership" => Kind::Board,
        "member-of-a-supervisory-organ" | "corporate-member-of-a-supervisory-organ" => {
            Kind::Supervisory
        }
        "secretary"
        | "corporate-secretary"
        | "nominee-secretary"
        | "corporate-nominee-secretary" => Kind::Secretary,
        "llp-member"
        | "llp-designated-member"
        | "corporate-llp-member"
        | "corporate-llp-designated-member"
        | "limited-partner-in-a-limited-partnership"
        | "corporate-limited-partner-in-a-limited-partnership" => Kind::Member,
        "person-authorised-to-accept"
        | "person-authorised-to-represent"
        | "person-authorised-to-represent-and-accept"
        | "receiver-and-manager"
        | "judicial-factor" => Kind::Other,
        _ => return None,
    })
}

/// Lower case, punctuation as spaces, one space between words, padded with
/// a space each side so a word test is a substring test.
fn normalise(text: &str) -> String {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        " {} ",
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn has_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(&format!(" {w} ")))
}

fn is_non_executive(t: &str) -> bool {
    has_any(
        t,
        &[
            "non executive",
            "non exec",
            "nonexecutive",
            "ned",
            "independent director",
            "independent non executive",
            "trustee",
            "charity trustee",
        ],
    )
}

fn is_chair(t: &str) -> bool {
    has_any(t, &["chairman", "chairwoman", "chairperson", "chair"])
}

/// A chief: managing director, chief executive and their short forms.
fn is_chief(occupation: &str) -> bool {
    is_chief_text(&normalise(occupation))
}

fn is_chief_text(t: &str) -> bool {
    has_any(
        t,
        &[
            "managing director",
            "joint managing director",
            "md",
            "chief executive",
            "chief executive officer",
            "ceo",
            "group chief executive",
        ],
    )
}

/// Titles of people who run the business, or a part of it.
fn is_executive(t: &str) -> bool {
    if has_any(
        t,
        &[
            "founder",
            "co founder",
            "cofounder",
            "owner",
            "business owner",
            "proprietor",
            "executive director",
            "president",
            "vice president",
            "vp",
            "general manager",
            "cfo",
            "coo",
            "cto",
            "cmo",
            "cio",
            "cco",
            "cpo",
        ],
    ) {
        return true;
    }
    // "Chief Financial Officer", "Chief Operating Officer", ...
    if t.contains(" chief ") && t.contains(" officer ") {
        return true;
    }
    // A function's director: "Finance Director", "Sales & Marketing Director".
    const FUNCTIONS: &[&str] = &[
        "finance",
        "financial",
        "sales",
        "marketing",
        "operations",
        "operating",
        "operational",
        "technical",
        "technology",
        "commercial",
        "development",
        "business development",
        "production",
        "it",
        "hr",
        "people",
        "creative",
        "design",
        "engineering",
        "project",
        "projects",
        "property",
        "regional",
        "group",
        "deputy managing",
        "executive",
        "retail",
        "contracts",
        "construction",
        "manufacturing",
        "site",
        "quality",
        "purchasing",
        "legal",
        "investment",
        "fund",
        "programme",
        "estates",
        "strategy",
        "digital",
        "marketing and sales",
        "sales and marketing",
    ];
    let before_director: Vec<&str> = t
        .split(" director ")
        .next()
        .filter(|_| t.contains(" director "))
        .map(|head| head.split_whitespace().collect())
        .unwrap_or_default();
    let head = before_director.join(" ");
    FUNCTIONS
        .iter()
        .any(|f| head == *f || head.ends_with(&format!(" {f}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn class(r: &[&str], occupation: Option<&str>, board: Board) -> Seniority {
        let roles = roles(r);
        classify(
            Person {
                roles: &roles,
                occupation,
            },
            board,
        )
        .0
    }

    #[test]
    fn roles_decide_first_and_occupations_then() {
        let two = Board {
            directors: 2,
            has_chief: false,
        };
        assert_eq!(class(&["secretary"], None, two), Seniority::Secretary);
        assert_eq!(
            class(&["llp-designated-member"], None, two),
            Seniority::Member
        );
        assert_eq!(class(&[PSC_ROLE], None, two), Seniority::Owner);
        assert_eq!(
            class(&["director"], Some("Managing Director"), two),
            Seniority::Executive
        );
        assert_eq!(
            class(&["director"], Some("NON-EXECUTIVE DIRECTOR"), two),
            Seniority::NonExecutive
        );
        // Two directors run a small company; on a board of five, the title says nothing.
        assert_eq!(
            class(&["director"], Some("Company Director"), two),
            Seniority::Executive
        );
        let five = Board {
            directors: 5,
            has_chief: true,
        };
        assert_eq!(
            class(&["director"], Some("Company Director"), five),
            Seniority::Unknown
        );
        assert_eq!(
            class(&["director"], Some("Investor"), five),
            Seniority::NonExecutive
        );
        assert_eq!(
            class(&["corporate-director"], None, two),
            Seniority::Unknown
        );
        let sole = Board {
            directors: 1,
            has_chief: false,
        };
        assert_eq!(
            class(&["director"], Some("Director"), sole),
            Seniority::Executive
        );
        let chaired = Board {
            directors: 3,
            has_chief: true,
        };
        assert_eq!(
            class(&["director"], Some("Chairman"), chaired),
            Seniority::NonExecutive
        );
        assert_eq!(
            class(
                &["director", "secretary"],
                Some("Finance Director"),
                chaired
            ),
            Seniority::Executive
        );
        assert_eq!(
            class(&["director", PSC_ROLE], Some("Director"), chaired),
            Seniority::Executive
        );
        assert_eq!(
            class(&["member-of-a-supervisory-organ"], None, chaired),
            Seniority::NonExecutive
        );
    }
}
