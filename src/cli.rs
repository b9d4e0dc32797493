//! The command line: raw arguments parsed into a validated [`Command`], then run.
//!
//! Hand-written rather than clap to keep the engine's build small; every mistake gets a
//! message naming the flag and what was expected, and exit code 2.

use crate::content::{self, Severity, check};
use crate::session::Session;
use crate::store::{self, SledStore, Store};
use crate::{terminal, transcript};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Usage text.
pub const USAGE: &str = "\
lensbot: helps allied health professionals find their role in tackling health inequalities

USAGE:
    lensbot chat [--user ID] [--data DIR] [--dialogues DIR] [--png FILE]
        Chat in the terminal (one message a line; buttons are numbered). Files
        (/export, /mydata) go to DIR/files; --png FILE writes /progress's picture.
    lensbot telegram [--data DIR] [--dialogues DIR] [--token-file FILE]
        Run the bot on Telegram (token from $TELEGRAM_BOT_TOKEN or --token-file;
        API address from $TELEGRAM_API_URL, default Telegram's).
    lensbot discord [--data DIR] [--dialogues DIR] [--token-file FILE]
        Run the bot on Discord (token from $DISCORD_TOKEN or --token-file; REST
        address from $DISCORD_API_URL; $DISCORD_GUILD_ID registers commands to one server).
    lensbot serve [--config FILE] [--data DIR] [--check] [--accept-damaged]
        Run every configured platform and the reminders in one process (settings from
        the environment and lensbot.toml); --check validates and exits. A store that
        fails its integrity check is not served unless --accept-damaged. Serves
        GET /healthz on 127.0.0.1:9631 (setting `health`, $LENSBOT_HEALTH; `off`).
        Exits 75 when the store fails (a full disk), so a supervisor restarts it.
    lensbot health [--addr ADDR] [--config FILE]
        Ask a running `serve` for its health; prints the JSON, exits 0 when healthy
        or degraded, 1 when failing or unreachable (for container health checks).
    lensbot doctor [--data DIR]
        Check the store (manifest, checksums, every record, keys) and list the backups.
    lensbot backup FILE [--data DIR]
        Write the whole store to FILE as JSON lines, people's records encrypted, with
        their keys in FILE's .keys beside it (not while a bot holds the store).
    lensbot restore FILE [--data DIR] [--replace]
        Read a backup into an empty store (--replace empties it first).
    lensbot check [DIR] [--sources DIR] [--write-ids]
        Check the dialogue files; prints file:line:col for every problem.
    lensbot test [FILES or DIRS...] [--dialogues DIR]
        Replay transcript tests (default: tests/transcripts/).
    lensbot export --user ID [--data DIR]
        Print everything held about a person, as JSON.
    lensbot forget --user ID [--data DIR]
        Delete everything held about a person.

The data directory defaults to $LENSBOT_DATA, else ./lensbot-data.
The dialogues folder defaults to $LENSBOT_DIALOGUES, else ./dialogues.
";

/// A validated command.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `chat`.
    Chat {
        /// Who is chatting.
        user: String,
        /// Data directory.
        data: Option<PathBuf>,
        /// Content folder.
        dialogues: Option<PathBuf>,
        /// Where `/progress` writes its picture (`--png FILE`), if anywhere.
        png: Option<PathBuf>,
    },
    /// `telegram`.
    Telegram {
        /// Data directory.
        data: Option<PathBuf>,
        /// Content folder.
        dialogues: Option<PathBuf>,
        /// A file holding the token.
        token_file: Option<PathBuf>,
    },
    /// `discord`.
    Discord {
        /// Data directory.
        data: Option<PathBuf>,
        /// Content folder.
        dialogues: Option<PathBuf>,
        /// A file holding the token.
        token_file: Option<PathBuf>,
    },
    /// `serve`.
    Serve {
        /// Settings file.
        config: Option<PathBuf>,
        /// Data directory.
        data: Option<PathBuf>,
        /// Validate and exit.
        check: bool,
        /// Serve a store that failed its integrity check.
        accept_damaged: bool,
    },
    /// `doctor`.
    Doctor {
        /// Data directory.
        data: Option<PathBuf>,
    },
    /// `health`.
    Health {
        /// The endpoint's address (else the settings').
        addr: Option<String>,
        /// Settings file.
        config: Option<PathBuf>,
    },
    /// `backup`.
    Backup {
        /// Where to write.
        file: PathBuf,
        /// Data directory.
        data: Option<PathBuf>,
    },
    /// `restore`.
    Restore {
        /// What to read.
        file: PathBuf,
        /// Data directory.
        data: Option<PathBuf>,
        /// Empty the store first.
        replace: bool,
    },
    /// `check`.
    Check {
        /// Content folder.
        dir: Option<PathBuf>,
        /// Source documents.
        sources: Option<PathBuf>,
        /// Rewrite ids.lock.
        write_ids: bool,
    },
    /// `test`.
    Test {
        /// Transcript files or folders.
        paths: Vec<PathBuf>,
        /// Content folder.
        dialogues: Option<PathBuf>,
    },
    /// `export`.
    Export {
        /// Who.
        user: String,
        /// Data directory.
        data: Option<PathBuf>,
    },
    /// `forget`.
    Forget {
        /// Who.
        user: String,
        /// Data directory.
        data: Option<PathBuf>,
    },
    /// `help`, `--help`.
    Help,
    /// `--version`.
    Version,
}

