//! The Discord adapter: slash commands and buttons in community servers, with everything
//! personal private (ephemeral replies, a modal for free text), and whole conversations in DMs.
//!
//! serenity runs every gateway event as its own task; the session's per-person lock puts each
//! person's turns back in order, and a button pressed again within moments is a double click
//! the engine ignores, so ten fast clicks make one transition. Every interaction is
//! acknowledged first (deferred), then the turn is saved, then the answer follows up: no
//! fsync stands before the acknowledgement. Buttons carry the engine's `STEP:ACTION` tokens in
//! their `custom_id`, so they keep working after a restart and a stale one says where the
//! person is now. Every message is sent with empty allowed mentions. The token is never
//! printed; nothing a person writes is logged or posted publicly.

pub mod render;

use crate::challenge::{
    self,
    group::{Actor, Group},
};
use crate::engine::{self, COMMANDS, Input, Message, UserState};
use crate::scheduler::{self, Deliver, DeliveryError, DeliveryFuture};
use crate::session::Session;
use serenity::all::{
    ButtonStyle, Command, CommandDataOptionValue, CommandInteraction, CommandOptionType,
    ComponentInteraction, Context, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateCommand, CreateCommandOption, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateMessage, CreateModal, EditInteractionResponse,
    EventHandler, GatewayIntents, GuildId, Http, HttpBuilder, InputTextStyle, Interaction,
    ModalInteraction, Ready, UserId,
};
use serenity::async_trait;
use std::future::Future;
use std::sync::Arc;

/// The custom id prefix of the button that opens the answer box.
const ANSWER: &str = "answer";

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

/// The options each command takes, so servers show typed choices.
fn command_definitions(session: &Session) -> Vec<CreateCommand> {
    let cat = session.catalog();
    COMMANDS
        .iter()
        .map(|(name, _)| {
            let description: String = cat.t(&format!("cmd.{name}")).chars().take(100).collect();
            let cmd = CreateCommand::new(*name)
                .description(description)
                .dm_permission(true);
            let text = |n: &str, d: &str| {
                CreateCommandOption::new(CommandOptionType::String, n, d).required(false)
            };
            // A string option offering choices (Discord allows 25, each label up to 100).
            let choices = |n: &str, d: &str, items: Vec<(String, String)>| {
                items
                    .into_iter()
                    .take(25)
                    .fold(text(n, d), |o, (label, value)| {
                        o.add_string_choice(label.chars().take(100).collect::<String>(), value)
                    })
            };
            match *name {
                "lens" => cmd.add_option(choices(
                    "lens",
                    "Which lens (1-6)",
                    cat.lenses
                        .iter()
                        .map(|l| (format!("{} {}", l.number, l.name), l.number.to_string()))
                        .collect(),
                )),
                "profession" => cmd.add_option(choices(
                    "profession",
                    "Your profession",
                    cat.professions
                        .iter()
                        .map(|p| (p.name.clone(), p.id.clone()))
                        .collect(),
                )),
                "signpost" => cmd.add_option(choices(
                    "need",
                    "What the person needs help with",
                    cat.needs
                        .iter()
                        .map(|n| (n.name.clone(), n.id.clone()))
                        .collect(),
                )),
                "prep" => cmd.add_option(choices(
                    "meeting",
                    "What kind of meeting",
                    cat.meetings
                        .iter()
                        .map(|m| (m.name.clone(), m.id.clone()))
                        .collect(),
                )),
                "note" => cmd.add_option(text("text", "Your note (private)")),
                "resources" => cmd.add_option(text(
                    "words",
                    "Words to search for, a lens (lens 3) or a type",
                )),
                "examples" => cmd.add_option(text("words", "A profession or words")),
                "define" => cmd.add_option(text("term", "The term")),
                "timezone" => {
                    cmd.add_option(text("place", "A place or time-zone name, e.g. London"))
                }
                "remind" => cmd.add_option(text(
                    "what",
                    "e.g. prep team every Tuesday 09:25, list, cancel 1",
                )),
                "challenge" => cmd.add_option(text("what", "start, join, status …")),
                _ => cmd,
            }
        })
        .collect()
}

