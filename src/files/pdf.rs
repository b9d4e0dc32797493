//! The CPD record as a PDF: A4 pages, the title, headings by lens and mode, the person's words
//! set apart with a bar, dates, prompts and sources in small grey type, a page number at the
//! foot of each page. krilla writes it with the embedded DejaVu Sans, subset to the characters
//! used and with a map back to Unicode, so the text can be searched, copied and read back.

use super::{FileError, font, wrap};
use crate::engine::export::{Doc, DocBlock};
use ab_glyph::FontRef;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

/// A4 in points.
const PAGE: (f32, f32) = (595.28, 841.89);
/// The margin on every side.
const MARGIN: f32 = 56.0;
/// Extra room at the foot for the page number.
const FOOT: f32 = 24.0;

/// How a kind of block is set: font, size, colour, indent, space before.
struct Style {
    bold: bool,
    size: f32,
    grey: u8,
    indent: f32,
    before: f32,
}

fn style(b: &DocBlock) -> Style {
    let s = |bold, size, grey, indent, before| Style {
        bold,
        size,
        grey,
        indent,
        before,
    };
    match b {
        DocBlock::Heading(_) => s(true, 14.0, 0, 0.0, 16.0),
        DocBlock::Subheading(_) => s(true, 11.5, 40, 0.0, 10.0),
        DocBlock::Para(_) => s(false, 10.5, 0, 0.0, 6.0),
        DocBlock::Quote(_) => s(false, 10.5, 0, 14.0, 3.0),
        DocBlock::Small(_) => s(false, 8.5, 90, 0.0, 6.0),
        DocBlock::Bullet(_) => s(false, 10.5, 0, 14.0, 6.0),
    }
}

fn text_of(b: &DocBlock) -> &str {
    match b {
        DocBlock::Heading(t)
        | DocBlock::Subheading(t)
        | DocBlock::Para(t)
        | DocBlock::Quote(t)
        | DocBlock::Small(t)
        | DocBlock::Bullet(t) => t,
    }
}

fn fill(grey: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(grey, grey, grey).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// One line to draw on a page.
struct Line {
    text: String,
    bold: bool,
    size: f32,
    grey: u8,
    x: f32,
    /// Baseline.
    y: f32,
    /// A bar to the left (the person's words).
    bar: bool,
}

/// Lays the document out into pages of lines.
fn layout(doc: &Doc, regular: &FontRef<'_>, bold: &FontRef<'_>) -> Vec<Vec<Line>> {
    let width = PAGE.0 - 2.0 * MARGIN;
    let bottom = PAGE.1 - MARGIN - FOOT;
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = MARGIN;
    let title = DocBlock::Heading(doc.title.clone());
    let title_style = Style {
        size: 18.0,
        before: 0.0,
        ..style(&title)
    };
    let blocks =
        std::iter::once((title_style, &title)).chain(doc.blocks.iter().map(|b| (style(b), b)));
    for (st, b) in blocks {
        let f = if st.bold { bold } else { regular };
        let lead = st.size * 1.4;
        let mut lines = wrap(f, st.size, text_of(b), width - st.indent);
        if let DocBlock::Bullet(_) = b
            && let Some(first) = lines.first_mut()
        {
            *first = format!("• {first}");
        }
        // A heading is kept with the line after it.
        let keep = if matches!(b, DocBlock::Heading(_) | DocBlock::Subheading(_)) {
            lead * 2.5
        } else {
            lead
        };
        y += st.before;
        if y + keep > bottom {
            pages.push(Vec::new());
            y = MARGIN;
        }
        for text in lines.drain(..) {
            if y + lead > bottom {
                pages.push(Vec::new());
                y = MARGIN;
            }
            y += lead;
            if let Some(page) = pages.last_mut() {
                page.push(Line {
                    text,
                    bold: st.bold,
                    size: st.size,
                    grey: st.grey,
                    x: MARGIN + st.indent,
                    y: y - lead * 0.3,
                    bar: matches!(b, DocBlock::Quote(_)),
                });
            }
        }
    }
    pages
}

/// Draws the document as a PDF.
pub fn render(doc: &Doc) -> Result<Vec<u8>, FileError> {
    let (regular_m, bold_m) = (font(false)?, font(true)?);
    let regular = Font::new(super::REGULAR.into(), 0).ok_or(FileError::Font)?;
    let bold = Font::new(super::BOLD.into(), 0).ok_or(FileError::Font)?;
    let pages = layout(doc, &regular_m, &bold_m);
    let total = pages.len();
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .creator("lensbot".to_string())
            .language("en-GB".to_string()),
    );
    let settings =
        PageSettings::from_wh(PAGE.0, PAGE.1).ok_or(FileError::Pdf("page size".into()))?;
    for (i, lines) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for l in &lines {
            if l.bar {
                surface.set_fill(Some(fill(190)));
                let mut pb = PathBuilder::new();
                if let Some(r) = Rect::from_xywh(l.x - 10.0, l.y - l.size, 2.0, l.size * 1.4) {
                    pb.push_rect(r);
                }
                if let Some(p) = pb.finish() {
                    surface.draw_path(&p);
                }
            }
            surface.set_fill(Some(fill(l.grey)));
            let f = if l.bold {
                bold.clone()
            } else {
                regular.clone()
            };
            surface.draw_text(
                Point::from_xy(l.x, l.y),
                f,
                l.size,
                &l.text,
                false,
                TextDirection::Auto,
            );
        }
        surface.set_fill(Some(fill(120)));
        surface.draw_text(
            Point::from_xy(MARGIN, PAGE.1 - MARGIN + 8.0),
            regular.clone(),
            8.0,
            &format!("{} / {total}", i + 1),
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| FileError::Pdf(format!("{e:?}")))
}
