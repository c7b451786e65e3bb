use super::*;

fn fact() -> Fact<'static> {
    Fact {
        business_number: "+4915100000000",
        user: "+919800000000",
        kind: "template",
        side: Side::Api,
        direction: Direction::Outbound,
        template_category: Some(TemplateCategory::Utility),
        at_ms: 1_754_006_400_000,
        local_day: 20_301,
        regime: Regime {
            id: 0,
            model: PricingModel::Conversation,
            service_charged: true,
            utility_in_window_charged: false,
            free_allowance: 1_000,
        },
        recipient_country: "IN",
        recipient_market: "India",
        status: Status { csw_open: true, history: true, ..Status::default() },
        open_conversations: Conversations::UTILITY | Conversations::SERVICE,
        features: Features::EDIT | Features::MM_LITE,
        allowance_used: 7,
    }
}

/// A row with every column missing: what each field falls back to.
fn fallback() -> Fact<'static> {
    Fact {
        business_number: "",
        user: "",
        kind: "",
        side: Side::Api,
        direction: Direction::Outbound,
        template_category: Some(TemplateCategory::Marketing),
        at_ms: 0,
        local_day: 0,
        regime: UNKNOWN_REGIME,
        recipient_country: "",
        recipient_market: "",
        status: Status::default(),
        open_conversations: Conversations::empty(),
        features: Features::empty(),
        allowance_used: 0,
    }
}

#[test]
fn rows_round_trip_through_the_columns() {
    let mut second = fact();
    second.side = Side::App;
    second.direction = Direction::Inbound;
    second.template_category = None;
    second.user = "+12125550100";
    second.regime = UNKNOWN_REGIME;
    second.status = Status { fep_open: true, auth_intl_eligible: true, coexistence: true, ..Status::default() };
    second.features = Features::all();
    second.local_day = -3;
    second.at_ms = i64::MIN;
    let batch = OwnedBatch::of("1000", "DE", [fact(), second, fact()]);
    let columns = batch.columns();
    assert_eq!((columns.waba, columns.business_country, columns.len()), ("1000", "DE", 3));
    assert_eq!(columns.rows().collect::<Vec<_>>(), [fact(), second, fact()]);
    // Strings and regimes are interned: each once.
    assert_eq!(columns.symbols.len(), 6);
    assert_eq!(batch.regimes.len(), 1);
    assert_eq!(batch.regime[1], u32::MAX, "the unknown regime travels as a bad index");
}

#[test]
fn wire_codes_follow_the_wit_order() {
    assert_eq!(Side::ALL, [Side::App, Side::Api]);
    assert_eq!(Direction::ALL, [Direction::Inbound, Direction::Outbound]);
    for (code, &case) in (0..).zip(BilledCategory::ALL) {
        assert_eq!((case.code(), BilledCategory::from_code(code)), (code, Some(case)));
    }
    assert_eq!(BilledCategory::from_code(6), None);
    assert_eq!(PricingType::ALL.len(), 6);
    assert_eq!(PricingType::from_code(5), Some(PricingType::FreeAllowance));
    assert_eq!(Action::from_code(2), Some(Action::Block));
    assert_eq!(PricingModel::from_code(1), Some(PricingModel::PerMessage));
    for category in [None, Some(TemplateCategory::Marketing), Some(TemplateCategory::Authentication)] {
        assert_eq!(TemplateCategory::decode(TemplateCategory::encode(category)), category);
    }
    assert_eq!(TemplateCategory::encode(Some(TemplateCategory::Utility)), 2);
    assert_eq!(Features::MM_LITE.bits(), 0x80);
    assert_eq!(Conversations::SERVICE.bits(), 0x10);
    assert_eq!(Status::from_bits(Status::HISTORY), Status { history: true, ..Status::default() });
    for bits in 0..=0x1F {
        assert_eq!(Status::from_bits(bits).bits(), bits);
    }
}

