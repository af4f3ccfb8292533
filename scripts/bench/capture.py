#!/usr/bin/env python3
"""Turns a PostgreSQL statement log excerpt into pgbench custom scripts, one per captured request.

Usage:
  capture.py --log FILE --from-offset BYTES --marker-prefix bench-capture- --out-dir DIR --name NAME
             [--db DATABASE]
  capture.py --self-test

Capture protocol (driven by scripts/bench/run.sh). With `log_statement = 'all'` on the database,
for k = 1..K a separate session (psql) runs

    SELECT 'bench-capture-<NAME>-<k>-begin'
    -- one HTTP request to the API, waiting for its response
    SELECT 'bench-capture-<NAME>-<k>-end'

This tool reads the log from byte offset BYTES, drops every statement of the session(s) that
issued markers (recognised by the PID in the line prefix), and keeps the statements other
sessions issued between `-begin` and `-end`: the database work of request k. For each k it writes
DIR/<NAME>-<k>.sql, one statement per line, parameters substituted as SQL literals, and
DIR/<NAME>.args with the matching pgbench arguments (`-f DIR/<NAME>-1.sql@1 -f ...`).
It exits non-zero when no request was captured or a request captured no statement.

What the log looks like (checked against PostgreSQL 15 with stderr logging):
  * Each message starts with `log_line_prefix`; both the upstream default `%m [%p] ` and the
    Debian default `%m [%p] %q%u@%d ` are understood:
        2026-11-26 18:00:47.020 UTC [5601] LOG:  statement: BEGIN
        2026-11-26 18:00:47.020 UTC [5601] app@guild LOG:  execute s0: SELECT ... $1 ...
        2026-11-26 18:00:47.020 UTC [5601] app@guild DETAIL:  parameters: $1 = '7', $2 = NULL
  * Multi-line messages continue on lines without a prefix; PostgreSQL adds one TAB after each
    newline of the message, which is removed here.
  * Extended protocol: `execute <name>: SQL` (`<unnamed>` for the unnamed statement,
    `<name>/<portal>` for a named portal), then a DETAIL line with the parameters rendered as
    text, even when the client sent them in binary (values single-quoted, `'` doubled, NULL
    bare). `execute fetch from ...` re-runs a portal already logged, so it is skipped.
  * Parameter values are complete only with `log_parameter_max_length = -1` (the default).

The scripts are meant for pgbench's default `-M simple` query mode: the statements contain
literals such as '10:00:00', which the extended/prepared modes would mistake for `:variables`.
Substituted parameters are untyped literals, so a statement where PostgreSQL could only infer a
parameter's type from the bind message may need a cast to replay.
"""
import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field

# `%m [%p] ` then, with the Debian prefix, `%u@%d ` (absent for non-session processes), then the
# severity. The severity list keeps a message that merely contains "LOG:  " from matching.
PREFIX_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z0-9+:_/-]+)? \[(?P<pid>\d+)\] "
    r"(?:(?P<who>\S*@\S*) )?"
    r"(?P<level>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|"
    r"STATEMENT|QUERY|LOCATION):  (?P<msg>.*)$"
)
SIMPLE_RE = re.compile(r"^statement: (?P<sql>.*)$", re.S)
EXECUTE_RE = re.compile(
    r"^execute (?P<fetch>fetch from )?(?P<name>[^\s:/]+)(?:/(?P<portal>[^\s:]+))?: (?P<sql>.*)$",
    re.S,
)
PARAM_RE = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')(?:, |$)", re.S)
# A parameter reference: `$` and digits, not part of an identifier such as `a$1`.
PLACEHOLDER_RE = re.compile(r"(?<![\w$])\$(\d+)")
DOLLAR_TAG_RE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
# Statements that are no part of a request's work: connection-pool health checks.
TRIVIAL_RE = re.compile(r"^\s*SELECT\s+1\s*;?\s*$", re.I)


@dataclass
class Record:
    """One log message (prefix line plus its continuation lines)."""

    line: int
    pid: int
    who: str | None
    level: str
    text: str


@dataclass
class Statement:
    """A statement as executed: SQL text, its parameters and where it came from."""

    line: int
    pid: int
    sql: str
    params: dict[int, str] = field(default_factory=dict)


