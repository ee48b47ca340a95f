//! A tiny tidy table: named columns, typed cells, written as CSV.
//!
//! Every result file rlkit writes (`iterations.csv`, `values.csv`, ...) is a
//! [`Table`]. Floats are written in Rust's shortest round-trip form, so the
//! same numbers always give byte-identical files.

use std::path::Path;
use std::sync::Arc;

use crate::{Error, Result};

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A float, written in shortest round-trip form (`NaN` and `inf` as such).
    Float(f64),
    /// A string (quoted by the CSV writer when needed). Shared, so that a
    /// label repeated on every row (an agent's name) is one allocation, and
    /// behind a thin pointer, so that a cell is 16 bytes.
    Str(Arc<String>),
    /// An empty cell (a missing value).
    Empty,
}

impl Cell {
    /// Append the cell as a CSV field to `out`: numbers exactly as
    /// `format!("{x}")` (Rust's shortest round-trip float form), strings quoted
    /// as the `csv` crate would, without a `String` per cell.
    fn render_into(&self, out: &mut Vec<u8>, ints: &mut itoa::Buffer, floats: &mut ryu::Buffer) {
        match self {
            Cell::Int(i) => out.extend_from_slice(ints.format(*i).as_bytes()),
            Cell::Float(x) => push_f64(out, *x, ints, floats),
            Cell::Str(s) => push_csv_field(out, s.as_bytes()),
            Cell::Empty => {}
        }
    }
}

