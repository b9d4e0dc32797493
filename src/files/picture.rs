//! The progress picture as a PNG: the 6 × 3 grid (lenses × awareness, action, advocacy), each
//! cell's state told three ways, so it reads without colour: a shape (an empty ring for not
//! started, a half-filled ring for started, a filled disc with a tick for done), the word under
//! it, and a tint. The counts and a legend are underneath. 1080 × 1350 pixels, type no smaller
//! than 26 pixels: readable on a phone at its own width.
//!
//! tiny-skia fills the shapes; ab_glyph rasterises the text in the embedded DejaVu Sans.
//!
//! A community's insights use the same picture (`insights::render::picture`): each
//! cell then shows its counts ("12 / 8", started / finished) in place of the state's word.

use super::{FileError, font, width, wrap};
use crate::engine::export::{PICTURE_SIZE, Picture};
use crate::engine::state::CellStatus;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

/// Where the grid's columns start, and their width.
const LABEL_X: f32 = 56.0;
const GRID_X: f32 = 400.0;
const COL_W: f32 = 212.0;
/// Where the rows start, and their height.
const GRID_Y: f32 = 230.0;
const ROW_H: f32 = 140.0;

/// A colour as RGB.
type Rgb = (u8, u8, u8);

const INK: Rgb = (30, 30, 30);
const GREY: Rgb = (110, 110, 110);
/// Tint, ring and word colour for each state: not started, started, done.
const TINT: [Rgb; 3] = [(240, 240, 240), (255, 236, 190), (206, 236, 214)];
const MARK: [Rgb; 3] = [(120, 120, 120), (176, 110, 0), (20, 110, 50)];

fn paint(c: Rgb) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(c.0, c.1, c.2, 255));
    p.anti_alias = true;
    p
}

fn index(s: CellStatus) -> usize {
    match s {
        CellStatus::NotStarted => 0,
        CellStatus::Started => 1,
        CellStatus::Done => 2,
    }
}

/// Draws text with its left end at `x` and its baseline at `y`.
fn text(pm: &mut Pixmap, f: &FontRef<'_>, size: f32, x: f32, y: f32, s: &str, c: Rgb) {
    let scale = PxScale::from(size * f.height_unscaled() / f.units_per_em().unwrap_or(1000.0));
    let sf = f.as_scaled(scale);
    let (w, h) = (pm.width() as i32, pm.height() as i32);
    let data = pm.data_mut();
    let mut pen = x;
    let mut last = None;
    for ch in s.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = last {
            pen += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(pen, y));
        pen += sf.h_advance(id);
        last = Some(id);
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, cov| {
            let px = b.min.x as i32 + gx as i32;
            let py = b.min.y as i32 + gy as i32;
            if px < 0 || py < 0 || px >= w || py >= h {
                return;
            }
            let i = ((py * w + px) * 4) as usize;
            let a = cov.clamp(0.0, 1.0);
            for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
                let d = data[i + k] as f32;
                data[i + k] = (d * (1.0 - a) + v as f32 * a).round() as u8;
            }
        });
    }
}

/// Draws text centred on `cx`.
fn centred(pm: &mut Pixmap, f: &FontRef<'_>, size: f32, cx: f32, y: f32, s: &str, c: Rgb) {
    let w = width(f, size, s);
    text(pm, f, size, cx - w / 2.0, y, s, c);
}

