//! The session's half of the outbox: the entries not yet delivered, in memory as one lane per
//! recipient (mirroring the store), handed to the sender one lane at a time so messages to one
//! recipient keep their order while different recipients never wait for each other.

use super::Session;
use crate::outbox::OutboxEntry;
use crate::store::StoreError;
use std::collections::{BTreeMap, HashSet};

/// The lanes: recipient → pending entries by id, and which lanes a sender is working on.
#[derive(Default)]
pub(super) struct Lanes {
    pending: BTreeMap<String, BTreeMap<u64, OutboxEntry>>,
    busy: HashSet<String>,
    /// Entries whose removal is being flushed, so a reload from the store meanwhile does not
    /// bring them back within this process.
    done: HashSet<u64>,
    /// Entries delivered since the last flush of the marks.
    unflushed: Vec<u64>,
    /// The store's outbox has been loaded (once per process: a second sender in the same
    /// process must not load entries the first has meanwhile delivered).
    loaded: bool,
}

/// A recipient's lane, claimed by one sender task until it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane(pub String);

impl Session {
    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        self.outgoing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds committed entries to their lanes and wakes the sender.
    pub(super) fn queue_outgoing(&self, entries: Vec<OutboxEntry>) {
        {
            let mut l = self.lanes();
            for e in entries {
                if !l.done.contains(&e.id) && !l.unflushed.contains(&e.id) {
                    l.pending.entry(e.to.clone()).or_default().insert(e.id, e);
                }
            }
        }
        self.outgoing_changed
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Loads what the store's outbox holds (after a restart: replies saved but not yet
    /// delivered) into the lanes, once per process.
    pub async fn reload_outbox(&self) -> Result<usize, StoreError> {
        // One reload at a time: a second sender waits here for the first one's reload, so no
        // sender delivers while the outbox is being read (an entry read and then delivered
        // would otherwise be queued again).
        let _one = self.reloading.lock().await;
        if self.lanes().loaded {
            return Ok(0);
        }
        let entries = self.store.outbox().await?;
        self.lanes().loaded = true;
        let n = entries.len();
        self.queue_outgoing(entries);
        Ok(n)
    }

    /// A receiver that sees a change each time the outbox gains an entry (none is missed:
    /// it is a counter, not a signal).
    pub fn watch_outbox(&self) -> tokio::sync::watch::Receiver<u64> {
        self.outgoing_changed.subscribe()
    }

    /// Claims every idle lane with entries whose recipient `accepts`.
    pub fn claim_lanes(&self, accepts: &dyn Fn(&str) -> bool) -> Vec<Lane> {
        let mut l = self.lanes();
        let ready: Vec<String> = l
            .pending
            .iter()
            .filter(|(to, q)| !q.is_empty() && !l.busy.contains(*to) && accepts(to))
            .map(|(to, _)| to.clone())
            .collect();
        for to in &ready {
            l.busy.insert(to.clone());
        }
        ready.into_iter().map(Lane).collect()
    }

    /// The lane's oldest entry, or `None` (and the lane released) when it is empty.
    pub fn lane_front(&self, lane: &Lane) -> Option<OutboxEntry> {
        let mut l = self.lanes();
        let front = l
            .pending
            .get(&lane.0)
            .and_then(|q| q.values().next().cloned());
        if front.is_none() {
            l.pending.remove(&lane.0);
            l.busy.remove(&lane.0);
        }
        front
    }

    /// Gives a lane back without finishing it (shutdown, a back-off the caller will not wait).
    pub fn release_lane(&self, lane: &Lane) {
        self.lanes().busy.remove(&lane.0);
    }

    /// How many entries are waiting, and since when the oldest (for health and logs).
    pub fn outbox_depth(&self) -> (usize, Option<jiff::Timestamp>) {
        let l = self.lanes();
        let n = l.pending.values().map(|q| q.len()).sum();
        let oldest = l
            .pending
            .values()
            .filter_map(|q| q.values().next().map(|e| e.created))
            .min();
        (n, oldest)
    }

    /// Records progress on an entry (messages sent, attempts), so a restart resumes after
    /// what the platform already took.
    pub async fn outbox_progress(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        if let Some(q) = self.lanes().pending.get_mut(&entry.to) {
            q.insert(entry.id, entry.clone());
        }
        let r = self.store.outbox_update(entry).await;
        self.noticed("recording a message's progress in the outbox", r)
    }

    /// An entry is delivered (or cannot be): it leaves the outbox. The removal is durable at
    /// the next flush: any turn's (group commit), or the sender's own within a fifth of a
    /// second ([`Session::flush_marks`]); a crash before then sends the entry again at the
    /// next start, the one repeat the README admits.
    pub async fn outbox_done(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        {
            let mut l = self.lanes();
            if let Some(q) = l.pending.get_mut(&entry.to) {
                q.remove(&entry.id);
            }
            l.unflushed.push(entry.id);
        }
        let r = self.store.outbox_remove(entry.id).await;
        self.noticed("removing a delivered message from the outbox", r)
    }

    /// Makes the removals of delivered entries durable, if any are waiting (the sender calls
    /// it a few times a second). Until then a reload from the store leaves them out.
    pub async fn flush_marks(&self) -> Result<(), StoreError> {
        let marks = std::mem::take(&mut self.lanes().unflushed);
        if marks.is_empty() {
            return Ok(());
        }
        {
            let mut l = self.lanes();
            l.done.extend(marks.iter().copied());
        }
        let result = self.commit().await;
        let mut l = self.lanes();
        for id in &marks {
            l.done.remove(id);
        }
        if result.is_err() {
            l.unflushed.extend(marks);
        }
        result
    }

    /// The platform refused an entry's recipient for good (blocked the bot, DMs closed, the
    /// bot removed from a group): the person is marked unreachable (reminders wait until they
    /// write again), a group's challenge ends, a member stops getting prompts.
    pub async fn undeliverable(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        if crate::challenge::is_group_key(&entry.to) {
            self.end_unreachable_challenge(&entry.to).await?;
            tracing::warn!("a challenge's group could not be reached; the challenge ended");
        } else if let Some(person) = &entry.person {
            self.mark_unreachable_as(person, entry.group.is_none())
                .await?;
            if let Some(group) = &entry.group {
                self.member_unreachable(group, person).await?;
            }
        }
        Ok(())
    }
}
