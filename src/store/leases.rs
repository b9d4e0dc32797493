//! What one process holds while others wait, for stores several processes share
//! (PostgreSQL): a **role** (a platform's gateway, poller and sender: [`Held`], from
//! [`crate::store::Store::elect`]) and a **person's turn** ([`TurnHold`], from
//! [`crate::store::Store::hold_turn`]).
//!
//! Both are PostgreSQL advisory locks on the database side, so both end when the process
//! holding them dies: its connection closes and the server releases them at once. A store one
//! process owns (sled, memory) has no one to share with: every role is held for good and a
//! turn's hold holds nothing (the session's own per-person lock orders that process's turns).
//!
//! Why locks and not versions: a turn loads the person, steps the pure engine and writes, in
//! separate store calls; holding the person for the turn makes the second process wait and then
//! load what the first wrote, so no turn is lost and none needs to be stepped twice. The same
//! lock covers a person with no row yet (their first message), which a row lock could not.

use std::future::Future;

/// A role this process holds (it is the only one running that platform's gateway and sender)
/// until [`Held::lost`] resolves or the value is dropped (which gives the role up).
pub struct Held {
    lost: tokio::sync::watch::Receiver<bool>,
    /// Keeps the role: dropping it gives the role up (for PostgreSQL, closes the connection
    /// holding the lock).
    _keep: Option<Box<dyn Send + Sync>>,
}

impl Held {
    /// A role nobody else can take (a store one process owns).
    pub fn for_good() -> Held {
        let (tx, lost) = tokio::sync::watch::channel(false);
        // Never sending `true`, and kept so the receiver never sees the channel close.
        Held {
            lost,
            _keep: Some(Box::new(tx)),
        }
    }

    /// A role that ends when `lost` turns true or its sender goes; `keep` holds it meanwhile.
    pub fn new(lost: tokio::sync::watch::Receiver<bool>, keep: Box<dyn Send + Sync>) -> Held {
        Held {
            lost,
            _keep: Some(keep),
        }
    }

    /// Resolves when the role is lost (the connection holding it failed): whatever runs under
    /// it must stop at once, since another process may take it over within seconds.
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.lost.clone();
        async move {
            let _ = rx.wait_for(|lost| *lost).await;
        }
    }

    /// Whether the role is lost already.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }
}

/// A person's turn held across processes: released when dropped.
#[derive(Default)]
pub struct TurnHold {
    _release: Option<Box<dyn Send>>,
}

impl TurnHold {
    /// Holds nothing (a store one process owns).
    pub fn none() -> TurnHold {
        TurnHold::default()
    }

    /// A hold released when `release` is dropped.
    pub fn new(release: Box<dyn Send>) -> TurnHold {
        TurnHold {
            _release: Some(release),
        }
    }
}

/// The second half of an advisory lock key: a stable 32-bit hash of a name (FNV-1a), the
/// same in every process and every build.
pub fn lock_key(name: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ() {
        // The same name gives the same key in every process (FNV-1a of its bytes).
        assert_eq!(lock_key(""), 0x811c_9dc5_u32 as i32);
        assert_eq!(lock_key("a"), 0xe40c_292c_u32 as i32);
        assert_ne!(lock_key("telegram"), lock_key("discord"));
    }

    #[tokio::test]
    async fn a_role_held_for_good_is_never_lost() {
        let held = Held::for_good();
        assert!(!held.is_lost());
        let lost = held.lost();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), lost)
                .await
                .is_err()
        );
    }
}
