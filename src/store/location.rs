//! Where the store lives, chosen at start: `--store URL`, else `LENSBOT_STORE`, else `store`
//! in `lensbot.toml`, else the embedded sled store in the data directory (the default). A
//! PostgreSQL URL is never printed or logged with its password ([`Location::describe`]).

use std::path::{Path, PathBuf};

/// The environment variable that names the store.
pub const STORE_ENV: &str = "LENSBOT_STORE";

/// Where the store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The embedded sled store in this directory.
    Sled(PathBuf),
    /// A PostgreSQL database (a `postgres://` URL).
    Postgres(String),
}

impl Location {
    /// The store to use: `flag` (`--store`), else `LENSBOT_STORE`, else `configured`
    /// (`lensbot.toml`), else sled in `data`. A value that is neither a PostgreSQL URL nor
    /// empty is taken as a sled directory.
    pub fn choose(flag: Option<&str>, configured: Option<&str>, data: &Path) -> Location {
        let env = std::env::var(STORE_ENV).ok();
        let named = flag
            .filter(|s| !s.is_empty())
            .or(env.as_deref().filter(|s| !s.is_empty()))
            .or(configured.filter(|s| !s.is_empty()));
        match named {
            Some(s) if is_postgres(s) => Location::Postgres(s.to_string()),
            Some(s) => Location::Sled(PathBuf::from(s.strip_prefix("sled:").unwrap_or(s))),
            None => Location::Sled(data.to_path_buf()),
        }
    }

    /// The location in words, without a password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sled(d) => format!("the sled store in {}", d.display()),
            Location::Postgres(url) => format!("PostgreSQL at {}", redact(url)),
        }
    }
}

/// Whether a value names a PostgreSQL database.
pub fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A URL with any password replaced by `***` (`postgres://user:***@host/db`), and any
/// `password=` parameter too.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            let start = scheme_end + 3 + colon + 1;
            let end = scheme_end + 3 + at;
            out.replace_range(start..end, "***");
        }
    }
    if let Some(i) = out.find("password=") {
        let start = i + "password=".len();
        let end = out[start..]
            .find(['&', ' '])
            .map(|n| start + n)
            .unwrap_or(out.len());
        out.replace_range(start..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            redact("postgres://bot:s3cret@db.example:5432/lensbot"),
            "postgres://bot:***@db.example:5432/lensbot"
        );
        assert_eq!(
            redact("postgresql:///lensbot?host=/run/pg&password=s3cret&user=bot"),
            "postgresql:///lensbot?host=/run/pg&password=***&user=bot"
        );
        assert_eq!(
            redact("postgres://bot@db/lensbot"),
            "postgres://bot@db/lensbot"
        );
    }

    #[test]
    fn the_flag_wins_then_the_file_then_sled() {
        let data = Path::new("/var/lib/lensbot");
        // (LENSBOT_STORE is not set in the unit tests.)
        assert_eq!(
            Location::choose(Some("postgres://h/db"), Some("/elsewhere"), data),
            Location::Postgres("postgres://h/db".into())
        );
        assert_eq!(
            Location::choose(None, Some("postgresql://h/db"), data),
            Location::Postgres("postgresql://h/db".into())
        );
        assert_eq!(
            Location::choose(None, None, data),
            Location::Sled(data.into())
        );
        assert_eq!(
            Location::choose(Some("sled:/srv/data"), None, data),
            Location::Sled("/srv/data".into())
        );
    }
}
