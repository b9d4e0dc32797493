//! Checks requests to (and answers from) the fake Telegram against the Telegram Bot API as data
//! (`telegram-bot-api.json` in the shared specs, written by others, so it catches what a fake
//! written by the same hands would miss): the method exists, every field it is sent is one the
//! method takes, every required field is there, and each value has a type the spec allows,
//! object types checked field by field (a type with subtypes, such as `ChatMember`, when one of
//! them fits; a field documented as `always "x"` must be `x`).
//!
//! The spec is read from `$LENSBOT_SPECS/telegram-bot-api.json`, else
//! `../shared/specs/telegram-bot-api.json` beside the repository (where CI has it); a missing
//! spec fails the test that needs it.

use serde_json::Value;
use std::sync::OnceLock;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = std::env::var("LENSBOT_SPECS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs").into());
        let path = std::path::Path::new(&dir).join("telegram-bot-api.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the Telegram Bot API spec {} could not be read ({e}); set LENSBOT_SPECS",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("the spec is JSON")
    })
}

/// What is wrong with a request body for `method` (empty when it matches the spec).
pub fn request_problems(method: &str, body: &Value) -> Vec<String> {
    let Some(m) = spec()["methods"].get(method) else {
        return vec![format!("{method}: no such method in the Bot API")];
    };
    let mut out = Vec::new();
    let body = match body {
        Value::Object(o) => o.clone(),
        // teloxide sends `getMe` with an empty body.
        Value::Null => Default::default(),
        other => return vec![format!("{method}: the body is not an object: {other}")],
    };
    fields(method, m, &body, &mut out);
    out
}

/// What is wrong with a value said to be of the spec type `ty` (`ChatMember`, `User` …).
pub fn value_problems(ty: &str, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(ty, ty, v, &mut out);
    out
}

/// Checks an object's fields against a method's or type's field list.
fn fields(at: &str, def: &Value, obj: &serde_json::Map<String, Value>, out: &mut Vec<String>) {
    let list = def["fields"].as_array().cloned().unwrap_or_default();
    for f in &list {
        let name = f["name"].as_str().unwrap_or_default();
        match obj.get(name) {
            None if f["required"] == Value::Bool(true) => {
                out.push(format!("{at}: the required field `{name}` is missing"))
            }
            None => {}
            Some(v) => {
                let types: Vec<String> = f["types"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                let fits = types.iter().any(|t| {
                    let mut p = Vec::new();
                    check(&format!("{at}.{name}"), t, v, &mut p);
                    p.is_empty()
                });
                if !fits {
                    out.push(format!("{at}.{name}: {v} is not one of {types:?}"));
                }
                let desc = f["description"].as_str().unwrap_or_default();
                if let Some(fixed) = always(desc)
                    && v.as_str() != Some(fixed)
                {
                    out.push(format!(
                        "{at}.{name}: {v} is not the documented \"{fixed}\""
                    ));
                }
            }
        }
    }
    for k in obj.keys() {
        if !list.iter().any(|f| f["name"] == k.as_str()) {
            out.push(format!("{at}: `{k}` is not a field the Bot API knows"));
        }
    }
}

/// `… always "member"` in a description: the only value the field may have.
fn always(desc: &str) -> Option<&str> {
    let rest = desc.split("always \"").nth(1)?;
    rest.split('"').next()
}

fn check(at: &str, ty: &str, v: &Value, out: &mut Vec<String>) {
    if let Some(inner) = ty.strip_prefix("Array of ") {
        match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(&format!("{at}[{i}]"), inner, item, out);
                }
            }
            None => out.push(format!("{at}: {v} is not an array")),
        }
        return;
    }
    let ok = match ty {
        "Integer" => v.is_i64() || v.is_u64(),
        "Float" => v.is_number(),
        "String" | "InputFile" => v.is_string(),
        "Boolean" => v.is_boolean(),
        "True" => v == &Value::Bool(true),
        _ => {
            let Some(def) = spec()["types"].get(ty) else {
                out.push(format!("{at}: the spec has no type {ty}"));
                return;
            };
            if let Some(subs) = def["subtypes"].as_array() {
                let fits = subs.iter().filter_map(|s| s.as_str()).any(|s| {
                    let mut p = Vec::new();
                    check(at, s, v, &mut p);
                    p.is_empty()
                });
                if !fits {
                    out.push(format!("{at}: {v} fits none of {ty}'s kinds"));
                }
                return;
            }
            match v.as_object() {
                Some(o) => fields(at, def, o, out),
                None => out.push(format!("{at}: {v} is not a {ty} object")),
            }
            return;
        }
    };
    if !ok {
        out.push(format!("{at}: {v} is not {ty}"));
    }
}

/// Every call the fake recorded, checked against the spec; panics listing what does not match.
#[cfg(feature = "telegram")]
pub fn assert_calls_match(fake: &crate::fake_telegram::FakeTelegram) {
    let mut problems = Vec::new();
    for c in fake.all_calls() {
        problems.extend(request_problems(&c.method, &c.body));
    }
    assert!(
        problems.is_empty(),
        "requests that do not match the Bot API:\n{}",
        problems.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The checker itself can fail: a wrong type, a missing field, an unknown field, a made-up
    /// method, and a ChatMember whose status is not its kind's are all reported.
    #[test]
    fn the_checker_finds_what_does_not_match() {
        assert!(
            request_problems("getChatMember", &json!({"chat_id": -100, "user_id": 7})).is_empty()
        );
        assert!(!request_problems("getChatMember", &json!({"chat_id": -100})).is_empty());
        assert!(
            !request_problems("getChatMember", &json!({"chat_id": -100, "user_id": "7"}))
                .is_empty()
        );
        assert!(
            !request_problems(
                "getChatMember",
                &json!({"chat_id": -100, "user_id": 7, "x": 1})
            )
            .is_empty()
        );
        assert!(!request_problems("getChatMembers", &json!({})).is_empty());
        let user = json!({"id": 7, "is_bot": false, "first_name": "A"});
        assert!(value_problems("ChatMember", &json!({"status": "left", "user": user})).is_empty());
        assert!(!value_problems("ChatMember", &json!({"status": "gone", "user": user})).is_empty());
        assert!(
            !value_problems("ChatMember", &json!({"status": "kicked", "user": user})).is_empty()
        );
    }
}
