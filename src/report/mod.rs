//! Renders results for people and programs: the CSV tables, the stdout text
//! tables, the charts and the HTML report.

pub mod charts;
pub mod csv_table;
pub mod format;
pub mod html;
pub mod markup;
pub mod run;
pub mod tables_csv;
pub mod text;
pub mod workbook;