/// Turns a slash command into the text the engine reads: `/name value`.
fn command_text(cmd: &CommandInteraction) -> String {
    let mut text = format!("/{}", cmd.data.name);
    for o in &cmd.data.options {
        if let CommandDataOptionValue::String(v) = &o.value {
            text.push(' ');
            text.push_str(v);
        }
    }
    text
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

/// Adds the "Type my answer" button when the engine is waiting for free text and the person is
/// in a server, where a modal is the private way to type.
fn with_answer_button(
    mut messages: Vec<Message>,
    state: Option<&UserState>,
    label: &str,
) -> Vec<Message> {
    let Some(st) = state else { return messages };
    if !engine::expects_text(st) {
        return messages;
    }
    if let Some(last) = messages.last_mut()
        && last.buttons.len() < render::MAX_BUTTONS
    {
        last.buttons.insert(
            0,
            engine::Button {
                label: label.to_string(),
                token: format!("{ANSWER}:{}", st.step),
            },
        );
    }
    messages
}

/// The event handler: serenity calls it for every gateway event, each on its own task.
struct Handler {
    session: Arc<Session>,
    guild: Option<u64>,
    facilitator_role: Option<u64>,
    /// Every event holds this for reading while it is handled (acknowledgement, turn and
    /// follow-ups); shutdown takes it for writing, so it waits for the events in flight.
    in_flight: Arc<tokio::sync::RwLock<()>>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let cmds = command_definitions(&self.session);
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

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let _in_flight = self.in_flight.read().await;
        match interaction {
            Interaction::Command(cmd) => self.on_command(&ctx, cmd).await,
            Interaction::Component(c) => self.on_component(&ctx, c).await,
            Interaction::Modal(m) => self.on_modal(&ctx, m).await,
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, msg: serenity::all::Message) {
        // Only direct messages: in servers the bot works through slash commands.
        if msg.guild_id.is_some() || msg.author.bot {
            return;
        }
        let _in_flight = self.in_flight.read().await;
        let user = user_key(msg.author.id.get());
        let event = format!("dc:m:{}", msg.id.get());
        let person = display_name(&msg.author);
        let reply = self
            .session
            .handle_as(
                &user,
                Some(&person),
                Input::Text(msg.content.clone()),
                Some(&event),
                self.session.now(),
            )
            .await;
        let messages = match reply {
            Ok(r) if r.duplicate => return,
            Ok(r) => r.messages,
            Err(e) => {
                tracing::warn!("a turn for a Discord user failed: {e}");
                vec![Message::private().para(self.session.catalog().t("store_failed"))]
            }
        };
        let _ = send_to_channel(&ctx.http, msg.channel_id, &messages).await;
    }
}

/// Sends messages to a channel (a DM), in order.
async fn send_to_channel(
    http: &Http,
    channel: serenity::all::ChannelId,
    messages: &[Message],
) -> Result<(), serenity::Error> {
    for m in &crate::render::merge(messages) {
        for part in render::render(m) {
            let mut b = CreateMessage::new()
                .content(part.content)
                .allowed_mentions(no_mentions());
            if !part.rows.is_empty() {
                b = b.components(components(&part.rows));
            }
            channel.send_message(http, b).await?;
        }
    }
    Ok(())
}

impl Handler {
    fn state(&self, user: &str) -> Option<UserState> {
        self.session.store().get_user(user).ok().flatten()
    }

    async fn on_command(&self, ctx: &Context, cmd: CommandInteraction) {
        let in_server = cmd.guild_id.is_some();
        let name = cmd.data.name.clone();
        let mut text = command_text(&cmd);
        if in_server && name == "challenge" {
            let args = text
                .split_once(' ')
                .map(|(_, a)| a)
                .unwrap_or("")
                .to_string();
            let sub = args.split_whitespace().next().unwrap_or("").to_lowercase();
            if MEMBER_WORDS.contains(&sub.as_str()) {
                // A member's own business: privately, for this channel's challenge.
                let group = challenge::group_key("discord", &cmd.channel_id.get().to_string());
                text = format!("/challenge {args} {}", challenge::code(&group));
            } else {
                return self.group_challenge(ctx, &cmd, &args).await;
            }
        }
        let user = user_key(cmd.user.id.get());
        let args = text.split_once(' ').map(|(_, a)| a).unwrap_or("");
        let public = in_server && engine::is_public_lookup(&name, args);
        // Acknowledge first: nothing slow before this.
        let deferred = if public {
            cmd.defer(&ctx.http).await
        } else {
            cmd.defer_ephemeral(&ctx.http).await
        };
        if deferred.is_err() {
            return;
        }
        if public {
            let public = engine::public_lookup(
                self.session.catalog(),
                &user,
                &text,
                (cmd.id.get() % 1000) as u32,
                self.session.now(),
            );
            self.follow_up(ctx, &cmd.token, &public, false).await;
            return;
        }
        let event = format!("dc:i:{}", cmd.id.get());
        let person = display_name(&cmd.user);
        let messages = self
            .turn(&user, Some(&person), Input::Text(text), &event)
            .await;
        self.answer(ctx, &cmd.token, &user, messages, in_server, in_server)
            .await;
    }

    async fn on_component(&self, ctx: &Context, c: ComponentInteraction) {
        let user = user_key(c.user.id.get());
        let id = c.data.custom_id.clone();
        let in_server = c.guild_id.is_some();
        if let Some(step) = id.strip_prefix(&format!("{ANSWER}:")) {
            // Open the private text box; its submission carries the step it was opened at.
            let label: String = self
                .session
                .catalog()
                .t("modal_label")
                .chars()
                .take(45)
                .collect();
            let input = CreateInputText::new(InputTextStyle::Paragraph, label, "text")
                .max_length(engine::text::MAX_INPUT_CHARS as u16)
                .required(true);
            let title: String = self
                .session
                .catalog()
                .t("modal_title")
                .chars()
                .take(45)
                .collect();
            let modal = CreateModal::new(format!("{ANSWER}:{step}"), title)
                .components(vec![CreateActionRow::InputText(input)]);
            let _ = c
                .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
                .await;
            return;
        }
        // Acknowledge first (the button's message stays as it is until we edit it).
        if c.defer(&ctx.http).await.is_err() {
            return;
        }
        let event = format!("dc:i:{}", c.id.get());
        // A challenge button on a channel's post is shared by everyone: it must stay.
        let shared = in_server && id.starts_with("ch_");
        let person = display_name(&c.user);
        let messages = self
            .turn(&user, Some(&person), Input::Button(id), &event)
            .await;
        if messages.is_empty() {
            return; // A double click: already acted on.
        }
        if !shared {
            // The pressed message's buttons go, so they cannot be pressed twice.
            let _ = c
                .edit_response(&ctx.http, EditInteractionResponse::new().components(vec![]))
                .await;
        }
        self.answer(ctx, &c.token, &user, messages, in_server, in_server)
            .await;
    }

    async fn on_modal(&self, ctx: &Context, m: ModalInteraction) {
        let user = user_key(m.user.id.get());
        if m.defer_ephemeral(&ctx.http).await.is_err() {
            return;
        }
        let text: String = m
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .find_map(|c| match c {
                serenity::all::ActionRowComponent::InputText(t) => t.value.clone(),
                _ => None,
            })
            .unwrap_or_default();
        // A box opened at an earlier step is stale: its text is not filed under a new prompt.
        let opened_at = m
            .data
            .custom_id
            .strip_prefix(&format!("{ANSWER}:"))
            .and_then(|s| s.parse::<u64>().ok());
        let now_step = self.state(&user).map(|s| s.step);
        let event = format!("dc:i:{}", m.id.get());
        let messages = if opened_at.is_some() && opened_at == now_step {
            self.turn(&user, None, Input::Text(text), &event).await
        } else {
            let cat = self.session.catalog();
            vec![Message::private().para(cat.t("modal_stale"))]
        };
        let in_server = m.guild_id.is_some();
        self.answer(ctx, &m.token, &user, messages, in_server, true)
            .await;
    }

    /// Follows up a turn's answer; in a server, with the "Type my answer" button when the
    /// engine waits for free text (a modal is the private way to type there).
    async fn answer(
        &self,
        ctx: &Context,
        token: &str,
        user: &str,
        messages: Vec<Message>,
        in_server: bool,
        ephemeral: bool,
    ) {
        let messages = if in_server {
            with_answer_button(
                messages,
                self.state(user).as_ref(),
                self.session.catalog().t("button.type_answer"),
            )
        } else {
            messages
        };
        self.follow_up(ctx, token, &messages, ephemeral).await;
    }

    async fn turn(
        &self,
        user: &str,
        name: Option<&str>,
        input: Input,
        event: &str,
    ) -> Vec<Message> {
        match self
            .session
            .handle_as(user, name, input, Some(event), self.session.now())
            .await
        {
            Ok(r) if r.duplicate => Vec::new(),
            Ok(r) => r.messages,
            Err(e) => {
                tracing::warn!("a turn for a Discord user failed: {e}");
                vec![Message::private().para(self.session.catalog().t("store_failed"))]
            }
        }
    }

    /// Whether the person who ran a command may facilitate: Manage Server, Manage Channels
    /// (or Administrator), or the configured role.
    fn may_facilitate(&self, cmd: &CommandInteraction) -> bool {
        let Some(member) = cmd.member.as_ref() else {
            return false;
        };
        let server_role = cmd.guild_id.and_then(|g| self.server_role(g.get()));
        let by_role = [self.facilitator_role, server_role]
            .into_iter()
            .flatten()
            .any(|r| member.roles.iter().any(|x| x.get() == r));
        manages(cmd) || by_role
    }

    /// The facilitator role a server chose with `/challenge role`, if any.
    fn server_role(&self, guild: u64) -> Option<u64> {
        let v = self
            .session
            .store()
            .get_meta(&format!("{ROLE_KEY}{guild}"))
            .ok()
            .flatten()?;
        String::from_utf8_lossy(&v).parse().ok()
    }

    /// `/challenge role @Role` (or `role off`): people who manage the server choose a role
    /// whose members may facilitate challenges there.
    async fn set_server_role(&self, ctx: &Context, cmd: &CommandInteraction, args: &str) {
        let manager = manages(cmd);
        let deferred = if manager {
            cmd.defer(&ctx.http).await
        } else {
            cmd.defer_ephemeral(&ctx.http).await
        };
        if deferred.is_err() {
            return;
        }
        let cat = self.session.catalog();
        let text = match (manager, cmd.guild_id) {
            (false, _) | (_, None) => cat.t("ch.role_managers_only").to_string(),
            (true, Some(guild)) => {
                let rest = args
                    .split_once(char::is_whitespace)
                    .map(|(_, r)| r)
                    .unwrap_or("");
                let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
                let key = format!("{ROLE_KEY}{}", guild.get());
                let off = matches!(rest.trim().to_lowercase().as_str(), "off" | "none");
                let (value, reply) = if off {
                    (String::new(), cat.t("ch.role_off").to_string())
                } else if let Ok(id) = digits.parse::<u64>() {
                    (
                        id.to_string(),
                        cat.tf("ch.role_set", &[("role", &id.to_string())]),
                    )
                } else {
                    return self
                        .follow_up(
                            ctx,
                            &cmd.token,
                            &[Message::private().para(cat.t("ch.role_usage"))],
                            true,
                        )
                        .await;
                };
                let saved = self
                    .session
                    .store()
                    .put_meta(&key, value.as_bytes())
                    .and_then(|_| self.session.store().flush());
                match saved {
                    Ok(()) => reply,
                    Err(e) => {
                        tracing::warn!("saving a server's facilitator role failed: {e}");
                        cat.t("store_failed").to_string()
                    }
                }
            }
        };
        let m = if manager {
            Message::public().para(text)
        } else {
            Message::private().para(text)
        };
        self.follow_up(ctx, &cmd.token, &[m], !manager).await;
    }

    /// `/challenge …` in a server channel: the channel's challenge. Facilitator commands are
    /// answered in the channel (a refusal only to the person who asked).
    async fn group_challenge(&self, ctx: &Context, cmd: &CommandInteraction, args: &str) {
        let sub = args.split_whitespace().next().unwrap_or("").to_lowercase();
        if sub == "role" {
            return self.set_server_role(ctx, cmd, args).await;
        }
        let facilitating = FACILITATOR_WORDS.contains(&sub.as_str());
        let admin = self.may_facilitate(cmd);
        let private = facilitating && !admin;
        let deferred = if private {
            cmd.defer_ephemeral(&ctx.http).await
        } else {
            cmd.defer(&ctx.http).await
        };
        if deferred.is_err() {
            return;
        }
        let title = cmd
            .channel
            .as_ref()
            .and_then(|c| c.name.clone())
            .map(|n| format!("#{n}"))
            .unwrap_or_default();
        let group = Group {
            key: challenge::group_key("discord", &cmd.channel_id.get().to_string()),
            title,
        };
        let actor = Actor {
            user: user_key(cmd.user.id.get()),
            name: display_name(&cmd.user),
            admin,
        };
        let messages = self.session.group_reply(&group, &actor, args).await;
        self.follow_up(ctx, &cmd.token, &messages, private).await;
    }

    /// Sends the answer to a deferred interaction as follow-ups, ephemeral when asked.
    async fn follow_up(&self, ctx: &Context, token: &str, messages: &[Message], ephemeral: bool) {
        for m in &crate::render::merge(messages) {
            for part in render::render(m) {
                let mut f = CreateInteractionResponseFollowup::new()
                    .content(part.content)
                    .ephemeral(ephemeral)
                    .allowed_mentions(no_mentions());
                if !part.rows.is_empty() {
                    f = f.components(components(&part.rows));
                }
                if let Err(e) = ctx.http.create_followup_message(token, &f, vec![]).await {
                    tracing::warn!("a Discord follow-up failed: {e}");
                    return;
                }
            }
        }
    }
}

/// `/challenge` words that concern only the member (answered privately).
const MEMBER_WORDS: [&str; 7] = ["join", "leave", "name", "today", "prompt", "me", "mine"];

/// `/challenge` words only a facilitator may use.
const FACILITATOR_WORDS: [&str; 7] = [
    "start", "pause", "resume", "skip", "end", "stop", "takeover",
];

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
}

