//! Link codes: made, kept, counted, cancelled and dropped. A code is kept in the store's
//! metadata (`linkcode:CODE` → the account and when it runs out; `linkcodeof:ACCOUNT` → the
//! code; `linktries:ACCOUNT` → wrong tries in the current window), never in a record, so an
//! account with no record yet can make one. See [`super`] for what linking does with them.

use super::Session;
use crate::engine::Message;
use crate::engine::link as records;
use crate::store::{StoreError, Write};
use chacha20poly1305::aead::{OsRng, rand_core::RngCore};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long a code works.
pub const CODE_LIFE: SignedDuration = SignedDuration::from_mins(10);

/// Wrong codes an account may try per [`TRY_WINDOW`].
pub const MAX_TRIES: u32 = 5;

/// The window wrong tries are counted over.
pub const TRY_WINDOW: SignedDuration = SignedDuration::from_mins(10);

/// A code as kept in the metadata.
#[derive(Serialize, Deserialize)]
pub(super) struct CodeEntry {
    /// The account that made it.
    pub(super) account: String,
    /// When it stops working.
    pub(super) expires: Timestamp,
}

/// Wrong tries as kept in the metadata.
#[derive(Serialize, Deserialize, Default)]
struct Tries {
    count: u32,
    since: Option<Timestamp>,
}

pub(super) fn code_key(code: &str) -> String {
    format!("linkcode:{code}")
}

pub(super) fn code_of_key(account: &str) -> String {
    format!("linkcodeof:{account}")
}

pub(super) fn tries_key(account: &str) -> String {
    format!("linktries:{account}")
}

impl Session {
    /// Cancels a code that was shown where others could read it (typed in a group): true when
    /// it was a live code. The code stops working at once; its maker makes a new one.
    pub async fn burn_link_code(&self, text: &str) -> Result<bool, StoreError> {
        let Some(code) = records::parse_code(text) else {
            return Ok(false);
        };
        let Some(entry) = self.store.get_meta(&code_key(&code)).await? else {
            return Ok(false);
        };
        let mut w = Write::default();
        w.meta.push((code_key(&code), None));
        if let Ok(e) = serde_json::from_slice::<CodeEntry>(&entry) {
            w.meta.push((code_of_key(&e.account), None));
        }
        self.write(w).await?;
        Ok(true)
    }
}

impl Session {
    /// Drops the codes that ran out unused and the counts of wrong tries whose window has
    /// passed (the scheduler calls this hourly), so the metadata does not grow with every
    /// `/link` never redeemed. Returns how many entries went.
    pub async fn prune_link_codes(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut w = Write::default();
        let keys = self.store.meta_keys().await?;
        for k in &keys {
            let Some(value) = self.store.get_meta(k).await? else {
                continue;
            };
            let stale = if k.starts_with("linkcode:") {
                serde_json::from_slice::<CodeEntry>(&value).map_or(true, |e| e.expires <= now)
            } else if k.starts_with("linktries:") {
                serde_json::from_slice::<Tries>(&value).map_or(true, |t| {
                    t.since.is_none_or(|s| now.duration_since(s) >= TRY_WINDOW)
                })
            } else if k.starts_with("linkcodeof:") {
                let code = String::from_utf8_lossy(&value);
                self.store
                    .get_meta(&code_key(&code))
                    .await?
                    .and_then(|b| serde_json::from_slice::<CodeEntry>(&b).ok())
                    .is_none_or(|e| e.expires <= now)
            } else {
                false
            };
            if stale {
                w.meta.push((k.clone(), None));
            }
        }
        let n = w.meta.len();
        self.write(w).await?;
        Ok(n)
    }
}

/// The metadata writes that drop an account's live code and its count of wrong tries (it is
/// being forgotten).
pub(in crate::session) async fn forget_codes(
    store: &dyn crate::store::Store,
    account: &str,
) -> Result<Vec<(String, Option<Vec<u8>>)>, StoreError> {
    let mut w = vec![(code_of_key(account), None), (tries_key(account), None)];
    if let Some(code) = store.get_meta(&code_of_key(account)).await? {
        w.push((code_key(&String::from_utf8_lossy(&code)), None));
    }
    Ok(w)
}

/// A fresh random code.
pub(super) fn new_code() -> String {
    let alphabet = records::CODE_ALPHABET;
    (0..records::CODE_LEN)
        .map(|_| {
            // Rejection sampling keeps every symbol equally likely.
            loop {
                let b = (OsRng.next_u32() & 0xff) as usize;
                if b < 256 - 256 % alphabet.len() {
                    break alphabet[b % alphabet.len()] as char;
                }
            }
        })
        .collect()
}

impl Session {
    /// Counts a wrong code; `Some(message)` when this account has tried too many.
    pub(super) async fn too_many_tries(
        &self,
        account: &str,
        wrong: bool,
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Option<Message>, StoreError> {
        let key = tries_key(account);
        let mut tries: Tries = self
            .store
            .get_meta(&key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if tries
            .since
            .is_none_or(|s| now.duration_since(s) >= TRY_WINDOW)
        {
            tries = Tries {
                count: 0,
                since: Some(now),
            };
        }
        if tries.count >= MAX_TRIES {
            let left = TRY_WINDOW - now.duration_since(tries.since.unwrap_or(now));
            let minutes = (left.as_secs() + 59) / 60;
            return Ok(Some(self.say_f(
                "link.too_many",
                &[("minutes", &minutes.max(1).to_string())],
            )));
        }
        if wrong {
            tries.count += 1;
            w.meta
                .push((key, Some(serde_json::to_vec(&tries).unwrap_or_default())));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed_and_differ() {
        let a = new_code();
        let b = new_code();
        assert!(records::parse_code(&a).is_some(), "{a}");
        assert_ne!(a, b);
    }
}
