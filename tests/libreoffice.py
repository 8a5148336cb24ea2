"""Drive a real, headless LibreOffice Calc from the tests.

Two ways in:

* ``convert`` runs ``soffice --headless --convert-to`` directly.
* ``edit_and_save`` / ``cell_values`` / ``cell_details`` run ONE embedded UNO
  script (``_WORKER``) with the distribution's ``/usr/bin/python3`` (the only
  interpreter where ``import uno`` works).  That script starts its own
  ``soffice --accept=pipe,...`` process, connects, does the work, closes the
  document and terminates soffice.  Request and result travel as JSON files.

Every run gets a fresh, throw-away profile (``-env:UserInstallation``) in a
``budget-lo-*`` temporary directory, seeded with a ``registrymodifications.xcu``
that pins:

* the locale (``ooSetupSystemLocale``, default ``ja-JP``): it decides how typed
  input is parsed and how numbers/dates are displayed, so it must not depend on
  the CI machine's ``LANG``;
* ``OOXMLRecalcMode`` / ``ODFRecalcMode`` = 1 ("never recalculate on load",
  LibreOffice's default, written explicitly for determinism).  LibreOffice
  therefore shows the *cached* formula results stored in the file, exactly as a
  user opening it sees them.  Note that it ignores xlsxwriter's
  ``<calcPr fullCalcOnLoad="1"/>``; Excel honours it.

Processes: the helper process is started in its own session (process group);
soffice/oosplash/soffice.bin inherit that group.  On timeout the whole group is
SIGKILLed; after every run any process whose command line still contains the
run's private profile path is terminated.  Nothing else is ever signalled.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = [
    "SOFFICE",
    "SPAWNED_PIDS",
    "UNO_PYTHON",
    "LibreOfficeError",
    "ProtectedCellError",
    "cell_details",
    "cell_values",
    "convert",
    "edit_and_save",
    "pdf_page_count",
    "requires_libreoffice",
    "requires_uno",
    "soffice_processes",
]

DEFAULT_LOCALE = "ja-JP"
XLSX_FILTER = "Calc MS Excel 2007 XML"  # what "Save As > Excel 2007-365" uses
_FILTER_BY_SUFFIX = {
    ".xlsx": XLSX_FILTER,
    ".ods": "calc8",
    ".xls": "MS Excel 97",
}
_TMP_PREFIX = "budget-lo-"
_LO_COMMS = {"soffice", "soffice.bin", "oosplash"}

# PIDs of soffice/oosplash processes the harness saw running for its own
# profiles (sampled while each run was in progress).  Tests use it to prove
# that everything the harness started is gone afterwards.
SPAWNED_PIDS: list[int] = []


class LibreOfficeError(RuntimeError):
    """LibreOffice (or the UNO helper) failed; message carries the logs."""


class ProtectedCellError(LibreOfficeError):
    """A locked cell of a protected sheet was edited without ``unprotect``."""


# --------------------------------------------------------------------------
# discovery
# --------------------------------------------------------------------------


def _find_soffice() -> str | None:
    env = os.environ.get("BUDGET_SOFFICE")
    if env:
        return env if Path(env).exists() else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for cand in (
        "/usr/lib/libreoffice/program/soffice",
        "/opt/libreoffice/program/soffice",
        "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    ):
        if Path(cand).exists():
            return cand
    return None


@functools.cache
def _find_uno_python() -> str | None:
    env = os.environ.get("BUDGET_UNO_PYTHON")  # authoritative when set
    for cand in [env] if env else ["/usr/bin/python3"]:
        if not Path(cand).exists():
            continue
        try:
            r = subprocess.run(
                [cand, "-c", "import uno"],
                check=False,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return cand
    return None


SOFFICE: str | None = _find_soffice()
UNO_PYTHON: str | None = _find_uno_python()

_INSTALL_HINT = "apt-get install libreoffice-calc-nogui python3-uno"
requires_libreoffice = pytest.mark.skipif(
    SOFFICE is None,
    reason=f"LibreOffice (soffice) not installed: {_INSTALL_HINT}",
)
requires_uno = pytest.mark.skipif(
    SOFFICE is None or UNO_PYTHON is None,
    reason=(
        f"LibreOffice (soffice) not installed: {_INSTALL_HINT}"
        if SOFFICE is None
        else "LibreOffice UNO bridge (python3-uno for /usr/bin/python3) not "
        f"installed: {_INSTALL_HINT}"
    ),
)


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[str, str, str]]:
    """pid -> (comm, state, cmdline) for live (non-zombie) processes; Linux."""
    table: dict[int, tuple[str, str, str]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return table
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        # stat: "pid (comm) S ..." -- comm may contain spaces/parens.
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        state = stat[stat.rfind(")") + 2 : stat.rfind(")") + 3]
        if state == "Z":
            continue
        table[int(d.name)] = (
            comm,
            state,
            cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip(),
        )
    return table


def soffice_processes() -> dict[int, str]:
    """All live soffice/oosplash processes on the machine: pid -> cmdline."""
    return {
        pid: cmd
        for pid, (comm, _state, cmd) in _proc_table().items()
        if comm in _LO_COMMS or os.path.basename(cmd.split(" ", 1)[0]) in _LO_COMMS
    }


def _pids_with(marker: str) -> list[int]:
    me = os.getpid()
    return [pid for pid, (_c, _s, cmd) in _proc_table().items() if marker in cmd and pid != me]


def _sweep(marker: str) -> None:
    """Terminate leftovers whose command line holds our private profile path."""
    pids = _pids_with(marker)
    if not pids:
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _pids_with(marker):
        time.sleep(0.1)
    for pid in _pids_with(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------
# isolated session (temp dir + profile)
# --------------------------------------------------------------------------

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" \
oor:op="fuse"><value>{locale}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop \
oor:name="OOXMLRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop \
oor:name="ODFRecalcMode" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""


class _Session:
    def __init__(self, root: Path, locale: str):
        self.root = root
        self.profile = root / "profile"
        (self.profile / "user").mkdir(parents=True)
        (self.profile / "user" / "registrymodifications.xcu").write_text(
            _XCU.format(locale=locale), encoding="utf-8"
        )
        self.profile_url = self.profile.as_uri()
        self.marker = str(self.profile)

    def log(self, name: str, limit: int = 4000) -> str:
        p = self.root / name
        if not p.exists():
            return ""
        text = p.read_text("utf-8", "replace")
        text = "\n".join(line for line in text.splitlines() if "javaldx" not in line)
        return text[-limit:]


@contextlib.contextmanager
def _session(locale: str) -> Iterator[_Session]:
    root = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
    try:
        yield _Session(root, locale)
    finally:
        try:
            _sweep(str(root))
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _run_bounded(cmd: list[str], sess: _Session, timeout: float, what: str) -> int:
    """Run cmd in its own process group, stdout/stderr to the session logs.

    Samples the processes carrying the session's profile path while waiting
    (recorded in SPAWNED_PIDS).  On timeout, SIGKILLs the whole group (before
    reaping the leader, so the group id cannot have been reused).
    """
    with open(sess.root / "stdout.log", "wb") as out, open(sess.root / "stderr.log", "wb") as err:
        p = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            cwd=sess.root,
        )
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    try:
        while True:
            try:
                return p.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            seen.update(_pids_with(sess.marker))
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise LibreOfficeError(f"{what}: timed out after {timeout}s\n{_logs(sess)}")
    finally:
        SPAWNED_PIDS.extend(sorted(seen))


def _logs(sess: _Session) -> str:
    parts = []
    for name in ("stdout.log", "stderr.log", "soffice.log"):
        text = sess.log(name)
        if text.strip():
            parts.append(f"--- {name} ---\n{text}")
    return "\n".join(parts)


# --------------------------------------------------------------------------
# soffice --convert-to
# --------------------------------------------------------------------------


def convert(
    src: Path,
    fmt: str,
    outdir: Path,
    timeout: float = 120,
    *,
    locale: str = DEFAULT_LOCALE,
) -> Path:
    """``soffice --headless --convert-to fmt --outdir outdir src``; returns output.

    ``fmt`` is e.g. ``"pdf"``, ``"ods"``, ``"xlsx:Calc MS Excel 2007 XML"``.
    Formulas are NOT recalculated (cached values are rendered).
    """
    _need(SOFFICE, "soffice")
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    expected = outdir.resolve() / f"{src.stem}.{fmt.split(':', 1)[0]}"
    if expected == src:
        raise ValueError(f"convert would overwrite its source {src}")
    expected.unlink(missing_ok=True)  # so a stale file cannot pass for output
    with _session(locale) as sess:
        cmd = [
            str(SOFFICE),
            f"-env:UserInstallation={sess.profile_url}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir.resolve()),
            str(src),
        ]
        rc = _run_bounded(cmd, sess, timeout, f"convert {src.name} -> {fmt}")
        # soffice exits 0 even when it could not load/convert: check the file.
        if rc != 0 or not expected.is_file() or expected.stat().st_size == 0:
            raise LibreOfficeError(
                f"convert {src} -> {fmt} failed (rc={rc}, expected {expected})\n{_logs(sess)}"
            )
    return expected


def pdf_page_count(pdf: Path) -> int:
    """Number of pages: ``pdfinfo`` if available, else count page objects."""
    pdf = Path(pdf)
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo:
        try:
            r = subprocess.run(
                [pdfinfo, str(pdf)], check=False, capture_output=True, text=True, timeout=60
            )
            m = re.search(r"^Pages:\s+(\d+)", r.stdout, re.MULTILINE)
            if r.returncode == 0 and m:
                return int(m.group(1))
        except (OSError, subprocess.TimeoutExpired):
            pass
    data = pdf.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ValueError(f"{pdf} is not a PDF")
    # "/Type /Page" but not "/Type /Pages"; LibreOffice writes page
    # dictionaries uncompressed (no object streams).
    n = len(re.findall(rb"/Type\s*/Page(?![A-Za-z0-9])", data))
    if n == 0 and b"/ObjStm" in data:
        raise ValueError(
            f"{pdf}: page objects are in compressed object streams; install poppler-utils (pdfinfo)"
        )
    return n


# --------------------------------------------------------------------------
# UNO
# --------------------------------------------------------------------------

# Runs under /usr/bin/python3.  argv: request.json result.json
_WORKER = r"""
import json, os, subprocess, sys, time, traceback


