//! One turn, safely: per-person ordering, load → step → save → flush → reply.
//!
//! Neither chat library serialises per person (teloxide queues per chat, so a group shares one
//! queue; serenity runs every event as its own task), so the session keeps one async lock per
//! person: two quick messages from one person are handled in the order they arrived, while
//! different people proceed in parallel. Nothing is said that implies "saved" until the store
//! has flushed. A platform event id already applied (a replayed update) changes nothing.

use crate::content::Catalog;
use crate::engine::{self, Effect, Input, Message};
use crate::store::{Store, StoreError};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a turn produced for the shell to send.
#[derive(Debug, Default)]
pub struct Reply {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// True when the event had been applied before and was ignored.
    pub duplicate: bool,
}

/// Shared by every adapter in a process: the content, the store and the per-person locks.
pub struct Session {
    catalog: Arc<Catalog>,
    store: Arc<dyn Store>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Session {
    /// A session over a catalog and a store.
    pub fn new(catalog: Arc<Catalog>, store: Arc<dyn Store>) -> Self {
        Session {
            catalog,
            store,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The content in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The store in use.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn lock_for(&self, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(user.to_string()).or_default().clone()
    }

    fn release(&self, user: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Only this task and the map hold it: nobody is waiting, so the entry can go.
        if Arc::strong_count(&lock) == 2 {
            map.remove(user);
        }
    }

    /// Handles one input from one person. `event` is the platform's id for the update (if
    /// any), so a repeat is recognised and ignored.
    pub async fn handle(
        &self,
        user: &str,
        input: Input,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let lock = self.lock_for(user);
        let reply = {
            let _guard = lock.lock().await;
            self.turn(user, input, event, now)
        };
        self.release(user, lock);
        reply
    }

    /// The turn itself; callers must hold the person's lock (see [`Session::handle`]).
    fn turn(
        &self,
        user: &str,
        input: Input,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let state = self
            .store
            .get_user(user)?
            .unwrap_or_else(|| engine::UserState::new(user));
        if let Some(id) = event
            && state.seen_event(id)
        {
            return Ok(Reply {
                messages: Vec::new(),
                duplicate: true,
            });
        }
        let mut turn = engine::step(&self.catalog, &state, input, now);
        if turn.effects.contains(&Effect::Forget) {
            self.store.delete_user(user)?;
            self.store.flush()?;
            return Ok(Reply {
                messages: turn.messages,
                duplicate: false,
            });
        }
        if let Some(id) = event {
            turn.state.remember_event(id);
        }
        if turn.state != state {
            self.store.put_user(&turn.state)?;
            self.store.flush()?;
        }
        Ok(Reply {
            messages: turn.messages,
            duplicate: false,
        })
    }
}
