//! The group's side of a challenge: the facilitator's commands (start, pause, resume, skip,
//! end, status, takeover), the daily digest, the mid-point nudge and the end summary.
//!
//! Everything here may be posted in a group, so it says only counts, plan content, and the
//! first names and streaks of members who chose to be named. It never sees reflection text
//! (the challenge record holds none). One post per step keeps well inside Telegram's 20
//! messages a minute per group, however many members there are.

use super::calendar;
use super::member::{group_name, step_label, streak, theme};
use super::{Challenge, Ended, Paused, Segment};
use crate::content::{Catalog, Plan};
use crate::engine::{Button, Message, when, zones};
use jiff::Timestamp;
use jiff::civil::Date;

/// At most this many names in a digest's streak line.
pub const MAX_NAMES: usize = 15;

/// The furthest ahead a challenge can be scheduled to start.
pub const MAX_START_DAYS: i32 = 90;

/// The daily time when none is given.
pub const DEFAULT_TIME: (u8, u8) = (8, 0);

/// Who ran a group command.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Their user key.
    pub user: String,
    /// Their display name (already visible in the group, since they wrote there).
    pub name: String,
    /// Whether the platform says they may facilitate (a Telegram group admin; on Discord
    /// Manage Server, Manage Channels or the configured role).
    pub admin: bool,
}

/// The group a command came from.
#[derive(Clone, Debug)]
pub struct Group {
    /// The group's key.
    pub key: String,
    /// Its title, when the platform gave one.
    pub title: String,
}

fn public(cat: &Catalog, key: &str, vars: &[(&str, &str)]) -> Vec<Message> {
    vec![Message::public().para(cat.tf(key, vars))]
}

fn join_button(cat: &Catalog, group: &str) -> Button {
    Button {
        label: cat.t("button.ch_join").to_string(),
        token: super::token('j', group, &[]),
    }
}

fn today_button(cat: &Catalog, group: &str) -> Button {
    Button {
        label: cat.t("button.ch_today").to_string(),
        token: super::token('t', group, &[]),
    }
}

fn date_text(d: Date) -> String {
    d.strftime("%a %-d %b").to_string()
}

/// Handles `/challenge …` typed in a group. Returns the record to save (if any) and what to
/// post in the group.
pub fn command(
    cat: &Catalog,
    existing: Option<Challenge>,
    group: &Group,
    actor: &Actor,
    args: &str,
    now: Timestamp,
) -> (Option<Challenge>, Vec<Message>) {
    let mut words = args.split_whitespace();
    let sub = words.next().unwrap_or("").to_lowercase();
    let rest: Vec<&str> = words.collect();
    let facilitating = matches!(
        sub.as_str(),
        "start" | "pause" | "resume" | "skip" | "end" | "stop" | "takeover"
    );
    if facilitating && !actor.admin {
        return (existing, public(cat, "ch.admins_only", &[("verb", &sub)]));
    }
    let active = existing.as_ref().filter(|c| c.active()).cloned();
    match sub.as_str() {
        "" | "help" => (existing, vec![help(cat)]),
        "plans" => (existing, vec![plans(cat)]),
        "status" => {
            let m = match &existing {
                Some(c) => status(cat, c, now),
                None => Message::public().para(cat.t("ch.none_here")),
            };
            (existing, vec![m])
        }
        "start" => match active {
            Some(c) => {
                let plan = cat
                    .plan(&c.plan)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                (
                    existing,
                    public(cat, "ch.already_running", &[("plan", &plan)]),
                )
            }
            None => match start(cat, group, actor, &rest, now) {
                Ok((c, m)) => (Some(c), m),
                Err(m) => (existing, vec![m]),
            },
        },
        _ if !facilitating => {
            // A member word (join, leave …) typed in the group: point at the private way in.
            let m = match &active {
                Some(c) => Message::public()
                    .para(cat.t("ch.member_words_in_group"))
                    .buttons(vec![join_button(cat, &c.group)]),
                None => Message::public().para(cat.t("ch.none_here")),
            };
            (existing, vec![m])
        }
        _ => {
            let Some(mut c) = active else {
                return (
                    existing,
                    vec![Message::public().para(cat.t("ch.none_here"))],
                );
            };
            let Some(plan) = cat.plan(&c.plan).cloned() else {
                return (existing, public(cat, "ch.plan_gone", &[("plan", &c.plan)]));
            };
            let mut out = Vec::new();
            let handover = c.facilitator != actor.user;
            c.facilitator = actor.user.clone();
            match sub.as_str() {
                "pause" => out.push(pause(cat, &mut c, &plan, now)),
                "resume" => out.push(resume(cat, &mut c, &plan, now)),
                "skip" => out.push(skip(cat, &mut c, &plan, now)),
                "takeover" => {}
                _ => {
                    let step = calendar::current_step(&c, &plan, None, now);
                    c.ended = Some(Ended {
                        at: now,
                        early: true,
                    });
                    out.extend(summary(cat, &c, &plan, step));
                }
            }
            if handover || sub == "takeover" {
                let msg = cat.tf("ch.facilitator_now", &[("name", &actor.name)]);
                match out.first_mut() {
                    Some(m) => m.blocks.push(crate::engine::Block::Para(msg)),
                    None => out.push(Message::public().para(msg)),
                }
            }
            calendar::reschedule(&mut c, &plan, now);
            (Some(c), out)
        }
    }
}

