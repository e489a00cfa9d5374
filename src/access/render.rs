//! The access review as CSV (one row per person and account, then one per unlinked
//! exception), JSON, or one self-contained HTML page (inline CSS, no scripts).

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{AccessFormat, Account, Exception, PersonAccess, Review};

/// The review could not be serialised.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// As CSV.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// As JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The review in `format`.
pub fn render(review: &Review, format: AccessFormat) -> Result<String, RenderError> {
    Ok(match format {
        AccessFormat::Csv => csv(review)?,
        AccessFormat::Json => serde_json::to_string_pretty(review)? + "\n",
        AccessFormat::Html => html(review),
    })
}

const CSV_HEADER: [&str; 14] = [
    "key",
    "name",
    "hr_status",
    "app",
    "account_id",
    "userName",
    "active",
    "lifecycle",
    "ownership",
    "groups",
    "granted_at",
    "granted_by",
    "last_changed_at",
    "exceptions",
];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The exception kinds raised by one account, joined by `;`.
fn kinds(review: &Review, key: &str, a: &Account) -> String {
    review
        .exceptions
        .iter()
        .filter(|e| {
            e.app == a.app && e.key.as_deref() == Some(key) && e.id.as_deref() == Some(&a.id)
        })
        .map(|e| e.kind.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

fn account_cells(review: &Review, p: &PersonAccess, a: &Account) -> Vec<String> {
    vec![
        a.app.clone(),
        a.id.clone(),
        a.user_name.clone(),
        a.active.to_string(),
        a.lifecycle.clone(),
        a.ownership.clone(),
        a.groups.join(";"),
        time(a.grant.granted_at),
        a.grant.granted_by.clone().unwrap_or_default(),
        time(a.grant.last_changed_at),
        kinds(review, &p.key, a),
    ]
}

/// One row per person and account (a person without accounts gets one row), then one per
/// exception not tied to a linked account (orphans).
fn csv(review: &Review) -> Result<String, csv::Error> {
    let mut rows: Vec<Vec<String>> = vec![CSV_HEADER.iter().map(|s| s.to_string()).collect()];
    for p in &review.persons {
        let head = [p.key.clone(), p.name.clone(), p.hr_status.clone()];
        if p.accounts.is_empty() {
            let mut row = head.to_vec();
            row.resize(CSV_HEADER.len(), String::new());
            rows.push(row);
        }
        for a in &p.accounts {
            rows.push(
                head.iter()
                    .cloned()
                    .chain(account_cells(review, p, a))
                    .collect(),
            );
        }
    }
    for e in review.exceptions.iter().filter(|e| e.key.is_none()) {
        let mut row = vec![String::new(); CSV_HEADER.len()];
        row[3] = e.app.clone();
        row[4] = e.id.clone().unwrap_or_default();
        row[5] = e.user_name.clone().unwrap_or_default();
        row[13] = e.kind.as_str().to_string();
        rows.push(row);
    }
    csv_text(&rows)
}

/// A cell a spreadsheet would run as a formula gets a leading `'`: HR data and app
/// answers are not trusted to be inert.
fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// The rows as CSV (RFC 4180 quoting, CRLF line ends).
fn csv_text(rows: &[Vec<String>]) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r.iter().map(|c| defuse(c)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn esc(s: &str) -> String {
    crate::report::printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 7px;\
text-align:left;font-size:13px;vertical-align:top}th{background:#eee}\
.x{background:#fdecea}@media print{body{margin:0}tr{break-inside:avoid}}";

/// One page: the exceptions first (what an auditor reads first), then every person.
fn html(review: &Review) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hrsync access review</title>\
         <style>{STYLE}</style></head><body>\n<h1>hrsync access review</h1>\n<p>Generated {}; apps: {}; {} persons; {} exceptions.</p>\n",
        esc(&time(Some(review.generated_at))),
        esc(&review.apps.join(", ")),
        review.persons.len(),
        review.exceptions.len()
    );
    out.push_str("<h2>Exceptions</h2>\n");
    out.push_str(&exceptions_table(&review.exceptions));
    out.push_str("<h2>Persons and accounts</h2>\n<table><tr>");
    for h in CSV_HEADER {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for p in &review.persons {
        let head = format!(
            "<td>{}</td><td>{}</td><td>{}</td>",
            esc(&p.key),
            esc(&p.name),
            esc(&p.hr_status)
        );
        if p.accounts.is_empty() {
            let _ = writeln!(out, "<tr>{head}<td colspan=\"11\">no account</td></tr>");
        }
        for a in &p.accounts {
            let cells = account_cells(review, p, a);
            let class = if cells[10].is_empty() {
                ""
            } else {
                " class=\"x\""
            };
            let _ = write!(out, "<tr{class}>{head}");
            for c in cells {
                let _ = write!(out, "<td>{}</td>", esc(&c));
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

fn exceptions_table(exceptions: &[Exception]) -> String {
    if exceptions.is_empty() {
        return "<p>None.</p>\n".into();
    }
    let mut out =
        String::from("<table><tr><th>kind</th><th>app</th><th>key</th><th>account_id</th><th>userName</th><th>reason</th></tr>\n");
    for e in exceptions {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.kind.as_str(),
            esc(&e.app),
            esc(e.key.as_deref().unwrap_or("")),
            esc(e.id.as_deref().unwrap_or("")),
            esc(e.user_name.as_deref().unwrap_or("")),
            esc(&e.reason)
        );
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        let row = vec![
            "a,b".into(),
            "say \"hi\"".into(),
            "=cmd()".into(),
            "ok".into(),
        ];
        let text = csv_text(&[row]).expect("csv");
        assert_eq!(text, "\"a,b\",\"say \"\"hi\"\"\",'=cmd(),ok\r\n");
    }
}
