//! What `lensbot` accepts on its command line: every subcommand, flag and argument, declared
//! with clap's derive so each one answers `--help`, mistakes are named with a suggestion, and
//! shell completions come from the same definitions. The command bodies are in [`crate::cli`].
//!
//! Options that choose the store live in [`StoreArgs`], flattened into every command that opens
//! it, so a new way of naming a store is one field there.

use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Shown under the list of commands in `lensbot --help`.
const AFTER_HELP: &str = "\
The data directory defaults to $LENSBOT_DATA, else ./lensbot-data.
The dialogues folder defaults to $LENSBOT_DIALOGUES, else ./dialogues.
`lensbot COMMAND --help` describes each command and its environment variables.";

/// The whole command line: `lensbot [COMMAND]`.
#[derive(Debug, Parser)]
#[command(
    name = "lensbot",
    version,
    about = "Helps allied health professionals find their role in tackling health inequalities",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// The command to run; none prints the help.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the store is: one place for every option that chooses it, flattened into each
/// command that opens the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct StoreArgs {
    /// The data directory [default: $LENSBOT_DATA, else ./lensbot-data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The store: a PostgreSQL URL (postgres://…), else the sled store in the data directory
    /// [default: $LENSBOT_STORE, else `store` in lensbot.toml, else sled]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

