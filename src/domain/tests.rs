use super::*;

const CONTROL_SAMPLES: &[&str] =
    &["a\u{0}b", "a\tb", "a\nb", "a\u{7f}b", "a\u{200b}b", "a\u{202e}b", "\u{feff}ab", "a\u{2066}b"];

#[test]
fn email_is_trimmed_lowercased_and_nfc() {
    let email = EmailAddress::parse("  Jürgen.MÜLLER@Example.COM ").unwrap();
    assert_eq!(email.as_str(), "jürgen.müller@example.com");
    // "u" + combining diaeresis becomes the single code point ü.
    let decomposed = EmailAddress::parse("mu\u{0308}ller@example.com").unwrap();
    assert_eq!(decomposed.as_str(), "müller@example.com");
}

#[test]
fn email_refuses_empty_whitespace_and_malformed_input() {
    for bad in ["", "   ", "no-at-sign", "a@", "@b.com", "a b@c.com", "\"quoted\"@example.com", "a@[127.0.0.1]"] {
        assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn email_refuses_control_and_format_characters() {
    for bad in CONTROL_SAMPLES {
        let input = format!("{bad}@example.com");
        assert!(EmailAddress::parse(&input).is_err(), "{input:?} accepted");
    }
}

#[test]
fn email_refuses_10_kb_input() {
    let huge = format!("{}@example.com", "a".repeat(10_240));
    assert!(EmailAddress::parse(&huge).unwrap_err().contains("at most"));
}

#[test]
fn org_name_keeps_case_and_folds_the_key() {
    let name = OrgName::parse("  MÜLLER GmbH ").unwrap();
    assert_eq!(name.as_str(), "MÜLLER GmbH");
    assert_eq!(name.key(), "müller gmbh");
    assert_eq!(OrgName::parse("müller gmbh").unwrap().key(), name.key());
}

#[test]
fn org_name_length_counts_characters() {
    assert!(OrgName::parse(&"é".repeat(100)).is_ok());
    assert!(OrgName::parse(&"é".repeat(101)).is_err());
    assert!(OrgName::parse(&"x".repeat(10_240)).is_err());
}

#[test]
fn org_name_refuses_empty_whitespace_and_hidden_characters() {
    assert!(OrgName::parse("").is_err());
    assert!(OrgName::parse(" \u{3000} \t ").is_err());
    for bad in CONTROL_SAMPLES {
        assert!(OrgName::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn org_name_accepts_scripts_and_emoji() {
    for good in ["株式会社テスト", "Ωmega Ltd", "Café 🚀", "<script>alert(1)</script>"] {
        assert_eq!(OrgName::parse(good).unwrap().as_str(), good);
    }
}

#[test]
fn quota_takes_whole_numbers_in_range() {
    assert_eq!(QuotaGb::parse(" 0 ").unwrap().gb(), 0);
    assert_eq!(QuotaGb::parse("1000000").unwrap().gb(), 1_000_000);
    for bad in ["", "  ", "-1", "+5", "1.5", "1e3", "1000001", "١٢", "9".repeat(10_240).as_str(), "12\u{0}"] {
        assert!(QuotaGb::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn seats_empty_means_unlimited() {
    assert_eq!(Seats::parse("").unwrap(), Seats::Unlimited);
    assert_eq!(Seats::parse("   ").unwrap(), Seats::Unlimited);
    assert_eq!(Seats::parse("25").unwrap(), Seats::Limited(25));
    assert_eq!(Seats::parse("25").unwrap().as_option(), Some(25));
    for bad in ["0", "-3", "2.5", "many", "99999999999999999999"] {
        assert!(Seats::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn thousands_are_grouped() {
    assert_eq!(group_thousands(0), "0");
    assert_eq!(group_thousands(999), "999");
    assert_eq!(group_thousands(1234), "1,234");
    assert_eq!(group_thousands(1_000_000), "1,000,000");
    assert_eq!(group_thousands(-1234567), "-1,234,567");
}

#[test]
fn field_errors_keep_the_first_message_per_field() {
    let mut errors = FieldErrors::default();
    assert_eq!(errors.check("name", OrgName::parse("ok")).map(|n| n.key().to_owned()), Some("ok".into()));
    assert!(errors.check("quota_gb", QuotaGb::parse("x")).is_none());
    errors.add("quota_gb", "second");
    assert_eq!(errors.len(), 1);
    assert_ne!(errors.get("quota_gb"), Some("second"));
}

#[test]
fn status_words_match_the_contract() {
    for (word, label) in [
        ("invited", "Invited"),
        ("awaiting_validation", "Awaiting validation"),
        ("active", "Active"),
        ("removed", "Removed"),
    ] {
        assert_eq!(membership_status_label(word), label);
    }
    for status in MembershipStatus::ALL {
        assert_eq!(membership_status_label(status.as_str()), status.label());
    }
}

#[test]
fn display_name_is_trimmed_nfc_and_keeps_case() {
    let name = DisplayName::parse("  Zoë  O'Brien ").unwrap();
    assert_eq!(name.as_str(), "Zoë  O'Brien");
    assert_eq!(name.key(), "zoë  o'brien");
    let decomposed = DisplayName::parse("Zoe\u{0308}").unwrap();
    assert_eq!(decomposed.as_str(), "Zo\u{eb}");
    assert_eq!(DisplayName::parse("李小龍").unwrap().as_str(), "李小龍");
}

#[test]
fn display_name_refuses_empty_and_whitespace_only() {
    for bad in ["", "   ", "\u{3000}"] {
        assert!(DisplayName::parse(bad).unwrap_err().contains("Enter your name"), "{bad:?} accepted");
    }
}

#[test]
fn display_name_refuses_control_and_format_characters() {
    for bad in CONTROL_SAMPLES {
        assert!(DisplayName::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn display_name_has_at_most_100_characters() {
    assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    assert!(DisplayName::parse(&"é".repeat(101)).unwrap_err().contains("at most 100"));
    assert!(DisplayName::parse(&"a".repeat(10_240)).unwrap_err().contains("at most"));
}
