//! The person's own things as files: the CPD record (`/export`, a PDF and the same as
//! Markdown), everything held (`/mydata`, a JSON file) and the progress picture (`/progress`,
//! a PNG of the 6 × 3 grid).
//!
//! Pure like the rest of the engine: this builds what the files say ([`Doc`], [`Picture`]) from
//! the state and the content, and writes the Markdown and the JSON whole. The PDF and the PNG
//! are drawn from a [`Doc`] or a [`Picture`] by the shell when they are sent
//! ([`crate::files`]), so a turn stays quick and the outbox holds the description, a few
//! kilobytes, rather than the file.

use super::output::{Attachment, FileBody, Message};
use super::state::{CellStatus, Reflection, UserState};
use super::{Ctx, zones};
use crate::content::{Catalog, ModeKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A document: a title and blocks, drawn as a PDF and written as Markdown from the same
/// blocks, so the two always hold the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// The title (the PDF's metadata title too).
    pub title: String,
    /// The blocks, in order.
    pub blocks: Vec<DocBlock>,
}

/// One block of a [`Doc`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum DocBlock {
    /// A section heading (a lens).
    Heading(String),
    /// A sub-heading (a mode, actions, notes).
    Subheading(String),
    /// A paragraph.
    Para(String),
    /// The person's own words (a reflection, a note), set apart.
    Quote(String),
    /// A line in small type (a date and prompt, a source).
    Small(String),
    /// A bulleted line (an action).
    Bullet(String),
}

impl Doc {
    /// The document as Markdown: `#` title, `##` headings, `###` sub-headings, `>` for the
    /// person's words, `*…*` for small lines, `-` for bullets. Text is escaped so a `#` or a
    /// `*` someone wrote stays text.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", md_escape(&self.title));
        for b in &self.blocks {
            out.push('\n');
            match b {
                DocBlock::Heading(t) => out.push_str(&format!("## {}\n", md_escape(t))),
                DocBlock::Subheading(t) => out.push_str(&format!("### {}\n", md_escape(t))),
                DocBlock::Para(t) => out.push_str(&format!("{}\n", md_escape(t))),
                DocBlock::Quote(t) => {
                    for line in t.lines() {
                        out.push_str(&format!("> {}\n", md_escape(line)));
                    }
                }
                DocBlock::Small(t) => out.push_str(&format!("*{}*\n", md_escape(t))),
                DocBlock::Bullet(t) => out.push_str(&format!("- {}\n", md_escape(t))),
            }
        }
        out
    }
}

/// Escapes the characters Markdown would read as markup.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '<' | '>' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The progress picture: the 6 × 3 grid with its labels, the counts and the legend, every
/// word already in the person's language, so drawing it needs nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    /// The heading.
    pub title: String,
    /// The three mode names, column heads.
    pub modes: Vec<String>,
    /// One row per lens.
    pub rows: Vec<PictureRow>,
    /// The words for not started, started and done, in that order (in each cell and the
    /// legend).
    pub states: Vec<String>,
    /// Lines of counts under the grid (reflections, actions, a challenge streak).
    pub counts: Vec<String>,
    /// Words shown in each cell in place of its state's word, row by row (a community's
    /// "started / finished" counts, `insights::render::picture`); empty for a
    /// person's own progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Vec<String>>,
}

/// One lens's row of the picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureRow {
    /// "1 Myself as an individual".
    pub label: String,
    /// Awareness, action, advocacy.
    pub cells: Vec<CellStatus>,
}

/// The picture's width and height in pixels: portrait, a phone screen's width.
pub const PICTURE_SIZE: (u32, u32) = (1080, 1350);

/// The person's time zone (their own, else the content's default).
fn tz(cat: &Catalog, st: &UserState) -> jiff::tz::TimeZone {
    let name = st
        .timezone
        .clone()
        .unwrap_or_else(|| cat.defaults.timezone.clone());
    zones::of(Some(&name))
}

/// A date as people write it: "3 September 2026".
fn day(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%-d %B %Y").to_string()
}

