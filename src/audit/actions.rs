//! The action names the code writes, offered by each trail's Action filter. A unit test reads
//! the sources, so an action added without its line here fails it.

/// Actions of platform-level events (`NewEvent::platform`), shown on `/admin/audit`.
pub const PLATFORM: &[&str] = &[
    "account.locked",
    "account.name_changed",
    "account.other_sessions_ended",
    "account.password_changed",
    "account.password_reset",
    "account.password_reset_requested",
    "account.password_set",
    "account.recovery_code_used",
    "account.recovery_codes_replaced",
    "account.registered",
    "account.second_factor_disabled",
    "account.second_factor_enrolled",
    "account.second_factor_reset",
    "account.session_ended",
    "account.sign_in",
    "account.sign_in_failed",
    "ldap.connection_added",
    "ldap.connection_deleted",
    "ldap.connection_updated",
    "ldap.synced",
    "organization.created",
    "organization.removal_cancelled",
    "organization.removal_declined",
    "organization.removal_initiated",
    "organization.removed",
    "organization.updated",
    "outbox.retried",
    "platform.bootstrap",
    "platform_admin.added",
    "platform_admin.invitation_resent",
    "platform_admin.invitation_revoked",
    "platform_admin.removed",
    "platform_admin.sessions_ended",
    "platform_property.changed",
];

/// Actions of organization-level events (`NewEvent::in_organization`), shown on
/// `/orgs/{id}/audit`.
pub const ORGANIZATION: &[&str] = &[
    "membership.added",
    "membership.invitation_resent",
    "membership.invitation_revoked",
    "membership.registered",
    "membership.removed",
    "membership.updated",
    "membership.validated",
    "organization.properties_changed",
    "plan.created",
    "plan.deleted",
    "plan.updated",
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The families of action names; a string literal `family.word` in the sources is one.
    const FAMILIES: &[&str] = &[
        "account",
        "ldap",
        "membership",
        "organization",
        "outbox",
        "plan",
        "platform",
        "platform_admin",
        "platform_property",
    ];

    fn literals_in(dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                literals_in(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("audit/actions.rs") {
                let source = std::fs::read_to_string(&path).unwrap_or_default();
                for literal in source.split('"').skip(1).step_by(2) {
                    let named = literal.split_once('.').is_some_and(|(family, word)| {
                        FAMILIES.contains(&family)
                            && !word.is_empty()
                            && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    });
                    if named {
                        found.push(literal.to_owned());
                    }
                }
            }
        }
    }

    #[test]
    fn every_action_the_code_writes_is_offered() {
        let mut found = Vec::new();
        literals_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.len() > 30, "the sources were read: {found:?}");
        for action in found {
            assert!(PLATFORM.contains(&action.as_str()) || ORGANIZATION.contains(&action.as_str()), "{action}");
        }
    }

    #[test]
    fn lists_are_sorted_and_disjoint() {
        for list in [PLATFORM, ORGANIZATION] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(PLATFORM.iter().all(|a| !ORGANIZATION.contains(a)));
    }
}
