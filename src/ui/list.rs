//! The one list widget every screen uses: filter (`/`, regex, `!` inverts), sort by column (`s`,
//! `S`) with a visible marker, a selection that follows its row across refreshes and re-sorts, and
//! rendering of the visible window only, so a 20,000-row list costs what 60 rows cost.

use std::borrow::Cow;
use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use regex::Regex;

use super::theme::Theme;
use super::view::View;
use crate::display_text;

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub width: Constraint,
    /// Right-aligned, and sorted largest first by default.
    pub numeric: bool,
    /// Narrower lists leave this column out, so the columns that say what a row is keep room.
    pub hide_below: u16,
}

impl Column {
    pub const fn text(title: &'static str, width: Constraint) -> Column {
        Column {
            title,
            width,
            numeric: false,
            hide_below: 0,
        }
    }
    pub const fn num(title: &'static str, width: Constraint) -> Column {
        Column {
            title,
            width,
            numeric: true,
            hide_below: 0,
        }
    }
    /// Shown only when the list is at least `width` cells wide.
    pub const fn from_width(self, width: u16) -> Column {
        Column {
            hide_below: width,
            ..self
        }
    }
}

/// What a row sorts by in one column. Unknown values sort after every known one.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Num(f64),
    Text(String),
    Unknown,
}

impl SortKey {
    fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Unknown, SortKey::Unknown) => Ordering::Equal,
            (SortKey::Unknown, _) => Ordering::Greater,
            (_, SortKey::Unknown) => Ordering::Less,
            (SortKey::Num(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => Ordering::Greater,
        }
    }
}

impl From<Option<u64>> for SortKey {
    fn from(v: Option<u64>) -> SortKey {
        v.map_or(SortKey::Unknown, |v| SortKey::Num(v as f64))
    }
}

impl From<Option<f64>> for SortKey {
    fn from(v: Option<f64>) -> SortKey {
        match v {
            Some(v) if v.is_finite() => SortKey::Num(v),
            _ => SortKey::Unknown,
        }
    }
}

/// A screen's rows, read straight from the model: nothing is copied until a row is on screen.
pub trait ListSource {
    fn columns(&self) -> &'static [Column];
    fn len(&self) -> usize;
    /// Identity of row `i`, stable across refreshes: the selection follows it.
    fn key(&self, i: usize) -> String;
    /// The text `/` matches against: one field per line, so `^name$` anchors to a field.
    fn filter_text(&self, i: usize) -> String;
    fn sort_key(&self, i: usize, column: usize) -> SortKey;
    /// The order rows come in before the user sorts: worst first.
    fn natural_order(&self, a: usize, b: usize) -> Ordering;
    /// One cell per column, in `columns()` order; the list drops the hidden ones. Cells carry the
    /// model's text as it is: the list shows it escaped and cut to its column (`shown_cell`).
    fn cells(&self, i: usize, theme: &Theme) -> Vec<Line<'static>>;
    /// Where Enter on row `i` leads.
    fn open(&self, _i: usize) -> Option<View> {
        None
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    regex: Regex,
    invert: bool,
}

impl Filter {
    /// `!pattern` keeps the rows that do not match. Matching ignores case.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let (invert, pattern) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .multi_line(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad regex: {}", e.to_string().lines().last().unwrap_or("")))?;
        Ok(Filter {
            text: text.to_string(),
            regex,
            invert,
        })
    }

