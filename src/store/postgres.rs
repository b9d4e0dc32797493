//! The PostgreSQL store (`--store postgres://…`, feature `postgres`): the same [`Store`] as the
//! embedded sled store, over a database several processes can share.
//!
//! - **Client**: tokio-postgres with a deadpool pool; every call is async, so no runtime thread
//!   waits on the network. Plain TCP or a Unix socket (`host=/run/postgresql`); TLS is not
//!   built in yet (see deploy/ for a managed database).
//! - **Schema**: plain SQL files in `migrations/`, applied by `lensbot migrate`
//!   ([`migrate`]); a serving process refuses a database that is behind or ahead.
//! - **One write, one transaction**: [`Store::apply`] writes a turn's state, due entries,
//!   outgoing messages, its inbox entry's removal and its event id in one transaction. The event
//!   id is inserted first: when another process has applied the same event, nothing is written
//!   and the write fails with [`StoreError::Conflict`]. A committed transaction is durable
//!   (`synchronous_commit` on, the default), so [`Store::flush`] has nothing left to do;
//!   concurrent commits share WAL flushes by PostgreSQL's own group commit.
//! - **Encryption at rest**: as on sled, everything a person wrote or is sent is sealed under
//!   their own key before it is sent to the database ([`crate::store::vault`]); the key
//!   records live in `person_keys`, sealed under the store key, which never reaches the
//!   database. A new key is inserted in the same transaction as the first value sealed with
//!   it; a key another process made is read on first use. Forgetting a person deletes their
//!   rows and then their key rows. What PostgreSQL keeps after a `DELETE` (dead row versions
//!   until `VACUUM`, WAL segments until recycled, base backups and replicas) then holds only
//!   ciphertext whose key is gone; see deploy/ for `VACUUM` and WAL retention.
//!
//! - **Across processes**: due items are claimed with `FOR UPDATE SKIP LOCKED` and a lease
//!   ([`Store::claim_due`]); a listener of its own (`LISTEN`) wakes the scheduler when another
//!   process adds due entries, wakes the sender when another process owes messages, and drops
//!   a forgotten person's key from this process's memory (news sent while it reconnects is
//!   lost: the scheduler's and the sender's polling cover the first two, the deleted key rows
//!   the third).
//! - **A person's turn is held across processes** ([`Store::hold_turn`]): an advisory lock
//!   keyed by the person, on a connection from a pool of its own, from load to write; a
//!   group's record likewise ([`Store::hold_group`], another pool). Why a lock rather than
//!   versions: [`crate::store::leases`].
//! - **Roles** ([`Store::elect`]): a platform's gateway, poller and sender run in the process
//!   holding an advisory lock on a connection of its own (checked every second); when that
//!   process dies the server releases the lock at once and another process takes the role
//!   within seconds.

pub mod migrate;
pub mod tls;

use super::leases::{self, Held, TurnHold};
use super::vault::{self, StoreKey, Unseal, Vault};
use super::{DueEntry, Store, StoreError, Write, codec};
use crate::engine::UserState;
use crate::inbox::InboxEntry;
use crate::outbox::OutboxEntry;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::Timestamp;
use std::sync::Arc;
use tls::Tls;

/// A database error in words (PostgreSQL's own message, without the connection string).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => with_causes(e),
    }
}

/// An error with the causes under it ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer"), so a person setting up a database sees why.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

fn pg(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Io(format!("PostgreSQL, {what}: {}", describe(&e)))
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Io(format!(
        "PostgreSQL, getting a connection: {}",
        with_causes(&e)
    ))
}

/// Associated data binding a sealed value to its place (table and key), as on sled.
fn aad(table: &str, key: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(table.len() + 1 + key.len());
    a.extend_from_slice(table.as_bytes());
    a.push(0);
    a.extend_from_slice(key);
    a
}

/// A due entry's time as stored: whole seconds (ordered, compared) and the nanoseconds within.
fn due_time(at: Timestamp) -> (i64, i32) {
    (at.as_second(), at.subsec_nanosecond())
}

/// The person keys made since the last write, taken for one transaction: given back to the
/// vault when dropped before [`Pending::saved`] (the transaction failed), so the next write
/// saves them.
struct Pending<'v> {
    vault: &'v Vault,
    keys: Vec<vault::NewKey>,
    saved: bool,
}

