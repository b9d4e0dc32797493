//! The command line: arguments parsed by clap (declared in `cli/args.rs`) into a validated
//! [`Command`], then run; the command bodies are here, but `serve` and `health`, which are in
//! `cli/serve.rs`, and `insights`, in `cli/insights.rs`.

use crate::content::{self, Severity, check};
use crate::session::Session;
use crate::store::location::Location;
use crate::store::{SledStore, Store};
use crate::{terminal, transcript};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod args;
mod insights;
mod serve;
pub use args::{Cli, Command, StoreArgs, TelegramCommand, parse};

/// Runs the command line: no command prints the help (code 0), else [`run`].
pub fn run_cli(cli: Cli) -> Result<i32, Box<dyn std::error::Error>> {
    match cli.command {
        Some(cmd) => run(cmd),
        None => {
            use clap::CommandFactory;
            print!("{}", Cli::command().render_help());
            Ok(0)
        }
    }
}

/// Runs a command; returns the process exit code.
pub fn run(cmd: Command) -> Result<i32, Box<dyn std::error::Error>> {
    match cmd {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "lensbot", &mut std::io::stdout());
            Ok(0)
        }
        Command::Chat {
            user,
            store,
            dialogues,
            png,
        } => {
            let catalog = load_catalog(dialogues.as_deref())?;
            let served = open_serving(&store, None, false)?;
            let session = Arc::new(Session::new(Arc::new(catalog), served.store));
            let stdin = std::io::stdin();
            let interactive = stdin.is_terminal();
            let files = terminal::Files {
                dir: store.data_dir().join("files"),
                png,
            };
            terminal::run_with(
                session.clone(),
                &terminal::user_key(&user),
                stdin.lock(),
                interactive,
                &files,
            )?;
            crate::store::wait(session.store().flush())?;
            Ok(0)
        }
        Command::Check {
            dir,
            sources,
            write_ids,
        } => check(dir, sources, write_ids),
        Command::Telegram {
            webhook: Some(cmd),
            token_file,
            ..
        } => telegram_webhook_command(cmd, token_file),
        Command::Telegram {
            webhook: None,
            store,
            dialogues,
            token_file,
        } => telegram(store, dialogues, token_file),
        Command::Discord {
            store,
            dialogues,
            token_file,
        } => discord(store, dialogues, token_file),
        Command::Serve {
            config,
            store,
            check,
            online,
            accept_damaged,
        } => serve::serve(config, store, check, online, accept_damaged),
        Command::Migrate { store, from, to } => migrate(&store, from, to),
        Command::Doctor { store } => match store.location(None) {
            Location::Sled(dir) => crate::doctor::doctor(&dir),
            loc => crate::doctor::doctor_postgres(&loc, &store.data_dir()),
        },
        Command::Health { addr, config } => serve::health(addr, config),
        Command::Backup { file, store } => {
            let store = open_plain(&store)?;
            let store = store.as_ref();
            let f = std::fs::File::create(&file)
                .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
            let counts = crate::store::wait(crate::backup::write(
                store,
                std::io::BufWriter::new(f),
                jiff::Timestamp::now(),
            ))?;
            crate::backup::write_keys(store, &counts, &file)?;
            println!(
                "Wrote {} people and {} metadata entries to {}.",
                counts.users,
                counts.meta,
                file.display()
            );
            if counts.unreadable.is_empty() {
                return Ok(0);
            }
            eprintln!(
                "lensbot: could not read the records of {} {}, left out of this backup: {}.\n\
                 Everyone else is in it. `lensbot doctor` lists such records; an older backup (in DATA/backups) may hold a readable copy, which `lensbot restore` can put back.",
                counts.unreadable.len(),
                if counts.unreadable.len() == 1 {
                    "person"
                } else {
                    "people"
                },
                counts.unreadable.join(", ")
            );
            Ok(1)
        }
        Command::Restore {
            file,
            store,
            replace,
        } => {
            let f = std::fs::File::open(&file)
                .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
            let store = SledStore::open(&store.data_dir())?;
            let keys = crate::backup::read_keys(&file)?;
            let dir = store.data_dir();
            let counts = crate::store::wait(crate::backup::restore(
                &store,
                std::io::BufReader::new(f),
                keys.as_deref(),
                replace,
            ))
            .map_err(|e| match e {
                crate::backup::BackupError::WrongStoreKey(why) => format!(
                    "{why}\nRestoring needs the store key of the store that wrote the backup: copy that store's store.key to {}, or set {} to its file, then run this again.",
                    dir.join("store.key").display(),
                    crate::store::vault::KEY_FILE_ENV
                ),
                e => e.to_string(),
            })?;
            // The restored store is the new baseline its integrity is checked against.
            store.accept_damage()?;
            println!(
                "Restored {} people, {} reminders and {} metadata entries from {}.",
                counts.users,
                counts.reminders,
                counts.meta,
                file.display()
            );
            Ok(0)
        }
        Command::Test { paths, dialogues } => {
            let catalog = Arc::new(load_catalog(dialogues.as_deref())?);
            let paths = if paths.is_empty() {
                vec![PathBuf::from("tests/transcripts")]
            } else {
                paths
            };
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            let outcomes = transcript::run_paths(catalog, &refs);
            let failed: Vec<_> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
            for o in &outcomes {
                match &o.failure {
                    None => println!("ok   {}", o.name),
                    Some(f) => println!("FAIL {}\n{f}\n", o.name),
                }
            }
            println!(
                "{} passed, {} failed",
                outcomes.len() - failed.len(),
                failed.len()
            );
            Ok(if failed.is_empty() && !outcomes.is_empty() {
                0
            } else {
                1
            })
        }
        Command::Export { user, store } => {
            let store = open_plain(&store)?;
            let key = terminal::user_key(&user);
            // An account linked to another record: that record is the person's (`/link`).
            let held = match crate::store::wait(store.get_user(&key))? {
                Some(s) => match &s.linked_to {
                    Some(person) => crate::store::wait(store.get_user(person))?,
                    None => Some(s),
                },
                None => None,
            };
            match held {
                Some(s) => {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                    Ok(0)
                }
                None => {
                    eprintln!("lensbot: nothing is held about {key}");
                    Ok(1)
                }
            }
        }
        Command::Insights {
            community,
            period,
            csv,
            store,
            dialogues,
        } => {
            let catalog = load_catalog(dialogues.as_deref())?;
            let store = open_plain(&store)?;
            insights::run(catalog, store, &community, period, csv)
        }
        Command::Forget { user, store } => {
            // The same path as `/forgetme`: challenges, due entries, the record, a tombstone,
            // then the person's key, here and beside every backup.
            let store = open_plain(&store)?;
            let catalog = Arc::new(load_catalog(None)?);
            let session = Session::new(catalog, store);
            let key = terminal::user_key(&user);
            let rt = tokio::runtime::Runtime::new()?;
            let done = rt.block_on(session.forget(&key))?;
            if done.record || done.challenges > 0 || done.due > 0 || done.backups > 0 {
                println!(
                    "Deleted everything held about {key}: their record, {} due reminders, {} challenge memberships, and their key (also in {} backups, which can no longer bring them back).",
                    done.due, done.challenges, done.backups
                );
                Ok(0)
            } else {
                eprintln!("lensbot: nothing is held about {key}");
                Ok(1)
            }
        }
    }
}

