//! `lensbot serve`'s settings: an optional `lensbot.toml`, overridden by the environment.
//!
//! ```toml
//! data_dir = "/var/lib/lensbot"
//! telegram_token_file = "/etc/lensbot/telegram-token"
//! discord_token_file = "/etc/lensbot/discord-token"
//! discord_guild_id = 123456789012345678   # optional: register commands to one server
//! discord_facilitator_role = 234567890123456789   # optional: a role that may run challenges
//! default_timezone = "Europe/London"
//! quiet_hours = "21:00-07:00"
//! log_level = "info"
//! backup_keep = 7                         # days of daily backups kept in DATA/backups (0: none)
//! health = "127.0.0.1:9631"               # GET /healthz for supervisors ("off": none)
//! store = "postgres://lensbot@db/lensbot"  # optional: PostgreSQL instead of sled (deploy/POSTGRES.md)
//! # Discord interactions over HTTP (optional; deploy/README.md): where POST /discord/interactions
//! # listens, behind the proxy that terminates TLS, and the application's public key (developer
//! # portal, General Information) that every request's signature is checked against.
//! discord_interactions = "0.0.0.0:8444"
//! discord_public_key = "67c6bd767ca099e79efac9fcce4d2022a63bf7dea780e7f3d813f694c1597089"
//! ```
//!
//! Environment: `LENSBOT_DATA`, `LENSBOT_DIALOGUES`, `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL`,
//! `DISCORD_TOKEN`, `DISCORD_API_URL`, `DISCORD_GUILD_ID`, `DISCORD_FACILITATOR_ROLE`,
//! `LENSBOT_TIMEZONE`,
//! `LENSBOT_QUIET_HOURS`, `RUST_LOG`, `LENSBOT_BACKUP_KEEP`, `LENSBOT_HEALTH`, `LENSBOT_STORE`,
//! `LENSBOT_DISCORD_INTERACTIONS`, `DISCORD_PUBLIC_KEY`. Tokens may sit in the file, but a
//! token file (readable only by the service) is better. `Debug` never shows a token.

use crate::engine::when::Quiet;
use crate::engine::zones;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    data_dir: Option<PathBuf>,
    dialogues: Option<PathBuf>,
    telegram_token: Option<String>,
    telegram_token_file: Option<PathBuf>,
    telegram_api_url: Option<String>,
    discord_token: Option<String>,
    discord_token_file: Option<PathBuf>,
    discord_api_url: Option<String>,
    discord_guild_id: Option<u64>,
    discord_facilitator_role: Option<u64>,
    default_timezone: Option<String>,
    quiet_hours: Option<String>,
    log_level: Option<String>,
    backup_keep: Option<usize>,
    health: Option<String>,
    store: Option<String>,
    discord_interactions: Option<String>,
    discord_public_key: Option<String>,
}

/// Validated settings.
#[derive(Clone)]
pub struct Settings {
    /// Where the sled store and backups live.
    pub data_dir: PathBuf,
    /// The content folder.
    pub dialogues: Option<PathBuf>,
    /// Telegram token and API base, when Telegram is configured.
    pub telegram: Option<(String, String)>,
    /// Discord token, REST base and server, when Discord is configured.
    pub discord: Option<(String, Option<String>, Option<u64>)>,
    /// A Discord role whose members may facilitate challenges, besides people with Manage
    /// Server or Manage Channels.
    pub discord_facilitator_role: Option<u64>,
    /// Everyone's time zone until they choose one.
    pub default_timezone: String,
    /// Quiet hours until someone sets their own.
    pub quiet: Quiet,
    /// Log level when `RUST_LOG` is not set.
    pub log_level: String,
    /// Days of daily backups to keep in `DATA/backups` (0: no backups): one backup a UTC day,
    /// the newest this many days of good ones, plus the first of each week for five weeks and
    /// the newest holding more people than the store (see `backup::rotation`).
    pub backup_keep: usize,
    /// Where `GET /healthz` listens (`None`: off). See [`crate::health`].
    pub health: Option<std::net::SocketAddr>,
    /// The store the file names (`store = "postgres://…"`); `--store` and `LENSBOT_STORE`
    /// come first ([`crate::store::location`]).
    pub store: Option<String>,
    /// Where Discord's interactions endpoint (`POST /discord/interactions`) listens, plain
    /// HTTP behind the proxy that terminates TLS (`None`: off; interactions come over the
    /// gateway). See `crate::discord::endpoint`.
    pub discord_interactions: Option<std::net::SocketAddr>,
    /// The Discord application's public key, 64 hex digits (developer portal, General
    /// Information): the endpoint refuses a request whose signature it does not verify.
    pub discord_public_key: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("telegram", &self.telegram.as_ref().map(|_| "<token set>"))
            .field("discord", &self.discord.as_ref().map(|_| "<token set>"))
            .field("default_timezone", &self.default_timezone)
            .field("quiet", &self.quiet.describe())
            .field("backup_keep", &self.backup_keep)
            .field("health", &self.health)
            .field("discord_interactions", &self.discord_interactions)
            .field(
                "store",
                &self.store.as_deref().map(crate::store::location::redact),
            )
            .finish()
    }
}