impl<'v> Pending<'v> {
    fn take(vault: &'v Vault) -> Self {
        Pending {
            vault,
            keys: vault.take_new(),
            saved: false,
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.saved {
            self.vault.keep_new(std::mem::take(&mut self.keys));
        }
    }
}

impl PgStore {
    /// Inbox rows (key, value) as entries, in their order; an entry whose person was forgotten
    /// is deleted, one that cannot be read is skipped (with a warning).
    async fn read_inbox(
        &self,
        client: deadpool_postgres::Object,
        rows: Vec<tokio_postgres::Row>,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let mut out = Vec::new();
        for r in rows {
            let key: Vec<u8> = r.get(0);
            let value: Vec<u8> = r.get(1);
            match self.queued(&client, "inbox", &key, &value).await {
                Some(Some(e)) => out.push(e),
                Some(None) => {
                    client
                        .execute("DELETE FROM inbox WHERE key = $1", &[&key])
                        .await
                        .map_err(pg("clearing the inbox"))?;
                }
                None => {}
            }
        }
        Ok(out)
    }
}

/// What the listener passes on: due entries and outgoing messages another process added.
#[derive(Clone)]
struct News {
    due: Arc<tokio::sync::Notify>,
    outbox: Arc<tokio::sync::Notify>,
    /// This process's lease owner name: its own outbox notifications are not news.
    owner: String,
}

/// The store over a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// Connections holding people's turns ([`Store::hold_turn`]), apart from the pool the
    /// turns themselves use, so holds waiting can never starve the work of the hold that runs.
    people: Pool,
    /// Connections holding groups' records ([`Store::hold_group`]), apart again: a person's
    /// turn may hold their group inside it.
    groups: Pool,
    /// The database's address, for the elections' connections of their own.
    config: tokio_postgres::Config,
    /// The TLS connector (plain unless the URL asks for TLS: [`tls`]).
    tls: Tls,
    /// Woken by the listener when another process adds outgoing messages (`lensbot_outbox`).
    outbox_elsewhere: Arc<tokio::sync::Notify>,
    vault: Arc<Vault>,
    /// Woken by the listener when another process adds due entries (`lensbot_due`).
    due_elsewhere: Arc<tokio::sync::Notify>,
    /// Stops the listener (`LISTEN`, on a thread of its own) when the store is dropped.
    _listener: tokio::sync::oneshot::Sender<()>,
    /// This process's name in due-item leases (host, process id and a random part).
    owner: String,
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or a key=value string), checks the schema
    /// version, and reads the key table under `store_key`.
    pub async fn connect(url: &str, store_key: StoreKey) -> Result<PgStore, StoreError> {
        let (config, tls) = tls::settings(url)?;
        let pool = pool(&config, &tls, 16)?;
        let client = pool.get().await.map_err(pool_error)?;
        migrate::check(&client).await?;
        let rows = client
            .query("SELECT record FROM person_keys ORDER BY id", &[])
            .await
            .map_err(pg("reading the key table"))?;
        let records: Vec<Vec<u8>> = rows.iter().map(|r| r.get(0)).collect();
        let vault = Arc::new(Vault::in_table(store_key, &records)?);
        drop(client);
        let due_elsewhere = Arc::new(tokio::sync::Notify::new());
        let outbox_elsewhere = Arc::new(tokio::sync::Notify::new());
        let owner = format!(
            "{}:{}:{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
            std::process::id(),
            rand_u32()
        );
        // On a thread and runtime of its own: the store may be opened on a short-lived runtime
        // (the command line opens it before starting the bot's), and must hear news for as
        // long as it lives.
        let (stop, stopped) = tokio::sync::oneshot::channel();
        {
            let (config, tls, vault) = (config.clone(), tls.clone(), vault.clone());
            let news = News {
                due: due_elsewhere.clone(),
                outbox: outbox_elsewhere.clone(),
                owner: owner.clone(),
            };
            std::thread::Builder::new()
                .name("lensbot-pg-listen".into())
                .spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        tokio::select! {
                            _ = stopped => {}
                            _ = listen(config, tls, vault, news) => {}
                        }
                    });
                })
                .map_err(|e| StoreError::Io(format!("cannot start the listener thread: {e}")))?;
        }
        Ok(PgStore {
            pool,
            people: self::pool(&config, &tls, PEOPLE_HOLDS)?,
            groups: self::pool(&config, &tls, GROUP_HOLDS)?,
            config,
            tls,
            outbox_elsewhere,
            vault,
            due_elsewhere,
            _listener: stop,
            owner,
        })
    }

    /// One connection from the pool (for `lensbot migrate` and tests).
    pub async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Opens a sealed value, learning its key from the key table when another process made it.
    async fn open(
        &self,
        client: &tokio_postgres::Client,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, Unseal> {
        match self.vault.unseal(aad, sealed) {
            Err(Unseal::NoKey) => {
                let Some(id) = vault::key_id_of(sealed) else {
                    return Err(Unseal::Damaged);
                };
                let row = client
                    .query_opt(
                        "SELECT record FROM person_keys WHERE id = $1",
                        &[&(id as i64)],
                    )
                    .await
                    .map_err(|_| Unseal::NoKey)?;
                let Some(row) = row else {
                    return Err(Unseal::NoKey);
                };
                let record: Vec<u8> = row.get(0);
                self.vault.learn(&record).map_err(|_| Unseal::Damaged)?;
                self.vault.unseal(aad, sealed)
            }
            other => other,
        }
    }

    /// Starts a write's transaction with the person keys made since the last write inserted
    /// in it; the keys go back to the vault unless the caller marks them saved after commit.
    async fn begin<'c>(
        &'c self,
        client: &'c mut tokio_postgres::Client,
    ) -> Result<(tokio_postgres::Transaction<'c>, Pending<'c>), StoreError> {
        let pending = Pending::take(&self.vault);
        let tx = client
            .transaction()
            .await
            .map_err(pg("starting a transaction"))?;
        for k in &pending.keys {
            tx.execute(
                "INSERT INTO person_keys (id, person, record) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&(k.id as i64), &k.person, &k.record],
            )
            .await
            .map_err(pg("saving a person key"))?;
        }
        Ok((tx, pending))
    }

    fn user_value(&self, state: &UserState) -> Result<Vec<u8>, StoreError> {
        self.vault.seal(
            &state.user,
            &aad("people", state.user.as_bytes()),
            &codec::encode(state),
        )
    }

    fn outbox_value(&self, e: &OutboxEntry) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(e).expect("an outbox entry always serialises");
        match &e.person {
            Some(p) => self.vault.seal(p, &aad("outbox", &e.key()), &json),
            None => Ok(json),
        }
    }

    /// Reads a queued entry (outbox or inbox): `None` (with a warning) when it cannot be read,
    /// and `Some(None)` when its person was forgotten (the caller deletes it).
    async fn queued<T: serde::de::DeserializeOwned>(
        &self,
        client: &tokio_postgres::Client,
        table: &str,
        key: &[u8],
        value: &[u8],
    ) -> Option<Option<T>> {
        let plain = if value.first() == Some(&vault::SEALED) {
            match self.open(client, &aad(table, key), value).await {
                Ok(p) => p,
                Err(Unseal::NoKey) => return Some(None),
                Err(Unseal::Damaged) => {
                    tracing::warn!(table, "a queued entry does not decrypt: skipped");
                    return None;
                }
            }
        } else {
            value.to_vec()
        };
        match serde_json::from_slice(&plain) {
            Ok(e) => Some(Some(e)),
            Err(e) => {
                tracing::warn!(
                    table,
                    "a queued entry cannot be read ({}): skipped",
                    codec::json_error(&e)
                );
                None
            }
        }
    }
}

