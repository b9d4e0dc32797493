//! The real `lensbot` binary: piped chat, export and forget, check, test, usage errors, and a
//! SIGKILL right after a confirmed answer.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn lensbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("LENSBOT_DATA").env_remove("LENSBOT_DIALOGUES");
    c
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = lensbot()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn piped_chat_answers_and_exits_zero_at_end_of_input() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, out, err) = run(
        &["chat", "--user", "pipe", "--data", d],
        "/start\n/lens 2\n1\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("== Your privacy =="), "{out}");
    assert!(
        out.contains("== Lens 2: Care of patients, awareness =="),
        "{out}"
    );
    // Progress is kept between runs.
    let (_, out, _) = run(&["chat", "--user", "pipe", "--data", d], "/continue\n");
    assert!(
        out.contains("== Lens 2: Care of patients, awareness =="),
        "{out}"
    );
    assert!(!out.contains("Your privacy"), "{out}");
}

#[test]
fn export_and_forget() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    run(&["chat", "--user", "ex", "--data", d], "/note keep this\n");
    let (code, out, _) = run(&["export", "--user", "ex", "--data", d], "");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("export is JSON");
    assert_eq!(v["notes"][0]["text"], "keep this");
    let (code, out, _) = run(&["forget", "--user", "ex", "--data", d], "");
    assert_eq!(code, 0);
    assert!(out.contains("Deleted everything held about terminal:ex"));
    let (code, _, err) = run(&["export", "--user", "ex", "--data", d], "");
    assert_eq!(code, 1);
    assert!(err.contains("nothing is held about terminal:ex"));
}

