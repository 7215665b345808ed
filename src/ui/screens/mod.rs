//! Every screen is a column of panels: lists (navigable, filterable, sortable) and text blocks.
//! `panels` says what a view shows, read straight from the model; `draw` lays them out.

mod activity;
mod alerts;
mod disks;
mod distribution;
mod events;
mod failures;
mod groups;
mod history_charts;
mod hosts;
mod judge;
mod kafka_chain;
mod overview;
mod own_load;
mod pipelines;
mod replicas;
mod table_detail;
mod tables;
mod topics;

pub use alerts::{severity_style, view_of};
pub use table_detail::focus_of;

use std::time::SystemTime;

use ratatui::layout::Constraint;

use super::panel::{Panel, PanelBody};
use super::theme::Theme;
use super::view::{View, Zoom};
use crate::model::Model;

pub fn panels<'a>(
    model: &'a Model,
    view: &View,
    theme: &Theme,
    now: SystemTime,
    zoom: Zoom,
) -> Vec<Panel<'a>> {
    match view {
        View::Overview => overview::panels(model, theme, now),
        View::Groups => vec![groups::list_panel(model, Constraint::Fill(1))],
        View::Group { group } => groups::detail_panels(model, group, theme, zoom),
        View::Topics => vec![topics::list_panel(model)],
        View::Topic { topic } => topics::detail_panels(model, topic),
        View::Tables => vec![tables::list_panel(model, Constraint::Fill(1))],
        View::Table { database, table } => {
            table_detail::detail_panels(model, database, table, theme, zoom)
        }
        View::Partition { .. } => table_detail::partition_panels(model, view, theme),
        View::Failures => vec![failures::list_panel(model)],
        View::Failure { key } => failures::detail_panels(model, key, theme),
        View::Merges => vec![activity::merges_panel(model)],
        View::Consumers => vec![activity::consumers_panel(model)],
        View::Consumer { key } => activity::consumer_detail(model, key, theme),
        View::Errors => vec![activity::errors_panel(model)],
        View::Alerts => alerts::panels(model, now),
        View::Events => events::panels(model, now),
        View::Replicas => replicas::panels(model, theme),
        View::Disks => disks::panels(model, theme),
        View::Distribution => distribution::panels(model, now),
        View::OwnLoad => own_load::panels(model, theme, now),
    }
}

/// The panel the keyboard starts on: the first list, except on the overview, where the
/// consumer groups are what one scrolls through (the pipeline strip is a few rows to read).
pub fn default_focus(model: &Model, view: &View, theme: &Theme) -> usize {
    let panels = panels(model, view, theme, SystemTime::now(), Zoom::default());
    let lists = panels
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.body, PanelBody::List(_)))
        .map(|(i, _)| i);
    match view {
        View::Overview => panels
            .iter()
            .position(|p| p.title == groups::TITLE)
            .unwrap_or(0),
        _ => lists.into_iter().next().unwrap_or(0),
    }
}
