//! The coverage map: how often each mutation kind fired at each probe point (applied, or
//! skipped because there was nothing to mutate that way), and the outcomes of the builds they
//! fired in; printed as a compact table and drawn as an SVG heat map, so a reviewer sees at a
//! glance which cells a campaign never reached. The map is titled with the run it shows, has a
//! legend for every colour a cell can take, and sizes its margins from its longest labels.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::mutation::{MutationKind, Point};

/// One cell: a mutation kind at a point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Times it fired and changed something.
    pub applied: u64,
    /// Times it fired with nothing to mutate that way.
    pub skipped: u64,
    /// Outcomes of the builds it fired in (`ok`, `invalid_data`, …).
    pub outcomes: BTreeMap<String, u64>,
}

/// Cells by `kind@point`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every cell that fired at least once.
    pub cells: BTreeMap<String, Cell>,
}

/// Every point kind, in the order of the map's columns.
pub const POINTS: [&str; Point::KINDS] = [
    "before_hash",
    "before_open",
    "after_hash_chunk",
    "after_hash",
    "after_hashin",
    "before_cache_read",
    "before_consume",
    "at_open",
    "after_chunk",
    "at_eof",
    "during_pack",
    "after_cache_write",
    "between_consumers",
    "between_builds",
];

/// The key of a cell.
pub fn key(kind: MutationKind, point: &str) -> String {
    format!("{}@{point}", kind.name())
}

impl Coverage {
    /// Counts one fired mutation and the outcome of its build.
    pub fn add(&mut self, kind: MutationKind, point: Point, applied: bool, outcome: &str) {
        let cell = self.cells.entry(key(kind, point.name())).or_default();
        if applied {
            cell.applied += 1;
        } else {
            cell.skipped += 1;
        }
        *cell.outcomes.entry(outcome.to_string()).or_insert(0) += 1;
    }

    /// Folds another map into this one.
    pub fn absorb(&mut self, other: Coverage) {
        for (key, cell) in other.cells {
            let mine = self.cells.entry(key).or_default();
            mine.applied += cell.applied;
            mine.skipped += cell.skipped;
            for (outcome, n) in cell.outcomes {
                *mine.outcomes.entry(outcome).or_insert(0) += n;
            }
        }
    }

    /// The cells (of every kind × point) that never fired.
    pub fn never_fired(&self) -> Vec<String> {
        MutationKind::ALL
            .iter()
            .flat_map(|&k| POINTS.iter().map(move |p| key(k, p)))
            .filter(|key| !self.cells.contains_key(key))
            .collect()
    }

    /// A compact table: per kind, how many points it fired at, and how often it applied.
    pub fn table(&self) -> String {
        let width = MutationKind::ALL
            .iter()
            .map(|k| k.name().len())
            .max()
            .unwrap_or(0);
        let mut out = format!("{:<width$} points applied skipped\n", "kind");
        for kind in MutationKind::ALL {
            let cells: Vec<&Cell> = POINTS
                .iter()
                .filter_map(|p| self.cells.get(&key(kind, p)))
                .collect();
            let applied: u64 = cells.iter().map(|c| c.applied).sum();
            let skipped: u64 = cells.iter().map(|c| c.skipped).sum();
            let _ = writeln!(
                out,
                "{:<width$} {:>2}/{:<3} {applied:>7} {skipped:>7}",
                kind.name(),
                cells.len(),
                POINTS.len()
            );
        }
        let never = self.never_fired();
        let _ = writeln!(
            out,
            "cells never fired: {} of {}",
            never.len(),
            MutationKind::ALL.len() * POINTS.len()
        );
        out
    }
}

/// The title of a map: which mode ran, with which seed, how many schedules, on which file
/// system (`Mutation coverage: sim run, seed 1, 20,000 schedules on mem`).
pub fn title(mode: &str, seed: u64, schedules: u64, fs: &str) -> String {
    let plural = if schedules == 1 { "" } else { "s" };
    let schedules = grouped(schedules);
    format!("Mutation coverage: sim {mode}, seed {seed}, {schedules} schedule{plural} on {fs}")
}

