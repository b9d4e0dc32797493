//! The identifier guard: finds what in a piece of free text could identify a patient or a
//! colleague, before the text is saved, so the engine can ask first (issue 14, item 5).
//!
//! Pure like the rest of the engine: [`scan`] takes text and returns what it found (a kind and
//! a byte range), [`mask`] replaces the ranges with placeholders. Nothing here logs, and
//! nothing found is kept outside the person's own record.
//!
//! The rules, one per [`Kind`] (the README and `deploy/INFORMATION-GOVERNANCE.md` state them
//! for operators):
//! - **NHS number**: ten digits, together or spaced 3-3-4 (spaces or hyphens), whose modulus 11
//!   check digit is valid (weights 10 down to 2 on the first nine digits; 11 − remainder is the
//!   check digit, 11 counts as 0, 10 means no valid number). Northern Ireland's Health and Care
//!   numbers use the same rule and are reported as NHS numbers.
//! - **CHI number** (Scotland): ten digits whose first six are a real date as DDMMYY and whose
//!   tenth is the same modulus 11 check digit.
//! - **Date of birth**: a date after "DOB", "D.O.B.", "date of birth", "born (on/in)" or
//!   "birthday" (a full date, or a month and year; after "DOB" any run of digits); or a full
//!   date (day, month and year) in the same sentence as an age ("aged 78", "78 years old",
//!   "(78)", "78yo"). A date on its own ("on 1 April 2013 the Act came in") is not one: policy
//!   dates are common in reflections on health inequalities.
//! - **Postcode**: a full UK postcode (outward and inward code, "LS1 4AB", "sw1a1aa"); an
//!   outward code alone ("LS1") is a district, not an address, and is left.
//! - **Phone number**: a UK number, `0…` or `+44…`/`0044…`, spaced or not, with 9 or 10 digits
//!   after the 0 and a first digit UK numbers use (1, 2, 3, 5, 7, 8 or 9). 999 and 111 are
//!   services, not numbers anyone could be found by.
//! - **Email address**.
//! - **Hospital or case number**: "MRN", "hospital number", "case no.", "patient ID", "unit
//!   number", "NHS no.", "CHI" and the like, followed by an id with at least three digits.
//! - **Name with a title**: Mr, Mrs, Ms, Miss, Mx, Dr, Prof or Professor (with or without a
//!   full stop) followed by a capitalised name or an initial ("Mrs K", "Mr Patel", "Dr. Jones";
//!   "mrs k" typed in lower case too). Not when the name, or the word after it, is a known
//!   public figure, brand or organisation ("Mr Motivator", "Mr Tumble", "Dr Foster", "Prof
//!   Marmot", "Dr Julian Tudor Hart"), or when an organisation word follows ("Dr Gray's
//!   Hospital", "Dr Jenner House Surgery").
//! - **Name with an age**: a capitalised word that is not a common sentence word, day, month
//!   or group noun, followed by an age: "John, 45" (the age then ends the phrase or is followed
//!   by "years"), "Jean (81)", "Ahmed aged 60", "Bill 82 years old". "People over 65" and
//!   "Adults aged 65+" are groups, not people.
//!
//! What it cannot see: a first name on its own ("my patient Sarah"), a description that
//! identifies by rarity, a place with a date. The privacy notice asks people not to write
//! them; the guard is a second pair of eyes, not a guarantee.

use regex_lite::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A kind of identifier the guard looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An NHS number (or a Northern Ireland Health and Care number).
    NhsNumber,
    /// A Scottish CHI number.
    ChiNumber,
    /// A date of birth.
    DateOfBirth,
    /// A full UK postcode.
    Postcode,
    /// A UK phone number.
    Phone,
    /// An email address.
    Email,
    /// A hospital, case or record number.
    CaseNumber,
    /// A title with a name or an initial.
    TitledName,
    /// A name with an age.
    NameWithAge,
}

impl Kind {
    /// Every kind, in the order they are listed to the person.
    pub const ALL: [Kind; 9] = [
        Kind::TitledName,
        Kind::NameWithAge,
        Kind::NhsNumber,
        Kind::ChiNumber,
        Kind::CaseNumber,
        Kind::DateOfBirth,
        Kind::Postcode,
        Kind::Phone,
        Kind::Email,
    ];

