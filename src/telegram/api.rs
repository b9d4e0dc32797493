//! The Bot API calls whose failures lensbot must tell apart, made directly (JSON over reqwest)
//! so lensbot decides what each failure means: `getUpdates`, parsed one update at a time so
//! one update that cannot be read is skipped (and logged by id) instead of stopping polling for
//! good; `sendMessage`, whose failures the sender must tell apart (a 429 with `retry_after`, a
//! 5xx or network error to retry, a 403 for a person who blocked the bot, a 400 refused for
//! good); and `getChatMember` before a challenge join from a deep link (a member, not a member,
//! or Telegram could not be asked); `setMyCommands`, one command list per scope, through
//! [`Api::call`]; `sendDocument` and `sendPhoto`, a file as
//! multipart/form-data ([`multipart`]), failing the same ways as `sendMessage`. teloxide-core waits ten seconds inside a request after any
//! 5xx; here the sender's back-off decides, per chat.
//!
//! The token is part of every URL, so request errors are described by kind only, never
//! formatted with their URL.

use serde_json::Value;
use std::time::Duration;

/// How a call went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429: wait this long.
    RetryAfter(Duration),
    /// A 5xx, a timeout, no connection, an unreadable answer: may pass.
    Transient(String),
    /// The chat cannot be reached (blocked, deactivated, kicked, not found).
    Unreachable(String),
    /// Refused for good (400 and the like): Telegram's description.
    Refused(u16, String),
}

/// A Bot API client bound to one token.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    /// `{api_url}/bot{token}`: never logged.
    base: String,
}

/// One update as far as lensbot could read it.
#[derive(Debug)]
pub enum Polled {
    /// A readable update (its id and the raw JSON).
    Update(u64, Value),
    /// An update with an id whose body could not be read: skipped.
    Unreadable(u64),
}

impl Polled {
    /// The update's id.
    pub fn id(&self) -> u64 {
        match self {
            Polled::Update(id, _) | Polled::Unreadable(id) => *id,
        }
    }
}

impl Api {
    /// A client for `api_url` (Telegram's, or a fake) and a token.
    pub fn new(api_url: &str, token: &str) -> Api {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Api {
            client,
            base: format!("{}/bot{token}", api_url.trim_end_matches('/')),
        }
    }

    /// Posts a JSON body to a method; the HTTP status and the answer's bytes.
    async fn post(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), Failure> {
        self.send(
            "application/json",
            method,
            body.to_string().into_bytes(),
            timeout,
        )
        .await
    }

    /// Posts a body of the given content type to a method; the HTTP status and the answer's
    /// bytes.
    async fn send(
        &self,
        content_type: &str,
        method: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let url = format!("{}/{method}", self.base);
        let resp = self
            .client
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Failure::Transient(describe(&e)))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Failure::Transient(describe(&e)))?;
        Ok((status, bytes.to_vec()))
    }

    /// Calls a method with a JSON body; the `result` on success.
    pub async fn call(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        let (status, bytes) = self.post(method, body, timeout).await?;
        result_of(status, &bytes)
    }

    /// Calls a method with a multipart/form-data body (text fields and one file); the
    /// `result` on success, failures told apart as for [`Api::call`].
    pub async fn call_multipart(
        &self,
        method: &str,
        form: &Form<'_>,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        let (content_type, body) = multipart(form);
        let (status, bytes) = self.send(&content_type, method, body, timeout).await?;
        result_of(status, &bytes)
    }

    /// Long-polls for updates from `offset` (which confirms every earlier one to Telegram).
    pub async fn get_updates(&self, offset: u64, timeout: u32) -> Result<Vec<Polled>, Failure> {
        let body = serde_json::json!({
            "offset": offset,
            "timeout": timeout,
            "allowed_updates": ALLOWED_UPDATES,
        });
        let timeout = Duration::from_secs(timeout as u64 + 15);
        let (status, bytes) = self.post("getUpdates", &body, timeout).await?;
        parse_updates(status, &bytes)
    }
}

