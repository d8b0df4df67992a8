//! CRM field types and values: what a value of each field type may be, how it is stored, sorted,
//! searched and filtered, and how phone numbers are shown to masked users. No IO.
//!
//! Every value has a *sort key* (`crm_values.k`, byte-ordered): lower-cased text, an ISO date, an
//! order-preserving hex encoding of a number, the position of a select option, the E.164 form of a
//! phone. Sorting by any column and equals/greater/less filters compare sort keys, so one index
//! serves every field of every tenant.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::dial::DialRules;

/// Longest short text value, in characters.
pub const TEXT_MAX: usize = 1000;
/// Longest long text value, in characters.
pub const LONG_TEXT_MAX: usize = 20_000;
/// Longest phone value as typed.
pub const PHONE_MAX: usize = 64;
/// Sort keys and search text of a value are cut to this many characters.
const KEY_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Date,
    Select,
    Phone,
    Email,
    User,
}

impl FieldKind {
    pub const ALL: [FieldKind; 8] = [
        FieldKind::Text,
        FieldKind::LongText,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Select,
        FieldKind::Phone,
        FieldKind::Email,
        FieldKind::User,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Select => "select",
            FieldKind::Phone => "phone",
            FieldKind::Email => "email",
            FieldKind::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether "contains" makes sense for the field.
    pub fn is_textual(self) -> bool {
        matches!(self, FieldKind::Text | FieldKind::LongText | FieldKind::Phone | FieldKind::Email)
    }
}

/// What a value check needs to know of a field.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub id: i64,
    pub name: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
}

/// A valid value, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    /// What `data` holds for the field.
    pub json: Value,
    /// `crm_values.k`.
    pub key: String,
    /// Words added to the record's quick-search text.
    pub search: String,
    /// For a phone field: its E.164 form, `None` when it could not be normalised (kept as text
    /// and flagged).
    pub e164: Option<String>,
}