/// Append `field` as the `csv` crate writes it with `QuoteStyle::Necessary`:
/// verbatim, or in double quotes (inner `"` doubled) when it contains `,`,
/// `"`, `\r` or `\n`.
fn push_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if !field.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `format!("{x}")` of an f64, byte for byte, via itoa (integral values below
/// 2^53) or ryu (others). Both print the shortest digits that round-trip, as
/// Rust's `Display` does; ryu switches to exponent notation for very large or
/// small magnitudes where `Display` does not, so those (and non-finite values
/// and −0) take `format!`.
pub fn push_f64(out: &mut Vec<u8>, x: f64, ints: &mut itoa::Buffer, floats: &mut ryu::Buffer) {
    use std::io::Write;
    if x.is_finite() && x.trunc() == x && x.abs() < 9.007_199_254_740_992e15 && (x != 0.0 || x.is_sign_positive()) {
        out.extend_from_slice(ints.format(x as i64).as_bytes());
        return;
    }
    if x.is_finite() && x != 0.0 {
        let s = floats.format_finite(x);
        if !s.contains('e') && !maybe_tie(x, s) {
            out.extend_from_slice(s.as_bytes());
            return;
        }
    }
    let _ = write!(out, "{x}");
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Float(v)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Str(Arc::new(v.to_string()))
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Str(Arc::new(v))
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A tidy table: one observation per row.
///
/// The cells are stored row after row in one flat vector (no allocation per
/// row): read them with [`Table::rows`], [`Table::row`] or [`Table::column`].
///
/// ```
/// use rlkit::data::table::{Table, Cell};
/// let mut t = Table::new(&["agent", "iteration", "delta"]);
/// t.push(vec!["vi".into(), 1usize.into(), 0.5.into()]);
/// t.push([Cell::from("vi"), 2usize.into(), 0.25.into()]); // an array: no allocation
/// assert_eq!(t.len(), 2);
/// assert_eq!(t.row(1)[2], Cell::Float(0.25));
/// assert_eq!(t.to_csv_string(), "agent,iteration,delta\nvi,1,0.5\nvi,2,0.25\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// The cells, row-major: `n_rows × columns.len()`.
    cells: Vec<Cell>,
    /// The number of rows (kept apart so that a table without columns still counts them).
    n_rows: usize,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Table { columns: columns.iter().map(|c| c.to_string()).collect(), cells: Vec::new(), n_rows: 0 }
    }

    /// The number of columns.
    #[inline]
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.n_rows
    }

    /// Whether the table has no rows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    /// Row `i` (its cells, one per column). Panics if `i >= len()`.
    #[inline]
    pub fn row(&self, i: usize) -> &[Cell] {
        let w = self.width();
        assert!(i < self.n_rows, "row {i} of a table of {} rows", self.n_rows);
        &self.cells[i * w..(i + 1) * w]
    }

    /// The rows in order, each as its cells.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &[Cell]> + ExactSizeIterator + '_ {
        self.rows_of_width(self.width())
    }

    /// The cells cut into `n_rows` rows of `w` (the width before columns are added).
    fn rows_of_width(&self, w: usize) -> impl DoubleEndedIterator<Item = &[Cell]> + ExactSizeIterator + '_ {
        (0..self.n_rows).map(move |i| &self.cells[i * w..(i + 1) * w])
    }

    /// Column `j`, top to bottom. Panics if `j >= width()`.
    pub fn column(&self, j: usize) -> impl DoubleEndedIterator<Item = &Cell> + ExactSizeIterator + '_ {
        assert!(j < self.width(), "column {j} of a table of {} columns", self.width());
        self.rows().map(move |r| &r[j])
    }

    /// Reserve room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.cells.reserve(rows.saturating_mul(self.width()));
    }

    /// Append a row: a `Vec<Cell>`, or an array of cells (no allocation).
    /// Panics if its width is wrong (a bug, not an input error).
    pub fn push<R: IntoIterator<Item = Cell>>(&mut self, row: R) {
        let before = self.cells.len();
        self.cells.extend(row);
        assert_eq!(self.cells.len() - before, self.width(), "row width");
        self.n_rows += 1;
    }

    /// Append all rows of `other`, which must have the same columns.
    pub fn extend(&mut self, other: Table) -> Result<()> {
        if self.columns.is_empty() && self.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.columns != self.columns {
            return Err(Error::internal(format!("table columns differ: {:?} vs {:?}", self.columns, other.columns)));
        }
        self.append_cells(other);
        Ok(())
    }

    fn append_cells(&mut self, mut other: Table) {
        if self.cells.is_empty() {
            std::mem::swap(&mut self.cells, &mut other.cells);
        } else {
            self.cells.append(&mut other.cells);
        }
        self.n_rows += other.n_rows;
    }

    /// Add the columns of `names` that `self` lacks at the end (empty in every
    /// row so far), and return where each of `names` now is.
    fn union_columns(&mut self, names: &[String]) -> Vec<usize> {
        let old_w = self.width();
        for c in names {
            if !self.columns.contains(c) {
                self.columns.push(c.clone());
            }
        }
        let w = self.width();
        if w != old_w && self.n_rows > 0 {
            let mut cells = Vec::with_capacity(self.n_rows * w);
            for r in self.rows_of_width(old_w) {
                cells.extend_from_slice(r);
                cells.extend(std::iter::repeat_n(Cell::Empty, w - old_w));
            }
            self.cells = cells;
        }
        names.iter().map(|c| self.column_index(c).expect("just added")).collect()
    }

    /// Append all rows of `other`, taking the union of the columns: columns new
    /// to `self` are added at the end (empty in earlier rows), and cells of
    /// columns `other` lacks are left empty.
    pub fn extend_union(&mut self, other: Table) {
        if self.columns.is_empty() && self.is_empty() {
            *self = other;
            return;
        }
        if other.columns == self.columns {
            // The same layout: move the cells as they are.
            self.append_cells(other);
            return;
        }
        let map = self.union_columns(&other.columns);
        let w = self.width();
        self.cells.reserve(other.n_rows * w);
        for r in other.rows() {
            let at = self.cells.len();
            self.cells.extend(std::iter::repeat_n(Cell::Empty, w));
            for (cell, &j) in r.iter().zip(&map) {
                self.cells[at + j] = cell.clone();
            }
        }
        self.n_rows += other.n_rows;
    }

    /// Append the rows of `other` with `prefix` columns (name, value) put in
    /// front of each: the same as `extend_union(other.with_prefix(prefix))`,
    /// without the intermediate table when the columns line up.
    pub fn extend_with_prefix(&mut self, other: &Table, prefix: &[(&str, Cell)]) {
        let lines_up = self.width() == prefix.len() + other.width()
            && prefix.iter().zip(&self.columns).all(|((n, _), c)| n == c)
            && other.columns.iter().zip(&self.columns[prefix.len()..]).all(|(a, b)| a == b);
        if !lines_up {
            self.extend_union(other.with_prefix(prefix));
            return;
        }
        self.cells.reserve(other.n_rows * self.width());
        for r in other.rows() {
            self.cells.extend(prefix.iter().map(|(_, c)| c.clone()));
            self.cells.extend_from_slice(r);
        }
        self.n_rows += other.n_rows;
    }

    /// Return a copy with `prefix` columns (name, value) put in front of every row.
    pub fn with_prefix(&self, prefix: &[(&str, Cell)]) -> Table {
        let mut columns: Vec<String> = prefix.iter().map(|(n, _)| n.to_string()).collect();
        columns.extend(self.columns.iter().cloned());
        let mut t = Table { columns, cells: Vec::new(), n_rows: 0 };
        t.extend_with_prefix(self, prefix);
        t
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The CSV text of the table (header line first, `\n` line ends).
    ///
    /// The bytes are those of the `csv` crate's writer (`QuoteStyle::Necessary`,
    /// `\n` terminator): a field is quoted when it contains `,`, `"`, `\r` or
    /// `\n`, with `"` doubled, and a record that would be empty is written as
    /// `""`. Numbers never need quotes, so they go straight into the buffer.
    pub fn to_csv_string(&self) -> String {
        let width = self.columns.len().max(1);
        // About 10 bytes a cell: one allocation for most tables.
        let mut out: Vec<u8> = Vec::with_capacity((self.n_rows + 1).saturating_mul(width * 10).min(1 << 28));
        let record_start = |out: &Vec<u8>| out.len();
        let end_record = |out: &mut Vec<u8>, start: usize| {
            if out.len() == start {
                out.extend_from_slice(b"\"\"");
            }
            out.push(b'\n');
        };
        let start = record_start(&out);
        for (j, c) in self.columns.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            push_csv_field(&mut out, c.as_bytes());
        }
        end_record(&mut out, start);
        let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
        for r in self.rows() {
            let start = record_start(&out);
            for (j, c) in r.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                c.render_into(&mut out, &mut ints, &mut floats);
            }
            end_record(&mut out, start);
        }
        // Every byte pushed is ASCII or comes from a `str`.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Write the CSV text to `path` atomically (a temporary file beside it, then a rename).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::util::atomic_write(path, self.to_csv_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_of_columns() {
        let mut a = Table::new(&["agent", "delta"]);
        a.push(vec!["vi".into(), 0.5.into()]);
        let mut b = Table::new(&["agent", "estimate"]);
        b.push(vec!["rm".into(), 2.0.into()]);
        a.extend_union(b);
        assert_eq!(a.to_csv_string(), "agent,delta,estimate\nvi,0.5,\nrm,,2\n");
    }

    /// The direct writer gives the `csv` crate's bytes: quoting of `,`, `"`,
    /// CR and LF, doubled quotes, `""` for a record that would be empty.
    #[test]
    fn csv_bytes_equal_the_csv_crate() {
        let texts = ["", "a", "a,b", "say \"hi\"", "\"", "line\nbreak", "cr\r", "tab\tok", "é ü", " sp ", "#c", "'q'"];
        let reference = |t: &Table| -> String {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
            w.write_record(&t.columns).unwrap();
            for r in t.rows() {
                let fields: Vec<String> = r
                    .iter()
                    .map(|c| match c {
                        Cell::Int(i) => i.to_string(),
                        Cell::Float(x) => format!("{x}"),
                        Cell::Str(s) => s.to_string(),
                        Cell::Empty => String::new(),
                    })
                    .collect();
                w.write_record(&fields).unwrap();
            }
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        let mut t = Table::new(&["name", "x,y", "q\"", "n"]);
        for (i, s) in texts.iter().enumerate() {
            t.push(vec![(*s).into(), Cell::Float(i as f64 / 7.0), Cell::Empty, Cell::Int(-(i as i64))]);
            t.push(vec![Cell::Empty, Cell::Empty, (*s).into(), Cell::Float(f64::NAN)]);
        }
        let got = t.to_csv_string();
        assert_eq!(got, reference(&t));
        assert!(got.contains("\"a,b\"") && got.contains("\"say \"\"hi\"\"\"") && got.contains(",,,NaN\n"), "{got}");
        // One column: an empty cell alone on its line is written `""`.
        let mut one = Table::new(&["only"]);
        for s in texts {
            one.push(vec![s.into()]);
        }
        one.push(vec![Cell::Empty]);
        let got = one.to_csv_string();
        assert_eq!(got, reference(&one));
        assert!(got.starts_with("only\n\"\"\na\n"), "{got}");
    }

    #[test]
    fn a_cell_is_two_words() {
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }

    #[test]
    fn union_with_the_same_columns_appends_rows() {
        let mut a = Table::new(&["agent", "x"]);
        a.push(vec!["p".into(), 1usize.into()]);
        let mut b = Table::new(&["agent", "x"]);
        b.push(vec!["q".into(), 2.5.into()]);
        a.extend_union(b);
        assert_eq!(a.to_csv_string(), "agent,x\np,1\nq,2.5\n");
        let mut c = Table::new(&["x", "agent"]);
        c.push(vec![3usize.into(), "r".into()]);
        a.extend_union(c);
        assert_eq!(a.to_csv_string(), "agent,x\np,1\nq,2.5\nr,3\n");
    }

    #[test]
    fn csv_quotes_and_prefix() {
        let mut t = Table::new(&["x", "y"]);
        t.push(vec![Cell::Float(0.1), "a,b".into()]);
        t.push(vec![Cell::Empty, Cell::Int(-3)]);
        let p = t.with_prefix(&[("agent", "q".into())]);
        assert_eq!(p.to_csv_string(), "agent,x,y\nq,0.1,\"a,b\"\nq,,-3\n");
    }
}

