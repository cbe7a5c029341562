//! `leadgen doctor` and `leadgen config show` over the fake.

use leadgen_fakes::{
    DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET, DEMO_LINKEDIN_ACCESS_TOKEN, DEMO_X_BEARER_TOKEN,
};

use super::common::{Fake, KEY, stderr};

const SECRETS: &[&str] = &[
    KEY,
    DEMO_X_BEARER_TOKEN,
    DEMO_LINKEDIN_ACCESS_TOKEN,
    DEMO_FACEBOOK_APP_ID,
    DEMO_FACEBOOK_APP_SECRET,
];

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

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_no_secret(out: &std::process::Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for secret in SECRETS {
        assert!(!all.contains(secret), "{secret} printed:\n{all}");
    }
}

#[test]
fn doctor_with_every_credential_is_all_ok() {
    let fake = Fake::start();
    let out = with_social(&fake).arg("doctor").output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for provider in ["Companies House", "X", "LinkedIn", "Facebook"] {
        assert!(
            text.contains(&format!("\n{provider}: ok\n")),
            "{provider}:\n{text}"
        );
    }
    assert!(
        text.contains("COMPANIES_HOUSE_API_KEY = test…9c2a"),
        "{text}"
    );
    assert!(text.contains("X_BEARER_TOKEN = demo…cret"), "{text}");
    assert!(text.contains(&fake.server.base_url()), "{text}");
    assert!(text.contains("cache file:"), "{text}");
    assert!(text.contains("redis: not configured"), "{text}");
    assert_no_secret(&out);
}

#[test]
fn doctor_with_a_wrong_companies_house_key_fails_as_refused() {
    let fake = Fake::start();
    let out = with_social(&fake)
        .env("COMPANIES_HOUSE_API_KEY", "wrong-key-0123456789")
        .arg("doctor")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Companies House: refused"), "{text}");
    assert!(!text.contains("wrong-key-0123456789"), "{text}");
    assert_no_secret(&out);
}

#[test]
fn doctor_without_social_credentials_says_not_configured() {
    let fake = Fake::start();
    let out = fake.leadgen().arg("doctor").output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("Companies House: ok"), "{text}");
    for provider in ["X", "LinkedIn", "Facebook"] {
        assert!(
            text.contains(&format!("\n{provider}: not configured\n")),
            "{provider}:\n{text}"
        );
    }
    assert_no_secret(&out);
}

#[test]
fn doctor_without_a_companies_house_key_fails() {
    let fake = Fake::start();
    let out = fake
        .leadgen()
        .env_remove("COMPANIES_HOUSE_API_KEY")
        .arg("doctor")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Companies House: MISSING"), "{text}");
}

#[test]
fn config_show_names_each_value_origin_and_masks_the_key() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("leadgen.toml");
    std::fs::write(&cfg, "[companies_house]\nrate_limit = \"100/1m\"\n").unwrap();
    let out = with_social(&fake)
        .env_remove("LEADGEN_COMPANIES_HOUSE_RATE_LIMIT")
        .arg("--config")
        .arg(&cfg)
        .args(["config", "show"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let line = |key: &str, section: &str| {
        let start = text.find(&format!("[{section}]")).expect(section);
        text[start..]
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{section}.{key} in\n{text}"))
            .to_string()
    };
    assert_eq!(
        line("rate_limit", "companies_house"),
        format!("rate_limit = \"100/1m\"  # from: config {}", cfg.display())
    );
    assert_eq!(
        line("url", "companies_house"),
        format!(
            "url = \"{}\"  # from: env LEADGEN_COMPANIES_HOUSE_URL",
            fake.server.base_url()
        )
    );
    assert_eq!(
        line("api_key", "companies_house"),
        "api_key = \"test…9c2a\"  # from: env COMPANIES_HOUSE_API_KEY"
    );
    assert_eq!(
        line("timeout", "companies_house"),
        "timeout = \"30s\"  # from: default"
    );
    assert_eq!(
        line("rate_limit", "linkedin"),
        "rate_limit = \"100000/5m\"  # from: env LEADGEN_LINKEDIN_RATE_LIMIT"
    );
    // Every key of the example file is shown.
    let example: toml::Table =
        toml::from_str(include_str!("../../config/leadgen.example.toml")).unwrap();
    for (section, keys) in &example {
        for key in keys.as_table().unwrap().keys() {
            assert!(
                text.contains(&format!("\n{key} = ")) || text.contains(&format!("# {key} unset")),
                "{section}.{key} missing:\n{text}"
            );
        }
    }
    assert!(text.contains("# X_BEARER_TOKEN = \"demo…cret\""), "{text}");
    assert_no_secret(&out);
}

#[test]
fn doctor_says_which_access_a_social_app_lacks() {
    let fake = super::common::Fake::with(|c| {
        c.social.linkedin_organization_access = false;
        c.social.facebook_page_access = false;
    });
    let out = with_social(&fake).arg("doctor").output().unwrap();
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    for provider in ["LinkedIn", "Facebook"] {
        assert!(
            text.contains(&format!("\n{provider}: missing access\n")),
            "{provider}:\n{text}"
        );
    }
    assert!(text.contains("X: ok"), "{text}");
    assert_eq!(
        text.matches("the credential was accepted, but the app lacks the access under")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("  needs:       the Community Management API"),
        "{text}"
    );
    assert!(
        text.contains("  needs:       the Page Public Metadata Access feature"),
        "{text}"
    );
    assert!(!text.contains("refused"), "{text}");
    assert_no_secret(&out);
}