/// A mistake on the command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n\nRun `lensbot --help` for usage.")]
pub struct UsageError(pub String);

/// Parses arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some(sub) = args.first() else {
        return Ok(Command::Help);
    };
    let rest = &args[1..];
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    let mut positional = Vec::new();
    let takes_value = [
        "--user",
        "--data",
        "--dialogues",
        "--sources",
        "--token-file",
        "--config",
        "--addr",
        "--png",
    ];
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        if let Some((k, v)) = a.split_once('=').filter(|(k, _)| k.starts_with("--")) {
            flags.push((k.to_string(), Some(v.to_string())));
        } else if takes_value.contains(&a.as_str()) {
            let v = rest
                .get(i + 1)
                .ok_or_else(|| UsageError(format!("{a} needs a value")))?;
            flags.push((a.clone(), Some(v.clone())));
            i += 1;
        } else if a.starts_with("--") {
            flags.push((a.clone(), None));
        } else {
            positional.push(a.clone());
        }
        i += 1;
    }
    let allowed: &[&str] = match sub.as_str() {
        "chat" => &["--user", "--data", "--dialogues", "--png"],
        "check" => &["--sources", "--write-ids"],
        "telegram" | "discord" => &["--data", "--dialogues", "--token-file"],
        "serve" => &["--config", "--data", "--check", "--accept-damaged"],
        "doctor" => &["--data"],
        "health" => &["--addr", "--config"],
        "backup" => &["--data"],
        "restore" => &["--data", "--replace"],
        "test" => &["--dialogues"],
        "export" | "forget" => &["--user", "--data"],
        "help" | "--help" | "-h" => return Ok(Command::Help),
        "--version" | "-V" => return Ok(Command::Version),
        other => return Err(UsageError(format!("unknown command `{other}`"))),
    };
    for (k, _) in &flags {
        if !allowed.contains(&k.as_str()) {
            return Err(UsageError(format!("`{sub}` does not take {k}")));
        }
    }
    let get = |name: &str| {
        flags
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    };
    let path = |name: &str| get(name).map(PathBuf::from);
    let no_positional = |what: &str| -> Result<(), UsageError> {
        match positional.first() {
            Some(p) => Err(UsageError(format!("`{what}` takes no argument `{p}`"))),
            None => Ok(()),
        }
    };
    Ok(match sub.as_str() {
        "chat" => {
            no_positional("chat")?;
            let user = get("--user").unwrap_or_else(default_user);
            validate_user(&user)?;
            Command::Chat {
                user,
                data: path("--data"),
                dialogues: path("--dialogues"),
                png: path("--png"),
            }
        }
        "telegram" => {
            no_positional("telegram")?;
            Command::Telegram {
                data: path("--data"),
                dialogues: path("--dialogues"),
                token_file: path("--token-file"),
            }
        }
        "serve" => {
            no_positional("serve")?;
            Command::Serve {
                config: path("--config"),
                data: path("--data"),
                check: flags.iter().any(|(k, _)| k == "--check"),
                accept_damaged: flags.iter().any(|(k, _)| k == "--accept-damaged"),
            }
        }
        "doctor" => {
            no_positional("doctor")?;
            Command::Doctor {
                data: path("--data"),
            }
        }
        "health" => {
            no_positional("health")?;
            Command::Health {
                addr: get("--addr"),
                config: path("--config"),
            }
        }
        "backup" | "restore" => {
            let file = match positional.as_slice() {
                [f] => PathBuf::from(f),
                [] => return Err(UsageError(format!("`{sub}` needs a FILE"))),
                _ => return Err(UsageError(format!("`{sub}` takes one FILE"))),
            };
            if sub == "backup" {
                Command::Backup {
                    file,
                    data: path("--data"),
                }
            } else {
                Command::Restore {
                    file,
                    data: path("--data"),
                    replace: flags.iter().any(|(k, _)| k == "--replace"),
                }
            }
        }
        "discord" => {
            no_positional("discord")?;
            Command::Discord {
                data: path("--data"),
                dialogues: path("--dialogues"),
                token_file: path("--token-file"),
            }
        }
        "check" => {
            if positional.len() > 1 {
                return Err(UsageError("`check` takes one folder".into()));
            }
            Command::Check {
                dir: positional.first().map(PathBuf::from),
                sources: path("--sources"),
                write_ids: flags.iter().any(|(k, _)| k == "--write-ids"),
            }
        }
        "test" => Command::Test {
            paths: positional.iter().map(PathBuf::from).collect(),
            dialogues: path("--dialogues"),
        },
        "export" | "forget" => {
            no_positional(sub)?;
            let user =
                get("--user").ok_or_else(|| UsageError(format!("`{sub}` needs --user ID")))?;
            validate_user(&user)?;
            if sub == "export" {
                Command::Export {
                    user,
                    data: path("--data"),
                }
            } else {
                Command::Forget {
                    user,
                    data: path("--data"),
                }
            }
        }
        _ => unreachable!("handled above"),
    })
}