#[test]
fn unknown_codes_read_as_the_documented_fallbacks() {
    for code in [2, 3, 0x7F, u8::MAX] {
        assert_eq!(Side::decode(code), Side::Api, "{code}");
        assert_eq!(Direction::decode(code), Direction::Outbound, "{code}");
    }
    assert_eq!(Side::decode(0), Side::App);
    assert_eq!(Direction::decode(0), Direction::Inbound);
    for code in [4, 5, u8::MAX] {
        assert_eq!(TemplateCategory::decode(code), Some(TemplateCategory::Marketing), "{code}");
    }
    assert_eq!(Status::from_bits(0xE0), Status::default(), "undefined status bits are dropped");
    assert_eq!(Status::from_bits(0xFF).bits(), 0x1F);
    assert_eq!(Conversations::from_bits_truncate(0xE0), Conversations::empty());
    assert_eq!(Features::from_bits_truncate(0xFF), Features::all());

    let mut batch = OwnedBatch::of("1000", "DE", [fact()]);
    batch.side[0] = 9;
    batch.direction[0] = 9;
    batch.template_category[0] = 9;
    batch.status[0] = 0xFF;
    batch.open_conversations[0] = 0xFF;
    let row = batch.columns().row(0);
    assert_eq!((row.side, row.direction), (Side::Api, Direction::Outbound));
    assert_eq!(row.template_category, Some(TemplateCategory::Marketing));
    assert_eq!(row.status.bits(), 0x1F);
    assert_eq!(row.open_conversations, Conversations::all());
}

#[test]
fn symbols_resolve_and_never_panic() {
    let symbols = Symbols::new("INIndiaé", &[0, 2, 7, 9]);
    assert_eq!([0, 1, 2, 3].map(|s| symbols.get(s)), ["", "IN", "India", "é"]);
    for out_of_range in [4, 5, 1_000, Symbol::MAX] {
        assert_eq!(symbols.get(out_of_range), "", "{out_of_range}");
    }
    assert_eq!(Symbols::default().get(0), "");
    // Ranges past the text, backwards, or splitting a character read as "".
    let bad = Symbols::new("abcé", &[2, 1, 9, 4, 5]);
    assert_eq!([0, 1, 2, 3, 4].map(|s| bad.get(s)), ["ab", "", "", "", ""]);
    assert_eq!(Symbols::new("abc", &[u32::MAX]).get(0), "");

    let mut batch = OwnedBatch::of("1000", "DE", [fact()]);
    batch.user[0] = 99;
    batch.recipient_country[0] = Symbol::MAX;
    let row = batch.columns().row(0);
    assert_eq!((row.user, row.recipient_country, row.recipient_market), ("", "", "India"));
}

#[test]
fn regimes_resolve_and_an_unknown_one_charges_nothing_extra() {
    let mut batch = OwnedBatch::of("1000", "DE", [fact(), fact(), fact()]);
    let known = fact().regime;
    assert_eq!(batch.columns().regime(0), known);
    batch.regime[1] = 1;
    batch.regime[2] = u32::MAX;
    let regimes: Vec<Regime> = batch.columns().rows().map(|row| row.regime).collect();
    assert_eq!(regimes, [known, UNKNOWN_REGIME, UNKNOWN_REGIME]);
    let unknown = (UNKNOWN_REGIME.model, UNKNOWN_REGIME.service_charged, UNKNOWN_REGIME.utility_in_window_charged);
    assert_eq!(unknown, (PricingModel::PerMessage, false, false));
    assert_eq!((UNKNOWN_REGIME.free_allowance, batch.columns().symbol(UNKNOWN_REGIME.id)), (0, ""));
    assert_eq!(Columns::default().regime(0), UNKNOWN_REGIME);
}

#[test]
fn ragged_columns_read_missing_values_as_the_fallbacks() {
    assert_eq!(Columns::default().len(), 0);
    assert!(Columns::default().is_empty());

    let inbound_app = Fact { side: Side::App, direction: Direction::Inbound, template_category: None, ..fact() };
    let mut batch = OwnedBatch::of("1000", "DE", [inbound_app, inbound_app]);
    batch.allowance_used.push(5); // the longest column: three messages
    batch.features.truncate(1);
    batch.side.clear();
    batch.direction.truncate(1);
    batch.template_category.truncate(1);
    let columns = batch.columns();
    assert_eq!(columns.len(), 3);
    let rows: Vec<Fact> = columns.rows().collect();
    assert_eq!(rows[0], Fact { side: Side::Api, ..inbound_app });
    let marketing = Some(TemplateCategory::Marketing);
    let second =
        Fact { direction: Direction::Outbound, template_category: marketing, features: Features::empty(), ..rows[0] };
    assert_eq!(rows[1], second);
    assert_eq!(rows[2], Fact { allowance_used: 5, ..fallback() });
    // Far past every column: the fallbacks, no panic.
    assert_eq!(columns.row(usize::MAX), fallback());

    // Every column empty but one.
    let only_days = OwnedBatch { local_day: vec![1, 2], ..OwnedBatch::default() };
    let rows: Vec<Fact> = only_days.columns().rows().collect();
    assert_eq!(rows, [Fact { local_day: 1, ..fallback() }, Fact { local_day: 2, ..fallback() }]);
}

