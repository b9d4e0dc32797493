//! The content checker: every mistake an author can make, named `file:line:col`.
//!
//! [`check_dir`] parses every file of a dialogues folder, runs every check and, when nothing
//! is an error, builds the [`Catalog`]. It never stops at the first problem: an author fixing a
//! file wants the whole list. What it checks: YAML syntax and unknown fields; missing files and
//! unknown ones; id format and duplicates; lens structure (all six lenses, three modes, enough
//! prompts, actions of every size, a meeting line: an empty mode is a dead end); length limits
//! for texts and button labels; `{placeholders}` the program does not define; lens numbers,
//! profession ids and resource types that do not exist (unknown targets); resources no lens
//! reaches; URLs that are malformed, or absent without a reason, or (when the source documents
//! are at hand) not printed in any source; regular expressions that do not compile; and ids in
//! `ids.lock` that have gone since they were released (people may be standing on them).

use super::raw::{self, S};
use super::ui;
use super::{
    Action, Catalog, Contact, Definition, Example, Fact, Item, Lens, Meeting, Mode, ModeKind, Need,
    Plan, PlanDay, PrepPrompt, Profession, Resource, Role, Service,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The content cannot be used until it is fixed.
    Error,
    /// Worth a look; the bot still runs.
    Warning,
}

/// One finding of the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file, relative to the dialogues folder.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is meant).
    pub line: u64,
    /// 1-based column.
    pub col: u64,
    /// What is wrong, and how to put it right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {kind}: {}",
            self.file.display(),
            self.line.max(1),
            self.col.max(1),
            self.message
        )
    }
}

/// What the checker should do beyond the content itself.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The source documents, to confirm every URL is printed in one of them.
    pub sources: Option<PathBuf>,
    /// Compare with `ids.lock` (ids released to users).
    pub ids_lock: bool,
}

/// The limits from `dialogues/README.md`.
pub mod limits {
    /// A mode summary or an explanation.
    pub const SUMMARY: usize = 700;
    /// A prompt, action or meeting line.
    pub const LINE: usize = 300;
    /// An example's summary.
    pub const EXAMPLE: usize = 900;
    /// A resource's description.
    pub const DESCRIPTION: usize = 200;
    /// A fact.
    pub const FACT: usize = 400;
    /// A button label.
    pub const LABEL: usize = 40;
    /// An id (ids travel inside 64-byte button tokens).
    pub const ID: usize = 24;
    /// Fewest prompts per mode before the checker warns.
    pub const PROMPTS: usize = 3;
}

/// The action sizes authors may use.
pub const SIZES: [&str; 3] = ["five-minutes", "an-hour", "longer-term"];

/// The resource types authors may use.
pub const TYPES: [&str; 13] = [
    "report",
    "data-tool",
    "e-learning",
    "network",
    "case-studies",
    "guidance",
    "toolkit",
    "organisation",
    "strategy",
    "framework",
    "article",
    "website",
    "legislation",
];

struct Ctx {
    problems: Vec<Problem>,
    file: PathBuf,
}

impl Ctx {
    fn at<T>(&mut self, sev: Severity, s: &S<T>, msg: impl Into<String>) {
        let (line, col) = (s.referenced.line(), s.referenced.column());
        self.push(sev, line, col, msg);
    }
    fn err<T>(&mut self, s: &S<T>, msg: impl Into<String>) {
        self.at(Severity::Error, s, msg)
    }
    fn warn<T>(&mut self, s: &S<T>, msg: impl Into<String>) {
        self.at(Severity::Warning, s, msg)
    }
    fn push(&mut self, severity: Severity, line: u64, col: u64, msg: impl Into<String>) {
        self.problems.push(Problem {
            severity,
            file: self.file.clone(),
            line,
            col,
            message: msg.into(),
        });
    }
    fn file_err(&mut self, msg: impl Into<String>) {
        self.push(Severity::Error, 1, 1, msg)
    }

