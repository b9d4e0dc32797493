//! `lensbot serve`, backups and restores, with the real binary: both platforms in one process
//! against both fakes, shutdown timing, logs with no token and no user text, `--check`, the
//! health endpoint and `lensbot health`.

use crate::fake_discord::FakeDiscord;
use crate::fake_telegram::FakeTelegram;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TG_TOKEN: &str = "777000:SENTINEL-TELEGRAM-TOKEN";
const DC_TOKEN: &str = "MTIzNDU2.SENTINEL.DISCORD-TOKEN";

fn lensbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    for v in [
        "TELEGRAM_BOT_TOKEN",
        "DISCORD_TOKEN",
        "DISCORD_GUILD_ID",
        "LENSBOT_DATA",
        "TELEGRAM_API_URL",
        "DISCORD_API_URL",
        "LENSBOT_TIMEZONE",
        "LENSBOT_QUIET_HOURS",
        "LENSBOT_BACKUP_KEEP",
        "RUST_LOG",
    ] {
        c.env_remove(v);
    }
    // Tests run side by side: each health endpoint on a port of its own.
    c.env("LENSBOT_HEALTH", "127.0.0.1:0");
    c
}

/// A free port on 127.0.0.1 (free when asked; the test binds it straight after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lensbot health --addr ADDR`: its exit code and the JSON it printed (`Null` if none).
pub fn ask_health(addr: &str) -> (Option<i32>, Value) {
    let out = lensbot().args(["health", "--addr", addr]).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v)
}

