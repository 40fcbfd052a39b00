//! Conversions for the logical types: decimal digits <-> two's complement, calendar dates and
//! times <-> Avro numbers, uuid text <-> 16 bytes. Pure functions, no allocation on the fast
//! paths (decimals up to 38 digits, all dates and times).

use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Decimal
// ---------------------------------------------------------------------------------------------

/// A decimal number as sign, ASCII digits and a power-of-ten exponent:
/// value = (-1)^negative * digits * 10^exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecimalParts<'a> {
    pub negative: bool,
    /// ASCII digits `b'0'..=b'9'`, most significant first, possibly with leading zeros.
    pub digits: std::borrow::Cow<'a, [u8]>,
    /// More digits after `digits` (the fraction of parsed text, kept apart to avoid copying).
    pub frac: &'a [u8],
    pub exponent: i64,
}

/// Parses decimal text: optional sign, digits with at most one `.`, optional exponent `e±N`.
pub(crate) fn parse_decimal_text(text: &str) -> Option<DecimalParts<'_>> {
    let b = text.as_bytes();
    let (negative, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (mantissa, exp_part) = match rest.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut exponent: i64 = 0;
    if let Some(e) = exp_part {
        let s = std::str::from_utf8(e).ok()?;
        if s.is_empty() || s.len() > 10 {
            return None;
        }
        exponent = s.parse::<i64>().ok()?;
    }
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &[][..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return None;
    }
    exponent -= frac_part.len() as i64;
    Some(DecimalParts {
        negative,
        digits: std::borrow::Cow::Borrowed(int_part),
        frac: frac_part,
        exponent,
    })
}

/// Why a decimal does not fit `decimal(precision, scale)`.
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum DecimalFit {
    TooManyFractionDigits,
    TooManyDigits,
    TooLarge,
}

/// Rescales `parts` to `scale` and appends the unscaled value to `out` as MINIMAL-length
/// big-endian two's complement (as Java's `BigInteger.toByteArray`). Errors if it has more fractional digits than `scale`
/// or more than `precision` digits in all.
pub(crate) fn decimal_to_twos(
    parts: &DecimalParts<'_>,
    precision: u32,
    scale: u32,
    out: &mut Vec<u8>,
) -> Result<(), DecimalFit> {
    let all = || parts.digits.iter().chain(parts.frac.iter()).copied();
    let n_all = parts.digits.len() + parts.frac.len();
    let first_nz = all().position(|d| d != b'0');
    let shift = parts.exponent + scale as i64; // zeros to append
    let Some(first_nz) = first_nz else {
        // Zero (any exponent is fine as long as it has no more fraction digits than scale).
        if shift < 0 {
            // 0.000 with scale 2: only zeros beyond scale; still reject for a uniform rule.
            return Err(DecimalFit::TooManyFractionDigits);
        }
        out.push(0);
        return Ok(());
    };
    if shift < 0 {
        return Err(DecimalFit::TooManyFractionDigits);
    }
    let significant = || all().skip(first_nz);
    let total = (n_all - first_nz) as i64 + shift;
    if total > precision as i64 {
        return Err(DecimalFit::TooManyDigits);
    }
    if total <= 38 {
        let mut v: i128 = 0;
        for d in significant() {
            v = v * 10 + (d - b'0') as i128;
        }
        for _ in 0..shift {
            v *= 10;
        }
        if parts.negative {
            v = -v;
        }
        push_i128_minimal(v, out);
        return Ok(());
    }
    // Big path: magnitude in base 256, big-endian, built by multiply-add.
    if total > 4096 {
        return Err(DecimalFit::TooLarge);
    }
    let mut mag: Vec<u8> = vec![0];
    let mut mul_add = |m: u32, a: u32| {
        let mut carry = a;
        for byte in mag.iter_mut().rev() {
            let x = *byte as u32 * m + carry;
            *byte = (x & 0xff) as u8;
            carry = x >> 8;
        }
        while carry > 0 {
            mag.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    };
    for d in significant() {
        mul_add(10, (d - b'0') as u32);
    }
    for _ in 0..shift {
        mul_add(10, 0);
    }
    // Two's complement with a sign bit: prepend 0 when the top bit is set.
    if mag[0] & 0x80 != 0 {
        mag.insert(0, 0);
    }
    if parts.negative {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (x, overflow) = b.overflowing_add(1);
            *b = x;
            if !overflow {
                break;
            }
        }
    }
    minimise_twos(&mut mag);
    out.extend_from_slice(&mag);
    Ok(())
}

