//! The wall clock. Only drivers read it (the daemon, the settler, the commands); the cores
//! take the time it gives as an argument.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds of Unix time.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
