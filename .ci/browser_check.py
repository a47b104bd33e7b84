#!/usr/bin/env python
"""Check the lungseg_nb viewer in a real browser: JupyterLab + headless Chromium (Playwright).

Copies .ci/viewer_check.ipynb (a viewer on a tiny phantom) to a temporary folder, starts JupyterLab on
127.0.0.1 with a random token, opens the notebook in Debian's chromium driven by Playwright (no browser download:
`executable_path` is the system chromium), runs all cells, waits for the viewer's image, moves the slice slider
with the keyboard, asserts that the displayed image changed, and saves a screenshot of the viewer.

Needs: `apt-get install -y chromium` and `pip install playwright` (do not run `playwright install`), plus
jupyterlab and ipywidgets (the project's dev install). Exit 0 on success; 1 with an `error: ...` line otherwise.

    python .ci/browser_check.py [--out /tmp/viewer.png] [--timeout 240]
"""
import argparse, os, traceback, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage']


class CheckError(Exception): pass


def log(msg): print(f"[browser_check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def find_chromium()->str:
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if p := shutil.which(name): return p
    raise CheckError("no chromium on PATH: install Debian's chromium (apt-get install -y chromium)")


def start_lab(root:Path, port:int, token:str, logf)->subprocess.Popen:
    "JupyterLab on 127.0.0.1 only, with its settings and workspaces inside the temporary folder."
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ip', '127.0.0.1', '--port', str(port),
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.port_retries=0',
           f'--LabApp.user_settings_dir={root.parent / "settings"}', f'--LabApp.workspaces_dir={root.parent / "workspaces"}',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')  # CI containers run as root
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(root.parent / 'runtime'), PYTHONUNBUFFERED='1')
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_lab(proc, port:int, token:str, timeout:float):
    url, t0 = f'http://127.0.0.1:{port}/api/status?token={token}', time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise CheckError(f"jupyter lab exited with code {proc.returncode} (see its log above)")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return
        except OSError: pass
        time.sleep(0.5)
    raise CheckError(f"jupyter lab did not answer on port {port} within {timeout:.0f} s")