// Proves: a running `serve` answers `GET /healthz` (through `lensbot health`, as a container
// health check asks) with the store healthy, Telegram connected once it has polled, and the
// outbox's depth and oldest unsent message while a reply waits on a slow send; with nothing
// listening, `lensbot health` exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_store_telegram_and_the_outbox() {
    let tg = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = lensbot()
        .args(["serve", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", &tg.url)
        .env("LENSBOT_BACKUP_KEEP", "0")
        .env("LENSBOT_HEALTH", &addr)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tg.send_private(7101, "/help");
    tg.wait_for_text(7101, "What I can do").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let v = loop {
        let (code, v) = ask_health(&addr);
        if code == Some(0) && v["platforms"]["telegram"]["connected"] == true {
            break v;
        }
        assert!(Instant::now() < deadline, "never healthy: {code:?} {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(v["status"], "healthy", "{v}");
    assert_eq!(v["store"]["state"], "healthy", "{v}");
    assert_eq!(v["outbox"]["depth"], 0, "{v}");
    // A reply stuck in a slow send is an unsent message the report counts.
    tg.slow_sends(Duration::from_secs(4));
    tg.send_private(7102, "/help");
    let v = loop {
        let (_, v) = ask_health(&addr);
        if v["outbox"]["depth"] == 1 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox never showed the reply: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(v["outbox"]["oldest_unsent_seconds"].is_u64(), "{v}");
    tg.slow_sends(Duration::ZERO);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(status.expect("stops on SIGTERM").code(), Some(0));
    // Nobody listening: unhealthy, for the health check.
    let (code, v) = ask_health(&addr);
    assert_eq!(code, Some(1));
    assert_eq!(v, Value::Null);
}

// Proves: `serve --check` validates the settings and the content without connecting (the
// Telegram address is a closed port, yet it passes) and says plainly that the tokens were not
// tried; mistakes in lensbot.toml are named with their line.
#[test]
fn check_validates_settings_without_connecting() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let out = lensbot()
        .args(["serve", "--check", "--data", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no platform is configured"));
    let out = lensbot()
        .args(["serve", "--check", "--data", d])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Configuration and content are valid: Telegram"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Checked offline: the tokens were not tried"),
        "{stdout}"
    );
    assert!(!stdout.contains("SENTINEL"));
    // A settings file with a mistake is named with its line.
    let cfg = data.path().join("lensbot.toml");
    std::fs::write(
        &cfg,
        "default_timezone = \"Europe/London\"\nquiet_hours = 2100\n",
    )
    .unwrap();
    let out = lensbot()
        .args(["serve", "--check", "--config", cfg.to_str().unwrap()])
        .env("DISCORD_TOKEN", DC_TOKEN)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("lensbot.toml") && err.contains("line 2"),
        "{err}"
    );
    std::fs::write(&cfg, "default_timezone = \"Atlantis\"\n").unwrap();
    let out = lensbot()
        .args(["serve", "--check", "--config", cfg.to_str().unwrap()])
        .env("DISCORD_TOKEN", DC_TOKEN)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("default time zone `Atlantis` is unknown")
    );
}

// Proves: `serve --check --online` tries each token against its platform (Telegram's getMe,
// Discord's GET /users/@me, on the fakes) and names the bot each answered for, exit 0; a token
// Telegram refuses, or a platform that cannot be reached (a closed port), is said plainly with
// exit 1, and the token itself is never printed. `--online` without `--check` is a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_tries_the_tokens_and_says_what_answered() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap().to_string();
    let check = move |tg_url: &str, dc_url: &str| {
        let out = lensbot()
            .args(["serve", "--check", "--online", "--data", &d])
            .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env("TELEGRAM_API_URL", tg_url)
            .env("DISCORD_TOKEN", DC_TOKEN)
            .env("DISCORD_API_URL", dc_url)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains("SENTINEL"), "{text}");
        (out.status.code(), text)
    };
    let (tg_url, dc_url) = (tg.url.clone(), dc.rest_url.clone());
    let check2 = check.clone();
    let (code, out) = tokio::task::spawn_blocking(move || check2(&tg_url, &dc_url))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "Telegram: the token works; the bot is @{}.",
            crate::fake_telegram::BOT_USERNAME
        )),
        "{out}"
    );
    assert!(
        out.contains("Discord: the token works; the bot is"),
        "{out}"
    );
    assert!(!out.contains("Checked offline"), "{out}");
    assert_eq!(tg.calls("getMe").len(), 1);
    assert!(
        dc.calls()
            .iter()
            .any(|c| c.method == "GET" && c.path == "/users/@me")
    );
    tg.fail_get_me();
    let tg_url = tg.url.clone();
    let (code, out) = tokio::task::spawn_blocking(move || check(&tg_url, "http://127.0.0.1:9"))
        .await
        .unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Telegram: the token could not be confirmed"),
        "{out}"
    );
    assert!(
        out.contains("Discord: the token could not be confirmed"),
        "{out}"
    );
    let out = lensbot().args(["serve", "--online"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn wait_exit(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_both_platforms_in_one_process_and_logs_no_token_or_user_text() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let data = tempfile::tempdir().unwrap();
    let health = format!("127.0.0.1:{}", free_port());
    let mut child = lensbot()
        .args(["serve", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", &tg.url)
        .env("DISCORD_TOKEN", DC_TOKEN)
        .env("DISCORD_API_URL", &dc.rest_url)
        .env("DISCORD_GUILD_ID", "500")
        .env("LENSBOT_HEALTH", &health)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tg.send_private(42424, "/note SENTINEL-REFLECTION-TEXT from telegram");
    tg.wait_for_text(42424, "Note saved").await;
    dc.wait("registration", |f| {
        f.calls().into_iter().find(|c| c.method == "PUT")
    })
    .await;
    let t = dc.command(
        4343,
        Some(500),
        "note",
        &[("text", "SENTINEL-REFLECTION-TEXT from discord")],
    );
    dc.wait_followup(&t, "Note saved").await;
    // The health report shows both platforms connected (Discord's gateway said ready).
    let (code, v) = ask_health(&health);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["platforms"]["discord"]["connected"], true, "{v}");
    assert_eq!(v["platforms"]["telegram"]["connected"], true, "{v}");
    // One store for both: a daily backup holds both people.
    let backups = data.path().join("backups");
    let started = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let s = wait_exit(&mut child, Duration::from_secs(10));
        (s, child)
    })
    .await
    .unwrap();
    let (status, child) = status;
    let status = status.expect("serve exits within 10 seconds of SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(10));
    let out = child.wait_with_output().unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status.code(), Some(0), "{logs}");
    assert!(
        !logs.contains("SENTINEL-TELEGRAM-TOKEN") && !logs.contains("SENTINEL.DISCORD"),
        "a token reached the logs:\n{logs}"
    );
    assert!(
        !logs.contains("SENTINEL-REFLECTION-TEXT"),
        "a person's words reached the logs:\n{logs}"
    );
    assert!(
        logs.contains("platform=\"telegram\"") || logs.contains("platform=telegram"),
        "{logs}"
    );
    assert!(logs.contains("what=/note"), "one line per turn:\n{logs}");
    let mut files: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        3,
        "a daily backup, its sidecar and its key file on start: {files:?}"
    );
    assert!(files[1].ends_with(".jsonl"), "{files:?}");
    assert!(files[2].ends_with(".keys"), "{files:?}");
    // Both people are in the one store.
    for user in ["telegram:42424", "discord:4343"] {
        let export = lensbot()
            .args([
                "export",
                "--user",
                user,
                "--data",
                data.path().to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&export.stdout).unwrap();
        assert!(
            v["notes"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("SENTINEL-REFLECTION-TEXT")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let tg = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let mut child = lensbot()
        .args(["serve", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", &tg.url)
        .env("LENSBOT_BACKUP_KEEP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tg.send_private(1, "/help");
    tg.wait_for_text(1, "What I can do").await;
    // A turn that will take a long time to send its reply.
    tg.slow_sends(Duration::from_secs(30));
    tg.send_private(2, "/help");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tg.calls("sendMessage").len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    let kill = |pid: &str| {
        std::process::Command::new("kill")
            .args(["-TERM", pid])
            .status()
            .unwrap()
    };
    kill(&pid);
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&pid);
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        status.expect("exits at once on the second signal").code(),
        Some(130)
    );
}

/// A platform that cannot be reached or never answers, for the stop tests: `Closed` is a
/// local port with nothing listening; `Silent` accepts connections and never says a word.
enum Unreachable {
    Closed(u16),
    Silent {
        port: u16,
        accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}

impl Unreachable {
    fn closed() -> Unreachable {
        Unreachable::Closed(free_port())
    }

    fn silent() -> Unreachable {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let (a, d) = (accepted.clone(), done.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !d.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        held.push(conn);
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Unreachable::Silent {
            port,
            accepted,
            done,
        }
    }

    fn url(&self) -> String {
        match self {
            Unreachable::Closed(port) | Unreachable::Silent { port, .. } => {
                format!("http://127.0.0.1:{port}")
            }
        }
    }

    /// Whether the binary has got as far as asking (a silent server has been connected to; a
    /// closed port's refusal shows in the log).
    fn asked(&self, log: &str) -> bool {
        match self {
            Unreachable::Closed(_) => log.contains("gateway URL failed"),
            Unreachable::Silent { accepted, .. } => {
                accepted.load(std::sync::atomic::Ordering::SeqCst) > 0
            }
        }
    }
}

impl Drop for Unreachable {
    fn drop(&mut self) {
        if let Unreachable::Silent { done, .. } = self {
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Starts `lensbot ARGS` with `env`, waits (up to 30 s) until it has asked the platform, sends
/// `signal`, and returns how long it took to exit, its exit code and its log.
fn stop_while_unreachable(
    args: &[&str],
    env: &[(&str, String)],
    platform: &Unreachable,
    signal: &str,
) -> (Duration, Option<i32>, String) {
    use std::io::Read;
    let mut child = lensbot()
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("LENSBOT_BACKUP_KEEP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !platform.asked(&log.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "{args:?} never asked the platform:\n{}",
            log.lock().unwrap()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} exited before the signal:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let sent = Instant::now();
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let took = sent.elapsed();
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    (took, status.and_then(|s| s.code()), log)
}

// Proves: `lensbot discord`, `lensbot telegram` and `lensbot serve` stop within the promised
// ten seconds of a SIGTERM (or SIGINT) whether the platform's address is a closed port or a
// server that accepts and never answers, exit 0 saying they stopped cleanly, and leave the
// store closed and whole: `lensbot doctor` opens the same data directory straight after and
// finds nothing wrong.
#[test]
fn every_bot_command_stops_within_ten_seconds_when_the_platform_does_not_answer() {
    type Case = (&'static str, fn() -> Unreachable, &'static str);
    let cases: [Case; 6] = [
        ("discord", Unreachable::closed, "-TERM"),
        ("discord", Unreachable::silent, "-TERM"),
        ("discord", Unreachable::silent, "-INT"),
        ("telegram", Unreachable::silent, "-TERM"),
        ("serve", Unreachable::closed, "-TERM"),
        ("serve", Unreachable::silent, "-TERM"),
    ];
    for (command, platform, signal) in cases {
        let platform = platform();
        let data = tempfile::tempdir().unwrap();
        let d = data.path().to_str().unwrap();
        let url = platform.url();
        let env: Vec<(&str, String)> = match (command, &platform) {
            ("telegram", _) => vec![
                ("TELEGRAM_BOT_TOKEN", TG_TOKEN.into()),
                ("TELEGRAM_API_URL", url),
            ],
            // A closed port makes Telegram's getMe fail at once (an error, not a stop), so
            // `serve` against a closed port runs Discord alone.
            ("serve", Unreachable::Silent { .. }) => vec![
                ("TELEGRAM_BOT_TOKEN", TG_TOKEN.into()),
                ("TELEGRAM_API_URL", url.clone()),
                ("DISCORD_TOKEN", DC_TOKEN.into()),
                ("DISCORD_API_URL", url),
            ],
            _ => vec![("DISCORD_TOKEN", DC_TOKEN.into()), ("DISCORD_API_URL", url)],
        };
        let (took, code, log) =
            stop_while_unreachable(&[command, "--data", d], &env, &platform, signal);
        let case = format!("{command} {signal} ({})", platform.url());
        assert!(
            took < Duration::from_secs(10),
            "{case}: took {took:?}\n{log}"
        );
        assert_eq!(code, Some(0), "{case}:\n{log}");
        assert!(log.contains("stopped cleanly"), "{case}:\n{log}");
        assert!(!log.contains("SENTINEL"), "{case}: a token in the log");
        let out = lensbot().args(["doctor", "--data", d]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: the store after the stop:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// Proves: `lensbot telegram` (not only `serve`) exits at once, with code 130, on a second
// signal while the first stop waits on a reply Telegram is slow to take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_lensbot_telegram_at_once() {
    let tg = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let mut child = lensbot()
        .args(["telegram", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", &tg.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tg.send_private(1, "/help");
    tg.wait_for_text(1, "What I can do").await;
    tg.slow_sends(Duration::from_secs(30));
    tg.send_private(2, "/help");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tg.calls("sendMessage").len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().to_string();
    let kill = |pid: &str| {
        std::process::Command::new("kill")
            .args(["-TERM", pid])
            .status()
            .unwrap()
    };
    kill(&pid);
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&pid);
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        status.expect("exits at once on the second signal").code(),
        Some(130)
    );
}

#[test]
fn backup_and_restore_round_trip_and_refuse_when_they_should() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut c = lensbot()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        c.wait_with_output().unwrap()
    };
    run(
        &["chat", "--user", "bk", "--data", d],
        "/note keep me safe\n/remind lens every Monday 08:00\n",
    );
    let file = data.path().join("backup.jsonl");
    let out = run(&["backup", file.to_str().unwrap(), "--data", d], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Wrote 1 people"));
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(
        first
            .lines()
            .next()
            .unwrap()
            .contains("\"lensbot_backup\":2")
    );
    // Sealed: the words are not in the backup in plain text.
    assert!(!first.contains("keep me safe"), "{first}");
    // Into a fresh store without the store key: refused, saying what to do.
    let fresh = tempfile::tempdir().unwrap();
    let f = fresh.path().to_str().unwrap();
    let out = run(&["restore", file.to_str().unwrap(), "--data", f], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("store.key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With it: everything back, reminders re-indexed.
    std::fs::copy(
        data.path().join("store.key"),
        fresh.path().join("store.key"),
    )
    .unwrap();
    let out = run(&["restore", file.to_str().unwrap(), "--data", f], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Restored 1 people, 1 reminders"));
    let a: Value =
        serde_json::from_slice(&run(&["export", "--user", "bk", "--data", d], "").stdout).unwrap();
    let b: Value =
        serde_json::from_slice(&run(&["export", "--user", "bk", "--data", f], "").stdout).unwrap();
    assert_eq!(a, b);
    // Not over a store that holds people, unless asked.
    let out = run(&["restore", file.to_str().unwrap(), "--data", f], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds 1 people"));
    let out = run(
        &["restore", file.to_str().unwrap(), "--data", f, "--replace"],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    // Not from something that is not a backup.
    let junk = data.path().join("junk.jsonl");
    std::fs::write(&junk, "{\"hello\":1}\n").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "restore",
            junk.to_str().unwrap(),
            "--data",
            empty.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("line 1 of the backup: this is not a lensbot backup")
    );
    // Not while a running bot holds the store.
    let mut holder = lensbot()
        .args(["chat", "--user", "bk", "--data", d])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::{BufRead, BufReader, Write};
        let mut stdin = holder.stdin.take().unwrap();
        writeln!(stdin, "/help").unwrap();
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let out = run(
            &[
                "backup",
                data.path().join("b2.jsonl").to_str().unwrap(),
                "--data",
                d,
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another lensbot process"));
        drop(stdin);
    }
    holder.wait().unwrap();
}

// Proves: the health setting is checked and explained: a bad `health` in lensbot.toml fails
// `serve --check` naming it; a port already taken stops `serve` at once with a message saying
// how to move it; with `off`, `lensbot health` says there is nothing to ask and exits 1.
#[test]
fn health_settings_are_checked_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lensbot.toml");
    std::fs::write(&cfg, "telegram_token = \"1:x\"\nhealth = \"localhost\"\n").unwrap();
    let out = lensbot()
        .args(["serve", "--check", "--config", cfg.to_str().unwrap()])
        .env_remove("LENSBOT_HEALTH")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("health `localhost`") && err.contains("off"),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = lensbot()
        .args(["serve", "--data", dir.path().join("data").to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .env("LENSBOT_HEALTH", &addr)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot serve the health endpoint on {addr}"))
            && err.contains("LENSBOT_HEALTH"),
        "{err}"
    );
    assert!(!err.contains(TG_TOKEN));

    let out = lensbot()
        .args(["health"])
        .env("LENSBOT_HEALTH", "off")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the health endpoint is off"));
}
