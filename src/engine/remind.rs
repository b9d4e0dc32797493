//! `/timezone`, `/remind` and what happens when a reminder is due.
//!
//! A reminder lives in the person's state (so `/mydata` shows it and `/forgetme` deletes it)
//! with the next time it is due; the session mirrors those times into the store's due index,
//! and the scheduler feeds them back as [`super::Input::Due`]. Due handling is pure like every
//! other step: it delivers (saying so when late), defers out of quiet hours, skips an
//! occurrence more than a day late (and says so next time), and moves the schedule on, so a
//! reminder is never delivered twice.

use super::Ctx;
use super::output::{Button, Message};
use super::state::{At, Reminder, ReminderKind};
use super::when::{self, Quiet, Schedule, WhenError};
use super::zones;
use jiff::{SignedDuration, Timestamp};

/// Later than this, a due reminder is skipped rather than delivered.
pub const MAX_LATE: SignedDuration = SignedDuration::from_hours(24);

/// Later than this, a delivered reminder says it is late.
const SAY_LATE: SignedDuration = SignedDuration::from_mins(5);

fn tz(ctx: &Ctx<'_>) -> jiff::tz::TimeZone {
    zones::of(Some(&tz_name(ctx)))
}

/// The person's time zone's name (theirs, else everyone's default).
pub(super) fn tz_name(ctx: &Ctx<'_>) -> String {
    ctx.st
        .timezone
        .clone()
        .unwrap_or_else(|| ctx.cat.defaults.timezone.clone())
}

fn quiet(ctx: &Ctx<'_>) -> Quiet {
    ctx.st.quiet.unwrap_or(ctx.cat.defaults.quiet)
}

/// `/timezone [name]`.
pub fn timezone(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if arg.is_empty() {
        ctx.st.at = At::Timezone;
        let now = when::format_local(ctx.now, &tz(ctx));
        let msg = ctx.tf(
            "timezone_current",
            &[("zone", &tz_name(ctx)), ("now", &now)],
        );
        return ctx.say(Message::private().para(msg).para(ctx.t("timezone_ask")));
    }
    match zones::find(arg) {
        Ok(name) => {
            ctx.st.timezone = Some(name.clone());
            ctx.st.at = At::Idle;
            // Reminders keep their local times in the new zone.
            let now = ctx.now;
            let zone = tz(ctx);
            for r in &mut ctx.st.reminders {
                if !matches!(r.schedule, Schedule::Once { .. }) {
                    r.next = when::next_after(&r.schedule, now, &zone);
                }
            }
            let local = when::format_local(now, &zone);
            let msg = ctx.tf("timezone_set", &[("zone", &name), ("now", &local)]);
            ctx.say_text(msg);
        }
        Err(suggestions) => {
            ctx.st.at = At::Timezone;
            let msg = ctx.tf(
                "timezone_unknown",
                &[
                    ("input", &super::text::shorten(arg, 40)),
                    ("suggestions", &suggestions.join(", ")),
                ],
            );
            ctx.say_text(msg);
        }
    }
}

/// `/remind [list | cancel N | quiet HH:MM-HH:MM | prep|lens|action WHEN | WHEN]`.
pub fn remind(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = without_lead_in(arg.trim());
    if let Some((meeting, phrase)) = before_meeting(ctx, arg) {
        return ask_or_create(ctx, ReminderKind::Prep { meeting }, &phrase);
    }
    let (first, rest) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
    match first.to_lowercase().as_str() {
        "" => menu(ctx),
        "list" | "mine" => list(ctx),
        "cancel" | "delete" | "stop" => cancel_typed(ctx, rest),
        "quiet" => set_quiet(ctx, rest),
        "prep" | "meeting" => {
            // "/remind prep [meeting] every Tuesday 09:25": a meeting name may lead the phrase.
            let (meeting, phrase) = split_meeting(ctx, rest);
            ask_or_create(ctx, ReminderKind::Prep { meeting }, &phrase)
        }
        "lens" | "continue" => ask_or_create(ctx, ReminderKind::Lens, rest),
        "action" | "checkin" | "check-in" => match open_actions(ctx).last() {
            Some(id) => {
                let kind = ReminderKind::Action { action: id.clone() };
                ask_or_create(ctx, kind, rest)
            }
            None => no_actions(ctx),
        },
        _ => {
            // A time with no kind: ask what it is for, keeping the phrase; words that are no
            // time at all are said to be not understood.
            match when::parse(arg, ctx.now, &tz(ctx), quiet(ctx)) {
                Err(WhenError::Unclear) => not_understood(ctx, arg),
                _ => kind_menu(ctx, Some(arg.to_string())),
            }
        }
    }
}

