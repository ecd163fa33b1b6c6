use serde::{Deserialize, Serialize};

/// Files imported into lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportSettings {
    /// Largest file accepted, in bytes; the upload is cut off past it.
    pub max_file_bytes: u64,
    /// Rows in one file.
    pub max_rows: usize,
    /// What an XLSX may unpack to, in bytes (checked before it is read).
    pub max_unpacked_bytes: u64,
    /// Imports one node runs at a time; more wait.
    pub concurrent: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            max_file_bytes: 100 * 1024 * 1024,
            max_rows: 2_000_000,
            max_unpacked_bytes: 256 * 1024 * 1024,
            concurrent: 2,
        }
    }
}
