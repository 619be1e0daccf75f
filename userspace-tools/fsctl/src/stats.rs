// SPDX-License-Identifier: GPL-2.0

//! `fsctl stats`: the counters as a table or JSON, and the per-second
//! rates between two readings for `--watch`.

use serde::{
    ser::{SerializeMap, SerializeStruct},
    Serialize, Serializer,
};

use crate::{layout, stats_format::CPU_COLUMN, Counter, CpuRow, Table};

/// Whether a column is a current value (shown as is) rather than a count
/// of events (shown as a rate when watching).
pub fn is_gauge(counter: Counter) -> bool {
    counter.is_gauge()
}

/// The label of the sum row.
pub const TOTAL: &str = "total";

/// The header of the table: the file's own column names.
fn header() -> Vec<&'static str> {
    std::iter::once(CPU_COLUMN)
        .chain(Counter::ALL.iter().map(|c| c.name()))
        .collect()
}

/// The sums of every column.
pub fn totals(table: &Table) -> [u64; Counter::COUNT] {
    let mut sum = [0u64; Counter::COUNT];
    for row in &table.rows {
        for (s, v) in sum.iter_mut().zip(row.values) {
            // Wrapping as the kernel's per-CPU counters do.
            *s = s.wrapping_add(v);
        }
    }
    sum
}

/// The table of one reading, with a total row.
pub fn render(table: &Table) -> String {
    let cells = |label: String, values: &[u64]| {
        std::iter::once(label)
            .chain(values.iter().map(u64::to_string))
            .collect::<Vec<_>>()
    };
    let mut rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| cells(r.cpu.to_string(), &r.values))
        .collect();
    rows.push(cells(TOTAL.into(), &totals(table)));
    layout::table(&header(), &rows)
}

/// The counters of one row as a JSON object, in column order.
struct Values<'a, T>(&'a [T; Counter::COUNT]);

impl<T: Serialize> Values<'_, T> {
    fn entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (c, v) in Counter::ALL.iter().zip(self.0) {
            map.serialize_entry(c.name(), v)?;
        }
        Ok(())
    }
}

impl<T: Serialize> Serialize for Values<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Counter::COUNT))?;
        self.entries(&mut map)?;
        map.end()
    }
}

/// `{"cpu": N, "<counter>": value, ...}`.
struct Row<'a, T>(u32, &'a [T; Counter::COUNT]);

impl<T: Serialize> Serialize for Row<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Counter::COUNT + 1))?;
        map.serialize_entry(CPU_COLUMN, &self.0)?;
        Values(self.1).entries(&mut map)?;
        map.end()
    }
}

/// One reading as JSON: `{"cpus": [{"cpu": 0, ...}], "total": {...}}`.
pub struct Snapshot<'a>(pub &'a Table);

impl Serialize for Snapshot<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row<'_, u64>> = self.0.rows.iter().map(|r| Row(r.cpu, &r.values)).collect();
        let mut st = s.serialize_struct("Snapshot", 2)?;
        st.serialize_field("cpus", &rows)?;
        st.serialize_field(TOTAL, &Values(&totals(self.0)))?;
        st.end()
    }
}

/// A value of a watch interval: a rate, or a gauge's current value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    PerSecond(f64),
    Current(u64),
}

impl Value {
    /// As the table shows it: rates rounded to whole events per second.
    fn cell(self) -> String {
        match self {
            Value::PerSecond(r) => format!("{r:.0}"),
            Value::Current(v) => v.to_string(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            // Milli-events per second are precision enough.
            Value::PerSecond(r) => s.serialize_f64((r * 1000.0).round() / 1000.0),
            Value::Current(v) => s.serialize_u64(v),
        }
    }
}

/// The rates of one CPU.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRow {
    pub cpu: u32,
    pub values: [Value; Counter::COUNT],
}

/// What changed between two readings, per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    /// The time between the readings.
    pub seconds: f64,
    pub rows: Vec<RateRow>,
    pub total: [Value; Counter::COUNT],
}

