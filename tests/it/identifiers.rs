//! The identifier guard (issue 14, item 5): what could identify a patient or colleague is
//! noticed before free text is saved, in every place free text is saved; the person chooses
//! to save it masked, rewrite it or keep it; nothing matched is logged. The corpus under
//! `tests/data/identifiers/` is realistic AHP reflections written for these tests: no miss on
//! the positives, and the false-positive rate on the negatives measured (stated in the README)
//! and held under 5 %.

use crate::helpers::{catalog, text};
use jiff::Timestamp;
use lensbot::engine::identifiers::{self, Kind};
use lensbot::engine::{At, Input, UserState, step};
use std::path::PathBuf;

fn corpus(file: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/identifiers")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn kind_named(name: &str) -> Kind {
    Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .unwrap_or_else(|| panic!("no kind {name:?}"))
}

fn kinds(t: &str) -> Vec<Kind> {
    identifiers::kinds(&identifiers::scan(t))
}

#[test]
fn every_positive_in_the_corpus_is_caught_with_its_kinds() {
    // Proves no miss: each of the 40+ reflections with identifiers is caught, and with every
    // kind the line names; and the corpus covers every kind.
    let lines = corpus("positives.txt");
    assert!(lines.len() >= 40, "{} positives", lines.len());
    let mut covered = std::collections::BTreeSet::new();
    let mut misses = Vec::new();
    for line in &lines {
        let (want, t) = line.split_once(" | ").expect("kind | text");
        let got = kinds(t);
        for k in want.split(',').map(|k| kind_named(k.trim())) {
            covered.insert(k);
            if !got.contains(&k) {
                misses.push(format!("{k:?} missed (found {got:?}): {t}"));
            }
        }
    }
    assert!(misses.is_empty(), "misses:\n{}", misses.join("\n"));
    assert_eq!(covered.len(), Kind::ALL.len(), "kinds covered: {covered:?}");
}

/// The highest false-positive rate allowed on the negatives (the README states the measured one).
const MAX_FALSE_POSITIVE_RATE: f64 = 0.05;

#[test]
fn the_false_positive_rate_on_the_negatives_stays_under_five_per_cent() {
    // Proves the guard does not cry wolf: of 60+ realistic reflections without identifiers
    // (numbers, dates, times, group ages, place and organisation names, "Mr Motivator" and
    // "Dr Foster"), fewer than 5 % are flagged. The rate is printed for the README.
    let lines = corpus("negatives.txt");
    assert!(lines.len() >= 60, "{} negatives", lines.len());
    let flagged: Vec<String> = lines
        .iter()
        .filter_map(|t| {
            let k = kinds(t);
            (!k.is_empty()).then(|| format!("{k:?}: {t}"))
        })
        .collect();
    let rate = flagged.len() as f64 / lines.len() as f64;
    println!(
        "identifier guard false positives: {} of {} ({:.1} %)",
        flagged.len(),
        lines.len(),
        rate * 100.0
    );
    for f in &flagged {
        println!("  flagged: {f}");
    }
    assert!(
        rate < MAX_FALSE_POSITIVE_RATE,
        "{} of {} flagged:\n{}",
        flagged.len(),
        lines.len(),
        flagged.join("\n")
    );
}