    /// Matches the real text or the text as shown, each field (line) on its own: `/\x1b` finds
    /// an ESC (regex syntax), and `/\\x1b` the `\x1b` the screen shows for it; the user may type
    /// either what is there or what they see.
    pub fn keeps(&self, text: &str) -> bool {
        let matched = self.regex.is_match(text)
            || text.lines().any(|field| match display_text::shown(field) {
                Cow::Owned(shown) => self.regex.is_match(&shown),
                Cow::Borrowed(_) => false,
            });
        matched != self.invert
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: usize,
    pub descending: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ListState {
    pub filter: Option<Filter>,
    pub sort: Option<Sort>,
    /// The selected row's key; the index is recomputed from it whenever the order changes.
    pub selected_key: Option<String>,
    /// Where that row was in the source: usually still there, which saves a search by key.
    selected_source: Option<usize>,
    pub selected: usize,
    pub scroll: usize,
    /// Rows on screen at the last render: the page size for PgUp/PgDn.
    pub page: usize,
    order: Vec<usize>,
    stamp: Option<(u64, Option<String>, Option<Sort>)>,
}

impl ListState {
    /// Recomputes the filtered, sorted order when the data, filter or sort changed.
    pub fn refresh(&mut self, source: &dyn ListSource, generation: u64) {
        let stamp = (
            generation,
            self.filter.as_ref().map(|f| f.text.clone()),
            self.sort,
        );
        if self.stamp.as_ref() == Some(&stamp) && self.order.iter().all(|&i| i < source.len()) {
            return;
        }
        let mut order: Vec<usize> = (0..source.len())
            .filter(|&i| {
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.keeps(&source.filter_text(i)))
            })
            .collect();
        // Natural (worst-first) order first: models deliver rows mostly in it, so this is cheap.
        order.sort_by(|&a, &b| source.natural_order(a, b));
        if let Some(sort) = self.sort {
            let keys: Vec<SortKey> = order
                .iter()
                .map(|&i| source.sort_key(i, sort.column))
                .collect();
            // A stable sort by the column alone: ties keep the natural order, so equal rows never
            // swap places between refreshes, and no row comparison is needed for them.
            let mut by_key: Vec<usize> = (0..order.len()).collect();
            by_key.sort_by(|&x, &y| {
                let (kx, ky) = (&keys[x], &keys[y]);
                match (kx, ky) {
                    (SortKey::Unknown, _) | (_, SortKey::Unknown) => kx.cmp(ky),
                    _ if sort.descending => ky.cmp(kx),
                    _ => kx.cmp(ky),
                }
            });
            order = by_key.into_iter().map(|x| order[x]).collect();
        }
        self.order = order;
        self.stamp = Some(stamp);
        if let Some(key) = &self.selected_key {
            let unmoved = self
                .selected_source
                .filter(|&i| i < source.len() && source.key(i) == *key);
            let found = match unmoved {
                Some(i) => self.order.iter().position(|&o| o == i),
                None => self.order.iter().position(|&i| source.key(i) == *key),
            };
            if let Some(pos) = found {
                self.selected = pos;
                self.selected_source = Some(self.order[pos]);
            }
        }
        self.selected = self.selected.min(self.order.len().saturating_sub(1));
    }

    pub fn visible_len(&self) -> usize {
        self.order.len()
    }

    /// The source index of the selected row.
    pub fn selected_index(&self) -> Option<usize> {
        self.order.get(self.selected).copied()
    }

    pub fn move_by(&mut self, delta: isize, source: &dyn ListSource) {
        let last = self.order.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.remember(source);
    }

    pub fn move_to(&mut self, position: usize, source: &dyn ListSource) {
        self.selected = position.min(self.order.len().saturating_sub(1));
        self.remember(source);
    }

    fn remember(&mut self, source: &dyn ListSource) {
        self.selected_source = self.selected_index();
        self.selected_key = self.selected_source.map(|i| source.key(i));
    }

    /// `s`: the next column, in that column's natural direction.
    pub fn cycle_sort(&mut self, columns: &[Column]) {
        let next = match self.sort {
            None => 0,
            Some(s) if s.column + 1 < columns.len() => s.column + 1,
            Some(_) => {
                self.sort = None;
                return;
            }
        };
        self.sort = Some(Sort {
            column: next,
            descending: columns[next].numeric,
        });
    }

    /// `S`: the same column, the other way round.
    pub fn reverse_sort(&mut self, columns: &[Column]) {
        self.sort = match self.sort {
            Some(s) => Some(Sort {
                descending: !s.descending,
                ..s
            }),
            None if !columns.is_empty() => Some(Sort {
                column: 0,
                descending: true,
            }),
            None => None,
        };
    }

    /// Keeps the selection on screen, then returns the window of source indices to draw.
    fn window(&mut self, height: usize) -> &[usize] {
        self.page = height.max(1);
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + self.page {
            self.scroll = self.selected + 1 - self.page;
        }
        self.scroll = self.scroll.min(self.order.len().saturating_sub(self.page));
        let end = (self.scroll + self.page).min(self.order.len());
        &self.order[self.scroll..end]
    }
}

/// How one list is drawn this frame.
pub struct Look<'a> {
    pub generation: u64,
    pub theme: &'a Theme,
    /// The focused list shows its selection.
    pub focused: bool,
    /// What an empty list says.
    pub empty_text: &'a str,
}

