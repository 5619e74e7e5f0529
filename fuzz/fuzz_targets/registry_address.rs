//! What names a registry: any `--db` text is a file or a PostgreSQL server shown without its
//! password, or a clear error; any password file gives a password or none. Never a panic.
#![no_main]

use std::path::Path;

use arbitrary::Arbitrary;
use calprov_core::db_path::RegistryAddress;
use calprov_schema::postgres::find_password;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    db: &'a str,
    passfile: &'a str,
    host: &'a str,
    port: u16,
    database: &'a str,
    user: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    match RegistryAddress::parse(Path::new(input.db)) {
        Ok(RegistryAddress::Postgres(target)) => {
            let shown = target.to_string();
            assert!(shown.starts_with("postgres://"), "{shown:?}");
            assert_eq!(format!("{target:?}"), format!("PgTarget({shown:?})"));
        }
        Ok(RegistryAddress::File(path)) => assert_eq!(path, Path::new(input.db)),
        Err(error) => assert!(error.to_string().starts_with("invalid PostgreSQL registry URL")),
    }
    if let Some(password) = find_password(input.passfile, input.host, input.port, input.database, input.user) {
        assert!(password.len() <= input.passfile.len());
    }
});
