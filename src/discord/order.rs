//! Discord's order, fixed at arrival: serenity hands every gateway event to a task of its own,
//! and those tasks may start in any order (two quick DMs from one person were handled out of
//! order in 16 of 150 pairs). The shard runner calls collectors synchronously, in the order the
//! gateway delivered the events, before spawning those tasks; a collector gives each person's
//! events a ticket there, and each task waits for the person's earlier tickets to be done
//! before its turn. The tasks of different people never wait for each other.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Default)]
struct Person {
    /// The next ticket to give.
    next: u64,
    /// Every ticket below this is done.
    done_below: u64,
    /// Tickets done out of order, above `done_below`.
    done: BTreeSet<u64>,
}

#[derive(Default)]
struct Inner {
    people: HashMap<String, Person>,
    /// Event id → (person, ticket), until the event's task takes it.
    given: HashMap<u64, (String, u64)>,
}

/// Tickets per person, in gateway order.
#[derive(Default)]
pub struct Tickets {
    inner: Mutex<Inner>,
    changed: tokio::sync::Notify,
}

/// A ticket held by an event's task; its person's next event may go when it is dropped.
pub struct Ticket<'a> {
    tickets: &'a Tickets,
    person: String,
    n: u64,
}

impl Tickets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the event (by its snowflake) the person's next ticket; called in gateway order.
    /// A second call for the same event changes nothing.
    pub fn give(&self, event: u64, person: &str) {
        let mut i = self.lock();
        if i.given.contains_key(&event) {
            return;
        }
        let p = i.people.entry(person.to_string()).or_default();
        let n = p.next;
        p.next += 1;
        i.given.insert(event, (person.to_string(), n));
    }

    /// Waits until the event's turn comes (every earlier event of the person is done). An
    /// event that was given no ticket (one that arrived before the collector was in place)
    /// goes at once.
    pub async fn wait(&self, event: u64) -> Option<Ticket<'_>> {
        let (person, n) = self.lock().given.remove(&event)?;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let ready = self
                .lock()
                .people
                .get(&person)
                .is_none_or(|p| p.done_below >= n);
            if ready {
                return Some(Ticket {
                    tickets: self,
                    person,
                    n,
                });
            }
            notified.await;
        }
    }
}

/// Gives an event's ticket back if its task ends (or panics) without having waited for it.
pub struct Release<'a> {
    tickets: &'a Tickets,
    event: u64,
}

impl<'a> Release<'a> {
    /// A guard for the event's ticket.
    pub fn new(tickets: &'a Tickets, event: u64) -> Self {
        Release { tickets, event }
    }
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let Some((person, n)) = self.tickets.lock().given.remove(&self.event) else {
            return;
        };
        drop(Ticket {
            tickets: self.tickets,
            person,
            n,
        });
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut i = self.tickets.lock();
        let mut forget = false;
        if let Some(p) = i.people.get_mut(&self.person) {
            p.done.insert(self.n);
            while p.done.remove(&p.done_below) {
                p.done_below += 1;
            }
            forget = p.done_below == p.next;
        }
        if forget {
            i.people.remove(&self.person);
        }
        drop(i);
        self.tickets.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_started_in_any_order_run_in_ticket_order() {
        let t = Arc::new(Tickets::default());
        for e in 0..20u64 {
            t.give(e, "p");
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Started last first.
        for e in (0..20u64).rev() {
            let (t, log) = (t.clone(), log.clone());
            tasks.push(tokio::spawn(async move {
                let _ticket = t.wait(e).await;
                log.lock().unwrap().push(e);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*log.lock().unwrap(), (0..20).collect::<Vec<_>>());
        assert!(
            t.lock().people.is_empty(),
            "a person with nothing pending is forgotten"
        );
    }
}
