//! `/settings`: the person's settings in one menu (profession, time zone, quiet hours, their
//! name in group challenges' updates, how long their data is kept, whether they are counted
//! in community insights), each shown with its
//! current value and a button that opens the flow that already changes it (`/profession`,
//! `/timezone`, `/remind quiet`, `/challenge name`, `/retention`), so each change is confirmed
//! as it always was.
//!
//! Challenge records are the session's, not the engine's: the menu's line about names says
//! "not in a challenge" and its button carries [`crate::challenge::NAMES_TOKEN`]; the session
//! puts the real value in that line and answers the button (see
//! `session::challenges`). Quiet hours had only a typed form (`/remind quiet 22:00-06:30`):
//! here they get a few choices and a place to type them ([`At::Quiet`]). Being counted in
//! community insights is a toggle (`counted:no`, `counted:yes`) confirmed in one message:
//! opting out empties what was kept for counting ([`super::tally::Tally::opt_out`]).

use super::Ctx;
use super::output::{Button, Message};
use super::state::At;
use super::when::Quiet;

/// Quiet hours offered as buttons (any others can be typed).
const QUIET_CHOICES: [&str; 3] = ["21:00-07:00", "22:00-07:00", "22:00-06:30"];

/// The line about names in challenge updates as the engine writes it: the session replaces it
/// with the person's real choices when they are in a challenge.
pub fn names_line_default(cat: &crate::content::Catalog) -> String {
    cat.tf(
        "settings.names",
        &[("value", cat.t("settings.names_no_challenge"))],
    )
}

/// `/settings`: every setting with its current value, and a button for each.
pub fn menu(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Idle;
    let profession = ctx
        .st
        .profession
        .as_deref()
        .and_then(|p| ctx.cat.profession(p))
        .map(|p| p.name.clone())
        .unwrap_or_else(|| ctx.t("settings.not_set"));
    let zone = super::remind::tz_name(ctx);
    let now = super::when::format_local(ctx.now, &super::zones::of(Some(&zone)));
    let quiet = quiet_value(ctx, ctx.st.quiet.unwrap_or(ctx.cat.defaults.quiet));
    let months = super::retention::months(&ctx.st).to_string();
    let counted = ctx.t(if ctx.st.tally.opted_out {
        "settings.counted_no"
    } else {
        "settings.counted_yes"
    });
    let counted_button = if ctx.st.tally.opted_out {
        ctx.button("button.settings_count_me", "counted:yes")
    } else {
        ctx.button("button.settings_dont_count", "counted:no")
    };
    let items = vec![
        ctx.tf("settings.profession", &[("value", &profession)]),
        ctx.tf("settings.timezone", &[("zone", &zone), ("now", &now)]),
        ctx.tf("settings.quiet", &[("value", &quiet)]),
        names_line_default(ctx.cat),
        ctx.tf("settings.retention", &[("months", &months)]),
        ctx.tf("settings.counted", &[("value", &counted)]),
    ];
    let m = Message::private()
        .title(ctx.t("settings.title"))
        .list(false, items)
        .para(ctx.t("settings.ask"))
        .buttons(vec![
            ctx.button("button.settings_profession", "profmenu"),
            ctx.button("button.settings_timezone", "tzmenu"),
            ctx.button("button.settings_quiet", "quietmenu"),
            ctx.button("button.settings_names", crate::challenge::NAMES_TOKEN),
            ctx.button("button.settings_retention", "retmenu"),
            counted_button,
        ]);
    ctx.say(m);
}

/// "21:00 to 07:00", or "none" in words.
fn quiet_value(ctx: &Ctx<'_>, q: Quiet) -> String {
    if q.start == q.end {
        ctx.t("settings.quiet_none")
    } else {
        q.describe()
    }
}

/// Quiet hours: what they are, a few choices, and a place to type others.
pub fn ask_quiet(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Quiet;
    let q = ctx.st.quiet.unwrap_or(ctx.cat.defaults.quiet);
    let current = if q.start == q.end {
        ctx.t("settings.quiet_current_none")
    } else {
        ctx.tf("settings.quiet_current", &[("value", &q.describe())])
    };
    let mut b: Vec<Button> = QUIET_CHOICES
        .iter()
        .filter_map(|c| Quiet::parse(c))
        .filter(|c| *c != q)
        .map(|c| Button {
            label: c.describe(),
            token: format!("quiet:{}", c.describe().replace('–', "-")),
        })
        .collect();
    if q.start != q.end {
        b.push(ctx.button("button.quiet_off", "quiet:off"));
    }
    let m = Message::private()
        .title(ctx.t("settings.quiet_title"))
        .para(current)
        .para(ctx.t("settings.quiet_ask"))
        .buttons(b);
    ctx.say(m);
}

/// Quiet hours chosen (a button) or typed ("22:00-06:30", "off"): set and confirmed, or asked
/// again with what was not understood.
pub fn set_quiet(ctx: &mut Ctx<'_>, arg: &str) {
    match Quiet::parse(arg) {
        Some(q) => {
            ctx.st.quiet = Some(q);
            ctx.st.at = At::Idle;
            let msg = if q.start == q.end {
                ctx.t("settings.quiet_set_none")
            } else {
                ctx.tf("quiet_set", &[("quiet", &q.describe())])
            };
            let m = Message::private()
                .para(msg)
                .buttons(vec![ctx.button("button.settings", "settings")]);
            ctx.say(m);
        }
        None => {
            let msg = ctx.tf(
                "settings.quiet_unclear",
                &[("input", &super::text::shorten(arg, 30))],
            );
            ctx.say_text(msg);
            ask_quiet(ctx);
        }
    }
}

/// The names button reached the engine (its number or label typed, which the engine alone
/// sees): how to choose by command instead.
pub fn names_typed(ctx: &mut Ctx<'_>) {
    let msg = ctx.t("settings.names_typed");
    ctx.say_text(msg);
}

/// "Counted in community insights": `no` opts out (and empties what was kept for counting),
/// `yes` opts back in; confirmed with what it means. Anything else shows the menu.
pub fn set_counted(ctx: &mut Ctx<'_>, arg: &str) {
    let key = match arg {
        "no" => {
            ctx.st.tally.opt_out();
            "settings.counted_off"
        }
        "yes" => {
            ctx.st.tally.opt_in();
            "settings.counted_on"
        }
        _ => return menu(ctx),
    };
    let m = Message::private()
        .para(ctx.t(key))
        .buttons(vec![ctx.button("button.settings", "settings")]);
    ctx.say(m);
}
