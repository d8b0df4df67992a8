//! Reading an import's CSV file (no IO): the text (UTF-8 only), its delimiter, header and rows as
//! the upload checks them, and every row as a record write as the run checks them.

use std::collections::HashMap;

use callbase_core::crm::FieldKind;
use callbase_core::FieldId;
use serde_json::Value;

use super::{RowError, ERRORS_KEPT, PREVIEW_ROWS, ROWS_MAX};
use crate::error::{CrmError, CrmResult};
use crate::repo::{FieldRow, RecordWrite};
use crate::write::build_write;

pub(super) fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => (d as char).to_string(),
    }
}

/// The delimiter that splits the header line into the most columns (outside quotes).
fn detect_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let mut best = (b',', 0);
    for d in [b',', b';', b'\t'] {
        let mut n = 0;
        let mut quoted = false;
        for b in first.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if b == d && !quoted {
                n += 1;
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

pub(super) fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes())
}

/// The file as text: UTF-8 (a BOM is dropped), else a clear error.
pub(super) fn as_text(bytes: &[u8]) -> CrmResult<&str> {
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if b.starts_with(&[0xFF, 0xFE]) || b.starts_with(&[0xFE, 0xFF]) {
        return Err(CrmError::invalid(
            "not_utf8",
            "the file is UTF-16: save it as \"CSV UTF-8\" and upload again",
        ));
    }
    std::str::from_utf8(b).map_err(|e| {
        CrmError::invalid(
            "not_utf8",
            format!(
                "the file is not UTF-8 text (byte {}): save it as \"CSV UTF-8\" (e.g. Excel: File → Save as → CSV UTF-8) and upload again",
                e.valid_up_to()
            ),
        )
    })
}

/// A file read and checked, before it is stored.
#[derive(Debug)]
pub(super) struct Parsed {
    pub delimiter: u8,
    pub columns: Vec<String>,
    pub preview: Vec<Vec<String>>,
    pub rows: usize,
}