/// Draws the list into `area` (header row plus rows).
pub fn render(
    frame: &mut Frame,
    area: Rect,
    source: &dyn ListSource,
    state: &mut ListState,
    look: &Look,
) {
    let Look {
        generation,
        theme,
        focused,
        empty_text,
    } = *look;
    state.refresh(source, generation);
    if state.visible_len() == 0 {
        let text = match &state.filter {
            Some(f) if !source.is_empty() => format!("no rows match /{}", f.text),
            _ => empty_text.to_string(),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.muted)), area);
        return;
    }
    let columns = source.columns();
    let shown: Vec<bool> = columns.iter().map(|c| area.width >= c.hide_below).collect();
    let sort = state.sort;
    let header = Row::new(
        columns
            .iter()
            .enumerate()
            .filter(|(i, _)| shown[*i])
            .map(|(i, c)| {
                let marker = match sort {
                    Some(s) if s.column == i && s.descending => "▼",
                    Some(s) if s.column == i => "▲",
                    _ => "",
                };
                header_cell(c, marker)
            }),
    )
    .style(theme.header);
    let selected = state.selected;
    let scroll_before = state.scroll;
    let window: Vec<usize> = state
        .window(usize::from(area.height.saturating_sub(1)))
        .to_vec();
    let scroll = state.scroll;
    debug_assert!(scroll_before <= state.order.len());
    let widths: Vec<Constraint> = columns
        .iter()
        .zip(&shown)
        .filter(|(_, show)| **show)
        .map(|(c, _)| c.width)
        .collect();
    // The same split the table makes (no selection symbol, one cell between columns), so each
    // cell is cut to exactly its column.
    let cell_widths: Vec<u16> = Layout::horizontal(widths.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, area.width, 1))
        .iter()
        .map(|r| r.width)
        .collect();
    let rows = window.iter().enumerate().map(|(offset, &i)| {
        let cells = source.cells(i, theme).into_iter().zip(&shown);
        let cells = cells.filter(|(_, show)| **show).map(|(c, _)| c);
        let row = Row::new(
            cells
                .zip(&cell_widths)
                .map(|(line, &width)| Cell::from(shown_cell(line, usize::from(width)))),
        );
        if focused && scroll + offset == selected {
            row.style(theme.selection)
        } else {
            row
        }
    });
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

fn header_cell(column: &Column, marker: &str) -> Cell<'static> {
    // The marker goes on the side the title is aligned to, so it never pushes the title out.
    if column.numeric {
        Cell::from(Line::from(format!("{marker}{}", column.title)).right_aligned())
    } else {
        Cell::from(format!("{}{marker}", column.title))
    }
}

/// A cell of text: a `Line::from(String)` would drop a newline in a name before it could be
/// shown (`\n`); a span keeps the text whole for `shown_cell`.
pub fn cell(text: impl Into<Cow<'static, str>>) -> Line<'static> {
    Line::from(Span::raw(text))
}

/// A right-aligned cell, for numbers.
pub fn num_cell(text: String, style: ratatui::style::Style) -> Line<'static> {
    Line::from(Span::styled(text, style)).right_aligned()
}

