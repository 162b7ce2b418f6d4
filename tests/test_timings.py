"""`codemod timings` end to end on a real Go module: slow and flaky tests are flagged, fast ones are not,
and the table, the JSON and the HTML page (opened in a real headless browser) say the same."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from codemod.config import Settings
from codemod.timings import (
    FLAKY,
    INTEGRATION,
    OK,
    OVER_TARGET,
    SKIPPED,
    SLOW,
    UNIT,
    Collector,
    StreamError,
    assign_kinds,
    plain_output,
    read_stream,
    short_skipping_tests,
)
from codemod.verify import verify_and_repair
from tests.gotool import go_version, require_go

ROOT = Path(__file__).resolve().parent.parent
MODULE = "example.com/timed"
FLAKY_ENV = "CODEMOD_TIMINGS_FLAKY_KEY"

CALC_TEST = f"""package calc

import (
\t"os"
\t"path/filepath"
\t"strconv"
\t"testing"
\t"time"
)

func TestFast(t *testing.T) {{}}

func TestSlowUnit(t *testing.T) {{
\ttime.Sleep(1100 * time.Millisecond)
}}

func TestOverTarget(t *testing.T) {{
\ttime.Sleep(150 * time.Millisecond)
}}

// TestFlaky fails on odd runs: a counter file in os.TempDir, keyed by a name the test run hands in.
func TestFlaky(t *testing.T) {{
\tkey := os.Getenv("{FLAKY_ENV}")
\tif key == "" {{
\t\tt.Skip("{FLAKY_ENV} not set")
\t}}
\tpath := filepath.Join(os.TempDir(), "codemod-flaky-"+key)
\tdata, _ := os.ReadFile(path)
\tn, _ := strconv.Atoi(string(data))
\tn++
\tif err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0o600); err != nil {{
\t\tt.Fatal(err)
\t}}
\tif n%2 == 1 {{
\t\tt.Fatalf("run %d fails", n)
\t}}
}}

func TestTable(t *testing.T) {{
\tfor _, name := range []string{{"small", "large"}} {{
\t\tt.Run(name, func(t *testing.T) {{}})
\t}}
}}

func skipUnderShort(t *testing.T) {{
\tif testing.Short() {{
\t\tt.Skip("integration")
\t}}
}}

// A test that skips under -short is an integration test: 150 ms is within its target.
func TestSkipsUnderShort(t *testing.T) {{
\tskipUnderShort(t)
\ttime.Sleep(150 * time.Millisecond)
}}

func TestNotHere(t *testing.T) {{
\tt.Skip("not on this machine")
}}
"""

E2E_TEST = """package e2e

import "testing"

