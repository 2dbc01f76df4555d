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
        let b = sql.as_bytes();
        let mut out = BTreeSet::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\'' => {
                    // a string literal; '' is an escaped quote
                    i += 1;
                    while i < b.len() {
                        if b[i] == b'\'' {
                            if b.get(i + 1) == Some(&b'\'') {
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
                    let start = i + 1;
                    let mut end = start;
                    while end < b.len() && (b[end].is_ascii_lowercase() || b[end] == b'_') {
                        end += 1;
                    }
                    if end > start {
                        out.insert(&sql[start..end]);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_in_the_catalog_and_names_are_unique() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
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
}