class HarnessError(Exception):
    kind = "error"


class ProtectedCell(HarnessError):
    kind = "protected"


def props(**kw):
    from com.sun.star.beans import PropertyValue
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def pids_with(marker):
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def get_sheet(doc, name):
    sheets = doc.getSheets()
    if not sheets.hasByName(name):
        raise HarnessError("no sheet %r; sheets are %r"
                           % (name, list(sheets.getElementNames())))
    return sheets.getByName(name)


def get_cell(sheet, addr):
    try:
        rng = sheet.getCellRangeByName(addr)
    except Exception as e:
        raise HarnessError("bad cell address %r: %s" % (addr, e))
    if rng.getRangeAddress().EndColumn != rng.getRangeAddress().StartColumn or \
            rng.getRangeAddress().EndRow != rng.getRangeAddress().StartRow:
        raise HarnessError("%r is a range, not a single cell" % addr)
    return rng


FORMULA_VALUE, FORMULA_STRING = 1, 2   # com.sun.star.sheet.FormulaResult


def describe(sheet, cell):
    t = cell.getType().value          # EMPTY VALUE TEXT FORMULA
    info = {
        "type": t,
        "text": cell.getString(),     # the displayed (formatted) string
        "formula": cell.getFormula(),
        "locked": bool(cell.CellProtection.IsLocked),
        "sheet_protected": bool(sheet.isProtected()),
        "error": 0,
    }
    if t == "EMPTY":
        value = None
    elif t == "VALUE":
        value = cell.getValue()
    elif t == "TEXT":
        value = cell.getString()
    else:
        info["error"] = cell.getError()
        if info["error"]:
            value = cell.getString()  # e.g. "#DIV/0!"
        elif cell.FormulaResultType2 == FORMULA_VALUE:
            value = cell.getValue()
        else:
            value = cell.getString()
    info["value"] = value
    return info


