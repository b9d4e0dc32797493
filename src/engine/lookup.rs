//! Looking things up: the resource directory, examples, signposts, facts, definitions and
//! actions by role.
//!
//! These answer with content only (nothing personal), so their messages are public: an
//! adapter may post them in a shared channel. Matching is typo-tolerant and never builds a
//! regular expression from what people type (see `content::search`).

use super::Ctx;
use super::output::{Button, Message};
use super::state::At;
use crate::content::search::{query_words, score_fields, score_ids, words};
use crate::content::{Catalog, Example, Resource, check::TYPES};

/// Results shown per page of a resource search.
pub const PAGE: usize = 5;

/// Resources tagged with a lens, the framework's own references first.
pub fn lens_resources(cat: &Catalog, lens: u8) -> Vec<&Resource> {
    let mut v: Vec<&Resource> = cat
        .resources
        .iter()
        .filter(|r| r.lenses.contains(&lens))
        .collect();
    v.sort_by_key(|r| !r.id.starts_with("kf-"));
    v
}

/// Adds one resource to a message: title, publisher and year, type, what it is, the link as
/// printed (or why there is none), and a note when the body no longer exists.
pub fn resource_blocks(ctx: &Ctx<'_>, m: Message, r: &Resource) -> Message {
    let mut head = r.title.clone();
    let mut meta = Vec::new();
    if let Some(p) = &r.publisher {
        meta.push(p.clone());
    }
    if let Some(y) = r.year {
        meta.push(y.to_string());
    }
    if !meta.is_empty() {
        head.push_str(&format!(" ({})", meta.join(", ")));
    }
    let kind = ctx.t(&format!("type.{}", r.kind));
    let mut m = m
        .title(head)
        .para(format!("{kind}: {}", for_readers(&r.description)));
    match (&r.url, &r.no_url) {
        (Some(u), _) => {
            let shown = without_tracking(u);
            m = m.link(shown.clone(), shown);
            if let Some(n) = &r.url_note {
                m = m.para(ctx.tf("defunct", &[("note", n)]));
            }
        }
        (None, Some(why)) => {
            let why = for_readers(why);
            m = m.para(if why.is_empty() {
                ctx.t("no_link_given")
            } else {
                ctx.tf("no_link", &[("reason", &why)])
            })
        }
        (None, None) => {}
    }
    if let Some(d) = &r.defunct {
        m = m.para(ctx.tf("defunct", &[("note", d)]));
    }
    m
}

/// A content text without its authoring notes: sentences that name a source document by its
/// number ("004 does not name it") or say how an entry was written ("Title taken from the
/// link address") are for the people who keep the content, not for readers.
pub fn for_readers(text: &str) -> String {
    let authoring = |sentence: &str| {
        sentence.starts_with("Title taken from")
            || sentence.split_whitespace().any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                w.len() == 3 && w.starts_with('0') && w.bytes().all(|b| b.is_ascii_digit())
            })
    };
    let mut out: Vec<&str> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = rest
            .match_indices(". ")
            .next()
            .map(|(i, _)| i + 1)
            .unwrap_or(rest.len());
        let sentence = rest[..end].trim();
        if !authoring(sentence) {
            out.push(sentence);
        }
        rest = rest[end..].trim_start();
    }
    out.join(" ")
}