fn default_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "me".to_string())
}

fn validate_user(u: &str) -> Result<(), UsageError> {
    if u.is_empty() || u.len() > 64 || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(UsageError(format!(
            "--user `{u}` must be 1-64 characters with no spaces"
        )));
    }
    Ok(())
}

/// Runs a command; returns the process exit code.
pub fn run(cmd: Command) -> Result<i32, Box<dyn std::error::Error>> {
    match cmd {
        Command::Help => {
            print!("{USAGE}");
            Ok(0)
        }
        Command::Version => {
            println!("lensbot {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Command::Chat {
            user,
            data,
            dialogues,
            png,
        } => {
            let catalog = load_catalog(dialogues.as_deref())?;
            let dir = store::data_dir(data.as_deref());
            let (store, _) = crate::doctor::open_served(&dir, false)?;
            let session = Arc::new(Session::new(Arc::new(catalog), Arc::new(store)));
            let stdin = std::io::stdin();
            let interactive = stdin.is_terminal();
            let files = terminal::Files {
                dir: dir.join("files"),
                png,
            };
            terminal::run_with(
                session.clone(),
                &terminal::user_key(&user),
                stdin.lock(),
                interactive,
                &files,
            )?;
            session.store().flush()?;
            Ok(0)
        }
        Command::Check {
            dir,
            sources,
            write_ids,
        } => check(dir, sources, write_ids),
        Command::Telegram {
            data,
            dialogues,
            token_file,
        } => telegram(data, dialogues, token_file),
        Command::Discord {
            data,
            dialogues,
            token_file,
        } => discord(data, dialogues, token_file),
        Command::Serve {
            config,
            data,
            check,
            accept_damaged,
        } => serve(config, data, check, accept_damaged),
        Command::Doctor { data } => crate::doctor::doctor(&store::data_dir(data.as_deref())),
        Command::Health { addr, config } => health(addr, config),
        Command::Backup { file, data } => {
            let store = SledStore::open(&store::data_dir(data.as_deref()))?;
            let f = std::fs::File::create(&file)
                .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
            let counts =
                crate::backup::write(&store, std::io::BufWriter::new(f), jiff::Timestamp::now())?;
            crate::backup::write_keys(&store, &counts, &file)?;
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
            data,
            replace,
        } => {
            let f = std::fs::File::open(&file)
                .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
            let store = SledStore::open(&store::data_dir(data.as_deref()))?;
            let keys = crate::backup::read_keys(&file)?;
            let dir = store::data_dir(data.as_deref());
            let counts = crate::backup::restore(
                &store,
                std::io::BufReader::new(f),
                keys.as_deref(),
                replace,
            )
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
        Command::Export { user, data } => {
            let store = SledStore::open(&store::data_dir(data.as_deref()))?;
            let key = terminal::user_key(&user);
            match store.get_user(&key)? {
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
        Command::Forget { user, data } => {
            // The same path as `/forgetme`: challenges, due entries, the record, a tombstone,
            // then the person's key, here and beside every backup.
            let store: Arc<dyn Store> =
                Arc::new(SledStore::open(&store::data_dir(data.as_deref()))?);
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
    data: Option<PathBuf>,
    dialogues: Option<PathBuf>,
    token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::telegram;
    let token = secret(token_file.as_deref(), "TELEGRAM_BOT_TOKEN")?
        .ok_or(telegram::TelegramError::NoToken)?;
    let catalog = load_catalog(dialogues.as_deref())?;
    let (store, _) = crate::doctor::open_served(&store::data_dir(data.as_deref()), false)?;
    let session = Arc::new(Session::new(Arc::new(catalog), Arc::new(store)));
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
    };
    crate::logging::init("info");
    let rt = tokio::runtime::Runtime::new()?;
    let stop = {
        let _runtime = rt.enter();
        stop_signal()
    };
    let result = rt.block_on(telegram::run(
        session.clone(),
        config,
        or_store_failed(&session, stop),
    ));
    exit_if_store_failed(session.health());
    result?;
    eprintln!("lensbot: stopped cleanly");
    Ok(0)
}

#[cfg(not(feature = "telegram"))]
fn telegram(
    _data: Option<PathBuf>,
    _dialogues: Option<PathBuf>,
    _token_file: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    Err("this lensbot was built without the Telegram adapter (cargo feature `telegram`)".into())
}

/// `lensbot serve`: every configured platform and the scheduler in one process, one store.
fn serve(
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    check: bool,
    accept_damaged: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::config;
    let settings = config::load(config.as_deref(), data.as_deref())?;
    let mut catalog = load_catalog(settings.dialogues.as_deref())?;
    catalog.defaults = crate::content::Defaults {
        timezone: settings.default_timezone.clone(),
        quiet: settings.quiet,
    };
    let platforms: Vec<&str> = [
        settings.telegram.as_ref().map(|_| "Telegram"),
        settings.discord.as_ref().map(|_| "Discord"),
    ]
    .into_iter()
    .flatten()
    .collect();
    #[cfg(not(feature = "telegram"))]
    if settings.telegram.is_some() {
        return Err(
            "a Telegram token is set, but this lensbot was built without the Telegram adapter"
                .into(),
        );
    }
    #[cfg(not(feature = "discord"))]
    if settings.discord.is_some() {
        return Err(
            "a Discord token is set, but this lensbot was built without the Discord adapter".into(),
        );
    }
    if check {
        println!(
            "Configuration and content are valid: {} sharing one store, data in {}, time zone {}, quiet hours {}, {} days of daily backups kept.",
            platforms.join(" and "),
            settings.data_dir.display(),
            settings.default_timezone,
            settings.quiet.describe(),
            settings.backup_keep
        );
        return Ok(0);
    }
    crate::logging::init(&settings.log_level);
    let (sled, damage) = crate::doctor::open_served(&settings.data_dir, accept_damaged)?;
    let unreadable = sled.integrity().unreadable.len();
    let store: Arc<dyn Store> = Arc::new(sled);
    let session = Arc::new(Session::new(Arc::new(catalog), store.clone()));
    let health = session.health().clone();
    if let Some(reason) = &damage {
        health.set_store(crate::health::StoreHealth::Degraded(format!(
            "serving a damaged store (--accept-damaged): {reason}"
        )));
    } else if unreadable > 0 {
        health.set_store(crate::health::StoreHealth::Degraded(format!(
            "{unreadable} records cannot be read (lensbot doctor lists them)"
        )));
    }
    let watch = health.clone();
    let rt = tokio::runtime::Runtime::new()?;
    let listener = match settings.health {
        Some(addr) => Some(rt.block_on(tokio::net::TcpListener::bind(addr)).map_err(|e| {
            format!(
                "cannot serve the health endpoint on {addr}: {e}; set `health` in lensbot.toml or LENSBOT_HEALTH to another address, or to off"
            )
        })?),
        None => None,
    };
    let code = rt.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tx = Arc::new(tx);
        let signals = tx.clone();
        let first = stop_signal();
        tokio::spawn(async move {
            first.await;
            tracing::info!("stopping: finishing the turns in flight");
            let _ = signals.send(true);
            stop_signal().await;
            tracing::warn!("a second signal: exiting at once");
            std::process::exit(130);
        });
        #[cfg_attr(
            not(any(feature = "telegram", feature = "discord")),
            allow(unused_variables)
        )]
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let mut tasks: tokio::task::JoinSet<Result<(), String>> = tokio::task::JoinSet::new();
        // A failing store stops everything as a signal would (see `crate::health`).
        {
            let (failed, stop, mut rx) = (health.failed(), tx.clone(), rx.clone());
            tasks.spawn(async move {
                tokio::select! {
                    _ = failed => { let _ = stop.send(true); }
                    _ = rx.wait_for(|v| *v) => {}
                }
                Ok(())
            });
        }
        if let Some(listener) = listener {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "health endpoint: GET /healthz");
            }
            let s = session.clone();
            let outbox: crate::health::Outbox = Arc::new(move || s.outbox_depth());
            let (h, mut rx) = (health.clone(), rx.clone());
            tasks.spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|v| *v).await;
                };
                crate::health::serve(listener, h, outbox, stop).await;
                Ok(())
            });
        }
        #[cfg(feature = "telegram")]
        if settings.telegram.is_some() {
            health.expect_platform("telegram");
        }
        #[cfg(feature = "discord")]
        if settings.discord.is_some() {
            health.expect_platform("discord");
        }
        #[cfg(feature = "telegram")]
        if let Some((token, api_url)) = settings.telegram.clone() {
            let config = crate::telegram::Config {
                token,
                api_url,
                throttle: std::env::var("LENSBOT_TELEGRAM_THROTTLE")
                    .map(|v| v != "off")
                    .unwrap_or(true),
                poll_timeout: 10,
            };
            let (s, stop) = (session.clone(), stopped(rx.clone()));
            tasks.spawn(async move {
                crate::telegram::run(s, config, stop)
                    .await
                    .map_err(|e| e.to_string())
            });
        }
        #[cfg(feature = "discord")]
        if let Some((token, api_url, guild)) = settings.discord.clone() {
            let config = crate::discord::Config {
                token,
                api_url,
                guild,
                facilitator_role: settings.discord_facilitator_role,
            };
            let (s, stop) = (session.clone(), stopped(rx.clone()));
            tasks.spawn(async move {
                crate::discord::run(s, config, stop)
                    .await
                    .map_err(|e| e.to_string())
            });
        }
        if settings.backup_keep > 0 {
            // None while the store passed its integrity check at start, else the reason it
            // failed (the backups are then marked damaged).
            let integrity: Option<String> = damage.clone();
            let (store, dir, keep, mut rx) = (
                store.clone(),
                settings.data_dir.join("backups"),
                settings.backup_keep,
                rx.clone(),
            );
            tasks.spawn(async move {
                // One backup a UTC day: at start when the day has none yet, then within the
                // hour after each midnight.
                loop {
                    let now = jiff::Timestamp::now();
                    match crate::backup::daily(store.as_ref(), &dir, keep, now, integrity.as_deref()) {
                        Ok(d) => {
                            if let Some(p) = d.written {
                                tracing::info!(path = %p.display(), people = d.counts.users, unreadable = d.counts.unreadable.len(), deleted = d.deleted.len(), "daily backup written and verified");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "daily backup failed"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                        _ = rx.wait_for(|v| *v) => return Ok(()),
                    }
                }
            });
        }
        let mut code = 0;
        while let Some(res) = tasks.join_next().await {
            let failure = match res {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(format!("a task stopped unexpectedly: {e}")),
            };
            if let Some(e) = failure {
                if health.is_failing() {
                    // The store's failure was logged once already; this is its echo.
                    tracing::warn!(error = %e, "a task stopped with the store");
                } else {
                    tracing::error!(error = %e, "stopping everything");
                    eprintln!("lensbot: {e}");
                    code = 1;
                }
                let _ = tx.send(true);
            }
        }
        if health.is_failing() {
            return crate::health::EXIT_STORE_FAILED;
        }
        if let Err(e) = session.flush() {
            eprintln!("lensbot: {e}");
            code = 1;
        }
        code
    });
    exit_if_store_failed(&watch);
    if code == 0 {
        eprintln!("lensbot: stopped cleanly");
    }
    Ok(code)
}

