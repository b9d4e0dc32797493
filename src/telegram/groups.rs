//! What lensbot says in a Telegram group, decided without the network: the command lists
//! registered per scope (`setMyCommands`), which group commands are answered in the group and
//! which move to a private chat, the hello when the bot is added, and the short form of a long
//! public answer. Everything here is public by nature: a group sees no one's state.

use crate::content::Catalog;
use crate::engine::{self, Block, Button, COMMANDS, Message};

/// Commands offered in groups (`/` menu): the public lookups and `/challenge`.
pub const GROUP_COMMANDS: [&str; 8] = [
    "help",
    "fact",
    "define",
    "role",
    "resources",
    "examples",
    "signpost",
    "challenge",
];

/// `/insights`: a group's counts for its admins, sent to them privately (not one of
/// [`COMMANDS`]: it is offered to group admins only).
pub const INSIGHTS: &str = "insights";

/// The command a message starts with, lower-cased and without a `@bot` addressed to this bot
/// (`None` when it is no command, or addressed to another bot).
pub fn command_word(text: &str, username: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('/')?;
    let word = rest.split_whitespace().next().unwrap_or("");
    let (cmd, target) = word.split_once('@').unwrap_or((word, ""));
    (target.is_empty() || target.eq_ignore_ascii_case(username)).then(|| cmd.to_lowercase())
}

/// A public answer longer than this (in characters of text) is shortened in a group, with a
/// "more, privately" link to the whole of it.
pub const GROUP_MAX_CHARS: usize = 700;

/// The command lists to register, one per `BotCommandScope` type: private chats get every
/// command; groups the public ones and `/challenge`; group admins the same, with `/challenge`
/// described as the facilitator's. Each is a `setMyCommands` body.
pub fn command_scopes(cat: &Catalog) -> Vec<serde_json::Value> {
    let list = |names: &mut dyn Iterator<Item = &str>, admin: bool| -> Vec<serde_json::Value> {
        names
            .map(|c| {
                let key = if admin && c == "challenge" {
                    "tg_group.cmd_challenge_admin".to_string()
                } else {
                    format!("cmd.{c}")
                };
                serde_json::json!({"command": c, "description": cat.t(&key)})
            })
            .collect()
    };
    let all = list(&mut COMMANDS.iter().map(|(c, _)| *c), false);
    let group = list(&mut GROUP_COMMANDS.iter().copied(), false);
    let admins = list(&mut GROUP_COMMANDS.iter().copied().chain([INSIGHTS]), true);
    vec![
        serde_json::json!({"commands": all, "scope": {"type": "all_private_chats"}}),
        serde_json::json!({"commands": group, "scope": {"type": "all_group_chats"}}),
        serde_json::json!({"commands": admins, "scope": {"type": "all_chat_administrators"}}),
    ]
}

/// How a command typed in a group is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/start`: what the bot does in groups.
    About,
    /// `/challenge …`: the group's challenge.
    Challenge,
    /// Public by nature: answered in the group.
    Public,
    /// Not personal, but answered in a private chat (a menu, a prompt to work on): a deep link.
    Privately,
    /// Personal (notes, records, settings): "that's personal", with a link to the private chat.
    Personal,
}

/// Where a group command is answered.
pub fn route(cmd: &str, args: &str) -> Route {
    let has_args = !args.trim().is_empty();
    match cmd {
        "start" => Route::About,
        "challenge" => Route::Challenge,
        _ if engine::is_public_lookup(cmd, args) => Route::Public,
        // A need's card is public guidance: where to point someone.
        "signpost" if has_args => Route::Public,
        "lens" | "prep" | "signpost" | "define" | "role" | "resources" | "examples" => {
            Route::Privately
        }
        _ => Route::Personal,
    }
}

/// A deep-link payload for a command and its words (`resources-housing`,
/// `examples-kf-1-ot-leadership`): only commands of [`engine::DEEP_LINKS`], only letters,
/// digits and hyphens, within Telegram's 64 characters; `None` when the command has no link.
pub fn link_payload(cmd: &str, args: &str) -> Option<String> {
    engine::deep_link(cmd)?;
    let arg: String = args
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let mut payload = if arg.is_empty() {
        cmd.to_string()
    } else {
        format!("{cmd}-{arg}")
    };
    payload.truncate(64);
    Some(payload.trim_end_matches('-').to_string())
}

/// The hello posted when the bot is added to a group: what it does there and how to start a
/// challenge, in two lines.
pub fn hello(cat: &Catalog) -> Message {
    Message::public()
        .para(cat.t("tg_group.hello"))
        .para(cat.t("tg_group.hello_challenge"))
}

/// `/start` typed in a group: what the bot does there, and a button to the private chat.
pub fn about(cat: &Catalog) -> Message {
    hello(cat).buttons(vec![Button {
        label: cat.t("tg_group.button_open_private").to_string(),
        token: String::new(),
    }])
}

/// `/help` in a group: the short list, with the whole help privately.
pub fn help(cat: &Catalog) -> Message {
    Message::public()
        .para(cat.t("tg_group.help_short"))
        .buttons(vec![more_button(cat, "help".into())])
}

/// `/challenge` or `/challenge help` in a group: how challenges run, briefly, with the
/// private chat's account of them a tap away.
pub fn challenge_help(cat: &Catalog) -> Message {
    Message::public()
        .para(cat.t("tg_group.challenge_help"))
        .buttons(vec![more_button(cat, "help".into())])
}

/// A facilitator's word from someone who is not an admin of the Telegram group.
pub fn admins_only(cat: &Catalog, verb: &str) -> Message {
    Message::public().para(cat.tf("tg_group.admins_only", &[("verb", verb)]))
}