/// The notification channel for new due entries (payload: none).
const DUE_CHANNEL: &str = "lensbot_due";
/// The notification channel for new outgoing messages (payload: the lease owner name of the
/// process that wrote them, so its own listener ignores them).
const OUTBOX_CHANNEL: &str = "lensbot_outbox";
/// The notification channel for forgotten people (payload: the person's store key, an
/// identifier like `telegram:123`, never anything they wrote).
const FORGET_CHANNEL: &str = "lensbot_forget";

/// Listens on a connection of its own for the other processes' news: new due entries wake
/// the scheduler; a forgotten person's keys are dropped from this process's memory too. When
/// the connection fails it reconnects after a pause (news sent meanwhile is lost; the
/// scheduler's polling and the deleted key rows cover it).
async fn listen(config: tokio_postgres::Config, tls: Tls, vault: Arc<Vault>, news: News) {
    use tokio_postgres::AsyncMessage;
    let mut pause = std::time::Duration::from_millis(500);
    loop {
        if let Ok((client, mut conn)) = config.connect(tls.clone()).await {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(async move {
                while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                    match m {
                        Ok(AsyncMessage::Notification(n)) => {
                            let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            let listening = client
                .batch_execute(&format!(
                    "LISTEN {DUE_CHANNEL}; LISTEN {FORGET_CHANNEL}; LISTEN {OUTBOX_CHANNEL}"
                ))
                .await;
            if listening.is_ok() {
                pause = std::time::Duration::from_millis(500);
                // Whatever was added while this connection was down is looked at now.
                news.due.notify_one();
                news.outbox.notify_one();
                while let Some((channel, payload)) = rx.recv().await {
                    if channel == FORGET_CHANNEL {
                        vault.drop_person(&payload);
                    } else if channel == OUTBOX_CHANNEL {
                        if payload != news.owner {
                            news.outbox.notify_one();
                        }
                    } else {
                        news.due.notify_one();
                    }
                }
            }
            driver.abort();
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(30));
    }
}

/// A random number (for a lease owner's name), from the operating system's generator.
fn rand_u32() -> u32 {
    use chacha20poly1305::aead::{OsRng, rand_core::RngCore};
    OsRng.next_u32()
}

/// A pool of at most `size` connections.
fn pool(config: &tokio_postgres::Config, tls: &Tls, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config.clone(),
        tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Io(format!("PostgreSQL, making the pool: {e}")))
}

/// `lensbot migrate --store URL`: brings the database's schema to this binary's version.
pub async fn migrate_url(url: &str) -> Result<migrate::Migrated, StoreError> {
    let (config, tls) = tls::settings(url)?;
    let pool = pool(&config, &tls, 1)?;
    let mut client = pool.get().await.map_err(pool_error)?;
    migrate::migrate(&mut client).await
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn get_user(&self, key: &str) -> Result<Option<UserState>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt("SELECT value FROM people WHERE person = $1", &[&key])
            .await
            .map_err(pg("reading a record"))?
        else {
            return Ok(None);
        };
        let value: Vec<u8> = row.get(0);
        let corrupt = |reason: &str| StoreError::Corrupt {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        let plain = match self
            .open(&client, &aad("people", key.as_bytes()), &value)
            .await
        {
            Ok(p) => p,
            Err(Unseal::NoKey) => return Err(corrupt("its key is missing")),
            Err(Unseal::Damaged) => return Err(corrupt("it does not decrypt (damaged)")),
        };
        codec::decode(key, &plain).map(Some)
    }

    async fn put_user(&self, state: &UserState) -> Result<(), StoreError> {
        let mut w = Write::default();
        w.users.push(state.clone());
        self.apply(&w).await
    }

    async fn delete_user(&self, key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM people WHERE person = $1", &[&key])
            .await
            .map_err(pg("deleting a record"))?;
        Ok(n > 0)
    }

    async fn users(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT person FROM people ORDER BY person", &[])
            .await
            .map_err(pg("listing people"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .await
            .map_err(pg("reading a setting"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut w = Write::default();
        w.meta.push((key.to_string(), Some(value.to_vec())));
        self.apply(&w).await
    }

    async fn meta_keys(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT key FROM meta ORDER BY key", &[])
            .await
            .map_err(pg("listing settings"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn put_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        let mut w = Write::default();
        w.due_put.push(entry.clone());
        self.apply(&w).await
    }

    async fn delete_due(&self, entry: &DueEntry) -> Result<(), StoreError> {
        let mut w = Write::default();
        w.due_delete.push(entry.clone());
        self.apply(&w).await
    }

    async fn due_until(&self, until: Timestamp) -> Result<Vec<DueEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT at, nanos, person, reminder FROM due WHERE at <= $1 ORDER BY at, nanos, person, reminder",
                &[&until.as_second()],
            )
            .await
            .map_err(pg("reading the due index"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            match Timestamp::new(r.get(0), r.get(1)) {
                Ok(at) => out.push(DueEntry {
                    at,
                    user: r.get(2),
                    reminder: r.get(3),
                }),
                Err(_) => tracing::warn!("a due entry's time cannot be read: skipped"),
            }
        }
        Ok(out)
    }

    async fn claim_due(
        &self,
        until: Timestamp,
        lease: std::time::Duration,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let client = self.client().await?;
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        // The entries due and free (never leased, or their lease ran out), taken without
        // waiting for rows another process is taking at this moment (SKIP LOCKED).
        let rows = client
            .query(
                "UPDATE due SET lease_owner = $2, lease_until = now() + $3 * interval '1 millisecond'
                 WHERE (at, nanos, person, reminder) IN (
                     SELECT at, nanos, person, reminder FROM due
                     WHERE at <= $1 AND (lease_until IS NULL OR lease_until < now())
                     ORDER BY at, nanos
                     LIMIT 1000
                     FOR UPDATE SKIP LOCKED)
                 RETURNING at, nanos, person, reminder",
                &[&until.as_second(), &self.owner, &(lease_ms as f64)],
            )
            .await
            .map_err(pg("claiming due reminders"))?;
        let mut out: Vec<DueEntry> = rows
            .iter()
            .filter_map(|r| {
                Some(DueEntry {
                    at: Timestamp::new(r.get(0), r.get(1)).ok()?,
                    user: r.get(2),
                    reminder: r.get(3),
                })
            })
            .filter(|e| e.at <= until)
            .collect();
        out.sort();
        Ok(out)
    }

    async fn release_due(&self, entries: &[DueEntry]) -> Result<(), StoreError> {
        let client = self.client().await?;
        for e in entries {
            let (at, nanos) = due_time(e.at);
            client
                .execute(
                    "UPDATE due SET lease_owner = NULL, lease_until = NULL
                     WHERE at = $1 AND nanos = $2 AND person = $3 AND reminder = $4 AND lease_owner = $5",
                    &[&at, &nanos, &e.user, &e.reminder, &self.owner],
                )
                .await
                .map_err(pg("releasing a due reminder"))?;
        }
        Ok(())
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT at, nanos FROM due ORDER BY at, nanos LIMIT 1", &[])
            .await
            .map_err(pg("reading the due index"))?;
        Ok(row.and_then(|r| Timestamp::new(r.get(0), r.get(1)).ok()))
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every write committed its own transaction, durably.
        Ok(())
    }

    async fn apply(&self, w: &Write) -> Result<(), StoreError> {
        if w.is_empty() {
            return Ok(());
        }
        // Sealing happens before the transaction (it may make a person's first key, which the
        // transaction then saves).
        let mut users = Vec::with_capacity(w.users.len());
        for u in &w.users {
            users.push((u.user.clone(), self.user_value(u)?));
        }
        let mut outbox = Vec::with_capacity(w.outbox.len());
        for e in &w.outbox {
            outbox.push((e.id as i64, self.outbox_value(e)?));
        }
        let mut client = self.client().await?;
        let (tx, mut pending) = self.begin(&mut client).await?;
        {
            // The event first: a second process applying the same event stops here.
            for (id, at) in &w.events {
                let n = tx
                        .execute(
                            "INSERT INTO applied_events (id, at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                            &[id, &at.as_second()],
                        )
                        .await
                        .map_err(pg("recording an applied event"))?;
                if n == 0 {
                    return Err(StoreError::Conflict(format!(
                        "the event {id} was applied already (by another process)"
                    )));
                }
            }
            for k in &w.delete_users {
                tx.execute("DELETE FROM people WHERE person = $1", &[k])
                    .await
                    .map_err(pg("deleting a record"))?;
            }
            for (person, value) in &users {
                tx.execute(
                        "INSERT INTO people (person, value) VALUES ($1, $2) ON CONFLICT (person) DO UPDATE SET value = EXCLUDED.value",
                        &[person, value],
                    )
                    .await
                    .map_err(pg("writing a record"))?;
            }
            for (k, v) in &w.meta {
                let done = match v {
                        Some(v) => {
                            tx.execute(
                                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                                &[k, v],
                            )
                            .await
                        }
                        None => tx.execute("DELETE FROM meta WHERE key = $1", &[k]).await,
                    };
                done.map_err(pg("writing a setting"))?;
            }
            for e in &w.due_delete {
                let (at, nanos) = due_time(e.at);
                tx.execute(
                        "DELETE FROM due WHERE at = $1 AND nanos = $2 AND person = $3 AND reminder = $4",
                        &[&at, &nanos, &e.user, &e.reminder],
                    )
                    .await
                    .map_err(pg("updating the due index"))?;
            }
            for e in &w.due_put {
                let (at, nanos) = due_time(e.at);
                tx.execute(
                        "INSERT INTO due (at, nanos, person, reminder) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[&at, &nanos, &e.user, &e.reminder],
                    )
                    .await
                    .map_err(pg("updating the due index"))?;
            }
            if !w.due_put.is_empty() {
                // Delivered at commit, to every other process's listener.
                tx.execute("SELECT pg_notify($1, '')", &[&DUE_CHANNEL])
                    .await
                    .map_err(pg("telling the other processes"))?;
            }
            for (id, value) in &outbox {
                tx.execute(
                        "INSERT INTO outbox (id, value) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value",
                        &[id, value],
                    )
                    .await
                    .map_err(pg("queueing a message"))?;
            }
            if !outbox.is_empty() {
                // The process sending for the platform may be another one: it looks again
                // (the payload names this process, whose own listener ignores it).
                tx.execute("SELECT pg_notify($1, $2)", &[&OUTBOX_CHANNEL, &self.owner])
                    .await
                    .map_err(pg("telling the other processes"))?;
            }
            for k in &w.inbox_done {
                tx.execute("DELETE FROM inbox WHERE key = $1", &[k])
                    .await
                    .map_err(pg("clearing the inbox"))?;
            }
        }
        tx.commit().await.map_err(pg("committing a turn"))?;
        pending.saved = true;
        Ok(())
    }

    async fn event_seen(&self, event: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT 1 FROM applied_events WHERE id = $1", &[&event])
            .await
            .map_err(pg("reading the ledger"))?;
        Ok(row.is_some())
    }

    async fn prune_events(&self, before: Timestamp) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "DELETE FROM applied_events WHERE at < $1",
                &[&before.as_second()],
            )
            .await
            .map_err(pg("pruning the ledger"))?;
        Ok(n as usize)
    }

    async fn next_outbox_id(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let id: i64 = client
            .query_one("SELECT nextval('outbox_ids')", &[])
            .await
            .map_err(pg("numbering a message"))?
            .get(0);
        Ok(id as u64)
    }

    async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT id, value FROM outbox ORDER BY id", &[])
            .await
            .map_err(pg("reading the outbox"))?;
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            let value: Vec<u8> = r.get(1);
            match self
                .queued(&client, "outbox", &(id as u64).to_be_bytes(), &value)
                .await
            {
                Some(Some(e)) => out.push(e),
                Some(None) => {
                    // Its person was forgotten: it can never be read again.
                    client
                        .execute("DELETE FROM outbox WHERE id = $1", &[&id])
                        .await
                        .map_err(pg("clearing the outbox"))?;
                }
                None => {}
            }
        }
        Ok(out)
    }

    async fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let mut w = Write::default();
        w.outbox.push(entry.clone());
        self.apply(&w).await
    }

    async fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM outbox WHERE id = $1", &[&(id as i64)])
            .await
            .map_err(pg("clearing the outbox"))?;
        Ok(())
    }

    async fn inbox_append(
        &self,
        source: &str,
        high_water: u64,
        entries: &[InboxEntry],
    ) -> Result<(), StoreError> {
        let mut sealed = Vec::with_capacity(entries.len());
        for e in entries {
            let k = e.key();
            let v = serde_json::to_vec(e).expect("an inbox entry always serialises");
            sealed.push((
                self.vault.seal(&e.queue, &aad("inbox", &k), &v)?,
                k,
                e.queue.as_str(),
            ));
        }
        let high = high_water as i64;
        let mut client = self.client().await?;
        let (tx, mut pending) = self.begin(&mut client).await?;
        for (v, k, q) in &sealed {
            tx.execute(
                        "INSERT INTO inbox (key, source, value, queue) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                        &[k, &source, v, q],
                    )
                    .await
                    .map_err(pg("keeping an event"))?;
        }
        tx.execute(
                    "INSERT INTO inbox_high_water (source, high) VALUES ($1, $2) ON CONFLICT (source) DO UPDATE SET high = GREATEST(inbox_high_water.high, EXCLUDED.high)",
                    &[&source, &high],
                )
                .await
                .map_err(pg("raising the high-water mark"))?;
        tx.commit().await.map_err(pg("keeping events"))?;
        pending.saved = true;
        Ok(())
    }

    async fn inbox_high_water(&self, source: &str) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT high FROM inbox_high_water WHERE source = $1",
                &[&source],
            )
            .await
            .map_err(pg("reading the high-water mark"))?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
    }

    async fn inbox(&self, source: &str) -> Result<Vec<InboxEntry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key, value FROM inbox WHERE source = $1 ORDER BY key",
                &[&source],
            )
            .await
            .map_err(pg("reading the inbox"))?;
        self.read_inbox(client, rows).await
    }

    async fn inbox_before(
        &self,
        source: &str,
        queue: &str,
        seq: u64,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let client = self.client().await?;
        let (from, to) = (crate::inbox::key(source, 0), crate::inbox::key(source, seq));
        let rows = client
            .query(
                "SELECT key, value FROM inbox WHERE queue = $1 AND key >= $2 AND key < $3 ORDER BY key",
                &[&queue, &from, &to],
            )
            .await
            .map_err(pg("reading the inbox"))?;
        self.read_inbox(client, rows).await
    }

    fn vault(&self) -> Option<&Vault> {
        Some(self.vault.as_ref())
    }

    async fn forget_keys(&self, user: &str) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg("starting a transaction"))?;
        tx.execute("DELETE FROM person_keys WHERE person = $1", &[&user])
            .await
            .map_err(pg("destroying a person's keys"))?;
        // The other processes drop the key from their memory too.
        tx.execute("SELECT pg_notify($1, $2)", &[&FORGET_CHANNEL, &user])
            .await
            .map_err(pg("telling the other processes"))?;
        tx.commit()
            .await
            .map_err(pg("destroying a person's keys"))?;
        self.vault.forget(user)
    }

    async fn changed_elsewhere(&self) {
        self.due_elsewhere.notified().await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn outbox_changed_elsewhere(&self) {
        self.outbox_elsewhere.notified().await
    }

    async fn elect(&self, role: &str) -> Result<Option<Held>, StoreError> {
        elect(&self.config, &self.tls, role).await
    }

    async fn hold_turn(&self, user: &str) -> Result<TurnHold, StoreError> {
        hold(&self.people, PEOPLE, user).await
    }

    async fn try_hold_turn(
        &self,
        user: &str,
        within: std::time::Duration,
    ) -> Result<Option<TurnHold>, StoreError> {
        try_hold(&self.people, PEOPLE, user, within).await
    }

    async fn hold_group(&self, group: &str) -> Result<TurnHold, StoreError> {
        hold(&self.groups, GROUPS, group).await
    }
}

