//! Deciding whether typed input is a whole statement or needs more lines.

/// True when `code` ends inside an open bracket, string or block comment, or with an operator
/// that needs a right-hand side: the REPL then keeps reading with a continuation prompt.
pub fn is_incomplete(code: &str) -> bool {
    let mut depth: i64 = 0;
    let mut chars = code.chars().peekable();
    let mut in_block_comment = false;
    while let Some(c) = chars.next() {
        if in_block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                in_block_comment = false;
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                // Line comment: skip to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                in_block_comment = true;
            }
            '"' | '`' | '\'' => {
                let quote = c;
                let mut closed = false;
                while let Some(s) = chars.next() {
                    if s == '\\' {
                        chars.next();
                    } else if s == quote {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return true;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    if in_block_comment || depth > 0 {
        return true;
    }
    let trimmed = strip_line_comment(code.trim_end());
    // A trailing binary operator (or `.`, `,`, `=`, a closure's `|x|`) needs more input.
    const CONTINUATIONS: [&str; 13] = [
        "+", "-", "*", "/", "%", "@", "=", "<", ">", "&", "|", ",", ".",
    ];
    CONTINUATIONS.iter().any(|op| trimmed.ends_with(op))
}

fn strip_line_comment(line: &str) -> &str {
    let last = line.rsplit('\n').next().unwrap_or(line);
    match last.find("//") {
        Some(i) => line[..line.len() - last.len() + i].trim_end(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::is_incomplete;

    #[test]
    fn brackets_strings_and_operators_keep_input_open() {
        assert!(is_incomplete("fn f(x) {"));
        assert!(is_incomplete("let a = [1, 2,"));
        assert!(is_incomplete("let s = \"open"));
        assert!(is_incomplete("let y = x +"));
        assert!(is_incomplete("let y = x @"));
        assert!(is_incomplete("/* comment"));
        assert!(!is_incomplete("fn f(x) { x * 2 }"));
        assert!(!is_incomplete("let s = \"{\";"));
        assert!(!is_incomplete("let y = x + 1 // trailing +"));
        assert!(!is_incomplete("randn([2, 2])"));
        assert!(!is_incomplete("no_grad(|| x)"));
        assert!(
            !is_incomplete("}"),
            "an unmatched closer is a syntax error, not more input"
        );
    }
}