fn push_i128_minimal(v: i128, out: &mut Vec<u8>) {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Drops redundant leading sign bytes in place.
fn minimise_twos(v: &mut Vec<u8>) {
    let mut start = 0;
    while start + 1 < v.len() {
        let (b, next) = (v[start], v[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    if start > 0 {
        v.drain(..start);
    }
}

/// Writes big-endian two's complement `bytes` scaled by `scale` as decimal text with exactly
/// `scale` fraction digits ("-0.05", "12.30", "7").
pub fn write_decimal_text(bytes: &[u8], scale: u32, out: &mut String) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut digits_buf = [0u8; 40];
    let digits: std::borrow::Cow<'_, [u8]> = if bytes.len() <= 16 {
        let mut v: i128 = if negative { -1 } else { 0 };
        for &b in bytes {
            v = (v << 8) | b as i128;
        }
        let mut m = v.unsigned_abs();
        let mut i = digits_buf.len();
        loop {
            i -= 1;
            digits_buf[i] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        std::borrow::Cow::Borrowed(&digits_buf[i..])
    } else {
        // Magnitude, then repeated division by 10.
        let mut mag: Vec<u8> = bytes.to_vec();
        if negative {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (x, o) = b.overflowing_add(1);
                *b = x;
                if !o {
                    break;
                }
            }
        }
        let mut out_digits = Vec::new();
        loop {
            let mut rem: u32 = 0;
            let mut all_zero = true;
            for b in mag.iter_mut() {
                let cur = (rem << 8) | *b as u32;
                *b = (cur / 10) as u8;
                rem = cur % 10;
                if *b != 0 {
                    all_zero = false;
                }
            }
            out_digits.push(b'0' + rem as u8);
            if all_zero {
                break;
            }
        }
        out_digits.reverse();
        std::borrow::Cow::Owned(out_digits)
    };
    let is_zero = digits.iter().all(|&d| d == b'0');
    if negative && !is_zero {
        out.push('-');
    }
    let scale = scale as usize;
    if scale == 0 {
        out.push_str(std::str::from_utf8(&digits).unwrap_or("0"));
        return;
    }
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in 0..scale - digits.len() {
            out.push('0');
        }
        out.push_str(std::str::from_utf8(&digits).unwrap_or("0"));
    } else {
        let (i, f) = digits.split_at(digits.len() - scale);
        out.push_str(std::str::from_utf8(i).unwrap_or("0"));
        out.push('.');
        out.push_str(std::str::from_utf8(f).unwrap_or("0"));
    }
}

/// Converts an `i128` unscaled value to the parts representation (for natives that hand one over).
pub(crate) fn i128_parts(unscaled: i128, scale: i64) -> DecimalParts<'static> {
    DecimalParts {
        negative: unscaled < 0,
        digits: std::borrow::Cow::Owned(unscaled.unsigned_abs().to_string().into_bytes()),
        frac: &[],
        exponent: -scale,
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u32)?;
    }
    Some(v)
}

/// Parses "YYYY-MM-DD" (four-digit year) to days since the epoch.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&b[0..4])? as i64, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses "HH:MM:SS" with an optional fraction of 1-9 digits to nanoseconds after midnight.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, mi, se) = (num(&b[0..2])?, num(&b[3..5])?, num(&b[6..8])?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut nanos: i64 = 0;
    if b.len() > 8 {
        if b[8] != b'.' || b.len() == 9 || b.len() > 18 {
            return None;
        }
        let f = &b[9..];
        nanos = num(f)? as i64 * 10i64.pow(9 - f.len() as u32);
    }
    Some(((h as i64 * 60 + mi as i64) * 60 + se as i64) * 1_000_000_000 + nanos)
}

/// Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM]" ('T' or ' ' between). Returns the
/// nanoseconds since the epoch of the wall-clock time converted to UTC, and whether an offset
/// was given.
pub(crate) fn parse_datetime(s: &str) -> Option<(i128, bool)> {
    if s.len() < 19 || !s.is_char_boundary(10) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let days = parse_date(date)?;
    let rb = rest.as_bytes();
    if rb[0] != b'T' && rb[0] != b't' && rb[0] != b' ' {
        return None;
    }
    let rest = &rest[1..];
    let (time, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let nanos = parse_time(time)?;
    let offset_secs: i64 = match offset.as_bytes() {
        [] => 0,
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = num(&[*h1, *h2])?;
            let m = num(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let v = (h * 3600 + m * 60) as i64;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let total =
        (days as i128 * SECS_PER_DAY as i128 - offset_secs as i128) * NANOS_PER_SEC + nanos as i128;
    Some((total, !offset.is_empty()))
}

/// The natural-JSON text of a date/time logical value given as its Avro number; false when the
/// text form cannot show it (years outside 0000-9999, times outside a day): it then stays a
/// number, which reads back to the same bytes.
pub(crate) fn format_temporal(kind: super::plan::TemporalKind, v: i64, out: &mut String) -> bool {
    use super::plan::TemporalKind::*;
    match kind {
        Date => format_date(v, out),
        TimeMillis => format_time(v.saturating_mul(1_000_000), 3, out) && v < 86_400_000,
        TimeMicros => v.checked_mul(1_000).is_some_and(|n| format_time(n, 6, out)),
        TimestampMillis => format_datetime(v as i128 * 1_000_000, 3, true, out),
        TimestampMicros => format_datetime(v as i128 * 1_000, 6, true, out),
        TimestampNanos => format_datetime(v as i128, 9, true, out),
        LocalTimestampMillis => format_datetime(v as i128 * 1_000_000, 3, false, out),
        LocalTimestampMicros => format_datetime(v as i128 * 1_000, 6, false, out),
        LocalTimestampNanos => format_datetime(v as i128, 9, false, out),
    }
}

/// Writes a date as "YYYY-MM-DD"; None when the year is outside 0000..=9999.
pub(crate) fn format_date(days: i64, out: &mut String) -> bool {
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return false;
    }
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    true
}

/// Writes a time of day with `frac` fraction digits (3 or 6); false when out of 0..24h.
pub(crate) fn format_time(nanos: i64, frac: u32, out: &mut String) -> bool {
    if !(0..SECS_PER_DAY * 1_000_000_000).contains(&nanos) {
        return false;
    }
    let secs = nanos / 1_000_000_000;
    let sub = nanos % 1_000_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    write_frac(sub, frac, out);
    true
}

fn write_frac(sub_nanos: i64, frac: u32, out: &mut String) {
    match frac {
        3 => {
            let _ = write!(out, ".{:03}", sub_nanos / 1_000_000);
        }
        6 => {
            let _ = write!(out, ".{:06}", sub_nanos / 1_000);
        }
        9 => {
            let _ = write!(out, ".{:09}", sub_nanos);
        }
        _ => {}
    }
}

/// Writes an instant as RFC 3339 with `frac` fraction digits, with "Z" when `utc`, else without
/// offset (local timestamp). False when the year is outside 0000..=9999.
pub(crate) fn format_datetime(nanos: i128, frac: u32, utc: bool, out: &mut String) -> bool {
    let secs = nanos.div_euclid(NANOS_PER_SEC);
    let sub = nanos.rem_euclid(NANOS_PER_SEC) as i64;
    let days = secs.div_euclid(SECS_PER_DAY as i128);
    let sod = secs.rem_euclid(SECS_PER_DAY as i128) as i64;
    let Ok(days) = i64::try_from(days) else {
        return false;
    };
    if !format_date(days, out) {
        return false;
    }
    let _ = write!(out, "T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
    write_frac(sub, frac, out);
    if utc {
        out.push('Z');
    }
    true
}

// ---------------------------------------------------------------------------------------------
// UUID
// ---------------------------------------------------------------------------------------------

/// Parses the hyphenated 36-character form (either case).
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    // where each byte's two hex digits start in the 36-character form
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    fn hex(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut out = [0u8; 16];
    for (o, &i) in out.iter_mut().zip(AT.iter()) {
        *o = (hex(b[i])? << 4) | hex(b[i + 1])?;
    }
    Some(out)
}

/// The lowercase hyphenated form.
pub(crate) fn format_uuid(u: &[u8; 16], out: &mut [u8; 36]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut j = 0;
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[j] = b'-';
            j += 1;
        }
        out[j] = HEX[(b >> 4) as usize];
        out[j + 1] = HEX[(b & 15) as usize];
        j += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twos(text: &str, p: u32, s: u32) -> Result<Vec<u8>, DecimalFit> {
        let mut out = Vec::new();
        out.clear();
        decimal_to_twos(&parse_decimal_text(text).unwrap(), p, s, &mut out).map(|_| out)
    }

    #[test]
    fn decimal_minimal_twos_complement() {
        assert_eq!(twos("0", 5, 2).unwrap(), vec![0]);
        assert_eq!(twos("1.27", 5, 2).unwrap(), vec![0x7f]);
        assert_eq!(twos("1.28", 5, 2).unwrap(), vec![0x00, 0x80]);
        assert_eq!(twos("-1.28", 5, 2).unwrap(), vec![0x80]);
        assert_eq!(twos("-1.29", 5, 2).unwrap(), vec![0xff, 0x7f]);
        assert_eq!(twos("5", 5, 2).unwrap(), vec![0x01, 0xf4]);
        assert_eq!(twos("1.2e1", 5, 2).unwrap(), twos("12.00", 5, 2).unwrap());
        assert_eq!(twos("1.234", 5, 2), Err(DecimalFit::TooManyFractionDigits));
        assert_eq!(twos("1234.5", 5, 2), Err(DecimalFit::TooManyDigits));
        // Big path agrees with the i128 path.
        let big = "-123456789012345678901234567890123456789012.34";
        let b = twos(big, 60, 2).unwrap();
        let mut s = String::new();
        write_decimal_text(&b, 2, &mut s);
        assert_eq!(s, big);
    }

    #[test]
    fn decimal_text() {
        let mut s = String::new();
        write_decimal_text(&[0xfb], 2, &mut s);
        assert_eq!(s, "-0.05");
        s.clear();
        write_decimal_text(&[0x04, 0xce], 2, &mut s);
        assert_eq!(s, "12.30");
        s.clear();
        write_decimal_text(&[0], 0, &mut s);
        assert_eq!(s, "0");
    }

    #[test]
    fn calendar() {
        for d in [-800_000i64, -1, 0, 1, 59, 20_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(parse_date("2026-11-24"), Some(20_781));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_time("10:00:00.123"), Some(36_000_123_000_000));
        let (n, off) = parse_datetime("2026-05-28T20:26:40.000Z").unwrap();
        assert_eq!((n / 1_000_000, off), (1_780_000_000_000, true));
        let (n2, _) = parse_datetime("2026-05-28T22:26:40+02:00").unwrap();
        assert_eq!(n, n2);
        let mut s = String::new();
        assert!(format_datetime(n, 3, true, &mut s));
        assert_eq!(s, "2026-05-28T20:26:40.000Z");
    }

    #[test]
    fn uuid_roundtrip() {
        let u = parse_uuid("78E51061-7311-48a3-82ce-6f447ed4d57b").unwrap();
        let mut out = [0u8; 36];
        format_uuid(&u, &mut out);
        assert_eq!(std::str::from_utf8(&out).unwrap(), "78e51061-7311-48a3-82ce-6f447ed4d57b");
        assert!(parse_uuid("78e51061-7311-48a3-82ce-6f447ed4d57").is_none());
    }
}