    /// The kind's name in `ui.yaml` keys (`pii.kind.NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NhsNumber => "nhs_number",
            Kind::ChiNumber => "chi_number",
            Kind::DateOfBirth => "date_of_birth",
            Kind::Postcode => "postcode",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::CaseNumber => "case_number",
            Kind::TitledName => "titled_name",
            Kind::NameWithAge => "name_with_age",
        }
    }
}

/// One thing found: its kind, where it is, and what stands in its place when masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// What it looks like.
    pub kind: Kind,
    /// Byte offsets in the text scanned.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The placeholder's name in `ui.yaml` keys (`pii.mask.NAME`): `patient`, `colleague`,
    /// `postcode` …
    pub mask: &'static str,
}

/// Everything in `text` that could identify someone, in text order, without overlaps (where
/// two rules match the same words, the earlier and longer match is kept).
pub fn scan(text: &str) -> Vec<Found> {
    let mut all = Vec::new();
    ten_digit_numbers(text, &mut all);
    emails(text, &mut all);
    phones(text, &mut all);
    postcodes(text, &mut all);
    case_numbers(text, &mut all);
    dates_of_birth(text, &mut all);
    titled_names(text, &mut all);
    names_with_ages(text, &mut all);
    all.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let rank = |k: Kind| Kind::ALL.iter().position(|x| *x == k).unwrap_or(0);
    let mut kept: Vec<Found> = Vec::new();
    for f in all {
        match kept.last_mut() {
            Some(last) if f.start < last.end => {
                // One span; the more specific kind names it ("NHS number 943 476 5919" is an
                // NHS number, not any case number).
                last.end = last.end.max(f.end);
                if rank(f.kind) < rank(last.kind) {
                    last.kind = f.kind;
                    last.mask = f.mask;
                }
            }
            _ => kept.push(f),
        }
    }
    kept
}

/// The kinds found, each once, in [`Kind::ALL`] order.
pub fn kinds(found: &[Found]) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| found.iter().any(|f| f.kind == *k))
        .collect()
}

/// `text` with every range in `found` replaced by `placeholder(mask name)`. `found` must come
/// from [`scan`] of the same text.
pub fn mask(text: &str, found: &[Found], placeholder: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        if f.start < at || f.end > text.len() {
            continue;
        }
        out.push_str(&text[at..f.start]);
        out.push_str(&placeholder(f.mask));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid built-in pattern"))
}

fn push(out: &mut Vec<Found>, kind: Kind, start: usize, end: usize, mask: &'static str) {
    out.push(Found {
        kind,
        start,
        end,
        mask,
    });
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// Whether ten digits end with a valid modulus 11 check digit (NHS and CHI numbers).
pub fn mod11_valid(d: &[u32]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == d[9]
}

/// Whether DDMMYY is a real date (any century; 29 February allowed).
fn ddmmyy(d: &[u32]) -> bool {
    let day = d[0] * 10 + d[1];
    let month = d[2] * 10 + d[3];
    let max = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    (1..=max).contains(&day)
}

fn ten_digit_numbers(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = re(&R, r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b");
    for m in r.find_iter(text) {
        let d = digits(m.as_str());
        if !mod11_valid(&d) {
            continue;
        }
        if d[0] <= 3 && ddmmyy(&d) {
            push(out, Kind::ChiNumber, m.start(), m.end(), "chi_number");
        } else {
            push(out, Kind::NhsNumber, m.start(), m.end(), "nhs_number");
        }
    }
}

fn emails(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &R,
        r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b",
    );
    for m in r.find_iter(text) {
        push(out, Kind::Email, m.start(), m.end(), "email");
    }
}

fn phones(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &R,
        r"(?:\+44\s?(?:\(0\)\s?)?|\b0044\s?|\(0|\b0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\b",
    );
    for m in r.find_iter(text) {
        let s = m.as_str();
        let d = digits(s);
        let national: &[u32] = if s.starts_with('+') {
            &d[2..]
        } else if s.starts_with("0044") {
            &d[4..]
        } else {
            &d[1..]
        };
        // "+44 (0) 161 …": the bracketed 0 is not part of the national number.
        let national = if s.contains("(0)") && national.first() == Some(&0) {
            &national[1..]
        } else {
            national
        };
        let len_ok = (9..=10).contains(&national.len());
        let first_ok = national
            .first()
            .is_some_and(|f| matches!(f, 1 | 2 | 3 | 5 | 7 | 8 | 9));
        if len_ok && first_ok {
            push(out, Kind::Phone, m.start(), m.end(), "phone");
        }
    }
}

