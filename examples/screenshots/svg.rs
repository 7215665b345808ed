//! A ratatui buffer as an SVG picture: one <text> run per stretch of equally styled cells.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
const BACKGROUND: &str = "#1e1e2e";
const FOREGROUND: &str = "#cdd6f4";

pub fn render(buffer: &Buffer) -> String {
    let area = buffer.area;
    let (w, h) = (
        f64::from(area.width) * CELL_W,
        f64::from(area.height) * CELL_H,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{BACKGROUND}"/>"#
    );
    let _ = writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono, monospace" font-size="{FONT_SIZE}" xml:space="preserve">"#
    );
    for y in 0..area.height {
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(x, y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            let mut text = String::new();
            while x < area.width {
                let c = &buffer[(x, y)];
                if (c.fg, c.bg, c.modifier) != style {
                    break;
                }
                text.push_str(c.symbol());
                x += 1;
            }
            let (mut fg, mut bg) = (color(style.0, FOREGROUND), color(style.1, BACKGROUND));
            if style.2.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let (px, py) = (f64::from(start) * CELL_W, f64::from(y) * CELL_H);
            let run_w = f64::from(x - start) * CELL_W;
            if bg != BACKGROUND {
                let _ = writeln!(
                    out,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{run_w:.1}" height="{CELL_H}" fill="{bg}"/>"#
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let weight = if style.2.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let italic = if style.2.contains(Modifier::ITALIC) {
                r#" font-style="italic""#
            } else {
                ""
            };
            let underline = if style.2.contains(Modifier::UNDERLINED) {
                r#" text-decoration="underline""#
            } else {
                ""
            };
            let opacity = if style.2.contains(Modifier::DIM) {
                r#" opacity="0.6""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<text x="{px:.1}" y="{:.1}" fill="{fg}" textLength="{run_w:.1}" lengthAdjust="spacingAndGlyphs"{weight}{italic}{underline}{opacity}>{}</text>"#,
                py + CELL_H * 0.78,
                escape(&text)
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn color(c: Color, default: &str) -> String {
    let rgb = match c {
        Color::Reset => return default.to_string(),
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Black => (0x45, 0x47, 0x5a),
        Color::Red => (0xf3, 0x8b, 0xa8),
        Color::Green => (0xa6, 0xe3, 0xa1),
        Color::Yellow => (0xf9, 0xe2, 0xaf),
        Color::Blue => (0x89, 0xb4, 0xfa),
        Color::Magenta => (0xf5, 0xc2, 0xe7),
        Color::Cyan => (0x94, 0xe2, 0xd5),
        Color::Gray => (0xba, 0xc2, 0xde),
        Color::DarkGray => (0x58, 0x5b, 0x70),
        Color::LightRed => (0xff, 0x55, 0x55),
        Color::LightGreen => (0x55, 0xff, 0x55),
        Color::LightYellow => (0xff, 0xff, 0x55),
        Color::LightBlue => (0x55, 0x55, 0xff),
        Color::LightMagenta => (0xff, 0x55, 0xff),
        Color::LightCyan => (0x55, 0xff, 0xff),
        Color::White => (0xff, 0xff, 0xff),
        Color::Indexed(i) => pipetop::ui::theme::ansi256_to_rgb(i),
    };
    format!("#{:02x}{:02x}{:02x}", rgb.0, rgb.1, rgb.2)
}
