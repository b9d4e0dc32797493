//! The session's half of the outbox: the entries not yet delivered, in memory as one lane per
//! recipient (mirroring the store), handed to the sender one lane at a time so messages to one
//! recipient keep their order while different recipients never wait for each other.
//!
//! Over a store several processes share (PostgreSQL) one elected process sends for each
//! platform (so the platform's limits, which are per bot, are kept in one place): a process
//! keeps lanes only for the recipients a sender of its own accepts
//! ([`Session::start_sending`]), leaves the rest in the store, and the sending process reads
//! the store's outbox again ([`Session::reload_outbox`]) when told that another process wrote
//! to it, and every few seconds besides. What it delivered lately is remembered for a minute,
//! so a read that raced a delivery does not queue the delivered entry again.

use super::Session;
use crate::outbox::OutboxEntry;
use crate::store::StoreError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which recipients a running sender takes (its [`crate::sender::Deliver::accepts`]).
pub type Accepts = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A filter on recipients passed by reference (a one-off delivery pass).
pub type Filter<'a> = dyn Fn(&str) -> bool + Send + Sync + 'a;

/// How long a delivered entry is remembered in a process whose store others share: longer
/// than any read of the outbox takes.
const RECENT: Duration = Duration::from_secs(60);

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
    /// The store's outbox has been loaded (once per process over a store it owns: a second
    /// sender in the same process must not load entries the first has meanwhile delivered).
    loaded: bool,
    /// The senders running in this process, by ticket ([`Session::start_sending`]).
    senders: Vec<(u64, Accepts)>,
    /// The last ticket given.
    tickets: u64,
    /// Entries delivered lately, and when (kept only when other processes share the store).
    recent: HashMap<u64, Instant>,
}

/// A recipient's lane, claimed by one sender task until it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane(pub String);

impl Session {
    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        self.outgoing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds committed entries to their lanes and wakes the sender. Over a shared store, only
    /// entries a sender of this process accepts: the rest wait in the store for the process
    /// that sends them.
    pub(super) fn queue_outgoing(&self, entries: Vec<OutboxEntry>) {
        self.queue_where(entries, None)
    }

    /// [`Session::queue_outgoing`], also taking (over a shared store) what `also` accepts.
    fn queue_where(&self, entries: Vec<OutboxEntry>, also: Option<&Filter<'_>>) {
        let shared = self.store.shared();
        {
            let mut l = self.lanes();
            for e in entries {
                if l.done.contains(&e.id)
                    || l.unflushed.contains(&e.id)
                    || l.recent.contains_key(&e.id)
                {
                    continue;
                }
                if shared
                    && !l.senders.iter().any(|(_, accepts)| accepts(&e.to))
                    && !also.is_some_and(|f| f(&e.to))
                {
                    continue;
                }
                // An entry already in its lane keeps the progress recorded on it there.
                l.pending
                    .entry(e.to.clone())
                    .or_default()
                    .entry(e.id)
                    .or_insert(e);
            }
        }
        self.outgoing_changed
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Loads what the store's outbox holds (after a restart: replies saved but not yet
    /// delivered) into the lanes: once per process over a store it owns; over a shared one,
    /// each time it is asked (what other processes wrote), leaving out what this process
    /// delivered lately.
    pub async fn reload_outbox(&self) -> Result<usize, StoreError> {
        self.reload_where(None).await
    }

    /// [`Session::reload_outbox`] for a sender that is not registered (one delivery pass in
    /// this task, [`crate::sender::deliver_once`]): over a shared store, also what `accepts`
    /// takes.
    pub async fn reload_outbox_for(&self, accepts: &Filter<'_>) -> Result<usize, StoreError> {
        self.reload_where(Some(accepts)).await
    }

    async fn reload_where(&self, also: Option<&Filter<'_>>) -> Result<usize, StoreError> {
        // One reload at a time: a second sender waits here for the first one's reload, so no
        // sender delivers while the outbox is being read (an entry read and then delivered
        // would otherwise be queued again). Over a shared store the lanes keep delivering
        // meanwhile; what they deliver is in `recent`, which the queueing below leaves out.
        let _one = self.reloading.lock().await;
        let shared = self.store.shared();
        if self.lanes().loaded && !shared {
            return Ok(0);
        }
        let entries = self.store.outbox().await?;
        let n = {
            let mut l = self.lanes();
            l.loaded = true;
            l.recent.retain(|_, at| at.elapsed() < RECENT);
            entries
                .iter()
                .filter(|e| {
                    !l.recent.contains_key(&e.id)
                        && !l.pending.get(&e.to).is_some_and(|q| q.contains_key(&e.id))
                })
                .count()
        };
        self.queue_where(entries, also);
        Ok(n)
    }

    /// Registers a sender for the recipients `accepts` takes (see the module doc); the ticket
    /// goes back to [`Session::stop_sending`] when it stops.
    pub fn start_sending(&self, accepts: Accepts) -> u64 {
        let mut l = self.lanes();
        l.tickets += 1;
        let ticket = l.tickets;
        l.senders.push((ticket, accepts));
        ticket
    }

    /// A sender stopped (shutdown, or its process lost the role). Over a shared store, the
    /// lanes no remaining sender takes are dropped from memory: the entries stay in the store
    /// for the process sending now, and this process reads them afresh if it sends again.
    pub fn stop_sending(&self, ticket: u64) {
        let shared = self.store.shared();
        let mut l = self.lanes();
        l.senders.retain(|(t, _)| *t != ticket);
        if shared {
            let Lanes {
                pending,
                senders,
                busy,
                ..
            } = &mut *l;
            pending.retain(|to, _| busy.contains(to) || senders.iter().any(|(_, a)| a(to)));
        }
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
            if self.store.shared() {
                l.recent.insert(entry.id, Instant::now());
            }
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
            // The account refused: the recipient itself for a direct message (a linked
            // person's reminder goes to an account that may not be their record's own), else
            // the person the entry was for (an interaction's follow-up, say).
            let account = if crate::engine::link::is_account_key(&entry.to) {
                entry.to.as_str()
            } else {
                person.as_str()
            };
            self.mark_unreachable_as(account, entry.group.is_none())
                .await?;
            if let Some(group) = &entry.group {
                self.member_unreachable(group, person).await?;
            }
        }
        Ok(())
    }
}
