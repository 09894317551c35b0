//! The Add and Edit organization forms: raw strings in, typed values or every field's error out.

use serde::Deserialize;

use crate::domain::{EmailAddress, FieldErrors, OrgName, QuotaGb, Seats};

/// The form as submitted; a field left out is empty.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub quota_gb: String,
    #[serde(default)]
    pub seats: String,
    #[serde(default)]
    pub admin_email: String,
}

/// A checked new organization.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: OrgName,
    pub quota: QuotaGb,
    pub seats: Seats,
    pub administrator: EmailAddress,
}

impl NewOrg {
    pub fn parse(form: &OrgForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", OrgName::parse(&form.name));
        let quota = errors.check("quota_gb", QuotaGb::parse(&form.quota_gb));
        let seats = errors.check("seats", Seats::parse(&form.seats));
        let administrator = errors.check("admin_email", EmailAddress::parse(&form.admin_email));
        match (name, quota, seats, administrator) {
            (Some(name), Some(quota), Some(seats), Some(administrator)) => {
                Ok(Self { name, quota, seats, administrator })
            }
            _ => Err(errors),
        }
    }
}

/// Checked changes to an organization. `contact` is set only for the default organization,
/// whose Administrator / Contact Person field stays editable (and required).
#[derive(Debug, Clone)]
pub struct OrgChanges {
    pub name: OrgName,
    pub quota: QuotaGb,
    pub seats: Seats,
    pub contact: Option<EmailAddress>,
}

impl OrgChanges {
    pub fn parse(form: &OrgForm, is_default: bool) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", OrgName::parse(&form.name));
        let quota = errors.check("quota_gb", QuotaGb::parse(&form.quota_gb));
        let seats = errors.check("seats", Seats::parse(&form.seats));
        let contact = if is_default {
            errors.check("admin_email", EmailAddress::parse(&form.admin_email)).map(Some)
        } else {
            Some(None)
        };
        match (name, quota, seats, contact) {
            (Some(name), Some(quota), Some(seats), Some(contact)) => Ok(Self { name, quota, seats, contact }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, quota: &str, seats: &str, admin: &str) -> OrgForm {
        OrgForm { name: name.into(), quota_gb: quota.into(), seats: seats.into(), admin_email: admin.into() }
    }

    #[test]
    fn every_field_error_is_reported_at_once() {
        let errors = NewOrg::parse(&form("", "-1", "0", "nope")).unwrap_err();
        for field in ["name", "quota_gb", "seats", "admin_email"] {
            assert!(errors.get(field).is_some(), "{field} has no error");
        }
    }

    #[test]
    fn a_valid_form_parses() {
        let org = NewOrg::parse(&form(" Acme ", "100", "", "Boss@Acme.example")).unwrap();
        assert_eq!(org.name.as_str(), "Acme");
        assert_eq!(org.seats, Seats::Unlimited);
        assert_eq!(org.administrator.as_str(), "boss@acme.example");
    }

    #[test]
    fn only_the_default_organization_needs_a_contact_on_edit() {
        assert!(OrgChanges::parse(&form("Acme", "1", "", ""), false).unwrap().contact.is_none());
        let errors = OrgChanges::parse(&form("Acme", "1", "", ""), true).unwrap_err();
        assert!(errors.get("admin_email").is_some());
    }
}
