//! A [`Report`] as a lead reads it: a short private message (the 6 × 3 grid as a text table,
//! the counts, the trend by month), the grid as a picture (drawn like the progress picture),
//! and a CSV with one row per number for the operator. Every word comes from `ui.yaml`; a
//! hidden number is said the same way everywhere ("fewer than 5", "withheld").

use super::{Period, Report, Shown};
use crate::content::{Catalog, ModeKind};
use crate::engine::export::{Picture, PictureRow};
use crate::engine::state::CellStatus;
use crate::engine::{Attachment, FileBody, Message};

/// A number as words: the count, a rate, or why it is hidden.
pub fn shown(cat: &Catalog, s: Shown) -> String {
    match s {
        Shown::Count(n) => n.to_string(),
        Shown::Percent(n) => cat.tf("insights.rate", &[("n", &n.to_string())]),
        Shown::FewerThan5 => cat.t("insights.few").to_string(),
        Shown::Withheld => cat.t("insights.withheld").to_string(),
        Shown::None => cat.t("insights.rate_none").to_string(),
    }
}

/// "November 2026" for a month key (`2026-11`); the key itself if it cannot be read.
fn month_name(key: &str) -> String {
    jiff::civil::Date::strptime("%Y-%m-%d", format!("{key}-01"))
        .map(|d| d.strftime("%B %Y").to_string())
        .unwrap_or_else(|_| key.to_string())
}

/// The period in words: "this month (November 2026)", "the last 3 months (September 2026 to
/// November 2026)".
pub fn period_words(cat: &Catalog, r: &Report) -> String {
    let first = r.months.first().map(|m| month_name(m)).unwrap_or_default();
    let last = r.months.last().map(|m| month_name(m)).unwrap_or_default();
    match r.period {
        Period::ThisMonth => cat.tf("insights.period_this_month", &[("month", &last)]),
        p => cat.tf(
            "insights.period_months",
            &[
                ("n", &p.months().to_string()),
                ("from", &first),
                ("to", &last),
            ],
        ),
    }
}

/// The grid's rows as text, one per lens: "1 Myself: awareness 12 / 8 · action fewer than 5 /
/// 0 · advocacy 7 / 5" (started / finished).
fn grid_rows(cat: &Catalog, r: &Report) -> Vec<String> {
    cat.lenses
        .iter()
        .map(|l| {
            let cells: Vec<String> = ModeKind::ALL
                .iter()
                .map(|m| {
                    let cell = format!("{}/{}", l.id, m.as_str());
                    cat.tf(
                        "insights.grid_cell",
                        &[
                            (
                                "mode",
                                &cat.t(&format!("mode.{}", m.as_str())).to_lowercase(),
                            ),
                            ("started", &shown(cat, r.get("cell_started", &cell))),
                            ("done", &shown(cat, r.get("cell_done", &cell))),
                        ],
                    )
                })
                .collect();
            cat.tf(
                "insights.grid_row",
                &[
                    ("n", &l.number.to_string()),
                    ("lens", &l.name),
                    ("cells", &cells.join(" · ")),
                ],
            )
        })
        .collect()
}