    fn id(&mut self, id: &S<String>, seen: &mut HashMap<String, String>, what: &str) {
        let v = &id.value;
        let ok = !v.is_empty()
            && v.len() <= limits::ID
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            self.err(
                id,
                format!(
                    "{what} id `{v}` must be 1-{} characters of lowercase letters, digits and `-`",
                    limits::ID
                ),
            );
        }
        let here = format!("{}:{}", self.file.display(), id.referenced.line().max(1));
        if let Some(first) = seen.insert(v.clone(), here.clone()) {
            self.err(
                id,
                format!("duplicate {what} id `{v}` (first used at {first})"),
            );
            seen.insert(v.clone(), first);
        }
    }

    fn text(&mut self, s: &S<String>, max: usize, field: &str, vars: &[&str]) {
        let n = s.value.trim().chars().count();
        if n == 0 {
            self.err(s, format!("`{field}` is empty"));
        } else if n > max {
            self.err(
                s,
                format!("`{field}` is {n} characters; the limit is {max}: shorten it"),
            );
        }
        for name in placeholders(&s.value) {
            if !vars.contains(&name.as_str()) {
                let allowed = if vars.is_empty() {
                    "none are defined here".to_string()
                } else {
                    format!(
                        "defined here: {}",
                        vars.iter()
                            .map(|v| format!("{{{v}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.err(
                    s,
                    format!("undefined variable `{{{name}}}` in `{field}` ({allowed})"),
                );
            }
        }
    }

    fn source(&mut self, s: &S<String>) {
        if s.value.trim().is_empty() {
            self.err(s, "`source` is empty: name the document and section");
        }
    }

    fn lenses(&mut self, s: &S<Vec<u8>>, what: &str) {
        if s.value.is_empty() {
            self.err(s, format!("{what} has no lens: give at least one of 1-6, or nobody can reach it from a lens"));
        }
        for n in &s.value {
            if !(1..=6).contains(n) {
                self.err(s, format!("unknown lens {n}: lenses are numbered 1-6"));
            }
        }
    }

    fn url(&mut self, url: &S<String>, note: bool, sources: &Option<String>) {
        let u = &url.value;
        if !(u.starts_with("http://") || u.starts_with("https://") || u.starts_with("www."))
            || u.chars().any(char::is_whitespace)
        {
            self.err(
                url,
                format!("`{u}` is not a web address (http://, https:// or www., no spaces)"),
            );
            return;
        }
        if let Some(text) = sources
            && !note
            && !text.contains(u.as_str())
        {
            self.err(
                url,
                format!("`{u}` is not printed in any source document: copy it exactly, or add `url_note:` saying where it comes from"),
            );
        }
    }
}

/// `{name}` placeholders in a text.
pub fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(after[..close].to_string());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

fn parse<T: serde::de::DeserializeOwned>(ctx: &mut Ctx, text: &str) -> Option<T> {
    match serde_saphyr::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let (line, col) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let msg = e.without_snippet().to_string();
            let msg = match msg.rfind(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            ctx.push(Severity::Error, line, col, msg);
            None
        }
    }
}

fn read(ctx: &mut Ctx, dir: &Path, rel: &str) -> Option<String> {
    ctx.file = PathBuf::from(rel);
    match std::fs::read_to_string(dir.join(rel)) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ctx.push(Severity::Error, 0, 0, "this file is missing");
            None
        }
        Err(e) => {
            ctx.push(Severity::Error, 0, 0, format!("cannot read it: {e}"));
            None
        }
    }
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// The program's stable id of a lens stop, as stored in people's state and `ids.lock`.
pub fn stop_key(lens: &str, item: &str) -> String {
    format!("{lens}/{item}")
}