/// The events of one counter since `prev`.  A value that went down was
/// reset (the module reloaded): count from zero rather than wrap to a huge
/// number.
fn delta(prev: u64, cur: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        cur
    }
}

/// The per-second rates between readings `prev` and `cur`, `seconds`
/// apart.  A CPU absent from `prev` (just came online) has no baseline and
/// shows no events; one absent from `cur` (went offline) is left out.
pub fn rates(prev: &Table, cur: &Table, seconds: f64) -> Rates {
    // A zero or absurd interval must not divide into infinities.
    let secs = if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        1.0
    };
    let mut rows = Vec::with_capacity(cur.rows.len());
    let mut events = [0u64; Counter::COUNT];
    let mut gauges = [0u64; Counter::COUNT];
    for row in &cur.rows {
        let base: Option<&CpuRow> = prev.rows.iter().find(|p| p.cpu == row.cpu);
        let mut values = [Value::Current(0); Counter::COUNT];
        for c in Counter::ALL {
            let i = c.index();
            values[i] = if is_gauge(c) {
                gauges[i] = gauges[i].wrapping_add(row.values[i]);
                Value::Current(row.values[i])
            } else {
                let d = base.map_or(0, |b| delta(b.values[i], row.values[i]));
                events[i] = events[i].wrapping_add(d);
                Value::PerSecond(d as f64 / secs)
            };
        }
        rows.push(RateRow {
            cpu: row.cpu,
            values,
        });
    }
    let mut total = [Value::Current(0); Counter::COUNT];
    for c in Counter::ALL {
        let i = c.index();
        total[i] = if is_gauge(c) {
            Value::Current(gauges[i])
        } else {
            Value::PerSecond(events[i] as f64 / secs)
        };
    }
    Rates {
        seconds: secs,
        rows,
        total,
    }
}

/// The table of watch interval `n` (from 1).
pub fn render_rates(r: &Rates, n: u64) -> String {
    let cells = |label: String, values: &[Value]| {
        std::iter::once(label)
            .chain(values.iter().map(|v| v.cell()))
            .collect::<Vec<_>>()
    };
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| cells(row.cpu.to_string(), &row.values))
        .collect();
    rows.push(cells(TOTAL.into(), &r.total));
    format!(
        "interval {n}: events per second over {:.2} s ({} is the current value)\n{}",
        r.seconds,
        Counter::LocalListeners.name(),
        layout::table(&header(), &rows)
    )
}

