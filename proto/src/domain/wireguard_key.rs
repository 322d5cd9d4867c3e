use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind, shown};

const KEY_LEN: usize = 32;
const BASE64_LEN: usize = 44;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A WireGuard (Curve25519) public key. Displayed and parsed as base64, the form `wg`
/// uses, so it can be compared with `wg show` by eye.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WireGuardKey([u8; KEY_LEN]);

impl WireGuardKey {
    pub const fn new(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, ValidationError> {
        <[u8; KEY_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ValidationErrorKind::WireGuardKeyLength(bytes.len()).into())
    }

    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Display for WireGuardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 32 bytes are ten 3-byte groups and a 2-byte tail, hence the single '='.
        let mut out = String::with_capacity(BASE64_LEN);
        let sextet = |v: u32, shift: u32| char::from(ALPHABET[((v >> shift) & 63) as usize]);
        for chunk in self.0.chunks(3) {
            let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
            let v = b(0) << 16 | b(1) << 8 | b(2);
            out.push(sextet(v, 18));
            out.push(sextet(v, 12));
            out.push(if chunk.len() > 1 { sextet(v, 6) } else { '=' });
            out.push(if chunk.len() > 2 { sextet(v, 0) } else { '=' });
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for WireGuardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireGuardKey({self})")
    }
}

impl FromStr for WireGuardKey {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ValidationError::from(ValidationErrorKind::WireGuardKeyBase64(shown(s)));
        let digits = s
            .strip_suffix('=')
            .filter(|d| d.len() == BASE64_LEN - 1)
            .ok_or_else(invalid)?;
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut out = Vec::with_capacity(KEY_LEN);
        for c in digits.bytes() {
            let v = ALPHABET.iter().position(|&a| a == c).ok_or_else(invalid)?;
            bits = (bits << 6) | v as u32;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        // The two bits left over must be zero, or two strings would decode to one key.
        if bits != 0 {
            return Err(invalid());
        }
        Self::from_slice(&out).map_err(|_| invalid())
    }
}

impl TryFrom<String> for WireGuardKey {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<WireGuardKey> for String {
    fn from(value: WireGuardKey) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        for key in [[0u8; 32], [0xff; 32], std::array::from_fn(|i| i as u8)] {
            let key = WireGuardKey::new(key);
            let text = key.to_string();
            assert_eq!(text.len(), BASE64_LEN);
            assert_eq!(text.parse::<WireGuardKey>().expect("roundtrip"), key);
        }
    }

    #[test]
    fn known_vector() {
        // `printf '\0\1...\37' | base64` for bytes 0..32.
        let key = WireGuardKey::new(std::array::from_fn(|i| i as u8));
        assert_eq!(
            key.to_string(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        );
    }

    #[test]
    fn rejects_bad_text() {
        let good = WireGuardKey::new([7; 32]).to_string();
        let non_canonical = format!("{}B=", &good[..42]);
        for bad in [
            "",
            "AAAA",
            &good[..43],
            &good.replace('=', "A"),
            &non_canonical,
            &good.replace('B', "*"),
        ] {
            if bad != good {
                assert!(bad.parse::<WireGuardKey>().is_err(), "{bad:?}");
            }
        }
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(WireGuardKey::from_slice(&[1; 32]).is_ok());
        let err = WireGuardKey::from_slice(&[1; 31]).expect_err("short");
        assert_eq!(
            err.to_string(),
            "WireGuard public key must be 32 bytes, got 31"
        );
        assert!(WireGuardKey::from_slice(&[]).is_err());
    }
}
