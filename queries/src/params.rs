//! Typed values for the named parameters of catalog queries. Values are bound
//! by the engine, never spliced into SQL text.

use std::collections::BTreeMap;

use accesslake_model::{Micros, format_rfc3339, utc_date};

use crate::{Error, Result};

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An instant (bound as a UTC microsecond timestamp).
    Timestamp(Micros),
    /// A string (ids, and `dt` partition bounds).
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Timestamp(t) => f.write_str(&format_rfc3339(*t)),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Named parameter values for one query run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &str, v: Value) -> Self {
        self.0.insert(name.to_string(), v);
        self
    }

    /// `from`, `to` (half-open), and the `dt` partition range they touch.
    pub fn range(from: Micros, to: Micros) -> Result<Self> {
        if to <= from {
            return Err(Error::Param(format!(
                "--to ({}) must be after --from ({})",
                format_rfc3339(to),
                format_rfc3339(from)
            )));
        }
        Ok(Params::new()
            .with("from", Value::Timestamp(from))
            .with("to", Value::Timestamp(to))
            .with("from_dt", Value::Text(utc_date(from).to_string()))
            .with("to_dt", Value::Text(utc_date(to - 1).to_string())))
    }

    /// `at`, and the last `dt` partition it can see.
    pub fn at(at: Micros) -> Self {
        Params::new()
            .with("at", Value::Timestamp(at))
            .with("at_dt", Value::Text(utc_date(at).to_string()))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The values of the parameters `query` uses; an error names a missing one.
    /// Extra values (a range given to a query that only needs its end) are left out.
    pub fn for_query(&self, query: &crate::Query) -> Result<Vec<(&'static str, &Value)>> {
        query
            .params()
            .into_iter()
            .map(|p| {
                self.0.get(p).map(|v| (p, v)).ok_or_else(|| {
                    Error::Param(format!("query `{}` needs parameter `{p}`", query.name))
                })
            })
            .collect()
    }
}
