//! Reading back the Python source [`render_command`](crate::render_command) writes: the
//! other half of the round-trip the property tests check, and a way to recover the values
//! of a stored command.

use crate::command::MAX_NESTING;
use crate::{Error, PyValue};

/// A parsed `task(key=value, ...)` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCommand {
    /// The task name.
    pub task: String,
    /// The keyword arguments, in order.
    pub params: Vec<(String, PyValue)>,
}

/// Parses a complete command.
pub fn parse_command(text: &str) -> Result<ParsedCommand, Error> {
    let mut p = Parser { text, pos: 0 };
    let task = p.identifier()?;
    p.expect('(')?;
    let mut params = Vec::new();
    p.skip_ws();
    if !p.eat(')') {
        loop {
            p.skip_ws();
            let key = p.identifier()?;
            p.skip_ws();
            p.expect('=')?;
            let value = p.value(0)?;
            params.push((key, value));
            p.skip_ws();
            if p.eat(')') {
                break;
            }
            p.expect(',')?;
        }
    }
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.error("trailing text after the call"));
    }
    Ok(ParsedCommand { task, params })
}

/// Parses one Python literal value.
pub fn parse_value(text: &str) -> Result<PyValue, Error> {
    let mut p = Parser { text, pos: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.error("trailing text after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> Error {
        Error::Parse {
            offset: self.pos,
            reason: reason.to_owned(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\n', '\r']);
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), Error> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {c:?}")))
        }
    }

    fn identifier(&mut self) -> Result<String, Error> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..len].to_owned();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.error("expected an identifier"));
        }
        self.pos += len;
        Ok(name)
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, Error> {
        if depth > MAX_NESTING {
            return Err(self.error("nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            Some('\'') | Some('"') => self.string().map(PyValue::Str),
            Some('[') => {
                self.pos += 1;
                self.items(']', depth)
                    .map(|(items, _)| PyValue::List(items))
            }
            Some('(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.items(')', depth)?;
                if items.len() == 1 && !trailing_comma {
                    // `(x)` is x in Python, not a tuple.
                    Ok(items.into_iter().next().unwrap_or(PyValue::None))
                } else {
                    Ok(PyValue::Tuple(items))
                }
            }
            Some('{') => {
                self.pos += 1;
                self.dict(depth)
            }
            Some('-') => {
                // A sign applies to a number or float('...') only, and is not a nesting level:
                // the renderer writes negative numbers at any depth it allows.
                self.pos += 1;
                self.skip_ws();
                let value = match self.peek() {
                    Some(c) if c.is_ascii_digit() || c == '.' => self.number()?,
                    _ if self.rest().starts_with("float(") => self.float_call()?,
                    _ => return Err(self.error("'-' before a non-number")),
                };
                match value {
                    PyValue::Int(i) => i
                        .checked_neg()
                        .map(PyValue::Int)
                        .ok_or_else(|| self.error("integer out of range")),
                    PyValue::Float(f) => Ok(PyValue::Float(-f)),
                    _ => Err(self.error("'-' before a non-number")),
                }
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(_) => {
                if self.eat_str("True") {
                    Ok(PyValue::Bool(true))
                } else if self.eat_str("False") {
                    Ok(PyValue::Bool(false))
                } else if self.eat_str("None") {
                    Ok(PyValue::None)
                } else if self.rest().starts_with("float(") {
                    self.float_call()
                } else {
                    Err(self.error("expected a value"))
                }
            }
            None => Err(self.error("unexpected end of text")),
        }
    }

    /// `float('nan')`, `float('inf')`, `float('-inf')`.
    fn float_call(&mut self) -> Result<PyValue, Error> {
        if !self.eat_str("float(") {
            return Err(self.error("expected float("));
        }
        self.skip_ws();
        let arg = self.string()?;
        self.expect(')')?;
        match arg.trim().to_ascii_lowercase().as_str() {
            "nan" => Ok(PyValue::Float(f64::NAN)),
            "inf" | "infinity" => Ok(PyValue::Float(f64::INFINITY)),
            "-inf" | "-infinity" => Ok(PyValue::Float(f64::NEG_INFINITY)),
            _ => Err(self.error("float() of something else than nan or inf")),
        }
    }

    fn items(&mut self, close: char, depth: usize) -> Result<(Vec<PyValue>, bool), Error> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok((items, trailing_comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(',') {
                trailing_comma = true;
            } else {
                self.skip_ws();
                if self.eat(close) {
                    return Ok((items, false));
                }
                return Err(self.error(&format!("expected ',' or {close:?}")));
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<PyValue, Error> {
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('}') {
                return Ok(PyValue::Dict(entries));
            }
            let key = self.string()?;
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            if !self.eat(',') {
                self.expect('}')?;
                return Ok(PyValue::Dict(entries));
            }
        }
    }

    fn number(&mut self) -> Result<PyValue, Error> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_')))
            .unwrap_or(self.rest().len());
        // A '+'/'-' only belongs to the number right after an exponent marker.
        let raw = &self.rest()[..len];
        let mut end = 0;
        let bytes = raw.as_bytes();
        while end < bytes.len() {
            let b = bytes[end];
            if (b == b'+' || b == b'-') && !(end > 0 && matches!(bytes[end - 1], b'e' | b'E')) {
                break;
            }
            end += 1;
        }
        let token = &raw[..end];
        let clean = token.replace('_', "");
        self.pos += end;
        if clean.contains(['.', 'e', 'E']) {
            clean
                .parse::<f64>()
                .map(PyValue::Float)
                .map_err(|_| self.error("invalid float"))
        } else {
            clean
                .parse::<i128>()
                .map(PyValue::Int)
                .map_err(|_| self.error("invalid or out-of-range int"))
        }
    }

    fn string(&mut self) -> Result<String, Error> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a string")),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\n' => return Err(self.error("newline inside a string")),
                '\\' => self.escape(&mut out)?,
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let Some(c) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += c.len_utf8();
        match c {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'x' => out.push(self.hex_char(2)?),
            'u' => out.push(self.hex_char(4)?),
            'U' => out.push(self.hex_char(8)?),
            _ => return Err(self.error("unknown escape")),
        }
        Ok(())
    }

    fn hex_char(&mut self, digits: usize) -> Result<char, Error> {
        let hex = self
            .rest()
            .get(..digits)
            .ok_or_else(|| self.error("short escape"))?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| self.error("bad hex escape"))?;
        self.pos += digits;
        char::from_u32(code).ok_or_else(|| self.error("escape is not a character"))
    }
}
