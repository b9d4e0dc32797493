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
//! telegram_webhook = "0.0.0.0:8443"       # optional: Telegram pushes updates here; no polling
//! telegram_webhook_path = "/telegram"     # the path it posts to (the default)
//! telegram_webhook_secret_file = "/etc/lensbot/telegram-webhook-secret"  # required with it
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
//! `LENSBOT_TELEGRAM_WEBHOOK` (an address, or `off`), `LENSBOT_TELEGRAM_WEBHOOK_PATH`,
//! `LENSBOT_TELEGRAM_WEBHOOK_SECRET` (the secret itself), `LENSBOT_DISCORD_INTERACTIONS`,
//! `DISCORD_PUBLIC_KEY`. Tokens may sit in the file, but a token file (readable only by the
//! service) is better. `Debug` never shows a token or the webhook's secret.
//!
//! **The Telegram webhook.** With `telegram_webhook` set, `serve` takes Telegram's updates on
//! that address (plain HTTP: TLS ends at the reverse proxy in front) instead of polling, and
//! checks each request's `X-Telegram-Bot-Api-Secret-Token` against the secret, which is then
//! required: 1-256 characters of `A-Z a-z 0-9 _ -`, as the Bot API allows. Registering the
//! webhook with Telegram is a deploy step (`lensbot telegram set-webhook URL`, which sends
//! the same secret), never done by `serve` itself.

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
    telegram_webhook: Option<String>,
    telegram_webhook_path: Option<String>,
    telegram_webhook_secret_file: Option<PathBuf>,
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
    /// Where Telegram's updates are taken over HTTP instead of polling (`telegram_webhook`,
    /// `LENSBOT_TELEGRAM_WEBHOOK`); `None`: polling.
    pub telegram_webhook: Option<TelegramWebhook>,
    /// The webhook's secret token (`telegram_webhook_secret_file`,
    /// `LENSBOT_TELEGRAM_WEBHOOK_SECRET`): required with `telegram_webhook`, and what
    /// `lensbot telegram set-webhook` registers. Never logged; `Debug` redacts it.
    pub telegram_webhook_secret: Option<String>,
}

/// Where `serve` listens for Telegram's webhook requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramWebhook {
    /// The address and port to listen on (behind the reverse proxy that ends TLS).
    pub addr: std::net::SocketAddr,
    /// The path Telegram posts to (`/telegram` unless set).
    pub path: String,
}

/// The webhook path when `telegram_webhook_path` is not set.
pub const DEFAULT_WEBHOOK_PATH: &str = "/telegram";

