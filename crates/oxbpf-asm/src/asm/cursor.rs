//! A cursor over one line of assembly text: whitespace skipping, literals, numbers,
//! registers and identifiers, each failure an [`AsmError`] pointing at the column.

use super::AsmError;

/// Position in one line; `pos` is a byte offset that always sits on a char boundary.
#[derive(Debug, Clone)]
pub(super) struct Cursor<'a> {
    pub(super) s: &'a str,
    pub(super) pos: usize,
    pub(super) line: usize,
}

/// A register operand: number and whether it was spelled `wN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reg {
    pub(super) n: u8,
    pub(super) w: bool,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a str, line: usize) -> Self {
        Cursor { s, pos: 0, line }
    }

    pub(super) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    pub(super) fn at_end(&mut self) -> bool {
        self.ws();
        self.rest().is_empty()
    }

    /// An error at the current position (after whitespace).
    pub(super) fn err(&mut self, message: impl Into<String>) -> AsmError {
        self.ws();
        self.err_at(self.pos, message)
    }

    pub(super) fn err_at(&self, pos: usize, message: impl Into<String>) -> AsmError {
        let column = self.s.get(..pos).map_or(pos, |p| p.chars().count()) + 1;
        AsmError {
            line: self.line,
            column,
            message: message.into(),
        }
    }

    /// What stands at the cursor, for messages: a word, a character, or end of line.
    pub(super) fn found(&mut self) -> String {
        self.ws();
        let r = self.rest();
        let Some(c) = r.chars().next() else {
            return "end of line".to_string();
        };
        let word: String = if is_ident_char(c) {
            r.chars().take_while(|&c| is_ident_char(c)).collect()
        } else {
            c.to_string()
        };
        format!("{word:?}")
    }

    /// An "expected X, found Y" error at the cursor.
    pub(super) fn expected(&mut self, what: &str) -> AsmError {
        let found = self.found();
        self.err(format!("expected {what}, found {found}"))
    }

    /// Consumes `lit` (after whitespace) if it is next.
    pub(super) fn eat(&mut self, lit: &str) -> bool {
        self.ws();
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `kw` if it is next and not followed by an identifier char.
    pub(super) fn eat_word(&mut self, kw: &str) -> bool {
        self.ws();
        let r = self.rest();
        if r.starts_with(kw) && !r[kw.len()..].starts_with(is_ident_char) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, lit: &str) -> Result<(), AsmError> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.expected(&format!("{lit:?}")))
        }
    }

    pub(super) fn expect_end(&mut self) -> Result<(), AsmError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.expected("end of line"))
        }
    }

    /// An identifier (`[A-Za-z_.][A-Za-z0-9_.$]*`), if one is next.
    pub(super) fn ident(&mut self) -> Option<&'a str> {
        self.ws();
        let r = self.rest();
        if !r.starts_with(is_ident_start) {
            return None;
        }
        let len = r.find(|c: char| !is_ident_char(c)).unwrap_or(r.len());
        self.pos += len;
        Some(&r[..len])
    }

    /// A register `r0`..`r11` or `w0`..`w11`, if one is next (a longer identifier such
    /// as `r1x` is not a register).
    pub(super) fn try_reg(&mut self) -> Result<Option<Reg>, AsmError> {
        self.ws();
        let start = self.pos;
        let r = self.rest();
        let w = match r.chars().next() {
            Some('r') => false,
            Some('w') => true,
            _ => return Ok(None),
        };
        let digits = &r[1..];
        let n = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if n == 0 || digits[n..].starts_with(is_ident_char) {
            return Ok(None);
        }
        match digits[..n].parse::<u8>() {
            Ok(v) if v <= crate::REG_AX => {
                self.pos += 1 + n;
                Ok(Some(Reg { n: v, w }))
            }
            _ => Err(self.err_at(
                start,
                format!("expected a register, found {:?}", &r[..1 + n]),
            )),
        }
    }

    pub(super) fn reg(&mut self) -> Result<Reg, AsmError> {
        match self.try_reg()? {
            Some(r) => Ok(r),
            None => Err(self.expected("a register")),
        }
    }

    /// A `rN` register (64-bit spelling required).
    pub(super) fn reg64(&mut self) -> Result<u8, AsmError> {
        let start = {
            self.ws();
            self.pos
        };
        let r = self.reg()?;
        if r.w {
            return Err(self.err_at(start, format!("expected an r register, found \"w{}\"", r.n)));
        }
        Ok(r.n)
    }

    /// A number: optional sign, then decimal or `0x` hex. `None` if no digit is next.
    pub(super) fn try_num(&mut self) -> Result<Option<i128>, AsmError> {
        self.ws();
        let start = self.pos;
        let r = self.rest();
        let (neg, body) = match r.as_bytes().first() {
            Some(b'-') => (true, &r[1..]),
            Some(b'+') => (false, &r[1..]),
            _ => (false, r),
        };
        let sign_len = r.len() - body.len();
        let (radix, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(h) => (16, h),
            None => (10, body),
        };
        let n = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if n == 0 {
            if radix == 16 {
                return Err(self.err_at(start, "expected hex digits after \"0x\""));
            }
            return Ok(None);
        }
        if digits[n..].starts_with(is_ident_char) {
            let len = sign_len + (body.len() - digits.len()) + n;
            let bad: String = r[len..].chars().take_while(|&c| is_ident_char(c)).collect();
            return Err(self.err_at(
                start,
                format!(
                    "expected a number, found {:?}",
                    format!("{}{bad}", &r[..len])
                ),
            ));
        }
        let Ok(v) = i128::from_str_radix(&digits[..n], radix) else {
            return Err(self.err_at(start, "number too large"));
        };
        self.pos += sign_len + (body.len() - digits.len()) + n;
        Ok(Some(if neg { -v } else { v }))
    }

    pub(super) fn num(&mut self) -> Result<(i128, usize), AsmError> {
        self.ws();
        let at = self.pos;
        match self.try_num()? {
            Some(v) => Ok((v, at)),
            None => Err(self.expected("a number")),
        }
    }

    /// A number in `lo..=hi`.
    pub(super) fn num_in(&mut self, lo: i128, hi: i128, what: &str) -> Result<i128, AsmError> {
        let (v, at) = self.num()?;
        if v < lo || v > hi {
            return Err(self.err_at(at, format!("{what} {v} out of range {lo}..={hi}")));
        }
        Ok(v)
    }

    /// A 32-bit immediate: `i32` range, or `u32` range reinterpreted.
    pub(super) fn imm32(&mut self) -> Result<i32, AsmError> {
        let v = self.num_in(i128::from(i32::MIN), i128::from(u32::MAX), "immediate")?;
        Ok(v as u32 as i32)
    }

    /// A signed 16-bit offset.
    pub(super) fn off16(&mut self) -> Result<i16, AsmError> {
        let v = self.num_in(i128::from(i16::MIN), i128::from(i16::MAX), "offset")?;
        Ok(v as i16)
    }

    /// `uN`/`sN` size spelled in `*(u32 *)`: returns (signed, size).
    pub(super) fn size(&mut self) -> Result<(bool, crate::Size), AsmError> {
        use crate::Size;
        self.ws();
        let signed = match self.peek() {
            Some('u') => false,
            Some('s') => true,
            _ => return Err(self.expected("a size (u8, u16, u32, u64)")),
        };
        let at = self.pos;
        self.pos += 1;
        let size = if self.eat("64") {
            Size::DW
        } else if self.eat("32") {
            Size::W
        } else if self.eat("16") {
            Size::H
        } else if self.eat("8") {
            Size::B
        } else {
            self.pos = at;
            return Err(self.expected("a size (u8, u16, u32, u64)"));
        };
        Ok((signed, size))
    }

    /// `rN + off` / `rN - off` (inside an address): base register and offset.
    pub(super) fn addr(&mut self) -> Result<(u8, i16), AsmError> {
        let base = self.reg64()?;
        self.ws();
        let neg = if self.eat("+") {
            false
        } else if self.eat("-") {
            true
        } else {
            return Ok((base, 0));
        };
        let (v, at) = self.num()?;
        let v = if neg { -v } else { v };
        if v < i128::from(i16::MIN) || v > i128::from(i16::MAX) {
            return Err(self.err_at(at, format!("offset {v} out of range -32768..=32767")));
        }
        Ok((base, v as i16))
    }
}
