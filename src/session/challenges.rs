//! The session's part in group challenges: loading and saving each group's record (in the
//! store's metadata, its next times mirrored into the due index like reminders), facilitator
//! commands from the adapters, members' requests, check-ins, `/forgetme`, and the scheduled
//! posts and prompts.
//!
//! Locks: a group's record is changed only under the group's lock (the same lock map as
//! people, keyed by the group's key). A person's turn takes their own lock first and a group's
//! second; nothing takes them the other way round, so there is no deadlock.

use super::{DueRun, Event, Reply, Session};
use crate::challenge::group::{Actor, Group};
use crate::challenge::{self, Challenge, Request, calendar, member};
use crate::engine::{Button, Message, UserState};
use crate::store::{DueEntry, StoreError, Write};
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};

/// Later than this, a member's prompt is skipped (not counted as missed).
const MAX_LATE: SignedDuration = SignedDuration::from_hours(24);

/// Later than this, a prompt says it is late.
const SAY_LATE: SignedDuration = SignedDuration::from_mins(5);

/// How a sealed member name starts in a stored record.
const SEALED_NAME: &str = "sealed:";

/// What a sealed member name is bound to: its group and member.
fn name_aad(group: &str, user: &str) -> Vec<u8> {
    format!("challenge-name\0{group}\0{user}").into_bytes()
}

impl Session {
    /// A group's challenge record, if it has had one.
    pub async fn challenge(&self, group: &str) -> Result<Option<Challenge>, StoreError> {
        match self.store.get_meta(&challenge::meta_key(group)).await? {
            Some(bytes) => {
                let mut c = challenge::decode(group, &bytes)?;
                self.unseal_names(&mut c);
                Ok(Some(c))
            }
            None => Ok(None),
        }
    }