#[test]
fn nhs_numbers_need_a_valid_check_digit() {
    // Proves the NHS number rule: ten digits, together, spaced 3-3-4 or hyphenated, caught
    // only with a valid modulus 11 check digit (a wrong last digit is just a number).
    for t in ["NHS 943 476 5919.", "no 9434765919 here", "id 943-476-5919"] {
        assert_eq!(kinds(t), vec![Kind::NhsNumber], "{t}");
    }
    for t in ["ref 943 476 5918", "ref 9434765910", "12 345 6789 apples"] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

#[test]
fn chi_numbers_need_a_real_date_and_a_check_digit() {
    // Proves the CHI rule: the first six digits a real DDMMYY date, the tenth the modulus 11
    // check digit; 31 February is no date, so that number is not a CHI number.
    assert_eq!(kinds("CHI 0101011237 from Lothian"), vec![Kind::ChiNumber]);
    assert_eq!(kinds("his number 1204800014"), vec![Kind::ChiNumber]);
    assert_eq!(kinds("ref 1204800015"), vec![]);
    assert!(!kinds("ref 3102501234").contains(&Kind::ChiNumber));
}

#[test]
fn dates_of_birth_need_a_keyword_or_an_age() {
    // Proves the documented rule: a date after DOB / born / date of birth, or a full date in
    // the same sentence as an age, is a date of birth; a date on its own is not.
    for t in [
        "DOB 12/03/1948, lives alone",
        "born on 3 March 1946",
        "D.O.B. 04/07/52",
        "date of birth: 1950-06-21",
        "born in April 1939",
        "aged 79, 14/02/1945, missed his scan",
    ] {
        assert_eq!(kinds(t), vec![Kind::DateOfBirth], "{t}");
    }
    for t in [
        "On 1 April 2013 public health moved to councils.",
        "The away day on 3/11/2023 agreed three priorities.",
        "She was born in 1948.",
    ] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

#[test]
fn full_postcodes_are_caught_and_districts_are_not() {
    // Proves the postcode rule: a full postcode in any case, with or without the space; an
    // outward code alone (a district) is left.
    for t in ["at LS9 8AB today", "sw1a 1aa", "M139PL", "EH8 9YL"] {
        assert_eq!(kinds(t), vec![Kind::Postcode], "{t}");
    }
    for t in [
        "our LS postcodes",
        "the LS9 area",
        "vitamin B12 levels",
        "the M62",
    ] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

#[test]
fn uk_phone_numbers_are_caught_and_service_numbers_are_not() {
    // Proves the phone rule: mobiles, landlines, +44 and bracketed forms; 999, 111 and times
    // are not phone numbers.
    for t in [
        "ring 07700 900123",
        "on 0161 496 0000",
        "+44 7700 900456",
        "(020) 7946 0958",
        "07700900123",
    ] {
        assert_eq!(kinds(t), vec![Kind::Phone], "{t}");
    }
    for t in ["call 999 or 111", "from 0930 to 1100", "about 2,400 people"] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

#[test]
fn email_addresses_are_caught() {
    // Proves the email rule.
    assert_eq!(
        kinds("send to j.smith1972@example.com please"),
        vec![Kind::Email]
    );
    assert_eq!(kinds("the @ sign and example.com"), vec![]);
}

#[test]
fn hospital_and_case_numbers_need_a_keyword_and_an_id() {
    // Proves the case-number rule: a keyword (MRN, hospital number, case no., patient ID)
    // with an id of at least three digits; "case no one" or "patient number 3" are not.
    for t in [
        "MRN 00482913 cancelled",
        "hospital number K1234567",
        "Case no. RTH 4417823 closed",
        "patient ID 55821",
    ] {
        assert_eq!(kinds(t), vec![Kind::CaseNumber], "{t}");
    }
    for t in ["in that case no one came", "patient number 3 of 12"] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

#[test]
fn titles_with_names_or_initials_are_caught_but_known_traps_are_not() {
    // Proves the titled-name rule, and that public figures, characters and organisations
    // after a title ("Mr Motivator", "Dr Foster", "Prof Marmot", "Dr Gray's Hospital") and
    // radiography's "MR" are left.
    for t in [
        "Mrs K said",
        "Mr Patel's flat",
        "Dr. Jones agreed",
        "mrs b was worried",
    ] {
        assert_eq!(kinds(t), vec![Kind::TitledName], "{t}");
    }
    for t in [
        "Mr Motivator videos",
        "Dr Foster data",
        "Professor Marmot's review",
        "at Dr Gray's Hospital in Elgin",
        "MR Safety forms",
        "I miss a lot",
    ] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
    // A doctor is masked as a colleague, anyone else as a patient.
    let t = "Dr Shah and Mrs K";
    let f = identifiers::scan(t);
    let masked = identifiers::mask(t, &f, |m| format!("[{m}]"));
    assert_eq!(masked, "[colleague] and [patient]");
}

#[test]
fn names_with_ages_are_caught_but_group_ages_are_not() {
    // Proves the name-with-age rule: "John, 45", "Jean (81)", "Ahmed aged 60", "Bill 82 years
    // old"; "people over 65", "Adults aged 65+", "Monday, 12 people" are groups and counts.
    for t in [
        "John, 45, lives alone",
        "Visited Jean (81) today",
        "Ahmed aged 60 said",
        "Bill 82 years old",
    ] {
        assert_eq!(kinds(t), vec![Kind::NameWithAge], "{t}");
    }
    for t in [
        "people over 65",
        "Adults aged 65+ are the biggest group",
        "Monday, 12 people came",
        "Children aged 5 to 11",
    ] {
        assert_eq!(kinds(t), vec![], "{t}");
    }
}

// --- The guard in the conversation ---

fn t0() -> Timestamp {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

/// A person standing at lens 1's first awareness prompt.
fn at_first_prompt() -> UserState {
    let cat = catalog();
    let lens = &cat.lenses[0];
    let p = &lens.mode(lensbot::content::ModeKind::Awareness).prompts[0];
    let mut st = UserState::new("test:guard");
    st.welcomed = true;
    st.at = At::Lens {
        lens: lens.id.clone(),
        stop: format!("awareness/{}", p.id),
    };
    st
}

const EXAMPLE: &str = "Mrs K, 78, told me she stopped hydrotherapy because the bus fare went up";

/// Types `t`, then presses the button labelled `label` on the last message.
fn type_then_press(st: &UserState, t: &str, label: &str) -> (UserState, String, String) {
    let cat = catalog();
    let first = step(&cat, st, Input::Text(t.into()), t0());
    let asked = text(&first.messages);
    let token = first
        .messages
        .iter()
        .flat_map(|m| &m.buttons)
        .find(|b| b.label == label)
        .unwrap_or_else(|| panic!("no {label:?} button in:\n{asked}"))
        .token
        .clone();
    let second = step(&cat, &first.state, Input::Button(token), t0());
    (second.state, asked, text(&second.messages))
}

#[test]
fn a_reflection_with_an_identifier_is_not_saved_until_the_person_chooses() {
    // Proves the first half: on a match nothing is saved, the person hears the kind in plain
    // words (not the matched text) with the three choices, and the text waits in the state.
    let cat = catalog();
    let st = at_first_prompt();
    let turn = step(&cat, &st, Input::Text(EXAMPLE.into()), t0());
    assert!(turn.state.reflections.is_empty());
    let said = text(&turn.messages);
    assert!(
        said.contains("a name or an initial after a title"),
        "{said}"
    );
    assert!(
        !said.contains("Mrs K"),
        "the match is not repeated back: {said}"
    );
    let labels: Vec<_> = turn
        .messages
        .iter()
        .flat_map(|m| &m.buttons)
        .map(|b| b.label.as_str())
        .collect();
    assert_eq!(
        labels,
        ["Save without it", "Let me rewrite it", "Save as it is"]
    );
    assert_eq!(
        turn.state.pending.as_ref().map(|p| p.text.as_str()),
        Some(EXAMPLE)
    );
    assert_eq!(turn.state.at, st.at, "still at the same prompt");
}

#[test]
fn save_without_it_saves_the_masked_text() {
    // Proves "Save without it": the reflection is saved with "[patient]" in place of "Mrs K",
    // the walk moves on, and nothing is left waiting.
    let (st, _, said) = type_then_press(&at_first_prompt(), EXAMPLE, "Save without it");
    assert_eq!(st.reflections.len(), 1, "{said}");
    assert_eq!(
        st.reflections[0].text,
        "[patient], 78, told me she stopped hydrotherapy because the bus fare went up"
    );
    assert!(st.pending.is_none());
    assert_ne!(st.at, at_first_prompt().at, "the walk moved on");
}

#[test]
fn let_me_rewrite_it_saves_nothing_and_asks_again() {
    // Proves "Let me rewrite it": nothing saved, nothing waiting, the same prompt shown again;
    // the rewritten text without identifiers is then saved at once.
    let start = at_first_prompt();
    let (st, _, said) = type_then_press(&start, EXAMPLE, "Let me rewrite it");
    assert!(st.reflections.is_empty());
    assert!(st.pending.is_none());
    assert_eq!(st.at, start.at);
    assert!(said.contains("Nothing was saved"), "{said}");
    let turn = step(
        &catalog(),
        &st,
        Input::Text("An older patient stopped hydrotherapy: the bus fare went up".into()),
        t0(),
    );
    assert_eq!(turn.state.reflections.len(), 1);
}

#[test]
fn save_as_it_is_saves_the_words_unchanged() {
    // Proves "Save as it is": the person's choice is respected, words unchanged.
    let (st, _, _) = type_then_press(&at_first_prompt(), EXAMPLE, "Save as it is");
    assert_eq!(st.reflections.len(), 1);
    assert_eq!(st.reflections[0].text, EXAMPLE);
}

#[test]
fn doing_anything_else_drops_the_waiting_text() {
    // Proves the waiting text is not kept beyond the question: a command instead of a choice
    // drops it, and a late press of "Save as it is" saves nothing.
    let cat = catalog();
    let first = step(&cat, &at_first_prompt(), Input::Text(EXAMPLE.into()), t0());
    let token = first
        .messages
        .iter()
        .flat_map(|m| &m.buttons)
        .find(|b| b.label == "Save as it is")
        .unwrap()
        .token
        .clone();
    let other = step(&cat, &first.state, Input::Text("/progress".into()), t0());
    assert!(other.state.pending.is_none());
    let late = step(&cat, &other.state, Input::Button(token), t0());
    assert!(late.state.reflections.is_empty());
}

#[test]
fn typing_the_choice_works_too() {
    // Proves the choice can be typed (accessibility, the terminal): "1" is "Save without it".
    let cat = catalog();
    let first = step(&cat, &at_first_prompt(), Input::Text(EXAMPLE.into()), t0());
    let second = step(&cat, &first.state, Input::Text("1".into()), t0());
    assert_eq!(second.state.reflections.len(), 1);
    assert!(second.state.reflections[0].text.starts_with("[patient]"));
}

#[test]
fn every_place_free_text_is_saved_is_guarded() {
    // Proves the guard sits before every save of free text: /note TEXT, a note typed after
    // /note, an own action, an action's new wording (from /journal), a meeting line and a
    // challenge reflection; each held back, each
    // saved masked on "Save without it".
    let cat = catalog();
    let lens = &cat.lenses[0];
    let with = |at: At| {
        let mut st = UserState::new("test:places");
        st.welcomed = true;
        st.at = at;
        st
    };
    let identifying = "Spoke to Mr Patel at LS9 8AB";
    let masked = "Spoke to [patient] at [postcode]";
    // /note TEXT, from anywhere.
    let (st, asked, _) = type_then_press(
        &with(At::Idle),
        &format!("/note {identifying}"),
        "Save without it",
    );
    assert!(asked.contains("a postcode"), "{asked}");
    assert_eq!(
        st.notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        [masked]
    );
    // A note typed after /note.
    let (st, _, _) = type_then_press(&with(At::Note), identifying, "Save without it");
    assert_eq!(
        st.notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
        [masked]
    );
    // An own action.
    let (st, _, _) = type_then_press(
        &with(At::OwnAction {
            lens: lens.id.clone(),
        }),
        identifying,
        "Save without it",
    );
    assert_eq!(
        st.actions
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>(),
        [masked]
    );
    // An action's new wording, typed from /journal.
    let mut editing = with(At::EditAction {
        action: "a1".into(),
    });
    editing.actions.push(lensbot::engine::state::Commitment {
        id: "a1".into(),
        lens: lens.id.clone(),
        action: "own".into(),
        text: "Ask about transport".into(),
        size: "own".into(),
        committed: t0(),
        done: None,
        dropped: None,
    });
    let (st, asked, _) = type_then_press(&editing, identifying, "Save without it");
    assert!(asked.contains("a postcode"), "{asked}");
    assert_eq!(
        st.actions
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>(),
        [masked]
    );
    // A meeting line.
    let meeting = At::Lens {
        lens: lens.id.clone(),
        stop: "meeting".into(),
    };
    let (st, _, _) = type_then_press(&with(meeting), identifying, "Save without it");
    assert_eq!(
        st.reflections
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>(),
        [masked]
    );
    // A challenge reflection.
    let ch = At::ChallengeNote {
        group: "g".into(),
        step: 1,
        lens: lens.id.clone(),
        mode: "awareness".into(),
        prompt: "p".into(),
        question: "q".into(),
    };
    let (st, _, _) = type_then_press(&with(ch), identifying, "Save without it");
    assert_eq!(
        st.reflections
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>(),
        [masked]
    );
    // Where text is not saved (a search), nothing is asked.
    let turn = step(
        &cat,
        &with(At::Idle),
        Input::Text("/resources Mr Patel".into()),
        t0(),
    );
    assert!(turn.state.pending.is_none());
}

/// Log lines written while the guard lives (this thread only: the test runs on one).
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn nothing_matched_is_logged_even_at_trace_level() {
    // Proves "nothing matched is logged": a session turn holding back text with every kind of
    // identifier, then "Save without it", then "Save as it is" on another, all with tracing at
    // trace level captured: no matched text (and no part of the reflection) in the log, while
    // the log does hold the turns (so the capture works).
    use lensbot::session::Session;
    use lensbot::store::MemoryStore;
    let logs = Logs::default();
    let me = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || me.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let session = Session::new(catalog(), std::sync::Arc::new(MemoryStore::new()));
    let user = "test:logs";
    let secret = "SENTINEL Mrs Quartermaine, 78, NHS 943 476 5919, DOB 12/03/1948, LS9 8AB, \
                  07700 900123, q.m@example.com, MRN 00482913, Zebedee, 45.";
    let press = |messages: &[lensbot::engine::Message], label: &str| {
        messages
            .iter()
            .flat_map(|m| &m.buttons)
            .find(|b| b.label == label)
            .map(|b| b.token.clone())
            .unwrap_or_else(|| panic!("no {label:?}"))
    };
    let now = t0();
    let r = session
        .handle(user, Input::Text("/note".into()), Some("e1"), now)
        .await
        .unwrap();
    assert!(!r.messages.is_empty());
    let r = session
        .handle(user, Input::Text(secret.into()), Some("e2"), now)
        .await
        .unwrap();
    let token = press(&r.messages, "Save without it");
    session
        .handle(user, Input::Button(token), Some("e3"), now)
        .await
        .unwrap();
    session
        .handle(
            user,
            Input::Text(format!("/note {secret}")),
            Some("e4"),
            now,
        )
        .await
        .unwrap();
    let r = session
        .handle(
            user,
            Input::Text(format!("/note {secret}")),
            Some("e5"),
            now,
        )
        .await
        .unwrap();
    let token = press(&r.messages, "Save as it is");
    session
        .handle(user, Input::Button(token), Some("e6"), now)
        .await
        .unwrap();
    let st = session.store().get_user(user).await.unwrap().unwrap();
    assert_eq!(st.notes.len(), 2, "both saved");
    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(log.contains("turn"), "the capture works: {log}");
    for part in [
        "SENTINEL",
        "Quartermaine",
        "943 476 5919",
        "12/03/1948",
        "LS9 8AB",
        "07700",
        "example.com",
        "00482913",
        "Zebedee",
        "[patient]",
    ] {
        assert!(!log.contains(part), "{part:?} logged:\n{log}");
    }
}
