//! Row ids as their own types, so an organization id cannot be passed where an account id is
//! expected. They cross the database boundary as `BIGINT` in both directions: `.eq(org_id)` in a
//! filter, and `OrgId` as a field of a `Queryable` row.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::dsl::AsExprOf;
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Nullable};
use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Path segments: anything but a decimal `i64` is not a row of ours.
        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl AsExpression<BigInt> for $name {
            type Expression = AsExprOf<i64, BigInt>;
            fn as_expression(self) -> Self::Expression {
                <i64 as AsExpression<BigInt>>::as_expression(self.0)
            }
        }

        impl AsExpression<Nullable<BigInt>> for $name {
            type Expression = AsExprOf<i64, Nullable<BigInt>>;
            fn as_expression(self) -> Self::Expression {
                <i64 as AsExpression<Nullable<BigInt>>>::as_expression(self.0)
            }
        }

        impl<DB> Queryable<BigInt, DB> for $name
        where
            DB: Backend,
            i64: FromSql<BigInt, DB>,
        {
            type Row = i64;
            fn build(id: i64) -> deserialize::Result<Self> {
                Ok(Self(id))
            }
        }

        /// Nullable columns (`memberships.plan_id`, `invitations.organization_id`) read and
        /// write `Option<Self>` through these, as diesel does for `Option<i64>`.
        impl<DB> FromSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map(Self)
            }
        }

        impl<DB> ToSql<BigInt, DB> for $name
        where
            DB: Backend,
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.to_sql(out)
            }
        }
    };
}

row_id!(
    /// `organizations.id`.
    OrgId
);
row_id!(
    /// `accounts.id`.
    AccountId
);
row_id!(
    /// `plans.id`.
    PlanId
);