impl StoreArgs {
    /// The data directory given, if any (for settings that apply their own default).
    pub fn data(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// The data directory: `--data`, else `$LENSBOT_DATA`, else `./lensbot-data`.
    pub fn data_dir(&self) -> PathBuf {
        crate::store::data_dir(self.data())
    }

    /// Where the store is: `--store`, else `$LENSBOT_STORE`, else `configured` (lensbot.toml),
    /// else the sled store in the data directory.
    pub fn location(&self, configured: Option<&str>) -> crate::store::location::Location {
        crate::store::location::Location::choose(
            self.store.as_deref(),
            configured,
            &self.data_dir(),
        )
    }
}

/// A subcommand with its validated arguments.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Chat in the terminal (one message a line; buttons are numbered).
    Chat {
        /// Who is chatting: 1-64 characters, no spaces [default: $USER, else me]
        #[arg(long, value_name = "ID", value_parser = user_id, default_value_t = default_user(), hide_default_value = true)]
        user: String,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        #[arg(long, value_name = "DIR")]
        dialogues: Option<PathBuf>,
        /// Where `/progress` also writes its picture (a PNG); files from /export and /mydata
        /// go to DATA/files
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Run the bot on Telegram (polling), or manage its webhook.
    #[command(
        long_about = "Run the bot on Telegram, taking updates by polling (getUpdates). To take \
them through a webhook instead, run `lensbot serve` with `telegram_webhook` set, after \
registering the webhook once with `lensbot telegram set-webhook URL` (a deploy step: no \
process registers or removes it at start or stop).",
        after_help = "\
Environment:
  TELEGRAM_BOT_TOKEN         the bot's token (unless --token-file)
  TELEGRAM_API_URL           the Bot API's address [default: Telegram's]
  LENSBOT_TELEGRAM_THROTTLE  off turns the rate limiter off (for tests)"
    )]
    Telegram {
        /// Manage the webhook instead of running the bot.
        #[command(subcommand)]
        webhook: Option<TelegramCommand>,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        #[arg(long, value_name = "DIR")]
        dialogues: Option<PathBuf>,
        /// A file holding the token [default: $TELEGRAM_BOT_TOKEN]
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
    /// Run the bot on Discord.
    #[command(after_help = "\
Environment:
  DISCORD_TOKEN             the bot's token (unless --token-file)
  DISCORD_API_URL           the REST address [default: Discord's]
  DISCORD_GUILD_ID          register the commands to this one server (a number)
  DISCORD_FACILITATOR_ROLE  the role id whose members may start challenges")]
    Discord {
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        #[arg(long, value_name = "DIR")]
        dialogues: Option<PathBuf>,
        /// A file holding the token [default: $DISCORD_TOKEN]
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
    /// Run every configured platform and the reminders in one process.
    #[command(
        long_about = "Run every configured platform (each with a token) and the reminders in one \
process, sharing one store. Settings come from the environment and lensbot.toml \
(deploy/README.md lists them). Serves GET /healthz on 127.0.0.1:9631 (setting `health`, \
$LENSBOT_HEALTH; `off`). Exits 75 when the store fails (a full disk), so a supervisor restarts it.",
        after_help = "\
Environment (also settable in lensbot.toml):
  TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, DISCORD_TOKEN, DISCORD_API_URL, DISCORD_GUILD_ID,
  DISCORD_FACILITATOR_ROLE, LENSBOT_DATA, LENSBOT_DIALOGUES, LENSBOT_TIMEZONE,
  LENSBOT_QUIET_HOURS, LENSBOT_BACKUP_KEEP, LENSBOT_HEALTH, RUST_LOG,
  LENSBOT_TELEGRAM_WEBHOOK, LENSBOT_TELEGRAM_WEBHOOK_PATH, LENSBOT_TELEGRAM_WEBHOOK_SECRET
  (Telegram by webhook instead of polling: deploy/README.md)"
    )]
    Serve {
        /// The settings file [default: ./lensbot.toml when present]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// Check the settings and the content, then exit (offline: the tokens are not tried)
        #[arg(long)]
        check: bool,
        /// With --check: also try each token against its platform (Telegram getMe, Discord's
        /// current user) and say what answered
        #[arg(long, requires = "check")]
        online: bool,
        /// Serve a store that failed its integrity check
        #[arg(long)]
        accept_damaged: bool,
    },
    /// Ask a running `serve` for its health (for container health checks).
    #[command(
        long_about = "Ask a running `serve` for its health: prints the JSON, exits 0 when healthy \
or degraded, 1 when failing or unreachable."
    )]
    Health {
        /// The endpoint's address [default: the settings' `health`, else 127.0.0.1:9631]
        #[arg(long, value_name = "ADDR")]
        addr: Option<String>,
        /// The settings file [default: ./lensbot.toml when present]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Bring a PostgreSQL store's schema up to date, or move everyone between two stores.
    #[command(
        long_about = "Bring a PostgreSQL store's schema up to this lensbot's version (applied \
in one transaction under a lock, refused when the database is newer than this lensbot), or, \
with --from and --to, move everyone from one store to another empty one (sled to PostgreSQL or \
back; both with the same store key, the bot stopped).\n\nEnvironment: LENSBOT_STORE, \
LENSBOT_DATA, LENSBOT_STORE_KEY_FILE."
    )]
    Migrate {
        /// The store to migrate (a postgres:// URL).
        #[command(flatten)]
        store: StoreArgs,
        /// Move everyone from this store (a directory or a postgres:// URL) …
        #[arg(long, value_name = "STORE", requires = "to")]
        from: Option<String>,
        /// … into this one, which must hold nobody yet.
        #[arg(long, value_name = "STORE", requires = "from")]
        to: Option<String>,
    },
    /// Check the store (manifest, checksums, every record, keys) and list the backups.
    Doctor {
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the whole store to FILE as JSON lines (not while a bot holds the store).
    #[command(
        long_about = "Write the whole store to FILE as JSON lines, people's records encrypted, \
with their keys in FILE's .keys beside it (not while a bot holds the store)."
    )]
    Backup {
        /// Where to write
        file: PathBuf,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Read a backup into an empty store.
    Restore {
        /// The backup to read
        file: PathBuf,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// Empty the store first
        #[arg(long)]
        replace: bool,
    },
    /// Check the dialogue files; prints file:line:col for every problem.
    Check {
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        dir: Option<PathBuf>,
        /// The source documents to check URLs against [default: ../../shared/sources beside DIR]
        #[arg(long, value_name = "DIR")]
        sources: Option<PathBuf>,
        /// Rewrite ids.lock
        #[arg(long)]
        write_ids: bool,
    },
    /// Replay transcript tests.
    Test {
        /// Transcript files or folders [default: tests/transcripts/]
        paths: Vec<PathBuf>,
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        #[arg(long, value_name = "DIR")]
        dialogues: Option<PathBuf>,
    },
    /// Print everything held about a person, as JSON.
    Export {
        /// Who (a terminal user id)
        #[arg(long, value_name = "ID", value_parser = user_id)]
        user: String,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete everything held about a person.
    Forget {
        /// Who (a terminal user id)
        #[arg(long, value_name = "ID", value_parser = user_id)]
        user: String,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a community's insights (counts only, as its leads see them), or them as CSV.
    #[command(after_help = "\
Communities: discord:guild:ID (a Discord server), telegram:chat:ID (a Telegram group).
Periods: month, 3-months, 6-months, 12-months (or 1, 3, 6, 12).
Numbers from fewer than 5 people show as \"fewer than 5\"; numbers that could be compared to
single someone out show as \"withheld\" (see the insights module's docs for the rules).")]
    Insights {
        /// The community: discord:guild:ID or telegram:chat:ID
        #[arg(long, value_name = "KEY", value_parser = community_key)]
        community: String,
        /// The period: month, 3-months, 6-months or 12-months
        #[arg(long, value_name = "PERIOD", value_parser = period, default_value = "3-months")]
        period: crate::insights::Period,
        /// One row per number, as CSV (community,period,figure,detail,value)
        #[arg(long)]
        csv: bool,
        /// Where the store is.
        #[command(flatten)]
        store: StoreArgs,
        /// The dialogues folder [default: $LENSBOT_DIALOGUES, else ./dialogues]
        #[arg(long, value_name = "DIR")]
        dialogues: Option<PathBuf>,
    },
    /// Print shell completions for SHELL to standard output.
    #[command(after_help = "\
For example:
  lensbot completions bash > /etc/bash_completion.d/lensbot
  lensbot completions zsh > \"${fpath[1]}/_lensbot\"
  lensbot completions fish > ~/.config/fish/completions/lensbot.fish")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A community key as `--community` takes it: `discord:guild:ID` or `telegram:chat:ID`, the
/// id digits (a Telegram group's with its minus sign).
fn community_key(s: &str) -> Result<String, String> {
    let s = s.trim();
    let id = s
        .strip_prefix("discord:guild:")
        .or_else(|| s.strip_prefix("telegram:chat:"));
    let valid = id.is_some_and(|id| {
        let digits = id.strip_prefix('-').unwrap_or(id);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if valid {
        Ok(s.to_string())
    } else {
        Err("expected discord:guild:ID or telegram:chat:ID (digits)".to_string())
    }
}

/// A period as `--period` takes it ([`crate::insights::Period::parse`]).
fn period(s: &str) -> Result<crate::insights::Period, String> {
    crate::insights::Period::parse(s)
        .ok_or_else(|| "expected month, 3-months, 6-months or 12-months".to_string())
}

/// `lensbot telegram …`: the webhook's deploy steps, each one Bot API call.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum TelegramCommand {
    /// Register URL as the bot's webhook (setWebhook), with the secret `serve` checks.
    #[command(
        long_about = "Register URL (https://, on port 443, 80, 88 or 8443, where the reverse \
proxy in front of `lensbot serve` ends TLS and passes the requests to `telegram_webhook`) as \
the bot's webhook, with the secret from the settings (`telegram_webhook_secret_file`, \
$LENSBOT_TELEGRAM_WEBHOOK_SECRET), which Telegram then sends with every update. From then on \
Telegram refuses polling (`lensbot telegram`) until the webhook is deleted.",
        after_help = "\
Environment (also settable in lensbot.toml):
  TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, LENSBOT_TELEGRAM_WEBHOOK_SECRET"
    )]
    SetWebhook {
        /// The HTTPS address Telegram posts updates to
        url: String,
        /// How many connections Telegram may open to it at once, 1-100 [Telegram's default: 40]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=100))]
        max_connections: Option<u8>,
        /// Drop the updates Telegram holds for the bot now
        #[arg(long)]
        drop_pending_updates: bool,
        /// The settings file [default: ./lensbot.toml when present]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Remove the bot's webhook (deleteWebhook), so it can poll again.
    DeleteWebhook {
        /// Drop the updates Telegram holds for the bot now
        #[arg(long)]
        drop_pending_updates: bool,
        /// The settings file [default: ./lensbot.toml when present]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Say how the webhook stands (getWebhookInfo): its URL, updates waiting, the last error.
    WebhookInfo {
        /// The settings file [default: ./lensbot.toml when present]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Parses the command line (with the program name first); help, version and mistakes come
/// back as clap's error, which prints itself (`Error::exit`): help and version to standard
/// output with code 0, mistakes to standard error with code 2.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}

/// The terminal user when `chat` is given no `--user`: `$USER`, else `me`.
fn default_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| user_id(u).is_ok())
        .unwrap_or_else(|| "me".to_string())
}

/// A terminal user id: 1-64 characters with no spaces or control characters (it becomes part
/// of a store key).
fn user_id(u: &str) -> Result<String, String> {
    if u.is_empty() || u.len() > 64 || u.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("`{u}` must be 1-64 characters with no spaces"));
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse_in_either_form() {
        let cli = parse(["lensbot", "serve", "--data=/d", "--check"]).unwrap();
        assert_eq!(
            cli.command,
            Some(Command::Serve {
                config: None,
                store: StoreArgs {
                    data: Some("/d".into()),
                    store: None,
                },
                check: true,
                online: false,
                accept_damaged: false,
            })
        );
        assert!(parse(["lensbot", "serve", "--online"]).is_err());
        // `lensbot telegram` still runs the bot; its subcommands manage the webhook.
        let Some(Command::Telegram { webhook, .. }) =
            parse(["lensbot", "telegram", "--data", "/d"])
                .unwrap()
                .command
        else {
            panic!("not telegram");
        };
        assert_eq!(webhook, None);
        let Some(Command::Telegram { webhook, .. }) = parse([
            "lensbot",
            "telegram",
            "set-webhook",
            "https://bot.example.org/telegram",
            "--max-connections",
            "5",
        ])
        .unwrap()
        .command
        else {
            panic!("not telegram");
        };
        assert_eq!(
            webhook,
            Some(TelegramCommand::SetWebhook {
                url: "https://bot.example.org/telegram".into(),
                max_connections: Some(5),
                drop_pending_updates: false,
                config: None,
            })
        );
        assert!(
            parse([
                "lensbot",
                "telegram",
                "set-webhook",
                "u",
                "--max-connections",
                "0"
            ])
            .is_err()
        );
        assert!(parse(["lensbot", "export", "--user", "a b"]).is_err());
    }
}
