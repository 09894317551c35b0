//! Where an organization console's pages are. Every link and redirect to them is built here, so
//! a path is written once (the routes in each `configure` are relative to `/orgs/{id}`).

use crate::domain::{AccountId, MembershipStatus, OrgId};

pub fn home(org: OrgId) -> String {
    format!("/orgs/{org}")
}

pub fn users(org: OrgId) -> String {
    format!("/orgs/{org}/users")
}

pub fn users_csv(org: OrgId) -> String {
    format!("/orgs/{org}/users.csv")
}

/// The users list showing one status, e.g. the people a Delegate has to validate.
pub fn users_with_status(org: OrgId, status: MembershipStatus) -> String {
    format!("/orgs/{org}/users?status={status}")
}

pub fn user_edit(org: OrgId, account: AccountId) -> String {
    format!("/orgs/{org}/users/{account}/edit")
}

pub fn plans(org: OrgId) -> String {
    format!("/orgs/{org}/plans")
}

pub fn properties(org: OrgId) -> String {
    format!("/orgs/{org}/properties")
}

pub fn audit(org: OrgId) -> String {
    format!("/orgs/{org}/audit")
}

pub fn audit_csv(org: OrgId) -> String {
    format!("/orgs/{org}/audit.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_contract() {
        assert_eq!(user_edit(OrgId(7), AccountId(9)), "/orgs/7/users/9/edit");
        assert_eq!(
            users_with_status(OrgId(7), MembershipStatus::AwaitingValidation),
            "/orgs/7/users?status=awaiting_validation"
        );
        assert_eq!(audit(OrgId(7)), "/orgs/7/audit");
        assert_eq!(audit_csv(OrgId(7)), "/orgs/7/audit.csv");
    }
}
