//! Peer-group reflection challenges: a facilitator starts a plan in a Telegram group or a
//! Discord channel, members join with one tap, each day's prompt arrives privately at the
//! member's own local time, and the group sees only counts, and the streaks of those who chose
//! to be named. No reflection text ever reaches a group.
//!
//! Like the engine, everything here is pure (no IO, no clock): the session loads a group's
//! [`Challenge`] record, calls these functions with the time, saves the record and mirrors its
//! next times into the store's due index, exactly as it does for reminders. [`calendar`] says
//! which plan step falls on which date (pauses and skips included) and when the next post and
//! prompts are due; [`group`] holds the facilitator's commands, the daily digest and the end
//! summary; [`member`] holds joining, leaving, check-ins, streaks, prompts and status.

pub mod calendar;
pub mod group;
pub mod member;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The current version of a stored challenge record.
pub const CHALLENGE_VERSION: u32 = 1;

/// The store's metadata key prefix for challenge records: `challenge/<group key>`.
pub const META_PREFIX: &str = "challenge/";

/// The due-index reminder id of a group's next post (digest, or the end summary).
pub const POST: &str = "post";

/// One group's challenge (the running one, or the last one, kept until a new one starts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Format version.
    pub v: u32,
    /// The group's key (`telegram:chat:-100…`, `discord:channel:…`).
    pub group: String,
    /// The group's title when the platform gave one (used in private messages).
    #[serde(default)]
    pub title: String,
    /// Plan id.
    pub plan: String,
    /// The group's time zone (IANA name): the default for members without their own.
    pub timezone: String,
    /// Local hour of the daily prompt and post.
    pub hour: u8,
    /// Local minute.
    pub minute: u8,
    /// The first day, in the group's zone.
    pub start: Date,
    /// Which step falls on which date: each segment runs from its date with its first step,
    /// one step every `every` days. Skips and resumes add segments.
    pub segments: Vec<Segment>,
    /// Set while paused.
    #[serde(default)]
    pub paused: Option<Paused>,
    /// Steps the facilitator skipped.
    #[serde(default)]
    pub skipped: Vec<u32>,
    /// Who facilitates (a user key); any admin can take over.
    pub facilitator: String,
    /// When it was started.
    pub started_at: Timestamp,
    /// The people taking part.
    #[serde(default)]
    pub members: Vec<Member>,
    /// Steps announced in the group so far, in order.
    #[serde(default)]
    pub posted: Vec<u32>,
    /// When the last group post was handled (its due time).
    #[serde(default)]
    pub last_post: Option<Timestamp>,
    /// The next group post (a digest, or the end summary).
    #[serde(default)]
    pub next_post: Option<Timestamp>,
    /// Whether the mid-point nudge has been said.
    #[serde(default)]
    pub midpoint_said: bool,
    /// Set once it has ended.
    #[serde(default)]
    pub ended: Option<Ended>,
    /// The community it runs in, when the group is part of a larger one (a Discord channel's
    /// server, `discord:guild:ID`): set by the session from the command that started it, so
    /// community insights count it (`insights`). A Telegram group is its own
    /// community and needs none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
}

/// A run of consecutive steps from a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The date of `step`, in the group's zone.
    pub from: Date,
    /// The step on that date (0-based).
    pub step: u32,
}

/// A pause: no new steps from a date until someone resumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// The first date without a step.
    pub from: Date,
    /// The step that comes next on resuming.
    pub next: u32,
}

/// How a challenge ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// When.
    pub at: Timestamp,
    /// Ended by the facilitator (or because the group could not be reached) before the plan
    /// was finished.
    pub early: bool,
}

/// One member's part in a challenge. Holds no reflection text: only which steps reached them
/// and which they checked in for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// User key.
    pub user: String,
    /// Their first name, only when they chose to be named in digests.
    #[serde(default)]
    pub name: Option<String>,
    /// Their time zone when they joined (or at their last prompt), if they set one.
    #[serde(default)]
    pub tz: Option<String>,
    /// When they joined.
    pub joined: Timestamp,
    /// Steps whose prompt reached them (or was offered to them).
    #[serde(default)]
    pub sent: Vec<u32>,
    /// Steps they checked in for.
    #[serde(default)]
    pub checkins: Vec<u32>,
    /// The step offered at once when they joined late (its time had passed before they
    /// joined): left undone, it is not a missed step for their streak, since it fell before
    /// they were in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_step: Option<u32>,
    /// When their next prompt is due.
    #[serde(default)]
    pub next_prompt: Option<Timestamp>,
    /// Set when the platform said they cannot be messaged privately.
    #[serde(default)]
    pub unreachable: bool,
}

