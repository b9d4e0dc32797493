//! `lensbot insights --community KEY [--period P] [--csv]`: a community's report for the
//! operator, exactly as its leads see it (the same computation and suppression,
//! [`crate::insights`]), as text or as CSV with one row per number.

use crate::content::Catalog;
use crate::insights::{Period, render};
use crate::session::Session;
use crate::store::Store;
use std::sync::Arc;

/// Prints the report; returns the exit code (0, or an error when the store failed).
pub fn run(
    catalog: Catalog,
    store: Arc<dyn Store>,
    community: &str,
    period: Period,
    csv: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let catalog = Arc::new(catalog);
    let session = Session::new(catalog.clone(), store);
    let report = crate::store::wait(session.insights(community, period, session.now()))?;
    if csv {
        print!("{}", render::csv(&catalog, &report));
    } else {
        // The text only: the picture's message is for chats.
        let messages = render::messages(&catalog, &report);
        println!("{}", crate::render::plain_all(&messages[..1]));
    }
    Ok(0)
}
