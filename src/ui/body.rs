//! Draws the current view's panels in the body of the screen.

use ratatui::Frame;
use ratatui::layout::{Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::chart;
use super::list;
use super::panel::{PanelBody, source_state};
use super::screens::panels;
use crate::display_text::{fit, shown};

/// Draws the current view's panels into `area` and records where list rows landed (for clicks).
pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let view = app.level().view.clone();
    let panels = panels(&app.model, &view, &app.theme, app.now, app.zoom);
    let visible = |p: &super::panel::Panel| area.height >= p.shown_from_rows;
    let heights = panels.iter().map(|p| {
        if visible(p) {
            p.height
        } else {
            ratatui::layout::Constraint::Length(0)
        }
    });
    let areas = Layout::vertical(heights).split(area);
    let focus = app.level().focus;
    let generation = app.generation;
    let theme = app.theme.clone();
    app.row_areas.clear();
    let lists_focusable = panels
        .iter()
        .filter(|p| matches!(p.body, PanelBody::List(_)))
        .count()
        > 1;
    for (i, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        if !visible(panel) {
            continue;
        }
        let focused = i == focus;
        let title_style = if focused && lists_focusable {
            theme.accent
        } else {
            theme.header
        };
        let (last_good, failing) = panel
            .source
            .map_or((None, false), |s| source_state(&app.model, s));
        let age = last_good.map(|t| app.now.duration_since(t).unwrap_or_default());
        // Old figures look like current ones unless the panel says how old they are.
        let age_title = age
            .filter(|a| failing || *a > app.refresh * 3 + std::time::Duration::from_secs(1))
            .map(|age| format!(" data {} old ", crate::time::short_duration(age)));
        // Titles and problems name groups, tables and server errors: shown escaped and cut so a
        // long name leaves the age title and a filter label room.
        let reserved = 4 + age_title.as_ref().map_or(0, |t| t.chars().count());
        let title_room = usize::from(area.width).saturating_sub(reserved);
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(
                format!(" {} ", fit(&panel.title, title_room)),
                title_style,
            ));
        if let Some(age_title) = age_title {
            block = block.title(Span::styled(age_title, theme.stale));
        }
        if let Some(problem) = &panel.problem {
            let room = usize::from(area.width).saturating_sub(4);
            block = block.title_bottom(Span::styled(
                format!(" {} ", fit(problem, room)),
                theme.crit,
            ));
        }
        let inner = block.inner(*area);
        frame.render_widget(block, *area);
        match &panel.body {
            PanelBody::List(source) => {
                let last = app.stack.len() - 1;
                let state = app.stack[last].list(i);
                if let Some(filter) = &state.filter {
                    let label = Span::styled(
                        format!(" /{} ", fit(&filter.text, title_room / 2)),
                        theme.accent,
                    );
                    frame.render_widget(
                        Paragraph::new(label).right_aligned(),
                        Rect { height: 1, ..*area },
                    );
                }
                let never_polled = panel.source.is_some() && last_good.is_none();
                let empty_text = match (never_polled, failing) {
                    (true, false) => "waiting for the first poll…",
                    (true, true) => "no data: the source has not answered yet",
                    _ => panel.empty,
                };
                list::render(
                    frame,
                    inner,
                    source.as_ref(),
                    state,
                    &list::Look {
                        generation,
                        theme: &theme,
                        focused,
                        empty_text,
                    },
                );
                app.row_areas
                    .push((i, inner.y + 1, inner.height.saturating_sub(1)));
            }
            PanelBody::Chart(charts) => chart::render(frame, inner, charts, &theme),
            PanelBody::Text(lines) => {
                // Whole texts (an exception, a query) wrap to be read in full; escaped here, at
                // the one place text panels are drawn, so no screen can forget it.
                let lines: Vec<Line> = lines.iter().map(shown_line).collect();
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            }
        }
    }
}

/// A line with every span's text shown escaped.
fn shown_line<'a>(line: &'a Line<'static>) -> Line<'a> {
    Line {
        spans: line
            .spans
            .iter()
            .map(|span| Span::styled(shown(&span.content), span.style))
            .collect(),
        style: line.style,
        alignment: line.alignment,
    }
}
