"""Report downloads as CSV, XLSX and PDF: pure writers, one module per format.

Each writer takes a `heading.ReportHeading`, a header and rows of plain values (any iterable,
read once and in order, so a database cursor can feed them) and never touches Flask or the
database. The CSV and XLSX writers hold one row at a time, so their memory does not grow with
the number of rows; the PDF is a board paper of the summary table, which is small.

- `heading`: what names a report (title, when and by whom, filters), London time, file names.
- `cell_safety`: the formula-injection rule every CSV and XLSX text cell goes through.
- `csv_writer`, `xlsx_writer`, `pdf_writer`: the three formats.

How each kind of value is written:

| value         | CSV                        | XLSX                         | PDF                |
|---------------|----------------------------|------------------------------|--------------------|
| None          | empty                      | empty cell                   | empty              |
| str           | neutralised                | neutralised string           | as given           |
| bool          | Yes / No                   | Yes / No                     | Yes / No           |
| int           | as Python writes it        | number                       | 1,234              |
| float, Decimal| as Python writes it        | number                       | 1,234.5            |
| date          | 2026-03-31                 | Excel date, yyyy-mm-dd       | 31 March 2026      |
| datetime      | 2026-04-01T00:30:00+01:00  | Excel date-time, yyyy-mm-dd  | 1 April 2026,      |
|               |                            | hh:mm                        | 00:30              |
| anything else | str(value), neutralised    | str(value), neutralised      | str(value)         |

The PDF shows floats and Decimals to one decimal place, halves away from zero (87.25 -> 87.3).
Datetimes are shown in Europe/London time, the time the people reading the report keep; a
naive datetime is taken to be UTC, as the database stores them. The CSV writes the full ISO
8601 instant to the second with its UTC offset, so nothing is lost and any program can read
it back; a column that means a day should be passed as `date` values, written YYYY-MM-DD.
"""
