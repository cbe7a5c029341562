//! Personal data kept like personal data: what leadgen writes for itself is
//! private (directories 0700, files 0600), outputs follow the user's umask,
//! and a cache others can read gets a warning naming the fix.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::common::{Fake, csv_file, stderr};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every directory and file under `dir`, with its mode.
fn modes(dir: &Path) -> Vec<(String, bool, u32)> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let is_dir = entry.file_type().unwrap().is_dir();
        out.push((path.display().to_string(), is_dir, mode(&path)));
        if is_dir {
            out.extend(modes(&path));
        }
    }
    out
}

#[test]
fn everything_a_run_keeps_is_private_and_a_loose_cache_is_named_with_its_fix() {
    let fake = Fake::start();
    let dir = tempfile::tempdir().unwrap();
    let input = csv_file(
        dir.path(),
        "in.csv",
        "company_name,company_number\nYou Limited,\n,4475590\n",
    );
    // Directories leadgen creates itself, under the test's private one.
    let cache = fake.cache_dir.path().join("new/cache");
    let output = dir.path().join("out/executives.csv");
    let run = || {
        fake.leadgen()
            .env("LEADGEN_CACHE_DIR", &cache)
            .args(["discover", "--report"])
            .arg(dir.path().join("report.json"))
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(cache.join("cache.sqlite").exists());
    assert!(cache.join("journal.sqlite").exists());
    assert!(cache.join("audit.jsonl").exists());
    let kept = modes(&fake.cache_dir.path().join("new"));
    for (path, is_dir, m) in &kept {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*m, want, "{path} is {m:03o}");
    }
    assert!(kept.len() >= 4, "{kept:?}");
    assert_eq!(mode(&fake.cache_dir.path().join("new")), 0o700);
    assert_eq!(
        mode(&dir.path().join("out")),
        0o700,
        "a directory leadgen made"
    );
    assert_eq!(mode(&dir.path().join("out/.executives.csv.lock")), 0o600);
    // The outputs are the user's: the umask decides, as for any file they make.
    assert_eq!(mode(&output), leadgen::private::user_file_mode());
    assert_eq!(
        mode(&dir.path().join("report.json")),
        leadgen::private::user_file_mode()
    );
    assert!(!stderr(&out).contains("can be read by other users"));

    // An older leadgen, or a hand, left the cache readable by everyone.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        cache.join("cache.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} can be read by other users of this machine (mode 755)",
            cache.display()
        )) && err.contains(&format!("Fix: chmod 700 {}", cache.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "Fix: chmod 600 {}",
            cache.join("cache.sqlite").display()
        )),
        "{err}"
    );
    assert_eq!(
        err.matches("mode 755").count(),
        1,
        "one warning each: {err}"
    );

    // doctor says so too, as a problem.
    let doctor = fake
        .leadgen()
        .env("LEADGEN_CACHE_DIR", &cache)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{text}");
    assert!(
        text.contains("EXPOSED: ") && text.contains("chmod 700"),
        "{text}"
    );
}
