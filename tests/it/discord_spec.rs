//! Checks what the bot sends Discord against Discord's OpenAPI description
//! (`discord-openapi.json` in the shared specs, written by others, so it catches what a fake
//! written by the same hands would miss): the bodies the fake Discord is sent (follow-ups,
//! edits, the command registration) and an interaction's first response given as an HTTP
//! answer (which has the callback's schema) are validated against the operation's JSON schema:
//! `$ref`, `type` (with `null`), `const`/`enum`, `required`, `properties`, `items`, string
//! lengths in characters, item counts, `minimum`/`maximum`, `pattern`, `allOf`, and
//! `oneOf`/`anyOf` as "one alternative fits" (the spec's unions overlap, so "exactly one" would
//! be too strict). Fields the spec does not name are let through, as its README advises (its
//! schemas set no `additionalProperties`, and serenity sends some the docs name and the spec
//! lacks).
//!
//! The spec is read from `$LENSBOT_SPECS/discord-openapi.json`, else
//! `../shared/specs/discord-openapi.json` beside the repository; a missing spec fails the test
//! that needs it.

use serde_json::Value;
use std::sync::OnceLock;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = std::env::var("LENSBOT_SPECS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs").into());
        let path = std::path::Path::new(&dir).join("discord-openapi.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the Discord OpenAPI spec {} could not be read ({e}); set LENSBOT_SPECS",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("the spec is JSON")
    })
}

/// The interaction callback's path, whose body schema an HTTP answer to an interaction has.
pub const CALLBACK: &str = "/interactions/{interaction_id}/{interaction_token}/callback";

/// A webhook's path: follow-ups are posted to it (`/webhooks/{application_id}/{token}`).
pub const WEBHOOK: &str = "/webhooks/{webhook_id}/{webhook_token}";

/// The path of an interaction's original message: a button's answer edits it (`PATCH`).
pub const ORIGINAL: &str = "/webhooks/{webhook_id}/{webhook_token}/messages/@original";

/// The path the guild's commands are registered on (`PUT`, the whole list at once).
pub const COMMANDS: &str = "/applications/{application_id}/guilds/{guild_id}/commands";

/// What is wrong with a JSON request body for `method` on the spec's `path` (empty when it
/// matches).
pub fn request_problems(method: &str, path: &str, body: &Value) -> Vec<String> {
    let op = &spec()["paths"][path][method.to_lowercase()];
    if op.is_null() {
        return vec![format!("{method} {path}: no such operation in the spec")];
    }
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return vec![format!("{method} {path}: takes no JSON body")];
    }
    let mut out = Vec::new();
    check(schema, body, &format!("{method} {path}"), &mut out);
    out
}

/// Panics with the problems when `body` does not fit `method path`.
pub fn assert_request(method: &str, path: &str, body: &Value) {
    let p = request_problems(method, path, body);
    assert!(
        p.is_empty(),
        "not valid against the Discord spec:\n{}\nbody: {body}",
        p.join("\n")
    );
}

fn resolve(r: &str) -> &'static Value {
    let name = r.trim_start_matches("#/components/schemas/");
    &spec()["components"]["schemas"][name]
}

