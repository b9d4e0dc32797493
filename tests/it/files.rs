//! Files (issue 14 items 3 and 4): the CPD record read back from its PDF and its Markdown, the
//! progress picture decoded, `/mydata` as a JSON file, and the terminal writing them.

use crate::helpers::{catalog, text};
use jiff::Timestamp;
use lensbot::content::ModeKind;
use lensbot::engine::state::{CellStatus, Commitment, Note, Reflection};
use lensbot::engine::{self, Attachment, FileBody, Input, Message, UserState};
use lensbot::files;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A person with three reflections in two lenses (one before September, one with curly quotes
/// and a dash), an action done, one dropped, and notes.
fn person() -> (UserState, Vec<(String, String, String, String)>) {
    let cat = catalog();
    let mut st = UserState::new("terminal:cpd");
    st.welcomed = true;
    st.profession = Some("physiotherapist".into());
    let mut expected = Vec::new();
    let picks = [
        (
            0,
            ModeKind::Awareness,
            0,
            "2026-08-20T10:00:00Z",
            "Early reflection about my own story and the bus routes",
        ),
        (
            1,
            ModeKind::Action,
            0,
            "2026-09-03T10:00:00Z",
            "She said \u{201c}the bus fare\u{2019}s gone up\u{201d} \u{2014} so I rang the hydrotherapy team",
        ),
        (
            1,
            ModeKind::Advocacy,
            0,
            "2026-09-10T10:00:00Z",
            "Raised interpreter bookings at the team huddle",
        ),
    ];
    for (li, mode, pi, when, words) in picks {
        let lens = &cat.lenses[li];
        let p = &lens.mode(mode).prompts[pi];
        st.reflections.push(Reflection {
            lens: lens.id.clone(),
            mode: mode.as_str().into(),
            prompt: p.id.clone(),
            question: p.text.clone(),
            text: words.into(),
            at: at(when),
        });
        expected.push((
            format!("Lens {}: {}", lens.number, lens.name),
            p.text.clone(),
            p.source.clone(),
            words.to_string(),
        ));
    }
    let lens2 = cat.lenses[1].id.clone();
    st.actions.push(Commitment {
        id: "a1".into(),
        lens: lens2.clone(),
        action: "own".into(),
        text: "Ask about transport at every first appointment".into(),
        size: "own".into(),
        committed: at("2026-09-04T09:00:00Z"),
        done: Some(at("2026-09-18T09:00:00Z")),
        dropped: None,
    });
    st.actions.push(Commitment {
        id: "a2".into(),
        lens: lens2.clone(),
        action: "own".into(),
        text: "Map the community transport schemes".into(),
        size: "own".into(),
        committed: at("2026-09-05T09:00:00Z"),
        done: None,
        dropped: Some(at("2026-09-20T09:00:00Z")),
    });
    st.notes.push(Note {
        text: "Note in lens two about the Tuesday clinic".into(),
        lens: Some(lens2),
        at: at("2026-09-06T09:00:00Z"),
        prep: None,
    });
    st.notes.push(Note {
        text: "A note with no lens".into(),
        lens: None,
        at: at("2026-09-07T09:00:00Z"),
        prep: None,
    });
    st.raise_cell(&cat.lenses[0].id, "awareness", CellStatus::Done);
    st.raise_cell(&cat.lenses[1].id, "action", CellStatus::Started);
    (st, expected)
}

fn files_of(ms: &[Message]) -> Vec<&Attachment> {
    ms.iter().filter_map(|m| m.file.as_deref()).collect()
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Where `needle` is in `hay`, whitespace ignored (a PDF's lines are wrapped), from `from` on.
fn find(hay: &str, needle: &str, from: usize) -> Option<usize> {
    hay[from..].find(&squeeze(needle)).map(|i| i + from)
}

/// `/export` sends a PDF whose text, read back, has every reflection under its own lens heading,
/// after the prompt that led to it and before that prompt's source; the actions with what
/// became of them and the notes; the framework's citation in the header. Curly quotes and a
/// dash survive. The Markdown file holds the same words.
#[test]
fn the_cpd_record_reads_back_with_each_reflection_its_lens_and_prompt() {
    let cat = catalog();
    let (st, expected) = person();
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/export".into()),
        at("2026-12-03T09:00:00Z"),
    );
    let fs = files_of(&turn.messages);
    assert_eq!(fs.len(), 2, "{}", text(&turn.messages));
    assert_eq!(fs[0].mime, "application/pdf");
    assert!(fs[0].name.ends_with(".pdf") && fs[1].name.ends_with(".md"));
    let pdf = files::bytes(fs[0]).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let read = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF reads back");
    let read = squeeze(&read);
    let md = match &fs[1].body {
        FileBody::Text { text } => squeeze(&text.replace('\\', "")),
        other => panic!("Markdown is text: {other:?}"),
    };
    for doc in [&read, &md] {
        assert!(
            find(
                doc,
                "The King's Fund (2021), My role in tackling health inequalities",
                0
            )
            .is_some(),
            "the citation"
        );
        for (lens, prompt, source, words) in &expected {
            let l = find(doc, lens, 0).unwrap_or_else(|| panic!("{lens} in {doc}"));
            let p = find(doc, prompt, l).unwrap_or_else(|| panic!("{prompt} after {lens}"));
            let w = find(doc, words, p).unwrap_or_else(|| panic!("{words} after its prompt"));
            let s = find(doc, &format!("Source: {source}"), w)
                .unwrap_or_else(|| panic!("the source after {words}"));
            // No other lens's heading comes between the heading and the words.
            let next = find(doc, "Lens", l + squeeze(lens).len()).unwrap_or(doc.len());
            assert!(w < next, "{words} under {lens}");
            assert!(s > w);
        }
        for bit in [
            "Ask about transport at every first appointment",
            "done on 18 September 2026",
            "dropped on 20 September 2026",
            "Note in lens two about the Tuesday clinic",
            "A note with no lens",
        ] {
            assert!(find(doc, bit, 0).is_some(), "{bit}");
        }
    }
    // Since a date: what came before is left out, and the period is said.
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/export since 2026-09-01".into()),
        at("2026-12-03T09:00:00Z"),
    );
    let fs = files_of(&turn.messages);
    let read = squeeze(&pdf_extract::extract_text_from_mem(&files::bytes(fs[0]).unwrap()).unwrap());
    assert!(find(&read, &expected[1].3, 0).is_some());
    assert!(find(&read, &expected[0].3, 0).is_none(), "August left out");
    assert!(find(&read, "since 1 September 2026", 0).is_some());
}

/// A date that cannot be read is answered plainly with an example, and a person with nothing
/// written is told so; neither sends a file.
#[test]
fn export_with_a_bad_date_or_nothing_written_says_why_and_sends_no_file() {
    let cat = catalog();
    let (st, _) = person();
    let now = at("2026-12-03T09:00:00Z");
    let bad = engine::step(
        &cat,
        &st,
        Input::Text("/export since yesterday-ish".into()),
        now,
    );
    assert!(files_of(&bad.messages).is_empty());
    assert!(
        text(&bad.messages).contains("/export since 2026-09-01"),
        "{}",
        text(&bad.messages)
    );
    let mut empty = UserState::new("terminal:empty");
    empty.welcomed = true;
    let none = engine::step(&cat, &empty, Input::Text("/export".into()), now);
    assert!(files_of(&none.messages).is_empty());
    assert!(text(&none.messages).contains("nothing to put in a record"));
}

/// Where a cell's shape is drawn, as the picture module lays it out.
fn pixel(p: &tiny_skia::Pixmap, x: f32, y: f32) -> (u8, u8, u8) {
    let c = p.pixel(x as u32, y as u32).unwrap();
    (c.red(), c.green(), c.blue())
}

/// The progress picture decodes as a PNG of the documented size; a done, a started and a
/// not-started cell differ in their tint, and in their shape (the right half of the mark is
/// filled only when done, the left half when started or done), so state never rests on
/// colour alone; the caption says the same in words.
#[test]
fn the_progress_picture_decodes_and_its_cells_differ_by_state() {
    let cat = catalog();
    let (st, _) = person();
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/progress".into()),
        at("2026-12-03T09:00:00Z"),
    );
    let f = files_of(&turn.messages)[0];
    assert!(f.is_picture() && f.mime == "image/png");
    assert!(
        f.caption
            .contains("Lens 1: awareness done, action not started"),
        "{}",
        f.caption
    );
    assert!(
        f.caption
            .contains("Lens 2: awareness not started, action started"),
        "{}",
        f.caption
    );
    assert!(f.caption.chars().count() <= 1024);
    // The terminal's text grid is still there.
    assert!(text(&turn.messages).contains("●"));
    let png = files::bytes(f).unwrap();
    let p = tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
    let (w, h) = engine::export::PICTURE_SIZE;
    assert_eq!((p.width(), p.height()), (w, h));
    let done = files::picture::mark_centre(0, 0);
    let started = files::picture::mark_centre(1, 1);
    let not_started = files::picture::mark_centre(1, 0);
    let dark = |c: (u8, u8, u8)| (c.0 as u32 + c.1 as u32 + c.2 as u32) < 450;
    // Right of centre: filled only when done.
    assert!(dark(pixel(&p, done.0 + 12.0, done.1 + 12.0)));
    assert!(!dark(pixel(&p, started.0 + 12.0, started.1 + 12.0)));
    assert!(!dark(pixel(&p, not_started.0 + 12.0, not_started.1 + 12.0)));
    // Left of centre: filled when started or done.
    assert!(dark(pixel(&p, started.0 - 12.0, started.1)));
    assert!(!dark(pixel(&p, not_started.0 - 12.0, not_started.1)));
    // Tints differ (a corner of each cell).
    let tint = |c: (f32, f32)| pixel(&p, c.0 - 80.0, c.1 - 30.0);
    assert_ne!(tint(done), tint(started));
    assert_ne!(tint(started), tint(not_started));
    assert_ne!(tint(done), tint(not_started));
}