/// "remind me to …", "me …": the words people put before the time, dropped.
fn without_lead_in(arg: &str) -> &str {
    let mut rest = arg;
    loop {
        let (w, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if matches!(w.to_lowercase().as_str(), "remind" | "me" | "to") && !w.is_empty() {
            rest = tail.trim_start();
        } else {
            return rest;
        }
    }
}

/// "before my team meeting every Wednesday at 9": a meeting named in the phrase makes it a
/// meeting-prompt reminder. Returns the meeting (when one of the content's meetings is
/// named) and the phrase without those words; None when no meeting is mentioned.
fn before_meeting(ctx: &Ctx<'_>, arg: &str) -> Option<(Option<String>, String)> {
    let words: Vec<String> = arg
        .split_whitespace()
        .map(|w| w.trim_matches([',', '.', ';']).to_lowercase())
        .collect();
    let mentions = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "before" | "meeting" | "meetings" | "huddle" | "one-to-one"
        )
    });
    if !mentions || matches!(words.first().map(String::as_str), Some("prep" | "meeting")) {
        return None;
    }
    let meeting = ctx.cat.meetings.iter().find(|m| {
        words
            .iter()
            .any(|w| *w == m.id || m.keywords.iter().any(|k| k == w))
    });
    let dropped = |w: &str| {
        matches!(
            w,
            "before" | "my" | "our" | "the" | "a" | "for" | "meeting" | "meetings" | "with"
        ) || meeting.is_some_and(|m| w == m.id || m.keywords.iter().any(|k| k == w))
    };
    let phrase: Vec<&str> = arg
        .split_whitespace()
        .zip(&words)
        .filter(|(_, w)| !dropped(w))
        .map(|(orig, _)| orig)
        .collect();
    Some((meeting.map(|m| m.id.clone()), phrase.join(" ")))
}

/// Words given to `/remind` that are neither a kind nor a time: said so, with two examples.
fn not_understood(ctx: &mut Ctx<'_>, arg: &str) {
    ctx.st.at = At::Idle;
    let shown = super::text::shorten(arg, 60);
    let m = Message::private()
        .para(ctx.tf("remind_not_understood", &[("input", &shown)]))
        .buttons(vec![
            ctx.button("button.new_reminder", "remind:menu"),
            ctx.button("button.my_reminders", "remind:list"),
        ]);
    ctx.say(m);
}

