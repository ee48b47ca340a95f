//! TOML loading with precise, one-line errors.
//!
//! Every rlkit input file (environments, experiments, presets, network
//! definitions) goes through [`Doc`]: it parses the text, merges presets and
//! `--set KEY=VALUE` overrides, and deserializes the result into a typed
//! struct. Any error becomes one [`Error::Input`] line of the form
//!
//! ```text
//! experiments/x.toml:4:1: agents[0].gama: unknown field `gama`, expected one of `kind`, `tol`; did you mean `tol`?
//! ```
//!
//! naming the file, the line and column (or the `--set` flag), the key path,
//! and what would be valid.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// One segment of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Render a key path as `a.b[0].c`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Parse a dotted key (`rewards.forbidden`, `agents[1].tol`) into segments.
pub fn parse_key(key: &str) -> Result<Vec<Seg>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && out.is_empty() && rest.is_empty() {
            return Err(Error::input(format!(
                "--set {key}: empty key; write KEY=VALUE with a dotted key such as rewards.forbidden=-10"
            )));
        }
        if !name.is_empty() {
            out.push(Seg::Key(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']').ok_or_else(|| {
                Error::input(format!("--set {key}: unclosed `[` in key; write e.g. agents[0].tol=1e-6"))
            })?;
            let idx: usize = stripped[..close].parse().map_err(|_| {
                Error::input(format!(
                    "--set {key}: `{}` is not an array index; write e.g. agents[0].tol=1e-6",
                    &stripped[..close]
                ))
            })?;
            out.push(Seg::Index(idx));
            rest = &stripped[close + 1..];
        }
        if !rest.is_empty() {
            return Err(Error::input(format!(
                "--set {key}: unexpected `{rest}` after `]`; write e.g. agents[0].tol=1e-6"
            )));
        }
    }
    Ok(out)
}

/// One file that contributed to a [`Doc`].
#[derive(Debug, Clone)]
pub struct Source {
    /// The file's path, as the user gave it.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
    /// Where the file's root sits in the merged document (empty for the main file;
    /// `env` for an env file referenced by an experiment).
    pub prefix: Vec<Seg>,
}

/// A `--set` override applied to a [`Doc`].
#[derive(Debug, Clone)]
pub struct Override {
    /// The key path as typed.
    pub key: String,
    /// The parsed key path (with the prefix it was applied under).
    pub path: Vec<Seg>,
    /// Where it came from, as shown in errors (`--set key=value`, `variants[1]`).
    pub value: String,
}

/// A merged TOML document that remembers where every piece came from.
///
/// ```
/// use rlkit::config::Doc;
/// #[derive(serde::Deserialize, Debug)]
/// #[serde(deny_unknown_fields)]
/// struct Cfg { gamma: f64 }
/// let mut doc = Doc::from_str("inline.toml", "gamma = 0.9\n").unwrap();
/// doc.set("gamma", "0.5").unwrap();
/// let cfg: Cfg = doc.deserialize().unwrap();
/// assert_eq!(cfg.gamma, 0.5);
/// let err = Doc::from_str("bad.toml", "gama = 0.9\n").unwrap().deserialize::<Cfg>().unwrap_err();
/// assert!(err.to_string().starts_with("bad.toml:1:1: gama: unknown field"));
/// assert!(err.to_string().contains("did you mean `gamma`?"));
/// ```
#[derive(Debug, Clone)]
pub struct Doc {
    /// The merged table.
    pub table: toml::Table,
    /// The files it came from, main file first.
    pub sources: Vec<Source>,
    /// The `--set` overrides applied, in order.
    pub overrides: Vec<Override>,
}

