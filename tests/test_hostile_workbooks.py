"""Hostile and damaged workbooks: each gets its one-line refusal from `xlcalc refresh` and `xlcalc check`, fast.

Every file is generated here from a real template workbook (bombs, damaged zips, far cells, forged names,
entity declarations, symlinks, lock files). Each case runs the real command in a subprocess and asserts
its exit status, that stderr is one line naming the file and the reason, and that the process stayed
under a time and memory ceiling. The ceilings are generous for a loaded 2-core machine, yet far below
what these files cost before they were checked (50-120 s or more, up to 2.1 GB).
"""

import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlcalc.workbooks import limits as workbook_limits, xlsx_bytes
from xlcalc.workbooks.files import save_workbook, template_workbook

ROOT = Path(__file__).resolve().parents[1]
#: Ceilings per command run (the process: Python start, imports and the refusal).
SECONDS_CEILING = 40
PEAK_MEMORY_CEILING_MB = 400
#: A hard cap so that a regression fails the test instead of swapping the machine.
ADDRESS_SPACE_CAP = 6 * 2**30

PRICES = "Hardware prices"


#: Runs the command in a child with its address space capped, then writes the child's peak resident memory
#: (VmHWM, which belongs to this process image alone, unlike ru_maxrss that a fork inherits) to a file.
_CHILD = """
import atexit, resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
def report():
    with open({report!r}, "w") as out:
        out.write(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")))
atexit.register(report)
sys.argv = ["xlcalc", *sys.argv[1:]]
runpy.run_module("xlcalc.cli", run_name="__main__", alter_sys=True)
"""


def run_limited(*argv) -> dict:
    """Run `xlcalc ARGV` in a child under the caps: exit status, stdout, stderr, seconds, peak memory in MB."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "peak"
        code = _CHILD.format(cap=ADDRESS_SPACE_CAP, report=str(report))
        start = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-c", code, *map(str, argv)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=SECONDS_CEILING * 2)  # a hang fails the test, never blocks it
        except subprocess.TimeoutExpired:
            pytest.fail(f"xlcalc {' '.join(map(str, argv))} ran past {SECONDS_CEILING * 2} s")
        seconds = time.monotonic() - start
        peak_kb = int(report.read_text().split()[1])
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr, "seconds": round(seconds, 2),
            "peak_mb": round(peak_kb / 1024)}


def rezip(source: Path, target: Path, replace=None, add=None, *, stream=None) -> Path:
    """Copy an .xlsx archive, replacing parts (bytes), adding parts, or streaming one part from a generator."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            if stream and member.filename == stream[0]:
                info = zipfile.ZipInfo(member.filename)
                info.compress_type = zipfile.ZIP_DEFLATED
                with new.open(info, "w", force_zip64=False) as part:
                    for chunk in stream[1]():
                        part.write(chunk)
                continue
            new.writestr(member.filename, replace.get(member.filename, old.read(member)))
        for name, content in add.items():
            new.writestr(name, content)
    return target


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A real lifetime_sizing workbook, written without cached values (fast)."""
    path = tmp_path_factory.mktemp("good") / "good.xlsx"
    save_workbook(template_workbook("lifetime_sizing"), path, backup=False, values=False)
    return path


def part_of(path: Path, title: str = PRICES) -> str:
    with zipfile.ZipFile(path) as archive:
        return xlsx_bytes.sheet_parts(archive)[title]


def read_part(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(part)


def with_sheet_data(good: Path, target: Path, rows) -> Path:
    """The price sheet's rows replaced by a generator of XML chunks (a bomb streams without memory)."""
    part = part_of(good)
    xml = read_part(good, part)
    head, tail = xml.split(b"<sheetData>")[0] + b"<sheetData>", b"</sheetData>" + xml.split(b"</sheetData>")[1]

    def chunks():
        yield head
        yield from rows()
        yield tail

    return rezip(good, target, stream=(part, chunks))


def zip_bomb(good, tmp):
    row = b"".join(b'<c r="%s1" t="n"><v>1</v></c>' % letter.encode() for letter in "ABCDEFGHIJ")

    def rows():
        block = b"".join(b'<row r="1">' + row + b"</row>" for _ in range(2_000))
        for _ in range(400):  # about 300 MB of cells in under 1 MB
            yield block
    return with_sheet_data(good, tmp / "zip_bomb.xlsx", rows)


def whitespace_bomb(good, tmp):
    def rows():
        block = b" " * 2**20
        for _ in range(300):  # 300 MB of spaces in 300 KB
            yield block
    return with_sheet_data(good, tmp / "whitespace_bomb.xlsx", rows)


def lying_sizes_bomb(good, tmp):
    """A whitespace bomb whose zip headers claim 1,000 bytes: a reader trusting them would expand 300 MB."""
    path = whitespace_bomb(good, tmp)
    part = part_of(good)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    assert info.file_size < 2**32 and not info.extra  # plain 32-bit sizes, as the headers below assume
    data[info.header_offset + 22: info.header_offset + 26] = (1_000).to_bytes(4, "little")  # local header
    central = data.index(b"PK\x01\x02", info.header_offset)
    while data[central + 46: central + 46 + len(part)] != part.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24: central + 28] = (1_000).to_bytes(4, "little")  # central directory entry
    target = tmp / "lying_sizes_bomb.xlsx"
    target.write_bytes(bytes(data))
    return target


