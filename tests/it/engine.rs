//! The engine: no input panics, steps are pure, edits mid-lens never strand anyone, and the
//! content covers every lens, mode and source as the product needs.

use crate::helpers::{catalog, copy_dialogues, edit, text};
use lensbot::content::{self, ModeKind};
use lensbot::engine::{self, At, Input, UserState};
use lensbot::store::codec;
use proptest::prelude::*;

fn now() -> jiff::Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

fn input_strategy() -> impl Strategy<Value = Input> {
    let commands = prop::sample::select(vec![
        "/start",
        "/help",
        "/lens",
        "/lens 1",
        "/lens 6",
        "/lens 0",
        "/lens patients",
        "/continue",
        "/progress",
        "/note",
        "/note hello",
        "/resources",
        "/resources data lens 3",
        "/resources .*(",
        "/examples",
        "/examples physio",
        "/signpost",
        "/signpost housing",
        "/fact",
        "/define",
        "/define equity",
        "/profession",
        "/profession ot",
        "/mydata",
        "/forgetme",
        "/prep",
        "/x",
        "1",
        "2",
        "3",
        "9",
        "12",
        "Next",
        "Back",
        "Skip",
        "yes",
        "no",
        "where was I?",
        "",
    ])
    .prop_map(|s| Input::Text(s.to_string()));
    prop_oneof![
        4 => commands,
        2 => any::<String>().prop_map(Input::Text),
        1 => "[ -~]{0,200}".prop_map(Input::Text),
        1 => (0u64..6, "[a-z]{1,8}(:[a-z0-9-]{0,30})?").prop_map(|(s, a)| Input::Button(format!("{s}:{a}"))),
        1 => any::<String>().prop_map(Input::Button),
        1 => Just(Input::Text("x".repeat(4001))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_panics_or_goes_silent(
        user in "[a-z]{1,10}:[0-9]{1,12}",
        inputs in prop::collection::vec(input_strategy(), 1..40),
    ) {
        let cat = catalog();
        let mut st = UserState::new(&user);
        for input in inputs {
            let turn = engine::step(&cat, &st, input, now());
            prop_assert!(!turn.messages.is_empty(), "the bot must never be silent");
            for m in &turn.messages {
                for b in &m.buttons {
                    prop_assert!(b.token.len() <= 64, "token too long: {}", b.token);
                    prop_assert!(b.label.chars().count() <= 40, "label too long: {}", b.label);
                }
            }
            // Every state the engine produces can be stored and read back.
            let back = codec::decode(&user, &codec::encode(&turn.state)).unwrap();
            prop_assert_eq!(&back, &turn.state);
            st = if turn.effects.contains(&engine::Effect::Forget) { UserState::new(&user) } else { turn.state };
        }
    }
}

#[test]
fn step_is_pure() {
    let cat = catalog();
    let st = UserState::new("t:pure");
    let a = engine::step(&cat, &st, Input::Text("/fact".into()), now());
    let b = engine::step(&cat, &st, Input::Text("/fact".into()), now());
    assert_eq!(text(&a.messages), text(&b.messages));
    assert_eq!(a.state, b.state);
}

#[test]
fn oversized_input_is_refused_and_changes_nothing_but_the_welcome() {
    let cat = catalog();
    let mut st = UserState::new("t:big");
    st.welcomed = true;
    st.at = At::Lens {
        lens: "lens-1".into(),
        stop: "awareness/aw-why-it-matters".into(),
    };
    let turn = engine::step(&cat, &st, Input::Text("a".repeat(10_000)), now());
    assert!(text(&turn.messages).contains("10000 characters long"));
    assert!(turn.state.reflections.is_empty());
    assert_eq!(turn.state.at, st.at);
}

#[test]
fn control_characters_are_stripped_from_what_is_saved() {
    let cat = catalog();
    let mut st = UserState::new("t:ctl");
    st.welcomed = true;
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/note a\u{0}b\u{1b}[31mc\u{202e}d".into()),
        now(),
    );
    assert_eq!(turn.state.notes[0].text, "ab[31mcd");
}

#[test]
fn editing_a_dialogue_file_mid_lens_does_not_strand_anyone() {
    let d = copy_dialogues();
    let (cat, _) = content::load(d.path()).unwrap();
    let lens = cat.lens("lens-1").unwrap();
    let prompts = &lens.mode(ModeKind::Awareness).prompts;
    let (first, second) = (prompts[0].clone(), prompts[1].clone());
    // Someone answered the first prompt and stands on the second.
    let mut st = UserState::new("t:edit");
    st.welcomed = true;
    for input in ["/lens 1", "2", "1", "My answer to the first."] {
        st = engine::step(&cat, &st, Input::Text(input.into()), now()).state;
    }
    assert_eq!(
        st.at,
        At::Lens {
            lens: "lens-1".into(),
            stop: format!("awareness/{}", second.id)
        }
    );
    // An author deletes the second prompt while they are away.
    let file = d.path().join("lenses/1-myself.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let start = yaml.find(&format!("      - id: {}\n", second.id)).unwrap();
    let end = start + yaml[start + 1..].find("      - id: ").unwrap() + 1;
    std::fs::write(&file, format!("{}{}", &yaml[..start], &yaml[end..])).unwrap();
    // A challenge plan named it too: the author points the plan at another prompt.
    edit(
        d.path(),
        "challenges.yaml",
        &format!("[{}]", second.id),
        &format!("[{}]", first.id),
    );
    edit(
        d.path(),
        "ids.lock",
        &format!("lens-1/{}\n", second.id),
        &format!("lens-1/{} retired\n", second.id),
    );
    let (cat2, _) = content::load(d.path()).expect("the edited content loads");
    // They come back: told what happened, moved to the next unanswered prompt, nothing lost.
    let turn = engine::step(&cat2, &st, Input::Text("/continue".into()), now());
    let out = text(&turn.messages);
    assert!(
        out.contains("has been updated since you were last here"),
        "{out}"
    );
    let third = &prompts[2];
    assert_eq!(
        turn.state.at,
        At::Lens {
            lens: "lens-1".into(),
            stop: format!("awareness/{}", third.id)
        }
    );
    assert_eq!(turn.state.reflections.len(), 1);
    assert_eq!(turn.state.reflections[0].prompt, first.id);
    // And their next answer is saved against the right prompt.
    let turn = engine::step(
        &cat2,
        &turn.state,
        Input::Text("Third answer".into()),
        now(),
    );
    assert_eq!(turn.state.reflections[1].prompt, third.id);
}

#[test]
fn a_removed_lens_stop_of_unknown_mode_goes_to_the_intro() {
    let cat = catalog();
    let mut st = UserState::new("t:gone");
    st.welcomed = true;
    st.at = At::Lens {
        lens: "lens-2".into(),
        stop: "nonsense".into(),
    };
    let turn = engine::step(&cat, &st, Input::Text("/continue".into()), now());
    assert_eq!(
        turn.state.at,
        At::Lens {
            lens: "lens-2".into(),
            stop: "intro".into()
        }
    );
}

#[test]
fn the_content_covers_every_lens_mode_and_source() {
    let cat = catalog();
    assert_eq!(cat.lenses.len(), 6);
    let mut prompts = 0;
    for l in &cat.lenses {
        for m in &l.modes {
            assert!(
                m.prompts.len() >= 3,
                "lens {} {} has {} prompts",
                l.number,
                m.kind,
                m.prompts.len()
            );
            prompts += m.prompts.len();
        }
        let actions = &l.mode(ModeKind::Action).actions;
        assert!(
            actions.len() >= 3,
            "lens {} has {} actions",
            l.number,
            actions.len()
        );
        for size in ["five-minutes", "an-hour", "longer-term"] {
            assert!(
                actions.iter().any(|a| a.size == size),
                "lens {} has no {size} action",
                l.number
            );
        }
        assert!(!l.mode(ModeKind::Advocacy).meeting_lines.is_empty());
        assert!(
            cat.examples
                .iter()
                .filter(|e| e.id.starts_with("kf-") && e.lenses.contains(&l.number))
                .count()
                >= 3
        );
    }
    assert!(prompts >= 54);
    assert_eq!(
        cat.examples
            .iter()
            .filter(|e| e.id.starts_with("kf-"))
            .count(),
        18
    );
    assert!(
        cat.examples
            .iter()
            .filter(|e| !e.id.starts_with("kf-"))
            .count()
            >= 15
    );
    assert_eq!(cat.professions.len(), 14);
    for p in &cat.professions {
        assert!(
            cat.examples.iter().any(|e| e.professions.contains(&p.id)),
            "no example for {}",
            p.id
        );
    }
    assert!(cat.facts.len() >= 30);
    assert!(cat.needs.len() >= 10);
    assert!(cat.contacts.len() >= 3);
    for term in [
        "health-inequalities",
        "health-disparities",
        "equality-vs-equity",
        "inclusion-health",
        "protected-chars",
        "core20plus5",
        "proportionate-univ",
        "inverse-care-law",
        "wider-determinants",
    ] {
        assert!(
            cat.definitions.iter().any(|d| d.id == term),
            "missing definition {term}"
        );
    }
    // The framework's whole reference list is in the directory.
    assert!(
        cat.resources
            .iter()
            .filter(|r| r.id.starts_with("kf-"))
            .count()
            >= 29
    );
    for r in &cat.resources {
        assert!(
            r.url.is_some() != r.no_url.is_some(),
            "{}: url xor no_url",
            r.id
        );
    }
}

#[test]
fn every_ui_key_the_program_uses_is_declared() {
    // Scan the source for t("…"), tf("…") and button("…") keys; each must be in ui::KEYS.
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut stack = vec![src];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let t = std::fs::read_to_string(&p).unwrap();
            for pat in [".t(", ".tf(", ".button("] {
                for (i, _) in t.match_indices(pat) {
                    let rest = t[i + pat.len()..].trim_start();
                    if let Some(r) = rest.strip_prefix('"') {
                        let key = &r[..r.find('"').unwrap()];
                        if !content::ui::KEYS.iter().any(|(k, _)| *k == key) {
                            missing.push(format!("{}: {key}", p.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undeclared ui keys:\n{}",
        missing.join("\n")
    );
}

/// The resource directory's fast search table agrees with comparing every word, over the real
/// vocabulary and queries with typos, prefixes and non-ASCII letters.
#[test]
fn fast_resource_search_agrees_with_the_slow_way() {
    let cat = crate::helpers::catalog();
    let vocab = &cat.resource_words;
    assert!(vocab.len() > 500);
    for q in [
        "deprivaton",
        "depriv",
        "inequalites",
        "inequality",
        "healht",
        "data",
        "fingertips",
        "elearning",
        "learnin",
        "core20plus5",
        "coproduction",
        "café",
        "naïve",
        "physio",
        "occupational",
        "nhs",
        "a",
        "xyzzy",
        "marmot",
        "housing",
        "homelessnes",
        "traveler",
    ] {
        assert_eq!(vocab.scores(q), vocab.scores_naive(q), "{q}");
    }
}

#[test]
fn a_long_journal_is_paged_within_platform_limits_and_misses_nothing() {
    // Proves that /journal cuts a long journal into pages that each go as one Telegram message
    // and one Discord message, turned with "Next page", and that every reflection appears
    // exactly once, under its prompt, with its date.
    let cat = catalog();
    let mut st = UserState::new("t:journal");
    st.welcomed = true;
    let lens = cat.lens("lens-2").unwrap();
    let mut entries = Vec::new();
    for mode in ModeKind::ALL {
        for p in &lens.mode(mode).prompts {
            for k in 0..2 {
                let text = format!("Entry {}-{k} {}", p.id, "and some more words ".repeat(8));
                entries.push((p.text.clone(), text.clone()));
                st.reflections.push(engine::state::Reflection {
                    lens: lens.id.clone(),
                    mode: mode.as_str().into(),
                    prompt: p.id.clone(),
                    question: p.text.clone(),
                    text,
                    at: now(),
                });
            }
        }
    }
    let mut turn = engine::step(&cat, &st, Input::Text("/journal".into()), now());
    let mut pages = Vec::new();
    loop {
        let m = turn.messages.last().unwrap().clone();
        assert_eq!(lensbot::telegram::render::render(&m).len(), 1, "{m:?}");
        assert_eq!(lensbot::discord::render::render(&m).len(), 1, "{m:?}");
        pages.push(lensbot::render::plain(&m));
        let Some(next) = m.buttons.iter().find(|b| b.label == "Next page") else {
            break;
        };
        turn = engine::step(&cat, &turn.state, Input::Button(next.token.clone()), now());
        assert!(pages.len() < 50, "the pages end");
    }
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(pages[0].contains(&format!("Your journal (page 1 of {})", pages.len())));
    let all = pages.join("\n");
    for (question, text) in &entries {
        assert_eq!(all.matches(text.as_str()).count(), 1, "{text}");
        let q = all.find(question.as_str()).unwrap();
        let a = all.find(&format!("5 Jan 2026: {text}")).unwrap();
        assert!(a > q, "{text} comes under its prompt");
    }
    // Showing the journal moved nobody.
    assert_eq!(turn.state.at, st.at);
}

#[test]
fn someone_midway_through_a_lens_before_the_short_route_carries_on_the_whole_walk() {
    // Proves that a record written before routes were kept (a position in a lens, no route)
    // still loads, and that its owner carries on the whole lens they began: the next prompt
    // of the same part, not a jump to the next part's core prompt.
    let cat = catalog();
    let old = br#"{"v":1,"user":"t:old","created":"2026-01-01T09:00:00Z","updated":null,"welcomed":true,"at":{"kind":"lens","lens":"lens-1","stop":"awareness/aw-change-wanted"},"lens_at":{"lens-1":"awareness/aw-change-wanted"},"last_lens":"lens-1"}"#;
    let st = codec::decode("t:old", old).unwrap();
    let turn = engine::step(&cat, &st, Input::Text("/continue".into()), now());
    assert!(text(&turn.messages).contains("question 2 of 7"));
    let turn = engine::step(&cat, &turn.state, Input::Text("next".into()), now());
    let out = text(&turn.messages);
    assert!(out.contains("Lens 1, awareness: question 3 of 7"), "{out}");
    assert!(turn.state.routes["lens-1"].whole);
    // A new lens for them starts on the short route.
    let turn = engine::step(&cat, &turn.state, Input::Text("/lens 3".into()), now());
    assert!(text(&turn.messages).contains("Step 1 of 7"));
}