/// A link as shown: known tracking parameters (`gclid`, `fbclid`, `msclkid`, `utm_*`, …)
/// left out, the rest of the address as it is. The content keeps the address as printed, so
/// the checker can still compare it with the source.
pub fn without_tracking(url: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let Some((path, query)) = base.split_once('?') else {
        return url.to_string();
    };
    let tracking = |p: &str| {
        let key = p.split('=').next().unwrap_or("").to_ascii_lowercase();
        key.starts_with("utm_")
            || matches!(
                key.as_str(),
                "gclid" | "gbraid" | "wbraid" | "fbclid" | "msclkid" | "mc_cid" | "mc_eid" | "_ga"
            )
    };
    let kept: Vec<&str> = query.split('&').filter(|p| !tracking(p)).collect();
    let mut out = path.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

struct ResourceQuery {
    words: Vec<String>,
    lens: Option<u8>,
    kind: Option<&'static str>,
}

fn parse_query(q: &str) -> ResourceQuery {
    let mut lens = None;
    let mut kind = None;
    let mut rest = Vec::new();
    let ws = words(&q.replace("lens:", "lens "));
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        if w == "lens"
            && let Some(n) = ws.get(i + 1).and_then(|n| n.parse::<u8>().ok())
            && (1..=6).contains(&n)
        {
            lens = Some(n);
            i += 2;
            continue;
        }
        if let Some(t) = TYPES.iter().find(|t| {
            t.replace('-', "") == *w
                || (t.contains('-')
                    && i + 1 < ws.len()
                    && t.replace('-', "") == format!("{w}{}", ws[i + 1]))
        }) {
            kind = Some(*t);
            i += if t.replace('-', "") == *w { 1 } else { 2 };
            continue;
        }
        rest.push(w.clone());
        i += 1;
    }
    let words = query_words(&rest.join(" "));
    ResourceQuery { words, lens, kind }
}

/// Searches resources, best first.
pub fn search_resources<'a>(cat: &'a Catalog, query: &str) -> Vec<&'a Resource> {
    let q = parse_query(query);
    if q.words.is_empty() && q.lens.is_none() && q.kind.is_none() {
        // Nothing searchable was typed (only punctuation or very common words).
        return Vec::new();
    }
    let mut scored: Vec<(u32, usize, &Resource)> = Vec::new();
    // Each query word against each distinct word of the directory, once.
    let tables: Vec<Vec<u8>> = q
        .words
        .iter()
        .map(|w| cat.resource_words.scores(w))
        .collect();
    for (i, r) in cat.resources.iter().enumerate() {
        if q.lens.is_some_and(|l| !r.lenses.contains(&l)) || q.kind.is_some_and(|k| r.kind != k) {
            continue;
        }
        let score = if q.words.is_empty() {
            1
        } else {
            let [title, desc, publisher, kind] = &r.search_ids;
            score_ids(&tables, &[(title, 3), (desc, 2), (publisher, 2), (kind, 2)])
        };
        if score > 0 {
            scored.push((score, i, r));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, r)| r).collect()
}

/// The query's words with each one that matched only through a guessed spelling replaced by
/// the word it was taken for ("tranform" → "transform"); None when every word matched as typed.
fn guessed_query(cat: &Catalog, query: &str) -> Option<String> {
    let q = parse_query(query);
    let mut any = false;
    let words: Vec<String> = q
        .words
        .iter()
        .map(|w| match cat.resource_words.guess(w) {
            Some(g) => {
                any = true;
                g.to_string()
            }
            None => w.clone(),
        })
        .collect();
    any.then(|| words.join(" "))
}

/// `/resources [words]`: search, or ask what to look for.
pub fn resources(ctx: &mut Ctx<'_>, query: &str) {
    let query = query.trim();
    if query.is_empty() {
        ctx.st.at = At::ResourceQuery;
        let buttons = ctx
            .cat
            .lenses
            .iter()
            .map(|l| Button {
                label: ctx.tf("button.lens_n", &[("n", &l.number.to_string())]),
                token: format!("reslens:{}", l.number),
            })
            .collect();
        let count = ctx.cat.resources.len().to_string();
        let m = Message::public()
            .title(ctx.t("resources_ask_title"))
            .para(ctx.tf("resources_ask", &[("count", &count)]))
            .buttons(buttons);
        return ctx.say(m);
    }
    resource_page(ctx, query, 0)
}