func TestEndToEnd(t *testing.T) {}
"""

EXPECTED = {
    ("calc", "TestFast"): (UNIT, OK),
    ("calc", "TestSlowUnit"): (UNIT, SLOW),
    ("calc", "TestOverTarget"): (UNIT, OVER_TARGET),
    ("calc", "TestFlaky"): (UNIT, FLAKY),
    ("calc", "TestTable"): (UNIT, OK),
    ("calc", "TestTable/small"): (UNIT, OK),
    ("calc", "TestTable/large"): (UNIT, OK),
    ("calc", "TestSkipsUnderShort"): (INTEGRATION, OK),
    ("calc", "TestNotHere"): (UNIT, SKIPPED),
    ("e2e", "TestEndToEnd"): (INTEGRATION, OK),
}


@dataclass(frozen=True)
class Timed:
    root: Path
    stream: Path  # a saved `go test -json -count=2 ./...`
    live: subprocess.CompletedProcess[str]  # `codemod timings -count 2 --format json ./...`


def codemod(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "codemod", "timings", *args],
        cwd=root,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def flaky_env(**extra: str) -> dict[str, str]:
    return {**os.environ, FLAKY_ENV: uuid.uuid4().hex, "GOTOOLCHAIN": "local", **extra}


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Timed:
    go = require_go()
    root = tmp_path_factory.mktemp("timings") / "module"
    (root / "calc").mkdir(parents=True)
    (root / "e2e").mkdir()
    (root / "go.mod").write_text(f"module {MODULE}\n\ngo 1.21\n")
    (root / "calc" / "calc_test.go").write_text(CALC_TEST)
    (root / "e2e" / "e2e_test.go").write_text(E2E_TEST)
    stream = root.parent / "stream.jsonl"
    with stream.open("w") as out:
        subprocess.run(
            [go, "test", "-json", "-count=2", "./..."], cwd=root, env=flaky_env(), stdout=out, timeout=600
        )
    os.environ[FLAKY_ENV] = uuid.uuid4().hex  # a fresh counter for the live run below
    try:
        live = codemod(root, "-count", "2", "--format", "json", "./...")
    finally:
        del os.environ[FLAKY_ENV]
    return Timed(root, stream, live)


def verdicts(records: list[dict[str, object]]) -> dict[tuple[str, str], tuple[object, object]]:
    return {
        (str(r["package"]).removeprefix(MODULE + "/"), str(r["test"])): (r["kind"], r["verdict"])
        for r in records
    }


def test_live_run_flags_the_slow_unit_test_and_the_flaky_one(timed: Timed) -> None:
    assert timed.live.returncode == 1, timed.live.stderr
    assert timed.live.stderr == ""  # piped: no progress bar, no noise
    records = json.loads(timed.live.stdout)
    assert verdicts(records) == EXPECTED
    by_name = {r["test"]: r for r in records}
    assert len(by_name["TestSlowUnit"]["seconds"]) == 2
    assert all(s >= 1.1 for s in by_name["TestSlowUnit"]["seconds"])
    assert by_name["TestFlaky"]["outcomes"] == ["fail", "pass"]
    assert records[0]["test"] == "TestSlowUnit"  # slowest first


def test_saved_stream_gives_the_same_verdicts(timed: Timed) -> None:
    done = codemod(timed.root, "--from", str(timed.stream), "--format", "json")
    assert done.returncode == 1
    assert verdicts(json.loads(done.stdout)) == EXPECTED
    piped = codemod(timed.root, "--from", "-", "--format", "json", stdin=timed.stream.read_text())
    assert piped.stdout == done.stdout


def table_rows(text: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(package, test) -> (verdict, kind, slowest) from the terminal table."""
    rows = {}
    pattern = re.compile(
        r"^(ok|over target|slow|flaky|failed|skipped)\s+(unit|integration)\s+(\d+\.\d+ s)\s"
        r".*?(calc|e2e)\s+(\S+)$"
    )
    for line in text.splitlines():
        match = pattern.match(line.strip())
        if match:
            rows[(match.group(4), match.group(5))] = (match.group(1), match.group(2), match.group(3))
    return rows


