//! One person on several platforms: `/link` codes, redeeming them, `/unlink`, and which
//! account a linked person's reminders go to. The records' side (merging, splitting) is pure,
//! in [`crate::engine::link`], which also says how a linked person is kept.
//!
//! **Codes** (`link::codes`). `/link` makes a code of 8 symbols (about 8.5 × 10¹¹ possible)
//! that works once, for [`CODE_LIFE`]; a new code replaces the account's earlier one, and one
//! typed in a Telegram group is cancelled at once. It is kept in the store's
//! metadata (`linkcode:CODE` → the account and when it runs out; `linkcodeof:ACCOUNT` → the
//! code), not in anyone's record, so an account with no record yet can make one. Redeeming
//! takes `/link CODE` on either platform, or Telegram's deep link (`/start link-CODE`). An
//! account may try [`MAX_TRIES`] wrong codes per [`TRY_WINDOW`] (`linktries:ACCOUNT`); after
//! that it is told to wait, so guessing is hopeless: 5 tries in 10 minutes against 8.5 × 10¹¹.
//!
//! **Locks.** A turn holds the account it came from in this process; across processes it
//! holds the account's turn, or, for an account linked to another record, that record's turn
//! instead (one database hold at a time, `Session::account_turn`). Linking and unlinking hold
//! a second turn: they take it with a time limit (`OTHER_WAIT`), in this process and in the
//! database alike ([`crate::store::Store::try_hold_turn`], which never waits inside the
//! database), and say "try again" rather than wait for ever. So two people redeeming each
//! other's codes at the same moment, or an unlink racing a turn from the other platform,
//! cannot deadlock, here or in PostgreSQL.

mod codes;

pub(super) use codes::forget_codes;
pub use codes::{CODE_LIFE, MAX_TRIES, TRY_WINDOW};
use codes::{CodeEntry, code_key, code_of_key, new_code, tries_key};

use super::{Event, Reply, Session};
use crate::engine::link::{self as records, DEEP_LINK_PREFIX, platform_name};
use crate::engine::{Button, Input, Message, UserState};
use crate::store::{DueEntry, StoreError, Write, leases::TurnHold};
use jiff::Timestamp;
use std::sync::Arc;

/// How long linking waits for the other account's turn before asking to try again.
const OTHER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The button tokens of this module (no step: they are read here, before the engine).
const TOKEN: &str = "lk";

/// The metadata key of the setting that holds the Telegram bot's username, for the deep link
/// shown with a code made on another platform.
pub const TELEGRAM_USERNAME: &str = "telegram.username";

/// What a person asked of linking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/link`: a code, or where things stand when already linked.
    Link,
    /// `/link CODE`, or Telegram's deep link: redeem a code (as typed).
    Redeem(String),
    /// `/unlink`, or its button: ask which account keeps everything.
    Unlink,
    /// The answer: this account keeps everything.
    Keep(String),
    /// Reminders go to this account (`None`: where they wrote last).
    RemindTo(Option<String>),
    /// The redeemer confirmed linking with this code.
    Confirm(String),
    /// The unlink question, or the link confirmation, answered "cancel".
    Cancel,
}

/// The linking request an input is, if it is one.
pub fn request(input: &Input) -> Option<Request> {
    match input {
        Input::Button(t) => {
            let rest = t.strip_prefix(TOKEN)?.strip_prefix(':')?;
            let (what, arg) = rest.split_once(':').unwrap_or((rest, ""));
            Some(match what {
                "unlink" => Request::Unlink,
                "status" => Request::Link,
                "keep" => Request::Keep(arg.to_string()),
                "yes" => Request::Confirm(arg.to_string()),
                "remind" if arg == "last" => Request::RemindTo(None),
                "remind" => Request::RemindTo(Some(arg.to_string())),
                "cancel" => Request::Cancel,
                _ => return None,
            })
        }
        Input::Text(t) => {
            let rest = t.trim().strip_prefix('/')?;
            let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let cmd = word.split('@').next().unwrap_or(word).to_lowercase();
            let args = args.trim();
            match cmd.as_str() {
                "link" if args.is_empty() => Some(Request::Link),
                "link" => Some(Request::Redeem(args.to_string())),
                "unlink" => Some(Request::Unlink),
                "start" => args
                    .strip_prefix(DEEP_LINK_PREFIX)
                    .map(|c| Request::Redeem(c.to_string())),
                _ => None,
            }
        }
        Input::Due { .. } => None,
    }
}