fn postcodes(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    // Inward code letters never include C, I, K, M, O or V.
    let r = re(
        &R,
        r"(?i)\b(?:gir ?0aa|[a-pr-uwyz][a-hk-y]?\d[a-z\d]? ?\d[abd-hjlnp-uw-z]{2})\b",
    );
    for m in r.find_iter(text) {
        push(out, Kind::Postcode, m.start(), m.end(), "postcode");
    }
}

fn case_numbers(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &R,
        r"(?i)\b(?:mrn|hospital\s*(?:no|num|number|id|ref)|hosp\s*(?:no|num|number)|case\s*(?:no|num|number|ref|reference|id)|patient\s*(?:id|no|num|number|ref)|unit\s*(?:no|number)|record\s*(?:no|number)|nhs\s*(?:no|num|number)|chi\s*(?:no|num|number)?|rtt\s*(?:no|number))\b\.?\s*(?:is\s+|[:#=-]\s*)?([a-z]{0,4}[ -]?\d[\da-z/-]*(?:\s\d[\d/-]*)*)",
    );
    for c in r.captures_iter(text) {
        let (Some(all), Some(id)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if digits(id.as_str()).len() >= 3 {
            push(out, Kind::CaseNumber, all.start(), id.end(), "case_number");
        }
    }
}

/// A full date: 3/4/1948, 03-04-48, 3.4.1948, 1948-04-03, 3 April 1948, 3rd of Apr 1948,
/// April 3, 1948.
const FULL_DATE: &str = r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?:\d{4}|'?\d{2})|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})";

/// A month and year: April 1948, 04/1948.
const MONTH_YEAR: &str =
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}|\d{1,2}/\d{4})";

fn dates_of_birth(text: &str, out: &mut Vec<Found>) {
    static KEYED: OnceLock<Regex> = OnceLock::new();
    static DOB_DIGITS: OnceLock<Regex> = OnceLock::new();
    static DATE: OnceLock<Regex> = OnceLock::new();
    static AGE: OnceLock<Regex> = OnceLock::new();
    let keyed = re(
        &KEYED,
        &format!(
            r"(?i)\b(?:date\s+of\s+birth|born(?:\s+on|\s+in)?|birthday(?:\s+is)?)\s*[:\-]?\s*(?:the\s+)?(?:{FULL_DATE}|{MONTH_YEAR})"
        ),
    );
    for m in keyed.find_iter(text) {
        push(out, Kind::DateOfBirth, m.start(), m.end(), "date_of_birth");
    }
    let dob = re(
        &DOB_DIGITS,
        &format!(
            r"(?i)\bd\.?o\.?b\b\.?\s*(?:is\s+|[:\-=]\s*)?(?:{FULL_DATE}|{MONTH_YEAR}|\d[\d/. -]*\d)"
        ),
    );
    for m in dob.find_iter(text) {
        push(out, Kind::DateOfBirth, m.start(), m.end(), "date_of_birth");
    }
    // A full date in the same sentence as an age.
    let date = re(&DATE, &format!(r"(?i)\b{FULL_DATE}\b"));
    let age = re(
        &AGE,
        r"(?i)\b(?:aged?\s+\d{1,3}\b|\d{1,3}\s*(?:yo|y/o|yrs?\s+old|years?\s+old|-year-old)\b)|\(\d{1,3}\)",
    );
    for sentence in sentences(text) {
        let s = &text[sentence.0..sentence.1];
        if !age.is_match(s) {
            continue;
        }
        for m in date.find_iter(s) {
            push(
                out,
                Kind::DateOfBirth,
                sentence.0 + m.start(),
                sentence.0 + m.end(),
                "date_of_birth",
            );
        }
    }
}