/// Read a file to a string, with a one-line error naming it.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "; check the path (paths are relative to the current directory)"
        } else {
            ""
        };
        Error::input(format!("{}: cannot read: {e}{hint}", path.display()))
    })
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parse TOML text into a table; a syntax error names file, line and column.
pub fn parse_table(file: &Path, text: &str) -> Result<toml::Table> {
    toml::from_str::<toml::Table>(text).map_err(|e| {
        let msg = first_line(e.message());
        match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                Error::input(format!("{}:{l}:{c}: invalid TOML: {msg}", file.display()))
            }
            None => Error::input(format!("{}: invalid TOML: {msg}", file.display())),
        }
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else is replaced.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Doc {
    /// Load and parse one file.
    pub fn load(path: &Path) -> Result<Doc> {
        let text = read_text(path)?;
        Doc::from_str(path, &text)
    }

    /// Parse `text` as if it were the file `file`.
    pub fn from_str(file: impl AsRef<Path>, text: &str) -> Result<Doc> {
        let file = file.as_ref();
        let table = parse_table(file, text)?;
        Ok(Doc {
            table,
            sources: vec![Source { file: file.to_path_buf(), text: text.to_string(), prefix: vec![] }],
            overrides: vec![],
        })
    }

    /// The main file's path.
    pub fn file(&self) -> &Path {
        &self.sources[0].file
    }

    /// Merge another document underneath `prefix`, with `self`'s values winning
    /// (used for presets and `path =` references: the referenced file is the
    /// base, this document overrides it).
    pub fn merge_base_at(&mut self, prefix: &[Seg], mut base: Doc) -> Result<()> {
        let slot = self.table_at_mut(prefix)?;
        let over = std::mem::take(slot);
        merge(&mut base.table, over);
        *slot = base.table;
        for mut s in base.sources {
            let mut p = prefix.to_vec();
            p.extend(s.prefix);
            s.prefix = p;
            self.sources.push(s);
        }
        Ok(())
    }

    fn table_at_mut(&mut self, prefix: &[Seg]) -> Result<&mut toml::Table> {
        let file = self.sources[0].file.display().to_string();
        let bad = |what: &str| Error::input(format!("{file}: `{}` must be {what}", path_string(prefix)));
        let mut t: &mut toml::Table = &mut self.table;
        let mut i = 0;
        while i < prefix.len() {
            let Seg::Key(k) = &prefix[i] else { return Err(bad("a table")) };
            let mut v: &mut toml::Value = t.entry(k.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
            i += 1;
            while let Some(Seg::Index(j)) = prefix.get(i) {
                v = match v {
                    toml::Value::Array(a) if *j < a.len() => &mut a[*j],
                    _ => return Err(bad("an array of tables")),
                };
                i += 1;
            }
            t = match v {
                toml::Value::Table(t) => t,
                _ => return Err(bad("a table")),
            };
        }
        Ok(t)
    }

    /// Apply `--set KEY=VALUE`. VALUE is read as a TOML value (`-10`, `0.5`,
    /// `true`, `[1, 2]`, `"text"`); anything that is not valid TOML is taken as a string.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.set_under(&[], key, value)
    }

    /// Apply `--set KEY=VALUE` with KEY relative to `prefix`.
    pub fn set_under(&mut self, prefix: &[Seg], key: &str, value: &str) -> Result<()> {
        let parsed = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
            Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.to_string())),
            Err(_) => toml::Value::String(value.to_string()),
        };
        self.set_value(prefix, key, parsed, &format!("--set {key}={value}"))
    }

    /// Set KEY (relative to `prefix`) to a TOML value; errors about it later
    /// name `origin` (for example `--set gamma=2` or `variants[1]`).
    pub fn set_value(&mut self, prefix: &[Seg], key: &str, value: toml::Value, origin: &str) -> Result<()> {
        let mut path = prefix.to_vec();
        path.extend(parse_key(key)?);
        let mut root = toml::Value::Table(std::mem::take(&mut self.table));
        let ok = set_in(&mut root, &path, value);
        if let toml::Value::Table(t) = root {
            self.table = t;
        }
        if !ok {
            return Err(Error::input(format!(
                "{origin}: `{}` is not a table key or an existing array element",
                path_string(&path)
            )));
        }
        self.overrides.push(Override { key: key.to_string(), path, value: origin.to_string() });
        Ok(())
    }

    /// Deserialize the whole document.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T> {
        self.deserialize_value(toml::Value::Table(self.table.clone()), &[])
    }

    /// Deserialize the sub-table at `prefix`.
    pub fn deserialize_at<T: DeserializeOwned>(&self, prefix: &[Seg]) -> Result<T> {
        let v = get_path(&self.table, prefix).cloned().unwrap_or(toml::Value::Table(Default::default()));
        self.deserialize_value(v, prefix)
    }

    /// Deserialize `value`, which lives at `prefix` in this document; errors are
    /// located in the source files.
    pub fn deserialize_value<T: DeserializeOwned>(&self, value: toml::Value, prefix: &[Seg]) -> Result<T> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path = prefix.to_vec();
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => path.push(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => path.push(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
                }
            }
            self.error_at(&path, &first_line(&e.inner().to_string()))
        })
    }

    /// An [`Error::Input`] about line `line` (0-based) *inside* the multi-line
    /// string value at `path` (used for map rows): names the file's real line.
    pub fn error_in_value(&self, path: &[Seg], line: usize, msg: &str) -> Error {
        let is_override = self.overrides.iter().any(|o| path.starts_with(&o.path));
        if !is_override {
            for s in &self.sources {
                if !path.starts_with(&s.prefix) {
                    continue;
                }
                if let Some((depth, _, voff)) = locate(&s.text, &path[s.prefix.len()..]) {
                    if depth == path.len() - s.prefix.len() {
                        let rest = &s.text[voff..];
                        // A multi-line string drops a newline right after its opening quotes.
                        let skip =
                            ["\"\"\"\n", "\u{27}\u{27}\u{27}\n", "\"\"\"\r\n"].iter().any(|p| rest.starts_with(p));
                        let (l, c) = line_col(&s.text, voff);
                        // Rows are the file's lines only when the string spans them; rows written
                        // with `\n` escapes all sit on the value's own line.
                        let quote = ["\"\"\"", "\u{27}\u{27}\u{27}"].into_iter().find(|q| rest.starts_with(q));
                        let raw_lines = quote.map_or(0, |q| {
                            let body = &rest[3..];
                            body[..body.find(q).unwrap_or(body.len())].matches('\n').count()
                        });
                        if raw_lines >= usize::from(skip) + line {
                            return Error::input(format!(
                                "{}:{}:1: {}: {msg}",
                                s.file.display(),
                                l + usize::from(skip) + line,
                                path_string(path)
                            ));
                        }
                        return Error::input(format!("{}:{l}:{c}: {}: {msg}", s.file.display(), path_string(path)));
                    }
                }
            }
        }
        self.error_at(path, msg)
    }

    /// The source file that defines the key at `path` (the deepest match, as
    /// in [`Doc::error_at`]), to resolve file names written there; `None`
    /// when the key comes from a `--set` override or is not found.
    pub fn defining_file(&self, path: &[Seg]) -> Option<&Path> {
        let mut best: Option<(usize, &Path)> = None;
        for s in &self.sources {
            if !path.starts_with(&s.prefix) {
                continue;
            }
            if let Some((depth, _, _)) = locate(&s.text, &path[s.prefix.len()..]) {
                let score = s.prefix.len() + depth;
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, s.file.as_path()));
                }
            }
        }
        best.map(|(_, f)| f)
    }

    /// An [`Error::Input`] for the key at `path`, located in the source files,
    /// with a did-you-mean hint where the message lists the valid names.
    pub fn error_at(&self, path: &[Seg], msg: &str) -> Error {
        let hint = hint_for(msg);
        let key = path_string(path);
        let keyp = if key.is_empty() { String::new() } else { format!("{key}: ") };
        // A --set override wins: it was applied last.
        for o in self.overrides.iter().rev() {
            if path.starts_with(&o.path) || o.path.starts_with(path) && !path.is_empty() {
                return Error::input(format!("{}: {keyp}{msg}{hint}", o.value));
            }
        }
        // The most specific source (longest prefix) that holds the key.
        let mut best: Option<(usize, String)> = None;
        for s in &self.sources {
            if !path.starts_with(&s.prefix) {
                continue;
            }
            let rel = &path[s.prefix.len()..];
            if let Some((depth, offset, _)) = locate(&s.text, rel) {
                let (l, c) = line_col(&s.text, offset);
                // Deepest match wins; on a tie the earlier (overriding) source.
                let score = s.prefix.len() + depth;
                if best.as_ref().is_none_or(|(b, _)| score > *b) {
                    best = Some((score, format!("{}:{l}:{c}", s.file.display())));
                }
            }
        }
        let place = best.map(|(_, p)| p).unwrap_or_else(|| self.file().display().to_string());
        Error::input(format!("{place}: {keyp}{msg}{hint}"))
    }
}

