//! A report as a file (issue #20): CSV (cells a spreadsheet would run as formulas neutralised) or
//! XLSX (written by `rust_xlsxwriter`: strings are stored as strings, never formulas). The rows
//! are the report's, with the totals and the previous period's totals below; times in seconds.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use callbase_db::reports::Figures;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ReportQuery;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiQuery;
use crate::routes::calls::history::csv_cell;
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// agents, queues, trunks, timeline or heatmap.
    pub report: String,
    /// csv (default) or xlsx.
    pub format: Option<String>,
    /// As the report's own route.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_id: Option<i64>,
    pub user_id: Option<i64>,
    pub trunk: Option<i16>,
    pub queue_id: Option<i64>,
    pub direction: Option<String>,
}

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Num(v as f64)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.into())
    }
}

/// Seconds of a duration in milliseconds (rounded).
fn secs(ms: i64) -> Cell {
    Cell::Num((ms as f64 / 1000.0).round())
}

/// The average of `total_ms` over `n`, in seconds with one decimal (empty when `n` is 0).
fn avg_secs(total_ms: i64, n: i64) -> Cell {
    if n == 0 {
        Cell::Text(String::new())
    } else {
        Cell::Num((total_ms as f64 / n as f64 / 100.0).round() / 10.0)
    }
}

fn percent(part: i64, whole: i64) -> Cell {
    if whole == 0 {
        Cell::Text(String::new())
    } else {
        Cell::Num((part as f64 * 1000.0 / whole as f64).round() / 10.0)
    }
}

/// A report as a table: a title, column headers and rows.
#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

const AGENT_HEADERS: [&str; 15] = [
    "Agent",
    "Inbound",
    "Inbound answered",
    "Rang out (missed)",
    "Outbound",
    "Outbound answered",
    "Talk (s)",
    "Average talk (s)",
    "Hold (s)",
    "Average hold (s)",
    "Wrap-up (s)",
    "Average wrap-up (s)",
    "Available (s)",
    "Break (s)",
    "Do not disturb (s)",
];

fn agent_cells(name: &str, f: &Figures, states: Option<&super::StateTimes>) -> Vec<Cell> {
    let answered = f.inbound_answered + f.outbound_answered;
    let mut row = vec![
        name.into(),
        f.inbound.into(),
        f.inbound_answered.into(),
        f.rang_out.into(),
        f.outbound.into(),
        f.outbound_answered.into(),
        secs(f.talk_ms),
        avg_secs(f.talk_ms, answered),
        secs(f.hold_ms),
        avg_secs(f.hold_ms, answered),
        secs(f.wrapup_ms),
        avg_secs(f.wrapup_ms, f.wrapups),
    ];
    match states {
        Some(s) => row.extend([secs(s.available_ms), secs(s.break_ms), secs(s.dnd_ms)]),
        None => row.extend([Cell::Text(String::new()), Cell::Text(String::new()), Cell::Text(String::new())]),
    }
    row
}

fn queue_cells(name: &str, f: &Figures) -> Vec<Cell> {
    vec![
        name.into(),
        f.queued.into(),
        f.queue_answered.into(),
        f.abandoned.into(),
        f.overflowed.into(),
        f.callbacks.into(),
        f.in_service_level.into(),
        percent(f.in_service_level, f.queued),
        avg_secs(f.answer_wait_ms, f.queue_answered),
    ]
}

fn trunk_cells(name: &str, f: &Figures) -> Vec<Cell> {
    vec![
        name.into(),
        f.calls.into(),
        f.inbound.into(),
        f.outbound.into(),
        (f.inbound_answered + f.outbound_answered).into(),
        Cell::Num((f.talk_ms as f64 / 6000.0).round() / 10.0),
        f.failed.into(),
    ]
}

