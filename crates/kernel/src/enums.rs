//! Closed sets of values: one Rust enum per set, used by the domain, the database and the API.
//!
//! [`string_enum!`](crate::string_enum) declares an enum whose values travel as
//! SCREAMING_SNAKE strings: serde, `Display`/`FromStr`, `TryFrom<String>` (so a diesel row reads
//! a `TEXT` column straight into it with `#[diesel(deserialize_as = String)]`) and an OpenAPI
//! schema that is an `enum` of every value, so a generated client knows the closed set.

/// A string that names no value of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

/// Declares a closed set of SCREAMING_SNAKE string values (see the [module docs](crate::enums)).
///
/// ```ignore
/// guild_kernel::string_enum!(
///     /// Where a module is in its life.
///     ModuleStatus {
///         /// Being written.
///         Draft => "DRAFT",
///         /// Visible to learners.
///         Published => "PUBLISHED",
///     }
/// );
/// ```
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The SCREAMING_SNAKE name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::enums::UnknownValue;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::enums::UnknownValue(s.to_owned())),
                }
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::enums::UnknownValue;
            fn try_from(s: String) -> ::std::result::Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl $crate::enums::__utoipa::PartialSchema for $name {
            fn schema() -> $crate::enums::__utoipa::openapi::RefOr<$crate::enums::__utoipa::openapi::schema::Schema> {
                use $crate::enums::__utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl $crate::enums::__utoipa::ToSchema for $name {}
    };
}

#[doc(hidden)]
pub use utoipa as __utoipa;

#[cfg(test)]
#[expect(
    unreachable_pub,
    dead_code,
    reason = "the macro declares a public API; this test set is private"
)]
mod tests {
    crate::string_enum!(
        /// A test set.
        Colour {
            /// Red.
            Red => "RED",
            /// Dark blue.
            DarkBlue => "DARK_BLUE",
        }
    );

    #[test]
    fn values_round_trip_and_the_schema_lists_them() {
        assert_eq!(Colour::DarkBlue.as_str(), "DARK_BLUE");
        assert_eq!("RED".parse::<Colour>(), Ok(Colour::Red));
        assert!(Colour::try_from("red".to_owned()).is_err());
        let json =
            serde_json::to_value(<Colour as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(json["enum"], serde_json::json!(["RED", "DARK_BLUE"]));
        assert_eq!(json["type"], "string");
        assert_eq!(<Colour as utoipa::ToSchema>::name(), "Colour");
    }
}
