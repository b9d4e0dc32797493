//! A member's side of a challenge: joining, leaving, being named or not, the private prompt
//! for each step, check-ins, streaks and status. Every message here is private.
//!
//! A streak counts the steps checked in for, going back from the latest, and survives one
//! missed step (the grace day): a second miss ends it. The latest step does not count as
//! missed while it is still the member's current one, nor does a step that had begun before
//! a late joiner joined (offered at once, it is theirs to take or leave).

use super::calendar;
use super::{Challenge, Member};
use crate::content::{Catalog, Plan};
use crate::engine::{Button, Message};
use jiff::Timestamp;

/// A member's streak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streak {
    /// Steps checked in for in the current run.
    pub count: u32,
    /// Whether the run has used its one grace step.
    pub grace_used: bool,
}

/// Works out a member's streak from what reached them and what they checked in for.
pub fn streak(c: &Challenge, m: &Member) -> Streak {
    let mut sent = m.sent.clone();
    sent.sort_unstable();
    sent.dedup();
    let open = if c.ended.is_none() {
        sent.last().copied()
    } else {
        None
    };
    let mut s = Streak {
        count: 0,
        grace_used: false,
    };
    for step in sent.iter().rev() {
        if m.checkins.contains(step) {
            s.count += 1;
        } else if Some(*step) == open || Some(*step) == m.joined_step {
            continue;
        } else if !s.grace_used {
            s.grace_used = true;
        } else {
            break;
        }
    }
    s
}

/// The group's name for private messages.
pub fn group_name(cat: &Catalog, c: &Challenge) -> String {
    if c.title.trim().is_empty() {
        cat.t("ch.your_group").to_string()
    } else {
        c.title.clone()
    }
}

/// "Day 2 of 6", "Week 2 of 6".
pub fn step_label(cat: &Catalog, plan: &Plan, step: u32) -> String {
    let unit = if plan.every == 7 { "Week" } else { "Day" };
    cat.tf(
        "ch.step_of",
        &[
            ("unit", unit),
            ("n", &(step + 1).to_string()),
            ("total", &plan.days.len().to_string()),
        ],
    )
}

/// "Lens 2: Care of patients" (with the mode when the step has one prompt).
pub fn theme(cat: &Catalog, plan: &Plan, step: u32) -> String {
    let Some(day) = plan.days.get(step as usize) else {
        return String::new();
    };
    let name = cat
        .lens_by_number(day.lens)
        .map(|l| l.name.as_str())
        .unwrap_or("");
    let mut t = format!("Lens {}: {name}", day.lens);
    if let [(mode, _)] = day.prompts.as_slice() {
        t.push_str(" · ");
        t.push_str(mode.as_str());
    }
    t
}

/// Prompt `k` of a step: lens id, mode, prompt id and the question as asked.
pub fn question(
    cat: &Catalog,
    plan: &Plan,
    step: u32,
    k: usize,
) -> Option<(String, String, String, String)> {
    let day = plan.days.get(step as usize)?;
    let (mode, id) = day.prompts.get(k)?;
    let lens = cat.lens_by_number(day.lens)?;
    let p = cat.prompt(day.lens, id)?;
    Some((
        lens.id.clone(),
        mode.as_str().to_string(),
        id.clone(),
        p.text.clone(),
    ))
}

