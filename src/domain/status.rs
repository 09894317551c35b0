//! The statuses stored as text, as enums. The database holds the words of the HTTP contract
//! (`invited`, `awaiting_validation`, …); a word we do not know is an error when read, never a
//! silent "Unknown".

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::dsl::AsExprOf;
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// A status word the code does not know: a bug or a database written by something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub word: String,
}

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} status {:?}", self.kind, self.word)
    }
}

impl std::error::Error for UnknownStatus {}

/// Read inside a query, an unknown word fails the query like any other undecodable column.
impl From<UnknownStatus> for diesel::result::Error {
    fn from(unknown: UnknownStatus) -> Self {
        diesel::result::Error::DeserializationError(Box::new(unknown))
    }
}

macro_rules! text_status {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident = $word:literal, $label:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored word, as the HTTP contract spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The word as a person reads it.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            pub fn parse(word: &str) -> Result<Self, UnknownStatus> {
                match word {
                    $($word => Ok($name::$variant),)+
                    other => Err(UnknownStatus { kind: $kind, word: other.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Audit details carry the stored word.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl AsExpression<Text> for $name {
            type Expression = AsExprOf<&'static str, Text>;
            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }

        /// Lists of statuses (`.eq_any(vec![…])`) bind each word.
        impl<DB> ToSql<Text, DB> for $name
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> Queryable<Text, DB> for $name
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            type Row = String;
            fn build(word: String) -> deserialize::Result<Self> {
                Ok(Self::parse(&word)?)
            }
        }
    };
}

text_status!(
    /// `memberships.status`: where a person stands in one organization.
    MembershipStatus, "membership" {
        /// Sent an invitation, not registered yet.
        Invited = "invited", "Invited";
        /// Registered, waiting for a Delegate.
        AwaitingValidation = "awaiting_validation", "Awaiting validation";
        Active = "active", "Active";
        /// Ended; the row stays as history.
        Removed = "removed", "Removed";
    }
);

text_status!(
    /// `accounts.status`: whether the person has registered.
    AccountStatus, "account" {
        Invited = "invited", "Invited";
        Active = "active", "Active";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_and_unknown_words_are_errors() {
        for status in MembershipStatus::ALL {
            assert_eq!(MembershipStatus::parse(status.as_str()), Ok(*status));
        }
        for status in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(status.as_str()), Ok(*status));
        }
        let unknown = MembershipStatus::parse("Active").unwrap_err();
        assert_eq!(unknown.word, "Active");
        assert!(AccountStatus::parse("removed").is_err());
    }
}
