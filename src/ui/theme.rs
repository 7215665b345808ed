//! Themes: TOML files of meaning-based styles (ok, warn, crit, stale, ...). Widgets ask for a
//! meaning, never for a colour, so one file restyles everything.

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The themes shipped in `themes/`, built into the binary so they work from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub header: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub stale: Style,
    pub selection: Style,
    pub border: Style,
    pub bar: Style,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    styles: StyleFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleFile {
    text: String,
    muted: String,
    header: String,
    accent: String,
    ok: String,
    warn: String,
    crit: String,
    stale: String,
    selection: String,
    border: String,
    bar: String,
}

/// How many colours the terminal can show; themes are written in truecolor and folded down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
    /// NO_COLOR: meaning carried by weight, underline and reverse video only.
    None,
}

impl ColorDepth {
    pub fn from_env() -> ColorDepth {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        if !var("NO_COLOR").is_empty() {
            return ColorDepth::None;
        }
        let colorterm = var("COLORTERM");
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = var("TERM");
        if term.contains("256") {
            ColorDepth::Ansi256
        } else {
            ColorDepth::Ansi16
        }
    }
}

impl Theme {
    /// A built-in theme by name, or a theme file by path.
    pub fn load(name_or_path: &str, depth: ColorDepth) -> Result<Theme, String> {
        let (origin, text) = match BUILTIN.iter().find(|(name, _)| *name == name_or_path) {
            Some((name, text)) => (format!("built-in theme {name}"), text.to_string()),
            None => {
                let path = Path::new(name_or_path);
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "theme {name_or_path}: not a built-in theme ({}) and not a readable file: {e}",
                        builtin_names().join(", ")
                    )
                })?;
                (format!("theme file {}", path.display()), text)
            }
        };
        Theme::parse(&text, depth).map_err(|e| format!("{origin}: {e}"))
    }

    pub fn parse(text: &str, depth: ColorDepth) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
        let s = &file.styles;
        let style = |key: &str, spec: &str| {
            parse_style(spec)
                .map(|st| fold(st, depth))
                .map_err(|e| format!("key `styles.{key}`: {e}"))
        };
        Ok(Theme {
            name: file.name.clone(),
            text: style("text", &s.text)?,
            muted: style("muted", &s.muted)?,
            header: style("header", &s.header)?,
            accent: style("accent", &s.accent)?,
            ok: style("ok", &s.ok)?,
            warn: style("warn", &s.warn)?,
            crit: style("crit", &s.crit)?,
            stale: style("stale", &s.stale)?,
            selection: style("selection", &s.selection)?,
            border: style("border", &s.border)?,
            bar: style("bar", &s.bar)?,
        })
    }

    /// The default dark theme; it is built in and tested, so it always parses.
    pub fn fallback(depth: ColorDepth) -> Theme {
        match Theme::load("dark", depth) {
            Ok(theme) => theme,
            Err(_) => Theme::plain(),
        }
    }

    fn plain() -> Theme {
        let s = Style::default();
        Theme {
            name: "plain".into(),
            text: s,
            muted: s.add_modifier(Modifier::DIM),
            header: s.add_modifier(Modifier::BOLD),
            accent: s.add_modifier(Modifier::BOLD),
            ok: s,
            warn: s.add_modifier(Modifier::BOLD),
            crit: s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            stale: s.add_modifier(Modifier::ITALIC),
            selection: s.add_modifier(Modifier::REVERSED),
            border: s,
            bar: s,
        }
    }
}

pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// "fg [on bg] [bold] [dim] [italic] [underlined] [reversed]"
fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::default();
    let mut words = spec.split_whitespace().peekable();
    let mut fg_set = false;
    while let Some(word) = words.next() {
        match word {
            "bold" => style = style.add_modifier(Modifier::BOLD),
            "dim" => style = style.add_modifier(Modifier::DIM),
            "italic" => style = style.add_modifier(Modifier::ITALIC),
            "underlined" => style = style.add_modifier(Modifier::UNDERLINED),
            "reversed" => style = style.add_modifier(Modifier::REVERSED),
            "on" => {
                let bg = words.next().ok_or("`on` needs a background colour")?;
                style = style.bg(parse_color(bg)?);
            }
            colour if !fg_set => {
                style = style.fg(parse_color(colour)?);
                fg_set = true;
            }
            other => {
                return Err(format!(
                    "unexpected `{other}` (one foreground colour per style)"
                ));
            }
        }
    }
    Ok(style)
}

