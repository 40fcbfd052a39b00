//! Reader/writer compatibility after the Avro specification's schema resolution rules
//! ("Schema Resolution"), as Confluent's BACKWARD/FORWARD/FULL levels apply them: can a reader
//! using one schema read every datum written with the other?

use apache_avro::schema::{Alias, EnumSchema, Name, RecordSchema};
use apache_avro::Schema;

use super::names::{root_path, Base, Side};
use super::{Guard, Violation, ViolationKind as K};

/// All violations met when `reader` reads data written with `writer`. `reader_is_new` says
/// which of the two is the new schema, so every message reads "from old to new".
pub(super) fn check(reader: &Schema, writer: &Schema, reader_is_new: bool) -> Vec<Violation> {
    let mut c = Checker {
        reader: Side::new(reader),
        writer: Side::new(writer),
        reader_is_new,
        guard: Guard::default(),
    };
    let new_side = if reader_is_new { &c.reader } else { &c.writer };
    let root = root_path(new_side, if reader_is_new { reader } else { writer });
    let mut out = Vec::new();
    c.check(reader, writer, &root, &mut out);
    c.guard.finish(&root, &mut out);
    out
}

struct Checker<'a> {
    reader: Side<'a>,
    writer: Side<'a>,
    reader_is_new: bool,
    guard: Guard,
}

impl<'a> Checker<'a> {
    fn push(
        &self,
        out: &mut Vec<Violation>,
        path: &str,
        kind: super::ViolationKind,
        message: String,
    ) {
        out.push(Violation { path: path.to_string(), kind, message });
    }

    /// (old, new) descriptions of the reader's and writer's types.
    fn old_new(&self, r: &'a Schema, w: &'a Schema) -> (String, String) {
        let rd = self.reader.describe(r);
        let wd = self.writer.describe(w);
        if self.reader_is_new {
            (wd, rd)
        } else {
            (rd, wd)
        }
    }

    fn type_changed(&self, r: &'a Schema, w: &'a Schema, path: &str, out: &mut Vec<Violation>) {
        let (old, new) = self.old_new(r, w);
        self.push(out, path, K::TypeChanged, format!("type changed from {old} to {new}"));
    }

    /// Would the reader read the writer's data without any violation?
    fn readable(&mut self, r: &'a Schema, w: &'a Schema, path: &str) -> bool {
        let mut scratch = Vec::new();
        self.check(r, w, path, &mut scratch);
        scratch.is_empty()
    }

    fn check(&mut self, r: &'a Schema, w: &'a Schema, path: &str, out: &mut Vec<Violation>) {
        if self.guard.tick() {
            return;
        }
        let rb = self.reader.base(r);
        let wb = self.writer.base(w);
        match (&rb, &wb) {
            (_, Base::Union(wbranches)) => self.writer_union(r, &rb, wbranches, w, path, out),
            (Base::Union(rbranches), _) => self.reader_union(rbranches, w, &wb, r, path, out),
            _ => self.plain(r, &rb, w, &wb, path, out),
        }
    }

