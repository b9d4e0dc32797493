//! Retention: a person's data is deleted after a stretch without activity (24 months unless
//! they choose 6 or 12 with `/retention`), through the one forget path ([`super::Effect::Forget`]),
//! with a message a month before.
//!
//! The clock is [`super::UserState::last_active`], set by anything the person does (a message,
//! a command, a button); a reminder or a challenge prompt the bot sends does not count. Records
//! written before that field existed take their last change (`updated`, which is never earlier
//! than their last activity, so nobody's data goes sooner than it should), else their first
//! contact.
//!
//! The due index carries one entry per person, `retention`, due at the warning (a month before
//! the deadline) until the warning is given, then at the deadline. Times are rounded to whole
//! UTC days, so a person's entry moves at most once a day however often they write. The
//! deletion is never sooner than [`NOTICE`] after the warning: a bot that was down at the
//! warning time still gives the full month.

use super::output::Message;
use super::{Ctx, Effect};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// Months without activity before deletion, unless the person chooses otherwise.
pub const DEFAULT_MONTHS: u32 = 24;

/// The periods a person may choose, in months.
pub const CHOICES: [u32; 3] = [6, 12, 24];

/// How long before the deletion the warning is given (and the least time between them).
pub const NOTICE: SignedDuration = SignedDuration::from_hours(24 * 30);

/// The due-index id of a person's retention entry.
pub const DUE_ID: &str = "retention";

/// The person's period in months.
pub fn months(st: &super::UserState) -> u32 {
    st.retention_months.unwrap_or(DEFAULT_MONTHS)
}

/// The retention clock: the last activity, else the last change, else first contact.
pub fn last_activity(st: &super::UserState) -> Option<Timestamp> {
    st.last_active.or(st.updated).or(st.created)
}

/// Records activity at `now`: the clock restarts and any warning is void. The time is moved
/// only on a new UTC day (deadlines count from the next midnight, so a later time the same day
/// would change nothing), so a turn that changes nothing else writes nothing.
pub fn touch(st: &mut super::UserState, now: Timestamp) {
    let day = |t: Timestamp| t.to_zoned(TimeZone::UTC).date();
    if st.last_active.is_none_or(|t| day(t) != day(now)) {
        st.last_active = Some(now);
    }
    st.retention_warned = None;
}

/// The start of the UTC day after `t` (due times move at most once a day).
fn next_midnight(t: Timestamp) -> Option<Timestamp> {
    let day = t
        .to_zoned(TimeZone::UTC)
        .date()
        .checked_add(Span::new().days(1))
        .ok()?;
    day.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// When everything held is deleted, if nothing is done before: the period after the last
/// activity (from the next UTC midnight), and no sooner than [`NOTICE`] after a warning.
pub fn deadline(st: &super::UserState) -> Option<Timestamp> {
    let from = next_midnight(last_activity(st)?)?;
    let end = from
        .to_zoned(TimeZone::UTC)
        .checked_add(Span::new().months(i64::from(months(st))))
        .ok()?
        .timestamp();
    match st.retention_warned.and_then(|w| w.checked_add(NOTICE).ok()) {
        Some(earliest) if earliest > end => Some(earliest),
        _ => Some(end),
    }
}

/// When the person's retention entry is next due: the warning until it is given, then the
/// deletion.
pub fn next_due(st: &super::UserState) -> Option<Timestamp> {
    let end = deadline(st)?;
    if st.retention_warned.is_some() {
        Some(end)
    } else {
        end.checked_sub(NOTICE).ok()
    }
}

fn date_of(ctx: &Ctx<'_>, t: Timestamp) -> String {
    let zone = super::zones::of(Some(
        ctx.st
            .timezone
            .as_deref()
            .unwrap_or(&ctx.cat.defaults.timezone),
    ));
    t.to_zoned(zone).strftime("%-d %B %Y").to_string()
}

/// The retention entry is due: warn, or delete, or (the clock moved) nothing.
pub fn due(ctx: &mut Ctx<'_>) {
    let (Some(end), Some(at)) = (deadline(&ctx.st), next_due(&ctx.st)) else {
        return;
    };
    if ctx.now < at {
        // Activity moved the clock since this entry was made: nothing to do.
        return;
    }
    if ctx.st.retention_warned.is_some() {
        ctx.effects.push(Effect::Forget);
        let msg = ctx.tf(
            "retention.deleted",
            &[("months", &months(&ctx.st).to_string())],
        );
        ctx.say_text(msg);
        return;
    }
    ctx.st.retention_warned = Some(ctx.now);
    if ctx.st.unreachable {
        // They cannot be reached: the warning is recorded (the month still runs) but not sent.
        return;
    }
    let end = deadline(&ctx.st).unwrap_or(end);
    let m = Message::private()
        .title(ctx.t("retention.warning_title"))
        .para(ctx.tf(
            "retention.warning",
            &[
                ("months", &months(&ctx.st).to_string()),
                ("date", &date_of(ctx, end)),
            ],
        ))
        .buttons(vec![ctx.button("button.retention_keep", "retention:keep")]);
    ctx.say(m);
}

/// `/retention [6|12|24]`: the setting, and buttons to change it.
pub fn command(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim().trim_end_matches("months").trim();
    if arg.is_empty() {
        return menu(ctx);
    }
    set(ctx, arg)
}

fn menu(ctx: &mut Ctx<'_>) {
    let mut m = Message::private()
        .title(ctx.t("retention.title"))
        .para(describe(ctx))
        .para(ctx.t("retention.ask"));
    let buttons = CHOICES
        .iter()
        .map(|n| super::Button {
            label: ctx.tf("button.retention_months", &[("months", &n.to_string())]),
            token: format!("retention:{n}"),
        })
        .collect();
    m = m.buttons(buttons);
    ctx.say(m);
}

/// A `retention:` button or `/retention N`.
pub fn set(ctx: &mut Ctx<'_>, arg: &str) {
    if arg == "keep" {
        let msg = ctx.tf(
            "retention.kept",
            &[(
                "date",
                &deadline(&ctx.st)
                    .map(|d| date_of(ctx, d))
                    .unwrap_or_default(),
            )],
        );
        return ctx.say_text(msg);
    }
    match arg.parse::<u32>() {
        Ok(n) if CHOICES.contains(&n) => {
            ctx.st.retention_months = (n != DEFAULT_MONTHS).then_some(n);
            let msg = ctx.t("retention.set");
            ctx.say_text(msg);
            let msg = describe(ctx);
            ctx.say_text(msg);
        }
        _ => {
            let shown = super::text::shorten(arg, 20);
            let msg = ctx.tf("retention.unknown", &[("input", &shown)]);
            ctx.say_text(msg);
            menu(ctx)
        }
    }
}

/// One sentence: the period and the date the data would go without activity (for
/// `/retention` and `/mydata`).
pub fn describe(ctx: &Ctx<'_>) -> String {
    let date = deadline(&ctx.st)
        .map(|d| date_of(ctx, d))
        .unwrap_or_default();
    ctx.tf(
        "retention.current",
        &[("months", &months(&ctx.st).to_string()), ("date", &date)],
    )
}
