//! The replay index's bytes, defined once: the header and the rows of the request, name and
//! entry tables, each read and written here alone (the `index` module describes the file).

use std::ops::Range;

const MAGIC: &[u8; 8] = b"CVCRIDX\0";
/// Changed with the layout, or with anything that keys requests differently.
const FORMAT: u32 = 2;
pub(super) const HEADER: usize = 96;
pub(super) const NAME: usize = 24;
pub(super) const REQUEST: usize = 44;
pub(super) const ENTRY: usize = 52;

/// The header: what the file holds and where (the stamp follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) stamp_len: u32,
    /// How many names, and where their table starts.
    pub(super) names: u64,
    pub(super) names_at: u64,
    /// How many entries, and where their table starts.
    pub(super) entries: u64,
    pub(super) entries_at: u64,
    /// The whole file's length: a file cut short is not taken for whole.
    pub(super) file_len: u64,
    /// SHA-256 of everything after the header: a file changed after its build is not served.
    pub(super) digest: [u8; 32],
}

impl Header {
    // Where each field lies; the rest of the header is zero.
    const MAGIC: Range<usize> = 0..8;
    const FORMAT: Range<usize> = 8..12;
    const STAMP_LEN: Range<usize> = 12..16;
    const NAMES: Range<usize> = 16..24;
    const NAMES_AT: Range<usize> = 24..32;
    const ENTRIES: Range<usize> = 32..40;
    const ENTRIES_AT: Range<usize> = 40..48;
    const FILE_LEN: Range<usize> = 48..56;
    const DIGEST: Range<usize> = 56..88;

    /// The header at the start of `bytes`; `None` if they are too short for one or are not a
    /// replay index of this format.
    pub(super) fn read(bytes: &[u8]) -> Option<Header> {
        let h = bytes.get(..HEADER)?;
        (h[Self::MAGIC] == MAGIC[..] && le32(&h[Self::FORMAT]) == FORMAT).then(|| Header {
            stamp_len: le32(&h[Self::STAMP_LEN]),
            names: le64(&h[Self::NAMES]),
            names_at: le64(&h[Self::NAMES_AT]),
            entries: le64(&h[Self::ENTRIES]),
            entries_at: le64(&h[Self::ENTRIES_AT]),
            file_len: le64(&h[Self::FILE_LEN]),
            digest: *digest(&h[Self::DIGEST]),
        })
    }

    pub(super) fn write(&self) -> [u8; HEADER] {
        let mut h = [0u8; HEADER];
        h[Self::MAGIC].copy_from_slice(MAGIC);
        h[Self::FORMAT].copy_from_slice(&FORMAT.to_le_bytes());
        h[Self::STAMP_LEN].copy_from_slice(&self.stamp_len.to_le_bytes());
        h[Self::NAMES].copy_from_slice(&self.names.to_le_bytes());
        h[Self::NAMES_AT].copy_from_slice(&self.names_at.to_le_bytes());
        h[Self::ENTRIES].copy_from_slice(&self.entries.to_le_bytes());
        h[Self::ENTRIES_AT].copy_from_slice(&self.entries_at.to_le_bytes());
        h[Self::FILE_LEN].copy_from_slice(&self.file_len.to_le_bytes());
        h[Self::DIGEST].copy_from_slice(&self.digest);
        h
    }
}

/// A row of the names ([`NAME`] bytes): where the name's text lies, and where its distinct
/// requests' rows lie and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NameRow {
    pub(super) text_at: u64,
    pub(super) text_len: u32,
    pub(super) requests_at: u64,
    pub(super) requests: u32,
}

impl NameRow {
    // Where each field lies.
    const TEXT_AT: Range<usize> = 0..8;
    const TEXT_LEN: Range<usize> = 8..12;
    const REQUESTS_AT: Range<usize> = 12..20;
    const REQUESTS: Range<usize> = 20..24;

    /// The row at the start of `r` (at least [`NAME`] bytes).
    #[inline]
    pub(super) fn read(r: &[u8]) -> NameRow {
        NameRow {
            text_at: le64(&r[Self::TEXT_AT]),
            text_len: le32(&r[Self::TEXT_LEN]),
            requests_at: le64(&r[Self::REQUESTS_AT]),
            requests: le32(&r[Self::REQUESTS]),
        }
    }

    pub(super) fn write(&self) -> [u8; NAME] {
        let mut r = [0u8; NAME];
        r[Self::TEXT_AT].copy_from_slice(&self.text_at.to_le_bytes());
        r[Self::TEXT_LEN].copy_from_slice(&self.text_len.to_le_bytes());
        r[Self::REQUESTS_AT].copy_from_slice(&self.requests_at.to_le_bytes());
        r[Self::REQUESTS].copy_from_slice(&self.requests.to_le_bytes());
        r
    }
}

/// A row of a name's distinct requests ([`REQUEST`] bytes): the key digest, and where the
/// canonical request body lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RequestRow<'a> {
    pub(super) digest: &'a [u8; 32],
    pub(super) body_at: u64,
    pub(super) body_len: u32,
}