impl Serialize for Rates {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row<'_, Value>> = self.rows.iter().map(|r| Row(r.cpu, &r.values)).collect();
        let mut st = s.serialize_struct("Rates", 3)?;
        st.serialize_field("seconds", &((self.seconds * 1000.0).round() / 1000.0))?;
        st.serialize_field("cpus", &rows)?;
        st.serialize_field(TOTAL, &Values(&self.total))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value as Json};

    /// A row with the first values given and the columns after them zero,
    /// so that these tests hold as columns are appended.
    fn row(cpu: u32, first: &[u64]) -> CpuRow {
        let mut values = [0; Counter::COUNT];
        values[..first.len()].copy_from_slice(first);
        CpuRow { cpu, values }
    }

    /// The columns of the first module version, which later ones keep.
    const FIRST: usize = 8;

    fn table(rows: Vec<CpuRow>) -> Table {
        Table { rows }
    }

    const LL: usize = Counter::LocalListeners as usize;

    /// `expected` is in `v`: its keys with their values (recursively),
    /// arrays element by element; `v` may have more keys (later columns).
    fn assert_within(v: &Json, expected: &Json) {
        match (v, expected) {
            (Json::Object(v), Json::Object(e)) => {
                for (key, e) in e {
                    assert_within(v.get(key).unwrap_or(&Json::Null), e);
                }
            }
            (Json::Array(v), Json::Array(e)) => {
                assert_eq!(v.len(), e.len());
                for (v, e) in v.iter().zip(e) {
                    assert_within(v, e);
                }
            }
            _ => assert_eq!(v, expected),
        }
    }

    #[test]
    fn totals_sum_columns() {
        let t = table(vec![
            row(0, &[1, 2, 3, 4, 5, 6, 7, 1]),
            row(1, &[10, 20, 30, 40, 50, 60, 70, 1]),
        ]);
        assert_eq!(totals(&t)[..FIRST], [11, 22, 33, 44, 55, 66, 77, 2]);
        assert_eq!(totals(&Table::default()), [0; Counter::COUNT]);
    }

    #[test]
    fn render_has_header_rows_and_total() {
        let t = table(vec![
            row(0, &[100, 0, 90, 10, 90, 10, 0, 1]),
            row(1, &[5, 0, 5, 0, 5, 0, 0, 1]),
        ]);
        let text = render(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with(
            "cpu    lookup_ipv4  lookup_ipv6  syn_local  syn_global  accept_local  \
             accept_global  moved  local_listeners"
        ));
        assert!(lines[3].starts_with(concat!(
            "total          105            0         95          10            95",
            "             10      0                2"
        )));
        // Every line is as wide as the header: the columns line up.
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    }

    #[test]
    fn snapshot_json_shape() {
        let t = table(vec![
            row(0, &[1, 0, 1, 0, 1, 0, 0, 1]),
            row(2, &[2, 0, 2, 0, 2, 0, 0, 0]),
        ]);
        let v: Json = serde_json::to_value(Snapshot(&t)).unwrap();
        assert_eq!(v["cpus"][0].as_object().unwrap().len(), Counter::COUNT + 1);
        assert_eq!(v["total"].as_object().unwrap().len(), Counter::COUNT);
        assert_within(
            &v,
            &json!({
                "cpus": [
                    {"cpu": 0, "lookup_ipv4": 1, "lookup_ipv6": 0, "syn_local": 1,
                     "syn_global": 0, "accept_local": 1, "accept_global": 0, "moved": 0,
                     "local_listeners": 1},
                    {"cpu": 2, "lookup_ipv4": 2, "lookup_ipv6": 0, "syn_local": 2,
                     "syn_global": 0, "accept_local": 2, "accept_global": 0, "moved": 0,
                     "local_listeners": 0},
                ],
                "total": {"lookup_ipv4": 3, "lookup_ipv6": 0, "syn_local": 3,
                          "syn_global": 0, "accept_local": 3, "accept_global": 0,
                          "moved": 0, "local_listeners": 1},
            }),
        );
        // One line, columns in file order.
        let text = serde_json::to_string(&Snapshot(&t)).unwrap();
        assert!(!text.contains('\n'));
        assert!(text.starts_with(r#"{"cpus":[{"cpu":0,"lookup_ipv4":1,"lookup_ipv6":0,"#));
    }

    #[test]
    fn rates_divide_deltas_by_the_interval() {
        let prev = table(vec![row(0, &[100, 0, 50, 0, 50, 0, 0, 1])]);
        let cur = table(vec![row(0, &[300, 4, 250, 2, 250, 0, 0, 3])]);
        let r = rates(&prev, &cur, 2.0);
        use Value::*;
        assert_eq!(
            r.rows[0].values[..FIRST],
            [
                PerSecond(100.0),
                PerSecond(2.0),
                PerSecond(100.0),
                PerSecond(1.0),
                PerSecond(100.0),
                PerSecond(0.0),
                PerSecond(0.0),
                Current(3)
            ]
        );
        assert_eq!(r.total, r.rows[0].values);
        assert_eq!(r.seconds, 2.0);
    }

    #[test]
    fn gauge_is_its_value_even_when_it_falls() {
        let prev = table(vec![row(0, &[0, 0, 0, 0, 0, 0, 0, 5])]);
        let cur = table(vec![row(0, &[0, 0, 0, 0, 0, 0, 0, 2])]);
        let r = rates(&prev, &cur, 1.0);
        assert_eq!(r.rows[0].values[LL], Value::Current(2));
        assert_eq!(r.total[LL], Value::Current(2));
    }

    #[test]
    fn reset_counts_from_zero() {
        // The module was reloaded between the readings.
        let prev = table(vec![row(0, &[1000, 0, 900, 0, 900, 0, 10, 1])]);
        let cur = table(vec![row(0, &[30, 0, 20, 0, 20, 0, 0, 1])]);
        let r = rates(&prev, &cur, 1.0);
        assert_eq!(r.rows[0].values[0], Value::PerSecond(30.0));
        assert_eq!(r.rows[0].values[2], Value::PerSecond(20.0));
        assert_eq!(r.rows[0].values[6], Value::PerSecond(0.0));
    }

    #[test]
    fn cpu_set_change() {
        // cpu 1 went offline, cpu 3 came online with old counts.
        let prev = table(vec![
            row(0, &[10, 0, 0, 0, 0, 0, 0, 1]),
            row(1, &[10, 0, 0, 0, 0, 0, 0, 1]),
        ]);
        let cur = table(vec![
            row(0, &[15, 0, 0, 0, 0, 0, 0, 1]),
            row(3, &[5000, 0, 0, 0, 0, 0, 0, 1]),
        ]);
        let r = rates(&prev, &cur, 1.0);
        let cpus: Vec<u32> = r.rows.iter().map(|r| r.cpu).collect();
        assert_eq!(cpus, vec![0, 3]);
        assert_eq!(r.rows[1].values[0], Value::PerSecond(0.0));
        assert_eq!(r.total[0], Value::PerSecond(5.0));
        assert_eq!(r.total[LL], Value::Current(2));
    }

    #[test]
    fn zero_interval_does_not_divide_by_zero() {
        let prev = table(vec![row(0, &[0; Counter::COUNT])]);
        let cur = table(vec![row(0, &[7, 0, 0, 0, 0, 0, 0, 0])]);
        for secs in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = rates(&prev, &cur, secs);
            assert_eq!(r.total[0], Value::PerSecond(7.0));
        }
    }

    #[test]
    fn rates_json_shape() {
        let prev = table(vec![row(1, &[0; Counter::COUNT])]);
        let cur = table(vec![row(1, &[3, 0, 3, 0, 3, 0, 0, 1])]);
        let r = rates(&prev, &cur, 3.0);
        let v: Json = serde_json::to_value(&r).unwrap();
        assert_eq!(v["seconds"], json!(3.0));
        assert_eq!(v["cpus"][0]["cpu"], json!(1));
        assert_eq!(v["cpus"][0]["lookup_ipv4"], json!(1.0));
        assert_eq!(v["cpus"][0]["local_listeners"], json!(1));
        assert_eq!(v["total"]["syn_local"], json!(1.0));
        assert_eq!(v["total"]["local_listeners"], json!(1));
        assert_eq!(v["total"].as_object().unwrap().len(), Counter::COUNT);
        // Thirds are rounded to milli-events.
        let r = rates(&prev, &cur, 9.0);
        let v: Json = serde_json::to_value(&r).unwrap();
        assert_eq!(v["total"]["lookup_ipv4"], json!(0.333));
    }

    #[test]
    fn rates_table() {
        let prev = table(vec![row(0, &[0; Counter::COUNT])]);
        let cur = table(vec![row(0, &[200, 0, 150, 50, 150, 50, 0, 1])]);
        let text = render_rates(&rates(&prev, &cur, 1.0), 2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "interval 2: events per second over 1.00 s (local_listeners is the current value)"
        );
        assert!(lines[1].starts_with("cpu  "));
        assert!(lines[3].starts_with("total"));
        let total: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(total[LL + 1], "1");
        assert!(lines[3].contains(" 200 "));
        assert_eq!(lines.len(), 4);
    }
}