fn split_meeting(ctx: &Ctx<'_>, rest: &str) -> (Option<String>, String) {
    let (w, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match ctx
        .cat
        .meetings
        .iter()
        .find(|m| m.id == w.to_lowercase() || m.keywords.iter().any(|k| *k == w.to_lowercase()))
    {
        Some(m) if !w.is_empty() => (Some(m.id.clone()), tail.to_string()),
        _ => (None, rest.to_string()),
    }
}

fn menu(ctx: &mut Ctx<'_>) {
    kind_menu(ctx, None)
}

/// Asks what a reminder is for; `when` is a phrase already given, kept for the answer (and
/// named in the question when it is a time, so the person sees it was understood).
pub fn kind_menu(ctx: &mut Ctx<'_>, when: Option<String>) {
    let zone = tz(ctx);
    let parsed = when
        .as_deref()
        .map(|w| when::parse(w, ctx.now, &zone, quiet(ctx)));
    let understood = match &parsed {
        Some(Ok(p)) => Some(when::describe(&p.schedule, &zone)),
        _ => None,
    };
    // Days without a time ("fortnightly on Monday"): named, so the person sees they were
    // kept; the time is asked next.
    let days = match (&parsed, when.as_deref()) {
        (Some(Err(WhenError::NoTime)), Some(w)) => Some(days_as_typed(w)).filter(|d| !d.is_empty()),
        _ => None,
    };
    ctx.st.at = At::RemindKind { when };
    let vars = [("quiet", quiet(ctx).describe()), ("zone", tz_name(ctx))];
    let ask = match (understood, days) {
        (Some(w), _) => ctx.tf(
            "remind_ask_kind_when",
            &[("when", &w), ("zone", &vars[1].1)],
        ),
        (None, Some(d)) => ctx.tf("remind_ask_kind_days", &[("days", &d)]),
        (None, None) => ctx.tf(
            "remind_ask_kind",
            &[("quiet", &vars[0].1), ("zone", &vars[1].1)],
        ),
    };
    let m = Message::private()
        .title(ctx.t("remind_title"))
        .para(ask)
        .buttons(vec![
            ctx.button("button.remind_prep", "remind:prep"),
            ctx.button("button.remind_lens", "remind:lens"),
            ctx.button("button.remind_action", "remind:action"),
            ctx.button("button.my_reminders", "remind:list"),
        ]);
    ctx.say(m);
}

/// The day words of a phrase without a time, as the person typed them ("fortnightly on
/// Monday"), shortened for showing back.
fn days_as_typed(phrase: &str) -> String {
    let kept: Vec<&str> = phrase
        .split_whitespace()
        .filter(|w| !when::without_time(w).is_empty())
        .collect();
    super::text::shorten(&kept.join(" "), 60)
}

/// A kind button from the reminder menu.
pub fn choose_kind(ctx: &mut Ctx<'_>, kind: &str) {
    let when = match &ctx.st.at {
        At::RemindKind { when } => when.clone(),
        _ => None,
    };
    let kind = match kind {
        "prep" => ReminderKind::Prep { meeting: None },
        "lens" => ReminderKind::Lens,
        "action" => {
            let open = open_actions(ctx);
            match open.len() {
                0 => return no_actions(ctx),
                1 => ReminderKind::Action {
                    action: open[0].clone(),
                },
                _ => return action_menu(ctx),
            }
        }
        "list" => return list(ctx),
        _ => return menu(ctx),
    };
    ask_or_create(ctx, kind, when.as_deref().unwrap_or(""))
}

fn open_actions(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.st
        .actions
        .iter()
        .filter(|a| a.done.is_none() && a.dropped.is_none() && !a.id.is_empty())
        .map(|a| a.id.clone())
        .collect()
}

fn no_actions(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Idle;
    let msg = ctx.t("remind_no_actions");
    ctx.say_text(msg);
}

pub fn action_menu(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::RemindAction;
    let open: Vec<_> = ctx
        .st
        .actions
        .iter()
        .filter(|a| a.done.is_none() && a.dropped.is_none() && !a.id.is_empty())
        .cloned()
        .collect();
    let items = open.iter().map(|a| a.text.clone()).collect();
    let buttons = open
        .iter()
        .enumerate()
        .map(|(i, a)| Button {
            label: ctx.tf("button.action_n", &[("k", &(i + 1).to_string())]),
            token: format!("remindact:{}", a.id),
        })
        .collect();
    let m = Message::private()
        .para(ctx.t("remind_which_action"))
        .list(true, items)
        .buttons(buttons);
    ctx.say(m);
}

/// An action chosen for a check-in.
pub fn choose_action(ctx: &mut Ctx<'_>, id: &str) {
    if !ctx.st.actions.iter().any(|a| a.id == id) {
        return menu(ctx);
    }
    ask_or_create(
        ctx,
        ReminderKind::Action {
            action: id.to_string(),
        },
        "",
    )
}

/// "Remind me before this meeting" from a `/prep` prompt.
pub fn for_meeting(ctx: &mut Ctx<'_>, meeting: &str) {
    let meeting = ctx
        .cat
        .meetings
        .iter()
        .find(|m| m.id == meeting)
        .map(|m| m.id.clone());
    ask_or_create(ctx, ReminderKind::Prep { meeting }, "")
}

pub fn ask_or_create(ctx: &mut Ctx<'_>, kind: ReminderKind, phrase: &str) {
    if phrase.trim().is_empty() {
        ctx.st.at = At::RemindWhen {
            reminder: kind.clone(),
            days: None,
        };
        let key = match kind {
            ReminderKind::Action { .. } => "remind_when_action",
            _ => "remind_when",
        };
        let msg = ctx.t(key);
        return ctx.say_text(msg);
    }
    create(ctx, kind, phrase)
}

/// Free text while waiting for a time.
pub fn when_typed(ctx: &mut Ctx<'_>, phrase: &str) {
    match ctx.st.at.clone() {
        At::RemindWhen { reminder, days } => {
            // A bare time after "fortnightly on Monday" (asked "What time?") completes it.
            let bare = phrase.trim();
            let bare = bare.strip_prefix("at ").unwrap_or(bare);
            let is_time = matches!(
                when::parse_time(bare),
                Ok(_) | Err(WhenError::AmbiguousHour(_))
            );
            match days {
                Some(d) if is_time => create(ctx, reminder, &format!("{d} {bare}")),
                _ => create(ctx, reminder, phrase),
            }
        }
        At::RemindKind { .. } => remind(ctx, phrase),
        _ => menu(ctx),
    }
}

fn create(ctx: &mut Ctx<'_>, kind: ReminderKind, phrase: &str) {
    let zone = tz(ctx);
    let q = quiet(ctx);
    let shown = super::text::shorten(phrase.trim(), 60);
    let parsed = match when::parse(phrase, ctx.now, &zone, q) {
        Ok(p) => p,
        Err(e) => {
            // Stay where we are, so the next message is another try; days given without a
            // (clear) time are kept for it.
            let days = match e {
                WhenError::NoTime | WhenError::AmbiguousHour(_) => {
                    Some(when::without_time(phrase)).filter(|d| !d.is_empty())
                }
                _ => None,
            };
            ctx.st.at = At::RemindWhen {
                reminder: kind,
                days: days.clone(),
            };
            let msg = match e {
                WhenError::Unclear => ctx.tf("when_unclear", &[("input", &shown)]),
                WhenError::AmbiguousHour(h) => ctx.tf(
                    "when_ambiguous",
                    &[
                        ("am", &format!("{h:02}:00")),
                        ("pm", &format!("{:02}:00", h + 12)),
                    ],
                ),
                WhenError::NoTime => match &days {
                    Some(_) => ctx.tf("when_no_time_days", &[("days", &days_as_typed(phrase))]),
                    None => ctx.t("when_no_time"),
                },
                WhenError::InQuiet(t) => {
                    ctx.tf("when_quiet", &[("time", &t), ("quiet", &q.describe())])
                }
                WhenError::Past => ctx.t("when_past"),
            };
            return ctx.say_text(msg);
        }
    };
    let next = match &parsed.schedule {
        Schedule::Once { at } => Some(*at),
        s => when::next_after(s, ctx.now, &zone),
    };
    if ctx
        .st
        .reminders
        .iter()
        .any(|r| r.next.is_some() && r.kind == kind && r.schedule == parsed.schedule)
    {
        // The very same reminder already: one is enough, and nothing changes.
        ctx.st.at = At::Idle;
        let what = describe_kind(ctx, &kind);
        let msg = ctx.tf(
            "remind_duplicate",
            &[
                ("what", &what),
                ("when", &when::describe(&parsed.schedule, &zone)),
            ],
        );
        let m = Message::private()
            .para(msg)
            .buttons(vec![ctx.button("button.my_reminders", "remind:list")]);
        return ctx.say(m);
    }
    ctx.st.reminder_seq += 1;
    let id = format!("r{}", ctx.st.reminder_seq);
    let what = describe_kind(ctx, &kind);
    ctx.st.reminders.push(Reminder {
        id,
        kind,
        schedule: parsed.schedule.clone(),
        next,
        deferred_from: None,
        created: ctx.now,
    });
    ctx.st.at = At::Idle;
    let next_s = next
        .map(|n| when::format_local(n, &zone))
        .unwrap_or_default();
    let mut m = Message::private().para(ctx.tf(
        "remind_created",
        &[
            ("what", &what),
            ("when", &when::describe(&parsed.schedule, &zone)),
            ("zone", &tz_name(ctx)),
            ("next", &next_s),
        ],
    ));
    if parsed.moved_out_of_quiet {
        m = m.para(ctx.tf("remind_moved_quiet", &[("quiet", &q.describe())]));
    }
    let m = m.buttons(vec![ctx.button("button.my_reminders", "remind:list")]);
    ctx.say(m);
}

fn describe_kind(ctx: &Ctx<'_>, kind: &ReminderKind) -> String {
    match kind {
        ReminderKind::Prep { meeting: Some(m) } => {
            let name = ctx
                .cat
                .meetings
                .iter()
                .find(|x| x.id == *m)
                .map(|x| super::text::mid_sentence(&x.name))
                .unwrap_or_default();
            ctx.tf("kind_prep_for", &[("meeting", &name)])
        }
        ReminderKind::Prep { meeting: None } => ctx.t("kind_prep"),
        ReminderKind::Lens => ctx.t("kind_lens"),
        ReminderKind::Action { action } => {
            let text = ctx
                .st
                .actions
                .iter()
                .find(|a| a.id == *action)
                .map(|a| a.text.clone())
                .unwrap_or_default();
            ctx.tf(
                "kind_action",
                &[("action", &super::text::shorten(&text, 80))],
            )
        }
    }
}

/// `/remind list`: every reminder with a cancel button.
pub fn list(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Idle;
    let zone = tz(ctx);
    let active: Vec<Reminder> = ctx
        .st
        .reminders
        .iter()
        .filter(|r| r.next.is_some())
        .cloned()
        .collect();
    if active.is_empty() {
        let msg = ctx.t("remind_none");
        return ctx.say(
            Message::private()
                .para(msg)
                .buttons(vec![ctx.button("button.new_reminder", "remind:menu")]),
        );
    }
    let items = active
        .iter()
        .map(|r| {
            let next = r
                .next
                .map(|n| when::format_local(n, &zone))
                .unwrap_or_default();
            ctx.tf(
                "remind_item",
                &[
                    ("what", &describe_kind(ctx, &r.kind)),
                    ("when", &when::describe(&r.schedule, &zone)),
                    ("next", &next),
                ],
            )
        })
        .collect();
    let mut buttons: Vec<Button> = active
        .iter()
        .enumerate()
        .map(|(i, r)| Button {
            label: ctx.tf("button.cancel_n", &[("k", &(i + 1).to_string())]),
            token: format!("cancel:{}", r.id),
        })
        .collect();
    buttons.push(ctx.button("button.new_reminder", "remind:menu"));
    let m = Message::private()
        .title(ctx.tf(
            "remind_list_title",
            &[("zone", &tz_name(ctx)), ("quiet", &quiet(ctx).describe())],
        ))
        .list(true, items)
        .buttons(buttons);
    ctx.say(m);
}

fn cancel_typed(ctx: &mut Ctx<'_>, n: &str) {
    let active: Vec<String> = ctx
        .st
        .reminders
        .iter()
        .filter(|r| r.next.is_some())
        .map(|r| r.id.clone())
        .collect();
    match n
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|k| active.get(k.checked_sub(1)?))
    {
        Some(id) => cancel(ctx, &id.clone()),
        None => {
            let msg = ctx.t("remind_cancel_which");
            ctx.say_text(msg);
            list(ctx)
        }
    }
}