/// One page of results for a query.
pub fn resource_page(ctx: &mut Ctx<'_>, query: &str, page: u32) {
    let found = search_resources(ctx.cat, query);
    let shown = super::text::shorten(query, 60);
    if found.is_empty() {
        ctx.st.at = At::ResourceQuery;
        let mut m = Message::public().para(ctx.tf("resources_none", &[("query", &shown)]));
        // The nearest need to signpost and term to define, when the words come close to one.
        let mut buttons = Vec::new();
        if let Some(n) =
            find_need(ctx.cat, query).and_then(|id| ctx.cat.needs.iter().find(|n| n.id == id))
        {
            m = m.para(ctx.tf("resources_try_signpost", &[("need", &n.name)]));
            buttons.push(Button {
                label: ctx.t("button.res_signpost"),
                token: format!("need:{}", n.id),
            });
        }
        if let Some(d) = find_definition(ctx.cat, query)
            .and_then(|id| ctx.cat.definitions.iter().find(|d| d.id == id))
        {
            m = m.para(ctx.tf("resources_try_define", &[("term", &d.term)]));
            buttons.push(Button {
                label: ctx.t("button.res_define"),
                token: format!("def:{}", d.id),
            });
        }
        return ctx.say(m.buttons(buttons));
    }
    let start = page as usize * PAGE;
    if start >= found.len() {
        let m = Message::public().para(ctx.t("resources_no_more"));
        return ctx.say(m);
    }
    ctx.st.at = At::ResourceResults {
        query: query.to_string(),
        page,
    };
    let end = (start + PAGE).min(found.len());
    // Found only through a guessed spelling: say what was searched for instead.
    let guessed = (page == 0).then(|| guessed_query(ctx.cat, query)).flatten();
    let with_guess = |ctx: &Ctx<'_>, m: Message| match &guessed {
        Some(g) => m.para(ctx.tf("resources_guessed", &[("guess", g)])),
        None => m,
    };
    // The results are for the guess, so the count names it, not the words as typed.
    let shown = match &guessed {
        Some(g) => super::text::shorten(g, 60),
        None => shown,
    };
    if found.len() == 1 {
        // One result is shown at once, not as a list of one.
        let m = with_guess(ctx, Message::public());
        let m = m.para(ctx.tf("resources_found_one", &[("query", &shown)]));
        let m = resource_blocks(ctx, m, found[0]);
        return ctx.say(m);
    }
    let mut m = with_guess(ctx, Message::public()).para(ctx.tf(
        "resources_found",
        &[
            ("count", &found.len().to_string()),
            ("query", &shown),
            ("from", &(start + 1).to_string()),
            ("to", &end.to_string()),
        ],
    ));
    for r in &found[start..end] {
        m = resource_blocks(ctx, m, r);
    }
    if end < found.len() {
        m = m.buttons(vec![ctx.button("button.more", "more")]);
    }
    ctx.say(m);
}

/// The "more" button: the next page of results.
pub fn more(ctx: &mut Ctx<'_>) {
    match ctx.st.at.clone() {
        At::ResourceResults { query, page } => resource_page(ctx, &query, page + 1),
        _ => super::where_now(ctx),
    }
}

/// Adds an example to a message.
pub fn example_blocks(ctx: &Ctx<'_>, m: Message, e: &Example) -> Message {
    let profs: Vec<String> = e
        .professions
        .iter()
        .map(|p| match ctx.cat.profession(p) {
            Some(p) => p.name.clone(),
            None => ctx.t("all_ahps"),
        })
        .collect();
    let lenses: Vec<String> = e.lenses.iter().map(|n| n.to_string()).collect();
    let mut m = m
        .title(e.title.clone())
        .para(ctx.tf(
            "example_tags",
            &[
                ("professions", &profs.join(", ")),
                ("lenses", &lenses.join(", ")),
            ],
        ))
        .para(e.summary.clone())
        .source(e.source.clone());
    if let Some(u) = &e.url {
        m = m.link(u.clone(), u.clone());
    }
    m
}

