//! Interned names: the strings that millions of results share (markets,
//! countries, regime ids, rate-card ids, tier labels).
//!
//! A [`Name`] is a `&'static str`: copying one is free and, unlike `Arc<str>`,
//! touches no shared reference count, so rating threads never contend on a
//! cache line. The pool only grows when policy data with a new name is loaded,
//! so it stays as small as the policy files.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{LazyLock, Mutex};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

static POOL: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// An interned string.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(&'static str);

impl Name {
    /// Interns `s`. Takes a lock: call it while loading policies, not per message.
    pub fn new(s: &str) -> Name {
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = pool.get(s) {
            return Name(existing);
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        pool.insert(leaked);
        Name(leaked)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Name::new(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_name() {
        let a = Name::new("Indonesia");
        let b = Name::new(&String::from("Indonesia"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(&*a, "Indonesia");
    }
}