impl RequestRow<'_> {
    // Where each field lies.
    const DIGEST: Range<usize> = 0..32;
    const BODY_AT: Range<usize> = 32..40;
    const BODY_LEN: Range<usize> = 40..44;

    /// The row at the start of `r` (at least [`REQUEST`] bytes); the digest is borrowed.
    #[inline]
    pub(super) fn read(r: &[u8]) -> RequestRow<'_> {
        RequestRow {
            digest: digest(&r[Self::DIGEST]),
            body_at: le64(&r[Self::BODY_AT]),
            body_len: le32(&r[Self::BODY_LEN]),
        }
    }

    pub(super) fn write(&self) -> [u8; REQUEST] {
        let mut r = [0u8; REQUEST];
        r[Self::DIGEST].copy_from_slice(self.digest);
        r[Self::BODY_AT].copy_from_slice(&self.body_at.to_le_bytes());
        r[Self::BODY_LEN].copy_from_slice(&self.body_len.to_le_bytes());
        r
    }
}

/// A row of the entries ([`ENTRY`] bytes): name index, key digest, occurrence, and where the
/// answer lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EntryRow<'a> {
    pub(super) name: u32,
    pub(super) digest: &'a [u8; 32],
    pub(super) occurrence: u32,
    pub(super) answer_at: u64,
    pub(super) answer_len: u32,
}

impl EntryRow<'_> {
    // Where each field lies.
    const NAME: Range<usize> = 0..4;
    const DIGEST: Range<usize> = 4..36;
    const OCCURRENCE: Range<usize> = 36..40;
    const ANSWER_AT: Range<usize> = 40..48;
    const ANSWER_LEN: Range<usize> = 48..52;

    /// The row at the start of `r` (at least [`ENTRY`] bytes). On the replay hot path (every
    /// step of a lookup's binary search): a few loads, the digest borrowed, not copied.
    #[inline]
    pub(super) fn read(r: &[u8]) -> EntryRow<'_> {
        EntryRow {
            name: le32(&r[Self::NAME]),
            digest: digest(&r[Self::DIGEST]),
            occurrence: le32(&r[Self::OCCURRENCE]),
            answer_at: le64(&r[Self::ANSWER_AT]),
            answer_len: le32(&r[Self::ANSWER_LEN]),
        }
    }

    /// Where the answer lies: offset and length.
    #[inline]
    pub(super) fn answer(&self) -> (u64, u64) {
        (self.answer_at, self.answer_len.into())
    }

    pub(super) fn write(&self) -> [u8; ENTRY] {
        let mut r = [0u8; ENTRY];
        r[Self::NAME].copy_from_slice(&self.name.to_le_bytes());
        r[Self::DIGEST].copy_from_slice(self.digest);
        r[Self::OCCURRENCE].copy_from_slice(&self.occurrence.to_le_bytes());
        r[Self::ANSWER_AT].copy_from_slice(&self.answer_at.to_le_bytes());
        r[Self::ANSWER_LEN].copy_from_slice(&self.answer_len.to_le_bytes());
        r
    }
}

#[inline]
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or_default())
}

#[inline]
fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or_default())
}

/// The digest in `b`, a field's 32 bytes.
#[inline]
fn digest(b: &[u8]) -> &[u8; 32] {
    b.try_into().expect("a digest field is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_back_as_written() {
        let header = Header {
            stamp_len: 7,
            names: 2,
            names_at: 1 << 33,
            entries: 5,
            entries_at: u64::MAX - 1,
            file_len: u64::MAX,
            digest: std::array::from_fn(|i| i as u8 ^ 0xA5),
        };
        let bytes = header.write();
        assert_eq!(Header::read(&bytes), Some(header));
        assert_eq!(Header::read(&bytes[..HEADER - 1]), None, "too short");
    }

    #[test]
    fn a_header_of_another_magic_or_format_is_refused() {
        let header = Header {
            stamp_len: 7,
            names: 2,
            names_at: 64,
            entries: 5,
            entries_at: 128,
            file_len: 256,
            digest: [7; 32],
        };
        let mut magic = header.write();
        magic[0] ^= 1;
        assert_eq!(Header::read(&magic), None);
        let mut format = header.write();
        format[Header::FORMAT].copy_from_slice(&(FORMAT + 1).to_le_bytes());
        assert_eq!(Header::read(&format), None);
    }

    #[test]
    fn rows_read_back_as_written() {
        let name = NameRow {
            text_at: 1 << 40,
            text_len: 9,
            requests_at: u64::MAX,
            requests: u32::MAX,
        };
        assert_eq!(NameRow::read(&name.write()), name);

        let digest: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
        let request = RequestRow {
            digest: &digest,
            body_at: 1 << 35,
            body_len: 17,
        };
        assert_eq!(RequestRow::read(&request.write()), request);

        let entry = EntryRow {
            name: 3,
            digest: &digest,
            occurrence: 2,
            answer_at: u64::MAX - 5,
            answer_len: u32::MAX - 1,
        };
        assert_eq!(EntryRow::read(&entry.write()), entry);
    }
}