/// How many people's turns one process holds at once (more wait for a connection), and
/// groups' records, apart: with the turns' own pool (16) and the listener and roles (up to
/// 3), a process uses at most 43 connections.
const PEOPLE_HOLDS: usize = 16;
const GROUP_HOLDS: usize = 8;

/// The first half of the advisory lock keys of roles ("role" in ASCII); the second is the
/// role's name hashed ([`leases::lock_key`]).
const ROLES: i32 = 0x726f_6c65;
/// The same for people's turns ("turn").
const PEOPLE: i32 = 0x7475_726e;
/// The same for groups' records ("grup").
const GROUPS: i32 = 0x6772_7570;

/// How long a turn waits for another process to finish the same person's turn before giving
/// up ([`StoreError::Busy`]; a turn takes milliseconds).
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often the holder of a role checks that its connection (and so its lock) is alive, and
/// how long it waits for the answer before it counts the role as lost.
const ROLE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);
const ROLE_ANSWER: std::time::Duration = std::time::Duration::from_secs(3);

/// Tries to take `role` on a connection of its own (not the pool's: the lock lives as long as
/// the connection). Held: the connection is checked every [`ROLE_CHECK`]; when it fails the
/// role is lost (and the server, seeing the connection gone, gives the lock to another
/// process). A process that dies loses it at once: its connection closes.
async fn elect(
    config: &tokio_postgres::Config,
    tls: &Tls,
    role: &str,
) -> Result<Option<Held>, StoreError> {
    let (client, connection) = config
        .connect(tls.clone())
        .await
        .map_err(pg("connecting for an election"))?;
    let (closed_tx, mut closed) = tokio::sync::oneshot::channel::<()>();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
        let _ = closed_tx.send(());
    });
    let got: bool = match client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&ROLES, &leases::lock_key(role)],
        )
        .await
    {
        Ok(row) => row.get(0),
        Err(e) => {
            driver.abort();
            return Err(pg("taking a role")(e));
        }
    };
    if !got {
        drop(client);
        driver.abort();
        return Ok(None);
    }
    let (lost_tx, lost) = tokio::sync::watch::channel(false);
    let keeper = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut closed => break,
                _ = tokio::time::sleep(ROLE_CHECK) => {
                    match tokio::time::timeout(ROLE_ANSWER, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
        }
        let _ = lost_tx.send(true);
        // The client goes with this task: the connection closes and the lock with it.
    });
    Ok(Some(Held::new(
        lost,
        Box::new(AbortOnDrop(vec![keeper, driver])),
    )))
}