/// `lensbot health`: asks a running `serve` for its health and prints the JSON; 0 when healthy
/// or degraded, 1 when failing, unreachable or off.
fn health(
    addr: Option<String>,
    config: Option<PathBuf>,
) -> Result<i32, Box<dyn std::error::Error>> {
    let addr = match addr {
        Some(a) => crate::health::parse_addr(&a)?,
        None => crate::config::health_addr(config.as_deref())?,
    };
    let Some(addr) = addr else {
        eprintln!(
            "lensbot: the health endpoint is off (health = \"off\"), so there is nothing to ask"
        );
        return Ok(1);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(crate::health::query(addr)) {
        Ok((code, body)) => {
            println!("{body}");
            Ok(if code == 200 { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("lensbot: {e}");
            Ok(1)
        }
    }
}

#[cfg(feature = "discord")]
fn discord(
    data: Option<PathBuf>,
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
    let (store, _) = crate::doctor::open_served(&store::data_dir(data.as_deref()), false)?;
    let session = Arc::new(Session::new(Arc::new(catalog), Arc::new(store)));
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
    let stop = {
        let _runtime = rt.enter();
        stop_signal()
    };
    let result = rt.block_on(discord::run(
        session.clone(),
        config,
        or_store_failed(&session, stop),
    ));
    exit_if_store_failed(session.health());
    result?;
    eprintln!("lensbot: stopped cleanly");
    Ok(0)
}

#[cfg(not(feature = "discord"))]
fn discord(
    _data: Option<PathBuf>,
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
    println!("{errors} error(s), {warnings} warning(s)");
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
