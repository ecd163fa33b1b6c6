use super::*;
use std::io::Write;

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn rows(bytes: &[u8]) -> Result<Vec<Vec<String>>, FileError> {
    let f = file(bytes);
    let mut out = Vec::new();
    read_rows(f.path(), FileLimits { max_rows: 100, max_unpacked_bytes: 1 << 20 }, |_, c| {
        out.push(c);
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn csv_delimiters_quotes_bom_and_latin1_are_read() {
    assert_eq!(rows(b"a;b\n1;\"x;y\"\n").unwrap(), vec![vec!["a", "b"], vec!["1", "x;y"]]);
    assert_eq!(rows(b"1\t2\n").unwrap(), vec![vec!["1", "2"]]);
    assert_eq!(rows(b"1|2\n").unwrap(), vec![vec!["1", "2"]]);
    assert_eq!(rows(b"\xef\xbb\xbfphone,name\n").unwrap(), vec![vec!["phone", "name"]]);
    assert_eq!(rows(b"1,Ren\xe9\n").unwrap(), vec![vec!["1", "René"]]);
    assert_eq!(rows(b"1,\"a\"\"b\"\n\n,\n2,c\n").unwrap(), vec![vec!["1", "a\"b"], vec!["2", "c"]]);
}

#[test]
fn mapping_needs_a_phone_and_known_fields() {
    assert!(Mapping::parse(r#"{"0":"phone_number","1":"first_name"}"#).is_ok());
    assert!(Mapping::parse(r#"{"1":"first_name"}"#).unwrap_err().contains("phone_number"));
    assert!(Mapping::parse(r#"{"0":"phone_number","1":"shoe_size"}"#).unwrap_err().contains("shoe_size"));
    assert!(Mapping::parse(r#"{"x":"phone_number"}"#).is_err());
    assert!(Mapping::parse(r#"{"0":"phone_number","1":"phone_number"}"#).is_err());
    assert!(Mapping::parse("[1]").is_err());
}

#[test]
fn long_fields_are_an_error_naming_the_row_unless_truncated() {
    let mapping = Mapping::parse(r#"{"0":"phone_number","1":"first_name"}"#).unwrap();
    let cells = vec!["+31612345678".to_owned(), "é".repeat(51)];
    let mut rules = RowRules { truncate: false, country: None, now: 0 };
    let err = member_of(7, &cells, &mapping, rules).unwrap_err();
    assert!(err.0.starts_with("row 7: first_name is 51 characters"), "{err}");
    rules.truncate = true;
    let m = member_of(7, &cells, &mapping, rules).unwrap().unwrap();
    assert_eq!(m.first_name.unwrap().chars().count(), 50);
    assert_eq!(member_of(1, &["nope".into()], &mapping, rules).unwrap(), None);
}

#[test]
fn numbers_without_a_plus_are_read_nationally_then_internationally() {
    let nl = textbird_types::parse_country("NL");
    assert_eq!(parse_phone("0612345678", nl).as_deref(), Some("+31612345678"));
    assert_eq!(parse_phone("6593333311", nl).as_deref(), Some("+6593333311"));
    assert_eq!(parse_phone("12", nl), None);
}

#[test]
fn formulas_are_neutralised() {
    assert_eq!(neutralise("=1+1"), "'=1+1");
    assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(neutralise("-2"), "'-2");
    assert_eq!(neutralise("Anna"), "Anna");
}

#[test]
fn a_zip_that_unpacks_too_far_is_refused() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let mut zip = zip::ZipWriter::new(f.reopen().unwrap());
    zip.start_file("xl/worksheets/sheet1.xml", zip::write::SimpleFileOptions::default()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..8 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    let err = check_unpacked_size(f.path(), 1 << 30).unwrap_err();
    assert!(err.0.contains("compression bomb"), "{err}");
    assert!(check_unpacked_size(f.path(), 1 << 20).is_err());
}
