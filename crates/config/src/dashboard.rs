//! The web dashboard (`[dashboard]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// A signed-in browser unused for this many minutes is signed out (at most a week, 10080:
    /// unused sessions are deleted after that).
    pub idle_minutes: u64,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self { idle_minutes: 30 }
    }
}
