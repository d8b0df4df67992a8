//! Validated user input. Each constructor names the rule that was broken, so the API can answer
//! 422 with a message a person can act on.

use serde::Serialize;

/// Why an input was refused. `code` is stable for clients, `Display` is the human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum InputError {
    #[error("account must be 3–32 characters: lowercase latin letters, digits and '-', starting with a letter and not ending with '-'")]
    InvalidAccount,
    #[error("login must be 1–64 characters: latin letters, digits, '.', '_', '-' or '@'")]
    InvalidLogin,
    #[error("e-mail address is not valid")]
    InvalidEmail,
    #[error("name must be 1–200 characters")]
    InvalidName,
    #[error("password must be at least {min} characters long")]
    PasswordTooShort { min: usize },
    #[error("password must be at most {max} characters long")]
    PasswordTooLong { max: usize },
    #[error("password must not contain the login or the account name")]
    PasswordContainsIdentity,
    #[error("password is too common; choose a less predictable one")]
    PasswordTooCommon,
    #[error("password must contain at least {min} different characters")]
    PasswordTooSimple { min: usize },
    /// Text with characters no person types (NUL, escape, other C0/C1 controls). `field` names
    /// where: a JSON path (`note`, `types[2]`), a query parameter or a CSV column.
    #[error(
        "{field} contains control characters (such as NUL or escape); only tab and line breaks are allowed"
    )]
    ControlCharacters { field: String },
    #[error("page must be a whole number from 1 to {max}")]
    BadPage { max: i64 },
}

impl InputError {
    /// Stable machine code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::InvalidAccount => "invalid_account",
            InputError::InvalidLogin => "invalid_login",
            InputError::InvalidEmail => "invalid_email",
            InputError::InvalidName => "invalid_name",
            InputError::PasswordTooShort { .. }
            | InputError::PasswordTooLong { .. }
            | InputError::PasswordContainsIdentity
            | InputError::PasswordTooCommon
            | InputError::PasswordTooSimple { .. } => "weak_password",
            InputError::ControlCharacters { .. } => "control_characters",
            InputError::BadPage { .. } => "bad_page",
        }
    }
}

/// A tenant's account slug. It is part of every SIP login (`<account>_<extension>`), so it admits
/// no `_` and nothing a SIP URI user part would need to escape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountSlug(String);

impl AccountSlug {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let s = raw.trim().to_ascii_lowercase();
        let ok_len = (3..=32).contains(&s.len());
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_edges = s.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase()) && !s.ends_with('-');
        if ok_len && ok_chars && ok_edges && !s.contains("--") {
            Ok(Self(s))
        } else {
            Err(InputError::InvalidAccount)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's login inside a tenant, case-insensitive (stored lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let s = raw.trim().to_lowercase();
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(Self(s))
        } else {
            Err(InputError::InvalidLogin)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces). Deliverability is the
/// mail server's business.
pub fn parse_email(raw: &str) -> Result<String, InputError> {
    let s = raw.trim();
    let valid = s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(s.to_string())
    } else {
        Err(InputError::InvalidEmail)
    }
}

/// A display name: trimmed, 1–200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, InputError> {
    let s = raw.trim();
    let n = s.chars().count();
    if (1..=200).contains(&n) && !s.chars().any(char::is_control) {
        Ok(s.to_string())
    } else {
        Err(InputError::InvalidName)
    }
}

/// Whether `c` is a control character a person may legitimately send in free text: tab and line
/// breaks (a call note, a multi-line CRM value, a quoted CSV cell). Every other C0/C1 control and
/// DEL is refused: PostgreSQL cannot store NUL in `text`/`jsonb` (it answered 500 before), and
/// escapes or bidi-less control bytes end up in CSV exports, logs and SIP headers.
fn allowed_control(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

/// Refuses text with control characters other than tab and line breaks (see [`allowed_control`]).
/// `field` names the input in the error. Used by the API's JSON and query extractors for every
/// string they accept (keys included) and by the CSV import for headers and cells, so no route
/// has to remember it.
pub fn check_text(field: &str, s: &str) -> Result<(), InputError> {
    if s.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(InputError::ControlCharacters { field: field.to_string() });
    }
    Ok(())
}

/// The row offset of 1-based `page` of `per_page` rows, refusing pages below 1 or beyond `max`
/// (422 `bad_page`) instead of overflowing into a negative SQL `OFFSET`. `None` means page 1.
pub fn page_offset(page: Option<i64>, per_page: i64, max: i64) -> Result<(i64, i64), InputError> {
    let page = page.unwrap_or(1);
    if !(1..=max).contains(&page) {
        return Err(InputError::BadPage { max });
    }
    let offset = (page - 1).checked_mul(per_page).ok_or(InputError::BadPage { max })?;
    Ok((page, offset))
}