fn parse_color(word: &str) -> Result<Color, String> {
    let named = match word {
        "default" | "reset" => Some(Color::Reset),
        "black" => Some(Color::Black),
        "red" => Some(Color::Red),
        "green" => Some(Color::Green),
        "yellow" => Some(Color::Yellow),
        "blue" => Some(Color::Blue),
        "magenta" => Some(Color::Magenta),
        "cyan" => Some(Color::Cyan),
        "gray" | "grey" => Some(Color::Gray),
        "dark-gray" | "dark-grey" => Some(Color::DarkGray),
        "light-red" => Some(Color::LightRed),
        "light-green" => Some(Color::LightGreen),
        "light-yellow" => Some(Color::LightYellow),
        "light-blue" => Some(Color::LightBlue),
        "light-magenta" => Some(Color::LightMagenta),
        "light-cyan" => Some(Color::LightCyan),
        "white" => Some(Color::White),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    if let Some(hex) = word.strip_prefix('#')
        && hex.len() == 6
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Ok(i) = word.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    Err(format!(
        "unknown colour `{word}` (expected a name like red or light-cyan, #rrggbb, or 0-255)"
    ))
}

/// Folds a style to what the terminal can show.
fn fold(style: Style, depth: ColorDepth) -> Style {
    let map = |c: Option<Color>| c.map(|c| fold_color(c, depth));
    match depth {
        ColorDepth::None => Style {
            fg: None,
            bg: None,
            ..style
        },
        _ => Style {
            fg: map(style.fg),
            bg: map(style.bg),
            ..style
        },
    }
}

fn fold_color(color: Color, depth: ColorDepth) -> Color {
    match (color, depth) {
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => Color::Indexed(rgb_to_256(r, g, b)),
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => rgb_to_16(r, g, b),
        (Color::Indexed(i), ColorDepth::Ansi16) if i >= 16 => {
            let (r, g, b) = ansi256_to_rgb(i);
            rgb_to_16(r, g, b)
        }
        (c, _) => c,
    }
}

/// The xterm 6×6×6 cube or the grey ramp, whichever is nearer.
fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let (cr, cg, cb) = (level(r), level(g), level(b));
    let cube = 16 + 36 * cr + 6 * cg + cb;
    let grey_level = ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8;
    let grey = if grey_level < 8 {
        16
    } else if grey_level > 238 {
        231
    } else {
        232 + (grey_level - 8) / 10
    };
    let dist = |i: u8| {
        let (x, y, z) = ansi256_to_rgb(i);
        (i32::from(x) - i32::from(r)).pow(2)
            + (i32::from(y) - i32::from(g)).pow(2)
            + (i32::from(z) - i32::from(b)).pow(2)
    };
    if dist(grey) < dist(cube) { grey } else { cube }
}

/// The xterm palette colour of index `i`, as RGB.
pub fn ansi256_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => {
            let (r, g, b) = ANSI16[usize::from(i)].1;
            (r, g, b)
        }
        16..=231 => {
            let i = i - 16;
            let step = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (step(i / 36), step(i / 6 % 6), step(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// Nearest of the 16 ANSI colours by hue-preserving distance.
fn rgb_to_16(r: u8, g: u8, b: u8) -> Color {
    let mut best = (Color::White, i32::MAX);
    for (color, (x, y, z)) in ANSI16 {
        let d = (i32::from(x) - i32::from(r)).pow(2)
            + (i32::from(y) - i32::from(g)).pow(2)
            + (i32::from(z) - i32::from(b)).pow(2);
        if d < best.1 {
            best = (color, d);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_at_every_depth() {
        for (name, _) in BUILTIN {
            for depth in [
                ColorDepth::TrueColor,
                ColorDepth::Ansi256,
                ColorDepth::Ansi16,
                ColorDepth::None,
            ] {
                let theme = Theme::load(name, depth).unwrap();
                assert_eq!(&theme.name, name);
                if depth == ColorDepth::Ansi16 {
                    for st in [theme.ok, theme.warn, theme.crit, theme.muted] {
                        assert!(
                            !matches!(st.fg, Some(Color::Rgb(..)) | Some(Color::Indexed(_))),
                            "{name}: {st:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn no_color_keeps_meaning_in_modifiers() {
        let theme = Theme::load("dark", ColorDepth::None).unwrap();
        assert_eq!(theme.crit.fg, None);
        assert!(theme.crit.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn styles_parse() {
        let s = parse_style("#ff0000 on 236 bold underlined").unwrap();
        assert_eq!(s.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(s.bg, Some(Color::Indexed(236)));
        assert!(
            s.add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
    }

    #[test]
    fn bad_colour_names_the_key_and_the_value() {
        let text = BUILTIN[0]
            .1
            .replace("crit = \"#f38ba8 bold\"", "crit = \"redd bold\"");
        let e = Theme::parse(&text, ColorDepth::TrueColor).unwrap_err();
        assert!(e.contains("styles.crit") && e.contains("redd"), "{e}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let text = BUILTIN[0].1.replace("bar = ", "barr = ");
        let e = Theme::parse(&text, ColorDepth::TrueColor).unwrap_err();
        assert!(e.contains("barr"), "{e}");
    }

    #[test]
    fn missing_file_lists_the_builtins() {
        let e = Theme::load("/nonexistent/theme.toml", ColorDepth::TrueColor).unwrap_err();
        assert!(e.contains("dark, light, high-contrast, colorblind"), "{e}");
    }

    #[test]
    fn truecolor_folds_to_the_nearest_ansi_colour() {
        assert_eq!(rgb_to_16(250, 10, 10), Color::LightRed);
        assert_eq!(rgb_to_16(0, 0, 0), Color::Black);
        assert_eq!(rgb_to_256(0, 0, 0), 16);
        assert_eq!(rgb_to_256(255, 255, 255), 231);
    }
}
