//! The Discord adapter: slash commands and buttons in community servers, with everything
//! personal private (ephemeral replies, a modal for free text), and whole conversations in DMs.
//!
//! serenity runs every gateway event as its own task; [`order`] gives each person's events a
//! ticket in gateway order (from a collector the shard runner calls before spawning), and each
//! task waits for its ticket, so a person's events are handled in the order Discord sent them
//! while different people never wait for each other. A button pressed again within moments is
//! a double click the engine ignores, so ten fast clicks make one transition. Every interaction
//! is acknowledged first (deferred), then the turn and its reply are saved in one write (the
//! outbox), then the [`crate::sender`] follows up through this adapter's [`Deliver`]: no fsync
//! stands before the acknowledgement, and a follow-up that fails is retried (after its token's
//! fifteen minutes, by DM). A button is acknowledged as a deferred update (nothing shows), and
//! its answer's first part then replaces the message it was pressed on (an edit of the
//! interaction's original message, idempotent when retried); anything more follows up as new
//! messages, so a walk through a lens stays one message. A challenge's buttons are the
//! exception: on a channel's post they are everyone's, and a day's prompt in a DM is kept to
//! read back, so their answers follow up. The first response each interaction gets is chosen
//! in [`respond`]; the commands and their subcommands are in [`commands`], suggestions while
//! an option is typed in [`autocomplete`]. Buttons carry the engine's `STEP:ACTION` tokens in
//! their `custom_id`, so they keep working after a restart and a stale one says where the
//! person is now. Every message is sent with empty allowed mentions. The token is never
//! printed; nothing a person writes is logged or posted publicly.
//!
//! **Interactions over HTTP.** Slash commands, buttons and modal submits can also come as
//! signed HTTP requests to [`endpoint`] (`POST /discord/interactions`, which every process may
//! serve; `discord_interactions` / `LENSBOT_DISCORD_INTERACTIONS`). To use it, set the
//! application's **Interactions Endpoint URL** in the developer portal to the public HTTPS
//! address of that path (Discord then sends interactions there and no longer over the
//! gateway; clearing it sends them back), give lensbot the application's **Public Key**
//! (`discord_public_key` / `DISCORD_PUBLIC_KEY`), against which every request's Ed25519
//! signature is checked, and put a proxy in front that terminates TLS (the endpoint speaks
//! plain HTTP). The handlers choose the first response and hand it to an [`ack::Acknowledge`]:
//! over the gateway it goes to the interaction's callback, over HTTP it is the request's
//! answer; either way the turn and its follow-ups come after it. The gateway stays for DMs.
//! An [`Adapter`] is built once per process and runs its parts separately: the gateway
//! ([`Adapter::gateway`]), the endpoint ([`endpoint::serve`]) and the sender with the
//! scheduler ([`Adapter::send`]); [`run`] runs all but the endpoint.

pub mod ack;
pub mod autocomplete;
pub mod commands;
pub mod endpoint;
pub mod order;
pub mod render;
pub mod respond;

use crate::challenge::{
    self,
    group::{Actor, Group},
};
use crate::engine::{self, Input, Message};
use crate::sender::{self, Deliver, DeliveryError, DeliveryFuture};
use crate::session::{ANSWER, Event, Session};
use ack::Acknowledge;
use serenity::all::{
    ButtonStyle, Command, CommandInteraction, ComponentInteraction, Context, CreateActionRow,
    CreateAllowedMentions, CreateAttachment, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse, EventHandler,
    GatewayIntents, GuildId, Http, HttpBuilder, Interaction, ModalInteraction, Ready, UserId,
};
use serenity::async_trait;
use serenity::builder::Builder as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a shutdown waits for the shards to close.
const STOP_SHARDS: Duration = Duration::from_secs(2);

/// How long a shutdown waits for the turns in hand (with the shards, the sender's two seconds
/// and a second for the client: under ten in all).
const FINISH_TURNS: Duration = Duration::from_secs(2);

/// How to reach Discord.
#[derive(Clone)]
pub struct Config {
    /// The bot token.
    pub token: String,
    /// A REST base to use instead of Discord's (a local fake in tests); the gateway address
    /// then comes from that server's `GET /gateway`.
    pub api_url: Option<String>,
    /// Register commands to one server (appears at once) instead of globally.
    pub guild: Option<u64>,
    /// A role whose members may facilitate challenges (besides Manage Server / Channels).
    pub facilitator_role: Option<u64>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("guild", &self.guild)
            .field("facilitator_role", &self.facilitator_role)
            .finish()
    }
}

/// What can stop the adapter.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// No token.
    #[error(
        "no Discord token: set DISCORD_TOKEN, or pass --token-file FILE (create the application and bot at the Discord developer portal)"
    )]
    NoToken,
    /// The gateway or the client failed.
    #[error("Discord connection failed: {0}")]
    Client(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A user's store key on Discord.
pub fn user_key(id: u64) -> String {
    format!("discord:{id}")
}

fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .replied_user(false)
}

