//! The few SQL expressions SQLite and PostgreSQL spell differently: reading a member of the
//! JSON text calprov stores, and bounding a number. Everything else is written once.

/// Which backend a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A JSON member as a number (SQL NULL when absent). `key` is one of calprov's own
    /// metric names, never user input.
    pub(crate) fn json_number(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            // Only numbers: calprov stores NaN as the string "NaN", which SQLite's
            // json_extract returns as text and the report's queries leave out too.
            Dialect::Postgres => format!(
                "(CASE WHEN jsonb_typeof(calprov_try_jsonb({column}) -> '{key}') = 'number' \
                 THEN CAST(calprov_try_jsonb({column}) ->> '{key}' AS DOUBLE PRECISION) END)"
            ),
        }
    }

    /// A JSON boolean member as 1 / 0 (SQL NULL when absent or not a boolean), as SQLite's
    /// json_extract gives it.
    pub(crate) fn json_bool(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Dialect::Postgres => format!(
                "(CASE calprov_try_jsonb({column}) -> '{key}' WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
            ),
        }
    }

    /// A JSON member's own JSON text (an object's, for the flag grids).
    pub(crate) fn json_text(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Dialect::Postgres => format!("(calprov_try_jsonb({column}) -> '{key}')::text"),
        }
    }

    /// Whether a JSON member is a number.
    pub(crate) fn json_is_number(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => {
                format!("typeof(json_extract({column}, '$.{key}')) IN ('real', 'integer')")
            }
            Dialect::Postgres => {
                format!("jsonb_typeof(calprov_try_jsonb({column}) -> '{key}') = 'number'")
            }
        }
    }

    /// `value` truncated toward zero to an integer within `-bound..=bound`.
    pub(crate) fn bounded_integer(self, value: &str, bound: i64) -> String {
        match self {
            // The bundled SQLite has no math functions; CAST truncates.
            Dialect::Sqlite => format!("CAST(max(-{bound}, min({bound}, {value})) AS INTEGER)"),
            // PostgreSQL's CAST rounds: trunc first.
            Dialect::Postgres => {
                format!("CAST(trunc(GREATEST(-{bound}, LEAST({bound}, {value}))) AS BIGINT)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn each_backend_reads_json_with_its_own_functions() {
        assert_eq!(
            Dialect::Sqlite.json_number("m", "flagged_fraction"),
            "json_extract(m, '$.flagged_fraction')"
        );
        assert!(
            Dialect::Postgres
                .json_bool("m", "qa_passed")
                .contains("WHEN 'true' THEN 1")
        );
        assert!(
            Dialect::Postgres
                .bounded_integer("x", 5)
                .starts_with("CAST(trunc(")
        );
    }
}
