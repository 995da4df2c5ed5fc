// Drives the kumoc extension in real VS Code: code-server (VS Code's server and its web
// workbench) with the .vsix installed, in Debian's Chromium driven by playwright-core, with
// the real `kumoc lsp` behind it. What a user sees is what is checked: the language mode,
// the squiggle of an introduced error, its Problems entry and hover, the quick fix from the
// lightbulb menu (Ctrl+.), the file saved from the editor. Screenshots are written to
// $KUMOC_ARTIFACTS. Run by tests/editors/vscode.sh, which sets the environment below.
//
// Notes for whoever changes this (learnt the hard way):
// - `kumoc.path` is machine-overridable: code-server's extension host reads it from the
//   server's Machine settings (<user-data-dir>/Machine/settings.json), not the User's.
// - HOME and the XDG directories point into the scratch directory, so nothing of the
//   machine's user is read or written.
// - The web workbench saves files after a delay by default; the test turns that off, so the
//   diagnostics come from the unsaved editor contents, and saves by hand at the end.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (run tests/editors/vscode.sh)`);
  }
  return value;
}

const tools = env('KUMOC_TOOLS');
const kumoc = env('KUMOC');
const vsix = env('KUMOC_VSIX');
const codeServer = path.join(tools, 'node_modules/code-server/out/node/entry.js');
const scratch = env('KUMOC_SCRATCH');
const artifacts = env('KUMOC_ARTIFACTS');
const chromiumPath = env('CHROMIUM');
const TIMEOUT = Number(process.env.KUMOC_VSCODE_TIMEOUT_MS || 30000);
const { chromium } = createRequire(path.join(tools, 'package.json'))('playwright-core');

const project = path.join(scratch, 'example-com');
const userData = path.join(scratch, 'user-data');
const extensions = path.join(scratch, 'extensions');
const home = path.join(scratch, 'home');
const mail = path.join(project, 'mail.kumo');
const original = fs.readFileSync(mail, 'utf8');

let passed = 0;
let failed = 0;
let step = 'start';
const started = Date.now();