fn find_profession(cat: &Catalog, text: &str) -> Option<String> {
    let lower = text.trim().to_lowercase();
    if let Some(p) = cat
        .professions
        .iter()
        .find(|p| p.id == lower || p.name.to_lowercase() == lower || p.aliases.contains(&lower))
    {
        return Some(p.id.clone());
    }
    let q = query_words(&lower);
    if q.is_empty() {
        return None;
    }
    cat.professions
        .iter()
        .map(|p| {
            let name = words(&p.name);
            let aliases: Vec<String> = p.aliases.iter().flat_map(|a| words(a)).collect();
            (score_fields(&q, &[(&name, 2), (&aliases, 2)]), p)
        })
        .filter(|(s, _)| *s > 0)
        .max_by_key(|(s, _)| *s)
        .map(|(_, p)| p.id.clone())
}

/// Matches typed text to a profession id (exact name or alias first, then typo-tolerant).
pub fn profession_from_text(cat: &Catalog, text: &str) -> Option<String> {
    find_profession(cat, text)
}

/// `/examples [profession or words]`.
pub fn examples(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    // An example's own id (a group's deep link to one example): that example.
    if let Some(e) = ctx.cat.examples.iter().find(|e| e.id == arg) {
        let id = e.id.clone();
        return example(ctx, &id);
    }
    let prof = if arg.is_empty() {
        ctx.st.profession.clone()
    } else {
        find_profession(ctx.cat, arg)
    };
    let (heading, found): (String, Vec<&Example>) = if let Some(p) = &prof {
        let name = ctx
            .cat
            .profession(p)
            .map(|p| super::text::mid_sentence(&p.name))
            .unwrap_or_default();
        (
            ctx.tf("examples_for", &[("profession", &name)]),
            ctx.cat
                .examples
                .iter()
                .filter(|e| e.professions.contains(p))
                .collect(),
        )
    } else if arg.is_empty() {
        let m = Message::public()
            .para(ctx.t("examples_spirit"))
            .para(ctx.t("examples_ask"))
            .list(
                false,
                ctx.cat.professions.iter().map(|p| p.name.clone()).collect(),
            );
        return ctx.say(m);
    } else {
        let q = query_words(arg);
        let mut scored: Vec<(u32, &Example)> = ctx
            .cat
            .examples
            .iter()
            .map(|e| {
                let [t, s] = &e.search;
                (score_fields(&q, &[(t, 3), (s, 2)]), e)
            })
            .filter(|(s, _)| *s > 0)
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        (
            ctx.tf(
                "examples_matching",
                &[("query", &super::text::shorten(arg, 60))],
            ),
            scored.into_iter().map(|(_, e)| e).collect(),
        )
    };
    if found.is_empty() {
        let m = Message::public().para(ctx.tf(
            "examples_none",
            &[("query", &super::text::shorten(arg, 60))],
        ));
        return ctx.say(m);
    }
    let items: Vec<String> = found.iter().take(10).map(|e| e.title.clone()).collect();
    let buttons = found
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, e)| Button {
            label: ctx.tf("button.example_n", &[("k", &(i + 1).to_string())]),
            token: format!("ex:{}", e.id),
        })
        .collect();
    let m = Message::public()
        .title(heading)
        .para(ctx.t("examples_spirit"))
        .para(ctx.tf("examples_count", &[("count", &found.len().to_string())]))
        .list(true, items)
        .buttons(buttons);
    ctx.say(m);
}

/// One example, by id.
pub fn example(ctx: &mut Ctx<'_>, id: &str) {
    match ctx.cat.examples.iter().find(|e| e.id == id) {
        Some(e) => {
            // Somewhere to go next, as after every other lookup.
            let b = vec![
                ctx.button("button.more_examples", "exmenu"),
                ctx.button("button.choose_lens", "lensmenu"),
            ];
            let m = example_blocks(ctx, Message::public(), e).buttons(b);
            ctx.say(m);
        }
        None => {
            let m = Message::public().para(ctx.t("content_changed"));
            ctx.say(m);
        }
    }
}

