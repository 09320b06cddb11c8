//! A strict reader of Alipay's MAPI XML answers.
//!
//! MAPI answers one shape (the global MAPI docs' "Response" sections):
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <alipay>
//!   <is_success>T</is_success>
//!   <request><param name="service">…</param>…</request>
//!   <response><alipay><result_code>SUCCESS</result_code>…</alipay></response>
//!   <sign>…</sign>
//!   <sign_type>MD5</sign_type>
//! </alipay>
//! ```
//!
//! or `<alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>`.
//! Only elements, text, the five predefined entities, numeric character
//! references, CDATA, comments and the prolog are accepted; anything else
//! (a DOCTYPE, mixed content, mismatched tags, trailing text) is an error,
//! so a malformed answer is never half-read.

use std::collections::BTreeMap;

/// An element: its name, `name` attribute (for `<param name=…>`), text and children.
#[derive(Debug, Default, PartialEq, Eq)]
struct Element {
    name: String,
    name_attribute: Option<String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }
}

/// A MAPI answer, read.
#[derive(Debug, PartialEq, Eq)]
pub struct MapiAnswer {
    /// `is_success`: whether the gateway accepted the request at all.
    pub is_success: bool,
    /// `error` when it did not (`ILLEGAL_SIGN`, `ILLEGAL_PARTNER`, …).
    pub error: Option<String>,
    /// The flat fields of `<response><alipay>`, which Alipay signs.
    pub response: BTreeMap<String, String>,
    pub sign: Option<String>,
    pub sign_type: Option<String>,
}

/// Why an answer could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Alipay XML: {0}")]
pub struct XmlError(pub String);

fn fail<T>(why: impl Into<String>) -> Result<T, XmlError> {
    Err(XmlError(why.into()))
}

/// Reads a MAPI answer.
pub fn parse_answer(text: &str) -> Result<MapiAnswer, XmlError> {
    let root = parse_document(text)?;
    if root.name != "alipay" {
        return fail(format!("root element is <{}>", root.name));
    }
    let flat = |name: &str| root.child(name).map(|element| element.text.clone());
    let is_success = match flat("is_success").as_deref() {
        Some("T") => true,
        Some("F") => false,
        _ => return fail("is_success is neither T nor F"),
    };
    let mut response = BTreeMap::new();
    if let Some(wrapper) = root.child("response") {
        let inner = match wrapper.children.as_slice() {
            [inner] if inner.name == "alipay" => inner,
            _ => return fail("<response> does not hold one <alipay>"),
        };
        for field in &inner.children {
            if !field.children.is_empty() {
                return fail(format!("<{}> is not a flat field", field.name));
            }
            if response
                .insert(field.name.clone(), field.text.clone())
                .is_some()
            {
                return fail(format!("<{}> appears twice", field.name));
            }
        }
    }
    Ok(MapiAnswer {
        is_success,
        error: flat("error"),
        response,
        sign: flat("sign"),
        sign_type: flat("sign_type"),
    })
}

fn parse_document(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader { rest: text };
    reader.skip_misc()?;
    let root = reader.element()?;
    reader.skip_misc()?;
    if !reader.rest.is_empty() {
        return fail("content after the root element");
    }
    Ok(root)
}

struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    /// Skips whitespace, the `<?xml …?>` prolog and comments.
    fn skip_misc(&mut self) -> Result<(), XmlError> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with("<?") {
                self.skip_past("?>")?;
            } else if self.rest.starts_with("<!--") {
                self.skip_past("-->")?;
            } else {
                return Ok(());
            }
        }
    }

    fn skip_past(&mut self, end: &str) -> Result<(), XmlError> {
        match self.rest.find(end) {
            Some(at) => {
                self.rest = &self.rest[at + end.len()..];
                Ok(())
            }
            None => fail(format!("unterminated, expected {end}")),
        }
    }

    fn element(&mut self) -> Result<Element, XmlError> {
        let Some(after) = self.rest.strip_prefix('<') else {
            return fail("expected an element");
        };
        let close = after
            .find('>')
            .ok_or_else(|| XmlError("unterminated tag".into()))?;
        let tag = &after[..close];
        self.rest = &after[close + 1..];
        let (tag, self_closing) = match tag.strip_suffix('/') {
            Some(tag) => (tag, true),
            None => (tag, false),
        };
        let mut element = open_tag(tag)?;
        if self_closing {
            return Ok(element);
        }
        loop {
            if let Some(after_close) = self.rest.strip_prefix("</") {
                let end = after_close
                    .find('>')
                    .ok_or_else(|| XmlError("unterminated end tag".into()))?;
                if after_close[..end].trim_end() != element.name {
                    return fail(format!(
                        "</{}> closes <{}>",
                        &after_close[..end],
                        element.name
                    ));
                }
                self.rest = &after_close[end + 1..];
                break;
            }
            if self.rest.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if let Some(after_cdata) = self.rest.strip_prefix("<![CDATA[") {
                let end = after_cdata
                    .find("]]>")
                    .ok_or_else(|| XmlError("unterminated CDATA".into()))?;
                element.text.push_str(&after_cdata[..end]);
                self.rest = &after_cdata[end + 3..];
            } else if self.rest.starts_with('<') {
                element.children.push(self.element()?);
            } else if self.rest.is_empty() {
                return fail(format!("<{}> is not closed", element.name));
            } else {
                let end = self.rest.find('<').unwrap_or(self.rest.len());
                element.text.push_str(&unescape(&self.rest[..end])?);
                self.rest = &self.rest[end..];
            }
        }
        if !element.children.is_empty() {
            if !element.text.trim().is_empty() {
                return fail(format!("<{}> mixes text and elements", element.name));
            }
            element.text.clear();
        }
        Ok(element)
    }
}

