// SPDX-License-Identifier: GPL-2.0

//! Aligned plain-text output: `key  value` lines and tables.  Two spaces
//! between columns and no trailing blanks, so that both read well and
//! split with `awk`.

/// `key  value` lines, the values in one column.
pub fn key_values<K: AsRef<str>, V: AsRef<str>>(rows: &[(K, V)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.as_ref().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let line = format!("{:<width$}  {}", k.as_ref(), v.as_ref());
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A table: the first column (a label) left-aligned, the others (numbers)
/// right-aligned, each as wide as its widest cell.
pub fn table<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.as_ref().len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let lines = std::iter::once(header.iter().map(|h| h.as_ref()).collect::<Vec<_>>())
        .chain(rows.iter().map(|r| r.iter().map(String::as_str).collect()));
    for cells in lines {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            let w = widths[i];
            if i == 0 {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("  {cell:>w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_align() {
        let text = key_values(&[("module", "loaded"), ("nr_cpu_ids", "4"), ("x", "")]);
        assert_eq!(text, "module      loaded\nnr_cpu_ids  4\nx\n");
        assert_eq!(key_values::<&str, &str>(&[]), "");
    }

    #[test]
    fn table_aligns_label_left_numbers_right() {
        let text = table(
            &["cpu", "a", "long_name"],
            &[
                vec!["0".into(), "12345".into(), "1".into()],
                vec!["total".into(), "7".into(), "22".into()],
            ],
        );
        assert_eq!(
            text,
            "cpu        a  long_name\n\
             0      12345          1\n\
             total      7         22\n"
        );
    }

    #[test]
    fn short_rows_do_not_panic() {
        let text = table(&["cpu", "a"], &[vec!["0".into()]]);
        assert_eq!(text, "cpu  a\n0\n");
    }
}
