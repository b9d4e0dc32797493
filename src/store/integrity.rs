//! How the sled store knows it came up whole: a small manifest beside it and a check at open.
//!
//! sled recovers its log as a prefix of the writes made; damage to its files can make it come
//! up with less than it had (or empty) without an error. So the store counts what it holds
//! (people, metadata, due entries) and numbers every write (the write sequence, kept in sled,
//! raised *before* the write it numbers, and a done mark raised *after* it). After each flush it records the sequence and the
//! counts of that moment in `DATA/manifest.json`, outside the sled directory, so a failure of
//! sled's files cannot take the manifest too. At open:
//!
//! - sled's done mark below the manifest's sequence: flushed writes are missing (a cut or
//!   damaged log), even a last write that only replaced a value;
//! - the same sequence: the counts must match exactly;
//! - a higher sequence (writes after the last manifest survived a crash): the counts may
//!   differ by at most the number of writes since;
//! - a manifest but an empty store, or a store holding people but no manifest: damage.
//!
//! Any of these is a [`Report::problems`] entry, and `lensbot serve` refuses to serve (unless
//! `--accept-damaged`). Single records that fail their checksum or whose key is missing are
//! listed in [`Report::unreadable`] and isolated: sweeps skip them.

use super::StoreError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the store holds, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// People's records.
    pub users: u64,
    /// Metadata entries (challenges, settings, tombstones).
    pub meta: u64,
    /// Entries of the due index.
    pub due: u64,
}

impl Counts {
    /// The total difference from another count.
    pub fn distance(&self, other: &Counts) -> u64 {
        self.users.abs_diff(other.users)
            + self.meta.abs_diff(other.meta)
            + self.due.abs_diff(other.due)
    }
}

/// The manifest file: the write sequence and the counts at the last flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest's own format.
    pub format: u32,
    /// Writes numbered so far, all durable.
    pub seq: u64,
    /// What the store held then.
    pub counts: Counts,
}

/// The manifest's path in a data directory.
pub fn path(data: &Path) -> PathBuf {
    data.join("manifest.json")
}

/// Reads the manifest, if there is one.
pub fn read(data: &Path) -> Result<Option<Manifest>, StoreError> {
    let p = path(data);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            StoreError::Io(format!(
                "the manifest {} is damaged ({}); `lensbot doctor` checks the store, and `lensbot serve --accept-damaged` writes a new manifest",
                p.display(),
                super::codec::json_error(&e)
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io(format!("cannot read {}: {e}", p.display()))),
    }
}

/// The manifest's size on disk: its JSON padded with spaces, so every write replaces the whole
/// of it in place.
const SIZE: usize = 256;

/// Writes the manifest in place (one write at offset 0 of a fixed-size file: a written file
/// is never left half old, half new by a killed process, and there is no rename on the reply's
/// path; BENCHMARKS.md measured a write-and-rename at 0.1 ms a flush). Not synced: like sled's
/// own flush it survives a killed process, and after a power cut a stale or torn manifest is
/// reported, not trusted.
pub fn write(data: &Path, m: &Manifest) -> Result<(), StoreError> {
    let p = path(data);
    let err = |e: std::io::Error| StoreError::Io(format!("cannot write {}: {e}", p.display()));
    let mut bytes = serde_json::to_vec(m).expect("a manifest always serialises");
    bytes.resize(SIZE.max(bytes.len()), b' ');
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(err)?;
    #[cfg(unix)]
    std::os::unix::fs::FileExt::write_all_at(&f, &bytes, 0).map_err(err)?;
    #[cfg(not(unix))]
    {
        use std::io::{Seek, Write};
        let mut f = &f;
        f.seek(std::io::SeekFrom::Start(0)).map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
    }
    if f.metadata().map_err(err)?.len() > bytes.len() as u64 {
        f.set_len(bytes.len() as u64).map_err(err)?;
    }
    Ok(())
}