/// What the facilitator and members can type.
pub fn help(cat: &Catalog) -> Message {
    Message::public()
        .title(cat.t("ch.help_title"))
        .para(cat.t("ch.help"))
        .list(false, plan_lines(cat))
}

fn plan_lines(cat: &Catalog) -> Vec<String> {
    cat.plans
        .iter()
        .map(|p| format!("{} ({}): {}", p.name, p.id, p.summary))
        .collect()
}

/// The plans, with their ids.
pub fn plans(cat: &Catalog) -> Message {
    let mut m = Message::public()
        .title(cat.t("ch.plans_title"))
        .list(false, plan_lines(cat));
    if let Some(p) = cat.plans.first() {
        m = m.source(p.source.clone());
    }
    m
}

/// Why a start command could not be understood.
fn start_error(cat: &Catalog, key: &str, vars: &[(&str, &str)]) -> Message {
    Message::public()
        .para(cat.tf(key, vars))
        .para(cat.t("ch.start_usage"))
}

fn start(
    cat: &Catalog,
    group: &Group,
    actor: &Actor,
    words: &[&str],
    now: Timestamp,
) -> Result<(Challenge, Vec<Message>), Message> {
    // The plan: the longest run of leading words that names one ("six days", "18").
    let mut plan = None;
    let mut used = 0;
    for n in (1..=words.len().min(3)).rev() {
        if let Some(p) = cat.plan(&words[..n].join(" ")) {
            plan = Some(p);
            used = n;
            break;
        }
    }
    let Some(plan) = plan else {
        let given = words.first().copied().unwrap_or("");
        let key = if given.is_empty() {
            "ch.start_which_plan"
        } else {
            "ch.start_unknown_plan"
        };
        return Err(Message::public()
            .para(cat.tf(key, &[("plan", &crate::engine::text::shorten(given, 30))]))
            .list(false, plan_lines(cat))
            .para(cat.t("ch.start_usage")));
    };
    let mut zone = cat.defaults.timezone.clone();
    let mut time = None;
    let mut date_word = None;
    for w in &words[used..] {
        let lower = w.to_lowercase();
        if let Ok(hm) = when::parse_time(&lower) {
            time = Some(hm);
        } else if date_word.is_none() && parse_date(&lower, jiff::civil::date(2000, 1, 1)).is_some()
        {
            date_word = Some(lower);
        } else if let Ok(z) = zones::find(w) {
            zone = z;
        } else {
            return Err(start_error(
                cat,
                "ch.start_not_understood",
                &[("word", &crate::engine::text::shorten(w, 30))],
            ));
        }
    }
    let tz = zones::of(Some(&zone));
    let (hour, minute) = time.unwrap_or(DEFAULT_TIME);
    let today = now.to_zoned(tz.clone()).date();
    let start_date = match &date_word {
        Some(w) => parse_date(w, today).unwrap_or(today),
        None => {
            let at_today = when::local(today, hour, minute, &tz).ok();
            if at_today.is_some_and(|t| t > now) {
                today
            } else {
                today.tomorrow().unwrap_or(today)
            }
        }
    };
    let first = when::local(start_date, hour, minute, &tz).ok();
    if first.is_none_or(|t| t <= now) {
        return Err(start_error(cat, "ch.start_past", &[]));
    }
    if (start_date - today).get_days() > MAX_START_DAYS {
        return Err(start_error(
            cat,
            "ch.start_too_far",
            &[("days", &MAX_START_DAYS.to_string())],
        ));
    }
    let mut c = Challenge {
        v: super::CHALLENGE_VERSION,
        group: group.key.clone(),
        title: group.title.clone(),
        plan: plan.id.clone(),
        timezone: zone.clone(),
        hour,
        minute,
        start: start_date,
        segments: vec![Segment {
            from: start_date,
            step: 0,
        }],
        paused: None,
        skipped: Vec::new(),
        facilitator: actor.user.clone(),
        started_at: now,
        members: Vec::new(),
        posted: Vec::new(),
        last_post: None,
        next_post: None,
        midpoint_said: false,
        ended: None,
        community: None,
    };
    calendar::reschedule(&mut c, plan, now);
    let unit = if plan.every == 7 { "week" } else { "day" };
    let m = Message::public()
        .title(cat.tf("ch.announce_title", &[("plan", &plan.name)]))
        .para(plan.summary.clone())
        .para(cat.tf(
            "ch.announce_when",
            &[
                ("date", &date_text(start_date)),
                ("time", &c.time()),
                ("zone", &zone),
                ("unit", unit),
                ("length", &length(cat, plan, plan.days.len())),
            ],
        ))
        .para(cat.t("ch.announce_privacy"))
        .source(plan.source.clone())
        .buttons(vec![join_button(cat, &c.group)]);
    Ok((c, vec![m]))
}