def read_records(data: str, first_line: int = 1) -> list[Record]:
    """Splits log text into messages; text before the first prefixed line is dropped."""
    records: list[Record] = []
    for number, line in enumerate(data.split("\n"), first_line):
        match = PREFIX_RE.match(line)
        if match:
            records.append(
                Record(number, int(match["pid"]), match["who"], match["level"], match["msg"])
            )
        elif records:
            # PostgreSQL indents every continuation line with one TAB.
            records[-1].text += "\n" + (line[1:] if line.startswith("\t") else line)
    # The file ends with a newline, which leaves an empty continuation on the last message.
    if records and records[-1].text.endswith("\n"):
        records[-1].text = records[-1].text[:-1]
    return records


def parse_params(text: str) -> dict[int, str] | None:
    """Parses `$1 = 'a', $2 = NULL, ...` into {1: "'a'", 2: "NULL"}; None if malformed."""
    params: dict[int, str] = {}
    pos = 0
    while pos < len(text):
        match = PARAM_RE.match(text, pos)
        if not match:
            return None
        params[int(match[1])] = match[2]
        pos = match.end()
    return params


def statements_and_errors(
    records: list[Record], database: str | None
) -> tuple[list[Statement], list[tuple[Record, Record | None]]]:
    """Extracts executed statements (with parameters) and ERROR messages (with their STATEMENT)."""
    statements: list[Statement] = []
    errors: list[tuple[Record, Record | None]] = []
    last: dict[int, tuple[Record, Statement | None]] = {}  # per PID: previous message
    for record in records:
        if database is not None and record.who is not None:
            if record.who.rpartition("@")[2] != database:
                continue
        previous, previous_statement = last.get(record.pid, (None, None))
        statement = None
        if record.level == "LOG":
            simple = SIMPLE_RE.match(record.text)
            execute = EXECUTE_RE.match(record.text)
            if simple:
                statement = Statement(record.line, record.pid, simple["sql"])
            elif execute and not execute["fetch"]:
                statement = Statement(record.line, record.pid, execute["sql"])
            if statement:
                statements.append(statement)
            # Everything else (duration:, connection ..., checkpoints, ...) is not a statement.
        elif record.level == "DETAIL" and record.text.startswith("parameters: "):
            # Parameters belong to the message just before, from the same backend; after a
            # `duration:` message or a fetch they describe nothing we keep.
            if previous_statement is not None and previous.level == "LOG":
                params = parse_params(record.text[len("parameters: "):])
                if params is None:
                    print(f"warning: line {record.line}: unreadable parameters", file=sys.stderr)
                else:
                    previous_statement.params = params
        elif record.level in ("ERROR", "FATAL", "PANIC"):
            errors.append((record, None))
        elif record.level == "STATEMENT" and errors and errors[-1][0] is previous:
            errors[-1] = (errors[-1][0], record)
        last[record.pid] = (record, statement)
    return statements, errors


def render(
    sql: str, params: dict[int, str], variables: dict[str, str] | None = None, prefix: str = ""
) -> tuple[str, set[int]]:
    """Returns the statement on one line with parameters substituted, ending in `;`.

    With `variables` (pgbench's prepared mode), a parameter becomes the pgbench variable
    `:<prefix><n>` and its value (unquoted) is stored under that name, so pgbench binds it as a
    parameter of a prepared statement, as the application does; NULL stays a literal.

    Whitespace runs and comments outside literals become one space; quoted literals, quoted
    identifiers and dollar-quoted strings are copied exactly. Also returns the placeholder
    numbers that had no value (left as they are).
    """
    out: list[str] = []
    missing: set[int] = set()
    space = False  # whitespace seen since the last output

    def emit(text: str) -> None:
        nonlocal space
        if space and out:
            out.append(" ")
        space = False
        out.append(text)

    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            space = True
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            space = True
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            space = True
        elif c in "'\"":
            # E'...' strings also escape with backslashes.
            backslash = c == "'" and i > 0 and sql[i - 1] in "Ee" and (
                i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] in "_$")
            )
            j = i + 1
            while j < n:
                if backslash and sql[j] == "\\":
                    j += 2
                elif sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                    else:
                        break
                else:
                    j += 1
            emit(sql[i : j + 1])
            i = j + 1
        elif c == "$":
            placeholder = PLACEHOLDER_RE.match(sql, i) if i == 0 or not (
                sql[i - 1].isalnum() or sql[i - 1] in "_$"
            ) else None
            tag = DOLLAR_TAG_RE.match(sql, i) if placeholder is None else None
            if placeholder:
                number = int(placeholder[1])
                if number in params and variables is not None and params[number] != "NULL":
                    value = params[number]
                    if value.startswith("'") and value.endswith("'"):
                        value = value[1:-1].replace("''", "'")
                    variables[f"{prefix}{number}"] = value
                    emit(f":{prefix}{number}")
                elif number in params:
                    emit(params[number])
                else:
                    missing.add(number)
                    emit(placeholder[0])
                i = placeholder.end()
            elif tag and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                end = sql.find(tag[0], tag.end())
                end = n if end < 0 else end + len(tag[0])
                emit(sql[i:end])
                i = end
            else:
                emit(c)
                i += 1
        else:
            j = i + 1
            while j < n and not sql[j].isspace() and sql[j] not in "'\"$-/":
                j += 1
            emit(sql[i:j])
            i = j
    line = "".join(out).strip()
    while line.endswith(";"):
        line = line[:-1].rstrip()
    return (line + ";" if line else ""), missing


