//! The names of the contract's enums as settings, golden cases and logs spell
//! them (the WIT case names in snake_case), and their serde support, so that a
//! plugin's settings can hold an [`Action`] or a [`BilledCategory`] directly.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::{Action, BilledCategory, PricingType};

/// Names the cases of a contract enum; adds `name`, `from_name`, `Display`,
/// `Serialize` and `Deserialize` (by name).
macro_rules! named_enum {
    ($name:ident { $($case:ident = $text:literal,)+ }) => {
        impl $name {
            /// Every case's name, in WIT order.
            pub const NAMES: &'static [&'static str] = &[$($text,)+];

            /// The case's name, as settings and golden cases spell it (snake_case).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$case => $text,)+
                }
            }

            /// The case named `name` (snake_case, as [`Self::name`] spells it); `None` for any other text.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$case),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: de::Error>(self, name: &str) -> Result<$name, E> {
                        $name::from_name(name).ok_or_else(|| E::unknown_variant(name, $name::NAMES))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

named_enum! {
    Action { Allow = "allow", Flag = "flag", Block = "block", }
}

named_enum! {
    BilledCategory {
        None = "none",
        Marketing = "marketing",
        Utility = "utility",
        Authentication = "authentication",
        AuthenticationInternational = "authentication_international",
        Service = "service",
    }
}

named_enum! {
    PricingType {
        NotBillable = "not_billable",
        Regular = "regular",
        FreeCustomerService = "free_customer_service",
        FreeEntryPoint = "free_entry_point",
        FreeAppSide = "free_app_side",
        FreeAllowance = "free_allowance",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_wit_order() {
        for &action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        for (&category, &name) in BilledCategory::ALL.iter().zip(BilledCategory::NAMES) {
            assert_eq!((category.name(), BilledCategory::from_name(name)), (name, Some(category)));
        }
        for (&pricing, &name) in PricingType::ALL.iter().zip(PricingType::NAMES) {
            assert_eq!((pricing.name(), PricingType::from_name(name)), (name, Some(pricing)));
        }
        assert_eq!(Action::from_name("Flag"), None, "names are case-sensitive");
        assert_eq!(PricingType::FreeEntryPoint.to_string(), "free_entry_point");
    }

    #[test]
    fn serde_reads_and_writes_the_names() {
        let action: Action = serde_json::from_str(r#""block""#).unwrap();
        assert_eq!(action, Action::Block);
        assert_eq!(
            serde_json::to_string(&BilledCategory::AuthenticationInternational).unwrap(),
            r#""authentication_international""#
        );
        let err = serde_json::from_str::<Action>(r#""warn""#).unwrap_err().to_string();
        assert!(err.contains("unknown variant `warn`, expected one of `allow`, `flag`, `block`"), "{err}");
        assert!(serde_json::from_str::<Action>("1").is_err());
    }
}
