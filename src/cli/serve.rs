//! `lensbot serve` (every configured platform, the scheduler, backups and the health
//! endpoint in one process), its `--check [--online]`, and `lensbot health`, which asks a
//! running `serve` how it is.

use super::*;

/// `lensbot serve`: every configured platform and the scheduler in one process, one store.
pub(super) fn serve(
    config: Option<PathBuf>,
    store_args: StoreArgs,
    check: bool,
    online: bool,
    accept_damaged: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    use crate::config;
    let settings = config::load(config.as_deref(), store_args.data())?;
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
    // A public key that is not an Ed25519 key is refused here, `--check` included.
    #[cfg(feature = "discord")]
    let discord_key = match &settings.discord_public_key {
        Some(k) => Some(crate::discord::endpoint::PublicKey::parse(k)?),
        None => None,
    };
    let mut store_args = store_args.clone();
    store_args.data = Some(settings.data_dir.clone());
    let location = store_args.location(settings.store.as_deref());
    if check {
        println!(
            "Configuration and content are valid: {} sharing one store ({}), data in {}, time zone {}, quiet hours {}, {} days of daily backups kept.",
            platforms.join(" and "),
            location.describe(),
            settings.data_dir.display(),
            settings.default_timezone,
            settings.quiet.describe(),
            settings.backup_keep
        );
        if !online {
            println!(
                "Checked offline: the tokens were not tried (add --online to try them against the platforms)."
            );
            return Ok(0);
        }
        return check_online(&settings);
    }
    crate::logging::init(&settings.log_level);
    let served = open_serving(&store_args, settings.store.as_deref(), accept_damaged)?;
    let (store, damage, unreadable) = (served.store, served.damage, served.unreadable);
    tracing::info!(store = %location.describe(), "store opened");
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
    #[cfg(feature = "discord")]
    let interactions = match settings.discord_interactions.filter(|_| settings.discord.is_some()) {
        Some(addr) => Some(rt.block_on(tokio::net::TcpListener::bind(addr)).map_err(|e| {
            format!(
                "cannot serve the Discord interactions endpoint on {addr}: {e}; set `discord_interactions` in lensbot.toml or LENSBOT_DISCORD_INTERACTIONS to another address, or to off"
            )
        })?),
        None => None,
    };
    let code = rt.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tx = Arc::new(tx);
        on_signals(tx.clone());
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
                webhook: telegram_webhook(&settings),
            };
            // Every process takes the webhook; one at a time polls, schedules and sends
            // (`telegram::run` takes part in the election, see `crate::roles`).
            let (s, mut rx) = (session.clone(), rx.clone());
            tasks.spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|v| *v).await;
                };
                crate::telegram::run(s, config, stop)
                    .await
                    .map_err(|e| e.to_string())
            });
        }
        #[cfg(feature = "discord")]
        if let Some(config) = discord_config(&settings) {
            let adapter = crate::discord::Adapter::new(session.clone(), config);
            // Interactions over HTTP: every process serves them.
            if let (Some(listener), Some(key)) = (interactions, discord_key) {
                let (a, mut rx) = (adapter.clone(), rx.clone());
                tasks.spawn(async move {
                    let stop = async move {
                        let _ = rx.wait_for(|v| *v).await;
                    };
                    crate::discord::endpoint::serve(listener, a, key, stop).await;
                    Ok(())
                });
            }
            // One process at a time holds the gateway (DMs), the scheduler and the sender
            // (see `crate::roles`).
            let (a, rx) = (adapter.clone(), rx.clone());
            tasks.spawn(crate::roles::while_elected(
                store.clone(),
                "discord",
                rx,
                move |until| {
                    let a = a.clone();
                    async move {
                        crate::discord::run_with(a, until)
                            .await
                            .map_err(|e| e.to_string())
                    }
                },
            ));
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
                    match crate::backup::daily(store.as_ref(), &dir, keep, now, integrity.as_deref()).await {
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
        let deadline = stop_deadline(rx.clone());
        tokio::pin!(deadline);
        loop {
            let res = tokio::select! {
                res = tasks.join_next() => match res {
                    Some(res) => res,
                    None => break,
                },
                _ = &mut deadline => {
                    tracing::warn!(tasks = tasks.len(), "not stopped within {} seconds: leaving the rest", STOP_WITHIN.as_secs());
                    tasks.abort_all();
                    break;
                }
            };
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
        if let Err(e) = session.flush().await {
            eprintln!("lensbot: {e}");
            code = 1;
        }
        code
    });
    rt.shutdown_timeout(RUNTIME_LEFTOVERS);
    exit_if_store_failed(&watch);
    if code == 0 {
        eprintln!("lensbot: stopped cleanly");
    }
    Ok(code)
}

