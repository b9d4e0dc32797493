//! lensbot: a guidance assistant that helps allied health professionals find their role in
//! tackling health inequalities, built on The King's Fund framework *My role in tackling health
//! inequalities* (six lenses × awareness, action, advocacy).
//!
//! The shape is a pure engine with thin shells around it:
//!
//! ```text
//! input ─► adapter (parse) ─► session (per-person lock, load, step, save+flush) ─► adapter (render, send)
//! ```
//!
//! Modules, from the inside out:
//! - [`content`]: the dialogue files in `dialogues/`, parsed strictly, checked (`file:line:col`
//!   for every mistake) and turned into a [`content::Catalog`]; typo-tolerant search.
//! - [`engine`]: `step(catalog, state, input, now) -> Turn`, pure: no IO, no clock, no
//!   randomness. Platform-neutral messages with buttons; the lens walk, lookups, account.
//! - [`store`]: the [`store::Store`] trait, the sled store (default) and an in-memory one;
//!   versioned values with migrations.
//! - [`challenge`]: peer-group reflection challenges (plans, facilitator commands, digests,
//!   check-ins and streaks), pure like the engine; the session keeps one record per group.
//! - [`session`]: one turn done safely: per-person ordering, repeated events ignored, flushed
//!   before the reply.
//! - [`scheduler`]: the task that delivers reminders when they are due, through a
//!   [`scheduler::Deliver`] each adapter supplies.
//! - [`logging`]: tracing set-up; one line per turn, never a token or a person's words.
//! - [`render`]: messages as plain text (terminal, transcripts).
//! - [`terminal`]: the terminal chat adapter.
//! - `telegram` (feature `telegram`, on by default): the Telegram adapter.
//! - `discord` (feature `discord`, on by default): the Discord adapter.
//! - [`transcript`]: transcript tests (`lensbot test`).
//! - [`backup`]: the whole store as versioned JSON lines, and back.
//! - [`config`]: `lensbot serve`'s settings, from the environment and `lensbot.toml`.
//! - [`cli`]: the command line.

pub mod backup;
pub mod challenge;
pub mod cli;
pub mod config;
pub mod content;
#[cfg(feature = "discord")]
pub mod discord;
pub mod engine;
pub mod inbox;
pub mod logging;
pub mod outbox;
pub mod queue;
pub mod render;
pub mod scheduler;
pub mod sender;
pub mod session;
pub mod store;
#[cfg(feature = "telegram")]
pub mod telegram;
pub mod terminal;
pub mod transcript;