/// Checks and normalises one value. `Ok(None)` is "no value" (null or blank). `user_name` resolves
/// a user reference to the user's name (`None`: no such user in the tenant).
pub fn clean_value(
    field: &FieldDef,
    raw: &Value,
    rules: &DialRules,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Result<Option<Cleaned>, String> {
    if raw.is_null() || raw.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(None);
    }
    let as_text = || -> Result<String, String> {
        match raw {
            Value::String(s) => Ok(s.trim().to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("expected text".to_string()),
        }
    };
    let c = match field.kind {
        FieldKind::Text | FieldKind::LongText => {
            let s = as_text()?;
            let max = if field.kind == FieldKind::Text { TEXT_MAX } else { LONG_TEXT_MAX };
            if s.chars().count() > max {
                return Err(format!("at most {max} characters"));
            }
            if field.kind == FieldKind::Text && s.chars().any(|c| c.is_control()) {
                return Err("a single line of text, please".into());
            }
            let lower = s.to_lowercase();
            Cleaned { key: cut(&lower), search: cut_search(&lower), json: Value::String(s), e164: None }
        }
        FieldKind::Number => {
            let n = match raw {
                Value::Number(n) => n.as_f64().ok_or("not a number")?,
                Value::String(s) => {
                    parse_number(s).ok_or_else(|| format!("'{}' is not a number", s.trim()))?
                }
                _ => return Err("expected a number".into()),
            };
            if !n.is_finite() {
                return Err("expected a finite number".into());
            }
            let json = serde_json::Number::from_f64(n).map(Value::Number).ok_or("not a number")?;
            Cleaned { key: number_key(n), search: String::new(), json, e164: None }
        }
        FieldKind::Date => {
            let s = as_text()?;
            let iso =
                parse_date(&s).ok_or_else(|| format!("'{s}' is not a date (YYYY-MM-DD or DD.MM.YYYY)"))?;
            Cleaned { key: iso.clone(), search: String::new(), json: Value::String(iso), e164: None }
        }
        FieldKind::Select => {
            let s = as_text()?;
            let pos = field
                .options
                .iter()
                .position(|o| o.eq_ignore_ascii_case(&s) || o.to_lowercase() == s.to_lowercase())
                .ok_or_else(|| format!("'{s}' is not one of: {}", field.options.join(", ")))?;
            let o = field.options[pos].clone();
            Cleaned { key: format!("{pos:04}"), search: o.to_lowercase(), json: Value::String(o), e164: None }
        }
        FieldKind::Phone => {
            let s = as_text()?;
            if s.chars().count() > PHONE_MAX || s.chars().any(|c| c.is_control()) {
                return Err(format!("a phone number of at most {PHONE_MAX} characters"));
            }
            let e164 = rules.to_e164(&s);
            let key = e164.clone().unwrap_or_else(|| cut(&s.to_lowercase()));
            let mut search = s.to_lowercase();
            if let Some(e) = &e164 {
                search.push(' ');
                search.push_str(&e[1..]);
            }
            Cleaned { key, search, json: Value::String(s), e164 }
        }
        FieldKind::Email => {
            let s = as_text()?;
            if !is_email(&s) {
                return Err(format!("'{s}' is not an e-mail address"));
            }
            let lower = s.to_lowercase();
            Cleaned { key: cut(&lower), search: lower, json: Value::String(s), e164: None }
        }
        FieldKind::User => {
            let id = match raw {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or("expected a user id")?;
            let name = user_name(id).ok_or_else(|| format!("no user {id}"))?;
            let lower = name.to_lowercase();
            Cleaned { key: cut(&lower), search: lower, json: Value::from(id), e164: None }
        }
    };
    Ok(Some(c))
}

fn cut(s: &str) -> String {
    s.chars().take(KEY_CHARS).collect()
}

fn cut_search(s: &str) -> String {
    s.chars().take(10 * KEY_CHARS).collect()
}

/// "1234.5", "1 234,5", "-3" → f64. A single comma is a decimal comma.
pub fn parse_number(s: &str) -> Option<f64> {
    let t: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '_')).collect();
    let t = if t.matches(',').count() == 1 && !t.contains('.') { t.replace(',', ".") } else { t };
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    t.parse().ok()
}

/// The byte order of the result is the numeric order (IEEE 754 bits with the sign flipped for
/// positives and every bit flipped for negatives).
pub fn number_key(n: f64) -> String {
    let n = if n == 0.0 { 0.0 } else { n }; // -0 sorts as 0
    let bits = n.to_bits();
    let k = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    format!("{k:016x}")
}

/// YYYY-MM-DD or DD.MM.YYYY (or DD/MM/YYYY) → YYYY-MM-DD, checking the day exists.
pub fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.split(['T', ' ']).next()?;
    let (y, m, d) = if let [y, m, d] = s.split('-').collect::<Vec<_>>()[..] {
        (y, m, d)
    } else if let [d, m, y] = s.split(['.', '/']).collect::<Vec<_>>()[..] {
        (y, m, d)
    } else {
        return None;
    };
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(m - 1) as usize];
    (d <= days).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Contains,
    Equals,
    Greater,
    Less,
    Empty,
    NotEmpty,
}

/// The sort key a filter compares with (equals/greater/less), or the lower-cased needle of a
/// "contains"; an error names what is wrong with the filter value.
pub fn filter_operand(
    field: &FieldDef,
    op: FilterOp,
    value: &str,
    rules: &DialRules,
) -> Result<Option<String>, String> {
    match op {
        FilterOp::Empty | FilterOp::NotEmpty => Ok(None),
        FilterOp::Contains => {
            if !field.kind.is_textual() {
                return Err(format!("'{}' cannot be searched with contains", field.name));
            }
            let v = value.trim().to_lowercase();
            if v.is_empty() {
                return Err("contains needs some text".into());
            }
            Ok(Some(v))
        }
        FilterOp::Equals | FilterOp::Greater | FilterOp::Less => {
            if field.kind == FieldKind::User {
                // Compared by name: the key of a user reference is the user's name.
                return Ok(Some(cut(&value.trim().to_lowercase())));
            }
            let v = Value::String(value.to_string());
            match clean_value(field, &v, rules, &|_| None) {
                Ok(Some(c)) => Ok(Some(c.key)),
                Ok(None) => Err("a value is needed".into()),
                Err(e) => Err(e),
            }
        }
    }
}