/// The report as messages: the text, then the grid as a picture. Both private.
pub fn messages(cat: &Catalog, r: &Report) -> Vec<Message> {
    let s = |id: &str| shown(cat, r.get(id, ""));
    let types: Vec<String> = cat
        .meetings
        .iter()
        .map(|m| {
            cat.tf(
                "insights.prompt_type",
                &[
                    ("meeting", &m.name),
                    ("n", &shown(cat, r.get("meeting_prompts", &m.id))),
                ],
            )
        })
        .collect();
    let trend: Vec<String> = r
        .months
        .iter()
        .map(|m| {
            cat.tf(
                "insights.trend_row",
                &[
                    ("month", &month_name(m)),
                    ("active", &shown(cat, r.get("trend_active", m))),
                    ("reflections", &shown(cat, r.get("trend_reflections", m))),
                    (
                        "committed",
                        &shown(cat, r.get("trend_actions_committed", m)),
                    ),
                    ("done", &shown(cat, r.get("trend_actions_done", m))),
                ],
            )
        })
        .collect();
    let text = Message::private()
        .title(cat.tf("insights.title", &[("period", &period_words(cat, r))]))
        .para(cat.tf(
            "insights.active",
            &[
                ("month", &s("active_this_month")),
                ("period", &s("active_period")),
            ],
        ))
        .para(cat.t("insights.grid_intro"))
        .list(false, grid_rows(cat, r))
        .para(cat.tf(
            "insights.actions",
            &[
                ("reflections", &s("reflections")),
                ("committed", &s("actions_committed")),
                ("done", &s("actions_done")),
            ],
        ))
        .para(cat.tf(
            "insights.prompts",
            &[
                ("total", &s("meeting_prompts_total")),
                ("types", &types.join(", ")),
            ],
        ))
        .para(cat.tf(
            "insights.challenges",
            &[
                ("run", &s("challenges_run")),
                ("finished", &s("challenges_finished")),
                ("rate", &s("challenge_checkin_rate")),
            ],
        ))
        .para(cat.t("insights.trend_title"))
        .list(false, trend)
        .para(cat.t("insights.legend"));
    let mut picture = Message::private().para(cat.t("insights.picture_caption"));
    picture.file = Some(Box::new(self::picture(cat, r)));
    vec![text, picture]
}

/// The grid as a picture: the progress picture's layout, each cell showing "started /
/// finished" in place of a state word, tinted by whether anyone finished it.
pub fn picture(cat: &Catalog, r: &Report) -> Attachment {
    let modes: Vec<String> = ModeKind::ALL
        .iter()
        .map(|m| cat.t(&format!("mode.{}", m.as_str())).to_string())
        .collect();
    let short = |s: Shown| match s {
        Shown::FewerThan5 => cat.t("insights.few_short").to_string(),
        Shown::Withheld => cat.t("insights.withheld_short").to_string(),
        s => shown(cat, s),
    };
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for l in &cat.lenses {
        let mut cells = Vec::new();
        let mut words = Vec::new();
        for m in ModeKind::ALL {
            let cell = format!("{}/{}", l.id, m.as_str());
            let (started, done) = (r.get("cell_started", &cell), r.get("cell_done", &cell));
            let any = |s: Shown| !matches!(s, Shown::Count(0));
            cells.push(if any(done) {
                CellStatus::Done
            } else if any(started) {
                CellStatus::Started
            } else {
                CellStatus::NotStarted
            });
            words.push(format!("{} / {}", short(started), short(done)));
        }
        rows.push(PictureRow {
            label: format!("{} {}", l.number, l.name),
            cells,
        });
        figures.push(words);
    }
    let caption = cat.tf("insights.picture_alt", &[("period", &period_words(cat, r))]);
    Attachment {
        name: "insights.png".into(),
        mime: "image/png".into(),
        caption,
        body: FileBody::Png {
            picture: Picture {
                title: cat.t("insights.picture_title").to_string(),
                modes,
                rows,
                states: vec![
                    cat.t("insights.state_none").to_string(),
                    cat.t("insights.state_started").to_string(),
                    cat.t("insights.state_done").to_string(),
                ],
                counts: vec![
                    cat.t("insights.picture_key").to_string(),
                    cat.t("insights.picture_few").to_string(),
                ],
                figures,
            },
        },
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The report as CSV: a header, then one row per number (`figure,detail,value`), with the
/// suppression applied exactly as a lead sees it.
pub fn csv(cat: &Catalog, r: &Report) -> String {
    let mut out = String::from("community,period,figure,detail,value\n");
    for f in &r.figures {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            field(&r.community),
            r.period.id(),
            f.id,
            field(&f.detail),
            field(&shown(cat, f.shown))
        ));
    }
    out
}
