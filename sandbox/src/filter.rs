//! The SCIM filter language (RFC 7644 §3.4.2.2): a tokenizer and a recursive-descent
//! parser into an AST, shared by list filters and PATCH paths.
//!
//! Precedence is `not` over `and` over `or`; attribute names and operators are
//! case-insensitive; string values are JSON strings (escapes included).

use std::fmt;

/// Why a filter or path did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct ParseError {
    /// What was wrong.
    pub message: String,
    /// Character offset in the input where it was noticed.
    pub offset: usize,
}

/// Lenient readings some apps accept and the RFC does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept `'single quoted'` strings (GitHub's documented examples use them).
    pub single_quotes: bool,
    /// Accept unquoted bare words as string values (Slack's `members[value eq U123]`).
    pub bare_values: bool,
}

/// `[urn:]name[.sub]`, as written (resolution against a schema happens later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix, when given.
    pub urn: Option<String>,
    /// Attribute name.
    pub name: String,
    /// Sub-attribute name.
    pub sub: Option<String>,
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// less than
    Lt,
    /// greater or equal
    Ge,
    /// less or equal
    Le,
}

impl CompareOp {
    fn from_word(w: &str) -> Option<CompareOp> {
        Some(match w.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "lt" => CompareOp::Lt,
            "ge" => CompareOp::Ge,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// a JSON number
    Num(f64),
    /// a JSON string, unescaped
    Str(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr pr`
    Present(AttrPath),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attr[inner]`: some value of a multi-valued attribute matches `inner`.
    ValuePath(AttrPath, Box<Filter>),
}

/// A token of the filter language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A quoted string, unescaped.
    Str(String),
    /// Anything else: attribute paths, operators, keywords, numbers.
    Word(String),
}

/// Splits `input` into tokens, remembering each one's character offset.
pub(crate) fn tokenize(input: &str, opts: ParseOptions) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (byte, c) = chars[i];
        let start = i;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' | ')' | '[' | ']' => {
                i += 1;
                match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    _ => Token::RBracket,
                }
            }
            '"' => {
                i = json_string_end(&chars, i)?;
                let end = chars.get(i).map_or(input.len(), |(b, _)| *b);
                let text: String = serde_json::from_str(&input[byte..end])
                    .map_err(|e| err(&format!("bad string literal: {e}"), start))?;
                Token::Str(text)
            }
            '\'' if opts.single_quotes => {
                let (text, next) = single_quoted(&chars, i)?;
                i = next;
                Token::Str(text)
            }
            _ => {
                let (word, next) = bare_word(&chars, i);
                i = next;
                Token::Word(word)
            }
        };
        out.push((token, start));
    }
    Ok(out)
}

/// The index just past the closing quote of the JSON string opening at `start`.
fn json_string_end(chars: &[(usize, char)], start: usize) -> Result<usize, ParseError> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        let Some(&(_, ch)) = chars.get(i) else {
            return Err(err("unterminated string", start));
        };
        i += 1;
        match (escaped, ch) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Ok(i),
            _ => {}
        }
    }
}

/// A `'single quoted'` string opening at `start` (no escapes), and the index past it.
fn single_quoted(chars: &[(usize, char)], start: usize) -> Result<(String, usize), ParseError> {
    let mut i = start + 1;
    let mut text = String::new();
    loop {
        let Some(&(_, ch)) = chars.get(i) else {
            return Err(err("unterminated string", start));
        };
        i += 1;
        if ch == '\'' {
            return Ok((text, i));
        }
        text.push(ch);
    }
}

/// A word (attribute, operator, keyword or bare value) from `start`, and the index past it.
fn bare_word(chars: &[(usize, char)], start: usize) -> (String, usize) {
    let mut i = start;
    let mut word = String::new();
    while let Some(&(_, ch)) = chars.get(i) {
        if ch.is_whitespace() || "()[]\"".contains(ch) {
            break;
        }
        word.push(ch);
        i += 1;
    }
    (word, i)
}

fn err(message: &str, offset: usize) -> ParseError {
    ParseError {
        message: message.to_string(),
        offset,
    }
}

