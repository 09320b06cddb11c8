//! Reading Rust source well enough to find module paths, without a parser:
//! comments and literals are blanked (so a path in a doc comment or a string
//! is not an import), the rest is split into tokens, and every path that
//! starts at `crate`, `super` or `payhub_server` is expanded, groups
//! included (`use crate::{api_a, dialects::{b, c}}` gives three paths).
//!
//! Known limit: `super` is resolved against the file's module, so a `super`
//! inside an inline `mod` block resolves one level too high. Inline modules
//! in this code base are `mod tests` blocks, which never reach a dialect
//! through `super`.

/// One segment of a path, with the line (1-based) it is written on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub line: usize,
}

/// The source with comments, strings and character literals replaced by
/// spaces; newlines are kept, so lines keep their numbers.
pub fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let starts_token = i == 0 || !is_ident_char(chars[i - 1]);
        // `br"…"` is a raw string too.
        let after_b = i >= 1 && chars[i - 1] == 'b' && (i == 1 || !is_ident_char(chars[i - 2]));
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (starts_token || after_b)
            && raw_string_hashes(&chars, i + 1).is_some()
        {
            let hashes = raw_string_hashes(&chars, i + 1).unwrap_or(0);
            // r, the hashes and the opening quote.
            let open = 1 + hashes + 1;
            for _ in 0..open {
                out.push(' ');
            }
            i += open;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{1F600}'.
            out.push_str("  ");
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            // A one-character literal such as '"'; anything else is a lifetime.
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// When a raw string starts at `at` (after the `r`): how many `#` it uses.
fn raw_string_hashes(chars: &[char], at: usize) -> Option<usize> {
    let mut hashes = 0;
    while chars.get(at + hashes) == Some(&'#') {
        hashes += 1;
    }
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push((Token::Ident(chars[start..i].iter().collect()), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            let token = match c {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                '*' => Token::Star,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

/// Every path in `source` that starts at `crate`, `super` or
/// `payhub_server` (the library's name, as `main.rs` and other crates write
/// it), with `$crate` counted as `crate`. Groups are expanded; a path ends at
/// anything that is not `::` followed by a name, a group or `*`.
pub fn rooted_paths(source: &str) -> Vec<Vec<Segment>> {
    let code = blank_comments_and_literals(source);
    let tokens = tokens(&code);
    let mut paths = Vec::new();
    for (i, (token, _)) in tokens.iter().enumerate() {
        let Token::Ident(name) = token else { continue };
        let after_path_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
        if after_path_sep || !matches!(name.as_str(), "crate" | "super" | "payhub_server") {
            continue;
        }
        // `super::super::x` is one path: start only at the first `super`.
        paths.extend(use_tree(&tokens, i, Vec::new()).0);
    }
    paths
}

/// Reads the path (or use tree) starting at `i` below `prefix`; returns the
/// expanded paths and the index after it.
fn use_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    mut prefix: Vec<Segment>,
) -> (Vec<Vec<Segment>>, usize) {
    loop {
        match tokens.get(i) {
            Some((Token::Ident(name), line)) => {
                prefix.push(Segment {
                    name: name.clone(),
                    line: *line,
                });
                i += 1;
                if tokens.get(i).map(|t| &t.0) != Some(&Token::PathSep) {
                    return (vec![prefix], i);
                }
                i += 1;
            }
            Some((Token::Open, _)) => {
                i += 1;
                let mut all = Vec::new();
                while let Some((token, _)) = tokens.get(i) {
                    match token {
                        Token::Close => {
                            i += 1;
                            break;
                        }
                        Token::Comma => i += 1,
                        _ => {
                            let (paths, next) = use_tree(tokens, i, prefix.clone());
                            all.extend(paths);
                            // Skip what follows the item (`as name`) up to its `,` or `}`.
                            i = skip_to_item_end(tokens, next.max(i + 1));
                        }
                    }
                }
                return (all, i);
            }
            Some((Token::Star, _)) => return (vec![prefix], i + 1),
            _ => return (vec![prefix], i),
        }
    }
}

/// The index of the `,` or `}` that ends a group's item, nested groups skipped.
fn skip_to_item_end(tokens: &[(Token, usize)], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some((token, _)) = tokens.get(i) {
        match token {
            Token::Open => depth += 1,
            Token::Close if depth == 0 => return i,
            Token::Close => depth -= 1,
            Token::Comma if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The module path `segments` names, seen from module `module`: `crate` and
/// `payhub_server` are the root, each leading `super` goes one level up, and
/// a `self` inside a group names its prefix. `None` when `super` climbs
/// above the root.
pub fn resolve(module: &[String], segments: &[Segment]) -> Option<Vec<String>> {
    let mut names = segments.iter().map(|s| s.name.as_str()).peekable();
    let mut path: Vec<String> = match names.peek() {
        Some(&"crate") | Some(&"$crate") | Some(&"payhub_server") => {
            names.next();
            Vec::new()
        }
        _ => module.to_vec(),
    };
    while names.peek() == Some(&"super") {
        names.next();
        path.pop()?;
    }
    path.extend(names.filter(|n| *n != "self").map(str::to_owned));
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[Vec<Segment>]) -> Vec<String> {
        paths
            .iter()
            .map(|p| {
                p.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join("::")
            })
            .collect()
    }

    #[test]
    fn comments_strings_and_chars_are_blanked_but_lines_kept() {
        let source = "let a = \"crate::x\"; // crate::y\n/* crate::z\n */ let c = '\"'; let d = r#\"crate::w\"#;\nfn f<'a>(s: &'a str) {}\n";
        let code = blank_comments_and_literals(source);
        assert!(!code.contains("crate"), "{code}");
        assert_eq!(code.lines().count(), source.lines().count());
        assert!(code.contains("fn f<'a>(s: &'a str)"), "{code}");
    }

    #[test]
    fn groups_nested_groups_and_inline_paths_are_expanded() {
        let source = "use crate::{api_a, dialects::{b, c::d}};\nfn f() { crate::api_e::g(); super::super::h::i::<T>(); }\n";
        let paths = rooted_paths(source);
        assert_eq!(
            names(&paths),
            [
                "crate::api_a",
                "crate::dialects::b",
                "crate::dialects::c::d",
                "crate::api_e::g",
                "super::super::h::i"
            ]
        );
        assert_eq!(paths[3][1].line, 2);
    }

    #[test]
    fn a_multi_line_use_gives_each_name_its_line() {
        let paths = rooted_paths("use crate::{\n    api_a,\n    api_b as b,\n};\n");
        assert_eq!(names(&paths), ["crate::api_a", "crate::api_b"]);
        assert_eq!((paths[0][1].line, paths[1][1].line), (2, 3));
    }

    #[test]
    fn super_and_self_resolve_against_the_module() {
        let module = vec![
            "dialects".to_owned(),
            "retail".to_owned(),
            "view".to_owned(),
        ];
        let up = rooted_paths("use super::super::telco::x;");
        assert_eq!(
            resolve(&module, &up[0]),
            Some(vec!["dialects".into(), "telco".into(), "x".into()])
        );
        let root = rooted_paths("use crate::dialects::{self};");
        assert_eq!(resolve(&module, &root[0]), Some(vec!["dialects".into()]));
        let too_high = rooted_paths("use super::super::super::super::x;");
        assert_eq!(resolve(&module, &too_high[0]), None);
    }
}
