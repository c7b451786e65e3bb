//! [`Decision`]: one message's decision so far, as [`Policy::decide`](crate::Policy::decide)
//! amends it, with the helpers that make it free or billed, and the
//! [`ViolationBuilder`].

use crate::{Action, BilledCategory, DecisionsBuilder, PricingType, Violation};

/// The decision so far for one message of a batch: a handle over the batch's
/// [`DecisionsBuilder`], for one row.
///
/// Reads see the decision as earlier plugins (and this one, so far) left it;
/// writes amend it. Nothing here panics, whatever the host sent.
#[derive(Debug)]
pub struct Decision<'a> {
    out: &'a mut DecisionsBuilder,
    row: usize,
    waba: &'a str,
    business_country: &'a str,
}

impl<'a> Decision<'a> {
    /// The decision of message `row` in `out`, for a batch of `waba` whose
    /// business is in `business_country` (ISO 3166 alpha-2).
    pub fn new(out: &'a mut DecisionsBuilder, row: usize, waba: &'a str, business_country: &'a str) -> Self {
        Decision { out, row, waba, business_country }
    }

    /// The message's row in the batch.
    pub fn row(&self) -> usize {
        self.row
    }

    /// The WABA the batch belongs to.
    pub fn waba(&self) -> &'a str {
        self.waba
    }

    /// ISO 3166 alpha-2 of the business's primary location.
    pub fn business_country(&self) -> &'a str {
        self.business_country
    }

    /// Whether the message is billable so far.
    pub fn is_billable(&self) -> bool {
        self.out.decisions().is_billable(self.row)
    }

    /// The billed category so far; an unknown code reads as [`BilledCategory::None`].
    pub fn category(&self) -> BilledCategory {
        self.out.decisions().category_of(self.row).unwrap_or(BilledCategory::None)
    }

    /// The pricing type so far; an unknown code reads as [`PricingType::Regular`]
    /// when the message is billable and [`PricingType::NotBillable`] when it is not.
    pub fn pricing_type(&self) -> PricingType {
        self.out.decisions().pricing_type_of(self.row).unwrap_or(if self.is_billable() {
            PricingType::Regular
        } else {
            PricingType::NotBillable
        })
    }

    /// The violations so far, earlier plugins' first, in order.
    pub fn violations(&self) -> impl Iterator<Item = &Violation> {
        self.out.decisions().violations_of(self.row)
    }

    /// Whether some violation so far has `code`.
    pub fn has_violation(&self, code: &str) -> bool {
        self.violations().any(|v| v.code == code)
    }

    /// Whether some violation so far blocks the message ([`Action::Block`]).
    pub fn is_blocked(&self) -> bool {
        self.violations().any(|v| v.action == Action::Block)
    }

    /// Sets the three billing columns at once.
    pub fn set(&mut self, billable: bool, category: BilledCategory, pricing_type: PricingType) {
        self.out.set(self.row, billable, category, pricing_type);
    }

    /// Bills the message in `category` at the regular rate (billable, [`PricingType::Regular`]).
    pub fn bill(&mut self, category: BilledCategory) {
        self.set(true, category, PricingType::Regular);
    }

    /// Makes the message free: not billable, priced as `pricing_type` (one of
    /// the free ones: [`PricingType::NotBillable`], [`PricingType::FreeCustomerService`],
    /// ...), its category kept; `reason` becomes its note.
    pub fn make_free(&mut self, pricing_type: PricingType, reason: &str) {
        self.out.set_billing(self.row, false, pricing_type);
        self.note(reason);
    }

    /// Makes the message not billable ([`PricingType::NotBillable`]), its
    /// category and note kept: for a message that is not sent at all.
    pub fn make_not_billable(&mut self) {
        self.out.set_billing(self.row, false, PricingType::NotBillable);
    }

    /// Gives the message the note `text`, replacing the note it had.
    pub fn note(&mut self, text: &str) {
        self.out.note(self.row, text);
    }

    /// Removes the message's note, if it has one.
    pub fn clear_note(&mut self) {
        self.out.clear_note(self.row);
    }

    /// Starts a violation of the rule `code` (stable, snake_case, namespaced:
    /// `acme.marketing_opted_out`). It is recorded when the builder is finished
    /// with its action: [`ViolationBuilder::flag`], [`ViolationBuilder::block`],
    /// [`ViolationBuilder::allow`] or [`ViolationBuilder::action`].
    ///
    /// ```
    /// # use coexist_plugin_sdk::{Decision, DecisionsBuilder, Decisions, Action};
    /// # let mut out = DecisionsBuilder::new(Decisions::blank(1), 1);
    /// # let mut decision = Decision::new(&mut out, 0, "1000", "BR");
    /// decision
    ///     .violation("acme.marketing_opted_out")
    ///     .feature("marketing")
    ///     .text("The customer opted out of marketing.")
    ///     .flag();
    /// assert!(decision.has_violation("acme.marketing_opted_out"));
    /// ```
    pub fn violation<'d>(&'d mut self, code: &'d str) -> ViolationBuilder<'d> {
        ViolationBuilder { out: self.out, row: self.row, code, feature: "", text: "" }
    }
}

/// A violation being written, started by [`Decision::violation`]. Nothing is
/// recorded until an action finishes it; `feature` and `text` default to "".
#[derive(Debug)]
#[must_use = "a violation is recorded only when finished with .flag(), .block(), .allow() or .action()"]
pub struct ViolationBuilder<'d> {
    out: &'d mut DecisionsBuilder,
    row: usize,
    code: &'d str,
    feature: &'d str,
    text: &'d str,
}

