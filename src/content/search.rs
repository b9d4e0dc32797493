//! Typo-tolerant matching of what people type against content.
//!
//! Queries and content are folded to lowercase words; a query word matches a content word when
//! they are equal, when one is a prefix of the other (at least four letters; a query word of two
//! or three letters matches the start of a longer word, weakly), or when they are
//! within a small edit distance (one edit for words of four to seven letters, two for longer
//! ones; two adjacent letters swapped count as one edit: Damerau–Levenshtein in its optimal
//! string alignment form, from the well-kept `strsim` crate). No regular expressions are built from user text, so
//! `/resources (a+)+$` is just a search for the words it contains.

/// Lowercase words of a text: letters and digits, everything else separates.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Words too common to help a search.
const STOP: [&str; 24] = [
    "a", "an", "and", "the", "of", "for", "to", "in", "on", "with", "about", "my", "me", "i", "is",
    "are", "what", "how", "do", "does", "at", "or", "by", "it",
];

/// The words of a query worth matching.
pub fn query_words(query: &str) -> Vec<String> {
    words(query)
        .into_iter()
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

/// The edit distance between two words, counting two adjacent letters swapped as one edit
/// (`segmnet` is one edit from `segment`): the optimal string alignment form of
/// Damerau–Levenshtein, from the `strsim` crate. Capped: anything over `cap` is `cap + 1`, and
/// two cheap bounds (lengths, and for ASCII words letter counts) answer most far-apart pairs
/// without the full comparison.
pub fn distance(a: &str, b: &str, cap: usize) -> usize {
    let (al, bl) = if a.is_ascii() && b.is_ascii() {
        (a.len(), b.len())
    } else {
        (a.chars().count(), b.chars().count())
    };
    if al.abs_diff(bl) > cap {
        return cap + 1;
    }
    if a.is_ascii() && b.is_ascii() && letters_apart(a.as_bytes(), b.as_bytes()) > 2 * cap {
        return cap + 1;
    }
    strsim::osa_distance(a, b).min(cap + 1)
}

/// A lower bound on twice the edit distance, in a few nanoseconds: how far apart the two words'
/// letter counts are. An edit changes at most two counts by one (a transposition none), so when
/// the counts differ by more than `2 × cap` the distance is over `cap` and the full comparison
/// can be skipped. Bytes share 64 buckets, which only lowers the bound, so it stays exact.
fn letters_apart(a: &[u8], b: &[u8]) -> usize {
    let mut counts = [0i32; 64];
    for &c in a {
        counts[usize::from(c & 63)] += 1;
    }
    for &c in b {
        counts[usize::from(c & 63)] -= 1;
    }
    counts.iter().map(|n| n.unsigned_abs() as usize).sum()
}

/// How well one query word matches one content word: 0 for no match, up to 4 for equal.
pub fn word_score(q: &str, w: &str) -> u32 {
    if q == w {
        return 4;
    }
    let chars = |s: &str| {
        if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        }
    };
    let (ql, wl) = (chars(q), chars(w));
    if ql >= 4 && wl >= ql && w.starts_with(q) {
        return 3;
    }
    // Short words ("ahp" for "ahps", "gp" for "gps") match the start of a word, weakly.
    if ql >= 2 && wl > ql && w.starts_with(q) {
        return 1;
    }
    if wl >= 4 && ql >= wl && q.starts_with(w) {
        return 2;
    }
    let cap = match ql {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    if cap > 0 && distance(q, w, cap) <= cap {
        return 2;
    }
    0
}

/// Scores a text against query words: the sum, over query words, of the best match in the
/// text, times the weight; 0 when some query word matches nothing.
pub fn score(query: &[String], text_words: &[String], weight: u32) -> u32 {
    let mut total = 0;
    for q in query {
        let best = text_words
            .iter()
            .map(|w| word_score(q, w))
            .max()
            .unwrap_or(0);
        if best == 0 {
            return 0;
        }
        total += best * weight;
    }
    total
}

/// Scores a set of weighted fields: every query word must match somewhere; each scores its best
/// weighted match.
pub fn score_fields(query: &[String], fields: &[(&[String], u32)]) -> u32 {
    let mut total = 0;
    for q in query {
        let best = fields
            .iter()
            .map(|(ws, weight)| ws.iter().map(|w| word_score(q, w)).max().unwrap_or(0) * weight)
            .max()
            .unwrap_or(0);
        if best == 0 {
            return 0;
        }
        total += best;
    }
    total
}

/// The distinct words of some texts, sorted, so a query word is compared with each word once
/// however often it appears: one search of the resource directory then costs a pass over its
/// vocabulary and table lookups, not an edit distance for every word of every entry.
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    words: Vec<String>,
    /// Ids by length in characters, for the few words within an edit or two of a query word.
    by_len: Vec<Vec<u32>>,
    /// Which letters each word has (see [`letter_mask`]), by id.
    masks: Vec<u64>,
}

