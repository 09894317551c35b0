//! Platform properties (`/admin/properties`). One so far: Days to action organization removal.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor, NewEvent};
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::db::schema::platform_properties;
use crate::db::{self, Db, DbConn};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::platform::paths;
use crate::platform::AdminForm;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/properties", web::get().to(show)).route("/properties", web::post().to(save));
}

const DAYS_TO_ACTION_REMOVAL: &str = "days_to_action_removal";

/// The notice a removal with notification gives the contact person: whole days, 1–365.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeDays(i64);

impl NoticeDays {
    pub const MAX: i64 = 365;

    /// Empty means cleared (`None`).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        match raw.parse::<i64>() {
            Ok(days) if (1..=Self::MAX).contains(&days) => Ok(Some(Self(days))),
            Ok(_) => Err(format!("Enter a whole number of days from 1 to {}, or leave it empty.", Self::MAX)),
            Err(_) => Err("Enter a whole number of days (digits only), or leave it empty.".into()),
        }
    }

    pub fn days(self) -> i64 {
        self.0
    }
}

/// The stored property; a missing or unreadable value counts as cleared.
pub fn days_to_action_removal(conn: &mut DbConn) -> QueryResult<Option<NoticeDays>> {
    let stored: Option<String> = platform_properties::table
        .find(DAYS_TO_ACTION_REMOVAL)
        .select(platform_properties::value)
        .first(conn)
        .optional()?;
    Ok(stored.and_then(|value| NoticeDays::parse(&value).ok().flatten()))
}

fn set_days_to_action_removal(
    conn: &mut DbConn,
    actor: &Actor,
    days: Option<NoticeDays>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    db::write_transaction(conn, |conn| {
        let before = days_to_action_removal(conn)?;
        if before == days {
            return Ok(false);
        }
        let value = days.map(|d| d.days().to_string()).unwrap_or_default();
        let updated = diesel::update(platform_properties::table.find(DAYS_TO_ACTION_REMOVAL))
            .set((platform_properties::value.eq(&value), platform_properties::updated_at.eq(now)))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(platform_properties::table)
                .values((
                    platform_properties::name.eq(DAYS_TO_ACTION_REMOVAL),
                    platform_properties::value.eq(&value),
                    platform_properties::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        let details = json!({
            "before": before.map(NoticeDays::days),
            "after": days.map(NoticeDays::days),
        });
        audit::record(
            conn,
            &NewEvent::platform(actor, "platform_property.changed", DAYS_TO_ACTION_REMOVAL).details(details),
            now,
        )?;
        Ok(true)
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct PropertiesForm {
    #[serde(default)]
    pub days_to_action_removal: String,
}

#[derive(Template)]
#[template(path = "properties/page.html")]
pub struct PropertiesPage {
    pub layout: Layout,
    pub form: PropertiesForm,
    pub errors: FieldErrors,
}

impl PropertiesPage {
    fn new(admin: &PlatformAdmin, form: PropertiesForm, errors: FieldErrors) -> Result<Self, AppError> {
        Ok(Self { layout: admin.layout("Platform properties", Section::Platform)?, form, errors })
    }
}

/// `GET /admin/properties`
pub async fn show(admin: PlatformAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let days = db.run(days_to_action_removal).await?;
    let form = PropertiesForm { days_to_action_removal: days.map(|d| d.days().to_string()).unwrap_or_default() };
    render(&PropertiesPage::new(&admin, form, FieldErrors::default())?)
}

/// `POST /admin/properties`
pub async fn save((admin, app, CsrfForm(form)): AdminForm<PropertiesForm>) -> Result<HttpResponse, AppError> {
    let days = match NoticeDays::parse(&form.days_to_action_removal) {
        Ok(days) => days,
        Err(why) => {
            let errors = FieldErrors::one("days_to_action_removal", why);
            return render_422(&PropertiesPage::new(&admin, form, errors)?);
        }
    };
    let act = app.act(&admin);
    let changed = app.db.run(move |conn| set_days_to_action_removal(conn, &act.actor, days, act.now)).await?;
    let message = match (changed, days) {
        (false, _) => "Nothing changed.".to_owned(),
        (true, Some(d)) => format!(
            "Saved. New removal requests with notification can be approved {} after they are made.",
            if d.days() == 1 { "1 day".to_owned() } else { format!("{} days", d.days()) }
        ),
        (true, None) => {
            "Saved. New removal requests can be approved at once, and contact persons are not notified.".to_owned()
        }
    };
    flash::set(admin.session(), FlashKind::Success, message);
    Ok(see_other(paths::PROPERTIES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_days_are_whole_days_from_1_to_365_or_empty() {
        assert_eq!(NoticeDays::parse(""), Ok(None));
        assert_eq!(NoticeDays::parse("  "), Ok(None));
        assert_eq!(NoticeDays::parse("1"), Ok(Some(NoticeDays(1))));
        assert_eq!(NoticeDays::parse(" 365 "), Ok(Some(NoticeDays(365))));
        for bad in ["0", "366", "-1", "1.5", "7 days", "١", "99999999999999999999"] {
            assert!(NoticeDays::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