def stop_lab(proc):
    "Stop the server and its kernels (its own process group), politely first."
    if proc is None or proc.poll() is not None: return
    try:
        os.killpg(proc.pid, signal.SIGTERM); proc.wait(15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try: os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError: pass
        proc.wait(5)


def frame_state(page):
    "The main frame's src and its pixels as PNG (element screenshot), or None before it exists."
    img = page.locator('.lungseg-viewer-frame').first
    if img.count() == 0 or not img.is_visible(): return None
    src = img.get_attribute('src') or img.evaluate('e => e.src')
    return src, img.screenshot(timeout=10_000)


def dismiss_dialogs(page):
    "Accept JupyterLab's 'Select Kernel' dialog (default: the notebook's python3) and decline the news toast."
    try:
        dlg = page.locator('.jp-Dialog .jp-mod-accept')
        if dlg.count() and dlg.first.is_visible():
            head = page.locator('.jp-Dialog-header')
            title = head.first.inner_text(timeout=2000) if head.count() else ''
            log(f"dialog {title!r}: accept")
            dlg.first.click(timeout=3000)
        news = page.locator('.jp-toast-button', has_text='No')
        if news.count() and news.first.is_visible(): news.first.click(timeout=3000)
    except Exception as e: log(f"(could not dismiss a dialog: {str(e).splitlines()[0]})")


def wait_until(page, cond, timeout:float, what:str):
    "Poll `cond()` (dismissing dialogs in between) until it is true."
    t0 = time.time()
    while time.time() - t0 < timeout:
        dismiss_dialogs(page)
        if cond(): return
        page.wait_for_timeout(250)
    raise CheckError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_all(page):
    "Run > Run All Cells from the menu; if a dialog gets in the way, select the first cell and press Shift+Enter."
    try:
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click(timeout=5000)
        page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click(timeout=5000)
        log("Run > Run All Cells")
    except Exception:
        page.keyboard.press('Escape'); dismiss_dialogs(page)
        page.locator('.jp-Notebook .jp-Cell .jp-InputPrompt').first.click(timeout=5000)
        page.keyboard.press('Shift+Enter')
        log("menu blocked: ran the cell with Shift+Enter")


def drive(page, url:str, out:Path, timeout:float):
    ms = int(timeout * 1000)
    log("open notebook"); page.goto(url, timeout=ms)
    page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=ms)
    idle = lambda: page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0 and \
        page.locator('.jp-Dialog').count() == 0
    started = lambda: page.locator('.lungseg-viewer-frame').count() > 0 or \
        any(p.strip() not in ('[ ]:', '') for p in page.locator('.jp-CodeCell .jp-InputPrompt').all_inner_texts())
    # On a slow machine the first kernel websocket can fail and JupyterLab then asks for a kernel, swallowing
    # the Run command: accept the dialog and run again until a cell starts executing.
    for attempt in range(3):
        page.wait_for_timeout(2000)
        wait_until(page, idle, timeout, 'the kernel to start')
        run_all(page)
        try: wait_until(page, started, 30, 'a cell to start'); break
        except CheckError:
            if attempt == 2: raise
            log("cells did not start; retrying")
    wait_until(page, lambda: page.locator('.lungseg-viewer-frame').count() > 0, timeout, 'the viewer image')
    page.wait_for_function("() => { const i = document.querySelector('.lungseg-viewer-frame');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=ms)
    before = frame_state(page)
    readout = page.locator('.lungseg-viewer-slider .widget-readout').first
    k0 = readout.inner_text() if readout.count() else '?'
    log(f"viewer shown on slice {k0}; moving the slider")
    handle = page.locator('.lungseg-viewer-slider .noUi-handle').first
    handle.click()
    for _ in range(3): handle.press('ArrowRight')
    after, t0 = None, time.time()
    while time.time() - t0 < min(timeout, 60):
        now = frame_state(page)
        if now and now[0] != before[0] and now[1] != before[1]: after = now; break
        page.wait_for_timeout(250)
    if after is None:
        log("keyboard did not move the slider; dragging the handle")
        box = handle.bounding_box()
        page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2); page.mouse.down()
        page.mouse.move(box['x'] + 60, box['y'] + box['height'] / 2, steps=5); page.mouse.up()
        t0 = time.time()
        while time.time() - t0 < 30:
            now = frame_state(page)
            if now and now[0] != before[0] and now[1] != before[1]: after = now; break
            page.wait_for_timeout(250)
    k1 = readout.inner_text() if readout.count() else '?'
    if after is None: raise CheckError(f"the displayed image did not change after moving the slider (readout {k0} -> {k1})")
    if k1 == k0: raise CheckError(f"the image changed but the slider readout stayed at {k0}")
    log(f"slider {k0} -> {k1}: image src and pixels changed")
    # back to the first slice: the image must be the first one again, pixel for pixel
    handle.focus()
    for _ in range(3): handle.press('ArrowLeft')
    back, t0 = None, time.time()
    while time.time() - t0 < 30:
        now = frame_state(page)
        if now and now[0] != after[0] and now[1] == before[1]: back = now; break
        page.wait_for_timeout(250)
    k2 = readout.inner_text() if readout.count() else '?'
    if back is None: raise CheckError(f"moving the slider back ({k1} -> {k2}) did not show the first image again")
    log(f"slider {k1} -> {k2}: the first image is back")
    page.wait_for_timeout(300)
    page.locator('.lungseg-viewer').first.screenshot(path=str(out))
    log(f"screenshot of the viewer saved to {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='/tmp/viewer.png', help='where to save the screenshot of the viewer')
    ap.add_argument('--notebook', default=str(HERE / 'viewer_check.ipynb'), help='notebook that shows the viewer')
    ap.add_argument('--timeout', type=float, default=240, help='seconds for each wait (server start, kernel, widget)')
    a = ap.parse_args()
    out, proc, tmp = Path(a.out).resolve(), None, Path(tempfile.mkdtemp(prefix='lungseg_browser_'))
    out.parent.mkdir(parents=True, exist_ok=True)
    logpath = tmp / 'jupyter.log'
    try:
        try: from playwright.sync_api import sync_playwright, Error as PlaywrightError
        except ImportError: raise CheckError("the playwright package is missing: pip install playwright "
                                             "(then use the system chromium; no `playwright install` needed)")
        chromium = find_chromium()
        root = tmp / 'root'; root.mkdir()
        shutil.copy(a.notebook, root / 'viewer_check.ipynb')
        port, token = free_port(), secrets.token_hex(16)
        log(f"jupyter lab on 127.0.0.1:{port}, root {root}")
        with open(logpath, 'wb') as logf:
            proc = start_lab(root, port, token, logf)
            wait_for_lab(proc, port, token, a.timeout)
            log(f"server up; chromium {chromium}")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True,
                                             timeout=a.timeout * 1000)
                try:
                    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
                    try: drive(page, f'http://127.0.0.1:{port}/lab/tree/viewer_check.ipynb?token={token}', out, a.timeout)
                    except Exception:
                        fail = out.with_name(out.stem + '-failure.png')
                        try: page.screenshot(path=str(fail), full_page=True); log(f"page at failure: {fail}")
                        except Exception: pass
                        raise
                finally: browser.close()
        log("OK")
        return 0
    except (CheckError, Exception) as e:
        if logpath.exists(): sys.stderr.write(logpath.read_text(errors='replace')[-3000:] + '\n')
        kind = '' if isinstance(e, CheckError) else f'{type(e).__name__}: '
        if not isinstance(e, CheckError): traceback.print_exc()
        print(f"error: browser check failed: {kind}{e}".splitlines()[0][:2000], file=sys.stderr)
        return 1
    finally:
        stop_lab(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
