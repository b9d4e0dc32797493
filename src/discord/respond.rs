//! Which first response each interaction gets, as one [`CreateInteractionResponse`] value
//! built here (how it is delivered, over the gateway's REST callback or an HTTP endpoint's
//! answer, is not this module's business):
//!
//! - a slash command: deferred (type 5), ephemerally where the answer may be private;
//! - a button: a deferred update (type 6): nothing shows, and the reply, saved in the outbox
//!   with the turn, then edits the pressed message in place (see `Dm::follow_up`);
//! - the "Type my answer" button: the answer box (a modal, type 9) carrying the question;
//! - an autocomplete request: its choices (type 8).
//!
//! Every limit is Discord's, as its OpenAPI spec states it (`ModalInteractionCallbackRequestData`,
//! `TextInputComponentForModalRequest`, `ApplicationCommandOptionStringChoice`): a modal's title
//! and a text input's label up to 45 characters, a placeholder up to 100, at most 25 choices
//! each named and valued in up to 100. The spec also offers a text display (type 10) and a
//! label (type 18) in modals, which would carry a question of any length; serenity 0.12's modal
//! builder has neither, so the question goes in the label and the placeholder, shortened at a
//! word boundary.

use crate::engine::answer_box::shorten_at_word;
use serenity::all::{
    AutocompleteChoice, CreateActionRow, CreateAutocompleteResponse, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateModal, InputTextStyle,
};

/// A modal's title, at most (characters).
pub const MAX_TITLE: usize = 45;
/// A text input's label, at most.
pub const MAX_LABEL: usize = 45;
/// A text input's placeholder, at most.
pub const MAX_PLACEHOLDER: usize = 100;
/// Autocomplete choices, at most.
pub const MAX_CHOICES: usize = 25;
/// A choice's name and value, at most.
pub const MAX_CHOICE_LEN: usize = 100;

/// A slash command's acknowledgement: deferred, visible only to the person when `private`
/// (its visibility cannot change afterwards, so it is the answer's).
pub fn defer(private: bool) -> CreateInteractionResponse {
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(private))
}

/// A button's acknowledgement: a deferred update of the message it was pressed on (nothing
/// shows; the reply edits the message later).
pub fn deferred_update() -> CreateInteractionResponse {
    CreateInteractionResponse::Acknowledge
}

/// The words of an answer box: its title, and the question split over the label and the
/// placeholder (each within its limit, cut between words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxWords {
    /// The modal's title.
    pub title: String,
    /// The text input's label: the question, or its start.
    pub label: String,
    /// The placeholder: the rest of the question, or `fallback` when it fitted the label.
    pub placeholder: String,
}

/// Splits a question over an answer box's label and placeholder. `title` is the box's title
/// and `fallback` fills the label without a question and the placeholder when the question
/// fits the label ("Only you and lensbot can see this").
pub fn box_words(title: &str, question: Option<&str>, fallback: &str) -> BoxWords {
    let title = shorten_at_word(title, MAX_TITLE).0;
    let question = question.map(str::trim).filter(|q| !q.is_empty());
    let Some(q) = question else {
        return BoxWords {
            title,
            label: shorten_at_word(fallback, MAX_LABEL).0,
            placeholder: String::new(),
        };
    };
    let (label, rest) = shorten_at_word(q, MAX_LABEL);
    let placeholder = if rest.is_empty() {
        shorten_at_word(fallback, MAX_PLACEHOLDER).0
    } else {
        // The question goes on where the label stopped.
        let (more, _) = shorten_at_word(&rest, MAX_PLACEHOLDER - 1);
        format!("…{more}")
    };
    BoxWords {
        title,
        label,
        placeholder,
    }
}

/// The answer box for the step `step` (its submission carries the step it was opened at),
/// taking up to `max_chars` characters.
pub fn answer_box(custom_id: String, words: BoxWords, max_chars: u16) -> CreateInteractionResponse {
    let mut input = CreateInputText::new(InputTextStyle::Paragraph, words.label, "text")
        .max_length(max_chars)
        .required(true);
    if !words.placeholder.is_empty() {
        input = input.placeholder(words.placeholder);
    }
    CreateInteractionResponse::Modal(
        CreateModal::new(custom_id, words.title)
            .components(vec![CreateActionRow::InputText(input)]),
    )
}

/// An autocomplete answer: (name, value) pairs, at most [`MAX_CHOICES`], each cut to
/// [`MAX_CHOICE_LEN`].
pub fn choices(items: Vec<(String, String)>) -> CreateInteractionResponse {
    let cut = |s: String| -> String { s.chars().take(MAX_CHOICE_LEN).collect() };
    let choices = items
        .into_iter()
        .take(MAX_CHOICES)
        .map(|(name, value)| AutocompleteChoice::new(cut(name), cut(value)))
        .collect();
    CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new().set_choices(choices))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_question_runs_from_the_label_into_the_placeholder() {
        let q = "Think of a time a patient's home situation changed what you could offer them. \
                 What did you notice first, and who else needed to know about it?";
        let w = box_words("Your answer (private)", Some(q), "Only you can see this");
        assert!(w.label.chars().count() <= MAX_LABEL, "{}", w.label);
        assert!(w.placeholder.chars().count() <= MAX_PLACEHOLDER);
        assert!(w.label.ends_with('…') && w.placeholder.starts_with('…'));
        let short = box_words("Your answer", Some("Your note"), "Only you can see this");
        assert_eq!(short.label, "Your note");
        assert_eq!(short.placeholder, "Only you can see this");
    }
}