/// `/signpost [need]`: a need's card, or the menu of needs.
pub fn signpost(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if !arg.is_empty() {
        if let Some(id) = find_need(ctx.cat, arg) {
            return need(ctx, &id);
        }
        let q = query_words(arg);
        let me = words("me professional myself my role ahp colleague");
        if score_fields(&q, &[(&me, 1)]) > 0 {
            return contacts(ctx);
        }
        if let Some(id) = find_contact(ctx.cat, arg) {
            return contact(ctx, &id);
        }
        let msg = ctx.tf(
            "signpost_unknown",
            &[("input", &super::text::shorten(arg, 40))],
        );
        ctx.say_text(msg);
    }
    ctx.st.at = At::SignpostMenu;
    let mut buttons: Vec<Button> = ctx
        .cat
        .needs
        .iter()
        .map(|n| Button {
            label: super::text::shorten(&n.name, 40),
            token: format!("need:{}", n.id),
        })
        .collect();
    buttons.push(ctx.button("button.for_me", "contacts"));
    let m = Message::private()
        .title(ctx.t("signpost_title"))
        .para(ctx.t("signpost_ask"))
        .buttons(buttons);
    ctx.say(m);
}

fn find_need(cat: &Catalog, text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    if let Some(n) = cat
        .needs
        .iter()
        .find(|n| n.id == lower || n.name.to_lowercase() == lower)
    {
        return Some(n.id.clone());
    }
    if let Some(n) = cat
        .needs
        .iter()
        .find(|n| n.pattern.as_ref().is_some_and(|p| p.is_match(&lower)))
    {
        return Some(n.id.clone());
    }
    let q = query_words(&lower);
    if q.is_empty() {
        return None;
    }
    let mut best: Option<(u32, &str)> = None;
    for n in &cat.needs {
        let name = words(&n.name);
        let kw: Vec<String> = n.keywords.iter().flat_map(|k| words(k)).collect();
        // Any query word may match: people type phrases ("my patient can't pay rent").
        let s: u32 = q
            .iter()
            .map(|w| score_fields(std::slice::from_ref(w), &[(&name, 3), (&kw, 3)]))
            .sum();
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, &n.id));
        }
    }
    best.map(|(_, id)| id.to_string())
}

/// A need's card: what to ask, local help, national services, and emergency guidance.
pub fn need(ctx: &mut Ctx<'_>, id: &str) {
    let Some(n) = ctx.cat.needs.iter().find(|n| n.id == id).cloned() else {
        return signpost(ctx, "");
    };
    let mut m = Message::public().title(n.name.clone());
    if n.urgent {
        m = m.para(ctx.t("urgent_banner"));
    }
    for g in &n.guidance {
        m = m.para(g.clone());
    }
    m = m
        .para(ctx.t("signpost_ask_heading"))
        .list(false, n.ask.clone())
        .para(ctx.t("signpost_local_heading"))
        .list(false, n.local.clone());
    if !n.national.is_empty() {
        m = m.para(ctx.t("signpost_national_heading"));
        let shared = shared_notes(&n.national);
        for s in &n.national {
            m = m.para(format!("{}: {}", s.name, s.what));
            if let Some(u) = &s.url {
                m = m.link(u.clone(), u.clone());
            }
            if let Some(note) = &s.url_note
                && !shared.iter().any(|(n, _)| n == note)
            {
                m = m.para(ctx.tf("link_note", &[("note", &after_colon(note))]));
            }
        }
        for (note, names) in &shared {
            m = m.para(ctx.tf(
                "link_note_shared",
                &[("names", &names.join(", ")), ("note", &after_colon(note))],
            ));
        }
    }
    m = m.para(ctx.t("signpost_emergency")).source(n.source.clone());
    ctx.say(m);
}