#[test]
fn an_answer_confirmed_as_saved_survives_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mut child = lensbot()
        .args(["chat", "--user", "kill", "--data", d])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "/lens 1\n1\n1\nSentinel reflection 7431").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the chat ended before confirming"
        );
        if line.trim() == "Saved." {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flush on exit.
    child.wait().unwrap();
    drop(stdin);
    let (code, out, err) = run(&["export", "--user", "kill", "--data", d], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Sentinel reflection 7431"), "{out}");
}

#[test]
fn a_store_in_use_is_a_clear_error_not_a_panic() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let mut holder = lensbot()
        .args(["chat", "--user", "h", "--data", d])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    let mut stdout = BufReader::new(holder.stdout.take().unwrap());
    writeln!(stdin, "/help").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap(); // the store is open once the chat answers
    let (code, _, err) = run(&["export", "--user", "h", "--data", d], "");
    drop(stdin);
    holder.wait().unwrap();
    assert_eq!(code, 1);
    assert!(
        err.contains("is in use by another lensbot process"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn check_passes_on_the_real_content_and_names_lines_on_broken_content() {
    let (code, out, _) = run(&["check"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors, 0 warnings"), "{out}");
    let d = crate::helpers::copy_dialogues();
    let line = crate::helpers::edit(
        d.path(),
        "facts.yaml",
        "facts:\n",
        "facts:\n  - id: x\n    txet: 1\n",
    );
    let (code, out, _) = run(&["check", d.path().to_str().unwrap()], "");
    assert_eq!(code, 1);
    let want = format!("facts.yaml:{}:5: error: unknown field `txet`", line + 2);
    assert!(out.contains(&want), "{want}\n{out}");
}

#[test]
fn test_runs_the_transcripts_and_counts_them() {
    let (code, out, _) = run(&["test"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

// Proves: mistakes on the command line exit 2 and name what was wrong (an unknown command, a
// missing required flag, a flag with no value, a misspelt flag with its suggestion, a user id
// with a space), on standard error with a pointer to `--help`.
#[test]
fn usage_errors_are_clear() {
    let (code, _, err) = run(&["frob"], "");
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand 'frob'"), "{err}");
    assert!(err.contains("--help"), "{err}");
    let (code, _, err) = run(&["export"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--user <ID>"), "{err}");
    let (code, _, err) = run(&["chat", "--user"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("a value is required for '--user <ID>'"),
        "{err}"
    );
    let (code, _, err) = run(&["serve", "--chek"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("'--chek'") && err.contains("'--check'"),
        "{err}"
    );
    let (code, _, err) = run(&["chat", "--user", "a b"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("must be 1-64 characters with no spaces"),
        "{err}"
    );
    let (code, _, err) = run(&["backup"], "");
    assert_eq!(code, 2);
    assert!(err.contains("<FILE>"), "{err}");
}

// Proves: every subcommand answers `--help` (exit 0, its usage on standard output, no store
// opened and no platform tried), `lensbot --version` and `-V` print the
// version, no arguments at all prints the overall help with code 0, and the help names the
// flags and environment variables each command reads.
#[test]
fn every_subcommand_answers_help_and_the_version_is_printed() {
    for sub in [
        "chat",
        "telegram",
        "discord",
        "serve",
        "health",
        "doctor",
        "backup",
        "restore",
        "check",
        "test",
        "export",
        "forget",
        "completions",
    ] {
        let (code, out, err) = run(&[sub, "--help"], "");
        assert_eq!(code, 0, "{sub} --help: {err}");
        assert!(
            out.contains(&format!("Usage: lensbot {sub}")),
            "{sub} --help: {out}"
        );
        let (code, short, _) = run(&["help", sub], "");
        assert_eq!(code, 0);
        assert_eq!(short, out, "`help {sub}` is `{sub} --help`");
    }
    let (_, out, _) = run(&["serve", "--help"], "");
    for want in [
        "--check",
        "--online",
        "--accept-damaged",
        "--config",
        "--data",
        "LENSBOT_HEALTH",
    ] {
        assert!(out.contains(want), "serve --help lacks {want}: {out}");
    }
    let (_, out, _) = run(&["telegram", "--help"], "");
    assert!(
        out.contains("TELEGRAM_BOT_TOKEN") && out.contains("--token-file"),
        "{out}"
    );
    let (_, out, _) = run(&["discord", "--help"], "");
    assert!(
        out.contains("DISCORD_TOKEN") && out.contains("DISCORD_GUILD_ID"),
        "{out}"
    );
    let want = format!("lensbot {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"]] {
        let (code, out, _) = run(args, "");
        assert_eq!((code, out.as_str()), (0, want.as_str()), "{args:?}");
    }
    let (code, out, _) = run(&[], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage: lensbot [COMMAND]") && out.contains("completions"),
        "{out}"
    );
}

// Proves: `lensbot completions SHELL` prints a completion script for each shell clap_complete
// knows, naming the subcommands and their flags; an unknown shell is a usage error naming the
// ones offered.
#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _lensbot"),
        ("zsh", "#compdef lensbot"),
        ("fish", "complete -c lensbot"),
        ("elvish", "edit:completion:arg-completer[lensbot]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = run(&["completions", shell], "");
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(
            out.contains("serve") && out.contains("accept-damaged"),
            "{shell}"
        );
    }
    let (code, _, err) = run(&["completions", "tcsh"], "");
    assert_eq!(code, 2);
    assert!(err.contains("bash") && err.contains("zsh"), "{err}");
}

/// Proves: `lensbot backup` over a sled store with one unreadable record writes everyone else,
/// then exits non-zero naming the key and what to do. The bad record is planted by opening
/// sled directly and inserting raw bytes into the `users` tree (this depends on the store's
/// on-disk layout: once values carry checksums, plant the record through that format instead).
#[tokio::test]
async fn backup_writes_everyone_readable_and_exits_non_zero_naming_the_rest() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    run(&["chat", "--user", "ok", "--data", d], "/note keep me\n");
    {
        // A record as damage leaves it: no valid checksum (and a store that no longer matches
        // its manifest, which `backup` reports but does not refuse).
        let db = sled::Config::new()
            .path(data.path().join("sled"))
            .open()
            .unwrap();
        let users = db.open_tree("users").unwrap();
        users
            .insert(
                "terminal:bad",
                &b"{\"v\":1,\"user\":\"terminal:bad\",SECRET-WORDS"[..],
            )
            .unwrap();
        db.flush().unwrap();
    }
    let file = data.path().join("b.jsonl");
    let (code, out, err) = run(&["backup", file.to_str().unwrap(), "--data", d], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("Wrote 1 people"), "{out}");
    assert!(err.contains("terminal:bad"), "{err}");
    assert!(err.contains("lensbot doctor"), "{err}");
    assert!(!err.contains("SECRET-WORDS") && !out.contains("SECRET-WORDS"));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains("keep me"), "sealed");
    assert!(!written.contains("terminal:bad"));
    // What was written restores (with the store key of the store that wrote it).
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(
        data.path().join("store.key"),
        fresh.path().join("store.key"),
    )
    .unwrap();
    let (code, out, err) = run(
        &[
            "restore",
            file.to_str().unwrap(),
            "--data",
            fresh.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Restored 1 people"), "{out}");
}