/// What is wrong with a webhook secret, if anything: the Bot API takes 1-256 characters of
/// `A-Z`, `a-z`, `0-9`, `_` and `-`. Says so without repeating the secret.
pub fn webhook_secret_problem(secret: &str) -> Option<String> {
    if secret.is_empty() || secret.len() > 256 {
        return Some(format!(
            "the Telegram webhook secret must be 1-256 characters long (it has {})",
            secret.chars().count()
        ));
    }
    if !secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some(
            "the Telegram webhook secret may hold only A-Z, a-z, 0-9, _ and - (as the Bot API allows)"
                .to_string(),
        );
    }
    None
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
            .field("telegram_webhook", &self.telegram_webhook)
            .field(
                "telegram_webhook_secret",
                &self.telegram_webhook_secret.as_ref().map(|_| "<redacted>"),
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
    let (telegram_webhook, telegram_webhook_secret) = webhook_from(&f)?;
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
        telegram_webhook,
        telegram_webhook_secret,
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

/// The Telegram webhook's settings alone (its address and path when set, its secret when
/// given), from the environment and the file (`file`, else `./lensbot.toml` if present): read
/// by `lensbot telegram set-webhook`, which needs the secret but no other setting.
#[allow(clippy::type_complexity)]
pub fn webhook_settings(
    file: Option<&Path>,
) -> Result<(Option<TelegramWebhook>, Option<String>), ConfigError> {
    webhook_from(&read_file(file)?)
}

/// The webhook's address and path (when an address is set) and its secret (when given), from
/// the environment first, then the file. An address without a secret is refused: anyone who
/// found the address could otherwise post updates in anyone's name.
fn webhook_from(f: &File) -> Result<(Option<TelegramWebhook>, Option<String>), ConfigError> {
    let secret = match (
        env("LENSBOT_TELEGRAM_WEBHOOK_SECRET"),
        &f.telegram_webhook_secret_file,
    ) {
        (Some(s), _) => Some(s),
        (None, Some(p)) => Some(read_token(p, "Telegram webhook secret")?),
        (None, None) => None,
    };
    if let Some(problem) = secret.as_deref().and_then(webhook_secret_problem) {
        return Err(ConfigError::Value(problem));
    }
    let addr = env("LENSBOT_TELEGRAM_WEBHOOK").or_else(|| f.telegram_webhook.clone());
    let addr = match addr.as_deref().map(str::trim) {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("off") => None,
        Some(a) => Some(a.parse::<std::net::SocketAddr>().map_err(|_| {
            ConfigError::Value(format!(
                "telegram_webhook `{a}` should be an address and port to listen on, such as 0.0.0.0:8443, or off"
            ))
        })?),
    };
    let path = env("LENSBOT_TELEGRAM_WEBHOOK_PATH")
        .or_else(|| f.telegram_webhook_path.clone())
        .unwrap_or_else(|| DEFAULT_WEBHOOK_PATH.to_string());
    if !path.starts_with('/') || path.contains(char::is_whitespace) || path.contains('?') {
        return Err(ConfigError::Value(format!(
            "telegram_webhook_path `{path}` should be a path such as {DEFAULT_WEBHOOK_PATH}"
        )));
    }
    let Some(addr) = addr else {
        return Ok((None, secret));
    };
    if secret.is_none() {
        return Err(ConfigError::Value(
            "telegram_webhook is set but no secret is: set LENSBOT_TELEGRAM_WEBHOOK_SECRET, or telegram_webhook_secret_file in lensbot.toml (1-256 characters of A-Z a-z 0-9 _ -), and pass the same secret to `lensbot telegram set-webhook`".to_string(),
        ));
    }
    Ok((Some(TelegramWebhook { addr, path }), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(toml: &str) -> File {
        toml::from_str(toml).unwrap()
    }

    // These read the environment too: they hold only while no LENSBOT_TELEGRAM_WEBHOOK* is set,
    // as in the test runs.
    #[test]
    fn a_webhook_needs_a_valid_secret_and_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "abc_DEF-123\n").unwrap();
        let with = |extra: &str| {
            file(&format!(
                "telegram_webhook = \"127.0.0.1:8443\"\ntelegram_webhook_secret_file = {:?}\n{extra}",
                secret.display().to_string()
            ))
        };
        let (w, s) = webhook_from(&with("")).unwrap();
        assert_eq!(
            w,
            Some(TelegramWebhook {
                addr: "127.0.0.1:8443".parse().unwrap(),
                path: "/telegram".into()
            })
        );
        assert_eq!(s.as_deref(), Some("abc_DEF-123"));
        let (w, _) = webhook_from(&with("telegram_webhook_path = \"/hook/tg\"")).unwrap();
        assert_eq!(w.unwrap().path, "/hook/tg");
        assert!(webhook_from(&with("telegram_webhook_path = \"hook\"")).is_err());
        // An address without a secret is refused; a secret without an address is kept (for
        // `set-webhook`); `off` is no webhook.
        let e = webhook_from(&file("telegram_webhook = \"0.0.0.0:8443\"")).unwrap_err();
        assert!(e.to_string().contains("no secret"), "{e}");
        assert!(webhook_from(&file("telegram_webhook = \"port 80\"")).is_err());
        assert_eq!(
            webhook_from(&file("telegram_webhook = \"off\"")).unwrap(),
            (None, None)
        );
        std::fs::write(&secret, "not allowed!").unwrap();
        let e = webhook_from(&with("")).unwrap_err().to_string();
        assert!(e.contains("A-Z, a-z, 0-9, _ and -"), "{e}");
        assert!(!e.contains("not allowed!"), "the secret was repeated: {e}");
    }

    #[test]
    fn debug_never_shows_the_webhook_secret() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, toml) = (dir.path().join("secret"), dir.path().join("lensbot.toml"));
        std::fs::write(&secret, "Never-Printed_42").unwrap();
        std::fs::write(
            &toml,
            format!(
                "telegram_token = \"1:x\"\ntelegram_webhook = \"127.0.0.1:8443\"\ntelegram_webhook_secret_file = {:?}\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        let s = load(Some(&toml), Some(dir.path())).unwrap();
        assert_eq!(
            s.telegram_webhook_secret.as_deref(),
            Some("Never-Printed_42")
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains("Never-Printed_42"), "{shown}");
        assert!(shown.contains("127.0.0.1:8443"), "{shown}");
    }

    #[test]
    fn secrets_are_checked_as_the_bot_api_says() {
        assert_eq!(webhook_secret_problem("a"), None);
        assert_eq!(webhook_secret_problem(&"Z9_-".repeat(64)), None);
        assert!(webhook_secret_problem("").is_some());
        assert!(webhook_secret_problem(&"a".repeat(257)).is_some());
        for bad in ["a b", "a/b", "é", "a.b"] {
            assert!(webhook_secret_problem(bad).is_some(), "{bad}");
        }
    }
}
