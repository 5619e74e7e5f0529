//! libpq's password file (`PGPASSFILE`, else `~/.pgpass`): the postgres crate does not read
//! it, and pipelines keep their passwords there rather than in URLs.
//!
//! Format: one `hostname:port:database:username:password` per line, `*` matching anything,
//! `\:` and `\\` escaping, `#` starting a comment; the first matching line wins. As libpq
//! does, a file that its group or others can read is ignored (with a warning).

use std::path::{Path, PathBuf};

use postgres::Config;
use postgres::config::Host;

use super::PgEnvironment;

/// The password the file gives for the first host of `config`, if any.
pub(super) fn lookup(config: &Config, environment: &PgEnvironment) -> Option<String> {
    let path = passfile_path(environment)?;
    let text = read_private(&path)?;
    let host = match config.get_hosts().first()? {
        Host::Tcp(name) => name.clone(),
        // libpq matches a socket directory as `localhost`.
        Host::Unix(_) => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user()?;
    let database = config.get_dbname().unwrap_or(user);
    find_password(&text, &host, port, database, user)
}

fn passfile_path(environment: &PgEnvironment) -> Option<PathBuf> {
    environment
        .passfile
        .clone()
        .or_else(|| environment.home.as_ref().map(|h| h.join(".pgpass")))
}

fn read_private(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                passfile = %path.display(),
                "password file has group or world access; ignored (chmod 0600 it)"
            );
            return None;
        }
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first line of a password file's `text` matching host, port,
/// database and user (libpq's rules).
pub fn find_password(
    text: &str,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(split_fields)
        .find(|fields| {
            let wanted = [host, port.as_str(), database, user];
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, value)| field == "*" || field == value)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// The five fields of a line, unescaped; `None` for a line with fewer.
fn split_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut()?.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::find_password;

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.example:5432:calprov:alice:first\n\
                    *:*:calprov:alice:se\\:cret\\\\\n\
                    *:*:*:*:fallback\n";
        let find = |host, port, db, user| find_password(text, host, port, db, user);
        assert_eq!(
            find("db.example", 5432, "calprov", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            find("other", 6543, "calprov", "alice").as_deref(),
            Some("se:cret\\")
        );
        assert_eq!(find("other", 6543, "x", "bob").as_deref(), Some("fallback"));
        assert_eq!(find_password("short:line", "h", 1, "d", "u"), None);
        assert_eq!(find_password("", "h", 1, "d", "u"), None);
    }

    proptest::proptest! {
        /// Any password, written with libpq's escapes, is read back as it was.
        #[test]
        fn escaped_passwords_read_back(password in ".*", host in "[a-z.]{1,12}", port in 1u16..) {
            let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
            let line = format!("{host}:{port}:db:user:{escaped}\n");
            let found = find_password(&line, &host, port, "db", "user");
            // A password with a line break is two lines, as in libpq.
            if !password.contains(['\n', '\r']) {
                proptest::prop_assert_eq!(found, Some(password));
            }
        }
    }

    #[test]
    fn a_password_may_contain_colons_after_the_fourth() {
        assert_eq!(
            find_password("h:1:d:u:a:b:c", "h", 1, "d", "u").as_deref(),
            Some("a:b:c")
        );
    }
}
