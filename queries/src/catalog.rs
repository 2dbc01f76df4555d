//! The catalog of named queries: one `.sql` file per query under
//! `queries/sql/`, compiled into the binary, the same text for every engine.

use std::collections::BTreeSet;

/// One named query of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! query {
    ($name:literal) => {
        Query {
            name: $name,
            sql: include_str!(concat!("../sql/", $name, ".sql")),
        }
    };
}

/// Every query, by name.
pub const CATALOG: &[Query] = &[
    query!("access_review"),
    query!("admin_changes"),
    query!("after_hours"),
    query!("anti_passback"),
    query!("denied"),
    query!("door_trail"),
    query!("dormant_cards"),
    query!("inactive_card_use"),
    query!("muster"),
    query!("occupancy"),
    query!("person_trail"),
    query!("zones"),
];

/// Looks a query up by name.
pub fn query(name: &str) -> Option<&'static Query> {
    CATALOG.iter().find(|q| q.name == name)
}

impl Query {
    /// The named parameters (`$name`) the query uses, outside string literals
    /// and comments.
    pub fn params(&self) -> BTreeSet<&'static str> {
        let sql = self.sql;
        placeholders(sql)
            .into_iter()
            .map(|(start, end)| &sql[start + 1..end])
            .collect()
    }
}

/// The byte ranges of the `$name` placeholders in `sql` (the `$` included),
/// in order, skipping string literals (`''` is an escaped quote), quoted
/// identifiers and `--` comments.
pub fn placeholders(sql: &str) -> Vec<(usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // a literal or quoted identifier; a doubled quote escapes itself
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' => {
                let start = i;
                let mut end = start + 1;
                while end < b.len() && (b[end].is_ascii_lowercase() || b[end] == b'_') {
                    end += 1;
                }
                if end > start + 1 {
                    out.push((start, end));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The text with each `$name` replaced by a positional `?`, and the names in
/// the order of the `?`s (a name used twice appears twice): how an engine
/// with positional parameters only (Athena's `ExecutionParameters`) binds a
/// catalog query. Nothing else in the text changes.
pub fn positional(sql: &str) -> (String, Vec<&str>) {
    let mut text = String::with_capacity(sql.len());
    let mut names = Vec::new();
    let mut last = 0;
    for (start, end) in placeholders(sql) {
        text.push_str(&sql[last..start]);
        text.push('?');
        names.push(&sql[start + 1..end]);
        last = end;
    }
    text.push_str(&sql[last..]);
    (text, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_in_the_catalog_and_names_are_unique() {
        let dir = crate::manifest_dir().join("sql");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().replace(".sql", ""))
            .collect();
        files.sort();
        let names: Vec<&str> = CATALOG.iter().map(|q| q.name).collect();
        assert_eq!(files, names);
    }

    #[test]
    fn parameters_are_found_outside_strings_and_comments() {
        let q = query("muster").unwrap();
        assert_eq!(q.params().into_iter().collect::<Vec<_>>(), ["at", "at_dt"]);
        let q = query("person_trail").unwrap();
        assert_eq!(
            q.params().into_iter().collect::<Vec<_>>(),
            ["employee_id", "from", "from_dt", "to", "to_dt"]
        );
        assert!(
            query("zones").unwrap().params().is_empty(),
            "'$.name' is a JSON path, not a parameter"
        );
    }

    #[test]
    fn positional_form_replaces_only_placeholders_in_order() {
        let (text, names) = positional(
            "SELECT '$x', \"$y\" FROM t -- $z\nWHERE a = $at AND dt <= $at_dt AND b = $at",
        );
        assert_eq!(
            text,
            "SELECT '$x', \"$y\" FROM t -- $z\nWHERE a = ? AND dt <= ? AND b = ?"
        );
        assert_eq!(names, ["at", "at_dt", "at"]);
        for q in CATALOG {
            let (text, names) = positional(q.sql);
            assert_eq!(
                text.matches('?').count() - q.sql.matches('?').count(),
                names.len()
            );
            assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), q.params());
        }
    }
}
