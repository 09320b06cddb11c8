//! QR codes as inline SVG, so the page needs no image endpoint and no script.

use qrcode::render::svg;
use qrcode::QrCode;

/// The smallest side of the rendered code, in CSS pixels: large enough to
/// scan from a screen at arm's length. The stylesheet may scale it down on
/// narrow screens; the `viewBox` keeps it sharp.
const MIN_SIZE_PX: u32 = 220;

/// Renders `content` (usually a wallet or FPS payment URL) as an inline
/// `<svg>` element with the standard quiet zone around it. `None` when the
/// content is too long to fit any QR version, which callers show as
/// "QR code unavailable" rather than failing the page.
pub fn qr_svg(content: &str) -> Option<String> {
    let code = QrCode::new(content.as_bytes()).ok()?;
    let document = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .min_dimensions(MIN_SIZE_PX, MIN_SIZE_PX)
        .build();
    // The renderer writes a standalone XML document; inside HTML only the
    // `<svg>` element itself belongs, so the XML declaration is dropped.
    let start = document.find("<svg")?;
    let element = document.get(start..)?;
    Some(element.replacen("<svg ", r#"<svg role="img" aria-label="QR code" "#, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_renders_as_an_inline_svg_element() {
        let svg = qr_svg("https://pay.example.com/p/abc123?x=1&y=2")
            .unwrap_or_else(|| unreachable!("a short URL fits a QR code"));
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains("viewBox"));
    }

    #[test]
    fn the_code_is_at_least_the_minimum_size() {
        let svg = qr_svg("x").unwrap_or_else(|| unreachable!("one byte fits"));
        let width: u32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap_or_default();
        assert!(width >= MIN_SIZE_PX, "{svg}");
    }

    #[test]
    fn content_too_long_for_any_version_is_none() {
        assert_eq!(qr_svg(&"x".repeat(10_000)), None);
    }
}
