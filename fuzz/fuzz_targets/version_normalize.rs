//! Version-string normalisation: any text is either refused or becomes dotted digits that
//! normalise to themselves.
#![no_main]

use calprov_casa::normalize_version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(version) = normalize_version(text) {
        let s = version.as_str();
        assert!(s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())), "{s:?}");
        assert!((2..=4).contains(&s.split('.').count()));
        assert_eq!(normalize_version(s).expect("canonical form is valid"), version);
    }
});