/// Opens the store the options name for a process that serves people
/// ([`crate::doctor::open_location`]: sled's integrity check, PostgreSQL's schema check).
fn open_serving(
    store: &StoreArgs,
    configured: Option<&str>,
    accept: bool,
) -> Result<crate::doctor::Served, String> {
    let loc = store.location(configured);
    crate::store::wait(crate::doctor::open_location(
        &loc,
        &store.data_dir(),
        accept,
    ))
}

/// Opens the store the options name for a one-shot command (backup, export, forget): sled
/// as it is (damaged or not: these commands are how one gets data out), PostgreSQL checked.
fn open_plain(store: &StoreArgs) -> Result<Arc<dyn Store>, String> {
    open_at(&store.location(None), &store.data_dir())
}

/// Opens a store at a location; a PostgreSQL store's key comes from `key_dir` (its
/// `store.key`, unless `LENSBOT_STORE_KEY_FILE` names one).
fn open_at(loc: &Location, key_dir: &Path) -> Result<Arc<dyn Store>, String> {
    crate::store::wait(open_at_async(loc, key_dir))
}

/// `lensbot migrate`: a PostgreSQL store's schema brought up to date, or (`--from`, `--to`)
/// everyone moved from one store into another, empty one.
fn migrate(
    store: &StoreArgs,
    from: Option<String>,
    to: Option<String>,
) -> Result<i32, Box<dyn std::error::Error>> {
    let data = store.data_dir();
    let rt = tokio::runtime::Runtime::new()?;
    let (Some(from), Some(to)) = (from, to) else {
        let loc = store.location(None);
        let Location::Postgres(url) = &loc else {
            println!(
                "{} needs no migration: sled records are brought up to date as they are read.",
                loc.describe()
            );
            return Ok(0);
        };
        let (was, now) = rt.block_on(migrate_schema(url))?;
        if was == now {
            println!(
                "{}: the schema is at version {now}, up to date.",
                loc.describe()
            );
        } else {
            println!(
                "{}: the schema went from version {was} to {now}.",
                loc.describe()
            );
        }
        return Ok(0);
    };
    let (from, to) = (
        Location::choose(Some(&from), None, &data),
        Location::choose(Some(&to), None, &data),
    );
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    // Both sides use the same store key: the sled side's, when there is one.
    let key_dir = match (&from, &to) {
        (Location::Sled(d), _) | (_, Location::Sled(d)) => d.clone(),
        _ => data.clone(),
    };
    if let Location::Postgres(url) = &to {
        rt.block_on(migrate_schema(url))?;
    }
    let counts = rt.block_on(async {
        let source = open_at_async(&from, &key_dir).await?;
        let target = open_at_async(&to, &key_dir).await?;
        crate::backup::moving::copy(source.as_ref(), target.as_ref())
            .await
            .map_err(|e| e.to_string())
    })?;
    println!(
        "Moved {} people, {} reminders and {} metadata entries from {} to {}.",
        counts.users,
        counts.reminders,
        counts.meta,
        from.describe(),
        to.describe()
    );
    Ok(0)
}

