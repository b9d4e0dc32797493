//! lensbot: a guidance assistant that helps allied health professionals find their role in
//! tackling health inequalities, built on The King's Fund framework *My role in tackling health
//! inequalities* (six lenses × awareness, action, advocacy).
//!
//! The shape is a pure engine with thin shells around it:
//!
//! ```text
//! platform ─► adapter (parse) ─► inbox ─► queue (per person) ─► session (load, step,
//!     one atomic write: state + outgoing messages + event marked applied; group commit)
//!     ─► outbox ─► sender (limits, retries) ─► adapter (render) ─► platform
//! ```
//!
//! Every event takes that path, the scheduler's due reminders too (the due index is their
//! inbox). So one slow chat delays nobody else, a crash never leaves a saved answer
//! unanswered, a failed send is retried, and a replayed event applies once.
//!
//! Modules, from the inside out:
//! - [`content`]: the dialogue files in `dialogues/`, parsed strictly, checked (`file:line:col`
//!   for every mistake) and turned into a [`content::Catalog`]; typo-tolerant search.
//! - [`engine`]: `step(catalog, state, input, now) -> Turn`, pure: no IO, no clock, no
//!   randomness. Platform-neutral messages with buttons; the lens walk, lookups, account; the
//!   identifier guard (asked before free text that could identify someone is saved) and
//!   retention.
//! - [`files`]: the bytes of a message's file, drawn when it is sent: the CPD record as a PDF
//!   (krilla), the progress picture as a PNG (tiny-skia, ab_glyph), both in the embedded
//!   DejaVu Sans.
//! - [`store`]: the [`store::Store`] trait (async), the sled store (default), a PostgreSQL one
//!   (`--store postgres://…`, feature `postgres`: several processes over one database) and an
//!   in-memory one; versioned values with migrations; one atomic [`store::Write`] per turn;
//!   what one process holds while others wait ([`store::leases`]: a platform's role, a
//!   person's turn). The sled store
//!   defends what it holds: a checksum on every value, an integrity manifest checked at open,
//!   people's records sealed with a key of their own ([`store::vault`]) so forgetting them is
//!   destroying the key.
//! - [`challenge`]: peer-group reflection challenges (plans, facilitator commands, digests,
//!   check-ins and streaks), pure like the engine; the session keeps one record per group.
//! - [`insights`]: a network lead's view of a community (`/insights`, `lensbot insights`):
//!   counts from people's monthly tallies and the challenge records, never text, names or
//!   ids; fewer than five people hidden, and numbers that could be differenced withheld.
//! - [`inbox`]: platform events kept durable from arrival until their turn is saved
//!   (copies of an event are recognised exactly by the store's ledger of applied events).
//! - [`queue`]: a queue per person (or group), drained in order; different people side by side.
//! - [`session`]: one turn done safely: repeated events ignored (the store's ledger), the new
//!   state and the reply written in one atomic write, flushed (group commit) before anything
//!   is sent; one person on several platforms ([`session::link`], with the records' side in
//!   [`engine::link`]): a linked account's turns take its person's record after its own.
//! - [`outbox`]: the messages owed, as the store keeps them.
//! - [`sender`]: drains the outbox through a [`sender::Deliver`] each adapter supplies: a lane
//!   per recipient, retries with back-off, unreachable people marked.
//! - [`scheduler`]: the task that turns due reminders and challenge steps into outbox entries.
//! - `roles` (with a platform adapter): the elections that let one process at a time hold a
//!   platform's gateway or poller, scheduler and sender when several share a store.
//! - [`health`]: the process's health (store, platforms, outbox) served on `GET /healthz`; a
//!   failing store stops `serve` with exit code 75 so its supervisor restarts it.
//! - [`http_server`]: the accept loop the small HTTP servers share (health, Telegram's
//!   webhook, Discord's interactions endpoint): a task per connection, stopped on shutdown.
//! - [`logging`]: tracing set-up; one line per turn, never a token or a person's words.
//! - [`render`]: messages as plain text (terminal, transcripts).
//! - [`terminal`]: the terminal chat adapter.
//! - `telegram` (feature `telegram`, on by default): the Telegram adapter.
//! - `discord` (feature `discord`, on by default): the Discord adapter.
//! - [`transcript`]: transcript tests (`lensbot test`).
//! - [`backup`]: the whole store as versioned JSON lines, and back; daily backups, read back as
//!   they are written, rotated by day ([`backup::rotation`]).
//! - [`doctor`]: whether a store may be served (its integrity check at open) and
//!   `lensbot doctor`, every check printed.
//! - [`config`]: `lensbot serve`'s settings, from the environment and `lensbot.toml`.
//! - [`cli`]: the command line (declared with clap in `cli/args.rs`) and the command bodies
//!   (`serve` and `health` in `cli/serve.rs`).

pub mod backup;
pub mod challenge;
pub mod cli;
pub mod config;
pub mod content;
#[cfg(feature = "discord")]
pub mod discord;
pub mod doctor;
pub mod engine;
pub mod files;
pub mod health;
pub mod http_server;
pub mod inbox;
pub mod insights;
pub mod logging;
pub mod outbox;
pub mod queue;
pub mod render;
#[cfg(any(feature = "telegram", feature = "discord"))]
pub mod roles;
pub mod scheduler;
pub mod sender;
pub mod session;
pub mod store;
#[cfg(feature = "telegram")]
pub mod telegram;
pub mod terminal;
pub mod transcript;
