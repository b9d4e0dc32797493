//! Every transcript under `tests/transcripts/`, with the runner's own readable diff on failure.

use crate::helpers::catalog;
use std::path::PathBuf;

#[test]
fn every_transcript_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let outcomes = lensbot::transcript::run_paths(catalog(), &[dir.as_path()]);
    assert!(
        outcomes.len() >= 8,
        "expected the transcript files, found {}",
        outcomes.len()
    );
    let failures: Vec<String> = outcomes.iter().filter_map(|o| o.failure.clone()).collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn a_wrong_expectation_fails_with_a_diff() {
    let t = "> /help\n< this text is not in the reply\n";
    let o = lensbot::transcript::run_text(catalog(), "inline", t);
    let f = o.failure.expect("the transcript must fail");
    assert!(
        f.contains("inline:2: expected `this text is not in the reply`"),
        "{f}"
    );
    assert!(f.contains("| == What I can do =="), "{f}");
}

#[test]
fn a_banned_line_fails() {
    let t = "> /help\n<! What I can do\n";
    let o = lensbot::transcript::run_text(catalog(), "inline", t);
    assert!(o.failure.expect("must fail").contains("must not"));
}
