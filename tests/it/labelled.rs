//! Matcher precision and recall on the project's labelled cases
//! (`fixtures/labelled/resolve_cases.csv`) against the bundled register.

use super::common::{Fake, fixture, jsonl, stderr};

#[test]
fn matcher_precision_and_recall_on_labelled_cases() {
    let cases_path = fixture("labelled/resolve_cases.csv");
    let mut reader = csv::Reader::from_path(&cases_path).unwrap();
    let cases: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(cases.len() >= 60, "at least 60 labelled cases");
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (status_col, number_col) = (col("expected_status"), col("expected_company_number"));

    let fake = Fake::start();
    let out = fake
        .leadgen()
        .args(["discover", "-f", "jsonl"])
        .arg(&cases_path)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let rows = jsonl(&out);
    assert_eq!(rows.len(), cases.len());

    // A "positive" is a row leadgen matched. It is true when the expected
    // answer is that very company. Recall: of the rows that should match,
    // how many matched the right company. Abstentions (ambiguous/not_found)
    // are judged separately.
    let (mut tp, mut fp, mut should_match, mut right_status) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for (case, row) in cases.iter().zip(&rows) {
        let expected = &case[status_col];
        let got = row["status"].as_str().unwrap();
        if expected == "matched" {
            should_match += 1;
        }
        if got == "matched" {
            let number = row["company"]["company_number"].as_str().unwrap_or("");
            if expected == "matched" && number == &case[number_col] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        if got == expected
            && (got != "matched" || row["company"]["company_number"] == case[number_col])
        {
            right_status += 1;
        } else {
            wrong.push(format!(
                "{:?} expected {expected} {} got {got} {}",
                &case[0], &case[number_col], row["company"]["company_number"]
            ));
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / should_match.max(1) as f64;
    let accuracy = right_status as f64 / cases.len() as f64;
    eprintln!(
        "matcher on {} labelled cases: precision {precision:.3} ({tp}/{}), recall {recall:.3} ({tp}/{should_match}), status accuracy {accuracy:.3}",
        cases.len(),
        tp + fp
    );
    for w in &wrong {
        eprintln!("  miss: {w}");
    }
    assert!(precision >= 0.97, "precision {precision:.3}: {wrong:#?}");
    assert!(recall >= 0.90, "recall {recall:.3}: {wrong:#?}");
    assert!(accuracy >= 0.90, "accuracy {accuracy:.3}: {wrong:#?}");
}
