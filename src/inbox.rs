//! The inbox: platform events kept in the store from the moment they arrive until their turn
//! has been saved.
//!
//! Telegram is told an update was received (the next `getUpdates` offset) only after the update
//! is in the inbox and flushed, so a crash at any point loses nothing: what was acknowledged is
//! in the inbox, what was not is served again by Telegram. A second copy of an event is
//! recognised exactly by the store's ledger of applied event ids (kept a week; Telegram keeps
//! unconfirmed updates a day), or, while the first copy still waits, by its own turn, which
//! comes after the first in the same queue. (Not by the highest update id seen: after a week
//! without updates Telegram numbers new ones afresh, possibly lower.) The inbox entry is
//! removed in the same atomic write that saves the turn (see [`crate::store::Write`]); the
//! source's high-water mark is kept for information only.
//!
//! Discord never sends an event again, so there the inbox keeps what a person wrote (a DM, an
//! answer box's text) from the gateway's own callback on, and the next start finishes turns a
//! stop or a crash left behind. Commands and button presses are not kept: Discord shows an
//! unanswered one as failed, and the person presses again.

use serde::{Deserialize, Serialize};

/// One event waiting for its turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// Where it came from (`telegram`).
    pub source: String,
    /// The platform's id, increasing within the source (Telegram's `update_id`).
    pub seq: u64,
    /// The event id the turn records (`tg:1234`).
    pub event: String,
    /// The queue it belongs to: the person (or group) whose events are handled in order.
    pub queue: String,
    /// The event as the platform sent it.
    pub payload: serde_json::Value,
}

impl InboxEntry {
    /// The store key: source, a zero byte, the sequence number big-endian (arrival order).
    pub fn key(&self) -> Vec<u8> {
        key(&self.source, self.seq)
    }
}

/// The store key of an inbox entry.
pub fn key(source: &str, seq: u64) -> Vec<u8> {
    let mut k = source.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}