/// The kinds of update lensbot asks for, by polling or through its webhook (`setWebhook`):
/// messages, button presses, and `my_chat_member` (the bot added to a group, to say hello
/// there).
pub const ALLOWED_UPDATES: [&str; 3] = ["message", "callback_query", "my_chat_member"];

/// A form to post as multipart/form-data: text fields and one file.
pub struct Form<'a> {
    /// Text fields (`chat_id`, `caption`, `reply_markup` as JSON …).
    pub fields: Vec<(&'a str, String)>,
    /// The file's field (`document`, `photo`).
    pub file_field: &'a str,
    /// The file name sent with it.
    pub file_name: &'a str,
    /// Its MIME type.
    pub mime: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// A Bot API answer read: its `result` when `ok`, else the failure told apart by kind.
fn result_of(status: u16, bytes: &[u8]) -> Result<Value, Failure> {
    let answer: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) if status >= 500 => return Err(Failure::Transient(format!("HTTP {status}"))),
        Err(_) => return Err(Failure::Transient("an unreadable answer".into())),
    };
    if answer["ok"].as_bool() == Some(true) {
        return Ok(answer["result"].clone());
    }
    Err(failure_of(status, &answer))
}

/// A form as a multipart/form-data body and its content type. The boundary is one that does
/// not occur in the file; names are kept to printable ASCII without quotes.
pub fn multipart(form: &Form<'_>) -> (String, Vec<u8>) {
    let mut boundary = String::from("lensbot-form-7d1c3a");
    while form
        .bytes
        .windows(boundary.len())
        .any(|w| w == boundary.as_bytes())
    {
        boundary.push('x');
    }
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut body = Vec::with_capacity(form.bytes.len() + 1024);
    for (name, value) in &form.fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                clean(name)
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            clean(form.file_field),
            clean(form.file_name),
            clean(form.mime)
        )
        .as_bytes(),
    );
    body.extend_from_slice(form.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Whether a person belongs to a group, as `getChatMember` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// `creator`, `administrator`, `member`, or `restricted` with `is_member` true.
    Member,
    /// `left`, `kicked`, `restricted` without `is_member`, or a status not known.
    NotMember,
}

impl Api {
    /// Asks Telegram whether a person belongs to a group (`getChatMember`). Telegram's own
    /// refusals (chat not found, user not found, the bot no longer in the chat) come back as
    /// [`Failure::Refused`] or [`Failure::Unreachable`]; a 5xx, a 429 or a network failure as
    /// [`Failure::Transient`] or [`Failure::RetryAfter`].
    pub async fn chat_member(&self, chat: i64, user: u64) -> Result<Membership, Failure> {
        let body = serde_json::json!({ "chat_id": chat, "user_id": user });
        let result = self
            .call("getChatMember", &body, Duration::from_secs(10))
            .await?;
        Ok(membership(&result))
    }
}

/// Reads a `ChatMember` object: who counts as belonging to the group.
pub fn membership(member: &Value) -> Membership {
    let belongs = match member["status"].as_str() {
        Some("creator" | "administrator" | "member") => true,
        Some("restricted") => member["is_member"].as_bool() == Some(true),
        _ => false,
    };
    if belongs {
        Membership::Member
    } else {
        Membership::NotMember
    }
}

/// Reads a `getUpdates` answer one update at a time: an update whose body cannot be read (a
/// lone surrogate escape, a shape teloxide does not know) is reported by id, not fatal.
pub fn parse_updates(status: u16, bytes: &[u8]) -> Result<Vec<Polled>, Failure> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        ok: bool,
        #[serde(borrow, default)]
        result: Vec<&'a serde_json::value::RawValue>,
    }
    let env: Envelope = match serde_json::from_slice(bytes) {
        Ok(e) => e,
        // Not even the envelope: read it loosely for Telegram's error.
        Err(_) => {
            let v = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            return Err(failure_of(status, &v));
        }
    };
    if !env.ok {
        let v = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        return Err(failure_of(status, &v));
    }
    let mut out = Vec::new();
    for raw in env.result {
        match read_one(raw.get()) {
            Some(p) => out.push(p),
            None => tracing::warn!("an update without a readable id was skipped"),
        }
    }
    Ok(out)
}

