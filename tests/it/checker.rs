//! The checker names every class of mistake with its file and line. Each test breaks one thing
//! in a copy of the real content and looks for that one finding.

use crate::helpers::{copy_dialogues, edit};
use lensbot::content::check::{Options, check_dir};
use lensbot::content::{Problem, Severity};
use std::path::Path;

fn problems(dir: &Path) -> Vec<Problem> {
    check_dir(
        dir,
        &Options {
            sources: None,
            ids_lock: true,
        },
    )
    .1
}

/// Asserts an error in `file` at `line` whose message contains `needle`.
fn expect(dir: &Path, file: &str, line: u64, needle: &str) {
    let ps = problems(dir);
    let found = ps.iter().any(|p| {
        p.severity == Severity::Error
            && p.file == Path::new(file)
            && p.line == line
            && p.message.contains(needle)
    });
    let listed: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
    assert!(
        found,
        "expected an error at {file}:{line} containing {needle:?}; got:\n{}",
        listed.join("\n")
    );
}

#[test]
fn the_real_content_has_no_errors() {
    let dir = crate::helpers::dialogues();
    let ps = problems(&dir);
    let errors: Vec<String> = ps
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "facts.yaml",
        "facts:\n",
        "facts:\n  - id: [unclosed\n",
    );
    expect(d.path(), "facts.yaml", line + 1, "");
}

#[test]
fn unknown_fields_are_named() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "lenses/1-myself.yaml",
        "    prompts:\n",
        "    prompts:\n      - id: aw-extra\n        txt: typo\n",
    );
    expect(
        d.path(),
        "lenses/1-myself.yaml",
        line + 2,
        "unknown field `txt`",
    );
}

#[test]
fn duplicate_ids() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "lenses/2-patients.yaml",
        "    prompts:\n",
        "    prompts:\n      - id: act-dup\n        text: One?\n        source: s\n      - id: act-dup\n        text: Two?\n        source: s\n",
    );
    expect(
        d.path(),
        "lenses/2-patients.yaml",
        line + 4,
        "duplicate item id `act-dup`",
    );
}

#[test]
fn bad_id_format() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "facts.yaml",
        "  - id: ",
        "  - id: Bad_Id\n    text: t\n    figure: f\n    year: 2020\n    source: s\n    lenses: [1]\n  - id: ",
    );
    expect(d.path(), "facts.yaml", line, "must be 1-24 characters");
}

#[test]
fn undefined_variables() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "ui.yaml",
        "  reflection_saved: Saved.",
        "  reflection_saved: Saved, {name}.",
    );
    expect(d.path(), "ui.yaml", line, "undefined variable `{name}`");
}

#[test]
fn labels_over_the_limit() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "ui.yaml",
        "  button.next: Next",
        "  button.next: Next, and this label is far too long for a button",
    );
    expect(d.path(), "ui.yaml", line, "the limit is 40");
}

#[test]
fn professional_signpost_keywords_over_the_limit() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "signposts.yaml",
        "    keywords: [weight, obesity,",
        "    keywords: [a keyword far too long to be a word anyone types, weight, obesity,",
    );
    expect(d.path(), "signposts.yaml", line, "the limit is 40");
}

#[test]
fn unknown_profession_target() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "examples.yaml",
        "professions: [",
        "professions: [astronaut, ",
    );
    expect(
        d.path(),
        "examples.yaml",
        line,
        "unknown profession `astronaut`",
    );
}

#[test]
fn unknown_lens_number() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "resources/kings-fund-framework.yaml",
        "lenses: [",
        "lenses: [7, ",
    );
    expect(
        d.path(),
        "resources/kings-fund-framework.yaml",
        line,
        "unknown lens 7",
    );
}

#[test]
fn resource_without_url_or_reason() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "resources/organisations.yaml",
        "resources:\n",
        "resources:\n  - id: org-nolink\n    title: T\n    description: D\n    lenses: [1]\n    type: report\n    source: S\n",
    );
    expect(
        d.path(),
        "resources/organisations.yaml",
        line + 1,
        "no `url`",
    );
}

#[test]
fn resource_without_source() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "resources/organisations.yaml",
        "resources:\n",
        "resources:\n  - id: org-nosource\n    title: T\n    no_url: none printed\n    description: D\n    lenses: [1]\n    type: report\n    source: \"\"\n",
    );
    expect(
        d.path(),
        "resources/organisations.yaml",
        line + 7,
        "`source` is empty",
    );
}