/// The source of the prompt a reflection answered: the prompt's own, else its mode's (a
/// meeting line, or a prompt since removed from the content), else the lens's.
pub fn prompt_source(cat: &Catalog, r: &Reflection) -> String {
    let Some(lens) = cat.lens(&r.lens) else {
        return String::new();
    };
    let Some(kind) = ModeKind::parse(&r.mode) else {
        return lens.source.clone();
    };
    let mode = lens.mode(kind);
    mode.prompts
        .iter()
        .chain(mode.meeting_lines.iter())
        .find(|p| p.id == r.prompt)
        .map(|p| p.source.clone())
        .unwrap_or_else(|| mode.source.clone())
}

/// Reads `/export`'s arguments: nothing (everything), or `since 2026-09-01` (or just the
/// date). `Err` holds what could not be read.
pub fn since(args: &str) -> Result<Option<jiff::civil::Date>, String> {
    let a = args.trim();
    let a = a
        .strip_prefix("since")
        .or_else(|| a.strip_prefix("Since"))
        .unwrap_or(a)
        .trim();
    if a.is_empty() {
        return Ok(None);
    }
    a.parse::<jiff::civil::Date>()
        .map(Some)
        .map_err(|_| a.to_string())
}

/// The CPD record of everything written from `from` on (all of it when `None`): a header
/// explaining the framework with its citation, then by lens and mode each reflection under
/// the prompt that led to it with the prompt's source, the lens's actions and what became of
/// them, and notes.
pub fn cpd_record(ctx: &Ctx<'_>, from: Option<Timestamp>, period: &str) -> Doc {
    let cat = ctx.cat;
    let st = &ctx.st;
    let zone = tz(cat, st);
    let keep = |t: Timestamp| from.is_none_or(|f| t >= f);
    let mut b = vec![
        DocBlock::Para(ctx.tf(
            "export.doc_prepared",
            &[
                ("date", &day(ctx.now, &zone)),
                ("profession", &ctx.profession_name()),
                ("period", period),
            ],
        )),
        DocBlock::Subheading(ctx.t("export.doc_about_title")),
        DocBlock::Para(ctx.t("export.doc_about")),
        DocBlock::Small(ctx.t("export.doc_citation")),
    ];
    for lens in &cat.lenses {
        let mut section = Vec::new();
        for kind in ModeKind::ALL {
            let mut rs: Vec<&Reflection> = st
                .reflections
                .iter()
                .filter(|r| r.lens == lens.id && r.mode == kind.as_str() && keep(r.at))
                .collect();
            rs.sort_by_key(|r| r.at);
            if rs.is_empty() {
                continue;
            }
            let mode = ctx.t(&format!("mode.{}", kind.as_str()));
            let mut cs = mode.chars();
            let mode: String = cs
                .next()
                .map(|c| c.to_uppercase().chain(cs).collect())
                .unwrap_or_default();
            section.push(DocBlock::Subheading(
                ctx.tf("export.doc_mode", &[("mode", &mode)]),
            ));
            for r in rs {
                section.push(DocBlock::Small(ctx.tf(
                    "export.doc_prompt",
                    &[("date", &day(r.at, &zone)), ("prompt", &r.question)],
                )));
                section.push(DocBlock::Quote(r.text.clone()));
                let source = prompt_source(cat, r);
                if !source.is_empty() {
                    section.push(DocBlock::Small(
                        ctx.tf("export.doc_source", &[("source", &source)]),
                    ));
                }
            }
        }
        let actions: Vec<_> = st
            .actions
            .iter()
            .filter(|a| a.lens == lens.id && keep(a.committed))
            .collect();
        if !actions.is_empty() {
            section.push(DocBlock::Subheading(ctx.t("export.doc_actions")));
            for a in actions {
                section.push(DocBlock::Bullet(a.text.clone()));
                let committed = day(a.committed, &zone);
                let what = match (a.done, a.dropped) {
                    (Some(d), _) => ctx.tf(
                        "export.action_done",
                        &[("date", &committed), ("done", &day(d, &zone))],
                    ),
                    (None, Some(d)) => ctx.tf(
                        "export.action_dropped",
                        &[("date", &committed), ("dropped", &day(d, &zone))],
                    ),
                    (None, None) => ctx.tf("export.action_open", &[("date", &committed)]),
                };
                section.push(DocBlock::Small(what));
            }
        }
        let notes: Vec<_> = st
            .notes
            .iter()
            .filter(|n| n.lens.as_deref() == Some(lens.id.as_str()) && keep(n.at))
            .collect();
        if !notes.is_empty() {
            section.push(DocBlock::Subheading(ctx.t("export.doc_notes")));
            for n in notes {
                section.push(DocBlock::Small(day(n.at, &zone)));
                section.push(DocBlock::Quote(n.text.clone()));
            }
        }
        if !section.is_empty() {
            b.push(DocBlock::Heading(ctx.tf(
                "export.doc_lens",
                &[("n", &lens.number.to_string()), ("name", &lens.name)],
            )));
            b.append(&mut section);
        }
    }
    let other: Vec<_> = st
        .notes
        .iter()
        .filter(|n| n.lens.as_deref().is_none_or(|l| cat.lens(l).is_none()) && keep(n.at))
        .collect();
    if !other.is_empty() {
        b.push(DocBlock::Heading(ctx.t("export.doc_other_notes")));
        for n in other {
            b.push(DocBlock::Small(day(n.at, &zone)));
            b.push(DocBlock::Quote(n.text.clone()));
        }
    }
    Doc {
        title: ctx.t("export.doc_title"),
        blocks: b,
    }
}

