//! All four sources over the fake: official accounts, verified officer
//! profiles, and skipped sources.

use leadgen_fakes::{
    DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET, DEMO_LINKEDIN_ACCESS_TOKEN, DEMO_X_BEARER_TOKEN,
};
use serde_json::Value;

use super::common::{Fake, csv_file, jsonl, stderr};

fn with_social(fake: &Fake) -> assert_cmd::Command {
    let url = fake.server.base_url();
    let mut cmd = fake.leadgen();
    cmd.env("LEADGEN_X_URL", &url)
        .env("LEADGEN_LINKEDIN_URL", &url)
        .env("LEADGEN_FACEBOOK_URL", &url)
        .env("X_BEARER_TOKEN", DEMO_X_BEARER_TOKEN)
        .env("LINKEDIN_ACCESS_TOKEN", DEMO_LINKEDIN_ACCESS_TOKEN)
        .env("FACEBOOK_APP_ID", DEMO_FACEBOOK_APP_ID)
        .env("FACEBOOK_APP_SECRET", DEMO_FACEBOOK_APP_SECRET);
    cmd
}

const INPUT: &str = "company_name,postcode,website\n\
    Smith & Jones Joinery Ltd,ST4 2RS,https://www.smithandjonesjoinery.co.uk\n";

#[test]
fn all_four_sources_find_accounts_and_verify_an_officer() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let out = with_social(&fake)
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let row = &jsonl(&out)[0];
    assert_eq!(row["status"], "matched");
    let platforms: Vec<&str> = row["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["platform"].as_str().unwrap())
        .collect();
    for p in ["x", "linkedin", "facebook"] {
        assert!(platforms.contains(&p), "{p} account found: {platforms:?}");
    }
    let handles: Vec<&str> = row["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["handle_or_vanity"].as_str().unwrap())
        .collect();
    assert!(
        !handles.contains(&"smithjonesuk"),
        "decoy refused: {handles:?}"
    );

    let execs = row["executives"].as_array().unwrap();
    let verified: Vec<&Value> = execs
        .iter()
        .filter(|e| !e["profiles"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(
        verified.len(),
        1,
        "exactly one officer verified on X: {execs:#?}"
    );
    let john = verified[0];
    assert_eq!(john["name"], "John David Smith");
    assert_eq!(john["profiles"][0]["username"], "JohnSmithJoiner");
    let sources: Vec<&str> = john["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            "companies_house_officers",
            "companies_house_psc",
            "x_profile"
        ]
    );
    assert_eq!(john["verified_by"], 3);
    // The namesake born 1996 is not confirmed by the X profile.
    let namesakes = execs
        .iter()
        .filter(|e| e["name"] == "John David Smith")
        .count();
    assert_eq!(namesakes, 2);
    let by = fake.stats().by_endpoint;
    assert!(by.get("x_users_by").copied().unwrap_or(0) >= 1, "{by:?}");
}

#[test]
fn sources_without_credentials_are_skipped_with_a_note() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for note in [
        "X: skipped, no credentials",
        "LinkedIn: skipped, no credentials",
        "Facebook: skipped, no credentials",
    ] {
        assert!(err.contains(note), "{note}: {err}");
    }
    let row = &jsonl(&out)[0];
    assert_eq!(row["accounts"], serde_json::json!([]));
    assert_eq!(fake.stats().by_endpoint.get("x_users_by"), None);

    let out = with_social(&fake)
        .args(["discover", "-f", "jsonl", "--sources", "ch,linkedin"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let row = &jsonl(&out)[0];
    let platforms: Vec<&str> = row["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linkedin"]);

    let out = fake
        .leadgen()
        .args(["discover", "--sources", "x"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("must include ch"));
}

#[test]
fn a_refused_social_token_is_a_warning_not_a_row_error() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let bad = "x-token-that-must-not-be-printed";
    let out = with_social(&fake)
        .env("X_BEARER_TOKEN", bad)
        .args(["discover", "-f", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let row = &jsonl(&out)[0];
    assert_eq!(row["status"], "matched");
    assert_eq!(row["warnings"][0]["source"], "x");
    assert_eq!(row["warnings"][0]["kind"], "credential_refused");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!all.contains(bad));
}

#[test]
fn min_confidence_filters_executives() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(dir.path(), "in.csv", INPUT);
    let all = jsonl(
        &with_social(&fake)
            .args(["discover", "-f", "jsonl"])
            .arg(&input)
            .output()
            .unwrap(),
    );
    let strict = jsonl(
        &with_social(&fake)
            .args(["discover", "-f", "jsonl", "--min-confidence", "0.96"])
            .arg(&input)
            .output()
            .unwrap(),
    );
    let kept = strict[0]["executives"].as_array().unwrap();
    assert!(!kept.is_empty() && kept.len() < all[0]["executives"].as_array().unwrap().len());
    assert!(
        kept.iter()
            .all(|e| e["confidence"].as_f64().unwrap() >= 0.96)
    );
}

#[test]
fn a_spent_social_quota_skips_lookups_instead_of_stalling_the_batch() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,postcode,website\n\
         Smith & Jones Joinery Ltd,ST4 2RS,https://www.smithandjonesjoinery.co.uk\n\
         Yorkshire Air Ambulance Limited,HX5 0HQ,https://yorkshireairambulance.org.uk\n\
         Candour Group Ltd,CT1 3DZ,\n",
    );
    let started = std::time::Instant::now();
    let out = with_social(&fake)
        .env("LEADGEN_FACEBOOK_RATE_LIMIT", "1/1h")
        .args(["discover", "-f", "jsonl", "--concurrency", "1"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let rows = jsonl(&out);
    assert!(rows.iter().all(|r| r["status"] == "matched"));
    let spent = rows
        .iter()
        .flat_map(|r| r["warnings"].as_array().cloned().unwrap_or_default())
        .filter(|w| w["source"] == "facebook" && w["kind"] == "quota_spent")
        .count();
    assert!(spent >= 1, "{rows:#?}");
    assert!(
        stderr(&out).contains("social lookups failed"),
        "{}",
        stderr(&out)
    );
}

/// A LinkedIn token without Community Management API access and a Facebook
/// app without Page Public Metadata Access: each answers its permission
/// error once, is switched off for the run with one message naming what is
/// missing, and every row keeps its register answer with a `not_permitted`
/// warning (issue 16).
#[test]
fn missing_social_access_is_not_permitted_and_switches_the_source_off() {
    let fake = Fake::with(|c| {
        c.social.linkedin_organization_access = false;
        c.social.facebook_page_access = false;
    });
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        &format!("{INPUT}Yorkshire Air Ambulance,,https://yorkshireairambulance.org.uk\n"),
    );
    let out = with_social(&fake)
        .args(["discover", "-f", "jsonl", "--concurrency", "1"])
        .arg(&input)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["status"], "matched", "{row}");
        let kinds: Vec<(&str, &str)> = row["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["source"].as_str().unwrap(), w["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [("linkedin", "not_permitted"), ("facebook", "not_permitted")],
            "{row}"
        );
    }
    // One refused call each; the second row sent none.
    let stats = fake.stats();
    assert_eq!(stats.by_endpoint.get("linkedin_organizations"), Some(&1));
    assert_eq!(stats.by_endpoint.get("facebook_pages_search"), Some(&1));
    // Said once as it happened, once in the summary; never as a bad key.
    for access in ["Community Management API", "Page Public Metadata Access"] {
        assert_eq!(err.matches(access).count(), 2, "{access}:\n{err}");
    }
    assert!(err.contains("switched off: the app lacks"), "{err}");
    assert!(!err.contains("refused the credential"), "{err}");
}