impl<'d> ViolationBuilder<'d> {
    /// The feature or area the rule is about, e.g. `marketing`, `edit`.
    pub fn feature(mut self, feature: &'d str) -> Self {
        self.feature = feature;
        self
    }

    /// A sentence that says why, for the CRM's operator.
    pub fn text(mut self, text: &'d str) -> Self {
        self.text = text;
        self
    }

    /// Records the violation with `action`.
    pub fn action(self, action: Action) {
        self.out.violation(self.row, self.code, self.feature, self.text, action);
    }

    /// Records the violation as [`Action::Flag`]: send, but tell the operator.
    pub fn flag(self) {
        self.action(Action::Flag);
    }

    /// Records the violation as [`Action::Block`]: do not send. It does not
    /// change the billing; a blocked API send is usually also
    /// [`Decision::make_not_billable`].
    pub fn block(self) {
        self.action(Action::Block);
    }

    /// Records the violation as [`Action::Allow`]: for the record only.
    pub fn allow(self) {
        self.action(Action::Allow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decisions;

    fn billed_marketing() -> Decisions {
        Decisions {
            billable: vec![1, 1],
            category: vec![BilledCategory::Marketing.code(); 2],
            pricing_type: vec![PricingType::Regular.code(); 2],
            violations: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn reads_see_the_decision_so_far() {
        let mut out = DecisionsBuilder::new(billed_marketing(), 2);
        let decision = Decision::new(&mut out, 1, "1000", "BR");
        assert_eq!((decision.row(), decision.waba(), decision.business_country()), (1, "1000", "BR"));
        assert!(decision.is_billable());
        assert_eq!((decision.category(), decision.pricing_type()), (BilledCategory::Marketing, PricingType::Regular));
        assert!(!decision.is_blocked());
    }

    #[test]
    fn unknown_codes_read_as_documented() {
        let mut so_far = billed_marketing();
        so_far.category[0] = 99;
        so_far.pricing_type[0] = 99;
        so_far.pricing_type[1] = 99;
        so_far.billable[1] = 0;
        let mut out = DecisionsBuilder::new(so_far, 2);
        let first = Decision::new(&mut out, 0, "", "");
        assert_eq!((first.category(), first.pricing_type()), (BilledCategory::None, PricingType::Regular));
        let second = Decision::new(&mut out, 1, "", "");
        assert_eq!(second.pricing_type(), PricingType::NotBillable);
    }

    #[test]
    fn make_free_keeps_the_category_and_notes_the_reason() {
        let mut out = DecisionsBuilder::new(billed_marketing(), 2);
        let mut decision = Decision::new(&mut out, 0, "", "");
        decision.make_free(PricingType::NotBillable, "internal test number");
        assert!(!decision.is_billable());
        assert_eq!(
            (decision.category(), decision.pricing_type()),
            (BilledCategory::Marketing, PricingType::NotBillable)
        );
        let decisions = out.finish();
        assert_eq!(decisions.note_of(0), Some("internal test number"));
        assert!(decisions.is_billable(1), "other rows are untouched");
        assert_eq!(decisions.note_of(1), None);
    }

    #[test]
    fn bill_set_and_notes() {
        let mut out = DecisionsBuilder::new(Decisions::blank(1), 1);
        let mut decision = Decision::new(&mut out, 0, "", "");
        decision.bill(BilledCategory::Utility);
        assert_eq!((decision.is_billable(), decision.pricing_type()), (true, PricingType::Regular));
        decision.note("first");
        decision.note("second");
        decision.make_not_billable();
        assert_eq!((decision.category(), decision.pricing_type()), (BilledCategory::Utility, PricingType::NotBillable));
        decision.set(false, BilledCategory::Service, PricingType::FreeCustomerService);
        assert_eq!(decision.category(), BilledCategory::Service);
        assert_eq!(out.decisions().note_of(0), Some("second"));
        let mut decision = Decision::new(&mut out, 0, "", "");
        decision.clear_note();
        assert_eq!(out.finish().notes, []);
    }

    #[test]
    fn violations_are_recorded_by_their_action() {
        let mut out = DecisionsBuilder::new(billed_marketing(), 2);
        let mut decision = Decision::new(&mut out, 1, "", "");
        decision.violation("acme.a").feature("marketing").text("why").flag();
        decision.violation("acme.b").block();
        decision.violation("acme.c").allow();
        decision.violation("acme.d").action(Action::Flag);
        assert!(decision.has_violation("acme.b") && decision.is_blocked());
        assert!(!decision.has_violation("acme.e"));
        let text = format!("built {}", 1);
        decision.violation("acme.e").text(&text).flag();
        let decisions = out.finish();
        let found: Vec<_> = decisions.violations.iter().map(|v| (v.message, v.code.as_str(), v.action)).collect();
        assert_eq!(
            found,
            [
                (1, "acme.a", Action::Flag),
                (1, "acme.b", Action::Block),
                (1, "acme.c", Action::Allow),
                (1, "acme.d", Action::Flag),
                (1, "acme.e", Action::Flag)
            ]
        );
        assert_eq!(
            (decisions.violations[0].feature.as_str(), decisions.violations[0].text.as_str()),
            ("marketing", "why")
        );
        assert_eq!((decisions.violations[1].feature.as_str(), decisions.violations[4].text.as_str()), ("", "built 1"));
    }

    #[test]
    fn a_row_past_the_batch_is_ignored() {
        let mut out = DecisionsBuilder::new(Decisions::blank(1), 1);
        let mut decision = Decision::new(&mut out, 5, "", "");
        decision.bill(BilledCategory::Marketing);
        decision.make_free(PricingType::FreeEntryPoint, "x");
        decision.violation("acme.a").block();
        assert!(!decision.is_billable());
        assert_eq!(out.finish(), Decisions::blank(1));
    }
}