fn valid_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses `[urn:]name[.sub]`.
pub fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let is_urn = word
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    let (urn, rest) = if is_urn {
        match word.rfind(':') {
            Some(i) => (Some(word[..i].to_string()), &word[i + 1..]),
            None => (None, word),
        }
    } else {
        (None, word)
    };
    let mut parts = rest.split('.');
    let name = parts.next().unwrap_or_default().to_string();
    let sub = parts.next().map(str::to_string);
    if parts.next().is_some() {
        return Err(format!(
            "attribute path {word:?} nests deeper than one sub-attribute"
        ));
    }
    if !valid_name(&name) || sub.as_deref().is_some_and(|s| !valid_name(s)) {
        return Err(format!("{word:?} is not an attribute path"));
    }
    Ok(AttrPath { urn, name, sub })
}

/// A cursor over tokens, shared by the filter and the PATCH path parsers.
pub(crate) struct Parser<'a> {
    pub(crate) tokens: &'a [(Token, usize)],
    pub(crate) pos: usize,
    pub(crate) opts: ParseOptions,
    pub(crate) end: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(tokens: &'a [(Token, usize)], opts: ParseOptions, end: usize) -> Self {
        Parser {
            tokens,
            pos: 0,
            opts,
            end,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    pub(crate) fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, o)| *o)
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    pub(crate) fn expect(&mut self, want: Token, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(&want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err(&format!("expected {what}"), self.offset()))
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    pub(crate) fn peek_is(&self, t: &Token) -> bool {
        self.peek() == Some(t)
    }

    /// `FILTER` with `or` as the loosest operator; `nested` is true inside `[...]`.
    pub(crate) fn parse_or(&mut self, nested: bool) -> Result<Filter, ParseError> {
        let mut left = self.parse_and(nested)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.parse_and(nested)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, nested: bool) -> Result<Filter, ParseError> {
        let mut left = self.parse_unary(nested)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.parse_unary(nested)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self, nested: bool) -> Result<Filter, ParseError> {
        if self.peek_keyword("not") {
            self.pos += 1;
            self.expect(Token::LParen, "'(' after not")?;
            let inner = self.parse_or(nested)?;
            self.expect(Token::RParen, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek_is(&Token::LParen) {
            self.pos += 1;
            let inner = self.parse_or(nested)?;
            self.expect(Token::RParen, "')'")?;
            return Ok(inner);
        }
        self.parse_attr_expr(nested)
    }

    fn parse_attr_expr(&mut self, nested: bool) -> Result<Filter, ParseError> {
        let at = self.offset();
        let word = match self.tokens.get(self.pos) {
            Some((Token::Word(w), _)) => w.clone(),
            _ => return Err(err("expected an attribute path", at)),
        };
        let path = parse_attr_path(&word).map_err(|m| err(&m, at))?;
        self.pos += 1;
        if self.peek_is(&Token::LBracket) {
            if nested {
                return Err(err("value paths cannot nest", self.offset()));
            }
            if path.sub.is_some() {
                return Err(err(
                    "a value path applies to an attribute, not a sub-attribute",
                    at,
                ));
            }
            self.pos += 1;
            let inner = self.parse_or(true)?;
            self.expect(Token::RBracket, "']'")?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op_at = self.offset();
        let op_word = match self.peek() {
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(err("expected an operator", op_at)),
        };
        self.pos += 1;
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::from_word(&op_word)
            .ok_or_else(|| err(&format!("unknown operator {op_word:?}"), op_at))?;
        let value = self.parse_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn parse_value(&mut self) -> Result<CompValue, ParseError> {
        let at = self.offset();
        let value = match self.peek() {
            Some(Token::Str(s)) => CompValue::Str(s.clone()),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                _ => match serde_json::from_str::<serde_json::Number>(w) {
                    Ok(n) => CompValue::Num(n.as_f64().unwrap_or(f64::NAN)),
                    Err(_) if self.opts.bare_values => CompValue::Str(w.clone()),
                    Err(_) => {
                        return Err(err(&format!("{w:?} is not a value (quote strings)"), at))
                    }
                },
            },
            _ => return Err(err("expected a value", at)),
        };
        self.pos += 1;
        Ok(value)
    }
}

/// Parses a complete filter expression.
pub fn parse_filter(input: &str, opts: ParseOptions) -> Result<Filter, ParseError> {
    let tokens = tokenize(input, opts)?;
    if tokens.is_empty() {
        return Err(err("empty filter", 0));
    }
    let mut p = Parser::new(&tokens, opts, input.chars().count());
    let f = p.parse_or(false)?;
    if !p.at_end() {
        return Err(err("unexpected text after the filter", p.offset()));
    }
    Ok(f)
}