/// Byte ranges of sentences: split after `.`, `!`, `?` or a line break followed by a space
/// (so dates like 3.4.1948 stay whole).
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let ends = match b {
            b'\n' => true,
            b'.' | b'!' | b'?' => bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()),
            _ => false,
        };
        if ends {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

/// Public figures, characters, brands and organisations that follow a title.
const NOT_A_PERSON: &[&str] = &[
    "Motivator",
    "Tumble",
    "Men",
    "Muscle",
    "Bean",
    "Blobby",
    "Happy",
    "Whippy",
    "Kipling",
    "Benn",
    "Foster",
    "Martens",
    "Marten",
    "Barnardo",
    "Barnardo's",
    "Who",
    "Google",
    "Seuss",
    "Oetker",
    "Pepper",
    "Hinch",
    "Marmot",
    "Tudor",
    "Acheson",
    "Black",
    "Beveridge",
    "Bevan",
    "Seacole",
    "Nightingale",
    "Dahlgren",
    "Whitehead",
    "Pickett",
    "Wilkinson",
    "Buck",
    "Dougall",
    "Jenner",
    "Gray's",
];

/// Words after a titled name that make it an organisation or place.
const ORGANISATION_WORDS: &[&str] = &[
    "hospital",
    "house",
    "centre",
    "center",
    "surgery",
    "practice",
    "clinic",
    "foundation",
    "trust",
    "school",
    "academy",
    "intelligence",
    "report",
    "review",
    "road",
    "street",
    "building",
    "unit",
    "programme",
    "boots",
];

/// The word after byte `end` (letters only), lower-cased.
fn next_word(text: &str, end: usize) -> String {
    text[end..]
        .trim_start_matches([' ', '\''])
        .trim_start_matches("s ")
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase()
}

fn titled_names(text: &str, out: &mut Vec<Found>) {
    static R: OnceLock<Regex> = OnceLock::new();
    static LOWER: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &R,
        r"\b(Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor)\b\.?\s+([A-Z](?:[a-z]+(?:['’-][A-Za-z]+)*|['’][A-Z][a-z]+|\b\.?))",
    );
    for c in r.captures_iter(text) {
        let (Some(all), Some(title), Some(name)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        // "Marmot's", "Motivator-style": the name itself is what is looked up.
        let n = name.as_str().trim_end_matches('.');
        let n = n
            .strip_suffix("'s")
            .or_else(|| n.strip_suffix("’s"))
            .unwrap_or(n);
        let n = n.split('-').next().unwrap_or(n);
        if NOT_A_PERSON.contains(&n) || NOT_A_PERSON.contains(&name.as_str()) {
            continue;
        }
        let after = next_word(text, all.end());
        if ORGANISATION_WORDS.contains(&after.as_str()) {
            continue;
        }
        // A public figure named in full: "Dr Julian Tudor Hart", "Professor Michael Marmot".
        let surname: String = text[all.end()..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphabetic() || *c == '\'')
            .collect();
        if NOT_A_PERSON.contains(&surname.trim_end_matches("'s")) {
            continue;
        }
        let colleague = matches!(title.as_str(), "Dr" | "Prof" | "Professor");
        let mask = if colleague { "colleague" } else { "patient" };
        push(out, Kind::TitledName, all.start(), all.end(), mask);
    }
    // Typed in lower case on a phone: "mrs k", "mr p".
    let lower = re(&LOWER, r"\b[Mm][Rr][Ss]?\.?\s+[b-hj-z]\b");
    for m in lower.find_iter(text) {
        push(out, Kind::TitledName, m.start(), m.end(), "patient");
    }
}

/// Capitalised words that are not names: sentence words, days, months, group nouns and the
/// like. Compared lower-cased.
const NOT_A_NAME: &[&str] = &[
    "i",
    "it",
    "we",
    "they",
    "he",
    "she",
    "you",
    "this",
    "that",
    "these",
    "those",
    "there",
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "by",
    "for",
    "from",
    "to",
    "of",
    "and",
    "but",
    "so",
    "or",
    "if",
    "since",
    "after",
    "before",
    "during",
    "about",
    "around",
    "over",
    "under",
    "between",
    "aged",
    "age",
    "ages",
    "year",
    "years",
    "band",
    "ward",
    "bay",
    "bed",
    "room",
    "lens",
    "step",
    "stage",
    "level",
    "phase",
    "week",
    "weeks",
    "day",
    "days",
    "page",
    "grade",
    "table",
    "session",
    "sessions",
    "clinic",
    "group",
    "groups",
    "class",
    "cohort",
    "team",
    "patients",
    "people",
    "adults",
    "children",
    "men",
    "women",
    "residents",
    "carers",
    "clients",
    "families",
    "pupils",
    "students",
    "veterans",
    "individuals",
    "participants",
    "most",
    "many",
    "some",
    "all",
    "only",
    "roughly",
    "nearly",
    "almost",
    "approximately",
    "total",
    "overall",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "today",
    "yesterday",
    "tomorrow",
    "now",
    "then",
    "here",
    "also",
    "just",
    "around",
    "maybe",
    "perhaps",
    "number",
    "numbers",
    "question",
    "questions",
    "item",
    "items",
    "point",
    "points",
    "part",
    "parts",
    "mode",
    "awareness",
    "action",
    "advocacy",
    "covid",
    "tier",
    "priority",
    "section",
    "chapter",
    "figure",
    "floor",
    "bus",
    "route",
    "line",
    "platform",
    "gate",
    "junction",
    "exit",
    "decile",
    "quintile",
    "imd",
    "version",
    "meeting",
    "meetings",
    "visit",
    "visits",
    "appointment",
    "appointments",
    "referral",
    "referrals",
    "average",
    "median",
    "mean",
    "under-",
    "over-",
    "mostly",
    "typically",
    "usually",
    "often",
    "sometimes",
    "aged",
];

fn is_name_word(w: &str) -> bool {
    let lower = w.to_lowercase();
    !NOT_A_NAME.contains(&lower.as_str())
}

fn names_with_ages(text: &str, out: &mut Vec<Found>) {
    static COMMA: OnceLock<Regex> = OnceLock::new();
    static PAREN: OnceLock<Regex> = OnceLock::new();
    static AGED: OnceLock<Regex> = OnceLock::new();
    static YEARS: OnceLock<Regex> = OnceLock::new();
    let comma = re(
        &COMMA,
        r"\b([A-Z][a-z]*(?:['’-][A-Za-z]+)?)\s*,\s*(?:aged\s+)?(\d{1,3})(\s*(?:yo|y/o|yrs?|years?(?:\s+old)?|-year-old)\b)?",
    );
    for c in comma.captures_iter(text) {
        let (Some(name), Some(age)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let all_end = c.get(0).map_or(age.end(), |m| m.end());
        let said_years = c.get(3).is_some();
        // "John, 45" ends there, or goes on "45, …", "45." or "45 years": "Monday, 12 people"
        // is a count.
        let rest = &text[all_end..];
        let ends_phrase = rest
            .chars()
            .next()
            .is_none_or(|ch| matches!(ch, ',' | '.' | ';' | ':' | ')' | '!' | '?' | '\n'));
        if (said_years || ends_phrase) && plausible_age(age.as_str()) && is_name_word(name.as_str())
        {
            push(out, Kind::NameWithAge, name.start(), name.end(), "patient");
        }
    }
    let paren = re(
        &PAREN,
        r"\b([A-Z][a-z]*(?:['’-][A-Za-z]+)?)\s*\(\s*(?:aged\s+)?(\d{1,3})\s*(?:yo|y/o|yrs?|years?(?:\s+old)?)?\s*\)",
    );
    let aged = re(
        &AGED,
        r"\b([A-Z][a-z]*(?:['’-][A-Za-z]+)?)\s*,?\s+(?:aged|age)\s+(\d{1,3})\b",
    );
    let years = re(
        &YEARS,
        r"\b([A-Z][a-z]*(?:['’-][A-Za-z]+)?)\s*,?\s+(\d{1,3})\s*(?:yo|y/o|yrs?\s+old|years?\s+old|-year-old)\b",
    );
    for r in [paren, aged, years] {
        for c in r.captures_iter(text) {
            let (Some(name), Some(age)) = (c.get(1), c.get(2)) else {
                continue;
            };
            if plausible_age(age.as_str()) && is_name_word(name.as_str()) {
                push(out, Kind::NameWithAge, name.start(), name.end(), "patient");
            }
        }
    }
}

fn plausible_age(s: &str) -> bool {
    s.parse::<u32>().is_ok_and(|a| a <= 110)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_of(t: &str) -> Vec<Kind> {
        kinds(&scan(t))
    }

    #[test]
    fn the_modulus_11_check() {
        assert!(mod11_valid(&digits("9434765919")));
        assert!(!mod11_valid(&digits("9434765918")));
        assert_eq!(kinds_of("NHS 943 476 5919 seen"), vec![Kind::NhsNumber]);
        assert_eq!(kinds_of("ref 943 476 5918 seen"), vec![]);
    }

    #[test]
    fn the_issue_example_is_masked() {
        let t = "Mrs K, 78, knee OA, told me she has stopped her hydrotherapy";
        let f = scan(t);
        assert_eq!(kinds(&f), vec![Kind::TitledName]);
        let m = mask(t, &f, |k| format!("[{k}]"));
        assert_eq!(
            m,
            "[patient], 78, knee OA, told me she has stopped her hydrotherapy"
        );
    }
}
