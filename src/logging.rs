//! Logs through `tracing`, to standard error, level from `RUST_LOG` (a level and/or
//! `target=level` pairs; default `info`).
//!
//! One line per turn (platform, what was asked, where the person is now, latency), and
//! operational events. Never a token, never anything a person wrote: turns are logged by
//! command word or button verb and content ids only. The HTTP and chat client crates are
//! capped at `warn` whatever `RUST_LOG` says, because at debug level they print request URLs,
//! and Telegram's carry the token.

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Crates whose debug output could carry a token or message text.
const CAPPED: [&str; 11] = [
    "teloxide_core",
    "serenity",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "tungstenite",
    "tokio_tungstenite",
    "rustls",
    "sled",
    "async_tungstenite",
];

/// Installs the subscriber (once; later calls do nothing).
pub fn init(default_level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish()
        .with(filter(&spec, default_level))
        .try_init();
}

/// The filter for `RUST_LOG` (else `default_level`): a level (`debug`), `target=level` pairs,
/// or both, comma-separated (tracing-subscriber's `Targets`, without `EnvFilter`'s span and
/// field filters, which would bring in a regex engine). A spec that cannot be read falls back
/// to `default_level`, then to `info`. The crates in `CAPPED` never log below `warn`.
pub fn filter(spec: &str, default_level: &str) -> Targets {
    let parsed: Targets = [spec, default_level, "info"]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .find_map(|s| s.parse().ok())
        .unwrap_or_default();
    let default = parsed.default_level();
    let capped = |target: &str| {
        CAPPED
            .iter()
            .any(|c| target == *c || target.starts_with(&format!("{c}::")))
    };
    let mut out = Targets::new().with_targets(
        parsed
            .iter()
            .filter(|(t, _)| !capped(t))
            .map(|(t, l)| (t.to_string(), l))
            .collect::<Vec<_>>(),
    );
    if let Some(d) = default {
        out = out.with_default(d);
    }
    for c in CAPPED {
        let asked = parsed
            .iter()
            .find(|(t, _)| *t == c)
            .map(|(_, l)| l)
            .or(default)
            .unwrap_or(LevelFilter::OFF);
        out = out.with_target(c, asked.min(LevelFilter::WARN));
    }
    out
}

/// What a person's input was, for the log: a command word, a button's verb, or just "text".
/// Never the text itself.
pub fn describe_input(input: &crate::engine::Input) -> String {
    use crate::engine::Input;
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(24)
            .collect()
    };
    match input {
        Input::Text(t) => match t.trim_start().strip_prefix('/') {
            Some(rest) => format!("/{}", word(rest).to_lowercase()),
            None => "text".into(),
        },
        Input::Button(token) if token.starts_with("ch_") => {
            // A challenge button: its verb, not the group it names.
            let verb = token.split('_').nth(1).unwrap_or("");
            format!("button:challenge-{}", word(verb))
        }
        Input::Button(token) => {
            let action = token.split_once(':').map(|(_, a)| a).unwrap_or("");
            format!("button:{}", word(action))
        }
        Input::Due { .. } => "due".into(),
    }
}

/// Where a person is, for the log: content ids only.
pub fn describe_at(at: &crate::engine::At) -> String {
    use crate::engine::At;
    match at {
        At::Lens { lens, stop } => format!("{lens}:{stop}"),
        At::OwnAction { lens } => format!("{lens}:own-action"),
        other => {
            let json = serde_json::to_value(other).unwrap_or_default();
            json["kind"].as_str().unwrap_or("?").to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Input;

    #[test]
    fn inputs_are_described_without_their_text() {
        assert_eq!(
            describe_input(&Input::Text("/note my secret".into())),
            "/note"
        );
        assert_eq!(describe_input(&Input::Text("my secret".into())), "text");
        assert_eq!(
            describe_input(&Input::Button("3:act:act-read".into())),
            "button:act"
        );
        assert_eq!(
            describe_input(&Input::Button("ch_d_tm100123_2".into())),
            "button:challenge-d"
        );
    }

    /// Proves: the filter reads a level, `target=level` pairs and both; a spec it cannot read
    /// falls back to the default level; and the capped crates stay at `warn` or quieter however
    /// verbose the spec, even when it names them or their modules.
    #[test]
    fn the_filter_reads_rust_log_and_caps_the_client_crates() {
        use tracing::Level;
        let f = filter("trace", "info");
        assert!(f.would_enable("lensbot::cli", &Level::TRACE));
        assert!(f.would_enable("serenity::gateway", &Level::WARN));
        assert!(!f.would_enable("serenity::gateway", &Level::DEBUG));
        let f = filter("", "debug");
        assert!(f.would_enable("lensbot", &Level::DEBUG));
        assert!(!f.would_enable("lensbot", &Level::TRACE));
        let f = filter(
            "warn,lensbot=debug,serenity::http=trace,reqwest=error",
            "info",
        );
        assert!(f.would_enable("lensbot::session", &Level::DEBUG));
        assert!(!f.would_enable("other", &Level::INFO));
        assert!(!f.would_enable("serenity::http::client", &Level::DEBUG));
        assert!(f.would_enable("serenity::http::client", &Level::WARN));
        assert!(!f.would_enable("reqwest", &Level::WARN));
        // Not a spec `Targets` reads: the default level instead.
        let f = filter("lensbot[span{x=1}]=debug", "info");
        assert!(f.would_enable("lensbot", &Level::INFO));
        assert!(!f.would_enable("lensbot", &Level::DEBUG));
    }
}