/// Cancels a reminder by id.
pub fn cancel(ctx: &mut Ctx<'_>, id: &str) {
    let before = ctx.st.reminders.len();
    ctx.st.reminders.retain(|r| r.id != id);
    let msg = if ctx.st.reminders.len() < before {
        ctx.t("remind_cancelled")
    } else {
        ctx.t("remind_already_gone")
    };
    ctx.say_text(msg);
    list(ctx);
}

fn set_quiet(ctx: &mut Ctx<'_>, arg: &str) {
    match Quiet::parse(arg) {
        Some(q) => {
            ctx.st.quiet = Some(q);
            let msg = ctx.tf("quiet_set", &[("quiet", &q.describe())]);
            ctx.say_text(msg);
        }
        None => {
            let msg = ctx.tf("quiet_help", &[("quiet", &quiet(ctx).describe())]);
            ctx.say_text(msg);
        }
    }
}

/// A reminder is due. Pure like every step: delivers, defers, or skips, and moves the schedule
/// on. Produces no message when there is nothing to say now (the index entry was stale, the
/// person cannot be reached, quiet hours, or it was more than a day late).
pub fn due(ctx: &mut Ctx<'_>, id: &str, due: Timestamp) {
    let Some(pos) = ctx
        .st
        .reminders
        .iter()
        .position(|r| r.id == id && r.next == Some(due))
    else {
        return; // Cancelled, changed, or already handled: nothing to do.
    };
    let zone = tz(ctx);
    let q = quiet(ctx);
    let r = ctx.st.reminders[pos].clone();
    let first_due = r.deferred_from.unwrap_or(due);
    let late = ctx.now.duration_since(first_due);
    let advance = |ctx: &mut Ctx<'_>| {
        let now = ctx.now;
        let reminder = &mut ctx.st.reminders[pos];
        reminder.deferred_from = None;
        reminder.next = match &reminder.schedule {
            Schedule::Once { .. } => None,
            s => when::next_after(s, now.max(due), &zone),
        };
        ctx.st.reminders.retain(|r| r.next.is_some());
    };
    if late > MAX_LATE {
        let what = describe_kind(ctx, &r.kind);
        let note = ctx.tf(
            "reminder_skipped",
            &[
                ("what", &what),
                ("due", &when::format_local(first_due, &zone)),
            ],
        );
        ctx.st.notices.push(note);
        return advance(ctx);
    }
    if ctx.st.unreachable {
        return advance(ctx);
    }
    if when::is_quiet(ctx.now, &zone, q) {
        let reminder = &mut ctx.st.reminders[pos];
        reminder.deferred_from = Some(first_due);
        reminder.next = Some(when::after_quiet(ctx.now, &zone, q));
        return;
    }
    let mut m = Message::private().title(ctx.t("reminder_title"));
    for n in std::mem::take(&mut ctx.st.notices) {
        m = m.para(n);
    }
    if late > SAY_LATE {
        m = m.para(ctx.tf(
            "reminder_late",
            &[("due", &when::format_local(first_due, &zone))],
        ));
    }
    advance(ctx);
    match r.kind {
        ReminderKind::Prep { meeting } => {
            ctx.say(m);
            match meeting {
                Some(id) => super::prep::prompt_from_reminder(ctx, &id),
                None => super::prep::menu(ctx),
            }
        }
        ReminderKind::Lens => {
            let m = m.para(ctx.t("reminder_lens")).buttons(vec![
                ctx.button("button.continue", "continue"),
                ctx.button("button.progress", "progress"),
            ]);
            ctx.say(m);
        }
        ReminderKind::Action { action } => {
            let Some(a) = ctx.st.actions.iter().find(|a| a.id == action).cloned() else {
                return; // The action has gone (forgotten or edited away): nothing to ask.
            };
            if a.done.is_some() || a.dropped.is_some() {
                return;
            }
            let m = m
                .para(ctx.tf("reminder_action", &[("action", &a.text)]))
                .buttons(vec![
                    Button {
                        label: ctx.t("button.checkin_yes"),
                        token: format!("checkin:{action}:yes"),
                    },
                    Button {
                        label: ctx.t("button.checkin_not_yet"),
                        token: format!("checkin:{action}:notyet"),
                    },
                    Button {
                        label: ctx.t("button.checkin_drop"),
                        token: format!("checkin:{action}:drop"),
                    },
                ]);
            ctx.say(m);
        }
    }
}