def many_cells(good, tmp):
    """300,000 small cells within the size limits: refused by the cell count."""
    def rows():
        for r in range(1, 1_001):
            yield b'<row r="%d">' % r + b"".join(b'<c r="%s%d"/>' % (openpyxl.utils.get_column_letter(c).encode(), r)
                                               for c in range(1, 301)) + b"</row>"
    return with_sheet_data(good, tmp / "many_cells.xlsx", rows)


def far_cell(coordinate, dimension=True):
    """A note typed at ``coordinate``; without its <dimension> the far cell itself must be found."""
    def make(good, tmp):
        workbook = openpyxl.load_workbook(good)
        workbook[PRICES][coordinate] = "note"
        path = tmp / f"far_{coordinate}{'' if dimension else '_no_dimension'}.xlsx"
        workbook.save(path)
        if not dimension:
            part = part_of(path)
            xml = read_part(path, part)
            start = xml.index(b"<dimension ref=")
            rezip(path, path.with_suffix(".tmp"), {part: xml[:start] + xml[xml.index(b"/>", start) + 2:]})
            path.with_suffix(".tmp").replace(path)
        return path
    return make


def forged_dimension(good, tmp):
    part = part_of(good)
    xml = read_part(good, part)
    start = xml.index(b"<dimension ref=")
    end = xml.index(b"/>", start) + 2
    return rezip(good, tmp / "forged_dimension.xlsx", {part: xml[:start] + b'<dimension ref="A1:XFD1048576"/>'
                                                       + xml[end:]})


def forged_name(text_length=0, name_length=10):
    def make(good, tmp):
        xml = read_part(good, "xl/workbook.xml")
        name = b"n" * name_length
        forged = b'<definedName name="' + name + b'">' + b"Sizing!$A$1+" * (text_length // 12) + b"1</definedName>"
        xml = xml.replace(b"<definedNames>", b"<definedNames>" + forged, 1)
        return rezip(good, tmp / f"forged_name_{text_length}_{name_length}.xlsx", {"xl/workbook.xml": xml})
    return make


def entity_bomb(good, tmp):
    xml = read_part(good, "xl/workbook.xml")
    doctype = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
               + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                          for i in range(1, 10)) + b"]>")
    xml = doctype + xml.replace(b"<definedNames>", b'<definedNames><definedName name="x">&lol9;</definedName>', 1)
    return rezip(good, tmp / "entity_bomb.xlsx", {"xl/workbook.xml": xml})


def flipped_byte(good, tmp):
    part = part_of(good, "Sizing")
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo(part)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    data[offset] ^= 0xFF
    path = tmp / "flipped_byte.xlsx"
    path.write_bytes(bytes(data))
    return path