/// The key of the record `account`'s turns use, from its own record (`mine`).
fn person_key(account: &str, mine: Option<&UserState>) -> String {
    mine.and_then(|s| s.linked_to.clone())
        .unwrap_or_else(|| account.to_string())
}

/// Another person's turn, held by a linking turn (released by [`Session::unlock_other`]).
struct Other {
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    held: Option<TurnHold>,
}

impl Session {
    /// A person's record as seen from one of their accounts: the record itself, or, for an
    /// account linked to another, the record it is linked to. Read without any lock (for a
    /// look: the answer box's question, a member's time zone).
    pub async fn record_of(&self, account: &str) -> Result<Option<UserState>, StoreError> {
        match self.store.get_user(account).await? {
            Some(s) => match &s.linked_to {
                Some(person) => self.store.get_user(person).await,
                None => Ok(Some(s)),
            },
            None => Ok(None),
        }
    }

    /// The key of the record an account's turns use.
    pub async fn person_of(&self, account: &str) -> Result<String, StoreError> {
        Ok(match self.store.get_user(account).await? {
            Some(UserState {
                linked_to: Some(p), ..
            }) => p,
            _ => account.to_string(),
        })
    }

    /// Takes another person's turn, waiting at most [`OTHER_WAIT`]; `None` when it is busy.
    async fn lock_other(&self, key: &str) -> Result<Option<Other>, StoreError> {
        let lock = self.lock_for(key);
        let guard = tokio::time::timeout(OTHER_WAIT, lock.clone().lock_owned()).await;
        let Ok(guard) = guard else {
            self.release(key, lock);
            return Ok(None);
        };
        let mut other = Other {
            key: key.to_string(),
            lock,
            guard: Some(guard),
            held: None,
        };
        // Never waits in the database while this turn holds its own (see the module docs).
        match self.store.try_hold_turn(key, OTHER_WAIT).await {
            Ok(Some(h)) => {
                other.held = Some(h);
                Ok(Some(other))
            }
            Ok(None) => {
                self.unlock_other(other);
                Ok(None)
            }
            Err(e) => {
                self.unlock_other(other);
                Err(e)
            }
        }
    }

    fn unlock_other(&self, mut other: Other) {
        other.held.take();
        other.guard.take();
        self.release(&other.key, other.lock);
    }

    /// A linking turn; the caller holds `ev.user`'s turn.
    pub(super) async fn link_turn(
        &self,
        ev: &Event,
        req: Request,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let account = ev.user.as_str();
        let mine = self.store.get_user(account).await?;
        if self.applied(ev, mine.as_ref()).await? {
            let st = mine.unwrap_or_else(|| UserState::new(account));
            return self.duplicate(ev, &st, None).await;
        }
        let mut w = Write::default();
        let mut destroy = Vec::new();
        let messages = match req {
            // The terminal is a local chat for trying the bot, not an account of anyone's.
            _ if records::platform(account) == "terminal" => vec![self.say("link.needs_session")],
            Request::Link => self.status_or_code(account, mine, &mut w, now).await?,
            Request::Redeem(text) => {
                self.redeem(account, mine, &text, false, &mut w, now)
                    .await?
            }
            Request::Confirm(code) => self.redeem(account, mine, &code, true, &mut w, now).await?,
            Request::Unlink => self.ask_unlink(mine).await?,
            Request::Keep(keep) => {
                self.unlink(account, mine, &keep, &mut w, &mut destroy, now)
                    .await?
            }
            Request::RemindTo(to) => self.remind_to(account, mine, to, &mut w, now).await?,
            Request::Cancel => vec![self.say("link.cancelled")],
        };
        self.settle(ev, &messages, &mut w, now).await?;
        if !destroy.is_empty() {
            // Sealed under no one's key: some of these keys are about to go, and the
            // messages hold nothing personal (platform names).
            for e in &mut w.outbox {
                e.person = None;
            }
        }
        self.write(w).await?;
        self.destroy_keys(&destroy).await?;
        Ok(Reply {
            at: "link".into(),
            messages,
            duplicate: false,
        })
    }

