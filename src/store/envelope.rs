//! Every value the sled store writes carries a checksum of its own: one magic byte, a CRC-32 of
//! the body (big-endian) and the body. sled checks its log as a whole; this finds a flipped
//! byte in one record, so that record is isolated (reported, skipped by sweeps) instead of
//! parsed as something it is not.
//!
//! Stores written before checksums existed are rewritten once at open (see
//! [`super::sled_store`]); the magic byte cannot begin any value the old format wrote (JSON
//! starts with `{`, the journal with a tree number below 4, times and marks with `0x00` or
//! `0x80`), so a half-finished rewrite is finished safely.

/// The first byte of every checked value.
pub const MAGIC: u8 = 0xC5;

/// Wraps a body with the magic byte and its checksum.
pub fn wrap(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(MAGIC);
    out.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// What is wrong with a stored value that failed its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// It does not start with the magic byte (or is too short to hold a checksum).
    NoChecksum,
    /// The checksum does not match the body.
    Mismatch,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Damage::NoChecksum => "it carries no checksum",
            Damage::Mismatch => "its checksum does not match (the bytes were damaged)",
        })
    }
}

/// The body of a checked value, or what is wrong with it.
pub fn unwrap(value: &[u8]) -> Result<&[u8], Damage> {
    if value.len() < 5 || value[0] != MAGIC {
        return Err(Damage::NoChecksum);
    }
    let want = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    let body = &value[5..];
    if crc32fast::hash(body) == want {
        Ok(body)
    } else {
        Err(Damage::Mismatch)
    }
}

/// Whether a value already carries a valid checksum (a rewrite interrupted by a crash).
pub fn is_wrapped(value: &[u8]) -> bool {
    unwrap(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_anywhere_is_found() {
        let v = wrap(br#"{"v":1,"user":"t:1"}"#);
        assert_eq!(unwrap(&v).unwrap(), br#"{"v":1,"user":"t:1"}"#);
        for i in 0..v.len() {
            for bit in 0..8 {
                let mut d = v.clone();
                d[i] ^= 1 << bit;
                assert!(unwrap(&d).is_err(), "byte {i} bit {bit}");
            }
        }
        assert_eq!(unwrap(b"{}"), Err(Damage::NoChecksum));
        assert_eq!(unwrap(&[]), Err(Damage::NoChecksum));
    }
}
