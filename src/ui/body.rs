//! Draws the current view's panels in the body of the screen.

use ratatui::Frame;
use ratatui::layout::{Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::chart;
use super::list;
use super::panel::{PanelBody, source_state};
use super::screens::panels;

/// Draws the current view's panels into `area` and records where list rows landed (for clicks).
pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let view = app.level().view.clone();
    let panels = panels(&app.model, &view, &app.theme, app.now, app.zoom);
    let areas = Layout::vertical(panels.iter().map(|p| p.height)).split(area);
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
        let focused = i == focus;
        let title_style = if focused && lists_focusable {
            theme.accent
        } else {
            theme.header
        };
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(format!(" {} ", panel.title), title_style));
        let (last_good, failing) = panel
            .source
            .map_or((None, false), |s| source_state(&app.model, s));
        let age = last_good.map(|t| app.now.duration_since(t).unwrap_or_default());
        // Old figures look like current ones unless the panel says how old they are.
        if let Some(age) =
            age.filter(|a| failing || *a > app.refresh * 3 + std::time::Duration::from_secs(1))
        {
            block = block.title(Span::styled(
                format!(" data {} old ", crate::time::short_duration(age)),
                theme.stale,
            ));
        }
        if let Some(problem) = &panel.problem {
            block = block.title_bottom(Span::styled(format!(" {problem} "), theme.crit));
        }
        let inner = block.inner(*area);
        frame.render_widget(block, *area);
        match &panel.body {
            PanelBody::List(source) => {
                let last = app.stack.len() - 1;
                let state = app.stack[last].list(i);
                if let Some(filter) = &state.filter {
                    let label = Span::styled(format!(" /{} ", filter.text), theme.accent);
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
                frame.render_widget(
                    Paragraph::new(lines.clone()).wrap(Wrap { trim: false }),
                    inner,
                );
            }
        }
    }
}