/// Set `path` in `root` to `value`, creating missing tables; false if the path
/// runs through a non-table or an array index that does not exist.
fn set_in(root: &mut toml::Value, path: &[Seg], value: toml::Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = root;
    for seg in parents {
        cur = match (seg, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => {
                t.entry(k.clone()).or_insert_with(|| toml::Value::Table(Default::default()))
            }
            (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => &mut a[*i],
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), toml::Value::Table(t)) => {
            t.insert(k.clone(), value);
            true
        }
        (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a[*i] = value;
            true
        }
        _ => false,
    }
}

/// The value at `path` in `table`.
pub fn get_path<'a>(table: &'a toml::Table, path: &[Seg]) -> Option<&'a toml::Value> {
    let mut cur: Option<&toml::Value> = None;
    for (i, seg) in path.iter().enumerate() {
        cur = match (seg, cur) {
            (Seg::Key(k), None) if i == 0 => table.get(k),
            (Seg::Key(k), Some(toml::Value::Table(t))) => t.get(k),
            (Seg::Index(j), Some(toml::Value::Array(a))) => a.get(*j),
            _ => None,
        };
        cur?;
    }
    cur
}

/// Byte offset of the key at `path` in TOML `text`: (how many segments
/// matched, offset of the key, offset of its value).
fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut arr: Option<&toml::de::DeArray> = None;
    let mut found = (0usize, 0usize, 0usize);
    for (depth, seg) in path.iter().enumerate() {
        let value: &toml::Spanned<DeValue> = match (seg, arr) {
            (Seg::Key(k), None) => {
                let (key, value) = table.iter().find(|(key, _)| key.get_ref().as_ref() == k.as_str())?;
                found = (depth + 1, key.span().start, value.span().start);
                value
            }
            (Seg::Index(i), Some(a)) => {
                let v = a.get(*i)?;
                found = (depth + 1, v.span().start, v.span().start);
                v
            }
            _ => return Some(found).filter(|f| f.0 > 0),
        };
        match value.get_ref() {
            DeValue::Table(t) => {
                table = t;
                arr = None;
            }
            DeValue::Array(a) => arr = Some(a),
            _ => {
                if depth + 1 < path.len() {
                    return Some(found);
                }
            }
        }
    }
    if found.0 == 0 {
        None
    } else {
        Some(found)
    }
}

