//! Query results as rows of typed cells, independent of the engine's Arrow types.

use accesslake_model::{Micros, format_rfc3339};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

/// One value of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// UTC microseconds
    Time(Micros),
}

impl Cell {
    /// The value as text: RFC 3339 with `Z` for instants, empty for null.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => format_float(*f),
            Cell::Bool(b) => b.to_string(),
            Cell::Time(t) => format_rfc3339(*t),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_time(&self) -> Option<Micros> {
        match self {
            Cell::Time(t) => Some(*t),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Shortest text that reads back as the same f64, at most 6 decimals.
fn format_float(f: f64) -> String {
    let s = format!("{f:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn cell(col: &dyn Array, i: usize) -> Cell {
    if col.is_null(i) {
        return Cell::Null;
    }
    match col.data_type() {
        DataType::Utf8 => Cell::Text(col.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Cell::Text(col.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Cell::Text(col.as_string_view().value(i).to_string()),
        DataType::Boolean => Cell::Bool(col.as_boolean().value(i)),
        DataType::Int8 => Cell::Int(col.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Cell::Int(col.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Cell::Int(col.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Cell::Int(col.as_primitive::<Int64Type>().value(i)),
        DataType::UInt64 => Cell::Int(col.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Float64 => Cell::Float(col.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Cell::Time(col.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        other => Cell::Text(format!("<{other}>")),
    }
}

/// Converts record batches into column names and rows of cells.
pub fn batches_to_rows(batches: &[RecordBatch]) -> (Vec<String>, Vec<Vec<Cell>>) {
    let columns = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            rows.push(b.columns().iter().map(|c| cell(c.as_ref(), i)).collect());
        }
    }
    (columns, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_short() {
        assert_eq!(Cell::Float(0.25).text(), "0.25");
        assert_eq!(Cell::Float(1.0).text(), "1");
        assert_eq!(Cell::Float(2.0 / 3.0).text(), "0.666667");
        assert_eq!(Cell::Float(0.0).text(), "0");
        assert_eq!(Cell::Time(0).text(), "1970-01-01T00:00:00.000000Z");
    }
}
