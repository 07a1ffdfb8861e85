//! Reports computed from the loss tables: the CSV tables themselves, the
//! run summary, and the readable stdout table.

pub mod csv_table;
pub mod html;
pub mod summary;
pub mod tables_csv;
pub mod text;