def shorten(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def capture(
    log_text: str, marker_prefix: str, name: str, out_dir: str, database: str | None = None,
    first_line: int = 1, out=sys.stdout, err=sys.stderr, prepared: bool = False,
) -> int:
    """Does the work for one log excerpt; returns the exit status."""
    records = read_records(log_text, first_line)
    statements, errors = statements_and_errors(records, database)

    marker_pids = {s.pid for s in statements if marker_prefix in s.sql}
    marker_re = re.compile(re.escape(marker_prefix + name) + r"-(\d+)-(begin|end)(?![\w-])")

    captured: dict[int, list[Statement]] = {}
    windows: dict[int, tuple[int, int | None]] = {}  # k -> (first line, last line)
    open_k: int | None = None
    for statement in statements:
        if statement.pid in marker_pids:
            marker = marker_re.search(statement.sql)
            if not marker:
                continue
            k, edge = int(marker[1]), marker[2]
            if edge == "begin":
                if open_k is not None:
                    print(f"warning: line {statement.line}: begin of {k} while {open_k} is "
                          f"still open; closing {open_k}", file=err)
                if k in captured:
                    print(f"warning: line {statement.line}: request {k} captured again; "
                          "keeping the later capture", file=err)
                captured[k], windows[k], open_k = [], (statement.line, None), k
            elif open_k == k:
                windows[k] = (windows[k][0], statement.line)
                open_k = None
            else:
                print(f"warning: line {statement.line}: end of {k} without its begin",
                      file=err)
        elif open_k is not None and not TRIVIAL_RE.match(statement.sql):
            captured[open_k].append(statement)
    if open_k is not None:
        print(f"warning: request {open_k} has no end marker; kept what followed its begin",
              file=err)

    if errors:
        print(f"warning: {len(errors)} ERROR message(s) in the log excerpt:", file=err)
        for error, context in errors:
            inside = any(
                first <= error.line and (last is None or error.line <= last)
                for first, last in windows.values()
            )
            where = "during a captured request" if inside and error.pid not in marker_pids \
                else "outside the captured requests"
            print(f"  line {error.line} [{error.pid}] ({where}): {shorten(error.text)}", file=err)
            if context:
                print(f"    statement: {shorten(' '.join(context.text.split()))}", file=err)

    if not captured:
        print(f"error: no '{marker_prefix}{name}-<k>-begin' marker in the log excerpt", file=err)
        return 1

    os.makedirs(out_dir, exist_ok=True)
    status = 0
    files = []
    variables: dict[str, str] | None = {} if prepared else None
    for k in sorted(captured):
        lines = []
        for index, statement in enumerate(captured[k]):
            line, missing = render(statement.sql, statement.params, variables,
                                   f"{name}_{k}_{index}_p")
            if missing:
                print(f"warning: line {statement.line}: no value for "
                      f"{', '.join(f'${m}' for m in sorted(missing))}", file=err)
            if line:
                lines.append(line)
        path = os.path.join(out_dir, f"{name}-{k}.sql")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        files.append(path)
        pids = sorted({s.pid for s in captured[k]})
        print(f"{name}-{k}: {len(lines)} statement(s) from PID(s) "
              f"{', '.join(map(str, pids)) or '-'} -> {path}", file=out)
        if not lines:
            print(f"error: request {k} captured no statement", file=err)
            status = 1

    first = captured[min(captured)]
    if first:
        counts: dict[str, int] = {}
        for statement in first:
            template = render(statement.sql, {})[0]
            counts[template] = counts.get(template, 0) + 1
        print(f"distinct statements of {name}-{min(captured)}:", file=out)
        for template, count in counts.items():
            print(f"  {count:>3} x {shorten(template)}", file=out)

    args_path = os.path.join(out_dir, f"{name}.args")
    with open(args_path, "w", encoding="utf-8") as f:
        f.write(" ".join(f"-f {path}@1" for path in files) + "\n")
    print(f"pgbench arguments -> {args_path}", file=out)
    if variables is not None:
        vars_path = os.path.join(out_dir, f"{name}.vars")
        with open(vars_path, "w", encoding="utf-8") as f:
            for key, value in variables.items():
                if "\n" in value:
                    print(f"error: {key}: a parameter with a newline cannot be a pgbench -D value",
                          file=err)
                    status = 1
                f.write(f"{key}={value}\n")
        print(f"pgbench variables ({len(variables)}, one -D each) -> {vars_path}", file=out)
    return status


def read_log(path: str, offset: int) -> tuple[str, int]:
    """Reads the log from a byte offset; returns the text and the line number it starts at."""
    first_line = 1
    with open(path, "rb") as f:
        while f.tell() < offset:
            chunk = f.read(min(1 << 20, offset - f.tell()))
            if not chunk:
                break
            first_line += chunk.count(b"\n")
        data = f.read()
    return data.decode("utf-8", errors="replace"), first_line


# --- self-test ------------------------------------------------------------------------------

SAMPLE_LOG = """\
2026-11-26 10:00:00.001 UTC [4200] LOG:  statement: SELECT count(*) FROM outbox WHERE sent_at IS NULL
2026-11-26 10:00:00.100 UTC [5001] LOG:  statement: SELECT 'bench-capture-dashboard-1-begin'
2026-11-26 10:00:00.110 UTC [4101] LOG:  statement: BEGIN
2026-11-26 10:00:00.111 UTC [4101] LOG:  execute s0: SELECT set_config('app.tenant_id', $1, true), set_config('role', 'guild_app', true)
2026-11-26 10:00:00.111 UTC [4101] DETAIL:  parameters: $1 = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b'
2026-11-26 10:00:00.112 UTC [4101] LOG:  execute s1: SELECT u.id, u.display_name
\t  FROM users u -- the caller
\t WHERE u.id = $1
\t   AND u.tenant_id = $2 AND ($3::uuid IS NULL OR u.group_id = $3)
\t   AND u.last_name <> $4 AND u.a = $5 AND u.b = $6 AND u.c = $7 AND u.d = $8
\t   AND u.e = $9 AND u.f = $10 AND u.note <> $11 AND u.note <> 'keep  $1  as is'
2026-11-26 10:00:00.112 UTC [4101] DETAIL:  parameters: $1 = '7f3c2b1a-0000-4000-8000-000000000001', $2 = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b', $3 = NULL, $4 = 'O''Brien', $5 = '5', $6 = '6', $7 = '7', $8 = '8', $9 = '9', $10 = 'ten', $11 = 'line one
\tline two, $1 = x'
2026-11-26 10:00:00.113 UTC [4101] LOG:  duration: 0.412 ms  execute s1: SELECT u.id, u.display_name FROM users u
2026-11-26 10:00:00.113 UTC [4101] DETAIL:  parameters: $1 = 'ignored'
2026-11-26 10:00:00.114 UTC [4300] LOG:  statement: SELECT 1
2026-11-26 10:00:00.115 UTC [4101] LOG:  execute <unnamed>/C_1: SELECT m.id FROM modules m WHERE m.tenant_id = $1 ORDER BY m.position LIMIT $2
2026-11-26 10:00:00.115 UTC [4101] DETAIL:  parameters: $1 = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b', $2 = '20'
2026-11-26 10:00:00.116 UTC [4101] LOG:  execute fetch from <unnamed>/C_1: SELECT m.id FROM modules m WHERE m.tenant_id = $1 ORDER BY m.position LIMIT $2
2026-11-26 10:00:00.116 UTC [4101] DETAIL:  parameters: $1 = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b', $2 = '20'
2026-11-26 10:00:00.117 UTC [4101] LOG:  statement: COMMIT
2026-11-26 10:00:00.150 UTC [5001] LOG:  statement: SELECT 'bench-capture-dashboard-1-end'
2026-11-26 10:00:00.151 UTC [5001] LOG:  disconnection: session time: 0:00:00.051 user=postgres database=guild host=127.0.0.1 port=50000
2026-11-26 10:00:00.160 UTC [4200] LOG:  statement: UPDATE outbox SET sent_at = now() WHERE id = 3
2026-11-26 10:00:00.170 UTC [4200] ERROR:  relation "outbox" does not exist
2026-11-26 10:00:00.170 UTC [4200] STATEMENT:  UPDATE outbox SET sent_at = now() WHERE id = 3
2026-11-26 10:00:00.200 UTC [5002] postgres@guild LOG:  statement: SELECT 'bench-capture-dashboard-2-begin'
2026-11-26 10:00:00.210 UTC [4102] guild@guild LOG:  statement: BEGIN
2026-11-26 10:00:00.211 UTC [4102] guild@guild LOG:  execute s0: SELECT set_config('app.tenant_id', $1, true), set_config('role', 'guild_app', true)
2026-11-26 10:00:00.211 UTC [4102] guild@guild DETAIL:  parameters: $1 = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b'
2026-11-26 10:00:00.212 UTC [4102] guild@guild LOG:  execute s1: SELECT u.id FROM users u WHERE u.id = $1 AND u.tenant_id = $12
2026-11-26 10:00:00.212 UTC [4102] guild@guild DETAIL:  parameters: $1 = 'user-2', $12 = 'twelve'
2026-11-26 10:00:00.213 UTC [5002] postgres@guild LOG:  statement: SELECT now()
2026-11-26 10:00:00.213 UTC [4400] postgres@elsewhere LOG:  statement: VACUUM elsewhere_table
2026-11-26 10:00:00.214 UTC [4102] guild@guild LOG:  statement: COMMIT
2026-11-26 10:00:00.250 UTC [5002] postgres@guild LOG:  statement: SELECT 'bench-capture-dashboard-2-end'
2026-11-26 10:00:00.260 UTC [4200] LOG:  statement: SELECT count(*) FROM outbox
"""

EXPECTED = {
    "dashboard-1.sql": (
        "BEGIN;\n"
        "SELECT set_config('app.tenant_id', '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b', true), "
        "set_config('role', 'guild_app', true);\n"
        "SELECT u.id, u.display_name FROM users u WHERE u.id = "
        "'7f3c2b1a-0000-4000-8000-000000000001' AND u.tenant_id = "
        "'0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b' AND (NULL::uuid IS NULL OR u.group_id = NULL) "
        "AND u.last_name <> 'O''Brien' AND u.a = '5' AND u.b = '6' AND u.c = '7' AND u.d = '8' "
        "AND u.e = '9' AND u.f = 'ten' AND u.note <> 'line one\nline two, $1 = x' "
        "AND u.note <> 'keep  $1  as is';\n"
        "SELECT m.id FROM modules m WHERE m.tenant_id = '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b' "
        "ORDER BY m.position LIMIT '20';\n"
        "COMMIT;\n"
    ),
    "dashboard-2.sql": (
        "BEGIN;\n"
        "SELECT set_config('app.tenant_id', '0b7e4a52-3c1d-4f6e-9a8b-1c2d3e4f5a6b', true), "
        "set_config('role', 'guild_app', true);\n"
        "SELECT u.id FROM users u WHERE u.id = 'user-2' AND u.tenant_id = 'twelve';\n"
        "COMMIT;\n"
    ),
}


def self_test() -> int:
    import io

    with tempfile.TemporaryDirectory() as tmp:
        out, err = io.StringIO(), io.StringIO()
        status = capture(SAMPLE_LOG, "bench-capture-", "dashboard", tmp, database="guild",
                         out=out, err=err)
        assert status == 0, (status, err.getvalue())
        for filename, expected in EXPECTED.items():
            with open(os.path.join(tmp, filename), encoding="utf-8") as f:
                got = f.read()
            assert got == expected, f"{filename}:\n{got!r}\n!=\n{expected!r}"
        with open(os.path.join(tmp, "dashboard.args"), encoding="utf-8") as f:
            args = f.read()
        assert args == (f"-f {tmp}/dashboard-1.sql@1 -f {tmp}/dashboard-2.sql@1\n"), args
        assert "dashboard-1: 5 statement(s) from PID(s) 4101" in out.getvalue(), out.getvalue()
        assert "1 ERROR message(s)" in err.getvalue() and "outside" in err.getvalue(), \
            err.getvalue()

        # Without --db, another database's session inside a window is kept.
        assert capture(SAMPLE_LOG, "bench-capture-", "dashboard", tmp, out=io.StringIO(),
                       err=io.StringIO()) == 0
        with open(os.path.join(tmp, "dashboard-2.sql"), encoding="utf-8") as f:
            assert "VACUUM elsewhere_table;" in f.read()

        # A request without statements fails the capture.
        empty = SAMPLE_LOG + (
            "2026-11-26 10:00:01.000 UTC [5003] LOG:  statement: SELECT 'bench-capture-dashboard-3-begin'\n"
            "2026-11-26 10:00:01.001 UTC [4103] LOG:  statement: SELECT 1\n"
            "2026-11-26 10:00:01.002 UTC [5003] LOG:  statement: SELECT 'bench-capture-dashboard-3-end'\n"
        )
        status = capture(empty, "bench-capture-", "dashboard", tmp, out=io.StringIO(),
                         err=io.StringIO())
        assert status == 1, "a request with no statement must fail"
        # No marker at all fails too.
        assert capture(SAMPLE_LOG, "bench-capture-", "module", tmp, out=io.StringIO(),
                       err=io.StringIO()) == 1

    # Rendering corner cases.
    assert render("SELECT $1, $12, a$1, $$ $1 $$, $q$ $2 $q$", {1: "'a'", 12: "NULL"})[0] == \
        "SELECT 'a', NULL, a$1, $$ $1 $$, $q$ $2 $q$;"
    assert render("SELECT E'it\\'s  $1', \"col  $1\"  /* c /* n */ */ FROM t;;", {1: "'x'"})[0] \
        == "SELECT E'it\\'s  $1', \"col  $1\" FROM t;"
    assert render("SELECT $2", {1: "'a'"}) == ("SELECT $2;", {2})
    assert parse_params("$1 = 'a, $2 = b', $2 = NULL") == {1: "'a, $2 = b'", 2: "NULL"}
    assert parse_params("$1 = oops") is None
    variables: dict[str, str] = {}
    assert render("SELECT $1, $2, $3::uuid", {1: "'O''Brien'", 2: "NULL", 3: "'u'"},
                  variables, "s_1_0_p")[0] == "SELECT :s_1_0_p1, NULL, :s_1_0_p3::uuid;"
    assert variables == {"s_1_0_p1": "O'Brien", "s_1_0_p3": "u"}
    print("capture.py self-test: ok")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true", help="run the built-in test and exit")
    parser.add_argument("--log", help="PostgreSQL log file")
    parser.add_argument("--from-offset", type=int, default=0,
                        help="byte offset where the capture started (the log's size then)")
    parser.add_argument("--marker-prefix", default="bench-capture-")
    parser.add_argument("--out-dir", help="directory for <name>-<k>.sql and <name>.args")
    parser.add_argument("--name", help="scenario name used in the markers")
    parser.add_argument("--db", help="keep only this database's messages (needs %%d in the "
                        "log_line_prefix; messages without it are kept)")
    parser.add_argument("--prepared", action="store_true",
                        help="keep parameters as pgbench variables (for -M prepared) and write "
                        "<name>.vars with their values")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not (args.log and args.out_dir and args.name):
        parser.error("--log, --out-dir and --name are required")
    text, first_line = read_log(args.log, args.from_offset)
    return capture(text, args.marker_prefix, args.name, args.out_dir, args.db, first_line,
                   prepared=args.prepared)


if __name__ == "__main__":
    sys.exit(main())