impl Challenge {
    /// The member with this user key.
    pub fn member(&self, user: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.user == user)
    }

    /// The member with this user key, to change.
    pub fn member_mut(&mut self, user: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user == user)
    }

    /// Whether it is still going (scheduled, running or paused).
    pub fn active(&self) -> bool {
        self.ended.is_none()
    }

    /// The group's zone.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        crate::engine::zones::of(Some(&self.timezone))
    }

    /// "08:00".
    pub fn time(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }
}

/// A group's key from its platform and id: `telegram:chat:-100…`, `discord:channel:…`.
pub fn group_key(platform: &str, id: &str) -> String {
    let kind = if platform == "telegram" {
        "chat"
    } else {
        "channel"
    };
    format!("{platform}:{kind}:{id}")
}

/// Whether a key names a group rather than a person.
pub fn is_group_key(key: &str) -> bool {
    key.starts_with("telegram:chat:") || key.starts_with("discord:channel:")
}

/// A group's short code for buttons and deep links (letters, digits: Telegram's start
/// parameter allows no more): `tm100123` for Telegram chat -100123, `d123` for a Discord
/// channel.
pub fn code(group: &str) -> String {
    if let Some(id) = group.strip_prefix("telegram:chat:") {
        format!("t{}", id.replace('-', "m"))
    } else if let Some(id) = group.strip_prefix("discord:channel:") {
        format!("d{id}")
    } else {
        String::new()
    }
}

/// The group a code names.
pub fn group_of_code(code: &str) -> Option<String> {
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = code.strip_prefix('t') {
        let (sign, digits) = match rest.strip_prefix('m') {
            Some(d) => ("-", d),
            None => ("", rest),
        };
        return valid(digits).then(|| format!("telegram:chat:{sign}{digits}"));
    }
    let digits = code.strip_prefix('d')?;
    valid(digits).then(|| format!("discord:channel:{digits}"))
}

/// The platform a key belongs to (`telegram`, `discord`, `terminal` …).
pub fn platform(key: &str) -> &str {
    key.split(':').next().unwrap_or("")
}

/// The store key of a group's challenge record.
pub fn meta_key(group: &str) -> String {
    format!("{META_PREFIX}{group}")
}

/// The due-index reminder id of a member's next prompt.
pub fn prompt_id(user: &str) -> String {
    format!("p:{user}")
}

/// The due-index entries a record implies: its next post and each member's next prompt.
pub fn due_entries(c: &Challenge) -> std::collections::BTreeSet<crate::store::DueEntry> {
    let mut out = std::collections::BTreeSet::new();
    if let Some(at) = c.next_post {
        out.insert(crate::store::DueEntry {
            at,
            user: c.group.clone(),
            reminder: POST.to_string(),
        });
    }
    for m in &c.members {
        if let Some(at) = m.next_prompt {
            out.insert(crate::store::DueEntry {
                at,
                user: c.group.clone(),
                reminder: prompt_id(&m.user),
            });
        }
    }
    out
}

/// Reads a stored record (versioned JSON).
pub fn decode(group: &str, bytes: &[u8]) -> Result<Challenge, crate::store::StoreError> {
    let corrupt = |e: serde_json::Error| crate::store::StoreError::Corrupt {
        key: meta_key(group),
        reason: crate::store::codec::json_error(&e),
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(corrupt)?;
    // The version first: a newer record is "upgrade lensbot", even when its fields changed.
    let v = crate::store::codec::version_of(&meta_key(group), &value)?;
    if v > CHALLENGE_VERSION {
        return Err(crate::store::StoreError::TooNew {
            key: meta_key(group),
            version: v,
            supported: CHALLENGE_VERSION,
        });
    }
    serde_json::from_value(value).map_err(corrupt)
}

/// Writes a record as stored.
pub fn encode(c: &Challenge) -> Vec<u8> {
    serde_json::to_vec(c).unwrap_or_default()
}

/// What a member asked for, from a command, a deep link or a button (`ch_…` tokens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `/challenge` or `/challenge status`: their challenges.
    Status,
    /// Help on challenges (and facilitator commands used in a private chat).
    Help,
    /// Join the group's challenge.
    Join(String),
    /// Leave one (or, with no group, choose which).
    Leave(Option<String>),
    /// Be named in digests, or not.
    Name(Option<String>, bool),
    /// Today's prompt now (a button in the group, for people whose DMs are closed).
    Today(String),
    /// "Done, no notes" for a step.
    Done(String, u32),
    /// Reflect on prompt `k` of a step.
    Reflect(String, u32, usize),
    /// Whether their first name shows in each challenge's updates, with buttons to change it
    /// (from `/settings`).
    Names,
}

