//! Free text typed when the bot is not waiting for any ("I had a really tough clinic today and
//! I'm feeling a bit overwhelmed"): rather than "I'm not sure what you mean", an offer to keep
//! it as a private note (through the identifier guard, like every saved text) and a pointer to
//! the lenses; when the words suggest distress, a brief, kind pointer to support for the
//! professional themselves. "remind me …" is taken as a reminder.
//!
//! The text waits for the answer in the state as [`super::state::PendingText`] (sealed with
//! the record, dropped by anything else the person does), and the "Keep it as a note" button
//! is one of the guard's answers (`pii:note`), so it passes the guard before it is saved.

use super::Ctx;
use super::guard;
use super::output::Message;
use super::state::PendingText;

/// Fewer words than this are taken as a command not understood, not as something to keep.
const MIN_WORDS: usize = 5;

/// Words and phrases that suggest the person is having a hard time (matched as whole words).
const DISTRESS: &[&str] = &[
    "overwhelmed",
    "overwhelming",
    "stressed",
    "burnt out",
    "burned out",
    "burnout",
    "exhausted",
    "can't cope",
    "cannot cope",
    "not coping",
    "struggling",
    "anxious",
    "depressed",
    "feeling low",
    "hopeless",
    "crying",
    "in tears",
    "breaking down",
    "falling apart",
    "suicidal",
    "self-harm",
    "want to die",
    "end it all",
    "can't go on",
    "dreading",
    "awful day",
    "horrible day",
    "tough day",
    "really tough",
    "so tired",
];

/// Whether the words suggest distress.
pub fn distressed(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['’', '‘'], "'");
    let words: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let padded = format!(
        " {} ",
        words.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    DISTRESS.iter().any(|d| padded.contains(&format!(" {d} ")))
}

/// Answers free text outside any prompt. Returns false, saying nothing, for a few words
/// (the caller says it did not understand them).
pub fn offer(ctx: &mut Ctx<'_>, t: &str) -> bool {
    let lower = t.to_lowercase();
    if lower.starts_with("remind me ") {
        super::remind::remind(ctx, t);
        return true;
    }
    if t.split_whitespace().count() < MIN_WORDS {
        return false;
    }
    // A new position: buttons offered for earlier words are stale, and this offer's button
    // is not mistaken for a second press of the last one.
    ctx.st.step += 1;
    ctx.st.pending = Some(PendingText {
        text: t.to_string(),
        note: true,
        at: ctx.st.at.clone(),
    });
    let mut m = Message::private();
    if distressed(t) {
        m = m.para(ctx.t("free.support"));
        // Samaritans as the content has it (the number and site are never typed here).
        if let Some(s) = ctx
            .cat
            .needs
            .iter()
            .flat_map(|n| n.national.iter())
            .find(|s| s.name == "Samaritans")
        {
            let line = ctx.tf("free.listen", &[("name", &s.name), ("what", &s.what)]);
            m = m.para(line);
            if let Some(url) = &s.url {
                m = m.link(s.name.clone(), url.clone());
            }
        }
    }
    let m = m.para(ctx.t("free.offer")).buttons(vec![
        ctx.button("button.free_note", format!("{}:note", guard::VERB)),
        ctx.button("button.choose_lens", "lensmenu"),
        ctx.button("button.help", "help"),
    ]);
    ctx.say(m);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distress is read from whole words and phrases, not from parts of words.
    #[test]
    fn distress_words() {
        assert!(distressed(
            "I had a really tough clinic today and I'm feeling a bit overwhelmed"
        ));
        assert!(distressed("I can’t cope with this caseload"));
        assert!(distressed("Honestly I'm burnt out."));
        assert!(!distressed("The clinic ran late because the bus was late"));
        assert!(!distressed("Low income families struggle to reach us"));
        assert!(!distressed("stressedness")); // not a whole word
    }
}
