//! CSV import: a file read as the import reads it (flexible rows, headers), every cell cleaned as
//! each field type would clean it. Never panics.
#![no_main]
use callbase_core::crm::{clean_value, FieldDef, FieldKind};
use callbase_core::dial::DialRules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let rules = DialRules::default();
    let fields: Vec<FieldDef> = FieldKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| FieldDef { id: i as i64, name: format!("f{i}"), kind: *k, options: vec!["a".into(), "b".into()] })
        .collect();
    for delimiter in [b',', b';', b'\t'] {
        let mut rd = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
        let _ = rd.headers().map(|h| h.len());
        for row in rd.records().take(50) {
            let Ok(row) = row else { break };
            for (cell, field) in row.iter().zip(fields.iter().cycle()) {
                let _ = clean_value(field, &serde_json::Value::String(cell.to_string()), &rules, &|id| (id == 1).then(|| "Anna".to_string()));
            }
        }
    }
});
