//! The PostgreSQL schema as plain SQL files (`migrations/NNNN_name.sql`), applied in order in
//! one transaction under an advisory lock, with a version table
//! (`lensbot_schema`). `lensbot migrate` applies what is missing; a serving process only
//! checks ([`check`]) and refuses a database that is behind (run `lensbot migrate`) or newer
//! than the binary (upgrade lensbot). Several processes starting at once cannot apply a file
//! twice: the lock is taken before the version is read.

use crate::store::StoreError;
use tokio_postgres::Client;

/// Every migration this binary knows, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "due_leases",
        include_str!("../../../migrations/0002_due_leases.sql"),
    ),
    (
        3,
        "inbox_queue",
        include_str!("../../../migrations/0003_inbox_queue.sql"),
    ),
];

/// The advisory lock every migration run holds ("lensbot" in ASCII, as a number).
const LOCK: i64 = 0x006c_656e_7362_6f74;

/// The newest schema version this binary knows.
pub fn latest() -> i32 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

fn pg(what: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Io(format!("PostgreSQL, {what}: {}", super::describe(&e)))
}

/// The version the database is at (0 when lensbot has never migrated it).
pub async fn version(client: &Client) -> Result<i32, StoreError> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'lensbot_schema' AND schemaname = current_schema())",
            &[],
        )
        .await
        .map_err(pg("reading the schema version"))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM lensbot_schema", &[])
        .await
        .map_err(pg("reading the schema version"))?;
    Ok(row.get(0))
}

/// Checks that the database is at this binary's version, with what to do when it is not.
pub async fn check(client: &Client) -> Result<(), StoreError> {
    let v = version(client).await?;
    match v.cmp(&latest()) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(StoreError::Io(format!(
            "the database's lensbot schema is at version {v}, this lensbot needs {}: run `lensbot migrate --store URL` first",
            latest()
        ))),
        std::cmp::Ordering::Greater => Err(StoreError::Io(format!(
            "the database's lensbot schema is at version {v}, newer than this lensbot knows ({}): upgrade lensbot",
            latest()
        ))),
    }
}

/// What [`migrate`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The version before.
    pub from: i32,
    /// The version now.
    pub to: i32,
}

/// Applies every migration the database lacks, each in its own transaction under the
/// advisory lock. Refuses a database newer than this binary and changes nothing then.
pub async fn migrate(client: &mut Client) -> Result<Migrated, StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(pg("taking the migration lock"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS lensbot_schema (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg("creating the version table"))?;
    let from: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM lensbot_schema", &[])
        .await
        .map_err(pg("reading the schema version"))?
        .get(0);
    if from > latest() {
        return Err(StoreError::Io(format!(
            "the database's lensbot schema is at version {from}, newer than this lensbot knows ({}): upgrade lensbot; nothing was changed",
            latest()
        )));
    }
    // One transaction for all: either the database reaches the latest version or it stays
    // where it was.
    for (v, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > from) {
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Io(format!(
                "PostgreSQL, migration {v:04}_{name}: {}",
                super::describe(&e)
            ))
        })?;
        tx.execute(
            "INSERT INTO lensbot_schema (version, name) VALUES ($1, $2)",
            &[v, name],
        )
        .await
        .map_err(pg("recording the schema version"))?;
    }
    tx.commit().await.map_err(pg("committing the migration"))?;
    Ok(Migrated { from, to: latest() })
}