    /// A button of this module: its label's key and its action (`lk:ACTION`).
    fn button(&self, key: &str, action: &str) -> Button {
        Button {
            label: self.catalog.t(key).to_string(),
            token: format!("{TOKEN}:{action}"),
        }
    }

    /// A button per account of `rec`, labelled with its platform (`{platform}` in `key`),
    /// whose action is `lk:ACTION:ACCOUNT`.
    fn per_account(&self, rec: &UserState, key: &str, action: &str) -> Vec<Button> {
        records::accounts(rec)
            .iter()
            .map(|a| Button {
                label: self.catalog.tf(key, &[("platform", platform_name(a))]),
                token: format!("{TOKEN}:{action}:{a}"),
            })
            .collect()
    }

    fn say(&self, key: &str) -> Message {
        Message::private().para(self.catalog.t(key))
    }

    fn say_f(&self, key: &str, vars: &[(&str, &str)]) -> Message {
        Message::private().para(self.catalog.tf(key, vars))
    }

    /// The record `account` belongs to (its own, or the one it is linked to) and the
    /// accounts on it; `None` when the account has no record.
    async fn linked_record(
        &self,
        mine: Option<UserState>,
    ) -> Result<Option<UserState>, StoreError> {
        match mine {
            Some(UserState {
                linked_to: Some(p), ..
            }) => self.store.get_user(&p).await,
            other => Ok(other),
        }
    }

    /// `/link`: where things stand when linked; otherwise a new code.
    async fn status_or_code(
        &self,
        account: &str,
        mine: Option<UserState>,
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        if let Some(rec) = self.linked_record(mine).await?
            && !rec.accounts.is_empty()
        {
            return Ok(vec![self.status(&rec)]);
        }
        let code = new_code();
        if let Some(old) = self.store.get_meta(&code_of_key(account)).await? {
            w.meta
                .push((code_key(&String::from_utf8_lossy(&old)), None));
        }
        let entry = CodeEntry {
            account: account.to_string(),
            expires: now + CODE_LIFE,
        };
        w.meta.push((
            code_key(&code),
            Some(serde_json::to_vec(&entry).unwrap_or_default()),
        ));
        w.meta
            .push((code_of_key(account), Some(code.as_bytes().to_vec())));
        let shown = records::show_code(&code);
        let mut m = Message::private()
            .title(self.catalog.t("link.code_title"))
            .para(self.catalog.tf("link.code", &[("code", &shown)]));
        // The deep link opens Telegram with the code filled in: offered wherever the code was
        // made except Telegram itself (where the other platform is where it is typed).
        if records::platform(account) != "telegram"
            && let Some(bot) = self.setting(TELEGRAM_USERNAME).await?
        {
            let url = format!("https://t.me/{bot}?start={DEEP_LINK_PREFIX}{code}");
            m = m.para(self.catalog.tf("link.code_deep_link", &[("url", &url)]));
        }
        Ok(vec![m.para(self.catalog.t("link.code_privacy"))])
    }

    /// Where a linked person stands: the accounts, where reminders go, and the buttons to
    /// choose that or to unlink.
    fn status(&self, rec: &UserState) -> Message {
        let all = records::accounts(rec);
        let names: Vec<&str> = all.iter().map(|a| platform_name(a)).collect();
        let to = match &rec.reminders_to {
            Some(a) => platform_name(a).to_string(),
            None => self.catalog.t("link.remind_last").to_string(),
        };
        let mut buttons = self.per_account(rec, "button.link_remind_on", "remind");
        buttons.push(self.button("button.link_remind_last", "remind:last"));
        buttons.push(self.button("button.unlink", "unlink"));
        Message::private()
            .title(self.catalog.t("link.status_title"))
            .para(self.catalog.tf(
                "link.status",
                &[("platforms", &names.join(" and ")), ("reminders", &to)],
            ))
            .buttons(buttons)
    }