/// `/mydata` sends everything held as a JSON file that parses back to the person's state, with
/// a message explaining its fields; the JSON is no longer pasted into the chat.
#[test]
fn mydata_is_a_json_file_with_its_fields_explained() {
    let cat = catalog();
    let (st, _) = person();
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/mydata".into()),
        at("2026-12-03T09:00:00Z"),
    );
    let fs = files_of(&turn.messages);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].mime, "application/json");
    let back: UserState = serde_json::from_slice(&files::bytes(fs[0]).unwrap()).unwrap();
    assert_eq!(back.reflections, st.reflections);
    let said = lensbot::render::plain_all(&turn.messages);
    assert!(said.contains("What the fields mean"), "{said}");
    assert!(
        !said.contains("Tuesday clinic"),
        "the JSON is a file, not pasted: {said}"
    );
}

/// The terminal writes `/export`'s files into the data directory's `files` folder and prints
/// their paths, and with `--png FILE` writes `/progress`'s picture there.
#[test]
fn the_terminal_writes_the_files_and_says_where() {
    use lensbot::session::Session;
    use lensbot::store::{MemoryStore, Store};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (mut st, _) = person();
    st.user = "terminal:cpd".into();
    lensbot::store::wait(store.put_user(&st)).unwrap();
    let session = Arc::new(Session::new(catalog(), store));
    let png = dir.path().join("grid.png");
    let files = lensbot::terminal::Files {
        dir: dir.path().join("files"),
        png: Some(png.clone()),
    };
    let input = std::io::Cursor::new("/export\n/progress\n");
    lensbot::terminal::run_with(session, "terminal:cpd", input, false, &files).unwrap();
    let written: Vec<_> = std::fs::read_dir(dir.path().join("files"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(written.iter().any(|n| n.ends_with(".pdf")), "{written:?}");
    assert!(written.iter().any(|n| n.ends_with(".md")), "{written:?}");
    let pic = std::fs::read(&png).unwrap();
    assert!(tiny_skia::Pixmap::decode_png(&pic).is_ok());
}

/// Files survive the outbox: a message with a PDF, a PNG or a text file goes through JSON
/// (as the store keeps it) and back unchanged, and draws the same bytes.
#[test]
fn files_survive_the_outbox_round_trip() {
    let cat = catalog();
    let (st, _) = person();
    let now = at("2026-12-03T09:00:00Z");
    for cmd in ["/export", "/progress", "/mydata"] {
        let turn = engine::step(&cat, &st, Input::Text(cmd.into()), now);
        for m in &turn.messages {
            let json = serde_json::to_string(m).unwrap();
            let back: Message =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{cmd}: {e}\n{json}"));
            assert_eq!(&back, m);
            if let Some(f) = &back.file {
                assert_eq!(
                    files::bytes(f).unwrap(),
                    files::bytes(m.file.as_ref().unwrap()).unwrap()
                );
            }
        }
    }
}

/// Merging a reply's messages for one chat (fewer sends) never folds a message with a file into
/// another, nor anything into it: the intro, the PDF and the Markdown of `/export` stay three.
#[test]
fn merging_keeps_every_file() {
    let cat = catalog();
    let (st, _) = person();
    let turn = engine::step(
        &cat,
        &st,
        Input::Text("/export".into()),
        at("2026-12-03T09:00:00Z"),
    );
    let mut ms = turn.messages.clone();
    ms.push(Message::private().para("after"));
    let merged = lensbot::render::merge(&ms);
    assert_eq!(files_of(&merged).len(), 2);
    assert_eq!(merged.len(), 4, "{merged:?}");
}
