//! Checks bodies the bot sends to the fake Discord against Discord's OpenAPI spec
//! (`discord-openapi.json` in the shared specs, written by others): a small JSON Schema walk
//! over what the spec uses (`$ref`, `allOf`, `oneOf`/`anyOf` as "one of them fits", `type`
//! with `null`, `enum`, `required`, string lengths in characters, item counts, number bounds).
//! Fields the spec does not name are let through, as its README advises (its schemas set no
//! `additionalProperties`).
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

/// The request body schema of `method` on `path` (as the spec writes it, e.g.
/// `/interactions/{interaction_id}/{interaction_token}/callback`).
fn request_schema(method: &str, path: &str) -> &'static Value {
    let op = &spec()["paths"][path][method.to_lowercase()];
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no JSON body for {method} {path} in the spec"
    );
    schema
}

/// What is wrong with `body` as the request body of `method` on `path` (empty when it fits).
pub fn problems(method: &str, path: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(request_schema(method, path), body, "body", &mut out);
    out
}

fn resolve(r: &str) -> &'static Value {
    let name = r.trim_start_matches("#/components/schemas/");
    &spec()["components"]["schemas"][name]
}

fn type_fits(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn check(schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        return check(resolve(r), v, at, out);
    }
    for s in schema["allOf"].as_array().into_iter().flatten() {
        check(s, v, at, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema[key].as_array() {
            let mut best: Option<Vec<String>> = None;
            for s in alts {
                let mut errs = Vec::new();
                check(s, v, at, &mut errs);
                if errs.is_empty() {
                    best = Some(errs);
                    break;
                }
                if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                    best = Some(errs);
                }
            }
            if let Some(errs) = best.filter(|e| !e.is_empty()) {
                out.push(format!(
                    "{at}: fits none of its {key} ({})",
                    errs.join("; ")
                ));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_fits(t, v)) {
        out.push(format!("{at}: {v} is not {}", types.join(" or ")));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {allowed:?}"));
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if let Some(min) = schema["minLength"].as_u64()
                && n < min
            {
                out.push(format!("{at}: {n} characters, fewer than {min}"));
            }
            if let Some(max) = schema["maxLength"].as_u64()
                && n > max
            {
                out.push(format!("{at}: {n} characters, more than {max}: {s:?}"));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                out.push(format!("{at}: {x} below the minimum"));
            }
            if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                out.push(format!("{at}: {x} above the maximum"));
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if schema["minItems"].as_u64().is_some_and(|m| n < m) {
                out.push(format!("{at}: {n} items, fewer than allowed"));
            }
            if let Some(max) = schema["maxItems"].as_u64()
                && n > max
            {
                out.push(format!("{at}: {n} items, more than {max}"));
            }
            if schema["items"].is_object() {
                for (i, it) in items.iter().enumerate() {
                    check(&schema["items"], it, &format!("{at}[{i}]"), out);
                }
            }
        }
        Value::Object(o) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(k) = r.as_str()
                    && !o.contains_key(k)
                {
                    out.push(format!("{at}: {k} is required"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (k, val) in o {
                    if let Some(p) = props.get(k) {
                        check(p, val, &format!("{at}.{k}"), out);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Proves the checker can fail: a modal whose title is over Discord's 45 characters, a
/// command with an empty description on a subcommand, and an autocomplete answer with 26
/// choices are each refused; the same bodies within the limits pass.
#[test]
fn the_checker_refuses_what_the_spec_refuses() {
    let callback = "/interactions/{interaction_id}/{interaction_token}/callback";
    let modal = |title: &str| {
        serde_json::json!({"type": 9, "data": {"custom_id": "answer:3", "title": title,
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": "text",
            "style": 2, "label": "Your note"}]}]}})
    };
    assert!(problems("POST", callback, &modal("Your answer (private)")).is_empty());
    assert!(!problems("POST", callback, &modal(&"x".repeat(46))).is_empty());
    let choices = |n: usize| {
        let c: Vec<Value> = (0..n)
            .map(|i| serde_json::json!({"name": format!("c{i}"), "value": format!("c{i}")}))
            .collect();
        serde_json::json!({"type": 8, "data": {"choices": c}})
    };
    assert!(problems("POST", callback, &choices(25)).is_empty());
    assert!(!problems("POST", callback, &choices(26)).is_empty());
    let commands = "/applications/{application_id}/guilds/{guild_id}/commands";
    let cmd = |d: &str| {
        serde_json::json!([{"name": "remind", "description": "Reminders",
            "options": [{"type": 1, "name": "list", "description": d}]}])
    };
    assert!(problems("PUT", commands, &cmd("Your reminders")).is_empty());
    assert!(!problems("PUT", commands, &cmd("")).is_empty());
}
