//! Meaning-based colours. Widgets ask for "crit" or "stale", never for "red".

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Palette {
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
}

impl Palette {
    pub fn dark() -> Palette {
        Palette {
            text: Style::default(),
            muted: Style::default().fg(Color::DarkGray),
            header: Style::default().add_modifier(Modifier::BOLD),
            accent: Style::default().fg(Color::Cyan),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            crit: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            stale: Style::default().fg(Color::Magenta),
            selection: Style::default().add_modifier(Modifier::REVERSED),
            border: Style::default().fg(Color::DarkGray),
        }
    }

    /// NO_COLOR: meaning carried by weight and reverse video only.
    pub fn monochrome() -> Palette {
        let plain = Style::default();
        Palette {
            text: plain,
            muted: plain.add_modifier(Modifier::DIM),
            header: plain.add_modifier(Modifier::BOLD),
            accent: plain.add_modifier(Modifier::BOLD),
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            crit: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            stale: plain.add_modifier(Modifier::DIM | Modifier::ITALIC),
            selection: plain.add_modifier(Modifier::REVERSED),
            border: plain,
        }
    }

    pub fn from_env() -> Palette {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Palette::monochrome()
        } else {
            Palette::dark()
        }
    }
}
