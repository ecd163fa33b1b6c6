//! Recipient lists and unsubscribe lists over HTTP: creating from numbers, importing CSV,
//! XLSX and XLS files with a column mapping, previews, members, exports neutralised against
//! formulas, all-or-nothing imports (over-long fields, malformed files, compression bombs,
//! oversize uploads), sending to a list, unsubscribe lists consulted on every send, and one
//! account never reaching another's lists.

use serde_json::{Value, json};
use textbird_test_support::{Account, Reply, Server, assert_problem, multipart, problem_fields};

const BIN: &str = env!("CARGO_BIN_EXE_textbird");

async fn create_list(server: &Server, key: &str, path: &str, body: &Value) -> Value {
    let (status, list) = server.post(key, path, body).await;
    assert_eq!(status, 201, "{list}");
    list
}

async fn upload(server: &Server, key: &str, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Reply {
    let (content_type, body) = multipart(parts);
    let auth = format!("Bearer {key}");
    Reply::read(server.raw("POST", path, &[("authorization", &auth), ("content-type", &content_type)], body).await)
        .await
}

async fn import(server: &Server, key: &str, list_id: &str, file: &[u8], mapping: &str) -> Reply {
    upload(
        server,
        key,
        &format!("/v1/lists/{list_id}/import"),
        &[("file", Some("numbers.csv"), file), ("mapping", None, mapping.as_bytes())],
    )
    .await
}

async fn members(server: &Server, key: &str, list_id: &str) -> Vec<Value> {
    let (status, page) = server.get(key, &format!("/v1/lists/{list_id}/members?limit=1000")).await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn counts(reply: &Reply) -> (u64, u64, u64, u64) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let b = &reply.body;
    let n = |k: &str| b[k].as_u64().unwrap_or_else(|| panic!("{k} in {b}"));
    (n("inserted"), n("duplicate"), n("wrong"), n("total"))
}

fn setup() -> (Server, Account) {
    let server = Server::start(BIN, "");
    let acme = server.create_account("Acme", "100", "NL");
    (server, acme)
}

#[tokio::test]
async fn a_list_is_created_from_numbers_renamed_paged_filtered_and_deleted() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(
        &server,
        key,
        "/v1/lists",
        &json!({"name": "VIP", "numbers": ["+31612345678", "0612345679", "+31612345678", "nonsense"]}),
    )
    .await;
    assert_eq!(
        (list["inserted"].as_u64(), list["duplicate"].as_u64(), list["wrong"].as_u64(), list["total"].as_u64()),
        (Some(2), Some(1), Some(1), Some(4)),
        "{list}"
    );
    assert_eq!(list["count"], 2);
    let id = list["id"].as_str().unwrap();
    let m = members(&server, key, id).await;
    assert_eq!(m.iter().map(|m| m["phone"].as_str().unwrap()).collect::<Vec<_>>(), ["+31612345678", "+31612345679"]);

    create_list(&server, key, "/v1/lists", &json!({"name": "Newsletter"})).await;
    let (_, found) = server.get(key, "/v1/lists?name=vi").await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["name"], "VIP");
    let (_, first) = server.get(key, "/v1/lists?limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = server.get(key, &format!("/v1/lists?limit=1&cursor={cursor}")).await;
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);

    let (status, renamed) =
        server.patch(key, &format!("/v1/lists/{id}"), &json!({"name": "Gold", "enabled": false})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!((renamed["name"].as_str(), renamed["enabled"].as_bool()), (Some("Gold"), Some(false)));
    let (_, disabled) = server.get(key, "/v1/lists?enabled=false").await;
    assert_eq!(disabled["data"].as_array().unwrap().len(), 1);

    let (status, added) = server
        .post(
            key,
            &format!("/v1/lists/{id}/numbers"),
            &json!({"numbers": [{"phone": "+31612345670", "first_name": "Zoe"}, "+31612345678"]}),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(
        (added["inserted"].as_u64(), added["duplicate"].as_u64(), added["count"].as_u64()),
        (Some(1), Some(1), Some(3))
    );
    let (status, _) = server.delete(key, &format!("/v1/lists/{id}/members/+31612345670")).await;
    assert_eq!(status, 204);
    assert_eq!(members(&server, key, id).await.len(), 2);

    let (status, _) = server.delete(key, &format!("/v1/lists/{id}")).await;
    assert_eq!(status, 204);
    let (status, _) = server.get(key, &format!("/v1/lists/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(server.sql(&format!("SELECT count(*) FROM list_members WHERE list_id = '{id}'")).as_deref(), Some("0"));
}

#[tokio::test]
async fn a_csv_imports_with_its_mapping_delimiter_quotes_bom_and_latin1() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Import"})).await;
    let id = list["id"].as_str().unwrap();
    // Semicolons, a BOM, a header, a quoted field holding the delimiter, a repeated number, a
    // wrong one and an empty line; names in column 0, numbers in column 2.
    let csv = "\u{feff}name;city;phone\n\"Jansen; Anna\";Utrecht;+31612345601\nBram;Delft;0612345602\n\nCees;Gouda;+31612345601\nDirk;Ede;12\n";
    let reply =
        import(&server, key, id, csv.as_bytes(), r#"{"2":"phone_number","0":"first_name","1":"custom1"}"#).await;
    assert_eq!(counts(&reply), (2, 1, 1, 4), "{}", reply.text);
    assert_eq!(reply.body["count"], 2);
    let m = members(&server, key, id).await;
    assert_eq!(m[0]["first_name"], "Jansen; Anna");
    assert_eq!(m[0]["custom1"], "Utrecht");
    assert_eq!(m[1]["phone"], "+31612345602");

    // Latin-1 bytes (é = 0xE9), comma-separated, no header; importing again makes duplicates.
    let latin1 = b"+31612345603,Ren\xe9\n+31612345602,Bram\n";
    let reply = import(&server, key, id, latin1, r#"{"0":"phone_number","1":"first_name"}"#).await;
    assert_eq!(counts(&reply), (1, 1, 0, 2), "{}", reply.text);
    let m = members(&server, key, id).await;
    assert_eq!(m.iter().find(|m| m["phone"] == "+31612345603").unwrap()["first_name"], "René");

    // Replace: the list becomes exactly the new file's numbers.
    let reply = upload(
        &server,
        key,
        &format!("/v1/lists/{id}/import?replace=true"),
        &[("file", Some("n.csv"), b"+31612345609\n"), ("mapping", None, br#"{"0":"phone_number"}"#)],
    )
    .await;
    assert_eq!(counts(&reply), (1, 0, 0, 1), "{}", reply.text);
    let m = members(&server, key, id).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["phone"], "+31612345609");
}

#[tokio::test]
async fn xlsx_and_xls_files_import_through_the_same_mapping() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Sheets"})).await;
    let id = list["id"].as_str().unwrap();

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "phone").unwrap();
    sheet.write_string(0, 1, "first name").unwrap();
    // Spreadsheets keep numbers as floats: 31612345611 must come back without ".0".
    sheet.write_number(1, 0, 31_612_345_611.0).unwrap();
    sheet.write_string(1, 1, "Femke").unwrap();
    sheet.write_string(2, 0, "+31 6 1234 5612").unwrap();
    sheet.write_string(2, 1, "Gijs").unwrap();
    sheet.write_string(3, 0, "n/a").unwrap();
    let xlsx = book.save_to_buffer().unwrap();
    let reply = import(&server, key, id, &xlsx, r#"{"0":"phone_number","1":"first_name"}"#).await;
    assert_eq!(counts(&reply), (2, 0, 1, 3), "{}", reply.text);
    let m = members(&server, key, id).await;
    assert_eq!((m[0]["phone"].as_str(), m[0]["first_name"].as_str()), (Some("+31612345611"), Some("Femke")));

    // An XLS (BIFF8) file written by another program, checked in.
    let xls = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/numbers.xls")).unwrap();
    let reply = import(&server, key, id, &xls, r#"{"0":"phone_number","1":"first_name","2":"last_name"}"#).await;
    assert_eq!(counts(&reply), (4, 1, 1, 6), "{}", reply.text);
    let m = members(&server, key, id).await;
    let anna = m.iter().find(|m| m["phone"] == "+31612345601").expect("Anna");
    assert_eq!((anna["first_name"].as_str(), anna["last_name"].as_str()), (Some("Anna"), Some("Jansen")));
    assert!(m.iter().any(|m| m["phone"] == "+31612345604"), "a float cell read as a number: {m:?}");
}

#[tokio::test]
async fn a_preview_shows_the_first_rows_and_flags_per_column_without_storing() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let long = "x".repeat(60);
    let csv = format!("phone_number,first_name\n6593333311,Anthony\n6593333322,{long}\n");
    let reply = upload(&server, key, "/v1/lists/preview", &[("file", Some("p.csv"), csv.as_bytes())]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let p = &reply.body;
    assert_eq!(p["data"][0], json!(["phone_number", "first_name"]));
    assert_eq!(p["data"][1], json!(["6593333311", "Anthony"]));
    assert_eq!(p["total_rows"], 3);
    assert_eq!(p["is_all_num"], json!([true, false]));
    assert_eq!(p["is_exceed_length_50"], json!([false, true]));
    assert_eq!(p["is_exceed_length_255"], json!([false, false]));
    assert_eq!(server.sql("SELECT count(*) FROM list_members").as_deref(), Some("0"));
}

#[tokio::test]
async fn an_export_is_csv_with_formulas_neutralised() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Export me"})).await;
    let id = list["id"].as_str().unwrap();
    let csv = "+31612345621,=HYPERLINK(\"http://evil\"),@SUM(A1),+1,-1\n+31612345622,Plain,,,\n";
    let reply = import(
        &server,
        key,
        id,
        csv.as_bytes(),
        r#"{"0":"phone_number","1":"first_name","2":"last_name","3":"custom","4":"custom1"}"#,
    )
    .await;
    assert_eq!(counts(&reply), (2, 0, 0, 2), "{}", reply.text);
    let res = server
        .raw("GET", &format!("/v1/lists/{id}/export"), &[("authorization", &format!("Bearer {key}"))], vec![])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "phone_number,first_name,last_name,email,url,custom,custom1,custom2,custom3,custom4");
    assert_eq!(lines[1], "31612345621,\"'=HYPERLINK(\"\"http://evil\"\")\",'@SUM(A1),,,'+1,'-1,,,");
    assert_eq!(lines[2], "31612345622,Plain,,,,,,,,");
    for line in &lines[1..] {
        for cell in line.split(',').skip(1) {
            let cell = cell.trim_start_matches('"');
            assert!(!cell.starts_with(['=', '+', '-', '@']), "live formula cell {cell:?} in {line}");
        }
    }
}

#[tokio::test]
async fn refused_files_leave_the_list_as_it_was() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Safe", "numbers": ["+31612345631"]})).await;
    let id = list["id"].as_str().unwrap();
    let before = members(&server, key, id).await;

    // A name over 50 characters in row 7000: the first 6998 rows were already written when
    // it is found, and are taken back.
    let mut csv: Vec<String> = (0..6999).map(|i| format!("+3161{:07},Name", 2_000_000 + i)).collect();
    csv.push(format!("+31619999999,{}", "n".repeat(51)));
    let csv = csv.join("\n");
    let reply = import(&server, key, id, csv.as_bytes(), r#"{"0":"phone_number","1":"first_name"}"#).await;
    let p = assert_problem(&reply, 422);
    assert!(p.to_string().contains("row 7000: first_name is 51 characters"), "{p}");
    assert_eq!(members(&server, key, id).await, before);
    // With truncate the same file goes in, the name cut to 50.
    let reply = upload(
        &server,
        key,
        &format!("/v1/lists/{id}/import?truncate=true"),
        &[("file", Some("n.csv"), csv.as_bytes()), ("mapping", None, br#"{"0":"phone_number","1":"first_name"}"#)],
    )
    .await;
    assert_eq!(counts(&reply), (7000, 0, 0, 7000), "{}", reply.text);
    let (status, list) = server.get(key, &format!("/v1/lists/{id}")).await;
    assert_eq!((status, list["count"].as_u64()), (200, Some(7001)));
    let (_, deleted) = server.delete(key, &format!("/v1/lists/{id}")).await;
    assert_eq!(deleted, Value::Null);

    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Safe 2", "numbers": ["+31612345631"]})).await;
    let id = list["id"].as_str().unwrap();
    let before = members(&server, key, id).await;
    // A wrong mapping: no phone column, an unknown field, not JSON.
    for (mapping, says) in [
        (r#"{"1":"first_name"}"#, "phone_number"),
        (r#"{"0":"phone_number","1":"=cmd"}"#, "is not a field"),
        ("not json", "JSON object"),
    ] {
        let reply = import(&server, key, id, b"+31612345632\n", mapping).await;
        let p = assert_problem(&reply, 422);
        assert_eq!(problem_fields(p), ["mapping"], "{p}");
        assert!(p.to_string().contains(says), "{p}");
    }
    // A malformed CSV (an unterminated quote is read as one field to the end, then a bad
    // UTF-8 sequence is read as Latin-1; a broken record count is fine) cannot make a row
    // of another list's data; a zip bomb named .xlsx is refused before it is unpacked.
    let mut bomb = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bomb));
        zip.start_file("xl/worksheets/sheet1.xml", zip::write::SimpleFileOptions::default()).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..300 {
            std::io::Write::write_all(&mut zip, &zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    assert!(bomb.len() < 2 * 1024 * 1024, "the bomb is small: {}", bomb.len());
    let reply = upload(
        &server,
        key,
        &format!("/v1/lists/{id}/import"),
        &[("file", Some("numbers.xlsx"), &bomb), ("mapping", None, br#"{"0":"phone_number"}"#)],
    )
    .await;
    let p = assert_problem(&reply, 422);
    assert!(p.to_string().contains("compression bomb") || p.to_string().contains("unpacks to"), "{p}");
    // Not a spreadsheet at all, though it starts like one.
    let reply = import(&server, key, id, b"PK\x03\x04garbage", r#"{"0":"phone_number"}"#).await;
    assert_problem(&reply, 422);
    // No file part.
    let reply =
        upload(&server, key, &format!("/v1/lists/{id}/import"), &[("mapping", None, br#"{"0":"phone_number"}"#)]).await;
    assert_eq!(problem_fields(assert_problem(&reply, 422)), ["file"]);
    // Not multipart.
    let (status, _) = server.post(key, &format!("/v1/lists/{id}/import"), &json!({"file": "x"})).await;
    assert_eq!(status, 400);
    assert_eq!(members(&server, key, id).await, before);
}

#[tokio::test]
async fn a_200_mb_upload_is_refused_and_nothing_changes() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Big", "numbers": ["+31612345641"]})).await;
    let id = list["id"].as_str().unwrap();
    // Declared up front: refused before a byte of the body is read.
    let answer = raw_upload(&server, key, id, Some(200 * 1024 * 1024)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("104857600 bytes"), "{answer}");
    assert_eq!(members(&server, key, id).await.len(), 1);
    // Streamed without a length (chunked): cut off once past the limit.
    let answer = raw_upload(&server, key, id, None).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(members(&server, key, id).await.len(), 1);
    let (status, _) = server.get(key, "/v1/lists").await;
    assert_eq!(status, 200, "the server still answers");
}

/// Uploads 200 MB of CSV rows over a plain socket, with `length` as `Content-Length` or
/// chunked, while reading the answer; returns the answer's head and body as text.
async fn raw_upload(server: &Server, key: &str, list_id: &str, length: Option<u64>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let boundary = "b0undary";
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST /v1/lists/{list_id}/import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\n\r\n"
    );
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    let part_head =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n");
    let chunk: Vec<u8> = b"+31612345642,Someone\n".iter().copied().cycle().take(1 << 20).collect();
    let mut writes = vec![head.into_bytes(), part_head.into_bytes()];
    writes.extend(std::iter::repeat_n(chunk, 200));
    for (i, w) in writes.into_iter().enumerate() {
        let framed = if length.is_some() || i == 0 {
            w
        } else {
            let mut f = format!("{:x}\r\n", w.len()).into_bytes();
            f.extend_from_slice(&w);
            f.extend_from_slice(b"\r\n");
            f
        };
        if write.write_all(&framed).await.is_err() || reader.is_finished() {
            break;
        }
    }
    tokio::time::timeout(std::time::Duration::from_secs(30), reader).await.expect("an answer").unwrap()
}

#[tokio::test]
async fn sends_to_a_list_skip_numbers_on_unsubscribe_lists_with_a_reason() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let list = create_list(
        &server,
        key,
        "/v1/lists",
        &json!({"name": "Customers", "numbers": ["+31612345651", "+31612345652", "+31612345653", "+31612345654"]}),
    )
    .await;
    let list_id = list["id"].as_str().unwrap();
    let unsub =
        create_list(&server, key, "/v1/unsubscribe-lists", &json!({"name": "Complaints", "numbers": ["+31612345652"]}))
            .await;
    let unsub_id = unsub["id"].as_str().unwrap();
    // The default unsubscribe list.
    let (status, added) = server.post(key, "/v1/unsubscribes", &json!({"phone": "0612345653"})).await;
    assert_eq!((status, added["phone"].as_str()), (201, Some("+31612345653")), "{added}");
    let (_, listed) = server.get(key, "/v1/unsubscribes").await;
    assert_eq!(listed["data"][0]["phone"], "+31612345653");
    // An unsubscribe list is imported like a recipient list.
    let reply = upload(
        &server,
        key,
        &format!("/v1/unsubscribe-lists/{unsub_id}/import"),
        &[("file", Some("u.csv"), b"phone\n+31612345659\n")],
    )
    .await;
    assert_eq!(counts(&reply), (1, 0, 0, 1), "{}", reply.text);

    let (status, sent) = server
        .post(
            key,
            "/v1/messages",
            &json!({"to": ["+31612345659"], "list_ids": [list_id], "from": "Acme", "body": "Hello"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let to: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(to, ["+31612345651", "+31612345654"], "{sent}");
    let errors = sent["errors"].as_array().unwrap();
    let reason = |phone: &str| errors.iter().find(|e| e["to"] == phone).map(|e| e["code"].as_str().unwrap().to_owned());
    assert_eq!(reason("+31612345659").as_deref(), Some("unsubscribed"));
    assert_eq!(reason("+31612345652").as_deref(), Some("unsubscribed"));
    assert_eq!(reason("+31612345653").as_deref(), Some("opted_out"));
    assert!(errors.iter().any(|e| e["detail"].as_str().unwrap_or_default().contains("Complaints")), "{sent}");

    // Choosing no extra unsubscribe list consults only the default one.
    let (status, sent) = server
        .post(
            key,
            "/v1/messages",
            &json!({"list_ids": [list_id], "unsubscribe_list_ids": [], "from": "Acme", "body": "Hi"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3, "{sent}");
    // A disabled unsubscribe list is not consulted; a disabled recipient list is not sent to.
    server.patch(key, &format!("/v1/unsubscribe-lists/{unsub_id}"), &json!({"enabled": false})).await;
    let (_, sent) =
        server.post(key, "/v1/messages", &json!({"list_ids": [list_id], "from": "Acme", "body": "Hi"})).await;
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3, "{sent}");
    server.patch(key, &format!("/v1/lists/{list_id}"), &json!({"enabled": false})).await;
    let reply = server
        .request("POST", key, "/v1/messages", Some(&json!({"list_ids": [list_id], "from": "Acme", "body": "Hi"})), &[])
        .await;
    assert_eq!(problem_fields(assert_problem(&reply, 422)), ["list_ids[0]"]);
}

#[tokio::test]
async fn another_accounts_lists_are_not_found() {
    let (server, acme) = setup();
    let other = server.create_account("Other", "10", "NL");
    let list =
        create_list(&server, &acme.api_key, "/v1/lists", &json!({"name": "Mine", "numbers": ["+31612345661"]})).await;
    let id = list["id"].as_str().unwrap();
    let unsub = create_list(&server, &acme.api_key, "/v1/unsubscribe-lists", &json!({"name": "Mine"})).await;
    let unsub_id = unsub["id"].as_str().unwrap();
    let key = &other.api_key;
    for path in [
        format!("/v1/lists/{id}"),
        format!("/v1/lists/{id}/members"),
        format!("/v1/lists/{id}/export"),
        format!("/v1/unsubscribe-lists/{unsub_id}"),
        // A recipient list is not an unsubscribe list, even for its owner.
        format!("/v1/unsubscribe-lists/{id}"),
    ] {
        let (status, body) = server.get(key, &path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = server.get(&acme.api_key, &format!("/v1/unsubscribe-lists/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = server.patch(key, &format!("/v1/lists/{id}"), &json!({"name": "Stolen"})).await;
    assert_eq!(status, 404);
    let (status, _) = server.post(key, &format!("/v1/lists/{id}/numbers"), &json!({"numbers": ["+31612345662"]})).await;
    assert_eq!(status, 404);
    let reply = import(&server, key, id, b"+31612345663\n", r#"{"0":"phone_number"}"#).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let (status, _) = server.delete(key, &format!("/v1/lists/{id}/members/+31612345661")).await;
    assert_eq!(status, 404);
    let (status, _) = server.delete(key, &format!("/v1/lists/{id}")).await;
    assert_eq!(status, 404);
    let reply = server
        .request("POST", key, "/v1/messages", Some(&json!({"list_ids": [id], "from": "Acme", "body": "Hi"})), &[])
        .await;
    assert_eq!(problem_fields(assert_problem(&reply, 422)), ["list_ids[0]"]);
    let (_, lists) = server.get(key, "/v1/lists").await;
    assert_eq!(lists["data"], json!([]));
    let (_, mine) = server.get(&acme.api_key, &format!("/v1/lists/{id}")).await;
    assert_eq!((mine["name"].as_str(), mine["count"].as_u64()), (Some("Mine"), Some(1)));
}

#[tokio::test]
async fn malformed_list_requests_get_clear_problems() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "ok", "extra": 1}), "extra"),
    ] {
        let reply = server.request("POST", key, "/v1/lists", Some(&body), &[]).await;
        assert_eq!(problem_fields(assert_problem(&reply, 422)), [field], "{body}");
    }
    let res = server
        .raw(
            "POST",
            "/v1/lists",
            &[("authorization", &format!("Bearer {key}")), ("content-type", "application/json")],
            b"{\"name\":".to_vec(),
        )
        .await;
    assert_eq!(res.status(), 400);
    let (_, lists) = server.get(key, "/v1/lists").await;
    assert_eq!(lists["data"], json!([]), "nothing stored");
    let reply = server.request("GET", key, "/v1/lists?limit=0", None, &[]).await;
    assert_problem(&reply, 422);
}

#[tokio::test]
async fn a_send_to_a_list_renders_each_members_data_and_shows_it_on_the_message() {
    let (server, acme) = setup();
    let key = &acme.api_key;
    let csv = "phone,first,city\n+31612345671,Anna,Utrecht\n+31612345672,,Delft\n";
    let list = create_list(&server, key, "/v1/lists", &json!({"name": "Render"})).await;
    let id = list["id"].as_str().unwrap();
    let reply =
        import(&server, key, id, csv.as_bytes(), r#"{"0":"phone_number","1":"first_name","2":"custom1"}"#).await;
    assert_eq!(counts(&reply), (2, 0, 0, 2), "{}", reply.text);
    let (status, sent) = server
        .post(
            key,
            "/v1/messages",
            &json!({"list_ids": [id], "from": "Acme", "body": "Hi {{first_name}} in {{custom1}}"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let mut bodies = Vec::new();
    for m in sent["messages"].as_array().unwrap() {
        let (status, got) = server.get(key, &format!("/v1/messages/{}", m["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{got}");
        bodies.push((got["to"].as_str().unwrap().to_owned(), got["body"].as_str().unwrap().to_owned()));
    }
    bodies.sort();
    assert_eq!(
        bodies,
        [
            ("+31612345671".to_owned(), "Hi Anna in Utrecht".to_owned()),
            ("+31612345672".to_owned(), "Hi  in Delft".to_owned())
        ]
    );
    // A misspelt field is an error naming it, and nothing is sent or charged.
    let before = server.balance(key).await;
    let reply = server
        .request(
            "POST",
            key,
            "/v1/messages",
            Some(&json!({"list_ids": [id], "from": "Acme", "body": "Hi {{frist_name}}"})),
            &[],
        )
        .await;
    let p = assert_problem(&reply, 422);
    assert!(p.to_string().contains("{{frist_name}}"), "{p}");
    assert_eq!(server.balance(key).await, before);
}

#[tokio::test]
async fn every_list_route_is_in_the_openapi_document() {
    let (server, _) = setup();
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for kind in ["lists", "unsubscribe-lists"] {
        for (path, method) in [
            ("", "post"),
            ("", "get"),
            ("/{id}", "get"),
            ("/{id}", "patch"),
            ("/{id}", "delete"),
            ("/{id}/numbers", "post"),
            ("/{id}/import", "post"),
            ("/{id}/members", "get"),
            ("/{id}/members/{phone}", "delete"),
            ("/{id}/export", "get"),
        ] {
            let full = format!("/v1/{kind}{path}");
            assert!(paths.get(&full).and_then(|p| p.get(method)).is_some(), "{method} {full} is not documented");
        }
    }
    for (path, method) in [("/v1/lists/preview", "post"), ("/v1/unsubscribes", "post"), ("/v1/unsubscribes", "get")] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }
    let send = &doc["components"]["schemas"]["SendBody"]["properties"];
    for field in ["list_ids", "unsubscribe_list_ids", "contact_ids", "group_ids", "sender_list_id", "template_id"] {
        assert!(send.get(field).is_some(), "SendBody documents {field}: {send}");
    }
}

#[tokio::test]
async fn unsubscribe_pages_are_full_when_sender_scoped_opt_outs_sort_between() {
    let server = Server::start(BIN, "[messages]\nopt_out_scope = \"sender\"\n");
    let acme = server.create_account("Acme", "10", "NL");
    let key = &acme.api_key;
    let (status, _) = server.post(key, "/v1/numbers", &json!({"number": "+31612340000"})).await;
    assert_eq!(status, 201);
    // Even numbers STOP by SMS (opted out of that sender only), odd ones are added to the
    // account-wide list: the two kinds interleave by phone.
    for i in 0..12 {
        let phone = format!("+316123450{i:02}");
        if i % 2 == 0 {
            let inbound = json!({"from": phone, "to": "+31612340000", "body": "STOP"});
            let (status, b) = server.post(key, "/v1/simulator/inbound", &inbound).await;
            assert!(status < 300, "{b}");
        } else {
            let (status, _) = server.post(key, "/v1/unsubscribes", &json!({"phone": phone})).await;
            assert_eq!(status, 201);
        }
    }
    textbird_test_support::eventually(20, "the STOPs are stored", || async {
        let (_, all) = server.get(key, "/v1/opt-outs?limit=100").await;
        (all["data"].as_array().map(Vec::len) == Some(12)).then_some(())
    })
    .await;
    let mut seen = Vec::new();
    let mut path = "/v1/unsubscribes?limit=2".to_owned();
    loop {
        let (status, page) = server.get(key, &path).await;
        assert_eq!(status, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        let next = page["next_cursor"].as_str();
        if next.is_some() {
            assert_eq!(data.len(), 2, "a page before the last is full: {page}");
        }
        seen.extend(data.iter().map(|o| o["phone"].as_str().unwrap().to_owned()));
        let Some(cursor) = next else { break };
        path = format!("/v1/unsubscribes?limit=2&cursor={}", cursor.replace('+', "%2B"));
    }
    let odd: Vec<String> = (0..12).filter(|i| i % 2 == 1).map(|i| format!("+316123450{i:02}")).collect();
    assert_eq!(seen, odd, "exactly the account-wide opt-outs");
}
