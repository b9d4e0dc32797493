//! A queue per person (or group): events handled one at a time per key, in arrival order,
//! while different keys run side by side.
//!
//! [`Queues::push`] is synchronous and never waits, so an adapter fixes an event's place at
//! arrival, before its first await (Discord's gateway hands events to tasks that may start in
//! any order; pushing from the gateway's own callback keeps Discord's order). Each key with
//! work has one task; it ends when the key's queue is empty. One person's backlog therefore
//! delays only that person. [`Queues::close`] stops taking events; [`Queues::idle`] waits for
//! the events in hand to finish. Events not yet started are abandoned: what they came from (the
//! durable inbox, or the platform, which has not been told they were handled) brings them back.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// What handles one event.
pub type Handler<T> = Arc<dyn Fn(T) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Inner<T> {
    waiting: HashMap<String, VecDeque<T>>,
    closed: bool,
    running: usize,
}

/// Queues keyed by person (or group), each drained in order by its own task.
pub struct Queues<T: Send + 'static> {
    inner: Mutex<Inner<T>>,
    handler: Handler<T>,
    idle: tokio::sync::Notify,
}

impl<T: Send + 'static> Queues<T> {
    /// Queues whose events `handler` handles.
    pub fn new(handler: Handler<T>) -> Arc<Self> {
        Arc::new(Queues {
            inner: Mutex::new(Inner {
                waiting: HashMap::new(),
                closed: false,
                running: 0,
            }),
            handler,
            idle: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an event to the end of `key`'s queue; false when the queues are closed. Starts
    /// the key's task when it has none. Must be called inside a tokio runtime.
    pub fn push(self: &Arc<Self>, key: &str, item: T) -> bool {
        let start = {
            let mut i = self.lock();
            if i.closed {
                return false;
            }
            match i.waiting.get_mut(key) {
                Some(q) => {
                    q.push_back(item);
                    false
                }
                None => {
                    i.waiting.insert(key.to_string(), VecDeque::from([item]));
                    i.running += 1;
                    true
                }
            }
        };
        if start {
            let me = self.clone();
            let key = key.to_string();
            tokio::spawn(async move { me.drain(key).await });
        }
        true
    }

    async fn drain(self: Arc<Self>, key: String) {
        loop {
            let next = {
                let mut i = self.lock();
                let item = if i.closed {
                    None
                } else {
                    i.waiting.get_mut(&key).and_then(|q| q.pop_front())
                };
                if item.is_none() {
                    i.waiting.remove(&key);
                    i.running -= 1;
                }
                item
            };
            let Some(item) = next else {
                self.idle.notify_waiters();
                return;
            };
            // In a task of its own, so a panic in one event's handling is contained: the key's
            // later events still run (the event itself stays wherever it came from).
            if tokio::spawn((self.handler)(item)).await.is_err() {
                tracing::error!("handling an event failed unexpectedly; the queue carries on");
            }
        }
    }

    /// How many events wait (not counting those in hand).
    pub fn backlog(&self) -> usize {
        self.lock().waiting.values().map(|q| q.len()).sum()
    }

    /// Stops taking events; the ones waiting are dropped when their task next looks.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// Waits until no key's task is running (after [`Queues::close`]: the events in hand
    /// have finished).
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().running == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_key_in_order_and_a_slow_key_delays_no_other() {
        let log = Arc::new(Mutex::new(Vec::<(String, u32)>::new()));
        let l = log.clone();
        let q: Arc<Queues<(String, u32)>> = Queues::new(Arc::new(move |(k, n): (String, u32)| {
            let l = l.clone();
            Box::pin(async move {
                if k == "slow" {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                l.lock().unwrap().push((k, n));
            })
        }));
        for n in 0..10 {
            q.push("slow", ("slow".into(), n));
        }
        q.push("quick", ("quick".into(), 0));
        tokio::time::sleep(Duration::from_millis(20)).await;
        {
            let seen = log.lock().unwrap();
            assert!(
                seen.contains(&("quick".to_string(), 0)),
                "the quick key did not wait for the slow one: {seen:?}"
            );
        }
        q.close();
        q.idle().await;
        let slow: Vec<u32> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == "slow")
            .map(|(_, n)| *n)
            .collect();
        assert!(slow.len() < 10, "closing abandoned the waiting events");
        assert_eq!(slow, (0..slow.len() as u32).collect::<Vec<_>>(), "in order");
        assert!(!q.push("slow", ("slow".into(), 99)), "closed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_one_event_does_not_stop_the_queue() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let q: Arc<Queues<u32>> = Queues::new(Arc::new(move |n: u32| {
            let s = s.clone();
            Box::pin(async move {
                assert!(n != 1, "a bug in handling event 1");
                s.lock().unwrap().push(n);
            })
        }));
        for n in 0..3 {
            q.push("p", n);
        }
        for _ in 0..100 {
            if seen.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*seen.lock().unwrap(), vec![0, 2]);
        q.close();
        q.idle().await;
    }
}