/// Checks a dialogues folder; returns the catalog when it could be built, and every problem.
pub fn check_dir(dir: &Path, options: &Options) -> (Option<Catalog>, Vec<Problem>) {
    let mut ctx = Ctx {
        problems: Vec::new(),
        file: PathBuf::new(),
    };
    if !dir.is_dir() {
        ctx.file = dir.to_path_buf();
        ctx.push(Severity::Error, 0, 0, "no such folder of dialogues");
        return (None, ctx.problems);
    }
    let sources = options.sources.as_ref().map(|d| {
        let mut all = String::new();
        if let Ok(rd) = std::fs::read_dir(d) {
            let mut names: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names {
                if p.extension().is_some_and(|e| e == "txt")
                    && let Ok(t) = std::fs::read_to_string(&p)
                {
                    all.push_str(&t);
                    all.push('\n');
                }
            }
        }
        all
    });

    let known_top: BTreeSet<&str> = [
        "examples.yaml",
        "definitions.yaml",
        "facts.yaml",
        "signposts.yaml",
        "professions.yaml",
        "prep.yaml",
        "challenges.yaml",
        "roles.yaml",
        "ui.yaml",
    ]
    .into_iter()
    .collect();
    for name in yaml_files(dir) {
        if !known_top.contains(name.as_str()) {
            ctx.file = PathBuf::from(&name);
            ctx.file_err(format!(
                "unknown content file: expected one of {}, or a file under lenses/ or resources/",
                known_top.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    // Professions first: examples refer to them.
    let mut professions = Vec::new();
    let mut prof_ids: HashMap<String, String> = HashMap::new();
    if let Some(t) = read(&mut ctx, dir, "professions.yaml")
        && let Some(f) = parse::<raw::ProfessionsFile>(&mut ctx, &t)
    {
        for p in f.professions {
            ctx.id(&p.id, &mut prof_ids, "profession");
            ctx.text(&p.name, limits::LABEL, "name", &[]);
            professions.push(Profession {
                id: p.id.value,
                name: p.name.value,
                aliases: p
                    .aliases
                    .into_iter()
                    .map(|a| a.value.to_lowercase())
                    .collect(),
            });
        }
    }

    // Lenses.
    let mut lenses: Vec<Lens> = Vec::new();
    let mut lens_files = yaml_files(&dir.join("lenses"));
    lens_files.sort();
    if lens_files.is_empty() {
        ctx.file = PathBuf::from("lenses");
        ctx.push(
            Severity::Error,
            0,
            0,
            "no lens files: expected lenses/1-….yaml to lenses/6-….yaml",
        );
    }
    let mut lens_numbers: HashMap<u8, String> = HashMap::new();
    let mut lens_ids: HashMap<String, String> = HashMap::new();
    let mut keyword_owner: HashMap<String, u8> = HashMap::new();
    let mut stop_keys: BTreeSet<String> = BTreeSet::new();
    for name in &lens_files {
        let rel = format!("lenses/{name}");
        let Some(t) = read(&mut ctx, dir, &rel) else {
            continue;
        };
        let Some(l) = parse::<raw::Lens>(&mut ctx, &t) else {
            continue;
        };
        if let Some(lens) = check_lens(
            &mut ctx,
            l,
            &mut lens_numbers,
            &mut lens_ids,
            &mut keyword_owner,
        ) {
            stop_keys.insert(lens.id.clone());
            for m in &lens.modes {
                stop_keys.insert(stop_key(&lens.id, m.kind.as_str()));
                for p in m.prompts.iter().chain(&m.meeting_lines) {
                    stop_keys.insert(stop_key(&lens.id, &p.id));
                }
                for a in &m.actions {
                    stop_keys.insert(stop_key(&lens.id, &a.id));
                }
            }
            lenses.push(lens);
        }
    }
    lenses.sort_by_key(|l| l.number);
    for n in 1..=6u8 {
        if !lens_numbers.contains_key(&n) && !lens_files.is_empty() {
            ctx.file = PathBuf::from("lenses");
            ctx.push(
                Severity::Error,
                0,
                0,
                format!("lens {n} is missing: the framework has six lenses"),
            );
        }
    }

    // Examples.
    let mut examples = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "examples.yaml")
        && let Some(f) = parse::<raw::ExamplesFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        for e in f.examples {
            ctx.id(&e.id, &mut ids, "example");
            ctx.text(&e.title, 120, "title", &[]);
            ctx.text(&e.summary, limits::EXAMPLE, "summary", &[]);
            ctx.source(&e.source);
            ctx.lenses(&e.lenses, "this example");
            if e.professions.is_empty() {
                ctx.err(&e.id, "no `professions`: give profession ids or [all]");
            }
            for p in &e.professions {
                if p.value != "all" && !prof_ids.contains_key(&p.value) {
                    ctx.err(
                        p,
                        format!(
                            "unknown profession `{}`: use an id from professions.yaml, or `all`",
                            p.value
                        ),
                    );
                }
            }
            if let Some(u) = &e.url {
                ctx.url(u, false, &sources);
            }
            let search = [
                super::search::words(&e.title.value),
                super::search::words(&e.summary.value),
            ];
            examples.push(Example {
                search,
                id: e.id.value,
                title: e.title.value.trim().to_string(),
                lenses: e.lenses.value,
                professions: e.professions.into_iter().map(|p| p.value).collect(),
                summary: e.summary.value.trim().to_string(),
                source: e.source.value,
                url: e.url.map(|u| u.value),
            });
        }
    }

    // Resources.
    let mut resources = Vec::new();
    let res_files = yaml_files(&dir.join("resources"));
    if res_files.is_empty() {
        ctx.file = PathBuf::from("resources");
        ctx.push(Severity::Error, 0, 0, "no resource files under resources/");
    }
    let mut res_ids = HashMap::new();
    for name in &res_files {
        let rel = format!("resources/{name}");
        let Some(t) = read(&mut ctx, dir, &rel) else {
            continue;
        };
        let Some(f) = parse::<raw::ResourcesFile>(&mut ctx, &t) else {
            continue;
        };
        for r in f.resources {
            ctx.id(&r.id, &mut res_ids, "resource");
            ctx.text(&r.title, 300, "title", &[]);
            ctx.text(&r.description, limits::DESCRIPTION, "description", &[]);
            ctx.source(&r.source);
            ctx.lenses(&r.lenses, "this resource");
            if !TYPES.contains(&r.kind.value.as_str()) {
                ctx.err(
                    &r.kind,
                    format!(
                        "unknown type `{}`: use one of {}",
                        r.kind.value,
                        TYPES.join(", ")
                    ),
                );
            }
            if let (Some(n), None) = (&r.url_note, &r.url) {
                ctx.err(n, "`url_note` cautions about a `url`, and there is none");
            }
            match (&r.url, &r.no_url) {
                (Some(u), None) => ctx.url(u, false, &sources),
                (Some(u), Some(_)) => ctx.err(u, "give `url` or `no_url`, not both"),
                (None, Some(n)) => ctx.text(n, 300, "no_url", &[]),
                (None, None) => ctx.err(
                    &r.id,
                    "no `url`: copy the link as printed, or say why there is none in `no_url`",
                ),
            }
            if let Some(y) = &r.year
                && !(1900..=2100).contains(&y.value)
            {
                ctx.err(y, format!("year {} looks wrong", y.value));
            }
            let search = [
                super::search::words(&r.title.value),
                super::search::words(&r.description.value),
                super::search::words(r.publisher.as_ref().map(|p| p.value.as_str()).unwrap_or("")),
                super::search::words(&r.kind.value),
            ];
            resources.push(Resource {
                search,
                search_ids: Default::default(),
                id: r.id.value,
                title: r.title.value.trim().to_string(),
                publisher: r.publisher.map(|p| p.value),
                year: r.year.map(|y| y.value),
                url: r.url.map(|u| u.value),
                no_url: r.no_url.map(|u| u.value.trim().to_string()),
                url_note: r.url_note.map(|u| u.value.trim().to_string()),
                description: r.description.value.trim().to_string(),
                lenses: r.lenses.value,
                kind: r.kind.value,
                defunct: r.defunct.map(|d| d.value.trim().to_string()),
                source: r.source.value,
            });
        }
    }
    for n in 1..=6u8 {
        if !resources.is_empty() && !resources.iter().any(|r| r.lenses.contains(&n)) {
            ctx.file = PathBuf::from("resources");
            ctx.push(
                Severity::Error,
                0,
                0,
                format!(
                    "no resource is tagged with lens {n}: the lens would end with an empty list"
                ),
            );
        }
    }

    // Definitions.
    let mut definitions = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "definitions.yaml")
        && let Some(f) = parse::<raw::DefinitionsFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        for d in f.definitions {
            ctx.id(&d.id, &mut ids, "definition");
            ctx.text(&d.term, 80, "term", &[]);
            ctx.text(&d.explanation, limits::SUMMARY, "explanation", &[]);
            ctx.source(&d.source);
            if let Some(q) = &d.quote {
                ctx.text(q, limits::SUMMARY, "quote", &[]);
                if !q.value.contains('"') && !q.value.contains('\u{201c}') {
                    ctx.err(q, "a `quote` must be in quotation marks");
                }
            }
            definitions.push(Definition {
                id: d.id.value,
                term: d.term.value,
                aliases: d
                    .aliases
                    .into_iter()
                    .map(|a| a.value.to_lowercase())
                    .collect(),
                explanation: d.explanation.value.trim().to_string(),
                quote: d.quote.map(|q| q.value.trim().to_string()),
                source: d.source.value,
                year: d.year.map(|y| y.value),
            });
        }
    }

    // Facts.
    let mut facts = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "facts.yaml")
        && let Some(f) = parse::<raw::FactsFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        for x in f.facts {
            ctx.id(&x.id, &mut ids, "fact");
            ctx.text(&x.text, limits::FACT, "text", &[]);
            ctx.text(&x.figure, 80, "figure", &[]);
            ctx.source(&x.source);
            ctx.lenses(&x.lenses, "this fact");
            if !(1900..=2100).contains(&x.year.value) {
                ctx.err(&x.year, format!("year {} looks wrong", x.year.value));
            }
            facts.push(Fact {
                id: x.id.value,
                text: x.text.value.trim().to_string(),
                figure: x.figure.value,
                year: x.year.value,
                source: x.source.value,
                lenses: x.lenses.value,
            });
        }
    }

    // Signposts.
    let mut needs = Vec::new();
    let mut contacts = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "signposts.yaml")
        && let Some(f) = parse::<raw::SignpostsFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        for n in f.needs {
            ctx.id(&n.id, &mut ids, "signpost");
            ctx.text(&n.name, limits::LABEL, "name", &[]);
            ctx.source(&n.source);
            if n.ask.is_empty() || (n.local.is_empty() && n.national.is_empty()) {
                ctx.err(&n.id, "a need needs questions to `ask` and somewhere to go (`local` or `national`): otherwise it is a dead end");
            }
            for a in n.guidance.iter().chain(&n.ask).chain(&n.local) {
                ctx.text(a, limits::LINE, "text", &[]);
            }
            let pattern = n.pattern.as_ref().and_then(|p| {
                match regex_lite::Regex::new(&format!("(?i){}", p.value)) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        ctx.err(p, format!("bad regular expression: {e}"));
                        None
                    }
                }
            });
            let mut national = Vec::new();
            for s in n.national {
                ctx.text(&s.name, 120, "name", &[]);
                ctx.text(&s.what, limits::LINE, "what", &[]);
                if let Some(u) = &s.url {
                    ctx.url(u, s.url_note.is_some(), &sources);
                }
                national.push(Service {
                    name: s.name.value,
                    what: s.what.value.trim().to_string(),
                    url: s.url.map(|u| u.value),
                    url_note: s.url_note.map(|u| u.value.trim().to_string()),
                });
            }
            needs.push(Need {
                id: n.id.value,
                name: n.name.value,
                keywords: n
                    .keywords
                    .into_iter()
                    .map(|k| k.value.to_lowercase())
                    .collect(),
                pattern,
                guidance: n
                    .guidance
                    .into_iter()
                    .map(|a| a.value.trim().to_string())
                    .collect(),
                ask: n
                    .ask
                    .into_iter()
                    .map(|a| a.value.trim().to_string())
                    .collect(),
                local: n
                    .local
                    .into_iter()
                    .map(|a| a.value.trim().to_string())
                    .collect(),
                national,
                source: n.source.value,
                urgent: n.urgent,
            });
        }
        for c in f.professional {
            ctx.id(&c.id, &mut ids, "signpost");
            ctx.text(&c.name, 120, "name", &[]);
            ctx.text(&c.why, limits::SUMMARY, "why", &[]);
            ctx.text(&c.how, limits::SUMMARY, "how", &[]);
            ctx.source(&c.source);
            for k in &c.keywords {
                ctx.text(k, limits::LABEL, "keyword", &[]);
            }
            contacts.push(Contact {
                id: c.id.value,
                name: c.name.value,
                keywords: c
                    .keywords
                    .into_iter()
                    .map(|k| k.value.to_lowercase())
                    .collect(),
                why: c.why.value.trim().to_string(),
                how: c.how.value.trim().to_string(),
                source: c.source.value,
            });
        }
    }

    // Meeting prompts.
    let mut meetings = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "prep.yaml")
        && let Some(f) = parse::<raw::PrepFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        let mut prompt_ids = HashMap::new();
        for m in f.meetings {
            ctx.id(&m.id, &mut ids, "meeting");
            ctx.text(&m.name, limits::LABEL, "name", &[]);
            if !(1..=6).contains(&m.lens.value) {
                ctx.err(
                    &m.lens,
                    format!("unknown lens {}: lenses are numbered 1-6", m.lens.value),
                );
            }
            if m.prompts.is_empty() {
                ctx.err(&m.id, "a meeting with no prompts is a dead end");
            } else if m.prompts.len() < 4 {
                ctx.warn(
                    &m.id,
                    format!("{} prompts; aim for at least 4", m.prompts.len()),
                );
            }
            let mut prompts = Vec::new();
            for p in m.prompts {
                ctx.id(&p.id, &mut prompt_ids, "prep prompt");
                ctx.text(&p.raise, limits::LINE, "raise", &[]);
                ctx.text(&p.listen, limits::LINE, "listen", &[]);
                ctx.source(&p.source);
                if let Some(fid) = &p.fact
                    && !facts.iter().any(|x: &Fact| x.id == fid.value)
                {
                    ctx.err(
                        fid,
                        format!("unknown fact `{}`: use an id from facts.yaml", fid.value),
                    );
                }
                if let Some(l) = &p.lens
                    && !(1..=6).contains(&l.value)
                {
                    ctx.err(
                        l,
                        format!("unknown lens {}: lenses are numbered 1-6", l.value),
                    );
                }
                prompts.push(PrepPrompt {
                    id: p.id.value,
                    raise: p.raise.value.trim().to_string(),
                    listen: p.listen.value.trim().to_string(),
                    fact: p.fact.map(|f| f.value),
                    lens: p.lens.map(|l| l.value).unwrap_or(m.lens.value),
                    source: p.source.value,
                });
            }
            meetings.push(Meeting {
                id: m.id.value,
                name: m.name.value,
                keywords: m
                    .keywords
                    .into_iter()
                    .map(|k| k.value.to_lowercase())
                    .collect(),
                lens: m.lens.value,
                prompts,
            });
        }
    }

    // Challenge plans.
    let mut plans = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "challenges.yaml")
        && let Some(f) = parse::<raw::ChallengesFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        let mut words: HashMap<String, String> = HashMap::new();
        for p in f.plans {
            ctx.id(&p.id, &mut ids, "plan");
            ctx.text(&p.name, limits::LABEL, "name", &[]);
            ctx.text(&p.summary, limits::SUMMARY, "summary", &[]);
            ctx.source(&p.source);
            for a in &p.aliases {
                let w = a.value.to_lowercase();
                if let Some(other) = words.get(&w).filter(|o| **o != p.id.value) {
                    ctx.err(a, format!("alias `{w}` already names plan `{other}`"));
                }
                words.insert(w, p.id.value.clone());
            }
            if !matches!(p.every.value, 1 | 7) {
                ctx.err(
                    &p.every,
                    format!(
                        "every: {} is not supported: use 1 (daily) or 7 (weekly)",
                        p.every.value
                    ),
                );
            }
            if p.days.is_empty() {
                ctx.err(&p.id, "a plan with no days cannot start");
            }
            let mut days = Vec::new();
            for d in p.days {
                let lens = lenses.iter().find(|l: &&Lens| l.number == d.lens.value);
                if lens.is_none() && !lenses.is_empty() {
                    ctx.err(
                        &d.lens,
                        format!("unknown lens {}: lenses are numbered 1-6", d.lens.value),
                    );
                }
                if d.prompts.is_empty() {
                    ctx.err(&d.lens, "a day with no prompts has nothing to reflect on");
                }
                let mut prompts = Vec::new();
                for id in &d.prompts {
                    let found = lens.and_then(|l| {
                        l.modes
                            .iter()
                            .find(|m| m.prompts.iter().any(|x| x.id == id.value))
                            .map(|m| m.kind)
                    });
                    match found {
                        Some(kind) => prompts.push((kind, id.value.clone())),
                        None if lens.is_some() => ctx.err(
                            id,
                            format!(
                                "no prompt `{}` in lens {}: use a prompt id from dialogues/lenses/",
                                id.value, d.lens.value
                            ),
                        ),
                        None => {}
                    }
                }
                days.push(PlanDay {
                    lens: d.lens.value,
                    prompts,
                });
            }
            plans.push(Plan {
                id: p.id.value,
                name: p.name.value,
                aliases: p
                    .aliases
                    .into_iter()
                    .map(|a| a.value.to_lowercase())
                    .collect(),
                every: p.every.value,
                summary: p.summary.value.trim().to_string(),
                source: p.source.value,
                days,
            });
        }
    }

    // Actions by role.
    let mut roles = Vec::new();
    if let Some(t) = read(&mut ctx, dir, "roles.yaml")
        && let Some(f) = parse::<raw::RolesFile>(&mut ctx, &t)
    {
        let mut ids = HashMap::new();
        let mut words: HashMap<String, String> = HashMap::new();
        for r in f.roles {
            ctx.id(&r.id, &mut ids, "role");
            ctx.text(&r.name, limits::LABEL, "name", &[]);
            ctx.text(&r.intro, limits::SUMMARY, "intro", &[]);
            ctx.source(&r.source);
            for a in &r.aliases {
                let w = a.value.to_lowercase();
                if let Some(other) = words.get(&w).filter(|o| **o != r.id.value) {
                    ctx.err(a, format!("alias `{w}` already names role `{other}`"));
                }
                words.insert(w, r.id.value.clone());
            }
            if r.actions.is_empty() {
                ctx.err(&r.id, "a role with no actions has nothing to suggest");
            }
            for a in &r.actions {
                ctx.text(a, limits::LINE, "action", &[]);
            }
            roles.push(Role {
                id: r.id.value,
                name: r.name.value,
                aliases: r
                    .aliases
                    .into_iter()
                    .map(|a| a.value.to_lowercase())
                    .collect(),
                intro: r.intro.value.trim().to_string(),
                actions: r
                    .actions
                    .into_iter()
                    .map(|a| a.value.trim().to_string())
                    .collect(),
                source: r.source.value,
            });
        }
    }

    // UI strings.
    let mut strings = BTreeMap::new();
    if let Some(t) = read(&mut ctx, dir, "ui.yaml")
        && let Some(f) = parse::<raw::UiFile>(&mut ctx, &t)
    {
        for (key, value) in &f.strings {
            match ui::KEYS.iter().find(|(k, _)| k == key) {
                None => ctx.err(value, format!("unknown ui key `{key}`: the program never uses it (keys are fixed; change only the words)")),
                Some((_, vars)) => {
                    let max = if key.starts_with("button.") { limits::LABEL } else { 3000 };
                    ctx.text(value, max, key, vars);
                }
            }
            strings.insert(key.clone(), value.value.trim_end().to_string());
        }
        for (key, _) in ui::KEYS {
            if !f.strings.contains_key(*key) {
                ctx.push(
                    Severity::Error,
                    1,
                    1,
                    format!("missing ui key `{key}`: the program needs it"),
                );
            }
        }
    }

    // Coverage warnings: professions with no example.
    for p in &professions {
        if !examples.is_empty() && !examples.iter().any(|e| e.professions.contains(&p.id)) {
            ctx.file = PathBuf::from("examples.yaml");
            ctx.push(
                Severity::Warning,
                0,
                0,
                format!("no example is tagged for profession `{}`", p.id),
            );
        }
    }

    // Released ids.
    if options.ids_lock
        && let Ok(lock) = std::fs::read_to_string(dir.join("ids.lock"))
    {
        ctx.file = PathBuf::from("ids.lock");
        for (i, line) in lock.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let id = parts.next().unwrap_or_default();
            let retired = parts.next() == Some("retired");
            if !retired && !stop_keys.contains(id) && !lenses.is_empty() {
                ctx.push(
                    Severity::Error,
                    (i + 1) as u64,
                    1,
                    format!("`{id}` was released and is gone from the lenses: people may be standing on it. Put it back, or mark the line `{id} retired` (the bot then moves them on)"),
                );
            }
        }
    }

    // The directory's vocabulary, for fast searching.
    let resource_words =
        super::search::Vocab::new(resources.iter().flat_map(|r| r.search.iter().flatten()));
    for r in &mut resources {
        r.search_ids = r
            .search
            .clone()
            .map(|field| field.iter().filter_map(|w| resource_words.id(w)).collect());
    }

    let has_errors = ctx.problems.iter().any(|p| p.severity == Severity::Error);
    let catalog = (!has_errors).then(|| Catalog {
        lenses,
        examples,
        resources,
        definitions,
        facts,
        needs,
        contacts,
        professions,
        meetings,
        plans,
        roles,
        resource_words,
        defaults: super::Defaults::default(),
        ui: strings,
    });
    (catalog, ctx.problems)
}