function log(msg) {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[vscode ${t}s] ${msg}\n`);
}

function begin(name) {
  step = name;
  log(`step: ${name}`);
}

function ok(msg) {
  passed += 1;
  log(`ok: ${msg}`);
}

function check(cond, msg) {
  if (!cond) {
    throw new Error(msg);
  }
}

// Polls `pred` (async, returns a truthy value when done) until TIMEOUT.
async function waitFor(what, pred, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await pred();
      if (value) {
        return value;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// code-server's environment: a scratch HOME and XDG directories, and no kumoc on PATH, so the
// server is found only through the `kumoc.path` setting.
const serverEnv = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: path.join(home, '.config'),
  XDG_DATA_HOME: path.join(home, '.local/share'),
  XDG_STATE_HOME: path.join(home, '.local/state'),
  XDG_CACHE_HOME: path.join(home, '.cache'),
  XDG_RUNTIME_DIR: path.join(home, '.run'),
  // No extension gallery (code-server's default is a public one on the internet): the test
  // must not reach out.
  EXTENSIONS_GALLERY: '{}',
};
for (const dir of [userData, extensions, serverEnv.XDG_CONFIG_HOME, serverEnv.XDG_DATA_HOME,
  serverEnv.XDG_STATE_HOME, serverEnv.XDG_CACHE_HOME, serverEnv.XDG_RUNTIME_DIR]) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

writeJson(path.join(userData, 'Machine/settings.json'), {
  'kumoc.path': kumoc,
  'kumoc.trace.server': 'messages',
});
writeJson(path.join(userData, 'User/settings.json'), {
  'files.autoSave': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'security.workspace.trust.enabled': false,
  'editor.hover.delay': 200,
});

let server;
let serverLog = '';
let browser;
let page;
const consoleErrors = [];

function logFiles(dir) {
  const found = [];
  const walk = (d) => {
    for (const entry of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
      } else if (entry.name.endsWith('.log')) {
        found.push(p);
      }
    }
  };
  walk(dir);
  return found.sort();
}

async function dumpState() {
  try {
    if (page) {
      const shot = path.join(artifacts, 'vscode-failure.png');
      await page.screenshot({ path: shot });
      log(`--- screenshot of the failure: ${shot}`);
    }
  } catch (err) {
    log(`(no screenshot: ${err.message})`);
  }
  log(`--- code-server output (last 3000 bytes):\n${serverLog.slice(-3000)}`);
  if (consoleErrors.length) {
    log(`--- browser console errors:\n${consoleErrors.slice(-20).join('\n')}`);
  }
  for (const file of logFiles(path.join(userData, 'logs'))) {
    if (/kumoc|exthost|remoteexthost|remoteagent/i.test(path.basename(file))) {
      const text = fs.readFileSync(file, 'utf8');
      if (text.trim()) {
        log(`--- ${path.relative(userData, file)} (last 3000 bytes):\n${text.slice(-3000)}`);
      }
    }
  }
}

async function run() {
  begin('install the .vsix into code-server');
  const installed = execFileSync(process.execPath, [codeServer, '--user-data-dir', userData,
    '--extensions-dir', extensions, '--install-extension', vsix], { env: serverEnv, encoding: 'utf8' });
  check(/successfully installed/.test(installed), `code-server --install-extension said:\n${installed}`);
  const listed = execFileSync(process.execPath, [codeServer, '--user-data-dir', userData,
    '--extensions-dir', extensions, '--list-extensions', '--show-versions'], { env: serverEnv, encoding: 'utf8' });
  check(/kumoc\.kumoc@/.test(listed), `kumoc.kumoc is not listed:\n${listed}`);
  ok(`installed ${listed.trim().split('\n').filter((l) => l.includes('kumoc')).join(', ')}`);

  begin('start code-server');
  const port = await freePort();
  server = spawn(process.execPath, [codeServer, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', extensions,
    '--config', path.join(scratch, 'code-server.yaml'), project],
  { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  await waitFor('code-server to listen', () => {
    if (server.exitCode !== null) {
      throw new Error(`code-server exited with ${server.exitCode}`);
    }
    return serverLog.includes('HTTP server listening');
  });
  ok(`code-server listening on 127.0.0.1:${port}`);

  begin('open the example in the browser');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: TIMEOUT });
  await page.locator('.explorer-folders-view').waitFor({ timeout: TIMEOUT });
  ok('workbench with the example folder');

  begin('open mail.kumo: the kumo language');
  const lines = original.split('\n');
  const queue = lines.findIndex((l) => l.startsWith('queue default {'));
  check(queue >= 0, 'no `queue default {` line in mail.kumo');
  const poolLine = lines.findIndex((l, i) => i > queue && /^ {2}egress_pool\s*= shared/.test(l)) + 1;
  const ageLine = lines.findIndex((l, i) => i > queue && /^ {2}max_age\s*= 24h/.test(l)) + 1;
  check(poolLine > 0 && ageLine > 0, 'no egress_pool or max_age line in `queue default`');
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor({ timeout: TIMEOUT });
  await page.keyboard.type('mail.kumo');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'mail.kumo' }).first().waitFor({ timeout: TIMEOUT });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: 'mail.kumo' }).waitFor({ timeout: TIMEOUT });
  const mode = page.locator('[id="status.editor.mode"]');
  const modeText = await waitFor('the language mode in the status bar', async () => {
    const text = (await mode.innerText()).trim();
    return text === 'kumo' && text;
  });
  ok(`mail.kumo open, language mode "${modeText}"`);

  // Moves the cursor to the start of the text of a 1-based line.
  async function goToLine(line) {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').waitFor({ timeout: TIMEOUT });
    await page.keyboard.type(String(line));
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: TIMEOUT });
    await page.keyboard.press('Home');
    const status = page.locator('[id="status.editor.selection"]');
    await waitFor(`the cursor on line ${line}`, async () => (await status.innerText()).startsWith(`Ln ${line},`));
  }
  const editor = page.locator('.editor-instance .monaco-editor').first();

  // Moves the mouse over the text `offset` characters right of the cursor, as a user points
  // at a word (the cursor element gives the position on screen).
  async function pointAtCursor(offset) {
    const cursor = await page.locator('.editor-instance .monaco-editor .cursor').first().boundingBox();
    const char = await page.evaluate(() => {
      const probe = document.querySelector('.editor-instance .monaco-editor .view-line span span');
      return probe ? probe.getBoundingClientRect().width / Math.max(1, probe.textContent.length) : 8;
    });
    await page.mouse.move(5, 5);
    await page.mouse.move(cursor.x + char * (offset + 0.5), cursor.y + cursor.height / 2, { steps: 4 });
  }
  const hoverWidget = page.locator('.monaco-hover:visible').first();

  begin('hover from the server');
  await goToLine(poolLine);
  const hover = await waitFor('the hover of egress_pool', async () => {
    await pointAtCursor(3);
    await hoverWidget.waitFor({ timeout: 2000 });
    const text = await hoverWidget.innerText();
    return text.includes('Pool of sources') && text;
  }, TIMEOUT * 2);
  check(hover.includes('egress_pool'), `the hover does not name egress_pool:\n${hover}`);
  await page.mouse.move(5, 5);
  ok(`hover on egress_pool: ${hover.split('\n')[0]}`);

  begin('completion offers the fields of the block');
  await goToLine(ageLine);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter'); // a new line inside `queue default`, indented
  await page.keyboard.press('Control+Space');
  const suggest = page.locator('.suggest-widget .monaco-list-row');
  const labels = await waitFor('the suggestions', async () => {
    const rows = await suggest.allInnerTexts();
    return rows.length > 0 && rows.map((r) => r.split('\n')[0].trim());
  });
  for (const want of ['retry_interval', 'max_retry_interval', 'egress_pool']) {
    check(labels.includes(want), `completion in \`queue default\` lacks \`${want}\`: ${labels.join(', ')}`);
  }
  for (const unwanted of ['namespace', 'replicas', 'selector', 'enable_tls']) {
    check(!labels.includes(unwanted), `completion in \`queue default\` offers \`${unwanted}\`: ${labels.join(', ')}`);
  }
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Shift+K'); // delete the new line again
  ok(`${labels.length} suggestions in \`queue default\`, its fields and no others checked`);

  begin('an introduced error: squiggle, Problems entry, hover');
  await goToLine(ageLine);
  await page.keyboard.press('Control+ArrowRight'); // to the end of `max_age`
  await page.keyboard.type('e');
  const squiggles = editor.locator('.squiggly-error');
  await waitFor('an error squiggle', async () => (await squiggles.count()) > 0);
  check(fs.readFileSync(mail, 'utf8') === original,
    'mail.kumo changed on disk: the diagnostics must come from the unsaved editor contents');
  await page.keyboard.press('Control+Shift+M');
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'max_agee' }).first();
  const problemText = await waitFor('the Problems entry', async () => {
    const text = await problem.innerText({ timeout: 1000 });
    return text.replace(/\s+/g, ' ');
  });
  check(problemText.includes('unknown field `max_agee` in `queue`'), `Problems entry: ${problemText}`);
  check(problemText.includes('K1002'), `the Problems entry has no code: ${problemText}`);
  check(problemText.includes(`[Ln ${ageLine}, Col 3]`), `the Problems entry is not at line ${ageLine}, column 3: ${problemText}`);
  // Point at the squiggle, as a user does.
  const squiggle = await squiggles.first().boundingBox();
  const squiggleAt = { x: squiggle.x + squiggle.width / 2, y: squiggle.y + squiggle.height / 2 };
  const diagnosticHover = await waitFor('the hover of the error', async () => {
    await page.mouse.move(5, 5);
    await page.mouse.move(squiggleAt.x, squiggleAt.y - 4, { steps: 4 });
    await hoverWidget.waitFor({ timeout: 2000 });
    const text = await hoverWidget.innerText();
    return text.includes('max_agee') && text;
  });
  check(diagnosticHover.includes('did you mean `max_age`?'), `the hover lacks the help line:\n${diagnosticHover}`);
  const shot = path.join(artifacts, 'vscode-diagnostic.png');
  await page.screenshot({ path: shot });
  await page.mouse.move(5, 5);
  ok(`squiggle, Problems entry "${problemText.trim()}", hover; screenshot ${shot}`);

  begin('the quick fix applies');
  await page.mouse.click(squiggleAt.x, squiggleAt.y - 4); // the cursor into the word, the focus back in the editor
  const menu = page.locator('.action-widget .monaco-list-row');
  const actions = await waitFor('the code actions menu (Ctrl+.)', async () => {
    // Asked again until it shows: a key pressed while the editor takes the focus is lost.
    await page.keyboard.press('Control+.');
    await menu.first().waitFor({ timeout: 2000 });
    const rows = await menu.allInnerTexts();
    return rows.length > 0 && rows.map((r) => r.trim());
  });
  const fix = actions.find((a) => a.includes('replace with `max_age`'));
  check(fix, `no "replace with \`max_age\`" among the code actions: ${actions.join(' | ')}`);
  await menu.filter({ hasText: 'replace with `max_age`' }).first().click();
  await waitFor('the error squiggle to go', async () => (await squiggles.count()) === 0);
  await waitFor('the Problems entry to go', async () => (await problem.count()) === 0);
  // Saving writes the editor's contents: equal to the original only if the fix went in.
  check(await page.locator('.tab.active.dirty').count() === 1, 'the editor is not modified');
  const saveStarted = Date.now();
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: TIMEOUT });
  const saveMs = Date.now() - saveStarted;
  const saved = fs.readFileSync(mail, 'utf8');
  check(saved === original, `mail.kumo as saved is not the original; line ${ageLine} is "${saved.split('\n')[ageLine - 1]}"`);
  const fixedShot = path.join(artifacts, 'vscode-fixed.png');
  await page.screenshot({ path: fixedShot });
  ok(`quick fix "${fix}" applied (offered: ${actions.join(' | ')}); saved in ${saveMs} ms, the file equals the original; screenshot ${fixedShot}`);
}

process.on('SIGTERM', () => {
  log('SIGTERM: stopping code-server and the browser');
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
  }
  process.exit(1); // playwright closes the browser it launched on exit
});

try {
  await run();
} catch (err) {
  failed += 1;
  log(`FAIL in step "${step}": ${err && err.stack ? err.stack : err}`);
  await dumpState();
} finally {
  if (browser) {
    await browser.close().catch(() => {});
  }
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
  }
}
process.stderr.write(`vscode: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
