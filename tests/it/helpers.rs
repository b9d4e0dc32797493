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

/// A file uploaded with multipart/form-data.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The form field (`document`, `photo`).
    pub field: String,
    /// The file name given.
    pub name: String,
    /// Its content type.
    pub mime: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Reads a multipart/form-data body (the fakes' uploads): the text fields as a JSON object (a
/// value that is JSON, such as `reply_markup` or Discord's `payload_json`, parsed; an integer
/// `chat_id` as an integer), a file field set to its file name (an `InputFile` is a string in
/// the Bot API spec's terms), and the last file.
pub fn read_multipart(content_type: &str, bytes: &[u8]) -> (serde_json::Value, Option<Upload>) {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (serde_json::Value::Null, None);
    };
    let delim = format!("--{}", boundary.trim_matches('"'));
    let mut body = serde_json::Map::new();
    let mut file = None;
    let d = delim.as_bytes();
    let mut starts: Vec<usize> = Vec::new();
    let mut i = 0;
    while i + d.len() <= bytes.len() {
        if &bytes[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let part = &bytes[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let attr = |name: &str| {
            head.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        let Some(name) = attr("name") else { continue };
        if let Some(filename) = attr("filename") {
            let mime = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .unwrap_or("")
                .to_string();
            body.insert(name.clone(), serde_json::Value::String(filename.clone()));
            file = Some(Upload {
                field: name,
                name: filename,
                mime,
                bytes: content.to_vec(),
            });
        } else {
            let text = String::from_utf8_lossy(content).to_string();
            let value = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if v.is_object() || v.is_array() || v.is_i64() => v,
                _ => serde_json::Value::String(text),
            };
            body.insert(name, value);
        }
    }
    (serde_json::Value::Object(body), file)
}

/// Waits until `f` holds, at most `secs` seconds (looking every 50 ms); false when it never
/// did. For conditions no fake can await itself.
pub async fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    true
}