fn violation(message: u32, code: &str) -> Violation {
    Violation { message, code: code.to_owned(), feature: "f".to_owned(), text: "t.".to_owned(), action: Action::Flag }
}

fn note(message: u32, text: &str) -> Note {
    Note { message, text: text.to_owned() }
}

#[test]
fn the_builder_resizes_so_far_and_keeps_its_violations_and_notes() {
    for (given, n) in [(0, 3), (2, 3), (3, 3), (5, 3), (2, 0)] {
        let mut so_far = Decisions::blank(given);
        so_far.billable.fill(1);
        so_far.category.fill(BilledCategory::Utility.code());
        so_far.pricing_type.fill(PricingType::Regular.code());
        so_far.violations = (0..5).map(|m| violation(m, "earlier")).collect();
        so_far.notes = (0..5).map(|m| note(m, "earlier")).collect();
        let out = DecisionsBuilder::new(so_far, n).finish();
        assert_eq!((out.billable.len(), out.category.len(), out.pricing_type.len()), (n, n, n), "{given}");
        for i in 0..n {
            let kept = i < given;
            assert_eq!(out.is_billable(i), kept, "{given}: {i}");
            let category = if kept { BilledCategory::Utility } else { BilledCategory::None };
            let pricing = if kept { PricingType::Regular } else { PricingType::NotBillable };
            assert_eq!((out.category_of(i), out.pricing_type_of(i)), (Some(category), Some(pricing)), "{given}: {i}");
        }
        // Violations and notes of the batch's messages are kept; those past it are dropped.
        assert_eq!(out.violations.len(), n, "{given}");
        assert_eq!(out.notes.len(), n, "{given}");
    }
}

#[test]
fn the_builder_sets_rows_appends_violations_and_replaces_notes() {
    let mut so_far = Decisions::blank(4);
    so_far.violations = vec![violation(1, "earlier")];
    so_far.notes = vec![note(2, "stale"), note(1, "first"), note(1, "second"), note(3, "kept")];
    let mut out = DecisionsBuilder::new(so_far, 4);
    out.set(0, true, BilledCategory::Marketing, PricingType::Regular);
    out.set(1, true, BilledCategory::Service, PricingType::Regular);
    out.set_billing(1, false, PricingType::NotBillable);
    out.violation(1, "mine", "feature", "Why.", Action::Block);
    out.violation(0, "mine", "feature", "Why.", Action::Allow);
    out.note(1, "replaced");
    out.clear_note(2);
    out.note(0, "new");
    out.note(0, "newer");
    out.clear_note(3);
    out.clear_note(3);
    // Rows past the batch are ignored.
    out.set(4, true, BilledCategory::Marketing, PricingType::Regular);
    out.violation(4, "mine", "feature", "Why.", Action::Block);
    out.note(9, "nowhere");
    out.clear_note(usize::MAX);
    assert_eq!(out.len(), 4);
    let out = out.finish();
    assert_eq!(out.billable, [1, 0, 0, 0]);
    assert_eq!(out.category_of(1), Some(BilledCategory::Service), "set_billing keeps the category");
    assert_eq!(out.pricing_type_of(1), Some(PricingType::NotBillable));
    let codes = |i| out.violations_of(i).map(|v| v.code.as_str()).collect::<Vec<_>>();
    assert_eq!([codes(0), codes(1), codes(2)], [vec!["mine"], vec!["earlier", "mine"], vec![]]);
    assert_eq!([0, 1, 2, 3].map(|i| out.note_of(i)), [Some("newer"), Some("replaced"), None, None]);
    assert_eq!(out.notes.len(), 2, "one note per message at most: {:?}", out.notes);
}

#[test]
fn a_builder_without_notes_so_far_never_indexes_for_clearing() {
    let mut out = DecisionsBuilder::new(Decisions::default(), 3);
    for i in 0..3 {
        out.clear_note(i);
    }
    assert!(out.decisions().notes.is_empty());
    out.note(2, "only");
    out.clear_note(0);
    let out = out.finish();
    assert_eq!(out.notes, [note(2, "only")]);
}