/// How numbers are hidden from members of the masked groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskMode {
    /// Nothing of the number shows (only the handset icon).
    Hidden,
    /// The first `chars` characters become `*`.
    Prefix,
}

/// How one viewer sees phone numbers (a member of a masked group); no `Masking`: as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masking {
    pub mode: MaskMode,
    pub chars: usize,
}

impl Masking {
    pub fn apply(&self, number: &str) -> String {
        mask(number, self.mode, self.chars)
    }
}

/// A number as a viewer with `masking` (none: sees numbers as they are) may see it. Every number
/// the server sends to a person goes through here or through [`Masking::apply`].
pub fn shown(masking: Option<Masking>, number: &str) -> String {
    match masking {
        Some(m) => m.apply(number),
        None => number.to_string(),
    }
}

/// A number as a masked user sees it.
pub fn mask(number: &str, mode: MaskMode, chars: usize) -> String {
    match mode {
        MaskMode::Hidden => String::new(),
        MaskMode::Prefix => {
            let n = number.chars().count();
            let hide = chars.min(n.saturating_sub(2)).max(n.min(1));
            number.chars().enumerate().map(|(i, c)| if i < hide { '*' } else { c }).collect()
        }
    }
}

/// A CSV cell that a spreadsheet would run as a formula gets a leading apostrophe. A phone in
/// E.164 (`+79161234567`) stays as it is.
pub fn csv_safe(cell: &str) -> String {
    let starts_formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let is_phone = cell.starts_with('+') && cell.len() > 1 && cell[1..].bytes().all(|b| b.is_ascii_digit());
    if starts_formula && !is_phone {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> DialRules {
        DialRules {
            country_code: "7".into(),
            national_prefix: "8".into(),
            national_length: 10,
            city_prefix: "495".into(),
            local_length: 7,
            ..DialRules::default()
        }
    }

    fn field(kind: FieldKind) -> FieldDef {
        FieldDef {
            id: 1,
            name: "F".into(),
            kind,
            options: vec!["new".into(), "in progress".into(), "client".into(), "lost".into()],
        }
    }

    fn clean(kind: FieldKind, v: Value) -> Result<Option<Cleaned>, String> {
        clean_value(&field(kind), &v, &rules(), &|id| (id == 5).then(|| "Anna Petrova".to_string()))
    }

    #[test]
    fn phones_are_normalised_and_unnormalisable_ones_kept() {
        let c = clean(FieldKind::Phone, "8 (916) 123-45-67".into()).unwrap().unwrap();
        assert_eq!(c.e164.as_deref(), Some("+79161234567"));
        assert_eq!(c.json, Value::String("8 (916) 123-45-67".into()), "the text as typed is kept");
        assert_eq!(c.key, "+79161234567");
        assert!(c.search.contains("79161234567"));
        assert_eq!(
            clean(FieldKind::Phone, "123-45-67".into()).unwrap().unwrap().e164.as_deref(),
            Some("+74951234567")
        );
        let odd = clean(FieldKind::Phone, "ask reception, ext 12".into()).unwrap().unwrap();
        assert_eq!(odd.e164, None);
        assert_eq!(odd.json, Value::String("ask reception, ext 12".into()));
    }

    #[test]
    fn wrong_types_are_refused_with_a_reason() {
        assert!(clean(FieldKind::Number, "twelve".into()).unwrap_err().contains("not a number"));
        assert!(clean(FieldKind::Date, "31.02.2024".into()).is_err());
        assert!(clean(FieldKind::Select, "vip".into()).unwrap_err().contains("new, in progress"));
        assert!(clean(FieldKind::Email, "anna@".into()).is_err());
        assert!(clean(FieldKind::User, Value::from(6)).unwrap_err().contains("no user 6"));
        assert!(clean(FieldKind::Text, Value::Bool(true)).is_err());
        assert!(clean(FieldKind::Text, "a".repeat(TEXT_MAX + 1).into()).is_err());
        assert!(clean(FieldKind::Text, "two\nlines".into()).is_err());
        assert!(clean(FieldKind::LongText, "two\nlines".into()).is_ok());
    }

    #[test]
    fn blanks_are_no_value() {
        assert_eq!(clean(FieldKind::Number, Value::Null).unwrap(), None);
        assert_eq!(clean(FieldKind::Text, "   ".into()).unwrap(), None);
    }

    #[test]
    fn values_are_canonical() {
        assert_eq!(
            clean(FieldKind::Select, "Client".into()).unwrap().unwrap().json,
            Value::String("client".into())
        );
        assert_eq!(
            clean(FieldKind::Date, "05.03.2024".into()).unwrap().unwrap().json,
            Value::String("2024-03-05".into())
        );
        assert_eq!(
            clean(FieldKind::Number, "1 234,5".into()).unwrap().unwrap().json,
            serde_json::json!(1234.5)
        );
        assert_eq!(clean(FieldKind::User, "5".into()).unwrap().unwrap().key, "anna petrova");
    }

    #[test]
    fn number_keys_sort_like_numbers() {
        let mut xs = [-1e9, -2.5, -0.0, 0.0, 1e-9, 1.0, 2.0, 10.0, 1e12];
        xs.reverse();
        let mut keys: Vec<(String, f64)> = xs.iter().map(|&x| (number_key(x), x)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let sorted: Vec<f64> = keys.iter().map(|k| k.1).collect();
        for w in sorted.windows(2) {
            assert!(w[0] <= w[1], "{sorted:?}");
        }
        assert_eq!(number_key(-0.0), number_key(0.0));
    }

    #[test]
    fn select_keys_follow_the_option_order() {
        let k = |s: &str| clean(FieldKind::Select, s.into()).unwrap().unwrap().key;
        assert!(k("new") < k("in progress") && k("in progress") < k("client") && k("client") < k("lost"));
    }

    #[test]
    fn filters_compare_sort_keys() {
        let f = field(FieldKind::Phone);
        assert_eq!(
            filter_operand(&f, FilterOp::Equals, "+7 916 123 45 67", &rules()).unwrap().as_deref(),
            Some("+79161234567")
        );
        assert!(filter_operand(&field(FieldKind::Number), FilterOp::Contains, "1", &rules()).is_err());
        assert!(filter_operand(&field(FieldKind::Number), FilterOp::Greater, "x", &rules()).is_err());
        assert_eq!(
            filter_operand(&field(FieldKind::Number), FilterOp::Greater, "10", &rules()).unwrap(),
            Some(number_key(10.0))
        );
    }

    #[test]
    fn masking() {
        assert_eq!(mask("+79161234567", MaskMode::Prefix, 6), "******234567");
        assert_eq!(mask("+79161234567", MaskMode::Hidden, 6), "");
        assert_eq!(mask("123", MaskMode::Prefix, 6), "*23", "a short number keeps its last two");
        assert_eq!(mask("", MaskMode::Prefix, 6), "");
    }

    #[test]
    fn csv_cells_never_run_as_formulas() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("-2+3"), "'-2+3");
        assert_eq!(csv_safe("+79161234567"), "+79161234567");
        assert_eq!(csv_safe("+1+cmd"), "'+1+cmd");
        assert_eq!(csv_safe("Anna"), "Anna");
    }
}
