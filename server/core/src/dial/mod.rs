//! The dial-rule engine: what a typed number becomes, or why it is refused. Pure: no IO, so it is
//! tested exhaustively here and the call path, the settings page preview and CRM phone
//! normalisation all use the same answer.
//!
//! Order of decisions: characters → internal extension → short-number rules (`_XXXX`) →
//! normalisation to E.164 → classification (local, mobile, national, international) → blocked
//! country codes → premium-rate and high-cost ranges ([`PREMIUM_RANGES`], denied unless the
//! administrator allowed the range) → allowed directions. The per-trunk N/M rewrite ([`crate::sip::TrunkRewrite`])
//! is applied last, by the caller, to [`Routed::dial`].

use serde::{Deserialize, Serialize};

/// Where a call goes, as far as permissions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Internal,
    Local,
    National,
    Mobile,
    International,
}

/// Directions a tenant allows. International is off by default (toll fraud is the classic loss).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Allowed {
    pub internal: bool,
    pub local: bool,
    pub national: bool,
    pub mobile: bool,
    pub international: bool,
}

impl Default for Allowed {
    fn default() -> Self {
        Allowed { internal: true, local: true, national: true, mobile: true, international: false }
    }
}

impl Allowed {
    pub fn allows(&self, d: Direction) -> bool {
        match d {
            Direction::Internal => self.internal,
            Direction::Local => self.local,
            Direction::National => self.national,
            Direction::Mobile => self.mobile,
            Direction::International => self.international,
        }
    }
}

/// A tenant's dial rules. Defaults are Moscow's: +7, city 495, national prefix 8, exit 810,
/// 7-digit local numbers, 10-digit national numbers, mobiles starting with 9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DialRules {
    pub country_code: String,
    pub city_prefix: String,
    pub national_prefix: String,
    pub international_prefix: String,
    pub local_length: usize,
    pub national_length: usize,
    pub mobile_prefixes: Vec<String>,
    /// Asterisk-style patterns for short numbers dialled as they are: `_XXX` (X any digit,
    /// Z 1–9, N 2–9, digits literal), e.g. `_1XX` or `112`.
    pub short_rules: Vec<String>,
    /// Country codes (E.164, without '+') no call may reach.
    pub blocked_country_codes: Vec<String>,
    /// Premium-rate or high-cost ranges ([`PREMIUM_RANGES`]) the administrator explicitly allows:
    /// E.164 prefixes without '+', each naming a whole range or a part of one (e.g. `7809` or
    /// `78095551234`); a shorter prefix (`7`) allows nothing.
    #[serde(default)]
    pub allowed_premium: Vec<String>,
    pub allowed: Allowed,
}

impl Default for DialRules {
    fn default() -> Self {
        DialRules {
            country_code: "7".into(),
            city_prefix: "495".into(),
            national_prefix: "8".into(),
            international_prefix: "810".into(),
            local_length: 7,
            national_length: 10,
            mobile_prefixes: vec!["9".into()],
            short_rules: vec![],
            blocked_country_codes: vec![],
            allowed_premium: vec![],
            allowed: Allowed::default(),
        }
    }
}

/// Why a number was refused; `Display` is the message the agent sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("enter a number to call")]
    Empty,
    #[error("a phone number may contain only digits, spaces, '-', '(', ')' and a leading '+'")]
    InvalidCharacters,
    #[error("{number} is not a number the dial rules understand (check its length and prefix)")]
    CannotNormalise { number: String },
    #[error("calls to country code +{code} are blocked by your administrator")]
    BlockedCountry { code: String },
    #[error("{direction:?} calls are not allowed for your organisation")]
    DirectionNotAllowed { direction: Direction },
    #[error(
        "+{range}… is a premium-rate or high-cost range; an administrator can allow it in the dial rules"
    )]
    PremiumNumber { range: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty",
            Refusal::InvalidCharacters => "invalid_characters",
            Refusal::CannotNormalise { .. } => "cannot_normalise",
            Refusal::BlockedCountry { .. } => "blocked_country",
            Refusal::DirectionNotAllowed { .. } => "direction_not_allowed",
            Refusal::PremiumNumber { .. } => "premium_number",
        }
    }
}

/// Where a typed number goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Routed {
    /// Another telephony user of the tenant.
    Internal { extension: String },
    /// Out through a trunk. `dial` is what the trunk gets before its rewrite; `e164` is absent for
    /// short numbers.
    External { direction: Direction, e164: Option<String>, dial: String },
}

impl Routed {
    pub fn direction(&self) -> Direction {
        match self {
            Routed::Internal { .. } => Direction::Internal,
            Routed::External { direction, .. } => *direction,
        }
    }
}