#[test]
fn unknown_resource_type() {
    let d = copy_dialogues();
    let text = std::fs::read_to_string(d.path().join("resources/organisations.yaml")).unwrap();
    let from = text
        .lines()
        .find(|l| l.trim_start().starts_with("type: "))
        .unwrap()
        .to_string();
    let line = edit(
        d.path(),
        "resources/organisations.yaml",
        &from,
        "    type: podcast",
    );
    expect(
        d.path(),
        "resources/organisations.yaml",
        line,
        "unknown type `podcast`",
    );
}

#[test]
fn bad_regular_expressions() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "signposts.yaml",
        "    urgent: false\n",
        "    urgent: false\n    pattern: \"(unclosed\"\n",
    );
    expect(
        d.path(),
        "signposts.yaml",
        line + 1,
        "bad regular expression",
    );
}

#[test]
fn a_missing_lens() {
    let d = copy_dialogues();
    std::fs::remove_file(d.path().join("lenses/6-future.yaml")).unwrap();
    let ps = problems(d.path());
    assert!(
        ps.iter().any(|p| p.message.contains("lens 6 is missing")),
        "{ps:?}"
    );
}

#[test]
fn a_dead_end_mode() {
    let d = copy_dialogues();
    let path = d.path().join("lenses/4-communities.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Empty the awareness prompts: cut from the first "prompts:" to the next "  action:".
    let start = text.find("    prompts:\n").unwrap();
    let end = text.find("\n  action:").unwrap();
    let summary_line = text[..text.find("    summary:").unwrap()]
        .matches('\n')
        .count() as u64
        + 1;
    std::fs::write(
        &path,
        format!("{}    prompts: []\n{}", &text[..start], &text[end + 1..]),
    )
    .unwrap();
    // A folded summary (`summary: >`) is reported where its text begins, on the next line.
    expect(
        d.path(),
        "lenses/4-communities.yaml",
        summary_line + 1,
        "no prompts: a dead end",
    );
}

/// The line (1-based) of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

#[test]
fn every_mode_has_exactly_one_core_prompt() {
    // Proves the checker names, file:line:col, a mode with no core prompt (at its summary), a
    // second core prompt (at its own `core:`), and `core` on a meeting line.
    let d = copy_dialogues();
    let path = d.path().join("lenses/2-patients.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Awareness loses its core mark; action gains a second one; a meeting line gets one.
    let text = text.replacen("        core: true\n", "", 1);
    let text = text.replacen(
        "      - id: ac-extra-time\n",
        "      - id: ac-extra-time\n        core: true\n",
        1,
    );
    let text = text.replacen(
        "      - id: ml-ask-affected\n",
        "      - id: ml-ask-affected\n        core: true\n",
        1,
    );
    std::fs::write(&path, &text).unwrap();
    let summary = line_of(&text, "  awareness:") + 2;
    expect(
        d.path(),
        "lenses/2-patients.yaml",
        summary,
        "the awareness mode has no core prompt",
    );
    expect(
        d.path(),
        "lenses/2-patients.yaml",
        line_of(&text, "- id: ac-extra-time") + 1,
        "a second core prompt in the action mode",
    );
    expect(
        d.path(),
        "lenses/2-patients.yaml",
        line_of(&text, "- id: ml-ask-affected") + 1,
        "meeting lines have no core",
    );
}

#[test]
fn released_ids_that_disappear() {
    let d = copy_dialogues();
    // Rename a prompt id: its old id was released in ids.lock.
    let text = std::fs::read_to_string(d.path().join("lenses/1-myself.yaml")).unwrap();
    let id = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("- id: aw-"))
        .unwrap()
        .to_string();
    edit(
        d.path(),
        "lenses/1-myself.yaml",
        &format!("- id: aw-{id}\n"),
        "- id: aw-renamed\n",
    );
    // A challenge plan that names it is caught too; point the plan at the new id.
    let line = edit(
        d.path(),
        "challenges.yaml",
        &format!("aw-{id},"),
        "aw-renamed,",
    );
    expect_none_at(d.path(), "challenges.yaml", line);
    let lock = std::fs::read_to_string(d.path().join("ids.lock")).unwrap();
    let want = format!("lens-1/aw-{id}");
    let line = lock
        .lines()
        .position(|l| l.trim() == want)
        .expect("released") as u64
        + 1;
    expect(d.path(), "ids.lock", line, "was released and is gone");
    // Marking it retired clears the error.
    edit(
        d.path(),
        "ids.lock",
        &format!("{want}\n"),
        &format!("{want} retired\n"),
    );
    assert!(
        !problems(d.path())
            .iter()
            .any(|p| p.severity == Severity::Error)
    );
}

#[test]
fn missing_and_unknown_ui_keys() {
    let d = copy_dialogues();
    edit(
        d.path(),
        "ui.yaml",
        "  fact_title: Did you know?\n",
        "  fact_titel: Did you know?\n",
    );
    let ps = problems(d.path());
    assert!(
        ps.iter()
            .any(|p| p.message.contains("unknown ui key `fact_titel`")),
        "{ps:?}"
    );
    assert!(
        ps.iter()
            .any(|p| p.message.contains("missing ui key `fact_title`")),
        "{ps:?}"
    );
}

#[test]
fn unknown_files() {
    let d = copy_dialogues();
    std::fs::write(d.path().join("extras.yaml"), "x: 1\n").unwrap();
    expect(d.path(), "extras.yaml", 1, "unknown content file");
}

#[test]
fn urls_not_printed_in_any_source() {
    let d = copy_dialogues();
    let sources = tempfile::tempdir().unwrap();
    std::fs::write(sources.path().join("a.txt"), "nothing printed here").unwrap();
    let ps = check_dir(
        d.path(),
        &Options {
            sources: Some(sources.path().into()),
            ids_lock: true,
        },
    )
    .1;
    assert!(
        ps.iter()
            .any(|p| p.message.contains("is not printed in any source document")),
        "{ps:?}"
    );
    // A URL with a `url_note` saying where it comes from is allowed.
    assert!(
        !ps.iter()
            .any(|p| p.file == Path::new("signposts.yaml") && p.message.contains("shelter.org.uk"))
    );
}

#[test]
fn urls_are_printed_in_the_sources_when_they_are_at_hand() {
    let sources = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sources");
    if !sources.is_dir() {
        eprintln!("skipping: ../shared/sources is not beside the checkout");
        return;
    }
    let ps = check_dir(
        &crate::helpers::dialogues(),
        &Options {
            sources: Some(sources),
            ids_lock: true,
        },
    )
    .1;
    let errors: Vec<String> = ps
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Asserts no error in `file` at `line`.
fn expect_none_at(dir: &Path, file: &str, line: u64) {
    let ps = problems(dir);
    assert!(
        !ps.iter()
            .any(|p| p.severity == Severity::Error && p.file == Path::new(file) && p.line == line),
        "unexpected error at {file}:{line}"
    );
}

#[test]
fn challenge_plans_name_real_prompts_and_a_supported_rhythm() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "challenges.yaml",
        "aw-who-joins,",
        "aw-no-such-prompt,",
    );
    expect(
        d.path(),
        "challenges.yaml",
        line,
        "no prompt `aw-no-such-prompt` in lens 6",
    );
    let line = edit(d.path(), "challenges.yaml", "every: 7", "every: 3");
    expect(
        d.path(),
        "challenges.yaml",
        line,
        "every: 3 is not supported",
    );
    let line = edit(
        d.path(),
        "challenges.yaml",
        "{lens: 2, prompts: [aw-bias",
        "{lens: 9, prompts: [aw-bias",
    );
    expect(d.path(), "challenges.yaml", line, "unknown lens 9");
    edit(d.path(), "challenges.yaml", "\"6x6\"", "\"weekly\"");
    // The later plan's alias is the one in the way.
    let text = std::fs::read_to_string(d.path().join("challenges.yaml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"weekly\", \"6 weeks\""))
        .unwrap() as u64
        + 1;
    expect(
        d.path(),
        "challenges.yaml",
        line,
        "alias `weekly` already names plan `six-days`",
    );
    let line = edit(
        d.path(),
        "challenges.yaml",
        "id: eighteen-days",
        "id: six-days",
    );
    expect(d.path(), "challenges.yaml", line, "six-days");
}

#[test]
fn roles_need_actions_distinct_words_and_short_labels() {
    let d = copy_dialogues();
    let line = edit(
        d.path(),
        "roles.yaml",
        "name: Commissioner",
        "name: Commissioner of services for the whole integrated care system",
    );
    expect(d.path(), "roles.yaml", line, "name");
    let line = edit(
        d.path(),
        "roles.yaml",
        "aliases: [commissioners,",
        "aliases: [manager, commissioners,",
    );
    expect(
        d.path(),
        "roles.yaml",
        line,
        "alias `manager` already names role `team-leader`",
    );
    let line = edit(d.path(), "roles.yaml", "id: vcse", "id: frontline");
    expect(d.path(), "roles.yaml", line, "frontline");
    std::fs::remove_file(d.path().join("roles.yaml")).unwrap();
    expect(d.path(), "roles.yaml", 0, "this file is missing");
}
