//! Self-contained HTML: one file per report with inline SVG charts, and an
//! index page. No scripts, no external assets; prints on A4/Letter.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::{Cell, Report, ReportDef};

/// Rows shown in a page's table; the CSV beside it has them all.
pub const MAX_TABLE_ROWS: usize = 2_000;

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d2433}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}.muted{color:#5b6476}
table{border-collapse:collapse;width:100%;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e6ec;padding:.25rem .45rem;text-align:left;white-space:nowrap}
th{position:sticky;top:0;background:#f5f7fa}tr:nth-child(even) td{background:#fafbfc}
td.num{text-align:right}.chart{margin:.6rem 0 1rem}.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
a{color:#2457c5}.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #e3e6ec;border-radius:8px;padding:.8rem 1rem;min-width:12rem}
.card b{display:block;font-size:1.4rem}@media print{body{margin:0;max-width:none}th{position:static}a{color:inherit}}";

const PALETTE: &[&str] = &[
    "#2457c5", "#d1495b", "#edae49", "#00798c", "#7b4fa0", "#66a182", "#e07a1f", "#8c564b",
    "#c4a000", "#3d3d3d", "#b5179e", "#4cc9f0", "#6a994e",
];

/// Escapes text for HTML content and attribute values; control characters
/// are shown as their pictures ([`crate::render::visible`]).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::render::visible(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// The page of one report.
pub fn report_page(def: &ReportDef, r: &Report) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<p class=\"muted\"><a href=\"index.html\">accesslake reports</a> · for {}</p><h1>{}</h1><p>{}</p><p class=\"muted\">{}</p>",
        escape(def.audience),
        escape(def.name),
        escape(def.about),
        r.params
            .iter()
            .map(|(k, v)| format!("{} <b>{}</b>", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    match def.name {
        "occupancy" => b.push_str(&occupancy_charts(r)),
        "denied" => b.push_str(&denied_chart(r)),
        _ => {}
    }
    let _ = write!(b, "<h2>{} rows</h2>", r.rows.len());
    if r.rows.len() > MAX_TABLE_ROWS {
        let _ = write!(
            b,
            "<p class=\"muted\">The first {MAX_TABLE_ROWS} are shown; {}.csv has all of them.</p>",
            escape(def.name)
        );
    }
    b.push_str("<table><thead><tr>");
    for c in &r.columns {
        let _ = write!(b, "<th>{}</th>", escape(c));
    }
    b.push_str("</tr></thead><tbody>");
    for row in r.rows.iter().take(MAX_TABLE_ROWS) {
        b.push_str("<tr>");
        for c in row {
            let class = if matches!(c, Cell::Int(_) | Cell::Float(_)) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(b, "<td{class}>{}</td>", escape(&c.text()));
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table>");
    page(&format!("accesslake · {}", def.name), &b)
}

/// The index: headline figures and one link per report.
pub fn index_page(headlines: &[(String, String)], reports: &[(&ReportDef, &Report)]) -> String {
    let mut b = String::from("<h1>accesslake reports</h1>");
    b.push_str("<div class=\"cards\">");
    for (label, value) in headlines {
        let _ = write!(
            b,
            "<div class=\"card\"><b>{}</b>{}</div>",
            escape(value),
            escape(label)
        );
    }
    b.push_str("</div><h2>Reports</h2><table><thead><tr><th>report</th><th>for</th><th>what</th><th>rows</th><th>data</th></tr></thead><tbody>");
    for (def, r) in reports {
        let n = escape(def.name);
        let _ = write!(
            b,
            "<tr><td><a href=\"{n}.html\">{n}</a></td><td>{}</td><td style=\"white-space:normal\">{}</td><td class=\"num\">{}</td><td><a href=\"{n}.csv\">csv</a> · <a href=\"{n}.json\">json</a></td></tr>",
            escape(def.audience),
            escape(def.about),
            r.rows.len()
        );
    }
    b.push_str("</tbody></table>");
    page("accesslake reports", &b)
}

fn short_time(t: i64) -> String {
    accesslake_model::format_rfc3339(t)[..16].replace('T', " ")
}

/// A zone's capacity and its (bucket_start, occupancy_end, peak) points.
type ZoneSeries = (Option<i64>, Vec<(i64, i64, i64)>);

/// One line chart per zone: occupancy at each hour's end, the peak within it,
/// and the zone's capacity as a dashed line.
fn occupancy_charts(r: &Report) -> String {
    let mut zones: BTreeMap<String, ZoneSeries> = BTreeMap::new();
    for row in &r.rows {
        let (Some(z), Some(t), Some(end), Some(peak)) = (
            row[0].as_str(),
            row[1].as_time(),
            row[4].as_int(),
            row[5].as_int(),
        ) else {
            continue;
        };
        let e = zones.entry(z.to_string()).or_default();
        e.0 = row[6].as_int();
        e.1.push((t, end, peak));
    }
    let mut out = String::from(
        "<div class=\"legend\"><span><i style=\"background:#2457c5\"></i>occupancy at hour end</span><span><i style=\"background:#9db4e6\"></i>peak within the hour</span><span><i style=\"background:#d1495b\"></i>capacity</span></div>",
    );
    let (w, h, pad) = (1000.0, 150.0, 34.0);
    for (zone, (capacity, pts)) in zones {
        let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
            continue;
        };
        let max = pts
            .iter()
            .map(|p| p.2)
            .chain(capacity)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let n = pts.len().max(2) as f64 - 1.0;
        let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / n;
        let y = |v: i64| h - pad / 2.0 - (h - pad) * v as f64 / max;
        let line = |f: fn(&(i64, i64, i64)) -> i64| -> String {
            pts.iter()
                .enumerate()
                .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(f(p))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = write!(
            out,
            "<div class=\"chart\"><b>{}</b> <span class=\"muted\">capacity {}</span><svg role=\"img\" aria-label=\"occupancy of {}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" height=\"{h}\"><line x1=\"{pad}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c9ced8\"/><polyline class=\"peak\" fill=\"none\" stroke=\"#9db4e6\" stroke-width=\"1.5\" points=\"{}\"/><polyline class=\"occupancy\" fill=\"none\" stroke=\"#2457c5\" stroke-width=\"2\" points=\"{}\"/>",
            escape(&zone),
            capacity.map_or("unknown".to_string(), |c| c.to_string()),
            escape(&zone),
            y(0),
            w - pad,
            y(0),
            line(|p| p.2),
            line(|p| p.1),
        );
        if let Some(c) = capacity.filter(|c| *c > 0) {
            let _ = write!(
                out,
                "<line class=\"capacity\" x1=\"{pad}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d1495b\" stroke-dasharray=\"5 4\"/>",
                y(c),
                w - pad,
                y(c)
            );
        }
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{:.1}\" font-size=\"11\" fill=\"#5b6476\">{}</text><text x=\"2\" y=\"{:.1}\" font-size=\"11\" fill=\"#5b6476\">0</text><text x=\"{pad}\" y=\"{h}\" font-size=\"11\" fill=\"#5b6476\">{} UTC</text><text x=\"{:.1}\" y=\"{h}\" font-size=\"11\" fill=\"#5b6476\" text-anchor=\"end\">{} UTC</text></svg></div>",
            y(max as i64) + 4.0,
            max as i64,
            y(0),
            short_time(first.0),
            w - pad,
            short_time(last.0)
        );
    }
    out
}

/// Denied scans per UTC day, stacked by reason.
fn denied_chart(r: &Report) -> String {
    let mut days: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    for row in &r.rows {
        let (Some(t), Some(reason)) = (row[1].as_time(), row[2].as_str()) else {
            continue;
        };
        let day = accesslake_model::utc_date(t).to_string();
        *days
            .entry(day)
            .or_default()
            .entry(reason.to_string())
            .or_default() += 1;
        *reasons.entry(reason.to_string()).or_default() += 1;
    }
    if days.is_empty() {
        return String::new();
    }
    let color: BTreeMap<&str, &str> = reasons
        .keys()
        .enumerate()
        .map(|(i, r)| (r.as_str(), PALETTE[i % PALETTE.len()]))
        .collect();
    let mut out = String::from("<div class=\"legend\">");
    for (reason, n) in &reasons {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{} ({n})</span>",
            color[reason.as_str()],
            escape(reason)
        );
    }
    out.push_str("</div>");
    let (w, h, pad) = (1000.0, 220.0, 30.0);
    let max = days
        .values()
        .map(|m| m.values().sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let slot = (w - 2.0 * pad) / days.len() as f64;
    let _ = write!(
        out,
        "<div class=\"chart\"><svg role=\"img\" aria-label=\"denied scans per day by reason\" viewBox=\"0 0 {w} {h}\" width=\"100%\" height=\"{h}\">"
    );
    for (i, (day, counts)) in days.iter().enumerate() {
        let x = pad + slot * i as f64 + slot * 0.15;
        let mut top = h - pad;
        for (reason, n) in counts {
            let bar = (h - 2.0 * pad) * *n as f64 / max;
            top -= bar;
            let _ = write!(
                out,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                slot * 0.7,
                color[reason.as_str()],
                escape(day),
                escape(reason)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#5b6476\" text-anchor=\"middle\">{}</text>",
            x + slot * 0.35,
            h - pad + 14.0,
            escape(&day[5..])
        );
    }
    let _ = write!(
        out,
        "<text x=\"2\" y=\"{:.1}\" font-size=\"11\" fill=\"#5b6476\">{}</text></svg></div>",
        pad + 4.0,
        max as i64
    );
    out
}