/// Tasks stopped when the value goes (a role's connection: closing it gives the role up).
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Holds the advisory lock (`space`, hash of `key`) on a connection from `pool`, waiting for
/// another process to let it go (at most [`TURN_WAIT`]). Two keys with the same hash merely
/// wait for each other.
async fn hold(pool: &Pool, space: i32, key: &str) -> Result<TurnHold, StoreError> {
    // Every connection of the pool busy for that long is a turn that cannot be taken now,
    // not a failing store.
    let client = match tokio::time::timeout(TURN_WAIT, pool.get()).await {
        Ok(c) => c.map_err(pool_error)?,
        Err(_) => {
            return Err(StoreError::Busy(format!(
                "no connection for a turn came free in {} seconds; it was not taken",
                TURN_WAIT.as_secs()
            )));
        }
    };
    let k = leases::lock_key(key);
    match tokio::time::timeout(
        TURN_WAIT,
        client.execute("SELECT pg_advisory_lock($1, $2)", &[&space, &k]),
    )
    .await
    {
        Ok(Ok(_)) => Ok(TurnHold::new(Box::new(Unlock {
            client: Some(client),
            space,
            key: k,
        }))),
        // The database broke a cycle of waits by failing this one: the turn is not taken,
        // and the store is well.
        Ok(Err(e)) if e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) => {
            Err(StoreError::Busy(
                "the database found this turn waiting in a cycle; it was not taken".into(),
            ))
        }
        Ok(Err(e)) => Err(pg("holding a turn")(e)),
        Err(_) => {
            // The lock may still be granted to this connection later: it leaves the pool and
            // closes, which releases whatever it holds.
            drop(deadpool_postgres::Object::take(client));
            Err(StoreError::Busy(format!(
                "another process has held this turn for {} seconds; it was not taken",
                TURN_WAIT.as_secs()
            )))
        }
    }
}