/// `n` with a comma between each group of three digits.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` with the XML special characters escaped, for element text and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Font sizes of the title and of every other text, in px.
const TITLE_FONT: f64 = 15.0;
const FONT: f64 = 12.0;
/// Advance of one character of a monospace font, in em (0.6 in DejaVu Sans Mono, Liberation
/// Mono and Courier; a little more, so a wider fallback font still fits).
const CHAR_EM: f64 = 0.62;
/// Side of a cell, blank space around and between the parts, height of a line of the title
/// block and of the legend, side of a legend swatch, gap between a label and the grid (px).
const CELL: f64 = 22.0;
const PAD: f64 = 10.0;
const LINE: f64 = 20.0;
const SWATCH: f64 = 14.0;
const LABEL_GAP: f64 = 6.0;
/// Baselines of the title and of the line under it, and the bottom of that block.
const TITLE_Y: f64 = PAD + TITLE_FONT;
const SUBTITLE_Y: f64 = TITLE_Y + LINE;
const HEADER_BOTTOM: f64 = SUBTITLE_Y + FONT / 2.0;
/// How far the column labels are turned counter-clockwise, in degrees.
const ANGLE: f64 = 60.0;
/// The blues of the applied levels, fewest applications first (ColorBrewer Blues); the fill
/// of a cell that fired only with nothing to mutate, and of one that never fired.
const BLUES: [&str; 5] = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
const SKIPPED_FILL: &str = "#fdae6b";
const NEVER_FILL: &str = "#ffffff";
/// The last line of the legend, under its swatches.
const LEGEND_NOTE: &str = "Hover a cell for its counts and outcomes.";

/// Width of `text` set in the monospace font at size `font`.
fn text_width(text: &str, font: f64) -> f64 {
    text.chars().count() as f64 * font * CHAR_EM
}

/// The largest of `lengths` (0 if none).
fn longest(lengths: impl Iterator<Item = f64>) -> f64 {
    lengths.fold(0.0, f64::max)
}

/// How far a turned column label reaches from its anchor: left, right and up, in px. The
/// baseline runs up and to the right; the glyphs rise (a full em, generously) up and to the
/// left of it and descend (a quarter em) down and to the right.
fn label_extent(text: &str) -> (f64, f64, f64) {
    let (sin, cos) = ANGLE.to_radians().sin_cos();
    let (length, ascent, descent) = (text_width(text, FONT), FONT, FONT / 4.0);
    let up = length * sin + ascent * cos;
    (ascent * sin, length * cos + descent * sin, up)
}

/// The applied levels of one map: the fewest applications of each, on a log scale from 1 to
/// the map's largest count, so a map of a short run is as readable as one of a long run.
struct Scale {
    lowest: [u64; BLUES.len()],
    max: u64,
}

impl Scale {
    fn new(max: u64) -> Scale {
        let max = max.max(1);
        let lowest = std::array::from_fn(|level| {
            let step = level as f64 / BLUES.len() as f64;
            ((1 + max) as f64).powf(step).floor().max(1.0) as u64
        });
        Scale { lowest, max }
    }

    /// The level of a cell applied `applied` (at least 1) times.
    fn level(&self, applied: u64) -> usize {
        let level = self.lowest.iter().rposition(|&lowest| lowest <= applied);
        level.unwrap_or(0)
    }

    /// The counts a level takes, first and last; `None` when no count falls in it.
    fn range(&self, level: usize) -> Option<(u64, u64)> {
        let first = self.lowest[level];
        let next = self.lowest.get(level + 1);
        let last = next.map_or(self.max, |&next| next - 1);
        (first <= last).then_some((first, last))
    }
}

/// What a cell shows: how often it applied, that it only skipped, or that it never fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shade {
    Applied(usize),
    SkippedOnly,
    Never,
}

impl Shade {
    fn of(cell: Option<&Cell>, scale: &Scale) -> Shade {
        match cell {
            Some(cell) if cell.applied > 0 => Shade::Applied(scale.level(cell.applied)),
            Some(_) => Shade::SkippedOnly,
            None => Shade::Never,
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Shade::Applied(level) => BLUES[level],
            Shade::SkippedOnly => SKIPPED_FILL,
            Shade::Never => NEVER_FILL,
        }
    }

