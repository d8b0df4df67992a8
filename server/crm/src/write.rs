//! What may be written: a record's values checked against its table's fields (one batch writer
//! for the API, the CSV import, the demo seed and the benchmark), and the names and choices of
//! tables and fields.

use callbase_core::crm::{self as core_crm, FieldKind};
use callbase_core::dial::DialRules;
use serde_json::Value;

use crate::error::{CrmError, CrmResult};
use crate::repo::{FieldRow, RecordWrite};
use crate::view::Viewer;

/// Most fields in a table.
pub const FIELDS_MAX: usize = 60;
/// Most tables of a tenant.
pub const TABLES_MAX: i64 = 50;
/// Most fields on a call card.
pub const CARD_FIELDS_MAX: usize = 8;

/// The write for one record (`Err((field name, reason))` at the first bad value). `user_name`
/// resolves a user reference (`None`: no such user in the tenant).
pub fn build_write(
    fields: &[FieldRow],
    rules: &DialRules,
    values: &serde_json::Map<String, Value>,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Result<RecordWrite, (String, String)> {
    let mut w = RecordWrite::default();
    let mut search = Vec::new();
    for f in fields {
        let def = f.def();
        let raw = values.get(&f.key()).unwrap_or(&Value::Null);
        match core_crm::clean_value(&def, raw, rules, user_name) {
            Ok(Some(c)) => {
                w.data.insert(f.key(), c.json);
                w.keys.push((f.id, Some(c.key)));
                if !c.search.is_empty() {
                    search.push(c.search);
                }
                if let Some(e) = c.e164 {
                    w.phones.push((f.id, e));
                }
            }
            Ok(None) => w.keys.push((f.id, None)),
            Err(e) => return Err((f.name.clone(), e)),
        }
    }
    w.search = search.join(" ");
    Ok(w)
}

/// Checks `values` against the table's fields for `viewer`. Unknown fields and wrong types are
/// 422 naming the field.
pub fn check_values(
    viewer: &Viewer,
    fields: &[FieldRow],
    values: &serde_json::Map<String, Value>,
) -> CrmResult<RecordWrite> {
    if let Some(k) = values.keys().find(|k| !fields.iter().any(|f| f.key() == **k)) {
        return Err(CrmError::invalid("unknown_field", format!("field {k} is not a field of this table")));
    }
    build_write(fields, &viewer.rules, values, &|id| viewer.user_name(id))
        .map_err(|(f, e)| CrmError::invalid("invalid_value", format!("{f}: {e}")))
}

/// A table's or field's name: 1–100 characters on one line, trimmed.
pub fn parse_name(raw: &str, what: &str) -> CrmResult<String> {
    let s = raw.trim();
    if (1..=100).contains(&s.chars().count()) && !s.chars().any(char::is_control) {
        Ok(s.to_string())
    } else {
        Err(CrmError::invalid("invalid_name", format!("{what} name must be 1–100 characters")))
    }
}

/// A field's type by name.
pub fn parse_kind(raw: &str, field_name: &str) -> CrmResult<FieldKind> {
    FieldKind::parse(raw).ok_or_else(|| {
        CrmError::invalid(
            "unknown_field_type",
            format!(
                "field '{field_name}': unknown type '{raw}' (one of: {})",
                FieldKind::ALL.map(FieldKind::as_str).join(", ")
            ),
        )
    })
}

/// The choices of a select field (other kinds have none): 1–100 distinct (ignoring case) choices
/// of 1–100 characters.
pub fn parse_options(kind: FieldKind, raw: &[String]) -> CrmResult<Vec<String>> {
    if kind != FieldKind::Select {
        return Ok(vec![]);
    }
    let mut out: Vec<String> = Vec::new();
    for o in raw {
        let o = o.trim();
        if o.is_empty() || o.chars().count() > 100 || o.chars().any(char::is_control) {
            return Err(CrmError::invalid("invalid_options", "each choice is 1–100 characters"));
        }
        if out.iter().any(|x| x.to_lowercase() == o.to_lowercase()) {
            return Err(CrmError::invalid("invalid_options", format!("choice '{o}' is given twice")));
        }
        out.push(o.to_string());
    }
    if out.is_empty() || out.len() > 100 {
        return Err(CrmError::invalid("invalid_options", "a select field needs 1–100 choices"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_core::{FieldId, TableId};

    fn field(id: i64, name: &str, kind: &str) -> FieldRow {
        FieldRow {
            id: FieldId(id),
            table_id: TableId(1),
            name: name.into(),
            kind: kind.into(),
            options: vec![],
            is_title: id == 1,
            position: id as i32,
        }
    }

    #[test]
    fn a_write_holds_every_fields_sort_key_the_phones_and_the_search_text() {
        let fields = [field(1, "Name", "text"), field(2, "Phone", "phone"), field(3, "Note", "text")];
        let rules = DialRules { country_code: "7".into(), national_length: 10, ..DialRules::default() };
        let mut v = serde_json::Map::new();
        v.insert("1".into(), "Anna".into());
        v.insert("2".into(), "+7 916 123-45-67".into());
        let w = build_write(&fields, &rules, &v, &|_| None).unwrap();
        assert_eq!(w.keys.len(), 3, "an empty field has a key row too");
        assert_eq!(w.keys[2], (FieldId(3), None));
        assert_eq!(w.phones, vec![(FieldId(2), "+79161234567".to_string())]);
        assert!(w.search.starts_with("anna "), "{}", w.search);
        let mut bad = v.clone();
        bad.insert("1".into(), Value::Bool(true));
        assert_eq!(build_write(&fields, &rules, &bad, &|_| None).unwrap_err().0, "Name");
    }

    #[test]
    fn names_and_choices_are_checked() {
        assert_eq!(parse_name("  Leads ", "table").unwrap(), "Leads");
        assert!(parse_name("", "table").is_err());
        assert!(parse_name("a\u{0}b", "table").is_err());
        assert!(parse_name(&"x".repeat(101), "field").is_err());
        assert_eq!(parse_options(FieldKind::Text, &["a".into()]).unwrap(), Vec::<String>::new());
        assert!(parse_options(FieldKind::Select, &[]).is_err());
        let twice = parse_options(FieldKind::Select, &["New".into(), "new".into()]).unwrap_err();
        assert_eq!(twice.code(), Some("invalid_options"));
        assert_eq!(parse_kind("phone", "P").unwrap(), FieldKind::Phone);
        assert_eq!(parse_kind("money", "P").unwrap_err().code(), Some("unknown_field_type"));
    }
}