/// A did-you-mean / how-to-fix hint for a serde error message.
fn hint_for(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `").or_else(|| msg.strip_prefix("unknown variant `")) {
        let bad = rest.split('`').next().unwrap_or("");
        let valid: Vec<&str> =
            msg.split("expected").nth(1).map(|s| s.split('`').skip(1).step_by(2).collect()).unwrap_or_default();
        if let Some(best) = did_you_mean(bad, &valid) {
            return format!("; did you mean `{best}`?");
        }
        return String::new();
    }
    if msg.contains("invalid type: floating point") && (msg.contains("expected u") || msg.contains("expected i")) {
        return "; write an integer without a decimal point or exponent, e.g. 100_000 instead of 1e5".into();
    }
    String::new()
}

/// The closest of `valid` to `bad` by edit distance, if close enough to be a typo.
pub fn did_you_mean<'a>(bad: &str, valid: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for v in valid {
        let d = strsim::levenshtein(&bad.to_lowercase(), &v.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, v));
        }
    }
    best.filter(|(d, v)| *d <= 2.max(v.len() / 3)).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn map_rows_are_located_on_real_lines() {
        let key = [Seg::Key("map".into())];
        // Rows written with `\n` escapes: all on line 2, never past the end of the file.
        let d = Doc::from_str("e.toml", "gamma = 0.9\nmap = \"..#\\n.xT\"\n").unwrap();
        let m = d.error_in_value(&key, 1, "row 1: bad").to_string();
        assert!(m.starts_with("e.toml:2:7: map: row 1: bad"), "{m}");
        // A multi-line string: row 1 is the file's line 4.
        let d = Doc::from_str("e.toml", "gamma = 0.9\nmap = \"\"\"\n..#\n.xT\n\"\"\"\n").unwrap();
        let m = d.error_in_value(&key, 1, "row 1: bad").to_string();
        assert!(m.starts_with("e.toml:4:1: map: row 1: bad"), "{m}");
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Exp {
        name: String,
        #[serde(default)]
        agents: Vec<Agent>,
        #[serde(default)]
        env: Option<toml::Table>,
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Agent {
        kind: String,
        #[serde(default)]
        tol: f64,
        #[serde(default)]
        sweeps: usize,
    }

    fn err(text: &str) -> String {
        Doc::from_str("e.toml", text).and_then(|d| d.deserialize::<Exp>()).unwrap_err().to_string()
    }

    #[test]
    fn unknown_key_in_array_of_tables_is_located() {
        let e = err("name = 'x'\n\n[[agents]]\nkind = 'vi'\n\n[[agents]]\nkind = 'pi'\n  tool = 1\n");
        assert_eq!(
            e,
            "e.toml:8:3: agents[1].tool: unknown field `tool`, expected one of `kind`, `tol`, `sweeps`; did you mean `tol`?"
        );
    }

    #[test]
    fn float_for_integer_gets_hint() {
        let e = err("name = 'x'\n[[agents]]\nkind = 'vi'\nsweeps = 1e5\n");
        assert!(e.starts_with("e.toml:4:1: agents[0].sweeps: invalid type: floating point"), "{e}");
        assert!(e.contains("100_000"), "{e}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = err("name = 'x'\nagents = [\n");
        assert!(e.starts_with("e.toml:"), "{e}");
        assert!(e.contains("invalid TOML"), "{e}");
    }

    #[test]
    fn missing_field_names_file() {
        let e = err("[[agents]]\nkind = 'vi'\n");
        assert_eq!(e, "e.toml: missing field `name`");
    }

    #[test]
    fn set_overrides_and_reports_flag() {
        let mut d = Doc::from_str("e.toml", "name = 'x'\n[[agents]]\nkind = 'vi'\n").unwrap();
        d.set("agents[0].tol", "0.5").unwrap();
        let x: Exp = d.deserialize().unwrap();
        assert_eq!(x.agents[0].tol, 0.5);
        d.set("agents[0].sweeps", "abc").unwrap();
        let e = d.deserialize::<Exp>().unwrap_err().to_string();
        assert!(e.starts_with("--set agents[0].sweeps=abc: agents[0].sweeps: invalid type: string"), "{e}");
        assert!(d.set("agents[5].tol", "1").is_err());
    }

    #[test]
    fn merged_base_errors_point_into_base_file() {
        let mut d = Doc::from_str("exp.toml", "name = 'x'\n[env]\ngamma = 0.5\n").unwrap();
        let base = Doc::from_str("envs/a.toml", "gamma = 0.9\nsize = 3\n").unwrap();
        d.merge_base_at(&[Seg::Key("env".into())], base).unwrap();
        let t = d.table["env"].as_table().unwrap();
        assert_eq!(t["gamma"].as_float(), Some(0.5));
        assert_eq!(t["size"].as_integer(), Some(3));
        let e = d.error_at(&[Seg::Key("env".into()), Seg::Key("size".into())], "bad");
        assert_eq!(e.to_string(), "envs/a.toml:2:1: env.size: bad");
        let e = d.error_at(&[Seg::Key("env".into()), Seg::Key("gamma".into())], "bad");
        assert_eq!(e.to_string(), "exp.toml:3:1: env.gamma: bad");
    }

    #[test]
    fn parse_key_forms() {
        assert_eq!(
            parse_key("a.b[2].c").unwrap(),
            vec![Seg::Key("a".into()), Seg::Key("b".into()), Seg::Index(2), Seg::Key("c".into())]
        );
        assert!(parse_key("a[x]").is_err());
    }

    #[test]
    fn did_you_mean_thresholds() {
        assert_eq!(did_you_mean("gama", &["gamma", "name"]), Some("gamma"));
        assert_eq!(did_you_mean("zzzzzz", &["gamma", "name"]), None);
    }

    /// Suggestions checked by hand against the edit distances (Levenshtein,
    /// case-insensitive, counted in characters) and the threshold
    /// `max(2, len(candidate) / 3)`.
    #[test]
    fn did_you_mean_hand_checked() {
        let keys = ["kind", "tol", "sweeps", "alpha", "epsilon", "episodes"];
        // "tool" -> "tol": one deletion.
        assert_eq!(did_you_mean("tool", &keys), Some("tol"));
        // Case is ignored: "ALPHA" is "alpha" at distance 0.
        assert_eq!(did_you_mean("ALPHA", &keys), Some("alpha"));
        // "epsilom" -> "epsilon": one substitution.
        assert_eq!(did_you_mean("epsilom", &keys), Some("epsilon"));
        // A transposition costs 2 ("aplha" -> "alpha"), still within 2.
        assert_eq!(did_you_mean("aplha", &keys), Some("alpha"));
        // "episode" is 1 from "episodes" and 2 from "epsilon": the closer wins.
        assert_eq!(did_you_mean("episode", &keys), Some("episodes"));
        // Ties go to the first candidate: "kin" is 1 from "kind" only; "tal" is
        // 1 from "tol" (and 3+ from the rest).
        assert_eq!(did_you_mean("kin", &keys), Some("kind"));
        assert_eq!(did_you_mean("tal", &keys), Some("tol"));
        // "sweepings" -> "sweeps" is 3 > max(2, 6 / 3): no suggestion.
        assert_eq!(did_you_mean("sweepings", &keys), None);
        // Distances count characters, not bytes: "γamma" is 1 from "gamma".
        assert_eq!(did_you_mean("γamma", &["gamma", "name"]), Some("gamma"));
        assert_eq!(did_you_mean("x", &[]), None);
    }
}