impl Deliver for Dm {
    fn accepts(&self, user: &str) -> bool {
        user.starts_with("discord:")
    }

    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            if let Some(channel) = user.strip_prefix("discord:channel:") {
                // A challenge's post in its channel: public messages only.
                let id: u64 = channel.parse().ok().filter(|id| *id != 0).ok_or_else(|| {
                    DeliveryError::Failed(format!("not a Discord channel: {user}"))
                })?;
                let public: Vec<Message> = messages
                    .into_iter()
                    .filter(|m| m.audience == engine::Audience::Public)
                    .collect();
                return send_to_channel(&self.http, serenity::all::ChannelId::new(id), &public)
                    .await
                    .map_err(|e| match &e {
                        serenity::Error::Http(h)
                            if h.status_code()
                                .is_some_and(|s| matches!(s.as_u16(), 403 | 404)) =>
                        {
                            DeliveryError::Unreachable(user.to_string())
                        }
                        _ => DeliveryError::Failed(e.to_string()),
                    });
            }
            let id: u64 = user
                .strip_prefix("discord:")
                .and_then(|s| s.parse().ok())
                .filter(|id| *id != 0)
                .ok_or_else(|| DeliveryError::Failed(format!("not a Discord user: {user}")))?;
            let channel = UserId::new(id)
                .create_dm_channel(&*self.http)
                .await
                .map_err(|_| DeliveryError::Unreachable(user.to_string()))?;
            send_to_channel(&self.http, channel.id, &messages)
                .await
                .map_err(|e| match &e {
                    serenity::Error::Http(h)
                        if h.status_code().is_some_and(|s| s.as_u16() == 403) =>
                    {
                        DeliveryError::Unreachable(user.to_string())
                    }
                    _ => DeliveryError::Failed(e.to_string()),
                })
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

/// Runs the bot until `shutdown` resolves, then shuts the shards down, lets the turns in flight
/// finish, and flushes the store.
pub async fn run(
    session: Arc<Session>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DiscordError> {
    let in_flight = Arc::new(tokio::sync::RwLock::new(()));
    let handler = Handler {
        session: session.clone(),
        guild: config.guild,
        facilitator_role: config.facilitator_role,
        in_flight: in_flight.clone(),
    };
    // Direct messages only: no privileged intents (DM content needs none).
    let intents = GatewayIntents::DIRECT_MESSAGES;
    let mut client = serenity::client::ClientBuilder::new_with_http(http(&config), intents)
        .event_handler(handler)
        .await
        .map_err(|e| DiscordError::Client(e.to_string()))?;
    let (stop_scheduler, scheduler_stopped) = tokio::sync::oneshot::channel::<()>();
    let sink = Arc::new(Dm {
        http: client.http.clone(),
    });
    let scheduler = tokio::spawn(scheduler::run(session.clone(), sink, async {
        let _ = scheduler_stopped.await;
    }));
    let manager = client.shard_manager.clone();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        manager.shutdown_all().await;
    });
    let result = client
        .start()
        .await
        .map_err(|e| DiscordError::Client(e.to_string()));
    stopper.abort();
    // Let the events in flight finish (acknowledged, saved, answered), for up to ten seconds.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), in_flight.write()).await;
    session.drain().await;
    let _ = stop_scheduler.send(());
    let _ = scheduler.await;
    session.store().flush()?;
    result
}