    fn meaning(self, scale: &Scale) -> String {
        let range = |level| scale.range(level).map(|(a, b)| (grouped(a), grouped(b)));
        match self {
            Shade::Applied(level) => match range(level) {
                Some((first, last)) if first == "1" && last == "1" => "applied once".into(),
                Some((first, last)) if first == last => format!("applied {first} times"),
                Some((first, last)) => format!("applied {first}-{last} times"),
                None => String::new(),
            },
            Shade::SkippedOnly => "fired, never applied (nothing to mutate)".into(),
            Shade::Never => "never fired (not reached, or not applicable)".into(),
        }
    }

    /// Every shade a cell of a map with this scale can take, in the legend's order.
    fn all(scale: &Scale) -> Vec<Shade> {
        let levels = (0..BLUES.len()).filter(|&level| scale.range(level).is_some());
        let applied = levels.map(Shade::Applied);
        applied.chain([Shade::SkippedOnly, Shade::Never]).collect()
    }
}

/// Where the grid (its top left corner) and the legend go, and the size of the drawing;
/// every margin computed from the longest text it must hold.
struct Layout {
    left: f64,
    top: f64,
    legend_x: f64,
    width: f64,
    height: f64,
}

impl Layout {
    fn new(header: [&str; 2], legend: &[String]) -> Layout {
        let rise = longest(POINTS.iter().map(|p| label_extent(p).2));
        let top = (HEADER_BOTTOM + rise + LABEL_GAP).ceil();
        let names = MutationKind::ALL.map(|k| text_width(&k.name(), FONT));
        let left = (PAD + longest(names.into_iter()) + LABEL_GAP).ceil();
        let legend_x = left + CELL * POINTS.len() as f64 + 2.0 * PAD;
        let legend_text = longest(legend.iter().map(|t| text_width(t, FONT)));
        let last = POINTS.len() - 1;
        let reach = [
            legend_x + SWATCH + PAD / 2.0 + legend_text,
            PAD + text_width(header[0], TITLE_FONT),
            PAD + text_width(header[1], FONT),
            label_anchor_x(left, last) + label_extent(POINTS[last]).1,
        ];
        let grid_bottom = top + CELL * MutationKind::ALL.len() as f64;
        // The heading, a line per entry, a blank line, the note.
        let legend_bottom = top + LINE * (legend.len() + 2) as f64;
        let width = (longest(reach.into_iter()) + PAD).ceil();
        let height = (grid_bottom.max(legend_bottom) + PAD).ceil();
        Layout {
            left,
            top,
            legend_x,
            width,
            height,
        }
    }

    /// The anchor (start of the baseline) of each column label, with its text.
    fn column_labels(&self) -> Vec<(f64, f64, &'static str)> {
        let y = self.top - LABEL_GAP;
        let anchors = (0..POINTS.len()).map(|col| label_anchor_x(self.left, col));
        anchors.zip(POINTS).map(|(x, p)| (x, y, p)).collect()
    }
}

/// A column label starts a little right of its column's middle, so the turned text, which
/// rises to the left of its baseline, sits over the column.
fn label_anchor_x(left: f64, col: usize) -> f64 {
    left + CELL * col as f64 + CELL / 2.0 + FONT / 4.0
}

/// Appends a `<text>` at `x`, `y` with more attributes `attrs` (each after a space).
fn text(svg: &mut String, x: f64, y: f64, attrs: &str, body: &str) {
    let body = escape(body);
    let _ = writeln!(svg, "<text x=\"{x}\" y=\"{y}\"{attrs}>{body}</text>");
}