/// Whether `x` might lie exactly halfway between two decimals of `s`'s
/// length: then ryu rounds the last digit to even and `Display` rounds it
/// up, so the caller must use `Display`. A tie needs the exact decimal
/// expansion of `x` (m · 5^k / 10^k for x = m / 2^k) to have exactly one
/// significant digit more than `s`.
fn maybe_tie(x: f64, s: &str) -> bool {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let mut m = bits & ((1u64 << 52) - 1);
    let mut e = if exp == 0 {
        -1074
    } else {
        m |= 1 << 52;
        exp - 1075
    };
    let tz = m.trailing_zeros() as i64;
    m >>= tz;
    e += tz;
    if e >= 0 {
        // An integer ≥ 2^53 never reaches here (exponent form or itoa); be safe.
        return true;
    }
    let mut exact = m as u128;
    for _ in 0..-e {
        match exact.checked_mul(5) {
            Some(v) => exact = v,
            // More than 38 significant digits: far from any ≤ 17-digit tie.
            None => return false,
        }
    }
    let exact_digits = exact.checked_ilog10().map_or(1, |d| d + 1) as usize;
    let shown = s.bytes().filter(u8::is_ascii_digit).skip_while(|&b| b == b'0').count();
    exact_digits == shown + 1
}

#[cfg(test)]
mod fast_format_tests {
    use super::*;

    /// The fast float path prints exactly what `format!("{x}")` prints.
    #[test]
    fn push_f64_equals_display() {
        use rand::RngExt;
        let mut rng = crate::util::rng_for(11, &[]);
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e15,
            9.007_199_254_740_992e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
            1.5e-300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            -1436.0,
            2.0 / 3.0,
            123456.789,
            -13.000000000000002,
            -10.909439086914063,
            -8.417556762695313,
        ];
        for _ in 0..20_000 {
            xs.push(f64::from_bits(rng.random::<u64>()));
            xs.push((rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-12..20)));
            xs.push((rng.random_range(-100_000..100_000) as f64) / 8.0);
            // Dyadic rationals, where halfway ties between decimals live.
            xs.push(rng.random_range(-(1i64 << 53)..(1i64 << 53)) as f64 / 2f64.powi(rng.random_range(1..60)));
        }
        let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
        for x in xs {
            let mut out = Vec::new();
            push_f64(&mut out, x, &mut ints, &mut floats);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{x}"), "{x:e}");
        }
    }
}