/// A cell's text as it may be drawn: every span escaped (`display_text::shown`: the terminal
/// never gets a control character, two names never look the same), and the whole cut to `width`
/// columns with an ellipsis, so a 10,000-character name neither wraps nor pushes the columns
/// after it out, and a cut name says that it goes on.
pub fn shown_cell(line: Line<'static>, width: usize) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = line
        .spans
        .into_iter()
        .map(|span| match display_text::shown(&span.content) {
            Cow::Borrowed(_) => span,
            Cow::Owned(text) => Span::styled(text, span.style),
        })
        .collect();
    let total: usize = spans.iter().map(Span::width).sum();
    if total > width {
        // Room for the ellipsis: whole spans while they fit, then the one that is cut.
        let mut room = width.saturating_sub(1);
        let mut kept = Vec::with_capacity(spans.len());
        for span in spans {
            let w = span.width();
            if w <= room {
                room -= w;
                kept.push(span);
                continue;
            }
            let cut = display_text::prefix(&span.content, room).to_string();
            kept.push(Span::styled(cut, span.style));
            if width > 0 {
                kept.push(Span::styled("…", span.style));
            }
            break;
        }
        spans = kept;
    }
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers(Vec<(String, u64)>);

    const COLUMNS: &[Column] = &[
        Column::text("NAME", Constraint::Fill(1)),
        Column::num("N", Constraint::Length(5)),
    ];

    impl ListSource for Numbers {
        fn columns(&self) -> &'static [Column] {
            COLUMNS
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn key(&self, i: usize) -> String {
            self.0[i].0.clone()
        }
        fn filter_text(&self, i: usize) -> String {
            self.0[i].0.clone()
        }
        fn sort_key(&self, i: usize, column: usize) -> SortKey {
            match column {
                0 => SortKey::Text(self.0[i].0.clone()),
                _ => SortKey::Num(self.0[i].1 as f64),
            }
        }
        fn natural_order(&self, a: usize, b: usize) -> Ordering {
            self.0[b].1.cmp(&self.0[a].1)
        }
        fn cells(&self, i: usize, _: &Theme) -> Vec<Line<'static>> {
            vec![Line::from(self.0[i].0.clone())]
        }
    }

    fn data(rows: &[(&str, u64)]) -> Numbers {
        Numbers(rows.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    fn keys(state: &ListState, source: &Numbers) -> Vec<String> {
        state.order.iter().map(|&i| source.key(i)).collect()
    }

    #[test]
    fn natural_order_is_worst_first_and_filter_inverts() {
        let src = data(&[("a", 1), ("b", 5), ("c", 3)]);
        let mut st = ListState::default();
        st.refresh(&src, 1);
        assert_eq!(keys(&st, &src), ["b", "c", "a"]);
        st.filter = Some(Filter::parse("!^b").unwrap());
        st.refresh(&src, 1);
        assert_eq!(keys(&st, &src), ["c", "a"]);
        st.filter = Some(Filter::parse("B").unwrap());
        st.refresh(&src, 1);
        assert_eq!(keys(&st, &src), ["b"], "matching ignores case");
    }

    #[test]
    fn anchors_match_one_field() {
        let f = Filter::parse("^events$").unwrap();
        assert!(f.keeps("clickhouse_group\nStable\nevents"));
        assert!(!f.keeps("clickhouse_group\nStable\nevents_topic"));
    }

    #[test]
    fn bad_regex_is_reported() {
        assert!(Filter::parse("(").unwrap_err().starts_with("bad regex"));
    }

    #[test]
    fn selection_follows_its_row_across_refreshes() {
        let mut src = data(&[("a", 1), ("b", 5), ("c", 3)]);
        let mut st = ListState::default();
        st.refresh(&src, 1);
        st.move_to(1, &src); // "c"
        src.0[0].1 = 10; // "a" jumps to the top
        st.refresh(&src, 2);
        assert_eq!(keys(&st, &src), ["a", "b", "c"]);
        assert_eq!(
            st.selected_index().map(|i| src.key(i)).as_deref(),
            Some("c")
        );
    }

    #[test]
    fn sort_cycles_columns_and_reverses() {
        let src = data(&[("b", 1), ("a", 1), ("c", 3)]);
        let mut st = ListState::default();
        st.cycle_sort(COLUMNS);
        st.refresh(&src, 1);
        assert_eq!(keys(&st, &src), ["a", "b", "c"]);
        st.cycle_sort(COLUMNS);
        st.refresh(&src, 1);
        assert_eq!(
            keys(&st, &src),
            ["c", "b", "a"],
            "numbers largest first; ties keep natural order"
        );
        st.reverse_sort(COLUMNS);
        st.refresh(&src, 1);
        assert_eq!(keys(&st, &src), ["b", "a", "c"]);
        st.cycle_sort(COLUMNS);
        assert_eq!(st.sort, None);
    }

    #[test]
    fn only_the_visible_window_is_drawn() {
        let rows: Vec<(String, u64)> = (0..20_000).map(|i| (format!("p{i}"), i)).collect();
        let src = Numbers(rows);
        let mut st = ListState::default();
        st.refresh(&src, 1);
        st.move_to(10_000, &src);
        let window = st.window(50).to_vec();
        assert_eq!(window.len(), 50);
        assert!(window.contains(&st.order[10_000]));
    }

    #[test]
    fn a_filter_matches_the_real_name_or_the_shown_one() {
        let esc = "a\u{1b}[31mred";
        assert!(
            Filter::parse("\\x1b").unwrap().keeps(esc),
            "the regex escape finds the ESC"
        );
        assert!(
            Filter::parse("\\\\x1b\\[31m").unwrap().keeps(esc),
            "what the screen shows"
        );
        assert!(Filter::parse("^a.x1b").unwrap().keeps(esc));
        assert!(!Filter::parse("!red").unwrap().keeps(esc));
        assert!(!Filter::parse("x1b").unwrap().keeps("plain"));
    }

    #[test]
    fn cells_are_escaped_and_cut_by_display_width() {
        let text =
            |line: Line| -> String { line.spans.iter().map(|s| s.content.as_ref()).collect() };
        assert_eq!(
            text(shown_cell(Line::from("a\u{1b}]0;t\u{7}"), 20)),
            "a\\x1b]0;t\\x07"
        );
        assert_eq!(text(shown_cell(Line::from("消费者组"), 5)), "消费…");
        let long = shown_cell(Line::from("g".repeat(10_000)), 30);
        assert_eq!(long.width(), 30);
        assert!(text(long).ends_with("g…"));
        let spans = Line::from(vec![Span::raw("ab"), Span::raw("\u{202e}cd")]);
        assert_eq!(text(shown_cell(spans, 6)), "ab\\u{…");
        let number = shown_cell(num_cell("12,345".to_string(), Default::default()), 4);
        assert_eq!(number.alignment, Some(ratatui::layout::Alignment::Right));
        assert_eq!(number.width(), 4);
    }
}