/// [`hold`] without waiting in the database: `pg_try_advisory_lock` asked every 50 ms for at
/// most `within`; `None` when it was never free.
async fn try_hold(
    pool: &Pool,
    space: i32,
    key: &str,
    within: std::time::Duration,
) -> Result<Option<TurnHold>, StoreError> {
    let deadline = tokio::time::Instant::now() + within;
    let Ok(client) = tokio::time::timeout_at(deadline, pool.get()).await else {
        return Ok(None);
    };
    let client = client.map_err(pool_error)?;
    let k = leases::lock_key(key);
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&space, &k])
            .await
            .map_err(pg("holding a turn"))?;
        if row.get::<_, bool>(0) {
            return Ok(Some(TurnHold::new(Box::new(Unlock {
                client: Some(client),
                space,
                key: k,
            }))));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Releases a held turn when dropped: unlocks on the connection (in a task) before it goes
/// back to the pool; without a runtime, or when the unlock fails, the connection is closed
/// instead, which releases the lock too.
struct Unlock {
    client: Option<deadpool_postgres::Object>,
    space: i32,
    key: i32,
}

impl Drop for Unlock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let (space, key) = (self.space, self.key);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let unlocked = client
                        .execute("SELECT pg_advisory_unlock($1, $2)", &[&space, &key])
                        .await;
                    if unlocked.is_err() {
                        drop(deadpool_postgres::Object::take(client));
                    }
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(client)),
        }
    }
}