    /// A record as stored: members' names (personal data) sealed under each member's own key,
    /// so forgetting a member leaves their name unreadable in every old copy of the record
    /// (sled's log, backups). A store that does not encrypt keeps them as they are.
    fn encode_challenge(&self, c: &Challenge) -> Result<Vec<u8>, StoreError> {
        let Some(vault) = self.store.vault() else {
            return Ok(challenge::encode(c));
        };
        let mut sealed = c.clone();
        for m in &mut sealed.members {
            if let Some(name) = &m.name {
                let bytes = vault.seal(&m.user, &name_aad(&c.group, &m.user), name.as_bytes())?;
                m.name = Some(format!(
                    "{SEALED_NAME}{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ));
            }
        }
        Ok(challenge::encode(&sealed))
    }

    /// Opens the names [`Session::encode_challenge`] sealed; a name whose member was forgotten
    /// (or that is damaged) is dropped.
    fn unseal_names(&self, c: &mut Challenge) {
        let Some(vault) = self.store.vault() else {
            return;
        };
        let group = c.group.clone();
        for m in &mut c.members {
            let Some(sealed) = m.name.as_deref().and_then(|n| n.strip_prefix(SEALED_NAME)) else {
                continue;
            };
            m.name = base64::engine::general_purpose::STANDARD
                .decode(sealed)
                .ok()
                .and_then(|b| vault.unseal(&name_aad(&group, &m.user), &b).ok())
                .and_then(|b| String::from_utf8(b).ok());
        }
    }

    /// Every group's record that can be read: one that cannot (damaged, or written by a newer
    /// lensbot) is skipped with a warning naming its key, so it harms no other group's
    /// members. A store failure is an error.
    pub async fn challenges(&self) -> Result<Vec<Challenge>, StoreError> {
        let mut out = Vec::new();
        for key in self.store.meta_keys().await? {
            if let Some(group) = key.strip_prefix(challenge::META_PREFIX)
                && let Some(c) = self
                    .or_skip(self.challenge(group).await, "challenges")?
                    .flatten()
            {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Adds a record's new value and its due-index moves to a write.
    fn challenge_write(
        &self,
        before: Option<&Challenge>,
        after: &Challenge,
        w: &mut Write,
    ) -> Result<(), StoreError> {
        let old = before.map(challenge::due_entries).unwrap_or_default();
        let new = challenge::due_entries(after);
        w.due_delete.extend(old.difference(&new).cloned());
        w.due_put.extend(new.difference(&old).cloned());
        w.meta.push((
            challenge::meta_key(&after.group),
            Some(self.encode_challenge(after)?),
        ));
        if new.difference(&old).count() > 0 {
            self.poke_scheduler();
        }
        Ok(())
    }

    /// Saves a record and moves its due-index entries (durable after the next flush).
    async fn save_challenge(
        &self,
        before: Option<&Challenge>,
        after: &Challenge,
    ) -> Result<(), StoreError> {
        let old = before.map(challenge::due_entries).unwrap_or_default();
        let new = challenge::due_entries(after);
        for e in old.difference(&new) {
            self.store.delete_due(e).await?;
        }
        let added = new.difference(&old).count() > 0;
        for e in new.difference(&old) {
            self.store.put_due(e).await?;
        }
        self.store
            .put_meta(
                &challenge::meta_key(&after.group),
                &self.encode_challenge(after)?,
            )
            .await?;
        if added {
            self.poke_scheduler();
        }
        Ok(())
    }

    /// Loads a group's record under its lock, lets `f` change it, and saves it if it changed.
    async fn with_challenge<T>(
        &self,
        group: &str,
        f: impl FnOnce(Option<&mut Challenge>) -> T,
    ) -> Result<T, StoreError> {
        let lock = self.lock_for(group);
        let result = async {
            let _guard = lock.lock().await;
            let _held = self.store.hold_group(group).await?;
            let before = self.challenge(group).await?;
            let mut after = before.clone();
            let out = f(after.as_mut());
            if let Some(a) = &after
                && before.as_ref() != Some(a)
            {
                self.save_challenge(before.as_ref(), a).await?;
            }
            Ok(out)
        }
        .await;
        self.release(group, lock);
        result
    }

    /// `/challenge …` typed in a group (by anyone; the adapter says whether they may
    /// facilitate). Returns what to post in the group. Saved and flushed before it returns;
    /// with an event id a repeat applies nothing, and with `to` the post is owed through the
    /// outbox in the same write.
    pub async fn group_command(
        &self,
        group: &Group,
        actor: &Actor,
        args: &str,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let ev = Event::new(&actor.user, crate::engine::Input::Text(String::new()));
        self.group_event(group, actor, args, &ev, now).await
    }

    /// [`Session::group_command`] for a platform event: `ev` carries its id, inbox key and
    /// where the answer goes (its input is not read).
    pub async fn group_event(
        &self,
        group: &Group,
        actor: &Actor,
        args: &str,
        ev: &Event,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let _in_flight = self.gate.read().await;
        let lock = self.lock_for(&group.key);
        let result = async {
            let _guard = lock.lock().await;
            let _held = self.store.hold_group(&group.key).await?;
            if self.applied(ev, None).await? {
                let mut w = Write::default();
                w.inbox_done.extend(ev.inbox.clone());
                self.write(w).await?;
                return Ok(Vec::new());
            }
            let before = self.challenge(&group.key).await?;
            let (mut after, messages) =
                challenge::group::command(&self.catalog, before.clone(), group, actor, args, now);
            // The community it runs in (a Discord channel's server), for community insights.
            if let (Some(a), Some(c)) = (after.as_mut(), &ev.community)
                && a.community.is_none()
                && *c != a.group
            {
                a.community = Some(c.clone());
            }
            let mut w = Write::default();
            if let Some(a) = &after
                && before.as_ref() != Some(a)
            {
                self.challenge_write(before.as_ref(), a, &mut w)?;
            }
            let mut settle = ev.clone();
            settle.to = None;
            self.settle(&settle, &[], &mut w, now).await?;
            if let Some(to) = &ev.to {
                // The transport shows a group only what is public.
                w.outbox
                    .extend(self.owe(to, None, &messages, ev.id.clone(), now).await?);
            }
            self.write(w).await?;
            Ok(messages)
        }
        .await;
        self.release(&group.key, lock);
        let sub = args.split_whitespace().next().unwrap_or("help");
        let sub: String = sub
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .take(12)
            .collect();
        tracing::info!(platform = challenge::platform(&group.key), what = %format!("group /challenge {sub}"), "group command");
        result
    }

    /// [`Session::group_event`] for an adapter: the answer owed through the outbox, or, when the
    /// store failed, a short apology in its place (and the error in the log). When the group's
    /// record cannot be read the group hears so, and the command is marked applied: trying
    /// again could not help.
    pub async fn group_answer(&self, group: &Group, actor: &Actor, args: &str, ev: &Event) {
        let now = self.now();
        if let Err(e) = self.group_event(group, actor, args, ev, now).await {
            let (phrase, apology) = if self.skip_unreadable(&e, "a group command") {
                ("ch.record_unreadable", ev.clone())
            } else {
                tracing::warn!("a group challenge command failed: {e}");
                let mut apology = ev.clone();
                apology.id = None;
                apology.inbox = None;
                ("store_failed", apology)
            };
            let sorry = Message::public().para(self.catalog.t(phrase));
            if let Err(e) = self.post(&apology, vec![sorry]).await {
                tracing::warn!("queueing an apology failed: {e}");
            }
        }
    }

    /// [`Session::group_command`] for an adapter: what to post, with a short apology in the
    /// group (and the error in the log) when the store failed.
    pub async fn group_reply(&self, group: &Group, actor: &Actor, args: &str) -> Vec<Message> {
        match self.group_command(group, actor, args, self.now()).await {
            Ok(ms) => ms,
            Err(e) if self.skip_unreadable(&e, "a group command") => {
                vec![Message::public().para(self.catalog.t("ch.record_unreadable"))]
            }
            Err(e) => {
                tracing::warn!("a group challenge command failed: {e}");
                vec![Message::public().para(self.catalog.t("store_failed"))]
            }
        }
    }

    /// A member's request (the caller holds the person's lock).
    /// `ev.user` is the account (a challenge's member), `person` the key of their record
    /// (`stored`, read under their turn).
    pub(super) async fn member_turn(
        &self,
        ev: &Event,
        person: &str,
        stored: Option<UserState>,
        req: Request,
        now: Timestamp,
    ) -> Result<Reply, StoreError> {
        let user = ev.user.as_str();
        let name = ev.name.as_deref();
        let state = stored.unwrap_or_else(|| UserState::new(person));
        if self.applied(ev, Some(&state)).await? {
            return self.duplicate(ev, &state, None).await;
        }
        let mut st = state.clone();
        let cat = self.catalog.clone();
        let cat = cat.as_ref();
        let group = req.group().map(str::to_string);
        let mut messages = match req {
            _ if !self.may_ask(ev, &req).await? => {
                vec![Message::private().para(cat.t("ch.members_only"))]
            }
            Request::Status => vec![self.status_message(user, now).await?],
            Request::Names => vec![self.names_message(user).await?],
            Request::Help => vec![Message::private().para(cat.t("ch.help_private"))],
            Request::Join(group) => {
                let tz = st.timezone.clone();
                self.with_plan(&group, |c, plan| member::join(cat, c, plan, user, tz, now))
                    .await?
            }
            Request::Leave(Some(group)) => {
                self.with_challenge(&group, |c| match c {
                    Some(c) => member::leave(cat, c, user),
                    None => vec![no_challenge(cat)],
                })
                .await?
            }
            Request::Leave(None) => match self.choose(user, 'l', "ch.choose_leave", &[]).await? {
                Ok(group) => {
                    self.with_challenge(&group, |c| match c {
                        Some(c) => member::leave(cat, c, user),
                        None => vec![no_challenge(cat)],
                    })
                    .await?
                }
                Err(ms) => ms,
            },
            Request::Name(Some(group), on) => {
                self.with_challenge(&group, |c| match c {
                    Some(c) => member::set_name(cat, c, user, name, on),
                    None => vec![no_challenge(cat)],
                })
                .await?
            }
            Request::Name(None, on) => {
                let flag = if on { "1" } else { "0" };
                match self
                    .choose(user, 'n', "ch.choose_name", &[flag.to_string()])
                    .await?
                {
                    Ok(group) => {
                        self.with_challenge(&group, |c| match c {
                            Some(c) => member::set_name(cat, c, user, name, on),
                            None => vec![no_challenge(cat)],
                        })
                        .await?
                    }
                    Err(ms) => ms,
                }
            }
            Request::Today(group) => {
                self.with_plan(&group, |c, plan| member::today(cat, c, plan, user, now))
                    .await?
            }
            Request::Done(group, step) => self.check_in(user, &group, step).await?,
            Request::Reflect(group, step, k) => {
                let found = self
                    .challenge(&group)
                    .await?
                    .filter(|c| {
                        c.active() && c.member(user).is_some_and(|m| m.sent.contains(&step))
                    })
                    .and_then(|c| cat.plan(&c.plan).cloned())
                    .and_then(|plan| member::question(cat, &plan, step, k));
                match found {
                    Some((lens, mode, prompt, question)) => {
                        st.at = crate::engine::At::ChallengeNote {
                            group,
                            step,
                            lens,
                            mode,
                            prompt,
                            question: question.clone(),
                        };
                        st.step += 1;
                        st.menu.clear();
                        vec![
                            Message::private()
                                .para(question)
                                .para(cat.t("ch.reflect_ask")),
                        ]
                    }
                    None => self.check_in(user, &group, step).await?,
                }
            }
        };
        if !st.welcomed {
            st.welcomed = true;
            st.tally.told = true;
            messages.insert(
                0,
                Message::private()
                    .title(cat.t("privacy_title"))
                    .para(cat.t("privacy_notice"))
                    .para(cat.t("privacy_counts")),
            );
        } else if !st.tally.told {
            // Started before community insights existed: told once, before being counted.
            st.tally.told = true;
            messages.insert(
                0,
                Message::private()
                    .title(cat.t("privacy_counts_title"))
                    .para(cat.t("privacy_counts")),
            );
        }
        self.count_member_turn(&mut st, ev, group.as_deref(), now)
            .await?;
        st.unreachable = false;
        if st.created.is_none() {
            st.created = Some(now);
        }
        let mut w = Write::default();
        if st != state {
            st.updated = Some(now);
            w.users.push(st.clone());
        }
        self.settle(ev, &messages, &mut w, now).await?;
        // The reply belongs to the group's challenge: if it cannot be delivered (a private
        // chat never opened), the member is marked, and no reminder is said to have failed.
        if let (Some(g), Some(e)) = (group, w.outbox.last_mut()) {
            e.group = Some(g);
        }
        self.write(w).await?;
        self.commit().await?;
        Ok(Reply {
            at: crate::logging::describe_at(&st.at),
            messages,
            duplicate: false,
        })
    }

    /// Whether a member's request may be answered: one naming no group, or a group whose
    /// challenge the person is in, always; otherwise (a join, or anything else for a group
    /// whose challenge they are not in) only when the platform confirmed for this event that
    /// they belong to that group (`ev.member_of`), or, when the platform gave no confirmation
    /// at all, from a button the bot showed (Discord checks a component's id against its
    /// message; the Telegram adapter confirms every such request itself). Typed text (a
    /// `/start ch_…` deep link, `/challenge join CODE`) is never enough: a link can be shared
    /// anywhere, and a group key from another platform never matches a confirmation. So an
    /// outsider neither joins nor learns the group's title.
    async fn may_ask(&self, ev: &Event, req: &Request) -> Result<bool, StoreError> {
        let Some(group) = req.group() else {
            return Ok(true);
        };
        if ev.member_of.as_deref() == Some(group) {
            return Ok(true);
        }
        if ev.member_of.is_none() && matches!(ev.input, crate::engine::Input::Button(_)) {
            return Ok(true);
        }
        Ok(self
            .challenge(group)
            .await?
            .is_some_and(|c| c.member(&ev.user).is_some()))
    }

    /// Runs `f` on a group's active record and its plan; says so when there is none.
    async fn with_plan(
        &self,
        group: &str,
        f: impl FnOnce(&mut Challenge, &crate::content::Plan) -> Vec<Message>,
    ) -> Result<Vec<Message>, StoreError> {
        let cat = self.catalog.clone();
        self.with_challenge(group, |c| match c {
            Some(c) => match cat.plan(&c.plan) {
                Some(plan) => f(c, plan),
                None => vec![Message::private().para(cat.tf("ch.plan_gone", &[("plan", &c.plan)]))],
            },
            None => vec![no_challenge(&cat)],
        })
        .await
    }

    /// When a request needs a group: the only challenge the person is in (`Ok`), or a
    /// question with one button per challenge, or a note that they are in none (`Err`).
    async fn choose(
        &self,
        user: &str,
        verb: char,
        key: &str,
        more: &[String],
    ) -> Result<Result<String, Vec<Message>>, StoreError> {
        let cat = &self.catalog;
        let mine = self.my_challenges(user).await?;
        match mine.as_slice() {
            [] => return Ok(Err(vec![Message::private().para(cat.t("ch.in_none"))])),
            [only] => return Ok(Ok(only.group.clone())),
            _ => {}
        }
        let buttons = mine
            .iter()
            .map(|c| Button {
                label: crate::engine::text::shorten(&member::group_name(cat, c), 40),
                token: challenge::token(verb, &c.group, more),
            })
            .collect();
        Ok(Err(vec![
            Message::private().para(cat.t(key)).buttons(buttons),
        ]))
    }

    /// Records a check-in (a button, or a reflection the engine saved).
    pub(super) async fn check_in(
        &self,
        user: &str,
        group: &str,
        step: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let cat = self.catalog.clone();
        self.with_challenge(group, |c| match c {
            Some(c) => match cat.plan(&c.plan) {
                Some(plan) => member::check_in(&cat, c, plan, user, step),
                None => vec![Message::private().para(cat.tf("ch.plan_gone", &[("plan", &c.plan)]))],
            },
            None => vec![no_challenge(&cat)],
        })
        .await
    }

    /// Everyone's challenges as the person sees them.
    async fn status_message(&self, user: &str, now: Timestamp) -> Result<Message, StoreError> {
        let cat = &self.catalog;
        let lines: Vec<String> = self
            .challenges()
            .await?
            .iter()
            .filter(|c| c.member(user).is_some())
            .map(|c| member::status_line(cat, c, cat.plan(&c.plan), user, now))
            .collect();
        if lines.is_empty() {
            return Ok(Message::private().para(cat.t("ch.in_none")));
        }
        Ok(Message::private()
            .title(cat.t("ch.status_title"))
            .list(false, lines)
            .para(cat.t("ch.status_hint")))
    }

    /// The challenges the person is in (still running).
    async fn my_challenges(&self, user: &str) -> Result<Vec<Challenge>, StoreError> {
        Ok(self
            .challenges()
            .await?
            .into_iter()
            .filter(|c| c.active() && c.member(user).is_some())
            .collect())
    }

    /// From `/settings`: whether the person's first name shows in each challenge's updates,
    /// with a button per challenge to change it (answered by [`member::set_name`], which
    /// confirms the change).
    async fn names_message(&self, user: &str) -> Result<Message, StoreError> {
        let cat = &self.catalog;
        let mine = self.my_challenges(user).await?;
        if mine.is_empty() {
            return Ok(Message::private().para(cat.t("settings.names_none")));
        }
        let mut lines = Vec::new();
        let mut buttons = Vec::new();
        for c in &mine {
            let group = crate::engine::text::shorten(&member::group_name(cat, c), 40);
            let named = c.member(user).is_some_and(|m| m.name.is_some());
            let (line, label, on) = if named {
                (
                    "settings.names_item_shown",
                    "button.settings_name_hide",
                    "0",
                )
            } else {
                (
                    "settings.names_item_hidden",
                    "button.settings_name_show",
                    "1",
                )
            };
            lines.push(cat.tf(line, &[("group", &group)]));
            buttons.push(Button {
                label: cat.tf(label, &[("group", &group)]),
                token: challenge::token('n', &c.group, &[on.to_string()]),
            });
        }
        Ok(Message::private()
            .title(cat.t("settings.names_title"))
            .list(false, lines)
            .buttons(buttons))
    }

    /// For `/settings`: the line about names in challenge updates, which the engine writes
    /// without seeing challenge records ("not in a challenge"), made true for a person who is
    /// in one. Reads the store only when that line is there.
    pub(super) async fn add_names_line(
        &self,
        user: &str,
        messages: &mut [Message],
    ) -> Result<(), StoreError> {
        let cat = &self.catalog;
        let default = crate::engine::settings::names_line_default(cat);
        let has_line = |m: &Message| {
            m.blocks.iter().any(
                |b| matches!(b, crate::engine::Block::List { items, .. } if items.contains(&default)),
            )
        };
        if !messages.iter().any(has_line) {
            return Ok(());
        }
        let mine = self.my_challenges(user).await?;
        if mine.is_empty() {
            return Ok(());
        }
        let value = mine
            .iter()
            .map(|c| {
                let group = crate::engine::text::shorten(&member::group_name(cat, c), 40);
                let key = if c.member(user).is_some_and(|m| m.name.is_some()) {
                    "settings.names_shown"
                } else {
                    "settings.names_hidden"
                };
                cat.tf(key, &[("group", &group)])
            })
            .collect::<Vec<_>>()
            .join("; ");
        let line = cat.tf("settings.names", &[("value", &value)]);
        for m in messages.iter_mut() {
            for b in &mut m.blocks {
                if let crate::engine::Block::List { items, .. } = b {
                    for item in items.iter_mut().filter(|i| **i == default) {
                        *item = line.clone();
                    }
                }
            }
        }
        Ok(())
    }

    /// For `/mydata`: what challenge records hold about the person.
    /// A linked person's accounts are each shown (a challenge belongs to the account that
    /// joined it).
    pub(super) async fn memberships_message(
        &self,
        accounts: &[String],
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let all = self.challenges().await?;
        let mut out = Vec::new();
        for user in accounts {
            if all.iter().any(|c| c.member(user).is_some()) {
                out.push(
                    self.status_message(user, now)
                        .await?
                        .para(self.catalog.t("ch.mydata_note")),
                );
            }
        }
        Ok(out)
    }

    /// For `/progress`: adds the person's challenge streak (their best current one, when they
    /// are in a challenge) to the progress picture, which the engine draws without seeing
    /// challenge records. Reads the store only when a picture is there.
    pub(super) async fn add_streak(
        &self,
        accounts: &[String],
        messages: &mut [Message],
    ) -> Result<(), StoreError> {
        let has_picture = |m: &Message| m.file.as_ref().is_some_and(|f| f.is_picture());
        if !messages.iter().any(has_picture) {
            return Ok(());
        }
        let best = self
            .challenges()
            .await?
            .iter()
            .flat_map(|c| {
                accounts
                    .iter()
                    .filter_map(|a| c.member(a).map(|m| member::streak(c, m).count))
            })
            .max();
        if let Some(n) = best {
            let line = self
                .catalog
                .tf("progress.count_streak", &[("n", &n.to_string())]);
            for m in messages.iter_mut().filter(|m| has_picture(m)) {
                crate::engine::export::add_streak(m, &line);
            }
        }
        Ok(())
    }

    /// `/forgetme`: removes the person from every challenge, and so from every count. A
    /// challenge record that cannot be read is skipped (the warning names it), so the forget
    /// still goes through everywhere else. Returns how many challenges they left.
    pub(super) async fn leave_every_challenge(&self, user: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for c in self.challenges().await? {
            if c.member(user).is_some() {
                let left = self.with_challenge(&c.group, |c| {
                    if let Some(c) = c {
                        c.members.retain(|m| m.user != user);
                    }
                });
                if self.or_skip(left.await, "forget me")?.is_some() {
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// A group entry of the due index is due: the group's post, or a member's prompt.
    pub(super) async fn challenge_due(
        &self,
        e: &DueEntry,
        now: Timestamp,
        run: &mut DueRun,
    ) -> Result<(), StoreError> {
        let _in_flight = self.gate.read().await;
        let cat = self.catalog.clone();
        let (to, messages) = if e.reminder == challenge::POST {
            let messages = self
                .with_challenge(&e.user, |c| match c {
                    Some(c) if c.next_post == Some(e.at) => match cat.plan(&c.plan) {
                        Some(plan) => challenge::group::post(&cat, c, plan, e.at, now),
                        None => {
                            c.next_post = None;
                            Vec::new()
                        }
                    },
                    _ => Vec::new(),
                })
                .await?;
            (e.user.clone(), messages)
        } else if let Some(user) = e.reminder.strip_prefix("p:") {
            // A member whose own record cannot be read is not prompted (as if unreachable);
            // the challenge moves on for everyone else.
            let (person, readable) = match self.or_skip(self.record_of(user).await, "prompts")? {
                Some(person) => (person, true),
                None => (None, false),
            };
            let messages = self
                .with_challenge(&e.user, |c| {
                    let c = c?;
                    let plan = cat.plan(&c.plan)?;
                    let idx = c.members.iter().position(|m| m.user == user)?;
                    if c.members[idx].next_prompt != Some(e.at) {
                        return None;
                    }
                    let zone = calendar::member_zone(c, &c.members[idx]);
                    let step = calendar::step_on(c, plan, e.at.to_zoned(zone).date());
                    let late = now.duration_since(e.at);
                    if let Some(s) = step
                        && late <= MAX_LATE
                    {
                        c.members[idx].sent.push(s);
                    }
                    // Their own zone from now on, if they have set one since.
                    if let Some(tz) = person.as_ref().and_then(|p| p.timezone.clone()) {
                        c.members[idx].tz = Some(tz);
                    }
                    let m = c.members[idx].clone();
                    c.members[idx].next_prompt = calendar::next_prompt(c, plan, &m, e.at);
                    let reachable = readable && !person.as_ref().is_some_and(|p| p.unreachable);
                    match step {
                        Some(s) if late <= MAX_LATE && reachable => {
                            Some(vec![member::prompt_message(
                                &cat,
                                c,
                                plan,
                                s,
                                late > SAY_LATE,
                            )])
                        }
                        _ => None,
                    }
                })
                .await?
                .unwrap_or_default();
            (user.to_string(), messages)
        } else {
            (e.user.clone(), Vec::new())
        };
        // The entry is handled either way; a stale one must not be found again. What it says
        // is owed through the outbox in the same write.
        let mut w = Write::default();
        w.due_delete.push(e.clone());
        let person = (!challenge::is_group_key(&to)).then_some(to.as_str());
        let event = format!("due:{}:{}:{}", e.user, e.reminder, e.at.as_second());
        if let Some(mut entry) = self.owe(&to, person, &messages, Some(event), now).await? {
            entry.group = Some(e.user.clone());
            w.outbox.push(entry);
            run.queued += 1;
        } else {
            run.silent += 1;
        }
        self.write(w).await
    }

    /// The bot can no longer post in a group: its challenge ends there.
    pub(super) async fn end_unreachable_challenge(&self, group: &str) -> Result<(), StoreError> {
        let now = self.now();
        let ended = self.with_challenge(group, |c| {
            if let Some(c) = c {
                c.ended = Some(challenge::Ended {
                    at: now,
                    early: true,
                });
                c.next_post = None;
                for m in &mut c.members {
                    m.next_prompt = None;
                }
            }
        });
        // A record that cannot be read is left as it is (the warning names it).
        self.or_skip(ended.await, "marking unreachable")?;
        self.commit().await
    }

    /// A member cannot be reached privately: the challenge stops counting on prompts to them.
    pub(super) async fn member_unreachable(
        &self,
        group: &str,
        person: &str,
    ) -> Result<(), StoreError> {
        let marked = self.with_challenge(group, |c| {
            if let Some(m) = c.and_then(|c| c.member_mut(person)) {
                m.unreachable = true;
            }
        });
        self.or_skip(marked.await, "marking unreachable")?;
        self.commit().await
    }
}

fn no_challenge(cat: &crate::content::Catalog) -> Message {
    Message::private().para(cat.t("ch.no_challenge"))
}
