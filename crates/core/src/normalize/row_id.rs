//! `_dlt_id` values, computed as dlt does (`dlt/common/normalizers/json/helpers.py`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use sha3::Shake128;
use sha3::digest::{ExtendableOutput, Update, XofReader};

/// Bytes in a `_dlt_id` (dlt's `DLT_ID_LENGTH_BYTES`): 14 base64 characters.
const ID_BYTES: usize = 10;

/// A random root row id: 10 random bytes, base64 without padding.
pub fn random_row_id(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; ID_BYTES];
    rng.fill_bytes(&mut bytes);
    STANDARD_NO_PAD.encode(bytes)
}

/// A child row id: `shake_128("{parent_id}_{child_table}_{list_idx}")`, so reloading the same
/// parent row gives its children the same ids.
pub fn child_row_id(parent_id: &str, child_table: &str, list_idx: usize) -> String {
    let mut hasher = Shake128::default();
    hasher.update(parent_id.as_bytes());
    hasher.update(b"_");
    hasher.update(child_table.as_bytes());
    hasher.update(b"_");
    hasher.update(itoa::Buffer::new().format(list_idx).as_bytes());
    digest(hasher)
}

/// A content hash id over compact sorted JSON (dlt's `get_row_hash`): root ids of
/// `upsert`/`insert-only` (over the primary key) and `scd2` (over the whole item) tables.
pub fn content_row_id(sorted_json: &str) -> String {
    let mut hasher = Shake128::default();
    hasher.update(sorted_json.as_bytes());
    digest(hasher)
}

fn digest(hasher: Shake128) -> String {
    let mut bytes = [0u8; ID_BYTES];
    hasher.finalize_xof().read(&mut bytes);
    STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_dlt() {
        assert_eq!(
            child_row_id("SwxxfeeS6X/8SQ", "items__list_dicts", 0),
            "+b/sYvIf1vBWRQ"
        );
        assert_eq!(content_row_id(r#"{"id":1}"#), "z5jIxXIbUnmbKw");
        assert_eq!(content_row_id(r#"{"id":1,"v":"a"}"#), "lknCZL/MuP9QCg");
    }

    #[test]
    fn random_ids_have_14_characters() {
        let id = random_row_id(&mut rand::rng());
        assert_eq!(id.len(), 14);
    }
}