/// [`open_at`] inside a runtime (so a PostgreSQL pool's connections live in it).
async fn open_at_async(loc: &Location, key_dir: &Path) -> Result<Arc<dyn Store>, String> {
    match loc {
        Location::Sled(dir) => Ok(Arc::new(SledStore::open(dir).map_err(|e| e.to_string())?)),
        Location::Postgres(_) => crate::doctor::open_location(loc, key_dir, false)
            .await
            .map(|s| s.store),
    }
}

/// Applies the PostgreSQL migrations: the schema version before and after.
#[cfg(feature = "postgres")]
async fn migrate_schema(url: &str) -> Result<(i32, i32), String> {
    crate::store::postgres::migrate_url(url)
        .await
        .map(|m| (m.from, m.to))
        .map_err(|e| e.to_string())
}

/// Without the `postgres` feature there is nothing to migrate with.
#[cfg(not(feature = "postgres"))]
async fn migrate_schema(_url: &str) -> Result<(i32, i32), String> {
    Err("this lensbot was built without PostgreSQL support (the `postgres` feature)".into())
}

/// Listens for SIGINT or SIGTERM from the moment it is called (inside a tokio runtime), so a
/// signal that comes while the bot is still starting is not missed; the future resolves at the
/// first one.
pub fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async move {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long a stop may take from the first SIGTERM or SIGINT before what has not finished is
/// left (the store is flushed either way): within the ten seconds deploy/README.md promises,
/// with room for the flush and the exit.
const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(8);

/// How long the runtime waits, once a command is done, for work still on its blocking threads
/// (a DNS lookup, a stuck request) before the process exits without it.
const RUNTIME_LEFTOVERS: std::time::Duration = std::time::Duration::from_millis(500);

/// Listens for stop signals (inside a tokio runtime): the first sets `stop` to true (a stop
/// that lets the turns in flight finish), a second ends the process at once with code 130.
fn on_signals(stop: Arc<tokio::sync::watch::Sender<bool>>) {
    let first = stop_signal();
    tokio::spawn(async move {
        first.await;
        tracing::info!("stopping: finishing the turns in flight");
        let _ = stop.send(true);
        stop_signal().await;
        tracing::warn!("a second signal: exiting at once");
        std::process::exit(130);
    });
}

/// Resolves [`STOP_WITHIN`] after `stop` turns true: the moment a stop stops waiting.
async fn stop_deadline(mut stop: tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|v| *v).await.is_err() {
        // The sender is gone without a stop: never.
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(STOP_WITHIN).await;
}

/// A future that resolves when an adapter should stop.
#[cfg_attr(not(any(feature = "telegram", feature = "discord")), allow(dead_code))]
type StopFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// Runs one platform adapter (`lensbot telegram`, `lensbot discord`) to its end: it is told to
/// stop at the first SIGTERM or SIGINT or when the store fails, a second signal ends the
/// process at once, and an adapter still busy [`STOP_WITHIN`] after the stop (a platform that
/// does not answer) is left: the store is flushed and the command returns.
#[cfg_attr(not(any(feature = "telegram", feature = "discord")), allow(dead_code))]
fn run_adapter<F, E>(
    rt: &tokio::runtime::Runtime,
    session: &Arc<Session>,
    adapter: impl FnOnce(StopFuture) -> F,
) -> Result<(), Box<dyn std::error::Error>>
where
    F: std::future::Future<Output = Result<(), E>>,
    E: Into<Box<dyn std::error::Error>>,
{
    let (tx, rx) = tokio::sync::watch::channel(false);
    let tx = Arc::new(tx);
    let _runtime = rt.enter();
    on_signals(tx.clone());
    let mut told = rx.clone();
    let stop: StopFuture = Box::pin(or_store_failed(session, async move {
        let _ = told.wait_for(|v| *v).await;
    }));
    let run = adapter(stop);
    rt.block_on(async move {
        tokio::select! {
            r = run => r.map_err(Into::into),
            _ = stop_deadline(rx) => {
                tracing::warn!("not stopped within {} seconds: leaving what is unfinished", STOP_WITHIN.as_secs());
                session.flush().await?;
                Ok(())
            }
        }
    })
}

/// Resolves at a stop signal or when the store fails, whichever comes first.
#[cfg_attr(not(any(feature = "telegram", feature = "discord")), allow(dead_code))]
fn or_store_failed(
    session: &Session,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let failed = session.health().failed();
    async move {
        tokio::select! {
            _ = stop => {}
            _ = failed => {}
        }
    }
}

/// Ends the process with [`crate::health::EXIT_STORE_FAILED`] when the store has failed, so
/// the supervisor starts a fresh one (see [`crate::health`]); otherwise returns.
fn exit_if_store_failed(health: &crate::health::Health) {
    if health.is_failing() {
        eprintln!(
            "lensbot: the store failed; stopped with exit code {} so the supervisor restarts lensbot",
            crate::health::EXIT_STORE_FAILED
        );
        // At once: sled's own shutdown would only meet its error again, and a flush stuck on
        // the disk would keep the runtime (and the process) from ending.
        std::process::exit(crate::health::EXIT_STORE_FAILED);
    }
}

/// Reads a secret from a file, or else from an environment variable; never prints it.
#[cfg_attr(not(any(feature = "telegram", feature = "discord")), allow(dead_code))]
fn secret(file: Option<&Path>, var: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
    if let Some(f) = file {
        let t = std::fs::read_to_string(f)
            .map_err(|e| format!("cannot read the token file {}: {e}", f.display()))?;
        let t = t.trim().to_string();
        if t.is_empty() {
            return Err(format!("the token file {} is empty", f.display()).into());
        }
        return Ok(Some(t));
    }
    Ok(std::env::var(var)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

#[cfg(feature = "telegram")]
fn telegram(
    store: StoreArgs,
    dialogues: Option<PathBuf>,
    token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::telegram;
    let token = secret(token_file.as_deref(), "TELEGRAM_BOT_TOKEN")?
        .ok_or(telegram::TelegramError::NoToken)?;
    let catalog = load_catalog(dialogues.as_deref())?;
    let served = open_serving(&store, None, false)?;
    let session = Arc::new(Session::new(Arc::new(catalog), served.store));
    let config = telegram::Config {
        token,
        api_url: std::env::var("TELEGRAM_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| telegram::DEFAULT_API_URL.to_string()),
        throttle: std::env::var("LENSBOT_TELEGRAM_THROTTLE")
            .map(|v| v != "off")
            .unwrap_or(true),
        poll_timeout: 10,
        webhook: None,
    };
    crate::logging::init("info");
    let rt = tokio::runtime::Runtime::new()?;
    let s = session.clone();
    let result = run_adapter(&rt, &session, move |stop| telegram::run(s, config, stop));
    rt.shutdown_timeout(RUNTIME_LEFTOVERS);
    exit_if_store_failed(session.health());
    result?;
    eprintln!("lensbot: stopped cleanly");
    Ok(0)
}

/// The webhook `serve` takes Telegram's updates through, when `telegram_webhook` is set (the
/// settings have checked that a secret comes with it).
#[cfg(feature = "telegram")]
fn telegram_webhook(
    settings: &crate::config::Settings,
) -> Option<crate::telegram::webhook::Config> {
    let w = settings.telegram_webhook.clone()?;
    Some(crate::telegram::webhook::Config {
        addr: w.addr,
        path: w.path,
        secret: settings.telegram_webhook_secret.clone()?,
    })
}

/// `lensbot telegram set-webhook | delete-webhook | webhook-info`: one Bot API call each, with
/// the token (`--token-file`, else the settings) and, for `set-webhook`, the secret `serve`
/// checks. Deploy steps: `serve` never makes these calls itself.
#[cfg(feature = "telegram")]
fn telegram_webhook_command(
    cmd: TelegramCommand,
    token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::telegram::{self, api::Api, webhook};
    let config = match &cmd {
        TelegramCommand::SetWebhook { config, .. }
        | TelegramCommand::DeleteWebhook { config, .. }
        | TelegramCommand::WebhookInfo { config } => config.clone(),
    };
    let settings = match crate::config::load(config.as_deref(), None) {
        Ok(s) => Some(s),
        // A token file on the command line is enough without any other setting.
        Err(crate::config::ConfigError::NoPlatform) if token_file.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let (token, api_url) = match (
        secret(token_file.as_deref(), "TELEGRAM_BOT_TOKEN")?,
        settings.as_ref().and_then(|s| s.telegram.clone()),
    ) {
        (Some(t), configured) => (
            t,
            configured.map(|c| c.1).unwrap_or_else(|| {
                std::env::var("TELEGRAM_API_URL")
                    .ok()
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| telegram::DEFAULT_API_URL.to_string())
            }),
        ),
        (None, Some((t, url))) => (t, url),
        (None, None) => return Err(telegram::TelegramError::NoToken.into()),
    };
    let api = Api::new(&api_url, &token);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cmd {
        TelegramCommand::SetWebhook {
            url,
            max_connections,
            drop_pending_updates,
            ..
        } => {
            let parsed = reqwest::Url::parse(&url).map_err(|_| {
                format!("`{url}` is not a URL; give the https:// address Telegram should post to")
            })?;
            let Some(secret) = crate::config::webhook_settings(config.as_deref())?.1 else {
                return Err("no webhook secret: set LENSBOT_TELEGRAM_WEBHOOK_SECRET, or telegram_webhook_secret_file in lensbot.toml, to the secret `lensbot serve` checks (1-256 characters of A-Z a-z 0-9 _ -)".into());
            };
            let body = webhook::set_webhook_body(
                parsed.as_str(),
                &secret,
                max_connections,
                drop_pending_updates,
            );
            rt.block_on(webhook::set_webhook(&api, &body))
                .map_err(|e| format!("the webhook was not set: {e}"))?;
            println!(
                "Telegram now posts the bot's updates to {parsed}, with the secret from the settings. `lensbot serve` with telegram_webhook set takes them; polling (`lensbot telegram`) is refused until `lensbot telegram delete-webhook`."
            );
        }
        TelegramCommand::DeleteWebhook {
            drop_pending_updates,
            ..
        } => {
            rt.block_on(webhook::delete_webhook(&api, drop_pending_updates))
                .map_err(|e| format!("the webhook was not removed: {e}"))?;
            println!(
                "The webhook is removed{}: the bot takes updates by polling again (`lensbot telegram`, or `serve` without telegram_webhook).",
                if drop_pending_updates {
                    " and the updates waiting were dropped"
                } else {
                    ""
                }
            );
        }
        TelegramCommand::WebhookInfo { .. } => {
            let info = rt
                .block_on(webhook::webhook_info(&api))
                .map_err(|e| format!("could not ask about the webhook: {e}"))?;
            println!("{}", webhook::describe_info(&info));
        }
    }
    Ok(0)
}

#[cfg(not(feature = "telegram"))]
fn telegram_webhook_command(
    _cmd: TelegramCommand,
    _token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    Err("this lensbot was built without the Telegram adapter (cargo feature `telegram`)".into())
}

#[cfg(not(feature = "telegram"))]
fn telegram(
    _store: StoreArgs,
    _dialogues: Option<PathBuf>,
    _token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    Err("this lensbot was built without the Telegram adapter (cargo feature `telegram`)".into())
}

#[cfg(feature = "discord")]
fn discord(
    store: StoreArgs,
    dialogues: Option<PathBuf>,
    token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::discord;
    let token =
        secret(token_file.as_deref(), "DISCORD_TOKEN")?.ok_or(discord::DiscordError::NoToken)?;
    let guild = match std::env::var("DISCORD_GUILD_ID")
        .ok()
        .filter(|g| !g.is_empty())
    {
        Some(g) => Some(
            g.parse::<u64>()
                .map_err(|_| format!("DISCORD_GUILD_ID `{g}` is not a server id (a number)"))?,
        ),
        None => None,
    };
    let catalog = load_catalog(dialogues.as_deref())?;
    let served = open_serving(&store, None, false)?;
    let session = Arc::new(Session::new(Arc::new(catalog), served.store));
    let facilitator_role =
        match std::env::var("DISCORD_FACILITATOR_ROLE")
            .ok()
            .filter(|r| !r.is_empty())
        {
            Some(r) => Some(r.parse::<u64>().map_err(|_| {
                format!("DISCORD_FACILITATOR_ROLE `{r}` is not a role id (a number)")
            })?),
            None => None,
        };
    let config = discord::Config {
        token,
        api_url: std::env::var("DISCORD_API_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        guild,
        facilitator_role,
    };
    crate::logging::init("info");
    let rt = tokio::runtime::Runtime::new()?;
    let s = session.clone();
    let result = run_adapter(&rt, &session, move |stop| discord::run(s, config, stop));
    rt.shutdown_timeout(RUNTIME_LEFTOVERS);
    exit_if_store_failed(session.health());
    result?;
    eprintln!("lensbot: stopped cleanly");
    Ok(0)
}

#[cfg(not(feature = "discord"))]
fn discord(
    _store: StoreArgs,
    _dialogues: Option<PathBuf>,
    _token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    Err("this lensbot was built without the Discord adapter (cargo feature `discord`)".into())
}

/// Loads the content, or explains why it cannot be used.
pub fn load_catalog(dir: Option<&Path>) -> Result<content::Catalog, content::LoadError> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(content::default_dir);
    content::load(&dir).map(|(c, _)| c)
}

fn check(
    dir: Option<PathBuf>,
    sources: Option<PathBuf>,
    write_ids: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let dir = dir.unwrap_or_else(content::default_dir);
    let sources = sources.or_else(|| {
        let guess = dir.join("../../shared/sources");
        guess.is_dir().then_some(guess)
    });
    let options = check::Options {
        sources: sources.clone(),
        ids_lock: !write_ids,
    };
    let (catalog, problems) = check::check_dir(&dir, &options);
    for p in &problems {
        println!("{}", Problem(p, &dir));
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    match &sources {
        Some(s) => println!(
            "URLs checked against the source documents in {}",
            s.display()
        ),
        None => println!(
            "source documents not found: URLs were not checked against them (use --sources DIR)"
        ),
    }
    let count = |n: usize, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    println!("{}, {}", count(errors, "error"), count(warnings, "warning"));
    if let (Some(c), true) = (&catalog, write_ids) {
        let mut lines = vec![
            "# Stop ids released to users: the checker reports any that disappear.".to_string(),
            "# Written by `lensbot check --write-ids`; mark a removed id `ID retired`.".to_string(),
        ];
        let old = std::fs::read_to_string(dir.join("ids.lock")).unwrap_or_default();
        let ids = check::released_ids(c);
        for l in old.lines() {
            let mut parts = l.split_whitespace();
            if let (Some(id), Some("retired")) = (parts.next(), parts.next())
                && !ids.iter().any(|i| i == id)
            {
                lines.push(format!("{id} retired"));
            }
        }
        lines.extend(ids);
        std::fs::write(dir.join("ids.lock"), lines.join("\n") + "\n")?;
        println!("wrote {}", dir.join("ids.lock").display());
    }
    Ok(if errors == 0 { 0 } else { 1 })
}

struct Problem<'a>(&'a check::Problem, &'a Path);

impl std::fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut p = self.0.clone();
        p.file = self.1.join(&p.file);
        write!(f, "{p}")
    }
}
