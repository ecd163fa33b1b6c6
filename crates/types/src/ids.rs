/// A new time-ordered identifier (UUID v7, hyphenated).
///
/// Time ordering keeps inserts append-only in the primary-key index and makes the id itself a
/// stable cursor for pagination.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().as_hyphenated().to_string()
}