/// The answer to "did you do it?".
pub fn checkin(ctx: &mut Ctx<'_>, arg: &str) {
    let Some((id, answer)) = arg.rsplit_once(':') else {
        return super::where_now(ctx);
    };
    let Some(i) = ctx.st.actions.iter().position(|a| a.id == id) else {
        let msg = ctx.t("content_changed");
        return ctx.say_text(msg);
    };
    let now = ctx.now;
    match answer {
        "yes" => {
            ctx.st.actions[i].done = Some(now);
            let msg = ctx.t("checkin_done");
            ctx.say_text(msg);
        }
        "drop" => {
            ctx.st.actions[i].dropped = Some(now);
            let msg = ctx.t("checkin_dropped");
            ctx.say_text(msg);
        }
        _ => {
            // Ask again in three days, out of quiet hours.
            let zone = tz(ctx);
            let at = now
                .to_zoned(zone.clone())
                .checked_add(jiff::ToSpan::days(3))
                .map(|z| z.timestamp())
                .unwrap_or(now);
            let at = when::after_quiet(at, &zone, quiet(ctx));
            ctx.st.reminder_seq += 1;
            ctx.st.reminders.push(Reminder {
                id: format!("r{}", ctx.st.reminder_seq),
                kind: ReminderKind::Action {
                    action: id.to_string(),
                },
                schedule: Schedule::Once { at },
                next: Some(at),
                deferred_from: None,
                created: now,
            });
            let msg = ctx.tf("checkin_later", &[("when", &when::format_local(at, &zone))]);
            ctx.say_text(msg);
        }
    }
}