/// A password that passed the policy. Deliberately not `Debug`-printable and not `Serialize`, so it
/// cannot end up in a log line or a response by accident.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The most common passwords (lowercase) that pass the length rule; refused outright.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "1q2w3e4r5t",
    "qwertyuiop",
    "1qaz2wsx3edc",
    "password123",
    "password12",
    "password1!",
    "qwerty1234",
    "qwerty12345",
    "iloveyou12",
    "administrator",
    "admin12345",
    "welcome123",
    "letmein123",
    "passw0rd123",
    "p@ssw0rd123",
    "abcdefghij",
    "aaaaaaaaaa",
    "1111111111",
    "zaq12wsxcde",
    "changeme123",
    "monkey12345",
    "dragon12345",
    "football123",
    "baseball123",
    "superman123",
    "trustno1234",
    "qwerty123456",
    "йцукенгшщз",
    "пароль12345",
];

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;
    const MIN_DISTINCT: usize = 5;

    /// Checks the policy (length, distinct characters, common list, no login/account inside).
    /// `identities` are the login and account name of the person choosing the password.
    pub fn parse(raw: &str, identities: &[&str]) -> Result<Self, InputError> {
        let n = raw.chars().count();
        if n < Self::MIN_LEN {
            return Err(InputError::PasswordTooShort { min: Self::MIN_LEN });
        }
        if n > Self::MAX_LEN {
            return Err(InputError::PasswordTooLong { max: Self::MAX_LEN });
        }
        let mut distinct: Vec<char> = raw.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < Self::MIN_DISTINCT {
            return Err(InputError::PasswordTooSimple { min: Self::MIN_DISTINCT });
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err(InputError::PasswordTooCommon);
        }
        if identities
            .iter()
            .map(|i| i.trim().to_lowercase())
            .any(|i| i.chars().count() >= 3 && lower.contains(&i))
        {
            return Err(InputError::PasswordContainsIdentity);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_with_control_characters_is_refused_but_tabs_and_line_breaks_pass() {
        assert_eq!(check_text("note", "line one\nline two\r\n\tindented"), Ok(()));
        assert_eq!(check_text("note", "Привет, 👋"), Ok(()));
        for bad in ["a\0b", "\u{1b}[31m", "x\u{7f}", "\u{85}", "\u{9b}"] {
            assert_eq!(
                check_text("note", bad),
                Err(InputError::ControlCharacters { field: "note".into() }),
                "{bad:?}"
            );
        }
        assert_eq!(InputError::ControlCharacters { field: "x".into() }.code(), "control_characters");
    }

    #[test]
    fn pages_are_checked_before_they_become_offsets() {
        assert_eq!(page_offset(None, 50, 1000), Ok((1, 0)));
        assert_eq!(page_offset(Some(3), 50, 1000), Ok((3, 100)));
        for bad in [0, -1, 1001, i64::MAX, i64::MIN] {
            assert_eq!(page_offset(Some(bad), 50, 1000), Err(InputError::BadPage { max: 1000 }), "{bad}");
        }
        assert_eq!(
            page_offset(Some(i64::MAX), i64::MAX, i64::MAX),
            Err(InputError::BadPage { max: i64::MAX })
        );
    }

    proptest! {
        #[test]
        fn page_offset_never_panics_or_goes_negative(page in any::<i64>(), per_page in 1i64..=1000, max in 1i64..=i64::MAX) {
            if let Ok((p, off)) = page_offset(Some(page), per_page, max) {
                prop_assert!(p >= 1 && off >= 0);
            }
        }
    }

    #[test]
    fn account_slugs_follow_the_rule() {
        assert_eq!(AccountSlug::parse(" Demo-1 ").unwrap().as_str(), "demo-1");
        for bad in ["ab", "1abc", "abc-", "a_b_c", "ab--cd", "", "abc def", &"a".repeat(33)] {
            assert_eq!(AccountSlug::parse(bad), Err(InputError::InvalidAccount), "{bad}");
        }
    }

    #[test]
    fn logins_are_case_insensitive() {
        assert_eq!(Login::parse("Ivan.Petrov").unwrap().as_str(), "ivan.petrov");
        assert!(Login::parse("ivan petrov").is_err());
        assert!(Login::parse("").is_err());
    }

    #[test]
    fn emails_need_a_domain_with_a_dot() {
        assert!(parse_email("a@b.ru").is_ok());
        for bad in ["a@b", "ab.ru", "a@@b.ru", "a b@c.ru", "a@.ru", "@b.ru"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rules_are_named() {
        let e = Password::parse("short", &[]).unwrap_err();
        assert_eq!(e, InputError::PasswordTooShort { min: 10 });
        assert_eq!(e.code(), "weak_password");
        assert!(e.to_string().contains("at least 10"));
        assert_eq!(
            Password::parse("aaaaabbbbbccccc", &[]).unwrap_err(),
            InputError::PasswordTooSimple { min: 5 }
        );
        assert_eq!(Password::parse("Password123", &[]).unwrap_err(), InputError::PasswordTooCommon);
        assert_eq!(
            Password::parse("my-ivanov-pass-42", &["ivanov", "demo"]).unwrap_err(),
            InputError::PasswordContainsIdentity
        );
        assert!(Password::parse("correct horse battery", &["ivanov", "demo"]).is_ok());
        assert_eq!(format!("{:?}", Password::parse("correct horse battery", &[]).unwrap()), "Password(***)");
    }

    proptest! {
        #[test]
        fn parsed_slugs_are_stable_and_sip_safe(s in "[a-zA-Z0-9_ -]{0,40}") {
            if let Ok(slug) = AccountSlug::parse(&s) {
                prop_assert_eq!(AccountSlug::parse(slug.as_str()).unwrap(), slug.clone());
                prop_assert!(slug.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
    }
}
