//! The dial-rule engine's cases: every decision, in order.
use super::*;
use proptest::prelude::*;

fn no_ext(_: &str) -> bool {
    false
}

fn ext(d: Direction, e164: &str) -> Routed {
    Routed::External { direction: d, e164: Some(e164.into()), dial: e164[1..].into() }
}

#[test]
fn every_written_form_of_a_moscow_number_is_local() {
    let r = DialRules::default();
    for typed in [
        "123-45-67",
        "495 123 45 67",
        "8 (495) 123-45-67",
        "+7 495 123-45-67",
        "74951234567",
        "810 7 495 1234567",
    ] {
        assert_eq!(r.route(typed, no_ext), Ok(ext(Direction::Local, "+74951234567")), "{typed}");
    }
}

#[test]
fn mobiles_nationals_and_internationals_are_told_apart() {
    let mut r = DialRules::default();
    assert_eq!(r.route("8 916 123-45-67", no_ext), Ok(ext(Direction::Mobile, "+79161234567")));
    assert_eq!(r.route("8 812 123-45-67", no_ext), Ok(ext(Direction::National, "+78121234567")));
    assert_eq!(
        r.route("810 44 20 7946 0958", no_ext),
        Err(Refusal::DirectionNotAllowed { direction: Direction::International }),
        "international is off by default"
    );
    r.allowed.international = true;
    assert_eq!(r.route("810 44 20 7946 0958", no_ext), Ok(ext(Direction::International, "+442079460958")));
    assert_eq!(r.route("+44 20 7946 0958", no_ext), Ok(ext(Direction::International, "+442079460958")));
}

#[test]
fn extensions_and_short_rules_come_first() {
    let mut r = DialRules::default();
    let exts = |n: &str| n == "101";
    assert_eq!(r.route("101", exts), Ok(Routed::Internal { extension: "101".into() }));
    assert!(matches!(r.route("102", exts), Err(Refusal::CannotNormalise { .. })));
    r.short_rules = vec!["_1XX".into(), "112".into(), "_NXXX".into()];
    assert_eq!(
        r.route("102", exts),
        Ok(Routed::External { direction: Direction::Local, e164: None, dial: "102".into() })
    );
    assert!(matches!(r.route("112", exts), Ok(Routed::External { e164: None, .. })));
    assert!(matches!(r.route("0123", exts), Err(Refusal::CannotNormalise { .. })), "_NXXX needs 2-9 first");
    r.allowed.internal = false;
    assert_eq!(r.route("101", exts), Err(Refusal::DirectionNotAllowed { direction: Direction::Internal }));
}

#[test]
fn bad_and_blocked_numbers_are_refused_with_a_reason() {
    let mut r = DialRules::default();
    assert_eq!(r.route("", no_ext), Err(Refusal::Empty));
    assert_eq!(r.route("  ", no_ext), Err(Refusal::Empty));
    assert_eq!(r.route("8-800-CALL-NOW", no_ext), Err(Refusal::InvalidCharacters));
    assert_eq!(r.route("49+5", no_ext), Err(Refusal::InvalidCharacters));
    assert!(matches!(r.route("12345678901234567", no_ext), Err(Refusal::CannotNormalise { .. })));
    r.allowed.international = true;
    r.blocked_country_codes = vec!["+44".into(), "371".into()];
    assert_eq!(r.route("+44 20 7946 0958", no_ext), Err(Refusal::BlockedCountry { code: "44".into() }));
    assert_eq!(r.route("810 371 2 1234567", no_ext), Err(Refusal::BlockedCountry { code: "371".into() }));
    let msg = r.route("+44 20 7946 0958", no_ext).unwrap_err().to_string();
    assert!(msg.contains("+44"), "{msg}");
}

#[test]
fn other_countries_rules_work_too() {
    // Germany/Berlin: national prefix 0, exit 00, city 30 (the engine assumes one national
    // length; countries with variable lengths use the length most of their numbers have).
    let de = DialRules {
        country_code: "49".into(),
        city_prefix: "30".into(),
        national_prefix: "0".into(),
        international_prefix: "00".into(),
        local_length: 8,
        national_length: 10,
        mobile_prefixes: vec!["15".into(), "16".into(), "17".into()],
        ..DialRules::default()
    };
    assert_eq!(de.route("030 1234 5678", no_ext), Ok(ext(Direction::Local, "+493012345678")));
    assert_eq!(de.route("1234 5678", no_ext), Ok(ext(Direction::Local, "+493012345678")));
    assert_eq!(de.route("0151 234 5678", no_ext), Ok(ext(Direction::Mobile, "+491512345678")));
}

