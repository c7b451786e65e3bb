//! Who a user is, across identifiers. Windows belong to the user, not to one
//! identifier: an event that carries both a phone number and a BSUID links
//! them, so a later event that carries only one finds the same windows.

use rustc_hash::FxHashMap as HashMap;

use crate::phone::{Bsuid, PhoneNumber, UserRef};

/// A user within one WABA.
pub type UserKey = u32;

/// Maps identifiers to users, merging users when an event links two of them.
#[derive(Debug, Default, Clone)]
pub struct IdentityDirectory {
    phones: HashMap<PhoneNumber, UserKey>,
    bsuids: HashMap<Bsuid, UserKey>,
    next: UserKey,
}

/// The identifiers learned since a point, to forget them again: cheaper
/// than a copy of the directory when only new users arrived.
#[derive(Debug, Clone, Default)]
pub struct IdentityUndo {
    next: UserKey,
    phones: Vec<PhoneNumber>,
    bsuids: Vec<Bsuid>,
}

/// The outcome of resolving an identifier pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub user: UserKey,
    /// When the event linked two users that were apart until now: the user
    /// that was folded into `user`.
    pub merged_from: Option<UserKey>,
}

impl IdentityDirectory {
    /// How many identifiers (phone numbers and BSUIDs) it knows.
    pub fn len(&self) -> usize {
        self.phones.len() + self.bsuids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.phones.is_empty() && self.bsuids.is_empty()
    }

    /// Whether [`IdentityDirectory::resolve`] would learn or merge anything.
    pub fn would_change(&self, user: &UserRef) -> bool {
        let by_phone = user.phone.as_ref().map(|p| self.phones.get(p).copied());
        let by_bsuid = user.bsuid.as_ref().map(|b| self.bsuids.get(b).copied());
        match (by_phone, by_bsuid) {
            (Some(None), _) | (_, Some(None)) | (None, None) => true,
            (Some(Some(p)), Some(Some(b))) => p != b,
            _ => false,
        }
    }

    /// Whether resolving `user` would fold two known users into one.
    pub fn would_merge(&self, user: &UserRef) -> bool {
        let by_phone = user.phone.as_ref().and_then(|p| self.phones.get(p));
        let by_bsuid = user.bsuid.as_ref().and_then(|b| self.bsuids.get(b));
        matches!((by_phone, by_bsuid), (Some(p), Some(b)) if p != b)
    }

    /// Where an undo of learned identifiers starts: nothing learned yet.
    pub fn undo_point(&self) -> IdentityUndo {
        IdentityUndo { next: self.next, phones: Vec::new(), bsuids: Vec::new() }
    }

    /// Before resolving `user` (not a merge): notes the identifiers it will learn.
    pub fn note_learned(&self, user: &UserRef, undo: &mut IdentityUndo) {
        if let Some(p) = user.phone.as_ref().filter(|p| !self.phones.contains_key(*p)) {
            undo.phones.push(p.clone());
        }
        if let Some(b) = user.bsuid.as_ref().filter(|b| !self.bsuids.contains_key(*b)) {
            undo.bsuids.push(b.clone());
        }
    }

    /// Forgets what was learned since `undo` started.
    pub fn undo(&mut self, undo: IdentityUndo) {
        for p in &undo.phones {
            self.phones.remove(p);
        }
        for b in &undo.bsuids {
            self.bsuids.remove(b);
        }
        self.next = undo.next;
    }

    /// The user behind `user`, creating or linking as needed.
    pub fn resolve(&mut self, user: &UserRef) -> Resolved {
        let by_phone = user.phone.as_ref().and_then(|p| self.phones.get(p).copied());
        let by_bsuid = user.bsuid.as_ref().and_then(|b| self.bsuids.get(b).copied());
        let (key, merged_from) = match (by_phone, by_bsuid) {
            (Some(p), Some(b)) if p != b => {
                // Fold the BSUID's user into the phone's user.
                for v in self.bsuids.values_mut().chain(self.phones.values_mut()) {
                    if *v == b {
                        *v = p;
                    }
                }
                (p, Some(b))
            }
            (Some(k), _) | (None, Some(k)) => (k, None),
            (None, None) => {
                let k = self.next;
                self.next += 1;
                (k, None)
            }
        };
        if let (Some(p), None) = (&user.phone, by_phone) {
            self.phones.insert(p.clone(), key);
        }
        if let (Some(b), None) = (&user.bsuid, by_bsuid) {
            self.bsuids.insert(b.clone(), key);
        }
        Resolved { user: key, merged_from }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::parse_user;

    #[test]
    fn linking_and_merging() {
        let mut d = IdentityDirectory::default();
        let phone = parse_user("+6281234567890").unwrap();
        let bsuid = parse_user("ID.8812").unwrap();
        let a = d.resolve(&phone).user;
        let b = d.resolve(&bsuid).user;
        assert_ne!(a, b);
        let both = UserRef { phone: phone.phone.clone(), bsuid: bsuid.bsuid.clone() };
        let r = d.resolve(&both);
        assert_eq!(r, Resolved { user: a, merged_from: Some(b) });
        assert_eq!(d.resolve(&bsuid).user, a);
        assert_eq!(d.resolve(&phone).user, a);
    }
}
