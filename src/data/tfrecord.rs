//! TFRecord files, byte-exact with TensorFlow's `tf.io.TFRecordWriter`.
//!
//! A file is a sequence of records, each framed as
//!
//! | bytes | contents |
//! |---|---|
//! | 8 | `length`, little-endian u64 |
//! | 4 | masked CRC-32C of the 8 length bytes, little-endian |
//! | `length` | the data (here: a serialized `tf.train.Example`, see [`super::example`]) |
//! | 4 | masked CRC-32C of the data, little-endian |
//!
//! with `mask(crc) = crc.rotate_right(15).wrapping_add(0xa282_ead8)`. The CRC is
//! the Castagnoli polynomial (the `crc32c` crate, hardware accelerated where the
//! CPU has it). The [`Reader`] checks both CRCs of every record; a damaged or
//! truncated file yields every record before the damage and then one
//! [`RecordError`] naming the record number and the byte offset.
//!
//! ```
//! use rlkit::data::tfrecord::{Reader, Writer};
//! let mut w = Writer::new(Vec::new());
//! w.write_record(b"hello").unwrap();
//! w.write_record(b"").unwrap();
//! let bytes = w.into_inner();
//! assert_eq!(bytes.len(), 2 * 16 + 5);
//! let recs: Vec<Vec<u8>> = Reader::new(&bytes[..]).map(|r| r.unwrap()).collect();
//! assert_eq!(recs, vec![b"hello".to_vec(), vec![]]);
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// The constant added after the rotation when masking a CRC.
pub const MASK_DELTA: u32 = 0xa282_ead8;

/// Largest record the [`Reader`] accepts (1 GiB): a larger length field is
/// treated as damage rather than allocated.
pub const MAX_RECORD_BYTES: u64 = 1 << 30;

/// CRC-32C (Castagnoli) of `data`.
///
/// ```
/// assert_eq!(rlkit::data::tfrecord::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
}

/// The masked CRC TFRecord stores: `crc.rotate_right(15) + 0xa282ead8` (wrapping).
pub fn masked_crc(data: &[u8]) -> u32 {
    mask(crc32c(data))
}

/// Mask a CRC value.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Frame one record (header, data, footer) into `out`.
pub fn encode_record(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

/// Writes records to any [`Write`].
#[derive(Debug)]
pub struct Writer<W: Write> {
    inner: W,
    records: u64,
    bytes: u64,
}

impl<W: Write> Writer<W> {
    /// A writer over `inner` (wrap files in a `BufWriter`).
    pub fn new(inner: W) -> Self {
        Writer { inner, records: 0, bytes: 0 }
    }

    /// Append one record.
    pub fn write_record(&mut self, data: &[u8]) -> io::Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        self.inner.write_all(&len)?;
        self.inner.write_all(&masked_crc(&len).to_le_bytes())?;
        self.inner.write_all(data)?;
        self.inner.write_all(&masked_crc(data).to_le_bytes())?;
        self.records += 1;
        self.bytes += 16 + data.len() as u64;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flush and return the inner writer.
    pub fn into_inner(mut self) -> W {
        let _ = self.inner.flush();
        self.inner
    }
}

/// What is wrong with a damaged record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside the record's 12-byte header.
    TruncatedHeader,
    /// The CRC of the length field does not match.
    LengthCrc,
    /// The length field is larger than [`MAX_RECORD_BYTES`].
    TooLong(u64),
    /// The file ends inside the record's data or footer.
    TruncatedData,
    /// The CRC of the data does not match.
    DataCrc,
    /// An I/O error while reading.
    Io(String),
}

/// A damaged record: its 0-based number and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// 0-based number of the damaged record (= the count of good records before it).
    pub record: u64,
    /// Byte offset of the start of that record.
    pub offset: u64,
    /// What is wrong.
    pub damage: Damage,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.damage {
            Damage::TruncatedHeader => "truncated record header".to_string(),
            Damage::LengthCrc => "length CRC mismatch (corrupted)".to_string(),
            Damage::TooLong(n) => format!("record length {n} exceeds the {MAX_RECORD_BYTES}-byte limit (corrupted)"),
            Damage::TruncatedData => "truncated record data".to_string(),
            Damage::DataCrc => "data CRC mismatch (corrupted)".to_string(),
            Damage::Io(e) => format!("read error: {e}"),
        };
        write!(f, "record {} at byte offset {}: {what}", self.record, self.offset)
    }
}