def work(req, doc):
    out = {}
    if req["op"] == "edit":
        for sheet_name, addr, text in req["edits"]:
            sheet = get_sheet(doc, sheet_name)
            cell = get_cell(sheet, addr)
            if sheet.isProtected():
                if req["unprotect"]:
                    sheet.unprotect(req["password"])
                    if sheet.isProtected():
                        raise HarnessError("cannot unprotect sheet %r (password?)"
                                           % sheet_name)
                elif cell.CellProtection.IsLocked:
                    raise ProtectedCell(
                        "%s!%s is locked on a protected sheet: a user typing there "
                        "gets 'Protected cells can not be modified'"
                        % (sheet_name, addr))
            # "FormulaLocal" = the cell's content as typed in the UI.  It goes
            # through ScDocFunc::SetNormalString -> ScDocument::SetString, the
            # same parser as the Enter key: document locale, the cell's number
            # format (a Text-formatted cell keeps "001"), apostrophe prefix,
            # localized formulas; it auto-applies a detected format (12% ->
            # percent) and refuses locked cells of protected sheets (silently,
            # hence the explicit check above).  XCell.setFormula() is NOT
            # equivalent: it parses as en-US regardless of locale or cell
            # format (ja-JP "１２３" stays text, a Text cell gets 1) and it
            # ignores sheet protection.  ".uno:EnterString" gives the same
            # results as FormulaLocal, but on a protected cell it opens an
            # error dialog, which aborts a headless soffice.
            before = cell.getPropertyValue("FormulaLocal")
            cell.setPropertyValue("FormulaLocal", text)
            if text != before and cell.getPropertyValue("FormulaLocal") == before:
                # Unchanged: legitimate ("1,234" over 1234) or refused?  Probe.
                probe = "\u2063harness-probe"
                cell.setPropertyValue("FormulaLocal", probe)
                if cell.getPropertyValue("FormulaLocal") != probe:
                    raise HarnessError("LibreOffice refused input %r into %s!%s"
                                       % (text, sheet_name, addr))
                cell.setPropertyValue("FormulaLocal", text)
        out["edited"] = {"%s!%s" % (s, a): describe(get_sheet(doc, s),
                                                   get_cell(get_sheet(doc, s), a))
                         for s, a, _ in req["edits"]}
        if req["recalc"]:
            doc.calculateAll()
        import uno
        doc.storeToURL(uno.systemPathToFileUrl(req["dst"]),
                       props(FilterName=req["filter"], Overwrite=True))
    elif req["op"] == "read":
        if req["recalc"]:
            doc.calculateAll()
        sheet = get_sheet(doc, req["sheet"])
        out["cells"] = {a: describe(sheet, get_cell(sheet, a)) for a in req["cells"]}
    else:
        raise HarnessError("unknown op %r" % req["op"])
    return out


