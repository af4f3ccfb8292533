//! The guard that keeps every `validator` rule and the schema constraint saying the same thing in
//! step (issue: a fuzzer sending schema-valid bodies must never meet a 422 for shape).
//!
//! `validator` rules cannot be read at run time, so this test reads the route files: for every
//! field of a DTO with a `#[validate(...)]` rule, the field's `#[schema(...)]` (body) or
//! `#[param(...)]` (query) attribute must state the same bound:
//! - `length(min = a, max = b)` → `min_length = a`, `max_length = b` (`min_items`/`max_items` on
//!   lists and sets);
//! - `range(min = a, max = b)` → `minimum = a`, `maximum = b`;
//! - `email` → `format = Email`;
//! - `custom(...)` on a text field → a `pattern` (a custom rule on an enum field is not allowed:
//!   the enum already says it); `custom(function = "crate::extract::https_link")` → exactly
//!   [`guild_kernel::links::LINK_PATTERN`].

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// One field: its attribute lines (joined) and its type.
    struct Field {
        file: String,
        line: usize,
        name: String,
        ty: String,
        attrs: Vec<String>,
    }

    fn fields(path: &Path) -> Vec<Field> {
        let text = fs::read_to_string(path).unwrap_or_default();
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut out = Vec::new();
        let mut attrs: Vec<String> = Vec::new();
        let mut open: Option<(String, i32)> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some((mut acc, depth)) = open.take() {
                acc.push(' ');
                acc.push_str(line);
                let depth = depth + balance(line);
                if depth <= 0 {
                    attrs.push(acc);
                } else {
                    open = Some((acc, depth));
                }
                continue;
            }
            if line.starts_with("#[") {
                let depth = balance(line);
                if depth <= 0 {
                    attrs.push(line.to_owned());
                } else {
                    open = Some((line.to_owned(), depth));
                }
                continue;
            }
            if line.starts_with("///") || line.starts_with("//") {
                continue;
            }
            if let Some((name, ty)) = field(line)
                && !attrs.is_empty()
            {
                out.push(Field {
                    file: file.clone(),
                    line: i + 1,
                    name,
                    ty,
                    attrs: std::mem::take(&mut attrs),
                });
            }
            attrs.clear();
        }
        out
    }

    /// Net count of `(` and `[` minus `)` and `]` outside string literals.
    fn balance(line: &str) -> i32 {
        let mut depth = 0;
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            match c {
                '"' if prev != '\\' => in_str = !in_str,
                '(' | '[' if !in_str => depth += 1,
                ')' | ']' if !in_str => depth -= 1,
                _ => {}
            }
            prev = c;
        }
        depth
    }

    /// `pub(crate) name: Type,` → (name, Type).
    fn field(line: &str) -> Option<(String, String)> {
        let line = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        let (name, rest) = line.split_once(':')?;
        let name = name.trim();
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let ty = rest.trim().strip_suffix(',')?.trim();
        (ok && !ty.is_empty()).then(|| (name.to_owned(), ty.to_owned()))
    }

    /// The value of `key = N` inside `text`, digits only (`10_000` → `10000`).
    fn number(text: &str, key: &str) -> Option<String> {
        let mut rest = text;
        while let Some(at) = rest.find(key) {
            let before = rest[..at].chars().last();
            let after = &rest[at + key.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let Some(value) = after.trim_start().strip_prefix('=') else {
                continue;
            };
            let value: String = value
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-' || *c == '_' || *c == '.')
                .filter(|c| *c != '_')
                .collect();
            return Some(value);
        }
        None
    }

    /// The inside of `name(...)` within an attribute, if present.
    fn call<'a>(attr: &'a str, name: &str) -> Option<&'a str> {
        let start = attr.find(&format!("{name}("))? + name.len() + 1;
        let mut depth = 1;
        for (i, c) in attr[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&attr[start..start + i]);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn problems(f: &Field) -> Vec<String> {
        let validate: Vec<&str> = f
            .attrs
            .iter()
            .filter_map(|a| a.strip_prefix("#[validate("))
            .collect();
        if validate.is_empty() {
            return Vec::new();
        }
        let schema = f
            .attrs
            .iter()
            .filter(|a| a.starts_with("#[schema(") || a.starts_with("#[param("))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let is_list = ["Vec<", "BTreeSet<", "HashSet<"]
            .iter()
            .any(|t| f.ty.contains(t));
        let mut wrong = Vec::new();
        let expect = |wrong: &mut Vec<String>, key: &str, value: Option<String>| {
            if let Some(value) = value
                && number(&schema, key).as_deref() != Some(value.as_str())
            {
                wrong.push(format!("{key} = {value}"));
            }
        };
        for rule in &validate {
            if let Some(args) = call(rule, "length") {
                let (min, max) = if is_list {
                    ("min_items", "max_items")
                } else {
                    ("min_length", "max_length")
                };
                expect(&mut wrong, min, number(args, "min"));
                expect(&mut wrong, max, number(args, "max"));
                expect(&mut wrong, min, number(args, "equal"));
                expect(&mut wrong, max, number(args, "equal"));
            }
            if let Some(args) = call(rule, "range") {
                expect(&mut wrong, "minimum", number(args, "min"));
                expect(&mut wrong, "maximum", number(args, "max"));
            }
            if rule.starts_with("email") && !schema.contains("format = Email") {
                wrong.push("format = Email".to_owned());
            }
            if call(rule, "custom").is_some() {
                let text = f.ty.contains("String");
                if !text {
                    wrong.push(format!(
                        "no custom rule on a `{}` field (make the type say it)",
                        f.ty
                    ));
                } else if !schema.contains("pattern") {
                    wrong.push("pattern = \"…\" (what the custom rule accepts)".to_owned());
                } else if rule.contains("https_link")
                    && !schema.contains(&format!(
                        "pattern = r\"{}\"",
                        guild_kernel::links::LINK_PATTERN
                    ))
                {
                    wrong.push("pattern = r\"<guild_kernel::links::LINK_PATTERN>\"".to_owned());
                }
            }
        }
        wrong
            .into_iter()
            .map(|w| {
                format!(
                    "{}:{} `{}`: the schema must say {w}",
                    f.file, f.line, f.name
                )
            })
            .collect()
    }

    #[test]
    fn every_validator_rule_is_stated_in_the_schema() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        // Folders too: a scope's sub-resources (`modules/`, `me/`, …) hold bodies of their own.
        let all: Vec<Field> = crate::sources::rust_files(&dir)
            .iter()
            .flat_map(|p| fields(p))
            .collect();
        assert!(
            all.iter()
                .filter(|f| f.attrs.iter().any(|a| a.starts_with("#[validate(")))
                .count()
                > 50,
            "the scan found too few validated fields: it no longer reads the route files"
        );
        let problems: Vec<String> = all.iter().flat_map(problems).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_scan_reads_bounds_and_spots_a_missing_one() {
        let f = Field {
            file: "x.rs".into(),
            line: 1,
            name: "title".into(),
            ty: "String".into(),
            attrs: vec![
                "#[validate(length(min = 1, max = 10_000))]".into(),
                "#[schema(min_length = 1, max_length = 10000)]".into(),
            ],
        };
        assert!(problems(&f).is_empty(), "{:?}", problems(&f));
        let g = Field {
            attrs: vec![
                "#[validate(length(min = 1, max = 200), custom(function = \"x\"))]".into(),
                "#[schema(min_length = 1)]".into(),
            ],
            ..f
        };
        let found = problems(&g);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("max_length = 200"), "{found:?}");
    }
}