    /// Writer union: every branch the writer may have used must be readable.
    fn writer_union(
        &mut self,
        r: &'a Schema,
        rb: &Base<'a>,
        wbranches: &'a [Schema],
        w: &'a Schema,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        match rb {
            Base::Union(rbranches) => {
                for wbr in wbranches {
                    let bpath = format!("{path}<{}>", self.writer.label(wbr));
                    if rbranches.iter().any(|rbr| self.readable(rbr, wbr, &bpath)) {
                        continue;
                    }
                    let wkind = self.writer.base(wbr);
                    let twin =
                        rbranches.iter().find(|rbr| same_type(&self.reader.base(rbr), &wkind));
                    if let Some(rbr) = twin {
                        self.check(rbr, wbr, &bpath, out);
                    } else {
                        let label = self.writer.describe(wbr);
                        let upath = format!("{path}<union>");
                        if self.reader_is_new {
                            self.push(
                                out,
                                &upath,
                                K::UnionBranchRemoved,
                                format!("union branch {label} removed"),
                            );
                        } else {
                            self.push(
                                out,
                                &upath,
                                K::UnionBranchAdded,
                                format!("union branch {label} added; readers of the previous schema cannot read it"),
                            );
                        }
                    }
                }
            }
            _ => {
                // The reader is not a union: each writer branch must resolve against it.
                let mut unreadable = Vec::new();
                for wbr in wbranches {
                    let bpath = format!("{path}<{}>", self.writer.label(wbr));
                    if self.readable(r, wbr, &bpath) {
                        continue;
                    }
                    if same_type(rb, &self.writer.base(wbr)) {
                        self.check(r, wbr, &bpath, out);
                    } else {
                        unreadable.push(self.writer.describe(wbr));
                    }
                }
                if !unreadable.is_empty() {
                    let (old, new) = self.old_new(r, w);
                    let what =
                        if self.reader_is_new { "the new schema" } else { "the previous schema" };
                    self.push(
                        out,
                        path,
                        K::TypeChanged,
                        format!(
                            "type changed from {old} to {new}; {what} cannot read branch {}",
                            unreadable.join(", ")
                        ),
                    );
                }
            }
        }
    }

    /// Reader union, writer not: some reader branch must accept the writer's type.
    fn reader_union(
        &mut self,
        rbranches: &'a [Schema],
        w: &'a Schema,
        wb: &Base<'a>,
        r: &'a Schema,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        for rbr in rbranches {
            let bpath = format!("{path}<{}>", self.reader.label(rbr));
            if self.readable(rbr, w, &bpath) {
                return;
            }
        }
        let twin = rbranches.iter().find(|rbr| same_type(&self.reader.base(rbr), wb));
        if let Some(rbr) = twin {
            let bpath = format!("{path}<{}>", self.reader.label(rbr));
            self.check(rbr, w, &bpath, out);
        } else {
            self.type_changed(r, w, path, out);
        }
    }

    fn plain(
        &mut self,
        r: &'a Schema,
        rb: &Base<'a>,
        w: &'a Schema,
        wb: &Base<'a>,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        use Base as B;
        match (rb, wb) {
            (B::Null, B::Null) | (B::Boolean, B::Boolean) => {}
            // The promotions of the specification: int -> long, float, double; long -> float,
            // double; float -> double; string <-> bytes.
            (B::Int, B::Int)
            | (B::Long, B::Int | B::Long)
            | (B::Float, B::Int | B::Long | B::Float)
            | (B::Double, B::Int | B::Long | B::Float | B::Double)
            | (B::Bytes, B::Bytes | B::String)
            | (B::String, B::String | B::Bytes) => self.decimal(r, w, path, out),
            (B::Array(ri), B::Array(wi)) => self.check(ri, wi, &format!("{path}[]"), out),
            (B::Map(rv), B::Map(wv)) => self.check(rv, wv, &format!("{path}{{}}"), out),
            (B::Record(rr), B::Record(wr)) => self.record(rr, wr, path, out),
            (B::Enum(re), B::Enum(we)) => self.enumeration(re, we, path, out),
            (B::Fixed(rf, rsize), B::Fixed(wf, wsize)) => {
                if let (Some(rf), Some(wf)) = (rf, wf) {
                    self.name(&rf.name, rf.aliases.as_deref(), &wf.name, path, out);
                }
                if rsize != wsize {
                    let (old, new) =
                        if self.reader_is_new { (wsize, rsize) } else { (rsize, wsize) };
                    self.push(
                        out,
                        path,
                        K::FixedSizeChanged,
                        format!("fixed size changed from {old} to {new}"),
                    );
                } else {
                    self.decimal(r, w, path, out);
                }
            }
            (B::Opaque(rn), B::Opaque(wn)) => self.name(rn, None, wn, path, out),
            _ => self.type_changed(r, w, path, out),
        }
    }

    /// Decimal parameters: the underlying types already match. A different scale reads every
    /// value wrong by a power of ten, a smaller reader precision may not hold the writer's
    /// values: both are reported (Confluent ignores logical types here; see docs/compat.md).
    fn decimal(&mut self, r: &'a Schema, w: &'a Schema, path: &str, out: &mut Vec<Violation>) {
        let (Schema::Decimal(rd), Schema::Decimal(wd)) =
            (self.reader.deref(r), self.writer.deref(w))
        else {
            return;
        };
        let (old, new) = if self.reader_is_new { (wd, rd) } else { (rd, wd) };
        if rd.scale != wd.scale {
            self.push(
                out,
                path,
                K::DecimalChanged,
                format!(
                    "decimal scale changed from {} to {} (decimal({},{}) to decimal({},{}))",
                    old.scale, new.scale, old.precision, old.scale, new.precision, new.scale
                ),
            );
        } else if rd.precision < wd.precision {
            let message = if self.reader_is_new {
                format!("decimal precision reduced from {} to {}", old.precision, new.precision)
            } else {
                format!(
                    "decimal precision increased from {} to {}; readers of the previous schema cannot hold the new values",
                    old.precision, new.precision
                )
            };
            self.push(out, path, K::DecimalChanged, message);
        }
    }

    /// Named types match by unqualified name, or when one of the reader's aliases names the
    /// writer's type.
    fn name(
        &self,
        rname: &Name,
        raliases: Option<&[Alias]>,
        wname: &Name,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        if names_match(rname, raliases, wname) {
            return;
        }
        let (old, new) = if self.reader_is_new { (wname, rname) } else { (rname, wname) };
        self.push(out, path, K::NameChanged, format!("name changed from {old} to {new}"));
    }

    fn record(
        &mut self,
        r: &'a RecordSchema,
        w: &'a RecordSchema,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let key = (r as *const RecordSchema as usize, w as *const RecordSchema as usize);
        if !self.guard.enter(key, path, out) {
            return;
        }
        let mut local = Vec::new();
        self.name(&r.name, r.aliases.as_deref(), &w.name, path, &mut local);
        for rf in &r.fields {
            let wf = w.fields.iter().find(|f| f.name == rf.name).or_else(|| {
                rf.aliases
                    .iter()
                    .flatten()
                    .find_map(|alias| w.fields.iter().find(|f| &f.name == alias))
            });
            match wf {
                Some(wf) => {
                    let shown = if self.reader_is_new { &rf.name } else { &wf.name };
                    self.check(&rf.schema, &wf.schema, &format!("{path}.{shown}"), &mut local);
                }
                None if rf.default.is_some() => {}
                None => {
                    let fpath = format!("{path}.{}", rf.name);
                    if self.reader_is_new {
                        self.push(
                            &mut local,
                            &fpath,
                            K::FieldAddedWithoutDefault,
                            "field added without a default".into(),
                        );
                    } else {
                        self.push(
                            &mut local,
                            &fpath,
                            K::FieldRemoved,
                            "field removed, and the previous schema has no default for it".into(),
                        );
                    }
                }
            }
        }
        self.guard.leave(path, local, out);
    }

    fn enumeration(
        &mut self,
        r: &'a EnumSchema,
        w: &'a EnumSchema,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        self.name(&r.name, r.aliases.as_deref(), &w.name, path, out);
        let has_default = r.default.as_ref().is_some_and(|d| r.symbols.contains(d));
        if has_default {
            return;
        }
        for symbol in w.symbols.iter().filter(|s| !r.symbols.contains(s)) {
            if self.reader_is_new {
                self.push(out, path, K::EnumSymbolRemoved, format!("enum symbol {symbol} removed"));
            } else {
                self.push(
                    out,
                    path,
                    K::EnumSymbolAdded,
                    format!("enum symbol {symbol} added; the previous schema cannot read it (its enum has no default)"),
                );
            }
        }
    }
}

/// The branch to explain when no reader branch accepts a writer branch: the same named type,
/// or the same kind of unnamed type.
fn same_type(a: &Base<'_>, b: &Base<'_>) -> bool {
    if !a.same_kind(b) {
        return false;
    }
    match (a.short_name(), b.short_name()) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

pub(super) fn names_match(rname: &Name, raliases: Option<&[Alias]>, wname: &Name) -> bool {
    rname.name == wname.name
        || raliases
            .unwrap_or_default()
            .iter()
            .any(|a| a.fully_qualified_name(&rname.namespace) == *wname || a.name() == wname.name)
}
