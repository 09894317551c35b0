//! The stored second factor: `totp_secrets` (one confirmed, one pending per account) and
//! `recovery_codes`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Keys, Requirement, Secret};
use crate::db::schema::{memberships, organizations, recovery_codes, totp_secrets};
use crate::db::DbConn;
use crate::domain::MembershipStatus;

/// What the account page shows of an account's second factor.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// When the confirmed secret was confirmed; `None` when the account has none.
    pub enrolled_at: Option<NaiveDateTime>,
    pub recovery_codes_left: i64,
}

impl Status {
    pub fn enrolled(&self) -> bool {
        self.enrolled_at.is_some()
    }
}

pub fn status(conn: &mut DbConn, account_id: i64) -> QueryResult<Status> {
    let enrolled_at: Option<Option<NaiveDateTime>> = totp_secrets::table
        .filter(totp_secrets::account_id.eq(account_id))
        .filter(totp_secrets::confirmed.eq(true))
        .select(totp_secrets::confirmed_at)
        .first(conn)
        .optional()?;
    let recovery_codes_left = recovery_codes::table
        .filter(recovery_codes::account_id.eq(account_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(Status { enrolled_at: enrolled_at.map(|at| at.unwrap_or_default()), recovery_codes_left })
}

/// Whether the account has a confirmed secret.
pub fn is_enrolled(conn: &mut DbConn, account_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        totp_secrets::table.filter(totp_secrets::account_id.eq(account_id)).filter(totp_secrets::confirmed.eq(true)),
    ))
    .get_result(conn)
}

/// A stored secret, opened.
pub struct StoredSecret {
    pub id: i64,
    pub secret: Secret,
    pub last_step: i64,
    pub created_at: NaiveDateTime,
}

/// Why a stored secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("the second-factor secret of account {account_id} cannot be opened (the secret key changed?): {source}")]
    Sealed { account_id: i64, source: crate::mail::sealed::OpenError },
}

fn secret_of(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    confirmed: bool,
) -> Result<Option<StoredSecret>, SecretError> {
    let row: Option<(i64, String, i64, NaiveDateTime)> = totp_secrets::table
        .filter(totp_secrets::account_id.eq(account_id))
        .filter(totp_secrets::confirmed.eq(confirmed))
        .select((totp_secrets::id, totp_secrets::secret_sealed, totp_secrets::last_step, totp_secrets::created_at))
        .first(conn)
        .optional()?;
    let Some((id, sealed, last_step, created_at)) = row else {
        return Ok(None);
    };
    let secret = keys.open(&sealed, account_id).map_err(|source| SecretError::Sealed { account_id, source })?;
    Ok(Some(StoredSecret { id, secret, last_step, created_at }))
}

pub fn confirmed_secret(conn: &mut DbConn, keys: &Keys, account_id: i64) -> Result<Option<StoredSecret>, SecretError> {
    secret_of(conn, keys, account_id, true)
}

pub fn pending_secret(conn: &mut DbConn, keys: &Keys, account_id: i64) -> Result<Option<StoredSecret>, SecretError> {
    secret_of(conn, keys, account_id, false)
}

/// Advisory-lock keys (PostgreSQL) serialising the second-factor rows of one account.
const LOCK_KEY_BASE: i64 = 0x6f72_6705_0000_0000;

/// A new pending secret for the account, replacing any earlier pending one (the confirmed
/// secret, if any, keeps working until the new one is confirmed); its row id.
pub fn put_pending(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    secret: &Secret,
    now: NaiveDateTime,
) -> Result<i64, SecretError> {
    let sealed = keys.seal(secret, account_id).map_err(|source| SecretError::Sealed { account_id, source })?;
    crate::db::write_transaction(conn, |conn| {
        // Two enrolment pages at once would both delete, then both insert: one at a time.
        crate::db::lock_for_transaction(conn, LOCK_KEY_BASE.wrapping_add(account_id))?;
        diesel::delete(
            totp_secrets::table
                .filter(totp_secrets::account_id.eq(account_id))
                .filter(totp_secrets::confirmed.eq(false)),
        )
        .execute(conn)?;
        diesel::insert_into(totp_secrets::table)
            .values((
                totp_secrets::account_id.eq(account_id),
                totp_secrets::confirmed.eq(false),
                totp_secrets::secret_sealed.eq(sealed),
                totp_secrets::last_step.eq(0_i64),
                totp_secrets::created_at.eq(now),
            ))
            .execute(conn)?;
        let id = totp_secrets::table
            .filter(totp_secrets::account_id.eq(account_id))
            .filter(totp_secrets::confirmed.eq(false))
            .select(totp_secrets::id)
            .first(conn)?;
        Ok(id)
    })
}

