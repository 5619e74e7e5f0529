//! The wall clock as the registry stores it: unix seconds as a float, like the Python
//! pipeline's `time.time()`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current time in unix seconds, as stored in `created_at` and events.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}
