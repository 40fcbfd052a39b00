//! The decoder: walks a read plan over an Avro body, building native values through a
//! [`ValueBuilder`].
use super::encode::MAX_DEPTH;
use super::plan::CompiledSchema;
use crate::error::{Error, Result};

use super::builder::{RecordInfo, Skip, UnionBranch, ValueBuilder};
use super::resolve::{RField, RNode, RRecord, ReadPlan};

/// Most items an array or map of zero-byte values (nulls, empty records) may claim.
pub const MAX_ZERO_SIZE_ITEMS: u64 = 1 << 20;

pub(crate) fn run<B: ValueBuilder>(
    plan: &ReadPlan,
    reader: &CompiledSchema,
    body: &[u8],
    b: &mut B,
) -> Result<B::Value> {
    let mut d = Dec { buf: body, pos: 0, plan, reader };
    let v = d.read(plan.root, b, 0)?;
    if d.pos != body.len() {
        return Err(Error::decode(format!(
            "{} trailing bytes after the value",
            body.len() - d.pos
        )));
    }
    Ok(v)
}

struct Dec<'a, 'p> {
    buf: &'a [u8],
    pos: usize,
    plan: &'p ReadPlan,
    reader: &'p CompiledSchema,
}

fn truncated() -> Error {
    Error::decode("truncated: the body ends inside a value")
}