impl Request {
    /// The group the request names, if it names one.
    pub fn group(&self) -> Option<&str> {
        match self {
            Request::Status
            | Request::Help
            | Request::Names
            | Request::Leave(None)
            | Request::Name(None, _) => None,
            Request::Join(g)
            | Request::Leave(Some(g))
            | Request::Name(Some(g), _)
            | Request::Today(g)
            | Request::Done(g, _)
            | Request::Reflect(g, _, _) => Some(g),
        }
    }
}

/// Builds a button token: `ch_<verb>_<code>[_<more>…]`, at most 64 bytes.
pub fn token(verb: char, group: &str, more: &[String]) -> String {
    let mut t = format!("ch_{verb}_{}", code(group));
    for m in more {
        t.push('_');
        t.push_str(m);
    }
    t
}

/// The action of the `/settings` button about names in challenge updates: the engine shows it
/// (with its step, `5:ch_names`), the session answers it, since only the session reads
/// challenge records.
pub const NAMES_TOKEN: &str = "ch_names";

/// Reads a `ch_…` token (from a button or a `/start` deep link).
pub fn parse_token(t: &str) -> Option<Request> {
    if t == NAMES_TOKEN {
        return Some(Request::Names);
    }
    let rest = t.strip_prefix("ch_")?;
    let mut parts = rest.split('_');
    let verb = parts.next()?;
    let group = parts.next().and_then(group_of_code);
    let mut num = || parts.next().and_then(|s| s.parse::<u32>().ok());
    Some(match verb {
        "s" => Request::Status,
        "j" => Request::Join(group?),
        "l" => Request::Leave(group),
        "t" => Request::Today(group?),
        "n" => {
            let g = group?;
            Request::Name(Some(g), num()? == 1)
        }
        "d" => {
            let g = group?;
            Request::Done(g, num()?)
        }
        "r" => {
            let g = group?;
            let step = num()?;
            Request::Reflect(g, step, num()? as usize)
        }
        _ => return None,
    })
}

/// Recognises a member's challenge request in a person's input: `/challenge …` typed in a
/// private chat, a `/start ch_…` deep link, or a `ch_…` button. Facilitator words typed
/// privately are answered with help (they work in the group). Recognised is not allowed: the
/// session answers one naming a group whose challenge the person is not in only with the
/// platform's confirmation that they belong to it (`Event::member_of`).
pub fn request(input: &crate::engine::Input) -> Option<Request> {
    use crate::engine::Input;
    match input {
        Input::Button(t) => parse_token(t).or_else(|| {
            // The settings menu's button is the engine's, so it carries the engine's step.
            let (_, action) = t.split_once(':')?;
            (action == NAMES_TOKEN).then_some(Request::Names)
        }),
        Input::Text(t) => {
            let t = t.trim();
            let rest = t.strip_prefix('/')?;
            let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let cmd = word.split('@').next().unwrap_or(word).to_lowercase();
            let args = args.trim();
            if cmd == "start" {
                return parse_token(args);
            }
            if cmd != "challenge" {
                return None;
            }
            let mut words = args.split_whitespace();
            let sub = words.next().unwrap_or("").to_lowercase();
            let group = words.clone().find_map(group_of_code);
            Some(match sub.as_str() {
                "" | "status" | "me" | "mine" => Request::Status,
                "join" => match group {
                    Some(g) => Request::Join(g),
                    None => Request::Help,
                },
                "leave" => Request::Leave(group),
                "today" | "prompt" => match group {
                    Some(g) => Request::Today(g),
                    None => Request::Status,
                },
                "name" => {
                    let on = !words.any(|w| matches!(w, "off" | "no" | "hide"));
                    Request::Name(group, on)
                }
                _ => Request::Help,
            })
        }
        Input::Due { .. } => None,
    }
}