/// Reads the uploaded file as the import will (no IO): its delimiter (`auto`: detected), header and
/// rows, every cell checked.
pub(super) fn parse_upload(text: &str, delimiter: Option<&str>) -> CrmResult<Parsed> {
    if text.trim().is_empty() {
        return Err(CrmError::invalid("empty_file", "the file is empty"));
    }
    let delimiter = match delimiter.unwrap_or("auto") {
        "auto" => detect_delimiter(text),
        "," => b',',
        ";" => b';',
        "tab" | "\t" => b'\t',
        other => {
            return Err(CrmError::invalid(
                "invalid_delimiter",
                format!("delimiter '{other}': use ',', ';', 'tab' or 'auto'"),
            ))
        }
    };
    let mut rd = reader(text, delimiter);
    let columns: Vec<String> = rd
        .headers()
        .map_err(|e| CrmError::invalid("invalid_csv", format!("the header line cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if columns.len() == 1 && detect_delimiter(text) != delimiter {
        return Err(CrmError::invalid(
            "wrong_delimiter",
            format!(
                "with '{}' as the delimiter the file has one column; it looks like '{}'",
                delimiter_name(delimiter),
                delimiter_name(detect_delimiter(text))
            ),
        ));
    }
    if columns.iter().all(|c| c.is_empty()) {
        return Err(CrmError::invalid("invalid_csv", "the first line must name the columns"));
    }
    // The file is stored and its cells become jsonb later: a NUL would fail there (500 before),
    // so headers and cells get the same control-character rule as JSON text, here at upload.
    for (i, c) in columns.iter().enumerate() {
        callbase_core::check_text(&format!("column {} of the header line", i + 1), c)?;
    }
    let mut preview = Vec::new();
    let mut rows = 0usize;
    for (i, r) in rd.records().enumerate() {
        let r = r.map_err(|e| CrmError::invalid("invalid_csv", format!("line {}: {e}", i + 2)))?;
        rows += 1;
        for (j, cell) in r.iter().enumerate() {
            let column = columns.get(j).map_or_else(|| format!("{}", j + 1), |c| format!("'{}'", c));
            callbase_core::check_text(&format!("line {}, column {column}", i + 2), cell)?;
        }
        if rows > ROWS_MAX {
            return Err(CrmError::invalid(
                "too_many_rows",
                format!("at most {ROWS_MAX} rows per import: split the file"),
            ));
        }
        if preview.len() < PREVIEW_ROWS {
            preview.push(r.iter().map(str::to_string).collect());
        }
    }
    if rows == 0 {
        return Err(CrmError::invalid("empty_file", "the file has a header line but no rows"));
    }
    Ok(Parsed { delimiter, columns, preview, rows })
}

/// What the check of the rows found beside the good rows.
pub(super) struct Counts {
    pub skipped: usize,
    pub phones_as_text: usize,
    pub errors: Vec<RowError>,
}

/// Every row of the file as a record write (no IO), and what was wrong with the others.
pub(super) fn check_rows(
    text: &str,
    delimiter: u8,
    mapping: &[Option<FieldId>],
    fields: &[FieldRow],
    rules: &callbase_core::dial::DialRules,
    users: &HashMap<i64, String>,
    by_name: &HashMap<String, i64>,
) -> (Vec<RecordWrite>, Counts) {
    let mut writes = Vec::new();
    let mut c = Counts { skipped: 0, phones_as_text: 0, errors: Vec::new() };
    let mut rd = reader(text, delimiter);
    for (i, r) in rd.records().enumerate() {
        let line = i + 2;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                c.errors.push(RowError { line, field: String::new(), message: e.to_string() });
                c.skipped += 1;
                continue;
            }
        };
        let mut values = serde_json::Map::new();
        for (col, f) in mapping.iter().enumerate() {
            let Some(f) = f else { continue };
            let cell = r.get(col).unwrap_or("").trim();
            let Some(fr) = fields.iter().find(|x| x.id == *f) else { continue };
            let v = if fr.kind() == FieldKind::User && !cell.is_empty() && cell.parse::<i64>().is_err() {
                by_name
                    .get(&cell.to_lowercase())
                    .map(|id| Value::from(*id))
                    .unwrap_or(Value::String(cell.to_string()))
            } else {
                Value::String(cell.to_string())
            };
            values.insert(fr.key(), v);
        }
        match build_write(fields, rules, &values, &|id| users.get(&id).cloned()) {
            Ok(w) => {
                let phones = fields
                    .iter()
                    .filter(|f| f.kind() == FieldKind::Phone && w.data.contains_key(&f.key()))
                    .count();
                c.phones_as_text += phones - w.phones.len();
                writes.push(w);
            }
            Err((field, message)) => {
                if c.errors.len() < ERRORS_KEPT {
                    c.errors.push(RowError { line, field, message });
                }
                c.skipped += 1;
            }
        }
    }
    (writes, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter("name;phone;e-mail\n"), b';');
        assert_eq!(detect_delimiter("\"a;b\",c\n"), b',');
        assert_eq!(detect_delimiter("a\tb\tc\n"), b'\t');
    }

    #[test]
    fn only_utf8_text_is_taken() {
        assert_eq!(as_text(b"\xEF\xBB\xBFname\n").unwrap(), "name\n");
        assert!(as_text(b"\xc8\xec\xff").is_err(), "windows-1251 is refused");
        assert!(as_text(b"\xFF\xFEn\x00").is_err());
    }

    #[test]
    fn an_upload_is_read_as_the_run_will_read_it() {
        let p = parse_upload("Name;Phone\nAnna;+79161234567\nBoris;\n", None).unwrap();
        assert_eq!((p.delimiter, p.rows), (b';', 2));
        assert_eq!(p.columns, ["Name", "Phone"]);
        let code = |text: &str, d: Option<&str>| parse_upload(text, d).unwrap_err().code();
        assert_eq!(code("Name;Phone\nAnna;1\n", Some(",")), Some("wrong_delimiter"));
        assert_eq!(code("Name,Phone\n", None), Some("empty_file"));
        assert_eq!(code("Name,Phone\nA\u{0},1\n", None), Some("control_characters"));
        assert_eq!(code("a,b\n1,2\n", Some("|")), Some("invalid_delimiter"));
    }
}
