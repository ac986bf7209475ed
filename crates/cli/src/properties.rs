//! Producer properties: Java `client.properties` files (`-F`) and the properties a run ends up
//! with (`-X` and the dedicated flags merged).

use crate::values::Property;

/// Parses a Java `.properties` text: `key=value`, `key: value` or `key value` lines, `#` and
/// `!` comments, a trailing `\` continues a line, and `\\ \t \n \r \= \: \uXXXX` escapes.
pub(crate) fn parse_properties_file(text: &str) -> Result<Vec<Property>, String> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut first_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = if logical.is_empty() {
            first_line = n + 1;
            raw.trim_start()
        } else {
            raw.trim_start()
        };
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let (key, value) = split_property_line(&entry);
        let key = unescape(key).map_err(|e| format!("line {first_line}: {e}"))?;
        if key.is_empty() {
            return Err(format!("line {first_line}: a value without a key"));
        }
        let value = unescape(value).map_err(|e| format!("line {first_line}: {e}"))?;
        out.push(Property { key, value });
    }
    if !logical.is_empty() {
        let (key, value) = split_property_line(&logical);
        out.push(Property {
            key: unescape(key)?,
            value: unescape(value)?,
        });
    }
    Ok(out)
}

/// Splits at the first unescaped `=`, `:` or whitespace (Java `Properties.load`).
fn split_property_line(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (line[..i].trim_end(), line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest.trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\u{hex}"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// The producer properties for a run: `-X` pairs in first-seen order (a repeated key
/// keeps its last value), then the dedicated flags, which win over `-X`.
pub(crate) fn producer_properties(
    brokers: &str,
    compression: Option<&str>,
    extra: &[Property],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| match out.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => v.clone_into(&mut slot.1),
        None => out.push((k.to_owned(), v.to_owned())),
    };
    for p in extra {
        put(&p.key, &p.value);
    }
    put("bootstrap.servers", brokers);
    if let Some(codec) = compression {
        put("compression.type", codec);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_merge_with_dedicated_flags_winning() {
        let extra = vec![
            Property {
                key: "linger.ms".into(),
                value: "5".into(),
            },
            Property {
                key: "bootstrap.servers".into(),
                value: "ignored:1".into(),
            },
            Property {
                key: "compression.type".into(),
                value: "gzip".into(),
            },
            Property {
                key: "linger.ms".into(),
                value: "7".into(),
            },
        ];
        let props = producer_properties("b:9092", Some("lz4"), &extra);
        let expect = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            props,
            vec![
                expect("linger.ms", "7"),
                expect("bootstrap.servers", "b:9092"),
                expect("compression.type", "lz4"),
            ]
        );
        let props = producer_properties("b:9092", None, &extra[2..3]);
        assert_eq!(
            props,
            vec![
                expect("compression.type", "gzip"),
                expect("bootstrap.servers", "b:9092")
            ]
        );
    }

    #[test]
    fn properties_files_parse_like_java() {
        let text = "# comment\n! also\n\nsecurity.protocol=SASL_SSL\nsasl.mechanism : PLAIN\n\
                    sasl.jaas.config=org.X required \\\n    username=\"a\" password=\"b\";\n\
                    key\\=with\\:specials = v\\tw\nbare value\n";
        let props = parse_properties_file(text).unwrap();
        let kv: Vec<(&str, &str)> = props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                (
                    "sasl.jaas.config",
                    "org.X required username=\"a\" password=\"b\";"
                ),
                ("key=with:specials", "v\tw"),
                ("bare", "value"),
            ]
        );
        assert!(parse_properties_file("=v").unwrap_err().contains("line 1"));
    }
}
