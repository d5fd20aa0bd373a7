//! `cognito-vcr export`: write the cassette from its sled store (after an unclean stop, say).

use std::path::Path;

use crate::config::file::Settings;
use crate::error::Result;
use crate::store::Store;

/// Write `cassette` from the store in `store_dir` (recovering it first if a run was cut short);
/// returns how many interactions were written.
pub fn export(cassette: &Path, store_dir: &Path, settings: &Settings) -> Result<usize> {
    let (store, _) = Store::open(cassette, store_dir, &settings.rules)?;
    store.export()
}
