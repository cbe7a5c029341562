//! Officer roles, following `officer_role` in Companies House's
//! `api-enumerations/constants.yml`.
//!
//! An open enum: the register's list grows (the Swagger spec already lags
//! the enumerations by two values), so an unknown role is kept as
//! [`OfficerRole::Other`] rather than failing the row.

use std::fmt;

macro_rules! officer_roles {
    ($( $variant:ident => $key:literal, $label:literal; )*) => {
        /// `officer_role` of an `officerSummary`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OfficerRole {
            $( $variant, )*
            /// A role the enumerations did not list when leadgen was built.
            Other(String),
        }

        impl OfficerRole {
            pub fn parse(key: &str) -> OfficerRole {
                match key.trim() {
                    $( $key => OfficerRole::$variant, )*
                    other => OfficerRole::Other(other.to_string()),
                }
            }

            /// The register's key, e.g. `llp-designated-member`.
            pub fn key(&self) -> &str {
                match self {
                    $( OfficerRole::$variant => $key, )*
                    OfficerRole::Other(k) => k,
                }
            }

            /// The register's description, e.g. "LLP Designated Member".
            pub fn label(&self) -> &str {
                match self {
                    $( OfficerRole::$variant => $label, )*
                    OfficerRole::Other(k) => k,
                }
            }
        }
    };
}

officer_roles! {
    CicManager => "cic-manager", "CIC Manager";
    CorporateDirector => "corporate-director", "Director";
    CorporateLlpDesignatedMember => "corporate-llp-designated-member", "LLP Designated Member";
    CorporateLlpMember => "corporate-llp-member", "LLP Member";
    CorporateManagerOfAnEeig => "corporate-manager-of-an-eeig", "Manager of an EEIG";
    CorporateManagingOfficer => "corporate-managing-officer", "Managing Officer";
    CorporateMemberOfAManagementOrgan => "corporate-member-of-a-management-organ", "Member of a Management Organ";
    CorporateMemberOfASupervisoryOrgan => "corporate-member-of-a-supervisory-organ", "Member of a Supervisory Organ";
    CorporateMemberOfAnAdministrativeOrgan => "corporate-member-of-an-administrative-organ", "Member of an Administrative Organ";
    CorporateNomineeDirector => "corporate-nominee-director", "Nominee Director";
    CorporateNomineeSecretary => "corporate-nominee-secretary", "Nominee Secretary";
    CorporateSecretary => "corporate-secretary", "Secretary";
    Director => "director", "Director";
    GeneralPartnerInALimitedPartnership => "general-partner-in-a-limited-partnership", "General partner";
    CorporateGeneralPartnerInALimitedPartnership => "corporate-general-partner-in-a-limited-partnership", "General partner";
    LimitedPartnerInALimitedPartnership => "limited-partner-in-a-limited-partnership", "Limited partner";
    CorporateLimitedPartnerInALimitedPartnership => "corporate-limited-partner-in-a-limited-partnership", "Limited partner";
    JudicialFactor => "judicial-factor", "Judicial Factor";
    LlpDesignatedMember => "llp-designated-member", "LLP Designated Member";
    LlpMember => "llp-member", "LLP Member";
    ManagerOfAnEeig => "manager-of-an-eeig", "Manager of an EEIG";
    ManagingOfficer => "managing-officer", "Managing Officer";
    MemberOfAManagementOrgan => "member-of-a-management-organ", "Member of a Management Organ";
    MemberOfASupervisoryOrgan => "member-of-a-supervisory-organ", "Member of a Supervisory Organ";
    MemberOfAnAdministrativeOrgan => "member-of-an-administrative-organ", "Member of an Administrative Organ";
    NomineeDirector => "nominee-director", "Nominee Director";
    NomineeSecretary => "nominee-secretary", "Nominee Secretary";
    PersonAuthorisedToAccept => "person-authorised-to-accept", "Person Authorised to Accept";
    PersonAuthorisedToRepresent => "person-authorised-to-represent", "Person Authorised to Represent";
    PersonAuthorisedToRepresentAndAccept => "person-authorised-to-represent-and-accept", "Person Authorised to Represent and Accept";
    ReceiverAndManager => "receiver-and-manager", "Receiver and Manager";
    Secretary => "secretary", "Secretary";
}

impl OfficerRole {
    /// Roles the register gives only to bodies corporate. (A body corporate
    /// can also hold a plain role, e.g. `nominee-director`; see
    /// `looks_corporate` in the parent module.)
    pub fn is_corporate(&self) -> bool {
        self.key().starts_with("corporate-")
    }
}

impl fmt::Display for OfficerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key in the official enumeration parses to a known role whose
    /// label is the enumeration's description.
    #[test]
    fn every_enumerated_role_is_known() {
        let yaml = include_str!(
            "../../../fixtures/recorded/companies_house/api-enumerations/officer_roles.txt"
        );
        let mut n = 0;
        for line in yaml.lines().filter(|l| l.contains(':')) {
            let (key, label) = line.split_once(':').unwrap();
            let key = key.trim().trim_matches('\'');
            let label = label.trim().trim_matches('"');
            let role = OfficerRole::parse(key);
            assert!(!matches!(role, OfficerRole::Other(_)), "{key} unknown");
            assert_eq!(role.key(), key);
            assert_eq!(role.label(), label, "{key}");
            n += 1;
        }
        assert_eq!(n, 32);
    }

    #[test]
    fn unknown_roles_are_kept() {
        let r = OfficerRole::parse("future-role");
        assert_eq!(r, OfficerRole::Other("future-role".into()));
        assert_eq!(r.key(), "future-role");
        assert!(OfficerRole::parse("corporate-secretary").is_corporate());
        assert!(!OfficerRole::parse("nominee-director").is_corporate());
    }
}