fn fits_type(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn fits(schema: &Value, v: &Value) -> Result<(), Vec<String>> {
    let mut p = Vec::new();
    check(schema, v, "", &mut p);
    if p.is_empty() { Ok(()) } else { Err(p) }
}

fn check(schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        check(resolve(r), v, at, out);
    }
    match &schema["type"] {
        Value::String(t) if !fits_type(t, v) => {
            out.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
        Value::Array(ts) if !ts.iter().filter_map(Value::as_str).any(|t| fits_type(t, v)) => {
            out.push(format!("{at}: {v} is not one of the types {ts:?}"));
            return;
        }
        _ => {}
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        out.push(format!("{at}: {v} should be {c}"));
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {e:?}"));
    }
    for s in schema["allOf"].as_array().into_iter().flatten() {
        check(s, v, at, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema[key].as_array() {
            let tried: Vec<Result<(), Vec<String>>> = alts.iter().map(|s| fits(s, v)).collect();
            if !tried.iter().any(Result::is_ok) {
                let why: Vec<String> = tried
                    .into_iter()
                    .filter_map(Result::err)
                    .map(|p| p.join("; "))
                    .collect();
                out.push(format!("{at}: fits none of {key}: [{}]", why.join(" | ")));
            }
        }
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if schema["maxLength"].as_u64().is_some_and(|m| n > m) {
                out.push(format!(
                    "{at}: {n} characters, over {}",
                    schema["maxLength"]
                ));
            }
            if schema["minLength"].as_u64().is_some_and(|m| n < m) {
                out.push(format!(
                    "{at}: {n} characters, under {}",
                    schema["minLength"]
                ));
            }
            if let Some(p) = schema["pattern"].as_str()
                && let Ok(re) = regex_lite::Regex::new(p)
                && !re.is_match(s)
            {
                out.push(format!("{at}: {s:?} does not match {p}"));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                out.push(format!("{at}: {x} is under {}", schema["minimum"]));
            }
            if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                out.push(format!("{at}: {x} is over {}", schema["maximum"]));
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if schema["maxItems"].as_u64().is_some_and(|m| n > m) {
                out.push(format!("{at}: {n} items, over {}", schema["maxItems"]));
            }
            if schema["minItems"].as_u64().is_some_and(|m| n < m) {
                out.push(format!("{at}: {n} items, under {}", schema["minItems"]));
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(s, item, &format!("{at}[{i}]"), out);
                }
            }
        }
        Value::Object(o) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = r.as_str()
                    && !o.contains_key(name)
                {
                    out.push(format!("{at}: the required field `{name}` is missing"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (name, val) in o {
                    if let Some(s) = props.get(name) {
                        check(s, val, &format!("{at}.{name}"), out);
                    }
                }
            }
        }
        _ => {}
    }
}

// Proves the checker can fail: a deferral with a type the callback does not take, a modal
// without its title, a modal whose title is over Discord's 45 characters, an autocomplete
// answer with 26 choices, a follow-up over Discord's 2,000 characters and a command with an
// empty description on a subcommand are each reported, while the same bodies made right pass.
#[test]
fn the_checker_refuses_what_the_spec_refuses() {
    use serde_json::json;
    assert!(
        request_problems("POST", CALLBACK, &json!({"type": 5, "data": {"flags": 64}})).is_empty()
    );
    assert!(!request_problems("POST", CALLBACK, &json!({"type": 3})).is_empty());
    let modal = json!({"type": 9, "data": {"custom_id": "answer:3", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "text", "style": 2, "label": "Your answer"}]}]}});
    assert!(!request_problems("POST", CALLBACK, &modal).is_empty());
    let titled = |title: &str| {
        let mut m = modal.clone();
        m["data"]["title"] = json!(title);
        m
    };
    for title in ["Your reflection", "Your answer (private)"] {
        let found = request_problems("POST", CALLBACK, &titled(title));
        assert!(found.is_empty(), "{found:?}");
    }
    assert!(!request_problems("POST", CALLBACK, &titled(&"x".repeat(46))).is_empty());
    let choices = |n: usize| {
        let c: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("c{i}"), "value": format!("c{i}")}))
            .collect();
        json!({"type": 8, "data": {"choices": c}})
    };
    assert!(request_problems("POST", CALLBACK, &choices(25)).is_empty());
    assert!(!request_problems("POST", CALLBACK, &choices(26)).is_empty());
    assert!(
        request_problems("POST", WEBHOOK, &json!({"content": "Saved.", "flags": 64})).is_empty()
    );
    assert!(!request_problems("POST", WEBHOOK, &json!({"content": "x".repeat(2001)})).is_empty());
    let cmd = |d: &str| {
        json!([{"name": "remind", "description": "Reminders",
            "options": [{"type": 1, "name": "list", "description": d}]}])
    };
    assert!(request_problems("PUT", COMMANDS, &cmd("Your reminders")).is_empty());
    assert!(!request_problems("PUT", COMMANDS, &cmd("")).is_empty());
}
