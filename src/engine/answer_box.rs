//! The private answer box a Discord server offers when the engine waits for free text (a
//! modal opened from a button): what the button says, and the question the box carries.
//!
//! A modal covers the message on a phone, so the box itself says what is asked: a lens
//! prompt's or a challenge prompt's full question, or for the other places free text is taken
//! (a note, a time zone, search words …) a short line saying what to type. Pure: from the
//! content and the person's state, so it is tested directly.

use super::state::{At, UserState};
use crate::content::{Catalog, ModeKind};

/// The `ui.yaml` key of the answer button's label: what a person types there (a profession on
/// the profession menu, search words at the resource prompt, a place for a time zone, a term
/// on the terms menu), else "Type my answer".
pub fn button_key(st: &UserState) -> &'static str {
    match st.at {
        At::Profession => "button.type_profession",
        At::ResourceQuery => "button.type_search",
        At::Timezone => "button.type_place",
        At::DefineMenu => "button.type_term",
        _ => "button.type_answer",
    }
}

/// The question the answer box asks at this state: a lens prompt or a challenge prompt as
/// asked (with the person's profession filled in), or what to type elsewhere; `None` where no
/// text is expected.
pub fn question(cat: &Catalog, st: &UserState) -> Option<String> {
    let key = match &st.at {
        At::Lens { lens, stop } => {
            if stop == "meeting" {
                "modal_q.meeting"
            } else {
                let (mode, id) = stop.split_once('/')?;
                let lens = cat.lens(lens)?;
                let prompt = lens
                    .mode(ModeKind::parse(mode)?)
                    .prompts
                    .iter()
                    .find(|p| p.id == id)?;
                let profession = st
                    .profession
                    .as_deref()
                    .and_then(|p| cat.profession(p))
                    .map(|p| p.name.to_lowercase())
                    .unwrap_or_else(|| "AHP".to_string());
                return Some(crate::content::fill(
                    &prompt.text,
                    &[("profession", &profession)],
                ));
            }
        }
        At::ChallengeNote { question, .. } => return Some(question.clone()),
        At::OwnAction { .. } | At::EditAction { .. } => "modal_q.action",
        At::Note => "modal_q.note",
        At::RemindWhen { .. } => "modal_q.when",
        At::Timezone => "modal_q.place",
        At::ResourceQuery => "modal_q.search",
        At::Profession => "modal_q.profession",
        At::SignpostMenu => "modal_q.need",
        At::DefineMenu => "modal_q.term",
        At::RoleMenu => "modal_q.role",
        _ => return None,
    };
    Some(cat.t(key).to_string())
}

/// Shortens a text to at most `max` characters at a word boundary, ending with an ellipsis
/// when cut (a single word longer than `max` is cut mid-word). Returns the shortened text and
/// what was left out (empty when nothing was).
pub fn shorten_at_word(s: &str, max: usize) -> (String, String) {
    let s = s.trim();
    if s.chars().count() <= max || max == 0 {
        return (s.to_string(), String::new());
    }
    // Room for the ellipsis.
    let room = max - 1;
    let cut = s
        .char_indices()
        .nth(room)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let head = &s[..cut];
    let at = if s[cut..].starts_with(char::is_whitespace) {
        // The cut falls between words: keep the whole head.
        cut
    } else {
        head.rfind(char::is_whitespace)
            .filter(|i| *i > 0)
            .unwrap_or(cut)
    };
    let kept = s[..at]
        .trim_end()
        .trim_end_matches([',', ';', ':', '—', '-']);
    (format!("{}…", kept.trim_end()), s[at..].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::shorten_at_word;

    #[test]
    fn shortening_cuts_between_words_within_the_limit() {
        let q = "Thinking of your last clinic, which patient's story stayed with you, and why?";
        let (head, rest) = shorten_at_word(q, 45);
        assert!(head.chars().count() <= 45, "{head}");
        assert_eq!(head, "Thinking of your last clinic, which…");
        assert_eq!(rest, "patient's story stayed with you, and why?");
        assert_eq!(
            shorten_at_word("Short", 45),
            ("Short".into(), String::new())
        );
        let long = "x".repeat(60);
        let (head, _) = shorten_at_word(&long, 45);
        assert_eq!(head.chars().count(), 45);
    }
}
