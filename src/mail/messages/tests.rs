use chrono::NaiveDate;

use super::*;
use crate::domain::OrgId;

const BASE: &str = "https://portal.example/sub";
/// A value that must come out escaped in HTML and as typed in text.
const NASTY: &str = "<b>&\"Q'";
const HELP: &str = "help@acme.example";
const PLATFORM_HELP: &str = "Ask a platform administrator";
const ACCOUNT_HELP: &str = "Ask your organization's administrators";
const WHY: &str = "You receive this email because";

fn site() -> Site {
    Site { base_url: BASE.into(), message_id_domain: "portal.example".into(), body_key: None, invitations_per_hour: 10 }
}

fn at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 4).and_then(|d| d.and_hms_opt(5, 6, 0)).unwrap_or_default()
}

/// `value` as askama writes it into HTML.
fn escaped(value: &str) -> String {
    value.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

fn org_name() -> String {
    format!("Org {NASTY}")
}

/// Every message, with `NASTY` in each name a caller passes, the help line it should carry,
/// and whether it carries such a name.
fn every_message() -> Vec<(Email, &'static str, bool)> {
    let site = site();
    let org = org_name();
    let link = site.link("/register/T0KEN");
    vec![
        (organization_admin_invitation(&site, "a@x.example", OrgId(1), &org, &link, at()), PLATFORM_HELP, true),
        (platform_admin_invitation(&site, "a@x.example", &link, at()), PLATFORM_HELP, false),
        (added_as_organization_admin(&site, "a@x.example", OrgId(1), &org), PLATFORM_HELP, true),
        (removal_notice(&site, "a@x.example", OrgId(1), &org, 30, at()), PLATFORM_HELP, true),
        (removal_withdrawn(&site, "a@x.example", OrgId(1), &org, Withdrawal::Cancelled), PLATFORM_HELP, true),
        (removal_withdrawn(&site, "a@x.example", OrgId(1), &org, Withdrawal::Declined), PLATFORM_HELP, true),
        (removal_carried_out(&site, "a@x.example", OrgId(1), &org), PLATFORM_HELP, true),
        (
            removal_awaits_approval(&site, "a@x.example", OrgId(1), &org, &format!("i{NASTY}@x.example")),
            PLATFORM_HELP,
            true,
        ),
        (user_invitation(&site, &invitation(&org, &link, false)), HELP, true),
        (user_invitation(&site, &invitation(&org, &link, true)), HELP, true),
        (
            ready_for_validation(&site, "a@x.example", 1, &org, HELP, &format!("Ann {NASTY}"), "ann@x.example"),
            HELP,
            true,
        ),
        (added_to_organization(&site, "a@x.example", 1, &org, HELP), HELP, true),
        (account_validated(&site, "a@x.example", Some(&format!("Ann {NASTY}")), 1, &org, HELP), HELP, true),
        (password_reset(&site, "a@x.example", &site.link("/password-reset/T0KEN"), at()), ACCOUNT_HELP, false),
        (second_factor_removed(&site, "a@x.example", &format!("admin {NASTY}")), PLATFORM_HELP, true),
    ]
}

/// Every absolute link in `body`: each `http://` or `https://` up to a space, quote or tag.
fn links(body: &str) -> Vec<&str> {
    body.match_indices("http")
        .map(|(at, _)| &body[at..])
        .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
        .map(|rest| rest.split(|c: char| c.is_whitespace() || "\"'<>".contains(c)).next().unwrap_or(rest))
        .collect()
}

#[test]
fn every_message_has_both_parts_a_why_line_and_a_help_address() {
    for (email, help, _) in every_message() {
        let kind = email.kind;
        assert!(!email.subject.is_empty(), "{kind}");
        assert!(email.text.trim().len() > 100, "{kind}: {}", email.text);
        assert!(email.html.contains("</html>"), "{kind}: {}", email.html);
        for (body, help) in [(&email.text, help.to_owned()), (&email.html, escaped(help))] {
            assert_eq!(body.matches(WHY).count(), 1, "{kind}: one why-line: {body}");
            assert!(body.contains(&help), "{kind}: help {help:?}: {body}");
        }
    }
}

#[test]
fn text_and_html_say_the_same_thing() {
    for (email, _, _) in every_message() {
        // Each line of the text part but the layout's own shows up in the HTML part.
        for line in email.text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "--" && !l.ends_with(':')) {
            assert!(email.html.contains(&escaped(line)), "{}: {line:?} is missing from {}", email.kind, email.html);
        }
    }
}