/// `/export [since DATE]`: the CPD record as a PDF and as Markdown, two messages with a file
/// each, after a line saying what they hold.
pub fn export(ctx: &mut Ctx<'_>, args: &str) {
    let date = match since(args) {
        Ok(d) => d,
        Err(bad) => {
            let shown = super::text::shorten(&bad, 30);
            let msg = ctx.tf("export.bad_date", &[("input", &shown)]);
            return ctx.say_text(msg);
        }
    };
    let zone = tz(ctx.cat, &ctx.st);
    let from = date.and_then(|d| d.to_zoned(zone.clone()).ok().map(|z| z.timestamp()));
    let period = match (date, from) {
        (Some(_), Some(f)) => ctx.tf("export.period_since", &[("date", &day(f, &zone))]),
        _ => ctx.t("export.period_all"),
    };
    let keep = |t: Timestamp| from.is_none_or(|f| t >= f);
    let reflections = ctx.st.reflections.iter().filter(|r| keep(r.at)).count();
    let actions = ctx.st.actions.iter().filter(|a| keep(a.committed)).count();
    let notes = ctx.st.notes.iter().filter(|n| keep(n.at)).count();
    if reflections + actions + notes == 0 {
        let msg = ctx.tf("export.empty", &[("period", &period)]);
        return ctx.say_text(msg);
    }
    let doc = cpd_record(ctx, from, &period);
    let stamp = ctx.now.to_zoned(zone).strftime("%Y-%m-%d").to_string();
    let md = doc.markdown();
    let intro = Message::private().title(ctx.t("export.title")).para(ctx.tf(
        "export.intro",
        &[
            ("reflections", &reflections.to_string()),
            ("actions", &actions.to_string()),
            ("notes", &notes.to_string()),
            ("period", &period),
        ],
    ));
    ctx.say(intro);
    let pdf = Message::private().file(Attachment {
        name: format!("cpd-record-{stamp}.pdf"),
        mime: "application/pdf".into(),
        caption: ctx.tf("export.caption_pdf", &[("period", &period)]),
        body: FileBody::Pdf { doc },
    });
    ctx.say(pdf);
    let markdown = Message::private().file(Attachment {
        name: format!("cpd-record-{stamp}.md"),
        mime: "text/markdown".into(),
        caption: ctx.tf("export.caption_md", &[("period", &period)]),
        body: FileBody::Text { text: md },
    });
    ctx.say(markdown);
}

/// `/mydata`'s file: everything held, as pretty JSON.
pub fn mydata_file(ctx: &Ctx<'_>) -> Attachment {
    let json =
        serde_json::to_string_pretty(&ctx.st).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let stamp = ctx
        .now
        .to_zoned(tz(ctx.cat, &ctx.st))
        .strftime("%Y-%m-%d")
        .to_string();
    Attachment {
        name: format!("lensbot-my-data-{stamp}.json"),
        mime: "application/json".into(),
        caption: ctx.t("mydata_caption"),
        body: FileBody::Text { text: json },
    }
}

