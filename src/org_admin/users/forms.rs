//! The Add user and Edit user forms: what was typed, and the settings parsed from it.

use serde::Deserialize;

use crate::domain::{EmailAddress, FieldErrors, PlanId, QuotaGb};

/// The form as typed; check boxes are "on" or absent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub delegate: String,
    #[serde(default)]
    pub unsigned_containers: String,
    #[serde(default)]
    pub release_protections: String,
    #[serde(default)]
    pub recover: String,
    #[serde(default)]
    pub no_second_factor: String,
    #[serde(default)]
    pub quota_gb: String,
    #[serde(default)]
    pub plan_id: String,
}

impl UserForm {
    pub fn checked(value: &str) -> bool {
        value == "on"
    }
}

/// Where a membership's quota comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Its own Account Quota.
    Custom(QuotaGb),
    /// A plan of the organization (checked to belong to it when saved): the plan's quota,
    /// following later changes of the plan.
    Plan(PlanId),
}

/// A membership's settings: the flags of DESIGN §2 and its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSettings {
    pub delegate: bool,
    pub unsigned_containers: bool,
    pub release_protections: bool,
    pub recover: bool,
    pub no_second_factor: bool,
    pub allocation: Allocation,
}

impl MemberSettings {
    pub fn parse(form: &UserForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let allocation = match form.plan_id.trim() {
            "" => errors.check("quota_gb", QuotaGb::parse(&form.quota_gb)).map(Allocation::Custom),
            raw => match raw.parse::<i64>() {
                Ok(id) if id > 0 => Some(Allocation::Plan(PlanId(id))),
                _ => {
                    errors.add("plan_id", "Choose one of the organization's plans, or no plan.");
                    None
                }
            },
        };
        match allocation {
            Some(allocation) if errors.is_empty() => Ok(Self {
                delegate: UserForm::checked(&form.delegate),
                unsigned_containers: UserForm::checked(&form.unsigned_containers),
                release_protections: UserForm::checked(&form.release_protections),
                recover: UserForm::checked(&form.recover),
                no_second_factor: UserForm::checked(&form.no_second_factor),
                allocation,
            }),
            _ => Err(errors),
        }
    }
}

/// Add user: the email as well.
pub fn parse_new(form: &UserForm) -> Result<(EmailAddress, MemberSettings), FieldErrors> {
    let email = EmailAddress::parse(&form.email);
    let settings = MemberSettings::parse(form);
    match (email, settings) {
        (Ok(email), Ok(settings)) => Ok((email, settings)),
        (email, settings) => {
            let mut errors = settings.err().unwrap_or_default();
            if let Err(why) = email {
                errors.add("email", why);
            }
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(quota: &str, plan: &str) -> UserForm {
        UserForm { email: "a@example.com".into(), quota_gb: quota.into(), plan_id: plan.into(), ..Default::default() }
    }

    #[test]
    fn a_plan_replaces_the_quota_and_flags_are_check_boxes() {
        let settings =
            MemberSettings::parse(&UserForm { delegate: "on".into(), recover: "yes".into(), ..form("", "7") }).unwrap();
        assert_eq!(settings.allocation, Allocation::Plan(PlanId(7)));
        assert!(settings.delegate);
        assert!(!settings.recover, "only \"on\" ticks a box");
        assert_eq!(
            MemberSettings::parse(&form("12", "")).unwrap().allocation,
            Allocation::Custom(QuotaGb::parse("12").unwrap())
        );
    }

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let errors = parse_new(&UserForm { email: "nope".into(), ..form("lots", "") }).unwrap_err();
        assert!(errors.get("email").is_some() && errors.get("quota_gb").is_some());
        assert!(MemberSettings::parse(&form("", "")).unwrap_err().get("quota_gb").is_some());
        assert!(MemberSettings::parse(&form("5", "x")).unwrap_err().get("plan_id").is_some());
        assert!(MemberSettings::parse(&form("5", "-3")).unwrap_err().get("plan_id").is_some());
    }
}
