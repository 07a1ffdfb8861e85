//! Renders results for people and programs: the CSV tables, the stdout text
//! tables, the charts and the HTML report.

pub mod charts;
pub mod columnar;
pub mod csv_table;
pub mod font;
pub mod format;
pub mod glyphs;
pub mod html;
pub mod labels;
pub mod markup;
pub mod page;
pub mod run;
pub mod stress_html;
pub mod tables_csv;
pub mod text;
pub mod workbook;
