//! Q32.32 fixed-point numbers: deterministic real arithmetic for scoring.
//!
//! Integer arithmetic is bit-identical on every machine and runs at native speed in WASM; float
//! arithmetic is deterministic here only because the runtime canonicalises NaNs, which costs
//! float-heavy code dearly (`docs/runtime-abi.md`). Challenges score with this type instead.
//! Operations saturate instead of overflowing.

use core::ops::{Add, Div, Mul, Neg, Sub};

/// A Q32.32 fixed-point number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fixed(pub i64);

const FRAC: u32 = 32;

impl Fixed {
    /// 0.
    pub const ZERO: Fixed = Fixed(0);
    /// 1.
    pub const ONE: Fixed = Fixed(1 << FRAC);

    /// The integer `n`.
    pub const fn from_int(n: i32) -> Fixed {
        Fixed((n as i64) << FRAC)
    }

    /// `num / den` (0 when `den` is 0).
    pub fn from_ratio(num: i64, den: i64) -> Fixed {
        if den == 0 {
            return Fixed::ZERO;
        }
        Fixed(saturate((i128::from(num) << FRAC) / i128::from(den)))
    }

    /// Absolute value.
    pub fn abs(self) -> Fixed {
        Fixed(self.0.saturating_abs())
    }

    /// The value in parts per billion, clamped to 0..=1e9 (1.0 = 1e9).
    pub fn to_ppb(self) -> u32 {
        let ppb = (i128::from(self.0) * 1_000_000_000) >> FRAC;
        ppb.clamp(0, 1_000_000_000) as u32
    }

    /// Parses a decimal like `-12.375`, `3`, `+0.5` (at most 9 fraction digits are used).
    pub fn parse(text: &str) -> Option<Fixed> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut int: i64 = 0;
        for b in int_part.bytes() {
            if !b.is_ascii_digit() {
                return None;
            }
            int = int.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        }
        if int > i64::from(i32::MAX) {
            return None;
        }
        let (mut num, mut den) = (0i64, 1i64);
        for (i, b) in frac_part.bytes().enumerate() {
            if !b.is_ascii_digit() {
                return None;
            }
            if i < 9 {
                num = num * 10 + i64::from(b - b'0');
                den *= 10;
            }
        }
        let value = Fixed(int << FRAC) + Fixed::from_ratio(num, den);
        Some(if negative { -value } else { value })
    }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl Add for Fixed {
    type Output = Fixed;
    fn add(self, other: Fixed) -> Fixed {
        Fixed(self.0.saturating_add(other.0))
    }
}

impl Sub for Fixed {
    type Output = Fixed;
    fn sub(self, other: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(other.0))
    }
}

impl Mul for Fixed {
    type Output = Fixed;
    fn mul(self, other: Fixed) -> Fixed {
        Fixed(saturate((i128::from(self.0) * i128::from(other.0)) >> FRAC))
    }
}

/// Division saturates at the extremes, also on division by 0.
impl Div for Fixed {
    type Output = Fixed;
    fn div(self, other: Fixed) -> Fixed {
        if other.0 == 0 {
            return if self.0 >= 0 { Fixed(i64::MAX) } else { Fixed(i64::MIN) };
        }
        Fixed(saturate((i128::from(self.0) << FRAC) / i128::from(other.0)))
    }
}

impl Neg for Fixed {
    type Output = Fixed;
    fn neg(self) -> Fixed {
        Fixed(self.0.saturating_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_computes() {
        assert_eq!(Fixed::parse("1"), Some(Fixed::ONE));
        assert_eq!(Fixed::parse("-2.5"), Some(-Fixed::from_ratio(5, 2)));
        assert_eq!(Fixed::parse(".25"), Some(Fixed::from_ratio(1, 4)));
        assert_eq!(Fixed::parse("x"), None);
        assert_eq!(Fixed::parse("-"), None);
        assert_eq!(Fixed::parse("1.2.3"), None);
        assert_eq!(Fixed::from_ratio(3, 2) * Fixed::from_int(4), Fixed::from_int(6));
        assert_eq!(Fixed::from_int(1) / Fixed::from_int(4), Fixed::from_ratio(1, 4));
        assert_eq!(Fixed::from_ratio(1, 2).to_ppb(), 500_000_000);
        assert_eq!(Fixed::from_int(-1).to_ppb(), 0);
        assert_eq!(Fixed(i64::MAX) + Fixed::ONE, Fixed(i64::MAX));
    }
}
