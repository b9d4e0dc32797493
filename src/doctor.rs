//! The store's checks as the operator meets them: whether a process may serve a store
//! ([`open_served`]: a store that failed its integrity check is refused, with what is missing
//! and how to restore, unless the damage is accepted), and `lensbot doctor`, which runs every
//! check (the manifest, every value's checksum, every record decrypted and decoded, the key
//! file, the backups) and prints a report.

use crate::store::location::Location;
use crate::store::{SledStore, Store, StoreError, integrity};
use std::path::Path;
use std::sync::Arc;

/// A store opened for serving ([`open_location`]).
pub struct Served {
    /// The store.
    pub store: Arc<dyn Store>,
    /// When damage was accepted (`--accept-damaged`, sled only), why it was damaged.
    pub damage: Option<String>,
    /// Records found unreadable at open (sled's check; 0 for PostgreSQL, which checks each
    /// record as it is read).
    pub unreadable: usize,
}

/// Opens the store at `loc` for a process that will serve people: sled through
/// [`open_served`] (its integrity check), PostgreSQL by connecting, checking the schema version
/// and reading the key table under the store key (`LENSBOT_STORE_KEY_FILE`, else
/// `DATA/store.key`; every process over one database needs the same). Either way a forget a
/// crash interrupted is finished first.
pub async fn open_location(loc: &Location, data: &Path, accept: bool) -> Result<Served, String> {
    match loc {
        Location::Sled(dir) => {
            let (sled, damage) = open_served(dir, accept)?;
            let unreadable = sled.integrity().unreadable.len();
            Ok(Served {
                store: Arc::new(sled),
                damage,
                unreadable,
            })
        }
        Location::Postgres(url) => open_postgres(url, data).await,
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, data: &Path) -> Result<Served, String> {
    let key = crate::store::vault::StoreKey::load(data).map_err(|e| e.to_string())?;
    let store = crate::store::postgres::PgStore::connect(url, key)
        .await
        .map_err(|e| e.to_string())?;
    match crate::session::finish_forgetting(&store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "finished forgets a crash interrupted"),
        Err(e) => return Err(e.to_string()),
    }
    Ok(Served {
        store: Arc::new(store),
        damage: None,
        unreadable: 0,
    })
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str, _data: &Path) -> Result<Served, String> {
    Err("this lensbot was built without PostgreSQL support (the `postgres` feature)".into())
}

/// Opens the store for a process that will serve people. A store that failed its check at
/// open is refused (the error says what is missing and how to restore) unless `accept`, which
/// rewrites its manifest to what it holds. Returns the store and, when damage was accepted,
/// a one-line reason (backups written by this process are marked damaged with it).
pub fn open_served(dir: &Path, accept: bool) -> Result<(SledStore, Option<String>), String> {
    let store = match SledStore::open(dir) {
        Ok(s) => s,
        Err(StoreError::Damaged(why)) => {
            return Err(format!("{why}\n{}", integrity::how_to_restore(dir)));
        }
        Err(e) => return Err(e.to_string()),
    };
    // A forget a crash interrupted (the record gone, the key not) is finished first.
    match crate::store::wait(crate::session::finish_forgetting(&store)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "finished forgets a crash interrupted"),
        Err(e) => return Err(e.to_string()),
    }
    // Backups an older lensbot wrote in plain text are sealed, so forgetting reaches them.
    match crate::backup::seal_plain_backups(&store, &dir.join("backups")) {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "sealed backups written before encryption"),
        Err(e) => tracing::warn!(error = %e, "could not seal the older backups"),
    }
    let report = store.integrity();
    if !report.is_damaged() {
        return Ok((store, None));
    }
    if !accept {
        return Err(format!(
            "{}\n(lensbot serve --accept-damaged serves it as it is.)",
            report.advice(dir)
        ));
    }
    let reason = report.problems.join("; ");
    tracing::warn!(
        "serving a damaged store because --accept-damaged was given: {reason}; backups written now are marked damaged"
    );
    store.accept_damage().map_err(|e| e.to_string())?;
    Ok((store, Some(reason)))
}