/// Reads one update's JSON (an element of `getUpdates`' result, or a webhook request's body):
/// `None` when not even its id can be read, [`Polled::Unreadable`] when its body cannot.
pub fn read_one(raw: &str) -> Option<Polled> {
    #[derive(serde::Deserialize)]
    struct Id {
        update_id: u64,
    }
    let Id { update_id } = serde_json::from_str::<Id>(raw).ok()?;
    let readable = serde_json::from_str::<teloxide_core::types::Update>(raw)
        .ok()
        .and_then(|_| serde_json::from_str::<Value>(raw).ok());
    Some(match readable {
        Some(v) => Polled::Update(update_id, v),
        None => Polled::Unreadable(update_id),
    })
}

/// The failure an unsuccessful answer describes (its `error_code`, else the HTTP status).
fn failure_of(status: u16, answer: &Value) -> Failure {
    let code = answer["error_code"].as_u64().unwrap_or(status as u64) as u16;
    let description = answer["description"].as_str().unwrap_or("").to_string();
    classify(code, description, answer)
}

fn classify(code: u16, description: String, answer: &Value) -> Failure {
    if code == 429 {
        let secs = answer["parameters"]["retry_after"].as_u64().unwrap_or(1);
        return Failure::RetryAfter(Duration::from_secs(secs.max(1)));
    }
    if code >= 500 {
        return Failure::Transient(format!("HTTP {code}"));
    }
    let lower = description.to_lowercase();
    let unreachable = code == 403
        || lower.contains("chat not found")
        || lower.contains("user is deactivated")
        || lower.contains("bot was kicked")
        || lower.contains("bot was blocked")
        || lower.contains("have no rights to send");
    if unreachable {
        return Failure::Unreachable(description);
    }
    Failure::Refused(code, description)
}

/// A request error by kind, without its URL (which holds the token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "network error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_update_is_skipped_by_id_and_the_rest_kept() {
        let body = br#"{"ok":true,"result":[
            {"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private","first_name":"A"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"bad \ud800 text"}},
            {"update_id":6,"message":{"message_id":2,"date":1,"chat":{"id":7,"type":"private","first_name":"A"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"fine"}}
        ]}"#;
        let got = parse_updates(200, body).unwrap();
        assert!(matches!(got[0], Polled::Unreadable(5)), "{got:?}");
        assert!(matches!(got[1], Polled::Update(6, _)), "{got:?}");
        // Read back from the inbox, it is still a message (teloxide reads messages only from
        // text, not from a `serde_json::Value`).
        let Polled::Update(_, v) = &got[1] else {
            unreachable!()
        };
        let u = crate::telegram::read_update(v).unwrap();
        assert!(matches!(
            u.kind,
            teloxide_core::types::UpdateKind::Message(_)
        ));
    }

    #[test]
    fn members_are_the_statuses_that_belong_to_the_group() {
        let m = |s: &str| membership(&serde_json::from_str::<Value>(s).unwrap());
        for s in ["creator", "administrator", "member"] {
            assert_eq!(
                m(&format!(r#"{{"status":"{s}"}}"#)),
                Membership::Member,
                "{s}"
            );
        }
        assert_eq!(
            m(r#"{"status":"restricted","is_member":true}"#),
            Membership::Member
        );
        for s in [
            r#"{"status":"restricted","is_member":false}"#,
            r#"{"status":"restricted"}"#,
            r#"{"status":"left"}"#,
            r#"{"status":"kicked","until_date":0}"#,
            r#"{"status":"something new"}"#,
            r#"{}"#,
        ] {
            assert_eq!(m(s), Membership::NotMember, "{s}");
        }
    }

    #[test]
    fn failures_are_told_apart() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        let r = v(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":3}}"#,
        );
        assert_eq!(
            classify(429, "x".into(), &r),
            Failure::RetryAfter(Duration::from_secs(3))
        );
        assert!(matches!(
            classify(502, "Bad Gateway".into(), &v("{}")),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify(
                403,
                "Forbidden: bot was blocked by the user".into(),
                &v("{}")
            ),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            classify(400, "Bad Request: message is too long".into(), &v("{}")),
            Failure::Refused(400, _)
        ));
    }
}