/// A configuration mistake, named so the person can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// Which file.
        path: PathBuf,
        /// What is wrong (with line and column for syntax errors).
        reason: String,
    },
    /// A value is wrong.
    #[error("{0}")]
    Value(String),
    /// No platform has a token.
    #[error(
        "no platform is configured: set TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN, or telegram_token_file / discord_token_file in lensbot.toml"
    )]
    NoPlatform,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn read_token(path: &Path, what: &str) -> Result<String, ConfigError> {
    let t = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::Value(format!(
            "cannot read the {what} token file {}: {e}",
            path.display()
        ))
    })?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(ConfigError::Value(format!(
            "the {what} token file {} is empty",
            path.display()
        )));
    }
    Ok(t)
}

/// The settings file as written: `file`, else `./lensbot.toml` if present, else empty.
fn read_file(file: Option<&Path>) -> Result<File, ConfigError> {
    let path = file.map(Path::to_path_buf).or_else(|| {
        let p = PathBuf::from("lensbot.toml");
        p.is_file().then_some(p)
    });
    Ok(match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::File {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            toml::from_str(&text).map_err(|e| ConfigError::File {
                path: p.clone(),
                reason: e.to_string().trim().replace('\n', " "),
            })?
        }
        None => File::default(),
    })
}

/// Where the health endpoint listens: `LENSBOT_HEALTH`, else the file's `health`, else
/// [`crate::health::DEFAULT_ADDR`]; `None` when set to `off`. Read alone by `lensbot health`,
/// which needs no token.
pub fn health_addr(file: Option<&Path>) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    let f = read_file(file)?;
    health_from(&f)
}

fn health_from(f: &File) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    let v = env("LENSBOT_HEALTH")
        .or_else(|| f.health.clone())
        .unwrap_or_else(|| crate::health::DEFAULT_ADDR.to_string());
    crate::health::parse_addr(&v).map_err(ConfigError::Value)
}

