//! Logs through `tracing`, to standard error, level from `RUST_LOG` (default `info`).
//!
//! One line per turn (platform, what was asked, where the person is now, latency), and
//! operational events. Never a token, never anything a person wrote: turns are logged by
//! command word or button verb and content ids only. The HTTP and chat client crates are
//! capped at `warn` whatever `RUST_LOG` says, because at debug level they print request URLs,
//! and Telegram's carry the token.

use tracing_subscriber::EnvFilter;

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
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    for c in CAPPED {
        if let Ok(d) = format!("{c}=warn").parse() {
            filter = filter.add_directive(d);
        }
    }
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
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
}