/// The professional card whose keywords a phrase names (`/signpost weight`), if any. Only
/// cards with keywords can be reached this way. A keyword of several words counts only when the
/// phrase holds it whole ("bigger bodies"); a one-word keyword matches any word typed, with the
/// usual tolerance for typos.
fn find_contact(cat: &Catalog, text: &str) -> Option<String> {
    let q = query_words(text);
    if q.is_empty() {
        return None;
    }
    let lower = text.to_lowercase();
    let mut best: Option<(u32, &str)> = None;
    for c in &cat.contacts {
        let kw: Vec<String> = c
            .keywords
            .iter()
            .filter(|k| words(k).len() == 1)
            .flat_map(|k| words(k))
            .collect();
        let phrase = c
            .keywords
            .iter()
            .filter(|k| words(k).len() > 1 && lower.contains(k.as_str()))
            .count() as u32;
        let s: u32 = phrase * 3
            + q.iter()
                .map(|w| score_fields(std::slice::from_ref(w), &[(&kw, 3)]))
                .sum::<u32>();
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, &c.id));
        }
    }
    best.map(|(_, id)| id.to_string())
}

/// One professional card, with a button to everyone else the AHP could connect with.
pub fn contact(ctx: &mut Ctx<'_>, id: &str) {
    let Some(c) = ctx.cat.contacts.iter().find(|c| c.id == id).cloned() else {
        return contacts(ctx);
    };
    let m = Message::public()
        .title(c.name)
        .para(c.why)
        .para(c.how)
        .source(c.source)
        .buttons(vec![ctx.button("button.for_me", "contacts")]);
    ctx.say(m);
}

/// The notes about links that several services on one card share, each with the services'
/// names, in the order first met: said once under the list instead of under every service.
fn shared_notes(services: &[crate::content::Service]) -> Vec<(String, Vec<String>)> {
    let mut notes: Vec<(String, Vec<String>)> = Vec::new();
    for s in services {
        if let Some(note) = &s.url_note {
            match notes.iter_mut().find(|(n, _)| n == note) {
                Some((_, names)) => names.push(s.name.clone()),
                None => notes.push((note.clone(), vec![s.name.clone()])),
            }
        }
    }
    notes.retain(|(_, names)| names.len() > 1);
    notes
}

/// A note as it reads after a colon: a leading capital is lowered ("Not printed" becomes
/// "not printed"), unless the first word is all capitals or a name like "GOV.UK".
fn after_colon(note: &str) -> String {
    let mut chars = note.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => {
            let mut s: String = a.to_lowercase().collect();
            s.push(b);
            s.extend(chars);
            s
        }
        _ => note.to_string(),
    }
}

/// Who the AHP can connect with.
pub fn contacts(ctx: &mut Ctx<'_>) {
    let mut m = Message::public()
        .title(ctx.t("contacts_title"))
        .para(ctx.t("contacts_intro"));
    for c in &ctx.cat.contacts {
        m = m
            .title(c.name.clone())
            .para(c.why.clone())
            .para(c.how.clone())
            .source(c.source.clone());
    }
    ctx.say(m);
}

/// Terms offered as buttons on the `/define` menu (Discord shows at most 25 on a message, one
/// kept for the answer box).
const DEFINE_BUTTONS: usize = 24;

/// `/define [term]`.
pub fn define(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if !arg.is_empty() {
        if let Some(id) = find_definition(ctx.cat, arg) {
            return definition(ctx, &id);
        }
        let msg = ctx.tf(
            "define_unknown",
            &[("input", &super::text::shorten(arg, 40))],
        );
        ctx.say(Message::public().para(msg));
    }
    ctx.st.at = At::DefineMenu;
    let buttons = ctx
        .cat
        .definitions
        .iter()
        .take(DEFINE_BUTTONS)
        .map(|d| Button {
            label: super::text::shorten(&d.term, 40),
            token: format!("def:{}", d.id),
        })
        .collect();
    let mut m = Message::public()
        .title(ctx.t("define_title"))
        .para(ctx.t("define_ask"));
    // Beyond what a message's buttons can hold, the other terms are named, to be typed.
    let rest: Vec<&str> = ctx
        .cat
        .definitions
        .iter()
        .skip(DEFINE_BUTTONS)
        .map(|d| d.term.as_str())
        .collect();
    if !rest.is_empty() {
        m = m.para(ctx.tf("define_more", &[("terms", &rest.join("; "))]));
    }
    ctx.say(m.buttons(buttons));
}

