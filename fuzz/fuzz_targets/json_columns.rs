//! The JSON columns as read back from a registry, Python's NaN tokens included: reading
//! never panics, and whatever reads is written back as standard JSON that reads the same.
#![no_main]

use calprov_core::json::parse_python_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let standard = serde_json::from_str::<serde_json::Value>(text);
    match parse_python_json(text) {
        Ok(value) => {
            // Standard JSON reads exactly as serde_json reads it.
            if let Ok(expected) = &standard {
                assert_eq!(&value, expected);
            }
            let written = serde_json::to_string(&value).expect("a Value always serialises");
            let again: serde_json::Value = serde_json::from_str(&written).expect("calprov writes standard JSON");
            assert_eq!(again, value);
        }
        Err(_) => assert!(standard.is_err(), "standard JSON was refused"),
    }
});