impl Coverage {
    /// An SVG heat map titled `title` (see [`title`]): kinds down, points across, a legend at
    /// the right. A cell that applied is blue, darker the more often (log scale); one that
    /// fired only with nothing to mutate is orange; one that never fired is white. Each cell's
    /// tooltip gives its counts and the outcomes of the builds it fired in.
    pub fn svg(&self, title: &str) -> String {
        let subtitle = self.subtitle();
        let (scale, shades, layout) = self.plan(title, &subtitle);
        let (width, height) = (layout.width, layout.height);
        let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"{FONT}\">\n");
        let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        let bold = format!(" font-size=\"{TITLE_FONT}\" font-weight=\"bold\"");
        text(&mut svg, PAD, TITLE_Y, &bold, title);
        text(&mut svg, PAD, SUBTITLE_Y, " fill=\"#444\"", &subtitle);
        self.draw_grid(&mut svg, &layout, &scale);
        draw_legend(&mut svg, &layout, &scale, &shades);
        svg.push_str("</svg>\n");
        svg
    }

    /// The scale of the applied levels, the shades in the legend, and where everything goes.
    fn plan(&self, title: &str, subtitle: &str) -> (Scale, Vec<Shade>, Layout) {
        let max = self.cells.values().map(|c| c.applied).max().unwrap_or(1);
        let scale = Scale::new(max);
        let shades = Shade::all(&scale);
        let mut legend: Vec<String> = shades.iter().map(|s| s.meaning(&scale)).collect();
        legend.push(LEGEND_NOTE.to_string());
        let layout = Layout::new([title, subtitle], &legend);
        (scale, shades, layout)
    }

    /// The line under the title: what the rows and columns are, and how many cells never fired.
    fn subtitle(&self) -> String {
        let (kinds, points) = (MutationKind::ALL.len(), POINTS.len());
        let never = self.never_fired().len();
        format!("rows: {kinds} mutation kinds; columns: {points} probe points; {never} of {} cells never fired", kinds * points)
    }

    /// The turned point names, then a row per kind: its name (right-aligned), then its cells.
    fn draw_grid(&self, svg: &mut String, layout: &Layout, scale: &Scale) {
        for (x, y, point) in layout.column_labels() {
            let turn = format!(" transform=\"rotate(-{ANGLE} {x} {y})\"");
            text(svg, x, y, &turn, point);
        }
        let (size, name_x) = (CELL - 1.0, layout.left - LABEL_GAP);
        for (row, kind) in MutationKind::ALL.iter().enumerate() {
            let y = layout.top + CELL * row as f64;
            let baseline = y + CELL / 2.0 + FONT / 3.0;
            text(svg, name_x, baseline, " text-anchor=\"end\"", &kind.name());
            for (col, point) in POINTS.iter().enumerate() {
                let x = layout.left + CELL * col as f64;
                let cell = self.cells.get(&key(*kind, point));
                let fill = Shade::of(cell, scale).fill();
                let tip = escape(&format!("{}@{point}: {}", kind.name(), tooltip(cell)));
                let _ = writeln!(svg, "<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{size}\" height=\"{size}\" fill=\"{fill}\" stroke=\"#999\"><title>{tip}</title></rect>");
            }
        }
    }
}

/// What a cell's tooltip says after its key: its counts and its builds' outcomes.
fn tooltip(cell: Option<&Cell>) -> String {
    let Some(cell) = cell else {
        return "never fired".to_string();
    };
    let outcomes = cell.outcomes.iter().map(|(o, n)| format!("{o} {n}"));
    let outcomes = outcomes.collect::<Vec<_>>().join(", ");
    let (applied, skipped) = (cell.applied, cell.skipped);
    format!("{applied} applied, {skipped} skipped; outcomes: {outcomes}")
}

