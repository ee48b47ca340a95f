//! A tiny tidy table: named columns, typed cells, written as CSV.
//!
//! Every result file rlkit writes (`iterations.csv`, `values.csv`, ...) is a
//! [`Table`]. Floats are written in Rust's shortest round-trip form, so the
//! same numbers always give byte-identical files.

use std::path::Path;

use crate::{Error, Result};

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A float, written in shortest round-trip form (`NaN` and `inf` as such).
    Float(f64),
    /// A string (quoted by the CSV writer when needed).
    Str(String),
    /// An empty cell (a missing value).
    Empty,
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Cell::Int(i) => i.to_string(),
            Cell::Float(x) => format!("{x}"),
            Cell::Str(s) => s.clone(),
            Cell::Empty => String::new(),
        }
    }
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
        Cell::Str(v.to_string())
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Str(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A tidy table: one observation per row.
///
/// ```
/// use rlkit::data::table::{Table, Cell};
/// let mut t = Table::new(&["agent", "iteration", "delta"]);
/// t.push(vec!["vi".into(), 1usize.into(), 0.5.into()]);
/// assert_eq!(t.to_csv_string(), "agent,iteration,delta\nvi,1,0.5\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; each has exactly `columns.len()` cells.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    /// Append a row. Panics in debug builds if its width is wrong (a bug).
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "row width");
        self.rows.push(row);
    }

    /// Append all rows of `other`, which must have the same columns.
    pub fn extend(&mut self, other: Table) -> Result<()> {
        if self.columns.is_empty() && self.rows.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.columns != self.columns {
            return Err(Error::internal(format!("table columns differ: {:?} vs {:?}", self.columns, other.columns)));
        }
        self.rows.extend(other.rows);
        Ok(())
    }

    /// Append all rows of `other`, taking the union of the columns: columns new
    /// to `self` are added at the end (empty in earlier rows), and cells of
    /// columns `other` lacks are left empty.
    pub fn extend_union(&mut self, other: Table) {
        if self.columns.is_empty() && self.rows.is_empty() {
            *self = other;
            return;
        }
        for c in &other.columns {
            if !self.columns.contains(c) {
                self.columns.push(c.clone());
                for r in &mut self.rows {
                    r.push(Cell::Empty);
                }
            }
        }
        let map: Vec<usize> = other.columns.iter().filter_map(|c| self.column_index(c)).collect();
        for r in other.rows {
            let mut row = vec![Cell::Empty; self.columns.len()];
            for (cell, &j) in r.into_iter().zip(&map) {
                row[j] = cell;
            }
            self.rows.push(row);
        }
    }

    /// Return a copy with `prefix` columns (name, value) put in front of every row.
    pub fn with_prefix(&self, prefix: &[(&str, Cell)]) -> Table {
        let mut columns: Vec<String> = prefix.iter().map(|(n, _)| n.to_string()).collect();
        columns.extend(self.columns.iter().cloned());
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut row: Vec<Cell> = prefix.iter().map(|(_, c)| c.clone()).collect();
                row.extend(r.iter().cloned());
                row
            })
            .collect();
        Table { columns, rows }
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The CSV text of the table (header line first, `\n` line ends).
    pub fn to_csv_string(&self) -> String {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(Cell::render));
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Write the table as CSV to `path`, atomically.
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

    #[test]
    fn csv_quotes_and_prefix() {
        let mut t = Table::new(&["x", "y"]);
        t.push(vec![Cell::Float(0.1), Cell::Str("a,b".into())]);
        t.push(vec![Cell::Empty, Cell::Int(-3)]);
        let p = t.with_prefix(&[("agent", "q".into())]);
        assert_eq!(p.to_csv_string(), "agent,x,y\nq,0.1,\"a,b\"\nq,,-3\n");
    }
}