/// `lensbot serve --check --online`: tries each configured token against its platform
/// (Telegram's `getMe`, Discord's `GET /users/@me`) and says what answered; 0 when every token
/// worked, else 1.
#[cfg_attr(
    not(any(feature = "telegram", feature = "discord")),
    allow(unused_variables)
)]
/// The Discord adapter's settings, when Discord is configured (`serve` and `--check-online`).
#[cfg(feature = "discord")]
fn discord_config(settings: &crate::config::Settings) -> Option<crate::discord::Config> {
    let (token, api_url, guild) = settings.discord.clone()?;
    Some(crate::discord::Config {
        token,
        api_url,
        guild,
        facilitator_role: settings.discord_facilitator_role,
    })
}

#[cfg_attr(
    not(any(feature = "telegram", feature = "discord")),
    allow(unused_variables)
)]
fn check_online(settings: &crate::config::Settings) -> Result<i32, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    #[cfg_attr(not(any(feature = "telegram", feature = "discord")), allow(unused_mut))]
    let mut answers: Vec<(&str, Option<Result<String, String>>)> = Vec::new();
    // Settings the platform disagrees with (Telegram: a webhook registered or not).
    #[cfg_attr(not(feature = "telegram"), allow(unused_mut))]
    let mut disagreements: Vec<String> = Vec::new();
    #[cfg(feature = "telegram")]
    if let Some((token, api_url)) = settings.telegram.clone() {
        let config = crate::telegram::Config {
            token,
            api_url,
            throttle: false,
            poll_timeout: 0,
            webhook: None,
        };
        let answer = rt.block_on(async {
            tokio::time::timeout(ONLINE_CHECK, crate::telegram::who_am_i(&config)).await
        });
        let answer = answer
            .ok()
            .map(|r| r.map(|n| format!("@{n}")).map_err(|e| e.to_string()));
        if matches!(answer, Some(Ok(_))) {
            // Whether Telegram delivers the way this process takes updates (webhook or polling).
            let api = crate::telegram::api::Api::new(&config.api_url, &config.token);
            let info = rt.block_on(async {
                tokio::time::timeout(ONLINE_CHECK, crate::telegram::webhook::webhook_info(&api))
                    .await
            });
            if let Ok(Ok(info)) = info {
                disagreements.extend(crate::telegram::webhook::mismatch(
                    &info,
                    settings.telegram_webhook.is_some(),
                ));
            }
        }
        answers.push(("Telegram", answer));
    }
    #[cfg(feature = "discord")]
    if let Some(config) = discord_config(settings) {
        let answer = rt.block_on(async {
            tokio::time::timeout(ONLINE_CHECK, crate::discord::who_am_i(&config)).await
        });
        answers.push(("Discord", answer.ok().map(|r| r.map_err(|e| e.to_string()))));
    }
    let mut failed = 0;
    for (platform, answer) in answers {
        match answer {
            Some(Ok(name)) => println!("{platform}: the token works; the bot is {name}."),
            Some(Err(e)) => {
                failed += 1;
                println!("{platform}: the token could not be confirmed: {e}");
            }
            None => {
                failed += 1;
                println!(
                    "{platform}: no answer within {} seconds; check the network and the API address",
                    ONLINE_CHECK.as_secs()
                );
            }
        }
    }
    for d in &disagreements {
        failed += 1;
        println!("Telegram: {d}");
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// How long `serve --check --online` waits for each platform to answer.
const ONLINE_CHECK: std::time::Duration = std::time::Duration::from_secs(10);

/// `lensbot health`: asks a running `serve` for its health and prints the JSON; 0 when healthy
/// or degraded, 1 when failing, unreachable or off.
pub(super) fn health(
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