#[test]
fn saved_rules_are_validated_field_by_field() {
    assert_eq!(DialRules::default().validate(), Ok(()));
    let bad = |f: fn(&mut DialRules)| {
        let mut r = DialRules::default();
        f(&mut r);
        r.validate().unwrap_err()
    };
    assert!(bad(|r| r.country_code = "07".into()).starts_with("country code"));
    assert!(bad(|r| r.city_prefix = "49a".into()).starts_with("city prefix"));
    assert!(bad(|r| r.local_length = 2).starts_with("local number length"));
    assert!(bad(|r| r.short_rules = vec!["_XY".into()]).contains("_XY"));
    assert!(bad(|r| r.blocked_country_codes = vec!["+7;1".into()]).contains("+7;1"));
}

#[test]
fn premium_ranges_are_refused_by_default_even_when_they_look_national() {
    // Russian 8-809: a national number by its shape, premium by its range.
    let mut r = DialRules::default();
    for typed in ["8 809 505-12-34", "+7 809 5051234", "8 803 123 45 67"] {
        assert!(matches!(r.route(typed, no_ext), Err(Refusal::PremiumNumber { .. })), "{typed}");
    }
    assert_eq!(r.route("8 809 505-12-34", no_ext), Err(Refusal::PremiumNumber { range: "7809".into() }));
    r.allowed.international = true;
    for (typed, range) in [
        ("+1 900 555 0199", "1900"),
        ("+1 976 555 0199", "1976"),
        ("+44 909 879 0000", "449"),
        ("+44 871 234 5678", "44871"),
        ("+49 900 1234567", "49900"),
        ("+49 137 1234567", "49137"),
        ("+7 809 1234567", "7809"),
        ("+881 6 1234 5678", "881"),
        ("+979 1234 5678", "979"),
    ] {
        assert_eq!(r.route(typed, no_ext), Err(Refusal::PremiumNumber { range: range.into() }), "{typed}");
    }
    // Ordinary numbers of the same countries still go out.
    assert_eq!(r.route("+1 212 555 0199", no_ext), Ok(ext(Direction::International, "+12125550199")));
    assert_eq!(r.route("+44 20 7946 0958", no_ext), Ok(ext(Direction::International, "+442079460958")));
    assert_eq!(r.route("8 800 555-35-35", no_ext), Ok(ext(Direction::National, "+78005553535")));
    let msg = r.route("+1 900 555 0199", no_ext).unwrap_err().to_string();
    assert!(msg.contains("+1900") && msg.contains("premium"), "{msg}");
    assert_eq!(Refusal::PremiumNumber { range: "1900".into() }.code(), "premium_number");
}

#[test]
fn an_administrator_can_allow_a_premium_range_or_one_number_of_it() {
    let mut r = DialRules { allowed_premium: vec!["7809".into()], ..DialRules::default() };
    assert_eq!(r.validate(), Ok(()));
    assert_eq!(r.route("8 809 505-12-34", no_ext), Ok(ext(Direction::National, "+78095051234")));
    assert!(
        matches!(r.route("8 803 505-12-34", no_ext), Err(Refusal::PremiumNumber { .. })),
        "only the allowed range"
    );
    r.allowed_premium = vec!["+78095051234".into()];
    assert_eq!(r.validate(), Ok(()));
    assert!(r.route("8 809 505-12-34", no_ext).is_ok());
    assert!(
        matches!(r.route("8 809 505-12-35", no_ext), Err(Refusal::PremiumNumber { .. })),
        "one number allows only itself"
    );
    // A prefix shorter than a range would allow every premium range of the country: refused.
    for bad in ["7", "78", "44", "1", "x809"] {
        let r = DialRules { allowed_premium: vec![bad.into()], ..DialRules::default() };
        assert!(r.validate().unwrap_err().contains(bad), "{bad}");
    }
    // The allowance does not lift the direction rules.
    let r = DialRules { allowed_premium: vec!["1900".into()], ..DialRules::default() };
    assert_eq!(
        r.route("+1 900 555 0199", no_ext),
        Err(Refusal::DirectionNotAllowed { direction: Direction::International })
    );
}

#[test]
fn country_codes_are_read_by_their_length() {
    assert_eq!(country_code("+74951234567"), "7");
    assert_eq!(country_code("+12125550199"), "1");
    assert_eq!(country_code("+442079460958"), "44");
    assert_eq!(country_code("+4930123456"), "49");
    assert_eq!(country_code("+380441234567"), "380");
    assert_eq!(country_code("+37121234567"), "371");
    assert_eq!(country_code("+8816"), "881");
    assert_eq!(country_code("+8612345678"), "86");
    assert_eq!(country_code("+3"), "3");
}

