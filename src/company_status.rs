//! The register's company status words (`company_status` in the API, the
//! enumerations' `company_status` keys) and what leadgen reads from them.
//! A leaf: input, resolution and output all read statuses.

/// Whether a register status (`active`, `dissolved`, ...) is a company
/// still on the register; `None` without a status.
pub fn is_live(status: Option<&str>) -> Option<bool> {
    let s = status?.trim().to_ascii_lowercase();
    Some(!matches!(
        s.as_str(),
        "dissolved" | "converted-closed" | "closed" | "removed"
    ))
}

/// Whether a register status says the company is in an insolvency
/// procedure.
pub fn is_insolvent(status: Option<&str>) -> bool {
    status.is_some_and(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "liquidation" | "administration" | "receivership" | "insolvency-proceedings"
        )
    })
}