/// Premium-rate and high-cost ranges, denied by default: per E.164 country code, prefixes of the
/// national significant number. An empty prefix marks the whole country code (satellite networks
/// and the international premium-rate service, the classic toll-fraud destinations). Data, not
/// logic: extend the table, not the code.
pub const PREMIUM_RANGES: &[(&str, &[&str])] = &[
    // Russia and Kazakhstan (+7): 8-803 and 8-809 are paid information services.
    ("7", &["803", "809"]),
    // NANP (US, Canada, Caribbean): 900 premium, 976 pay-per-call.
    ("1", &["900", "976"]),
    // United Kingdom: 09 premium rate, 087x revenue-sharing, 070 personal numbers (fraud-prone).
    ("44", &["9", "871", "872", "873", "70"]),
    // Germany: 0900 premium, 0137 mass-call (televoting) services.
    ("49", &["900", "137"]),
    // France: 089x premium.
    ("33", &["89"]),
    // Italy: 89x premium.
    ("39", &["892", "895", "899"]),
    // Spain: 80x and 905 premium.
    ("34", &["803", "806", "807", "905"]),
    // Netherlands, Switzerland, Austria: 090x premium.
    ("31", &["900", "906", "909"]),
    ("41", &["900", "901", "906"]),
    ("43", &["900", "930", "939"]),
    // Poland: 70x premium.
    ("48", &["70"]),
    // Ukraine: 900 premium.
    ("380", &["900"]),
    // Australia: 190x premium.
    ("61", &["190"]),
    // Whole codes: Inmarsat, global mobile satellite, international networks, international
    // premium-rate service.
    ("870", &[""]),
    ("881", &[""]),
    ("882", &[""]),
    ("883", &[""]),
    ("979", &[""]),
];

/// Two-digit E.164 country codes; every other code is 1 (zone 1 and 7) or 3 digits long. Country
/// codes are prefix-free, so this decides the length of any number's code.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
    "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// The country calling code of an E.164 number (`+4420…` → `44`, `+7495…` → `7`).
pub fn country_code(e164: &str) -> &str {
    let d = e164.strip_prefix('+').unwrap_or(e164);
    let len = if d.starts_with('1') || d.starts_with('7') {
        1
    } else if d.len() >= 2 && TWO_DIGIT_CODES.contains(&&d[..2]) {
        2
    } else {
        3
    };
    &d[..len.min(d.len())]
}

/// The premium or high-cost range (country code + prefix, without '+') an E.164 number is in.
pub fn premium_range(e164: &str) -> Option<String> {
    let d = e164.strip_prefix('+').unwrap_or(e164);
    let cc = country_code(d);
    let nsn = &d[cc.len()..];
    PREMIUM_RANGES
        .iter()
        .filter(|(c, _)| *c == cc)
        .flat_map(|(_, prefixes)| prefixes.iter())
        .find(|p| nsn.starts_with(*p))
        .map(|p| format!("{cc}{p}"))
}