fn components(rows: &[Vec<(String, String)>]) -> Vec<CreateActionRow> {
    rows.iter()
        .map(|row| {
            CreateActionRow::Buttons(
                row.iter()
                    .map(|(label, id)| {
                        CreateButton::new(id.clone())
                            .label(label.clone())
                            .style(ButtonStyle::Secondary)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The event handler: serenity calls it for every gateway event, each on its own task.
struct Handler {
    session: Arc<Session>,
    /// The adapter's REST client (follow-up edits; the gateway's callbacks).
    http: Arc<Http>,
    guild: Option<u64>,
    facilitator_role: Option<u64>,
    /// Every event holds this for reading while it is handled (acknowledgement, turn and
    /// follow-ups); shutdown takes it for writing, so it waits for the events in flight.
    in_flight: Arc<tokio::sync::RwLock<()>>,
    /// Each person's events in gateway order.
    tickets: Arc<order::Tickets>,
    /// The sink the sender uses, set once the client exists: a failing store's apology goes
    /// through it directly, since the outbox cannot keep it.
    direct: Arc<std::sync::OnceLock<Arc<Dm>>>,
    /// Servers' names by id, as Discord gave them (asked once per server).
    server_names: std::sync::Mutex<std::collections::HashMap<u64, String>>,
}

/// The collector that gives tickets: called by the shard runner for every event, in order.
fn ticket_collector(
    tickets: Arc<order::Tickets>,
    session: Arc<Session>,
) -> serenity::all::CollectorCallback {
    serenity::all::CollectorCallback(Box::new(move |event| {
        match event {
            serenity::all::Event::MessageCreate(m)
                if m.message.guild_id.is_none() && !m.message.author.bot =>
            {
                let (id, user) = (m.message.id.get(), user_key(m.message.author.id.get()));
                tickets.give(id, &user);
                let payload = serde_json::json!({
                    "kind": "dm",
                    "event": format!("dc:m:{id}"),
                    "text": m.message.content,
                    "name": display_name(&m.message.author),
                });
                keep(&session, id, &user, payload);
            }
            serenity::all::Event::InteractionCreate(i) => {
                intake(&tickets, &session, &i.interaction)
            }
            _ => {}
        }
        true
    }))
}

/// An interaction as it arrives (in gateway order, or as the endpoint takes it): its
/// person's ticket, and the text typed into an answer box kept in the inbox at once.
fn intake(tickets: &order::Tickets, session: &Session, interaction: &Interaction) {
    let (id, user) = match interaction {
        Interaction::Command(c) => (c.id.get(), c.user.id.get()),
        Interaction::Component(c) => (c.id.get(), c.user.id.get()),
        Interaction::Modal(m) => (m.id.get(), m.user.id.get()),
        _ => return,
    };
    tickets.give(id, &user_key(user));
    if let Interaction::Modal(m) = interaction {
        let (text, opened_at) = modal_answer(m);
        let payload = serde_json::json!({
            "kind": "answer",
            "event": format!("dc:i:{id}"),
            "text": text,
            "opened_at": opened_at,
        });
        keep(session, id, &user_key(user), payload);
    }
}

/// The text typed into an answer box, and the step the box was opened at (`None` when its id
/// cannot be read: such a box is stale whatever the person's step).
fn modal_answer(m: &ModalInteraction) -> (String, Option<u64>) {
    let text = m
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            serenity::all::ActionRowComponent::InputText(t) => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    let opened_at = m
        .data
        .custom_id
        .strip_prefix(&format!("{ANSWER}:"))
        .and_then(|s| s.parse::<u64>().ok());
    (text, opened_at)
}

/// The inbox source name for Discord events.
pub const SOURCE: &str = "discord";

/// Keeps a person's words from the moment they arrive (a DM, or text typed into an answer box)
/// in the store's inbox, so a stop or a crash before their turn does not lose them: the next
/// start finishes those turns ([`replay_inbox`]). Written without a flush (the gateway's task
/// must not wait for the disk); the turn's own flush, or the next one, makes it durable. The
/// collector is synchronous (that is what keeps gateway order), so the store's write is
/// waited for here ([`crate::store::wait`]): for sled it is an in-memory write.
fn keep(session: &Session, id: u64, user: &str, payload: serde_json::Value) {
    let entry = crate::inbox::InboxEntry {
        source: SOURCE.into(),
        seq: id,
        event: payload["event"].as_str().unwrap_or_default().to_string(),
        queue: user.to_string(),
        payload,
    };
    if let Err(e) = crate::store::wait(session.receive(SOURCE, id, &[entry])) {
        crate::health::log_store_error("keeping a Discord event in the inbox", &e);
    }
}

/// Finishes the turns a stop or a crash left in the inbox: each person's words, in order,
/// answered by DM (the interaction's token may have expired).
async fn replay_inbox(session: &Session) -> Result<usize, crate::store::StoreError> {
    let (_, backlog) = session.inbox_backlog(SOURCE).await?;
    let n = backlog.len();
    for e in backlog {
        let p = &e.payload;
        let text = p["text"].as_str().unwrap_or("").to_string();
        let mut ev = Event::new(&e.queue, Input::Text(text));
        ev.id = Some(e.event.clone()).filter(|id| !id.is_empty());
        ev.inbox = Some(e.key());
        ev.to = Some(e.queue.clone());
        ev.name = p["name"].as_str().map(str::to_string);
        if p["kind"] == "answer" {
            ev.opened_at = Some(p["opened_at"].as_u64().unwrap_or(u64::MAX));
        }
        // One event that fails stays in the inbox; the others, and the start, go on.
        if let Err(e) = session.handle_event(ev, session.now()).await {
            tracing::error!("a Discord turn left from the last run failed again: {e}");
        }
    }
    if n > 0 {
        tracing::info!(events = n, "finished Discord turns left from the last run");
    }
    Ok(n)
}

/// Where an interaction's answer goes: its follow-up, by token (valid fifteen minutes).
fn hook(user: &str, token: &str, ephemeral: bool) -> String {
    let id = user.strip_prefix("discord:").unwrap_or(user);
    let kind = if ephemeral { "e" } else { "p" };
    format!("discord:hook:{kind}:{id}:{token}")
}

/// Where a button's answer goes: the message it was pressed on is edited in place with the
/// answer's first part (`PATCH …/messages/@original`), and any further parts follow up.
fn hook_in_place(user: &str, token: &str, ephemeral: bool) -> String {
    let id = user.strip_prefix("discord:").unwrap_or(user);
    let kind = if ephemeral { "ue" } else { "up" };
    format!("discord:hook:{kind}:{id}:{token}")
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        self.session.health().set_connected("discord", true);
        // The adapter's own client follows up under this application.
        self.http.set_application_id(ready.application.id);
        ctx.shard
            .add_collector(ticket_collector(self.tickets.clone(), self.session.clone()));
        let cmds = commands::definitions(self.session.catalog());
        let registered = match self.guild {
            Some(g) => GuildId::new(g)
                .set_commands(&ctx.http, cmds)
                .await
                .map(|c| c.len()),
            None => Command::set_global_commands(&ctx.http, cmds)
                .await
                .map(|c| c.len()),
        };
        match registered {
            Ok(_) => tracing::info!(
                "connected to Discord as {}; commands registered",
                ready.user.name
            ),
            Err(e) => tracing::warn!(
                "connected to Discord as {}, but registering commands failed: {e}",
                ready.user.name
            ),
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let ack = Acknowledge::Gateway {
            http: self.http.clone(),
            id: interaction.id(),
            token: interaction.token().to_string(),
        };
        self.interaction(interaction, ack).await;
    }

    async fn shard_stage_update(&self, _ctx: Context, e: serenity::all::ShardStageUpdateEvent) {
        let connected = matches!(e.new, serenity::all::ConnectionStage::Connected);
        self.session.health().set_connected("discord", connected);
    }

    async fn message(&self, _ctx: Context, msg: serenity::all::Message) {
        // Only direct messages: in servers the bot works through slash commands.
        if msg.guild_id.is_some() || msg.author.bot {
            return;
        }
        let _in_flight = self.in_flight.read().await;
        let _ticket = self.tickets.wait(msg.id.get()).await;
        let user = user_key(msg.author.id.get());
        let mut ev = Event::new(&user, Input::Text(msg.content.clone()));
        ev.name = Some(display_name(&msg.author));
        ev.id = Some(format!("dc:m:{}", msg.id.get()));
        ev.inbox = Some(crate::inbox::key(SOURCE, msg.id.get()));
        ev.to = Some(user.clone());
        self.turn(ev).await;
    }
}

/// What a slash command will do, decided before it is acknowledged (the acknowledgement's
/// visibility is the answer's and cannot change afterwards).
enum Route {
    /// A turn through the session (`public`: a lookup answered in the channel).
    Turn {
        /// The engine's text.
        text: String,
        /// Answered in the channel.
        public: bool,
    },
    /// `/challenge …` for this channel's challenge.
    Group {
        /// The words after `/challenge`.
        args: String,
        /// Whether the person may facilitate.
        admin: bool,
        /// Answered only to the person (a facilitator word from someone who may not).
        private: bool,
    },
    /// `/insights`: the server's counts, for its managers and facilitators.
    Insights {
        /// Whether the person may see them (`None` outside a server).
        allowed: Option<bool>,
    },
    /// `/challenge role …`: a server's facilitator role.
    Role {
        /// Whether the person manages the server.
        manager: bool,
        /// The change to make: the server and the role id (empty for none).
        change: Option<(GuildId, String)>,
    },
}

impl Route {
    /// Whether the answer is only for the person who asked.
    fn private(&self, in_server: bool) -> bool {
        match self {
            Route::Turn { public, .. } => in_server && !public,
            Route::Group { private, .. } => *private,
            Route::Role { change, .. } => change.is_none(),
            Route::Insights { .. } => true,
        }
    }
}

impl Handler {
    /// An interaction, from the gateway or the endpoint: its handler chooses the first
    /// response and gives it to `ack`, then waits for its ticket before the turn.
    async fn interaction(&self, interaction: Interaction, ack: Acknowledge) {
        let id = match &interaction {
            Interaction::Command(c) => c.id.get(),
            Interaction::Component(c) => c.id.get(),
            Interaction::Modal(m) => m.id.get(),
            _ => 0,
        };
        // Should a handler fail before it takes its ticket, the ticket is given back, so the
        // person's next event is not held up.
        let _release = order::Release::new(&self.tickets, id);
        let _in_flight = self.in_flight.read().await;
        match interaction {
            // Suggestions touch nothing and wait for nobody: no ticket, no turn.
            Interaction::Autocomplete(a) => self.on_autocomplete(&ack, a).await,
            Interaction::Command(cmd) => self.on_command(&ack, cmd).await,
            Interaction::Component(c) => self.on_component(&ack, c).await,
            Interaction::Modal(m) => self.on_modal(&ack, m).await,
            _ => {}
        }
    }

    async fn on_command(&self, ack: &Acknowledge, cmd: CommandInteraction) {
        let in_server = cmd.guild_id.is_some();
        let route = self.route(&cmd).await;
        // Acknowledge first: nothing slow before this (a server's role setting is read).
        let response = respond::defer(route.private(in_server));
        if ack.send(response).await.is_err() {
            return;
        }
        match route {
            Route::Turn { text, public } => self.command_turn(&cmd, text, public).await,
            Route::Group {
                args,
                admin,
                private,
            } => self.group_challenge(&cmd, &args, admin, private).await,
            Route::Role { manager, change } => self.set_server_role(&cmd, manager, change).await,
            Route::Insights { allowed } => self.insights(&cmd, allowed).await,
        }
    }

    /// Decides what a slash command does, and so how visibly it is acknowledged.
    async fn route(&self, cmd: &CommandInteraction) -> Route {
        let in_server = cmd.guild_id.is_some();
        let name = cmd.data.name.as_str();
        let mut text = commands::text(&cmd.data);
        if name == commands::SERVER_COMMANDS[0] {
            let allowed = match in_server {
                true => Some(self.may_see_insights(cmd).await),
                false => None,
            };
            return Route::Insights { allowed };
        }
        if in_server && name == "challenge" {
            let args = text
                .split_once(' ')
                .map(|(_, a)| a)
                .unwrap_or("")
                .to_string();
            let sub = args.split_whitespace().next().unwrap_or("").to_lowercase();
            if sub == "role" {
                let (manager, change) = role_change(cmd, &args);
                return Route::Role { manager, change };
            }
            if MEMBER_WORDS.contains(&sub.as_str()) {
                // A member's own business: privately, for this channel's challenge.
                let group = challenge::group_key("discord", &cmd.channel_id.get().to_string());
                text = format!("/challenge {args} {}", challenge::code(&group));
            } else {
                let admin = self.may_facilitate(cmd).await;
                let private = FACILITATOR_WORDS.contains(&sub.as_str()) && !admin;
                return Route::Group {
                    args,
                    admin,
                    private,
                };
            }
        }
        let args = text.split_once(' ').map(|(_, a)| a).unwrap_or("");
        let public = in_server && engine::is_public_lookup(name, args);
        Route::Turn { text, public }
    }

    /// A command's turn, once acknowledged.
    async fn command_turn(&self, cmd: &CommandInteraction, text: String, public: bool) {
        let in_server = cmd.guild_id.is_some();
        let user = user_key(cmd.user.id.get());
        let _ticket = self.tickets.wait(cmd.id.get()).await;
        let mut ev = Event::new(&user, Input::Text(text.clone()));
        ev.id = Some(format!("dc:i:{}", cmd.id.get()));
        ev.to = Some(hook(&user, &cmd.token, in_server && !public));
        if in_server {
            // Used in this channel, so the person is in it: its challenge, and no other, may
            // be joined from here (a typed code for another group is refused by the session).
            ev.member_of = Some(challenge::group_key(
                "discord",
                &cmd.channel_id.get().to_string(),
            ));
        }
        ev.community = community(cmd.guild_id);
        if public {
            if let Some(c) = &ev.community {
                self.session.note_community(&user, c).await;
            }
            let public = engine::public_lookup(
                self.session.catalog(),
                &user,
                &text,
                (cmd.id.get() % 1000) as u32,
                self.session.now(),
            );
            if let Err(e) = self.session.post(&ev, public).await {
                tracing::warn!("queueing a Discord answer failed: {e}");
            }
            return;
        }
        ev.name = Some(display_name(&cmd.user));
        self.turn(self.in_server(ev, in_server)).await;
    }

    /// Suggestions for the option being typed, from the catalog and the clock alone.
    async fn on_autocomplete(&self, ack: &Acknowledge, a: CommandInteraction) {
        let choices = match a.data.autocomplete() {
            Some(o) => autocomplete::suggest(
                self.session.catalog(),
                &a.data.name,
                o.name,
                o.value,
                self.session.now(),
            ),
            None => Vec::new(),
        };
        let response = respond::choices(choices);
        let _ = ack.send(response).await;
    }

    /// In a server, free text is typed into a modal: the answer offers the button that opens it.
    fn in_server(&self, mut ev: Event, in_server: bool) -> Event {
        if in_server {
            ev.answer_button = Some(self.session.catalog().t("button.type_answer").to_string());
        }
        ev
    }

    /// The answer box for a person at a step: the question asked there (read from their
    /// record; none when it cannot be read, or the box is from an earlier step).
    async fn answer_box(&self, user: &str, step: &str) -> CreateInteractionResponse {
        let cat = self.session.catalog();
        let state = self.session.record_of(user).await.ok().flatten();
        let question = state
            .filter(|st| st.step.to_string() == step)
            .and_then(|st| engine::answer_box::question(cat, &st));
        let words = respond::box_words(
            cat.t("modal_title"),
            question.as_deref(),
            cat.t("modal_label"),
        );
        respond::answer_box(
            format!("{ANSWER}:{step}"),
            words,
            engine::text::MAX_INPUT_CHARS as u16,
        )
    }

    async fn on_component(&self, ack: &Acknowledge, c: ComponentInteraction) {
        let user = user_key(c.user.id.get());
        let id = c.data.custom_id.clone();
        let in_server = c.guild_id.is_some();
        let step = id.strip_prefix(&format!("{ANSWER}:"));
        // The answer button opens the private text box (its submission carries the step it
        // was opened at); any other button is acknowledged as a deferred update of its message.
        let response = match step {
            Some(step) => self.answer_box(&user, step).await,
            None => respond::deferred_update(),
        };
        if ack.send(response).await.is_err() || step.is_some() {
            return;
        }
        let _ticket = self.tickets.wait(c.id.get()).await;
        // A challenge's button stays where it is: on a channel's post it is everyone's, and a
        // day's prompt in a DM is kept to read back; its answer follows up. Any other button's
        // answer replaces the message it was pressed on.
        let challenge_button = id.starts_with("ch_");
        let shared = in_server && challenge_button;
        let mut ev = Event::new(&user, Input::Button(id));
        ev.name = Some(display_name(&c.user));
        if in_server {
            // Pressed in this channel: only its challenge's buttons are taken on trust there.
            ev.member_of = Some(challenge::group_key(
                "discord",
                &c.channel_id.get().to_string(),
            ));
        }
        ev.id = Some(format!("dc:i:{}", c.id.get()));
        ev.community = community(c.guild_id);
        ev.to = Some(if challenge_button {
            hook(&user, &c.token, in_server)
        } else {
            hook_in_place(&user, &c.token, in_server)
        });
        let answered = self.turn(self.in_server(ev, in_server)).await;
        if answered && challenge_button && !shared {
            // The prompt's buttons go, so they cannot be pressed twice.
            let http = self.http.clone();
            tokio::spawn(async move {
                let _ = c
                    .edit_response(&http, EditInteractionResponse::new().components(vec![]))
                    .await;
            });
        }
    }

    async fn on_modal(&self, ack: &Acknowledge, m: ModalInteraction) {
        let user = user_key(m.user.id.get());
        let response = respond::defer(true);
        if ack.send(response).await.is_err() {
            return;
        }
        // A box opened at an earlier step is stale: its text is not filed under a new prompt.
        let (text, opened_at) = modal_answer(&m);
        let _ticket = self.tickets.wait(m.id.get()).await;
        let in_server = m.guild_id.is_some();
        let mut ev = Event::new(&user, Input::Text(text));
        ev.id = Some(format!("dc:i:{}", m.id.get()));
        ev.inbox = Some(crate::inbox::key(SOURCE, m.id.get()));
        ev.to = Some(hook(&user, &m.token, true));
        ev.community = community(m.guild_id);
        // A box whose step cannot be read is stale whatever the person's step.
        ev.opened_at = Some(opened_at.unwrap_or(u64::MAX));
        self.turn(self.in_server(ev, in_server)).await;
    }

    /// A turn through the session; its reply goes into the outbox with the new state. True
    /// when it was applied and said something (not a repeat, not a double click).
    async fn turn(&self, ev: Event) -> bool {
        match self
            .session
            .handle_event(ev.clone(), self.session.now())
            .await
        {
            Ok(r) => !r.duplicate && !r.messages.is_empty(),
            Err(e) => {
                tracing::warn!("a turn for a Discord user failed: {e}");
                if self.session.health().is_failing() {
                    // The outbox cannot keep the apology: it goes out directly, and the
                    // process stops so the next start can save again.
                    let sorry =
                        Message::private().para(self.session.catalog().t("store_restarting"));
                    if let (Some(to), Some(sink)) = (&ev.to, self.direct.get())
                        && let Err(e) = sink.deliver(to, vec![sorry]).await
                    {
                        tracing::warn!("telling a Discord user the store failed did not work: {e}");
                    }
                    return false;
                }
                let sorry = Message::private().para(self.session.catalog().t("store_failed"));
                let mut quiet = ev;
                quiet.id = None;
                if let Err(e) = self.session.post(&quiet, vec![sorry]).await {
                    tracing::warn!("queueing a Discord answer failed: {e}");
                }
                false
            }
        }
    }

    /// Whether the person who ran a command may facilitate: Manage Server, Manage Channels
    /// (or Administrator), or the configured role.
    async fn may_facilitate(&self, cmd: &CommandInteraction) -> bool {
        let Some(member) = cmd.member.as_ref() else {
            return false;
        };
        let server_role = match cmd.guild_id {
            Some(g) => self.server_role(g.get()).await,
            None => None,
        };
        let by_role = [self.facilitator_role, server_role]
            .into_iter()
            .flatten()
            .any(|r| member.roles.iter().any(|x| x.get() == r));
        manages(cmd) || by_role
    }

    /// Whether the person may see the server's insights: Manage Server (or Administrator), or
    /// the server's facilitator role (the one `/challenge role` chose, or the configured one).
    /// Manage Channels, enough to facilitate a channel's challenge, is not enough here.
    async fn may_see_insights(&self, cmd: &CommandInteraction) -> bool {
        let Some(member) = cmd.member.as_ref() else {
            return false;
        };
        let manager = member
            .permissions
            .is_some_and(|p| p.administrator() || p.manage_guild());
        if manager {
            return true;
        }
        let server_role = match cmd.guild_id {
            Some(g) => self.server_role(g.get()).await,
            None => None,
        };
        [self.facilitator_role, server_role]
            .into_iter()
            .flatten()
            .any(|r| member.roles.iter().any(|x| x.get() == r))
    }

    /// The facilitator role a server chose with `/challenge role`, if any.
    async fn server_role(&self, guild: u64) -> Option<u64> {
        self.session
            .setting(&format!("{ROLE_KEY}{guild}"))
            .await
            .ok()
            .flatten()?
            .parse()
            .ok()
    }

    /// `/challenge role @Role` (or `role off`), once acknowledged: people who manage the
    /// server choose a role whose members may facilitate challenges there. Only a manager's
    /// valid change is announced in the channel; a refusal or the usage line was deferred
    /// ephemerally, so it never shows publicly.
    async fn set_server_role(
        &self,
        cmd: &CommandInteraction,
        manager: bool,
        change: Option<(GuildId, String)>,
    ) {
        let public = change.is_some();
        let cat = self.session.catalog();
        let text = match change {
            None if manager && cmd.guild_id.is_some() => cat.t("ch.role_usage").to_string(),
            None => cat.t("ch.role_managers_only").to_string(),
            Some((guild, value)) => {
                let key = format!("{ROLE_KEY}{}", guild.get());
                let reply = if value.is_empty() {
                    cat.t("ch.role_off").to_string()
                } else {
                    cat.tf("ch.role_set", &[("role", &value)])
                };
                match self.session.set_setting(&key, &value).await {
                    Ok(()) => reply,
                    Err(e) => {
                        tracing::warn!("saving a server's facilitator role failed: {e}");
                        cat.t("store_failed").to_string()
                    }
                }
            }
        };
        let m = if public {
            Message::public().para(text)
        } else {
            Message::private().para(text)
        };
        self.answer_command(cmd, vec![m], !public).await;
    }

    /// Owes a command's answer through the outbox (its follow-up), marking the command applied.
    async fn answer_command(
        &self,
        cmd: &CommandInteraction,
        messages: Vec<Message>,
        private: bool,
    ) {
        let user = user_key(cmd.user.id.get());
        let mut ev = Event::new(&user, Input::Text(String::new()));
        ev.id = Some(format!("dc:i:{}", cmd.id.get()));
        ev.to = Some(hook(&user, &cmd.token, private));
        if let Err(e) = self.session.post(&ev, messages).await {
            tracing::warn!("queueing a Discord answer failed: {e}");
        }
    }

    /// `/insights [period]`, once acknowledged (ephemerally): the server's counts for a
    /// member who manages it or has its facilitator role; a refusal for anyone else; in a DM,
    /// that it works inside a server.
    async fn insights(&self, cmd: &CommandInteraction, allowed: Option<bool>) {
        let cat = self.session.catalog();
        let messages = match (allowed, cmd.guild_id) {
            (Some(true), Some(guild)) => {
                let text = commands::text(&cmd.data);
                let arg = text.split_once(' ').map(|(_, a)| a).unwrap_or("");
                let period =
                    crate::insights::Period::parse(arg).unwrap_or(crate::insights::Period::Months3);
                let key = format!("{COMMUNITY_PREFIX}{}", guild.get());
                tracing::info!(platform = "discord", "insights shown to a server's lead");
                self.session.insights_messages(&key, period).await
            }
            (Some(_), _) => vec![Message::private().para(cat.t("insights.refused_discord"))],
            (None, _) => vec![Message::private().para(cat.t("insights.server_only"))],
        };
        self.answer_command(cmd, messages, true).await;
    }

    /// `/challenge …` in a server channel, once acknowledged: the channel's challenge.
    /// Facilitator commands are answered in the channel (a refusal only to the person who
    /// asked). The group is named by its channel and its server.
    async fn group_challenge(
        &self,
        cmd: &CommandInteraction,
        args: &str,
        admin: bool,
        private: bool,
    ) {
        let channel = cmd.channel.as_ref().and_then(|c| c.name.clone());
        let server = match cmd.guild_id {
            Some(g) => self.server_name(g).await,
            None => None,
        };
        let title = match (channel, server) {
            (Some(channel), Some(server)) => self.session.catalog().tf(
                "dc.channel_in_server",
                &[("channel", &channel), ("server", &server)],
            ),
            (Some(channel), None) => format!("#{channel}"),
            _ => String::new(),
        };
        let group = Group {
            key: challenge::group_key("discord", &cmd.channel_id.get().to_string()),
            title,
        };
        let actor = Actor {
            user: user_key(cmd.user.id.get()),
            name: display_name(&cmd.user),
            admin,
        };
        let _ticket = self.tickets.wait(cmd.id.get()).await;
        let mut ev = Event::new(&actor.user, Input::Text(String::new()));
        ev.id = Some(format!("dc:i:{}", cmd.id.get()));
        ev.to = Some(hook(&actor.user, &cmd.token, private));
        ev.community = community(cmd.guild_id);
        if let Some(c) = &ev.community {
            self.session.note_community(&actor.user, c).await;
        }
        self.session.group_answer(&group, &actor, args, &ev).await;
    }

    /// A server's name (`GET /guilds/{id}`, once per server per process), so a challenge's
    /// private messages say which server its channel is in; `None` when Discord does not say.
    async fn server_name(&self, guild: GuildId) -> Option<String> {
        if let Some(n) = self.server_names.lock().ok()?.get(&guild.get()) {
            return Some(n.clone());
        }
        let req = serenity::http::Request::new(
            serenity::http::Route::Guild { guild_id: guild },
            serenity::http::LightMethod::Get,
        );
        let resp = self.http.request(req).await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
        let name = body["name"].as_str()?.trim().to_string();
        if name.is_empty() {
            return None;
        }
        if let Ok(mut names) = self.server_names.lock() {
            names.insert(guild.get(), name.clone());
        }
        Some(name)
    }
}

/// What `/challenge role …` asks for, known before the acknowledgement: whether the person
/// manages the server, and the change (the server, and the role id or empty for none) when
/// they do and named a role or `off`.
fn role_change(cmd: &CommandInteraction, args: &str) -> (bool, Option<(GuildId, String)>) {
    let manager = manages(cmd);
    let rest = args
        .split_once(char::is_whitespace)
        .map(|(_, r)| r)
        .unwrap_or("");
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let off = matches!(rest.trim().to_lowercase().as_str(), "off" | "none");
    let change = match (manager, cmd.guild_id) {
        (true, Some(guild)) if off => Some((guild, String::new())),
        (true, Some(guild)) => digits.parse::<u64>().ok().map(|id| (guild, id.to_string())),
        _ => None,
    };
    (manager, change)
}

/// `/challenge` words that concern only the member (answered privately).
const MEMBER_WORDS: [&str; 7] = ["join", "leave", "name", "today", "prompt", "me", "mine"];

/// `/challenge` words only a facilitator may use.
const FACILITATOR_WORDS: [&str; 7] = [
    "start", "pause", "resume", "skip", "end", "stop", "takeover",
];

/// A server's community key prefix (`discord:guild:ID`), for community insights.
pub const COMMUNITY_PREFIX: &str = "discord:guild:";

/// The community an interaction came from: its server, if any.
fn community(guild: Option<GuildId>) -> Option<String> {
    guild.map(|g| format!("{COMMUNITY_PREFIX}{}", g.get()))
}

/// The store's metadata key prefix for a server's facilitator role.
const ROLE_KEY: &str = "discord-facilitator-role/";

/// Whether the person who ran a command manages the server or the channel (Manage Server,
/// Manage Channels or Administrator).
fn manages(cmd: &CommandInteraction) -> bool {
    cmd.member
        .as_ref()
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.administrator() || p.manage_guild() || p.manage_channels())
}

/// The name Discord shows for a person (their display name, else their username).
fn display_name(u: &serenity::all::User) -> String {
    u.global_name.clone().unwrap_or_else(|| u.name.clone())
}

/// Delivers reminders by DM; closed DMs mark the person unreachable (they get a hint the next
/// time they use a command).
struct Dm {
    http: Arc<Http>,
    /// What to say when a file could not be made (`files.failed`, `{name}` still to fill).
    file_failed: String,
}

/// One Discord message to send: its content, its buttons, and a file.
struct Post {
    content: String,
    rows: Vec<Vec<(String, String)>>,
    file: Option<CreateAttachment>,
}

/// What a refused request means for the sender: 403/404 on a channel or DM, the recipient is
/// gone; a 400 is refused for good (skipped, logged without its text); anything else may pass.
fn failure(to: &str, e: &serenity::Error) -> Option<DeliveryError> {
    let status = match e {
        serenity::Error::Http(h) => h.status_code().map(|s| s.as_u16()),
        serenity::Error::Model(_) => Some(400),
        _ => None,
    };
    match status {
        Some(403) | Some(404) => Some(DeliveryError::Unreachable(to.to_string())),
        Some(400) => {
            tracing::error!("Discord refused a message; it was skipped");
            None
        }
        _ => Some(DeliveryError::Failed(match status {
            Some(s) => format!("HTTP {s}"),
            None => "network error".into(),
        })),
    }
}

impl Dm {
    /// A message as Discord messages: its text in parts, then its file (drawn now) with the
    /// caption as content. A picture stands in for the text and takes the buttons; a document
    /// follows the text. A file that cannot be made is logged by name and said so (a picture
    /// falls back to its text).
    async fn posts(&self, m: &Message) -> Vec<Post> {
        let file = match m.file.as_deref() {
            Some(f) => Some((f, crate::files::bytes_off_thread(f).await)),
            None => None,
        };
        let photo = matches!(&file, Some((f, Ok(_))) if f.is_picture());
        let mut out = Vec::new();
        if !photo && !m.blocks.is_empty() {
            out.extend(render::render(m).into_iter().map(|p| Post {
                content: p.content,
                rows: p.rows,
                file: None,
            }));
        }
        match file {
            None => {}
            Some((f, Ok(bytes))) => {
                let caption: String = render::escape(&f.caption)
                    .chars()
                    .take(render::MAX_LEN)
                    .collect();
                out.push(Post {
                    content: caption,
                    rows: if photo || m.blocks.is_empty() {
                        render::rows(m)
                    } else {
                        Vec::new()
                    },
                    file: Some(CreateAttachment::bytes(bytes, f.name.clone())),
                });
            }
            Some((f, Err(e))) => {
                tracing::error!(file = %f.name, error = %e, "a file could not be made");
                // A picture's text went above; a document is said to be missing.
                if !f.is_picture() {
                    let sorry = crate::content::fill(&self.file_failed, &[("name", &f.name)]);
                    out.push(Post {
                        content: render::escape(&sorry),
                        rows: Vec::new(),
                        file: None,
                    });
                }
            }
        }
        out
    }

    /// Sends messages to a channel (a DM or a server channel), part by part.
    async fn to_channel(
        &self,
        to: &str,
        channel: serenity::all::ChannelId,
        messages: &[Message],
    ) -> Result<(), DeliveryError> {
        for m in messages {
            for part in self.posts(m).await {
                let mut b = CreateMessage::new()
                    .content(part.content)
                    .allowed_mentions(no_mentions());
                if !part.rows.is_empty() {
                    b = b.components(components(&part.rows));
                }
                if let Some(file) = part.file {
                    b = b.add_file(file);
                }
                if let Err(e) = channel.send_message(&*self.http, b).await
                    && let Some(f) = failure(to, &e)
                {
                    return Err(f);
                }
            }
        }
        Ok(())
    }

    /// Sends to a person by DM.
    async fn by_dm(&self, to: &str, user: u64, messages: &[Message]) -> Result<(), DeliveryError> {
        let channel = UserId::new(user)
            .create_dm_channel(&*self.http)
            .await
            .map_err(|e| {
                failure(to, &e).unwrap_or_else(|| DeliveryError::Unreachable(to.to_string()))
            })?;
        self.to_channel(to, channel.id, messages).await
    }

    /// Makes sure the client knows the application's id, which follow-ups are addressed by: the
    /// gateway's READY or an interaction to the endpoint tells it; a process with neither (a
    /// sender elected without the gateway) asks Discord once (`GET /oauth2/applications/@me`).
    /// Should that fail, the follow-up fails too and the sender tries again later.
    async fn know_application(&self) {
        if self.http.application_id().is_some() {
            return;
        }
        match self.http.get_current_application_info().await {
            Ok(app) => self.http.set_application_id(app.id),
            Err(e) => tracing::warn!("asking Discord for the application's id failed: {e}"),
        }
    }

    /// Follows up an interaction by its token; after the token's fifteen minutes (401/404), by DM.
    ///
    /// With `in_place` (a button's answer) the answer's leading messages are joined into one
    /// ([`render::joined`]: "Saved." above the next step), whose first part replaces the
    /// message the button was on (`PATCH /webhooks/{app}/{token}/messages/@original`: its
    /// content, its buttons, none when the answer has none, and its files); the rest follow
    /// up as new messages. So the person sees the conversation move on in one message, and a
    /// new one only when there is more than one message holds (a long text in parts, a file,
    /// a message for another audience). The edit names the message by the token, so a retry
    /// after a failure makes the same edit again: it is idempotent.
    async fn follow_up(
        &self,
        to: &str,
        user: u64,
        token: &str,
        (ephemeral, in_place): (bool, bool),
        messages: &[Message],
    ) -> Result<(), DeliveryError> {
        self.know_application().await;
        let mut first = in_place;
        let joined;
        let messages = if in_place {
            joined = render::joined(messages);
            &joined[..]
        } else {
            messages
        };
        for (i, m) in messages.iter().enumerate() {
            for part in self.posts(m).await {
                let sent = if std::mem::take(&mut first) {
                    let mut e = EditInteractionResponse::new()
                        .content(part.content)
                        .allowed_mentions(no_mentions())
                        .components(components(&part.rows));
                    e = match part.file {
                        Some(file) => e.new_attachment(file),
                        None => e.clear_attachments(),
                    };
                    e.execute(&*self.http, token).await.map(|_| ())
                } else {
                    let mut f = CreateInteractionResponseFollowup::new()
                        .content(part.content)
                        .ephemeral(ephemeral)
                        .allowed_mentions(no_mentions());
                    if !part.rows.is_empty() {
                        f = f.components(components(&part.rows));
                    }
                    match part.file {
                        // With a file, serenity's builder writes the multipart body
                        // (`payload_json` and `files[0]`).
                        Some(file) => f
                            .add_file(file)
                            .execute(&*self.http, (None, token))
                            .await
                            .map(|_| ()),
                        None => self
                            .http
                            .create_followup_message(token, &f, vec![])
                            .await
                            .map(|_| ()),
                    }
                };
                match sent {
                    Ok(()) => {}
                    Err(serenity::Error::Http(h))
                        if h.status_code()
                            .is_some_and(|s| matches!(s.as_u16(), 401 | 404)) =>
                    {
                        // The interaction's token has expired: the rest goes by DM.
                        let rest: Vec<Message> = messages[i..]
                            .iter()
                            .filter(|m| ephemeral || m.audience == engine::Audience::Public)
                            .cloned()
                            .collect();
                        return self.by_dm(&format!("discord:{user}"), user, &rest).await;
                    }
                    Err(e) => {
                        if let Some(f) = failure(to, &e) {
                            return Err(f);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Deliver for Dm {
    fn accepts(&self, to: &str) -> bool {
        to.starts_with("discord:")
    }

    fn deliver<'a>(&'a self, to: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let bad = || DeliveryError::Unreachable(format!("not a Discord recipient: {to}"));
            if let Some(rest) = to.strip_prefix("discord:hook:") {
                let mut it = rest.splitn(3, ':');
                let (kind, user, token) = (it.next(), it.next(), it.next());
                let user: u64 = user.and_then(|u| u.parse().ok()).ok_or_else(bad)?;
                let token = token.ok_or_else(bad)?;
                // `e`/`p`: ephemeral or not; a leading `u`: the first part edits in place.
                let kind = kind.unwrap_or("");
                let mode = (kind.ends_with('e'), kind.starts_with('u'));
                return self.follow_up(to, user, token, mode, &messages).await;
            }
            if let Some(channel) = to.strip_prefix("discord:channel:") {
                // A challenge's post in its channel: public messages only.
                let id: u64 = channel.parse().ok().filter(|id| *id != 0).ok_or_else(bad)?;
                let public: Vec<Message> = messages
                    .into_iter()
                    .filter(|m| m.audience == engine::Audience::Public)
                    .collect();
                return self
                    .to_channel(to, serenity::all::ChannelId::new(id), &public)
                    .await;
            }
            let id: u64 = to
                .strip_prefix("discord:")
                .and_then(|s| s.parse().ok())
                .filter(|id| *id != 0)
                .ok_or_else(bad)?;
            self.by_dm(to, id, &messages).await
        })
    }
}

/// Builds serenity's HTTP client: no mentions by default, and serenity's rate limiter for
/// Discord itself. With another REST base (`DISCORD_API_URL`: a fake in tests, or an HTTP
/// proxy such as twilight's that rate-limits for several processes) requests go there, and
/// serenity's own limiter is off: serenity's limiter always calls discord.com directly, so
/// the proxy setting only takes effect without it.
pub fn http(config: &Config) -> Http {
    let mut b = HttpBuilder::new(&config.token).default_allowed_mentions(no_mentions());
    if let Some(url) = &config.api_url {
        b = b
            .proxy(url.trim_end_matches('/').to_string())
            .ratelimiter_disabled(true);
    }
    b.build()
}

/// The Discord adapter of one process, built once and shared by what runs it: the gateway
/// client ([`Adapter::gateway`], for DMs, and for interactions while no Interactions Endpoint
/// URL is set), the interactions endpoint ([`endpoint::serve`], which every process may
/// serve), and the scheduler with the sender ([`Adapter::send`]). [`run`] runs all three
/// parts but the endpoint, as one process did before. Cloning it is cheap.
#[derive(Clone)]
pub struct Adapter {
    handler: Arc<Handler>,
    sink: Arc<Dm>,
    config: Config,
}

impl Adapter {
    /// Builds the adapter: its REST client (no network yet), the sender's [`Deliver`], and
    /// the handlers' shared state (each person's tickets, the interactions in flight).
    pub fn new(session: Arc<Session>, config: Config) -> Adapter {
        let http = Arc::new(http(&config));
        let sink = Arc::new(Dm {
            http: http.clone(),
            file_failed: session.catalog().t("files.failed").to_string(),
        });
        let direct = Arc::new(std::sync::OnceLock::new());
        let _ = direct.set(sink.clone());
        let handler = Arc::new(Handler {
            session,
            http,
            guild: config.guild,
            facilitator_role: config.facilitator_role,
            in_flight: Arc::new(tokio::sync::RwLock::new(())),
            tickets: Arc::new(order::Tickets::default()),
            direct,
            server_names: Default::default(),
        });
        Adapter {
            handler,
            sink,
            config,
        }
    }

    /// The sink the sender delivers Discord messages through (follow-ups, DMs, channel posts).
    pub fn sink(&self) -> Arc<dyn Deliver> {
        self.sink.clone()
    }

    /// Finishes the turns a stop or a crash left in the inbox (answered by DM).
    pub async fn replay_inbox(&self) -> Result<usize, crate::store::StoreError> {
        replay_inbox(&self.handler.session).await
    }

    /// Runs the scheduler (Discord's reminders and challenge posts) and the sender (the
    /// outbox's Discord messages) until `shutdown` resolves, then lets them stop.
    pub async fn send(&self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let session = self.handler.session.clone();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.changed().await;
        };
        let scheduler = tokio::spawn(crate::scheduler::run(
            session.clone(),
            Arc::new(|to: &str| to.starts_with("discord:")),
            wait(stopped.clone()),
        ));
        let sending = tokio::spawn(sender::run(session, self.sink(), wait(stopped)));
        shutdown.await;
        let _ = stop.send(true);
        let _ = scheduler.await;
        let _ = sending.await;
    }

    /// Runs the gateway client (DMs; slash commands and buttons too while no Interactions
    /// Endpoint URL is set) until `shutdown` resolves, then shuts the shards down. Registers
    /// the commands when it connects.
    pub async fn gateway(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DiscordError> {
        // Direct messages only: no privileged intents (DM content needs none).
        let intents = GatewayIntents::DIRECT_MESSAGES;
        tokio::pin!(shutdown);
        // Building the client asks Discord for the gateway's address: a stop while Discord
        // does not answer is a stop, not a wait.
        let built = serenity::client::ClientBuilder::new_with_http(http(&self.config), intents)
            .event_handler_arc(self.handler.clone())
            .into_future();
        let mut client = tokio::select! {
            c = built => c.map_err(|e| DiscordError::Client(e.to_string()))?,
            _ = &mut shutdown => return Ok(()),
        };
        let manager = client.shard_manager.clone();
        let start = client.start();
        tokio::pin!(start);
        tokio::select! {
            r = &mut start => r.map_err(|e| DiscordError::Client(e.to_string())),
            _ = &mut shutdown => {
                // Whether or not Discord answers, the stop stays within ten seconds.
                let _ = tokio::time::timeout(STOP_SHARDS, manager.shutdown_all()).await;
                match tokio::time::timeout(Duration::from_secs(1), &mut start).await {
                    Ok(r) => r.map_err(|e| DiscordError::Client(e.to_string())),
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Lets the interactions and turns in flight finish (acknowledged, saved, owed), for a few
    /// seconds at most: at a stop, after the gateway and the endpoint have stopped taking more.
    pub async fn finish(&self) {
        let _ = tokio::time::timeout(FINISH_TURNS, self.handler.in_flight.write()).await;
        let _ = tokio::time::timeout(FINISH_TURNS, self.handler.session.drain()).await;
    }
}

/// Runs the bot until `shutdown` resolves, then shuts the shards down, lets the turns in flight
/// finish, and flushes the store.
pub async fn run(
    session: Arc<Session>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DiscordError> {
    run_with(Adapter::new(session, config), shutdown).await
}

/// [`run`] with an adapter already built (one whose endpoint is served beside it): the
/// scheduler and the sender, the turns left from the last run, then the gateway until
/// `shutdown`; then the turns in flight finish and the store is flushed.
pub async fn run_with(
    adapter: Adapter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DiscordError> {
    let session = adapter.handler.session.clone();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let sending = {
        let a = adapter.clone();
        tokio::spawn(async move {
            a.send(async move {
                let _ = stopped.changed().await;
            })
            .await
        })
    };
    let result = match adapter.replay_inbox().await {
        Ok(_) => adapter.gateway(shutdown).await,
        Err(e) => Err(e.into()),
    };
    adapter.finish().await;
    let _ = stop.send(true);
    let _ = sending.await;
    session.flush().await?;
    result
}

/// Asks Discord whose token this is (`GET /users/@me`), for `lensbot serve --check --online`:
/// the bot's user name, or why the token was not accepted.
pub async fn who_am_i(config: &Config) -> Result<String, DiscordError> {
    let me = http(config)
        .get_current_user()
        .await
        .map_err(|e| DiscordError::Client(e.to_string()))?;
    Ok(me.name.clone())
}