    /// `/link CODE`: asks whether to link this account with the one that made the code (so
    /// nobody is talked into joining their account to a stranger's without being told what
    /// it means); once `confirmed`, links them.
    async fn redeem(
        &self,
        account: &str,
        mine: Option<UserState>,
        text: &str,
        confirmed: bool,
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        if let Some(m) = self.too_many_tries(account, false, w, now).await? {
            return Ok(vec![m]);
        }
        if let Some(rec) = self.linked_record(mine.clone()).await?
            && !rec.accounts.is_empty()
        {
            let others: Vec<&str> = records::accounts(&rec)
                .iter()
                .filter(|a| a.as_str() != account)
                .map(|a| platform_name(a))
                .collect();
            return Ok(vec![self.say_f(
                "link.already_linked",
                &[("platforms", &others.join(" and "))],
            )]);
        }
        let Some(code) = records::parse_code(text) else {
            self.too_many_tries(account, true, w, now).await?;
            return Ok(vec![self.say("link.malformed")]);
        };
        let entry: Option<CodeEntry> = self
            .store
            .get_meta(&code_key(&code))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(entry) = entry.filter(|e| e.expires > now) else {
            self.too_many_tries(account, true, w, now).await?;
            return Ok(vec![self.say("link.unknown_code")]);
        };
        if entry.account == account {
            return Ok(vec![self.say("link.own_code")]);
        }
        if records::platform(&entry.account) == records::platform(account) {
            return Ok(vec![self.say_f(
                "link.same_platform",
                &[("platform", platform_name(account))],
            )]);
        }
        if !confirmed {
            let there = platform_name(&entry.account);
            return Ok(vec![
                Message::private()
                    .title(self.catalog.t("link.confirm_title"))
                    .para(self.catalog.tf(
                        "link.confirm",
                        &[("there", there), ("here", platform_name(account))],
                    ))
                    .buttons(vec![
                        self.button("button.link_yes", &format!("yes:{code}")),
                        self.button("button.cancel", "cancel"),
                    ]),
            ]);
        }
        let Some(other) = self.lock_other(&entry.account).await? else {
            return Ok(vec![self.say("link.busy")]);
        };
        let result = self
            .join(account, mine, &entry.account, &code, w, now)
            .await;
        self.unlock_other(other);
        result
    }