#[test]
fn every_link_comes_from_the_base_url() {
    for (email, _, _) in every_message() {
        for body in [&email.text, &email.html] {
            let found = links(body);
            assert!(!found.is_empty(), "{}: the footer at least", email.kind);
            for link in found {
                assert!(link.starts_with(BASE), "{}: {link} in {body}", email.kind);
            }
        }
    }
}

fn invitation<'a>(org_name: &'a str, link: &'a str, has_account: bool) -> Invitation<'a> {
    Invitation { to: "a@x.example", org_id: 1, org_name, help: HELP, link, expires_at: at(), has_account }
}

#[test]
fn a_link_from_elsewhere_is_rebuilt_on_the_base_url() {
    let site = site();
    for link in ["https://evil.example/register/T0KEN", "/register/T0KEN", "https://portal.example/register/T0KEN"] {
        let email = user_invitation(&site, &invitation("Acme", link, false));
        for body in [&email.text, &email.html] {
            assert!(body.contains(&format!("{BASE}/register/T0KEN")), "{link}: {body}");
            assert!(!body.contains("evil.example"), "{body}");
            assert!(links(body).iter().all(|l| l.starts_with(BASE)), "{link}: {body}");
        }
    }
    let email = removal_awaits_approval(&site, "a@x.example", OrgId(7), "Acme", "i@x.example");
    assert!(email.text.contains(&format!("{BASE}/admin/organizations/7/removal")), "{}", email.text);
}

#[test]
fn every_value_is_escaped_in_html_and_plain_in_text() {
    for (email, _, names) in every_message() {
        let kind = email.kind;
        assert!(!email.html.contains("<b>") && !email.html.contains("&\""), "{kind}: {}", email.html);
        if names {
            assert!(email.html.contains(&escaped(NASTY)), "{kind}: {}", email.html);
            assert!(email.text.contains(NASTY), "{kind}: {}", email.text);
        }
    }
}

#[test]
fn account_ready_greets_the_person_by_name_or_neutrally() {
    let site = site();
    let named = account_validated(&site, "a@x.example", Some(&format!("Ann {NASTY}")), 1, "Acme", HELP);
    assert!(named.text.starts_with(&format!("Hello Ann {NASTY},\n")), "{}", named.text);
    assert!(named.html.contains(&format!(">Hello Ann {},</p>", escaped(NASTY))), "{}", named.html);
    assert!(!named.html.contains(">Hello,</p>"), "{}", named.html);
    for name in [None, Some(""), Some("  ")] {
        let email = account_validated(&site, "a@x.example", name, 1, "Acme", HELP);
        assert!(email.text.starts_with("Hello,\n"), "{name:?}: {}", email.text);
        assert!(email.html.contains(">Hello,</p>"), "{name:?}: {}", email.html);
    }
}

#[test]
fn without_an_organization_admin_email_users_are_sent_to_its_administrators() {
    let email = account_validated(&site(), "a@x.example", None, 1, "Acme", "");
    let help = "Questions? Ask your organization's administrators.";
    for (body, help) in [(&email.text, help.to_owned()), (&email.html, escaped(help))] {
        assert!(body.contains(&help), "{body}");
        assert!(!body.contains(" at ."), "{body}");
    }
}

#[test]
fn subjects_are_unchanged() {
    let subjects: Vec<String> = every_message().into_iter().map(|(email, _, _)| email.subject).collect();
    let org = org_name();
    assert_eq!(
        subjects,
        [
            format!("You are invited to administer {org}"),
            "You are invited to be a platform administrator".into(),
            format!("You now administer {org}"),
            format!("{org} is scheduled for removal"),
            format!("The removal of {org} was withdrawn"),
            format!("The removal of {org} was withdrawn"),
            format!("{org} was removed"),
            format!("Removal of {org} awaits your approval"),
            format!("You are invited to join {org}"),
            format!("You are invited to join {org}"),
            format!("Ann {NASTY} (ann@x.example) is ready for validation in {org}"),
            format!("You were added to {org}"),
            format!("Your account in {org} is ready"),
            "Choose a new password".into(),
            "Two-step sign-in was removed from your account".into(),
        ]
    );
}