/// `lensbot doctor` over PostgreSQL: the schema version checked at connection, then every
/// record read in full (decrypted and decoded) and the person keys counted. PostgreSQL keeps
/// its own checksums and write-ahead log, so sled's manifest has no counterpart here.
pub fn doctor_postgres(loc: &Location, data: &Path) -> Result<i32, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let served = match open_location(loc, data, false).await {
            Ok(s) => s,
            Err(e) => {
                println!(
                    "{}: cannot be served
  {e}",
                    loc.describe()
                );
                return Ok(1);
            }
        };
        let store = served.store;
        println!("{}", loc.describe());
        println!("  schema: up to date");
        println!(
            "  holds {} people and {} metadata entries",
            store.users().await?.len(),
            store.meta_keys().await?.len()
        );
        if let Some(v) = store.vault() {
            println!("  keys: {} person keys in the key table", v.len());
        }
        let unreadable = crate::session::unreadable_records(store.as_ref()).await?;
        if unreadable.is_empty() {
            println!("  every record reads back");
            println!("All checks passed.");
            Ok(0)
        } else {
            println!(
                "  {} records cannot be read (skipped while serving):",
                unreadable.len()
            );
            for e in &unreadable {
                println!("    - {e}");
            }
            Ok(1)
        }
    })
}

/// `lensbot doctor`: every check, printed; returns the exit code (0 when all is well, 1 when
/// anything needs the operator).
pub fn doctor(dir: &Path) -> Result<i32, Box<dyn std::error::Error>> {
    let store = match SledStore::open(dir) {
        Ok(s) => s,
        Err(StoreError::Damaged(why)) => {
            println!("Store in {}: DAMAGED\n  {why}", dir.display());
            print_backups(dir);
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    let r = store.integrity().clone();
    let mut fine = true;
    println!("Store in {}", dir.display());
    println!(
        "  holds {} people, {} metadata entries and {} due entries (write {})",
        r.counts.users, r.counts.meta, r.counts.due, r.seq
    );
    match &r.manifest {
        Some(m) => println!(
            "  manifest: write {}, {} people, {} metadata entries, {} due entries",
            m.seq, m.counts.users, m.counts.meta, m.counts.due
        ),
        None => println!("  manifest: none (a new store, or one an older lensbot wrote)"),
    }
    if r.upgraded {
        println!("  upgraded at this open: checksums added and records encrypted");
    }
    if r.problems.is_empty() {
        println!("  integrity: as recorded");
    } else {
        fine = false;
        println!("  integrity: DAMAGED");
        for p in &r.problems {
            println!("    - {p}");
        }
    }
    let vault = store.vault();
    println!(
        "  keys: {} person keys in {}",
        vault.len(),
        dir.join("keys").display()
    );
    // Every record read in full: checksum, decryption, format.
    let mut unreadable: Vec<String> = r
        .unreadable
        .iter()
        .map(|(k, why)| format!("{k}: {why}"))
        .collect();
    for e in crate::store::wait(crate::session::unreadable_records(&store))? {
        if let Some(k) = e.unreadable_key() {
            let line = format!("{k}: {e}");
            if !unreadable.iter().any(|u| u.starts_with(&format!("{k}: "))) {
                unreadable.push(line);
            }
        }
    }
    if unreadable.is_empty() {
        println!("  every record reads back");
    } else {
        fine = false;
        println!(
            "  {} records cannot be read (skipped while serving):",
            unreadable.len()
        );
        for u in &unreadable {
            println!("    - {u}");
        }
    }
    print_backups(dir);
    if fine {
        println!("All checks passed.");
        Ok(0)
    } else {
        if r.is_damaged() {
            println!("\n{}", r.advice(dir));
        } else {
            println!(
                "\nA record that cannot be read can be restored from an older backup (restore it into a spare data directory with `lensbot restore FILE --data DIR`, after copying this store's store.key there, then `lensbot export --user ID --data DIR`), or upgrade lensbot if it was written by a newer one."
            );
        }
        Ok(1)
    }
}

fn print_backups(dir: &Path) {
    let backups = dir.join("backups");
    match crate::backup::rotation::list(&backups) {
        Ok(list) if list.is_empty() => println!("Backups in {}: none", backups.display()),
        Ok(list) => {
            println!("Backups in {} (oldest first):", backups.display());
            for b in list {
                let keys = crate::backup::keys_path(&b.path);
                let note = if keys.exists() { "" } else { " (no key file)" };
                println!("  {}{note}", b.summary());
            }
        }
        Err(e) => println!("Backups in {}: cannot be listed ({e})", backups.display()),
    }
}