/// The progress picture and its caption in words (the same as the picture says).
pub fn progress_picture(ctx: &Ctx<'_>) -> Attachment {
    let states = [
        ctx.t("progress.state_not_started"),
        ctx.t("progress.state_started"),
        ctx.t("progress.state_done"),
    ];
    let word = |s: CellStatus| match s {
        CellStatus::NotStarted => states[0].clone(),
        CellStatus::Started => states[1].clone(),
        CellStatus::Done => states[2].clone(),
    };
    let modes: Vec<String> = ModeKind::ALL
        .iter()
        .map(|m| ctx.t(&format!("mode.{}", m.as_str())))
        .collect();
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut done = 0;
    for l in &ctx.cat.lenses {
        let cells: Vec<CellStatus> = ModeKind::ALL
            .iter()
            .map(|m| ctx.st.cell(&l.id, m.as_str()))
            .collect();
        done += cells.iter().filter(|c| **c == CellStatus::Done).count();
        let said: Vec<String> = modes
            .iter()
            .zip(&cells)
            .map(|(m, c)| format!("{m} {}", word(*c)))
            .collect();
        lines.push(ctx.tf(
            "progress.caption_lens",
            &[("n", &l.number.to_string()), ("cells", &said.join(", "))],
        ));
        rows.push(PictureRow {
            label: format!("{} {}", l.number, l.name),
            cells,
        });
    }
    let committed = ctx.st.actions.len().to_string();
    let actions_done = ctx
        .st
        .actions
        .iter()
        .filter(|a| a.done.is_some())
        .count()
        .to_string();
    let counts = vec![
        ctx.tf(
            "progress.count_reflections",
            &[("n", &ctx.st.reflections.len().to_string())],
        ),
        ctx.tf(
            "progress.count_actions",
            &[("committed", &committed), ("done", &actions_done)],
        ),
    ];
    let mut caption = lines;
    caption.push(ctx.tf(
        "progress_counts",
        &[
            ("cells", &done.to_string()),
            ("reflections", &ctx.st.reflections.len().to_string()),
            ("actions", &committed),
            ("done", &actions_done),
            ("notes", &ctx.st.notes.len().to_string()),
        ],
    ));
    let mut counts = counts;
    counts.push(ctx.tf(
        "progress.count_notes",
        &[("n", &ctx.st.notes.len().to_string())],
    ));
    Attachment {
        name: "progress.png".into(),
        mime: "image/png".into(),
        caption: caption.join("\n"),
        body: FileBody::Png {
            picture: Picture {
                title: ctx.t("progress_title"),
                modes,
                rows,
                states: states.to_vec(),
                counts,
                figures: Vec::new(),
            },
        },
    }
}

/// Adds a challenge streak to a progress picture and its caption (the session knows the
/// streak; the engine does not see challenge records). Does nothing to other messages.
pub fn add_streak(m: &mut Message, line: &str) {
    if let Some(f) = m.file.as_mut()
        && let FileBody::Png { picture } = &mut f.body
    {
        picture.counts.push(line.to_string());
        f.caption.push('\n');
        f.caption.push_str(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_what_people_write() {
        let d = Doc {
            title: "T".into(),
            blocks: vec![DocBlock::Quote("# not a heading *or* [link]".into())],
        };
        let md = d.markdown();
        assert!(
            md.contains("> \\# not a heading \\*or\\* \\[link\\]"),
            "{md}"
        );
    }

    #[test]
    fn since_reads_a_date_or_nothing() {
        assert_eq!(since(""), Ok(None));
        assert_eq!(
            since("since 2026-09-01"),
            Ok(Some(jiff::civil::date(2026, 9, 1)))
        );
        assert_eq!(since("2026-09-01"), Ok(Some(jiff::civil::date(2026, 9, 1))));
        assert_eq!(since("since last week"), Err("last week".into()));
        assert_eq!(since("2026-13-01"), Err("2026-13-01".into()));
    }
}