/// One bit per letter present (bytes folded into 64 buckets). An edit changes at most two
/// bits, so words whose masks differ in more than `2 × cap` bits are more than `cap` edits
/// apart: a one-instruction test before the full comparison.
pub fn letter_mask(w: &str) -> u64 {
    w.bytes().fold(0u64, |m, b| m | (1 << (b & 63)))
}

impl Vocab {
    /// The vocabulary of these words.
    pub fn new<'a>(words: impl Iterator<Item = &'a String>) -> Vocab {
        let mut words: Vec<String> = words.cloned().collect();
        words.sort_unstable();
        words.dedup();
        let mut by_len: Vec<Vec<u32>> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let n = w.chars().count();
            if by_len.len() <= n {
                by_len.resize(n + 1, Vec::new());
            }
            by_len[n].push(i as u32);
        }
        let masks = words.iter().map(|w| letter_mask(w)).collect();
        Vocab {
            words,
            by_len,
            masks,
        }
    }

    /// A word's id.
    pub fn id(&self, w: &str) -> Option<u32> {
        self.words
            .binary_search_by(|x| x.as_str().cmp(w))
            .ok()
            .map(|i| i as u32)
    }

    /// The word with this id.
    pub fn word(&self, id: usize) -> Option<&str> {
        self.words.get(id).map(String::as_str)
    }

    /// The word a query word was probably meant to be, when it matches no word exactly or as
    /// a prefix but is within an edit or two of one ("tranform" → "transform"): the nearest
    /// such word (the first in order among equals). None when it matches as typed.
    pub fn guess(&self, q: &str) -> Option<&str> {
        let table = self.scores(q);
        if table.iter().any(|&s| s != 2 && s > 0) {
            return None;
        }
        let cap = if q.chars().count() > 7 { 2 } else { 1 };
        table
            .iter()
            .enumerate()
            .filter(|(i, s)| **s == 2 && !q.starts_with(self.words[*i].as_str()))
            .map(|(i, _)| (distance(q, &self.words[i], cap), i))
            .min()
            .map(|(_, i)| self.words[i].as_str())
    }

    /// How many distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// [`word_score`] of a query word against every word, by id (the same numbers as calling
    /// it for each word, found without visiting most of them: an exact match and prefixes by
    /// binary search, typos only among words of a near length).
    pub fn scores(&self, q: &str) -> Vec<u8> {
        let mut out = vec![0u8; self.words.len()];
        let mut raise = |i: usize, v: u8| {
            if out[i] < v {
                out[i] = v;
            }
        };
        let ql = q.chars().count();
        // Equal, and words that q begins (q at least four letters): a run in sorted order.
        let start = self.words.partition_point(|w| w.as_str() < q);
        for (i, w) in self.words.iter().enumerate().skip(start) {
            if !w.starts_with(q) {
                break;
            }
            raise(
                i,
                if w == q {
                    4
                } else if ql >= 4 {
                    3
                } else if ql >= 2 {
                    1
                } else {
                    0
                },
            );
        }
        // Words of four letters or more that begin q.
        for (k, (at, _)) in q.char_indices().enumerate() {
            if k >= 4
                && let Some(i) = self.id(&q[..at])
            {
                raise(i as usize, 2);
            }
        }
        // Typos: within one edit (four to seven letters) or two (longer).
        let cap = match ql {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        if cap > 0 {
            let mask = letter_mask(q);
            for len in ql.saturating_sub(cap)..=ql + cap {
                for &i in self.by_len.get(len).map(Vec::as_slice).unwrap_or(&[]) {
                    let i = i as usize;
                    if out[i] < 2
                        && (mask ^ self.masks[i]).count_ones() as usize <= 2 * cap
                        && distance(q, &self.words[i], cap) <= cap
                    {
                        out[i] = 2;
                    }
                }
            }
        }
        out
    }

    /// The same table the slow way, one [`word_score`] per word (for tests).
    pub fn scores_naive(&self, q: &str) -> Vec<u8> {
        self.words.iter().map(|w| word_score(q, w) as u8).collect()
    }
}

