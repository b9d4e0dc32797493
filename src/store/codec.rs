//! How a person's state is written: JSON with a format version, and the migrations between
//! versions. Reading an older version upgrades it; reading a newer one is a clear error.

use super::StoreError;
use crate::engine::UserState;
use crate::engine::state::STATE_VERSION;

/// What is wrong with a stored value, without quoting it: serde's messages can quote the
/// value they failed on, and a value can hold what a person wrote.
pub fn json_error(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "input/output",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{kind} error at line {} column {}", e.line(), e.column())
}

/// Encodes a state for storage.
pub fn encode(state: &UserState) -> Vec<u8> {
    let mut s = state.clone();
    s.v = STATE_VERSION;
    serde_json::to_vec(&s).expect("a UserState always serialises")
}

/// Decodes a stored state, migrating older versions.
pub fn decode(key: &str, bytes: &[u8]) -> Result<UserState, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt {
        key: key.to_string(),
        reason: json_error(&e),
    };
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(corrupt)?;
    let version = version_of(key, &value)?;
    if version > STATE_VERSION {
        return Err(StoreError::TooNew {
            key: key.to_string(),
            version,
            supported: STATE_VERSION,
        });
    }
    if version == 0 {
        migrate_v0(&mut value);
    }
    serde_json::from_value(value).map_err(corrupt)
}

/// The largest format version any record may carry: anything larger is damage, not the future.
const MAX_VERSION: u64 = 1000;

/// A record's format version: its `"v"` field, which must be a small whole number (`1`, not
/// `"1"` or `1.0`); no field at all is version 0 (the unversioned prototype format).
pub fn version_of(key: &str, value: &serde_json::Value) -> Result<u32, StoreError> {
    let Some(obj) = value.as_object() else {
        return Err(StoreError::Corrupt {
            key: key.to_string(),
            reason: "it is not a JSON object".into(),
        });
    };
    match obj.get("v") {
        None => Ok(0),
        Some(serde_json::Value::Number(n)) if n.as_u64().is_some_and(|v| v <= MAX_VERSION) => {
            Ok(n.as_u64().unwrap_or(0) as u32)
        }
        Some(_) => Err(StoreError::Corrupt {
            key: key.to_string(),
            reason: "its format version is not a small whole number".into(),
        }),
    }
}

/// Version 0 was the unversioned prototype format: no `v`, the position under `position`.
fn migrate_v0(value: &mut serde_json::Value) {
    if let Some(obj) = value.as_object_mut() {
        if let Some(p) = obj.remove("position") {
            obj.insert("at".into(), p);
        }
        obj.insert("v".into(), 1.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_newer_versions() {
        let s = UserState::new("t:1");
        let back = decode("t:1", &encode(&s)).unwrap();
        assert_eq!(back, s);
        let newer = br#"{"v":99,"user":"t:1"}"#;
        assert!(matches!(
            decode("t:1", newer),
            Err(StoreError::TooNew { version: 99, .. })
        ));
        assert!(matches!(
            decode("t:1", b"not json"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn versions_must_be_small_whole_numbers() {
        // Seen in the field: "2" read as unversioned and rewritten as v1, 2.0 restored as 1.
        for bad in [
            &br#"{"v":"2","user":"t:1"}"#[..],
            br#"{"v":2.0,"user":"t:1"}"#,
            br#"{"v":-1,"user":"t:1"}"#,
            br#"{"v":1e3,"user":"t:1"}"#,
            br#"{"v":null,"user":"t:1"}"#,
            br#"{"v":4294967297,"user":"t:1"}"#,
            br#"[1]"#,
        ] {
            assert!(
                matches!(decode("t:1", bad), Err(StoreError::Corrupt { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            decode("t:1", br#"{"v":2,"user":"t:1"}"#),
            Err(StoreError::TooNew { version: 2, .. })
        ));
    }

    #[test]
    fn migrates_the_unversioned_format() {
        let old = br#"{"user":"t:1","created":null,"updated":null,"position":{"kind":"lens","lens":"lens-2","stop":"intro"}}"#;
        let s = decode("t:1", old).unwrap();
        assert_eq!(s.v, STATE_VERSION);
        assert_eq!(
            s.at,
            crate::engine::At::Lens {
                lens: "lens-2".into(),
                stop: "intro".into()
            }
        );
    }
}