fn time_cells(at: &str, f: &Figures) -> Vec<Cell> {
    vec![
        at.into(),
        f.calls.into(),
        (f.inbound_answered + f.outbound_answered).into(),
        f.missed.into(),
        secs(f.talk_ms),
    ]
}

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The report `kind` for the request, as a table.
async fn table(st: &AppState, cu: &CurrentUser, kind: &str, q: &ReportQuery) -> ApiResult<Table> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, cu).await?;
    let name = format!("{kind}-{}_{}", r.span.from_date, r.span.to_date);
    let t = match kind {
        "agents" => {
            let rep = super::agents_report(&mut tx, cu, &r).await?;
            let mut rows: Vec<Vec<Cell>> =
                rep.agents.iter().map(|a| agent_cells(&a.name, &a.figures, Some(&a.states))).collect();
            rows.push(agent_cells("Total", &rep.totals, None));
            rows.push(agent_cells("Previous period", &rep.previous, None));
            Table { name, headers: AGENT_HEADERS.to_vec(), rows }
        }
        "queues" => {
            let rep = super::queues_report(&mut tx, cu, &r).await?;
            let mut rows: Vec<Vec<Cell>> = rep
                .queues
                .iter()
                .map(|x| queue_cells(x.name.as_deref().unwrap_or("(deleted queues)"), &x.figures))
                .collect();
            rows.push(queue_cells("Total", &rep.totals));
            rows.push(queue_cells("Previous period", &rep.previous));
            let headers = vec![
                "Queue",
                "Offered",
                "Answered",
                "Abandoned",
                "Overflow",
                "Callback requests",
                "Answered within service level",
                "Service level (%)",
                "Average wait (s)",
            ];
            Table { name, headers, rows }
        }
        "trunks" => {
            let rep = super::trunks_report(&mut tx, cu, &r).await?;
            let mut rows: Vec<Vec<Cell>> = rep
                .trunks
                .iter()
                .map(|x| {
                    trunk_cells(&x.label.clone().unwrap_or_else(|| format!("Trunk {}", x.slot)), &x.figures)
                })
                .collect();
            rows.push(trunk_cells("Total", &rep.totals));
            rows.push(trunk_cells("Previous period", &rep.previous));
            let headers = vec!["Trunk", "Calls", "Inbound", "Outbound", "Answered", "Minutes", "Failed"];
            Table { name, headers, rows }
        }
        "timeline" => {
            let rep = super::timeline_report(&mut tx, cu, &r).await?;
            let rows = rep.points.iter().map(|p| time_cells(&p.at, &p.figures)).collect();
            Table { name, headers: vec!["Starts", "Calls", "Answered", "Missed", "Talk (s)"], rows }
        }
        "heatmap" => {
            let rep = super::heatmap_report(&mut tx, cu, &r).await?;
            let rows = rep
                .cells
                .iter()
                .map(|c| {
                    let day = WEEKDAYS.get((c.weekday - 1).clamp(0, 6) as usize).copied().unwrap_or("");
                    let f = &c.figures;
                    vec![
                        day.into(),
                        i64::from(c.hour).into(),
                        f.calls.into(),
                        (f.inbound_answered + f.outbound_answered).into(),
                        f.missed.into(),
                    ]
                })
                .collect();
            Table { name, headers: vec!["Weekday", "Hour", "Calls", "Answered", "Missed"], rows }
        }
        other => {
            return Err(ApiError::unprocessable(
                "invalid_report",
                format!("report: '{other}' is not agents, queues, trunks, timeline or heatmap"),
            ))
        }
    };
    tx.commit().await?;
    Ok(t)
}

pub fn csv(t: &Table) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&t.headers.iter().map(|h| csv_cell(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for row in &t.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Text(s) => csv_cell(s),
                Cell::Num(n) => n.to_string(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

pub fn xlsx(t: &Table) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(t.name.chars().take(31).collect::<String>())?;
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, if c == 0 { 24 } else { 14 })?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell {
                Cell::Text(s) => ws.write_string(r, c, s)?,
                Cell::Num(n) => ws.write_number(r, c, *n)?,
            };
        }
    }
    wb.save_to_buffer()
}

/// A report as CSV or XLSX.
#[utoipa::path(get, path = "/api/reports/export", tag = "reports", params(ExportQuery),
    responses((status = 200, content_type = "text/csv"),
        (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(e): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let q = ReportQuery {
        period: e.period,
        from: e.from,
        to: e.to,
        group_id: e.group_id,
        user_id: e.user_id,
        trunk: e.trunk,
        queue_id: e.queue_id,
        direction: e.direction,
    };
    let format = e.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("csv");
    if format != "csv" && format != "xlsx" {
        return Err(ApiError::unprocessable("invalid_format", "format is csv or xlsx"));
    }
    let t = table(&st, &cu, &e.report, &q).await?;
    let (body, mime) = if format == "csv" {
        (csv(&t), "text/csv; charset=utf-8")
    } else {
        let body = xlsx(&t).map_err(|err| ApiError::Internal(anyhow::anyhow!("xlsx: {err}")))?;
        (body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    };
    let disposition = format!("attachment; filename=\"{}.{format}\"", t.name);
    Ok(([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_neutralises_formulas_and_writes_numbers_plainly() {
        let t = Table {
            name: "agents".into(),
            headers: vec!["Agent", "Calls"],
            rows: vec![
                vec![Cell::Text("=HYPERLINK(\"x\")".into()), Cell::Num(3.0)],
                vec!["Ann".into(), avg_secs(2500, 2)],
            ],
        };
        let s = String::from_utf8(csv(&t)).unwrap();
        assert_eq!(s, "\"Agent\",\"Calls\"\r\n\"'=HYPERLINK(\"\"x\"\")\",3\r\n\"Ann\",1.3\r\n");
    }

    #[test]
    fn averages_and_shares_of_nothing_are_empty() {
        assert_eq!(avg_secs(1000, 0), Cell::Text(String::new()));
        assert_eq!(percent(1, 0), Cell::Text(String::new()));
        assert_eq!(percent(2, 3), Cell::Num(66.7));
    }

    #[test]
    fn xlsx_is_a_zip_with_the_sheet() {
        let t = Table {
            name: "queues-2026-01-01_2026-01-31".into(),
            headers: vec!["Queue"],
            rows: vec![vec!["Sales".into()]],
        };
        let b = xlsx(&t).unwrap();
        assert_eq!(&b[..2], b"PK");
    }
}