/// Every stop id of the lenses, as `ids.lock` lists them.
pub fn released_ids(catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for lens in &catalog.lenses {
        out.push(lens.id.clone());
        for m in &lens.modes {
            out.push(stop_key(&lens.id, m.kind.as_str()));
            for p in &m.prompts {
                out.push(stop_key(&lens.id, &p.id));
            }
            for a in &m.actions {
                out.push(stop_key(&lens.id, &a.id));
            }
            for p in &m.meeting_lines {
                out.push(stop_key(&lens.id, &p.id));
            }
        }
    }
    out
}

fn check_lens(
    ctx: &mut Ctx,
    l: raw::Lens,
    numbers: &mut HashMap<u8, String>,
    ids: &mut HashMap<String, String>,
    keyword_owner: &mut HashMap<String, u8>,
) -> Option<Lens> {
    let n = l.number.value;
    if !(1..=6).contains(&n) {
        ctx.err(
            &l.number,
            format!("lens number {n}: lenses are numbered 1-6"),
        );
    } else if let Some(first) = numbers.insert(n, ctx.file.display().to_string()) {
        ctx.err(&l.number, format!("lens {n} is also defined in {first}"));
    }
    ctx.id(&l.id, ids, "lens");
    if l.id.value != format!("lens-{n}") {
        ctx.err(&l.id, format!("lens {n} must have id `lens-{n}`"));
    }
    ctx.text(&l.name, 60, "name", &[]);
    ctx.text(&l.intro, limits::SUMMARY, "intro", &["profession"]);
    ctx.source(&l.source);
    for k in &l.keywords {
        let kw = k.value.to_lowercase();
        if let Some(other) = keyword_owner.insert(kw.clone(), n)
            && other != n
        {
            ctx.warn(
                k,
                format!(
                    "keyword `{kw}` is also a keyword of lens {other}: `/lens {kw}` picks the first"
                ),
            );
        }
    }
    let mut item_ids: HashMap<String, String> = HashMap::new();
    for reserved in [
        "awareness",
        "action",
        "advocacy",
        "intro",
        "actions",
        "meeting",
        "example",
        "resources",
        "end",
        "own",
    ] {
        item_ids.insert(reserved.into(), "(reserved by the program)".into());
    }
    let mut modes = Vec::new();
    for (kind, m) in [
        (ModeKind::Awareness, l.modes.awareness),
        (ModeKind::Action, l.modes.action),
        (ModeKind::Advocacy, l.modes.advocacy),
    ] {
        ctx.text(&m.summary, limits::SUMMARY, "summary", &["profession"]);
        ctx.source(&m.source);
        if m.prompts.is_empty() {
            ctx.err(
                &m.summary,
                format!("the {kind} mode has no prompts: a dead end"),
            );
        } else if m.prompts.len() < limits::PROMPTS {
            ctx.warn(
                &m.summary,
                format!(
                    "the {kind} mode has {} prompts; aim for at least {}",
                    m.prompts.len(),
                    limits::PROMPTS
                ),
            );
        }
        // Exactly one core prompt per mode: the one the short route asks.
        let cores: Vec<&S<bool>> = m
            .prompts
            .iter()
            .filter_map(|p| p.core.as_ref())
            .filter(|c| c.value)
            .collect();
        if cores.is_empty() && !m.prompts.is_empty() {
            ctx.err(
                &m.summary,
                format!("the {kind} mode has no core prompt: mark the one the short route asks with `core: true`"),
            );
        }
        for extra in cores.iter().skip(1) {
            ctx.err(
                *extra,
                format!(
                    "a second core prompt in the {kind} mode: exactly one prompt per mode is core"
                ),
            );
        }
        for l in &m.meeting_lines {
            if let Some(c) = &l.core {
                ctx.err(c, "`core` marks a prompt; meeting lines have no core");
            }
        }
        for p in m.prompts.iter().chain(&m.meeting_lines) {
            ctx.id(&p.id, &mut item_ids, "item");
            ctx.text(&p.text, limits::LINE, "text", &["profession"]);
            ctx.source(&p.source);
        }
        for a in &m.actions {
            ctx.id(&a.id, &mut item_ids, "item");
            ctx.text(&a.text, limits::LINE, "text", &["profession"]);
            ctx.source(&a.source);
            if !SIZES.contains(&a.size.value.as_str()) {
                ctx.err(
                    &a.size,
                    format!(
                        "unknown size `{}`: use five-minutes, an-hour or longer-term",
                        a.size.value
                    ),
                );
            }
        }
        match kind {
            ModeKind::Action => {
                if m.actions.len() < 3 {
                    ctx.err(
                        &m.summary,
                        "the action mode needs at least 3 suggested actions",
                    );
                }
                for size in SIZES {
                    if !m.actions.iter().any(|a| a.size.value == size) {
                        ctx.warn(&m.summary, format!("no `{size}` action in this lens"));
                    }
                }
            }
            _ => {
                if let Some(a) = m.actions.first() {
                    ctx.err(
                        &a.id,
                        format!("actions belong in the action mode, not {kind}"),
                    );
                }
            }
        }
        match kind {
            ModeKind::Advocacy => {
                if m.meeting_lines.is_empty() {
                    ctx.err(
                        &m.summary,
                        "the advocacy mode needs at least one meeting line",
                    );
                }
            }
            _ => {
                if let Some(a) = m.meeting_lines.first() {
                    ctx.err(
                        &a.id,
                        format!("meeting lines belong in the advocacy mode, not {kind}"),
                    );
                }
            }
        }
        modes.push(Mode {
            kind,
            summary: m.summary.value.trim().to_string(),
            source: m.source.value,
            prompts: m.prompts.into_iter().map(item).collect(),
            actions: m
                .actions
                .into_iter()
                .map(|a| Action {
                    id: a.id.value,
                    size: a.size.value,
                    text: a.text.value.trim().to_string(),
                    source: a.source.value,
                })
                .collect(),
            meeting_lines: m.meeting_lines.into_iter().map(item).collect(),
        });
    }
    let mut lens = Lens {
        id: l.id.value,
        number: n,
        name: l.name.value,
        keywords: l
            .keywords
            .into_iter()
            .map(|k| k.value.to_lowercase())
            .collect(),
        source: l.source.value,
        intro: l.intro.value.trim().to_string(),
        modes,
        stops: Vec::new(),
    };
    lens.stops = super::all_stops(&lens);
    Some(lens)
}

fn item(i: raw::Item) -> Item {
    Item {
        id: i.id.value,
        text: i.text.value.trim().to_string(),
        source: i.source.value,
        core: i.core.is_some_and(|c| c.value),
    }
}