/// "today", "tomorrow", a weekday (the next one, today included), or `YYYY-MM-DD`.
pub fn parse_date(w: &str, today: Date) -> Option<Date> {
    match w {
        "today" => Some(today),
        "tomorrow" => today.tomorrow().ok(),
        _ => {
            if let Some(d) = when::day_of(w) {
                let mut date = today;
                for _ in 0..7 {
                    if when::weekday_index(date.weekday()) == d {
                        return Some(date);
                    }
                    date = date.tomorrow().ok()?;
                }
                return None;
            }
            w.parse::<Date>().ok()
        }
    }
}

fn tomorrow(c: &Challenge, now: Timestamp) -> Date {
    let today = calendar::group_date(c, now);
    today.tomorrow().unwrap_or(today)
}

fn pause(cat: &Catalog, c: &mut Challenge, plan: &Plan, now: Timestamp) -> Message {
    if c.paused.is_some() {
        return Message::public().para(cat.t("ch.already_paused"));
    }
    let from = tomorrow(c, now).max(c.start);
    let next = calendar::next_step_from(c, plan, from);
    c.paused = Some(Paused { from, next });
    Message::public().para(cat.tf("ch.paused", &[("date", &date_text(from))]))
}

fn resume(cat: &Catalog, c: &mut Challenge, plan: &Plan, now: Timestamp) -> Message {
    let Some(p) = c.paused.take() else {
        return Message::public().para(cat.t("ch.not_paused"));
    };
    let from = tomorrow(c, now).max(p.from);
    c.segments.push(Segment { from, step: p.next });
    if p.next as usize >= plan.days.len() {
        return Message::public().para(cat.tf("ch.resumed_at_end", &[("date", &date_text(from))]));
    }
    Message::public().para(cat.tf(
        "ch.resumed",
        &[
            ("step", &step_label(cat, plan, p.next)),
            ("theme", &theme(cat, plan, p.next)),
            ("date", &date_text(from)),
            ("time", &c.time()),
        ],
    ))
}