def truncated(part_name):
    def make(good, tmp):
        part = part_of(good, "Sizing") if part_name == "sheet" else part_name
        xml = read_part(good, part)
        return rezip(good, tmp / f"truncated_{part_name.replace('/', '_')}.xlsx", {part: xml[: len(xml) // 2]})
    return make


def cut_archive(good, tmp):
    path = tmp / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def many_parts(good, tmp):
    return rezip(good, tmp / "many_parts.xlsx", add={f"xl/media/x{i}.bin": b"x" for i in range(3_000)})


def high_ratio(good, tmp):
    return rezip(good, tmp / "high_ratio.xlsx", add={"xl/media/zeros.bin": bytes(20 * 2**20)})


def symlink_to_system_file(good, tmp):
    path = tmp / "passwd.xlsx"
    path.symlink_to("/etc/passwd")
    return path


def empty_file(good, tmp):
    path = tmp / "empty.xlsx"
    path.write_bytes(b"")
    return path


# (name, maker, text stderr must contain): every one is refused with exit status 2
CASES = [
    ("zip bomb", zip_bomb, "more than the 33,554,432 allowed for one part (a zip bomb?)"),
    ("whitespace bomb", whitespace_bomb, "more than the 33,554,432 allowed for one part"),
    ("bomb with lying sizes", lying_sizes_bomb, "is damaged inside the zip archive (Bad CRC-32"),
    ("300,000 cells", many_cells, "more than 250,000 cells"),
    ("cell at XFD1048576", far_cell("XFD1048576"),
     "sheet 'Hardware prices' (xl/worksheets/sheet9.xml) has its used range A1:XFD1048576 (the sheet's <dimension>), "
     "beyond the 100,000 rows and 1,024 columns xlcalc reads"),
    ("cell at A1048576", far_cell("A1048576"), "has its used range A1:N1048576"),
    ("cell at XFD1 without <dimension>", far_cell("XFD1", dimension=False),
     "sheet 'Hardware prices' (xl/worksheets/sheet9.xml) has a cell at XFD1, beyond"),
    ("forged dimension", forged_dimension,
     "sheet 'Hardware prices' (xl/worksheets/sheet9.xml) has its used range A1:XFD1048576 (the sheet's <dimension>)"),
    ("forged 10 MB name", forged_name(text_length=10_000_000), "xl/workbook.xml expands 4"),
    ("forged 500 KB name", forged_name(text_length=500_000), "the defined name 'nnnnnnnnnn' stands for more than "
                                                           "8,192 characters of formula text, Excel's limit"),
    ("forged long name", forged_name(name_length=5_000), "a defined name of 5,000 characters"),
    ("entity bomb", entity_bomb, "xl/workbook.xml declares a DOCTYPE, which no .xlsx part has: refused"),
    ("flipped byte", flipped_byte, "is damaged inside the zip archive"),
    ("truncated workbook.xml", truncated("xl/workbook.xml"), "xl/workbook.xml is not well-formed XML"),
    ("truncated sheet", truncated("sheet"), "is not well-formed XML"),
    ("truncated styles.xml", truncated("xl/styles.xml"), "xl/styles.xml is not well-formed XML"),
    ("archive cut in half", cut_archive, "the zip archive is damaged or not a zip archive"),
    ("3,000 parts", many_parts, "holds 3,0"),
    ("compression ratio", high_ratio, "xl/media/zeros.bin expands"),
    ("symlink to /etc/passwd", symlink_to_system_file, "not a zip archive"),
    ("empty file", empty_file, "not a zip archive"),
]


@pytest.fixture(scope="module")
def hostile(good, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {name: maker(good, folder) for name, maker, _ in CASES}


class TestHostileFilesAreRefusedFast:
    @pytest.mark.parametrize("command", ["refresh", "check"])
    @pytest.mark.parametrize("name,message", [(name, message) for name, _, message in CASES])
    def test_one_line_exit_2_within_ceilings(self, hostile, name, message, command):
        path = hostile[name]
        before = path.read_bytes() if path.exists() else None
        done = run_limited(command, path)
        assert done["code"] == 2, done
        assert done["out"] == "" and done["err"].count("\n") == 1 and "Traceback" not in done["err"], done
        assert done["err"].startswith(f"xlcalc {command}: error: {str(path)!r}") and message in done["err"], done
        assert done["seconds"] < SECONDS_CEILING and done["peak_mb"] < PEAK_MEMORY_CEILING_MB, done
        assert (path.read_bytes() if path.exists() else None) == before


class TestLimitsLeaveRealWorkbooksAlone:
    def test_the_templates_pass(self, good):
        workbook_limits.check_xlsx(good)

    def test_notes_at_the_far_corner_of_the_limits_are_carried_fast(self, good, tmp_path):
        """Only the cells in the file are visited: a note at ALL99999 does not make 100 million empty cells."""
        path = far_cell("ALL99999")(good, tmp_path)
        workbook = openpyxl.load_workbook(path)
        workbook.create_sheet("Mine")["ALL99999"] = "my note"
        workbook.save(path)
        workbook_limits.check_xlsx(path)
        done = run_limited("refresh", path, "--no-values")
        assert done["code"] == 0, done
        assert done["seconds"] < SECONDS_CEILING and done["peak_mb"] < PEAK_MEMORY_CEILING_MB, done
        again = openpyxl.load_workbook(path)
        assert again[PRICES]["ALL99999"].value == "note" and again["Mine"]["ALL99999"].value == "my note"


class TestFilesInTheWay:
    """Lock files and links: refused with one line, or followed to the file they point at."""

    @pytest.fixture
    def book(self, good, tmp_path):
        path = tmp_path / "BOOK.xlsx"
        path.write_bytes(good.read_bytes())
        return path

    @pytest.mark.parametrize("lock", ["~$BOOK.xlsx", ".~lock.BOOK.xlsx#"])
    def test_a_lock_file_refuses_refresh(self, book, lock):
        (book.parent / lock).write_text("")
        before = book.read_bytes()
        done = run_limited("refresh", book, "--no-values")
        assert done["code"] == 2 and done["err"].count("\n") == 1 and f"(lock file {lock} exists)" in done["err"]
        assert book.read_bytes() == before and done["seconds"] < SECONDS_CEILING

    def test_refresh_through_a_link_writes_the_workbook_it_points_at(self, book):
        link = book.parent / "LINK.xlsx"
        link.symlink_to(book.name)
        done = run_limited("refresh", link, "--no-values")
        assert done["code"] == 0, done
        assert link.is_symlink() and f"-> {book}" in done["out"]
        assert sorted(p.name for p in book.parent.iterdir() if not p.name.startswith("BOOK.backup-")) == [
            "BOOK.xlsx", "LINK.xlsx"]

    def test_output_over_a_link_to_a_system_file_is_refused(self, book, tmp_path):
        link = tmp_path / "out.xlsx"
        link.symlink_to("/etc/hostname")
        done = run_limited("refresh", book, "-o", link, "--no-values")
        assert done["code"] == 2 and "'/etc/hostname' must end in .xlsx" in done["err"], done
