//! `/cancel`: leaves whatever is in progress (a lens stop, a note being written, a reminder
//! being set, a menu, text held back by the identifier guard) without losing anything, and
//! says what was left. A lens keeps its place, so `/continue` picks it up again.

use super::Ctx;
use super::output::Message;
use super::state::At;

/// Leaves what is in progress and says what was left and that nothing was lost.
pub fn cancel(ctx: &mut Ctx<'_>) {
    let pending = ctx.st.pending.take().is_some();
    let left = match ctx.st.at.clone() {
        At::Idle if pending => None,
        At::Idle => {
            let m = Message::private()
                .para(ctx.t("cancel_nothing"))
                .buttons(vec![ctx.button("button.help", "help")]);
            return ctx.say(m);
        }
        At::Lens { lens, .. } | At::OwnAction { lens } => {
            let (n, name) = ctx
                .cat
                .lens(&lens)
                .map(|l| (l.number.to_string(), l.name.clone()))
                .unwrap_or_default();
            Some(ctx.tf("cancel_lens", &[("n", &n), ("name", &name)]))
        }
        At::EditAction { .. } => Some(ctx.t("cancel_edit_action")),
        At::Note | At::ChallengeNote { .. } => Some(ctx.t("cancel_note")),
        At::Timezone => {
            let zone = ctx
                .st
                .timezone
                .clone()
                .unwrap_or_else(|| ctx.cat.defaults.timezone.clone());
            Some(ctx.tf("cancel_timezone", &[("zone", &zone)]))
        }
        At::RemindKind { .. } | At::RemindWhen { .. } | At::RemindAction => {
            Some(ctx.t("cancel_remind"))
        }
        At::ConfirmForget => Some(ctx.t("cancel_forget")),
        At::LensMenu
        | At::Profession
        | At::SignpostMenu
        | At::DefineMenu
        | At::RoleMenu
        | At::ResourceQuery
        | At::ResourceResults { .. }
        | At::Quiet
        | At::PrepMenu => Some(ctx.t("cancel_menu")),
    };
    ctx.st.at = At::Idle;
    let mut m = Message::private();
    if pending {
        m = m.para(ctx.t("cancel_pending"));
    }
    if let Some(left) = left {
        m = m.para(left);
    }
    let m = m.buttons(vec![
        ctx.button("button.continue", "continue"),
        ctx.button("button.help", "help"),
    ]);
    ctx.say(m);
}
