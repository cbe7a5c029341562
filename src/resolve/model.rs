//! The fitted scoring model. Regenerate with
//! `cargo test --test tests resolution::model_is_fitted -- --nocapture`,
//! which refits it on the development halves of the labelled sets and
//! prints this block when it has changed (see [`super::fit`]).

use super::score::Model;

/// Coefficients in the order of [`super::score::FEATURE_NAMES`].
pub const MODEL: Model = Model {
    coefficients: [
        1.9282,  // query_covered
        1.8625,  // name_covered
        -1.3949, // query_extra
        -2.0030, // name_extra
        -0.4394, // query_extra_bracketed
        -1.0361, // name_extra_bracketed
        -0.6284, // typo_loss
        0.1796,  // reordered
        1.7870,  // all_words
        0.6165,  // same_as
        0.4050,  // exact
        -0.7114, // previous_name
        0.1590,  // town_in_address
        2.1676,  // postcode_full
        1.3769,  // postcode_sector
        0.7673,  // postcode_district
        -0.7225, // postcode_area
        -4.7690, // postcode_other_area
        -2.6059, // status_conflict
        0.0044,  // insolvent
        -0.0291, // legal_form_conflict
        0.0000,  // jurisdiction_conflict
        -0.9221, // typos_beyond_the_best
        0.3085,  // agreement_below_the_best
        -1.5543, // query_extra_beyond_the_best
        0.6673,  // name_extra_beyond_the_best
    ],
    none: 0.6326,
    threshold: 0.65,
};