def run(req):
    import uno
    from com.sun.star.connection import NoConnectException

    pipe = req["pipe"]
    log = open(req["soffice_log"], "wb")
    # Same process group as this script (the caller made us a group leader),
    # so a caller-side timeout kills soffice too.
    proc = subprocess.Popen(
        [req["soffice"], "-env:UserInstallation=" + req["profile_url"],
         "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         "--nolockcheck", "--accept=pipe,name=%s;urp;" % pipe],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    desktop = doc = None
    result = {}
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + req["connect_timeout"]
        while True:
            try:
                ctx = resolver.resolve(
                    "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
                break
            except NoConnectException:
                if proc.poll() is not None:
                    raise HarnessError("soffice exited (rc=%s) before accepting "
                                       "a connection" % proc.returncode)
                if time.monotonic() > deadline:
                    raise HarnessError("no UNO connection to soffice within %ss"
                                       % req["connect_timeout"])
                time.sleep(0.1)
        desktop = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(req["src"]), "_blank", 0,
            props(Hidden=True, MacroExecutionMode=0))   # 0 = NEVER_EXECUTE
        if doc is None or not doc.supportsService(
                "com.sun.star.sheet.SpreadsheetDocument"):
            raise HarnessError("could not load %s as a spreadsheet" % req["src"])
        result.update(work(req, doc))
        result["soffice_pids"] = pids_with(req["marker"])
    finally:
        if doc is not None:
            try:
                doc.close(True)
            except Exception:
                try:
                    doc.dispose()
                except Exception:
                    pass
        if desktop is not None:
            try:
                desktop.terminate()
            except Exception:          # bridge goes away while terminating
                pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()                 # the caller sweeps soffice.bin
            proc.wait(timeout=5)
        log.close()
    return result


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    try:
        res = run(req)
        res["ok"] = True
    except Exception as e:
        res = {"ok": False, "kind": getattr(e, "kind", "error"),
               "error": "%s: %s" % (type(e).__name__, e),
               "traceback": traceback.format_exc()}
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False)
    os._exit(0)   # skip pyuno teardown of the dead bridge


main()
"""


def _need(what: str | None, name: str) -> None:
    if what is None:
        raise LibreOfficeError(f"{name} not available: {_INSTALL_HINT}")


def _run_uno(request: dict, *, locale: str, timeout: float) -> dict:
    _need(SOFFICE, "soffice")
    _need(UNO_PYTHON, "python3-uno")
    with _session(locale) as sess:
        worker = sess.root / "worker.py"
        worker.write_text(_WORKER, encoding="utf-8")
        req_path, res_path = sess.root / "request.json", sess.root / "result.json"
        request = dict(
            request,
            soffice=str(SOFFICE),
            profile_url=sess.profile_url,
            marker=sess.marker,
            pipe=f"budgetlo_{os.getpid()}_{sess.root.name.replace('-', '_')}",
            soffice_log=str(sess.root / "soffice.log"),
            connect_timeout=max(10.0, timeout - 10),
        )
        req_path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        what = f"UNO {request['op']} {Path(request['src']).name}"
        rc = _run_bounded(
            [str(UNO_PYTHON), str(worker), str(req_path), str(res_path)],
            sess,
            timeout,
            what,
        )
        if not res_path.is_file():
            raise LibreOfficeError(f"{what}: helper died (rc={rc})\n{_logs(sess)}")
        res = json.loads(res_path.read_text(encoding="utf-8"))
        if not res["ok"]:
            cls = ProtectedCellError if res["kind"] == "protected" else LibreOfficeError
            raise cls(f"{what}: {res['error']}\n{res['traceback']}\n{_logs(sess)}")
        SPAWNED_PIDS.extend(p for p in res.get("soffice_pids", []) if p not in SPAWNED_PIDS)
        return res


def _py_value(v: object) -> object:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def edit_and_save(
    src: Path,
    dst: Path,
    edits: list[tuple[str, str, str]],
    *,
    unprotect: bool = False,
    password: str = "",
    recalc: bool = False,
    locale: str = DEFAULT_LOCALE,
    filter_name: str | None = None,
    timeout: float = 120,
) -> dict[str, dict]:
    """Open ``src`` in LibreOffice, type each ``(sheet, "H7", text)``, save to ``dst``.

    Input is entered like a user typing it and pressing Enter (see the
    ``FormulaLocal`` comment in ``_WORKER``), parsed in ``locale``.  Unlocked
    cells of a protected sheet are writable as in the UI; a locked cell raises
    ``ProtectedCellError`` unless ``unprotect=True`` (the sheet is then saved
    unprotected, like a user who removed protection).  ``recalc=True`` runs a
    hard recalculation (``calculateAll``) before saving; without it LibreOffice
    still recalculates the formulas that depend on the edited cells.
    ``dst`` is written with the Excel 2007-365 filter for ``.xlsx``.

    Returns ``{"Sheet!H7": details}`` for the edited cells right after typing
    (see ``cell_details``).
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    if filter_name is None:
        try:
            filter_name = _FILTER_BY_SUFFIX[dst.suffix.lower()]
        except KeyError:
            raise ValueError(f"no default filter for {dst.suffix!r}") from None
    dst.parent.mkdir(parents=True, exist_ok=True)
    res = _run_uno(
        {
            "op": "edit",
            "src": str(src),
            "dst": str(dst),
            "edits": [list(e) for e in edits],
            "unprotect": unprotect,
            "password": password,
            "recalc": recalc,
            "filter": filter_name,
        },
        locale=locale,
        timeout=timeout,
    )
    if not dst.is_file():
        raise LibreOfficeError(f"LibreOffice did not write {dst}")
    return {k: _details(v) for k, v in res["edited"].items()}


def _details(d: dict) -> dict:
    return dict(d, value=_py_value(d["value"]))


def cell_details(
    src: Path,
    sheet: str,
    cells: list[str],
    *,
    recalc: bool = False,
    locale: str = DEFAULT_LOCALE,
    timeout: float = 120,
) -> dict[str, dict]:
    """Per cell: ``type`` (EMPTY/VALUE/TEXT/FORMULA), ``value``, ``text`` (the
    displayed string), ``formula``, ``locked``, ``sheet_protected``, ``error``."""
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    res = _run_uno(
        {
            "op": "read",
            "src": str(src),
            "sheet": sheet,
            "cells": list(cells),
            "recalc": recalc,
        },
        locale=locale,
        timeout=timeout,
    )
    return {k: _details(v) for k, v in res["cells"].items()}


def cell_values(
    src: Path,
    sheet: str,
    cells: list[str],
    *,
    recalc: bool = False,
    locale: str = DEFAULT_LOCALE,
    timeout: float = 120,
) -> dict[str, object]:
    """What LibreOffice holds for each cell on open: number (int if integral,
    else float), text (str), empty (None); formulas give their result, which
    is the value cached in the file unless ``recalc=True`` (``calculateAll``).
    Error results come back as their display string (e.g. ``"#DIV/0!"``)."""
    details = cell_details(src, sheet, cells, recalc=recalc, locale=locale, timeout=timeout)
    return {k: v["value"] for k, v in details.items()}