    /// The link itself, both turns held: `home` (who made the code) keeps the record, and
    /// `account`'s record is merged into it and becomes a stub pointing there.
    async fn join(
        &self,
        account: &str,
        mine: Option<UserState>,
        home_key: &str,
        code: &str,
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        // Another account redeemed it while this one waited for the maker's turn.
        if self.store.get_meta(&code_key(code)).await?.is_none() {
            return Ok(vec![self.say("link.unknown_code")]);
        }
        let home = self.store.get_user(home_key).await?;
        let home = match home {
            // The maker was linked elsewhere since making the code (or forgotten).
            Some(h) if h.linked_to.is_some() => return Ok(vec![self.say("link.unknown_code")]),
            Some(h) => h,
            None if self.tombstoned(home_key).await? => {
                return Ok(vec![self.say("link.unknown_code")]);
            }
            None => UserState::new(home_key),
        };
        if home
            .accounts
            .iter()
            .any(|a| records::platform(a) == records::platform(account))
        {
            return Ok(vec![self.say_f(
                "link.same_platform",
                &[("platform", platform_name(account))],
            )]);
        }
        let mut mine = mine.unwrap_or_else(|| UserState::new(account));
        if mine.created.is_none() {
            mine.created = Some(now);
        }
        let (merged, said) = records::merge(&home, &mine, now);
        // The due index follows the records: the account's entries go, the merged record's
        // come.
        let before: std::collections::BTreeSet<DueEntry> = super::due_entries(&home)
            .into_iter()
            .chain(super::due_entries(&mine))
            .collect();
        let after = super::due_entries(&merged);
        w.due_delete.extend(before.difference(&after).cloned());
        w.due_put.extend(after.difference(&before).cloned());
        w.users.push(merged);
        w.users.push(records::stub(account, home_key, now));
        w.meta.push((code_key(code), None));
        w.meta.push((code_of_key(home_key), None));
        w.meta.push((tries_key(account), None));
        if self.tombstoned(account).await? {
            w.meta.push((super::forget::tombstone_key(account), None));
        }
        let here = platform_name(account);
        let there = platform_name(home_key);
        let mut m = Message::private()
            .title(self.catalog.t("link.done_title"))
            .para(
                self.catalog
                    .tf("link.done", &[("here", here), ("there", there)]),
            );
        let brought = said.reflections + said.actions + said.notes + said.reminders;
        if brought > 0 {
            m = m.para(self.catalog.tf(
                "link.merged",
                &[
                    ("here", here),
                    ("reflections", &said.reflections.to_string()),
                    ("actions", &said.actions.to_string()),
                    ("notes", &said.notes.to_string()),
                    ("reminders", &said.reminders.to_string()),
                ],
            ));
        }
        if !said.settings_kept.is_empty() {
            let names: Vec<String> = said
                .settings_kept
                .iter()
                .map(|s| self.catalog.t(&format!("link.setting_{s}")).to_string())
                .collect();
            m = m.para(self.catalog.tf(
                "link.settings_kept",
                &[("settings", &names.join(", ")), ("there", there)],
            ));
        }
        if let Some(months) = said.retention_shorter {
            m = m.para(
                self.catalog
                    .tf("link.retention_shorter", &[("months", &months.to_string())]),
            );
        }
        // The code's maker is told on their own platform, so a link they did not make (a code
        // seen over a shoulder) does not go unnoticed.
        let told = Message::private().para(
            self.catalog
                .tf("link.told_maker", &[("here", here), ("there", there)]),
        );
        w.outbox
            .extend(self.owe(home_key, None, &[told], None, now).await?);
        m = m
            .para(self.catalog.t("link.done_after"))
            .buttons(vec![self.button("button.link_status", "status")]);
        self.poke_scheduler();
        Ok(vec![m])
    }

    /// `/unlink`: which account keeps everything.
    async fn ask_unlink(&self, mine: Option<UserState>) -> Result<Vec<Message>, StoreError> {
        let Some(rec) = self
            .linked_record(mine)
            .await?
            .filter(|r| !r.accounts.is_empty())
        else {
            return Ok(vec![self.say("link.not_linked")]);
        };
        let mut buttons = self.per_account(&rec, "button.unlink_keep", "keep");
        buttons.push(self.button("button.cancel", "cancel"));
        Ok(vec![
            Message::private()
                .title(self.catalog.t("link.unlink_title"))
                .para(self.catalog.t("link.unlink_ask"))
                .buttons(buttons),
        ])
    }