/// Answers a public lookup for a group without touching anyone's state, as
/// [`engine::public_lookup`] does, but keeping the buttons for [`public_answer`] to turn into
/// deep links (`salt` varies `/fact`).
pub fn lookup(
    cat: &Catalog,
    user: &str,
    text: &str,
    salt: u32,
    now: jiff::Timestamp,
) -> Vec<Message> {
    let mut st = engine::UserState::new(user);
    st.welcomed = true;
    st.facts_shown = salt;
    engine::step(cat, &st, engine::Input::Text(text.to_string()), now)
        .messages
        .into_iter()
        .filter(|m| m.audience == engine::Audience::Public)
        .collect()
}

/// "I'll answer that privately", with a deep link to the answer.
pub fn privately(cat: &Catalog, payload: String) -> Message {
    Message::public()
        .para(cat.t("tg_group.answer_privately"))
        .buttons(vec![Button {
            label: cat.t("button.continue_privately").to_string(),
            token: payload,
        }])
}

fn more_button(cat: &Catalog, payload: String) -> Button {
    Button {
        label: cat.t("tg_group.button_more").to_string(),
        token: payload,
    }
}

fn block_len(b: &Block) -> usize {
    match b {
        Block::Title(s) | Block::Para(s) | Block::Source(s) => s.chars().count(),
        Block::List { items, .. } => items.iter().map(|i| i.chars().count() + 3).sum(),
        Block::Link { text, url } => text.chars().count() + url.chars().count(),
    }
}

/// A public answer as the group sees it. Short answers go as they are; a long one keeps its
/// opening blocks (up to [`GROUP_MAX_CHARS`], a long list cut to its first items) and gains
/// a "more, privately" link to the whole answer (`payload`). Example buttons (`ex:ID`) become
/// deep links to each example; other buttons are dropped (another member pressing one would
/// act on their own state).
pub fn public_answer(cat: &Catalog, mut m: Message, payload: Option<String>) -> Message {
    let examples: Vec<Button> = m
        .buttons
        .iter()
        .filter_map(|b| {
            // The engine stamps each token with its step (`7:ex:ID`).
            let token = match b.token.split_once(':') {
                Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest,
                _ => &b.token,
            };
            let id = token.strip_prefix("ex:")?;
            Some(Button {
                label: b.label.clone(),
                token: link_payload("examples", id)?,
            })
        })
        .collect();
    m.buttons = examples;
    let total: usize = m.blocks.iter().map(block_len).sum();
    if total <= GROUP_MAX_CHARS {
        return m;
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for b in std::mem::take(&mut m.blocks) {
        let len = block_len(&b);
        if used + len <= GROUP_MAX_CHARS {
            used += len;
            kept.push(b);
            continue;
        }
        if let Block::List { numbered, items } = b {
            let mut some = Vec::new();
            for i in items {
                let l = i.chars().count() + 3;
                if used + l > GROUP_MAX_CHARS {
                    break;
                }
                used += l;
                some.push(i);
            }
            if !some.is_empty() {
                kept.push(Block::List {
                    numbered,
                    items: some,
                });
            }
        }
        break;
    }
    m.blocks = kept;
    m.blocks
        .push(Block::Para(cat.t("tg_group.more_privately").to_string()));
    if let Some(p) = payload
        && !m.buttons.iter().any(|b| b.token == p)
    {
        m.buttons.push(more_button(cat, p));
    }
    m
}

/// The token of the marker that threads a group reply to the message that asked for it (a
/// button without a label, which no renderer shows: [`take_reply`] removes it before a
/// message is rendered). It travels with the message through the outbox, so a reply sent
/// after a restart is still threaded.
pub const REPLY_MARKER: &str = "reply-to:";

/// Marks a group reply as answering message `asked` (on the last message, whose buttons a
/// merged reply keeps).
pub fn in_reply_to(mut messages: Vec<Message>, asked: i32) -> Vec<Message> {
    if let Some(last) = messages.last_mut() {
        last.buttons.push(Button {
            label: String::new(),
            token: format!("{REPLY_MARKER}{asked}"),
        });
    }
    messages
}

/// Removes the reply marker from a message: the message id it answers, if any.
pub fn take_reply(m: &mut Message) -> Option<i64> {
    let mut id = None;
    m.buttons
        .retain(|b| match b.token.strip_prefix(REPLY_MARKER) {
            Some(n) if b.label.is_empty() => {
                id = n.parse().ok();
                false
            }
            _ => true,
        });
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_payloads() {
        assert_eq!(route("start", ""), Route::About);
        assert_eq!(route("signpost", "money"), Route::Public);
        assert_eq!(route("define", ""), Route::Privately);
        assert_eq!(route("prep", "team"), Route::Privately);
        assert_eq!(route("forgetme", ""), Route::Personal);
        assert_eq!(
            link_payload("resources", "fuel poverty!").as_deref(),
            Some("resources-fuel-poverty")
        );
        assert_eq!(link_payload("note", "x"), None);
        assert!(link_payload("examples", &"a".repeat(100)).unwrap().len() <= 64);
    }

    /// The reply marker survives the trip (through the outbox) and is removed before rendering;
    /// a button with a label and the same token is left alone.
    #[test]
    fn the_reply_marker_is_taken_off_and_read() {
        let m = Message::public().para("x").buttons(vec![Button {
            label: "Keep".into(),
            token: format!("{REPLY_MARKER}9"),
        }]);
        let mut m = in_reply_to(vec![m], 77).pop().unwrap();
        assert_eq!(take_reply(&mut m), Some(77));
        assert_eq!(m.buttons.len(), 1);
        assert_eq!(take_reply(&mut m), None);
    }
}
