//! The fitted scoring model. Regenerate with
//! `cargo test --test tests resolution::model_is_fitted -- --nocapture`,
//! which refits it on the development halves of the labelled sets and
//! prints this block when it has changed (see [`super::fit`]).

use super::score::Model;

/// Coefficients in the order of [`super::score::FEATURE_NAMES`].
pub const MODEL: Model = Model {
    coefficients: [
        4.5597,   // query_covered
        5.4285,   // name_covered
        -2.1097,  // query_extra
        -2.4735,  // name_extra
        -0.9599,  // query_extra_bracketed
        -2.5681,  // name_extra_bracketed
        -1.2963,  // typo_loss
        0.1773,   // reordered
        3.1879,   // all_words
        1.2067,   // same_as
        0.7650,   // exact
        -2.4205,  // previous_name
        0.2668,   // town_in_address
        4.1969,   // postcode_full
        2.3608,   // postcode_sector
        1.7200,   // postcode_district
        -0.9434,  // postcode_area
        -10.0002, // postcode_other_area
        -4.2554,  // status_conflict
        0.0013,   // insolvent
        0.2232,   // legal_form_conflict
        0.0000,   // jurisdiction_conflict
        -2.2810,  // typos_beyond_the_best
        2.0972,   // agreement_below_the_best
        -3.1029,  // query_extra_beyond_the_best
        1.3055,   // name_extra_beyond_the_best
    ],
    none: [
        10.7053, // constant
        -2.8977, // query_weight
        0.5425,  // query_has_distinctive
    ],
    threshold: 0.65,
};
