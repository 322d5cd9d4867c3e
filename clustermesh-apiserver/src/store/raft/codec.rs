//! MessagePack encoding for everything the raft store writes to disk or the wire.
//! Self-describing (field names kept), so a field added later does not misalign old data.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    encode_sized(value, 0)
}

/// As [`encode`], into a buffer of `capacity` to start with: a log entry of ten
/// thousand writes grown by doubling copied itself a dozen times into fresh memory.
/// Room left unused is never touched, so overestimating costs little.
pub(crate) fn encode_sized<T: Serialize>(value: &T, capacity: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(capacity);
    rmp_serde::encode::write_named(&mut out, value).map_err(|e| format!("encode: {e}"))?;
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| format!("decode: {e}"))
}