/// How to restore a damaged store from its backups (the store key stays where it is).
pub fn how_to_restore(data: &Path) -> String {
    format!(
        "To restore it: stop lensbot, move {0}/sled aside (leave store.key and keys where they are), then `lensbot restore {0}/backups/<newest good backup>.jsonl --data {0}` (`lensbot doctor --data {0}` lists the backups and what each holds).",
        data.display()
    )
}

/// What the check at open found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// What the store holds now.
    pub counts: Counts,
    /// sled's write sequence now (raised before each write).
    pub seq: u64,
    /// The writes sled holds as made (raised after each write): below the manifest's
    /// sequence, a write that had been flushed is gone.
    pub done: u64,
    /// The manifest as found (before this open rewrote it).
    pub manifest: Option<Manifest>,
    /// Damage that means data is missing: the store must not be served as it is.
    pub problems: Vec<String>,
    /// Records that cannot be read (key and why, never content): isolated.
    pub unreadable: Vec<(String, String)>,
    /// The store was written by an older lensbot and rewritten with checksums at this open.
    pub upgraded: bool,
}

impl Report {
    /// Compares what the store holds with its manifest.
    pub fn compare(&mut self) {
        let Some(m) = self.manifest else {
            if self.counts.users > 0 && !self.upgraded {
                self.problems.push(format!(
                    "the store holds {} people but its manifest is missing, so what else is missing cannot be checked",
                    self.counts.users
                ));
            }
            return;
        };
        if self.done < m.seq {
            self.problems.push(format!(
                "the store has lost writes it had saved: it holds {} people, {} metadata entries and {} due entries, where its manifest recorded {}, {} and {} (write {} of {})",
                self.counts.users,
                self.counts.meta,
                self.counts.due,
                m.counts.users,
                m.counts.meta,
                m.counts.due,
                self.done,
                m.seq
            ));
        } else if self.counts.distance(&m.counts) > self.seq - m.seq {
            self.problems.push(format!(
                "the store holds {} people, {} metadata entries and {} due entries, where its manifest recorded {}, {} and {}: records are missing",
                self.counts.users,
                self.counts.meta,
                self.counts.due,
                m.counts.users,
                m.counts.meta,
                m.counts.due
            ));
        }
    }

    /// Whether data is missing.
    pub fn is_damaged(&self) -> bool {
        !self.problems.is_empty()
    }

    /// What to tell the operator when the store is refused.
    pub fn advice(&self, data: &Path) -> String {
        let mut s = format!("the store in {} is damaged:\n", data.display());
        for p in &self.problems {
            s.push_str(&format!("  - {p}\n"));
        }
        s.push_str(&how_to_restore(data));
        s.push_str("\nTo serve it as it is anyway, start with --accept-damaged (the manifest is then rewritten to what the store holds now).");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(seq: u64, users: u64, m: Option<(u64, u64)>) -> Report {
        let mut r = Report {
            counts: Counts {
                users,
                meta: 0,
                due: 0,
            },
            seq,
            done: seq,
            manifest: m.map(|(seq, users)| Manifest {
                format: 1,
                seq,
                counts: Counts {
                    users,
                    meta: 0,
                    due: 0,
                },
            }),
            ..Report::default()
        };
        r.compare();
        r
    }

    #[test]
    fn the_rules() {
        assert!(!report(10, 5, Some((10, 5))).is_damaged(), "as recorded");
        assert!(report(9, 5, Some((10, 5))).is_damaged(), "writes lost");
        assert!(report(10, 4, Some((10, 5))).is_damaged(), "a record lost");
        assert!(
            !report(12, 7, Some((10, 5))).is_damaged(),
            "two writes since"
        );
        assert!(
            report(12, 8, Some((10, 5))).is_damaged(),
            "more change than writes"
        );
        assert!(report(0, 0, Some((10, 5))).is_damaged(), "came up empty");
        assert!(report(3, 2, None).is_damaged(), "manifest gone");
        assert!(!report(0, 0, None).is_damaged(), "a new store");
    }
}
