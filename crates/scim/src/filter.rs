//! SCIM filters (RFC 7644 §3.4.2.2), the part Guild answers: `eq`, `co`, `sw` and `pr`, joined by
//! `and` and `or` (`and` binds tighter), grouped with parentheses, on `userName`, `emails`
//! (`emails.value`), `externalId` and `displayName` (a User's also as `name.formatted`; a Group's
//! `displayName`). Attribute names and operators are case-insensitive, as the RFC says.
//!
//! A filter is at most [`MAX_FILTER_LEN`] characters and [`MAX_DEPTH`] levels deep; anything
//! else (another operator, `not`, a value path `emails[type eq "work"]`, an attribute Guild does
//! not filter on) is a 400 `invalidFilter` naming it, never a silently wider answer.

use guild_tenancy::provisioning::{Cmp, GroupAttr, Match, MemberAttr};

use crate::ScimError;

/// The longest filter accepted.
pub const MAX_FILTER_LEN: usize = 1000;

/// The deepest nesting of parentheses and operators accepted.
pub const MAX_DEPTH: usize = 16;

/// A parsed filter, before its attributes are resolved against a resource type.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr op value`.
    Cmp(String, Op, Literal),
    /// `attr pr`.
    Present(String),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`.
    Eq,
    /// `co`.
    Co,
    /// `sw`.
    Sw,
}

/// A comparison's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A JSON string.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A number, as written.
    Number(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                // A JSON string: find its closing quote, honouring escapes, and let JSON read it.
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (j, c) in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| ScimError::filter("a string is not closed"))?;
                let value: String = serde_json::from_str(&input[i..=end])
                    .map_err(|_| ScimError::filter("a string is not valid JSON"))?;
                tokens.push(Token::Str(value));
            }
            '[' | ']' => {
                return Err(ScimError::filter(
                    "value paths (attr[filter]) are not supported in filters",
                ));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(ScimError::filter("the filter is nested too deeply"));
        }
        let mut left = self.and(depth + 1)?;
        while self.peek_word().as_deref() == Some("or") {
            self.at += 1;
            let right = self.and(depth + 1)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.atom(depth + 1)?;
        while self.peek_word().as_deref() == Some("and") {
            self.at += 1;
            let right = self.atom(depth + 1)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(ScimError::filter("the filter is nested too deeply"));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ScimError::filter("a parenthesis is not closed")),
                }
            }
            Some(Token::Word(attr)) => {
                if attr.eq_ignore_ascii_case("not") {
                    return Err(ScimError::filter("`not` is not supported"));
                }
                let op = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(ScimError::filter(format!("an operator must follow {attr}"))),
                };
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(attr)),
                    "eq" => Op::Eq,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ne" | "ew" | "gt" | "ge" | "lt" | "le" => {
                        return Err(ScimError::filter(format!(
                            "the operator {op} is not supported (eq, co, sw and pr are)"
                        )));
                    }
                    other => {
                        return Err(ScimError::filter(format!("unknown operator {other}")));
                    }
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => Literal::Str(s),
                    Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Literal::Bool(true),
                        "false" => Literal::Bool(false),
                        "null" => Literal::Null,
                        _ if w.parse::<f64>().is_ok() => Literal::Number(w),
                        _ => return Err(ScimError::filter(format!("{w} is not a value"))),
                    },
                    _ => {
                        return Err(ScimError::filter(format!(
                            "a value must follow the operator after {attr}"
                        )));
                    }
                };
                Ok(Filter::Cmp(attr, op, value))
            }
            _ => Err(ScimError::filter("an attribute or ( was expected")),
        }
    }
}

/// Parses a filter.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(ScimError::filter(format!(
            "a filter is at most {MAX_FILTER_LEN} characters"
        )));
    }
    let mut parser = Parser {
        tokens: tokenize(input)?,
        at: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ScimError::filter("the filter is empty"));
    }
    let filter = parser.or(0)?;
    if parser.at != parser.tokens.len() {
        return Err(ScimError::filter("unexpected text after the filter"));
    }
    Ok(filter)
}

/// Strips a core schema URN prefix from an attribute path and lowercases it.
fn attr_name(path: &str, schema: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let prefix = format!("{}:", schema.to_ascii_lowercase());
    lower
        .strip_prefix(&prefix)
        .map(str::to_owned)
        .unwrap_or(lower)
}

fn cmp(op: Op) -> Cmp {
    match op {
        Op::Eq => Cmp::Eq,
        Op::Co => Cmp::Contains,
        Op::Sw => Cmp::StartsWith,
    }
}

fn resolve<A: Copy>(
    filter: &Filter,
    lookup: &dyn Fn(&str) -> Option<A>,
) -> Result<Match<A>, ScimError> {
    Ok(match filter {
        Filter::Cmp(path, op, value) => {
            let attr = lookup(path).ok_or_else(|| {
                ScimError::filter(format!("filtering on {path} is not supported"))
            })?;
            match value {
                Literal::Str(s) => Match::Cmp(attr, cmp(*op), s.clone()),
                // These attributes are strings: nothing equals a non-string.
                Literal::Bool(_) | Literal::Number(_) | Literal::Null => Match::Nothing,
            }
        }
        Filter::Present(path) => {
            Match::Present(lookup(path).ok_or_else(|| {
                ScimError::filter(format!("filtering on {path} is not supported"))
            })?)
        }
        Filter::And(a, b) => {
            Match::And(Box::new(resolve(a, lookup)?), Box::new(resolve(b, lookup)?))
        }
        Filter::Or(a, b) => Match::Or(Box::new(resolve(a, lookup)?), Box::new(resolve(b, lookup)?)),
    })
}

/// The filter over Users.
pub fn users(filter: &Filter) -> Result<Match<MemberAttr>, ScimError> {
    resolve(
        filter,
        &|path| match attr_name(path, crate::resource::USER_SCHEMA).as_str() {
            "username" | "emails" | "emails.value" => Some(MemberAttr::Email),
            "displayname" | "name.formatted" => Some(MemberAttr::Name),
            "externalid" => Some(MemberAttr::ExternalId),
            _ => None,
        },
    )
}

/// The filter over Groups.
pub fn groups(filter: &Filter) -> Result<Match<GroupAttr>, ScimError> {
    resolve(
        filter,
        &|path| match attr_name(path, crate::resource::GROUP_SCHEMA).as_str() {
            "displayname" => Some(GroupAttr::Name),
            "externalid" => Some(GroupAttr::ExternalId),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(attr: &str, op: Op, v: &str) -> Filter {
        Filter::Cmp(attr.into(), op, Literal::Str(v.into()))
    }

    #[test]
    fn comparisons_presence_and_precedence() {
        assert_eq!(
            parse(r#"userName eq "bjensen@example.com""#).unwrap(),
            cmp("userName", Op::Eq, "bjensen@example.com")
        );
        assert_eq!(
            parse("externalId PR").unwrap(),
            Filter::Present("externalId".into())
        );
        // `and` binds tighter than `or`.
        assert_eq!(
            parse(r#"a eq "1" or b sw "2" and c co "3""#).unwrap(),
            Filter::Or(
                Box::new(cmp("a", Op::Eq, "1")),
                Box::new(Filter::And(
                    Box::new(cmp("b", Op::Sw, "2")),
                    Box::new(cmp("c", Op::Co, "3"))
                ))
            )
        );
        assert_eq!(
            parse(r#"(a eq "1" or b eq "2") AND c pr"#).unwrap(),
            Filter::And(
                Box::new(Filter::Or(
                    Box::new(cmp("a", Op::Eq, "1")),
                    Box::new(cmp("b", Op::Eq, "2"))
                )),
                Box::new(Filter::Present("c".into()))
            )
        );
    }

    #[test]
    fn strings_are_json_with_escapes_and_spaces() {
        assert_eq!(
            parse(r#"displayName eq "Ann \"The\" (Boss) and co""#).unwrap(),
            cmp("displayName", Op::Eq, "Ann \"The\" (Boss) and co")
        );
    }

    #[test]
    fn what_is_not_supported_is_an_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName ne "x""#,
            r#"userName gt "x""#,
            r#"not (userName eq "x")"#,
            r#"emails[type eq "work"]"#,
            r#"(userName eq "x""#,
            r#"userName eq "x" extra"#,
            r#"userName eq "unterminated"#,
            "userName eq bare",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
            assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn long_and_deep_filters_are_refused() {
        let long = format!(r#"userName eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        assert!(parse(&long).is_err());
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn attributes_resolve_per_resource_type_case_insensitively() {
        let f = parse(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "A" or emails.value co "b" or name.formatted sw "c" or externalId pr"#,
        )
        .unwrap();
        let m = users(&f).unwrap();
        let text = format!("{m:?}");
        assert!(text.contains("Email, Eq"), "{text}");
        assert!(text.contains("Email, Contains"), "{text}");
        assert!(text.contains("Name, StartsWith"), "{text}");
        assert!(text.contains("Present(ExternalId)"), "{text}");
        assert!(users(&parse(r#"title eq "x""#).unwrap()).is_err());
        assert!(groups(&parse(r#"userName eq "x""#).unwrap()).is_err());
        assert_eq!(
            groups(&parse(r#"displayName eq "Ops""#).unwrap()).unwrap(),
            Match::Cmp(GroupAttr::Name, Cmp::Eq, "Ops".into())
        );
        assert_eq!(
            users(&parse("userName eq true").unwrap()).unwrap(),
            Match::Nothing
        );
    }
}
