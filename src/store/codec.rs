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
    let version = value.get("v").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
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