/// Strips the usual separators; `None` if anything else than digits and a leading '+' is left.
pub fn clean(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push(c),
            ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Could this cleaned number be a colleague's extension (3 to 6 digits, no `+`)? [`DialRules::route`]
/// asks the tenant only then.
pub fn may_be_extension(n: &str) -> bool {
    !n.starts_with('+') && (3..=6).contains(&n.len())
}

/// The extension a dialled string would be, if it may be one ([`may_be_extension`] after [`clean`]).
pub fn extension_candidate(raw: &str) -> Option<String> {
    clean(raw).filter(|n| may_be_extension(n))
}

/// Does `digits` match the Asterisk-style pattern (`_` prefix for patterns, else literal)?
pub fn matches_short_rule(rule: &str, digits: &str) -> bool {
    let Some(pat) = rule.strip_prefix('_') else { return rule == digits };
    pat.len() == digits.len()
        && pat.chars().zip(digits.chars()).all(|(p, d)| match p.to_ascii_uppercase() {
            'X' => d.is_ascii_digit(),
            'Z' => ('1'..='9').contains(&d),
            'N' => ('2'..='9').contains(&d),
            lit => lit == d,
        })
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl DialRules {
    /// Checks the rules an admin saves; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !digits(&self.country_code, 1, 3) || self.country_code.starts_with('0') {
            return Err("country code: 1–3 digits, not starting with 0 (e.g. 7)".into());
        }
        if !digits(&self.city_prefix, 0, 5) {
            return Err("city prefix: up to 5 digits (e.g. 495)".into());
        }
        if !digits(&self.national_prefix, 0, 2) {
            return Err("national prefix: up to 2 digits (e.g. 8 or 0)".into());
        }
        if !digits(&self.international_prefix, 0, 4) {
            return Err("international prefix: up to 4 digits (e.g. 810 or 00)".into());
        }
        if self.local_length != 0 && !(4..=10).contains(&self.local_length) {
            return Err("local number length: 0 (none) or 4–10".into());
        }
        if !(6..=13).contains(&self.national_length) {
            return Err("national number length: 6–13".into());
        }
        if let Some(p) = self.mobile_prefixes.iter().find(|p| !digits(p, 1, 4)) {
            return Err(format!("mobile prefix '{p}': 1–4 digits"));
        }
        let rule_ok = |r: &str| match r.strip_prefix('_') {
            Some(p) => {
                (1..=8).contains(&p.len())
                    && p.chars()
                        .all(|c| c.is_ascii_digit() || matches!(c.to_ascii_uppercase(), 'X' | 'Z' | 'N'))
            }
            None => digits(r, 1, 8),
        };
        if let Some(r) = self.short_rules.iter().find(|r| !rule_ok(r)) {
            return Err(format!("short-number rule '{r}': digits or a pattern like _XXXX (X any digit, Z 1–9, N 2–9), at most 8 long"));
        }
        if let Some(c) =
            self.blocked_country_codes.iter().find(|c| !digits(c.trim().trim_start_matches('+'), 1, 4))
        {
            return Err(format!("blocked country code '{c}': 1–4 digits, optionally with '+'"));
        }
        if let Some(p) = self.allowed_premium.iter().find(|p| {
            let p = p.trim().trim_start_matches('+');
            !digits(p, 1, 15) || premium_range(p).is_none_or(|range| !p.starts_with(&range))
        }) {
            return Err(format!("allowed premium range '{p}': the E.164 prefix of a premium range (e.g. 7809), or a longer one"));
        }
        Ok(())
    }

    /// E.164 (with '+') for a number written in any of the forms the rules know, or `None`.
    /// Used for calls and for CRM phone fields alike.
    pub fn to_e164(&self, raw: &str) -> Option<String> {
        let n = clean(raw)?;
        let cc = &self.country_code;
        let e164_digits = if let Some(rest) = n.strip_prefix('+') {
            rest.to_string()
        } else if !self.national_prefix.is_empty()
            && n.starts_with(&self.national_prefix)
            && n.len() == self.national_prefix.len() + self.national_length
        {
            // Checked before the exit prefix: where they overlap (8 vs 810 in Russia) a number of
            // exactly national length is national.
            format!("{cc}{}", &n[self.national_prefix.len()..])
        } else if !self.international_prefix.is_empty()
            && n.starts_with(&self.international_prefix)
            && n.len() > self.international_prefix.len() + 6
        {
            n[self.international_prefix.len()..].to_string()
        } else if n.starts_with(cc.as_str()) && n.len() == cc.len() + self.national_length {
            n.clone()
        } else if n.len() == self.national_length {
            format!("{cc}{n}")
        } else if self.local_length > 0 && n.len() == self.local_length && !self.city_prefix.is_empty() {
            format!("{cc}{}{n}", self.city_prefix)
        } else {
            return None;
        };
        // E.164: at most 15 digits, no leading zero in the country code, something after it.
        let ok = (8..=15).contains(&e164_digits.len())
            && e164_digits.bytes().all(|b| b.is_ascii_digit())
            && !e164_digits.starts_with('0');
        ok.then(|| format!("+{e164_digits}"))
    }

    fn classify(&self, e164: &str) -> Direction {
        let digits = &e164[1..];
        match digits.strip_prefix(self.country_code.as_str()) {
            Some(nsn) if nsn.len() == self.national_length => {
                if !self.city_prefix.is_empty() && nsn.starts_with(&self.city_prefix) {
                    Direction::Local
                } else if self.mobile_prefixes.iter().any(|p| !p.is_empty() && nsn.starts_with(p.as_str())) {
                    Direction::Mobile
                } else {
                    Direction::National
                }
            }
            _ => Direction::International,
        }
    }

    /// Decides where `raw` goes. `is_extension` says whether a short all-digit string is one of
    /// the tenant's telephony users.
    pub fn route(&self, raw: &str, is_extension: impl Fn(&str) -> bool) -> Result<Routed, Refusal> {
        if raw.trim().is_empty() {
            return Err(Refusal::Empty);
        }
        let n = clean(raw).ok_or(Refusal::InvalidCharacters)?;
        if n.is_empty() || n == "+" {
            return Err(Refusal::Empty);
        }
        let allow = |d: Direction| {
            if self.allowed.allows(d) {
                Ok(())
            } else {
                Err(Refusal::DirectionNotAllowed { direction: d })
            }
        };
        if may_be_extension(&n) && is_extension(&n) {
            allow(Direction::Internal)?;
            return Ok(Routed::Internal { extension: n });
        }
        if !n.starts_with('+') && self.short_rules.iter().any(|r| matches_short_rule(r, &n)) {
            allow(Direction::Local)?;
            return Ok(Routed::External { direction: Direction::Local, e164: None, dial: n });
        }
        let e164 = self.to_e164(&n).ok_or_else(|| Refusal::CannotNormalise { number: n.clone() })?;
        if let Some(code) = self
            .blocked_country_codes
            .iter()
            .map(|c| c.trim().trim_start_matches('+'))
            .find(|c| !c.is_empty() && e164[1..].starts_with(c))
        {
            return Err(Refusal::BlockedCountry { code: code.to_string() });
        }
        if let Some(range) = premium_range(&e164) {
            let allowed = self
                .allowed_premium
                .iter()
                .map(|p| p.trim().trim_start_matches('+'))
                .any(|p| p.starts_with(&range) && e164[1..].starts_with(p));
            if !allowed {
                return Err(Refusal::PremiumNumber { range });
            }
        }
        let direction = self.classify(&e164);
        allow(direction)?;
        let dial = e164[1..].to_string();
        Ok(Routed::External { direction, e164: Some(e164), dial })
    }
}

#[cfg(test)]
mod tests;
