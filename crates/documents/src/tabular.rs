//! Tables as files: CSV (the `csv` crate) and XLSX (`rust_xlsxwriter`), for report exports.
//!
//! A [`Table`] is typed cells under a header line. Text that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written to CSV with a
//! leading `'`, so opening the file never runs it; numbers are written as numbers (a negative
//! amount stays a number). In XLSX every text is a string cell, never a formula, so it needs no
//! escaping.

use rust_xlsxwriter::{Format, Workbook};

/// The longest text an XLSX cell holds; longer text is cut.
const XLSX_MAX_TEXT: usize = 32_767;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text, written as it is (CSV escapes formulas).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Number(f64),
}

/// A header line and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The sheet's name in XLSX (at most 31 characters are kept).
    pub name: String,
    /// The columns' names.
    pub columns: Vec<String>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// A table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The CSV writer failed.
    #[error("csv: {0}")]
    Csv(String),
    /// The XLSX writer failed.
    #[error("xlsx: {0}")]
    Xlsx(String),
}

/// Text a spreadsheet will not run as a formula.
pub fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The table as CSV (UTF-8, a header line first, RFC 4180 quoting).
pub fn to_csv(table: &Table) -> Result<Vec<u8>, TableError> {
    let err = |e: csv::Error| TableError::Csv(e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(table.columns.iter().map(|c| defused(c).into_owned()))
        .map_err(err)?;
    for row in &table.rows {
        out.write_record(row.iter().map(|cell| match cell {
            Cell::Empty => String::new(),
            Cell::Text(text) => defused(text).into_owned(),
            Cell::Int(n) => n.to_string(),
            Cell::Number(x) => x.to_string(),
        }))
        .map_err(err)?;
    }
    out.into_inner().map_err(|e| TableError::Csv(e.to_string()))
}

/// The table as an XLSX workbook of one sheet, the header line in bold.
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, TableError> {
    let err = |e: rust_xlsxwriter::XlsxError| TableError::Xlsx(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = table
        .name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    if !name.is_empty() {
        sheet.set_name(name).map_err(err)?;
    }
    let bold = Format::new().set_bold();
    for (col, title) in table.columns.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| TableError::Xlsx("too many columns".into()))?;
        sheet
            .write_string_with_format(0, col, cut(title), &bold)
            .map_err(err)?;
    }
    for (i, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(i + 1).map_err(|_| TableError::Xlsx("too many rows".into()))?;
        for (col, cell) in row.iter().enumerate() {
            let col =
                u16::try_from(col).map_err(|_| TableError::Xlsx("too many columns".into()))?;
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => {
                    sheet.write_string(r, col, cut(text)).map_err(err)?;
                }
                Cell::Int(n) => {
                    // Exact up to 2^53, far beyond any count or XP amount.
                    #[expect(clippy::cast_precision_loss, reason = "XLSX numbers are f64")]
                    let x = *n as f64;
                    sheet.write_number(r, col, x).map_err(err)?;
                }
                Cell::Number(x) => {
                    sheet.write_number(r, col, *x).map_err(err)?;
                }
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

fn cut(text: &str) -> &str {
    match text.char_indices().nth(XLSX_MAX_TEXT) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            name: "Ledger".into(),
            columns: vec!["who".into(), "amount".into(), "note".into()],
            rows: vec![
                vec![
                    Cell::Text("Ann".into()),
                    Cell::Int(-15),
                    Cell::Text("=HYPERLINK(\"http://x\")".into()),
                ],
                vec![
                    Cell::Text("Bob, \"B\"".into()),
                    Cell::Number(2.5),
                    Cell::Empty,
                ],
            ],
        }
    }

    #[test]
    fn csv_reads_back_with_formulas_defused_and_numbers_kept() {
        let bytes = to_csv(&table()).expect("csv");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .expect("a header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, ["who", "amount", "note"]);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("a row").iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(
            rows,
            [
                ["Ann", "-15", "'=HYPERLINK(\"http://x\")"],
                ["Bob, \"B\"", "2.5", ""]
            ]
        );
        for text in ["+1", "-x", "@SUM(A1)", "\tx", "\rx"] {
            assert!(defused(text).starts_with('\''), "{text:?}");
        }
        assert_eq!(defused("plain"), "plain");
    }

    #[test]
    fn xlsx_reads_back_with_an_independent_reader() {
        use calamine::{Data, Reader, Xlsx};
        let bytes = to_xlsx(&table()).expect("xlsx");
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
        assert_eq!(book.sheet_names(), ["Ledger"]);
        let range = book.worksheet_range("Ledger").expect("the sheet");
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        assert_eq!(
            rows,
            [
                vec![
                    Data::String("who".into()),
                    Data::String("amount".into()),
                    Data::String("note".into())
                ],
                vec![
                    Data::String("Ann".into()),
                    Data::Float(-15.0),
                    Data::String("=HYPERLINK(\"http://x\")".into())
                ],
                vec![
                    Data::String("Bob, \"B\"".into()),
                    Data::Float(2.5),
                    Data::Empty
                ],
            ]
        );
    }
}
