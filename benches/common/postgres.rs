//! A fresh PostgreSQL database for a benchmark run, shared by `benches/stores.rs`,
//! `benches/million.rs` and `benches/cluster.rs` (each names its own database, so runs of
//! different benches side by side do not meet). The cluster is the throwaway one
//! `scripts/with-postgres` starts.

/// A fresh database called `name` on the cluster at `base` (dropped first if a run before
/// left it), migrated to the current schema; its URL.
pub async fn fresh_database(base: &str, name: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("the cluster answers");
    tokio::spawn(conn);
    // One statement each: CREATE DATABASE cannot run inside a (multi-statement) transaction.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).await.unwrap();
    }
    let url = base.replacen("/postgres?", &format!("/{name}?"), 1);
    lensbot::store::postgres::migrate_url(&url).await.unwrap();
    url
}