/// The private prompt for a step: the lens, its prompt(s) with sources, and buttons to reflect
/// on one or to check in without notes.
pub fn prompt_message(cat: &Catalog, c: &Challenge, plan: &Plan, step: u32, late: bool) -> Message {
    let title = if c.title.trim().is_empty() {
        step_label(cat, plan, step)
    } else {
        format!("{} · {}", c.title, step_label(cat, plan, step))
    };
    let mut m = Message::private().title(title).para(theme(cat, plan, step));
    if late {
        m = m.para(cat.t("ch.prompt_late"));
    }
    let mut buttons = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    if let Some(day) = plan.days.get(step as usize) {
        let several = day.prompts.len() > 1;
        for (k, (mode, id)) in day.prompts.iter().enumerate() {
            let Some(p) = cat.prompt(day.lens, id) else {
                continue;
            };
            let text = if several {
                format!("{}: {}", capitalise(mode.as_str()), p.text)
            } else {
                p.text.clone()
            };
            m = m.para(text);
            if !sources.contains(&p.source) {
                sources.push(p.source.clone());
            }
            let label = if several {
                cat.tf("button.ch_reflect_on", &[("mode", mode.as_str())])
            } else {
                cat.t("button.ch_reflect").to_string()
            };
            buttons.push(Button {
                label,
                token: super::token('r', &c.group, &[step.to_string(), k.to_string()]),
            });
        }
    }
    buttons.push(Button {
        label: cat.t("button.ch_done").to_string(),
        token: super::token('d', &c.group, &[step.to_string()]),
    });
    m = m.para(cat.t("ch.prompt_private"));
    for s in sources {
        m = m.source(s);
    }
    m.buttons(buttons)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn when_next(cat: &Catalog, c: &Challenge, m: &Member) -> String {
    match m.next_prompt {
        Some(t) => cat.tf(
            "ch.next_prompt",
            &[(
                "when",
                &crate::engine::when::format_local(t, &calendar::member_zone(c, m)),
            )],
        ),
        None => String::new(),
    }
}

/// Joins a person to a challenge. Their prompts come at the challenge's time in their own
/// zone (`tz`), else the group's. A step already under way for them is offered at once.
pub fn join(
    cat: &Catalog,
    c: &mut Challenge,
    plan: &Plan,
    user: &str,
    tz: Option<String>,
    now: Timestamp,
) -> Vec<Message> {
    let name = group_name(cat, c);
    if !c.active() {
        return vec![Message::private().para(cat.tf("ch.join_ended", &[("group", &name)]))];
    }
    if let Some(m) = c.member(user) {
        let msg = cat.tf("ch.already_member", &[("group", &name)]);
        let next = when_next(cat, c, m);
        let mut out = Message::private().para(msg);
        if !next.is_empty() {
            out = out.para(next);
        }
        return vec![out];
    }
    c.members.push(Member {
        user: user.to_string(),
        name: None,
        tz,
        joined: now,
        sent: Vec::new(),
        checkins: Vec::new(),
        joined_step: None,
        next_prompt: None,
        unreachable: false,
    });
    let mut out = Vec::new();
    // A step already under way for them (today's, or this week's) comes at once rather than
    // at the next one.
    let today = {
        let m = c.member(user).expect("just added");
        let tz = calendar::member_zone(c, m);
        calendar::current_step_dated(c, plan, Some(m), now)
            .filter(|(date, _)| calendar::at_time(c, *date, &tz).is_some_and(|t| t <= now))
            .map(|(_, s)| s)
    };
    if let Some(s) = today
        && let Some(m) = c.member_mut(user)
    {
        m.sent.push(s);
        m.joined_step = Some(s);
    }
    calendar::reschedule(c, plan, now);
    let m = c.member(user).expect("just added").clone();
    let zone_name = m.tz.clone().unwrap_or_else(|| c.timezone.clone());
    let mut intro = Message::private()
        .title(cat.tf("ch.joined_title", &[("plan", &plan.name)]))
        .para(cat.tf(
            "ch.joined",
            &[("group", &name), ("time", &c.time()), ("zone", &zone_name)],
        ));
    // Told what happens: the step under way comes now (below), then the next at its time.
    let next = match (today, m.next_prompt) {
        (Some(s), Some(t)) => cat.tf(
            "ch.joined_now_then",
            &[
                ("step", &step_label(cat, plan, s)),
                (
                    "when",
                    &crate::engine::when::format_local(t, &calendar::member_zone(c, &m)),
                ),
            ],
        ),
        (Some(s), None) => cat.tf("ch.joined_now", &[("step", &step_label(cat, plan, s))]),
        (None, _) => when_next(cat, c, &m),
    };
    if !next.is_empty() {
        intro = intro.para(next);
    } else if c.paused.is_some() {
        intro = intro.para(cat.t("ch.state_paused"));
    }
    let intro = intro.para(cat.t("ch.name_question")).buttons(vec![
        Button {
            label: cat.t("button.ch_name_yes").to_string(),
            token: super::token('n', &c.group, &["1".into()]),
        },
        Button {
            label: cat.t("button.ch_name_no").to_string(),
            token: super::token('n', &c.group, &["0".into()]),
        },
    ]);
    out.push(intro);
    if let Some(s) = today {
        out.push(prompt_message(cat, c, plan, s, false));
    }
    out
}

/// Takes a person out of a challenge: their check-ins leave every count and digest.
pub fn leave(cat: &Catalog, c: &mut Challenge, user: &str) -> Vec<Message> {
    let name = group_name(cat, c);
    let before = c.members.len();
    c.members.retain(|m| m.user != user);
    let key = if c.members.len() < before {
        "ch.left"
    } else {
        "ch.not_member"
    };
    vec![Message::private().para(cat.tf(key, &[("group", &name)]))]
}

/// Names a member in digests (with the first name the platform gives), or stops naming them.
pub fn set_name(
    cat: &Catalog,
    c: &mut Challenge,
    user: &str,
    name: Option<&str>,
    on: bool,
) -> Vec<Message> {
    let group = group_name(cat, c);
    let Some(m) = c.member_mut(user) else {
        return vec![Message::private().para(cat.tf("ch.not_member", &[("group", &group)]))];
    };
    let key = match (on, name) {
        (false, _) => {
            m.name = None;
            "ch.name_off"
        }
        (true, Some(n)) if !n.trim().is_empty() => {
            m.name = Some(first_name(n));
            "ch.name_on"
        }
        (true, _) => {
            m.name = None;
            "ch.name_unknown"
        }
    };
    vec![Message::private().para(cat.t(key))]
}

/// A short, safe form of a platform name: the first word, at most 32 characters.
fn first_name(n: &str) -> String {
    let word = n.split_whitespace().next().unwrap_or("");
    word.chars()
        .filter(|ch| !ch.is_control() && *ch != '@')
        .take(32)
        .collect()
}

/// Today's prompt on request (the group's button, for people whose DMs are closed).
pub fn today(
    cat: &Catalog,
    c: &mut Challenge,
    plan: &Plan,
    user: &str,
    now: Timestamp,
) -> Vec<Message> {
    let group = group_name(cat, c);
    if !c.active() {
        return vec![Message::private().para(cat.tf("ch.join_ended", &[("group", &group)]))];
    }
    let Some(m) = c.member(user) else {
        return vec![
            Message::private()
                .para(cat.tf("ch.not_member_join", &[("group", &group)]))
                .buttons(vec![Button {
                    label: cat.t("button.ch_join").to_string(),
                    token: super::token('j', &c.group, &[]),
                }]),
        ];
    };
    let Some(step) = calendar::current_step(c, plan, Some(m), now) else {
        let next = when_next(cat, c, m);
        let mut out = Message::private().para(cat.t("ch.no_step_yet"));
        if !next.is_empty() {
            out = out.para(next);
        }
        return vec![out];
    };
    if let Some(m) = c.member_mut(user) {
        m.unreachable = false;
        if !m.sent.contains(&step) {
            m.sent.push(step);
        }
    }
    calendar::reschedule(c, plan, now);
    vec![prompt_message(cat, c, plan, step, false)]
}

/// Records a check-in for a step and says what it did for the streak.
pub fn check_in(
    cat: &Catalog,
    c: &mut Challenge,
    plan: &Plan,
    user: &str,
    step: u32,
) -> Vec<Message> {
    let group = group_name(cat, c);
    if !c.active() {
        return vec![Message::private().para(cat.tf("ch.checkin_ended", &[("group", &group)]))];
    }
    let Some(m) = c.member_mut(user) else {
        return vec![
            Message::private().para(cat.tf("ch.checkin_not_member", &[("group", &group)])),
        ];
    };
    if !m.sent.contains(&step) {
        // A step that never reached them (skipped since, or a changed plan).
        return vec![Message::private().para(cat.t("ch.checkin_unknown_step"))];
    }
    let label = step_label(cat, plan, step);
    if m.checkins.contains(&step) {
        return vec![Message::private().para(cat.tf("ch.checkin_again", &[("step", &label)]))];
    }
    m.checkins.push(step);
    let m = m.clone();
    let s = streak(c, &m);
    let mut msg = Message::private().para(cat.tf(
        "ch.checked_in",
        &[
            ("step", &label),
            ("group", &group),
            ("streak", &s.count.to_string()),
        ],
    ));
    if s.grace_used {
        msg = msg.para(cat.t("ch.grace_used"));
    }
    vec![msg]
}

/// One line about a member's part in a challenge, for `/challenge status` and `/mydata`.
pub fn status_line(
    cat: &Catalog,
    c: &Challenge,
    plan: Option<&Plan>,
    user: &str,
    now: Timestamp,
) -> String {
    let group = group_name(cat, c);
    let Some(m) = c.member(user) else {
        return String::new();
    };
    let Some(plan) = plan else {
        return cat.tf("ch.status_unknown_plan", &[("group", &group)]);
    };
    let s = streak(c, m);
    let state = if c.ended.is_some() {
        cat.t("ch.state_ended").to_string()
    } else if c.paused.is_some() {
        cat.t("ch.state_paused").to_string()
    } else {
        match calendar::current_step(c, plan, Some(m), now) {
            Some(step) => format!(
                "{} ({})",
                step_label(cat, plan, step),
                theme(cat, plan, step)
            ),
            None => cat.t("ch.state_not_started").to_string(),
        }
    };
    let mut line = cat.tf(
        "ch.status_line",
        &[
            ("group", &group),
            ("plan", &plan.name),
            ("state", &state),
            ("checkins", &m.checkins.len().to_string()),
            ("sent", &m.sent.len().to_string()),
            ("streak", &s.count.to_string()),
        ],
    );
    if m.name.is_some() {
        line.push(' ');
        line.push_str(cat.t("ch.status_named"));
    }
    if let Some(next) = m.next_prompt {
        line.push(' ');
        line.push_str(&cat.tf(
            "ch.next_prompt",
            &[(
                "when",
                &crate::engine::when::format_local(next, &calendar::member_zone(c, m)),
            )],
        ));
    }
    line
}
