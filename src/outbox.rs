//! The outbox: every message the bot owes someone, kept in the store until the platform has
//! taken it.
//!
//! A turn writes its new state and its outgoing messages in one atomic write (see
//! [`crate::store::Write`]), so a crash can never leave a saved answer without its reply: the
//! reply is in the outbox and the [`crate::sender`] delivers it after the restart. Entries to
//! one recipient go in the order they were written (their `id`); different recipients never
//! wait for each other. Only this module's types live here; the store keeps them and the sender
//! drains them.

use crate::engine::Message;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One reply (or scheduled post) owed to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Commit order, unique in the store: entries to one recipient are sent in this order.
    pub id: u64,
    /// Where it goes, as a delivery key: `telegram:ID` (a private chat), `telegram:chat:ID`
    /// (a group), `discord:ID` (a DM), `discord:channel:ID`, `discord:hook:…` (an interaction's
    /// follow-up), `terminal:NAME`.
    pub to: String,
    /// The person it concerns (marked unreachable when the platform refuses them), if any.
    #[serde(default)]
    pub person: Option<String>,
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// How many of `messages` the platform has already taken (a retry starts after them).
    #[serde(default)]
    pub sent: usize,
    /// Failed attempts so far (for the back-off and the log).
    #[serde(default)]
    pub attempts: u32,
    /// When it was written.
    pub created: Timestamp,
    /// The event it answers, for the log and for replays.
    #[serde(default)]
    pub event: Option<String>,
    /// The group challenge it belongs to (a post or a member's prompt), so an unreachable
    /// recipient can be taken out of it.
    #[serde(default)]
    pub group: Option<String>,
}

impl OutboxEntry {
    /// The store key: the id, big-endian, so a scan returns entries in commit order.
    pub fn key(&self) -> [u8; 8] {
        self.id.to_be_bytes()
    }

    /// The platform that delivers it: the part of `to` before the first colon.
    pub fn platform(&self) -> &str {
        self.to.split(':').next().unwrap_or("")
    }
}

/// How long to wait before trying an entry again after `attempts` failures: 1 s, 2 s, 4 s … up
/// to a minute, so a platform outage is neither hammered nor waited out for long after it ends.
pub fn backoff(attempts: u32) -> std::time::Duration {
    let secs = 1u64 << attempts.saturating_sub(1).min(6);
    std::time::Duration::from_secs(secs.min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let s: Vec<u64> = (1..10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(s, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