/// Reads records from any [`Read`], checking both CRCs; an iterator of
/// `Result<Vec<u8>, RecordError>` that stops after the first error.
#[derive(Debug)]
pub struct Reader<R: Read> {
    inner: R,
    record: u64,
    offset: u64,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// A reader over `inner` (wrap files in a `BufReader`).
    pub fn new(inner: R) -> Self {
        Reader { inner, record: 0, offset: 0, done: false }
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Read the next record into `buf` (cleared first). `Ok(false)` at a clean end of file.
    pub fn read_into(&mut self, buf: &mut Vec<u8>) -> std::result::Result<bool, RecordError> {
        if self.done {
            return Ok(false);
        }
        let err = |s: &mut Self, damage| {
            s.done = true;
            Err(RecordError { record: s.record, offset: s.offset, damage })
        };
        let mut header = [0u8; 12];
        match read_full(&mut self.inner, &mut header) {
            Ok(0) => {
                self.done = true;
                return Ok(false);
            }
            Ok(12) => {}
            Ok(_) => return err(self, Damage::TruncatedHeader),
            Err(e) => return err(self, Damage::Io(e.to_string())),
        }
        let len_bytes: [u8; 8] = header[..8].try_into().expect("8 bytes");
        let len_crc = u32::from_le_bytes(header[8..].try_into().expect("4 bytes"));
        if masked_crc(&len_bytes) != len_crc {
            return err(self, Damage::LengthCrc);
        }
        let len = u64::from_le_bytes(len_bytes);
        if len > MAX_RECORD_BYTES {
            return err(self, Damage::TooLong(len));
        }
        buf.clear();
        buf.resize(len as usize + 4, 0);
        match read_full(&mut self.inner, buf) {
            Ok(n) if n == buf.len() => {}
            Ok(_) => return err(self, Damage::TruncatedData),
            Err(e) => return err(self, Damage::Io(e.to_string())),
        }
        let footer = u32::from_le_bytes(buf[len as usize..].try_into().expect("4 bytes"));
        buf.truncate(len as usize);
        if masked_crc(buf) != footer {
            return err(self, Damage::DataCrc);
        }
        self.record += 1;
        self.offset += 16 + len;
        Ok(true)
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Iterator for Reader<R> {
    type Item = std::result::Result<Vec<u8>, RecordError>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        match self.read_into(&mut buf) {
            Ok(true) => Some(Ok(buf)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Open `path` for reading records (buffered).
pub fn open(path: &Path) -> Result<Reader<io::BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}; give an existing .tfrecord file", path.display())))?;
    Ok(Reader::new(io::BufReader::with_capacity(1 << 16, f)))
}

/// Read every record of `path`; a damaged file is an [`Error::Input`] of one line:
/// `FILE: record N at byte offset B: what`.
pub fn read_all(path: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for r in open(path)? {
        out.push(r.map_err(|e| Error::input(format!("{}: {e}", path.display())))?);
    }
    Ok(out)
}

/// Frame `records` and write them to `path` atomically.
pub fn write_all<I, B>(path: &Path, records: I) -> Result<u64>
where
    I: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let mut buf = Vec::new();
    let mut n = 0;
    for r in records {
        encode_record(r.as_ref(), &mut buf);
        n += 1;
    }
    crate::util::atomic_write(path, &buf)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_test_vectors() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // 32 zero bytes: RFC 3720 B.4.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        assert_eq!(mask(0), MASK_DELTA);
        assert_eq!(mask(1 << 15), 1 + MASK_DELTA);
    }

    #[test]
    fn damage_is_located() {
        let mut bytes = Vec::new();
        for r in [&b"abc"[..], b"defgh", b"ij"] {
            encode_record(r, &mut bytes);
        }
        // Flip a data byte of record 1 (offset 19 + 12 + 1).
        let mut bad = bytes.clone();
        bad[19 + 12 + 1] ^= 1;
        let v: Vec<_> = Reader::new(&bad[..]).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].as_ref().unwrap(), b"abc");
        assert_eq!(v[1].as_ref().unwrap_err(), &RecordError { record: 1, offset: 19, damage: Damage::DataCrc });
        // Corrupt the length of record 2.
        let mut bad = bytes.clone();
        bad[19 + 21] ^= 0x80;
        let e = Reader::new(&bad[..]).find_map(|r| r.err()).unwrap();
        assert_eq!((e.record, e.offset, e.damage), (2, 40, Damage::LengthCrc));
        // Truncations anywhere inside a record.
        for cut in 1..bytes.len() {
            if cut == 19 || cut == 40 {
                assert!(Reader::new(&bytes[..cut]).all(|r| r.is_ok()), "clean cut at {cut}");
                continue;
            }
            let e = Reader::new(&bytes[..cut]).find_map(|r| r.err()).unwrap();
            let expect = if cut < 19 {
                (0, 0)
            } else if cut < 40 {
                (1, 19)
            } else {
                (2, 40)
            };
            assert_eq!((e.record, e.offset), expect, "cut at {cut}");
        }
    }
}