fn find_definition(cat: &Catalog, text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let lower = lower.trim_start_matches("the ").trim();
    let items: Vec<(&str, &str, &[String])> = cat
        .definitions
        .iter()
        .map(|d| (d.id.as_str(), d.term.as_str(), d.aliases.as_slice()))
        .collect();
    find_named(&items, lower)
}

/// The id of the item (id, name, aliases) a lower-cased phrase names: an exact id, name or
/// alias first, else the best typo-tolerant match on the name's words (weighted 3) and the
/// aliases' (2). Definitions and roles are looked up alike.
fn find_named(items: &[(&str, &str, &[String])], lower: &str) -> Option<String> {
    if let Some((id, _, _)) = items.iter().find(|(id, name, aliases)| {
        *id == lower || name.to_lowercase() == lower || aliases.iter().any(|a| a == lower)
    }) {
        return Some(id.to_string());
    }
    let q = query_words(lower);
    if q.is_empty() {
        return None;
    }
    let mut best: Option<(u32, &str)> = None;
    for (id, name, aliases) in items {
        let name = words(name);
        let aliases: Vec<String> = aliases.iter().flat_map(|a| words(a)).collect();
        let s = score_fields(&q, &[(&name, 3), (&aliases, 2)]);
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, id));
        }
    }
    best.map(|(_, id)| id.to_string())
}

/// One definition, by id.
pub fn definition(ctx: &mut Ctx<'_>, id: &str) {
    let Some(d) = ctx.cat.definitions.iter().find(|d| d.id == id).cloned() else {
        return define(ctx, "");
    };
    if ctx.st.at == At::DefineMenu {
        ctx.st.at = At::Idle;
    }
    let mut m = Message::public()
        .title(d.term.clone())
        .para(d.explanation.clone());
    if let Some(q) = &d.quote {
        m = m.para(q.clone());
    }
    let source = match d.year {
        Some(y) if !d.source.contains(&y.to_string()) => format!("{} ({y})", d.source),
        _ => d.source.clone(),
    };
    ctx.say(m.source(source));
}

/// `/role [role]`: All Our Health's suggested actions for a role, or the roles as buttons.
pub fn role(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if !arg.is_empty() {
        if let Some(id) = find_role(ctx.cat, arg) {
            return role_card(ctx, &id);
        }
        let msg = ctx.tf("role_unknown", &[("input", &super::text::shorten(arg, 40))]);
        ctx.say(Message::public().para(msg));
    }
    ctx.st.at = At::RoleMenu;
    let buttons = ctx
        .cat
        .roles
        .iter()
        .map(|r| Button {
            label: super::text::shorten(&r.name, 40),
            token: format!("role:{}", r.id),
        })
        .collect();
    let m = Message::public()
        .title(ctx.t("role_title"))
        .para(ctx.t("role_ask"))
        .buttons(buttons);
    ctx.say(m);
}

/// The role a person typed: its id, name or an alias, else the best word match.
fn find_role(cat: &Catalog, text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let lower = lower
        .trim_start_matches("a ")
        .trim_start_matches("an ")
        .trim_start_matches("the ")
        .trim();
    let items: Vec<(&str, &str, &[String])> = cat
        .roles
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str(), r.aliases.as_slice()))
        .collect();
    find_named(&items, lower)
}