/// The legend: a heading, a swatch and its meaning for every shade, and how to read a cell.
fn draw_legend(svg: &mut String, layout: &Layout, scale: &Scale, shades: &[Shade]) {
    let (x, top, text_x) = (
        layout.legend_x,
        layout.top,
        layout.legend_x + SWATCH + PAD / 2.0,
    );
    text(svg, x, top + FONT, " font-weight=\"bold\"", "Cell colour");
    for (line, shade) in shades.iter().enumerate() {
        let y = top + LINE * (line + 1) as f64;
        let (swatch_y, fill) = (y + 1.0, shade.fill());
        let _ = writeln!(svg, "<rect class=\"swatch\" x=\"{x}\" y=\"{swatch_y}\" width=\"{SWATCH}\" height=\"{SWATCH}\" fill=\"{fill}\" stroke=\"#999\"/>");
        text(svg, text_x, y + FONT, "", &shade.meaning(scale));
    }
    let y = top + LINE * (shades.len() + 2) as f64;
    text(svg, x, y + FONT, " fill=\"#444\"", LEGEND_NOTE);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn points_cover_every_point_kind_once() {
        assert_eq!(POINTS.len(), Point::KINDS);
        let mut sorted = POINTS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), POINTS.len());
    }

    #[test]
    fn cells_count_and_the_map_names_what_never_fired() {
        let mut map = Coverage::default();
        map.add(MutationKind::Delete, Point::AtOpen, true, "ok");
        map.add(MutationKind::Delete, Point::AtOpen, false, "not_found");
        let cell = &map.cells["delete@at_open"];
        assert_eq!((cell.applied, cell.skipped), (1, 1));
        assert_eq!(
            map.never_fired().len(),
            MutationKind::ALL.len() * POINTS.len() - 1
        );
        assert!(map.table().contains("delete"));
        let svg = map.svg("t");
        assert!(svg.starts_with("<svg") && svg.contains("delete@at_open: 1 applied, 1 skipped"));
    }

    /// A cell applied `applied` times.
    fn applied(applied: u64) -> Cell {
        let outcomes = BTreeMap::from([("ok".to_string(), applied + 1)]);
        Cell {
            applied,
            skipped: applied % 3,
            outcomes,
        }
    }

    /// Maps to draw: empty, one applied cell, one skipped cell, and counts from 0 up to `top`
    /// spread over most of the grid (every level of the scale in use).
    fn maps() -> Vec<Coverage> {
        let spread = |top: u64| {
            let keys = Coverage::default().never_fired().into_iter().enumerate();
            let count = |i: usize| applied(i as u64 * 7919 % (top + 1));
            let kept = keys.filter(|(i, _)| !i.is_multiple_of(5));
            let mut cells: BTreeMap<_, _> = kept.map(|(i, k)| (k, count(i))).collect();
            cells.insert(key(MutationKind::Crash, "at_eof"), applied(top));
            Coverage { cells }
        };
        let mut one = Coverage::default();
        one.add(MutationKind::Delete, Point::AtOpen, true, "ok");
        let mut skipped = Coverage::default();
        skipped.add(MutationKind::Loop, Point::AtEof, false, "symlink_loop");
        let mut maps = vec![Coverage::default(), one, skipped];
        maps.extend([1, 2, 3, 12, 171, 20_000, 3_000_000].map(spread));
        maps
    }

    /// The values of attribute `name` on the elements of `svg` that have `class="{class}"`.
    fn attributes(svg: &str, class: &str, name: &str) -> BTreeSet<String> {
        let (marker, needle) = (format!("class=\"{class}\""), format!(" {name}=\""));
        let lines = svg.lines().filter(|line| line.contains(&marker));
        let values = lines.filter_map(|line| line.split(&needle).nth(1)?.split('"').next());
        values.map(String::from).collect()
    }

    /// Tags balance, attribute values are quoted, and no text holds a bare `<` or stray `&`.
    fn well_formed(xml: &str) -> Result<(), String> {
        let mut open = Vec::new();
        let mut rest = xml;
        while let Some(start) = rest.find('<') {
            plain_text(&rest[..start])?;
            let end = start + rest[start..].find('>').ok_or("a tag is never closed")?;
            let tag = &rest[start + 1..end];
            if tag.contains('<') || tag.matches('"').count() % 2 == 1 {
                return Err(format!("malformed tag <{tag}>"));
            }
            plain_text(tag)?;
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop() != Some(name) {
                    return Err(format!("</{name}> closes nothing open"));
                }
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap_or_default());
            }
            rest = &rest[end + 1..];
        }
        plain_text(rest)?;
        match open.is_empty() {
            true => Ok(()),
            false => Err(format!("never closed: {open:?}")),
        }
    }

    /// Every `&` in `text` starts one of the five XML entities.
    fn plain_text(text: &str) -> Result<(), String> {
        let entities = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
        let bare = |(at, _)| !entities.iter().any(|e| text[at..].starts_with(e));
        match text.match_indices('&').any(bare) {
            true => Err(format!("a bare & in {text:?}")),
            false => Ok(()),
        }
    }

    #[test]
    fn the_title_names_mode_seed_schedules_and_file_system() {
        let table = "run 1 20000 mem: sim run, seed 1, 20,000 schedules on mem
            exhaustive 0 21274 mem: sim exhaustive, seed 0, 21,274 schedules on mem
            run 42 1 both: sim run, seed 42, 1 schedule on both
            run 7 999 disk: sim run, seed 7, 999 schedules on disk
            run 7 1000000 disk: sim run, seed 7, 1,000,000 schedules on disk";
        for line in table.lines() {
            let (run, expected) = line.trim().split_once(": ").unwrap();
            let run: Vec<&str> = run.split(' ').collect();
            let numbers = (run[1].parse().unwrap(), run[2].parse().unwrap());
            let title = title(run[0], numbers.0, numbers.1, run[3]);
            assert_eq!(title, format!("Mutation coverage: {expected}"));
            let svg = Coverage::default().svg(&title);
            assert!(svg.contains(&format!(">{title}</text>")), "{svg}");
        }
        let svg = Coverage::default().svg("seed <1> & \"2\"");
        assert!(svg.contains(">seed &lt;1&gt; &amp; &quot;2&quot;</text>"));
    }

    #[test]
    fn every_fill_a_cell_takes_has_a_legend_entry() {
        for map in maps() {
            let svg = map.svg("t");
            let cells = attributes(&svg, "cell", "fill");
            let swatches = attributes(&svg, "swatch", "fill");
            assert!(cells.is_subset(&swatches), "{cells:?} {swatches:?}");
            // Every count up to the largest falls in a level the legend lists with its range.
            let (scale, shades, _) = map.plan("t", "");
            let max = scale.max;
            for count in (1..=max.min(5_000)).chain([max / 2 + 1, max]) {
                let shade = Shade::of(Some(&applied(count)), &scale);
                assert!(shades.contains(&shade), "{count} of {max}");
                let Shade::Applied(level) = shade else {
                    panic!("{shade:?}")
                };
                let (first, last) = scale.range(level).unwrap();
                assert!((first..=last).contains(&count), "{count} in {first}-{last}");
                assert!(svg.contains(&format!(">{}</text>", shade.meaning(&scale))));
            }
            for cell in [None, Some(&Cell::default())] {
                let shade = Shade::of(cell, &scale);
                assert!(swatches.contains(shade.fill()), "{shade:?}");
                assert!(svg.contains(&format!(">{}</text>", shade.meaning(&scale))));
            }
        }
    }

    #[test]
    fn labels_fit_in_the_margins_computed_for_them() {
        let map = maps().pop().unwrap();
        let long = title("exhaustive", u64::MAX, u64::MAX, "both");
        let width = |text: &str, font: f64| text.chars().count() as f64 * font * CHAR_EM;
        for title in ["t", long.as_str()] {
            let (scale, shades, layout) = map.plan(title, &map.subtitle());
            for (x, y, text) in layout.column_labels() {
                let (left, right, up) = label_extent(text);
                assert!(up >= width(text, FONT) * ANGLE.to_radians().sin(), "{text}");
                assert!(y - up >= HEADER_BOTTOM, "{text} rises into the title");
                assert!(x - left >= 0.0 && x + right <= layout.width, "{text}");
            }
            for kind in MutationKind::ALL {
                let start = layout.left - LABEL_GAP - width(&kind.name(), FONT);
                assert!(start >= 0.0, "{kind:?} is cut");
            }
            assert!(PAD + width(title, TITLE_FONT) <= layout.width);
            for shade in shades {
                let end = layout.legend_x + SWATCH + width(&shade.meaning(&scale), FONT);
                assert!(end <= layout.width, "{shade:?}");
            }
            let grid_bottom = layout.top + CELL * MutationKind::ALL.len() as f64;
            assert!(grid_bottom <= layout.height);
            let size = format!("width=\"{}\" height=\"{}\"", layout.width, layout.height);
            assert!(map.svg(title).lines().next().unwrap().contains(&size));
        }
        // Neighbouring turned labels do not touch.
        assert!(CELL * ANGLE.to_radians().sin() >= FONT);
    }

    #[test]
    fn the_svg_is_well_formed_and_the_same_every_time() {
        for map in maps() {
            for title in ["t", "<a & b>", "sim run, seed 1, 'x' \"y\""] {
                let svg = map.svg(title);
                assert_eq!(well_formed(&svg), Ok(()), "{svg}");
                assert_eq!(svg, map.clone().svg(title));
                let cells = svg.matches("<rect class=\"cell\"").count();
                assert_eq!(cells, svg.matches("</title></rect>").count());
                assert_eq!(cells, MutationKind::ALL.len() * POINTS.len());
            }
        }
        for bad in "<a><b></a></b>|<a>x & y</a>|<a><b/>|<a b=\"c>d</a>".split('|') {
            assert!(well_formed(bad).is_err(), "{bad}");
        }
    }
}
