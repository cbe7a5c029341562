//! How the register indexes a company's names and how a query asks for
//! them, in one place so that the two always agree.
//!
//! Each name of a company (its current name and up to ten previous ones) is
//! one *entry*: the company's row id with the name's index above
//! [`NAME_SHIFT`] bits (0 for the current name). An entry is indexed twice:
//! - by its "same as" key ([`same_as_key`]: the registrar's own rule for two
//!   names being the same) in the `name_keys` table, for an exact lookup and
//!   for the names that begin with a query's key;
//! - by its words ([`index_words`]) in the `company_words` FTS5 table, for
//!   the names that hold every word of a query, whatever else they hold.
//!
//! The index's vocabulary, with the number of entries holding each word, is
//! kept beside it as an `fst` map: a query word the register has never seen
//! is replaced by the register's words one edit away (a typo), and a query
//! made only of words that thousands of names share is answered from its
//! key alone.

use std::collections::HashSet;

use crate::company_name::{key_words, same_as_key};

/// Words so common in names that they are left out of the word index (the
/// key keeps them: "Smith & Co" and "Smith" have different keys).
const STOP_WORDS: [&str; 5] = ["the", "and", "of", "co", "uk"];

/// Bits of an entry below the name's index.
pub const NAME_SHIFT: u32 = 40;

/// The names of a company that are indexed: the current one and as many
/// previous names as the bulk file has (ten).
pub const MAX_NAMES: usize = 11;

/// The words of `name` in the word index: its "same as" words without the
/// stop words (or with them, when they are all it has), each once.
pub fn index_words(name: &str) -> Vec<String> {
    let all = key_words(name);
    let mut words: Vec<String> = all
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if words.is_empty() {
        words = all;
    }
    let mut seen = HashSet::new();
    words.retain(|w| seen.insert(w.clone()));
    words
}

/// The "same as" key of `name`, as `name_keys` holds it.
pub fn key(name: &str) -> String {
    same_as_key(name)
}

/// The "same as" key of `name` with some of its words replaced (typos by
/// their corrections).
pub fn key_with(name: &str, replaced: &std::collections::HashMap<&str, &str>) -> String {
    key_words(name)
        .iter()
        .map(|w| replaced.get(w.as_str()).copied().unwrap_or(w.as_str()))
        .collect()
}

/// The entry for name `index` (0: current) of the company at `rowid`.
pub fn entry(rowid: i64, index: usize) -> i64 {
    rowid | ((index as i64) << NAME_SHIFT)
}

/// The company row id and name index of an entry.
pub fn split(entry: i64) -> (i64, usize) {
    (
        entry & ((1i64 << NAME_SHIFT) - 1),
        usize::try_from(entry >> NAME_SHIFT).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_words_leave_out_designators_and_stop_words() {
        assert_eq!(
            index_words("The Acme Widgets & Co (UK) Limited"),
            ["acme", "widgets"]
        );
        assert_eq!(index_words("H & S LTD"), ["h", "s"]);
        // A name of stop words only still names something.
        assert_eq!(index_words("THE UK CO LTD"), ["uk", "co"]);
        assert_eq!(index_words("Café Café Ltd"), ["cafe"]);
    }

    #[test]
    fn entries_round_trip() {
        for (rowid, index) in [(1, 0), (5_700_000, 10), ((1 << 39) + 3, 7)] {
            assert_eq!(split(entry(rowid, index)), (rowid, index));
        }
    }
}
