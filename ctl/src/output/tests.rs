use super::*;

fn lines(table: &Table) -> Vec<String> {
    table.render(Paint::new(false))
}

#[test]
fn table_aligns_columns_and_trims_trailing_space() {
    let mut table = Table::new(["NAME", "SERVER", "CURRENT"]);
    table.row(["a", "127.0.0.1:7443", "*"]);
    table.row(["longer-name", "10.0.0.1:1", ""]);
    assert_eq!(
        lines(&table),
        [
            "NAME         SERVER          CURRENT",
            "a            127.0.0.1:7443  *",
            "longer-name  10.0.0.1:1",
        ]
    );
}

#[test]
fn table_indents_and_fills_missing_cells() {
    let mut table = Table::new(["A", "B"]).indent(2);
    table.row(["x"]);
    table.row(["yy", "z"]);
    assert_eq!(lines(&table), ["  A   B", "  x", "  yy  z"]);
}

#[test]
fn colour_does_not_disturb_alignment() {
    let mut table = Table::new(["A", "B"]);
    table.toned_row([("ok".to_owned(), Tone::Good), ("1".to_owned(), Tone::Plain)]);
    table.toned_row([
        ("fail".to_owned(), Tone::Bad),
        ("2".to_owned(), Tone::Plain),
    ]);
    let rendered = table.render(Paint::new(true));
    let strip = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    assert!(rendered[1].contains("\x1b[32mok\x1b[0m"), "{rendered:?}");
    let stripped: Vec<String> = rendered.iter().map(|l| strip(l)).collect();
    assert_eq!(stripped, ["A     B", "ok    1", "fail  2"]);
}

#[test]
fn paint_is_plain_when_disabled() {
    assert_eq!(Paint::new(false).bad("x"), "x");
    assert_eq!(Paint::new(true).bad("x"), "\x1b[1;31mx\x1b[0m");
}

#[test]
fn progress_plain_lines_only_on_change() {
    let mut err = Vec::new();
    {
        let mut progress = Progress::new(&mut err, false);
        progress.update("waiting: 1");
        progress.update("waiting: 1");
        progress.update("waiting: 2");
    }
    assert_eq!(
        String::from_utf8(err).expect("utf-8"),
        "waiting: 1\nwaiting: 2\n"
    );
}

#[test]
fn progress_live_rewrites_one_line() {
    let mut err = Vec::new();
    {
        let mut progress = Progress::new(&mut err, true);
        progress.update("a");
        progress.update("b");
    }
    assert_eq!(
        String::from_utf8(err).expect("utf-8"),
        "\r\x1b[2Ka\r\x1b[2Kb\n"
    );
}

#[test]
fn json_is_pretty_with_a_final_newline() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut io = Io::plain(&mut out, &mut err);
    io.json(&serde_json::json!({"a": 1})).expect("write");
    assert_eq!(String::from_utf8(out).expect("utf-8"), "{\n  \"a\": 1\n}\n");
}