#[test]
fn short_rule_patterns() {
    assert!(matches_short_rule("_XXX", "123"));
    assert!(!matches_short_rule("_XXX", "1234"));
    assert!(matches_short_rule("_Z0", "10"));
    assert!(!matches_short_rule("_Z0", "00"));
    assert!(matches_short_rule("_N", "2"));
    assert!(!matches_short_rule("_N", "1"));
    assert!(matches_short_rule("112", "112"));
    assert!(!matches_short_rule("_1X", "21"));
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(nsn in "[1-9][0-9]{9}") {
        let r = DialRules::default();
        let e = r.to_e164(&format!("8{nsn}")).unwrap();
        prop_assert_eq!(r.to_e164(&e), Some(e.clone()));
        prop_assert_eq!(e, format!("+7{nsn}"));
    }

    #[test]
    fn separators_never_change_the_result(nsn in "[1-9][0-9]{9}", seps in proptest::collection::vec(prop_oneof![Just(" "), Just("-"), Just("("), Just(")"), Just("")], 11)) {
        let r = DialRules::default();
        let plain = format!("8{nsn}");
        let spaced: String = plain.chars().zip(seps.iter()).map(|(c, s)| format!("{c}{s}")).collect();
        prop_assert_eq!(r.to_e164(&spaced), r.to_e164(&plain));
    }

    #[test]
    fn letters_are_always_refused(s in "[0-9 ]{0,5}[a-zA-Z][0-9a-zA-Z ]{0,8}") {
        prop_assert_eq!(DialRules::default().route(&s, no_ext), Err(Refusal::InvalidCharacters));
    }

    #[test]
    fn every_number_in_a_premium_range_is_refused_whatever_follows(
        entry in proptest::sample::select(PREMIUM_RANGES.iter().flat_map(|(c, ps)| ps.iter().map(move |p| format!("{c}{p}"))).collect::<Vec<_>>()),
        rest in "[0-9]{5,8}",
        intl in any::<bool>(),
    ) {
        let mut r = DialRules::default();
        r.allowed.international = intl;
        let typed = format!("+{entry}{rest}");
        prop_assume!(typed.len() <= 16);
        prop_assert_eq!(r.route(&typed, no_ext), Err(Refusal::PremiumNumber { range: entry.clone() }));
        // Allowed explicitly: refused only for the direction, never as premium.
        r.allowed_premium = vec![entry.clone()];
        prop_assert!(r.validate().is_ok());
        match r.route(&typed, no_ext) {
            Ok(routed) => prop_assert!(r.allowed.allows(routed.direction())),
            Err(e) => prop_assert!(matches!(e, Refusal::DirectionNotAllowed { .. }), "{e:?}"),
        }
    }

    #[test]
    fn a_premium_refusal_always_names_a_range_of_the_table(s in "[+]?[0-9]{7,15}") {
        let mut r = DialRules::default();
        r.allowed.international = true;
        if let Err(Refusal::PremiumNumber { range }) = r.route(&s, no_ext) {
            let e164 = r.to_e164(&s).unwrap();
            prop_assert!(e164[1..].starts_with(&range));
            prop_assert_eq!(premium_range(&e164), Some(range));
        }
    }

    #[test]
    fn any_outcome_is_consistent_with_the_rules(s in "[+]?[0-9 ()-]{0,20}", intl in any::<bool>(), mobile in any::<bool>()) {
        let mut r = DialRules::default();
        r.allowed.international = intl;
        r.allowed.mobile = mobile;
        match r.route(&s, no_ext) {
            Ok(Routed::External { direction, e164, dial }) => {
                prop_assert!(r.allowed.allows(direction));
                prop_assert!(dial.bytes().all(|b| b.is_ascii_digit()) && !dial.is_empty());
                if let Some(e) = e164 {
                    prop_assert!(e.starts_with('+') && e.len() <= 16);
                    prop_assert_eq!(&e[1..], dial.as_str());
                }
            }
            Ok(Routed::Internal { .. }) => prop_assert!(false, "no extensions exist"),
            Err(Refusal::DirectionNotAllowed { direction }) => prop_assert!(!r.allowed.allows(direction)),
            Err(_) => {}
        }
    }
}

#[test]
fn only_three_to_six_digits_without_a_plus_may_be_an_extension_and_routing_asks_for_no_other() {
    assert_eq!(extension_candidate(" 1-02 "), Some("102".into()));
    assert_eq!(extension_candidate("123456"), Some("123456".into()));
    for raw in ["12", "1234567", "+102", "10a", ""] {
        assert_eq!(extension_candidate(raw), None, "{raw:?}");
    }
    // The routing asks the tenant about the candidate only (an agent's call loads that one user).
    let rules = DialRules::default();
    let asked = std::cell::RefCell::new(Vec::new());
    for raw in [" 1-02 ", "+79165550101", "89165550101", "12"] {
        let _ = rules.route(raw, |e| {
            asked.borrow_mut().push(e.to_string());
            false
        });
    }
    assert_eq!(asked.into_inner(), vec!["102".to_string()]);
}
