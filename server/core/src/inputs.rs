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
        let ok_edges = s.as_bytes().first().is_some_and(|b| b.is_ascii_lowercase())
            && !s.ends_with('-');
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
    "1234567890", "12345678910", "0123456789", "1q2w3e4r5t", "qwertyuiop", "1qaz2wsx3edc",
    "password123", "password12", "password1!", "qwerty1234", "qwerty12345", "iloveyou12",
    "administrator", "admin12345", "welcome123", "letmein123", "passw0rd123", "p@ssw0rd123",
    "abcdefghij", "aaaaaaaaaa", "1111111111", "zaq12wsxcde", "changeme123", "monkey12345",
    "dragon12345", "football123", "baseball123", "superman123", "trustno1234", "qwerty123456",
    "йцукенгшщз", "пароль12345",
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