/// Loads settings: the file (if given, or `./lensbot.toml` if present), then the environment,
/// then `--data`.
pub fn load(file: Option<&Path>, data_flag: Option<&Path>) -> Result<Settings, ConfigError> {
    let f = read_file(file)?;
    let health = health_from(&f)?;
    let (discord_interactions, discord_public_key) = discord_interactions_from(&f)?;
    let data_dir = data_flag
        .map(Path::to_path_buf)
        .or_else(|| env("LENSBOT_DATA").map(PathBuf::from))
        .or(f.data_dir)
        .unwrap_or_else(|| PathBuf::from("lensbot-data"));
    let dialogues = env("LENSBOT_DIALOGUES").map(PathBuf::from).or(f.dialogues);
    let telegram_token = match (
        env("TELEGRAM_BOT_TOKEN"),
        &f.telegram_token_file,
        f.telegram_token,
    ) {
        (Some(t), _, _) => Some(t),
        (None, Some(p), _) => Some(read_token(p, "Telegram")?),
        (None, None, t) => t.filter(|t| !t.trim().is_empty()),
    };
    let telegram_api = env("TELEGRAM_API_URL")
        .or(f.telegram_api_url)
        .unwrap_or_else(|| "https://api.telegram.org".to_string());
    let discord_token = match (env("DISCORD_TOKEN"), &f.discord_token_file, f.discord_token) {
        (Some(t), _, _) => Some(t),
        (None, Some(p), _) => Some(read_token(p, "Discord")?),
        (None, None, t) => t.filter(|t| !t.trim().is_empty()),
    };
    let guild = match env("DISCORD_GUILD_ID") {
        Some(g) => Some(g.parse::<u64>().map_err(|_| {
            ConfigError::Value(format!(
                "DISCORD_GUILD_ID `{g}` is not a server id (a number)"
            ))
        })?),
        None => f.discord_guild_id,
    };
    let discord_api = env("DISCORD_API_URL").or(f.discord_api_url);
    let discord_facilitator_role = match env("DISCORD_FACILITATOR_ROLE") {
        Some(r) => Some(r.parse::<u64>().map_err(|_| {
            ConfigError::Value(format!(
                "DISCORD_FACILITATOR_ROLE `{r}` is not a role id (a number)"
            ))
        })?),
        None => f.discord_facilitator_role,
    };
    let tz_in = env("LENSBOT_TIMEZONE")
        .or(f.default_timezone)
        .unwrap_or_else(|| zones::DEFAULT.to_string());
    let default_timezone = zones::find(&tz_in).map_err(|s| {
        ConfigError::Value(format!(
            "default time zone `{tz_in}` is unknown; did you mean {}?",
            s.join(", ")
        ))
    })?;
    let quiet = match env("LENSBOT_QUIET_HOURS").or(f.quiet_hours) {
        Some(q) => Quiet::parse(&q).ok_or_else(|| {
            ConfigError::Value(format!(
                "quiet hours `{q}` should look like 21:00-07:00, or off"
            ))
        })?,
        None => Quiet::default(),
    };
    let backup_keep = match env("LENSBOT_BACKUP_KEEP") {
        Some(k) => k.parse().map_err(|_| {
            ConfigError::Value(format!("LENSBOT_BACKUP_KEEP `{k}` is not a number"))
        })?,
        None => f.backup_keep.unwrap_or(7),
    };
    let log_level = f.log_level.unwrap_or_else(|| "info".to_string());
    if log_level
        .parse::<tracing_subscriber::filter::Targets>()
        .is_err()
    {
        return Err(ConfigError::Value(format!(
            "log_level `{log_level}` is not a level (error, warn, info, debug, trace)"
        )));
    }
    let telegram = telegram_token.map(|t| (t, telegram_api));
    let discord = discord_token.map(|t| (t, discord_api, guild));
    if telegram.is_none() && discord.is_none() {
        return Err(ConfigError::NoPlatform);
    }
    Ok(Settings {
        data_dir,
        dialogues,
        telegram,
        discord,
        discord_facilitator_role,
        default_timezone,
        quiet,
        log_level,
        backup_keep,
        health,
        store: f.store,
        discord_interactions,
        discord_public_key,
    })
}

/// The Discord interactions endpoint's address and public key: `LENSBOT_DISCORD_INTERACTIONS`
/// (else `discord_interactions`; `off` or unset: none) and `DISCORD_PUBLIC_KEY` (else
/// `discord_public_key`), which must be 64 hex digits and is required with the endpoint.
fn discord_interactions_from(
    f: &File,
) -> Result<(Option<std::net::SocketAddr>, Option<String>), ConfigError> {
    let addr = match env("LENSBOT_DISCORD_INTERACTIONS").or_else(|| f.discord_interactions.clone()) {
        Some(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Some(v) => Some(v.trim().parse::<std::net::SocketAddr>().map_err(|_| {
            ConfigError::Value(format!(
                "discord_interactions `{v}` should be an address and port such as 0.0.0.0:8444, or off"
            ))
        })?),
        None => None,
    };
    let key = env("DISCORD_PUBLIC_KEY")
        .or_else(|| f.discord_public_key.clone())
        .map(|k| k.trim().to_ascii_lowercase())
        .filter(|k| !k.is_empty());
    if let Some(k) = &key
        && (k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(ConfigError::Value(
            "discord_public_key (DISCORD_PUBLIC_KEY) should be the 64 hex digits of the application's Public Key (Discord developer portal, General Information)".into(),
        ));
    }
    if addr.is_some() && key.is_none() {
        return Err(ConfigError::Value(
            "discord_interactions is set, but discord_public_key (DISCORD_PUBLIC_KEY) is not: the endpoint checks every request against the application's Public Key (Discord developer portal, General Information)".into(),
        ));
    }
    Ok((addr, key))
}
