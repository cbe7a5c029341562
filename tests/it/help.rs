//! `--help` is part of the interface: snapshot it, so a change to it is a
//! reviewed change (`cargo insta review`, or INSTA_UPDATE=always).

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_leadgen"))
        .args(args)
        .env_clear()
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn discover_help() {
    insta::assert_snapshot!(help(&["discover", "--help"]));
}

#[test]
fn completions_and_man_page_are_generated_from_the_same_definitions() {
    let bash = help(&["generate", "completions", "bash"]);
    assert!(bash.contains("--include-resigned") && bash.contains("discover"));
    let man = help(&["generate", "man"]);
    assert!(man.starts_with(".ie") && man.contains("leadgen"));
}
