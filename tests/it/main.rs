//! The integration tests, one binary with a module per area (ripgrep's layout):
//! - `challenges`: group challenges through the session with a manual clock;
//! - `checker`: broken content, each class of mistake named with its file and line;
//! - `backups`: daily backups: one a day, rotation by day, damaged stores, read back and counted;
//! - `store`: one conformance routine run against the in-memory and the sled store;
//! - `postgres`: the same routine and the PostgreSQL store's own promises (migrations, sealed
//!   values, erasure, the ledger across processes) against a real PostgreSQL;
//! - `files`: the CPD record's PDF and Markdown read back, the progress picture decoded,
//!   `/mydata` as a JSON file, the terminal writing them;
//! - `engine`: properties over random input, purity, edits mid-lens, content coverage;
//! - `session`: ordering, repeated events, durability;
//! - `isolation`: records that cannot be read (too new, damaged) skipped by every sweep, and
//!   their owners told plainly;
//! - `identifiers`: the identifier guard: a test per kind, the corpus (no miss, the
//!   false-positive rate), the three choices, every place free text is saved, nothing logged;
//! - `linking`: one person on both platforms: link codes (once, ten minutes, no guessing),
//!   merged histories, both platforms at once, forgetting and unlinking, and both fakes at once;
//! - `insights`: community insights: counts for a community of forty built through the
//!   session, fewer than five hidden, the differencing rule, opting out, challenges, nothing
//!   personal, the CLI with `--csv`; the Discord and Telegram surfaces are in `insights_platforms`;
//! - `reminders`: meeting prompts in three taps, the scheduler task, restarts;
//! - `retention`: deletion after a stretch without activity, the warning, the clock reset,
//!   `/retention`, old records, with the manual clock;
//! - `transcripts`: every file under `tests/transcripts/`;
//! - `cli`: the real `lensbot` binary, including a SIGKILL right after a confirmed answer;
//! - `telegram`: the Telegram adapter with the real teloxide client against `fake_telegram`;
//! - `telegram_spec`: requests to the fake Telegram checked against the Bot API spec;
//! - `telegram_webhook`: Telegram pushing updates to a webhook (the endpoint's answers, the
//!   secret, retries, a SIGKILL under a stream of pushes, a full disk), and the deploy commands
//!   `lensbot telegram set-webhook`, `delete-webhook`, `webhook-info`;
//! - `deep_links`: `/start` links only navigate; challenge joins only for the group's members;
//! - `discord`: the Discord adapter with the real serenity client against `fake_discord`;
//! - `discord_native`: Discord as its users expect an app to behave (issue 15): answers in
//!   place, the question in the answer box, subcommands and autocomplete, servers named;
//! - `discord_http`: Discord interactions posted, signed, to the interactions endpoint: bad
//!   signatures refused, answers in the HTTP body within three seconds, follow-ups, `serve`;
//! - `discord_spec`: what the bot sends Discord (to the fake, or as an HTTP answer) checked
//!   against Discord's OpenAPI spec, used by `discord_native` and `discord_http`;
//! - `faults`: the real binary under SIGKILL storms, SIGTERM under a backlog, 500 chats at the
//!   limits, a full disk (a tmpfs, as root);
//! - `service`: `lensbot serve` with both platforms, shutdown, logs, backups and restores,
//!   `/healthz`.
//! - `cluster`: three `lensbot serve` processes over one PostgreSQL: one holder per platform
//!   role, taken over when it is killed, nothing lost or applied twice.

mod backups;
mod challenges;
mod checker;
mod cli;
#[cfg(all(feature = "telegram", feature = "discord", feature = "postgres"))]
mod cluster;
#[cfg(feature = "telegram")]
mod deep_links;
#[cfg(feature = "discord")]
mod discord;
#[cfg(feature = "discord")]
mod discord_http;
#[cfg(feature = "discord")]
mod discord_native;
#[cfg(feature = "discord")]
mod discord_spec;
mod engine;
#[cfg(feature = "discord")]
mod fake_discord;
#[cfg(feature = "telegram")]
mod fake_telegram;
#[cfg(feature = "telegram")]
mod faults;
mod files;
mod helpers;
mod identifiers;
mod insights;
#[cfg(all(feature = "telegram", feature = "discord"))]
mod integrity;
mod isolation;
mod linking;
#[cfg(feature = "postgres")]
mod postgres;
mod reminders;
mod retention;
#[cfg(all(feature = "telegram", feature = "discord"))]
mod service;
mod session;
mod store;
#[cfg(feature = "telegram")]
mod telegram;
mod telegram_spec;
#[cfg(feature = "telegram")]
mod telegram_webhook;
mod transcripts;
