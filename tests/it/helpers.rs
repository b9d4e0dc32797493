//! Shared helpers: the real content, temporary copies of it, and readable failures.

use lensbot::content::{self, Catalog};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The repository's `dialogues/` folder.
pub fn dialogues() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues")
}

/// The real content, loaded once per test binary.
pub fn catalog() -> Arc<Catalog> {
    static CAT: OnceLock<Arc<Catalog>> = OnceLock::new();
    CAT.get_or_init(|| match content::load(&dialogues()) {
        Ok((c, _)) => Arc::new(c),
        Err(e) => panic!("the real content does not load:\n{e}"),
    })
    .clone()
}

/// A temporary copy of `dialogues/` to break or edit.
pub fn copy_dialogues() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    copy_dir(&dialogues(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Replaces the first `from` in a file with `to`; panics (naming the file) if absent. Returns
/// the 1-based line where the replacement starts.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) -> u64 {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{file} does not contain {from:?}"));
    let line = text[..at].matches('\n').count() as u64 + 1;
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    line
}

/// Plain text of a turn's messages.
pub fn text(ms: &[lensbot::engine::Message]) -> String {
    lensbot::render::plain_all_with_files(ms)
}