/// The state's shape, centred on (`cx`, `cy`).
fn mark(pm: &mut Pixmap, s: CellStatus, cx: f32, cy: f32) {
    let r = 26.0;
    let c = MARK[index(s)];
    let ring = PathBuilder::from_circle(cx, cy, r);
    let stroke = Stroke {
        width: 5.0,
        ..Stroke::default()
    };
    match s {
        CellStatus::NotStarted => {
            if let Some(p) = ring {
                pm.stroke_path(&p, &paint(c), &stroke, Transform::identity(), None);
            }
        }
        CellStatus::Started => {
            // The left half filled: a half disc from two quarter-circle curves.
            let k = 0.552_284_8 * r;
            let mut pb = PathBuilder::new();
            pb.move_to(cx, cy - r);
            pb.cubic_to(cx - k, cy - r, cx - r, cy - k, cx - r, cy);
            pb.cubic_to(cx - r, cy + k, cx - k, cy + r, cx, cy + r);
            pb.close();
            if let Some(p) = pb.finish() {
                pm.fill_path(
                    &p,
                    &paint(c),
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
            }
            if let Some(p) = ring {
                pm.stroke_path(&p, &paint(c), &stroke, Transform::identity(), None);
            }
        }
        CellStatus::Done => {
            if let Some(p) = ring {
                pm.fill_path(
                    &p,
                    &paint(c),
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
            }
            let mut pb = PathBuilder::new();
            pb.move_to(cx - 12.0, cy + 1.0);
            pb.line_to(cx - 3.0, cy + 10.0);
            pb.line_to(cx + 13.0, cy - 9.0);
            if let Some(p) = pb.finish() {
                let tick = Stroke {
                    width: 6.0,
                    ..Stroke::default()
                };
                pm.stroke_path(
                    &p,
                    &paint((255, 255, 255)),
                    &tick,
                    Transform::identity(),
                    None,
                );
            }
        }
    }
}

fn rect(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, c: Rgb) {
    if let Some(r) = Rect::from_xywh(x, y, w, h) {
        pm.fill_rect(r, &paint(c), Transform::identity(), None);
    }
}

/// Where the shape of the cell in `row` (a lens, from 0) and `col` (a mode, from 0) is centred,
/// in pixels: for tests that look at the picture, and anyone placing things over it.
pub fn mark_centre(row: usize, col: usize) -> (f32, f32) {
    (
        GRID_X + COL_W * (col as f32 + 0.5),
        GRID_Y + ROW_H * row as f32 + 52.0,
    )
}

/// Draws the picture as a PNG.
pub fn render(p: &Picture) -> Result<Vec<u8>, FileError> {
    let (w, h) = PICTURE_SIZE;
    let mut pm =
        Pixmap::new(w, h).ok_or_else(|| FileError::Picture("no room for the picture".into()))?;
    pm.fill(Color::WHITE);
    let (regular, bold) = (font(false)?, font(true)?);
    text(&mut pm, &bold, 52.0, LABEL_X, 110.0, &p.title, INK);
    for (i, m) in p.modes.iter().enumerate() {
        let cx = GRID_X + COL_W * (i as f32 + 0.5);
        centred(&mut pm, &bold, 30.0, cx, GRID_Y - 24.0, m, INK);
    }
    for (r, row) in p.rows.iter().enumerate() {
        let top = GRID_Y + ROW_H * r as f32;
        if r % 2 == 0 {
            rect(
                &mut pm,
                LABEL_X - 16.0,
                top,
                w as f32 - 2.0 * (LABEL_X - 16.0),
                ROW_H,
                (250, 250, 250),
            );
        }
        let lines = wrap(&bold, 30.0, &row.label, GRID_X - LABEL_X - 20.0);
        let lines = &lines[..lines.len().min(3)];
        let lead = 38.0;
        let first = top + ROW_H / 2.0 - lead * (lines.len() as f32 - 1.0) / 2.0 + 11.0;
        for (k, l) in lines.iter().enumerate() {
            text(
                &mut pm,
                &bold,
                30.0,
                LABEL_X,
                first + lead * k as f32,
                l,
                INK,
            );
        }
        for (i, s) in row.cells.iter().enumerate() {
            let x = GRID_X + COL_W * i as f32;
            rect(
                &mut pm,
                x + 8.0,
                top + 8.0,
                COL_W - 16.0,
                ROW_H - 16.0,
                TINT[index(*s)],
            );
            let (cx, cy) = mark_centre(r, i);
            mark(&mut pm, *s, cx, cy);
            // A community's counts stand in for the state's word when the picture has them.
            let word = p
                .figures
                .get(r)
                .and_then(|row| row.get(i))
                .or_else(|| p.states.get(index(*s)))
                .map(String::as_str)
                .unwrap_or("");
            centred(
                &mut pm,
                &regular,
                26.0,
                cx,
                top + 112.0,
                word,
                MARK[index(*s)],
            );
        }
    }
    let mut y = GRID_Y + ROW_H * p.rows.len() as f32 + 56.0;
    for line in &p.counts {
        text(&mut pm, &regular, 34.0, LABEL_X, y, line, INK);
        y += 44.0;
    }
    // The legend: each shape with its word.
    let mut x = LABEL_X + 26.0;
    let ly = (h as f32 - 60.0).max(y);
    for (i, s) in [
        CellStatus::NotStarted,
        CellStatus::Started,
        CellStatus::Done,
    ]
    .into_iter()
    .enumerate()
    {
        mark(&mut pm, s, x, ly - 10.0);
        let word = p.states.get(i).map(String::as_str).unwrap_or("");
        text(&mut pm, &regular, 28.0, x + 40.0, ly, word, GREY);
        x += 40.0 + width(&regular, 28.0, word) + 70.0;
    }
    pm.encode_png()
        .map_err(|e| FileError::Picture(e.to_string()))
}
