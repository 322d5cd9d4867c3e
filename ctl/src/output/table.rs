//! Aligned columns: headers, then rows, two spaces apart. Cells carry a [`Tone`] and
//! are coloured after padding, so escape codes never disturb the alignment.

use super::{Paint, Tone};

#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<(String, Tone)>>,
    indent: usize,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Every line starts with `indent` spaces.
    pub fn indent(mut self, indent: usize) -> Self {
        self.indent = indent;
        self
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.toned_row(cells.into_iter().map(|c| (c.into(), Tone::Plain)));
    }

    pub fn toned_row(&mut self, cells: impl IntoIterator<Item = (String, Tone)>) {
        self.rows.push(cells.into_iter().collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The lines, without trailing spaces; a missing cell is empty.
    pub fn render(&self, paint: Paint) -> Vec<String> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0; columns];
        for (i, h) in self.headers.iter().enumerate() {
            widths[i] = widths[i].max(h.chars().count());
        }
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let header = self
            .headers
            .iter()
            .map(|h| (h.clone(), Tone::Dim))
            .collect();
        std::iter::once(&header)
            .filter(|_| !self.headers.is_empty())
            .chain(&self.rows)
            .map(|row| self.line(row, &widths, paint))
            .collect()
    }

    fn line(&self, row: &[(String, Tone)], widths: &[usize], paint: Paint) -> String {
        let mut out = " ".repeat(self.indent);
        let last = widths.len().saturating_sub(1);
        for (i, width) in widths.iter().enumerate() {
            let (text, tone) = row
                .get(i)
                .map_or(("", Tone::Plain), |(t, tone)| (t.as_str(), *tone));
            out.push_str(&paint.tone(tone, text));
            if i < last {
                let pad = width - text.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.truncate(out.trim_end().len());
        out
    }
}