    /// The unlink itself: the record moves to `keep` (if it is not there already), every
    /// other account starts afresh. Every account's turn is held meanwhile.
    async fn unlink(
        &self,
        account: &str,
        mine: Option<UserState>,
        keep: &str,
        w: &mut Write,
        destroy: &mut Vec<String>,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let person = person_key(account, mine.as_ref());
        let mut others = Vec::new();
        if person != account {
            match self.lock_other(&person).await? {
                Some(o) => others.push(o),
                None => return Ok(vec![self.say("link.busy")]),
            }
        }
        let result = async {
            let Some(rec) = self
                .store
                .get_user(&person)
                .await?
                .filter(|r| !r.accounts.is_empty())
            else {
                return Ok(vec![self.say("link.not_linked")]);
            };
            let all = records::accounts(&rec);
            if !all.iter().any(|a| a == keep) {
                return Ok(vec![self.say("link.not_linked")]);
            }
            for a in &all {
                if a != account && a != &person {
                    match self.lock_other(a).await? {
                        Some(o) => others.push(o),
                        None => return Ok(vec![self.say("link.busy")]),
                    }
                }
            }
            let (kept, fresh) = records::split(&rec, keep, now);
            let before = super::due_entries(&rec);
            let after = super::due_entries(&kept);
            w.due_delete.extend(before.difference(&after).cloned());
            w.due_put.extend(after.difference(&before).cloned());
            w.delete_users.extend(fresh.iter().cloned());
            w.users.push(kept);
            // The accounts that start afresh: their keys go once this is written (the old
            // record, or their share of it, in sled's log or a backup, can then be read by
            // nobody); the tombstone finishes that after a crash, as for /forgetme.
            for a in &fresh {
                w.meta
                    .push((super::forget::tombstone_key(a), Some(b"pending".to_vec())));
            }
            destroy.extend(fresh.iter().cloned());
            let fresh_names: Vec<&str> = fresh.iter().map(|a| platform_name(a)).collect();
            // Every other account is told on its own platform.
            for a in all.iter().filter(|a| a.as_str() != account) {
                let key = if a == keep {
                    "link.told_unlinked_kept"
                } else {
                    "link.told_unlinked_fresh"
                };
                let told = Message::private().para(
                    self.catalog
                        .tf(key, &[("platform", platform_name(account))]),
                );
                w.outbox
                    .extend(self.owe(a, None, &[told], None, now).await?);
            }
            Ok(vec![
                Message::private()
                    .title(self.catalog.t("link.unlinked_title"))
                    .para(self.catalog.tf(
                        "link.unlinked",
                        &[
                            ("kept", platform_name(keep)),
                            ("fresh", &fresh_names.join(" and ")),
                        ],
                    )),
            ])
        }
        .await;
        for o in others {
            self.unlock_other(o);
        }
        result
    }

    /// Chooses where a linked person's reminders go.
    async fn remind_to(
        &self,
        account: &str,
        mine: Option<UserState>,
        to: Option<String>,
        w: &mut Write,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let person = person_key(account, mine.as_ref());
        let other = if person != account {
            match self.lock_other(&person).await? {
                Some(o) => Some(o),
                None => return Ok(vec![self.say("link.busy")]),
            }
        } else {
            None
        };
        let result = async {
            let Some(mut rec) = self
                .store
                .get_user(&person)
                .await?
                .filter(|r| !r.accounts.is_empty())
            else {
                return Ok(vec![self.say("link.not_linked")]);
            };
            if let Some(a) = &to
                && !records::accounts(&rec).contains(a)
            {
                return Ok(vec![self.say("link.not_linked")]);
            }
            let said = match &to {
                Some(a) => self
                    .catalog
                    .tf("link.remind_set", &[("platform", platform_name(a))]),
                None => self.catalog.t("link.remind_set_last").to_string(),
            };
            rec.reminders_to = to;
            rec.updated = Some(now);
            w.users.push(rec);
            Ok(vec![Message::private().para(said)])
        }
        .await;
        if let Some(o) = other {
            self.unlock_other(o);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_from_commands_links_and_buttons() {
        let t = |s: &str| request(&Input::Text(s.into()));
        assert_eq!(t("/link"), Some(Request::Link));
        assert_eq!(
            t("/link abcd-2345"),
            Some(Request::Redeem("abcd-2345".into()))
        );
        assert_eq!(
            t("/link@lensbot ABCD2345"),
            Some(Request::Redeem("ABCD2345".into()))
        );
        assert_eq!(
            t("/start link-ABCD2345"),
            Some(Request::Redeem("ABCD2345".into()))
        );
        assert_eq!(t("/start"), None);
        assert_eq!(t("/unlink"), Some(Request::Unlink));
        assert_eq!(t("/linked"), None);
        let b = |s: &str| request(&Input::Button(s.into()));
        assert_eq!(
            b("lk:keep:discord:2"),
            Some(Request::Keep("discord:2".into()))
        );
        assert_eq!(b("lk:remind:last"), Some(Request::RemindTo(None)));
        assert_eq!(
            b("lk:remind:telegram:1"),
            Some(Request::RemindTo(Some("telegram:1".into())))
        );
        assert_eq!(b("12:lens"), None);
    }
}