impl<'a, 'p> Dec<'a, 'p> {
    #[inline]
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    fn long(&mut self) -> Result<i64> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(truncated());
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Error::decode("varint overflows 64 bits"));
            }
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::decode("varint overflows 64 bits"));
            }
        }
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    #[inline]
    fn int(&mut self) -> Result<i32> {
        let v = self.long()?;
        i32::try_from(v)
            .map_err(|_| Error::decode(format!("int value {v} outside the 32-bit range")))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(truncated());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.long()?;
        if n < 0 {
            return Err(Error::decode(format!("negative length {n}")));
        }
        if n as u64 > self.remaining() as u64 {
            return Err(Error::decode(format!(
                "length {n} exceeds the {} remaining bytes",
                self.remaining()
            )));
        }
        self.take(n as usize)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str> {
        let b = self.len_prefixed()?;
        std::str::from_utf8(b).map_err(|e| Error::decode(format!("invalid UTF-8 in a string: {e}")))
    }

    fn f32(&mut self) -> Result<f32> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// Reads a block count; returns (count, remaining bytes check done).
    fn block(&mut self, zero_size: bool, total: &mut u64) -> Result<u64> {
        let c = self.long()?;
        let count = if c < 0 {
            let _size = self.long()?;
            c.unsigned_abs()
        } else {
            c as u64
        };
        *total = total.saturating_add(count);
        if zero_size {
            if *total > MAX_ZERO_SIZE_ITEMS {
                return Err(Error::decode(format!(
                    "more than {MAX_ZERO_SIZE_ITEMS} zero-size items"
                )));
            }
        } else if count > self.remaining() as u64 {
            return Err(Error::decode(format!(
                "block count {count} exceeds the {} remaining bytes",
                self.remaining()
            )));
        }
        Ok(count)
    }

    /// Dispatcher kept small: in debug builds big match frames would multiply by the nesting
    /// depth, so leaves and each container kind live in their own functions.
    fn read<B: ValueBuilder>(&mut self, r: u32, b: &mut B, depth: u32) -> Result<B::Value> {
        let plan = self.plan;
        match &plan.nodes[r as usize] {
            RNode::Array(item) => self.read_array(*item, b, depth),
            RNode::Map(val) => self.read_map(*val, b, depth),
            RNode::Record(rec) => self.read_record(rec, b, depth),
            RNode::WriterUnion(branches) => self.read_writer_union(branches, b, depth),
            RNode::ReaderUnion { union, index, inner } => {
                let v = self.read(*inner, b, depth)?;
                let ub = UnionBranch { schema: self.reader, union: *union, index: *index as usize };
                b.union_value(&ub, v)
            }
            leaf => self.read_leaf(leaf, b),
        }
    }

    fn read_leaf<B: ValueBuilder>(&mut self, node: &RNode, b: &mut B) -> Result<B::Value> {
        match node {
            RNode::Null => b.null(),
            RNode::Boolean => match self.take(1)?[0] {
                0 => b.boolean(false),
                1 => b.boolean(true),
                x => Err(Error::decode(format!("boolean byte {x:#04x}"))),
            },
            RNode::Int => {
                let v = self.int()?;
                b.int(v)
            }
            RNode::Long => {
                let v = self.long()?;
                b.long(v)
            }
            RNode::Float => {
                let v = self.f32()?;
                b.float(v)
            }
            RNode::Double => {
                let v = self.f64()?;
                b.double(v)
            }
            RNode::Bytes | RNode::StringAsBytes => {
                let v = self.len_prefixed()?;
                b.bytes(v)
            }
            RNode::String | RNode::BytesAsString => {
                let v = self.str()?;
                b.string(v)
            }
            RNode::IntAsLong => {
                let v = self.int()?;
                b.long(v as i64)
            }
            RNode::IntAsFloat => {
                let v = self.int()?;
                b.float(v as f32)
            }
            RNode::IntAsDouble => {
                let v = self.int()?;
                b.double(v as f64)
            }
            RNode::LongAsFloat => {
                let v = self.long()?;
                b.float(v as f32)
            }
            RNode::LongAsDouble => {
                let v = self.long()?;
                b.double(v as f64)
            }
            RNode::FloatAsDouble => {
                let v = self.f32()?;
                b.double(v as f64)
            }
            RNode::Fixed(size) => {
                let v = self.take(*size)?;
                b.fixed(v)
            }
            RNode::Enum(e) => {
                let i = self.long()?;
                let ri = usize::try_from(i).ok().and_then(|i| e.map.get(i).copied());
                match ri {
                    Some(Some(ri)) => b.enum_symbol(ri, &e.symbols[ri as usize]),
                    Some(None) => Err(Error::decode(format!(
                        "enum symbol {i} is unknown to the reader and it has no default"
                    ))),
                    None => Err(Error::decode(format!("enum index {i} out of range"))),
                }
            }
            RNode::Decimal { precision, scale, fixed } => {
                let v = match fixed {
                    Some(size) => self.take(*size)?,
                    None => self.len_prefixed()?,
                };
                b.decimal(v, *precision, *scale)
            }
            RNode::UuidString => {
                let s = self.str()?;
                match super::logical::parse_uuid(s) {
                    Some(u) => b.uuid(&u),
                    None => Err(Error::decode(format!("uuid field holds {s:?}"))),
                }
            }
            RNode::UuidFixed => {
                let v = self.take(16)?;
                let mut u = [0u8; 16];
                u.copy_from_slice(v);
                b.uuid(&u)
            }
            RNode::Temporal { kind, writer_int } => {
                let v = if *writer_int { self.int()? as i64 } else { self.long()? };
                b.temporal(*kind, v)
            }
            RNode::Fail(why) => Err(Error::decode(why.to_string())),
            _ => Err(Error::Internal { reason: "read plan: container reached read_leaf".into() }),
        }
    }

    fn read_array<B: ValueBuilder>(
        &mut self,
        item: u32,
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let plan = self.plan;
        let depth = self.deeper(depth)?;
        let zero = plan.zero_size[item as usize];
        let mut total = 0;
        let mut count = self.block(zero, &mut total)?;
        let mut arr = b.array_start((count as usize).min(self.remaining()).min(1024))?;
        while count != 0 {
            for _ in 0..count {
                let v = self.read(item, b, depth)?;
                b.array_push(&mut arr, v)?;
            }
            count = self.block(zero, &mut total)?;
        }
        b.array_end(arr)
    }

    fn read_map<B: ValueBuilder>(&mut self, val: u32, b: &mut B, depth: u32) -> Result<B::Value> {
        let depth = self.deeper(depth)?;
        let mut total = 0;
        // Every entry has at least its key's length byte, so counts are bounded.
        let mut count = self.block(false, &mut total)?;
        let mut map = b.map_start((count as usize).min(self.remaining()).min(1024))?;
        while count != 0 {
            for _ in 0..count {
                let k = self.str()?;
                let v = self.read(val, b, depth)?;
                b.map_insert(&mut map, k, v)?;
            }
            count = self.block(false, &mut total)?;
        }
        b.map_end(map)
    }

    fn read_record<B: ValueBuilder>(
        &mut self,
        rec: &RRecord,
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let depth = self.deeper(depth)?;
        let info = RecordInfo { name: &rec.name, field_count: rec.field_count, id: rec.node };
        let mut out = b.record_start(&info)?;
        for f in &rec.fields {
            match f {
                RField::Read { index, name, r } => {
                    let v = self.read(*r, b, depth)?;
                    b.record_field(&mut out, *index as usize, name, v)?;
                }
                RField::Skip(r) => {
                    self.read(*r, &mut Skip, depth)?;
                }
            }
        }
        for d in &rec.defaults {
            let Some(bytes) = &d.bytes else {
                return Err(Error::decode(format!(
                    "reader field {}.{} is not in the writer schema and has no default",
                    rec.name, d.name
                )));
            };
            let mut sub = Dec { buf: bytes, pos: 0, plan: self.plan, reader: self.reader };
            let v = sub.read(d.r, b, depth)?;
            b.record_field(&mut out, d.index as usize, &d.name, v)?;
        }
        b.record_end(out)
    }

    fn read_writer_union<B: ValueBuilder>(
        &mut self,
        branches: &[u32],
        b: &mut B,
        depth: u32,
    ) -> Result<B::Value> {
        let i = self.long()?;
        match usize::try_from(i).ok().and_then(|i| branches.get(i)) {
            Some(&br) => {
                let depth = self.deeper(depth)?;
                self.read(br, b, depth)
            }
            None => Err(Error::decode(format!(
                "union index {i} out of range ({} branches)",
                branches.len()
            ))),
        }
    }

    #[inline]
    fn deeper(&self, depth: u32) -> Result<u32> {
        if depth >= MAX_DEPTH {
            return Err(Error::decode(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(depth + 1)
    }
}
