//! Renderers that other tools read: CSV (RFC 4180), JSON
//! (`{"report","params","rows"}` with columns in SPEC order) and a compact
//! table for the terminal.

use crate::{Cell, Report};

/// CSV with a header row; nulls are empty fields.
pub fn csv(r: &Report) -> String {
    csv_rows(&r.columns, &r.rows)
}

/// CSV of any columns and rows.
pub fn csv_rows(columns: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = csv_line(columns.iter().map(|c| c.to_string()));
    out.push_str(&csv_body(rows));
    out
}

/// CSV lines of `rows` without a header, for an answer written in parts.
pub fn csv_body(rows: &[Vec<Cell>]) -> String {
    rows.iter()
        .map(|row| csv_line(row.iter().map(Cell::text)))
        .collect()
}

/// One CSV line (RFC 4180 quoting) ending in CRLF.
fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let mut line = cells
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn json_value(c: &Cell) -> serde_json::Value {
    match c {
        Cell::Null => serde_json::Value::Null,
        Cell::Text(s) => s.clone().into(),
        Cell::Int(i) => (*i).into(),
        Cell::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Cell::Bool(b) => (*b).into(),
        Cell::Time(_) => c.text().into(),
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// One JSON object; the keys of each row in the report's column order.
pub fn json(r: &Report) -> String {
    let params: Vec<String> = r
        .params
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
        .collect();
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            let fields: Vec<String> = r
                .columns
                .iter()
                .zip(row)
                .map(|(k, v)| format!("{}:{}", json_str(k), json_value(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    format!(
        "{{\"report\":{},\"params\":{{{}}},\"rows\":[{}]}}\n",
        json_str(r.name),
        params.join(","),
        rows.join(",")
    )
}

/// Text as a reader should see it on a page or a terminal: control
/// characters (NUL, ESC, line breaks, DEL) become their visible Control
/// Pictures (`␀`, `␛`, `␊`, `␡`) and bidirectional overrides are spelled out
/// (`<U+202E>`), so a value can neither drive the terminal, break a row, nor
/// reorder what is around it. CSV and JSON keep the exact value.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_ascii_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(hidden) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
            '\u{7f}' => out.push('\u{2421}'),
            c if hidden(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

/// Aligned columns for a terminal; values longer than `width` characters are cut.
pub fn table(columns: &[&str], rows: &[Vec<Cell>], width: usize) -> String {
    let cut = |s: String| {
        let s = visible(&s).into_owned();
        if s.chars().count() > width {
            let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c.text())).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt_row = |r: Vec<String>| {
        r.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = fmt_row(columns.iter().map(|c| c.to_string()).collect());
    out.push('\n');
    out.push_str(&fmt_row(widths.iter().map(|w| "─".repeat(*w)).collect()));
    out.push('\n');
    for r in cells {
        out.push_str(&fmt_row(r));
        out.push('\n');
    }
    out.push_str(&format!("({} rows)\n", rows.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_made_visible() {
        assert_eq!(visible("e1"), "e1");
        assert_eq!(
            visible("d\u{0}x\u{1b}[2J\r\n\u{7f}"),
            "d\u{2400}x\u{241b}[2J\u{240d}\u{240a}\u{2421}"
        );
        assert_eq!(visible("a\u{202e}cba"), "a<U+202E>cba");
        assert_eq!(visible("\u{435}1 é ✓"), "\u{435}1 é ✓");
        let t = table(
            &["id"],
            &[vec![Cell::Text("\u{1b}[31mred\nrow".into())]],
            40,
        );
        assert_eq!(t.lines().count(), 4, "{t}");
        assert!(!t.contains('\u{1b}'), "{t}");
    }
}
