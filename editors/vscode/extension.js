// The kumo extension: runs `kumoc lsp` (the path comes from the `kumoc.path` setting) as a
// language server over stdio for every `.kumo` file, restarts it when a `kumoc.*` setting
// changes and stops it when the extension is deactivated. Highlighting before the server
// answers (and without it) comes from syntaxes/kumo.tmLanguage.json.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

const CLIENT_ID = 'kumoc'; // also makes the client read `kumoc.trace.server`
const CLIENT_NAME = 'kumoc Language Server';

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let outputChannel;
/** @type {vscode.OutputChannel | undefined} */
let traceOutputChannel;
// Start, stop and restart run one after the other, never interleaved.
let pending = Promise.resolve();

function serialize(task) {
  pending = pending.then(task, task);
  return pending;
}

/** The executable named by `kumoc.path`: `~` expanded, a relative path with a slash resolved
 * against the first workspace folder, a bare name left for the PATH lookup. */
function serverCommand() {
  const configured = (vscode.workspace.getConfiguration('kumoc').get('path') || 'kumoc').trim();
  let command = configured || 'kumoc';
  if (command === '~' || command.startsWith('~/') || command.startsWith('~\\')) {
    command = path.join(os.homedir(), command.slice(1));
  }
  const hasSeparator = command.includes('/') || command.includes('\\');
  const folders = vscode.workspace.workspaceFolders;
  if (hasSeparator && !path.isAbsolute(command) && folders && folders.length > 0) {
    command = path.resolve(folders[0].uri.fsPath, command);
  }
  return command;
}

/** Whether `command` names an executable file, directly or through PATH (and PATHEXT). */
function findExecutable(command) {
  const candidates = [];
  const exts = process.platform === 'win32'
    ? ['', ...(process.env.PATHEXT || '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)]
    : [''];
  if (path.isAbsolute(command)) {
    candidates.push(command);
  } else {
    for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
      candidates.push(path.join(dir, command));
    }
  }
  for (const candidate of candidates) {
    for (const ext of exts) {
      try {
        const file = candidate + ext;
        if (fs.statSync(file).isFile()) {
          fs.accessSync(file, fs.constants.X_OK);
          return true;
        }
      } catch {
        // not here
      }
    }
  }
  return false;
}

async function reportMissing(command) {
  const choice = await vscode.window.showErrorMessage(
    `kumoc: \`${command}\` was not found, so \`.kumo\` files get highlighting but no diagnostics. ` +
      'Install kumoc (cargo install --path . in the kumoc repository) or set `kumoc.path`.',
    'Open Settings'
  );
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'kumoc.path');
  }
}

async function startClient() {
  const command = serverCommand();
  if (!findExecutable(command)) {
    outputChannel.appendLine(`kumoc: ${command} not found; the language server is not running.`);
    // Not awaited: the notification stays up without holding back later restarts.
    reportMissing(command);
    return;
  }
  // No `transport`: with TransportKind.stdio the client would append `--stdio`, which
  // `kumoc lsp` rejects; an executable without one is spoken to over stdio as is.
  const executable = { command, args: ['lsp'] };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'kumo' }],
    outputChannel,
    traceOutputChannel,
  };
  const next = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  try {
    await next.start();
    client = next;
  } catch (err) {
    // The client has already reported the failure in a notification and the output channel.
    outputChannel.appendLine(`kumoc: \`${command} lsp\` failed to start: ${err && err.message ? err.message : err}`);
    try {
      await next.dispose();
    } catch {
      // the server never came up: nothing to stop
    }
  }
}

async function stopClient() {
  const current = client;
  client = undefined;
  if (!current) {
    return;
  }
  try {
    await current.stop();
  } catch {
    // already gone (crashed or never fully started)
  }
  try {
    await current.dispose();
  } catch {
    // nothing left to release
  }
}

function restart() {
  return serialize(async () => {
    await stopClient();
    await startClient();
  });
}

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  traceOutputChannel = vscode.window.createOutputChannel(`${CLIENT_NAME} Trace`);
  context.subscriptions.push(outputChannel, traceOutputChannel);

  context.subscriptions.push(
    vscode.commands.registerCommand('kumoc.restartServer', () => restart()),
    vscode.commands.registerCommand('kumoc.showOutput', () => outputChannel && outputChannel.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('kumoc.path') || event.affectsConfiguration('kumoc.trace.server')) {
        restart();
      }
    })
  );

  return serialize(startClient);
}

function deactivate() {
  return serialize(stopClient);
}

module.exports = { activate, deactivate };