def test_table_json_and_html_hold_the_same(timed: Timed, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    table = codemod(timed.root, "--from", str(timed.stream), "--html", str(page))
    records = json.loads(codemod(timed.root, "--from", str(timed.stream), "--format", "json").stdout)
    assert table.returncode == 1
    rows = table_rows(table.stdout)
    assert rows.keys() == EXPECTED.keys(), table.stdout
    html = page.read_text()
    for record in records:
        key = (str(record["package"]).removeprefix(MODULE + "/"), str(record["test"]))
        seconds = [float(s) for s in record["seconds"]]  # type: ignore[attr-defined]
        slowest = f"{max(seconds):.2f} s"
        assert rows[key] == (record["verdict"], record["kind"], slowest)
        assert f"<td>{key[0]}</td><td>{key[1]}</td>" in html
        assert f'<td class="num">{slowest}</td>' in html
    assert "10 tests in 2 packages: 1 slow, 1 flaky, 1 over target, 6 ok, 1 skipped." in table.stdout
    # Self-contained: the charts are inline SVG; nothing is fetched.
    assert html.count("<svg") == 2
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html


def test_end_to_end_folders_come_from_the_config(timed: Timed, tmp_path: Path) -> None:
    config = tmp_path / "codemod.toml"
    config.write_text('end-to-end-folders = ["calc"]\n')
    done = codemod(timed.root, "--from", str(timed.stream), "--format", "json", "--config", str(config))
    kinds = {k: v[0] for k, v in verdicts(json.loads(done.stdout)).items()}
    assert kinds[("calc", "TestSlowUnit")] == INTEGRATION  # 1.1 s is fine for an integration test
    assert kinds[("e2e", "TestEndToEnd")] == UNIT
    assert done.returncode == 1  # still flaky


def find_browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no headless browser is on PATH (.ci/run installs chromium)")
    pytest.skip("no headless browser (chromium, chromium-browser, google-chrome) on PATH")


def test_html_report_renders_its_chart_in_a_real_browser(timed: Timed, tmp_path: Path) -> None:
    from PIL import Image

    page = tmp_path / "report.html"
    codemod(timed.root, "--from", str(timed.stream), "--html", str(page))
    shot = tmp_path / "shot.png"
    browser = find_browser()
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1400",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        assert image.size == (1200, 1400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    assert len(colours) > 200  # text, lines and markers, not a blank page
    # The slow test's red and the flaky test's purple are drawn (markers and bars), not just badges.
    assert sum(n for n, c in colours if _near(c, (214, 39, 40))) > 500
    assert sum(n for n, c in colours if _near(c, (148, 103, 189))) > 200


def _near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


# -- the stream and the kinds, without running go ----------------------------------------------------


def event(action: str, test: str | None = None, elapsed: float | None = None, **extra: object) -> str:
    record: dict[str, object] = {"Time": "2025-01-02T03:04:05.123456789Z", "Action": action, "Package": "p"}
    if test:
        record["Test"] = test
    if elapsed is not None:
        record["Elapsed"] = elapsed
    return json.dumps({**record, **extra})


def test_a_test_still_running_when_the_binary_dies_failed() -> None:
    lines = [
        event("run", "TestHang"),
        json.dumps({"Time": "2025-01-02T03:04:15.5Z", "Action": "fail", "Package": "p", "Elapsed": 10.4}),
    ]
    collector = read_stream(lines)
    (timing,) = collector.results()
    assert timing.outcomes == ["fail"] and round(timing.seconds[0], 1) == 10.4
    assert collector.packages["p"].outcome == "fail"


def test_bad_json_names_the_line() -> None:
    with pytest.raises(StreamError, match=r"line 2: not go test -json output: ok  p  0\.1s"):
        read_stream([event("run", "TestA"), "ok  p  0.1s"])


def test_bad_stream_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("PASS\n")
    done = codemod(tmp_path, "--from", str(bad))
    assert done.returncode == 2
    assert done.stderr == "codemod: line 1: not go test -json output: PASS\n"
    missing = codemod(tmp_path, "--from", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "cannot read" in missing.stderr


def test_missing_go_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "codemod", "timings", "./..."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("codemod: `go` is not on PATH") and done.stderr.count("\n") == 1


def test_short_in_test_main_makes_every_test_of_the_package_integration(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    pkg = tmp_path / "db"
    pkg.mkdir()
    (pkg / "main_test.go").write_text(
        'package db\n\nimport (\n\t"os"\n\tt "testing"\n)\n\n'
        "func TestMain(m *t.M) {\n\tif t.Short() {\n\t\tos.Exit(0)\n\t}\n\tos.Exit(m.Run())\n}\n"
    )
    collector = Collector()
    for line in (event("pass", "TestQuery/x", 0.5), event("pass", "TestQuery", 0.5)):
        collector.feed_line(line.replace('"p"', '"example.com/m/db"'))
    results = collector.results()
    assign_kinds(results, Settings(), tmp_path)
    assert {t.kind for t in results} == {INTEGRATION}


# -- `--verify test` records each changed package's test time before and after -----------------------

SLEEPY = b"""package sleepy

import (
\t"testing"
\t"time"
)

func TestWaits(t *testing.T) {
\ttime.Sleep(400 * time.Millisecond)
}

func TestQuick(t *testing.T) {}
"""


def test_verify_test_says_the_time_before_and_after(tmp_path: Path) -> None:
    go = require_go()
    root = tmp_path / "m"
    (root / "go" / "sleepy").mkdir(parents=True)
    (root / "go.mod").write_text(f"module example.com/m\n\ngo {go_version(go)}\n")
    target = root / "go" / "sleepy" / "sleepy_test.go"
    target.write_bytes(SLEEPY)
    fixed = SLEEPY.replace(b"400 * time.Millisecond", b"time.Millisecond")

    report = verify_and_repair({target: SLEEPY}, {target: fixed}, "test", None, applied={target: ["x"]})

    (pkg,) = report.packages
    assert pkg.outcome == "passed" and pkg.times is not None
    assert pkg.times.before >= 0.4 and pkg.times.after < pkg.times.before - 0.2
    text = "\n".join(report.lines(root))
    assert "test time, unchanged tree → with the fixes (`go test -short -count=1`):" in text
    # The binary's time includes its start-up: only the test's own time is pinned down.
    assert re.search(r"^  go/sleepy: go test: \d+\.\d\d s → \d+\.\d\d s$", text, re.M), text
    assert re.search(r"^      TestWaits: (0\.[4-9]\d|\d+\.\d\d) s → 0\.0\d s$", text, re.M), text
    assert "TestQuick" not in text  # it did not move


def test_verify_output_reads_as_plain_go_test() -> None:
    stream = "\n".join(
        [
            event("run", "TestA"),
            event("output", "TestA", Output="=== RUN   TestA\n"),
            event("output", "TestA", Output="    a_test.go:3: only when it fails\n"),
            event("output", "TestA", Output="--- PASS: TestA (0.00s)\n"),
            event("pass", "TestA", 0.0),
            event("run", "TestB"),
            event("output", "TestB", Output="    b_test.go:9: boom\n"),
            event("output", "TestB", Output="--- FAIL: TestB (0.00s)\n"),
            event("fail", "TestB", 0.01),
            "# a line on stderr",
            event("output", Output="FAIL\n"),
            event("fail", elapsed=0.2),
        ]
    )
    text, collector = plain_output(stream + "\n")
    assert text == "    b_test.go:9: boom\n--- FAIL: TestB (0.00s)\n# a line on stderr\nFAIL\n"
    assert collector.packages["p"].seconds == 0.2


def test_only_a_short_skip_makes_an_integration_test(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    (tmp_path / "a_test.go").write_text(
        'package a\n\nimport "testing"\n\n'
        "func TestTrims(t *testing.T) {\n\tn := 1\n\tif !testing.Short() {\n\t\tn = 9\n\t}\n\t_ = n\n}\n\n"
        "func TestLeaves(t *testing.T) {\n\tif testing.Short() {\n\t\treturn\n\t}\n}\n\n"
        "func TestScales(t *testing.T) {\n\tif testing.Short() {\n\t\tt.Log(1)\n\t}\n}\n\n"
        'func TestSkips(t *testing.T) {\n\tif (testing.Short() && true) {\n\t\tt.Skipf("x")\n\t}\n}\n'
    )
    shorts, everything = short_skipping_tests(tmp_path)
    assert shorts == {"TestLeaves", "TestSkips"} and not everything


def test_progress_bar_only_on_a_terminal(timed: Timed) -> None:
    import pexpect

    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "GOTOOLCHAIN": "local"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "codemod", "timings", "-run", "TestFast|TestEndToEnd", "./..."],
        cwd=str(timed.root),
        env=env,
        encoding="utf-8",
        dimensions=(24, 120),
        timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert "codemod: go test" in child.before and "/2 packages" in child.before
    assert child.exitstatus == 0  # nothing slow or flaky among these


def test_pr_description_says_the_test_time(tmp_path: Path) -> None:
    from codemod.migrate import Shard, describe_shard
    from codemod.verify import PackageReport, TimeChange, VerifyReport

    times = TimeChange(5.2, 0.3, (("TestX", 5.0, 0.02), ("TestY", 0.1, 0.1)))
    report = VerifyReport("test", packages=[PackageReport(tmp_path / "go" / "x", (), "passed", times=times)])
    shard = Shard(("test-context",), "go/x", [], {})
    text = describe_shard(shard, report, tmp_path, "0123456789abcdef", None, "test")
    assert "  go/x: go test: 5.20 s → 0.30 s\n      TestX: 5.00 s → 0.02 s\n" in text
    assert "TestY" not in text
