//! Small CSV tables (the comparison, the sweep, the sizing curve, the loss
//! tables' headers) written through the `csv` crate, which quotes a cell
//! holding a comma, a quote or a line break: scenario, bank and county names
//! may hold any of them. Cells are written as given, so a number keeps the
//! text its caller formatted.

/// A CSV table built in memory, `\n` after each row.
pub struct Table(csv::Writer<Vec<u8>>);

impl Table {
    pub fn new() -> Table {
        Table(csv::Writer::from_writer(Vec::new()))
    }

    /// Appends a row. Every row must have the first row's number of cells.
    pub fn row<I, T>(&mut self, cells: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // Writing into memory cannot fail; a row of another length is a bug.
        self.0.write_record(cells).expect("a CSV row with the header's number of cells");
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_inner().map_err(|e| e.into_error()).expect("CSV into memory")
    }

    pub fn into_string(self) -> String {
        String::from_utf8(self.into_bytes()).expect("cells given as UTF-8")
    }
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn quotes_only_what_needs_it() {
        let mut t = Table::new();
        t.row(["metric", "scenario", "mean"]);
        t.row(["exposure", "mini, 8:1 \"x\"", "12.5"]);
        t.row(["exposure", "plain", "0"]);
        assert_eq!(t.into_string(), "metric,scenario,mean\nexposure,\"mini, 8:1 \"\"x\"\"\",12.5\nexposure,plain,0\n");
    }
}
