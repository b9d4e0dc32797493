//! Files drawn when they are sent: the bytes of an [`Attachment`], for the shells (Telegram,
//! Discord, the terminal) to upload or write.
//!
//! The engine describes a PDF or a PNG (an [`crate::engine::export::Doc`], a
//! [`crate::engine::export::Picture`]); [`bytes`] draws it here, a pure function of that
//! description: the same description always makes the same file, so a retried send sends the
//! same bytes. [`pdf`] lays the CPD record out on A4 pages with krilla (text kept as text, so it
//! can be searched and copied); [`picture`] draws the progress grid with tiny-skia and
//! ab_glyph. Both use the DejaVu Sans fonts embedded in the binary (`assets/fonts/`, with
//! their licence): no system font is read at run time.

pub mod pdf;
pub mod picture;

use crate::engine::{Attachment, FileBody};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// DejaVu Sans (regular), embedded: covers Latin, Greek, Cyrillic and typographic quotes.
pub static REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// DejaVu Sans Bold, embedded, for titles and headings.
pub static BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// Why a file could not be made (the shell then says so, or sends the message's text form).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An embedded font could not be read (a broken build).
    #[error("the embedded font could not be read")]
    Font,
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    /// The picture could not be drawn or encoded.
    #[error("the picture could not be drawn: {0}")]
    Picture(String),
    /// The blocking task drawing the file stopped (it panicked, or the runtime is closing).
    #[error("drawing the file stopped: {0}")]
    Stopped(String),
}

/// The file's bytes: text as UTF-8, a PDF or a PNG drawn from its description.
pub fn bytes(a: &Attachment) -> Result<Vec<u8>, FileError> {
    match &a.body {
        FileBody::Text { text } => Ok(text.as_bytes().to_vec()),
        FileBody::Pdf { doc } => pdf::render(doc),
        FileBody::Png { picture } => picture::render(picture),
    }
}

/// [`bytes`] on tokio's blocking threads, so drawing a long record never holds up the async
/// workers that carry other people's messages.
pub async fn bytes_off_thread(a: &Attachment) -> Result<Vec<u8>, FileError> {
    if let FileBody::Text { text } = &a.body {
        return Ok(text.as_bytes().to_vec());
    }
    let a = a.clone();
    tokio::task::spawn_blocking(move || bytes(&a))
        .await
        .unwrap_or_else(|e| Err(FileError::Stopped(e.to_string())))
}

/// One of the embedded fonts, for measuring text.
pub(crate) fn font(bold: bool) -> Result<FontRef<'static>, FileError> {
    FontRef::try_from_slice(if bold { BOLD } else { REGULAR }).map_err(|_| FileError::Font)
}

/// How wide `text` is at `size` (pixels or points: the same unit comes back), with kerning.
pub(crate) fn width(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    let f = font.as_scaled(PxScale::from(
        size * font.height_unscaled() / font.units_per_em().unwrap_or(1000.0),
    ));
    let mut w = 0.0;
    let mut last = None;
    for c in text.chars() {
        let g = f.glyph_id(c);
        if let Some(p) = last {
            w += f.kern(p, g);
        }
        w += f.h_advance(g);
        last = Some(g);
    }
    w
}

/// Breaks `text` into lines no wider than `max` at `size`: at spaces, and inside a word only
/// when the word alone is too wide. Line breaks in the text are kept.
pub(crate) fn wrap(font: &FontRef<'_>, size: f32, text: &str, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let tried = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width(font, size, &tried) <= max {
                line = tried;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word on its own line; split it if even that is too wide.
            for c in word.chars() {
                line.push(c);
                if width(font, size, &line) > max && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_fits_the_width() {
        let f = font(false).unwrap();
        let text = "Think of one patient you saw this week and what their bus fare costs them";
        let lines = wrap(&f, 12.0, text, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| width(&f, 12.0, l) <= 120.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
        let long = wrap(&f, 12.0, &"x".repeat(200), 50.0);
        assert!(long.len() > 3 && long.iter().all(|l| width(&f, 12.0, l) <= 50.0));
    }
}