/// `name attr="value" …` of a start tag.
fn open_tag(tag: &str) -> Result<Element, XmlError> {
    let tag = tag.trim_end();
    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
    let name = &tag[..name_end];
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if !valid_name {
        return fail(format!("bad element name {name:?}"));
    }
    let mut element = Element {
        name: name.to_owned(),
        ..Element::default()
    };
    let mut attributes = tag[name_end..].trim_start();
    while !attributes.is_empty() {
        let (attribute, rest) = attributes
            .split_once('=')
            .ok_or_else(|| XmlError(format!("bad attribute in <{name}>")))?;
        let rest = rest.trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| XmlError(format!("unquoted attribute in <{name}>")))?;
        let value_end = rest[1..]
            .find(quote)
            .ok_or_else(|| XmlError(format!("unterminated attribute in <{name}>")))?;
        if attribute.trim() == "name" {
            element.name_attribute = Some(unescape(&rest[1..=value_end])?);
        }
        attributes = rest[value_end + 2..].trim_start();
    }
    Ok(element)
}

/// Resolves the predefined entities and numeric references.
fn unescape(text: &str) -> Result<String, XmlError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| XmlError("unterminated entity".into()))?;
        let entity = &after[..end];
        let resolved = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(decimal) = entity.strip_prefix('#') {
                    decimal.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| XmlError(format!("unknown entity &{entity};")))?
            }
        };
        out.push(resolved);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The shape of the success sample in Alipay's precreate guide.
    const PRECREATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alipay>
    <is_success>T</is_success>
    <request>
        <param name="_input_charset">UTF-8</param>
        <param name="service">alipay.acquire.precreate</param>
    </request>
    <response>
        <alipay>
            <out_trade_no>4363476566647440</out_trade_no>
            <qr_code>https://qr.alipay.com/bax03431ljhokirwl38f00a7</qr_code>
            <result_code>SUCCESS</result_code>
            <voucher_type>qrcode</voucher_type>
            <detail_error_des>a &amp; b &lt;c&gt; &#x4E2D;</detail_error_des>
        </alipay>
    </response>
    <sign>7eb4c6c10ef5e2e4d6ec4a1e2a6f5c1b</sign>
    <sign_type>MD5</sign_type>
</alipay>"#;

    #[test]
    fn reads_a_precreate_answer() {
        let answer = parse_answer(PRECREATE).unwrap();
        assert!(answer.is_success);
        assert_eq!(answer.error, None);
        assert_eq!(answer.response["result_code"], "SUCCESS");
        assert_eq!(
            answer.response["qr_code"],
            "https://qr.alipay.com/bax03431ljhokirwl38f00a7"
        );
        assert_eq!(answer.response["detail_error_des"], "a & b <c> 中");
        assert_eq!(answer.response.len(), 5);
        assert_eq!(
            answer.sign.as_deref(),
            Some("7eb4c6c10ef5e2e4d6ec4a1e2a6f5c1b")
        );
        assert_eq!(answer.sign_type.as_deref(), Some("MD5"));
    }

    #[test]
    fn reads_a_refusal() {
        let answer =
            parse_answer("<alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>")
                .unwrap();
        assert!(!answer.is_success);
        assert_eq!(answer.error.as_deref(), Some("ILLEGAL_SIGN"));
        assert!(answer.response.is_empty());
    }

    #[test]
    fn cdata_and_empty_elements_read() {
        let answer = parse_answer(
            "<alipay><is_success>T</is_success><response><alipay><a><![CDATA[x<y]]></a><b/><c></c></alipay></response></alipay>",
        )
        .unwrap();
        assert_eq!(answer.response["a"], "x<y");
        assert_eq!(answer.response["b"], "");
        assert_eq!(answer.response["c"], "");
    }

    #[test]
    fn malformed_answers_are_refused() {
        let bad = [
            "",
            "not xml",
            "<alipay><is_success>T</is_success>",
            "<alipay><is_success>T</is_success></alipay>trailing",
            "<alipay><is_success>T</success></alipay>",
            "<alipay><is_success>X</is_success></alipay>",
            "<other><is_success>T</is_success></other>",
            "<alipay><is_success>T</is_success><response><alipay><a>1</a><a>2</a></alipay></response></alipay>",
            "<alipay><is_success>T</is_success><response><alipay><a><b>1</b></a></alipay></response></alipay>",
            "<alipay><is_success>T</is_success><response>text<alipay></alipay></response></alipay>",
            "<alipay><is_success>T&bogus;</is_success></alipay>",
            "<!DOCTYPE x><alipay><is_success>T</is_success></alipay>",
        ];
        for text in bad {
            assert!(parse_answer(text).is_err(), "{text:?}");
        }
    }
}