/// [`score_fields`] over word ids, with each query word's [`Vocab::scores`] table: the same
/// result, without comparing words again.
pub fn score_ids(tables: &[Vec<u8>], fields: &[(&[u32], u32)]) -> u32 {
    let mut total = 0;
    for t in tables {
        let best = fields
            .iter()
            .map(|(ids, weight)| {
                ids.iter()
                    .map(|&i| u32::from(t.get(i as usize).copied().unwrap_or(0)))
                    .max()
                    .unwrap_or(0)
                    * weight
            })
            .max()
            .unwrap_or(0);
        if best == 0 {
            return 0;
        }
        total += best;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short words match the start of a longer word (weakly); two adjacent letters swapped is
    /// one edit; a word that matches only through a typo is guessed, one that matches as typed
    /// is not.
    #[test]
    fn short_prefixes_and_guesses() {
        assert_eq!(word_score("ahp", "ahps"), 1);
        assert_eq!(word_score("gp", "gps"), 1);
        assert_eq!(word_score("x", "xyz"), 0);
        assert_eq!(word_score("segmnet", "segment"), 2);
        let ws: Vec<String> = ["segment", "segments", "transform", "tool", "ahps"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        let v = Vocab::new(ws.iter());
        assert_eq!(v.scores("ahp"), v.scores_naive("ahp"));
        assert_eq!(v.guess("segmnet"), Some("segment"));
        assert_eq!(v.guess("tranform"), Some("transform"));
        assert_eq!(v.guess("segment"), None);
        assert_eq!(v.guess("tool"), None);
        assert_eq!(v.guess("zzzzzz"), None);
    }

    #[test]
    fn distance_counts_edits_and_transpositions() {
        assert_eq!(distance("segmnet", "segment", 2), 1);
        assert_eq!(distance("segmnet", "segment", 1), 1);
        assert_eq!(distance("deprivation", "depirvation", 2), 1);
        assert_eq!(distance("housing", "hosuing", 2), 1);
        assert_eq!(distance("kitten", "sitting", 5), 3);
        assert_eq!(distance("abc", "abcdefgh", 2), 3);
    }

    #[test]
    fn the_letter_count_bound_never_exceeds_twice_the_distance() {
        let words = [
            "deprivation",
            "depirvation",
            "housing",
            "hosuing",
            "kitten",
            "sitting",
            "equity",
            "equality",
            "data",
            "date",
            "inequalities",
            "inequalites",
            "a1b2",
            "b2a1",
        ];
        for a in words {
            for b in words {
                let d = strsim::osa_distance(a, b);
                assert!(
                    letters_apart(a.as_bytes(), b.as_bytes()) <= 2 * d,
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn scoring_by_ids_agrees_with_scoring_words() {
        let fields: Vec<Vec<String>> = vec![
            words("Health inequalities: deprivation data and e-learning"),
            words("Public Health England fingertips profiles"),
        ];
        let vocab = Vocab::new(fields.iter().flatten());
        let ids: Vec<Vec<u32>> = fields
            .iter()
            .map(|f| f.iter().map(|w| vocab.id(w).unwrap()).collect())
            .collect();
        for query in [
            "deprivaton data",
            "helth",
            "e-learning profiles",
            "nothing here",
            "data",
            "inequal",
            "inequalitiesx",
            "fingertip",
            "prof",
            "publi",
            "heal",
        ] {
            for w in query_words(query) {
                assert_eq!(vocab.scores(&w), vocab.scores_naive(&w), "{w}");
            }
            let q = query_words(query);
            let tables: Vec<Vec<u8>> = q.iter().map(|w| vocab.scores(w)).collect();
            let by_words = score_fields(&q, &[(&fields[0], 3), (&fields[1], 2)]);
            let by_ids = score_ids(&tables, &[(&ids[0], 3), (&ids[1], 2)]);
            assert_eq!(by_words, by_ids, "{query}");
        }
    }

    #[test]
    fn words_match_with_typos_and_prefixes() {
        assert_eq!(word_score("equity", "equity"), 4);
        assert_eq!(word_score("inequal", "inequalities"), 3);
        assert!(word_score("inequalites", "inequalities") > 0);
        assert_eq!(word_score("cat", "car"), 0);
    }
}