fn skip(cat: &Catalog, c: &mut Challenge, plan: &Plan, now: Timestamp) -> Message {
    if let Some(p) = &mut c.paused {
        if p.next as usize >= plan.days.len() {
            return Message::public().para(cat.t("ch.nothing_to_skip"));
        }
        let skipped = p.next;
        p.next += 1;
        c.skipped.push(skipped);
        return Message::public().para(cat.tf(
            "ch.skipped_paused",
            &[
                ("step", &step_label(cat, plan, skipped)),
                ("theme", &theme(cat, plan, skipped)),
            ],
        ));
    }
    // The next step that has not begun in the group.
    let mut date = tomorrow(c, now).max(c.start);
    let closing = calendar::closing_date(c, plan);
    for _ in 0..400 {
        if closing.is_some_and(|d| date >= d) {
            break;
        }
        if let Some(s) = calendar::step_on(c, plan, date) {
            c.segments.push(Segment {
                from: date,
                step: s + 1,
            });
            c.skipped.push(s);
            let next = if (s + 1) as usize >= plan.days.len() {
                cat.tf("ch.skip_was_last", &[("date", &date_text(date))])
            } else {
                cat.tf(
                    "ch.skip_next",
                    &[
                        ("step", &step_label(cat, plan, s + 1)),
                        ("theme", &theme(cat, plan, s + 1)),
                        ("date", &date_text(date)),
                    ],
                )
            };
            return Message::public()
                .para(cat.tf(
                    "ch.skipped",
                    &[
                        ("step", &step_label(cat, plan, s)),
                        ("theme", &theme(cat, plan, s)),
                    ],
                ))
                .para(next);
        }
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    Message::public().para(cat.t("ch.nothing_to_skip"))
}

/// The group's status: plan, where it is, members, the latest check-ins, the next post.
pub fn status(cat: &Catalog, c: &Challenge, now: Timestamp) -> Message {
    let Some(plan) = cat.plan(&c.plan) else {
        return Message::public().para(cat.tf("ch.plan_gone", &[("plan", &c.plan)]));
    };
    let state = if c.ended.is_some() {
        cat.t("ch.state_ended").to_string()
    } else if let Some(p) = &c.paused {
        cat.tf("ch.state_paused_from", &[("date", &date_text(p.from))])
    } else {
        match calendar::current_step(c, plan, None, now) {
            Some(s) => format!("{} ({})", step_label(cat, plan, s), theme(cat, plan, s)),
            None => cat.tf("ch.state_starts", &[("date", &date_text(c.start))]),
        }
    };
    let mut m = Message::public()
        .title(plan.name.clone())
        .para(state)
        .para(cat.tf(
            "ch.status_members",
            &[
                ("members", &members(cat, c.members.len())),
                ("time", &c.time()),
                ("zone", &c.timezone),
            ],
        ));
    if let Some(line) = last_count(cat, c, plan) {
        m = m.para(line);
    }
    if let Some(t) = c.next_post {
        m = m.para(cat.tf(
            "ch.status_next_post",
            &[("when", &when::format_local(t, &c.zone()))],
        ));
    }
    if c.active() {
        m = m.buttons(vec![
            join_button(cat, &c.group),
            today_button(cat, &c.group),
        ]);
    }
    m
}

/// "Day 2: 4 of 6 members checked in", for the last step posted.
fn last_count(cat: &Catalog, c: &Challenge, plan: &Plan) -> Option<String> {
    let step = *c.posted.last()?;
    let eligible = c.members.iter().filter(|m| m.sent.contains(&step)).count();
    if eligible == 0 {
        return None;
    }
    let done = c
        .members
        .iter()
        .filter(|m| m.sent.contains(&step) && m.checkins.contains(&step))
        .count();
    Some(cat.tf(
        "ch.digest_count",
        &[
            ("step", &step_label(cat, plan, step)),
            ("done", &done.to_string()),
            ("members", &members(cat, eligible)),
        ],
    ))
}

/// The named streaks ("Asha 3 · Ben 2"), and how many unnamed members are on one.
fn streak_lines(cat: &Catalog, c: &Challenge) -> Vec<String> {
    let mut named: Vec<(u32, &str)> = Vec::new();
    let mut quiet = 0;
    for m in &c.members {
        let s = streak(c, m).count;
        if s == 0 {
            continue;
        }
        match &m.name {
            Some(n) => named.push((s, n.as_str())),
            None => quiet += 1,
        }
    }
    named.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut out = Vec::new();
    if !named.is_empty() {
        let more = named.len().saturating_sub(MAX_NAMES);
        let mut line = named
            .iter()
            .take(MAX_NAMES)
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(" · ");
        if more > 0 {
            line.push_str(&cat.tf("ch.and_more", &[("n", &more.to_string())]));
        }
        out.push(cat.tf("ch.digest_streaks", &[("names", &line)]));
    }
    if quiet > 0 {
        out.push(cat.tf("ch.digest_quiet_streaks", &[("n", &quiet.to_string())]));
    }
    out
}

/// A scheduled group post is due: the digest for the step that begins on its date (with the
/// last step's count), or the end summary. Returns nothing when the post is stale or when a
/// later post is also overdue (after downtime only the latest is posted).
pub fn post(
    cat: &Catalog,
    c: &mut Challenge,
    plan: &Plan,
    due: Timestamp,
    now: Timestamp,
) -> Vec<Message> {
    let date = calendar::group_date(c, due);
    c.last_post = Some(due);
    if calendar::closing_date(c, plan) == Some(date) {
        let last = c.posted.last().copied();
        c.ended = Some(Ended {
            at: now,
            early: false,
        });
        calendar::reschedule(c, plan, due);
        return summary(cat, c, plan, last);
    }
    // Only the group's own next time moves: members' prompts are due on their own.
    c.next_post = calendar::next_post(c, plan, due);
    let Some(step) = calendar::step_on(c, plan, date) else {
        return Vec::new();
    };
    let first = c.posted.is_empty();
    let count = last_count(cat, c, plan);
    let streaks = streak_lines(cat, c);
    c.posted.push(step);
    if c.next_post.is_some_and(|t| t <= now) {
        return Vec::new(); // A later post is overdue too: only the latest is worth posting.
    }
    let mut m = Message::public().title(format!(
        "{}: {}",
        step_label(cat, plan, step),
        theme(cat, plan, step)
    ));
    if first {
        m = m.para(cat.tf("ch.digest_first", &[("time", &c.time())]));
    }
    if let Some(line) = count {
        m = m.para(line);
    }
    for line in streaks {
        m = m.para(line);
    }
    let len = plan.days.len() as u32;
    if !c.midpoint_said && len >= 4 && step >= len / 2 {
        c.midpoint_said = true;
        m = m.para(cat.tf(
            "ch.midpoint",
            &[("left", &length(cat, plan, (len - step) as usize))],
        ));
    }
    if step + 1 == len {
        m = m.para(cat.t("ch.digest_last"));
    }
    let unreachable = c.members.iter().filter(|m| m.unreachable).count();
    if unreachable > 0 {
        m = m.para(cat.tf(
            "ch.digest_unreachable",
            &[("n", &members(cat, unreachable))],
        ));
    }
    m = m.para(cat.t("ch.digest_cta")).buttons(vec![
        join_button(cat, &c.group),
        today_button(cat, &c.group),
    ]);
    vec![m]
}

/// The end-of-challenge summary: participation, check-ins per lens, named streaks.
pub fn summary(cat: &Catalog, c: &Challenge, plan: &Plan, last: Option<u32>) -> Vec<Message> {
    let sent: usize = c.members.iter().map(|m| m.sent.len()).sum();
    let checkins: usize = c.members.iter().map(|m| m.checkins.len()).sum();
    let took_part = c.members.iter().filter(|m| !m.checkins.is_empty()).count();
    let pct = (checkins * 100).checked_div(sent).unwrap_or(0);
    let mut m = Message::public().title(cat.tf(
        "ch.summary_title",
        &[("plan", &plan.name), ("group", &group_name(cat, c))],
    ));
    if c.ended.as_ref().is_some_and(|e| e.early) {
        let at = match last {
            Some(s) => step_label(cat, plan, s),
            None => cat.t("ch.state_not_started").to_string(),
        };
        m = m.para(cat.tf("ch.summary_early", &[("step", &at)]));
    }
    m = m.para(cat.tf(
        "ch.summary_participation",
        &[
            ("members", &members(cat, c.members.len())),
            ("active", &took_part.to_string()),
            ("checkins", &cat.counted("ch.checkins", checkins)),
            ("sent", &cat.counted("ch.prompts_sent", sent)),
            ("pct", &pct.to_string()),
        ],
    ));
    // Only the steps the challenge reached (announced, or sent to someone): an early end
    // lists no lens it never got to.
    let reached = |i: u32| c.posted.contains(&i) || c.members.iter().any(|m| m.sent.contains(&i));
    let mut per_lens: Vec<(u8, usize)> = Vec::new();
    for (i, day) in plan.days.iter().enumerate() {
        if !reached(i as u32) {
            continue;
        }
        let n = c
            .members
            .iter()
            .filter(|m| m.checkins.contains(&(i as u32)))
            .count();
        match per_lens.iter_mut().find(|(l, _)| *l == day.lens) {
            Some(e) => e.1 += n,
            None => per_lens.push((day.lens, n)),
        }
    }
    let lines: Vec<String> = per_lens
        .iter()
        .map(|(l, n)| {
            let name = cat
                .lens_by_number(*l)
                .map(|x| x.name.as_str())
                .unwrap_or("");
            cat.tf(
                "ch.summary_lens",
                &[
                    ("n", &l.to_string()),
                    ("name", name),
                    ("checkins", &cat.counted("ch.checkins", *n)),
                ],
            )
        })
        .collect();
    if !lines.is_empty() {
        m = m.list(false, lines);
    }
    for line in streak_lines(cat, c) {
        m = m.para(line);
    }
    m = m.para(cat.t("ch.summary_next")).source(plan.source.clone());
    vec![m]
}

/// "1 member", "12 members".
fn members(cat: &Catalog, n: usize) -> String {
    cat.counted("ch.members", n)
}

/// "1 day", "6 weeks": a length in a plan's unit.
fn length(cat: &Catalog, plan: &Plan, n: usize) -> String {
    crate::content::fill(&cat.counted("ch.length", n), &[("unit", plan.unit())])
}