/// Take `step` of the secret row `secret_id`: true only for the first caller with a step
/// later than every step taken before, so a code works once even across instances.
pub fn take_step(conn: &mut DbConn, secret_id: i64, step: i64) -> QueryResult<bool> {
    let taken = diesel::update(
        totp_secrets::table.filter(totp_secrets::id.eq(secret_id)).filter(totp_secrets::last_step.lt(step)),
    )
    .set(totp_secrets::last_step.eq(step))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Turn the pending secret `pending_id` (whose code of `step` was just accepted) into the
/// account's confirmed secret, replacing the old one, with fresh recovery codes. Runs inside
/// the caller's transaction; when the pending secret is gone (replaced by another enrolment
/// page, or confirmed by a simultaneous request) it fails with `RollbackTransaction`, so the
/// old secret's deletion is undone with everything else.
pub fn confirm(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    pending_id: i64,
    step: i64,
    recovery: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    crate::db::lock_for_transaction(conn, LOCK_KEY_BASE.wrapping_add(account_id))?;
    let old: Vec<i64> = totp_secrets::table
        .filter(totp_secrets::account_id.eq(account_id))
        .filter(totp_secrets::confirmed.eq(true))
        .select(totp_secrets::id)
        .load(conn)?;
    diesel::delete(totp_secrets::table.filter(totp_secrets::id.eq_any(&old))).execute(conn)?;
    let confirmed = diesel::update(
        totp_secrets::table
            .filter(totp_secrets::id.eq(pending_id))
            .filter(totp_secrets::account_id.eq(account_id))
            .filter(totp_secrets::confirmed.eq(false)),
    )
    .set((totp_secrets::confirmed.eq(true), totp_secrets::confirmed_at.eq(now), totp_secrets::last_step.eq(step)))
    .execute(conn)?;
    if confirmed != 1 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    replace_recovery_codes(conn, keys, account_id, recovery, now)?;
    Ok(())
}

/// The account's recovery codes become `codes` (the old ones stop working).
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    codes: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    // One row at a time: the two-backend connection has no batch insert, and there are ten.
    for code in codes.iter().filter_map(|code| super::normalise_recovery_code(code)) {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::account_id.eq(account_id),
                recovery_codes::code_hash.eq(keys.recovery_hash(&code)),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spend the recovery code `normalised`: true only for the first use of a live code.
pub fn spend_recovery_code(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    normalised: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let spent = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(account_id))
            .filter(recovery_codes::code_hash.eq(keys.recovery_hash(normalised)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(spent == 1)
}

/// Remove the account's second factor entirely (secrets and recovery codes); the number of
/// secrets removed (0 when it had none).
pub fn remove(conn: &mut DbConn, account_id: i64) -> QueryResult<usize> {
    let removed = diesel::delete(
        totp_secrets::table.filter(totp_secrets::account_id.eq(account_id)).filter(totp_secrets::confirmed.eq(true)),
    )
    .execute(conn)?;
    diesel::delete(totp_secrets::table.filter(totp_secrets::account_id.eq(account_id))).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    Ok(removed)
}

/// Whether, and why, the account must have a second factor (see `super::requirement`).
pub fn requirement(
    conn: &mut DbConn,
    account_id: i64,
    is_platform_admin: bool,
    require_admin_2fa: bool,
) -> QueryResult<Option<Requirement>> {
    let strict: Vec<String> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(
            memberships::status
                .eq_any([MembershipStatus::Active.as_str(), MembershipStatus::AwaitingValidation.as_str()]),
        )
        .filter(memberships::no_second_factor.eq(false))
        .order((organizations::name_key.asc(), organizations::id.asc()))
        .select(organizations::name)
        .load(conn)?;
    Ok(super::requirement(strict, is_platform_admin, require_admin_2fa))
}

impl From<SecretError> for crate::error::AppError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Database(e) => e.into(),
            SecretError::Sealed { account_id, source } => {
                crate::error::AppError::SecondFactorUnreadable(format!("account {account_id}: {source}"))
            }
        }
    }
}