/// One role's suggested actions, by id (the role menu when the id is unknown).
pub fn role_card(ctx: &mut Ctx<'_>, id: &str) {
    let Some(r) = ctx.cat.roles.iter().find(|r| r.id == id).cloned() else {
        return role(ctx, "");
    };
    if ctx.st.at == At::RoleMenu {
        ctx.st.at = At::Idle;
    }
    let m = Message::public()
        .title(ctx.tf("role_card_title", &[("role", &r.name)]))
        .para(r.intro)
        .para(ctx.t("role_can"))
        .list(false, r.actions)
        .para(ctx.t("role_more"))
        .source(r.source);
    ctx.say(m);
}

/// `/fact`: the next "did you know", in an order that differs from person to person.
pub fn fact(ctx: &mut Ctx<'_>) {
    let n = ctx.cat.facts.len();
    if n == 0 {
        let msg = ctx.t("no_facts");
        return ctx.say_text(msg);
    }
    let seed = fnv(&ctx.st.user) as usize;
    let stride = [7usize, 11, 13, 17, 19, 23, 29, 31]
        .into_iter()
        .find(|p| !n.is_multiple_of(*p))
        .unwrap_or(1);
    let i = (seed % n + (ctx.st.facts_shown as usize % n) * stride) % n;
    ctx.st.facts_shown = ctx.st.facts_shown.wrapping_add(1);
    let f = &ctx.cat.facts[i];
    let source = if f.source.contains(&f.year.to_string()) {
        f.source.clone()
    } else {
        format!("{} (figure from {})", f.source, f.year)
    };
    let m = Message::public()
        .title(ctx.t("fact_title"))
        .para(f.text.clone())
        .source(source)
        .buttons(vec![ctx.button("button.another_fact", "fact")]);
    ctx.say(m);
}

/// FNV-1a: a small stable hash, so orders are the same on every run and machine.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Authoring notes (sentences naming a source document by number, or how a title was
    /// found) are left out; the reader's sentences stay, in order.
    #[test]
    fn authoring_notes_never_reach_readers() {
        assert_eq!(
            for_readers(
                "Report on people who use A&E very often. Title taken from the link address; 004 does not name it."
            ),
            "Report on people who use A&E very often."
        );
        assert_eq!(
            for_readers("004 prints this link cut off part-way, so no full address is given."),
            ""
        );
        assert_eq!(
            for_readers("In 2013 it had 12 member bodies. Over 130,000 members."),
            "In 2013 it had 12 member bodies. Over 130,000 members."
        );
    }

    /// Tracking parameters are left out of a shown link; other parameters and the fragment stay.
    #[test]
    fn tracking_parameters_are_not_shown() {
        assert_eq!(
            without_tracking(
                "https://www.health.org.uk/publications/what-makes-us-healthy?gclid=CjwKCA_BwE"
            ),
            "https://www.health.org.uk/publications/what-makes-us-healthy"
        );
        assert_eq!(
            without_tracking("https://x.org/p?id=4&utm_source=a&UTM_medium=b#part"),
            "https://x.org/p?id=4#part"
        );
        assert_eq!(
            without_tracking("https://x.org/p?id=4"),
            "https://x.org/p?id=4"
        );
        assert_eq!(without_tracking("https://x.org/p"), "https://x.org/p");
    }
    use crate::content::Service;

    fn service(name: &str, note: Option<&str>) -> Service {
        Service {
            name: name.into(),
            what: String::new(),
            url: None,
            url_note: note.map(String::from),
        }
    }

    #[test]
    fn a_note_reads_on_after_a_colon_but_names_keep_their_capitals() {
        assert_eq!(after_colon("Not printed here."), "not printed here.");
        assert_eq!(after_colon("GOV.UK lists it."), "GOV.UK lists it.");
        assert_eq!(after_colon("A"), "A");
        assert_eq!(after_colon(""), "");
    }

    #[test]
    fn only_notes_that_several_services_share_are_gathered() {
        let s = [
            service("A", Some("home page")),
            service("B", Some("search by name")),
            service("C", None),
            service("D", Some("home page")),
        ];
        assert_eq!(
            shared_notes(&s),
            vec![(
                "home page".to_string(),
                vec!["A".to_string(), "D".to_string()]
            )]
        );
    }
}
